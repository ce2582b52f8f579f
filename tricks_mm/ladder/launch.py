"""Run one training or evaluation step as a child process through mmengine's launchers.

Every step is its own process (``python -m tricks_mm.cli.train``, under ``torchrun`` or ``srun``
when distributed), so the ladder itself never holds a model, a GPU or a process group, and a
step that dies leaves the ladder able to report it and resume.

A step never outlives the ladder that started it, so a resumed ladder never shares a step
directory with an orphan: each step runs in its own session (process group), which
:func:`stop_steps` kills whole (torchrun's workers, dataloader workers with it), and gets a
parent-death signal (``PR_SET_PDEATHSIG``, SIGTERM) for the one case no code of the ladder runs
in, ``kill -9`` of the ladder; the executor calls :func:`stop_steps` on SIGTERM, SIGINT and
exit (:func:`tricks_mm.ladder.executors.local.steps_stop_with_the_ladder`).
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from typing import Callable, Dict, List, Optional, Set

from tricks_mm.ladder.spec import Launch


class StepFailed(RuntimeError):
    """A child step exited non-zero; the message holds the tail of its log."""


#: The running steps' processes (each leads its own process group), for :func:`stop_steps`.
_running: Set[subprocess.Popen] = set()
_running_lock = threading.Lock()
#: Set by :func:`stop_steps`: a step thread that was about to start its process starts none.
_stopping = False
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# looked up here, not in the forked child (which should only call it: other threads may hold
# the loader's locks at the fork)
_prctl = getattr(ctypes.CDLL(None), 'prctl', None) if sys.platform.startswith('linux') else None


def _die_with_parent(parent: int) -> Optional[Callable[[], None]]:
    """``preexec_fn`` of a step: SIGTERM when the thread that started it ends (the ladder's
    step thread lives until the step has ended, or the ladder dies); if the ladder died before
    the signal was armed, end now. Linux only; elsewhere :func:`stop_steps` alone."""
    if _prctl is None:
        return None
    prctl = _prctl

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def accept_steps() -> None:
    """Let steps start again after :func:`stop_steps` (a new ladder run in this process)."""
    global _stopping
    with _running_lock:
        _stopping = False


def stop_steps() -> List[int]:
    """Kill every running step's process group (SIGKILL: a step resumes from its last
    checkpoint, and a trainer may ignore SIGTERM while it saves), and start no new one until
    :func:`accept_steps`; the killed leaders' pids."""
    global _stopping
    with _running_lock:
        _stopping = True
        procs = list(_running)
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # ended meanwhile
            pass
    return [p.pid for p in procs]


def command(module: str, args: List[str], launch: Launch) -> List[str]:
    """The command line running ``python -m module args`` under ``launch``."""
    if launch.launcher == 'none':
        return [sys.executable, '-m', module, *args]
    if launch.launcher == 'pytorch':
        return [
            sys.executable,
            '-m',
            'torch.distributed.run',
            f'--nproc_per_node={launch.nproc_per_node}',
            f'--nnodes={launch.nnodes}',
            *launch.torchrun_args,
            '-m',
            module,
            *args,
            '--launcher',
            'pytorch',
        ]
    return [
        'srun',
        f'--nodes={launch.nnodes}',
        f'--ntasks-per-node={launch.nproc_per_node}',
        *launch.srun_args,
        sys.executable,
        '-m',
        module,
        *args,
        '--launcher',
        'slurm',
    ]


def run_logged(
    cmd: List[str],
    log_path: str,
    echo: bool = False,
    on_line: Optional[Callable[[str], None]] = None,
    env: Optional[Dict[str, str]] = None,
) -> None:
    """Run ``cmd`` in a session of its own, appending its output to ``log_path``; ``on_line``
    sees every output line (the ladder's progress inside the step,
    :mod:`tricks_mm.ladder.progress`); ``env``: variables set for the child on top of this
    process's environment.

    Raises:
        StepFailed: non-zero exit; the message names the log and quotes its last lines.
    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    tail: deque = deque(maxlen=25)
    # unbuffered child: the log shows progress as it happens, not in 8 KiB blocks
    child_env = dict(os.environ, **(env or {}), PYTHONUNBUFFERED='1')
    with open(log_path, 'a') as log:
        log.write(f'$ {" ".join(cmd)}\n')
        log.flush()
        with _running_lock:  # started and registered at once: stop_steps sees every step
            if _stopping:
                raise StepFailed(f'not started, the ladder is stopping: {" ".join(cmd[:6])}')
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                env=child_env,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )
            _running.add(proc)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                log.write(line)
                tail.append(line)
                if echo:
                    sys.stdout.write(line)
                if on_line is not None:
                    on_line(line)
        except BaseException:  # the ladder stopped watching (an error, Ctrl-C): stop the step
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # already gone
                pass
            raise
        finally:
            code = proc.wait()
            with _running_lock:
                _running.discard(proc)
    if code != 0:
        raise StepFailed(
            f'{" ".join(cmd[:6])} ... exited with {code}; full log: {log_path}\n' + ''.join(tail)
        )
