"""torchvision ``resnet18/34/50/101/152`` state dicts (the files ``torchvision.models`` downloads).

Their keys are BoTResNet's variant-B keys (``conv1``, ``bn1``, ``layerN.M.{conv,bn}K``,
``downsample.{0,1}``) plus ``fc``; the stride sits on the 3x3 conv (V1.5), so A is impossible,
and torchvision has no deep stem. Files older than PyTorch 0.4 lack ``num_batches_tracked``.
"""

from typing import Any

from tricks_mm.transfer.importers.source import SourceWeights, as_state_dict, read_file
from tricks_mm.transfer.normalization import TORCHVISION_IMAGENET

NAME = 'torchvision'


def from_object(obj: Any, path: str, ema: bool = False) -> SourceWeights:
    if ema:
        raise ValueError(
            '--ema applies to timm train.py checkpoints only, not torchvision state dicts'
        )
    state = as_state_dict(obj, path, 'a torchvision ResNet state dict')
    if 'conv1.0.weight' in state:
        raise ValueError(
            f'{path!r} has a deep stem (conv1.0.weight): torchvision ResNets have '
            'none; this is a timm resnet*c/d/s file, import it with --from timm'
        )
    return SourceWeights(
        state,
        TORCHVISION_IMAGENET,
        default_variant='b',
        why_default='torchvision ResNets put the stride on the 3x3 conv',
    )


def read(path: str, ema: bool = False) -> SourceWeights:
    return from_object(read_file(path), path, ema)
