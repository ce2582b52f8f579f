"""One JSON line per logging interval on stdout: where a run is, for a parent process to show.

Why: the ladder runs each step as a child process and shows its progress (iteration of total,
loss, an ETA from the measured rate: :mod:`tricks_mm.ladder.progress`). Parsing mmengine's log
text for it would break with any change of ``LogProcessor``'s format; this hook hands the parent
the loop's own numbers instead, as ``tricks_mm.progress {...}`` lines (one prefix, JSON after
it) on the stream the parent already reads. Only the main process writes (one line per step,
not one per rank).

Records (:func:`parse_progress_line` returns them as dicts):

* ``{"phase": "train", "iter": i, "iters": n, "epoch": e, "epochs": m, "loss": x, "eta_s": s}``:
  an epoch-based loop, iteration ``i`` of the ``n`` of epoch ``e`` of ``m`` (1-based);
* ``{"phase": "train", "iter": i, "iters": n, "loss": x, "eta_s": s}``: an iteration-based loop,
  ``i`` of ``n`` in all;
* ``{"phase": "test", "iter": i, "iters": n}``: test batch ``i`` of ``n``.

``loss`` is the step's total loss (the ``loss`` the model's ``parse_losses`` returns), absent
if the model reports none; ``eta_s`` is mmengine's own training ETA in seconds (the ``eta`` that
``IterTimerHook`` keeps in the message hub and the log line prints), absent without that hook.
"""

import json
from typing import Any, Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from tricks_mm.registry import HOOKS

#: What starts a progress line; nothing else on the stream starts with it.
PREFIX = 'tricks_mm.progress '


def parse_progress_line(line: str) -> Optional[Dict[str, Any]]:
    """The record of a progress line, ``None`` for any other line."""
    if not line.startswith(PREFIX):
        return None
    return json.loads(line[len(PREFIX) :])


@HOOKS.register_module()
class BoTProgressLineHook(Hook):
    """Print a progress line every ``interval`` train / test iterations and at the last one.

    Args:
        interval: iterations between lines (the ladder uses the config's logger interval).
    """

    priority = 'VERY_LOW'

    def __init__(self, interval: int = 10) -> None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f'interval must be an int >= 1, got {interval!r}')
        self.interval = interval

    @staticmethod
    def _emit(record: Dict[str, Any]) -> None:
        if is_main_process():
            print(PREFIX + json.dumps(record), flush=True)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            done, total = batch_idx + 1, len(loop.dataloader)
            record: Dict[str, Any] = dict(
                phase='train',
                iter=done,
                iters=total,
                epoch=runner.epoch + 1,
                epochs=loop.max_epochs,
            )
        else:
            done, total = runner.iter + 1, runner.max_iters
            record = dict(phase='train', iter=done, iters=total)
        if done % self.interval and done != total:
            return
        if isinstance(outputs, dict) and 'loss' in outputs:
            record['loss'] = round(float(outputs['loss']), 4)
        if 'eta' in runner.message_hub.runtime_info:
            record['eta_s'] = round(float(runner.message_hub.get_info('eta')), 1)
        self._emit(record)

    def after_test_iter(
        self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        done, total = batch_idx + 1, len(runner.test_loop.dataloader)
        if done % self.interval == 0 or done == total:
            self._emit(dict(phase='test', iter=done, iters=total))
