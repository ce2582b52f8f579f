"""mmseg's IoU metric with the per-class IoU it computes returned, not only printed.

``mmseg.evaluation.IoUMetric.compute_metrics`` gets the per-class arrays from
``self.total_area_to_metrics`` and returns only their means (the per-class table goes to the
log). This subclass keeps the arrays that call produces and adds them to the host's own result,
so the numbers are mmseg's, not a second implementation.
"""

from typing import Any, Dict, Optional

import numpy as np
from mmseg.evaluation.metrics import IoUMetric

from tricks_mm.registry import METRICS


@METRICS.register_module()
class ClasswiseIoUMetric(IoUMetric):
    """``IoUMetric`` (same arguments) whose results add ``<metric>/<class>`` in percent for every
    class and per-class metric it computes (``IoU/cat``, ``Acc/cat``, ...), NaN for a class that
    appears neither in the predictions nor in the labels (as mmseg leaves it)."""

    _per_class: Optional[Dict[str, np.ndarray]] = None

    def total_area_to_metrics(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        ret_metrics = super().total_area_to_metrics(*args, **kwargs)
        self._per_class = {
            k: np.array(v, dtype=float, copy=True) for k, v in ret_metrics.items() if k != 'aAcc'
        }
        return ret_metrics

    def compute_metrics(self, results: list) -> Dict[str, float]:
        self._per_class = None
        metrics = super().compute_metrics(results)
        if self._per_class is None:  # format_only: nothing was computed
            return metrics
        classes = self.dataset_meta['classes']
        for metric, values in self._per_class.items():
            metrics.update(
                {
                    f'{metric}/{name}': float(np.round(v * 100, 2))
                    for name, v in zip(classes, values)
                }
            )
        return metrics
