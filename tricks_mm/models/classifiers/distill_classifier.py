"""Student classifier distilled from a frozen teacher, He et al. Sec. 5.3 (arXiv 1812.01187)."""

import copy
import os
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import load_checkpoint
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from tricks_mm.registry import MODELS, scoped
from tricks_mm.utils.paths import resolve_config

TeacherSpec = Union[str, os.PathLike, dict, nn.Module]


def _teacher_cfg(teacher: Union[str, os.PathLike, dict]) -> dict:
    """The teacher's model config, pinned to the scope it was written for.

    A config file is read as the Runner reads it: its top-level ``data_preprocessor`` is merged
    into ``model`` (mmpretrain configs keep it there) and its ``default_scope`` (default
    ``'mmpretrain'``) resolves unprefixed types.
    """
    if isinstance(teacher, dict):
        cfg = copy.deepcopy(dict(teacher))
        cfg.setdefault('_scope_', 'mmpretrain')
        return cfg
    path = resolve_config(os.fspath(teacher))  # `configs/...` also from an installed wheel
    if not os.path.isfile(path):
        raise ValueError(f'teacher config file does not exist: {path!r}')
    file_cfg = Config.fromfile(path)
    if not isinstance(file_cfg.get('model'), dict):
        raise ValueError(f'teacher config {path!r} has no `model` dict')
    cfg = copy.deepcopy(file_cfg.model)
    if file_cfg.get('data_preprocessor') is not None:
        cfg.setdefault('data_preprocessor', copy.deepcopy(file_cfg.data_preprocessor))
    cfg.setdefault('_scope_', file_cfg.get('default_scope') or 'mmpretrain')
    return cfg


def build_teacher(teacher: TeacherSpec, checkpoint: Optional[str] = None) -> nn.Module:
    """Build the frozen teacher: strict checkpoint load, eval mode, no gradients.

    Args:
        teacher: A config file path, a whole-model config dict, or a built module.
        checkpoint: Teacher weights; required unless ``teacher`` is a built module. Loaded with
            ``strict=True``: a teacher whose weights do not fit its config would silently distill
            noise, so a key or shape mismatch raises.

    Returns:
        The teacher module in eval mode with ``requires_grad=False``.
    """
    if isinstance(teacher, nn.Module):
        model = teacher
    elif isinstance(teacher, (str, os.PathLike, dict)):
        if checkpoint is None:
            raise ValueError(
                'teacher_checkpoint is required when the teacher is built from a config, '
                f'got None (teacher={teacher!r:.200})'
            )
        model = MODELS.build(_teacher_cfg(teacher))
    else:
        raise ValueError(
            'teacher must be a config path, a model config dict or an nn.Module, '
            f'got {type(teacher).__name__}'
        )
    if checkpoint is not None:
        load_checkpoint(model, os.fspath(checkpoint), map_location='cpu', strict=True)
    model.requires_grad_(False)
    return model.eval()


def _check_same_preprocessing(student: nn.Module, teacher: nn.Module) -> None:
    """The teacher sees the student's normalised tensors, so both must normalise alike."""
    s_pre = getattr(student, 'data_preprocessor', None)
    t_pre = getattr(teacher, 'data_preprocessor', None)
    if not all(hasattr(p, '_enable_normalize') for p in (s_pre, t_pre)):
        return
    same = s_pre._enable_normalize == t_pre._enable_normalize and (
        getattr(s_pre, 'to_rgb', False) == getattr(t_pre, 'to_rgb', False)
    )
    if same and s_pre._enable_normalize:
        same = all(
            torch.allclose(getattr(s_pre, k).float().cpu(), getattr(t_pre, k).float().cpu())
            for k in ('mean', 'std')
        )
    if not same:

        def describe(p: nn.Module) -> str:
            if not p._enable_normalize:
                return f'no normalisation, to_rgb={p.to_rgb}'
            return (
                f'mean={p.mean.flatten().tolist()}, std={p.std.flatten().tolist()}, '
                f'to_rgb={p.to_rgb}'
            )

        raise ValueError(
            'teacher and student data_preprocessor normalise differently; the teacher is fed '
            f"the student's inputs: student ({describe(s_pre)}) vs teacher ({describe(t_pre)})"
        )


