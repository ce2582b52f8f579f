"""A classifier's validation curve, and whether it was still improving when training ended.

The curve is read from what mmengine's ``LocalVisBackend`` already writes during training: one
JSON object per line in ``<step dir>/<timestamp>/vis_data/scalars.json``, where a validation
pass logs its metrics with ``step`` = the epoch (``LoggerHook(log_metric_by_epoch=True)``, the
default) and training lines carry ``loss``/``lr`` instead. A resumed step starts a new timestamp
folder; the folders are merged in time order, a later pass of the same epoch winning. Reading
the backend's files (rather than adding a hook) keeps the curve in every host's own output.

The plateau test is the miniature issue's rule: a classifier "still improving" gained more than
:data:`THRESHOLD` (1) point of validation top-1 over the last :data:`WINDOW` (20%) of its epochs.
A schedule that decays its rate to near zero flattens at its end whatever a longer schedule would
reach, so passing this test does not show that more epochs would not help (docs/miniature.md).
"""

import glob
import json
import math
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

#: (epoch, value) pairs in epoch order
Curve = List[Tuple[int, float]]

WINDOW = 0.2  # the last 20% of the epochs
THRESHOLD = 1.0  # points of top-1


def read_val_curve(step_dir: str, key: str = 'accuracy/top1') -> Curve:
    """``(epoch, key's value)`` for each validation pass logged under ``step_dir`` (empty when
    none was: a step validated only by its final test, or not by mmengine's backend)."""
    by_epoch = {}
    for path in sorted(glob.glob(osp.join(step_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                entry = json.loads(line)
                if key in entry and 'step' in entry:
                    by_epoch[int(entry['step'])] = float(entry[key])
    return sorted(by_epoch.items())


@dataclass(frozen=True)
class Convergence:
    """The plateau test of one curve. ``gain``: top-1 at the last epoch minus top-1 at
    ``from_epoch`` (the last validated epoch at or before 80% of ``epochs``); ``None`` when the
    curve cannot tell (``reason`` says why)."""

    epochs: int
    from_epoch: Optional[int] = None
    to_epoch: Optional[int] = None
    gain: Optional[float] = None
    reason: str = ''

    @property
    def still_improving(self) -> Optional[bool]:
        return None if self.gain is None else self.gain > THRESHOLD


def convergence(curve: Sequence[Sequence[float]], epochs: int) -> Convergence:
    """Did the curve gain more than :data:`THRESHOLD` points over its last :data:`WINDOW` of
    ``epochs``? Needs a validation at the last epoch and one at or before ``0.8 * epochs``."""
    points = [(int(e), float(v)) for e, v in curve]
    if not points or points[-1][0] != epochs:
        return Convergence(epochs, reason=f'no validation at the last epoch ({epochs})')
    start = math.floor((1 - WINDOW) * epochs + 1e-9)
    before = [(e, v) for e, v in points if e <= start]
    if not before:
        return Convergence(epochs, reason=f'no validation at or before epoch {start}')
    from_epoch, from_value = before[-1]
    to_epoch, to_value = points[-1]
    return Convergence(epochs, from_epoch, to_epoch, to_value - from_value)
