# Overlay (tools/train.py RUNG --overlay configs/miniature/classification.py): any classification
# rung on the Fashion-MNIST miniature (python -m tricks_mm.datasets.fashion_mnist --out
# data/fashion_mnist; docs/miniature.md). It changes data, image size and network width only:
# the rung's recipe keeps its shape, including its learning rate per image. Unlike the toy
# overlay (configs/toy/classification.py, base batch 64) this overlay leaves the rung's
# auto_scale_lr reference alone, so with --auto-scale-lr the standard recipe trains at 0.1 per
# 256 images with step decay and no warmup, the efficient rungs at 0.4 per 1024 with warmup, and
# the epoch ratio between rungs (120 : 200 with mixup) stays whatever --epoch-scale is.
# * training set: the 60,000 training images; validation: the 10,000 test images (the
#   benchmark's test set, also what the dataset's README table reports); never trained on;
# * ResNet-18 at half width (stem and stages 32-64-128-256), the toy's network, on 40-px crops of
#   the 28-px images upscaled (46-px short side at test), the toy's geometry: at 28 px the
#   ImageNet stem leaves a 7x7 map (configs/toy/classification.py measured that as too coarse);
# * the random crop keeps >= 50% of the area (the toy's measured choice for single-object images);
# * validation every epoch, so the classify step records its learning curve (the report marks a
#   classifier still improving over its last 20% of epochs).
_base_ = ['../_base_/datasets/imagenet_bot.py']

data_root = 'data/fashion_mnist/cls'
num_classes = 10

model = dict(
    backbone=dict(depth=18, stem_channels=32, base_channels=32),
    head=dict(num_classes=num_classes, in_channels=256, topk=(1,)),
)
data_preprocessor = dict(num_classes=num_classes)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=40,
        crop_ratio_range=(0.5, 1.0),
        aspect_ratio_range=(3.0 / 4.0, 4.0 / 3.0),
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=46, edge='short'),
    dict(type='CenterCrop', crop_size=40),
    dict(type='PackInputs'),
]
# Batch 128 in one process (the efficient recipe's per-GPU batch); with --auto-scale-lr every
# rung's rate is scaled from its own reference batch. No loader worker: on the 2-core machine
# the step is faster without one competing for the cores (measured for the toy).
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        split='train',
        classes=data_root + '/classes.txt',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, split='val', classes=data_root + '/classes.txt', pipeline=test_pipeline
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
train_cfg = dict(val_interval=1)  # every epoch: the learning curve
