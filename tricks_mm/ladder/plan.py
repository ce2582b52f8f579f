"""The plan of a ladder: its steps, what each reads, each step's key, launch and how it runs.

For each seed and rung: classify -> convert -> detect / segment. The plan knows which records
a step reads (:meth:`LadderPlan.depends_on`), builds the exact config it runs and hashes it with
its inputs into its key (:meth:`LadderPlan.prepare`), and runs and records one step
(:meth:`PlannedStep.run`). It runs nothing by itself: an executor takes the plan and decides
where and when each step runs (:mod:`tricks_mm.ladder.executors.local` on this machine,
:mod:`tricks_mm.ladder.executors.slurm` as Slurm jobs), so a step runs and is recorded the same
way under both.
"""

import json
import os
import os.path as osp
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from mmengine.config import Config

from tricks_mm.ladder import launch
from tricks_mm.ladder.batch import effective_batch
from tricks_mm.ladder.code_version import code_identity, code_version
from tricks_mm.ladder.curves import read_val_curve
from tricks_mm.ladder.data import data_identity
from tricks_mm.ladder.materialize import (
    classification_config,
    downstream_config,
    imported_eval_config,
    task_config_text,
)
from tricks_mm.ladder.progress import StepProgress
from tricks_mm.ladder.records import NO_HEAD, RecordBook, step_key, with_code, with_data
from tricks_mm.ladder.spec import METRIC_KEYS, LadderSpec, Launch, task_launch
from tricks_mm.ladder.step import Step, slug

KINDS = ('classify', 'convert', 'detect', 'segment')
#: the key :meth:`LadderPlan.current_keys` gives a step whose inputs are not current: no record
#: has it, so the report shows none of that step's records
NOT_CURRENT = 'inputs-not-current'

#: The task whose launch (and executor options) a step kind runs with; ``convert`` runs in
#: the executor's own process (a few tensors renamed, no child process).
TASK_OF = {'classify': 'classify', 'convert': None, 'detect': 'detect', 'segment': 'segment'}


# The transfer functions are imported when a step needs them: their imports (the models, the
# importers' libraries) cost every Slurm job of another step, and the ladder's start, ~4 s.
def convert_classifier(checkpoint: str, out: str, config: str, top1: Optional[float]):
    """:func:`tricks_mm.transfer.convert.convert_classifier`."""
    from tricks_mm.transfer.convert import convert_classifier as convert

    return convert(checkpoint, out, config, top1)


def import_classifier(*args: Any, **kwargs: Any) -> Dict[str, Any]:
    """:func:`tricks_mm.transfer.importers.import_classifier`."""
    from tricks_mm.transfer.importers import import_classifier as import_

    return import_(*args, **kwargs)


@dataclass
class StepRuntime:
    """What an executor gives a running step.

    Attributes:
        env: variables for the step's process on top of the executor's environment (its
            share of the cores, its GPUs).
        echo: stream the step's log to the console.
        label: how progress lines name the step.
        ladder_eta: the whole ladder's ETA text (:meth:`LadderProgress.eta`), if known.
    """

    env: Dict[str, str] = field(default_factory=dict)
    echo: bool = False
    label: str = ''
    ladder_eta: Optional[Callable] = None


@dataclass
class PlannedStep:
    """One step, ready to run: its key, and either its record (recorded: nothing to run) or
    how to run it."""

    step: Step
    key: str
    config_key: str
    inputs: List[str]
    step_dir: str
    book: RecordBook
    code: Dict[str, Any]
    record: Optional[Dict[str, Any]] = None
    execute: Optional[Callable[[str, StepRuntime], Dict[str, Any]]] = None

    def run(self, runtime: StepRuntime) -> Dict[str, Any]:
        """Run the step in its directory and write its record (atomically, once its outputs
        exist); the record."""
        assert self.execute is not None, f'{self.step.step_id} is recorded: nothing to run'
        claim(self.step_dir, self.key)
        result = dict(
            key=self.key,
            config_key=self.config_key,
            code=self.code,
            step=self.step.step_id,
            inputs=self.inputs,
            **self.execute(self.step_dir, runtime),
        )
        self.book.write(self.step.step_id, result)
        return result


