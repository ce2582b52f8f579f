"""Save and restore the random number generators with every checkpoint.

Why: mmengine 0.10.7 seeds the RNGs once at start-up and never checkpoints them, so a resumed run
draws different augmentations (crops, flips, mixup lambdas, dropout masks) than the uninterrupted
run would have, and its weights differ. With this hook a resumed run continues the exact random
stream of the process that wrote the checkpoint (for data loading in the main process,
``num_workers=0``; worker processes are re-seeded by mmengine from the seed and epoch).
"""
import random
from typing import Any, Dict

import numpy as np
import torch
from mmengine.hooks import Hook

from tricks_mm.registry import HOOKS

_KEY = 'tricks_mm_rng_state'


@HOOKS.register_module()
class BoTRNGStateHook(Hook):
    """Put python/numpy/torch RNG states into checkpoints and restore them on resume."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner: Any, checkpoint: Dict[str, Any]) -> None:
        state = dict(python=random.getstate(), numpy=np.random.get_state(),
                     torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint[_KEY] = state

    def after_load_checkpoint(self, runner: Any, checkpoint: Dict[str, Any]) -> None:
        state = checkpoint.get(_KEY)
        if state is None:
            runner.logger.warning('checkpoint has no RNG state (not written by tricks_mm): the '
                                  'resumed run draws new random augmentations')
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
