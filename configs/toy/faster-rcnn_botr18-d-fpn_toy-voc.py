# Toy-scale Faster R-CNN for the embedded VOC-format suite: the paper-scale config with the toy
# classifier's half-width ResNet-18 (configs/toy/classification.py), 64-channel FPN and a small RoI head (the stock head's two 1024-wide FC
# layers over 512 RoIs per image dominate a CPU step), 128-px scenes and a short schedule.
_base_ = ['../detection/faster-rcnn_botr50-d-fpn_1x_voc0712.py', './synthetic_classes.py']

# the suite a ladder generates (synthetic_data.out, tricks_mm/ladder/data.py), else data/synthetic
data_root = '{{$TRICKS_MM_SYNTHETIC_DATA:data/synthetic}}/det/VOCdevkit/'
metainfo = {{_base_.metainfo}}
channels = 64

model = dict(
    backbone=dict(depth=18, stem_channels=32, base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=256, num_classes=6),
    ),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128)),
    ),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
_voc = dict(
    type='VOCDataset',
    data_root=data_root,
    metainfo=metainfo,
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=4),
    pipeline=train_pipeline,
)
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_type'],
        datasets=[
            dict(
                _voc,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/'),
            ),
            dict(
                _voc,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/'),
            ),
        ],
    ),
)
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline),
)
test_dataloader = val_dataloader

max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# Gradient clipping at mmdet's usual max_norm 35 (its RetinaNet / FCOS configs): measured in the
# demo, the B-standard backbone (toy ResNet-B, standard recipe, 25% top-1) made the loss
# non-finite at iteration 56 without it (lr 0.02, reproducible on one thread), and trains with it.
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)  # that lr is for this batch, 1 process
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[4], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1)
)
