# Faster R-CNN FPN on the Fashion-MNIST miniature's VOC-format scenes (docs/miniature.md): the toy
# detector (configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py: the paper-scale config with the
# half-width ResNet-18 of the classifiers, 64-channel FPN, small RoI head) with the miniature's
# data root, its ten classes and a schedule for its 2,000 training scenes of 128 px.
_base_ = ['../toy/faster-rcnn_botr18-d-fpn_toy-voc.py', './fashion_mnist_classes.py']

data_root = 'data/fashion_mnist/det/VOCdevkit/'
metainfo = {{_base_.fmnist_metainfo}}

model = dict(roi_head=dict(bbox_head=dict(num_classes=10)))

_voc = dict(
    type='VOCDataset',
    data_root=data_root,
    metainfo=metainfo,
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=4),
    pipeline={{_base_.train_pipeline}},
)
train_dataloader = dict(
    dataset=dict(
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
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader

# 4 epochs of 500 iterations (batch 4), step at 3: the budget in docs/miniature.md.
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[3], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1)
)
