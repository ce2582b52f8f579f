"""Where the project's ``configs/`` are: in the checkout, or inside the installed wheel.

In a checkout (an editable install, or ``PYTHONPATH`` on the tree) ``configs/`` sits next to
the package. A wheel carries a copy as package data in ``tricks_mm/.mim/configs`` (written by
``setup.py`` at build time, the folder name OpenMMLab packages use for theirs), so ladder files,
``tools/train.py configs/...`` style paths and the demo work from any directory. Outputs
(``work_dirs/``, ``data/``) stay relative to the current directory either way.
"""

import os
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The prefix of config paths as the project writes them (ladder files, the README, --help).
PREFIX = 'configs/'


def configs_root() -> str:
    """The ``configs/`` folder: the checkout's when there is one, else the installed copy.

    A checkout is recognised by its ``pyproject.toml`` beside ``configs/``: a stray top-level
    ``configs`` folder in site-packages (some packages install one) is not mistaken for ours.

    Raises:
        FileNotFoundError: neither exists (a wheel built without the configs).
    """
    checkout = osp.dirname(PACKAGE_DIR)
    if osp.isfile(osp.join(checkout, 'pyproject.toml')) and osp.isdir(
        osp.join(checkout, 'configs')
    ):
        return osp.join(checkout, 'configs')
    packaged = osp.join(PACKAGE_DIR, '.mim', 'configs')
    if osp.isdir(packaged):
        return packaged
    raise FileNotFoundError(
        f'tricks_mm finds no configs: neither a checkout ({checkout}/configs beside '
        f'pyproject.toml) nor the copy a wheel carries ({packaged}). Reinstall tricks_mm from a '
        f'wheel built with `python -m build`, or install the checkout with `pip install -e .`.'
    )


def config_path(relative: str) -> str:
    """Absolute path of the shipped config ``relative`` (to ``configs/``), e.g.
    ``config_path('ladders/toy_demo.py')``.

    Raises:
        FileNotFoundError: there is no such shipped config (the message names where it looked).
    """
    path = osp.join(configs_root(), relative)
    if not osp.isfile(path):
        raise FileNotFoundError(f'tricks_mm ships no config {relative!r} (looked for {path})')
    return path


def resolve_config(path: str) -> str:
    """A config path as a user or a ladder file wrote it, made to work from any directory.

    The file as given (absolute, or relative to the current directory) wins, so one's own
    configs and a checkout's edited ones are used as they are. Otherwise a path starting with
    ``configs/`` names a shipped config and resolves through :func:`config_path`. Anything
    else comes back unchanged, for the caller to report as missing with its own context.
    """
    path = os.fspath(path)
    if osp.isfile(path) or not path.startswith(PREFIX):
        return path
    try:
        return config_path(path[len(PREFIX) :])
    except FileNotFoundError:
        return path
