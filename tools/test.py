"""Thin wrapper: see :mod:`tricks_mm.cli.test`."""

from tricks_mm.cli.test import main

if __name__ == '__main__':
    main()
