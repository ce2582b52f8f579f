# ResNet-50 classifier (original ResNet, variant A) with tricks_mm's BoTResNet backbone.
# Init rule of every classification rung (one rule, so a rung-to-rung comparison changes only
# the rung's trick): the paper's Sec. 2 "Xavier" for conv and FC weights (uniform in [-a, a],
# a = sqrt(6 / (fan_in + fan_out))), biases 0, BN gamma 1 / beta 0; then zero gamma (Sec. 3.1)
# on the rungs that set zero_init_residual. (GluonCV's published models used MSRA instead.)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='tricks_mm.BoTResNet',
        depth=50,
        variant='a',
        out_indices=(3,),
        zero_init_residual=False,
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform'),
    ),
)
