"""Per-class AP / IoU from the host metrics, on constructed cases with hand-computed answers."""

import pytest
import torch
from mmengine.registry import METRICS, DefaultScope

CLASSES = ('cat', 'dog')


def _det_sample():
    """One image. cat: one ground truth, found exactly (AP 1). dog: two ground truths, a false
    positive scored 0.9 then a hit on the first truth at 0.8: precision 0, 1/2 at recall 0, 1/2.
    Area AP = 1/2 * 1/2 = 0.25; 11-point AP = 6 recall points (0..0.5) at precision 1/2 / 11."""
    gt = dict(
        bboxes=torch.tensor(
            [[10.0, 10.0, 50.0, 50.0], [60.0, 10.0, 90.0, 40.0], [10.0, 60.0, 40.0, 90.0]]
        ),
        labels=torch.tensor([0, 1, 1]),
    )
    pred = dict(
        bboxes=torch.tensor(
            [[10.0, 10.0, 50.0, 50.0], [200.0, 200.0, 230.0, 230.0], [60.0, 10.0, 90.0, 40.0]]
        ),
        scores=torch.tensor([0.95, 0.9, 0.8]),
        labels=torch.tensor([0, 1, 1]),
    )
    ignored = dict(bboxes=torch.zeros((0, 4)), labels=torch.zeros((0,), dtype=torch.long))
    return dict(gt_instances=gt, ignored_instances=ignored, pred_instances=pred)


@pytest.mark.parametrize('eval_mode, dog_ap', [('area', 0.25), ('11points', 6 * 0.5 / 11)])
def test_classwise_voc_metric_returns_known_per_class_ap(eval_mode, dog_ap):
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(
            dict(
                type='tricks_mm.ClasswiseVOCMetric',
                metric='mAP',
                eval_mode=eval_mode,
                prefix='voc07',
            )
        )
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_det_sample()])
    out = metric.evaluate(1)
    assert out['voc07/AP50/cat'] == pytest.approx(1.0, abs=1e-6)
    assert out['voc07/AP50/dog'] == pytest.approx(dog_ap, abs=1e-6)
    # the host's own mean is untouched and is the mean of the per-class values
    assert out['voc07/mAP'] == pytest.approx((1.0 + dog_ap) / 2, abs=1e-3)


def test_classwise_voc_metric_restores_eval_map():
    from mmdet.evaluation.functional import eval_map
    from mmdet.evaluation.metrics import voc_metric

    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(dict(type='tricks_mm.ClasswiseVOCMetric', iou_thrs=[0.5, 0.75]))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_det_sample()])
    out = metric.evaluate(1)
    assert {'pascal_voc/AP50/cat', 'pascal_voc/AP75/dog'} <= set(out)
    assert voc_metric.eval_map is eval_map


def test_classwise_iou_metric_returns_known_per_class_iou():
    # 2x3 maps. cat (0): predicted at 3 pixels, labelled at 2, overlap 2 -> IoU 2/3.
    # dog (1): predicted at 3, labelled at 4, overlap 3 -> IoU 3/4. 255 is ignored.
    pred = torch.tensor([[[0, 0, 0], [1, 1, 1]]])
    gt = torch.tensor([[[0, 0, 1], [1, 1, 1]]])
    sample = dict(pred_sem_seg=dict(data=pred), gt_sem_seg=dict(data=gt))
    with DefaultScope.overwrite_default_scope('mmseg'):
        metric = METRICS.build(dict(type='tricks_mm.ClasswiseIoUMetric', iou_metrics=['mIoU']))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [sample])
    out = metric.evaluate(1)
    assert out['IoU/cat'] == pytest.approx(round(100 * 2 / 3, 2))
    assert out['IoU/dog'] == pytest.approx(75.0)
    assert out['mIoU'] == pytest.approx(round(100 * (2 / 3 + 3 / 4) / 2, 2))
