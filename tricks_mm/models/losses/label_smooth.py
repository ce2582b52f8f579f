"""Label smoothing with the target of He et al., Sec. 5.2 (arXiv 1812.01187).

The paper writes the smoothed target as ``q_i = 1 - eps`` for the true class and
``eps / (K - 1)`` for every other class. Most code (GluonCV, Inception-v3, ``torch.nn.functional.
cross_entropy(label_smoothing=eps)``) uses ``1 - eps + eps / K`` and ``eps / K`` instead. Both are
an affine map of the (one-hot or mixed) target ``q``:

=========  =====================================  =====================================
mode       true-class weight (one-hot ``q``)      other classes
=========  =====================================  =====================================
paper      ``1 - eps``                            ``eps / (K - 1)``
uniform    ``1 - eps + eps / K``                  ``eps / K``
=========  =====================================  =====================================

How this relates to mmpretrain's ``LabelSmoothLoss`` (``label_smooth_val=v``):

- ``mode='original'`` is ``(1 - v) * onehot + v / K``: our ``'uniform'`` mode with ``eps = v``.
- ``mode='classy_vision'`` is ``(onehot + v / K) / (1 + v)``: ``'uniform'`` with
  ``eps = v / (1 + v)``.
- ``mode='multi_label'`` is ``1 - v`` / ``v`` per class with a sigmoid: a different task.

None of its modes *names* the paper's target, but ``'original'`` with
``v = eps * K / (K - 1)`` reproduces it (only for ``eps < (K - 1) / K``); this module states the
paper's parametrisation directly, so a config's ``eps=0.1`` means what the paper's eps means,
and it accepts hard labels ``(N,)`` and soft (mixup) targets ``(N, K)`` alike. Only the target is
ours: the cross entropy against it and its reduction (``weight``, ``avg_factor``) are mmpretrain's
``soft_cross_entropy`` / ``weight_reduce_loss``, so ``ClsHead`` treats it like its own losses.
"""

import numbers
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.cross_entropy_loss import soft_cross_entropy

from tricks_mm.registry import MODELS

SMOOTH_MODES = ('paper', 'uniform')
REDUCTIONS = ('none', 'mean', 'sum')


def _check_smoothing(num_classes: int, eps: float, mode: str) -> None:
    """Validate label-smoothing arguments, raising ``ValueError`` that names the bad value."""
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, numbers.Integral)
        or num_classes < 2
    ):
        raise ValueError(f'num_classes must be an int >= 2, got {num_classes!r}')
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 <= eps < 1:
        raise ValueError(f'eps must be a number in [0, 1), got {eps!r}')
    if mode not in SMOOTH_MODES:
        raise ValueError(f'mode must be one of {SMOOTH_MODES}, got {mode!r}')


