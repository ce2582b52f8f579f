"""Tests of the synthetic suite: determinism, safety of the writes, and the hosts' own readers."""

import hashlib
import os
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
from PIL import Image

from tricks_mm.datasets.synthetic import (
    CLASSES,
    MARKER_NAME,
    PALETTE,
    generate_suite,
    get_classes,
    item_rng,
    render_scene,
    writers,
)
from tricks_mm.datasets.synthetic.__main__ import main as cli_main

TINY = dict(
    num_classes=3,
    cls_train_per_class=4,
    cls_val_per_class=2,
    cls_size=32,
    det_train=4,
    det_test=2,
    seg_train=3,
    seg_val=2,
    scene_size=64,
)
K = TINY['num_classes']


def _digest(root: Path) -> Dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*'))
        if p.is_file()
    }


def _siblings(root: Path):
    return sorted(p.name for p in root.parent.iterdir() if p.name.startswith(f'.{root.name}.'))


@pytest.fixture(scope='module')
def suite(tmp_path_factory):
    return generate_suite(tmp_path_factory.mktemp('a') / 'suite', seed=0, quiet=True, **TINY)


def test_layout(suite):
    root = suite.root
    assert suite.classes == get_classes(K) == ('disc', 'square', 'triangle')
    assert suite.classes == tuple(sorted(suite.classes))  # folder order == label order
    assert len(suite.palette) == K
    assert CLASSES == ('cross', 'disc', 'ring', 'square', 'star', 'triangle')
    assert len(PALETTE) == len(CLASSES)
    assert (root / MARKER_NAME).is_file()
    assert (suite.cls_root / 'classes.txt').read_text().split() == list(suite.classes)
    assert len((suite.cls_root / 'meta' / 'train.txt').read_text().splitlines()) == 3 * 4
    assert len(list((suite.cls_root / 'val').rglob('*.JPEG'))) == 3 * 2
    voc07, voc12 = suite.det_root / 'VOC2007', suite.det_root / 'VOC2012'
    main07 = voc07 / 'ImageSets' / 'Main'
    assert len((main07 / 'trainval.txt').read_text().split()) == 2
    assert len((voc12 / 'ImageSets' / 'Main' / 'trainval.txt').read_text().split()) == 2
    test_ids = (main07 / 'test.txt').read_text().split()
    assert len(test_ids) == 2
    assert not set(test_ids) & set((main07 / 'trainval.txt').read_text().split())
    assert sorted(
        (main07 / 'train.txt').read_text().split() + (main07 / 'val.txt').read_text().split()
    ) == sorted((main07 / 'trainval.txt').read_text().split())
    assert len(list((voc07 / 'JPEGImages').glob('*.jpg'))) == 4
    assert len(list((suite.seg_root / 'images' / 'training').glob('*.jpg'))) == 3
    assert len(list((suite.seg_root / 'annotations' / 'validation').glob('*.png'))) == 2


def test_determinism(suite, tmp_path):
    again = generate_suite(tmp_path / 'b', seed=0, quiet=True, **TINY)
    assert not again.reused
    assert _digest(again.root) == _digest(suite.root)
    other = generate_suite(tmp_path / 'c', seed=1, quiet=True, **TINY)
    a, c = _digest(suite.root), _digest(other.root)
    assert a.keys() - {MARKER_NAME} == c.keys() - {MARKER_NAME}
    assert all(a[k] != c[k] for k in a if k.endswith(('.JPEG', '.jpg')))


def test_more_items_keep_existing_ones(suite, tmp_path):
    bigger = generate_suite(
        tmp_path / 'big', seed=0, quiet=True, **{**TINY, 'cls_train_per_class': 5, 'seg_train': 4}
    )
    a, b = _digest(suite.root), _digest(bigger.root)
    shared = [k for k in a if k.startswith(('cls/train/', 'seg/'))]
    assert shared and all(a[k] == b[k] for k in shared)


