"""The full toy ladder's plan run with stand-in processes: steps side by side (``jobs``), each
only once what it reads is recorded, teachers trained once for every seed, a failure that lets
the running steps finish and starts nothing new."""

import os
import os.path as osp
import threading

import pytest
import torch
from _fake_steps import fake_processes

from tricks_mm.ladder import launch
from tricks_mm.ladder import plan as plan_module
from tricks_mm.ladder.executors.local import LocalExecutor
from tricks_mm.ladder.plan import LadderPlan
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.spec import load_ladder

TEACHERS = {'+ distillation': 'teacher', '+ mixup + distillation': 'teacher-mixup'}


@pytest.fixture
def toy6(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)  # the ladder's config paths are relative to the repository
    spec = load_ladder('configs/ladders/toy_section6.py', str(tmp_path / 'wd'))

    def convert(checkpoint, out, config, top1):  # a backbone file; what the real one reports
        torch.save({}, out)
        return dict(architecture=dict(depth=18, variant='d'))

    monkeypatch.setattr(plan_module, 'convert_classifier', convert)
    return spec


def _step_of(log_path: str, work_dir: str) -> str:
    seed, rung, kind = osp.relpath(osp.dirname(log_path), work_dir).split(os.sep)
    return f'{seed}-{rung}-{kind}'


def _needs(step_id: str) -> set:
    """What a step reads, from the protocol: the teacher (trained with seed 0), its own
    classifier, its backbone; the control reads nothing."""
    seed, rest = step_id.split('-', 1)
    rung, kind = rest.rsplit('-', 1)
    if kind == 'classify':
        teacher = {'distillation': 'teacher', 'mixup-distillation': 'teacher-mixup'}.get(rung)
        return {f'seed0-{teacher}-classify'} if teacher else set()
    if kind == 'convert':
        return {f'{seed}-{rung}-classify'}
    return set() if rung == 'no-pretraining' else {f'{seed}-{rung}-convert'}


def test_two_jobs_respect_what_each_step_reads_and_share_the_teachers(toy6, monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    toy6.jobs, toy6.seeds = 2, [0, 1]  # two seeds show the sharing (the planning takes a while)
    fake = fake_processes(monkeypatch)
    record_file = RecordBook(toy6.work_dir)._path
    lock, inside, seen = threading.Lock(), [], []
    both_started = threading.Barrier(2, timeout=30)  # broken unless two steps overlap
    classifiers = {  # every classifier of the protocol: each rung per seed, teachers once
        f'seed{seed}-{slug}-classify'
        for seed in (0, 1)
        for slug in (
            'b-standard',
            'd-efficient',
            'cosine',
            'label-smoothing',
            'distillation',
            'mixup',
            'mixup-distillation',
        )
    } | {'seed0-teacher-classify', 'seed0-teacher-mixup-classify'}
    # classifiers without a teacher can start at any time: none may wait behind a downstream
    # step (those with a teacher become ready while the ladder decides, so they are not checked)
    free = {c for c in classifiers if not _needs(c)}
    passed_over = []

    def run_logged(cmd, log_path, echo=False, on_line=None, env=None):
        step = _step_of(log_path, toy6.work_dir)
        missing = [d for d in _needs(step) if not osp.isfile(record_file(d))]
        with lock:
            if not step.endswith('-classify'):
                started = {s for s, _, _, _ in seen}
                passed_over.extend(sorted(free - started))
            inside.append(step)
            seen.append((step, len(inside), missing, dict(env or {})))
        if len(seen) <= 2:
            both_started.wait()
        launch_fake(cmd, log_path)
        with lock:
            inside.remove(step)

    launch_fake = launch.run_logged
    monkeypatch.setattr(launch, 'run_logged', run_logged)
    results = LocalExecutor(LadderPlan(toy6)).run()

    assert [s for s, _, missing, _ in seen if missing] == []
    assert max(n for _, n, _, _ in seen) == 2  # side by side, never more than jobs
    assert passed_over == []  # with jobs > 1, ready classifiers go first
    assert {s for s, _, _, _ in seen} >= classifiers
    threads = str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert {e.get('OMP_NUM_THREADS') for _, _, _, e in seen} == {threads}
    # 9 reported rungs x 2 seeds (the control: detect + segment; 8 rungs: classify, convert,
    # detect, segment) + 2 teachers once
    assert len(results) == 2 * (2 + 8 * 4) + 2
    trained = [s for s, _, _, _ in seen]
    assert [s for s in trained if 'teacher' in s] == [
        'seed0-teacher-classify',
        'seed0-teacher-mixup-classify',
    ]
    assert len(trained) == len(set(trained)) == 2 * (2 + 8 * 3) + 2  # convert runs in-process
    for seed in (0, 1):
        for student, teacher in TEACHERS.items():
            slug = 'distillation' if student == '+ distillation' else 'mixup-distillation'
            config = osp.join(toy6.work_dir, f'seed{seed}', slug, 'classify', 'config.py')
            assert (
                osp.join(toy6.work_dir, 'seed0', teacher, 'classify', 'last.pth')
                in open(config).read()
            )
    assert len(fake) == len(trained)  # every process step went through the wrapper above


def test_a_failed_step_lets_the_running_one_finish_and_starts_nothing(toy6, monkeypatch):
    toy6.jobs = 2
    fake_processes(monkeypatch)
    launch_fake = launch.run_logged
    both_started = threading.Barrier(2, timeout=30)
    started = []

    def run_logged(cmd, log_path, echo=False, on_line=None, env=None):
        step = _step_of(log_path, toy6.work_dir)
        started.append(step)
        both_started.wait()
        if step == 'seed0-b-standard-classify':
            raise launch.StepFailed('classify died')
        launch_fake(cmd, log_path)

    monkeypatch.setattr(launch, 'run_logged', run_logged)
    with pytest.raises(launch.StepFailed, match='classify died'):
        LocalExecutor(LadderPlan(toy6)).run()
    # the first two steps: classifiers go first when several jobs run
    assert sorted(started) == ['seed0-b-efficient-classify', 'seed0-b-standard-classify']
    assert list(RecordBook(toy6.work_dir).all()) == ['seed0-b-efficient-classify']


def test_jobs_are_refused_for_distributed_steps(repo, monkeypatch, tmp_path):
    from tricks_mm.cli.ladder import main as ladder_main

    monkeypatch.chdir(repo)
    with pytest.raises(ValueError, match=r"jobs=2 runs steps side by side .* \['classify', "):
        ladder_main(
            ['configs/ladders/paper_section6.py', '--jobs', '2', '--work-dir', str(tmp_path)]
        )
