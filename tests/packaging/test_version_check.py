"""The import-time version check: faked distribution metadata against the declared ranges.

The reference for "supported" is PEP 440 ordering (packaging) of the ranges written in
``pyproject.toml``; the tested pins of ``requirements/constraints.txt`` must lie inside them.
"""

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tricks_mm import version_check as vc

REPO = Path(__file__).resolve().parents[2]
ONEDL_OK = {
    'torch': '2.8.0',
    'onedl-mmengine': '0.10.12',
    'onedl-mmcv': '2.3.6',
    'onedl-mmdetection': '3.5.1',
    'onedl-mmsegmentation': '1.4.2',
    'onedl-mmpretrain': '1.3.6',
}
UPSTREAM_PINS = {
    'torch': '2.14.1+cpu',
    'torchvision': '0.29.1+cpu',
    'mmengine': '0.10.7',
    'mmcv': '2.1.0',
    'mmdet': '3.3.0',
    'mmsegmentation': '1.2.2',
    'mmpretrain': '1.2.0',
}


def fake_metadata(monkeypatch, versions, providers=None):
    """Fake an environment: ``versions`` (dist -> version) as ``importlib.metadata`` sees them,
    ``providers`` (import name -> dists; default: the known names among ``versions``) as
    ``packages_distributions`` sees them; a module exists iff it has a provider."""
    if providers is None:
        providers = {lib.module: [d for d in lib.ranges if d in versions] for lib in vc.LIBRARIES}
    providers = {module: dists for module, dists in providers.items() if dists}

    def version(dist):
        if dist in versions:
            return versions[dist]
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, 'version', version)
    monkeypatch.setattr(importlib.metadata, 'packages_distributions', lambda: providers)
    monkeypatch.setattr(vc, '_module_exists', lambda module: module in providers)
    monkeypatch.delenv(vc.SKIP_ENV, raising=False)


def pyproject():
    tomllib = pytest.importorskip('tomllib')
    return tomllib.loads((REPO / 'pyproject.toml').read_text())['project']


def test_this_environment_passes():
    assert vc.find_problems() == []


def test_unsupported_mmcv_names_range_and_fix(monkeypatch):
    fake_metadata(monkeypatch, dict(UPSTREAM_PINS, mmcv='2.2.0'))
    with pytest.raises(vc.IncompatibleVersionError) as err:
        vc.check_versions()
    message = str(err.value)
    assert 'mmcv==2.2.0 is installed' in message
    assert 'mmcv>=2.0.0,<2.2.0' in message
    assert 'pip install "mmcv>=2.0.0,<2.2.0"' in message
    assert vc.SKIP_ENV in message
    assert len(message.splitlines()) == 3  # header, the one bad library, the general fix
    assert isinstance(err.value, ImportError)


@pytest.mark.parametrize(
    'dist,version,ok',
    [
        ('mmcv', '2.0.0rc4', False),  # PEP 440: 2.0.0rc4 < 2.0.0
        ('mmcv', '2.0.0', True),
        ('mmcv', '2.1.99', True),
        ('torch', '2.4.1', False),
        ('torch', '2.15.0', False),
        ('torch', '2.5.0+cu124', True),  # local versions compare by their public part
        ('mmengine', '0.9.1', False),
        ('mmdet', '3.2.0', False),
        ('mmsegmentation', '1.3.0', False),
        ('mmpretrain', '1.2.0', True),
    ],
)
def test_range_edges(monkeypatch, dist, version, ok):
    fake_metadata(monkeypatch, dict(UPSTREAM_PINS, **{dist: version}))
    assert (vc.find_problems() == []) is ok


def test_upstream_mmcv_2_1_needs_numpy_1(monkeypatch):
    fake_metadata(monkeypatch, dict(UPSTREAM_PINS, numpy='2.2.6'))
    problems = vc.find_problems()
    assert len(problems) == 1
    assert problems[0].startswith(
        'numpy==2.2.6 is installed beside mmcv==2.1.0, which needs numpy<2'
    )
    assert problems[0].endswith('Fix: pip install "numpy<2"')
    fake_metadata(monkeypatch, dict(UPSTREAM_PINS, numpy='1.26.4'))
    assert vc.find_problems() == []
    # the fork's mmcv has no such bound (its mmseg even requires numpy>2)
    fake_metadata(monkeypatch, dict(ONEDL_OK, numpy='2.2.6'))
    assert vc.find_problems() == []


def test_onedl_distributions_are_recognised(monkeypatch):
    fake_metadata(monkeypatch, ONEDL_OK)
    assert vc.find_problems() == []


def test_onedl_is_told_apart_by_distribution_name(monkeypatch):
    # 2.1.0 is the tested upstream mmcv, but no onedl-mmcv release line the check accepts
    fake_metadata(monkeypatch, dict(ONEDL_OK, **{'onedl-mmcv': '2.1.0'}))
    problems = vc.find_problems()
    assert len(problems) == 1
    assert 'onedl-mmcv==2.1.0 is installed (import name `mmcv`)' in problems[0]
    assert 'pip install "onedl-mmcv>=2.3.0,<2.4"' in problems[0]


