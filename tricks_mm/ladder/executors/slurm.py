"""Run a ladder's plan as Slurm jobs: one ``sbatch`` job per step, with the plan's dependencies.

Every step that is not recorded becomes a job named ``tricks_mm:<ladder>:<step>``, submitted
with ``--dependency=afterok:<the jobs of the steps it reads>`` and ``--kill-on-invalid-dep=yes``
(a failed step's dependents are cancelled instead of pending forever with reason
``DependencyNeverSatisfied``); a last job, ``afterany`` on all of them, writes the report. A job
runs ``python -m tricks_mm.cli.ladder LADDER --run-step STEP`` (:func:`run_step`): the step is
planned and run there exactly as the local executor plans and runs it
(:mod:`tricks_mm.ladder.plan`), and writes its own record when it succeeds, so resume,
``--report-only`` and the report work unchanged. A multi-GPU or multi-node step
(``launcher='slurm'``) gets an allocation of ``nnodes`` x ``nproc_per_node`` tasks and starts its
processes with ``srun`` inside it, through mmengine's slurm launcher.

``sbatch`` is called directly rather than through ``submitit``: the ladder's steps are
already command lines with their own records, so submitit's pickled callables and result files
would be a second record of each step; submitit reads job states with ``sacct``, which needs
Slurm's accounting daemon (absent on small clusters and on the local test cluster), while
``squeue``/``scontrol`` answer from the controller; and it would be a new dependency for what
is one ``sbatch --parsable`` call per step. Job scripts, Slurm's output of each job and the job
ids submitted (``jobs.json``, to resubmit idempotently) live under ``<work_dir>/slurm/``.
"""

import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.ladder.executors.local import steps_stop_with_the_ladder
from tricks_mm.ladder.plan import TASK_OF, LadderPlan, StepRuntime
from tricks_mm.ladder.spec import TASKS, LadderSpec, Launch
from tricks_mm.ladder.step import Step

#: Job states in which a job will still produce its step's record (it is not resubmitted).
LIVE_STATES = {
    'PENDING',
    'CONFIGURING',
    'RUNNING',
    'COMPLETING',
    'REQUEUED',
    'REQUEUE_FED',
    'REQUEUE_HOLD',
    'RESIZING',
    'RESV_DEL_HOLD',
    'SIGNALING',
    'STAGE_OUT',
    'STOPPED',
    'SUSPENDED',
}
#: sbatch options the executor sets itself (process counts come from the step's launch).
_OWN_OPTIONS = (
    '--nodes',
    '-N',
    '--ntasks',
    '-n',
    '--ntasks-per-node',
    '--dependency',
    '-d',
    '--job-name',
    '-J',
    '--output',
    '-o',
    '--error',
    '-e',
    '--kill-on-invalid-dep',
    '--chdir',
    '-D',
)
REPORT = '_report'


@dataclass
class SlurmOptions:
    """Where and with what each step's job runs (``ladder.executor``, with a task's own
    ``executor`` keys over it, as launch sizes are).

    Attributes:
        partition, account, qos, time: as ``sbatch --partition`` etc.; ``None``: the cluster's
            default.
        gpus_per_node: ``sbatch --gpus-per-node`` for the task's steps (convert steps, which run
            on CPU, get none).
        cpus_per_task: ``sbatch --cpus-per-task``.
        extra: further ``sbatch`` arguments, e.g. ``['--constraint=a100', '--mem=64G']``;
            never the process counts (``launch.nnodes`` / ``nproc_per_node`` give them).
    """

    partition: Optional[str] = None
    gpus_per_node: Optional[int] = None
    cpus_per_task: Optional[int] = None
    time: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    extra: List[str] = field(default_factory=list)


def executor_type(spec: LadderSpec, chosen: Optional[str] = None) -> str:
    """``chosen`` (``--executor``), else the ladder's ``executor.type``, else ``local``. The
    Slurm options of every task are checked here too, whichever executor runs, so a bad one is
    refused when the ladder starts, not when it is first submitted.

    Raises:
        ValueError: an unknown executor type, or a bad option (:func:`slurm_options`).
    """
    kind = chosen or spec.executor.get('type', 'local')
    if kind not in ('local', 'slurm'):
        raise ValueError(f"ladder.executor.type must be 'local' or 'slurm', got {kind!r}")
    for task in (*TASKS, None):
        slurm_options(spec, task)
    return kind


