"""Host metrics that also return what they compute per class; importing this module registers
them in ``tricks_mm.registry.METRICS``."""

from tricks_mm.evaluation import iou_metric, voc_metric  # noqa: F401
