"""``make demo``: the Section 6 story on the embedded synthetic data, on CPU, in minutes.

Generates (or reuses) the synthetic suite, runs ``configs/ladders/toy_demo.py`` through
classification -> conversion -> Faster R-CNN -> FCN, and prints Tables 8/9 for it. A rerun reuses
every finished step.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

from tricks_mm.ladder.orchestrate import run_ladder
from tricks_mm.ladder.spec import load_ladder

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_LADDER = 'configs/ladders/toy_demo.py'


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--echo', action='store_true', help="stream every step's log")
    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)  # the ladder file and the configs use repo-relative paths
    print('tricks_mm demo: synthetic data, toy scale, CPU. The numbers show the protocol '
          "working (pretraining transfers), not the paper's results.", flush=True)
    return run_ladder(load_ladder(DEMO_LADDER), echo=args.echo)


if __name__ == '__main__':
    main()
