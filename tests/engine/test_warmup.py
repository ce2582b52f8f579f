"""Learning rates per iteration against the paper's formulas (Sec. 3.1 and 5.1)."""

import math

import pytest
import torch
from mmengine.optim.scheduler import CosineAnnealingLR, MultiStepLR

from tricks_mm.engine.warmup import BoTLinearWarmupLR


def _lrs(schedulers, optimizer, iters):
    out = []
    for _ in range(iters):
        out.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for sched in schedulers:
            sched.step()
    return out


def _sgd(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmup_then_cosine_per_iteration_matches_paper():
    lr, epoch_len, warm_epochs, max_epochs = 0.4, 7, 5, 12
    m, total = warm_epochs * epoch_len, max_epochs * epoch_len
    opt = _sgd(lr)
    scheds = [
        BoTLinearWarmupLR.build_iter_from_epoch(
            opt, begin=0, end=warm_epochs, epoch_length=epoch_len
        ),
        CosineAnnealingLR.build_iter_from_epoch(
            opt,
            begin=warm_epochs,
            end=max_epochs,
            T_max=max_epochs - warm_epochs,
            eta_min=0.0,
            epoch_length=epoch_len,
        ),
    ]
    got = _lrs(scheds, opt, total)
    # Paper: lr_i = i * lr / m for i = 1..m, then lr_t = 0.5 (1 + cos(pi t / T)) lr.
    want = [(k + 1) * lr / m for k in range(m)]
    T = total - m
    want += [0.5 * (1 + math.cos(math.pi * t / T)) * lr for t in range(T)]
    for k, (g, w) in enumerate(zip(got, want)):
        assert g == pytest.approx(w, rel=1e-9, abs=1e-12), f'iteration {k}'


def test_warmup_then_step_schedule():
    lr, epoch_len = 0.4, 3
    opt = _sgd(lr)
    scheds = [
        BoTLinearWarmupLR.build_iter_from_epoch(opt, begin=0, end=2, epoch_length=epoch_len),
        MultiStepLR.build_iter_from_epoch(
            opt, milestones=[3, 5], gamma=0.1, epoch_length=epoch_len
        ),
    ]
    got = _lrs(scheds, opt, 7 * epoch_len)
    want = [lr * (k + 1) / 6 for k in range(6)] + [lr] * 3 + [lr * 0.1] * 6 + [lr * 0.01] * 6
    assert got == pytest.approx(want, rel=1e-9)


def test_bad_range_is_refused():
    with pytest.raises(ValueError, match='end > begin'):
        BoTLinearWarmupLR(_sgd(0.1), begin=3, end=3)


def test_sub_iteration_warmup_keeps_one_iteration():
    """5 of 120 epochs scaled to a 3-iteration epoch rounds to 0 iterations: keep one."""
    opt = _sgd(0.4)
    sched = BoTLinearWarmupLR.build_iter_from_epoch(opt, begin=0, end=5 / 120, epoch_length=3)
    assert (sched.begin, sched.end) == (0, 1)
    assert _lrs([sched], opt, 3) == pytest.approx([0.4, 0.4, 0.4])


def test_builds_from_an_epoch_config_like_the_runner_does():
    """The runner passes by_epoch and epoch_length through the registry."""
    from mmengine.registry import PARAM_SCHEDULERS

    opt = _sgd(0.4)
    sched = PARAM_SCHEDULERS.build(
        dict(
            type='tricks_mm.BoTLinearWarmupLR',
            by_epoch=True,
            begin=0,
            end=5,
            convert_to_iter_based=True,
        ),
        default_args=dict(optimizer=opt, epoch_length=10),
    )
    assert (sched.begin, sched.end, sched.by_epoch) == (0, 50, False)
    assert opt.param_groups[0]['lr'] == pytest.approx(0.4 / 50)
