"""mmpretrain ``ImageClassifier`` checkpoints of ``ResNet``, ``ResNetV1c`` and ``ResNetV1d``.

Keys are ``backbone.*`` + ``head.fc.*``. ``ResNet`` (pytorch or caffe style) already uses
BoTResNet's A/B keys. ``ResNetV1c/V1d`` differ in two places (see open-mmlab/mmdetection#4050):

- the deep stem is ``stem.{0,1,2}.{conv,bn}`` (three ConvModules) -> ``conv1.{0,1}``,
  ``conv1.{3,4}``, ``conv1.6`` + ``bn1``;
- the avg-down shortcut has its pool only where the stride is not 1, so ``layer1.0.downsample``
  is ``{0: conv, 1: bn}`` but ``layer2.0.downsample`` is ``{0: pool, 1: conv, 2: bn}``; BoTResNet-D
  always has the (identity) pool slot, so the poolless ones shift by one.

A vs B (``style``) is invisible in the weights. A runner checkpoint stores its resolved config as
text in ``meta['cfg']``: its literal ``model.backbone`` (type, depth, style) and
``data_preprocessor`` are read without executing it
(:func:`tricks_mm.engine.safe_config.literal_assignments`); without it, ``--arch`` decides A vs B.
"""

import re
from typing import Any, Dict, Optional

from tricks_mm.engine.safe_config import literal_assignments
from tricks_mm.models.pretrained import first_keys
from tricks_mm.transfer.importers.naming import ArchName
from tricks_mm.transfer.importers.source import SourceWeights, StateDict, as_state_dict, read_file
from tricks_mm.transfer.normalization import MMPRETRAIN_IMAGENET, from_preprocessor

NAME = 'mmpretrain'
_STEM = {
    'stem.0.conv.': 'conv1.0.',
    'stem.0.bn.': 'conv1.1.',
    'stem.1.conv.': 'conv1.3.',
    'stem.1.bn.': 'conv1.4.',
    'stem.2.conv.': 'conv1.6.',
    'stem.2.bn.': 'bn1.',
}
_TYPES = {'ResNet': None, 'ResNetV1c': 'c', 'ResNetV1d': 'd'}


def _rename(state: StateDict, path: str) -> StateDict:
    unmapped = [k for k in state if not k.startswith(('backbone.', 'head.fc.'))]
    if unmapped:
        raise ValueError(
            f'{path!r}: keys [{first_keys(unmapped)}] are neither backbone.* nor '
            'head.fc.*: not an mmpretrain ResNet ImageClassifier with a '
            'LinearClsHead'
        )
    out = {}
    for key, value in state.items():
        key = key.replace('head.fc.', 'fc.', 1) if key.startswith('head.') else key[9:]
        for old, new in _STEM.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        out[key] = value
    if any(re.search(r'\.downsample\.2\.', k) for k in out):  # avg_down: pool slots exist
        out = {
            re.sub(r'\.downsample\.([01])\.', lambda m: f'.downsample.{int(m.group(1)) + 1}.', k)
            if not _has_pool(out, k)
            else k: v
            for k, v in out.items()
        }
    return out


def _has_pool(state: StateDict, key: str) -> bool:
    """Whether the shortcut that ``key`` belongs to has mmpretrain's pool at index 0."""
    match = re.match(r'(.*\.downsample\.)\d+\.', key)
    return match is not None and any(k.startswith(match.group(1) + '2.') for k in state)


def _arch_from_cfg(cfg: Dict[str, Any], path: str) -> Optional[ArchName]:
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    kind = str(backbone.get('type', '')).split('.')[-1]
    if kind not in _TYPES or not isinstance(backbone.get('depth'), int):
        return None
    style = backbone.get('style', 'pytorch')
    if style not in ('pytorch', 'caffe'):
        raise ValueError(
            f'{path!r}: meta.cfg backbone style {style!r} is neither pytorch nor caffe'
        )
    variant = _TYPES[kind] or ('a' if style == 'caffe' else 'b')
    if variant in ('c', 'd') and style == 'caffe':
        raise ValueError(
            f'{path!r}: {kind} with style="caffe" (stride on the 1x1 conv and a '
            'deep stem) has no BoTResNet variant; BoTResNet C/D stride the 3x3 conv'
        )
    return ArchName(
        f'{kind}-{backbone["depth"]} (style={style!r}, from meta.cfg)',
        backbone['depth'],
        variant,
        int(backbone.get('stem_channels', 64)),
    )


def from_object(obj: Any, path: str, ema: bool = False) -> SourceWeights:
    if ema:
        raise ValueError(
            '--ema applies to timm train.py checkpoints only; an mmpretrain '
            'EMA checkpoint already holds the averaged weights'
        )
    raw = obj.get('state_dict', obj) if isinstance(obj, dict) else obj
    state = as_state_dict(raw, path, 'an mmpretrain ImageClassifier state dict')
    if 'backbone.conv1.0.weight' in state:
        raise ValueError(
            f'{path!r} has timm-layout deep-stem keys (backbone.conv1.0.weight): '
            'it is a tricks_mm classifier already; use tools/transfer.py convert'
        )
    meta = obj.get('meta') if isinstance(obj, dict) else None
    cfg = (
        literal_assignments(meta['cfg'])
        if isinstance(meta, dict) and isinstance(meta.get('cfg'), str)
        else {}
    )
    preprocessor = (
        cfg.get('data_preprocessor') or (cfg.get('model') or {}).get('data_preprocessor') or {}
    )
    norm = from_preprocessor(preprocessor) or MMPRETRAIN_IMAGENET
    return SourceWeights(
        _rename(state, path),
        norm,
        arch=_arch_from_cfg(cfg, path),
        default_variant=None,
        why_default='the checkpoint carries no meta.cfg naming the style',
        extra=dict(config_from_meta=bool(cfg), epoch=(meta or {}).get('epoch')),
    )


def read(path: str, ema: bool = False) -> SourceWeights:
    return from_object(read_file(path), path, ema)
