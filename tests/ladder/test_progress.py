"""Progress inside a step from the progress lines of its child
(:class:`tricks_mm.engine.progress_line.BoTProgressLineHook`), on a fake clock: iteration of
total, loss, an ETA from the measured rate."""

import pytest

from tricks_mm.ladder.progress import LadderProgress, StepProgress
from tricks_mm.ladder.spec import Rung
from tricks_mm.ladder.step import Step

EPOCH_LINE = (
    'tricks_mm.progress {{"phase": "train", "iter": {i}, "iters": 50, "epoch": {e}, '
    '"loss": {loss}}}'
)
ITER_LINE = 'tricks_mm.progress {{"phase": "train", "iter": {i}, "iters": 200, "loss": {loss}}}'


def _test_line(i: int) -> str:
    return f'tricks_mm.progress {{"phase": "test", "iter": {i}, "iters": 40}}'


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_epoch_loop_progress_counts_every_epoch_and_measures_the_rate():
    clock, out = _Clock(), []
    watch = StepProgress(
        '[ladder t]   classify', max_epochs=4, interval=10.0, clock=clock, emit=out.append
    )
    watch('12/01 21:50:00 - mmengine - INFO - Checkpoints will be saved to /x.')  # ignored
    # mmengine's own progress text is not read: only the hook's lines count
    watch('12/01 21:50:01 - mmengine - INFO - Epoch(train)  [1][ 5/50]  loss: 1.9')
    assert out == []
    clock.now = 20.0  # start-up before the first line does not count in the rate
    watch(EPOCH_LINE.format(e=1, i=10, loss='1.7918'))
    assert out == ['[ladder t]   classify: epoch 1/4, iter 10/50, 5%, loss 1.7918']
    clock.now = 22.0  # 2 s per 10 iterations -> 0.2 s each; 200 - 20 = 180 left -> 36 s
    watch(EPOCH_LINE.format(e=1, i=20, loss='1.6000'))
    assert out[-1] == (
        '[ladder t]   classify: epoch 1/4, iter 20/50, 10%, loss 1.6000, train ETA 0m36s'
    )
    assert watch.estimate == (pytest.approx(22.0 + 36.0), pytest.approx(36.0))
    clock.now = 24.0  # within the interval: measured, not printed
    watch(EPOCH_LINE.format(e=1, i=30, loss='1.5000'))
    assert len(out) == 2
    clock.now = 42.0  # epoch 3, iteration 10: done 110 of 200 after 22 s for 100 -> 19.8 s
    watch(EPOCH_LINE.format(e=3, i=10, loss='0.9000'))
    assert out[-1].startswith('[ladder t]   classify: epoch 3/4, iter 10/50, 55%, loss 0.9000')
    assert out[-1].endswith('train ETA 0m20s')


def test_iteration_loop_and_test_phase_and_ladder_eta():
    clock, out = _Clock(), []
    progress = LadderProgress(total=3, name='t')
    rung = Rung(name='r')
    progress.start(Step(0, rung, 'segment'), ['segment', 'detect', 'segment'])
    assert 'ETA unknown' in progress.eta()
    watch = StepProgress(
        '[ladder t]   segment',
        None,
        interval=0.0,
        clock=clock,
        emit=out.append,
        ladder_eta=progress.eta,
    )
    watch(ITER_LINE.format(i=20, loss='2.1000'))
    clock.now = 10.0  # 10 s per 20 iterations: 160 left -> 80 s; this step ~90 s in all
    watch(ITER_LINE.format(i=40, loss='1.9000'))
    # before any step has finished, this step's estimated total stands in for the 2 steps ahead
    assert out[-1] == (
        '[ladder t]   segment: iter 40/200, 20%, loss 1.9000, train ETA 1m20s, ladder ETA 4m20s'
    )
    clock.now = 12.0
    watch(_test_line(5))
    clock.now = 14.0  # the test phase has its own rate: 2 s per 5 images, 30 left -> 12 s
    watch(_test_line(10))
    assert out[-1].startswith('[ladder t]   segment: test 10/40, 25%, test ETA 0m12s')
    assert 'loss' not in out[-1]
    # the same position twice: printed once
    clock.now = 20.0
    watch(_test_line(40))
    watch(_test_line(40))
    assert [line.split(', ')[0] for line in out[-2:]] == [
        '[ladder t]   segment: test 10/40',
        '[ladder t]   segment: test 40/40',
    ]


def test_mmengines_training_eta_and_epoch_count_come_from_the_line():
    """A line with the loop's epoch count and mmengine's ETA (``eta_s``) is shown as is, not
    re-estimated from the ladder's clock; without ``eta_s`` the rate is measured (above)."""
    clock, out = _Clock(), []
    watch = StepProgress('[ladder t]   classify', None, interval=0.0, clock=clock, emit=out.append)
    line = (
        'tricks_mm.progress {"phase": "train", "iter": 10, "iters": 50, "epoch": 2, '
        '"epochs": 3, "loss": 1.5, "eta_s": 125.0}'
    )
    watch(line)
    assert out == [
        '[ladder t]   classify: epoch 2/3, iter 10/50, 40%, loss 1.5000, train ETA 2m05s'
    ]
    assert watch.estimate == (pytest.approx(125.0), pytest.approx(125.0))


def test_every_step_config_carries_the_progress_hook_at_the_logger_interval(repo, monkeypatch):
    from tricks_mm.ladder.materialize import classification_config, downstream_config
    from tricks_mm.ladder.spec import load_ladder

    monkeypatch.chdir(repo)
    spec = load_ladder('configs/ladders/toy_demo.py')
    configs = {
        'classify': classification_config(spec.rungs[1], spec.classify, 0),
        'detect': downstream_config(spec.detect, 0, dict(depth=18, variant='d'), None),
        'segment': downstream_config(spec.segment, 0, dict(depth=18, variant='d'), None),
    }
    # the intervals the toy configs give mmengine's logger
    intervals = {'classify': 10, 'detect': 10, 'segment': 20}
    for kind, cfg in configs.items():
        hooks = [h for h in cfg.custom_hooks if h['type'] == 'tricks_mm.BoTProgressLineHook']
        assert hooks == [dict(type='tricks_mm.BoTProgressLineHook', interval=intervals[kind])]