@MODELS.register_module()
class BoTDistillClassifier(ImageClassifier):
    """An ``ImageClassifier`` trained with the distillation loss of Sec. 5.3.

    The teacher runs on the very tensor the student sees in :meth:`loss`, i.e. after the data
    preprocessor's batch augments: with mixup the teacher sees the mixed images, as the paper
    prescribes, and the target is the mixed ``gt_score``. Predict and tensor modes use the
    student only; the head's own ``loss`` config is not used in training.

    The teacher is kept outside the module tree (in ``self.__dict__``), so it is absent from
    ``parameters()`` (no optimizer group, no DDP gradient sync), from ``state_dict()`` (a student
    checkpoint has exactly the keys of a plain ``ImageClassifier``), from ``train()`` /
    ``init_weights()`` recursion and from ``named_modules()``. :meth:`_apply` forwards device and
    dtype moves (``.to``, ``.cuda``, ``.half``) to it; :meth:`train` keeps it in eval mode.

    Args:
        backbone, neck, head, pretrained, train_cfg, data_preprocessor, init_cfg: As
            ``ImageClassifier``.
        teacher: Teacher config file path, whole-model config dict, or built module. Configs are
            built in their own scope (the file's ``default_scope``, else ``'mmpretrain'``).
        teacher_checkpoint: Teacher weights, loaded strictly. Required unless ``teacher`` is a
            module (then optional).
        distill_loss: Config (built in the ``tricks_mm`` scope) or module of the loss
            ``(student_logits, teacher_logits, target) -> scalar``.
    """

    def __init__(
        self,
        backbone: dict,
        neck: Optional[dict] = None,
        head: Optional[dict] = None,
        pretrained: Optional[str] = None,
        train_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
        *,
        teacher: TeacherSpec,
        teacher_checkpoint: Optional[str] = None,
        distill_loss: Union[dict, nn.Module, None] = None,
    ) -> None:
        if distill_loss is None:  # the paper's T = 20 (Sec. 5.3)
            distill_loss = dict(type='BoTDistillLoss', temperature=20.0)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        if not self.with_head:
            raise ValueError('BoTDistillClassifier needs a head to produce logits, got head=None')
        teacher_model = build_teacher(teacher, teacher_checkpoint)
        _check_same_preprocessing(self, teacher_model)
        s_k = getattr(self.head, 'num_classes', None)
        t_k = getattr(getattr(teacher_model, 'head', None), 'num_classes', None)
        if s_k is not None and t_k is not None and s_k != t_k:
            raise ValueError(f'teacher has {t_k} classes but the student has {s_k}')
        # Plain attribute, not a submodule: see the class docstring.
        self.__dict__['_teacher'] = teacher_model
        if not isinstance(distill_loss, nn.Module):
            distill_loss = MODELS.build(scoped(distill_loss))
        self.distill_loss = distill_loss

    @property
    def teacher(self) -> nn.Module:
        """The frozen teacher (not a submodule)."""
        return self.__dict__['_teacher']

    def train(self, mode: bool = True) -> 'BoTDistillClassifier':
        """Switch the student's mode; the teacher always stays in eval (fixed BN statistics)."""
        super().train(mode)
        teacher = self.__dict__.get('_teacher')
        if teacher is not None:
            teacher.eval()
        return self

    def _apply(self, fn, recurse: bool = True) -> 'BoTDistillClassifier':
        """Apply ``fn`` (device/dtype moves) to the student, then to the out-of-tree teacher."""
        super()._apply(fn, recurse)
        teacher = self.__dict__.get('_teacher')
        if teacher is not None:
            teacher._apply(fn)
        return self

    def _set_device(self, device: torch.device) -> None:
        """mmengine's device bookkeeping for data preprocessors, extended to the teacher."""
        super()._set_device(device)
        teacher = self.__dict__.get('_teacher')
        if isinstance(teacher, BaseModel):
            teacher._set_device(device)

    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Teacher logits on ``inputs`` (already preprocessed and mixed), without autograd."""
        teacher = self.teacher
        with torch.no_grad():
            if isinstance(teacher, BaseModel):
                logits = teacher(inputs, mode='tensor')
            else:
                logits = teacher(inputs)
        if not isinstance(logits, torch.Tensor):
            raise ValueError(
                f'the teacher must return a logits tensor, got {type(logits).__name__}'
            )
        return logits

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample]) -> dict:
        """Distillation loss of the student against the teacher and the (mixed) labels.

        Args:
            inputs: Preprocessed (normalised, batch-augmented) images ``(N, C, H, W)``.
            data_samples: Samples with ``gt_score`` (set by batch augments) or ``gt_label``.

        Returns:
            ``dict(loss=...)``.
        """
        cls_score = self.head(self.extract_feat(inputs))
        teacher_logits = self.teacher_logits(inputs)
        # Same choice as ClsHead._get_loss: mixup/cutmix scores win over hard labels.
        if 'gt_score' in data_samples[0]:
            target = torch.stack([s.gt_score for s in data_samples])
        else:
            target = torch.cat([s.gt_label for s in data_samples])
        return dict(loss=self.distill_loss(cls_score, teacher_logits, target))
