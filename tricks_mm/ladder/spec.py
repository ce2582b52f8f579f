"""The ladder file: which rungs, which downstream designs, at which scale, how to launch.

A ladder file is an mmengine config (Python) with one dict ``ladder``; see
``configs/ladders/`` for the paper-scale ladder and the toy demo. Validation happens here, before
anything runs, with errors that name the bad field. Config paths are written as in the checkout
(``configs/...``) and resolve to the installed package's copy when the current directory has
none (:func:`tricks_mm.utils.paths.resolve_config`).
"""

import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from mmengine.config import Config

from tricks_mm.ladder.claims import check_requested
from tricks_mm.ladder.data import check_fashion_mnist_data, check_synthetic_data
from tricks_mm.ladder.step import slug
from tricks_mm.utils.paths import resolve_config

#: Metric keys the hosts report, and the report column each one fills.
METRIC_KEYS = {
    'classify': {'top1': 'accuracy/top1'},
    'detect': {'mAP': 'voc07/mAP'},
    'segment': {'pixAcc': 'aAcc', 'mIoU': 'mIoU'},
}
TASKS = ('classify', 'detect', 'segment')


@dataclass
class TaskSpec:
    """How one task of the protocol is run for every rung.

    Attributes:
        config: the config file; for classification, the rung's own config replaces it, and
            if given, its test set evaluates the classifiers of checkpoint rungs.
        overlays: config files merged over it (e.g. the toy data overlay).
        cfg_options: final key overrides, as ``--cfg-options``.
        epoch_scale: shrink factor for epoch-based schedules (classification at toy scale).
        auto_scale_lr: scale the LR linearly with the total batch (``--auto-scale-lr``).
            Without it the total batch (per-process batch x processes) must equal the config's
            reference ``auto_scale_lr.base_batch_size``, or the step is refused
            (:mod:`tricks_mm.ladder.batch`).
        launch: keys of :class:`Launch` overriding the ladder's ``launch`` for this task, e.g.
            ``dict(nproc_per_node=4)`` for mmseg's 4 GPUs x 4 images FCN in an 8-GPU ladder.
        executor: Slurm options overriding the ladder's ``executor`` for this task's steps
            (:class:`tricks_mm.ladder.executors.slurm.SlurmOptions`).
        data_root: not a ladder-file key: ``ladder.synthetic_data.out`` (or
            ``fashion_mnist_data.out``), set by
            :func:`load_ladder`, where this task's step configs read their data
            (:mod:`tricks_mm.ladder.data`).
        val_interval: validate every this many epochs (iterations for an iteration-based
            schedule) during training, recording the learning curve in the step's logs;
            ``None``: no validation during training, only the final test evaluation.
    """

    config: Optional[str] = None
    overlays: List[str] = field(default_factory=list)
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    epoch_scale: Optional[float] = None
    auto_scale_lr: bool = False
    launch: Dict[str, Any] = field(default_factory=dict)
    executor: Dict[str, Any] = field(default_factory=dict)
    val_interval: Optional[int] = None
    data_root: Optional[str] = None


#: TaskSpec fields a ladder file may set (``data_root`` comes from the ladder's data ``out``).
_TASK_KEYS = sorted(set(TaskSpec.__dataclass_fields__) - {'data_root'})


