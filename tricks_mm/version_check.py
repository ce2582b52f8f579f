"""Refuse, at import, an OpenMMLab stack that tricks_mm does not support (as mmdet does for mmcv).

``pyproject.toml`` declares torch and the OpenMMLab libraries only in the ``[mm]`` extra, so that
``pip install tricks_mm`` never replaces a working environment's torch or compiled mmcv. The
price is that pip no longer guarantees the versions: this module does, before any of them is
imported, by reading the installed *distributions* with :mod:`importlib.metadata` (no import of
torch or mmcv; about 20 ms). The maintained fork of the OpenMMLab libraries installs the
same import names under other distribution names (``onedl-mmcv``, ...), with its own version
numbers, so each library has one supported range per distribution.

``TRICKS_MM_SKIP_VERSION_CHECK=1`` turns the error into a warning, to try an untested
combination on purpose.
"""

import importlib.metadata
import importlib.util
import os
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

SKIP_ENV = 'TRICKS_MM_SKIP_VERSION_CHECK'


@dataclass(frozen=True)
class Library:
    """One importable library and the distributions that may provide it.

    Attributes:
        module: the import name (``mmseg``).
        ranges: distribution name -> supported PEP 440 range; the first entry is the upstream
            distribution, the one the ``[mm]`` extra of ``pyproject.toml`` installs.
        why: where the bounds come from (shown in the error).
        required: tricks_mm cannot be imported without it.
    """

    module: str
    ranges: Dict[str, str]
    why: str
    required: bool = False

    @property
    def upstream(self) -> str:
        return next(iter(self.ranges))


#: The supported ranges. The upstream ones are repeated in ``pyproject.toml`` (``[mm]``) and
#: ``tests/packaging/test_version_check.py`` checks that both say the same. Tested: the pins of
#: ``requirements/constraints.txt``; everything else is declared (docs/setup.md, "Compatibility").
LIBRARIES: Tuple[Library, ...] = (
    Library(
        'torch',
        {'torch': '>=2.5,<2.15'},
        required=True,
        why='the checkpoint allowlist needs torch.serialization.safe_globals, new in 2.5; '
        '2.14 is the newest torch tested',
    ),
    Library(
        'torchvision',
        {'torchvision': '>=0.20,<0.30'},
        why='the torchvision releases that go with torch 2.5 - 2.14',
    ),
    Library(
        'mmengine',
        {'mmengine': '>=0.10.0,<0.11', 'onedl-mmengine': '>=0.10.8,<0.11'},
        required=True,
        why='tricks_mm replaces mmengine checkpoint loaders and the local file backend, '
        "internals that exist from 0.10.0 through the fork's 0.10.x",
    ),
    Library(
        'mmcv',
        {'mmcv': '>=2.0.0,<2.2.0', 'onedl-mmcv': '>=2.3.0,<2.4'},
        why='the mmcv 2 transforms API; upstream mmdet 3.3 and mmseg 1.2 refuse mmcv>=2.2, '
        'the fork continues at 2.3',
    ),
    Library(
        'mmdet',
        {'mmdet': '>=3.3.0,<3.4', 'onedl-mmdetection': '>=3.4.0,<3.6'},
        why="upstream 3.3, the last upstream line; the fork's 3.4 and 3.5",
    ),
    Library(
        'mmseg',
        {'mmsegmentation': '>=1.2.0,<1.3', 'onedl-mmsegmentation': '>=1.3.0,<1.5'},
        why="upstream 1.2, the last upstream line; the fork's 1.3 and 1.4",
    ),
    Library(
        'mmpretrain',
        {'mmpretrain': '>=1.2.0,<1.3', 'onedl-mmpretrain': '>=1.3.0,<1.4'},
        why="upstream 1.2, the last upstream line; the fork's 1.3",
    ),
)

#: Bounds on other packages that hold only beside some versions of a library:
#: (distribution family, its versions, other distribution, its supported range, why).
COMPANIONS: Tuple[Tuple[str, str, str, str, str], ...] = (
    (
        'mmcv',
        '<2.2',
        'numpy',
        '<2',
        "mmcv 2.1's image ops overflow under numpy 2 (adjust_hue, used by the paper's ColorJitter: "
        'np.uint8 of a negative value raises)',
    ),
)

FIX = (
    "mmcv's compiled ops must match torch: after changing torch, rebuild mmcv for it "
    '(tricks_mm docs/setup.md). On a fresh machine, '
    '`make install` in the checkout sets up the tested stack. '
    f'{SKIP_ENV}=1 turns this error into a warning, to try a combination anyway.'
)


class IncompatibleVersionError(ImportError):
    """An installed library is outside the range tricks_mm supports (or missing, or doubled)."""


