"""Run a ladder: for each seed and rung, classify -> convert -> detect -> segment, resumably."""

import json
import os
import os.path as osp
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from mmengine.config import Config

from tricks_mm.ladder import launch
from tricks_mm.ladder.batch import effective_batch
from tricks_mm.ladder.code_version import code_identity, code_version
from tricks_mm.ladder.data import data_identity
from tricks_mm.ladder.materialize import (
    classification_config,
    downstream_config,
    imported_eval_config,
    task_config_text,
)
from tricks_mm.ladder.progress import LadderProgress, StepProgress
from tricks_mm.ladder.records import RecordBook, step_key, with_code, with_data
from tricks_mm.ladder.spec import TASKS, LadderSpec, Launch, task_launch
from tricks_mm.ladder.step import Step, slug
from tricks_mm.ladder.warm_start import WarmStarter
from tricks_mm.transfer.convert import convert_classifier
from tricks_mm.transfer.importers import import_classifier

KINDS = ('classify', 'convert', 'detect', 'segment')


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask: a container or ``taskset`` may
    allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LadderRunner:
    """Runs the steps of a :class:`LadderSpec` in order, skipping recorded ones.

    ``reuse_stale``: keep a recorded step whose config and inputs match but whose code changed
    (default: rerun it; see :mod:`tricks_mm.ladder.records`).
    """

    def __init__(self, spec: LadderSpec, echo: bool = False, reuse_stale: bool = False) -> None:
        self.spec = spec
        self.echo = echo
        self.reuse_stale = reuse_stale
        self.book = RecordBook(spec.work_dir)
        self.results: Dict[str, Dict[str, Any]] = {}
        self.code = code_version()
        self.progress: Optional[LadderProgress] = None
        self.warm = WarmStarter() if spec.warm_start and self._can_warm_start() else None

    def plan(self) -> List[Step]:
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

    def run(self) -> Dict[str, Dict[str, Any]]:
        """Run every step not yet recorded, up to ``spec.jobs`` at a time.

        A step starts once the steps it reads are recorded, in plan order (with several jobs,
        classifiers first: :meth:`_by_priority`). Steps side by side
        are threads, each waiting on its own child process; records are written by the thread
        whose step finished, each its own file. If a step fails, the running ones still finish
        (and are recorded), nothing new starts, and the first failure is raised.
        """
        jobs = self.spec.jobs
        os.makedirs(self.spec.work_dir, exist_ok=True)
        pending = self.plan()
        self.progress = progress = LadderProgress(len(pending), self.spec.name, jobs)
        running: Dict[Future, Tuple[Step, float]] = {}
        failures: List[BaseException] = []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            while pending or running:
                order = self._by_priority(pending) if jobs > 1 else list(pending)
                for step in order if not failures else []:
                    if len(running) >= jobs:
                        break
                    if not all(d in self.results for d in self.depends_on(step)):
                        continue
                    pending.remove(step)
                    progress.start(step, [step.kind] + [s.kind for s in pending])
                    try:
                        record, execute = self._plan_step(step)
                    except Exception as error:  # e.g. a refused batch: as a failed step
                        failures.append(error)
                        progress.fail(step, bool(running))
                        break
                    if execute is None:
                        self.results[step.step_id] = record
                        progress.finish(step, None)
                        continue
                    if self.warm is not None and not running:  # no step prints meanwhile
                        self.warm.start(osp.join(self.spec.work_dir, 'warm_start.log'))
                    running[pool.submit(execute)] = (step, time.time())
                if not running:
                    # after a failure nothing starts; else every step's inputs came first
                    assert failures or not pending, [s.step_id for s in pending]
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    step, started = running.pop(future)
                    try:
                        self.results[step.step_id] = future.result()
                    except BaseException as error:  # noqa: B036  (re-raised below)
                        failures.append(error)
                        progress.fail(step, bool(running))
                        continue
                    progress.finish(step, time.time() - started)
        if failures:
            raise failures[0]
        return self.results

    @staticmethod
    def _by_priority(pending: List[Step]) -> List[Step]:
        """Classifiers before downstream steps, else plan order: a classifier unlocks three
        steps, so the ladder ends on short detection/segmentation pairs that fill both jobs
        rather than on one long classification beside an idle job."""
        return sorted(pending, key=lambda s: s.kind != 'classify')  # stable: plan order

    # -- steps --------------------------------------------------------------------------------
    def _step_dir(self, step: Step) -> str:
        return osp.join(self.spec.work_dir, f'seed{step.seed}', slug(step.rung.name), step.kind)

    def _result(self, step: Step, kind: str) -> Dict[str, Any]:
        return self.results[Step(step.seed, step.rung, kind).step_id]

    def _plan_step(self, step: Step) -> Tuple[Optional[Dict[str, Any]], Optional[Callable]]:
        """(record, None) for a recorded step; else (None, a callable that runs and records
        it). Planning reads earlier records, so it happens in the ladder's thread."""
        handler: Callable = getattr(self, f'_plan_{step.kind}')
        config_key, inputs, execute = handler(step)
        config_key = with_data(config_key, data_identity(self.spec.synthetic_data))
        key = with_code(config_key, code_identity(self.code))
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
            return record, None

        def run_and_record() -> Dict[str, Any]:
            step_dir = self._step_dir(step)
            self._claim(step_dir, key)
            result = dict(
                key=key,
                config_key=config_key,
                code=self.code,
                step=step.step_id,
                inputs=inputs,
                **execute(step_dir),
            )
            self.book.write(step.step_id, result)
            return result

        return None, run_and_record

    def _can_warm_start(self) -> bool:
        """Warm start serves single-process steps on machines without CUDA
        (:mod:`tricks_mm.ladder.warm_start`: the hosts probe CUDA at import, and a process
        forked after that probe cannot use CUDA)."""
        single = any(task_launch(self.spec, t).launcher == 'none' for t in TASKS)
        return single and not torch.cuda.is_available()

    def _warm(self, step_launch: Launch) -> Optional[WarmStarter]:
        """The preloaded server for a single-process step (torchrun/srun start their own)."""
        return self.warm if step_launch.launcher == 'none' else None

    def _child_env(self) -> Dict[str, str]:
        """Threads per step: with ``jobs`` steps side by side each gets its share of the cores
        (unless ``OMP_NUM_THREADS`` is set), so they do not oversubscribe them. On the 2-core
        development machine one toy Faster R-CNN step trains as fast on 1 thread as on 2, and
        two 1-thread steps side by side finish 1.7x the work of one (docs/benchmarks.md)."""
        if self.spec.jobs == 1 or 'OMP_NUM_THREADS' in os.environ:
            return {}
        return {'OMP_NUM_THREADS': str(max(1, usable_cores() // self.spec.jobs))}

    @staticmethod
    def _claim(step_dir: str, key: str) -> None:
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

    def _train_and_test(
        self,
        step_dir: str,
        auto_scale_lr: bool,
        step_launch: Launch,
        label: str,
        max_epochs: Optional[int],
    ) -> Dict[str, Any]:
        """Train, then evaluate on the test split in the same process (the stack's start-up is
        paid once per step): the child writes ``metrics.json`` atomically after the test, and
        the record is written only once it exists, so a step killed in either phase reruns
        and resumes from its last checkpoint."""
        config_path = osp.join(step_dir, 'config.py')
        log = osp.join(step_dir, 'run.log')
        metrics_path = osp.join(step_dir, 'metrics.json')
        args = [config_path, '--work-dir', step_dir, '--out-metrics', metrics_path]
        if auto_scale_lr:
            args.append('--auto-scale-lr')
        if osp.isfile(osp.join(step_dir, 'last_checkpoint')):
            args.append('--resume')
        watch = StepProgress(
            f'[ladder {self.spec.name}]   {label}',
            max_epochs,
            ladder_eta=self.progress.eta if self.progress else None,
        )
        launch.run_logged(
            launch.command('tricks_mm.cli.train', args, step_launch),
            log,
            self.echo,
            on_line=watch,
            env=self._child_env(),
            warm=self._warm(step_launch),
        )
        with open(osp.join(step_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        with open(metrics_path) as f:
            metrics = json.load(f)
        return dict(
            outputs=dict(config=config_path, checkpoint=checkpoint, metrics=metrics_path),
            metrics=metrics,
        )

    def _prepare(self, step: Step, cfg: Config, inputs: List[str], task_name: str):
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
        # with steps side by side, each progress line names its step
        label = step.kind if self.spec.jobs == 1 else step.step_id

        def execute(step_dir: str) -> Dict[str, Any]:
            with open(osp.join(step_dir, 'config.py'), 'w') as f:
                f.write(text)
            return dict(
                self._train_and_test(step_dir, auto_scale_lr, step_launch, label, max_epochs),
                batch=batch,
                launch=asdict(step_launch),
            )

        return key, inputs, execute

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
        return osp.join(self._step_dir(classify_step), name)

    def _plan_classify(self, step: Step):
        if step.rung.checkpoint is not None:
            return self._plan_import(step)
        teacher = self._teacher(step)
        cfg = classification_config(step.rung, self.spec.classify, step.seed, teacher)
        inputs = [teacher['checkpoint']] if teacher else []
        return self._prepare(step, cfg, inputs, 'classify')

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

        def execute(step_dir: str) -> Dict[str, Any]:
            out = osp.join(step_dir, 'classifier.pth')
            config = osp.join(step_dir, 'classifier.py')
            meta = import_classifier(
                rung.checkpoint, out, rung.source, rung.arch, rung.top1, rung.ema, config_out=config
            )
            record = dict(
                outputs=dict(config=config, checkpoint=out),
                metrics={} if rung.top1 is None else {'accuracy/top1': rung.top1},
                top1_kind='published',
                provenance={k: v for k, v in meta.items() if k != 'cfg'},
            )
            if evaluate:
                record.update(self._evaluate_imported(step_dir, config, out), top1_kind='evaluated')
            return record

        return key, [rung.checkpoint], execute

    def _evaluate_imported(
        self, step_dir: str, classifier_config: str, checkpoint: str
    ) -> Dict[str, Any]:
        config_path = osp.join(step_dir, 'eval_config.py')
        with open(config_path, 'w') as f:
            f.write(imported_eval_config(self.spec.classify, classifier_config).pretty_text)
        metrics_path = osp.join(step_dir, 'metrics.json')
        launch.run_logged(
            launch.command(
                'tricks_mm.cli.test',
                [
                    config_path,
                    checkpoint,
                    '--work-dir',
                    osp.join(step_dir, 'test'),
                    '--out-metrics',
                    metrics_path,
                ],
                self.spec.launch,
            ),
            osp.join(step_dir, 'run.log'),
            self.echo,
            env=self._child_env(),
            warm=self._warm(self.spec.launch),
        )
        with open(metrics_path) as f:
            return dict(metrics=json.load(f))

    def _plan_convert(self, step: Step):
        cls = self._result(step, 'classify')
        checkpoint = cls['outputs']['checkpoint']
        key = step_key('convert', '', [checkpoint])

        def execute(step_dir: str) -> Dict[str, Any]:
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

    def _plan_downstream(self, step: Step, task_name: str):
        task = getattr(self.spec, task_name)
        pretrained, normalization = None, None
        if step.rung.cls_config or step.rung.checkpoint:
            convert = self._result(step, 'convert')
            pretrained = convert['outputs']['backbone']
            normalization = convert.get('provenance', {}).get('input_normalization')
        cfg = downstream_config(
            task, step.seed, self._backbone_arch(step), pretrained, normalization
        )
        return self._prepare(step, cfg, [pretrained] if pretrained else [], task_name)

    def _plan_detect(self, step: Step):
        return self._plan_downstream(step, 'detect')

    def _plan_segment(self, step: Step):
        return self._plan_downstream(step, 'segment')