def to_soft_targets(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Turn class indices ``(N,)`` or soft targets ``(N, K)`` into a float ``(N, K)`` tensor.

    Args:
        label: Integer class indices of shape ``(N,)``, or a (mixup) target distribution of shape
            ``(N, K)``.
        num_classes: ``K``.

    Returns:
        Float targets of shape ``(N, K)`` (one-hot rows for index labels).

    Raises:
        ValueError: If the shape or dtype is not one of the two accepted forms.
    """
    if label.dim() == 1:
        if label.dtype.is_floating_point or label.dtype == torch.bool:
            raise ValueError(f'1-D labels must be integer class indices, got dtype {label.dtype}')
        return F.one_hot(label.long(), num_classes).float()
    if label.dim() == 2 and label.shape[1] == num_classes:
        return label.float()
    raise ValueError(
        f'label must have shape (N,) of class indices or (N, {num_classes}) of scores, '
        f'got shape {tuple(label.shape)}'
    )


def smooth_targets(
    label: torch.Tensor, num_classes: int, eps: float, mode: str = 'paper'
) -> torch.Tensor:
    """Smoothed target distribution for hard labels or soft (mixup) targets.

    The same affine map is applied to every entry ``q`` of the target (Sec. 5.2):
    ``'paper'``: ``q * (1 - eps) + (1 - q) * eps / (K - 1)``; ``'uniform'``:
    ``q * (1 - eps) + eps / K``. For one-hot ``q`` these are the targets of the module table; for
    a mixup target ``lam * e_a + (1 - lam) * e_b`` the map is linear in ``q`` with rows summing to
    one, so the smoothed mixup target is the mix of the smoothed one-hots (and the loss is the
    same mix of the two losses).

    Args:
        label: Class indices ``(N,)`` or soft targets ``(N, K)``.
        num_classes: ``K`` (>= 2).
        eps: Smoothing strength in ``[0, 1)``.
        mode: ``'paper'`` or ``'uniform'``.

    Returns:
        Float tensor ``(N, K)``.
    """
    _check_smoothing(num_classes, eps, mode)
    q = to_soft_targets(label, num_classes)
    if mode == 'paper':
        return q * (1 - eps) + (1 - q) * (eps / (num_classes - 1))
    return q * (1 - eps) + eps / num_classes


@MODELS.register_module()
class BoTLabelSmoothLoss(nn.Module):
    """Cross entropy against the label-smoothed target of the paper (Sec. 5.2).

    Drop-in ``loss`` for mmpretrain's ``ClsHead`` family: the head passes ``gt_label`` ``(N,)`` or,
    after Mixup/CutMix batch augments, ``gt_score`` ``(N, K)``; both are smoothed with the same
    affine map (see :func:`smooth_targets` and the module docstring for how the modes compare with
    mmpretrain's ``LabelSmoothLoss``).

    Args:
        eps: Smoothing strength in ``[0, 1)``; the paper uses 0.1.
        num_classes: Number of classes ``K`` (>= 2). Optional: by default ``K`` is the width of
            ``cls_score``, so rung configs need no change when a dataset has other classes;
            when given, a ``cls_score`` of another width is an error.
        mode: ``'paper'`` (``1 - eps`` / ``eps / (K - 1)``) or ``'uniform'``
            (``1 - eps + eps / K`` / ``eps / K``, GluonCV and PyTorch).
        loss_weight: Multiplier of the loss.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
    """

    def __init__(
        self,
        eps: float = 0.1,
        num_classes: Optional[int] = None,
        mode: str = 'paper',
        loss_weight: float = 1.0,
        reduction: str = 'mean',
    ) -> None:
        super().__init__()
        _check_smoothing(2 if num_classes is None else num_classes, eps, mode)
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        self.num_classes = num_classes
        self.eps = float(eps)
        self.mode = mode
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight: Optional[torch.Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs,
    ) -> torch.Tensor:
        """Smoothed cross entropy.

        Args:
            cls_score: Logits ``(N, K)``.
            label: Class indices ``(N,)`` or soft targets ``(N, K)``.
            weight: Optional per-sample weights ``(N,)``.
            avg_factor: Divisor of the summed loss for ``reduction='mean'`` (``ClsHead`` passes N).
            reduction_override: Overrides ``reduction`` for this call.

        Returns:
            The loss (a scalar unless the reduction is ``'none'``).
        """
        reduction = reduction_override or self.reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        num_classes = self.num_classes or (cls_score.shape[1] if cls_score.dim() == 2 else -1)
        if cls_score.dim() != 2 or cls_score.shape[1] != num_classes or num_classes < 2:
            raise ValueError(
                f'cls_score must have shape (N, {self.num_classes or "K >= 2"}), '
                f'got {tuple(cls_score.shape)}'
            )
        if label.shape[0] != cls_score.shape[0]:
            raise ValueError(
                f'label batch size {label.shape[0]} (shape {tuple(label.shape)}) does not match '
                f'cls_score batch size {cls_score.shape[0]}'
            )
        targets = smooth_targets(label, num_classes, self.eps, self.mode)
        loss = soft_cross_entropy(
            cls_score,
            targets.to(cls_score.dtype),
            weight=weight,
            reduction=reduction,
            avg_factor=avg_factor,
        )
        return self.loss_weight * loss
