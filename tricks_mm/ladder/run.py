"""Run a ladder: for each seed and rung, classify -> convert -> detect -> segment, resumably."""
import json
import os
import os.path as osp
import re
import shutil
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from mmengine.config import Config

from tricks_mm.ladder import launch
from tricks_mm.ladder.materialize import classification_config, downstream_config
from tricks_mm.ladder.progress import StepProgress, duration
from tricks_mm.ladder.records import RecordBook, step_key
from tricks_mm.ladder.spec import LadderSpec, Rung
from tricks_mm.transfer.convert import convert_classifier

KINDS = ('classify', 'convert', 'detect', 'segment')


def slug(name: str) -> str:
    """A rung name as a directory name."""
    return re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-').lower()


@dataclass
class Step:
    seed: int
    rung: Rung
    kind: str

    @property
    def step_id(self) -> str:
        return f'seed{self.seed}-{slug(self.rung.name)}-{self.kind}'


class Progress:
    """Prints which step runs, how far the ladder is, and an ETA from finished step times."""

    def __init__(self, total: int, name: str) -> None:
        self.total, self.name, self.done = total, name, 0
        self.seconds: Dict[str, List[float]] = {}
        self.remaining: List[str] = []

    def eta(self, current: Optional[Tuple[float, float]] = None) -> str:
        """ETA of the steps left. ``current``: the running step's estimated (total, remaining)
        seconds from its log (:class:`StepProgress`); before any step has finished, its total
        stands in for the kinds not yet timed, so the first ETA comes with the first log lines."""
        known = [t for times in self.seconds.values() for t in times]
        if not known and current is None:
            return 'ETA unknown'
        mean_all = sum(known) / len(known) if known else current[0]  # type: ignore[index]
        ahead = self.remaining[1:] if current is not None else self.remaining
        left = sum(sum(self.seconds[k]) / len(self.seconds[k]) if k in self.seconds else mean_all
                   for k in ahead) + (current[1] if current is not None else 0.0)
        return f'ETA {duration(left)}'

    def start(self, step: Step, remaining_kinds: List[str]) -> None:
        self.remaining = remaining_kinds
        print(f'[ladder {self.name}] step {self.done + 1}/{self.total}: {step.kind} '
              f'rung {step.rung.name!r} seed {step.seed} ({self.eta()})', flush=True)

    def finish(self, step: Step, seconds: Optional[float]) -> None:
        self.done += 1
        if seconds is None:
            print(f'[ladder {self.name}]   done before, skipped', flush=True)
            return
        self.seconds.setdefault(step.kind, []).append(seconds)
        print(f'[ladder {self.name}]   finished in {seconds:.0f}s', flush=True)