def test_reuse_renders_and_writes_nothing(suite, monkeypatch):
    """Reuse is the marker check alone: no writer runs, no file changes."""
    from tricks_mm.datasets.synthetic import suite as suite_module

    def must_not_run(*args, **kwargs):
        raise AssertionError('a reused suite was regenerated')

    for name in ('_write_cls', '_write_det', '_write_seg'):
        monkeypatch.setattr(suite_module, name, must_not_run)
    before = {p: p.stat().st_mtime_ns for p in suite.root.rglob('*')}
    info = generate_suite(suite.root, seed=0, quiet=True, **TINY)
    assert info.reused and info.root == suite.root
    assert {p: p.stat().st_mtime_ns for p in suite.root.rglob('*')} == before


def test_other_args_replace(tmp_path):
    root = tmp_path / 'suite'
    generate_suite(root, seed=0, quiet=True, **TINY)
    info = generate_suite(root, seed=3, quiet=True, **TINY)
    assert not info.reused
    assert '"seed": 3' in (root / MARKER_NAME).read_text()
    assert _siblings(root) == []


def test_refuses_foreign_dir(tmp_path):
    root = tmp_path / 'precious'
    root.mkdir()
    (root / 'thesis.tex').write_text('x')
    with pytest.raises(FileExistsError, match=str(root)):
        generate_suite(root, quiet=True, **TINY)
    assert [p.name for p in root.iterdir()] == ['thesis.tex']
    assert _siblings(root) == []
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert not generate_suite(empty, quiet=True, **TINY).reused


def _boom_after(n, original):
    calls = []

    def writer(*args, **kwargs):
        calls.append(1)
        if len(calls) > n:
            raise RuntimeError('simulated crash')
        return original(*args, **kwargs)

    return writer


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, 'write_voc_scene', _boom_after(1, writers.write_voc_scene))
    root = tmp_path / 'suite'
    with pytest.raises(RuntimeError, match='simulated crash'):
        generate_suite(root, quiet=True, **TINY)
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_replacement_keeps_old_suite(tmp_path, monkeypatch):
    root = tmp_path / 'suite'
    generate_suite(root, seed=0, quiet=True, **TINY)
    before = _digest(root)
    monkeypatch.setattr(writers, 'write_ade_scene', _boom_after(0, writers.write_ade_scene))
    with pytest.raises(RuntimeError, match='simulated crash'):
        generate_suite(root, seed=5, quiet=True, **TINY)
    assert _digest(root) == before
    assert _siblings(root) == []


@pytest.mark.parametrize(
    'kwargs, name',
    [
        (dict(det_test=-1), 'det_test'),
        (dict(cls_train_per_class=0), 'cls_train_per_class'),
        (dict(num_classes=9), 'num_classes'),
        (dict(det_train=1), 'det_train'),
        (dict(scene_size=2.5), 'scene_size'),
        (dict(seed=-1), 'seed'),
        (dict(colour=True), 'colour'),
    ],
)
def test_bad_arguments(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        generate_suite(tmp_path / 'x', quiet=True, **kwargs)
    assert not (tmp_path / 'x').exists()


def test_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(['--help'])
    assert exc.value.code == 0
    assert '--scene-size' in capsys.readouterr().out
    args = [
        '--out',
        str(tmp_path / 's'),
        '--num-classes',
        '2',
        '--cls-train-per-class',
        '1',
        '--cls-val-per-class',
        '1',
        '--cls-size',
        '32',
        '--det-train',
        '2',
        '--det-test',
        '1',
        '--seg-train',
        '1',
        '--seg-val',
        '1',
        '--scene-size',
        '48',
    ]
    assert cli_main(args) == 0
    assert 'generated' in capsys.readouterr().out
    assert cli_main(args) == 0
    assert 'reused' in capsys.readouterr().out
    (tmp_path / 'foreign').mkdir()
    (tmp_path / 'foreign' / 'f').write_text('')
    assert cli_main(['--out', str(tmp_path / 'foreign')]) == 2
    assert 'refusing' in capsys.readouterr().err


# --- the hosts' own readers ----------------------------------------------------------------


def _scope(name: str) -> None:
    pytest.importorskip('mmcv')
    from mmengine.registry import init_default_scope

    init_default_scope(name)


@pytest.mark.parametrize('split, per_class', [('train', 4), ('val', 2)])
def test_mmpretrain_imagenet(suite, split, per_class):
    _scope('mmpretrain')
    from mmpretrain.datasets import CustomDataset, ImageNet

    meta = dict(classes=suite.classes)
    by_meta = ImageNet(data_root=str(suite.cls_root), split=split, metainfo=meta)
    by_folder = CustomDataset(data_root=str(suite.cls_root), data_prefix=split)
    assert by_folder.metainfo['classes'] == suite.classes  # found from sorted folders
    for ds in (by_meta, by_folder):
        assert len(ds) == K * per_class
        assert ds.metainfo['classes'] == suite.classes
        infos = sorted((ds.get_data_info(i) for i in range(len(ds))), key=lambda d: d['img_path'])
        for info in infos:
            assert os.path.isfile(info['img_path'])
            assert Path(info['img_path']).parent.name == suite.classes[info['gt_label']]
        counts = np.bincount([int(d['gt_label']) for d in infos], minlength=K)
        assert counts.tolist() == [per_class] * K


def _voc(suite, year: str, set_name: str, test_mode: bool = False):
    from mmdet.datasets import VOCDataset

    return VOCDataset(
        data_root=str(suite.det_root),
        ann_file=f'{year}/ImageSets/Main/{set_name}.txt',
        data_prefix=dict(sub_data_root=f'{year}/'),
        metainfo=dict(classes=suite.classes, palette=suite.palette),
        test_mode=test_mode,
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)],
    )


