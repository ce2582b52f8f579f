"""Install the OpenMMLab stack from an offline bundle into a package folder (the GPU check's setup).

Usage (from the repository root)::

    python3 benchmarks/gpu_setup.py --bundle work_dirs/gpu_bundle --ops none   # seconds
    python3 benchmarks/gpu_setup.py --bundle work_dirs/gpu_bundle --ops cuda   # minutes

Needs: python with torch (and, for ``--ops cuda``, nvcc matching torch's CUDA and a visible GPU),
the folder made by ``benchmarks/prepare_gpu_bundle.sh`` (wheels + the mmcv 2.1.0 sdist). No
network. Writes: ``--env`` (default ``work_dirs/gpu_check_env``), a package folder to put on
``PYTHONPATH`` in front of site-packages (rather than a venv: where ``python3`` is itself a venv,
a venv made from it sees the base interpreter's packages, not torch), and the mmcv wheels beside
it (``work_dirs/gpu_check_mmcv_<flavour>``), so a rerun on the same machine reuses both.

``--ops none`` builds mmcv without compiled ops: enough for mmpretrain and the classification
measurements (mmpretrain builds and trains a BoTResNet classifier without ``mmcv.ops``).
``--ops cuda`` builds mmcv's CUDA ops for the current GPU's architecture (needed by ``mmdet`` and
``mmseg`` at import) and installs it over the first. Both use the project's one mmcv build recipe,
``scripts/build_mmcv.sh`` (the one ``scripts/install.sh`` uses).
"""

import argparse
import glob
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_ENV = REPO / 'work_dirs' / 'gpu_check_env'
MMCV_SDIST = 'mmcv-2.1.0.tar.gz'
#: what each level needs to import (``ops``: mmcv compiled with CUDA ops where CUDA is present)
CHECKS = {
    'none': 'import torch, mmengine, mmcv, mmpretrain, tricks_mm.models',
    'cuda': (
        'import sys, torch, mmengine, mmdet.models, mmseg.models, mmpretrain; '
        'from mmcv.ops import RoIAlign, nms, get_compiling_cuda_version; '
        'sys.exit(torch.cuda.is_available() '
        'and get_compiling_cuda_version() == "not available")'
    ),
}


def say(msg: str) -> None:
    print(f'[gpu_setup] {msg}', flush=True)


def child_env(env_dir: Optional[Path]) -> Dict[str, str]:
    """The environment of a child process: ENV and the repository in front of site-packages."""
    env = dict(os.environ)
    paths = ([str(env_dir)] if env_dir else []) + [str(REPO)]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.setdefault('PYTHONWARNINGS', 'ignore')
    return env


def ready(level: str, env_dir: Optional[Path]) -> bool:
    """Whether the stack imports at ``level`` (``'none'`` / ``'cuda'``) in a child process."""
    r = subprocess.run(
        [sys.executable, '-c', CHECKS[level]],
        env=child_env(env_dir),
        capture_output=True,
        text=True,
    )
    return r.returncode == 0


def _pip_install(env_dir: Path, wheels: List[str]) -> None:
    subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '-q',
            '--no-index',
            '--no-deps',
            '--no-compile',
            '--upgrade',
            '--disable-pip-version-check',
            '--target',
            str(env_dir),
            *wheels,
        ],
        check=True,
    )


def build_mmcv(bundle: Path, wheel_dir: Path, env_dir: Path, ops: str, log_file: Path) -> float:
    """``scripts/build_mmcv.sh`` on the bundled sdist; returns the build's seconds."""
    import torch

    env = child_env(env_dir)
    env.update(
        PY=sys.executable,
        MMCV_WITH_OPS='0' if ops == 'none' else '1',
        FORCE_CUDA='1' if ops == 'cuda' else '0',
        MAX_JOBS=str(os.cpu_count() or 4),
        BUILD_LOG=str(log_file),
    )
    if ops == 'cuda':
        env['TORCH_CUDA_ARCH_LIST'] = '{}.{}'.format(*torch.cuda.get_device_capability())
    t = time.perf_counter()
    subprocess.run(
        ['bash', str(REPO / 'scripts' / 'build_mmcv.sh'), str(bundle / MMCV_SDIST), str(wheel_dir)],
        env=env,
        check=True,
    )
    return time.perf_counter() - t


def ensure(
    level: str, bundle: Optional[Path], env_dir: Path = DEFAULT_ENV, log_dir: Optional[Path] = None
) -> Dict[str, Any]:
    """Make the stack import at ``level``; returns what was done (and how long it took)."""
    info: Dict[str, Any] = dict(level=level)
    if ready(level, None):
        info['status'] = 'already importable: nothing installed'
        return info
    if ready(level, env_dir):
        info['status'] = f'reusing {env_dir}'
        return info
    if bundle is None or not (bundle / MMCV_SDIST).is_file():
        raise SystemExit(
            f'the stack does not import at level {level!r} and {bundle} holds no '
            f'{MMCV_SDIST}: make the bundle with benchmarks/prepare_gpu_bundle.sh'
        )
    env_dir.mkdir(parents=True, exist_ok=True)
    log_dir = log_dir or env_dir.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    if not ready('none', env_dir):
        t = time.perf_counter()
        _pip_install(env_dir, sorted(glob.glob(str(bundle / '*.whl'))))
        info['wheels_s'] = time.perf_counter() - t
    import torch

    flavour = (
        ('sm' + ''.join(map(str, torch.cuda.get_device_capability())))
        if level == 'cuda'
        else 'noops'
    )
    wheel_dir = env_dir.parent / f'gpu_check_mmcv_{flavour}'
    if glob.glob(str(wheel_dir / 'mmcv*-2.1.0-*.whl')):
        info['mmcv_build_s'] = 0.0
    else:
        log_file = log_dir / f'mmcv_build_{flavour}.log'
        info['mmcv_build_log'] = str(log_file)
        info['mmcv_build_s'] = build_mmcv(bundle, wheel_dir, env_dir, level, log_file)
    _pip_install(env_dir, glob.glob(str(wheel_dir / 'mmcv*-2.1.0-*.whl')))
    ok = ready(level, env_dir)
    info['status'] = f'installed into {env_dir}' + ('' if ok else ', but the import check fails')
    if not ok:
        raise SystemExit(f'[gpu_setup] level {level!r}: installed, but `{CHECKS[level]}` fails')
    return info


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]),
    )
    p.add_argument('--bundle', type=Path, default=REPO / 'work_dirs' / 'gpu_bundle')
    p.add_argument('--env', type=Path, default=DEFAULT_ENV)
    p.add_argument('--ops', choices=['none', 'cuda'], default='none')
    return p.parse_args(argv)


if __name__ == '__main__':
    a = parse_args()
    say(str(ensure(a.ops, a.bundle, a.env)))
