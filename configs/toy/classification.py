# Overlay (tools/train.py RUNG --overlay configs/toy/classification.py): any classification rung
# on the embedded synthetic suite (python -m tricks_mm.datasets.synthetic --out data/synthetic).
# Only data, sizes and the width of the network change; the rung's tricks and schedule shape stay
# (shorten the schedule with --epoch-scale). Objects fill the 64-px crops, so the random crop keeps
# at least 25% of the area (the paper's 8% would often cut the object away at this size).
_base_ = ['../_base_/datasets/imagenet_bot.py']  # for the paper's lighting constants

data_root = 'data/synthetic/cls'
num_classes = 6

model = dict(
    backbone=dict(depth=18),
    head=dict(num_classes=num_classes, in_channels=512, topk=(1, )))
data_preprocessor = dict(num_classes=num_classes)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=56, crop_ratio_range=(0.25, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, saturation=0.4, hue=0.2),
    dict(type='tricks_mm.BoTLighting', eigval={{_base_.EIGVAL}}, eigvec={{_base_.EIGVEC}}, alphastd=0.1,
         to_rgb=False),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, split='train', classes=data_root + '/classes.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, split='val', classes=data_root + '/classes.txt',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
