"""Turn a config + the familiar OpenMMLab command-line flags into a runnable config.

Shared by ``tools/train.py`` and ``tools/test.py`` so that both treat hosts, SyncBN, AMP and
learning-rate scaling the same way.
"""

import importlib
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from tricks_mm.config.schedule_scale import scale_schedule
from tricks_mm.config.walk import DATALOADERS, iter_dicts
from tricks_mm.utils.paths import resolve_config

#: ``default_scope`` of a config -> the host library that runs it.
HOSTS = {'mmpretrain': 'classification', 'mmdet': 'detection', 'mmseg': 'segmentation'}


def import_host(cfg: Config) -> str:
    """Import the host library named by ``cfg.default_scope`` and return that scope.

    Raises:
        ValueError: the config has no ``default_scope`` or one tricks_mm does not serve.
    """
    scope = cfg.get('default_scope')
    if scope not in HOSTS:
        raise ValueError(
            f'config default_scope must be one of {sorted(HOSTS)} (the host library that runs '
            f'it), got {scope!r}. Inherit a host base config (e.g. '
            f"'mmpretrain::_base_/default_runtime.py') or set default_scope explicitly; never "
            f"'tricks_mm', whose components are reached as type='tricks_mm.X' from any host."
        )
    importlib.import_module(f'{scope}.registry')
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    return scope


def syncbn_to_bn_if_needed(cfg: Config, launcher: str) -> List[str]:
    """Replace ``SyncBN`` with ``BN`` in ``cfg.model`` when SyncBN cannot run.

    SyncBN needs several processes on CUDA; host base configs (mmseg's above all) set it
    unconditionally and then die in single-process runs (mmsegmentation#354). A single process
    has nothing to synchronise, so plain BN computes the same statistics.

    Returns:
        The config paths that were changed (also logged).
    """
    if launcher != 'none' and torch.cuda.is_available():
        return []
    changed: List[str] = []
    for path, node in iter_dicts(cfg.model, 'model'):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            changed.append(path)
    if changed:
        reason = 'single-process run' if launcher == 'none' else 'no CUDA device'
        print_log(f'SyncBN -> BN ({reason}) at: {", ".join(changed)}', logger='current')
    return changed


def load_config(path: str, overlays: Sequence[str] = ()) -> Config:
    """Load ``path`` and merge each overlay config file over it, in order.

    An overlay is an ordinary config file holding only what it changes (e.g.
    ``configs/toy/classification.py``: data root, image size, class count); ``_delete_=True``
    replaces a dict instead of merging into it, as in ``_base_`` inheritance. Paths written as
    in the checkout (``configs/...``) also work from an installed wheel (:func:`resolve_config`).
    """
    cfg = Config.fromfile(resolve_config(path))
    for overlay in map(resolve_config, overlays):
        if not osp.isfile(overlay):
            raise FileNotFoundError(f'overlay config {overlay!r} does not exist')
        cfg.merge_from_dict(Config.fromfile(overlay).to_dict())
    return cfg


def use_gloo_without_cuda(cfg: Config, launcher: str) -> None:
    """Host runtimes default to NCCL, which needs GPUs: distributed CPU runs use gloo."""
    if launcher != 'none' and not torch.cuda.is_available():
        backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend')
        if backend != 'gloo':
            cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
            print_log(f'distributed backend {backend!r} -> gloo (no CUDA device)', logger='current')


def fp32_without_gpu(cfg: Config) -> bool:
    """mmengine's AmpOptimWrapper refuses to run without an accelerator: train FP32 on CPU.

    The FP16 rungs are then FP32 runs (the paper's FP16 trick is about speed on GPUs; its
    accuracy effect is nil to slightly positive), and the log says so.
    """
    wrapper = cfg.get('optim_wrapper', {})
    if torch.cuda.is_available() or not str(wrapper.get('type', '')).endswith('AmpOptimWrapper'):
        return False
    wrapper.type = 'OptimWrapper'
    for key in ('loss_scale', 'dtype', 'use_fsdp'):
        wrapper.pop(key, None)
    print_log(
        'AmpOptimWrapper -> OptimWrapper (FP32): no GPU, mixed precision needs one',
        logger='current',
    )
    return True


def no_persistent_workers_without_workers(cfg: Config) -> None:
    """``num_workers=0`` with a host base's ``persistent_workers=True`` is a torch error; a
    loader without workers has nothing to keep alive, so drop the flag."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 0) == 0 and loader.get('persistent_workers'):
            loader.persistent_workers = False


def apply_common_flags(
    cfg: Config,
    work_dir: Optional[str],
    launcher: str,
    cfg_options: Optional[dict] = None,
    amp: bool = False,
    auto_scale_lr: bool = False,
    epoch_scale: Optional[float] = None,
) -> Config:
    """Apply the flags ``tools/train.py`` and ``tools/test.py`` share, in OpenMMLab's order."""
    if epoch_scale is not None:
        scale_schedule(cfg, epoch_scale)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(cfg.filename))[0])
    if amp:
        wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(
                f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, got '
                f'{wrapper_type!r}'
            )
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if auto_scale_lr:
        if not cfg.get('auto_scale_lr', {}).get('base_batch_size'):
            raise ValueError(
                '--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config '
                '(the paper scales from a base batch of 256: lr = 0.1 * batch / 256)'
            )
        cfg.auto_scale_lr.enable = True
    no_persistent_workers_without_workers(cfg)
    syncbn_to_bn_if_needed(cfg, launcher)
    use_gloo_without_cuda(cfg, launcher)
    fp32_without_gpu(cfg)
    return cfg
