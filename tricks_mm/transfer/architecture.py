"""Which ResNet a state dict is, and whether it fits a BoTResNet: the one layout inferrer of the
transfer tools (convert, import, export), read from keys and shapes alone (nothing is executed).

The rule itself lives beside the backbone (:func:`tricks_mm.models.backbones.layouts.infer_layout`),
because the strict loader uses it too: the stem (7x7 ``conv1`` or the deep ``conv1.0/3/6`` of
ResNet-C/D, paper Fig. 2b), the blocks per stage (``conv3`` = Bottleneck; matched against the
``ARCH`` table the backbone is built from) and every projection shortcut (pooled ``downsample.1``
conv = ResNet-D, Fig. 2c). The hosts' layouts (mmcv/mmdet/mmseg ``stem.*``, mmpretrain's) are
renamed first (:func:`~tricks_mm.models.backbones.layouts.to_bot`).

A vs B is invisible: both have the same parameters, only the stride moves from the 1x1 to the
3x3 conv; :func:`resolve_variant` takes it from ``--arch``, the source library or the config.
"""

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

import torch

from tricks_mm.models.backbones._blocks import ARCH
from tricks_mm.models.backbones.bot_resnet import BoTResNet
from tricks_mm.models.backbones.layouts import Layout, LayoutError, infer_layout
from tricks_mm.models.pretrained import first_keys

if TYPE_CHECKING:  # importers/ imports this module: naming is read lazily, no import cycle
    from tricks_mm.transfer.importers.naming import ArchName

StateDict = Dict[str, torch.Tensor]

__all__ = [
    'Layout',
    'LayoutError',
    'infer_layout',
    'infer_architecture',
    'resolve_variant',
    'backbone_kwargs',
    'fit_backbone',
]


def infer_architecture(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, Any]:
    """Depth, variant and widths of a BoTResNet state dict (keys without ``backbone.``), as the
    dict ``convert`` records.

    Returns:
        ``dict(depth, variant, candidates, stem_channels, base_channels, in_channels,
        num_stages)``; ``variant`` is ``None`` when the weights fit several variants (always
        A vs B), ``candidates`` lists those that fit.

    Raises:
        LayoutError: (a ``ValueError``) the keys fit no ResNet layout, naming what was missing.
    """
    layout = infer_layout(dict(state_dict))
    candidates = layout.variants
    return dict(
        depth=layout.depth,
        variant=candidates[0] if len(candidates) == 1 else None,
        candidates=candidates,
        stem_channels=layout.stem_channels,
        base_channels=layout.base_channels,
        in_channels=layout.in_channels,
        num_stages=layout.num_stages,
    )


def resolve_variant(
    layout: Layout, arch: Optional['ArchName'], default: Optional[str], why_default: str
) -> str:
    """The variant, from the weights, confirmed by ``arch``; A vs B from ``arch`` or ``default``.

    Raises:
        LayoutError: ``arch`` contradicts the weights (depth, stem, shortcut or stem width), or
            A vs B is open and neither ``arch`` nor the source library decides it.
    """
    if arch is not None:
        problems = []
        if arch.depth != layout.depth:
            problems.append(
                f'depth {arch.depth} but the weights have blocks per stage '
                f'{ARCH[layout.depth][1]} (layer1..layer4): depth {layout.depth}'
            )
        if arch.variant not in layout.variants:
            stem = 'deep stem conv1.0/3/6' if layout.deep_stem else '7x7 stem conv1.weight'
            shortcut = (
                'pooled shortcut layer2.0.downsample.1'
                if layout.avg_down
                else 'strided shortcut layer2.0.downsample.0'
            )
            problems.append(
                f'variant {arch.variant.upper()} but the weights are '
                f'{"/".join(v.upper() for v in layout.variants)} ({stem}, {shortcut})'
            )
        elif arch.stem_channels != layout.stem_channels:
            problems.append(
                f'stem width {arch.stem_channels} but bn1.weight has '
                f'{layout.stem_channels} channels'
            )
        if problems:
            raise LayoutError(
                f'--arch {arch.name!r} contradicts the checkpoint, which is '
                f'{layout.describe()}: ' + '; '.join(problems)
            )
        return arch.variant
    if len(layout.variants) == 1:
        return layout.variants[0]
    if layout.depth < 50:
        return 'b'  # BasicBlock: A and B are the same network
    if default is None:
        raise LayoutError(
            f'the checkpoint is {layout.describe()}: variant A (stride on the first 1x1 conv, '
            'mmpretrain style="caffe") or B (stride on the 3x3 conv, style="pytorch") have the '
            f'same weights and {why_default}; pass --arch resnet{layout.depth}a or '
            f'--arch resnet{layout.depth}b'
        )
    return default


def backbone_kwargs(layout: Layout, variant: str) -> Dict[str, int]:
    """BoTResNet arguments (besides out_indices etc.) of this architecture."""
    return dict(
        depth=layout.depth,
        variant=variant,
        stem_channels=layout.stem_channels,
        base_channels=layout.base_channels,
        in_channels=layout.in_channels,
    )


def fit_backbone(state: StateDict, layout: Layout, variant: str) -> StateDict:
    """The backbone part of ``state``, checked key for key and shape for shape.

    ``num_batches_tracked`` buffers absent from the source (old torchvision files) are filled
    with 0, as ``BatchNorm``'s own loading does; ``fc.*`` is left to the head.

    Raises:
        LayoutError: naming the keys that did not map, the missing ones and shape mismatches.
    """
    from tricks_mm.transfer.importers.naming import arch_name

    own = BoTResNet(**backbone_kwargs(layout, variant)).state_dict()
    src = {k: v for k, v in state.items() if not k.startswith('fc.')}
    for key in own:
        if key.endswith('num_batches_tracked') and key not in src:
            src[key] = torch.tensor(0, dtype=torch.long)
    unexpected = [k for k in src if k not in own]
    missing = [k for k in own if k not in src]
    shapes = [
        f'{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}'
        for k, v in src.items()
        if k in own and v.shape != own[k].shape
    ]
    if unexpected or missing or shapes:
        raise LayoutError(
            f'the checkpoint does not fit {arch_name(layout.depth, variant, layout.stem_channels)}'
            f' ({layout.describe()}): {len(unexpected)} keys that did not map '
            f'[{first_keys(unexpected)}], {len(missing)} missing [{first_keys(missing)}], '
            f'{len(shapes)} shape mismatches [{first_keys(shapes)}]'
        )
    return {k: src[k].to(own[k].dtype) if own[k].is_floating_point() else src[k] for k in own}
