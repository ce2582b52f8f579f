"""Stop (or skip) training steps whose loss is NaN/Inf, before they reach the weights.

Why two pieces. A hook alone cannot keep a NaN out of the weights: ``after_train_iter`` runs after
``train_step``, i.e. after ``OptimWrapper.update_params`` has already done ``backward`` and
``step``; by then SGD has written NaN into every parameter (and into the momentum buffers), so
the "last good state" is gone. The check therefore lives where the step happens:

* :class:`BoTFiniteOptimWrapper` / :class:`BoTFiniteAmpOptimWrapper` (``OPTIM_WRAPPERS``):
  mmengine's ``OptimWrapper`` / ``AmpOptimWrapper`` whose ``update_params`` looks at the loss
  *before* ``backward``. A finite loss goes through unchanged. A non-finite one is never
  back-propagated: no gradient, no ``optimizer.step()`` (so no momentum, weight decay or Adam
  moment update either), the micro-batch is only counted. Under DDP the decision is all-reduced
  first, so either every rank steps or none does: one rank skipping ``backward`` while the others
  run it would deadlock the gradient all-reduce, and a NaN on one rank would otherwise reach all
  of them through it. With gradient accumulation the skipped micro-batch just adds nothing; the
  window steps with what the other micro-batches contributed, or not at all if none did.
* :class:`BoTNonFiniteLossHook` (``HOOKS``): the policy. After the iteration it names the
  non-finite loss terms (every ``loss*`` entry of the log vars, gathered from all ranks) and
  either stops (``policy='stop'``, default) or lets training go on (``policy='skip'``) until
  ``max_skips`` consecutive steps were skipped. Stopping saves a resumable checkpoint of the last
  good state (``nonfinite_iter_N.pth``, also written to ``last_checkpoint`` so ``--resume``
  picks it up) and raises :class:`NonFiniteLossError`.

AMP: ``AmpOptimWrapper``'s ``GradScaler`` already skips steps whose *gradients* overflow and
lowers the loss scale (dynamic loss scaling); that is normal and untouched here. The guard looks
at the unscaled *loss*, which the scaler never fixes: an Inf/NaN loss means the forward pass
itself is broken (fp16 overflow in activations, log(0), a bad label, a diverging LR).

Scope: the guard covers models that train through ``optim_wrapper.update_params`` (mmpretrain,
mmdet and mmseg models, and tricks_mm's). A custom ``train_step`` calling ``backward``/``step``
directly bypasses it. ``tools/train.py`` enables both pieces for every host
(:mod:`tricks_mm.config.guards`).
"""

import logging
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, barrier, get_rank, is_distributed
from mmengine.fileio import join_path, put_text
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from tricks_mm.registry import HOOKS, OPTIM_WRAPPERS

_POLICIES = ('stop', 'skip')


class NonFiniteLossError(FloatingPointError):
    """The training loss was NaN/Inf; the step was not applied and training stopped."""


@dataclass
class NonFiniteStep:
    """A micro-batch whose loss was not finite (recorded by the guarded optim wrapper).

    Attributes:
        loss: This rank's total loss value (``nan``/``inf``, or finite when another rank was
            the non-finite one).
        bad_ranks: How many ranks had a non-finite loss.
    """

    loss: float
    bad_ranks: int


