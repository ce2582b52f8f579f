"""ResNet state-dict layouts: the hosts' key names <-> BoTResNet's, and the one architecture
inferrer (read from keys and shapes alone; nothing is executed).

BoTResNet's keys are timm's (variants B, C, D) and torchvision's (B). The hosts differ only in the
deep stem and, for mmpretrain, the avg-down shortcut (open-mmlab/mmdetection#4050):

=========================== ======================================= ============================
layout                      deep stem (C/D)                         avg-down shortcut (D)
=========================== ======================================= ============================
``bot`` (timm/torchvision)  ``conv1.{0,1,3,4,6}`` + ``bn1``          ``downsample.{1: conv, 2: bn}``
``mmcv`` (mmdet/mmseg/mmcv) ``stem.{0,1,3,4,6,7}`` (a Sequential)    as ``bot`` (pool slot always)
``mmpretrain``              ``stem.{0,1,2}.{conv,bn}`` (ConvModules) pool slot only where the
                                                                    stride is not 1
=========================== ======================================= ============================

A/B layouts are the same in all of them (``conv1``, ``bn1``, ``downsample.{0: conv, 1: bn}``).
Both directions are exact renamings; :func:`to_bot` reports which layout it found, so the strict
loader and the importers map every host file the same way and still check every key.

The inferrer (:func:`infer_layout`) has one rule: the stem (7x7 ``conv1`` or deep
``conv1.0/3/6``), the blocks per stage (every index present, ``conv3`` = Bottleneck, matched
against ``ARCH`` for the stages present), and every projection shortcut (all pooled = D, none =
A/B/C; a mix is refused).
"""

import re
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch

from tricks_mm.models.backbones._blocks import ARCH, Bottleneck, stage_in_channels

StateDict = Dict[str, torch.Tensor]
LAYOUTS = ('bot', 'mmcv', 'mmpretrain')

_MMCV_STEM = {
    'stem.0.': 'conv1.0.',
    'stem.1.': 'conv1.1.',
    'stem.3.': 'conv1.3.',
    'stem.4.': 'conv1.4.',
    'stem.6.': 'conv1.6.',
    'stem.7.': 'bn1.',
}
_MMPRETRAIN_STEM = {
    'stem.0.conv.': 'conv1.0.',
    'stem.0.bn.': 'conv1.1.',
    'stem.1.conv.': 'conv1.3.',
    'stem.1.bn.': 'conv1.4.',
    'stem.2.conv.': 'conv1.6.',
    'stem.2.bn.': 'bn1.',
}
_STEMS = {'mmcv': _MMCV_STEM, 'mmpretrain': _MMPRETRAIN_STEM}


class LayoutError(ValueError):
    """The state dict is not a ResNet layout tricks_mm can read, or contradicts what was asked."""


def _rename(state: StateDict, table: Dict[str, str]) -> StateDict:
    out = {}
    for key, value in state.items():
        for old, new in table.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        out[key] = value
    return out


def detect_layout(state: StateDict) -> str:
    """``'mmpretrain'``, ``'mmcv'`` or ``'bot'``, from the deep stem's and shortcuts' keys."""
    if 'stem.0.conv.weight' in state:
        return 'mmpretrain'
    if 'stem.0.weight' in state:
        return 'mmcv'
    if _poolless_shortcuts(state):
        return 'mmpretrain'  # an avg-down ResNet whose stride-1 shortcuts lack the pool slot
    return 'bot'


def _shortcuts(state: StateDict) -> Dict[str, set]:
    """Shortcut prefix (``layer1.0.downsample.``) -> the indices its keys use."""
    found: Dict[str, set] = {}
    for key in state:
        match = re.match(r'(.*\.downsample\.)(\d+)\.', key)
        if match:
            found.setdefault(match.group(1), set()).add(int(match.group(2)))
    return found


