"""Shared fixtures: a tiny embedded data suite laid out as the toy configs expect it."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Small enough for CPU tests, same formats and class vocabulary as the default suite.
TINY_SIZES = dict(
    num_classes=6,
    cls_train_per_class=4,
    cls_val_per_class=2,
    cls_size=32,
    det_train=4,
    det_test=2,
    seg_train=4,
    seg_val=2,
    scene_size=96,
)


@pytest.fixture(scope='session')
def tiny_workspace(tmp_path_factory) -> Path:
    """A directory holding ``data/synthetic`` (the toy configs' relative data root)."""
    from tricks_mm.datasets import generate_suite

    root = tmp_path_factory.mktemp('workspace')
    generate_suite(root / 'data' / 'synthetic', seed=0, quiet=True, **TINY_SIZES)
    return root


@pytest.fixture
def in_workspace(tiny_workspace, monkeypatch) -> Path:
    """Run the test with the tiny workspace as the working directory."""
    monkeypatch.chdir(tiny_workspace)
    return tiny_workspace


@pytest.fixture(scope='session')
def repo() -> Path:
    """The repository root (configs are addressed from a workspace by absolute path)."""
    return REPO


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    """Forget the mmengine default scopes a test created (a Runner or ``init_default_scope``
    makes one and it stays current for the rest of the process): otherwise a test that ran an
    mmseg runner leaves ``mmseg`` as the scope in which a later test's mmpretrain
    ``MODELS.build`` looks up ``ImageClassifier``, and the outcome depends on test order."""
    from mmengine.registry import DefaultScope

    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        del DefaultScope._instance_dict[name]