@dataclass
class Rung:
    """One rung of the ladder: a classifier recipe (or none) and the paper's numbers for it.

    Attributes:
        name: label in the report.
        key: stable identifier the claims use (:mod:`tricks_mm.ladder.claims`, e.g.
            ``d_efficient``), so renaming a rung never silently untests a claim.
        cls_config: classification config; ``None`` = the "no pretraining" control.
        cls_options: extra overrides for this rung's classifier (e.g. a toy teacher's depth).
        teacher: name of the rung whose classifier is this rung's distillation teacher.
        paper: the paper's numbers for this rung (keys top1, mAP, pixAcc, mIoU), if any.
        paper_approx: the keys of ``paper`` that are approximate (recalled, not checked against
            the paper; the report marks them).
        report: False for helper rungs (teachers) that are trained but not reported.
        transfer: False for rungs only used as teachers (no detection/segmentation).
        checkpoint: a published classifier (timm / torchvision / mmpretrain file) used instead
            of training ``cls_config``: the ladder imports it (``tools/transfer.py import``) and
            reports ``top1`` as published.
        source: the library that wrote ``checkpoint`` (``timm``, ``torchvision``,
            ``mmpretrain`` or ``auto``).
        arch: the architecture name confirming the import (e.g. ``resnet50d.gluon_in1k``).
        top1: the published top-1 of ``checkpoint``.
        ema: import the EMA weights of a timm ``train.py`` checkpoint.
        shared: train this rung once, with the ladder's first seed, and let the students of
            every seed distil from it, as the paper distils every student from one pre-trained
            teacher; only for rungs with ``transfer=False`` (teachers). The seeds then measure
            the students' variation with the teacher held fixed (the report says so).
    """

    name: str
    key: Optional[str] = None
    cls_config: Optional[str] = None
    cls_options: Dict[str, Any] = field(default_factory=dict)
    teacher: Optional[str] = None
    paper: Dict[str, float] = field(default_factory=dict)
    paper_approx: List[str] = field(default_factory=list)
    report: bool = True
    transfer: bool = True
    checkpoint: Optional[str] = None
    source: str = 'auto'
    arch: Optional[str] = None
    top1: Optional[float] = None
    ema: bool = False
    shared: bool = False


@dataclass
class Launch:
    """How each training/evaluation step is launched (mmengine launchers, never our own).

    ``none``: one process. ``pytorch``: ``torchrun --nproc_per_node N --nnodes M`` (+ rendezvous
    from ``torchrun_args``). ``slurm``: ``srun --nodes M --ntasks-per-node N`` (+ ``srun_args``).
    The process count lives in ``nnodes`` x ``nproc_per_node`` only (never in the extra args), so
    the ladder knows every step's world size and total batch.
    """

    launcher: str = 'none'
    nproc_per_node: int = 1
    nnodes: int = 1
    torchrun_args: List[str] = field(default_factory=list)
    srun_args: List[str] = field(default_factory=list)

    @property
    def world_size(self) -> int:
        """Processes of one step (1 for ``none``)."""
        return 1 if self.launcher == 'none' else self.nproc_per_node * self.nnodes


#: Extra launcher arguments that would change the process count behind the ladder's back.
_SIZE_ARGS = (
    '--nproc_per_node',
    '--nproc-per-node',
    '--nnodes',
    '--nodes',
    '-N',
    '--ntasks',
    '-n',
    '--ntasks-per-node',
    '--tasks-per-node',
)


def make_launch(raw: Dict[str, Any], where: str) -> Launch:
    """A validated :class:`Launch` from its dict (``where`` names it in errors)."""
    unknown = set(raw) - set(Launch.__dataclass_fields__)
    _require(
        not unknown,
        f'{where} has unknown keys {sorted(unknown)}; '
        f'allowed: {sorted(Launch.__dataclass_fields__)}',
    )
    launch = Launch(**raw)
    _require(
        launch.launcher in ('none', 'pytorch', 'slurm'),
        f"{where}.launcher must be 'none', 'pytorch' or 'slurm', got {launch.launcher!r}",
    )
    for name in ('nproc_per_node', 'nnodes'):
        value = getattr(launch, name)
        _require(
            isinstance(value, int) and not isinstance(value, bool) and value >= 1,
            f'{where}.{name} must be an int >= 1, got {value!r}',
        )
    _require(
        launch.launcher != 'pytorch' or launch.nnodes == 1,
        f"{where}: launcher='pytorch' with nnodes={launch.nnodes}: the ladder starts torchrun "
        'on one node only; run multi-node steps as Slurm jobs (--executor slurm) with '
        "launcher='slurm', which starts each node's processes with srun",
    )
    for arg in list(launch.torchrun_args) + list(launch.srun_args):
        _require(
            str(arg).split('=')[0] not in _SIZE_ARGS,
            f'{where}: {arg!r} in torchrun_args/srun_args sets the process count; use '
            f'{where}.nproc_per_node / {where}.nnodes instead',
        )
    return launch


