"""Load checkpoints with ``torch.load(weights_only=True)`` and an explicit allowlist.

Why: torch >= 2.6 defaults to ``weights_only=True`` and mmengine 0.10.7 runner checkpoints then
fail to load (mmengine#1655), because their ``message_hub`` holds
:class:`~mmengine.logging.HistoryBuffer` objects and numpy arrays/scalars. Turning
``weights_only`` off would let any checkpoint run code on load. Instead we allow exactly the
globals that mmengine writes, and nothing else.

A pickled ``HistoryBuffer`` stores its class-level statistics methods as
``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean')``, so the pickle stream needs
``builtins.getattr``. Allowing the real ``getattr`` would let a pickle reach any attribute of any
allowed object, so the name ``builtins.getattr`` is bound to :func:`_history_buffer_getattr`,
which accepts only those four names on that one class.

:func:`install_safe_checkpoint_loader` registers :func:`safe_load_from_local` as mmengine's
loader for local paths (``CheckpointLoader`` prefix ``''``), so ``--resume``, ``load_from``,
``init_cfg=dict(type='Pretrained')`` and ``load_checkpoint`` all go through it.
"""

import importlib
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allowlist; it was not loaded."""


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` inside checkpoints: only HistoryBuffer statistics."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'refusing getattr({obj!r}, {name!r}) in a checkpoint: only '
        f'HistoryBuffer.{sorted(_HISTORY_BUFFER_METHODS)} are allowed'
    )


def _numpy_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The numpy objects mmengine's message hub pickles, under numpy 1.x and 2.x module names."""
    try:  # numpy >= 2 (numpy 1.26 has numpy._core too, but not its multiarray attribute)
        multiarray = importlib.import_module('numpy._core.multiarray')
    except ImportError:
        multiarray = importlib.import_module('numpy.core.multiarray')
    reconstruct, scalar = multiarray._reconstruct, multiarray.scalar
    entries: List[Union[Callable, Tuple[Callable, str]]] = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries += [(reconstruct, f'{module}._reconstruct'), (scalar, f'{module}.scalar')]
    # dtype instances are of per-type classes (numpy.dtypes.Float64DType, ...) on numpy >= 1.25.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return entries


def allowed_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """Exactly the globals an mmengine 0.10.7 checkpoint may contain beyond torch's defaults."""
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'), *_numpy_globals()]


def safe_torch_load(
    filename: str,
    map_location: Optional[Any] = None,
    extra_globals: Sequence[Union[Callable, Tuple[Callable, str]]] = (),
) -> Any:
    """``torch.load`` with ``weights_only=True`` and :func:`allowed_globals`.

    Args:
        extra_globals: more classes allowed for this one load only, for a caller that knows
            the format (e.g. ``argparse.Namespace`` in timm ``train.py`` checkpoints, see
            :mod:`tricks_mm.transfer.importers.timm`). Never a callable that runs code.

    Raises:
        UnsafeCheckpointError: the file pickles an object outside the allowlist. Nothing from
            the file has run; the message names the offending global.
    """
    try:
        with torch.serialization.safe_globals([*allowed_globals(), *extra_globals]):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refused to load {filename!r}: it contains a pickled object that is not in '
            f"tricks_mm's checkpoint allowlist (weights_only=True), so no code from it was run. "
            f'If you trust the file and wrote it yourself, re-save its tensors with '
            f'torch.save({{"state_dict": ...}}). Details: {err}'
        ) from None


def safe_load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths, loading through
    :func:`safe_torch_load`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    return safe_torch_load(filename, map_location=map_location)


def install_safe_checkpoint_loader() -> None:
    """Make :func:`safe_load_from_local` mmengine's loader for local checkpoint paths."""
    CheckpointLoader.register_scheme(prefixes='', loader=safe_load_from_local, force=True)
