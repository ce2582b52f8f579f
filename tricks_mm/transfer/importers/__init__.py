"""Import published ResNets (timm, torchvision, mmpretrain, mmdet/mmseg/mmcv) as tricks_mm
classifiers.

:func:`import_classifier` reads a source file (weights-only), renames its keys to BoTResNet's
(:mod:`.timm`, :mod:`.torchvision`, :mod:`.mmpretrain`, :mod:`.openmmlab`), infers the
architecture from keys and shapes (:mod:`tricks_mm.transfer.architecture`), confirms it with
``--arch`` where the weights cannot tell, checks every key and shape, and writes an mmpretrain
``ImageClassifier`` checkpoint of ``tricks_mm.BoTResNet`` + ``LinearClsHead`` whose ``meta``
records the provenance and the input normalisation.

A backbone without a classifier head (a self-supervised ResNet, mmpretrain's
``extract_backbone_weights.py``, timm ``num_classes=0``, ``open-mmlab://`` files) is imported for
transfer: the checkpoint has ``backbone.*`` only, its config no head, its provenance
``top1_kind='no classifier head'``; what needs a head (export, top-1) refuses it with that reason.
"""

import io
import os.path as osp
import time
from typing import Any, Dict, Optional, Tuple

import torch

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.transfer.architecture import (
    LayoutError,
    backbone_kwargs,
    fit_backbone,
    infer_layout,
    resolve_variant,
)
from tricks_mm.transfer.importers import mmpretrain, openmmlab, timm, torchvision
from tricks_mm.transfer.importers.classifier import classifier_config
from tricks_mm.transfer.importers.naming import ArchName, arch_name, parse_arch
from tricks_mm.transfer.importers.source import SourceWeights, read_file
from tricks_mm.transfer.normalization import InputNormalization
from tricks_mm.utils.hashing import file_sha256

SOURCES = {
    **{m.NAME: m for m in (timm, torchvision, mmpretrain)},
    **{name: openmmlab for name in openmmlab.NAMES},
}
NO_HEAD = 'no classifier head'

__all__ = ['import_classifier', 'LayoutError', 'SOURCES', 'detect_source']


def detect_source(obj: Any, path: str) -> str:
    """Which library wrote ``obj`` (the content of ``path``), from its structure and keys.

    Raises:
        ValueError: the structure fits none, or a plain 7x7-stem state dict (timm ``resnetN``
            and torchvision ``resnetN`` have the same keys; the provenance must say which).
    """
    if path.endswith('.safetensors') or timm.is_train_checkpoint(obj):
        return timm.NAME
    state = obj.get('state_dict', obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path!r} holds a {type(obj).__name__}, not a state dict or checkpoint')
    if any(str(k).startswith('backbone.') for k in state):
        return mmpretrain.NAME
    if 'stem.0.conv.weight' in state:
        return mmpretrain.NAME  # mmpretrain's ConvModule deep stem, a backbone alone
    if 'stem.0.weight' in state:
        return 'mmdet'  # mmcv's Sequential deep stem (mmdet / mmseg / open-mmlab://)
    if 'conv1.0.weight' in state:
        return timm.NAME  # a deep stem in timm layout: torchvision has none
    raise ValueError(
        f'{path!r} is a plain (7x7-stem) ResNet state dict, which timm and torchvision write with '
        'the same keys: pass --from timm or --from torchvision (the provenance records which '
        'library, and so which input normalisation, the weights come from)'
    )


def _load(src: str, source: str, ema: bool) -> Tuple[SourceWeights, str]:
    if source == 'auto':
        # the auto path may meet a timm train.py checkpoint: allow its argparse.Namespace
        obj = read_file(src, timm.EXTRA_GLOBALS)
        source = detect_source(obj, src)
        return SOURCES[source].from_object(obj, src, ema), source
    if source not in SOURCES:
        raise ValueError(f"--from must be one of {sorted(SOURCES)} or 'auto', got {source!r}")
    return SOURCES[source].read(src, ema), source


def _check_stored_arch(stored: Optional[ArchName], given: Optional[ArchName]) -> None:
    if stored is None or given is None:
        return
    if (stored.depth, stored.variant, stored.stem_channels) != (
        given.depth,
        given.variant,
        given.stem_channels,
    ):
        raise LayoutError(
            f'--arch {given.name!r} contradicts the architecture the checkpoint names itself: '
            f'{stored.name!r} ({arch_name(stored.depth, stored.variant, stored.stem_channels)})'
        )


