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
* :func:`init_distributed_without_cuda`: ``--launcher pytorch`` / ``slurm`` on a machine without
  CUDA.
"""
import datetime
import logging
import os
import subprocess
from typing import Any, List

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

import tricks_mm.datasets.loading  # noqa: F401  (registers BoTLoadImageFromFile)
import tricks_mm.engine.nan_guard  # noqa: F401  (registers the wrappers and the hook)

_GUARDED_WRAPPERS = {
    'OptimWrapper': 'tricks_mm.BoTFiniteOptimWrapper',
    'AmpOptimWrapper': 'tricks_mm.BoTFiniteAmpOptimWrapper',
}
_HOOK = 'BoTNonFiniteLossHook'
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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
    name = wrapper_type[len('mmengine.'):] if wrapper_type.startswith('mmengine.') else wrapper_type
    if name in _GUARDED_WRAPPERS:
        wrapper.type = _GUARDED_WRAPPERS[name]
    elif wrapper_type not in _GUARDED_WRAPPERS.values():
        print_log(f'non-finite loss guard off: optim_wrapper.type {wrapper_type!r} has no guarded '
                  f'variant (only OptimWrapper and AmpOptimWrapper)', logger='current',
                  level=logging.WARNING)
        return False
    hooks: List[dict] = list(cfg.get('custom_hooks', None) or [])
    if not any(_short(h.get('type')) == _HOOK for h in hooks if isinstance(h, dict)):
        hooks.append(dict(type=f'tricks_mm.{_HOOK}', **dict(settings or {})))
        cfg.custom_hooks = hooks
    return True


def _swap_loaders(node: Any, found: List[str], path: str) -> None:
    if isinstance(node, dict):
        if _short(node.get('type')) == 'LoadImageFromFile' and \
                str(node.get('type')) in ('LoadImageFromFile', 'mmcv.LoadImageFromFile'):
            node['type'] = 'tricks_mm.BoTLoadImageFromFile'
            found.append(path)
        for key, value in node.items():
            _swap_loaders(value, found, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _swap_loaders(value, found, f'{path}[{i}]')


def strict_image_loading(cfg: Config) -> List[str]:
    """Replace ``LoadImageFromFile`` by ``tricks_mm.BoTLoadImageFromFile`` in the dataloaders.

    Returns:
        The config paths changed.
    """
    found: List[str] = []
    for name in _LOADERS:
        if cfg.get(name) is not None:
            _swap_loaders(cfg[name], found, name)
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


def _slurm_env_to_torch_env(port: Any = None) -> None:
    """What mmengine's ``_init_dist_slurm`` derives from slurm's variables, minus the GPU: rank,
    world size, local rank, and the first node of the allocation as the rendezvous address
    (``MASTER_ADDR``/``MASTER_PORT`` from the environment win, the port defaults to 29500)."""
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher slurm needs the slurm variables {missing}: start the '
                           'job with srun (or use --launcher pytorch with torchrun)')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')


def init_distributed_without_cuda(cfg: Config) -> bool:
    """Make ``--launcher pytorch`` and ``--launcher slurm`` work without CUDA (gloo, CPU DDP).

    Why: mmengine 0.10.7 assumes one GPU per process in two places. ``_init_dist_pytorch`` and
    ``_init_dist_slurm`` call ``torch.cuda.set_device(local_rank)`` before
    ``init_process_group`` whatever the backend ("Found no NVIDIA driver"; slurm without
    ``SLURM_LOCALID`` even divides by the GPU count); the Runner skips them when a process group
    exists, so the gloo group is created here first (from slurm's variables as mmengine would
    read them). ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DDP, which DDP
    refuses for CPU modules; ``model_wrapper_cfg`` with ``device_ids=None`` overrides that
    default (same wrapper and arguments otherwise).

    Returns:
        True when it initialised the process group.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return False
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    if torch_dist.is_initialized():
        return False
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    if launcher == 'slurm':
        _slurm_env_to_torch_env(dist_cfg.get('port'))
    timeout = dist_cfg.get('timeout')
    torch_dist.init_process_group(
        backend='gloo', rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE']),
        **({'timeout': datetime.timedelta(seconds=timeout)} if timeout else {}))
    return True
