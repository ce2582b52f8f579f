# ImageNet with the paper's augmentation (Sec. 2.1 of He et al. 2019), over mmpretrain's ImageNet base.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py', '../bot_normalization.py']

# PCA lighting of AlexNet, in BGR order (images are loaded BGR; to_rgb happens in the preprocessor).
EIGVAL = [55.4625, 4.7940, 1.1475]
EIGVEC = [[-0.5836, -0.6948, 0.4203],
          [-0.5808, -0.0045, -0.8140],
          [-0.5675, 0.7192, 0.4009]]

data_preprocessor = dict(
    num_classes=1000,
    mean={{_base_.BOT_MEAN}},
    std={{_base_.BOT_STD}},
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # "scale hue, saturation and brightness by U[0.6, 1.4]": brightness/saturation factor 0.4;
    # MXNet's HueJitterAug(0.4) rotates hue by up to 0.4*pi = 72 degrees, which is hue=0.2 here
    # (torchvision/mmpretrain hue is a fraction of the full 360-degree circle).
    dict(type='ColorJitter', brightness=0.4, saturation=0.4, hue=0.2),
    dict(type='tricks_mm.BoTLighting', eigval=EIGVAL, eigvec=EIGVEC, alphastd=0.1, to_rgb=False),
    dict(type='PackInputs'),
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
