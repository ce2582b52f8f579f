"""Run by the srun test as each of a step's tasks (``srun ... python -m _srun_probe OUT
--launcher slurm``, the ladder's own command line): torch.distributed through mmengine's
slurm launcher (``tools/train.py``'s way on a machine without CUDA), one all-reduce, and what
each rank saw written to ``OUT/rank<r>.json``."""

import json
import os
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config

from tricks_mm.engine.distributed import init_distributed_without_cuda

if __name__ == '__main__':
    out, launcher = sys.argv[1], sys.argv[sys.argv.index('--launcher') + 1]
    initialised = init_distributed_without_cuda(Config(dict(launcher=launcher)))
    value = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(value)
    rank = dist.get_rank()
    with open(os.path.join(out, f'rank{rank}.json'), 'w') as f:
        json.dump(
            dict(
                initialised=initialised,
                rank=rank,
                world_size=dist.get_world_size(),
                backend=dist.get_backend(),
                sum=value.item(),
                slurm_procid=int(os.environ['SLURM_PROCID']),
                slurm_job=os.environ['SLURM_JOB_ID'],
            ),
            f,
        )
    dist.destroy_process_group()
