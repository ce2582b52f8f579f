"""What the Slurm executor asks ``sbatch`` for, without a cluster: each task's options (the
ladder's ``executor`` with the task's keys over it), the allocation of each launch, and the
refusals of options the ladder sets itself."""

import pytest
from _tiny_ladder import tiny_ladder

from tricks_mm.ladder.executors.slurm import (
    SlurmOptions,
    executor_type,
    format_status,
    resources,
    slurm_options,
)
from tricks_mm.ladder.spec import Launch, load_ladder

EXECUTOR = (
    "executor=dict(type='slurm', partition='gpu', gpus_per_node=8, cpus_per_task=10, "
    "time='2-00:00:00', account='vision', extra=['--constraint=a100']),\n"
    "    segment=dict(config='{seg}', executor=dict(gpus_per_node=4, qos='low'))"
)


@pytest.fixture
def spec(tmp_path, repo):
    seg = repo / 'configs/toy/fcn_botr18-d-d8_toy-ade.py'
    path = tiny_ladder(tmp_path, extra=EXECUTOR.format(seg=seg))
    path.write_text(path.read_text().replace(f"    segment=dict(config='{seg}'),\n", ''))
    return load_ladder(str(path), str(tmp_path / 'wd'))


def test_each_task_takes_the_ladder_options_with_its_own_over_them(spec):
    ladder_wide = dict(
        partition='gpu',
        gpus_per_node=8,
        cpus_per_task=10,
        time='2-00:00:00',
        account='vision',
        qos=None,
        extra=['--constraint=a100'],
    )
    assert executor_type(spec) == 'slurm' and executor_type(spec, 'local') == 'local'
    assert slurm_options(spec, 'detect') == SlurmOptions(**ladder_wide)
    assert slurm_options(spec, None) == SlurmOptions(**ladder_wide)
    assert slurm_options(spec, 'segment') == SlurmOptions(
        **dict(ladder_wide, gpus_per_node=4, qos='low')
    )


def test_the_allocation_follows_the_launch(spec):
    options = slurm_options(spec, 'segment')
    common = ['--partition=gpu', '--cpus-per-task=10', '--time=2-00:00:00', '--account=vision']
    srun = Launch(launcher='slurm', nproc_per_node=4, nnodes=2)
    assert resources(srun, options) == [
        '--nodes=2',
        '--ntasks-per-node=4',
        *common,
        '--qos=low',
        '--gpus-per-node=4',
        '--constraint=a100',
    ]
    torchrun = Launch(launcher='pytorch', nproc_per_node=4)
    assert resources(torchrun, options)[:2] == ['--nodes=1', '--ntasks=1']
    assert '--gpus-per-node=4' not in resources(Launch(), options, gpus=False)


@pytest.mark.parametrize(
    'executor, match',
    [
        ("dict(type='pbs')", "ladder.executor.type must be 'local' or 'slurm', got 'pbs'"),
        ("dict(partitions='gpu')", r"ladder.executor has unknown keys \['partitions'\]"),
        ('dict(gpus_per_node=0)', 'ladder.executor.gpus_per_node must be an int >= 1, got 0'),
        ("dict(extra=['--ntasks=8'])", r"ladder.executor.extra: '--ntasks=8' is set by the ladder"),
        ("dict(extra=['-d', 'afterok:1'])", r"ladder.executor.extra: '-d' is set by the ladder"),
        ("dict(extra='--mem=1G')", 'ladder.executor.extra must be a list of sbatch arguments'),
    ],
)
def test_bad_options_are_refused(tmp_path, executor, match):
    spec = load_ladder(
        str(tiny_ladder(tmp_path, extra=f'executor={executor}')), str(tmp_path / 'wd')
    )
    with pytest.raises(ValueError, match=match):
        executor_type(spec)  # checks the options of every task


def test_a_task_cannot_choose_its_own_executor(tmp_path, repo):
    path = tiny_ladder(tmp_path)
    path.write_text(
        path.read_text().replace(
            'auto_scale_lr=True)', "auto_scale_lr=True, executor=dict(type='local'))"
        )
    )
    spec = load_ladder(str(path), str(tmp_path / 'wd'))
    with pytest.raises(ValueError, match="ladder.classify.executor sets type='local'"):
        executor_type(spec)


def test_status_table():
    rows = [
        dict(step='seed0-a-classify', state='failed', job='12', detail='exit code 1:0; log x'),
        dict(
            step='seed0-a-convert', state='cancelled', job='13', detail='DependencyNeverSatisfied'
        ),
        dict(step='seed0-control-detect', state='recorded', job='', detail=''),
    ]
    assert format_status(rows).splitlines() == [
        'step                  state      job  detail',
        'seed0-a-classify      failed     12   exit code 1:0; log x',
        'seed0-a-convert       cancelled  13   DependencyNeverSatisfied',
        'seed0-control-detect  recorded',
    ]
