"""Strict pretrained loading shared by the backbone and the C4 RoI head.

mmengine's ``Pretrained`` init only warns on key mismatches; the BoT modules load their
``Pretrained`` init_cfg through :func:`load_strict` instead (see its docstring).
"""

import re
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn


class CheckpointMismatchError(RuntimeError):
    """A pretrained checkpoint does not fit the backbone key for key and shape for shape."""


def first_keys(keys: Sequence[str], n: int = 10) -> str:
    """The first ``n`` keys, comma-separated, and how many more: for error messages that name
    keys without printing a whole state dict."""
    keys = list(keys)
    more = f' ... (+{len(keys) - n} more)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def load_strict(
    module: nn.Module,
    filename: str,
    prefix: Optional[str] = None,
    map_location: Union[str, torch.device, None] = 'cpu',
    exclude: Sequence[str] = (),
    beyond: Sequence[str] = (),
    added: Sequence[str] = (),
) -> None:
    """Load ``filename`` into ``module``; any missing, unexpected or misshaped key raises.

    mmengine's ``Pretrained`` init only warns on mismatches, which silently leaves e.g. a deep stem
    random (open-mmlab/mmdetection#4050); this refuses instead. The hosts' own layouts (mmcv /
    mmdet / mmseg ``stem.*``, mmpretrain's ``stem.N.conv`` and pool-less shortcuts, see
    :mod:`~tricks_mm.models.backbones.layouts`) are renamed to BoTResNet's first, exactly, so
    ``open-mmlab://resnet50_v1c`` or an mmpretrain ``ResNetV1d`` file loads like a converted one.

    Args:
        module: The module to load into.
        filename: Checkpoint path or URL understood by mmengine (``torchvision://`` too).
        prefix: Keep only keys starting with ``prefix`` (``'backbone'`` or ``'backbone.'``) and
            strip it. ``None`` uses the state dict as is (minus ``fc.*`` for ``torchvision://``
            checkpoints, whose only non-backbone keys those are).
        map_location: Passed to mmengine's ``_load_checkpoint``.
        exclude: Key prefixes (after ``prefix`` is stripped) that another module loads, e.g.
            ``['layer4.']`` for the C4 Faster R-CNN backbone, whose stage 4 is the RoI head
            (:class:`~tricks_mm.models.roi_heads.BoTResLayer`). Each must match at least one
            key, so a typo cannot hide a real mismatch.
        beyond: Key prefixes of stages the module does not build (``layer4.`` of a 3-stage C4
            backbone, whose stage 4 the host's shared head loads from the same file): dropped
            where present, and logged, as the hosts' 3-stage ResNet reads a whole-ResNet file.
        added: Module prefixes the host adds to a plain ResNet (DCN offset convs, block plugins
            such as GCNet's ``context_block``) that an ImageNet file cannot hold: each may be
            absent from the checkpoint as a whole (it keeps its own init, logged); if the file
            has any of its keys, all are required as usual.

    Raises:
        CheckpointMismatchError: Naming the missing, unexpected and misshaped keys.
    """
    ckpt = _load_checkpoint(filename, map_location=map_location or 'cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if str(filename).startswith('torchvision://'):
        # torchvision's classifiers are backbone + ``fc``: variant B == resnet50 minus fc.
        state = {k: v for k, v in state.items() if not k.startswith('fc.')}
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        kept = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if not kept:
            raise CheckpointMismatchError(
                f'no key of {filename!r} starts with prefix {prefix!r} (its keys begin '
                f'[{first_keys(list(state), 5)}]): fix the init_cfg prefix'
            )
        state = kept
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    for skip in exclude:
        if not any(k.startswith(skip) for k in state):
            raise CheckpointMismatchError(
                f'exclude={list(exclude)!r}: no key of {filename!r} (after prefix {prefix!r}) '
                f'starts with {skip!r}; its keys begin [{first_keys(list(state), 5)}]'
            )
    state = {k: v for k, v in state.items() if not any(k.startswith(s) for s in exclude)}
    dropped = sorted({k.split('.')[0] for k in state if k.startswith(tuple(beyond))})
    if dropped:
        print_log(
            f'{type(module).__name__}: {dropped} of {filename!r} not loaded here: the model has '
            'no such stage (a C4 shared head loads it)',
            logger='current',
        )
        state = {k: v for k, v in state.items() if not k.startswith(tuple(beyond))}
    # imported here: backbones import this module (a cycle at import time otherwise)
    from tricks_mm.models.backbones.layouts import to_bot

    state, layout = to_bot(state)
    own = module.state_dict()
    absent = [p for p in added if not any(k.startswith(p) for k in state)]
    if absent:
        print_log(
            f'{type(module).__name__}: {len(absent)} modules that a plain ResNet file has no '
            f'weights for keep their own init (DCN offsets at 0, plugins): '
            f'[{first_keys(absent, 4)}]',
            logger='current',
        )
    missing = [k for k in own if k not in state and not k.startswith(tuple(absent))]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state.items()
        if k in own and v.shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        raise CheckpointMismatchError(
            f'checkpoint {filename!r} (prefix {prefix!r}, {layout} layout) does not match '
            f'{type(module).__name__}: {len(missing)} missing keys [{first_keys(missing)}], '
            f'{len(unexpected)} unexpected keys [{first_keys(unexpected)}], {len(shapes)} shape '
            f'mismatches [{first_keys(shapes)}]. {_diagnosis(module, state)}'
        )
    if absent:  # checked above: only the absent added modules may be missing
        result = module.load_state_dict(state, strict=False)
        assert not result.unexpected_keys
        assert all(k.startswith(tuple(absent)) for k in result.missing_keys)
    else:
        module.load_state_dict(state, strict=True)


def _diagnosis(module: nn.Module, state: dict) -> str:
    """What the file is, what the module is, and the fix."""
    generic = (
        'The checkpoint is probably of another variant or depth: convert the classifier of the '
        'same architecture with tools/transfer.py, or fix the backbone arguments / the init_cfg '
        'prefix.'
    )
    from tricks_mm.models.backbones.layouts import LayoutError, infer_layout

    try:
        found = infer_layout(state)
    except LayoutError:
        return generic
    depth, variant = getattr(module, 'depth', None), getattr(module, 'variant', None)
    if depth is None or variant is None:
        return f'The file is {found.describe()}. ' + generic
    fits = found.variants
    args = {
        'a': "variant='a' (style='caffe')",
        'b': "variant='b' (style='pytorch')",
        'c': "variant='c' (deep_stem=True)",
        'd': "variant='d' (deep_stem=True, avg_down=True)",
    }
    want = ' or '.join(args[v] for v in fits)
    return (
        f'The file is {found.describe()}; the model is ResNet-{depth} variant '
        f'{variant.upper()}. Build the model as the file: depth={found.depth}, {want}; or, to '
        f'keep variant {variant.upper()}, import the file (tools/transfer.py import --from '
        'torchvision|timm|mmpretrain|mmdet|mmseg), fine-tune it as that variant and convert it '
        '(tools/transfer.py convert).'
    )


_PRETRAINED_KEYS = {'type', 'checkpoint', 'prefix', 'map_location', 'exclude'}


def split_pretrained(init_cfg: Union[dict, List[dict], None]) -> Tuple[Optional[dict], List[dict]]:
    """``(the Pretrained init_cfg or None, the other init_cfgs)``; unknown Pretrained keys raise."""
    cfgs = [] if init_cfg is None else list(init_cfg) if isinstance(init_cfg, list) else [init_cfg]
    pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
    if len(pretrained) > 1:
        raise ValueError(f'at most one Pretrained init_cfg allowed, got {pretrained!r}')
    for cfg in pretrained:
        unknown = set(cfg) - _PRETRAINED_KEYS
        if unknown:
            raise ValueError(
                f'unknown Pretrained init_cfg keys {sorted(unknown)} in {cfg!r}; '
                f'allowed: {sorted(_PRETRAINED_KEYS)}'
            )
    return (
        pretrained[0] if pretrained else None,
        [c for c in cfgs if c.get('type') != 'Pretrained'],
    )
