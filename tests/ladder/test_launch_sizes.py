"""Each task of a ladder runs at its config's reference total batch, or scales on purpose, or is
refused; the record states the processes, total batch and LR (no process is launched here)."""

import dataclasses
import os
import os.path as osp

import pytest
from _fake_steps import fake_processes
from mmengine.config import Config

from tricks_mm.ladder.batch import effective_batch
from tricks_mm.ladder.executors.local import LocalExecutor
from tricks_mm.ladder.plan import LadderPlan
from tricks_mm.ladder.spec import load_ladder

PAPER = 'configs/ladders/paper_section6.py'


@pytest.fixture
def paper_control(repo, tmp_path, monkeypatch):
    """The paper ladder (8 processes per step) cut to its control rung: detect + segment."""
    monkeypatch.chdir(repo)  # the ladder's config paths are relative to the repository
    spec = load_ladder(PAPER, str(tmp_path / 'wd'))
    spec.rungs = [r for r in spec.rungs if r.cls_config is None]
    return spec


def _nproc(cmd):
    return next(int(a.split('=')[1]) for a in cmd if a.startswith('--nproc_per_node='))


def test_paper_ladder_trains_fcn_at_mmseg_total_batch(paper_control, monkeypatch):
    commands = fake_processes(monkeypatch)
    records = LocalExecutor(LadderPlan(paper_control)).run()
    # the reference: mmseg's own FCN config is 4 GPUs x this batch, at this LR
    mmseg = Config.fromfile(
        osp.join(
            osp.dirname(__import__('mmseg').__file__),
            '.mim',
            'configs',
            'fcn',
            'fcn_r50-d8_4xb4-80k_ade20k-512x512.py',
        )
    )
    total = 4 * mmseg.train_dataloader.batch_size
    assert total == 16
    seg = records['seed0-no-pretraining-segment']
    assert seg['batch'] == dict(
        world_size=4,
        batch_per_process=4,
        total_batch=total,
        reference_batch=16,
        config_lr=mmseg.optim_wrapper.optimizer.lr,
        lr=mmseg.optim_wrapper.optimizer.lr,
        lr_scaled=False,
    )
    assert seg['launch']['nproc_per_node'] == 4
    det = records['seed0-no-pretraining-detect']
    assert (det['batch']['world_size'], det['batch']['total_batch'], det['batch']['lr']) == (
        8,
        16,
        0.01,
    )
    # the commands that would have run: torchrun with each task's process count
    by_task = {}
    for cmd in commands:
        task = 'segment' if any('segment' in a for a in cmd) else 'detect'
        by_task.setdefault(task, set()).add(_nproc(cmd))
    assert by_task == {'detect': {8}, 'segment': {4}}


def test_a_silent_batch_change_is_refused(paper_control, monkeypatch):
    fake_processes(monkeypatch)
    paper_control.segment = dataclasses.replace(paper_control.segment, launch={})
    with pytest.raises(
        ValueError,
        match=r'8 process\(es\) x 4 images = total batch 32, but the '
        r"config's LR 0.01 is for batch 16.*with 4 processes",
    ):
        LocalExecutor(LadderPlan(paper_control)).run()
    assert not os.path.exists(
        osp.join(paper_control.work_dir, 'records', 'seed0-no-pretraining-segment.json')
    )
    # scaling on purpose is allowed, and recorded
    paper_control.segment = dataclasses.replace(paper_control.segment, auto_scale_lr=True)
    seg = LocalExecutor(LadderPlan(paper_control)).run()['seed0-no-pretraining-segment']
    assert (seg['batch']['total_batch'], seg['batch']['lr'], seg['batch']['lr_scaled']) == (
        32,
        pytest.approx(0.02),
        True,
    )


def test_effective_batch_needs_a_reference():
    cfg = Config(
        dict(train_dataloader=dict(batch_size=2), optim_wrapper=dict(optimizer=dict(lr=0.1)))
    )
    with pytest.raises(ValueError, match='names no reference batch; add auto_scale_lr'):
        effective_batch(cfg, 1, False, 'step x')


@pytest.mark.parametrize(
    'bad, match',
    [
        (dict(nproc_per_node=0), 'nproc_per_node must be an int >= 1, got 0'),
        (dict(torchrun_args=['--nnodes=2']), "'--nnodes=2' in torchrun_args/srun_args sets the"),
        (dict(srun_args=['-n', '8', '-N', '2']), "'-n' in torchrun_args"),
        (dict(gpus=8), r"ladder.segment.launch has unknown keys \['gpus'\]"),
    ],
)
def test_bad_task_launch_is_refused_at_load(repo, tmp_path, bad, match):
    text = (
        open(repo / PAPER)
        .read()
        .replace('launch=dict(nproc_per_node=4)', f'launch={bad!r}')
        .replace("'configs/", f"'{repo}/configs/")
        .replace("'./_base_/", f"'{repo}/configs/ladders/_base_/")
    )
    path = tmp_path / 'ladder.py'
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_ladder(str(path))
