"""The Slurm executor against a real Slurm (``scripts/slurm_local.sh start``): the tiny ladder as
jobs with their dependencies, a failing step, resubmission, cancel and resume, and a two-task
step under ``srun``. The jobs run the ladder's own entry point with stand-in step processes
(``_fake_ladder_entry``), so each job costs the ladder's start-up and planning, not training.

Skipped, with the reason, where no Slurm answers."""

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stdout
from datetime import datetime
from pathlib import Path

import pytest
from _fake_ladder_entry import install
from _slurm_cluster import CONF, needs_slurm, wait_for_jobs
from _slurm_cluster import finished_jobs as completions
from _tiny_ladder import REPO, needs, tiny_ladder

from tricks_mm.cli.ladder import main as ladder_main
from tricks_mm.ladder.executors.slurm import (
    REPORT,
    SlurmExecutor,
    SlurmOptions,
    job_states,
    resources,
)
from tricks_mm.ladder.plan import LadderPlan
from tricks_mm.ladder.spec import Launch, load_ladder

pytestmark = needs_slurm
HERE = Path(__file__).parent


@pytest.fixture
def cluster(monkeypatch, tmp_path):
    """The jobs inherit this environment (sbatch exports it): the cluster, and the import
    path of the stand-in entry point and of this checkout."""
    monkeypatch.setenv('SLURM_CONF', CONF)
    path = [str(HERE), str(REPO), os.environ.get('PYTHONPATH', '')]
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(p for p in path if p))
    monkeypatch.delenv('FAKE_FAIL', raising=False)
    monkeypatch.delenv('FAKE_HANG', raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _submit(ladder_file: Path, work_dir: Path):
    """Plan and submit as ``--executor slurm`` does, with the stand-in entry point."""
    executor = SlurmExecutor(
        LadderPlan(load_ladder(str(ladder_file), str(work_dir))), entry='_fake_ladder_entry'
    )
    return executor, executor.submit()


def _records(work_dir: Path):
    return {
        p.stem: json.loads(p.read_text()) for p in sorted((work_dir / 'records').glob('*.json'))
    }


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _status(ladder_file: Path, work_dir: Path):
    out = io.StringIO()
    with redirect_stdout(out):
        rows = ladder_main([str(ladder_file), '--work-dir', str(work_dir), '--status'])
    return {r['step']: r for r in rows}, out.getvalue()


def test_tiny_ladder_as_jobs_matches_the_local_executor_in_dependency_order(cluster, monkeypatch):
    ladder_file = tiny_ladder(cluster, seeds=[0, 1], name='tiny_order')
    work_dir = cluster / 'wd'
    with monkeypatch.context() as patch:  # the same ladder, same stand-ins, on this machine
        install(patch)
        ladder_main([str(ladder_file), '--work-dir', str(work_dir), '--executor', 'local'])
    local_records = _records(work_dir)
    local_report = (work_dir / 'report.md').read_text()
    shutil.move(work_dir, cluster / 'local')  # the same path for both: the keys hash paths

    started = time.perf_counter()
    executor, jobs = _submit(ladder_file, work_dir)
    print(f'\nsubmitted {len(jobs)} jobs in {time.perf_counter() - started:.2f} s')
    steps = [s.step_id for s in executor.plan.steps()]
    assert sorted(jobs) == sorted(steps + [REPORT])  # nothing recorded: every step a job
    states = wait_for_jobs(list(jobs.values()))
    assert set(states.values()) == {'COMPLETED'}, states

    assert _records(work_dir) == local_records
    assert len(local_records) == 12  # 2 seeds x (control: 2 steps, B-standard: 4)
    assert (work_dir / 'report.md').read_text() == local_report  # written by the report job

    done = completions(list(jobs.values()))
    gaps = []
    for step in steps:
        for parent in needs(step):
            start, parent_end = done[jobs[step]]['StartTime'], done[jobs[parent]]['EndTime']
            assert _seconds(start) >= _seconds(parent_end), (step, parent, done)
            gaps.append(_seconds(start) - _seconds(parent_end))
        assert done[jobs[step]]['NodeList'] == 'localhost'
    last_step_end = max(_seconds(done[jobs[s]]['EndTime']) for s in steps)
    assert _seconds(done[jobs[REPORT]]['StartTime']) >= last_step_end
    print(f'parent end -> dependent start (s, 1 s resolution): {sorted(gaps)}')

    rows, _ = _status(ladder_file, work_dir)
    assert {r['state'] for r in rows.values()} == {'recorded'}


def test_a_failing_step_cancels_its_dependents_and_status_names_it(cluster, monkeypatch):
    ladder_file = tiny_ladder(cluster, seeds=[0], name='tiny_fail')  # with the control
    work_dir = cluster / 'wd'
    failing = 'seed0-b-standard-classify'
    monkeypatch.setenv('FAKE_FAIL', failing)
    executor, jobs = _submit(ladder_file, work_dir)
    states = wait_for_jobs(list(jobs.values()))
    dependents = ['seed0-b-standard-convert', 'seed0-b-standard-detect', 'seed0-b-standard-segment']
    assert states[jobs[failing]] == 'FAILED'
    info = job_states([jobs[d] for d in dependents])
    assert {(i.state, i.reason) for i in info.values()} == {
        ('CANCELLED', 'DependencyNeverSatisfied')
    }
    for step in dependents:  # never ran: no output of its job, no step directory
        assert not (work_dir / 'slurm' / step / f'slurm-{jobs[step]}.out').exists()
        assert not (work_dir / 'seed0' / 'b-standard' / step.rsplit('-', 1)[1]).exists()
    # the independent steps ran, and the report job (afterany) reported them
    assert states[jobs['seed0-no-pretraining-detect']] == 'COMPLETED'
    assert states[jobs[REPORT]] == 'COMPLETED'
    assert sorted(_records(work_dir)) == [
        'seed0-no-pretraining-detect',
        'seed0-no-pretraining-segment',
    ]

    rows, text = _status(ladder_file, work_dir)
    log = work_dir / 'slurm' / failing / f'slurm-{jobs[failing]}.out'
    assert rows[failing]['state'] == 'failed'
    assert rows[failing]['detail'] == f'exit code 1:0; log {log}'
    assert f'{failing} failed on purpose' in log.read_text()
    assert {rows[d]['state'] for d in dependents} == {'cancelled'}
    assert rows['seed0-no-pretraining-segment']['state'] == 'recorded'
    assert failing in text and 'DependencyNeverSatisfied' in text


def test_resubmitting_queues_nothing_new_and_a_cancelled_step_resumes(cluster, monkeypatch):
    ladder_file = tiny_ladder(cluster, seeds=[0], name='tiny_resume', control=False)
    work_dir = cluster / 'wd'
    hanging = 'seed0-b-standard-classify'
    step_dir = work_dir / 'seed0' / 'b-standard' / 'classify'
    monkeypatch.setenv('FAKE_HANG', hanging)
    _, jobs = _submit(ladder_file, work_dir)
    deadline = time.time() + 120
    while not (step_dir / 'last_checkpoint').is_file():  # running, its checkpoint written
        assert time.time() < deadline, job_states(list(jobs.values()))
        time.sleep(0.5)

    _, again = _submit(ladder_file, work_dir)
    assert again == {}  # every step not recorded is queued or running already
    rows, _ = _status(ladder_file, work_dir)
    assert rows[hanging]['state'] == 'running' and rows[hanging]['detail'] == 'on localhost'
    assert rows['seed0-b-standard-convert']['state'] == 'pending'
    assert rows['seed0-b-standard-convert']['detail'] == 'Dependency'

    out = io.StringIO()
    with redirect_stdout(out):
        cancelled = ladder_main([str(ladder_file), '--work-dir', str(work_dir), '--cancel'])
    live_before = {'seed0-b-standard-' + k for k in ('classify', 'convert', 'detect', 'segment')}
    assert sorted(cancelled, key=int) == sorted(jobs.values(), key=int)  # all were live
    wait_for_jobs(list(jobs.values()))

    _, resubmitted = _submit(ladder_file, work_dir)
    assert sorted(resubmitted) == sorted(live_before | {REPORT})  # none was recorded
    states = wait_for_jobs(list(resubmitted.values()))
    assert set(states.values()) == {'COMPLETED'}, states
    commands = [
        json.loads(line) for line in (step_dir / 'commands.jsonl').read_text().split('\n')[:-1]
    ]
    assert ['--resume' in c for c in commands] == [False, True]
    assert len(_records(work_dir)) == 4


def test_a_two_task_step_under_srun_initialises_gloo_through_mmengine(cluster):
    """The ladder's srun command line for ``launcher='slurm'``, 2 tasks, inside the allocation
    the executor asks for it."""
    from tricks_mm.ladder.launch import command

    out = cluster / 'ranks'
    out.mkdir()
    step_launch = Launch(launcher='slurm', nproc_per_node=2)
    cmd = command('_srun_probe', [str(out)], step_launch)
    port = 20000 + os.getpid() % 20000  # MASTER_PORT: no clash with other runs on the machine
    job = subprocess.run(
        [
            'sbatch',
            '--parsable',
            f'--output={cluster / "srun.out"}',
            *resources(step_launch, SlurmOptions()),
            f'--export=ALL,MASTER_PORT={port}',
            f'--wrap={shlex.join(cmd)}',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert wait_for_jobs([job], timeout=180) == {job: 'COMPLETED'}, (
        cluster / 'srun.out'
    ).read_text()
    ranks = [json.loads((out / f'rank{r}.json').read_text()) for r in (0, 1)]
    for rank, seen in enumerate(ranks):
        assert seen == dict(
            initialised=True,
            rank=rank,
            world_size=2,
            backend='gloo',
            sum=1.0 + 2.0,  # ranks 0 and 1 each gave rank + 1
            slurm_procid=rank,
            slurm_job=job,
        )
    assert cmd[:3] == ['srun', '--nodes=1', '--ntasks-per-node=2'] and sys.executable in cmd