def installed_version(dist: str) -> Optional[str]:
    """The installed version of distribution ``dist``, ``None`` if it is not installed."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _module_exists(module: str) -> bool:
    """Whether top-level ``module`` is importable (found on the path, not imported)."""
    return importlib.util.find_spec(module) is not None


def _providers(module: str) -> List[str]:
    """Every installed distribution holding top-level ``module``.

    Scans all installed distributions (tens of milliseconds), so it runs only when none of the
    known distribution names is installed but the module is there: the fork's per-CUDA wheels
    (``onedl-mmcv-cu128-torch2-8``), ``mmcv-lite``, a renamed build.
    """
    return list(importlib.metadata.packages_distributions().get(module, []))


def _family(lib: Library, dist: str) -> Optional[str]:
    """The known distribution that ``dist`` is, or is a variant of (``onedl-mmcv-cu128...``)."""
    dist = dist.lower().replace('_', '-')
    matches = [known for known in lib.ranges if dist == known or dist.startswith(known + '-')]
    return max(matches, key=len) if matches else None


def _installed(lib: Library) -> Dict[str, str]:
    """Installed distribution -> version for the distributions providing ``lib.module``."""
    found = {dist: v for dist in lib.ranges if (v := installed_version(dist)) is not None}
    if found or not _module_exists(lib.module):
        return found
    return {dist: v for dist in _providers(lib.module) if (v := installed_version(dist))}


def _contains(spec: str, version: str) -> bool:
    """PEP 440 membership; pre-releases count (the fork publishes rc versions)."""
    try:
        return SpecifierSet(spec).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _problem(lib: Library, dist: str, version: str) -> Optional[str]:
    family = _family(lib, dist)
    if family is None:
        known = ', '.join(f'{d}{r}' for d, r in lib.ranges.items())
        return (
            f'`{lib.module}` comes from {dist}=={version}, a distribution tricks_mm does not '
            f'know (it supports {known}). Fix: pip install "{lib.upstream}'
            f'{lib.ranges[lib.upstream]}"'
        )
    wanted = lib.ranges[family]
    if _contains(wanted, version):
        return None
    return (
        f'{dist}=={version} is installed (import name `{lib.module}`), but tricks_mm '
        f'supports {family}{wanted}: {lib.why}. Fix: pip install "{family}{wanted}"'
    )


def _companion_problems(lib: Library, dist: str, version: str) -> List[str]:
    problems = []
    for family, versions, other, wanted, why in COMPANIONS:
        if _family(lib, dist) != family or not _contains(versions, version):
            continue
        other_version = installed_version(other)
        if other_version is not None and not _contains(wanted, other_version):
            problems.append(
                f'{other}=={other_version} is installed beside {dist}=={version}, '
                f'which needs {other}{wanted}: {why}. Fix: pip install '
                f'"{other}{wanted}"'
            )
    return problems


def find_problems() -> List[str]:
    """Every way the installed libraries differ from :data:`LIBRARIES`, one sentence each."""
    problems = []
    for lib in LIBRARIES:
        found = _installed(lib)
        if len(found) > 1:
            both = ' and '.join(f'{d}=={v}' for d, v in found.items())
            problems.append(
                f"{both} are both installed and overwrite each other's "
                f'`{lib.module}` package; `pip uninstall` one of them (then reinstall '
                f'the other).'
            )
        elif found:
            dist, version = next(iter(found.items()))
            problems += filter(
                None, [_problem(lib, dist, version), *_companion_problems(lib, dist, version)]
            )
        elif _module_exists(lib.module):
            problems.append(
                f'`{lib.module}` is importable but no installed distribution provides '
                f'it (a source tree on PYTHONPATH?), so its version is unknown. Fix: '
                f'install it with pip (`pip install -e DIR` for a source tree)'
            )
        elif lib.required:
            wanted = lib.upstream + lib.ranges[lib.upstream]
            fork = ' or its onedl fork' if len(lib.ranges) > 1 else ''
            problems.append(
                f'`{lib.module}` is not installed; tricks_mm needs {wanted}'
                f'{fork}. Fix: pip install "tricks_mm[mm]"'
            )
    return problems


def check_versions() -> None:
    """Raise :class:`IncompatibleVersionError` naming each unsupported library and the fix.

    With ``TRICKS_MM_SKIP_VERSION_CHECK=1`` the same message is a warning instead.
    """
    problems = find_problems()
    if not problems:
        return
    message = 'tricks_mm cannot run on this environment:\n  ' + '\n  '.join(problems) + '\n' + FIX
    if os.environ.get(SKIP_ENV) == '1':
        warnings.warn(message.replace(FIX, f'({SKIP_ENV}=1: going on anyway)'), stacklevel=2)
        return
    raise IncompatibleVersionError(message)
