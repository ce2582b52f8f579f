"""``tools/transfer.py``: classifier -> backbone checkpoints, and their provenance.

    tools/transfer.py convert CLS_CKPT OUT [--config CFG] [--top1 77.2]
    tools/transfer.py inspect BACKBONE_CKPT
"""
import argparse
import json
from typing import List, Optional

from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.transfer.convert import convert_classifier


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)
    convert = sub.add_parser('convert', help='keep the backbone. weights of a classifier')
    convert.add_argument('checkpoint', help='classifier checkpoint (tools/train.py output)')
    convert.add_argument('out', help='backbone checkpoint to write')
    convert.add_argument('--config', help='classifier config, executed like any config you run '
                                          '(default: the meta.cfg the runner stored in the '
                                          'checkpoint, parsed as literals, never executed)')
    convert.add_argument('--top1', type=float, help='classifier top-1, for the provenance')
    inspect = sub.add_parser('inspect', help='print the provenance of a backbone checkpoint')
    inspect.add_argument('checkpoint')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.command == 'convert':
        meta = convert_classifier(args.checkpoint, args.out, args.config, args.top1)
    else:
        meta = safe_torch_load(args.checkpoint, map_location='cpu').get('meta', {})
    print(json.dumps(meta, indent=2, default=str))
    return meta


if __name__ == '__main__':
    main()
