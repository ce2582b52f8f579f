"""Infer a ResNet's architecture from a state dict in BoTResNet (= timm) key layout.

Every importer first renames its library's keys to this layout (timm and torchvision already
use it; mmpretrain differs in the deep stem and the avg-down shortcut), then :func:`infer_layout`
reads what the weights can tell:

- the stem: ``conv1.weight`` 7x7 (A/B) or the deep stem ``conv1.{0,3,6}.weight`` (C/D, paper
  Fig. 2b) and its width (``resnet50s``: 128);
- the depth: block type (``conv3`` present = Bottleneck) and blocks per stage;
- the shortcut: ``downsample.{1: conv, 2: norm}`` after a pool (D, paper Fig. 2c) or
  ``downsample.{0: conv, 1: norm}`` (A/B/C).

What the weights cannot tell (stride on the 1x1 vs the 3x3 conv, A vs B) comes from the source
library or ``--arch`` (:func:`resolve_variant`). :func:`fit_backbone` finally checks the dict key
for key and shape against a built :class:`~tricks_mm.models.backbones.BoTResNet`, so a state dict
that fits no known layout is refused naming the keys that did not map.

Written here (not shared with the BoTResNet-checkpoint inference of ``convert``) because the
source dicts carry ``fc`` and may lack ``num_batches_tracked``; the integrator may unify both.
"""

import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

from tricks_mm.models.backbones._blocks import ARCH, Bottleneck, stage_in_channels
from tricks_mm.models.backbones.bot_resnet import BoTResNet
from tricks_mm.models.pretrained import first_keys
from tricks_mm.transfer.importers.naming import ArchName, arch_name

StateDict = Dict[str, torch.Tensor]


class LayoutError(ValueError):
    """The state dict is not a ResNet layout tricks_mm can import, or contradicts ``--arch``."""


@dataclass(frozen=True)
class Layout:
    """What a ResNet state dict's keys and shapes tell about its architecture."""

    depth: int
    deep_stem: bool
    avg_down: bool
    stem_channels: int
    base_channels: int
    in_channels: int
    num_classes: Optional[int]

    @property
    def variants(self) -> Tuple[str, ...]:
        """The BoTResNet variants these weights fit (A and B share every weight shape)."""
        if self.avg_down:
            return ('d',)
        if self.deep_stem:
            return ('c',)
        return ('a', 'b')

    @property
    def feat_dim(self) -> int:
        """Channels of the last stage's output (the classifier head's input)."""
        return stage_in_channels(self.depth, 4, self.stem_channels, self.base_channels)

    def describe(self) -> str:
        stem = (
            f'deep stem {self.stem_channels // 2}-{self.stem_channels // 2}-{self.stem_channels}'
            if self.deep_stem
            else '7x7 stem'
        )
        shortcut = 'avg-pool shortcut' if self.avg_down else 'strided 1x1 shortcut'
        return f'ResNet-{self.depth} ({stem}, {shortcut})'


def _stage_blocks(state: StateDict) -> Tuple[int, ...]:
    counts = []
    for stage in range(1, 5):
        blocks = {
            int(m.group(1)) for k in state for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m
        }
        if not blocks:
            break
        counts.append(max(blocks) + 1)
    return tuple(counts)


def _shape(state: StateDict, key: str) -> Optional[Tuple[int, ...]]:
    value = state.get(key)
    return tuple(value.shape) if value is not None else None


def infer_layout(state: StateDict) -> Layout:
    """Read depth, stem and shortcut from ``state`` (BoTResNet keys, ``fc.*`` allowed).

    Raises:
        LayoutError: no ResNet stem, stages that match no depth, or an unknown shortcut; the
            message names the keys it looked for and the keys the dict begins with.
    """
    keys = f'its keys begin [{first_keys(list(state), 8)}]'
    plain, deep = _shape(state, 'conv1.weight'), _shape(state, 'conv1.0.weight')
    if plain is not None and len(plain) == 4 and plain[2:] == (7, 7):
        deep_stem, stem_channels, in_channels = False, plain[0], plain[1]
    elif deep is not None and _shape(state, 'conv1.3.weight') and _shape(state, 'conv1.6.weight'):
        mid, stem_channels = deep[0], _shape(state, 'conv1.6.weight')[0]
        if _shape(state, 'conv1.3.weight') != (mid, mid, 3, 3) or 2 * mid != stem_channels:
            raise LayoutError(
                f'deep stem conv1.0/conv1.3/conv1.6 has widths {deep[0]}, '
                f"{_shape(state, 'conv1.3.weight')[0]}, {stem_channels}: BoTResNet's deep stem "
                'is c/2, c/2, c (timm resnet50c/d/s, mmpretrain ResNetV1c/d)'
            )
        deep_stem, in_channels = True, deep[1]
    else:
        raise LayoutError(
            'not a ResNet state dict: found neither a 7x7 stem conv1.weight nor '
            f'a deep stem conv1.0/conv1.3/conv1.6.weight; {keys}'
        )
    blocks = _stage_blocks(state)
    bottleneck = 'layer1.0.conv3.weight' in state
    depths = [
        d
        for d, (block, counts) in ARCH.items()
        if counts == blocks and (block is Bottleneck) == bottleneck
    ]
    if not depths:
        raise LayoutError(
            f'blocks per stage {blocks} with {"Bottleneck" if bottleneck else "BasicBlock"} '
            f'blocks (layer1.0.conv3.weight {"present" if bottleneck else "absent"}) match no '
            f'ResNet depth; known: ' + ', '.join(f'{d}: {c}' for d, (_, c) in ARCH.items())
        )
    shortcut = {i: _shape(state, f'layer2.0.downsample.{i}.weight') for i in range(3)}
    if shortcut[1] is not None and len(shortcut[1]) == 4 and shortcut[0] is None:
        avg_down = True
    elif shortcut[0] is not None and len(shortcut[0]) == 4 and shortcut[2] is None:
        avg_down = False
    else:
        raise LayoutError(
            'unknown shortcut layout in layer2.0.downsample: expected a conv at index 0 (A/B/C) '
            'or at index 1 after a pool (D); found '
            + ', '.join(k for k in state if k.startswith('layer2.0.downsample.'))
        )
    fc = _shape(state, 'fc.weight')
    return Layout(
        depth=depths[0],
        deep_stem=deep_stem,
        avg_down=avg_down,
        stem_channels=stem_channels,
        base_channels=_shape(state, 'layer1.0.conv1.weight')[0],
        in_channels=in_channels,
        num_classes=fc[0] if fc else None,
    )


def resolve_variant(
    layout: Layout, arch: Optional[ArchName], default: Optional[str], why_default: str
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