def _poolless_shortcuts(state: StateDict) -> Tuple[str, ...]:
    """mmpretrain's avg-down shortcuts without a pool (``{0: conv, 1: bn}`` beside pooled ones)."""
    found = _shortcuts(state)
    if not any(2 in idx for idx in found.values()):
        return ()
    return tuple(p for p, idx in found.items() if idx == {0, 1})


def to_bot(state: StateDict) -> Tuple[StateDict, str]:
    """``(state in BoTResNet keys, the layout it was in)``; keys outside the backbone (``fc.*``)
    are kept as they are."""
    layout = detect_layout(state)
    if layout == 'bot':
        return dict(state), layout
    out = _rename(state, _STEMS[layout])
    poolless = _poolless_shortcuts(out)
    if poolless:
        out = {
            re.sub(r'(\.downsample\.)([01])\.', lambda m: f'{m.group(1)}{int(m.group(2)) + 1}.', k)
            if any(k.startswith(p) for p in poolless)
            else k: v
            for k, v in out.items()
        }
    return out, layout


def from_bot(state: StateDict, layout: str, strides: Sequence[int] = (1, 2, 2, 2)) -> StateDict:
    """BoTResNet keys -> ``layout``'s, for the host ResNet built with ``strides`` (mmpretrain's
    avg-down shortcuts have no pool slot in the first block of a stride-1 stage)."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if layout == 'bot':
        return dict(state)
    deep = 'conv1.0.weight' in state  # a 7x7 stem (A/B) is conv1 + bn1 in every layout
    out = _rename(state, {new: old for old, new in _STEMS[layout].items()}) if deep else dict(state)
    pooled = 'layer1.0.downsample.2.weight' in state or any(
        k.endswith('.downsample.2.weight') for k in state
    )
    if layout == 'mmpretrain' and pooled:
        stride1 = tuple(f'layer{i + 1}.0.downsample.' for i, s in enumerate(strides) if s == 1)
        out = {
            re.sub(r'(\.downsample\.)([12])\.', lambda m: f'{m.group(1)}{int(m.group(2)) - 1}.', k)
            if k.startswith(stride1)
            else k: v
            for k, v in out.items()
        }
    return out


@dataclass(frozen=True)
class Layout:
    """What a ResNet state dict's keys and shapes tell about its architecture."""

    depth: int
    deep_stem: bool
    avg_down: bool
    stem_channels: int
    base_channels: int
    in_channels: int
    num_stages: int
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
        return stage_in_channels(
            self.depth, self.num_stages, self.stem_channels, self.base_channels
        )

    def describe(self) -> str:
        stem = (
            f'deep stem {self.stem_channels // 2}-{self.stem_channels // 2}-{self.stem_channels}'
            if self.deep_stem
            else '7x7 stem'
        )
        shortcut = 'avg-pool shortcut' if self.avg_down else 'strided 1x1 shortcut'
        variants = '/'.join(v.upper() for v in self.variants)
        return f'ResNet-{self.depth} variant {variants} ({stem}, {shortcut})'


def _shape(state: StateDict, key: str) -> Optional[Tuple[int, ...]]:
    value = state.get(key)
    return tuple(value.shape) if value is not None else None


def _first(keys, n: int = 8) -> str:
    keys = list(keys)
    return ', '.join(keys[:n]) + (f' ... (+{len(keys) - n} more)' if len(keys) > n else '')


def _stage_blocks(state: StateDict) -> Tuple[int, ...]:
    counts = []
    for stage in range(1, 5):
        blocks = {
            int(m.group(1)) for k in state for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m
        }
        if not blocks:
            break
        if blocks != set(range(max(blocks) + 1)):
            missing = sorted(set(range(max(blocks) + 1)) - blocks)
            raise LayoutError(f'layer{stage} has no blocks {missing}: not a whole ResNet stage')
        counts.append(max(blocks) + 1)
    return tuple(counts)


