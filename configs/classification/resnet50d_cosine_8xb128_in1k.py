# Paper Table 6 ResNet-50-D + cosine decay (Sec. 5.1), per iteration after the warmup.
# Paper top-1 77.91.
_base_ = ['./resnet50d_efficient_8xb128_in1k.py']
param_scheduler = [
    {{_base_.BOT_WARMUP}},
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=5,
        end=120,
        T_max=115,
        eta_min=0.0,
        convert_to_iter_based=True,
    ),
]