class LadderRunner:
    """Runs the steps of a :class:`LadderSpec` in order, skipping recorded ones."""

    def __init__(self, spec: LadderSpec, echo: bool = False) -> None:
        self.spec = spec
        self.echo = echo
        self.book = RecordBook(spec.work_dir)
        self.results: Dict[str, Dict[str, Any]] = {}
        self.progress: Optional[Progress] = None

    def plan(self) -> List[Step]:
        steps = []
        for seed in self.spec.seeds:
            for rung in self.spec.rungs:
                if not rung.transfer:
                    kinds = ['classify']
                elif rung.cls_config is None:  # the no-pretraining control
                    kinds = ['detect', 'segment']
                else:
                    kinds = list(KINDS)
                steps += [Step(seed, rung, kind) for kind in kinds]
        return steps

    def run(self) -> Dict[str, Dict[str, Any]]:
        os.makedirs(self.spec.work_dir, exist_ok=True)
        steps = self.plan()
        self.progress = progress = Progress(len(steps), self.spec.name)
        for i, step in enumerate(steps):
            progress.start(step, [s.kind for s in steps[i:]])
            started = time.time()
            record, ran = self._run_step(step)
            self.results[step.step_id] = record
            progress.finish(step, time.time() - started if ran else None)
        return self.results

    # -- steps --------------------------------------------------------------------------------
    def _step_dir(self, step: Step) -> str:
        return osp.join(self.spec.work_dir, f'seed{step.seed}', slug(step.rung.name), step.kind)

    def _result(self, step: Step, kind: str) -> Dict[str, Any]:
        return self.results[Step(step.seed, step.rung, kind).step_id]

    def _run_step(self, step: Step) -> Tuple[Dict[str, Any], bool]:
        handler: Callable = getattr(self, f'_plan_{step.kind}')
        key, inputs, execute = handler(step)
        record = self.book.lookup(step.step_id, key)
        if record is not None:
            return record, False
        step_dir = self._step_dir(step)
        self._claim(step_dir, key)
        record = dict(key=key, step=step.step_id, inputs=inputs, **execute(step_dir))
        self.book.write(step.step_id, record)
        return record, True

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
            print(f'[ladder]   config or inputs changed: previous run kept in {stale}')
        os.makedirs(step_dir, exist_ok=True)
        with open(key_file, 'w') as f:
            f.write(key)

    def _train_and_test(self, step_dir: str, auto_scale_lr: bool, kind: str,
                        max_epochs: Optional[int]) -> Dict[str, Any]:
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
        watch = StepProgress(f'[ladder {self.spec.name}]   {kind}', max_epochs,
                             ladder_eta=self.progress.eta if self.progress else None)
        launch.run_logged(launch.command('tricks_mm.cli.train', args, self.spec.launch), log,
                          self.echo, on_line=watch)
        with open(osp.join(step_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        with open(metrics_path) as f:
            metrics = json.load(f)
        return dict(outputs=dict(config=config_path, checkpoint=checkpoint,
                                 metrics=metrics_path), metrics=metrics)

    def _prepare(self, step: Step, cfg: Config, inputs: List[str], auto_scale_lr: bool):
        text = cfg.pretty_text
        key = step_key(step.kind, text, inputs,
                       extra=dict(launch=self.spec.launch.launcher,
                                  nproc=self.spec.launch.nproc_per_node,
                                  auto_scale_lr=auto_scale_lr))

        max_epochs = cfg.train_cfg.get('max_epochs')  # None for an iteration-based loop

        def execute(step_dir: str) -> Dict[str, Any]:
            with open(osp.join(step_dir, 'config.py'), 'w') as f:
                f.write(text)
            return self._train_and_test(step_dir, auto_scale_lr, step.kind, max_epochs)

        return key, inputs, execute

    def _teacher(self, step: Step) -> Optional[Dict[str, str]]:
        if step.rung.teacher is None:
            return None
        teacher_rung = next(r for r in self.spec.rungs if r.name == step.rung.teacher)
        outputs = self.results[Step(step.seed, teacher_rung, 'classify').step_id]['outputs']
        return dict(config=outputs['config'], checkpoint=outputs['checkpoint'])

    def _plan_classify(self, step: Step):
        teacher = self._teacher(step)
        cfg = classification_config(step.rung, self.spec.classify, step.seed, teacher)
        inputs = [teacher['checkpoint']] if teacher else []
        return self._prepare(step, cfg, inputs, self.spec.classify.auto_scale_lr)

    def _plan_convert(self, step: Step):
        cls = self._result(step, 'classify')
        checkpoint = cls['outputs']['checkpoint']
        key = step_key('convert', '', [checkpoint])

        def execute(step_dir: str) -> Dict[str, Any]:
            out = osp.join(step_dir, 'backbone.pth')
            top1 = cls['metrics'].get('accuracy/top1')
            meta = convert_classifier(checkpoint, out, cls['outputs']['config'], top1)
            return dict(outputs=dict(backbone=out), metrics={}, provenance=meta)

        return key, [checkpoint], execute

    def _backbone_arch(self, step: Step) -> Dict[str, Any]:
        if step.rung.cls_config is None:
            return {}
        cls_cfg = Config.fromfile(self._result(step, 'classify')['outputs']['config'])
        return dict(depth=cls_cfg.model.backbone.depth, variant=cls_cfg.model.backbone.variant)

    def _plan_downstream(self, step: Step, task_name: str):
        task = getattr(self.spec, task_name)
        pretrained = (self._result(step, 'convert')['outputs']['backbone']
                      if step.rung.cls_config else None)
        cfg = downstream_config(task, step.seed, self._backbone_arch(step), pretrained)
        return self._prepare(step, cfg, [pretrained] if pretrained else [], task.auto_scale_lr)

    def _plan_detect(self, step: Step):
        return self._plan_downstream(step, 'detect')

    def _plan_segment(self, step: Step):
        return self._plan_downstream(step, 'segment')
