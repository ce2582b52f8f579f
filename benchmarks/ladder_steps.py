"""Ladder step throughput: start-up of a step, two steps side by side vs one.

Runs real toy steps (``configs/toy/``: Faster R-CNN for one short epoch, the classifier for one
epoch) through the ladder's own launcher (:func:`tricks_mm.ladder.launch.run_logged`), on the
embedded synthetic suite at the demo's sizes, in alternating rounds:

- start-up: seconds from launching a step (``python -m``) to its first mmengine log line, and
  the whole step;
- jobs: two steps one after the other with all cores each vs side by side with their share of
  the cores (``OMP_NUM_THREADS``), as ``ladder.jobs=2`` runs them; wall seconds for the pair.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List

from _common import (
    REPO,
    add_report_args,
    machine_info,
    machine_md,
    md_table,
    publish,
)

from tricks_mm.datasets import generate_suite
from tricks_mm.ladder import launch

DET = REPO / 'configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'
CLS = REPO / 'configs/classification/resnet50d_cosine_8xb128_in1k.py'
OVERLAY = REPO / 'configs/toy/classification.py'
SIZES = dict(cls_size=46, cls_train_per_class=100, cls_val_per_class=10, det_train=60, det_test=8)


def _step_cmd(kind: str, work: Path) -> List[str]:
    if kind == 'det':
        args = [str(DET), '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
        args.append('model.backbone.init_cfg=None')  # the ladder's control: no checkpoint
    else:
        args = [str(CLS), '--overlay', str(OVERLAY), '--epoch-scale', str(1 / 120)]
        args += ['--auto-scale-lr']
    return [sys.executable, '-m', 'tricks_mm.cli.train', *args, '--work-dir', str(work)]


def run_step(kind: str, root: Path, tag: str, env: Dict[str, str]) -> Dict[str, float]:
    """One step; (first log line, end) in seconds from its launch."""
    work = root / 'runs' / tag
    work.mkdir(parents=True, exist_ok=True)
    started, first = time.perf_counter(), []

    def on_line(line: str) -> None:
        if not first and ' - mmengine - ' in line:
            first.append(time.perf_counter() - started)

    launch.run_logged(_step_cmd(kind, work), str(work / 'run.log'), on_line=on_line, env=env)
    return dict(first_line=first[0], total=time.perf_counter() - started)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=2)
    add_report_args(p)
    args = p.parse_args()
    cores = os.cpu_count() or 1
    root = Path(tempfile.mkdtemp(prefix='ladder_steps_'))
    os.chdir(root)  # the toy configs read data/synthetic of the working directory
    generate_suite(root / 'data' / 'synthetic', seed=0, quiet=True, **SIZES)
    run_step('det', root, 'warmup', {})  # fills the file cache
    start: List[Dict[str, float]] = []
    pairs: Dict[str, Dict[str, List[float]]] = {
        k: {'one after the other': [], 'side by side': []} for k in ('det', 'cls')
    }
    n = 0
    for _ in range(args.rounds):
        n += 1
        start.append(run_step('det', root, f's{n}', {}))
        for kind in ('det', 'cls'):
            t0 = time.perf_counter()
            for i in range(2):
                run_step(kind, root, f'q{n}{i}', {'OMP_NUM_THREADS': str(cores)})
            pairs[kind]['one after the other'].append(time.perf_counter() - t0)
            share = {'OMP_NUM_THREADS': str(max(1, cores // 2))}
            threads = [
                threading.Thread(target=run_step, args=(kind, root, f'p{n}{i}', share))
                for i in range(2)
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            pairs[kind]['side by side'].append(time.perf_counter() - t0)
            n += 1
    med = statistics.median
    rows = [[med(x['first_line'] for x in start), med(x['total'] for x in start), len(start)]]
    job_rows = [
        [kind, mode, med(times), len(times)]
        for kind, modes in pairs.items()
        for mode, times in modes.items()
    ]
    ratios = {k: med(m['one after the other']) / med(m['side by side']) for k, m in pairs.items()}
    md = '\n\n'.join(
        [
            '## Ladder steps: start-up and jobs (benchmarks/ladder_steps.py)',
            'Machine: ' + machine_md(machine_info('cpu')),
            f'Toy Faster R-CNN, one epoch of {SIZES["det_train"]} scenes; toy classifier '
            f'(R18-D half width, 46 px), one epoch of {6 * SIZES["cls_train_per_class"]} '
            f'images; medians of {args.rounds} alternating rounds, wall seconds.',
            md_table(['first log line (s)', 'whole step (s)', 'runs'], rows),
            md_table(['step', 'two steps', 'wall (s)', 'runs'], job_rows),
            'Two steps side by side (their share of the cores each) vs one after the other '
            '(all cores each): '
            + ', '.join(f'{k} {v:.2f}x the throughput' for k, v in ratios.items())
            + '.',
        ]
    )
    publish('ladder_steps', md, args)


if __name__ == '__main__':
    main()
