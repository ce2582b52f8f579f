"""Thin wrapper: see :mod:`tricks_mm.cli.transfer`."""

from tricks_mm.cli.transfer import main

if __name__ == '__main__':
    main()