def slurm_options(spec: LadderSpec, task: Optional[str]) -> SlurmOptions:
    """The Slurm options of ``task``'s steps (``None``: convert steps and the report).

    Raises:
        ValueError: an unknown key, a bad value, or an ``extra`` argument the executor sets
            itself (the message names it and the fix).
    """
    allowed = sorted(SlurmOptions.__dataclass_fields__)
    layers = [('ladder.executor', {k: v for k, v in spec.executor.items() if k != 'type'})]
    if task is not None:
        own = getattr(spec, task).executor
        if 'type' in own:
            raise ValueError(
                f'ladder.{task}.executor sets type={own["type"]!r}: the executor is one for the '
                'whole ladder (ladder.executor.type or --executor)'
            )
        layers.append((f'ladder.{task}.executor', own))
    merged: Dict[str, Any] = {}
    where: Dict[str, str] = {}  # the dict each value comes from, for the errors
    for name, raw in layers:
        unknown = set(raw) - set(allowed)
        if unknown:
            raise ValueError(f'{name} has unknown keys {sorted(unknown)}; allowed: {allowed}')
        merged.update(raw)
        where.update({k: name for k in raw})
    options = SlurmOptions(**merged)
    for name in ('gpus_per_node', 'cpus_per_task'):
        value = getattr(options, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f'{where[name]}.{name} must be an int >= 1, got {value!r}')
    if not isinstance(options.extra, (list, tuple)):
        raise ValueError(
            f'{where["extra"]}.extra must be a list of sbatch arguments, got {options.extra!r}'
        )
    for arg in options.extra:
        if str(arg).split('=')[0] in _OWN_OPTIONS:
            raise ValueError(
                f'{where["extra"]}.extra: {arg!r} is set by the ladder (process counts: '
                f'ladder.<task>.launch nnodes / nproc_per_node; dependencies, names and logs: '
                'the plan); remove it'
            )
    return options


def resources(launch: Launch, options: SlurmOptions, gpus: bool = True) -> List[str]:
    """The ``sbatch`` resource arguments of a step launched as ``launch``: ``srun`` steps get
    their tasks in the allocation (``launch.command`` runs ``srun`` inside it); torchrun and
    single-process steps one task, whose processes torchrun starts on the node."""
    if launch.launcher == 'slurm':
        args = [f'--nodes={launch.nnodes}', f'--ntasks-per-node={launch.nproc_per_node}']
    else:
        args = ['--nodes=1', '--ntasks=1']
    for name in ('partition', 'cpus_per_task', 'time', 'account', 'qos'):
        value = getattr(options, name)
        if value is not None:
            args.append(f'--{name.replace("_", "-")}={value}')
    if gpus and options.gpus_per_node is not None:
        args.append(f'--gpus-per-node={options.gpus_per_node}')
    return args + [str(a) for a in options.extra]


