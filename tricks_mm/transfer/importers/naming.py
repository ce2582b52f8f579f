"""Architecture names as the libraries spell them, mapped to BoTResNet arguments.

=================================  =============================================================
name                               BoTResNet
=================================  =============================================================
``resnet50``  (timm, torchvision)  ``depth=50, variant='b'`` (stride on the 3x3 conv)
``resnet50a`` / ``resnet50b``      variant A (stride on the 1x1 conv, mmpretrain ``style='caffe'``)
                                   / variant B (``style='pytorch'``)
``resnet50c`` / ``resnet50d``      timm's deep-stem (32-32-64) ResNets, C and D
``resnet50s``                      timm's 64-64-128 deep stem: variant C, ``stem_channels=128``
``resnetv1c50`` / ``resnetv1d50``  mmpretrain's ``ResNetV1c`` / ``ResNetV1d`` names
=================================  =============================================================

A timm pretrained tag (``resnet50d.gluon_in1k``) is kept for the provenance, not interpreted.
"""

import re
from dataclasses import dataclass

_NAME = re.compile(r'^resnet(?:v1([bcd]))?(\d+)([abcds]?)$')
DEPTHS = (18, 34, 50, 101, 152)


@dataclass(frozen=True)
class ArchName:
    """A parsed architecture name (a name without a letter is variant B, as timm and
    torchvision spell ``resnet50``)."""

    name: str
    depth: int
    variant: str
    stem_channels: int = 64


def parse_arch(name: str) -> ArchName:
    """Parse ``resnet50d``, ``resnet50d.gluon_in1k``, ``resnetv1d50``, ``resnet18`` ...

    Raises:
        ValueError: not a ResNet name BoTResNet can express (the message lists the forms).
    """
    base = name.split('.', 1)[0].lower()
    match = _NAME.match(base)
    depth = int(match.group(2)) if match else None
    if match is None or depth not in DEPTHS or (match.group(1) and match.group(3)):
        raise ValueError(
            f'--arch {name!r} is not a ResNet name tricks_mm can import: use resnet<depth>'
            f'[a|b|c|d|s] (timm / torchvision spelling, e.g. resnet50d, resnet50d.gluon_in1k) or '
            f'resnetv1c<depth> / resnetv1d<depth> (mmpretrain), depth one of {DEPTHS}'
        )
    letter = match.group(1) or match.group(3) or 'b'
    if letter == 's':
        return ArchName(name, depth, 'c', stem_channels=128)
    return ArchName(name, depth, letter)


def arch_name(depth: int, variant: str, stem_channels: int = 64) -> str:
    """The timm-style name of a BoTResNet architecture (``resnet50d``; ``resnet50`` for B)."""
    if stem_channels == 128 and variant == 'c':
        return f'resnet{depth}s'
    return f'resnet{depth}' + ('' if variant == 'b' else variant)
