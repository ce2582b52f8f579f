"""mmdet / mmseg / mmcv ResNet weights: ``ResNet``, ``ResNetV1c``, ``ResNetV1d`` in mmcv's layout.

Three forms: a backbone alone (the ``open-mmlab://resnet50_v1c`` files every mmseg config starts
from, saved by mmcv / mmengine as ``{'meta', 'state_dict'}``), a detector or segmentor checkpoint
(``backbone.*`` beside necks and heads, skipped by name), or an mmpretrain-style classifier. The
deep stem is ``stem.{0,1,3,4,6,7}``; the avg-down shortcut always has its pool slot, as
BoTResNet's (:mod:`tricks_mm.models.backbones.layouts`). A vs B (``style``) is invisible in the
weights and these files carry no config naming it: ``--arch`` decides for 7x7-stem files.
Their input convention is mmcv's ImageNet one (RGB, mean/std of 0-255 pixels), as mmpretrain's.
"""

from typing import Any

from tricks_mm.transfer.importers.mmpretrain import backbone_part
from tricks_mm.transfer.importers.source import SourceWeights, as_state_dict, read_file
from tricks_mm.transfer.normalization import MMPRETRAIN_IMAGENET

NAMES = ('mmdet', 'mmseg')


def from_object(obj: Any, path: str, ema: bool = False) -> SourceWeights:
    if ema:
        raise ValueError('--ema applies to timm train.py checkpoints only')
    raw = obj.get('state_dict', obj) if isinstance(obj, dict) else obj
    state = as_state_dict(raw, path, 'an mmdet / mmseg / mmcv ResNet state dict')
    part = backbone_part(state, path)
    return SourceWeights(
        part['state'],
        MMPRETRAIN_IMAGENET,
        default_variant=None,
        why_default='mmcv-layout files carry no config naming the style',
        extra=dict(source_layout=part['layout'], skipped_parts=part['skipped']),
    )


def read(path: str, ema: bool = False) -> SourceWeights:
    return from_object(read_file(path), path, ema)