def _slurm(args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run a Slurm command; a missing one is refused with the fix."""
    try:
        done = subprocess.run(list(args), capture_output=True, text=True)
    except FileNotFoundError as error:
        raise RuntimeError(
            f'{args[0]} not found: the Slurm executor runs on a machine with the Slurm client '
            '(sbatch, squeue, scontrol, scancel); on one without, use --executor local'
        ) from error
    if check and done.returncode != 0:
        raise RuntimeError(f'{" ".join(args)} failed ({done.returncode}): {done.stderr.strip()}')
    return done


@dataclass
class JobInfo:
    state: str
    reason: str = ''
    node: str = ''
    exit_code: str = ''


def job_states(job_ids: Sequence[str]) -> Dict[str, JobInfo]:
    """What the controller knows of ``job_ids`` (``squeue --states=all``: finished jobs stay
    known for the cluster's ``MinJobAge``), then ``sacct`` for the others where accounting
    runs; the exit code of failed jobs from ``scontrol``. Jobs neither knows are left out."""
    ids = [str(j) for j in job_ids]
    if not ids:
        return {}
    out: Dict[str, JobInfo] = {}
    listed = _slurm(
        ['squeue', '--noheader', '--states=all', f'--jobs={",".join(ids)}', '--format=%i|%T|%r|%N'],
        check=False,
    )
    for line in listed.stdout.splitlines():
        job, state, reason, node = line.strip().split('|')
        out[job] = JobInfo(state, '' if reason == 'None' else reason, node)
    rest = [j for j in ids if j not in out]
    if rest:
        acct = _slurm(
            ['sacct', '--noheader', '--parsable2', '--allocations', f'--jobs={",".join(rest)}',
             '--format=JobIDRaw,State,ExitCode,NodeList'],
            check=False,
        )  # fmt: skip
        for line in acct.stdout.splitlines() if acct.returncode == 0 else []:
            job, state, code, node = line.strip().split('|')
            out[job] = JobInfo(state.split()[0], '', node, code)
    for job, info in out.items():
        if info.state in ('FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'TIMEOUT') and not info.exit_code:
            shown = _slurm(['scontrol', 'show', 'job', '--oneliner', job], check=False).stdout
            fields = dict(f.split('=', 1) for f in shown.split() if '=' in f)
            info.exit_code = fields.get('ExitCode', '')
    return out


class SlurmExecutor:
    """Submits the plan's steps as Slurm jobs; reports and cancels them.

    Args:
        plan: the ladder's plan.
        entry: the module each job runs (``python -m ENTRY LADDER --run-step STEP``).
    """

    def __init__(self, plan: LadderPlan, entry: str = 'tricks_mm.cli.ladder') -> None:
        self.plan = plan
        self.spec = plan.spec
        self.entry = entry
        self.root = osp.abspath(osp.join(self.spec.work_dir, 'slurm'))
        self.options = {task: slurm_options(self.spec, task) for task in (*TASKS, None)}
        #: after :meth:`submit`: the job that will record each step not yet recorded
        self.queued: Dict[str, str] = {}

    # -- the jobs this ladder submitted --------------------------------------------------------
    @property
    def _jobs_file(self) -> str:
        return osp.join(self.root, 'jobs.json')

    def submitted(self) -> Dict[str, str]:
        """The job id last submitted for each step (and ``_report``)."""
        if not osp.isfile(self._jobs_file):
            return {}
        with open(self._jobs_file) as f:
            return json.load(f)

    def _save(self, jobs: Dict[str, str]) -> None:
        os.makedirs(self.root, exist_ok=True)
        atomic_write_bytes(json.dumps(jobs, indent=2, sort_keys=True).encode(), self._jobs_file)

    def _to_run(self) -> Tuple[List[Step], List[Step]]:
        """(recorded steps, steps to run): a step is recorded when what it reads is recorded
        and its own key's record is there; every step that reads a step to run runs too."""
        recorded, to_run = [], []
        for step in self.plan.steps():
            if all(d in self.plan.results for d in self.plan.depends_on(step)):
                planned = self.plan.prepare(step)
                if planned.record is not None:
                    self.plan.results[step.step_id] = planned.record
                    recorded.append(step)
                    continue
            to_run.append(step)
        return recorded, to_run

    # -- submit ----------------------------------------------------------------------------------
    def submit(self) -> Dict[str, str]:
        """Submit every step that is neither recorded nor already queued or running, and the
        report job; the job ids newly submitted, by step id (empty: nothing to do)."""
        _, to_run = self._to_run()
        jobs = self.submitted()
        states = job_states([jobs[s.step_id] for s in to_run if s.step_id in jobs])
        job_of: Dict[str, str] = {}
        new: Dict[str, str] = {}
        for step in to_run:
            sid = step.step_id
            parents = [job_of[d] for d in self.plan.depends_on(step) if d in job_of]
            old = jobs.get(sid)
            live = old is not None and old in states and states[old].state in LIVE_STATES
            if live and not any(p in new.values() for p in parents):
                job_of[sid] = old  # queued or running: it will write the record
                continue
            if live:  # it waits on a job that is being replaced
                _slurm(['scancel', old])
            job_of[sid] = new[sid] = self._sbatch(
                sid,
                [sys.executable, '-m', self.entry, *self._ladder_args(), '--run-step', sid],
                resources(
                    self.plan.launch_of(step),
                    self.options[TASK_OF[step.kind]],
                    gpus=step.kind != 'convert',
                ),
                ('afterok', parents),
            )
            self._save({**jobs, **new})  # at once: a later sbatch that fails loses no job id
        self.queued = job_of
        if job_of:
            old = jobs.get(REPORT)
            report_live = old is not None and job_states([old]).get(old, JobInfo('')).state in (
                LIVE_STATES
            )
            if new or not report_live:
                if report_live:  # one report job, after every step: the new one replaces it
                    _slurm(['scancel', old])
                new[REPORT] = self._sbatch(
                    REPORT,
                    [sys.executable, '-m', self.entry, *self._ladder_args(), '--report-only'],
                    resources(Launch(), self.options[None], gpus=False),
                    ('afterany', sorted(set(job_of.values()), key=int)),
                )
        self._save({**jobs, **new})
        return new

    def _ladder_args(self) -> List[str]:
        args = [osp.abspath(self.spec.source), '--work-dir', osp.abspath(self.spec.work_dir)]
        return args + (['--reuse-stale'] if self.plan.reuse_stale else [])

    def _sbatch(
        self,
        name: str,
        command: List[str],
        resource_args: List[str],
        dependency: Tuple[str, List[str]],
    ) -> str:
        """Write the job script of ``name`` into its folder and submit it; its job id."""
        folder = osp.join(self.root, name)
        os.makedirs(folder, exist_ok=True)
        script = osp.join(folder, 'job.sh')
        with open(script, 'w') as f:
            f.write(
                '#!/bin/bash\n'
                f'# ladder {self.spec.name}, {name}: written by tricks_mm.ladder.executors.slurm\n'
                f'exec {shlex.join(command)}\n'
            )
        kind, parents = dependency
        args = [
            'sbatch',
            '--parsable',
            f'--job-name=tricks_mm:{self.spec.name}:{name}',
            f'--output={osp.join(folder, "slurm-%j.out")}',
            f'--chdir={os.getcwd()}',
            '--kill-on-invalid-dep=yes',
            *([f'--dependency={kind}:{":".join(parents)}'] if parents else []),
            *resource_args,
            script,
        ]
        return _slurm(args).stdout.strip().split(';')[0]

    # -- status and cancel -----------------------------------------------------------------------
    def status(self) -> List[Dict[str, str]]:
        """One row per step: ``step``, ``state`` (recorded / pending / running / failed /
        cancelled / not submitted / ...), ``job``, ``detail`` (Slurm's reason, the node, or the
        exit code and the job's log)."""
        recorded, to_run = self._to_run()
        jobs = self.submitted()
        states = job_states([jobs[s.step_id] for s in to_run if s.step_id in jobs])
        rows = []
        for step in self.plan.steps():
            sid = step.step_id
            if step in recorded:
                rows.append(dict(step=sid, state='recorded', job='', detail=''))
                continue
            job = jobs.get(sid, '')
            info = states.get(job)
            if info is None:
                state = 'not submitted' if not job else 'unknown (forgotten by Slurm)'
                rows.append(dict(step=sid, state=state, job=job, detail=''))
                continue
            log = osp.join(self.root, sid, f'slurm-{job}.out')
            detail = {
                'PENDING': info.reason,
                'RUNNING': f'on {info.node}',
                'FAILED': f'exit code {info.exit_code}; log {log}',
                'CANCELLED': info.reason,
                'COMPLETED': 'finished, no record (its inputs changed since?)',
            }.get(info.state, f'{info.reason} {log}'.strip())
            rows.append(dict(step=sid, state=info.state.lower(), job=job, detail=detail))
        return rows

    def cancel(self) -> List[str]:
        """Cancel this ladder's queued and running jobs; their ids."""
        jobs = self.submitted()
        states = job_states(list(jobs.values()))
        live = [j for j in jobs.values() if j in states and states[j].state in LIVE_STATES]
        if live:
            _slurm(['scancel', *live])
        return live


def format_status(rows: List[Dict[str, str]]) -> str:
    """``--status`` as a table."""
    header = dict(step='step', state='state', job='job', detail='detail')
    widths = {k: max(len(r[k]) for r in [header, *rows]) for k in ('step', 'state', 'job')}
    return '\n'.join(
        f'{r["step"]:<{widths["step"]}}  {r["state"]:<{widths["state"]}}  '
        f'{r["job"]:<{widths["job"]}}  {r["detail"]}'.rstrip()
        for r in [header, *rows]
    )


def run_step(plan: LadderPlan, step_id: str) -> Dict[str, Any]:
    """What a step's job runs: plan ``step_id`` (what it reads must be recorded), run it as the
    local executor would, record it; its record. Already recorded: nothing runs."""
    planned = plan.resolve(step_id)
    if planned.record is not None:
        print(f'[ladder {plan.spec.name}] {step_id} is recorded: nothing to run', flush=True)
        return planned.record
    print(f'[ladder {plan.spec.name}] {step_id}: running in {planned.step_dir}', flush=True)
    with steps_stop_with_the_ladder():
        record = planned.run(StepRuntime(label=step_id))
    print(f'[ladder {plan.spec.name}] {step_id}: recorded', flush=True)
    return record
