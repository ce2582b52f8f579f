"""Run a ladder's plan on this machine: its steps as child processes, up to ``jobs`` at a time.

A step starts once the steps it reads are recorded, in plan order (with several jobs,
classifiers first). Steps side by side are threads, each waiting on its own child process;
records are written by the thread whose step finished, each its own file. If a step fails, the
running ones still finish (and are recorded), nothing new starts, and the first failure is
raised. SIGTERM or SIGINT (Ctrl-C) to the ladder stops the running steps at once (their whole
process groups, :func:`tricks_mm.ladder.launch.stop_steps`), and ``kill -9`` of the ladder
reaches them through their parent-death signal: a resumed ladder never finds an orphan still
training in a step directory.
"""

import contextlib
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Dict, Iterator, List, Optional, Tuple

from tricks_mm.ladder import launch
from tricks_mm.ladder.plan import LadderPlan, StepRuntime
from tricks_mm.ladder.progress import LadderProgress
from tricks_mm.ladder.step import Step


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask: a container or ``taskset`` may
    allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def visible_gpus() -> List[str]:
    """The CUDA devices this process sees, as ``CUDA_VISIBLE_DEVICES`` names them."""
    import torch

    count = torch.cuda.device_count()
    if count == 0:
        return []
    listed = os.environ.get('CUDA_VISIBLE_DEVICES')
    if listed is None:
        return [str(i) for i in range(count)]
    return [d.strip() for d in listed.split(',') if d.strip()][:count]


def gpu_slices(jobs: int) -> List[Optional[str]]:
    """One ``CUDA_VISIBLE_DEVICES`` value per job, disjoint (``None`` each on a machine without
    GPUs): steps side by side would otherwise all land on ``cuda:0``.

    Raises:
        ValueError: fewer GPUs than jobs (the message gives the counts and the fixes).
    """
    gpus = visible_gpus() if jobs > 1 else []
    if not gpus:
        return [None] * jobs
    if len(gpus) < jobs:
        raise ValueError(
            f'jobs={jobs} runs {jobs} steps side by side, but {len(gpus)} GPU(s) are visible '
            f'({",".join(gpus)}): each step needs its own. Use jobs<={len(gpus)}, or run the '
            'steps as Slurm jobs (--executor slurm)'
        )
    per = len(gpus) // jobs
    return [','.join(gpus[i * per : (i + 1) * per]) for i in range(jobs)]


@contextlib.contextmanager
def steps_stop_with_the_ladder() -> Iterator[None]:
    """While it is open: SIGTERM ends the ladder as SIGINT does (an exception in its main
    thread, so the executor unwinds); on leaving it, however it is left, every running step's
    process group is killed. Signal handlers can only be set from the main thread: elsewhere
    the steps are still stopped on leaving."""

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main else None
    launch.accept_steps()
    try:
        yield
    finally:
        launch.stop_steps()
        if main:
            signal.signal(signal.SIGTERM, previous)


class LocalExecutor:
    """Runs every step of ``plan`` not yet recorded, up to ``plan.spec.jobs`` at a time.

    ``echo``: stream every step's log to the console.
    """

    def __init__(self, plan: LadderPlan, echo: bool = False) -> None:
        self.plan = plan
        self.echo = echo
        self.progress: Optional[LadderProgress] = None

    def run(self) -> Dict[str, Dict[str, Any]]:
        """Run the plan; the records of all its steps by id."""
        plan, jobs = self.plan, self.plan.spec.jobs
        os.makedirs(plan.spec.work_dir, exist_ok=True)
        free_gpus = gpu_slices(jobs)
        pending = plan.steps()
        self.progress = progress = LadderProgress(len(pending), plan.spec.name, jobs)
        running: Dict[Future, Tuple[Step, float, Optional[str]]] = {}
        failures: List[BaseException] = []
        try:
            # steps are stopped (the inner context) before the pool waits for its threads
            with ThreadPoolExecutor(max_workers=jobs) as pool, steps_stop_with_the_ladder():
                while pending or running:
                    order = self._by_priority(pending) if jobs > 1 else list(pending)
                    for step in order if not failures else []:
                        if len(running) >= jobs:
                            break
                        if not all(d in plan.results for d in plan.depends_on(step)):
                            continue
                        pending.remove(step)
                        progress.start(step, [step.kind] + [s.kind for s in pending])
                        try:
                            planned = plan.prepare(step)
                        except Exception as error:  # e.g. a refused batch: as a failed step
                            failures.append(error)
                            progress.fail(step, bool(running))
                            break
                        if planned.record is not None:
                            plan.results[step.step_id] = planned.record
                            progress.finish(step, None)
                            continue
                        gpus = free_gpus.pop()
                        runtime = StepRuntime(
                            env=self._child_env(gpus),
                            echo=self.echo,
                            # with steps side by side, each progress line names its step
                            label=step.kind if jobs == 1 else step.step_id,
                            ladder_eta=progress.eta,
                        )
                        running[pool.submit(planned.run, runtime)] = (step, time.time(), gpus)
                    if not running:
                        # after a failure nothing starts; else every step's inputs came first
                        assert failures or not pending, [s.step_id for s in pending]
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        step, started, gpus = running.pop(future)
                        free_gpus.append(gpus)
                        try:
                            plan.results[step.step_id] = future.result()
                        except BaseException as error:  # noqa: B036  (re-raised below)
                            failures.append(error)
                            progress.fail(step, bool(running))
                            continue
                        progress.finish(step, time.time() - started)
        finally:
            # every step thread has ended: steps may start again in this process (a next
            # ladder, or a step run directly through the plan)
            launch.accept_steps()
        if failures:
            raise failures[0]
        return plan.results

    @staticmethod
    def _by_priority(pending: List[Step]) -> List[Step]:
        """Classifiers before downstream steps, else plan order: a classifier unlocks three
        steps, so the ladder ends on short detection/segmentation pairs that fill both jobs
        rather than on one long classification beside an idle job."""
        return sorted(pending, key=lambda s: s.kind != 'classify')  # stable: plan order

    def _child_env(self, gpus: Optional[str]) -> Dict[str, str]:
        """Threads per step: with ``jobs`` steps side by side each gets its share of the cores
        (unless ``OMP_NUM_THREADS`` is set), so they do not oversubscribe them. On the 2-core
        development machine one toy Faster R-CNN step trains as fast on 1 thread as on 2, and
        two 1-thread steps side by side finish 1.7x the work of one (docs/benchmarks.md).
        ``gpus``: the step's own devices when several run side by side."""
        jobs = self.plan.spec.jobs
        env = {} if gpus is None else {'CUDA_VISIBLE_DEVICES': gpus}
        if jobs > 1 and 'OMP_NUM_THREADS' not in os.environ:
            env['OMP_NUM_THREADS'] = str(max(1, usable_cores() // jobs))
        return env
