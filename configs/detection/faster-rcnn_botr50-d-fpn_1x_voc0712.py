# Paper Table 8 protocol with mmdet's standard design: Faster R-CNN R50-FPN 1x, trained on VOC 2007
# trainval + 2012 trainval, tested on VOC 2007 test (mAP@0.5, 11-point and area). Exactly
# mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py (tests/configs assert it) with the base
# network swapped: a BoTResNet loaded strictly from a converted classifier
# (tools/transfer.py convert). Set model.backbone.variant/depth to the classifier's and
# model.backbone.init_cfg.checkpoint to the converted file. Peer: 80.4 mAP with torchvision R-50.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/voc0712_bot.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/voc0712_1x.py',
    '../_base_/bot_normalization.py',
]

model = dict(
    # the classifier's normalisation (the paper's mean/std), so transferred features match
    data_preprocessor=dict(mean={{_base_.BOT_MEAN}}, std={{_base_.BOT_STD}}),
    backbone=dict(
        _delete_=True,
        type='tricks_mm.BoTResNet',
        depth=50,
        variant='d',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        zero_init_residual=False,
        init_cfg=dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint='work_dirs/transfer/resnet50d_backbone.pth',
        ),
    ),
    roi_head=dict(bbox_head=dict(num_classes=20)),
)
