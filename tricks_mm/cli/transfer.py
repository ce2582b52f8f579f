"""``tools/transfer.py``: classifier -> backbone checkpoints, their provenance, and published
classifiers in and out.

    tools/transfer.py convert CLS_CKPT OUT [--config CFG] [--top1 77.2]
    tools/transfer.py inspect BACKBONE_CKPT
    tools/transfer.py import SRC OUT [--from timm|torchvision|mmpretrain|mmdet|mmseg|auto]
                                     [--arch resnet50d]
                                     [--top1 X] [--ema] [--mean M M M --std S S S --scale 1|255
                                     --channel-order RGB|BGR]
    tools/transfer.py export CKPT OUT --to timm|torchvision|mmdet|mmseg|mmpretrain
                                      [--arch resnet50d]
"""

import argparse
import json
from typing import List, Optional

from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.transfer.convert import convert_classifier
from tricks_mm.transfer.export import TARGETS, export_classifier
from tricks_mm.transfer.importers import SOURCES, import_classifier
from tricks_mm.transfer.normalization import InputNormalization


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    sub = parser.add_subparsers(dest='command', required=True)
    convert = sub.add_parser('convert', help='keep the backbone. weights of a classifier')
    convert.add_argument('checkpoint', help='classifier checkpoint (tools/train.py output)')
    convert.add_argument('out', help='backbone checkpoint to write')
    convert.add_argument(
        '--config',
        help='classifier config, executed like any config you run '
        '(default: the meta.cfg the runner stored in the '
        'checkpoint, parsed as literals, never executed)',
    )
    convert.add_argument('--top1', type=float, help='classifier top-1, for the provenance')
    inspect = sub.add_parser('inspect', help='print the provenance of a backbone checkpoint')
    inspect.add_argument('checkpoint')
    imp = sub.add_parser(
        'import',
        help='a timm / torchvision / mmpretrain / mmdet / mmseg ResNet (a classifier, or a '
        'backbone alone) as a tricks_mm classifier checkpoint',
    )
    imp.add_argument('source_file', metavar='SRC')
    imp.add_argument('out', help='classifier checkpoint to write (its config goes to OUT.py)')
    imp.add_argument('--from', dest='source', default='auto', choices=sorted(SOURCES) + ['auto'])
    imp.add_argument(
        '--arch',
        help='e.g. resnet50d, resnet50d.gluon_in1k, resnet50a, '
        'resnetv1d50: confirms the inferred architecture',
    )
    imp.add_argument('--top1', type=float, help='published top-1, for the provenance')
    imp.add_argument(
        '--ema', action='store_true', help='timm train.py checkpoint: import state_dict_ema'
    )
    norm = imp.add_argument_group("input normalisation (default: the source library's)")
    norm.add_argument('--mean', type=float, nargs=3)
    norm.add_argument('--std', type=float, nargs=3)
    norm.add_argument(
        '--scale',
        type=float,
        choices=[1, 255],
        help='1: mean/std of [0, 1] pixels; 255: of 0-255 pixels',
    )
    norm.add_argument('--channel-order', choices=['RGB', 'BGR'])
    exp = sub.add_parser(
        'export',
        help='a tricks_mm classifier as a timm / torchvision state dict, or a classifier or '
        'backbone in the mmdet / mmseg / mmpretrain layout',
    )
    exp.add_argument('checkpoint')
    exp.add_argument('out', help='state dict to write (.pth, or .safetensors)')
    exp.add_argument('--to', required=True, choices=TARGETS)
    exp.add_argument('--arch', help='variant, where the checkpoint records none')
    args = parser.parse_args(argv)
    if args.command == 'import':
        given = [args.mean, args.std, args.scale, args.channel_order]
        if any(v is not None for v in given) and not all(v is not None for v in given):
            parser.error('--mean, --std, --scale and --channel-order go together')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.command == 'convert':
        meta = convert_classifier(args.checkpoint, args.out, args.config, args.top1)
    elif args.command == 'import':
        norm = (
            None
            if args.mean is None
            else InputNormalization(
                tuple(args.mean), tuple(args.std), int(args.scale), args.channel_order
            )
        )
        meta = import_classifier(
            args.source_file, args.out, args.source, args.arch, args.top1, args.ema, norm
        )
        meta = {k: v for k, v in meta.items() if k != 'cfg'}
    elif args.command == 'export':
        meta = export_classifier(args.checkpoint, args.out, args.to, args.arch)
    else:
        meta = safe_torch_load(args.checkpoint, map_location='cpu').get('meta', {})
    print(json.dumps(meta, indent=2, default=str))
    return meta


if __name__ == '__main__':
    main()
