"""Classifier checkpoint -> backbone checkpoint with provenance (the transfer contract).

The output keeps the ``backbone.`` prefix, so downstream configs load it with
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``; ``BoTResNet`` makes
that load strict (any missing or unexpected key is an error).
"""
import hashlib
import io
import time
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.transfer.normalization import recorded_normalization
from tricks_mm.transfer.tricks import describe_tricks

BACKBONE_PREFIX = 'backbone.'


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _source_config(checkpoint: Dict[str, Any], config: Optional[str]) -> Optional[Config]:
    if config is not None:
        return Config.fromfile(config)
    text = checkpoint.get('meta', {}).get('cfg')
    return Config.fromstring(text, '.py') if text else None


def convert_classifier(cls_checkpoint: str,
                       out: str,
                       config: Optional[str] = None,
                       top1: Optional[float] = None) -> Dict[str, Any]:
    """Write the ``backbone.`` weights of a classifier checkpoint to ``out``.

    Args:
        cls_checkpoint: an mmpretrain classifier checkpoint (runner or plain state dict).
        out: where the backbone checkpoint goes (written atomically).
        config: the classifier config; defaults to the one the runner stored in the checkpoint.
        top1: the classifier's top-1 accuracy, when known, for the provenance record.

    Returns:
        The provenance dict stored under ``meta`` in the output.

    Raises:
        ValueError: the checkpoint holds no ``backbone.`` keys (not a classifier checkpoint, or
            already converted without the prefix).
    """
    checkpoint = safe_torch_load(cls_checkpoint, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = {k: v for k, v in state_dict.items() if k.startswith(BACKBONE_PREFIX)}
    if not backbone:
        sample = ', '.join(list(state_dict)[:5])
        raise ValueError(
            f'{cls_checkpoint!r} has no {BACKBONE_PREFIX!r} keys (first keys: {sample}); '
            'expected a classifier checkpoint written by tools/train.py')
    cfg = _source_config(checkpoint, config)
    backbone_cfg = dict(cfg.model.backbone) if cfg is not None else {}
    meta = dict(
        source_checkpoint=cls_checkpoint,
        source_sha256=file_sha256(cls_checkpoint),
        # a config read back from the checkpoint has no file of its own: name where it lives
        source_config=config or (f'{cls_checkpoint}#meta.cfg' if cfg is not None else None),
        architecture=dict(depth=backbone_cfg.get('depth'), variant=backbone_cfg.get('variant')),
        tricks=describe_tricks(cfg) if cfg is not None else [],
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
