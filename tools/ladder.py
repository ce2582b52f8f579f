"""Thin wrapper: see :mod:`tricks_mm.cli.ladder`."""

from tricks_mm.cli.ladder import main

if __name__ == '__main__':
    main()
