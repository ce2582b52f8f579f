"""Start ladder steps from a process that has already imported the stack.

Importing torch, mmengine and the three hosts costs every step several seconds before its
first line (7 s on the 2-core development machine with a warm file cache, 14 s cold), and a
ladder has 60+ steps. Python's own ``multiprocessing`` forkserver pays it once: the server
imports :data:`PRELOAD` when the first step starts, and every step is then ``fork()``-ed from
it. Each step is still its own process, as with :func:`tricks_mm.ladder.launch.run_logged`:
it runs ``python -m MODULE ARGS`` (``runpy``, ``sys.argv`` as the command line gives it), its
output goes to the step's log, its exit status is the step's, a crash or ``kill -9`` takes
only that process, and the ladder's records and resume work as before.

Only single-process steps (``launcher='none'``) start this way, and only on machines without
CUDA: torchrun and srun start their own processes, and importing the hosts probes CUDA
(``mmengine.device``, ``mmcv.utils.device_type`` call ``torch.cuda.is_available()``), after
which torch refuses CUDA in a forked child. If the ladder dies (even ``kill -9``), a running step
notices and stops itself, so a resumed ladder never has two trainers in one step directory.
"""

import atexit
import multiprocessing
import multiprocessing.forkserver
import os
import runpy
import select
import signal
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

#: What every step imports before it does anything: the step entry points (named, not
#: imported, by the ladder, like the command lines it builds), the ladder's own entry points
#: (multiprocessing re-imports the parent's ``__main__`` in each child) and each host's
#: registered modules (``register_all_modules`` imports these).
PRELOAD = [
    'tricks_mm.cli.train',
    'tricks_mm.cli.test',
    'tricks_mm.cli.ladder',
    'tricks_mm.cli.demo',
    *(
        f'{host}.{part}'
        for host in ('mmpretrain', 'mmdet', 'mmseg')
        for part in ('datasets', 'engine', 'evaluation', 'models', 'visualization')
    ),
]


def python_module(cmd: List[str]) -> Optional[str]:
    """The module of a ``[sys.executable, '-m', MODULE, ...]`` command, else ``None``."""
    if len(cmd) >= 3 and cmd[0] == sys.executable and cmd[1] == '-m':
        return cmd[2]
    return None


def _stop_with_the_ladder(ladder_pid: int) -> None:
    """Stop this step when the ladder process ends: a forked step is the server's child, and
    the server outlives the ladder while its children run, so nothing else would stop it."""
    try:
        handle = os.pidfd_open(ladder_pid)
    except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3): poll the pid instead
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while True:
                try:
                    os.kill(ladder_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(1.0)
        print(f'[warm start] the ladder (pid {ladder_pid}) is gone: stopping this step', flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name='ladder-watch', daemon=True).start()


def _run_module(
    cmd: List[str], log_path: str, env: Dict[str, str], cwd: str, ladder_pid: int
) -> None:
    """The forked step: output to the log; directory, environment, import path, threads and
    multiprocessing start method as a fresh ``python -m`` would have them, not as the server
    had them when it started; the interpreter's exit handlers run at the end as they would."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    _stop_with_the_ladder(ladder_pid)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    extra = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p and p not in sys.path]
    sys.path[1:1] = extra
    multiprocessing.set_start_method(None, force=True)  # the platform default, not forkserver
    if 'OMP_NUM_THREADS' in env:  # the OpenMP runtime read it when the server imported torch
        import torch

        torch.set_num_threads(int(env['OMP_NUM_THREADS']))
    sys.argv = [cmd[2], *cmd[3:]]
    # a preloaded entry point runs as __main__ afresh (its imports stay cached), as with -m
    sys.modules.pop(cmd[2], None)
    try:
        runpy.run_module(cmd[2], run_name='__main__', alter_sys=True)
    finally:
        atexit._run_exitfuncs()  # multiprocessing ends the child with os._exit, which skips them


class WarmStarter:
    """Runs ``python -m`` step commands forked from a preloaded ``multiprocessing`` forkserver.

    The server is Python's one forkserver per process: it preloads :data:`PRELOAD` and keeps
    what it imported for the life of the process (a changed source file is seen by the next
    ladder run, not by the running one).

    Args:
        poll: seconds between reads of a running step's log.
    """

    #: multiprocessing polls every child of the process when one starts (``Process.start``
    #: reaps finished ones), and two threads polling one forkserver child race for its exit
    #: status (the loser reads 255): starting, polling and joining go through this lock.
    _lock = threading.Lock()

    def __init__(self, poll: float = 0.2) -> None:
        self.context = multiprocessing.get_context('forkserver')
        self.context.set_forkserver_preload(PRELOAD)
        self.poll = poll
        self.started = False

    def start(self, log_path: str) -> None:
        """Start the server (once per process) with its own output in ``log_path``: the
        import warnings it prints while preloading would otherwise land on the ladder's console
        (a fresh step printed them into its own log). Call it from the thread that prints,
        before steps run beside it: the process's stdout/stderr point at the file meanwhile."""
        if self.started:
            return
        os.makedirs(os.path.dirname(log_path) or '.', exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            multiprocessing.forkserver.ensure_running()  # the server inherits 1 and 2 now
            self.started = True
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for f in (*saved, fd):
                os.close(f)

    def run(
        self,
        cmd: List[str],
        log_path: str,
        on_line: Callable[[str], None],
        env: Dict[str, str],
    ) -> int:
        """Run ``cmd`` (a :func:`python_module` command) in the current directory with the
        environment ``env``, appending its output to ``log_path`` and passing each line to
        ``on_line``; its exit status (negative: the signal that ended it, as ``subprocess``
        reports it)."""
        with open(log_path, 'rb') as log:
            log.seek(0, os.SEEK_END)
            process = self.context.Process(
                target=_run_module, args=(cmd, log_path, env, os.getcwd(), os.getpid())
            )
            with self._lock:
                process.start()
            try:
                self._follow(process, log, on_line)
            finally:  # the ladder stopped watching (an error, Ctrl-C): the step stops too
                with self._lock:
                    if process.is_alive():
                        process.terminate()
                    process.join()
        return process.exitcode

    def _follow(self, process, log, on_line: Callable[[str], None]) -> None:
        """Pass the step's new log lines to ``on_line`` until it has exited."""
        partial = b''
        while True:
            with self._lock:
                alive = process.is_alive()
            chunk = log.read()
            if chunk:
                lines = (partial + chunk).split(b'\n')
                partial = lines.pop()
                for line in lines:
                    on_line(line.decode(errors='replace') + '\n')
            elif not alive:
                break
            else:
                time.sleep(self.poll)
        if partial:
            on_line(partial.decode(errors='replace'))
