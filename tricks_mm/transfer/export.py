"""tricks_mm classifier -> a state dict that timm's, torchvision's or a host's own ResNet loads
strictly.

BoTResNet's keys are timm's (variants B, C, D, and ``resnet*s`` = C with a 128-wide stem) and,
for variant B, torchvision's; the classifier's ``head.fc`` becomes ``fc``. What a library cannot
build is refused: variant A (stride on the 1x1 conv) exists in neither, torchvision has no deep
stem, and neither has a non-64 base width.

``--to mmdet|mmseg|mmpretrain`` writes the hosts' own layout
(:func:`~tricks_mm.models.backbones.layouts.from_bot`) for the host class of the variant
(:func:`host_class`): mmdet / mmseg get the backbone alone (``{'state_dict', 'meta'}``, what their
``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` loads without a missing or unexpected key),
mmpretrain an ``ImageClassifier`` checkpoint (``backbone.*`` + ``head.fc.*``, loaded with
``prefix='backbone.'``). A converted backbone checkpoint (no head) exports to the hosts too.
"""

import io
from typing import Any, Dict, Optional

import torch

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.engine.safe_config import literal_assignments
from tricks_mm.models.backbones.layouts import from_bot
from tricks_mm.transfer.architecture import Layout, LayoutError, fit_backbone, infer_layout
from tricks_mm.transfer.importers.naming import arch_name, parse_arch
from tricks_mm.transfer.normalization import export_config, write_export_config

HOSTS = ('mmdet', 'mmseg', 'mmpretrain')
TARGETS = ('timm', 'torchvision') + HOSTS
#: The plain ResNets ``timm.create_model`` builds by name (timm 1.0: no resnet18c/34c/18s/34s).
TIMM_MODELS = frozenset(
    [f'resnet{d}{v}' for d in (18, 34, 50, 101, 152) for v in ('', 'd')]
    + [f'resnet{d}{v}' for d in (50, 101, 152) for v in ('c', 's')]
)


def _variant(meta: Dict[str, Any], arch: Optional[str], choices, path: str) -> str:
    if arch is not None:
        return parse_arch(arch).variant
    recorded = (meta.get('architecture') or {}).get('variant')
    if recorded is None and isinstance(meta.get('cfg'), str):
        backbone = (literal_assignments(meta['cfg']).get('model') or {}).get('backbone') or {}
        recorded = backbone.get('variant')
    if recorded is not None:
        return str(recorded).lower()
    if len(choices) == 1:
        return choices[0]
    raise LayoutError(
        f'{path!r} records no variant (meta.architecture / meta.cfg) and the '
        f'weights fit {"/".join(choices).upper()}: pass --arch'
    )


def host_class(host: str, layout: Layout, variant: str) -> Dict[str, Any]:
    """The host backbone config that builds this architecture (``type`` + the keys it needs).

    Raises:
        LayoutError: the host has no such class (mmdet has no ``ResNetV1c``: its ``ResNet`` with
            ``deep_stem=True`` is named instead) or the widths are not the host defaults' reach.
    """
    cfg: Dict[str, Any] = dict(depth=layout.depth)
    if variant in ('a', 'b'):
        cfg.update(type='ResNet', style='caffe' if variant == 'a' else 'pytorch')
    elif variant == 'd':
        cfg.update(type='ResNetV1d')
    elif host == 'mmdet':
        cfg.update(type='ResNet', deep_stem=True)
    else:
        cfg.update(type='ResNetV1c')
    if layout.stem_channels != 64 or layout.base_channels != 64 or layout.in_channels != 3:
        cfg.update(
            stem_channels=layout.stem_channels,
            base_channels=layout.base_channels,
            in_channels=layout.in_channels,
        )
    return cfg


