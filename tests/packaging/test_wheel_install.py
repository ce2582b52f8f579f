"""Installing tricks_mm as a library: into an environment that already holds the pinned stack,
and from a wheel, used from a directory outside the repository.

The throwaway environment is a venv under tmp whose ``.pth`` file puts this test run's
site-packages (the pinned torch / OpenMMLab stack) on its path, so pip sees the stack as
installed without copying gigabytes; pip never touches it there (it is outside the venv).
Nothing is downloaded: every pip call is ``--no-index``, so a requirement the installed stack
does not satisfy fails the test instead of being fetched.
"""

import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path
from typing import List, Set

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

_NOT_SOURCE = shutil.ignore_patterns(
    '.git',
    '.venv',
    'work_dirs',
    'data',
    'build',
    'dist',
    '__pycache__',
    '*.egg-info',
    '.pytest_cache',
)


def _run(cmd: List[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run without PYTHONPATH (which points at the checkout) and fail with the output."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK='1', PYTHONDONTWRITEBYTECODE='1')
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True, **kwargs)
    assert proc.returncode == 0, f'{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}'
    return proc


@pytest.fixture(scope='module')
def source(tmp_path_factory) -> Path:
    """A copy of the tree, so that building writes no build/ or egg-info into the checkout."""
    copy = tmp_path_factory.mktemp('src') / 'tricks_mm_src'
    shutil.copytree(REPO, copy, ignore=_NOT_SOURCE)
    return copy


@pytest.fixture(scope='module')
def wheel(source, tmp_path_factory) -> Path:
    """The wheel ``python -m build`` makes: an sdist first, then the wheel built from it."""
    out = tmp_path_factory.mktemp('dist')
    sdist = _run(
        [
            sys.executable,
            '-c',
            'import sys; from setuptools import build_meta; '
            'print(build_meta.build_sdist(sys.argv[1]))',
            str(out),
        ],
        cwd=source,
    ).stdout.split()[-1]
    with tarfile.open(out / sdist) as tar:
        tar.extractall(out, filter='data')
    unpacked = out / sdist[: -len('.tar.gz')]
    _run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '--no-deps',
            '--no-index',
            '--no-build-isolation',
            '-q',
            str(unpacked),
            '-w',
            str(out),
        ],
        cwd=out,
    )
    wheels = list(out.glob('tricks_mm-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _venv(root: Path) -> Path:
    """A venv seeing this run's packages through a .pth line; returns its python."""
    _run([sys.executable, '-m', 'venv', '--without-pip', str(root)], cwd=root.parent)
    python = root / 'bin' / 'python'
    site = _run(
        [str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'], cwd=root
    ).stdout.strip()
    # a plain path line: the stack's own .pth files (the checkout's editable install) stay off
    Path(site, 'pinned_stack.pth').write_text(sysconfig.get_path('purelib') + '\n')
    return python


def _installs(report: Path) -> List[str]:
    return sorted(item['metadata']['name'] for item in json.loads(report.read_text())['install'])


def test_wheel_carries_the_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f'tricks_mm/.mim/{p.relative_to(REPO).as_posix()}' for p in (REPO / 'configs').rglob('*.py')
    }
    assert shipped and shipped <= names
    entry_points = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith('.dist-info/entry_points.txt')))
        .decode()
    )
    assert 'tricks-mm = tricks_mm.cli.main:main' in entry_points


@pytest.mark.parametrize('target', ['.', '.[mm]'])
def test_dry_run_installs_nothing_but_tricks_mm(source, tmp_path, target):
    """In an environment holding the pinned stack, pip keeps every installed version."""
    python = _venv(tmp_path / 'venv')
    report = tmp_path / 'report.json'
    _run(
        [
            str(python),
            '-m',
            'pip',
            'install',
            '--dry-run',
            '--no-index',
            '--no-build-isolation',
            '--quiet',
            '--report',
            str(report),
            target,
        ],
        cwd=source,
    )
    assert _installs(report) == ['tricks_mm']


