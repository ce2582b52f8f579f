"""Backbones; importing this module registers them in ``tricks_mm.registry.MODELS``."""

from tricks_mm.models.backbones.bot_resnet import BoTResNet
from tricks_mm.models.pretrained import CheckpointMismatchError, load_strict

__all__ = ['BoTResNet', 'CheckpointMismatchError', 'load_strict']
