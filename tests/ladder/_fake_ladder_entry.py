"""Run by the Slurm tests' jobs as ``python -m _fake_ladder_entry LADDER ...``: the ladder's own
entry point (``tricks_mm.cli.ladder``) with stand-in step processes (``_fake_steps``) and a
stand-in conversion, so a job takes the ladder's start-up and planning, not a training.

Environment, to steer single steps: ``FAKE_FAIL=<step id>`` fails that step's process;
``FAKE_HANG=<step id>`` makes its training leave a checkpoint and wait (until cancelled),
unless it resumes. Every step command is appended to ``<step dir>/commands.jsonl``."""

import json
import os
import os.path as osp
import sys
import time

import pytest
from _fake_steps import fake_processes

from tricks_mm.cli import ladder
from tricks_mm.ladder import launch, plan


def step_of(log_path: str) -> str:
    """``seed0-b-standard-classify`` from ``<work_dir>/seed0/b-standard/classify/run.log``."""
    step_dir = osp.dirname(log_path)
    parts = step_dir.split(os.sep)[-3:]
    return '-'.join(parts)


def convert(checkpoint, out, config, top1):
    """A backbone file with fixed bytes (its hash enters the downstream keys) and the
    architecture the real conversion reports for the toy classifiers."""
    with open(out, 'wb') as f:
        f.write(b'backbone of ' + open(checkpoint, 'rb').read())
    return dict(architecture=dict(depth=18, variant='d'))


def install(monkeypatch) -> None:
    fake_processes(monkeypatch)
    fake = launch.run_logged

    def run_logged(cmd, log_path, echo=False, on_line=None, env=None):
        step = step_of(log_path)
        with open(osp.join(osp.dirname(log_path), 'commands.jsonl'), 'a') as f:
            f.write(json.dumps(cmd) + '\n')
        if os.environ.get('FAKE_FAIL') == step:
            raise launch.StepFailed(f'{step} failed on purpose')
        if os.environ.get('FAKE_HANG') == step and '--resume' not in cmd:
            checkpoint = osp.join(osp.dirname(log_path), 'epoch_1.pth')
            open(checkpoint, 'wb').close()
            with open(osp.join(osp.dirname(log_path), 'last_checkpoint'), 'w') as f:
                f.write(checkpoint)
            time.sleep(600)
        fake(cmd, log_path)

    monkeypatch.setattr(launch, 'run_logged', run_logged)
    monkeypatch.setattr(plan, 'convert_classifier', convert)


if __name__ == '__main__':
    with pytest.MonkeyPatch.context() as patch:
        install(patch)
        ladder.main(sys.argv[1:])
