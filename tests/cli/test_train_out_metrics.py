"""tools/train.py --out-metrics: the test after training, in the same process, gives what
tools/test.py gives on the last checkpoint; a step killed between training and its test resumes
into the test without training again (what the ladder relies on)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNG = 'configs/classification/resnet50d_cosine_8xb128_in1k.py'


def _run(repo: Path, module: str, *args: str) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    done = subprocess.run(
        [sys.executable, '-m', module, *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.slow
def test_out_metrics_match_tools_test_and_survive_a_kill_before_the_test(in_workspace, repo):
    options = [
        '--cfg-options',
        'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'val_cfg=None',
        'val_dataloader=None',
        'val_evaluator=None',
    ]
    train = [
        str(repo / RUNG),
        '--overlay',
        str(repo / 'configs/toy/classification.py'),
        '--epoch-scale',
        str(1 / 120),
        '--work-dir',
        'run',
        *options,
    ]
    first = _run(repo, 'tricks_mm.cli.train', *train, '--out-metrics', 'run/in_process.json')
    assert 'Epoch(train)' in first and 'Epoch(test)' in first
    in_process = json.loads(Path('run/in_process.json').read_text())
    checkpoint = Path('run/last_checkpoint').read_text().strip()
    assert checkpoint.endswith('epoch_1.pth')

    # the reference: tools/test.py on the last checkpoint, in a fresh process
    _run(
        repo,
        'tricks_mm.cli.test',
        str(repo / RUNG),
        checkpoint,
        '--overlay',
        str(repo / 'configs/toy/classification.py'),
        '--work-dir',
        'test',
        '--out-metrics',
        'reference.json',
        *options[:1],
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    )
    reference = json.loads(Path('reference.json').read_text())
    assert in_process == reference and 'accuracy/top1' in in_process

    # killed after training, before its test: --resume goes straight to the test
    mtime = os.stat(checkpoint).st_mtime_ns
    log = _run(repo, 'tricks_mm.cli.train', *train, '--resume', '--out-metrics', 'run/again.json')
    assert 'Epoch(train)' not in log and 'Epoch(test)' in log
    assert os.stat(checkpoint).st_mtime_ns == mtime
    assert json.loads(Path('run/again.json').read_text()) == reference
