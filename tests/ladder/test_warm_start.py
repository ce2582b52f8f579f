"""Steps forked from the preloaded server behave as fresh ``python -m`` processes: their own
directory, environment, import path and thread count; their output in the log and to the
ladder; their exit status (a signal, an exception) reported as ``subprocess`` would."""

import os
import subprocess
import sys
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
            "argv=['0']\n",
            'no newline at the end',
        ]
    )
    log = (probe_env / 'warm.log').read_text()
    assert log.startswith(f'$ {" ".join(cmd)}\n') and log.endswith('no newline at the end')


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