def task_launch(spec: 'LadderSpec', task: str) -> Launch:
    """The launch of ``task`` (``classify``/``detect``/``segment``): the ladder's, with the
    task's own ``launch`` keys over it."""
    overrides = getattr(spec, task).launch
    merged = {k: getattr(spec.launch, k) for k in Launch.__dataclass_fields__}
    return make_launch({**merged, **overrides}, f'ladder.{task}.launch')


@dataclass
class LadderSpec:
    """A validated ladder file.

    ``jobs``: steps run side by side on this machine (single-process launches only).
    ``executor``: ``type`` (``local`` or ``slurm``) and the Slurm options of every step
    (:mod:`tricks_mm.ladder.executors.slurm`, validated there).
    """

    name: str
    work_dir: str
    rungs: List[Rung]
    classify: TaskSpec
    detect: TaskSpec
    segment: TaskSpec
    seeds: List[int] = field(default_factory=lambda: [0])
    launch: Launch = field(default_factory=Launch)
    synthetic_data: Optional[Dict[str, Any]] = None
    fashion_mnist_data: Optional[Dict[str, Any]] = None
    source: str = ''
    jobs: int = 1
    executor: Dict[str, Any] = field(default_factory=dict)
    #: the claim ids to decide (``None``: every claim, untested where rungs are absent)
    claims: Optional[List[str]] = None


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _task(raw: Dict[str, Any], name: str, needs_config: bool) -> TaskSpec:
    unknown = set(raw) - set(_TASK_KEYS)
    _require(
        not unknown,
        f'ladder.{name} has unknown keys {sorted(unknown)}; allowed: {_TASK_KEYS}',
    )
    spec = TaskSpec(**raw)
    if spec.config is not None:
        spec.config = resolve_config(spec.config)
    spec.overlays = [resolve_config(path) for path in spec.overlays]
    if needs_config:
        _require(spec.config is not None, f'ladder.{name}.config is required')
    _require(
        spec.val_interval is None
        or (
            isinstance(spec.val_interval, int)
            and not isinstance(spec.val_interval, bool)
            and spec.val_interval >= 1
        ),
        f'ladder.{name}.val_interval must be an int >= 1 or None, got {spec.val_interval!r}',
    )
    for path in ([spec.config] if spec.config else []) + list(spec.overlays):
        _require(osp.isfile(path), f'ladder.{name}: config file {path!r} does not exist')
    return spec


#: Where docs/transfer.md ("Bring your own classifier") lists the published files.
_DOWNLOAD_HINT = 'download it first (docs/transfer.md, "Bring your own classifier")'


def _check_checkpoint_rung(rung: Rung) -> None:
    _require(
        rung.cls_config is None,
        f'rung {rung.name!r} names both cls_config and checkpoint: a rung either trains a '
        'classifier or imports a published one',
    )
    _require(
        rung.teacher is None,
        f'rung {rung.name!r}: a checkpoint rung is not trained, so it takes no teacher',
    )
    _require(
        rung.source in ('auto', 'timm', 'torchvision', 'mmpretrain'),
        f"rung {rung.name!r}: source must be 'auto', 'timm', 'torchvision' or "
        f"'mmpretrain', got {rung.source!r}",
    )
    _require(
        osp.isfile(rung.checkpoint),
        f'rung {rung.name!r}: checkpoint {rung.checkpoint!r} does not exist; ' + _DOWNLOAD_HINT,
    )


