"""What bad inputs do at load time, in the hosts' own transforms and datasets, and what tricks_mm
turns them into: errors naming the file, counted skips, or dataset-check errors."""

import logging
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import DATASETS, TRANSFORMS
from PIL import Image

from tricks_mm.datasets.loading import BoTLoadImageFromFile, ImageLoadError

CLS_TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='CenterCrop', crop_size=28),
    dict(type='PackInputs'),
]


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """ok / zero-byte / garbage / truncated JPEGs, a grayscale JPEG and an RGBA PNG."""
    root = tmp_path_factory.mktemp('images')
    rgb = np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(root / 'ok.jpg', quality=90)
    data = (root / 'ok.jpg').read_bytes()
    (root / 'zero.jpg').write_bytes(b'')
    (root / 'garbage.jpg').write_bytes(b'this is not a JPEG' * 8)
    (root / 'truncated.jpg').write_bytes(data[: len(data) // 2])
    Image.fromarray(rgb[..., 0]).save(root / 'gray.jpg')
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(root / 'rgba.png')
    return root


def _build(scope: str, cfg: dict):
    with TRANSFORMS.switch_scope_and_registry(scope) as registry:
        return registry.build(cfg)


# ------------------------------------------------------------------------- images: reference


def test_reference_mmcv_loader(images):
    """Why BoTLoadImageFromFile exists: mmcv names the file only sometimes."""
    from mmcv.transforms import LoadImageFromFile

    with pytest.raises(Exception) as info:
        LoadImageFromFile()(dict(img_path=str(images / 'zero.jpg')))
    assert '!buf.empty()' in str(info.value) and 'zero.jpg' not in str(info.value)
    with pytest.raises(AssertionError, match='failed to load image: .*garbage.jpg'):
        LoadImageFromFile()(dict(img_path=str(images / 'garbage.jpg')))
    with pytest.raises(OSError) as info:
        LoadImageFromFile(imdecode_backend='pillow')(dict(img_path=str(images / 'truncated.jpg')))
    assert 'truncated.jpg' not in str(info.value)


# ------------------------------------------------------------------------- images: tricks_mm


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize(
    'name,reason',
    [
        ('zero.jpg', 'empty file (0 bytes)'),
        ('garbage.jpg', 'could not decode it'),
        ('truncated.jpg', 'could not decode it'),
        ('missing.jpg', 'FileNotFoundError'),
    ],
)
def test_bad_images_raise_naming_the_file(images, backend, name, reason):
    loader = BoTLoadImageFromFile(imdecode_backend=backend)
    with pytest.raises(ImageLoadError) as info:
        loader(dict(img_path=str(images / name)))
    msg = str(info.value)
    assert f'cannot load image {images / name}: ' in msg and reason in msg
    assert isinstance(info.value, ValueError)


def test_skip_mode_counts_and_logs(images, monkeypatch):
    import tricks_mm.datasets.loading as loading

    logged = []
    monkeypatch.setattr(loading, 'print_log', lambda msg, **kw: logged.append((msg, kw)))
    loader = BoTLoadImageFromFile(on_error='skip')
    before = BoTLoadImageFromFile.skipped
    assert loader(dict(img_path=str(images / 'zero.jpg'))) is None
    assert loader(dict(img_path=str(images / 'garbage.jpg'))) is None
    assert BoTLoadImageFromFile.skipped == before + 2
    assert len(logged) == 2 and all(kw['level'] == logging.WARNING for _, kw in logged)
    assert f'cannot load image {images / "garbage.jpg"}' in logged[1][0]
    assert f'Skipped ({before + 2} image(s) skipped in this process)' in logged[1][0]
    assert BoTLoadImageFromFile(ignore_empty=True).on_error == 'skip'  # mmcv's flag honoured
    with pytest.raises(ValueError, match="on_error must be one of .* got 'ignore'"):
        BoTLoadImageFromFile(on_error='ignore')


def test_skip_mode_in_a_training_dataset_draws_another_sample(images, tmp_path):
    """mmengine's BaseDataset re-draws when the pipeline returns None (train mode only)."""
    (tmp_path / 'ann.txt').write_text('ok.jpg 0\nzero.jpg 1\n')
    pipeline = [
        dict(type='tricks_mm.BoTLoadImageFromFile', on_error='skip'),
        dict(type='PackInputs'),
    ]
    with DATASETS.switch_scope_and_registry('mmpretrain') as registry:
        dataset = registry.build(
            dict(
                type='CustomDataset',
                data_root=str(images),
                ann_file=str(tmp_path / 'ann.txt'),
                pipeline=pipeline,
                classes=['a', 'b'],
            )
        )
        before = BoTLoadImageFromFile.skipped
        item = dataset[1]
        assert item['data_samples'].img_path.endswith('ok.jpg')
        assert BoTLoadImageFromFile.skipped >= before + 1  # re-draws are random
        test_set = registry.build(
            dict(
                type='CustomDataset',
                data_root=str(images),
                ann_file=str(tmp_path / 'ann.txt'),
                pipeline=pipeline,
                classes=['a', 'b'],
                test_mode=True,
            )
        )
    with pytest.raises(Exception, match='Test time pipline should not get `None`'):
        test_set[1]  # hence: keep on_error='raise' (the default) for val/test pipelines


@pytest.mark.parametrize('name', ['gray.jpg', 'rgba.png'])
@pytest.mark.parametrize('loader', ['LoadImageFromFile', 'tricks_mm.BoTLoadImageFromFile'])
def test_gray_and_rgba_become_three_channels(images, name, loader):
    """color_type='color' (every shipped pipeline) decodes to 3-channel BGR in all hosts."""
    path = str(images / name)
    pipeline = [dict(type=loader)] + CLS_TEST_PIPELINE[1:]
    packed = None
    for t in pipeline:
        packed = _build('mmpretrain', t)(packed or dict(img_path=path))
    assert tuple(packed['inputs'].shape) == (3, 28, 28)
    det = _build('mmdet', dict(type=loader))(dict(img_path=path))
    det = _build('mmdet', dict(type='Resize', scale=(32, 32), keep_ratio=True))(det)
    det = _build('mmdet', dict(type='PackDetInputs'))(det)
    assert det['inputs'].shape[0] == 3
    seg = _build('mmseg', dict(type=loader))(dict(img_path=path))
    assert seg['img'].shape == (40, 48, 3) and seg['img'].dtype == np.uint8
    if name == 'gray.jpg':
        assert (seg['img'][..., 0] == seg['img'][..., 1]).all()
    else:  # alpha dropped, BGR order
        rgba = np.asarray(Image.open(path))
        assert (seg['img'][..., ::-1] == rgba[..., :3]).all()


def test_train_guard_swaps_the_loader(tmp_path):
    from mmengine.config import Config

    from tricks_mm.config.guards import install_train_guards, strict_image_loading

    cfg = Config(
        dict(
            optim_wrapper=dict(type='AmpOptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(
                            type='VOCDataset',
                            pipeline=[
                                dict(type='LoadImageFromFile', to_float32=True),
                                dict(type='Resize', scale=(8, 8)),
                            ],
                        )
                    ],
                )
            ),
            val_dataloader=dict(dataset=dict(pipeline=[dict(type='mmcv.LoadImageFromFile')])),
            test_dataloader=None,
        )
    )
    install_train_guards(cfg)
    train_loader = cfg.train_dataloader.dataset.datasets[0].pipeline[0]
    assert train_loader == dict(type='tricks_mm.BoTLoadImageFromFile', to_float32=True)
    assert cfg.val_dataloader.dataset.pipeline[0].type == 'tricks_mm.BoTLoadImageFromFile'
    assert cfg.optim_wrapper.type == 'tricks_mm.BoTFiniteAmpOptimWrapper'
    assert cfg.custom_hooks == [
        dict(type='tricks_mm.BoTNonFiniteLossHook'),
        dict(type='tricks_mm.BoTRNGStateHook'),
    ]
    assert strict_image_loading(cfg) == []  # idempotent
    # settings and switch-off through the config
    cfg2 = Config(
        dict(
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            nonfinite_guard=dict(policy='skip', max_skips=3),
        )
    )
    install_train_guards(cfg2)
    assert cfg2.optim_wrapper.type == 'tricks_mm.BoTFiniteOptimWrapper'
    assert cfg2.custom_hooks == [
        dict(type='tricks_mm.BoTNonFiniteLossHook', policy='skip', max_skips=3),
        dict(type='tricks_mm.BoTRNGStateHook'),
    ]
    cfg3 = Config(dict(optim_wrapper=dict(type='OptimWrapper'), nonfinite_guard=None))
    install_train_guards(cfg3)
    assert cfg3.optim_wrapper.type == 'OptimWrapper'
    assert cfg3.custom_hooks == [dict(type='tricks_mm.BoTRNGStateHook')]  # not a loss guard