def _head_state(weights: SourceWeights, feat_dim: int, src: str) -> Dict[str, torch.Tensor]:
    fc_w, fc_b = weights.state.get('fc.weight'), weights.state.get('fc.bias')
    if fc_w is None and fc_b is None:
        return {}  # a backbone alone: imported for transfer (NO_HEAD)
    if fc_w is None or fc_b is None:
        raise LayoutError(f'{src!r} has only one of fc.weight / fc.bias: a damaged head')
    if fc_w.ndim != 2 or fc_w.shape[1] != feat_dim or fc_b.shape != fc_w.shape[:1]:
        raise LayoutError(
            f'fc.weight {tuple(fc_w.shape)} / fc.bias {tuple(fc_b.shape)} do not '
            f'fit a {feat_dim}-channel backbone output'
        )
    return {'head.fc.weight': fc_w.float(), 'head.fc.bias': fc_b.float()}


def import_classifier(
    src: str,
    out: str,
    source: str = 'auto',
    arch: Optional[str] = None,
    top1: Optional[float] = None,
    ema: bool = False,
    normalization: Optional[InputNormalization] = None,
    config_out: Optional[str] = None,
) -> Dict[str, Any]:
    """Import ``src`` as a tricks_mm classifier checkpoint at ``out``.

    Args:
        src: the published checkpoint (see the source modules for the formats).
        out: the classifier checkpoint to write (atomically): ``state_dict`` with ``backbone.*``
            and ``head.fc.*``, ``meta`` with ``cfg`` (config text), ``architecture``,
            ``input_normalization`` and ``provenance``.
        source: ``'timm'``, ``'torchvision'``, ``'mmpretrain'`` or ``'auto'``.
        arch: e.g. ``'resnet50d'``: confirms the inferred architecture and decides A vs B where
            neither the weights nor the library can.
        top1: the published top-1, recorded in the provenance.
        ema: timm ``train.py`` checkpoints: import ``state_dict_ema``.
        normalization: overrides the source's input convention.
        config_out: also write the classifier config there (default: ``out`` with ``.py``).

    Returns:
        The ``meta`` written.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        LayoutError: unknown layout, or ``arch`` contradicts the weights (names the keys).
        ValueError: the file is not of the named library's format.
        UnsafeCheckpointError: ``src`` pickles an object outside the allowlist.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint to import {src!r} does not exist')
    weights, source = _load(src, source, ema)
    given = parse_arch(arch) if arch is not None else None
    _check_stored_arch(weights.arch, given)
    layout = infer_layout(weights.state)
    variant = resolve_variant(
        layout, given or weights.arch, weights.default_variant, weights.why_default
    )
    state = {f'backbone.{k}': v for k, v in fit_backbone(weights.state, layout, variant).items()}
    feat_dim = layout.feat_dim
    head = _head_state(weights, feat_dim, src)
    if not head and top1 is not None:
        raise LayoutError(
            f'--top1 {top1}: {src!r} has no classifier head (fc.weight / fc.bias), so it has no '
            'top-1 to record; drop --top1 (the backbone is imported for transfer)'
        )
    state.update(head)
    norm = normalization or weights.normalization
    backbone = backbone_kwargs(layout, variant)
    num_classes = int(head['head.fc.weight'].shape[0]) if head else None
    cfg = classifier_config(backbone, num_classes, feat_dim, norm)
    name = arch_name(layout.depth, variant, layout.stem_channels)
    config_out = config_out or osp.splitext(out)[0] + '.py'
    meta = dict(
        cfg=cfg.pretty_text,
        config_file=config_out,
        architecture=dict(depth=layout.depth, variant=variant, name=name),
        input_normalization=norm.as_dict(),
        provenance=dict(
            source_library=source,
            source_file=src,
            source_sha256=file_sha256(src),
            source_arch=(given or weights.arch).name if (given or weights.arch) else name,
            top1=top1 if head else None,
            top1_kind=NO_HEAD if not head else 'published' if top1 is not None else None,
            imported_at=time.strftime('%Y-%m-%dT%H:%M:%S%z'),
            **weights.extra,
        ),
    )
    buffer = io.BytesIO()
    torch.save({'state_dict': state, 'meta': meta}, buffer)
    atomic_write_bytes(buffer.getvalue(), out)
    atomic_write_bytes(cfg.pretty_text.encode(), config_out)
    return meta