def test_installed_wheel_works_outside_the_repository(wheel, tmp_path):
    python = _venv(tmp_path / 'venv')
    report = tmp_path / 'report.json'
    # a real install, dependencies resolved against the stack (nothing to fetch or replace)
    _run(
        [
            str(python),
            '-m',
            'pip',
            'install',
            '--no-index',
            '--quiet',
            '--report',
            str(report),
            str(wheel),
        ],
        cwd=tmp_path,
    )
    assert _installs(report) == ['tricks_mm']
    site = Path(
        _run(
            [str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
            cwd=tmp_path,
        ).stdout.strip()
    )
    work = tmp_path / 'work'
    work.mkdir()

    cli = str(tmp_path / 'venv' / 'bin' / 'tricks-mm')
    usage = _run([cli, '--help'], cwd=work).stdout
    assert usage.startswith('usage: tricks-mm [-h] COMMAND ...')
    for name in ('train', 'test', 'transfer', 'ladder', 'demo'):
        assert f'\n  {name} ' in usage, name
    assert _run([cli, 'demo', '--help'], cwd=work).stdout.startswith(
        'usage: tricks-mm demo [-h] [--echo]'
    )

    # the demo's ladder through the installed package; run_ladder only records what it got
    probe = textwrap.dedent("""
        import json, os, sys
        import tricks_mm
        import tricks_mm.cli.demo as demo
        from mmengine.config import Config
        seen = {}
        def run_ladder(spec, echo=False):
            seen.update(package=tricks_mm.__file__, work_dir=os.path.abspath(spec.work_dir),
                        data=os.path.abspath(spec.synthetic_data['out']),
                        configs=[spec.detect.config, spec.segment.config, *spec.classify.overlays]
                        + [r.cls_config for r in spec.rungs if r.cls_config])
            # the _base_ chains resolve inside the package copy
            seen['det_type'] = Config.fromfile(spec.detect.config).model.type
            seen['cls_type'] = Config.fromfile(spec.rungs[1].cls_config).model.type
        demo.run_ladder = run_ladder
        demo.main([])
        print(json.dumps(seen))
    """)
    seen = json.loads(_run([str(python), '-c', probe], cwd=work).stdout.splitlines()[-1])
    copy = site / 'tricks_mm' / '.mim' / 'configs'
    assert seen['package'] == str(site / 'tricks_mm' / '__init__.py')
    assert len(seen['configs']) == 5
    assert all(Path(p).is_file() and Path(p).is_relative_to(copy) for p in seen['configs'])
    assert seen['work_dir'] == str(work / 'work_dirs' / 'demo')
    assert seen['data'] == str(work / 'data' / 'synthetic')
    assert (seen['det_type'], seen['cls_type']) == ('FasterRCNN', 'ImageClassifier')
    assert not (site / 'work_dirs').exists() and not (site / 'data').exists()


#: imported only when the user selects it, named then: not a requirement
#: (``BoTLoadImageFromFile(imdecode_backend='simplejpeg')``, tricks_mm/datasets/loading.py)
_OPT_IN = {'simplejpeg'}


def _imported_libraries() -> Set[str]:
    """Top-level modules outside the standard library that tricks_mm imports anywhere, lazy
    imports inside functions included (read from the source, not from an import)."""
    found = set()
    for path in (REPO / 'tricks_mm').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split('.')[0])
    return found - set(sys.stdlib_module_names) - {'tricks_mm'}


def _wheel_requirements(wheel: Path, extra: str) -> Set[str]:
    """The distributions the wheel requires when installed with ``[extra]`` (no other extra)."""
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith('.dist-info/METADATA')))
    reqs = [
        Requirement(line.split(':', 1)[1].strip())
        for line in metadata.decode().splitlines()
        if line.startswith('Requires-Dist:')
    ]
    return {
        canonicalize_name(r.name)
        for r in reqs
        if r.marker is None or r.marker.evaluate({'extra': extra})
    }


def test_every_library_the_code_imports_is_declared_outside_the_test_extra(wheel):
    """`pip install tricks_mm[mm]` brings every library tricks_mm imports (safetensors too)."""
    declared = _wheel_requirements(wheel, 'mm')
    assert 'timm' not in declared  # the test extra is not counted
    providers = importlib.metadata.packages_distributions()
    libraries = _imported_libraries() - _OPT_IN
    assert {'safetensors', 'torch', 'mmengine', 'cv2', 'PIL'} <= libraries
    undeclared = {
        module: providers.get(module)
        for module in libraries
        if not {canonicalize_name(d) for d in providers.get(module, [])} & declared
    }
    assert not undeclared, f'imported but not required by tricks_mm[mm]: {undeclared}'


_SAFETENSORS_PROBE = textwrap.dedent("""
    import importlib.metadata, json, sys
    import torch
    from tricks_mm.transfer import export, importers
    from tricks_mm.transfer.importers.source import read_file
    from safetensors.torch import save_file
    path = sys.argv[1]
    save_file({'w': torch.arange(6.0).reshape(2, 3)}, path)
    print(json.dumps(dict(
        read=read_file(path)['w'].tolist(),
        requires=importlib.metadata.requires('tricks_mm'),
        importers=importers.__file__, export=export.__file__)))
""")


def test_wheel_installed_without_the_test_extra_reads_safetensors(wheel, tmp_path):
    """The installed wheel (no extra) imports its importers and reads a .safetensors file."""
    python = _venv(tmp_path / 'venv')
    _run([str(python), '-m', 'pip', 'install', '--no-index', '--quiet', str(wheel)], cwd=tmp_path)
    out = _run(
        [str(python), '-c', _SAFETENSORS_PROBE, str(tmp_path / 'w.safetensors')], cwd=tmp_path
    )
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen['read'] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    site = tmp_path / 'venv' / 'lib'
    assert Path(seen['importers']).is_relative_to(site) and Path(seen['export']).is_relative_to(
        site
    )
    unconditional = [r for r in seen['requires'] if 'extra ==' not in r]
    assert any(canonicalize_name(Requirement(r).name) == 'safetensors' for r in unconditional)
