"""``tricks-mm COMMAND ...``: the console entry point of an installed tricks_mm.

Each command is the ``main`` of one ``tricks_mm.cli`` module, the same function the
``tools/*.py`` wrappers of a checkout call, so ``tricks-mm train CONFIG`` and
``python tools/train.py CONFIG`` take the same arguments. Only the chosen command's module is
imported, so ``tricks-mm --help`` does not load torch or the OpenMMLab libraries.
"""

import argparse
import importlib
import sys
from typing import List, Optional

#: command -> one line of help (kept here so the top-level help imports nothing heavy).
COMMANDS = {
    'train': 'train a classifier, detector or segmentor from a config (tools/train.py)',
    'test': "evaluate a checkpoint on the config's test split (tools/test.py)",
    'transfer': 'convert a classifier to a backbone checkpoint, or inspect one (tools/transfer.py)',
    'ladder': "the paper's Section 6 protocol from a ladder file (tools/ladder.py)",
    'demo': 'the Section 6 story on embedded synthetic data, on CPU (make demo)',
}


def main(argv: Optional[List[str]] = None) -> None:
    """Dispatch ``argv`` (default: the command line) to the command's ``main``.

    Shipped configs are addressed as in a checkout (``configs/...``) from any directory;
    outputs go to the current directory (``work_dirs/``, ``data/``).
    """
    parser = argparse.ArgumentParser(
        prog='tricks-mm',
        description='Bag of Tricks (He et al., CVPR 2019) as OpenMMLab components, and the '
        "paper's Section 6 transfer protocol.",
        epilog='commands:\n'
        + ''.join(f'  {name:<10}{text}\n' for name, text in COMMANDS.items())
        + '\n`tricks-mm COMMAND --help` shows the options of COMMAND.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'command', choices=list(COMMANDS), metavar='COMMAND', help='one of the commands below'
    )
    parser.add_argument('args', nargs=argparse.REMAINDER, help='arguments of COMMAND')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    module = importlib.import_module(f'tricks_mm.cli.{args.command}')
    # the command's own parser names itself after argv[0] in its usage and errors
    sys.argv[0] = f'tricks-mm {args.command}'
    module.main(args.args)


if __name__ == '__main__':
    main()
