"""The non-finite loss guard: no NaN reaches the weights; stop saves the last good state; skip
counts and gives up after max_skips consecutive skips."""

import math
from typing import Dict, List

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from tricks_mm.engine.nan_guard import (
    BoTFiniteAmpOptimWrapper,
    BoTFiniteOptimWrapper,
    BoTNonFiniteLossHook,
    NonFiniteLossError,
    nonfinite_terms,
)
from tricks_mm.engine.safe_checkpoint import safe_torch_load


class _Toy(BaseModel):
    """Linear regression with two loss terms; an input row of NaN makes ``loss_reg`` NaN."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, target=None, mode='loss'):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        y = torch.stack(target) if isinstance(target, (list, tuple)) else target
        bad = torch.isnan(x).any()
        x = torch.nan_to_num(x)
        out = self.fc(x)
        loss_fit = ((out - y) ** 2).mean()
        loss_reg = self.fc.weight.abs().sum() * 0.01 + (out.sum() * float('nan') if bad else 0.0)
        if mode == 'loss':
            return dict(loss_fit=loss_fit, loss_reg=loss_reg)
        return out


class _Data(Dataset):
    """Items 0..n-1; the ones in ``bad`` carry NaN inputs (batch size 1: item == iteration)."""

    def __init__(self, n: int, bad: List[int]):
        self.n, self.bad = n, set(bad)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = torch.tensor([float(i % 3), 1.0])
        if i in self.bad:
            x = torch.tensor([float('nan'), 1.0])
        return dict(inputs=x, target=torch.tensor([1.0]))


class _Snapshot(Hook):
    """Records the weights after every iteration (runs after the guard hook)."""

    priority = 'LOWEST'

    def __init__(self):
        self.initial = None
        self.weights: List[torch.Tensor] = []

    def before_train(self, runner):
        self.initial = runner.model.fc.weight.detach().clone()
        self.initial_bias = runner.model.fc.bias.detach().clone()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.weights.append(runner.model.fc.weight.detach().clone())


def _runner(
    tmp_path,
    bad,
    n=6,
    wrapper='tricks_mm.BoTFiniteOptimWrapper',
    hook=None,
    snapshot=None,
    accumulative_counts=1,
    **kwargs,
) -> Runner:
    hooks = [] if hook is False else [dict(type='tricks_mm.BoTNonFiniteLossHook', **(hook or {}))]
    if snapshot is not None:
        hooks.append(snapshot)
    return Runner(
        model=_Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_Data(n, bad),
            batch_size=1,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
        ),
        optim_wrapper=dict(
            type=wrapper,
            accumulative_counts=accumulative_counts,
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2),
        ),
        train_cfg=dict(by_epoch=False, max_iters=n),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1000),
        ),
        custom_hooks=hooks,
        default_scope='mmengine',
        experiment_name=f'nan_{tmp_path.name}',
        **kwargs,
    )


def _finite(model) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


def test_stop_saves_last_good_state_and_names_terms(tmp_path):
    snap = _Snapshot()
    runner = _runner(tmp_path, bad=[3], snapshot=snap)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert 'iteration 4' in msg and 'loss_reg=nan' in msg
    assert 'loss_fit' not in msg  # only the non-finite terms are named
    assert 'nonfinite_iter_4.pth' in msg
    assert _finite(runner.model)
    assert len(snap.weights) == 3  # the guard raised before later hooks of iteration 4
    ckpt_path = tmp_path / 'nonfinite_iter_4.pth'
    ckpt = safe_torch_load(str(ckpt_path))
    # the checkpoint is the state after 3 good iterations, equal to the live (unstepped) weights
    torch.testing.assert_close(ckpt['state_dict']['fc.weight'], snap.weights[-1])
    torch.testing.assert_close(ckpt['state_dict']['fc.weight'], runner.model.fc.weight.detach())
    assert ckpt['meta']['iter'] == 3
    assert all(
        torch.isfinite(v).all()
        for s in ckpt['optimizer']['state'].values()
        for v in s.values()
        if isinstance(v, torch.Tensor)
    )
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(ckpt_path)

    # resumable: a fresh runner without the bad sample resumes from iteration 3 and finishes
    snap2 = _Snapshot()
    resumed = _runner(tmp_path, bad=[], snapshot=snap2, resume=True, load_from=str(ckpt_path))
    resumed.train()
    assert resumed.iter == 6 and len(snap2.weights) == 3 and _finite(resumed.model)
    torch.testing.assert_close(snap2.initial, snap.weights[-1])


def test_skip_policy_counts_and_leaves_weights_untouched(tmp_path):
    snap = _Snapshot()
    runner = _runner(
        tmp_path, bad=[1, 2, 4], n=6, hook=dict(policy='skip', max_skips=3), snapshot=snap
    )
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, BoTNonFiniteLossHook))
    assert hook.skipped_iters == [2, 3, 5]
    assert runner.optim_wrapper.skipped_steps == 3
    assert runner.optim_wrapper.consecutive_skips == 0  # iteration 6 stepped again
    # skipped iterations (2, 3, 5) leave the weights exactly as they were: no momentum, no decay
    torch.testing.assert_close(snap.weights[1], snap.weights[0], rtol=0, atol=0)
    torch.testing.assert_close(snap.weights[2], snap.weights[0], rtol=0, atol=0)
    torch.testing.assert_close(snap.weights[4], snap.weights[3], rtol=0, atol=0)
    assert not torch.equal(snap.weights[3], snap.weights[2])
    assert _finite(runner.model)
    assert not list(tmp_path.glob('nonfinite_iter_*.pth'))


def test_skip_policy_stops_after_max_skips_consecutive(tmp_path):
    runner = _runner(tmp_path, bad=[2, 3, 4, 5], n=6, hook=dict(policy='skip', max_skips=2))
    with pytest.raises(
        NonFiniteLossError,
        match=r'iteration 4 .*2 consecutive skipped steps '
        r'\(max_skips=2\)',
    ):
        runner.train()
    assert runner.optim_wrapper.skipped_steps == 2
    ckpt = safe_torch_load(str(tmp_path / 'nonfinite_iter_4.pth'))
    assert ckpt['meta']['iter'] == 3
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values())


def test_accumulation_window_steps_with_the_good_micro_batches(tmp_path):
    snap = _Snapshot()
    runner = _runner(
        tmp_path, bad=[1], n=4, hook=dict(policy='skip'), snapshot=snap, accumulative_counts=2
    )
    runner.train()
    # window 1 = items 0 (good) + 1 (NaN): one step with item 0's gradient (scaled by 1/2)
    assert runner.optim_wrapper.skipped_steps == 1
    torch.testing.assert_close(snap.weights[0], snap.initial, rtol=0, atol=0)
    ref = _Toy()
    ref.fc.weight.data.copy_(snap.initial)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    ref.fc.bias.data.copy_(snap.initial_bias)
    losses = ref(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0]]))
    (sum(losses.values()) / 2).backward()
    ref_opt.step()
    torch.testing.assert_close(snap.weights[1], ref.fc.weight.detach())
    assert runner.optim_wrapper._inner_count == 4 and _finite(runner.model)


def test_why_stock_wrapper_is_not_enough(tmp_path):
    """Reference: mmengine's OptimWrapper writes the NaN step into the weights."""
    runner = _runner(tmp_path, bad=[1], n=2, wrapper='OptimWrapper', hook=False)
    runner.train()
    assert torch.isnan(runner.model.fc.weight).all()