def load_ladder(path: str, work_dir: Optional[str] = None) -> LadderSpec:
    """Read and validate a ladder file.

    Raises:
        ValueError: a field is missing, unknown or inconsistent (the message names it).
        FileNotFoundError: the ladder file does not exist.
    """
    path = resolve_config(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'ladder file {path!r} does not exist')
    raw = Config.fromfile(path).to_dict().get('ladder')
    _require(isinstance(raw, dict), f'{path} must define a dict named `ladder`')
    raw = dict(raw)
    name = raw.pop('name', osp.splitext(osp.basename(path))[0])
    rungs = _rungs(raw.pop('rungs', []), raw.pop('rung_options', {}), path)
    _require(bool(rungs), f'{path}: ladder.rungs is empty')
    names = [r.name for r in rungs]
    _require(len(set(names)) == len(names), f'{path}: rung names repeat: {names}')
    _check_unique_ids(names, path)
    keys = [r.key for r in rungs if r.key is not None]
    _require(len(set(keys)) == len(keys), f'{path}: rung keys repeat: {keys}')
    claim_ids = raw.pop('claims', None)
    if claim_ids is not None:
        claim_ids = [str(c) for c in claim_ids]
        ranked = [r for r in rungs if r.report and r.transfer and (r.cls_config or r.checkpoint)]
        reported = [r.key for r in rungs if r.key is not None and r.report]  # what claims see
        check_requested(reported, claim_ids, ranked=len(ranked))
    for rung in rungs:
        if rung.cls_config is not None:
            rung.cls_config = resolve_config(rung.cls_config)
            _require(
                osp.isfile(rung.cls_config),
                f'rung {rung.name!r}: cls_config {rung.cls_config!r} does not exist',
            )
        if rung.checkpoint is not None:
            _check_checkpoint_rung(rung)
        else:
            stray = [
                k
                for k in ('source', 'arch', 'top1', 'ema')
                if getattr(rung, k) != Rung.__dataclass_fields__[k].default
            ]
            _require(not stray, f'rung {rung.name!r} sets {stray} but no checkpoint')
        _require(
            not rung.shared or not rung.transfer,
            f'rung {rung.name!r}: shared=True is for teachers (transfer=False): a transferred '
            'rung needs its own classifier per seed',
        )
        if rung.teacher is not None:
            _require(
                rung.teacher in names and rung.teacher != rung.name,
                f'rung {rung.name!r}: teacher {rung.teacher!r} is not another rung '
                f'(rungs: {names})',
            )
            _require(
                names.index(rung.teacher) < names.index(rung.name),
                f'rung {rung.name!r}: its teacher {rung.teacher!r} must come earlier',
            )
            teacher = rungs[names.index(rung.teacher)]
            _require(
                teacher.cls_config is not None or teacher.checkpoint is not None,
                f'rung {rung.name!r}: its teacher {rung.teacher!r} has no classifier '
                '(give it a cls_config or a checkpoint)',
            )
        unknown = set(rung.paper) - {'top1', 'mAP', 'pixAcc', 'mIoU'}
        _require(not unknown, f'rung {rung.name!r}: unknown paper metrics {sorted(unknown)}')
        stray = set(rung.paper_approx) - set(rung.paper)
        _require(
            not stray,
            f'rung {rung.name!r}: paper_approx names {sorted(stray)}, which '
            f'are not in its paper numbers {sorted(rung.paper)}',
        )
    launch = make_launch(raw.pop('launch', {}), 'ladder.launch')
    seeds = list(raw.pop('seeds', [0]))
    _require(
        bool(seeds) and all(isinstance(s, int) for s in seeds),
        f'ladder.seeds must be a non-empty list of ints, got {seeds!r}',
    )
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    _require(
        not repeated,
        f'ladder.seeds repeats {repeated} ({seeds!r}): two runs of one seed would share a step '
        'directory and record; list each seed once',
    )
    executor = raw.pop('executor', {})
    _require(isinstance(executor, dict), f'ladder.executor must be a dict, got {executor!r}')
    jobs = raw.pop('jobs', 1)
    spec = LadderSpec(
        name=name,
        work_dir=work_dir or raw.pop('work_dir', osp.join('work_dirs', name)),
        rungs=rungs,
        classify=_task(raw.pop('classify', {}), 'classify', needs_config=False),
        detect=_task(raw.pop('detect', {}), 'detect', needs_config=True),
        segment=_task(raw.pop('segment', {}), 'segment', needs_config=True),
        seeds=seeds,
        launch=launch,
        synthetic_data=check_synthetic_data(raw.pop('synthetic_data', None)),
        fashion_mnist_data=check_fashion_mnist_data(raw.pop('fashion_mnist_data', None)),
        source=path,
        jobs=jobs,
        executor=executor,
        claims=claim_ids,
    )
    raw.pop('work_dir', None)
    _require(not raw, f'{path}: unknown ladder keys {sorted(raw)}')
    _require(
        spec.synthetic_data is None or spec.fashion_mnist_data is None,
        f'{path}: ladder.synthetic_data and ladder.fashion_mnist_data are both given; a ladder '
        'reads one data source: keep one',
    )
    data = spec.synthetic_data or spec.fashion_mnist_data
    for task in TASKS:
        task_launch(spec, task)  # a bad per-task launch fails here, before anything runs
        if data is not None:
            getattr(spec, task).data_root = data['out']
    check_jobs(spec, spec.jobs)
    return spec