def infer_layout(state: StateDict) -> Layout:
    """Depth, stem, shortcut and widths of ``state`` (BoTResNet keys; ``fc.*`` allowed).

    Raises:
        LayoutError: no ResNet stem, stages that match no (or several) depths, or shortcuts that
            are neither all pooled nor all plain; the message names what it looked for.
    """
    plain, deep = _shape(state, 'conv1.weight'), _shape(state, 'conv1.0.weight')
    if plain is not None and len(plain) == 4 and plain[2:] == (7, 7):
        deep_stem, stem_channels, in_channels = False, plain[0], plain[1]
    elif plain is not None:
        raise LayoutError(
            f'conv1.weight has shape {plain}: neither the 7x7 stem of ResNet-A/B nor the 3x3 '
            'deep stem (conv1.0) of ResNet-C/D'
        )
    elif deep is not None and _shape(state, 'conv1.3.weight') and _shape(state, 'conv1.6.weight'):
        mid, stem_channels = deep[0], _shape(state, 'conv1.6.weight')[0]
        if _shape(state, 'conv1.3.weight') != (mid, mid, 3, 3) or 2 * mid != stem_channels:
            raise LayoutError(
                f'deep stem conv1.0/conv1.3/conv1.6 has widths {deep[0]}, '
                f"{_shape(state, 'conv1.3.weight')[0]}, {stem_channels}: BoTResNet's deep stem "
                "is c/2, c/2, c (timm resnet50c/d/s, the hosts' ResNetV1c/d)"
            )
        deep_stem, in_channels = True, deep[1]
    else:
        raise LayoutError(
            'not a ResNet state dict, no stem: found neither a 7x7 stem conv1.weight nor a deep '
            'stem '
            f"conv1.0/conv1.3/conv1.6.weight (nor the hosts' stem.*); its keys begin "
            f'[{_first(state)}]'
        )
    if 'bn1.weight' not in state:
        raise LayoutError(f'no stem norm bn1.weight; its keys begin [{_first(state)}]')
    blocks = _stage_blocks(state)
    bottleneck = 'layer1.0.conv3.weight' in state
    depths = [
        d
        for d, (block, counts) in ARCH.items()
        if blocks and counts[: len(blocks)] == blocks and (block is Bottleneck) == bottleneck
    ]
    if len(depths) != 1:
        raise LayoutError(
            f'blocks per stage {list(blocks)} with {"Bottleneck" if bottleneck else "BasicBlock"}'
            f' blocks (layer1.0.conv3.weight {"present" if bottleneck else "absent"}) match '
            f'{"several" if depths else "no"} BoTResNet depths; known: '
            + ', '.join(f'{d}: {c}' for d, (_, c) in ARCH.items())
        )
    convs = {p: _shape(state, f'{p}1.weight') for p in _shortcuts(state)}
    pooled = {p: s is not None and len(s) == 4 for p, s in convs.items()}
    if len(set(pooled.values())) > 1:
        raise LayoutError(
            'some shortcuts are pooled (downsample.1 = conv) and some are not (downsample.1 = '
            f'norm): {sorted(p for p, v in pooled.items() if v)} vs '
            f'{sorted(p for p, v in pooled.items() if not v)}: not one ResNet variant'
        )
    avg_down = bool(pooled) and all(pooled.values())
    if avg_down and not deep_stem:
        raise LayoutError(
            'pooled (ResNet-D) shortcuts with a 7x7 stem: no BoTResNet variant (D has the deep '
            'stem too)'
        )
    fc = _shape(state, 'fc.weight')
    return Layout(
        depth=depths[0],
        deep_stem=deep_stem,
        avg_down=avg_down,
        stem_channels=int(stem_channels),
        base_channels=int(_shape(state, 'layer1.0.conv1.weight')[0]),
        in_channels=int(in_channels),
        num_stages=len(blocks),
        num_classes=fc[0] if fc else None,
    )