def test_hook_refuses_unguarded_wrapper(tmp_path):
    runner = _runner(tmp_path, bad=[], wrapper='OptimWrapper')
    with pytest.raises(TypeError, match='tricks_mm.BoTFiniteOptimWrapper'):
        runner.train()


def test_hook_arguments_are_validated():
    with pytest.raises(ValueError, match="policy must be one of .* got 'ignore'"):
        BoTNonFiniteLossHook(policy='ignore')
    with pytest.raises(ValueError, match='max_skips'):
        BoTNonFiniteLossHook(max_skips=0)


def test_nonfinite_terms():
    out: Dict = dict(
        loss=torch.tensor(float('inf')),
        loss_cls=torch.tensor(float('inf')),
        loss_bbox=torch.tensor(0.5),
        acc=torch.tensor(float('nan')),
    )
    assert nonfinite_terms(out) == dict(loss=math.inf, loss_cls=math.inf)
    assert nonfinite_terms(None) == {}


def test_amp_wrapper_checks_the_loss_value(monkeypatch):
    """AmpOptimWrapper needs CUDA to build; on CPU its GradScaler is disabled, which is enough to
    check that the guarded AMP wrapper skips a NaN loss and steps a finite one."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_mod

    monkeypatch.setattr(amp_mod, 'is_cuda_available', lambda: True)
    layer = nn.Linear(2, 1)
    wrapper = BoTFiniteAmpOptimWrapper(
        optimizer=torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    )
    before = layer.weight.detach().clone()
    wrapper.update_params(layer(torch.ones(1, 2)).sum() * float('nan'))
    assert torch.equal(layer.weight, before) and wrapper.skipped_steps == 1
    assert wrapper.pop_nonfinite().bad_ranks == 1 and wrapper.pop_nonfinite() is None
    wrapper.update_params(layer(torch.ones(1, 2)).sum())
    assert not torch.equal(layer.weight, before) and wrapper.consecutive_skips == 0


def test_plain_wrapper_skips_nan_then_takes_the_sgd_step():
    """The FP32 wrapper: a NaN loss leaves weights and gradients untouched; the next finite loss
    takes exactly plain SGD's step (d sum(W x + b) / dW = x = 1, so W <- W - lr)."""
    layer = nn.Linear(2, 1)
    wrapper = BoTFiniteOptimWrapper(torch.optim.SGD(layer.parameters(), lr=0.1))
    before = layer.weight.detach().clone()
    wrapper.update_params(layer(torch.ones(1, 2)).sum() * float('nan'))
    assert torch.equal(layer.weight, before) and wrapper.skipped_steps == 1
    assert layer.weight.grad is None or not layer.weight.grad.isnan().any()
    wrapper.update_params(layer(torch.ones(1, 2)).sum())
    torch.testing.assert_close(layer.weight.detach(), before - 0.1, rtol=0, atol=1e-7)
    assert wrapper.consecutive_skips == 0