# ------------------------------------------------------------------------- VOC annotations


def _voc(root: Path, annotations: dict, size=(48, 40)):
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (root / 'VOC2007' / sub).mkdir(parents=True, exist_ok=True)
    for img_id, objects in annotations.items():
        Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(
            root / f'VOC2007/JPEGImages/{img_id}.jpg'
        )
        body = ''.join(
            f'<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin>'
            f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
            for n, b in objects
        )
        (root / f'VOC2007/Annotations/{img_id}.xml').write_text(
            f'<annotation><size><width>{size[0]}</width><height>{size[1]}</height>'
            f'<depth>3</depth></size>{body}</annotation>'
        )
    (root / 'VOC2007/ImageSets/Main/train.txt').write_text('\n'.join(annotations) + '\n')


def test_voc_faults_in_mmdet_and_in_the_check(tmp_path):
    from mmengine.config import Config

    from tricks_mm.datasets.checks import DatasetLayoutError, check_config_datasets

    annotations = {
        'unknown': [('dog', (2, 2, 20, 20)), ('disc', (5, 5, 30, 30))],
        'outside': [('disc', (10, 10, 60, 30))],  # xmax 60 > width 48
        'zero': [('ring', (5, 5, 5, 30)), ('disc', (5, 5, 30, 30))],  # xmin == xmax
        'empty': [],
    }
    _voc(tmp_path, annotations)
    dataset_cfg = dict(
        type='VOCDataset',
        data_root=str(tmp_path),
        ann_file='VOC2007/ImageSets/Main/train.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        metainfo=dict(classes=('disc', 'ring')),
        filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=4),
        pipeline=[],
    )
    with DATASETS.switch_scope_and_registry('mmdet') as registry:
        dataset = registry.build(dataset_cfg)
    infos = {d['img_id']: d for d in (dataset.get_data_info(i) for i in range(len(dataset)))}
    # mmdet: no objects -> dropped (filter_empty_gt); unknown class -> silently dropped;
    # zero-area -> kept but ignored (bbox_min_size); outside -> kept unclipped (1-based - 1)
    assert sorted(infos) == ['outside', 'unknown', 'zero']
    assert [i['bbox_label'] for i in infos['unknown']['instances']] == [0]
    assert [(i['bbox'], i['ignore_flag']) for i in infos['zero']['instances']] == [
        ([4, 4, 4, 29], 1),
        ([4, 4, 29, 29], 0),
    ]
    assert infos['outside']['instances'][0]['bbox'] == [9, 9, 59, 29]
    # ... and clipped to the image by the training pipeline's Resize
    results = dict(infos['outside'], img_path=infos['outside']['img_path'])
    for t in (
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(48, 40), keep_ratio=True),
    ):
        results = _build('mmdet', t)(results)
    assert results['gt_bboxes'].tensor.tolist() == [[9.0, 9.0, 48.0, 29.0]]

    # the check: unknown class and zero-area box are errors; outside/empty are counted warnings
    cfg = Config(
        dict(
            default_scope='mmdet',
            model=dict(roi_head=dict(bbox_head=dict(num_classes=2))),
            train_dataloader=dict(dataset=dataset_cfg),
        )
    )
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(cfg)
    msg = str(info.value)
    assert "unknown class 'dog' in 1 annotation file(s)" in msg
    assert f'{tmp_path}/VOC2007/Annotations/unknown.xml' in msg
    assert '1 zero-area or inverted box(es)' in msg and 'zero.xml: ring' in msg
    _voc(
        tmp_path,
        dict(annotations, unknown=[('disc', (5, 5, 30, 30))], zero=[('disc', (5, 5, 30, 30))]),
    )
    report = check_config_datasets(cfg)
    assert report.counts['boxes_partly_outside'] == 1 and report.counts['empty_images'] == 1
    assert report.counts['objects'] == 3


# ------------------------------------------------------------------------- segmentation labels


def test_seg_out_of_range_label_loads_silently(tmp_path):
    """mmseg loads a label 200 (-> 199 after reduce_zero_label) without complaint; the loss
    fails later without a file name. The dataset check names the file (test_checks)."""
    import torch
    import torch.nn.functional as F

    label = np.zeros((8, 8), np.uint8)
    label[0, 0] = 200
    Image.fromarray(label).save(tmp_path / 'label.png')
    load = _build('mmseg', dict(type='LoadAnnotations', reduce_zero_label=True))
    out = load(
        dict(seg_map_path=str(tmp_path / 'label.png'), reduce_zero_label=True, seg_fields=[])
    )
    assert sorted(np.unique(out['gt_seg_map']).tolist()) == [199, 255]
    target = torch.from_numpy(out['gt_seg_map']).long()[None]
    with pytest.raises(IndexError, match='Target 199 is out of bounds'):
        F.cross_entropy(torch.zeros(1, 6, 8, 8), target, ignore_index=255)
