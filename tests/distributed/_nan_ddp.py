"""Run by torchrun (2 ranks, gloo): rank 1 alone gets a NaN loss at step 1. The guarded optim
wrapper must skip that step on both ranks (no DDP all-reduce deadlock, no NaN through it)."""

import json
import sys

import torch
import torch.distributed as dist
from torch import nn

from tricks_mm.engine.nan_guard import BoTFiniteOptimWrapper

dist.init_process_group('gloo')
rank = dist.get_rank()
torch.manual_seed(0)
model = nn.parallel.DistributedDataParallel(nn.Linear(3, 1))
wrapper = BoTFiniteOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
record = dict(weights=[], bad_ranks=[], skipped=None)
for step in range(3):
    loss = model(torch.full((2, 3), float(rank + 1))).pow(2).mean()
    if rank == 1 and step == 1:
        loss = loss * float('nan')
    wrapper.update_params(loss)
    event = wrapper.pop_nonfinite()
    record['bad_ranks'].append(event.bad_ranks if event else 0)
    record['weights'].append(model.module.weight.detach().flatten().tolist())
record['skipped'] = wrapper.skipped_steps
with open(f'{sys.argv[1]}/nan_rank{rank}.json', 'w') as f:
    json.dump(record, f)
dist.destroy_process_group()
