"""Knowledge-distillation loss of He et al., Sec. 5.3 (arXiv 1812.01187)."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.cross_entropy_loss import soft_cross_entropy

from tricks_mm.models.losses.label_smooth import SMOOTH_MODES, smooth_targets, to_soft_targets
from tricks_mm.registry import MODELS


@MODELS.register_module()
class BoTDistillLoss(nn.Module):
    r"""``hard_weight * CE(p, softmax(z)) + soft_weight * T^2 * CE(softmax(r/T), softmax(z/T))``.

    With the defaults this is the paper's Eq. in Sec. 5.3: ``z`` student logits, ``r`` teacher
    logits, ``p`` the true labels (class indices, or the mixed target when mixup is on), ``T = 20``.
    The ``T^2`` factor keeps the soft term's gradient, ``T * (softmax(z/T) - softmax(r/T))`` per
    logit and sample, on the scale of the hard term's as T grows (Hinton et al., 2015). The soft
    term is a cross entropy as in the paper, not a KL divergence: the two differ by the teacher's
    entropy, a constant with zero gradient, so only the reported value differs.

    GluonCV's ``DistillationSoftmaxCrossEntropyLoss`` computes
    ``(1 - h) * T^2 * soft + h * hard`` with ``h = 0.5``; express it as ``hard_weight=h,
    soft_weight=1 - h``.

    Args:
        temperature: ``T`` (> 0); the paper uses 20.
        hard_weight: Weight of the cross entropy against the true labels.
        soft_weight: Weight of the ``T^2``-scaled cross entropy against the teacher.
        label_smooth_eps: Label smoothing of the hard term's target, ``[0, 1)``; 0 disables it.
        label_smooth_mode: ``'paper'`` or ``'uniform'`` (see :mod:`.label_smooth`).
    """

    def __init__(
        self,
        temperature: float = 20.0,
        hard_weight: float = 1.0,
        soft_weight: float = 1.0,
        label_smooth_eps: float = 0.0,
        label_smooth_mode: str = 'paper',
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature!r}')
        if hard_weight < 0 or soft_weight < 0:
            raise ValueError(
                f'hard_weight and soft_weight must be >= 0, got {hard_weight!r}, {soft_weight!r}'
            )
        if not 0 <= label_smooth_eps < 1:
            raise ValueError(f'label_smooth_eps must be in [0, 1), got {label_smooth_eps!r}')
        if label_smooth_mode not in SMOOTH_MODES:
            raise ValueError(
                f'label_smooth_mode must be one of {SMOOTH_MODES}, got {label_smooth_mode!r}'
            )
        self.temperature = float(temperature)
        self.hard_weight = float(hard_weight)
        self.soft_weight = float(soft_weight)
        self.label_smooth_eps = float(label_smooth_eps)
        self.label_smooth_mode = label_smooth_mode

    def hard_targets(self, target: torch.Tensor, num_classes: int) -> torch.Tensor:
        """The hard term's target distribution ``(N, K)``, smoothed if ``label_smooth_eps > 0``."""
        if self.label_smooth_eps > 0:
            return smooth_targets(
                target, num_classes, self.label_smooth_eps, self.label_smooth_mode
            )
        return to_soft_targets(target, num_classes)

    def forward(
        self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        """Batch-mean distillation loss.

        Args:
            student_logits: ``z``, shape ``(N, K)``.
            teacher_logits: ``r``, shape ``(N, K)``; detached here, the teacher is never trained.
            target: Class indices ``(N,)`` or soft (mixup) targets ``(N, K)``.

        Returns:
            Scalar loss.
        """
        if student_logits.dim() != 2 or teacher_logits.shape != student_logits.shape:
            raise ValueError(
                'student and teacher logits must both have shape (N, K), got '
                f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}'
            )
        if target.shape[0] != student_logits.shape[0]:
            raise ValueError(
                f'target batch size {target.shape[0]} (shape {tuple(target.shape)}) does not '
                f'match the logits batch size {student_logits.shape[0]}'
            )
        num_classes = student_logits.shape[1]
        hard = soft_cross_entropy(
            student_logits,
            self.hard_targets(target, num_classes).to(student_logits.dtype),
            reduction='none',
        )
        t = self.temperature
        teacher_probs = F.softmax(teacher_logits.detach() / t, dim=1)
        soft = soft_cross_entropy(student_logits / t, teacher_probs, reduction='none') * (t * t)
        return (self.hard_weight * hard + self.soft_weight * soft).mean()
