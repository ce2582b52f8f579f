"""Which BoTResNet a state dict is, read from its keys and shapes alone (nothing is executed).

The weights show (paper Sec. 4, Fig. 2; key layout of
:class:`~tricks_mm.models.backbones.BoTResNet`):

* the depth: blocks per stage and whether blocks have a ``conv3`` (bottleneck), matched against
  the same ``ARCH`` table the backbone is built from;
* the deep stem of ResNet-C/D: ``conv1.0/1/3/4/6`` instead of one 7x7 ``conv1``;
* the pooled shortcut of ResNet-D: its ``downsample.0`` is a parameter-less ``AvgPool2d`` /
  ``Identity``, so the conv is ``downsample.1`` (a 4-d weight) and the norm ``downsample.2``;
  A/B/C have ``downsample.0`` = conv, ``downsample.1`` = norm (a 1-d weight);
* the widths: stem channels (``bn1``) and the first stage's planes (``layer1.0.conv1``).

A vs B is invisible: both have the same parameters, only the stride moves from the 1x1 to the
3x3 conv. Such a state dict yields ``variant=None`` and ``candidates=('a', 'b')``; the config
decides (see :mod:`tricks_mm.transfer.tricks`).
"""

from typing import Any, Dict, List, Mapping

import torch

from tricks_mm.models.backbones._blocks import ARCH, Bottleneck


def _blocks_per_stage(state_dict: Mapping[str, torch.Tensor]) -> List[int]:
    counts = []
    for stage in range(1, 5):
        n = 0
        while f'layer{stage}.{n}.conv1.weight' in state_dict:
            n += 1
        if n == 0:
            break
        counts.append(n)
    return counts


def infer_architecture(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, Any]:
    """Depth, variant and widths of a BoTResNet state dict (keys without ``backbone.``).

    Returns:
        ``dict(depth, variant, candidates, stem_channels, base_channels, in_channels,
        num_stages)``; ``variant`` is ``None`` when the weights fit several variants (always
        A vs B), ``candidates`` lists those that fit.

    Raises:
        ValueError: the keys fit no BoTResNet layout (the message names what was missing).
    """
    deep = 'conv1.0.weight' in state_dict
    stem = state_dict.get('conv1.0.weight' if deep else 'conv1.weight')
    if stem is None or 'bn1.weight' not in state_dict:
        raise ValueError(
            'not a BoTResNet state dict: no stem (conv1.weight or conv1.0.weight, '
            f'and bn1.weight); keys begin {list(state_dict)[:5]}'
        )
    if not deep and tuple(stem.shape[-2:]) != (7, 7):
        raise ValueError(
            f'conv1.weight has kernel {tuple(stem.shape[-2:])}: neither the 7x7 '
            'stem of ResNet-A/B nor the 3x3 deep stem (conv1.0) of ResNet-C/D'
        )
    counts = _blocks_per_stage(state_dict)
    bottleneck = 'layer1.0.conv3.weight' in state_dict
    depths = [
        d
        for d, (block, stages) in ARCH.items()
        if (block is Bottleneck) == bottleneck and counts and tuple(counts) == stages[: len(counts)]
    ]
    if len(depths) != 1:
        kind = 'bottleneck' if bottleneck else 'basic'
        raise ValueError(
            f'{kind} blocks per stage {counts} match '
            f'{"no" if not depths else "several"} BoTResNet depths '
            f'({ {d: s for d, (_, s) in ARCH.items()} })'
        )
    shortcut_convs = [state_dict[k] for k in state_dict if k.endswith('.downsample.1.weight')]
    pooled = {w.dim() == 4 for w in shortcut_convs}
    if len(pooled) > 1:
        raise ValueError(
            'some shortcuts are pooled (downsample.1 = conv) and some are not '
            '(downsample.1 = norm): not one BoTResNet variant'
        )
    if pooled == {True} and not deep:
        raise ValueError('pooled (ResNet-D) shortcuts with a 7x7 stem: no BoTResNet variant')
    if deep:
        candidates = ('d',) if pooled == {True} else ('c',) if pooled == {False} else ('c', 'd')
    else:
        candidates = ('a', 'b')
    return dict(
        depth=depths[0],
        variant=candidates[0] if len(candidates) == 1 else None,
        candidates=candidates,
        stem_channels=int(state_dict['bn1.weight'].shape[0]),
        base_channels=int(state_dict['layer1.0.conv1.weight'].shape[0]),
        in_channels=int(stem.shape[1]),
        num_stages=len(counts),
    )
