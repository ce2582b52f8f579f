"""Run one training or evaluation step as a child process through mmengine's launchers.

Every step is its own process (``python -m tricks_mm.cli.train``, forked from a preloaded server
when it runs alone (:mod:`tricks_mm.ladder.warm_start`), under ``torchrun`` or ``srun`` when
distributed), so the ladder itself never holds a model, a GPU or a process group, and a
step that dies leaves the ladder able to report it and resume.
"""

import os
import subprocess
import sys
from collections import deque
from typing import Callable, Dict, List, Optional

from tricks_mm.ladder.spec import Launch
from tricks_mm.ladder.warm_start import WarmStarter, python_module


class StepFailed(RuntimeError):
    """A child step exited non-zero; the message holds the tail of its log."""


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
    warm: Optional[WarmStarter] = None,
) -> None:
    """Run ``cmd``, appending its output to ``log_path``; ``on_line`` sees every output line
    (the ladder's progress inside the step, :mod:`tricks_mm.ladder.progress`); ``env``: variables
    set for the child on top of this process's environment; ``warm``: fork a ``python -m``
    command from that preloaded server instead of starting an interpreter
    (:mod:`tricks_mm.ladder.warm_start`).

    Raises:
        StepFailed: non-zero exit; the message names the log and quotes its last lines.
    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    tail: deque = deque(maxlen=25)

    def seen(line: str) -> None:
        tail.append(line)
        if echo:
            sys.stdout.write(line)
        if on_line is not None:
            on_line(line)

    # unbuffered child: the log shows progress as it happens, not in 8 KiB blocks
    child_env = dict(os.environ, **(env or {}), PYTHONUNBUFFERED='1')
    with open(log_path, 'a') as log:
        log.write(f'$ {" ".join(cmd)}\n')
        log.flush()
        if warm is not None and python_module(cmd) is not None:
            code = warm.run(cmd, log_path, seen, child_env)
        else:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                env=child_env,
            )
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    log.write(line)
                    seen(line)
            except BaseException:  # the ladder stopped watching (an error, Ctrl-C)
                proc.kill()
                raise
            finally:
                code = proc.wait()
    if code != 0:
        raise StepFailed(
            f'{" ".join(cmd[:6])} ... exited with {code}; full log: {log_path}\n' + ''.join(tail)
        )
