"""``--launcher pytorch`` / ``slurm`` on a machine without CUDA: a gloo process group, CPU DDP.

``tools/train.py`` calls :func:`init_distributed_without_cuda` before building the Runner; on a
machine with CUDA it does nothing and mmengine's own set-up runs.
"""
import datetime
import os
import subprocess
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def _slurm_env_to_torch_env(port: Any = None) -> None:
    """What mmengine's ``_init_dist_slurm`` derives from slurm's variables, minus the GPU: rank,
    world size, local rank, and the first node of the allocation as the rendezvous address
    (``MASTER_ADDR``/``MASTER_PORT`` from the environment win, the port defaults to 29500).

    Ours, not a call to mmengine's: that one function also reads the GPU count and calls
    ``torch.cuda.set_device`` between reading the variables and ``init_process_group`` (no
    hook in between, nothing to subclass), and passes no ``timeout``; here only the variables
    are set, and :func:`init_distributed_without_cuda` creates the gloo group with the
    config's timeout.
    """
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
