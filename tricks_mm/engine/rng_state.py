"""Save and restore the random number generators with every checkpoint.

Why: mmengine 0.10.7 seeds the RNGs once at start-up and never checkpoints them, so a resumed run
draws different augmentations (crops, flips, mixup lambdas, dropout masks) than the uninterrupted
run would have, and its weights differ. With this hook a resumed run continues the exact random
stream of the process that wrote the checkpoint (for data loading in the main process,
``num_workers=0``; worker processes are re-seeded by mmengine from the seed and epoch).

Modules of the model that draw from a generator of their own (e.g. the batch colour stage,
:class:`tricks_mm.models.data_preprocessors.BoTBatchColorJitter`) expose ``seed_rng(seed, rank)``,
``rng_state()`` and ``set_rng_state(state)``: the hook seeds them from the runner's seed before
the run and keeps their states, by module name, in the same checkpoint entry.
"""

import random
from typing import Any, Dict

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tricks_mm.registry import HOOKS

_KEY = 'tricks_mm_rng_state'


def _seeded_modules(runner: Any) -> Dict[str, Any]:
    """``name -> module`` of the model's modules with their own generator (see above)."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    return {
        name: m
        for name, m in model.named_modules()
        if callable(getattr(m, 'rng_state', None)) and callable(getattr(m, 'seed_rng', None))
    }


@HOOKS.register_module()
class BoTRNGStateHook(Hook):
    """Put python/numpy/torch RNG states into checkpoints and restore them on resume."""

    priority = 'VERY_LOW'

    def before_run(self, runner: Any) -> None:
        for module in _seeded_modules(runner).values():
            module.seed_rng(runner.seed, get_rank())

    def before_save_checkpoint(self, runner: Any, checkpoint: Dict[str, Any]) -> None:
        state = dict(
            python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state()
        )
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        modules = {name: m.rng_state() for name, m in _seeded_modules(runner).items()}
        if modules:
            state['modules'] = modules
        checkpoint[_KEY] = state

    def after_load_checkpoint(self, runner: Any, checkpoint: Dict[str, Any]) -> None:
        state = checkpoint.get(_KEY)
        if state is None:
            runner.logger.warning(
                'checkpoint has no RNG state (not written by tricks_mm): the '
                'resumed run draws new random augmentations'
            )
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
        saved = state.get('modules', {})
        for name, module in _seeded_modules(runner).items():
            if name in saved:
                module.set_rng_state(saved[name])
            else:
                runner.logger.warning(
                    f'checkpoint has no RNG state for {name} '
                    f'({type(module).__name__}): it continues from the seed'
                )