class _FiniteLossGuard:
    """Mixin for an mmengine ``OptimWrapper``: no backward/step for a non-finite loss."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skipped_steps = 0
        self.consecutive_skips = 0
        self._window_has_grads = False
        self._pending: Optional[NonFiniteStep] = None

    def _nonfinite_ranks(self, loss: torch.Tensor) -> int:
        """Number of ranks whose loss is NaN/Inf (all-reduced, so every rank agrees)."""
        bad = (~torch.isfinite(loss.detach())).any().to(torch.float32).reshape(1)
        if is_distributed():
            all_reduce(bad, op='sum')
        return int(bad.item())

    def update_params(
        self,  # type: ignore[override]
        loss: torch.Tensor,
        step_kwargs: Optional[Dict] = None,
        zero_kwargs: Optional[Dict] = None,
    ) -> None:
        """``OptimWrapper.update_params``, except that a non-finite loss is never applied."""
        bad_ranks = self._nonfinite_ranks(loss)
        if bad_ranks == 0:
            self.backward(self.scale_loss(loss))
            self._window_has_grads = True
            self.consecutive_skips = 0
        else:
            # The micro-batch is consumed without a gradient; keep the accumulation count in step
            # with the iterations (what ``backward`` would have done).
            self._inner_count += 1
            self.skipped_steps += 1
            self.consecutive_skips += 1
            self._pending = NonFiniteStep(
                loss=float(loss.detach().float().sum()), bad_ranks=bad_ranks
            )
            print_log(
                f'non-finite loss ({self._pending.loss} on rank {get_rank()}, '
                f'{bad_ranks} rank(s) non-finite): step not applied '
                f'({self.consecutive_skips} consecutive, {self.skipped_steps} in total)',
                logger='current',
                level=logging.WARNING,
            )
        if self.should_update():
            if self._window_has_grads:
                self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))
            self._window_has_grads = False

    def pop_nonfinite(self) -> Optional[NonFiniteStep]:
        """The non-finite micro-batch recorded since the last call, if any (then cleared)."""
        pending, self._pending = self._pending, None
        return pending


@OPTIM_WRAPPERS.register_module()
class BoTFiniteOptimWrapper(_FiniteLossGuard, OptimWrapper):
    """:class:`mmengine.optim.OptimWrapper` that never applies a NaN/Inf loss (see module doc)."""


@OPTIM_WRAPPERS.register_module()
class BoTFiniteAmpOptimWrapper(_FiniteLossGuard, AmpOptimWrapper):
    """:class:`mmengine.optim.AmpOptimWrapper` that never applies a NaN/Inf loss.

    The dynamic loss scale still skips overflowing *gradient* steps on its own; this only adds
    the check on the loss value.
    """


def nonfinite_terms(outputs: Any) -> Dict[str, float]:
    """The ``loss*`` entries of a ``train_step`` output (log vars) that are NaN/Inf."""
    if not isinstance(outputs, dict):
        return {}
    bad = {}
    for key, value in outputs.items():
        if 'loss' not in key:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().float()
            if value.numel() == 0:
                continue
            finite = bool(torch.isfinite(value).all())
            value = float(value.sum()) if value.numel() > 1 else float(value)
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            finite = math.isfinite(value)
        if not finite:
            bad[key] = value
    return bad


@HOOKS.register_module()
class BoTNonFiniteLossHook(Hook):
    """Act on NaN/Inf losses that the guarded optim wrapper kept out of the weights.

    Args:
        policy: ``'stop'``: save the last good state and raise :class:`NonFiniteLossError` at
            the first non-finite loss. ``'skip'``: go on without that step, log and count it;
            stop the same way after ``max_skips`` consecutive skipped steps.
        max_skips: Consecutive skipped steps tolerated by ``policy='skip'``.
        save_checkpoint: Save ``nonfinite_iter_N.pth`` (the state *before* iteration N, 1-based
            as logged; ``meta.iter = N - 1``) in the work dir before raising.

    Needs ``optim_wrapper.type`` to be ``tricks_mm.BoTFiniteOptimWrapper`` or
    ``tricks_mm.BoTFiniteAmpOptimWrapper``: without them the NaN step would already be in the
    weights when this hook runs, so it refuses to start.
    """

    # Before LoggerHook, ParamSchedulerHook and CheckpointHook: when stopping, the scheduler and
    # checkpoint state are still those of the last good iteration.
    priority = 'ABOVE_NORMAL'

    def __init__(
        self, policy: str = 'stop', max_skips: int = 10, save_checkpoint: bool = True
    ) -> None:
        if policy not in _POLICIES:
            raise ValueError(f'policy must be one of {_POLICIES}, got {policy!r}')
        if not isinstance(max_skips, int) or max_skips < 1:
            raise ValueError(f'max_skips must be an int >= 1, got {max_skips!r}')
        self.policy = policy
        self.max_skips = max_skips
        self.save_checkpoint = save_checkpoint
        self.skipped_iters: List[int] = []

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        if not isinstance(wrapper, _FiniteLossGuard):
            raise TypeError(
                f'BoTNonFiniteLossHook needs a guarded optim wrapper, got '
                f'{type(wrapper).__name__}: set optim_wrapper.type='
                f"'tricks_mm.BoTFiniteOptimWrapper' (or 'tricks_mm.BoTFiniteAmpOptimWrapper' for "
                f'AMP). Without it a NaN step is already in the weights when the hook sees it.'
            )

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        event = runner.optim_wrapper.pop_nonfinite()
        if event is None:
            return
        iteration = runner.iter + 1
        terms = nonfinite_terms(outputs)
        per_rank = all_gather_object(terms) if is_distributed() else [terms]
        described = (
            '; '.join(
                f'rank {rank}: ' + ', '.join(f'{k}={v}' for k, v in t.items())
                for rank, t in enumerate(per_rank)
                if t
            )
            or f'total loss={event.loss}'
        )
        self.skipped_iters.append(iteration)
        consecutive = runner.optim_wrapper.consecutive_skips
        if self.policy == 'skip' and consecutive < self.max_skips:
            runner.logger.warning(
                f'Iter(train) [{iteration}] non-finite loss ({described}): step skipped '
                f'({consecutive} consecutive of at most {self.max_skips}, '
                f'{len(self.skipped_iters)} skipped in total)'
            )
            return
        reason = (
            'policy=stop'
            if self.policy == 'stop'
            else f'{consecutive} consecutive skipped steps (max_skips={self.max_skips})'
        )
        saved = self._save_last_good(runner, iteration) if self.save_checkpoint else None
        where = (
            f'; the last good state (before this iteration) is in {saved}, which --resume picks up'
            if saved
            else ''
        )
        message = (
            f'non-finite loss at iteration {iteration} (epoch {runner.epoch + 1}): '
            f'{described}. Training stopped ({reason}); the step was not applied, so the '
            f'weights hold no NaN{where}. Usual causes: a learning rate too high for the '
            f'batch size (try --auto-scale-lr or a longer warmup), a bad label or image, '
            f'fp16 overflow in the forward pass.'
        )
        runner.logger.error(message)
        raise NonFiniteLossError(message)

    def _save_last_good(self, runner, iteration: int) -> str:
        filename = f'nonfinite_iter_{iteration}.pth'
        # The step was not applied and the scheduler has not stepped yet: the state is that of
        # iteration - 1 completed iterations, so a resume re-runs this one.
        runner.save_checkpoint(
            runner.work_dir,
            filename,
            by_epoch=False,
            meta=dict(epoch=runner.epoch, iter=runner.iter),
        )
        path = join_path(runner.work_dir, filename)
        if get_rank() == 0:
            put_text(path, join_path(runner.work_dir, 'last_checkpoint'))
        # Other ranks raise too; keep them until rank 0 has written the file.
        barrier()
        return path
