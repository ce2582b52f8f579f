"""``tools/test.py CONFIG CHECKPOINT``: evaluate a classifier, detector or segmentor.

The checkpoint is loaded strictly (a key mismatch is an error) through the safe loader.
"""

import argparse
import json
from typing import Dict, List, Optional

from mmengine.config import DictAction
from mmengine.dist import is_main_process

import tricks_mm  # noqa: F401  (installs the safe checkpoint loader)
from tricks_mm.config.setup import apply_common_flags, import_host, load_config
from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.engine.runner import StrictRunner


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file (its default_scope picks the host library)')
    parser.add_argument('checkpoint', help='checkpoint to evaluate')
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument(
        '--overlay', nargs='+', default=[], help='config files merged over CONFIG in order'
    )
    parser.add_argument('--out-metrics', help='also write the metrics to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (pytorch = torchrun)',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    cfg = load_config(args.config, args.overlay)
    import_host(cfg)
    apply_common_flags(cfg, args.work_dir, args.launcher, args.cfg_options)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    runner = StrictRunner.from_cfg(cfg)
    metrics = runner.test()
    if args.out_metrics and is_main_process():
        atomic_write_bytes(json.dumps(metrics, indent=2, default=float).encode(), args.out_metrics)
    return metrics


if __name__ == '__main__':
    main()
