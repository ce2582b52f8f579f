"""``tools/ladder.py LADDER``: the paper's Section 6 protocol in one command.

For every seed and rung: train the classifier, convert it to a backbone, train and evaluate
Faster R-CNN and FCN on it; then write Tables 8/9 (Markdown), a CSV and a plot to the ladder's
work dir. Finished steps are recorded by a hash of their config and inputs and skipped on rerun;
an interrupted step resumes from its last checkpoint.
"""
import argparse
import time
from typing import Dict, List, Optional

from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.report import write_report
from tricks_mm.ladder.run import LadderRunner
from tricks_mm.ladder.spec import LadderSpec, load_ladder

SYNTHETIC_NOTE = ('**Synthetic data, toy scale.** These numbers come from the embedded generated '
                  'suite and tiny schedules on CPU; they show the protocol working, not the '
                  "paper's results.")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ladder', help='ladder file (configs/ladders/*.py)')
    parser.add_argument('--work-dir', help='default: work_dirs/<ladder name>')
    parser.add_argument('--report-only', action='store_true',
                        help='only (re)write the report from the recorded steps')
    parser.add_argument('--echo', action='store_true', help="stream every step's log")
    return parser.parse_args(argv)


def prepare_data(spec: LadderSpec) -> None:
    """Generate (or reuse) the embedded synthetic suite the ladder asks for."""
    if spec.synthetic_data is None:
        return
    from tricks_mm.datasets import generate_suite
    options = dict(spec.synthetic_data)
    out = options.pop('out')
    info = generate_suite(out, **options)
    print(f'[ladder {spec.name}] data: {info.root} ({"reused" if info.reused else "generated"})',
          flush=True)


def run_ladder(spec: LadderSpec, echo: bool = False) -> Dict[str, str]:
    started = time.time()
    prepare_data(spec)
    LadderRunner(spec, echo=echo).run()
    paths = report(spec)
    print(f'[ladder {spec.name}] finished in {time.time() - started:.0f}s', flush=True)
    return paths


def report(spec: LadderSpec) -> Dict[str, str]:
    note = SYNTHETIC_NOTE if spec.synthetic_data is not None else ''
    paths = write_report(spec, RecordBook(spec.work_dir).all(), note)
    with open(paths['md']) as f:
        print(f.read())
    print('report: ' + ', '.join(paths.values()))
    return paths


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    args = parse_args(argv)
    spec = load_ladder(args.ladder, args.work_dir)
    return report(spec) if args.report_only else run_ladder(spec, args.echo)


if __name__ == '__main__':
    main()
