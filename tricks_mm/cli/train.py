"""``tools/train.py CONFIG``: train a classifier, detector or segmentor from a config.

The host library (mmpretrain, mmdet or mmseg) is the config's ``default_scope``; the flags are
the ones OpenMMLab's own ``tools/train.py`` scripts have.
"""

import argparse
import json
from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process

import tricks_mm  # noqa: F401  (installs the safe checkpoint loader and atomic saves)
from tricks_mm.config.color_aug import color_per_image
from tricks_mm.config.guards import install_train_guards
from tricks_mm.config.setup import apply_common_flags, import_host, load_config
from tricks_mm.datasets.checks import DEFAULT_LABEL_MAP_SAMPLE, check_before_training
from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.engine.distributed import init_distributed_without_cuda
from tricks_mm.engine.runner import StrictRunner, find_resume_checkpoint
from tricks_mm.transfer.normalization import check_config_normalization


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file (its default_scope picks the host library)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--overlay',
        nargs='+',
        default=[],
        help='config files merged over CONFIG in order (e.g. '
        'configs/toy/classification.py for the embedded data)',
    )
    parser.add_argument(
        '--epoch-scale',
        type=float,
        help='multiply max_epochs and every epoch-based scheduler field by this '
        'factor (keeps the schedule shape; toy runs use e.g. 0.1)',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision through mmengine AmpOptimWrapper (dynamic loss '
        'scale); add --cfg-options optim_wrapper.dtype=bfloat16 for bf16',
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the latest checkpoint in the work dir, or from PATH',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the LR linearly with the total batch size '
        '(auto_scale_lr.base_batch_size in the config)',
    )
    parser.add_argument(
        '--color-per-image',
        action='store_true',
        help='colour jitter + PCA lighting per image in the loader workers '
        '(mmpretrain ColorJitter + BoTLighting) instead of on the batch in '
        'the data preprocessor (data_preprocessor.batch_color, the default)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_epochs=2',
    )
    parser.add_argument(
        '--skip-data-check',
        action='store_true',
        help='do not check the datasets on disk before training (tricks_mm.datasets.checks)',
    )
    parser.add_argument(
        '--data-check-sample',
        type=int,
        default=DEFAULT_LABEL_MAP_SAMPLE,
        metavar='N',
        help='the data check reads every label map of a dataset with at most N, '
        'a seeded random sample of N above (default: %(default)s)',
    )
    parser.add_argument(
        '--out-metrics',
        help='after training, evaluate on the test split in the same process '
        '(the trained weights, as tools/test.py would on the last '
        'checkpoint) and write the metrics to this JSON file',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (pytorch = torchrun)',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_train_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and apply the command-line flags."""
    cfg = load_config(args.config, args.overlay)
    import_host(cfg)
    apply_common_flags(
        cfg,
        args.work_dir,
        args.launcher,
        args.cfg_options,
        amp=args.amp,
        auto_scale_lr=args.auto_scale_lr,
        epoch_scale=args.epoch_scale,
    )
    if args.color_per_image:
        color_per_image(cfg)
    install_train_guards(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv: Optional[List[str]] = None) -> StrictRunner:
    args = parse_args(argv)
    cfg = build_train_config(args)
    check_config_normalization(cfg)
    if not args.skip_data_check:
        check_before_training(
            cfg,
            loaders=('train_dataloader', 'val_dataloader')
            + (('test_dataloader',) if args.out_metrics else ()),
            label_map_sample=args.data_check_sample,
        )
    init_distributed_without_cuda(cfg)
    runner = StrictRunner.from_cfg(cfg)
    runner.train()
    if args.out_metrics:
        metrics = runner.test()
        if is_main_process():
            atomic_write_bytes(
                json.dumps(metrics, indent=2, default=float).encode(), args.out_metrics
            )
    return runner


if __name__ == '__main__':
    main()
