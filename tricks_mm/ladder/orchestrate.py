"""Run a whole ladder: the paper's Section 6 protocol (``tools/ladder.py`` and ``make demo``).

For every seed and rung: train the classifier, convert it to a backbone, train and evaluate
Faster R-CNN and FCN on it; then write Tables 8/9 (Markdown), a CSV and a plot to the ladder's
work dir. Finished steps are recorded by a hash of their config, inputs and code and skipped on
rerun (a step whose code changed reruns unless ``reuse_stale``); an interrupted step resumes from
its last checkpoint.
"""

import time
from typing import Any, Dict, Optional

from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.report import write_report
from tricks_mm.ladder.run import LadderRunner
from tricks_mm.ladder.spec import LadderSpec

SYNTHETIC_NOTE = (
    '**Synthetic data, toy scale.** These numbers come from the embedded generated '
    'suite and tiny schedules on CPU; they show the protocol working, not the '
    "paper's results."
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


def run_ladder(spec: LadderSpec, echo: bool = False, reuse_stale: bool = False) -> Dict[str, str]:
    """Generate the data, run every step not yet recorded, write the report; its paths."""
    started = time.time()
    prepare_data(spec)
    runner = LadderRunner(spec, echo=echo, reuse_stale=reuse_stale)
    runner.run()
    # against the code this run started with: a source edited while it ran is not its code
    paths = report(spec, runner.code)
    print(f'[ladder {spec.name}] finished in {time.time() - started:.0f}s', flush=True)
    return paths


def report(spec: LadderSpec, code: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """(Re)write Tables 8/9, the CSV and the plot from the recorded steps; their paths.
    ``code``: the code version a record must have to count as current (default: the code on
    disk now; a record of other code is marked stale)."""
    note = SYNTHETIC_NOTE if spec.synthetic_data is not None else ''
    paths = write_report(spec, RecordBook(spec.work_dir).all(), note, code)
    with open(paths['md']) as f:
        print(f.read())
    print('report: ' + ', '.join(paths.values()))
    return paths
