"""The host ResNets' constructor keys, read with the hosts' meaning, for BoTResNet and BoTResLayer.

A stock mmdet / mmseg / mmpretrain config builds with only its ``type`` changed to
``tricks_mm.BoTResNet`` (or ``tricks_mm.BoTResLayer`` for mmdet's C4 shared head). The keys that
choose the architecture map to the paper's variants (He et al. 2019, Fig. 2):

============================================ =======
host keys                                    variant
============================================ =======
``style='caffe'``                            A
``style='pytorch'`` (the hosts' default)     B
``deep_stem=True`` (mmdet/mmseg ``ResNetV1c``) C
``deep_stem=True, avg_down=True`` (``V1d``)  D
============================================ =======

**The defaults rule** (what a config that changed only the type most plausibly meant):

1. ``variant`` given: it decides; host keys that contradict it are refused naming both.
2. ``deep_stem`` / ``avg_down`` given: the table (host semantics).
3. The config names host weights (``pretrained`` or a ``Pretrained`` init_cfg) whose layout is
   known: the architecture of those weights, read from the keys of a local file
   (:func:`weights_variant`, weights-only, nothing executed) or from the name of the hosts' own
   published files (``open-mmlab://resnet50_v1c`` is C, ``torchvision://resnet50`` B,
   ``*_caffe`` A); ``style`` picks A vs B. This is how a stock mmseg config (``ResNetV1c`` with
   ``open-mmlab://resnet50_v1c``) or mmdet config (``ResNet`` with ``torchvision://resnet50``)
   keeps the network its weights were trained as.
4. ``style`` alone: the table (A or B).
5. None of them: the paper's ResNet-D.

In cases 2-4 (host mode) the other defaults follow the host class of the current default scope
(:func:`host_defaults`); in 1 and 5 they are tricks_mm's. The choice is logged.
"""

import logging
import os.path as osp
import pickle
import re
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.registry import DefaultScope

#: Keys of other ResNet-like host classes that BoTResNet does not implement, and what to use.
_OTHER_CLASS_KEYS = {
    'groups': "ResNeXt's grouped convs: keep the host's ResNeXt type",
    'base_width': "ResNeXt's group width: keep the host's ResNeXt type",
    'radix': "ResNeSt's split attention: keep the host's ResNeSt type",
    'reduction_factor': "ResNeSt: keep the host's ResNeSt type",
    'avg_down_stride': "ResNeSt: keep the host's ResNeSt type",
    'sac': "DetectoRS' switchable atrous conv: keep mmdet's DetectoRS_ResNet",
    'stage_with_sac': "DetectoRS: keep mmdet's DetectoRS_ResNet",
    'rfp_inplanes': "DetectoRS' recursive FPN: keep mmdet's DetectoRS_ResNet",
    'output_img': "DetectoRS: keep mmdet's DetectoRS_ResNet",
    'scales': "Res2Net: keep the host's Res2Net type",
    'hw_ratio': "mmdet's HourglassNet/other backbone: keep the host's type",
}


def refuse_unknown(owner: str, unknown: Dict[str, Any], supported: Sequence[str]) -> None:
    """Raise for constructor keys ``owner`` does not implement, naming each and the way out."""
    if not unknown:
        return
    lines = [
        f'{k}={v!r} ({_OTHER_CLASS_KEYS.get(k, "no such key in the host ResNets either")})'
        for k, v in unknown.items()
    ]
    raise ValueError(
        f'{owner} does not support {"; ".join(lines)}. Supported keys: {", ".join(supported)}'
    )


_STYLE_VARIANTS = {'caffe': ('a',), 'pytorch': ('b', 'c', 'd')}
_ALL = ('a', 'b', 'c', 'd')


#: The hosts' published ResNet files, by name: (pattern, variants the weights fit).
_KNOWN_NAMES = (
    (r'resnet\d+_v1c', ('c',)),
    (r'resnet\d+_v1d', ('d',)),
    (r'resnet\d+_caffe', ('a',)),
    (r'^torchvision://resnet\d+$', ('b',)),
)


def _pretrained_source(init_cfg: Any) -> Tuple[Optional[str], Optional[str]]:
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg] if init_cfg else []
    for cfg in cfgs:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained' and cfg.get('checkpoint'):
            return str(cfg['checkpoint']), cfg.get('prefix')
    return None, None