def _export_host(
    state: Dict[str, torch.Tensor],
    meta: Dict[str, Any],
    checkpoint: str,
    out: str,
    to: str,
    arch: Optional[str],
) -> Dict[str, Any]:
    plain = {k[len('backbone.') :]: v for k, v in state.items() if k.startswith('backbone.')}
    if not plain:
        raise LayoutError(
            f'{checkpoint!r} has no backbone.* keys: not a tricks_mm classifier or converted '
            'backbone checkpoint'
        )
    layout = infer_layout(plain)
    variant = _variant(meta, arch, layout.variants, checkpoint)
    if layout.depth < 50 and variant == 'a':
        variant = 'b'  # BasicBlock: A and B are the same network
    backbone = from_bot(
        fit_backbone(plain, layout, variant), 'mmpretrain' if to == 'mmpretrain' else 'mmcv'
    )
    cfg = host_class(to, layout, variant)
    if to == 'mmpretrain':
        result = {f'backbone.{k}': v for k, v in backbone.items()}
        result.update({k: v for k, v in state.items() if k.startswith('head.fc.')})
    else:
        result = backbone
    buffer = io.BytesIO()
    torch.save({'state_dict': result, 'meta': dict(host_backbone=cfg, source=checkpoint)}, buffer)
    atomic_write_bytes(buffer.getvalue(), out)
    return dict(model=f'{to} {cfg["type"]}', host_backbone=cfg, out=out, library=to)


def export_classifier(
    checkpoint: str, out: str, to: str, arch: Optional[str] = None
) -> Dict[str, Any]:
    """Write the classifier at ``checkpoint`` as a ``to`` state dict (see the module doc).

    ``out`` ending in ``.safetensors`` is written with safetensors (timm reads both).

    Returns:
        ``dict(model=<the library's model name>, num_classes=N, out=out)``.

    Raises:
        LayoutError: the architecture does not exist in ``to``, or the file is no classifier.
    """
    if to not in TARGETS:
        raise ValueError(f'--to must be one of {TARGETS}, got {to!r}')
    ckpt = safe_torch_load(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    if to in HOSTS:
        return _export_host(state, ckpt.get('meta') or {}, checkpoint, out, to, arch)
    if not any(k.startswith('backbone.') for k in state) or 'head.fc.weight' not in state:
        raise LayoutError(
            f'{checkpoint!r} is not a tricks_mm classifier checkpoint with a classifier head '
            '(needs backbone.* and head.fc.*; a converted backbone, or a backbone imported '
            'without its head, has no classifier): timm and torchvision models need one; '
            '--to mmdet|mmseg|mmpretrain take a backbone alone'
        )
    plain = {k[len('backbone.') :]: v for k, v in state.items() if k.startswith('backbone.')}
    plain.update({k[len('head.') :]: v for k, v in state.items() if k.startswith('head.fc.')})
    layout = infer_layout(plain)
    variant = _variant(ckpt.get('meta') or {}, arch, layout.variants, checkpoint)
    if layout.depth < 50 and variant == 'a':
        variant = 'b'  # BasicBlock: A and B are the same network
    name = arch_name(layout.depth, variant, layout.stem_channels)
    standard = (
        layout.base_channels == 64
        and layout.in_channels == 3
        and (layout.stem_channels == (128 if name.endswith('s') else 64))
    )
    fits = (
        variant != 'a'
        and standard
        and (to == 'timm' and name in TIMM_MODELS or to == 'torchvision' and variant == 'b')
    )
    if not fits:
        raise LayoutError(
            f'{to} has no ResNet of this architecture ({layout.describe()}, variant '
            f'{variant.upper()}, base width {layout.base_channels}): '
            + (
                'variant A (stride on the 1x1 conv) exists in neither library'
                if variant == 'a'
                else 'its widths are not the published 64-wide ones'
                if not standard
                else 'torchvision has only variant B'
                if to == 'torchvision'
                else f'timm.create_model has no {name!r}; it has {sorted(TIMM_MODELS)}'
            )
        )
    # the input convention travels with the weights (checked before anything is written)
    config = export_config(ckpt, checkpoint, name, int(plain['fc.weight'].shape[0]))
    result = fit_backbone(plain, layout, variant)
    result.update({'fc.weight': plain['fc.weight'], 'fc.bias': plain['fc.bias']})
    if out.endswith('.safetensors'):
        from safetensors.torch import save

        atomic_write_bytes(save({k: v.contiguous() for k, v in result.items()}), out)
    else:
        buffer = io.BytesIO()
        torch.save(result, buffer)
        atomic_write_bytes(buffer.getvalue(), out)
    return dict(
        model=name,
        num_classes=int(plain['fc.weight'].shape[0]),
        out=out,
        library=to,
        config=write_export_config(config, out),
    )
