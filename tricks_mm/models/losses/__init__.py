"""Losses of the paper's training refinements (Sec. 5.2 label smoothing, Sec. 5.3 distillation)."""

from tricks_mm.models.losses.distill import BoTDistillLoss
from tricks_mm.models.losses.label_smooth import BoTLabelSmoothLoss, smooth_targets

__all__ = ['BoTLabelSmoothLoss', 'BoTDistillLoss', 'smooth_targets']
