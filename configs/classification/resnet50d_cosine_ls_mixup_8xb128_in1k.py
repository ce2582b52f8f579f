# Paper Table 6 ResNet-50-D + cosine + label smoothing + mixup alpha=0.2 (Sec. 5.4), 200 epochs.
# Paper top-1 79.15. mmpretrain's Mixup is the paper's (lambda ~ Beta(a, a), batch mixed with a
# permuted copy, one-hot labels mixed the same way); tricks_mm reuses it.
_base_ = ['./resnet50d_cosine_ls_8xb128_in1k.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.2)))
train_cfg = dict(max_epochs=200)
param_scheduler = [
    {{_base_.BOT_WARMUP}},
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=5,
        end=200,
        T_max=195,
        eta_min=0.0,
        convert_to_iter_based=True,
    ),
]
