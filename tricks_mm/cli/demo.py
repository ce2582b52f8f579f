"""``make demo``: the Section 6 story on the embedded synthetic data, on CPU, in minutes.

Generates (or reuses) the synthetic suite, runs ``configs/ladders/toy_demo.py`` through
classification -> conversion -> Faster R-CNN -> FCN, and prints Tables 8/9 for it. A rerun reuses
every finished step. Data and results go to ``data/`` and ``work_dirs/`` of the current
directory (``make demo``: the checkout); the configs come from the checkout or, installed from a
wheel, from the package (:mod:`tricks_mm.utils.paths`).
"""

import argparse
from typing import Dict, List, Optional

from tricks_mm.ladder.orchestrate import run_ladder
from tricks_mm.ladder.spec import load_ladder
from tricks_mm.utils.paths import config_path

DEMO_LADDER = 'ladders/toy_demo.py'


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--echo', action='store_true', help="stream every step's log")
    args = parser.parse_args(argv)
    print(
        'tricks_mm demo: synthetic data, toy scale, CPU. The numbers show the protocol '
        "working (pretraining transfers), not the paper's results.",
        flush=True,
    )
    return run_ladder(load_ladder(config_path(DEMO_LADDER)), echo=args.echo)


if __name__ == '__main__':
    main()
