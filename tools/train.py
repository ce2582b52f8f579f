"""Thin wrapper: see :mod:`tricks_mm.cli.train`."""

from tricks_mm.cli.train import main

if __name__ == '__main__':
    main()
