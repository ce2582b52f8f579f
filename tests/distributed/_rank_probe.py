"""A hook the two-process tests load into each rank (``custom_imports``): it writes what this
rank trained on to ``<work_dir>/probe_rank<R>.json``, since mmengine logs from rank 0 only."""

import json
import os.path as osp

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankProbeHook(Hook):
    """Records per rank: world size, samples per iteration, the LR, checkpoint saves, and a
    checksum of the final weights."""

    def __init__(self):
        self.record = dict(iters=[], saves=0)

    def before_train(self, runner):
        group = runner.optim_wrapper.optimizer.param_groups[0]
        self.record.update(
            rank=get_rank(),
            world_size=get_world_size(),
            initial_lr=group.get('initial_lr', group['lr']),
            ddp=is_model_wrapper(runner.model),
        )

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        samples = data_batch['data_samples']
        self.record['iters'].append([s.metainfo.get('img_path') for s in samples])

    def before_save_checkpoint(self, runner, checkpoint):
        self.record['saves'] += 1  # Runner.save_checkpoint is master_only

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.record['checksum'] = float(sum(p.detach().double().sum() for p in model.parameters()))
        path = osp.join(runner.work_dir, f'probe_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(self.record, f)
