# Paper Table 8 protocol with the C4 design (the paper's GluonCV-style detector): Faster R-CNN
# R50-C4, VOC 2007 trainval + 2012 trainval -> VOC 2007 test, short side 600 / max 1000, RoIAlign
# 14x14, frozen BN, stem + layer1 frozen, mmdet's VOC 1x schedule. Set the depth/variant of both
# model.backbone and model.roi_head.shared_head, and the converted checkpoint of both init_cfgs
# (the ladder does all of it).
_base_ = [
    '../_base_/models/faster-rcnn_botr50-d-c4.py',
    '../_base_/datasets/voc0712_bot.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/voc0712_1x.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
