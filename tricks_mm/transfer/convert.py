"""Classifier checkpoint -> backbone checkpoint with provenance (the transfer contract).

The output keeps the ``backbone.`` prefix, so downstream configs load it with
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``; ``BoTResNet`` makes
that load strict (any missing or unexpected key is an error).

Nothing read from the checkpoint is executed: the weights load with ``weights_only=True``
(:mod:`tricks_mm.engine.safe_checkpoint`), the architecture comes from the weights' keys and
shapes (:mod:`tricks_mm.transfer.architecture`), and the config the runner stored in
``meta.cfg`` is parsed, never run (:mod:`tricks_mm.engine.safe_config`). Only a config the user
names with ``config=`` is executed, as any config the user runs.
"""

import io
import time
from typing import Any, Dict, Optional, Tuple

import torch
from mmengine.config import Config

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.engine.safe_config import UnsafeConfigText, read_literal_config
from tricks_mm.models.backbones.host_interface import resolve_variant
from tricks_mm.transfer.architecture import infer_architecture
from tricks_mm.transfer.normalization import recorded_normalization
from tricks_mm.transfer.tricks import backbone_settings, describe_tricks
from tricks_mm.utils.hashing import file_sha256

BACKBONE_PREFIX = 'backbone.'


def _source_config(
    checkpoint: Dict[str, Any], config: Optional[str]
) -> Tuple[Optional[Config], str]:
    """The classifier config and a note on where it came from (or why it is unknown)."""
    if config is not None:
        return Config.fromfile(config), f'read from {config} (named by the user)'
    text = checkpoint.get('meta', {}).get('cfg')
    if not text:
        return None, ('unknown: the checkpoint stores no meta.cfg; pass --config for the tricks')
    if not isinstance(text, str):
        return None, f'unknown: meta.cfg is a {type(text).__name__}, not config text'
    try:
        return Config(read_literal_config(text)), 'parsed from meta.cfg (not executed)'
    except UnsafeConfigText as err:
        return None, (
            f'unknown: meta.cfg is not plain literal assignments, so it was not read '
            f'(never executed): {err}; pass --config with the config you trust'
        )


def _architecture(
    backbone: Dict[str, torch.Tensor], cfg: Optional[Config], cls_checkpoint: str
) -> Dict[str, Any]:
    """Depth / variant / widths from the weights; A vs B (invisible there) from the config
    merged with ``BoTResNet``'s defaults. A config that contradicts the weights is an error."""
    inferred = infer_architecture({k[len(BACKBONE_PREFIX) :]: v for k, v in backbone.items()})
    candidates = inferred.pop('candidates')
    if cfg is None:
        if inferred['variant'] is None:
            inferred['variant_note'] = (
                f'one of {list(candidates)}: the weights cannot tell them apart; pass --config'
            )
        return inferred
    settings = backbone_settings(cfg)
    # a config without variant: the variant BoTResNet's defaults rule builds from its keys
    variant, _, _ = resolve_variant(
        settings['variant'],
        settings.get('style'),
        settings.get('deep_stem'),
        settings.get('avg_down'),
        init_cfg=settings.get('init_cfg'),
    )
    variant = str(variant).lower()
    if variant not in candidates or settings.get('depth') != inferred['depth']:
        raise ValueError(
            f'{cls_checkpoint!r}: its config says depth {settings.get("depth")!r} variant '
            f'{variant!r} but its weights are depth {inferred["depth"]} variant '
            f'{" or ".join(candidates)}; pass the config that trained it with --config'
        )
    inferred['variant'] = variant
    return inferred


def convert_classifier(
    cls_checkpoint: str, out: str, config: Optional[str] = None, top1: Optional[float] = None
) -> Dict[str, Any]:
    """Write the ``backbone.`` weights of a classifier checkpoint to ``out``.

    Args:
        cls_checkpoint: an mmpretrain classifier checkpoint (runner or plain state dict).
        out: where the backbone checkpoint goes (written atomically).
        config: the classifier config (executed, as every config the user names); defaults to
            the one the runner stored in the checkpoint's ``meta.cfg``, which is parsed as
            literals only and never executed (unreadable: tricks recorded as unknown).
        top1: the classifier's top-1 accuracy, when known, for the provenance record.

    Returns:
        The provenance dict stored under ``meta`` in the output.

    Raises:
        ValueError: the checkpoint holds no ``backbone.`` keys (not a classifier checkpoint, or
            already converted without the prefix), its backbone is no BoTResNet layout, or its
            config contradicts its weights.
    """
    checkpoint = safe_torch_load(cls_checkpoint, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = {k: v for k, v in state_dict.items() if k.startswith(BACKBONE_PREFIX)}
    if not backbone:
        sample = ', '.join(list(state_dict)[:5])
        raise ValueError(
            f'{cls_checkpoint!r} has no {BACKBONE_PREFIX!r} keys (first keys: {sample}); '
            'expected a classifier checkpoint written by tools/train.py'
        )
    cfg, config_note = _source_config(checkpoint, config)
    architecture = _architecture(backbone, cfg, cls_checkpoint)
    meta = dict(
        source_checkpoint=cls_checkpoint,
        source_sha256=file_sha256(cls_checkpoint),
        # a config read back from the checkpoint has no file of its own: name where it lives
        source_config=config or (f'{cls_checkpoint}#meta.cfg' if cfg is not None else None),
        source_config_note=config_note,
        architecture=architecture,
        # None = unknown (no config that could be read safely), not "no tricks"
        tricks=describe_tricks(cfg, architecture) if cfg is not None else None,
        top1=top1,
        epoch=checkpoint.get('meta', {}).get('epoch'),
        # what the downstream data preprocessor must match (tricks_mm.transfer.normalization)
        input_normalization=recorded_normalization(checkpoint.get('meta', {}), cfg),
        imported_from=checkpoint.get('meta', {}).get('provenance'),
        converted_at=time.strftime('%Y-%m-%dT%H:%M:%S%z'),
    )
    buffer = io.BytesIO()
    torch.save({'state_dict': backbone, 'meta': meta}, buffer)
    atomic_write_bytes(buffer.getvalue(), out)
    return meta