def test_train_cli_stops_a_host_run_cleanly(tmp_path):
    """tools/train.py enables the guard for every host: a NaN loss in an mmpretrain run stops it
    at iteration 1 with the initial weights saved, not a NaN model."""
    from pathlib import Path

    from tricks_mm.cli import train
    from tricks_mm.datasets.synthetic import generate_suite

    repo = Path(__file__).resolve().parents[2]
    cls_root = generate_suite(
        tmp_path / 'synthetic',
        seed=0,
        quiet=True,
        num_classes=6,
        cls_train_per_class=1,
        cls_val_per_class=1,
        cls_size=16,
        det_train=2,
        det_test=1,
        seg_train=1,
        seg_val=1,
        scene_size=32,
    ).cls_root
    work_dir = tmp_path / 'work'
    argv = [
        str(repo / 'configs/classification/resnet50b_efficient_8xb128_in1k.py'),
        '--overlay',
        str(repo / 'configs/toy/classification.py'),
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        'train_cfg.max_epochs=1',
        f'train_dataloader.dataset.data_root={cls_root}',
        f'train_dataloader.dataset.classes={cls_root}/classes.txt',
        'train_dataloader.batch_size=3',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'model.head.loss.loss_weight=nan',
        'val_cfg=None',
        'val_dataloader=None',
        'val_evaluator=None',
    ]
    with pytest.raises(NonFiniteLossError, match=r'iteration 1 \(epoch 1\): rank 0: loss=nan'):
        train.main(argv)
    ckpt = safe_torch_load(str(work_dir / 'nonfinite_iter_1.pth'))
    assert ckpt['meta']['iter'] == 0
    assert all(
        torch.isfinite(v).all() for v in ckpt['state_dict'].values() if v.is_floating_point()
    )
