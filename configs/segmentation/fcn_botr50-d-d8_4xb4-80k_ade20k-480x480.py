# The GluonCV-like FCN of the paper's reference implementation: base size 520, crop 480,
# aux loss weight 0.5 (GluonCV FCN-ResNet50 ADE20K: pixAcc 79.0 / mIoU 39.5 with ms+flip eval).
_base_ = ['./fcn_botr50-d-d8_4xb4-80k_ade20k-512x512.py']

crop_size = (480, 480)
img_scale = (2080, 520)  # base size 520
model = dict(
    data_preprocessor=dict(size=crop_size), auxiliary_head=dict(loss_decode=dict(loss_weight=0.5))
)
# mmseg's ADE20K pipelines (inherited through the 512 config), resized: the sizes by transform
_sizes = dict(
    RandomResize=dict(scale=img_scale),
    Resize=dict(scale=img_scale),
    RandomCrop=dict(crop_size=crop_size),
)
train_pipeline = [dict(t, **_sizes.get(t['type'], {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **_sizes.get(t['type'], {})) for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
