# The GluonCV-like FCN of the paper's reference implementation: base size 520, crop 480,
# aux loss weight 0.5 (GluonCV FCN-ResNet50 ADE20K: pixAcc 79.0 / mIoU 39.5 with ms+flip eval).
_base_ = ['./fcn_botr50-d-d8_4xb4-80k_ade20k-512x512.py']

crop_size = (480, 480)
model = dict(
    data_preprocessor=dict(size=crop_size), auxiliary_head=dict(loss_decode=dict(loss_weight=0.5))
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2080, 520), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2080, 520), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
