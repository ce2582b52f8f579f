"""Steps forked from the preloaded server behave as fresh ``python -m`` processes: their own
directory, environment, import path and thread count; their output in the log and to the
ladder; their exit status (a signal, an exception) reported as ``subprocess`` would."""

import multiprocessing
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tricks_mm.ladder import launch
from tricks_mm.ladder.warm_start import WarmStarter, python_module

HERE = str(Path(__file__).parent)


@pytest.fixture
def probe_env(monkeypatch, tmp_path):
    """The probe module is found through PYTHONPATH (set after any server started) and run in
    a directory the server never was in."""
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join([HERE, os.environ.get('PYTHONPATH', '')]))
    monkeypatch.setenv('WARM_PROBE', 'from-the-ladder')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(cmd, log, env=None, warm=None):
    lines = []
    try:
        launch.run_logged(cmd, str(log), on_line=lines.append, env=env, warm=warm)
        error = None
    except launch.StepFailed as e:
        error = str(e)
    return lines, error


# the server has one thread count of its own: with two values asked for, one differs from it
@pytest.mark.parametrize('threads', ['1', '2'])
def test_forked_step_is_like_a_fresh_process_but_preloaded(probe_env, threads):
    cmd = [sys.executable, '-m', '_warm_probe', '0']
    warm_lines, warm_error = _run(
        cmd, probe_env / 'warm.log', {'OMP_NUM_THREADS': threads}, WarmStarter()
    )
    cold_lines, cold_error = _run(cmd, probe_env / 'cold.log', {'OMP_NUM_THREADS': threads})
    assert warm_error is None and cold_error is None
    # the only difference from a fresh interpreter: the stack was already imported
    assert warm_lines[0] == 'preloaded=True\n' and cold_lines[0] == 'preloaded=False\n'
    assert (
        warm_lines[1:]
        == cold_lines[1:]
        == [
            f'cwd={probe_env}\n',
            'probe_env=from-the-ladder\n',
            f'threads={threads}\n',
            f'start_method={multiprocessing.get_start_method()}\n',  # the platform's default
            "argv=['0']\n",
            'no newline at the endexit handlers ran\n',
        ]
    )
    log = (probe_env / 'warm.log').read_text()
    assert log.startswith(f'$ {" ".join(cmd)}\n') and log.endswith('exit handlers ran\n')


@pytest.mark.parametrize(
    'mode, status, quoted',
    [('3', 3, 'argv='), ('kill', -9, 'no newline'), ('raise', 1, 'probe failed on purpose')],
)
def test_exit_status_and_log_tail_as_subprocess_reports_them(probe_env, mode, status, quoted):
    cmd = [sys.executable, '-m', '_warm_probe', mode]
    reference = subprocess.run(cmd, capture_output=True).returncode
    assert reference == status  # what a fresh process gives
    _, error = _run(cmd, probe_env / 'step.log', warm=WarmStarter())
    assert f'exited with {status}; full log: {probe_env / "step.log"}' in error
    assert quoted in error


def test_only_python_module_commands_are_forked():
    assert python_module([sys.executable, '-m', 'tricks_mm.cli.train', 'c.py']) == (
        'tricks_mm.cli.train'
    )
    assert python_module(['srun', sys.executable, '-m', 'tricks_mm.cli.train']) is None
    assert python_module(['/other/python', '-m', 'tricks_mm.cli.train']) is None


def test_a_preloaded_entry_point_runs_as_with_python_m(probe_env):
    """``tricks_mm.cli.train`` is imported by the server; run as a step it executes afresh as
    ``__main__`` (no runpy warning about a module found in sys.modules), same output."""
    cmd = [sys.executable, '-m', 'tricks_mm.cli.train', '--help']
    warm, warm_error = _run(cmd, probe_env / 'warm.log', warm=WarmStarter())
    cold, cold_error = _run(cmd, probe_env / 'cold.log')
    assert warm_error is None and cold_error is None
    assert warm == cold and any('--work-dir' in line for line in warm)


def test_steps_started_from_two_threads_keep_their_exit_status(probe_env):
    """Starting a step polls every child; two threads polling one child race for its status
    (the loser reads 255) unless the starter serialises them."""
    warm, results = WarmStarter(poll=0.01), {}

    def worker(name: str, modes) -> None:
        for i, mode in enumerate(modes):
            log = probe_env / f'{name}{i}.log'
            log.write_text('')
            results[(name, i)] = (
                int(mode),
                warm.run(
                    [sys.executable, '-m', '_warm_probe', mode], str(log), str, dict(os.environ)
                ),
            )

    threads = [
        threading.Thread(target=worker, args=('a', '0303')),
        threading.Thread(target=worker, args=('b', '3030')),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(want == got for want, got in results.values()), results


def test_server_output_goes_to_its_log_and_the_console_is_restored(tmp_path, monkeypatch, capfd):
    def server_starts():  # what a starting server inherits: the process's fds 1 and 2
        os.write(2, b'import warning of the server\n')
        os.write(1, b'server stdout\n')

    monkeypatch.setattr(multiprocessing.forkserver, 'ensure_running', server_starts)
    warm = WarmStarter()
    warm.start(str(tmp_path / 'sub' / 'warm_start.log'))
    print('ladder console')
    sys.stderr.write('ladder stderr\n')
    out, err = capfd.readouterr()
    assert (tmp_path / 'sub' / 'warm_start.log').read_text() == (
        'import warning of the server\nserver stdout\n'
    )
    assert 'ladder console' in out and 'ladder stderr' in err
    assert 'server' not in out + err
    warm.start(str(tmp_path / 'other.log'))  # once per process
    assert not (tmp_path / 'other.log').exists()


_LADDER_STAND_IN = """
import os, sys
from tricks_mm.ladder.warm_start import WarmStarter
step = [sys.executable, '-m', '_warm_probe', 'sleep']
WarmStarter().run(step, sys.argv[1], print, dict(os.environ))
"""


def test_a_step_stops_when_the_ladder_is_killed(probe_env):
    """kill -9 of the ladder alone (not its process group): the forked step, a child of the
    server, stops itself instead of training on beside the resumed ladder."""
    log = probe_env / 'step.log'
    log.write_text('')
    ladder = subprocess.Popen([sys.executable, '-c', _LADDER_STAND_IN, str(log)])
    deadline = time.time() + 120
    while 'pid=' not in log.read_text():
        assert ladder.poll() is None and time.time() < deadline, log.read_text()
        time.sleep(0.2)
    step_pid = int(log.read_text().split('pid=')[1].split()[0])
    os.kill(ladder.pid, signal.SIGKILL)
    ladder.wait()
    while _alive(step_pid):
        assert time.time() < deadline, f'step {step_pid} still runs after the ladder died'
        time.sleep(0.2)
    assert f'the ladder (pid {ladder.pid}) is gone: stopping this step' in log.read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited (its parent, the orphaned server, may not have reaped it yet)
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except FileNotFoundError:
        return False
