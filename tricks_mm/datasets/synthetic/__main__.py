"""Command line: ``python -m tricks_mm.datasets.synthetic --out DIR [--seed 0] [sizes...]``."""

import argparse
import sys
from typing import List, Optional

from tricks_mm.datasets.size_flags import add_size_flags

from .suite import DEFAULT_SIZES, generate_suite

_HELP = {
    'num_classes': 'number of shape categories (2-8)',
    'cls_train_per_class': 'classification training crops per class',
    'cls_val_per_class': 'classification validation crops per class',
    'cls_size': 'side of the square classification crops, pixels',
    'det_train': 'detection training scenes, split over VOC2007 and VOC2012 trainval',
    'det_test': 'detection test scenes (VOC2007 test)',
    'seg_train': 'segmentation training scenes (ADE20K training)',
    'seg_val': 'segmentation validation scenes (ADE20K validation)',
    'scene_size': 'longer side of detection / segmentation scenes, pixels',
}


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI parser; one ``--flag`` per entry of ``DEFAULT_SIZES``."""
    parser = argparse.ArgumentParser(
        prog='python -m tricks_mm.datasets.synthetic',
        description='Write the deterministic synthetic suite (ImageNet-, Pascal VOC- and '
        'ADE20K-format) used by the toy configs. Refuses a non-empty directory it did not '
        'write; reuses one written with the same arguments.',
    )
    parser.add_argument('--out', required=True, help='suite root directory')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    add_size_flags(parser, DEFAULT_SIZES, _HELP)
    parser.add_argument('--quiet', action='store_true', help='no progress lines')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI; return the process exit status."""
    args = build_parser().parse_args(argv)
    sizes = {name: getattr(args, name) for name in DEFAULT_SIZES}
    try:
        info = generate_suite(args.out, args.seed, quiet=args.quiet, **sizes)
    except (ValueError, FileExistsError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not args.quiet:
        print(
            f'{"reused" if info.reused else "generated"} {info.root}\n'
            f'  cls: {info.cls_root}\n  det: {info.det_root}\n  seg: {info.seg_root}\n'
            f'  classes: {", ".join(info.classes)}'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
