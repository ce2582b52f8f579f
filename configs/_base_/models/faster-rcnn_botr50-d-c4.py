# Faster R-CNN C4 (Detectron / GluonCV design, the paper's Sec. 6 detector) on a BoTResNet:
# mmdet's C4 model with the base network swapped. The backbone stops after stage 3 (stride 16,
# 1024 channels, RPN and RoIAlign 14x14 on it); stage 4 is the per-RoI head (tricks_mm.BoTResLayer)
# followed by average pooling. BN frozen (statistics and affine), stem + layer1 frozen.
# One converted classifier checkpoint feeds both: backbone.conv1..layer3 into the backbone,
# backbone.layer4 into the RoI head, each strictly (the union is every key of the checkpoint).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py', '../bot_normalization.py']

checkpoint = 'work_dirs/transfer/resnet50d_backbone.pth'  # tools/transfer.py convert
norm_cfg = dict(type='BN', requires_grad=False)

model = dict(
    # the classifier's input convention (RGB, the paper's mean/std), not caffe's BGR
    data_preprocessor=dict(mean={{_base_.BOT_MEAN}}, std={{_base_.BOT_STD}}, bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='tricks_mm.BoTResNet',
        depth=50,
        variant='d',
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2,),
        frozen_stages=1,
        norm_cfg=norm_cfg,
        norm_eval=True,
        zero_init_residual=False,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.', exclude=['layer4.']
        ),
    ),
    roi_head=dict(
        shared_head=dict(
            _delete_=True,
            type='tricks_mm.BoTResLayer',
            depth=50,
            variant='d',
            stage=3,
            stride=2,
            norm_cfg=norm_cfg,
            norm_eval=True,
            init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.layer4.'),
        )
    ),
)
