"""The progress hook prints the loop's own numbers, one JSON line per interval, on a real mmengine
Runner: iteration of total per epoch (or in all), the step's loss, the test batches."""

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import tricks_mm  # noqa: F401  (registers the hook)
from tricks_mm.engine.progress_line import BoTProgressLineHook, parse_progress_line


class _MeanLoss(BaseModel):
    """Loss = the mean of the batch's values (a zero-weight parameter for the optimizer)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(list(inputs)).float()
        if mode == 'loss':
            return dict(loss=x.mean() + 0 * self.w.sum())
        return list(x)


class _Count(BaseMetric):
    def process(self, data_batch, data_samples) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(n=len(results))


def _runner(tmp_path, train_cfg) -> Runner:
    data = [dict(inputs=torch.tensor([float(i)])) for i in range(10)]
    loader = dict(
        dataset=data,
        batch_size=2,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='pseudo_collate'),
    )
    return Runner(
        model=_MeanLoss(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        test_dataloader=dict(loader, batch_size=3),
        test_evaluator=dict(type=_Count),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        train_cfg=train_cfg,
        custom_hooks=[dict(type='tricks_mm.BoTProgressLineHook', interval=2)],
        default_hooks=dict(checkpoint=None),
    )


def _records(out: str):
    records = [parse_progress_line(line) for line in out.splitlines()]
    return [r for r in records if r is not None]


def _without_eta(records):
    """The records without mmengine's ETA, which is timed (checked on its own)."""
    etas = [r.pop('eta_s') for r in records if r['phase'] == 'train']
    # IterTimerHook's eta: mean iteration time x iterations left, so 0 at the last one
    assert all(e >= 0 for e in etas) and etas[-1] == 0.0
    return records


def test_epoch_loop_lines_carry_epoch_iteration_and_loss(tmp_path, capsys):
    runner = _runner(tmp_path, dict(by_epoch=True, max_epochs=2))
    runner.train()
    runner.test()
    # batch k (0-based) holds 2k and 2k + 1: its mean loss is 2k + 0.5; 5 batches per epoch,
    # a line every 2 iterations and at the last one of each epoch; test: 4 batches of 3
    expected = [
        dict(phase='train', iter=i, iters=5, epoch=e, epochs=2, loss=2 * (i - 1) + 0.5)
        for e in (1, 2)
        for i in (2, 4, 5)
    ] + [dict(phase='test', iter=i, iters=4) for i in (2, 4)]
    assert _without_eta(_records(capsys.readouterr().out)) == expected


def test_iteration_loop_lines_count_the_whole_loop(tmp_path, capsys):
    runner = _runner(tmp_path, dict(by_epoch=False, max_iters=7))
    runner.train()
    # 5 batches, then the loader starts over: iteration 6 is batch 0 again, 7 is batch 1
    losses = {2: 2.5, 4: 6.5, 6: 0.5, 7: 2.5}
    assert _without_eta(_records(capsys.readouterr().out)) == [
        dict(phase='train', iter=i, iters=7, loss=loss) for i, loss in losses.items()
    ]


def test_a_bad_interval_is_refused():
    with pytest.raises(ValueError, match='interval must be an int >= 1, got 0'):
        BoTProgressLineHook(interval=0)