def claim(step_dir: str, key: str) -> None:
    """Keep a directory of the same key (to resume it); move one of another key aside."""
    key_file = osp.join(step_dir, '.step_key')
    if osp.isdir(step_dir):
        old = None
        if osp.isfile(key_file):
            with open(key_file) as f:
                old = f.read().strip()
        if old == key:
            return
        stale = f'{step_dir}.superseded'
        shutil.rmtree(stale, ignore_errors=True)
        os.replace(step_dir, stale)
        print(f'[ladder]   config, inputs or code changed: previous run kept in {stale}')
    os.makedirs(step_dir, exist_ok=True)
    with open(key_file, 'w') as f:
        f.write(key)


class LadderPlan:
    """The steps of a :class:`LadderSpec` and how each is keyed and run.

    ``results`` holds the records of the steps finished so far (by step id): a step is prepared
    once the records it reads are there. ``reuse_stale``: keep a recorded step whose config and
    inputs match but whose code changed (default: rerun it; see :mod:`tricks_mm.ladder.records`).
    """

    def __init__(self, spec: LadderSpec, reuse_stale: bool = False) -> None:
        self.spec = spec
        self.reuse_stale = reuse_stale
        self.book = RecordBook(spec.work_dir)
        self.results: Dict[str, Dict[str, Any]] = {}
        self.code = code_version()
        self._planners = {
            'classify': self._plan_classify,
            'convert': self._plan_convert,
            'detect': lambda step: self._plan_downstream(step, 'detect'),
            'segment': lambda step: self._plan_downstream(step, 'segment'),
        }

    def steps(self) -> List[Step]:
        """Every step of the ladder, each after the steps it reads."""
        steps = []
        for seed in self.spec.seeds:
            for rung in self.spec.rungs:
                if rung.shared and seed != self.spec.seeds[0]:
                    continue  # trained once, with the first seed (a teacher for every seed)
                if not rung.transfer:
                    kinds = ['classify']
                elif rung.cls_config is None and rung.checkpoint is None:  # the control
                    kinds = ['detect', 'segment']
                else:
                    kinds = list(KINDS)
                steps += [Step(seed, rung, kind) for kind in kinds]
        return steps

    def depends_on(self, step: Step) -> List[str]:
        """The step ids whose records ``step`` reads: its teacher's classifier, its own
        classifier (convert), its backbone (detect / segment)."""
        if step.kind == 'classify':
            teacher = self._teacher_step(step)
            return [teacher.step_id] if teacher is not None else []
        if step.kind == 'convert':
            return [Step(step.seed, step.rung, 'classify').step_id]
        if step.rung.cls_config is None and step.rung.checkpoint is None:
            return []
        return [Step(step.seed, step.rung, 'convert').step_id]

    def launch_of(self, step: Step) -> Launch:
        """How the step's process starts (``convert`` runs in the executor's process)."""
        task = TASK_OF[step.kind]
        return task_launch(self.spec, task) if task is not None else Launch()

    def step_dir(self, step: Step) -> str:
        return osp.join(self.spec.work_dir, f'seed{step.seed}', slug(step.rung.name), step.kind)

    def _keys(self, step: Step) -> Tuple[str, str, List[str], Callable]:
        """``step``'s config key (config, inputs, data), full key (and code), inputs and how to
        run it. Reads the records of what it depends on from ``results``."""
        config_key, inputs, execute = self._planners[step.kind](step)
        config_key = with_data(
            config_key, data_identity(self.spec.synthetic_data, self.spec.fashion_mnist_data)
        )
        return config_key, with_code(config_key, code_identity(self.code)), inputs, execute

    def prepare(self, step: Step) -> PlannedStep:
        """Key ``step`` and look it up: its record if recorded, else how to run it. Reads the
        records of what it depends on from ``results``."""
        config_key, key, inputs, execute = self._keys(step)
        planned = PlannedStep(
            step, key, config_key, inputs, self.step_dir(step), self.book, self.code
        )
        record = self.book.lookup(step.step_id, key)
        if record is None and self.reuse_stale:
            record = self.book.lookup_stale(step.step_id, config_key)
            if record is not None:
                print(
                    '[ladder]   the code changed since this step ran; its result is reused '
                    '(--reuse-stale) and marked stale in the report',
                    flush=True,
                )
        if record is not None:
            planned.record = record
        else:
            planned.execute = execute
        return planned

    def current_keys(self) -> Dict[str, str]:
        """Step id -> the key a record must have to belong to the current plan (the report's
        filter: a record of an edited config whose rerun was interrupted is never current).

        Walks the plan in order from no results: a recorded step counts under its record's key
        (also a record of other code whose config and inputs match, which the report marks
        stale); a step whose inputs are not recorded for the current plan gets
        :data:`NOT_CURRENT`, so no record of it counts. Replaces ``results``."""
        self.results = {}
        keys: Dict[str, str] = {}
        for step in self.steps():
            if not all(d in self.results for d in self.depends_on(step)):
                keys[step.step_id] = NOT_CURRENT
                continue
            try:
                config_key, key = self._keys(step)[:2]
            except Exception as error:  # noqa: BLE001  (a refused step: the rest still reports)
                print(
                    f'[ladder {self.spec.name}] report: step {step.step_id} cannot be planned '
                    f'({type(error).__name__}: {error}); none of its records is shown',
                    flush=True,
                )
                keys[step.step_id] = NOT_CURRENT
                continue
            record = self.book.lookup(step.step_id, key) or self.book.lookup_stale(
                step.step_id, config_key
            )
            keys[step.step_id] = record['key'] if record is not None else key
            if record is not None:
                self.results[step.step_id] = record
        return keys

    def resolve(self, step_id: str) -> PlannedStep:
        """``step_id`` prepared in a process of its own (a Slurm job): the steps it reads,
        and theirs, must be recorded.

        Raises:
            KeyError: no step of this ladder has this id.
            RuntimeError: a step it reads is not recorded (the message names it).
        """
        by_id = {s.step_id: s for s in self.steps()}
        if step_id not in by_id:
            raise KeyError(f'{step_id!r} is not a step of ladder {self.spec.name!r}')
        needed, todo = [], [step_id]
        while todo:
            current = todo.pop()
            for parent in self.depends_on(by_id[current]):
                if parent not in needed:
                    needed.append(parent)
                    todo.append(parent)
        for parent in [s.step_id for s in by_id.values() if s.step_id in needed]:  # plan order
            planned = self.prepare(by_id[parent])
            if planned.record is None:
                raise RuntimeError(
                    f'step {step_id} reads {parent}, which is not recorded for this code and '
                    'these inputs (its job failed or was cancelled, its inputs changed, or the '
                    'code changed since it ran: a checkout edited while the jobs run): rerun '
                    'the ladder to resubmit it, or with --reuse-stale to keep it'
                )
            self.results[parent] = planned.record
        return self.prepare(by_id[step_id])

    # -- one planner per step kind: (config key, inputs, execute) ----------------------------
    def _result(self, step: Step, kind: str) -> Dict[str, Any]:
        return self.results[Step(step.seed, step.rung, kind).step_id]

    def _prepare_training(self, step: Step, cfg: Config, inputs: List[str], task_name: str):
        """Key and runner of a train + test step of ``task_name``, at that task's launch size;
        a total batch that silently differs from the config's reference is refused here."""
        auto_scale_lr = getattr(self.spec, task_name).auto_scale_lr
        step_launch = task_launch(self.spec, task_name)
        batch = effective_batch(
            cfg, step_launch.world_size, auto_scale_lr, f'step {step.step_id} ({task_name})'
        )
        text = cfg.pretty_text
        key = step_key(
            step.kind,
            text,
            inputs,
            extra=dict(launch=asdict(step_launch), auto_scale_lr=auto_scale_lr),
        )
        max_epochs = cfg.train_cfg.get('max_epochs')  # None for an iteration-based loop

        def execute(step_dir: str, runtime: StepRuntime) -> Dict[str, Any]:
            with open(osp.join(step_dir, 'config.py'), 'w') as f:
                f.write(text)
            return dict(
                self._train_and_test(step_dir, auto_scale_lr, step_launch, max_epochs, runtime),
                batch=batch,
                launch=asdict(step_launch),
            )

        return key, inputs, execute

    def _train_and_test(
        self,
        step_dir: str,
        auto_scale_lr: bool,
        step_launch: Launch,
        max_epochs: Optional[int],
        runtime: StepRuntime,
    ) -> Dict[str, Any]:
        """Train, then evaluate on the test split in the same process (the stack's start-up is
        paid once per step): the child writes ``metrics.json`` atomically after the test, and
        the record is written only once it exists, so a step killed in either phase reruns
        and resumes from its last checkpoint."""
        config_path = osp.join(step_dir, 'config.py')
        metrics_path = osp.join(step_dir, 'metrics.json')
        args = [config_path, '--work-dir', step_dir, '--out-metrics', metrics_path]
        if auto_scale_lr:
            args.append('--auto-scale-lr')
        if osp.isfile(osp.join(step_dir, 'last_checkpoint')):
            args.append('--resume')
        watch = StepProgress(
            f'[ladder {self.spec.name}]   {runtime.label}',
            max_epochs,
            ladder_eta=runtime.ladder_eta,
        )
        launch.run_logged(
            launch.command('tricks_mm.cli.train', args, step_launch),
            osp.join(step_dir, 'run.log'),
            runtime.echo,
            on_line=watch,
            env=runtime.env,
        )
        with open(osp.join(step_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        with open(metrics_path) as f:
            metrics = json.load(f)
        result = dict(
            outputs=dict(config=config_path, checkpoint=checkpoint, metrics=metrics_path),
            metrics=metrics,
        )
        curve = read_val_curve(step_dir, METRIC_KEYS['classify']['top1'])
        if curve and max_epochs is not None:  # a classifier validated during training
            result.update(val_curve=curve, epochs=max_epochs)
        return result

    def _teacher_step(self, step: Step) -> Optional[Step]:
        """The classify step of ``step``'s teacher (the first seed's for a shared teacher)."""
        if step.rung.teacher is None:
            return None
        teacher_rung = next(r for r in self.spec.rungs if r.name == step.rung.teacher)
        seed = self.spec.seeds[0] if teacher_rung.shared else step.seed
        return Step(seed, teacher_rung, 'classify')

    def _teacher(self, step: Step) -> Optional[Dict[str, str]]:
        teacher_step = self._teacher_step(step)
        if teacher_step is None:
            return None
        record = self.results[teacher_step.step_id]
        if record.get('top1_kind') == NO_HEAD:
            raise ValueError(
                f'rung {step.rung.name!r} distils from {teacher_step.rung.name!r}, whose '
                f"checkpoint has {NO_HEAD}: distillation needs the teacher's logits; name a "
                'classifier with its fc head as the teacher'
            )
        # the config is executed by the student's run: take the one this ladder wrote, not a
        # path read back from a record
        teacher = dict(
            config=self._classifier_config(teacher_step), checkpoint=record['outputs']['checkpoint']
        )
        imported = record.get('provenance', {}).get('input_normalization')
        if imported is not None:  # a published teacher: the student sees what it saw
            teacher['normalization'] = imported
        return teacher

    def _classifier_config(self, classify_step: Step) -> str:
        """The classifier config this ladder wrote for a classify step (trained or imported)."""
        name = 'classifier.py' if classify_step.rung.checkpoint is not None else 'config.py'
        return osp.join(self.step_dir(classify_step), name)

    def _plan_classify(self, step: Step):
        if step.rung.checkpoint is not None:
            return self._plan_import(step)
        teacher = self._teacher(step)
        cfg = classification_config(step.rung, self.spec.classify, step.seed, teacher)
        inputs = [teacher['checkpoint']] if teacher else []
        return self._prepare_training(step, cfg, inputs, 'classify')

    def _plan_import(self, step: Step):
        """A checkpoint rung's classify step: import the published classifier, train nothing.

        Its record looks like a trained classifier's (``outputs.config`` / ``checkpoint``), so
        convert, the downstream steps and distillation (as a teacher) use it unchanged. Its
        top-1 is measured on the test set of ``ladder.classify.config`` when the ladder names
        one (``top1_kind='evaluated'``), else it is the rung's published ``top1``.
        """
        rung, task = step.rung, self.spec.classify
        options = dict(source=rung.source, arch=rung.arch, top1=rung.top1, ema=rung.ema)
        evaluate = task.config is not None
        # the evaluation data is part of the step: hash its config as the other steps do
        eval_text = task_config_text(task) if evaluate else ''
        key = step_key(
            'import',
            eval_text,
            [rung.checkpoint],
            extra=dict(options, cfg_options=task.cfg_options),
        )

        def execute(step_dir: str, runtime: StepRuntime) -> Dict[str, Any]:
            out = osp.join(step_dir, 'classifier.pth')
            config = osp.join(step_dir, 'classifier.py')
            meta = import_classifier(
                rung.checkpoint, out, rung.source, rung.arch, rung.top1, rung.ema, config_out=config
            )
            headless = meta['provenance']['top1_kind'] == NO_HEAD
            record = dict(
                outputs=dict(config=config, checkpoint=out),
                metrics={} if rung.top1 is None else {'accuracy/top1': rung.top1},
                top1_kind=NO_HEAD if headless else 'published',
                provenance={k: v for k, v in meta.items() if k != 'cfg'},
            )
            if evaluate and headless:  # top-1 needs a head; transfer does not
                print(
                    f'[ladder]   {rung.name!r}: {rung.checkpoint} has {NO_HEAD}: imported for '
                    'transfer, its top-1 is not evaluated (the report says so)',
                    flush=True,
                )
            elif evaluate:
                record.update(
                    self._evaluate_imported(step_dir, config, out, runtime), top1_kind='evaluated'
                )
            return record

        return key, [rung.checkpoint], execute

    def _evaluate_imported(
        self, step_dir: str, classifier_config: str, checkpoint: str, runtime: StepRuntime
    ) -> Dict[str, Any]:
        """Test an imported classifier on the ladder's classification test set, launched as
        the classify task's steps are (its launch size, checked with ``jobs``)."""
        config_path = osp.join(step_dir, 'eval_config.py')
        with open(config_path, 'w') as f:
            f.write(imported_eval_config(self.spec.classify, classifier_config).pretty_text)
        metrics_path = osp.join(step_dir, 'metrics.json')
        args = [config_path, checkpoint, '--work-dir', osp.join(step_dir, 'test')]
        launch.run_logged(
            launch.command(
                'tricks_mm.cli.test',
                [*args, '--out-metrics', metrics_path],
                task_launch(self.spec, 'classify'),
            ),
            osp.join(step_dir, 'run.log'),
            runtime.echo,
            env=runtime.env,
        )
        with open(metrics_path) as f:
            return dict(metrics=json.load(f))

    def _plan_convert(self, step: Step):
        cls = self._result(step, 'classify')
        checkpoint = cls['outputs']['checkpoint']
        key = step_key('convert', '', [checkpoint])

        def execute(step_dir: str, runtime: StepRuntime) -> Dict[str, Any]:
            out = osp.join(step_dir, 'backbone.pth')
            top1 = cls['metrics'].get('accuracy/top1')
            # the classifier config this ladder wrote (executed: not a path read from a record)
            config = self._classifier_config(Step(step.seed, step.rung, 'classify'))
            meta = convert_classifier(checkpoint, out, config, top1)
            return dict(outputs=dict(backbone=out), metrics={}, provenance=meta)

        return key, [checkpoint], execute

    def _backbone_arch(self, step: Step) -> Dict[str, Any]:
        """Depth and variant (and, for published stems of 64 or 128 channels, the stem width) of
        the classifier, as the conversion read them from its weights and config (no config file
        is executed for this)."""
        if step.rung.cls_config is None and step.rung.checkpoint is None:
            return {}
        arch = self._result(step, 'convert')['provenance']['architecture']
        if arch.get('depth') is None or arch.get('variant') is None:
            raise ValueError(
                f'rung {step.rung.name!r}: the converted backbone has no known '
                f'depth/variant ({arch!r}); rerun its convert step'
            )
        out = dict(depth=arch['depth'], variant=arch['variant'])
        if step.rung.checkpoint is not None:
            out['stem_channels'] = arch['stem_channels']
        return out

    def _plan_downstream(self, step: Step, task_name: str) -> Tuple:
        task = getattr(self.spec, task_name)
        pretrained, normalization = None, None
        if step.rung.cls_config or step.rung.checkpoint:
            convert = self._result(step, 'convert')
            pretrained = convert['outputs']['backbone']
            normalization = convert.get('provenance', {}).get('input_normalization')
        cfg = downstream_config(
            task, step.seed, self._backbone_arch(step), pretrained, normalization
        )
        return self._prepare_training(step, cfg, [pretrained] if pretrained else [], task_name)
