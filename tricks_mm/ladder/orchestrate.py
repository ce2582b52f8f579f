"""Run a whole ladder: the paper's Section 6 protocol (``tools/ladder.py`` and ``make demo``).

For every seed and rung: train the classifier, convert it to a backbone, train and evaluate
Faster R-CNN and FCN on it; then write Tables 8/9 (Markdown), a CSV and a plot to the ladder's
work dir. Finished steps are recorded by a hash of their config, inputs and code and skipped on
rerun (a step whose code changed reruns unless ``reuse_stale``); an interrupted step resumes from
its last checkpoint. The steps run on this machine (:mod:`tricks_mm.ladder.executors.local`) or
as Slurm jobs (:mod:`tricks_mm.ladder.executors.slurm`, which submits them and returns).
"""

import time
from typing import Any, Dict, Optional

from tricks_mm.ladder.executors.local import LocalExecutor
from tricks_mm.ladder.executors.slurm import SlurmExecutor
from tricks_mm.ladder.plan import LadderPlan
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.report import write_report
from tricks_mm.ladder.spec import LadderSpec

SYNTHETIC_NOTE = (
    '**Synthetic data, toy scale.** These numbers come from the embedded generated '
    'suite and tiny schedules on CPU; they show the protocol working, not the '
    "paper's results."
)
MINIATURE_NOTE = (
    '**Fashion-MNIST miniature, CPU scale.** Real images (28-px grey, 10 classes), ResNet-18 '
    'classifiers at half width on 40-px crops, short schedules, detection and segmentation '
    'scenes composed from the test split (docs/miniature.md): the protocol at miniature scale, '
    "not the paper's ImageNet results. Published top-1 on the same 10,000 test images "
    "(the dataset's README benchmark table): ResNet18 94.9, "
    'WRN-28-10 95.9, WRN-28-10 + random erasing 96.3, WRN40-4 96.7.'
)


def prepare_data(spec: LadderSpec) -> None:
    """Generate (or reuse) the embedded synthetic suite or the Fashion-MNIST miniature
    (docs/miniature.md) the ladder asks for."""
    if spec.fashion_mnist_data is not None:
        from tricks_mm.datasets.fashion_mnist import prepare

        options = dict(spec.fashion_mnist_data)
        info = prepare(options.pop('out'), **options)
        print(f'[ladder {spec.name}] data: {info.root} (Fashion-MNIST miniature)', flush=True)
    if spec.synthetic_data is None:
        return
    from tricks_mm.datasets import generate_suite

    options = dict(spec.synthetic_data)
    out = options.pop('out')
    info = generate_suite(out, **options)
    print(
        f'[ladder {spec.name}] data: {info.root} ({"reused" if info.reused else "generated"})',
        flush=True,
    )


def run_ladder(
    spec: LadderSpec, echo: bool = False, reuse_stale: bool = False, executor: str = 'local'
) -> Dict[str, str]:
    """Generate the data, then run every step not yet recorded and write the report (its
    paths); with ``executor='slurm'``, submit them (the ids of the jobs submitted, by step; the
    report job writes the report, or, with every step recorded, it is written now)."""
    started = time.time()
    prepare_data(spec)
    plan = LadderPlan(spec, reuse_stale=reuse_stale)
    if executor == 'slurm':
        return submit_ladder(plan)
    LocalExecutor(plan, echo=echo).run()
    # against the code this run started with: a source edited while it ran is not its code
    paths = report(spec, plan.code, plan)
    print(f'[ladder {spec.name}] finished in {time.time() - started:.0f}s', flush=True)
    return paths


def submit_ladder(plan: LadderPlan) -> Dict[str, str]:
    """Submit the plan's steps as Slurm jobs; the job ids submitted, by step id."""
    spec = plan.spec
    submitter = SlurmExecutor(plan)
    jobs = submitter.submit()
    if not submitter.queued:
        print(f'[ladder {spec.name}] every step is recorded: nothing to submit', flush=True)
        report(spec, plan.code, plan)
    elif not jobs:
        print(f'[ladder {spec.name}] every step not recorded is queued or running already')
    else:
        ids = sorted(jobs.values(), key=int)
        print(
            f'[ladder {spec.name}] submitted {len(jobs)} Slurm job(s) ({ids[0]}..{ids[-1]}; '
            f'the report job is {jobs.get("_report", "-")}); see them with: '
            f'tools/ladder.py {spec.source} --status',
            flush=True,
        )
    return jobs


def report(
    spec: LadderSpec, code: Optional[Dict[str, Any]] = None, plan: Optional[LadderPlan] = None
) -> Dict[str, str]:
    """(Re)write Tables 8/9, the CSV and the plot from the recorded steps of the current plan;
    their paths. ``code``: the code version a record must have to count as current (default:
    the code on disk now; a record of other code is marked stale). ``plan``: the ladder's plan
    (default: planned now from ``spec``), whose step keys decide which records are current."""
    note, label = '', ''
    if spec.synthetic_data is not None:
        note, label = SYNTHETIC_NOTE, 'toy scale, synthetic data'
    elif spec.fashion_mnist_data is not None:
        note, label = MINIATURE_NOTE, 'miniature scale, Fashion-MNIST'
    current = (plan or LadderPlan(spec)).current_keys()
    paths = write_report(spec, RecordBook(spec.work_dir).all(), note, code, current, label)
    with open(paths['md']) as f:
        print(f.read())
    print('report: ' + ', '.join(paths.values()))
    return paths