def test_fork_wheel_variants_are_recognised(monkeypatch):
    """The fork publishes CUDA builds of mmcv under names like onedl-mmcv-cu128-torch2-8."""
    versions = dict(ONEDL_OK)
    versions.pop('onedl-mmcv')
    fake_metadata(
        monkeypatch,
        dict(versions, **{'onedl-mmcv-cu128-torch2-8': '2.3.1'}),
        providers={
            'mmcv': ['onedl-mmcv-cu128-torch2-8'],
            'torch': ['torch'],
            'mmengine': ['onedl-mmengine'],
        },
    )
    assert vc.find_problems() == []
    fake_metadata(
        monkeypatch,
        dict(versions, **{'onedl-mmcv-cu128-torch2-8': '2.2.0'}),
        providers={
            'mmcv': ['onedl-mmcv-cu128-torch2-8'],
            'torch': ['torch'],
            'mmengine': ['onedl-mmengine'],
        },
    )
    why = next(lib.why for lib in vc.LIBRARIES if lib.module == 'mmcv')
    assert vc.find_problems() == [
        'onedl-mmcv-cu128-torch2-8==2.2.0 is installed (import name `mmcv`), but tricks_mm '
        f'supports onedl-mmcv>=2.3.0,<2.4: {why}. Fix: pip install "onedl-mmcv>=2.3.0,<2.4"'
    ]


def test_unknown_provider_and_unknown_version(monkeypatch):
    versions = {k: v for k, v in UPSTREAM_PINS.items() if k not in ('mmdet', 'mmsegmentation')}
    fake_metadata(
        monkeypatch,
        dict(versions, **{'my-mmdet-build': '3.3.0'}),
        providers={
            'mmdet': ['my-mmdet-build'],
            'mmseg': [],
            'torch': ['torch'],
            'mmengine': ['mmengine'],
        },
    )
    assert vc.find_problems() == [
        '`mmdet` comes from my-mmdet-build==3.3.0, a distribution tricks_mm does not know (it '
        'supports mmdet>=3.3.0,<3.4, onedl-mmdetection>=3.4.0,<3.6). Fix: pip install '
        '"mmdet>=3.3.0,<3.4"'
    ]
    # importable without any distribution: a source tree on PYTHONPATH
    monkeypatch.setattr(
        vc, '_module_exists', lambda module: module in ('torch', 'mmengine', 'mmseg')
    )
    problems = vc.find_problems()
    assert len(problems) == 1 and problems[0].startswith(
        '`mmseg` is importable but no installed distribution provides it'
    )


def test_upstream_and_fork_together_is_an_error(monkeypatch):
    fake_metadata(monkeypatch, dict(UPSTREAM_PINS, **{'onedl-mmdetection': '3.5.1'}))
    problems = vc.find_problems()
    assert len(problems) == 1
    assert 'mmdet==3.3.0 and onedl-mmdetection==3.5.1 are both installed' in problems[0]


def test_missing_required_library(monkeypatch):
    fake_metadata(monkeypatch, {k: v for k, v in UPSTREAM_PINS.items() if k != 'mmengine'})
    problems = vc.find_problems()
    assert problems == [
        '`mmengine` is not installed; tricks_mm needs mmengine>=0.10.0,<0.11 or '
        'its onedl fork. Fix: pip install "tricks_mm[mm]"'
    ]


def test_optional_libraries_may_be_absent(monkeypatch):
    fake_metadata(monkeypatch, {'torch': '2.14.1', 'mmengine': '0.10.7'})
    assert vc.find_problems() == []


def test_skip_variable_warns_instead(monkeypatch):
    fake_metadata(monkeypatch, dict(UPSTREAM_PINS, mmcv='2.2.0'))
    monkeypatch.setenv(vc.SKIP_ENV, '1')
    with pytest.warns(UserWarning, match=r'mmcv==2\.2\.0'):
        vc.check_versions()


def test_import_of_the_package_refuses(tmp_path):
    """The check is wired into ``import tricks_mm``, before torch or mmengine are imported."""
    code = textwrap.dedent("""
        import importlib.metadata, sys
        real = importlib.metadata.version
        importlib.metadata.version = lambda d: '2.2.0' if d == 'mmcv' else real(d)
        try:
            import tricks_mm
        except ImportError as err:
            print(type(err).__name__, 'torch' in sys.modules, 'mmengine' in sys.modules)
            print(err)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop(vc.SKIP_ENV, None)
    out = subprocess.run(
        [sys.executable, '-c', code],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    assert out.splitlines()[0] == 'IncompatibleVersionError False False'
    assert 'pip install "mmcv>=2.0.0,<2.2.0"' in out


def test_mm_extra_declares_the_checked_ranges():
    extra = {
        Requirement(r).name: Requirement(r).specifier
        for r in pyproject()['optional-dependencies']['mm']
    }
    for lib in vc.LIBRARIES:
        assert extra[lib.upstream] == SpecifierSet(lib.ranges[lib.upstream]), lib.upstream


def test_plain_dependencies_hold_no_stack_library():
    names = {Requirement(r).name.lower() for r in pyproject()['dependencies']}
    stack = {dist for lib in vc.LIBRARIES for dist in lib.ranges}
    assert names.isdisjoint(stack)
    assert all(Requirement(r).specifier for r in pyproject()['dependencies'])  # all ranges


def test_tested_pins_lie_inside_the_declared_ranges():
    declared = {}
    for line in pyproject()['dependencies'] + pyproject()['optional-dependencies']['mm']:
        req = Requirement(line)
        declared.setdefault(req.name.lower(), []).append(req.specifier)
    pins = {}
    for line in (REPO / 'requirements' / 'constraints.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if '==' in line:
            name, version = line.split('==')
            pins[name.lower()] = version
    assert set(pins) == {lib.upstream for lib in vc.LIBRARIES}
    for name, version in pins.items():
        assert all(spec.contains(version) for spec in declared[name]), (name, version)
