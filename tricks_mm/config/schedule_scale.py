"""Shrink (or stretch) a config's epoch schedule by one factor, keeping its shape.

Why: toy-scale runs must keep the paper rung's schedule *shape* (warmup share, step milestones,
cosine length, the 120 -> 200 epoch lengthening for mixup) while training for a fraction of the
epochs. Scaling every epoch-based quantity by the same factor does that without a second copy of
each schedule.
"""

import math
from typing import Any

from mmengine.config import Config

_EPOCH_KEYS = ('begin', 'end', 'T_max')


def _scaled(value: float, factor: float) -> float:
    """Scale an epoch count; whole results stay ints so epoch-based schedules still fire."""
    scaled = value * factor
    return int(round(scaled)) if abs(scaled - round(scaled)) < 1e-9 else scaled


def scale_schedule(cfg: Config, factor: float) -> Config:
    """Multiply ``train_cfg.max_epochs`` and every epoch-based scheduler field by ``factor``.

    Fractional begin/end/T_max are allowed only on schedulers with ``convert_to_iter_based``
    (mmengine turns them into iterations); step milestones are rounded to whole epochs (>= 1).

    Raises:
        ValueError: ``factor`` is not positive, the config trains by iterations, or a fraction
            would land on a purely epoch-based scheduler.
    """
    if not factor > 0:
        raise ValueError(f'epoch scale must be > 0, got {factor!r}')
    if (
        not cfg.train_cfg.get('by_epoch', False)
        and cfg.train_cfg.get('type') != 'EpochBasedTrainLoop'
    ):
        raise ValueError(
            'scale_schedule needs an epoch-based train_cfg (by_epoch=True); '
            f'got train_cfg={cfg.train_cfg!r}'
        )
    max_epochs = max(1, int(round(cfg.train_cfg.max_epochs * factor)))
    cfg.train_cfg.max_epochs = max_epochs
    schedulers: Any = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for sched in schedulers:
        if not sched.get('by_epoch', True):
            continue
        iter_based = sched.get('convert_to_iter_based', False)
        for key in _EPOCH_KEYS:
            if key in sched and math.isfinite(sched[key]):
                sched[key] = _scaled(sched[key], factor)
                if not iter_based and not float(sched[key]).is_integer():
                    raise ValueError(
                        f'{sched["type"]}.{key} becomes {sched[key]} epochs at scale {factor}; '
                        'set convert_to_iter_based=True on it or pick a scale that keeps whole '
                        'epochs'
                    )
        if 'milestones' in sched:
            sched['milestones'] = [max(1, int(round(m * factor))) for m in sched['milestones']]
    return cfg
