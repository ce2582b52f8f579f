"""mmpretrain checkpoints of ``ResNet``, ``ResNetV1c`` and ``ResNetV1d``: ``ImageClassifier``
(``backbone.*`` + ``head.fc.*``), self-supervised models (``backbone.*`` beside a neck and
projection heads, skipped by name) and backbones alone (``extract_backbone_weights.py``).

``ResNet`` (pytorch or caffe style) already uses BoTResNet's A/B keys; ``ResNetV1c/V1d`` (or
``ResNet(deep_stem=True, avg_down=True)``) differ in the deep stem and the pool-less stride-1
shortcuts, renamed by :func:`~tricks_mm.models.backbones.layouts.to_bot` (the strict loader's
mapping too).

A vs B (``style``) is invisible in the weights. A runner checkpoint stores its resolved config as
text in ``meta['cfg']``: its literal ``model.backbone`` (type, depth, style) and
``data_preprocessor`` are read without executing it
(:func:`tricks_mm.engine.safe_config.literal_assignments`); without it, ``--arch`` decides A vs B.
"""

from typing import Any, Dict, Optional

from tricks_mm.engine.safe_config import literal_assignments
from tricks_mm.models.backbones.layouts import to_bot
from tricks_mm.models.pretrained import first_keys
from tricks_mm.transfer.importers.naming import ArchName
from tricks_mm.transfer.importers.source import SourceWeights, StateDict, as_state_dict, read_file
from tricks_mm.transfer.normalization import MMPRETRAIN_IMAGENET, from_preprocessor

NAME = 'mmpretrain'
_TYPES = {'ResNet': None, 'ResNetV1c': 'c', 'ResNetV1d': 'd'}
#: Parts of a full checkpoint that are not the backbone or its linear classifier, skipped by
#: name: the neck and projection/prediction heads of self-supervised models (mmpretrain
#: ``selfsup``), their momentum / target copies, a detector's or segmentor's heads.
SKIPPED_PARTS = (
    'neck.',
    'head.',
    'momentum_encoder.',
    'target_generator.',
    'teacher.',
    'data_preprocessor.',
    'rpn_head.',
    'roi_head.',
    'bbox_head.',
    'decode_head.',
    'auxiliary_head.',
)


def backbone_part(state: StateDict, path: str) -> Dict[str, Any]:
    """The backbone (BoTResNet keys) and ``fc.*`` of a host checkpoint, and what was skipped.

    ``backbone.*`` keys present: those, plus a linear head's ``head.fc.*`` as ``fc.*``; the
    other parts in :data:`SKIPPED_PARTS` are skipped by name, anything else is refused. No
    ``backbone.*``: the dict is a backbone alone (mmpretrain ``extract_backbone_weights.py``,
    mmcv's ``open-mmlab://`` files). Host layouts are renamed by
    :func:`~tricks_mm.models.backbones.layouts.to_bot`.
    """
    if any(k.startswith('backbone.') for k in state):
        fc = {k[len('head.') :]: v for k, v in state.items() if k.startswith('head.fc.')}
        rest = [k for k in state if not k.startswith(('backbone.', 'head.fc.') + SKIPPED_PARTS)]
        if rest:
            raise ValueError(
                f'{path!r}: keys [{first_keys(rest)}] are neither backbone.*, head.fc.* nor a '
                f'part skipped by name ({", ".join(p.rstrip(".") for p in SKIPPED_PARTS)})'
            )
        skipped = sorted({k.split('.')[0] for k in state if k.startswith(SKIPPED_PARTS)} - {'head'})
        if any(k.startswith('head.') and not k.startswith('head.fc.') for k in state):
            skipped.append('head (not a linear head.fc)')
        backbone = {k[len('backbone.') :]: v for k, v in state.items() if k.startswith('backbone.')}
        renamed, layout = to_bot(backbone)
        renamed.update(fc)
        return dict(state=renamed, layout=layout, skipped=skipped)
    renamed, layout = to_bot(state)
    return dict(state=renamed, layout=layout, skipped=[])


def _arch_from_cfg(cfg: Dict[str, Any], path: str) -> Optional[ArchName]:
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    kind = str(backbone.get('type', '')).split('.')[-1]
    if kind not in _TYPES or not isinstance(backbone.get('depth'), int):
        return None
    style = backbone.get('style', 'pytorch')
    if kind == 'ResNet' and backbone.get('deep_stem'):
        # mmpretrain's other spelling of V1c / V1d: ResNet(deep_stem=True[, avg_down=True])
        kind = 'ResNetV1d' if backbone.get('avg_down') else 'ResNetV1c'
    elif kind == 'ResNet' and backbone.get('avg_down'):
        raise ValueError(
            f'{path!r}: meta.cfg backbone ResNet(avg_down=True) without deep_stem has no '
            'BoTResNet variant (D has the deep stem too)'
        )
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
    state = as_state_dict(raw, path, 'an mmpretrain ImageClassifier / backbone state dict')
    if 'backbone.conv1.0.weight' in state:
        raise ValueError(
            f'{path!r} has timm-layout deep-stem keys (backbone.conv1.0.weight): '
            'it is a tricks_mm classifier already; use tools/transfer.py convert'
        )
    part = backbone_part(state, path)
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
        part['state'],
        norm,
        arch=_arch_from_cfg(cfg, path),
        default_variant=None,
        why_default='the checkpoint carries no meta.cfg naming the style',
        extra=dict(
            config_from_meta=bool(cfg),
            epoch=(meta or {}).get('epoch'),
            source_layout=part['layout'],
            skipped_parts=part['skipped'],
        ),
    )


def read(path: str, ema: bool = False) -> SourceWeights:
    return from_object(read_file(path), path, ema)
