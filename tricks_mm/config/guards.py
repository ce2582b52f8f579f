"""Safety nets ``tools/train.py`` switches on for every host config.

* Non-finite loss guard (:mod:`tricks_mm.engine.nan_guard`): ``optim_wrapper.type``
  ``OptimWrapper`` / ``AmpOptimWrapper`` becomes ``tricks_mm.BoTFiniteOptimWrapper`` /
  ``tricks_mm.BoTFiniteAmpOptimWrapper`` and ``tricks_mm.BoTNonFiniteLossHook`` joins
  ``custom_hooks``. Configure it with a top-level config key::

      nonfinite_guard = dict(policy='skip', max_skips=5)   # default: dict(policy='stop')
      nonfinite_guard = None   # off; or --cfg-options nonfinite_guard=None

  A config that already lists the hook keeps its own settings.
* Image loading that names bad files (:mod:`tricks_mm.datasets.loading`): every
  ``LoadImageFromFile`` in the dataloader pipelines becomes ``tricks_mm.BoTLoadImageFromFile``
  (same arguments).
* RNG state in every checkpoint (:mod:`tricks_mm.engine.rng_state`), so ``--resume`` continues
  the same random stream.

The rewrites name the components by ``type='tricks_mm.X'`` strings only: the registries import
them when the Runner builds them (``locations`` in :mod:`tricks_mm.registry`). Process-group
set-up without CUDA lives in :mod:`tricks_mm.engine.distributed`.
"""

import logging
from typing import Any, List

from mmengine.config import Config
from mmengine.logging import print_log

from tricks_mm.config.walk import DATALOADERS, iter_dicts

_GUARDED_WRAPPERS = {
    'OptimWrapper': 'tricks_mm.BoTFiniteOptimWrapper',
    'AmpOptimWrapper': 'tricks_mm.BoTFiniteAmpOptimWrapper',
}
_HOOK = 'BoTNonFiniteLossHook'


def _short(type_name: Any) -> str:
    return str(type_name).split('.')[-1]


def guard_nonfinite_loss(cfg: Config) -> bool:
    """Switch ``cfg`` to the guarded optim wrapper and add the hook; True when it is on."""
    settings = cfg.get('nonfinite_guard', {})
    if settings is None or settings is False:
        print_log('non-finite loss guard off (nonfinite_guard=None)', logger='current')
        return False
    wrapper = cfg.get('optim_wrapper')
    if wrapper is None:
        return False
    wrapper_type = str(wrapper.get('type', 'OptimWrapper'))
    name = (
        wrapper_type[len('mmengine.') :] if wrapper_type.startswith('mmengine.') else wrapper_type
    )
    if name in _GUARDED_WRAPPERS:
        wrapper.type = _GUARDED_WRAPPERS[name]
    elif wrapper_type not in _GUARDED_WRAPPERS.values():
        print_log(
            f'non-finite loss guard off: optim_wrapper.type {wrapper_type!r} has no guarded '
            f'variant (only OptimWrapper and AmpOptimWrapper)',
            logger='current',
            level=logging.WARNING,
        )
        return False
    hooks: List[dict] = list(cfg.get('custom_hooks', None) or [])
    if not any(_short(h.get('type')) == _HOOK for h in hooks if isinstance(h, dict)):
        hooks.append(dict(type=f'tricks_mm.{_HOOK}', **dict(settings or {})))
        cfg.custom_hooks = hooks
    return True


def strict_image_loading(cfg: Config) -> List[str]:
    """Replace ``LoadImageFromFile`` by ``tricks_mm.BoTLoadImageFromFile`` in the dataloaders.

    Returns:
        The config paths changed.
    """
    found: List[str] = []
    for name in DATALOADERS:
        for path, node in iter_dicts(cfg.get(name), name):
            if str(node.get('type')) in ('LoadImageFromFile', 'mmcv.LoadImageFromFile'):
                node['type'] = 'tricks_mm.BoTLoadImageFromFile'
                found.append(path)
    return found


def checkpoint_rng_state(cfg: Config) -> None:
    """Add :class:`~tricks_mm.engine.rng_state.BoTRNGStateHook` unless the config has it."""
    hooks: List[dict] = list(cfg.get('custom_hooks', None) or [])
    if not any(_short(h.get('type')) == 'BoTRNGStateHook' for h in hooks if isinstance(h, dict)):
        hooks.append(dict(type='tricks_mm.BoTRNGStateHook'))
        cfg.custom_hooks = hooks


def install_train_guards(cfg: Config) -> Config:
    """Apply every guard of this module to a training config (``tools/train.py`` calls it)."""
    guard_nonfinite_loss(cfg)
    strict_image_loading(cfg)
    checkpoint_rng_state(cfg)
    return cfg
