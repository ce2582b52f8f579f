"""The data generators' command lines share one way to expose their sizes: one ``--flag`` per
entry of a ``DEFAULT_SIZES`` dict (``det_train`` -> ``--det-train``)."""

import argparse
from typing import Mapping


def add_size_flags(
    parser: argparse.ArgumentParser, defaults: Mapping[str, int], helps: Mapping[str, str]
) -> None:
    """Add an int ``--flag`` per size in ``defaults``, described by ``helps[name]``."""
    for name, default in defaults.items():
        parser.add_argument(
            f'--{name.replace("_", "-")}',
            dest=name,
            type=int,
            default=default,
            help=f'{helps[name]} (default: {default})',
        )
