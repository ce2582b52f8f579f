# ImageNet with the paper's augmentation (Sec. 2.1 of He et al. 2019), over mmpretrain's ImageNet base.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py', '../bot_normalization.py']

# PCA lighting of AlexNet, in BGR order (images are loaded BGR; to_rgb happens in the preprocessor).
EIGVAL = [55.4625, 4.7940, 1.1475]
EIGVEC = [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]]

# Colour jitter and PCA lighting run on the batch, on the model's device, in the data preprocessor
# (tricks_mm.BoTClsDataPreprocessor: per-sample factors, the order and distributions of
# mmpretrain's ColorJitter + tricks_mm.BoTLighting); the loader workers only decode, crop, flip.
# Per-image in the workers instead: tools/train.py --color-per-image (one switch).
# jitter='paper': the paper's text (Sec. 2.1), "scale hue, saturation and brightness" by
# U[0.6, 1.4]: brightness/saturation 0.4; MXNet's HueJitterAug(0.4) rotates hue by up to
# 0.4*pi = 72 degrees, which is hue=0.2 (mmpretrain/torchvision hue is a fraction of the circle).
# jitter='gluoncv': GluonCV's training script behind the paper's models, brightness, contrast and
# saturation 0.4, no hue (switch: --cfg-options data_preprocessor.batch_color.jitter=gluoncv).
data_preprocessor = dict(
    type='tricks_mm.BoTClsDataPreprocessor',
    batch_color=dict(jitter='paper', lighting=dict(eigval=EIGVAL, eigvec=EIGVEC, alphastd=0.1)),
    input_order='BGR',  # what LoadImageFromFile (mmcv) delivers; the batch colour works in it
    num_classes=1000,
    mean={{_base_.BOT_MEAN}},
    std={{_base_.BOT_STD}},
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.08, 1.0),
        aspect_ratio_range=(3.0 / 4.0, 4.0 / 3.0),
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),  # colour jitter + lighting: data_preprocessor.batch_color
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
