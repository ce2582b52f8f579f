"""The local executor's process guarantees: killing the ladder (SIGTERM, SIGINT, kill -9 of the
ladder alone) leaves no step process behind, and steps side by side on a machine with GPUs get
disjoint ``CUDA_VISIBLE_DEVICES``."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from _fake_steps import fake_processes
from _tiny_ladder import REPO, tiny_ladder

from tricks_mm.ladder import launch
from tricks_mm.ladder import plan as plan_module
from tricks_mm.ladder.executors.local import LocalExecutor
from tricks_mm.ladder.plan import LadderPlan
from tricks_mm.ladder.spec import load_ladder

# The ladder's real entry point, whose steps are a sleeper (on the Popen path, as every step
# is) that starts a child of its own and writes both pids. SIGINT as a terminal's Ctrl-C gives
# it (a process started in the background may inherit SIGINT ignored).
_STAND_IN = r'''
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from tricks_mm.cli import ladder
from tricks_mm.ladder import launch
SLEEPER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
with open(os.path.join(sys.argv[1], str(os.getpid()) + '.tmp'), 'w') as f:
    f.write(str(os.getpid()) + ' ' + str(child.pid))
os.replace(os.path.join(sys.argv[1], str(os.getpid()) + '.tmp'),
           os.path.join(sys.argv[1], str(os.getpid()) + '.pids'))
time.sleep(600)
"""
launch.command = lambda module, args, step_launch: [sys.executable, '-c', SLEEPER, sys.argv[1]]
ladder.main(sys.argv[2:])
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited (its new parent may not have reaped it yet)
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killing_the_ladder_leaves_no_step_process(tmp_path, signum):
    pids_dir = tmp_path / 'pids'
    pids_dir.mkdir()
    ladder_file = tiny_ladder(tmp_path, seeds=[0], jobs=2)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])
    )
    env.pop('OMP_NUM_THREADS', None)
    ladder = subprocess.Popen(
        [sys.executable, '-c', _STAND_IN, str(pids_dir), str(ladder_file), '--work-dir',
         str(tmp_path / 'wd')],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.time() + 180
    while len(list(pids_dir.glob('*.pids'))) < 2:  # two steps side by side (jobs=2)
        assert ladder.poll() is None, ladder.stdout.read().decode()
        assert time.time() < deadline, 'the two steps did not start'
        time.sleep(0.2)
    pairs = [tuple(map(int, p.read_text().split())) for p in pids_dir.glob('*.pids')]
    steps, children = [s for s, _ in pairs], [c for _, c in pairs]
    assert all(_alive(p) for p in steps + children)
    os.kill(ladder.pid, signum)
    output = ladder.communicate(timeout=60)[0].decode()
    # SIGTERM / SIGINT: the ladder kills each step's process group (the step and its own
    # children); kill -9 of the ladder alone: the steps' parent-death signal ends them, and
    # their own children are theirs to stop (torchrun stops its workers on SIGTERM, a
    # DataLoader worker ends with its trainer); this stand-in's child is killed here
    watched = steps if signum == signal.SIGKILL else steps + children
    try:
        while any(_alive(p) for p in watched):
            assert time.time() < deadline, (
                f'still running after the ladder got signal {signum}: '
                f'{[p for p in watched if _alive(p)]}\n{output}'
            )
            time.sleep(0.1)
    finally:
        for pid in steps + children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert (
        ladder.returncode
        == {
            signal.SIGTERM: 128 + signal.SIGTERM,
            signal.SIGINT: -signal.SIGINT,  # Python ends on KeyboardInterrupt by SIGINT
            signal.SIGKILL: -signal.SIGKILL,
        }[signum]
    ), output


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)

    def convert(checkpoint, out, config, top1):
        Path(out).write_bytes(b'backbone')
        return dict(architecture=dict(depth=18, variant='d'))

    monkeypatch.setattr(plan_module, 'convert_classifier', convert)
    return load_ladder(str(tiny_ladder(tmp_path, seeds=[0], jobs=2)), str(tmp_path / 'wd'))


@pytest.mark.parametrize('visible, devices', [(None, {'0', '1'}), ('3,5', {'3', '5'})])
def test_two_jobs_on_two_gpus_get_disjoint_devices(tiny, monkeypatch, visible, devices):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    if visible is None:
        monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    else:
        monkeypatch.setenv('CUDA_VISIBLE_DEVICES', visible)
    fake_processes(monkeypatch)
    fake = launch.run_logged
    lock, running, seen = threading.Lock(), {}, []
    both_started = threading.Barrier(2, timeout=60)  # broken unless two steps overlap

    def run_logged(cmd, log_path, echo=False, on_line=None, env=None):
        mine = (env or {}).get('CUDA_VISIBLE_DEVICES')
        with lock:
            seen.append((mine, sorted(running.values())))
            running[log_path] = mine
        if len(seen) <= 2:
            both_started.wait()
        fake(cmd, log_path)
        with lock:
            del running[log_path]

    monkeypatch.setattr(launch, 'run_logged', run_logged)
    LocalExecutor(LadderPlan(tiny)).run()
    assert len(seen) == 5  # control: detect, segment; B-standard: classify, detect, segment
    assert {mine for mine, _ in seen} == devices
    assert all(mine not in others for mine, others in seen)  # none shares a running step's
    assert any(others for _, others in seen)  # and steps did run side by side


def test_more_jobs_than_gpus_is_refused(tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    tiny.jobs = 3
    with pytest.raises(ValueError, match=r'jobs=3 runs 3 steps side by side, but 2 GPU\(s\) are '
                       r'visible \(0,1\): each step needs its own. Use jobs<=2'):  # fmt: skip
        LocalExecutor(LadderPlan(tiny)).run()
