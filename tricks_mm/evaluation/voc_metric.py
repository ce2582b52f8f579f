"""mmdet's VOC mAP with the per-class AP it computes returned, not only printed.

``mmdet.evaluation.VOCMetric.compute_metrics`` calls ``eval_map`` once per IoU threshold and keeps
only the mean; the per-class results (``eval_map``'s second return value) go to a log table. This
subclass runs the host's own ``compute_metrics`` unchanged while catching what ``eval_map``
returns, so the per-class numbers are mmdet's, not a second implementation.
"""

import contextlib
from typing import Any, Dict, Iterator, List

import numpy as np
from mmdet.evaluation.metrics import voc_metric as host
from mmdet.evaluation.metrics.voc_metric import VOCMetric

from tricks_mm.registry import METRICS


@contextlib.contextmanager
def _capture_eval_map(sink: List[list]) -> Iterator[None]:
    """Route the host module's ``eval_map`` through a wrapper that records its per-class
    results (restored on exit, also on error)."""
    original = host.eval_map

    def recording(*args: Any, **kwargs: Any):
        mean_ap, per_class = original(*args, **kwargs)
        sink.append(per_class)
        return mean_ap, per_class

    host.eval_map = recording
    try:
        yield
    finally:
        host.eval_map = original


@METRICS.register_module()
class ClasswiseVOCMetric(VOCMetric):
    """``VOCMetric`` (same arguments) whose results add ``AP<iou>/<class>`` for every class and
    IoU threshold (a fraction, like the host's ``mAP``; ``AP<iou>/<class>@scale<k>`` per scale
    range when ``scale_ranges`` is set), e.g. ``voc07/AP50/cat`` with ``prefix='voc07'``."""

    def compute_metrics(self, results: list) -> Dict[str, float]:
        per_threshold: List[list] = []
        with _capture_eval_map(per_threshold):
            metrics = super().compute_metrics(results)
        if self.metric != 'mAP':
            return metrics
        classes = self.dataset_meta['classes']
        for iou_thr, per_class in zip(self.iou_thrs, per_threshold):
            if len(per_class) != len(classes):
                raise RuntimeError(
                    f'eval_map returned {len(per_class)} per-class results for '
                    f'{len(classes)} classes {classes}'
                )
            for name, result in zip(classes, per_class):
                ap = np.asarray(result['ap'], dtype=float)
                key = f'AP{int(iou_thr * 100):02d}/{name}'
                if ap.ndim == 0:
                    metrics[key] = float(ap)
                else:
                    metrics.update({f'{key}@scale{k}': float(v) for k, v in enumerate(ap)})
        return metrics
