"""timm ResNets: plain state dicts (``.pth``/``.bin``), ``.safetensors``, ``train.py`` checkpoints.

timm's ResNet keys are BoTResNet's keys (``conv1.{0,1,3,4,6}`` deep stem, ``downsample.{1,2}``
after the pool of ``avg_down``), so no renaming is needed. timm's ResNet has no stride-on-1x1
option: a 7x7-stem bottleneck is variant B. ``train.py`` checkpoints
(``timm/utils/checkpoint_saver.py``) hold ``state_dict``, optionally ``state_dict_ema``,
``optimizer``, ``epoch``, ``arch`` (= ``args.model``) and ``args``, an :class:`argparse.Namespace`;
that one class is allowed for this load only (its unpickling sets attributes, nothing runs).
"""

import argparse
from typing import Any

from tricks_mm.transfer.importers.naming import parse_arch
from tricks_mm.transfer.importers.source import SourceWeights, as_state_dict, read_file
from tricks_mm.transfer.normalization import TIMM_IMAGENET

NAME = 'timm'
#: Only for timm ``train.py`` checkpoints (their ``args``).
EXTRA_GLOBALS = (argparse.Namespace,)


def is_train_checkpoint(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get('state_dict'), dict)
        and bool({'args', 'arch', 'state_dict_ema', 'version'} & set(obj))
    )


def from_object(obj: Any, path: str, ema: bool = False) -> SourceWeights:
    """Weights of a timm file already read by :func:`read`."""
    extra = {}
    arch = None
    if is_train_checkpoint(obj):
        key = 'state_dict_ema' if ema else 'state_dict'
        if key not in obj:
            raise ValueError(
                f'{path!r} is a timm train.py checkpoint without {key!r} (it has '
                f'{sorted(obj)}); drop --ema to import the trained weights'
            )
        if obj.get('arch'):
            try:
                arch = parse_arch(str(obj['arch']))
            except ValueError as err:
                raise ValueError(
                    f'{path!r} was trained as timm model {obj["arch"]!r}, which '
                    f'tricks_mm cannot express: {err}'
                ) from None
        extra = dict(weights=key, epoch=obj.get('epoch'), timm_model=obj.get('arch'))
        obj = obj[key]
    elif ema:
        raise ValueError(
            f'--ema: {path!r} is a plain state dict, not a timm train.py '
            'checkpoint with state_dict_ema'
        )
    state = as_state_dict(obj, path, 'a timm ResNet state dict')
    return SourceWeights(
        state,
        TIMM_IMAGENET,
        arch=arch,
        default_variant='b',
        why_default='timm ResNets put the stride on the 3x3 conv',
        extra=extra,
    )


def read(path: str, ema: bool = False) -> SourceWeights:
    return from_object(read_file(path, EXTRA_GLOBALS), path, ema)
