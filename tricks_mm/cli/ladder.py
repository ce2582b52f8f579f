"""``tools/ladder.py LADDER``: the paper's Section 6 protocol in one command.

For every seed and rung: train the classifier, convert it to a backbone, train and evaluate
Faster R-CNN and FCN on it; then write Tables 8/9 (Markdown), a CSV and a plot to the ladder's
work dir. Finished steps are recorded by a hash of their config, inputs and code and skipped on
rerun (a step whose code changed reruns unless --reuse-stale); an interrupted step resumes from
its last checkpoint (:mod:`tricks_mm.ladder.orchestrate`). With --executor slurm every step is
a Slurm job with its dependencies (:mod:`tricks_mm.ladder.executors.slurm`).
"""

import argparse
from typing import Any, List, Optional

from tricks_mm.ladder.executors.slurm import (
    SlurmExecutor,
    executor_type,
    format_status,
    run_step,
)
from tricks_mm.ladder.orchestrate import report, run_ladder
from tricks_mm.ladder.plan import LadderPlan
from tricks_mm.ladder.spec import check_jobs, load_ladder


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ladder', help='ladder file (configs/ladders/*.py)')
    parser.add_argument('--work-dir', help='default: work_dirs/<ladder name>')
    parser.add_argument(
        '--executor',
        choices=('local', 'slurm'),
        help="where the steps run: 'local' (this machine) or 'slurm' (one job per step, "
        "submitted with its dependencies; the command returns); default: the ladder's "
        'executor.type, else local',
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        '--report-only',
        action='store_true',
        help='only (re)write the report from the recorded steps',
    )
    action.add_argument(
        '--status',
        action='store_true',
        help='print every step: recorded, or its Slurm job pending (reason) / running (node) / '
        'failed (exit code, log)',
    )
    action.add_argument('--cancel', action='store_true', help="cancel the ladder's Slurm jobs")
    action.add_argument(
        '--run-step',
        metavar='STEP',
        help='run one step whose inputs are recorded, and record it (what each Slurm job runs)',
    )
    parser.add_argument('--echo', action='store_true', help="stream every step's log")
    parser.add_argument(
        '--jobs',
        type=int,
        help="steps run side by side on this machine (default: the ladder's `jobs`, else 1); "
        'each gets its share of the cores (and of the GPUs)',
    )
    parser.add_argument(
        '--reuse-stale',
        action='store_true',
        help='keep recorded steps whose config and inputs match but whose code '
        '(tricks_mm source, version, host libraries) changed; the report '
        'marks them stale (default: rerun them)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Any:
    args = parse_args(argv)
    spec = load_ladder(args.ladder, args.work_dir)
    if args.jobs is not None:
        check_jobs(spec, args.jobs, '--jobs')
        spec.jobs = args.jobs
    executor = executor_type(spec, args.executor)
    if args.report_only:
        return report(spec)
    if args.status or args.cancel or args.run_step:
        plan = LadderPlan(spec, reuse_stale=args.reuse_stale)
        if args.run_step:
            return run_step(plan, args.run_step)
        slurm = SlurmExecutor(plan)
        if args.cancel:
            cancelled = slurm.cancel()
            print(f'cancelled {len(cancelled)} job(s): {" ".join(cancelled)}')
            return cancelled
        rows = slurm.status()
        print(format_status(rows))
        return rows
    return run_ladder(spec, args.echo, args.reuse_stale, executor)


if __name__ == '__main__':
    main()
