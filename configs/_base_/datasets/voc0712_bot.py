# Paper Table 8 data: train on VOC 2007 trainval + 2012 trainval (mmdet's voc0712: short side
# 600, long side <= 1000), test on VOC 2007 test, mAP@0.5 by the VOC07 11-point rule and by area.
_base_ = ['mmdet::_base_/datasets/voc0712.py']

# mmdet's VOCMetric, also returning the per-class AP it computes (voc07/AP50/<class>, ...)
val_evaluator = [
    dict(type='tricks_mm.ClasswiseVOCMetric', metric='mAP', eval_mode='11points', prefix='voc07'),
    dict(type='tricks_mm.ClasswiseVOCMetric', metric='mAP', eval_mode='area', prefix='voc_area'),
]
test_evaluator = val_evaluator
