"""``--launcher pytorch`` / ``slurm`` on a machine without CUDA: a gloo process group, CPU DDP.

``tools/train.py`` calls :func:`init_distributed_without_cuda` before building the Runner; on a
machine with CUDA it does nothing and mmengine's own set-up runs.
"""

import contextlib
import datetime
import os
from typing import Iterator
from unittest import mock

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist.utils import _init_dist_pytorch, _init_dist_slurm

_SLURM_VARIABLES = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')


@contextlib.contextmanager
def _no_gpu_binding() -> Iterator[None]:
    """mmengine's launchers as they are, minus binding the process to a GPU.

    ``_init_dist_pytorch`` / ``_init_dist_slurm`` read the launcher's variables, set the torch
    ones (slurm: rank, world size, local rank, the allocation's first node as ``MASTER_ADDR``,
    ``MASTER_PORT`` from the port, the environment or 29500) and call ``init_process_group``;
    in between they call ``torch.cuda.set_device`` (and slurm without ``SLURM_LOCALID`` takes
    the rank modulo the GPU count), in the same function, with no hook to override. For that
    call only, ``set_device`` does nothing and the machine counts one device (local rank 0).
    """
    with (
        mock.patch.object(torch.cuda, 'set_device', lambda device: None),
        mock.patch.object(torch.cuda, 'device_count', lambda: 1),
    ):
        yield


def init_distributed_without_cuda(cfg: Config) -> bool:
    """Make ``--launcher pytorch`` and ``--launcher slurm`` work without CUDA (gloo, CPU DDP).

    Why: mmengine 0.10.7 assumes one GPU per process in two places. ``_init_dist_pytorch`` and
    ``_init_dist_slurm`` call ``torch.cuda.set_device(local_rank)`` before
    ``init_process_group`` whatever the backend ("Found no NVIDIA driver"; slurm without
    ``SLURM_LOCALID`` even divides by the GPU count); the Runner skips them when a process group
    exists, so the gloo group is created here first, by those same functions with the GPU
    binding taken out (:func:`_no_gpu_binding`). ``Runner.wrap_model`` passes
    ``device_ids=[LOCAL_RANK]`` to DDP, which DDP refuses for CPU modules;
    ``model_wrapper_cfg`` with ``device_ids=None`` overrides that default (same wrapper and
    arguments otherwise).

    Returns:
        True when it initialised the process group.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return False
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False),
    )
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    if torch_dist.is_initialized():
        return False
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    timeout = dist_cfg.get('timeout')
    kwargs = {'timeout': datetime.timedelta(seconds=timeout)} if timeout else {}
    if launcher == 'slurm':
        missing = [k for k in _SLURM_VARIABLES if k not in os.environ]
        if missing:
            raise RuntimeError(
                f'--launcher slurm needs the slurm variables {missing}: start the '
                'job with srun (or use --launcher pytorch with torchrun)'
            )
    with _no_gpu_binding():
        if launcher == 'slurm':
            _init_dist_slurm('gloo', port=dist_cfg.get('port'), **kwargs)
        else:
            _init_dist_pytorch('gloo', **kwargs)
    return True
