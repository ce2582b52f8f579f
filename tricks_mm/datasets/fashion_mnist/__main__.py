"""Command line: ``python -m tricks_mm.datasets.fashion_mnist --out DIR [options]``."""

import argparse
import sys
from typing import List, Optional

from tricks_mm.datasets.size_flags import add_size_flags

from .prepare import DEFAULT_SIZES, prepare

_HELP = {
    'cls_train': 'training images used for pretraining (the first N of 60000)',
    'cls_val': 'test images used to validate the classifiers (the first N of 10000)',
    'det_train': 'detection training scenes (VOC2007 + VOC2012 trainval)',
    'det_test': 'detection test scenes (VOC2007 test)',
    'seg_train': 'segmentation training scenes (ADE20K training)',
    'seg_val': 'segmentation validation scenes (ADE20K validation)',
    'scene_size': 'side of the square detection / segmentation scenes, pixels',
}


def build_parser() -> argparse.ArgumentParser:
    """The CLI parser; one ``--flag`` per entry of ``DEFAULT_SIZES``."""
    parser = argparse.ArgumentParser(
        prog='python -m tricks_mm.datasets.fashion_mnist',
        description="Write the miniature's datasets from Fashion-MNIST: pretraining in "
        'mmpretrain format, downstream scenes from test items in Pascal VOC and ADE20K format. '
        "Files: --fashion-mnist PATH, else Debian's /usr/share/datasets/fashion-mnist, else a "
        'torchvision download into --download-root.',
    )
    parser.add_argument('--out', required=True, help='output root directory')
    parser.add_argument('--seed', type=int, default=0, help='scene seed (default: 0)')
    parser.add_argument('--fashion-mnist', dest='source', help='folder with the four idx files')
    parser.add_argument('--download-root', help='allow a torchvision download into this folder')
    add_size_flags(parser, DEFAULT_SIZES, _HELP)
    parser.add_argument('--quiet', action='store_true', help='no progress lines')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI; the process exit status."""
    args = build_parser().parse_args(argv)
    sizes = {name: getattr(args, name) for name in DEFAULT_SIZES}
    try:
        info = prepare(
            args.out,
            args.seed,
            source=args.source,
            download_root=args.download_root,
            quiet=args.quiet,
            **sizes,
        )
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not args.quiet:
        print(f'{"reused" if info.reused else "wrote"} {info.root}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
