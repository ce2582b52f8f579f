"""Finding the shipped configs: the checkout first, then the wheel's ``tricks_mm/.mim`` copy."""

import os
import shutil
from pathlib import Path

import pytest

from tricks_mm.ladder.spec import load_ladder
from tricks_mm.utils import paths

REPO = Path(__file__).resolve().parents[2]


def test_checkout_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.configs_root() == str(REPO / 'configs')
    assert paths.config_path('ladders/toy_demo.py') == str(REPO / 'configs/ladders/toy_demo.py')
    assert paths.resolve_config('configs/toy/classification.py') == str(
        REPO / 'configs/toy/classification.py'
    )


def test_missing_config_names_where_it_looked():
    with pytest.raises(FileNotFoundError, match=r'no config .*nope\.py.*configs/nope\.py'):
        paths.config_path('nope.py')


def test_a_file_in_the_current_directory_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = tmp_path / 'configs' / 'toy' / 'classification.py'
    own.parent.mkdir(parents=True)
    own.write_text('x = 1\n')
    assert paths.resolve_config('configs/toy/classification.py') == 'configs/toy/classification.py'
    assert paths.resolve_config(str(own)) == str(own)


def test_other_paths_come_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.resolve_config('mine/cfg.py') == 'mine/cfg.py'
    assert paths.resolve_config('configs/not/shipped.py') == 'configs/not/shipped.py'


def _fake_install(root: Path, with_copy: bool) -> Path:
    """site-packages/tricks_mm (+ .mim/configs) with a stray top-level configs/ beside it."""
    package = root / 'site-packages' / 'tricks_mm'
    package.mkdir(parents=True)
    (root / 'site-packages' / 'configs' / 'ladders').mkdir(parents=True)  # not ours
    if with_copy:
        shutil.copytree(REPO / 'configs', package / '.mim' / 'configs')
    return package


def test_installed_copy_without_checkout(tmp_path, monkeypatch):
    package = _fake_install(tmp_path, with_copy=True)
    monkeypatch.setattr(paths, 'PACKAGE_DIR', str(package))
    monkeypatch.chdir(tmp_path)
    assert paths.configs_root() == str(package / '.mim' / 'configs')
    assert paths.resolve_config('configs/toy/classification.py') == str(
        package / '.mim' / 'configs' / 'toy' / 'classification.py'
    )


def test_wheel_without_configs_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, 'PACKAGE_DIR', str(_fake_install(tmp_path, with_copy=False)))
    with pytest.raises(FileNotFoundError, match='python -m build'):
        paths.configs_root()


def test_ladder_file_resolves_from_any_directory(tmp_path, monkeypatch):
    package = _fake_install(tmp_path, with_copy=True)
    monkeypatch.setattr(paths, 'PACKAGE_DIR', str(package))
    workdir = tmp_path / 'elsewhere'
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    spec = load_ladder(paths.config_path('ladders/toy_demo.py'))
    copy = package / '.mim' / 'configs'
    assert spec.detect.config == str(copy / 'toy/faster-rcnn_botr18-d-fpn_toy-voc.py')
    assert spec.segment.config == str(copy / 'toy/fcn_botr18-d-d8_toy-ade.py')
    assert spec.classify.overlays == [str(copy / 'toy/classification.py')]
    assert [r.cls_config for r in spec.rungs] == [
        None,
        str(copy / 'classification/resnet50b_baseline_8xb32_in1k.py'),
        str(copy / 'classification/resnet50d_cosine_ls_mixup_8xb128_in1k.py'),
    ]
    # outputs stay relative: under the current directory, wherever the configs come from
    assert spec.work_dir == os.path.join('work_dirs', 'demo')
    assert spec.synthetic_data['out'] == 'data/synthetic'