def _check_unique_ids(names: List[str], path: str) -> None:
    """Rung names whose step ids (:func:`tricks_mm.ladder.step.slug`) coincide are refused:
    their steps would share one directory and one record."""
    empty = [n for n in names if not slug(n)]
    _require(not empty, f'{path}: rung names {empty} have no letter or digit for a step id')
    by_slug: Dict[str, List[str]] = {}
    for name in names:
        by_slug.setdefault(slug(name), []).append(name)
    clashes = {s: n for s, n in by_slug.items() if len(n) > 1}
    _require(
        not clashes,
        f'{path}: rung names {" / ".join(repr(n) for ns in clashes.values() for n in ns)} give the '
        f'same step id ({", ".join(repr(s) for s in clashes)}; ids keep letters and digits '
        'only): rename one',
    )


def check_jobs(spec: LadderSpec, jobs: Any, where: str = 'ladder.jobs') -> None:
    """``jobs`` (named ``where`` in errors) is an int >= 1, and above 1 only for one machine's
    cores (``launcher='none'``): a distributed step's processes are placed by torchrun/srun,
    which know nothing of the other steps."""
    _require(
        isinstance(jobs, int) and not isinstance(jobs, bool) and jobs >= 1,
        f'{where} must be an int >= 1, got {jobs!r}',
    )
    if jobs == 1:
        return
    distributed = [t for t in TASKS if task_launch(spec, t).launcher != 'none']
    _require(
        not distributed,
        f'jobs={jobs} runs steps side by side on this machine, but the {distributed} steps are '
        'launched by torchrun/srun; use jobs=1 (their processes parallelise each step)',
    )


def _rungs(raw_rungs: List[Dict[str, Any]], options: Dict[str, Any], path: str) -> List[Rung]:
    """The rungs, with ``ladder.rung_options`` merged into the named ones.

    mmengine merges a base config's lists wholesale, so a ladder that composes a shared rung
    list (``configs/ladders/_base_/section6_rungs.py``) changes one rung here, by name:
    ``rung_options={'teacher': {'cls_options': {...}}}`` (``cls_options`` merge key by key,
    other fields are replaced).
    """
    rungs = [dict(r) for r in raw_rungs]
    by_name = {r.get('name'): r for r in rungs}
    _require(isinstance(options, dict), f'{path}: ladder.rung_options must be a dict by rung name')
    unknown = set(options) - set(by_name)
    _require(
        not unknown,
        f'{path}: ladder.rung_options names {sorted(unknown)}, which are not rungs '
        f'(rungs: {list(by_name)})',
    )
    for name, changes in options.items():
        _require('name' not in changes, f'{path}: rung_options cannot rename rung {name!r}')
        target = by_name[name]
        for key, value in changes.items():
            if key == 'cls_options':
                value = {**target.get('cls_options', {}), **value}
            target[key] = value
    fields = set(Rung.__dataclass_fields__)
    for rung in rungs:
        bad = set(rung) - fields
        _require(
            not bad,
            f'{path}: rung {rung.get("name")!r} has unknown keys {sorted(bad)}; '
            f'allowed: {sorted(fields)}',
        )
    return [Rung(**r) for r in rungs]
