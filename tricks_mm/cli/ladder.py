"""``tools/ladder.py LADDER``: the paper's Section 6 protocol in one command.

For every seed and rung: train the classifier, convert it to a backbone, train and evaluate
Faster R-CNN and FCN on it; then write Tables 8/9 (Markdown), a CSV and a plot to the ladder's
work dir. Finished steps are recorded by a hash of their config, inputs and code and skipped on
rerun (a step whose code changed reruns unless --reuse-stale); an interrupted step resumes from
its last checkpoint (:mod:`tricks_mm.ladder.orchestrate`).
"""

import argparse
from typing import Dict, List, Optional

from tricks_mm.ladder.orchestrate import report, run_ladder
from tricks_mm.ladder.spec import check_jobs, load_ladder


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ladder', help='ladder file (configs/ladders/*.py)')
    parser.add_argument('--work-dir', help='default: work_dirs/<ladder name>')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='only (re)write the report from the recorded steps',
    )
    parser.add_argument('--echo', action='store_true', help="stream every step's log")
    parser.add_argument(
        '--jobs',
        type=int,
        help="steps run side by side on this machine (default: the ladder's `jobs`, else 1); "
        'each gets its share of the cores',
    )
    parser.add_argument(
        '--reuse-stale',
        action='store_true',
        help='keep recorded steps whose config and inputs match but whose code '
        '(tricks_mm source, version, host libraries) changed; the report '
        'marks them stale (default: rerun them)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    args = parse_args(argv)
    spec = load_ladder(args.ladder, args.work_dir)
    if args.jobs is not None:
        check_jobs(spec, args.jobs, '--jobs')
        spec.jobs = args.jobs
    return report(spec) if args.report_only else run_ladder(spec, args.echo, args.reuse_stale)


if __name__ == '__main__':
    main()