@pytest.mark.parametrize(
    'year, set_name, split',
    [
        ('VOC2007', 'trainval', 'voc2007_trainval'),
        ('VOC2012', 'trainval', 'voc2012_trainval'),
        ('VOC2007', 'test', 'voc2007_test'),
    ],
)
def test_mmdet_voc(suite, year, set_name, split):
    _scope('mmdet')
    ds = _voc(suite, year, set_name, test_mode=set_name == 'test')
    assert ds.metainfo['dataset_type'] == year  # selects VOCMetric's 11-point mAP for 2007
    assert ds.metainfo['classes'] == suite.classes
    assert len(ds) == 2
    for i in range(len(ds)):
        scene = render_scene(item_rng(0, split, i), suite.classes, TINY['scene_size'])
        info = ds.get_data_info(i)
        assert (info['height'], info['width']) == scene.image.shape[:2]
        # XML holds VOC's 1-based inclusive coords; mmdet subtracts 1 -> our 0-based values.
        assert [inst['bbox'] for inst in info['instances']] == [list(o.bbox) for o in scene.objects]
        assert [inst['bbox_label'] for inst in info['instances']] == [
            o.label for o in scene.objects
        ]
        assert [inst['ignore_flag'] for inst in info['instances']] == [
            int(o.difficult) for o in scene.objects
        ]
        out = ds[i]
        assert out['img'].shape == scene.image.shape
        np.testing.assert_array_equal(
            out['gt_bboxes'].numpy(), np.array([o.bbox for o in scene.objects], np.float32)
        )
        np.testing.assert_array_equal(out['gt_ignore_flags'], [o.difficult for o in scene.objects])


@pytest.mark.parametrize(
    'subset, split, n', [('training', 'ade_training', 3), ('validation', 'ade_validation', 2)]
)
def test_mmseg_ade(suite, subset, split, n):
    _scope('mmseg')
    from mmseg.datasets import BaseSegDataset

    ds = BaseSegDataset(
        data_root=str(suite.seg_root),
        data_prefix=dict(img_path=f'images/{subset}', seg_map_path=f'annotations/{subset}'),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        reduce_zero_label=True,
        metainfo=dict(classes=suite.classes, palette=suite.palette),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')],
    )
    assert len(ds) == n
    assert ds.metainfo['classes'] == suite.classes and ds.metainfo['label_map'] is None
    for i in range(n):
        scene = render_scene(item_rng(0, split, i), suite.classes, TINY['scene_size'])
        raw = np.asarray(Image.open(ds.get_data_info(i)['seg_map_path']))
        np.testing.assert_array_equal(raw, scene.label_map)  # class k stored as k + 1
        seg = ds[i]['gt_seg_map']
        assert set(np.unique(seg)) <= set(range(K)) | {255}
        expected = np.where(scene.label_map == 0, 255, scene.label_map.astype(np.int64) - 1)
        np.testing.assert_array_equal(seg, expected)
        assert len(np.unique(seg)) >= 2  # background plus at least one object