def weights_variant(init_cfg: Any) -> Optional[Tuple[Tuple[str, ...], str]]:
    """``(variants the named pretrained weights fit, where that was read)``, or ``None``.

    A local file is read onto the ``meta`` device (no tensor data) through mmengine's
    ``CheckpointLoader``, which tricks_mm routes through its weights-only allowlist (nothing
    executed), ``module.`` prefixes of DDP files stripped, and its layout inferred
    (:func:`~tricks_mm.models.backbones.layouts.infer_layout`, host layouts renamed first); a
    file that cannot be read or fits no layout is logged with the reason and not used here (the
    strict load reports it). Other names are matched against the hosts' published file names.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from tricks_mm.models.backbones.layouts import LayoutError, infer_layout, to_bot

    checkpoint, prefix = _pretrained_source(init_cfg)
    if checkpoint is None:
        return None
    if osp.isfile(checkpoint):
        try:
            obj = CheckpointLoader.load_checkpoint(checkpoint, map_location='meta')
            state = obj.get('state_dict', obj) if isinstance(obj, dict) else {}
            state = {
                k[len('module.') :] if k.startswith('module.') else k: v for k, v in state.items()
            }
            if prefix:
                prefix = prefix if prefix.endswith('.') else prefix + '.'
                state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            layout = infer_layout(to_bot(state)[0])
        except (LayoutError, pickle.UnpicklingError, RuntimeError, ValueError, AttributeError) as e:
            print_log(
                f'BoTResNet: the variant of {checkpoint!r} could not be read from its weights '
                f'({type(e).__name__}: {str(e)[:200]}); the defaults rule goes on without them',
                logger='current',
                level=logging.WARNING,
            )
            return None
        return layout.variants, f'the weights of {checkpoint!r} ({layout.describe()})'
    for pattern, variants in _KNOWN_NAMES:
        if re.search(pattern, checkpoint):
            return variants, f'the published weights {checkpoint!r}'
    return None


def resolve_variant(
    variant: Optional[str],
    style: Optional[str],
    deep_stem: Optional[bool],
    avg_down: Optional[bool],
    owner: str = 'BoTResNet',
    init_cfg: Any = None,
) -> Tuple[str, bool, str]:
    """``(variant, host_mode, why)`` by the module's defaults rule.

    Raises:
        ValueError: an unknown style, host keys that contradict ``variant`` (naming both), or
            host keys with no BoTResNet variant (``style='caffe'`` with a deep stem or avg-down,
            avg-down without the deep stem).
    """
    if style is not None and style not in _STYLE_VARIANTS:
        raise ValueError(f"style must be 'pytorch' or 'caffe' (as the hosts'), got {style!r}")
    given = {
        k: v
        for k, v in dict(style=style, deep_stem=deep_stem, avg_down=avg_down).items()
        if v is not None
    }
    if variant is not None:
        variant = variant.lower() if isinstance(variant, str) else variant
        fits = {
            'style': lambda v: variant in _STYLE_VARIANTS[v],
            'deep_stem': lambda v: (variant in ('c', 'd')) == bool(v),
            'avg_down': lambda v: (variant == 'd') == bool(v),
        }
        clash = [f'{k}={v!r}' for k, v in given.items() if variant in _ALL and not fits[k](v)]
        if clash:
            raise ValueError(
                f'{owner}: {", ".join(clash)} contradicts variant={variant!r} (A: '
                "style='caffe'; B: style='pytorch'; C: + deep_stem=True; D: + avg_down=True); "
                'drop the host key or change the variant'
            )
        return variant, False, f'variant={variant!r} given'
    from_weights = weights_variant(init_cfg) if deep_stem is None and avg_down is None else None
    if from_weights is not None:
        variants, where = from_weights
        if style is not None and not set(variants) & set(_STYLE_VARIANTS[style]):
            raise ValueError(
                f'{owner}: style={style!r} contradicts {where}, which fit variant '
                f'{"/".join(v.upper() for v in variants)}: drop style or name other weights'
            )
        pick = [v for v in variants if style is None or v in _STYLE_VARIANTS[style]]
        chosen = pick[0] if len(pick) == 1 else 'b'  # A vs B open: the hosts' default style
        return chosen, True, f'from {where}' + (f', style={style!r}' if style else '')
    if not given:
        return 'd', False, "no variant/style/deep_stem/avg_down given: the paper's ResNet-D"
    style, deep, down = style or 'pytorch', bool(deep_stem), bool(avg_down)
    if style == 'caffe' and (deep or down):
        raise ValueError(
            f"{owner}: style='caffe' with deep_stem={deep}/avg_down={down} has no BoTResNet "
            "variant (C and D stride the 3x3 conv): use style='pytorch' or drop the deep stem"
        )
    if down and not deep:
        raise ValueError(
            f'{owner}: avg_down=True without deep_stem=True has no BoTResNet variant: set '
            "deep_stem=True too (ResNet-D, the hosts' ResNetV1d) or avg_down=False"
        )
    variant = 'a' if style == 'caffe' else 'd' if down else 'c' if deep else 'b'
    return variant, True, f'host keys {given} (host semantics)'


def host_defaults(host_mode: bool, base_channels: int) -> Dict[str, Any]:
    """``norm_eval`` and ``stem_channels`` when the config leaves them out.

    In host mode they are those of the host class the config was written for, known from the
    default scope it is built in: mmdet's ``ResNet`` has ``norm_eval=True`` and
    ``stem_channels=base_channels``; mmseg's and mmpretrain's have ``False`` and 64. Otherwise
    (and in any other scope) tricks_mm's: ``False`` and 64.
    """
    scope = DefaultScope.get_current_instance()
    if host_mode and scope is not None and scope.scope_name == 'mmdet':
        return dict(norm_eval=True, stem_channels=base_channels, host='mmdet')
    host = scope.scope_name if host_mode and scope is not None else 'tricks_mm'
    return dict(norm_eval=False, stem_channels=64, host=host)


def pretrained_to_init_cfg(pretrained: Optional[str], init_cfg: Any, owner: str) -> Any:
    """The hosts' handling of the deprecated ``pretrained`` key: a ``Pretrained`` init_cfg, with
    their deprecation warning; both at once are refused as the hosts refuse them."""
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise ValueError(f'{owner}: pretrained must be a checkpoint path/URL, got {pretrained!r}')
    if init_cfg:
        raise ValueError(
            f'{owner}: init_cfg and pretrained cannot be specified at the same time '
            f'(pretrained={pretrained!r}, init_cfg={init_cfg!r}): keep one'
        )
    warnings.warn(
        'DeprecationWarning: pretrained is deprecated, please use "init_cfg" instead', stacklevel=3
    )
    return dict(type='Pretrained', checkpoint=pretrained)


def stage_plugins(plugins: Optional[List[dict]], stage: int, num_stages: int) -> List[dict]:
    """mmdet's ``ResNet.make_stage_plugins``: the plugins whose ``stages`` include ``stage``.

    Raises:
        ValueError: a plugin without ``cfg`` / with an unknown ``position``, or ``stages`` of the
            wrong length.
    """
    out = []
    for plugin in plugins or []:
        plugin = dict(plugin)
        stages = plugin.pop('stages', None)
        if 'cfg' not in plugin or plugin.get('position') not in (
            'after_conv1',
            'after_conv2',
            'after_conv3',
        ):
            raise ValueError(
                f'plugin {plugin!r} needs cfg=dict(type=...) and position one of '
                "'after_conv1', 'after_conv2', 'after_conv3' (mmdet's ResNet plugins)"
            )
        if stages is not None and len(stages) != num_stages:
            raise ValueError(
                f'plugin stages={tuple(stages)!r} needs num_stages={num_stages} entries'
            )
        if stages is None or stages[stage]:
            out.append(plugin)
    return out


def stage_dcn(
    dcn: Optional[dict], stage_with_dcn: Sequence[bool], stage: int, num_stages: int
) -> Optional[dict]:
    """The DCN config of stage ``stage`` (mmdet: ``dcn if stage_with_dcn[stage]``)."""
    if dcn is None:
        if any(stage_with_dcn):
            raise ValueError(
                f'stage_with_dcn={tuple(stage_with_dcn)!r} without dcn: give dcn=dict(type='
                "'DCNv2', deform_groups=1, fallback_on_stride=False) or drop stage_with_dcn"
            )
        return None
    if len(stage_with_dcn) != num_stages:
        raise ValueError(
            f'stage_with_dcn={tuple(stage_with_dcn)!r} needs num_stages={num_stages} entries'
        )
    return dcn if stage_with_dcn[stage] else None


def log_choice(owner: str, what: str) -> None:
    """Say what a config that leaves the architecture open built (the defaults rule)."""
    print_log(f'{owner}: {what}', logger='current')
