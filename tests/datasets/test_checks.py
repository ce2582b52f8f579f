"""Dataset layout checks: a clean suite passes with exact counts; each fault is an error naming
the file and the fix (or a counted warning where the host handles it safely)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tricks_mm.config.setup import import_host, load_config
from tricks_mm.datasets.checks import DatasetLayoutError, _iter_datasets, check_config_datasets
from tricks_mm.datasets.synthetic import generate_suite

REPO = Path(__file__).resolve().parents[2]
CLS = (
    str(REPO / 'configs/classification/resnet50b_efficient_8xb128_in1k.py'),
    [str(REPO / 'configs/toy/classification.py')],
)
DET = (str(REPO / 'configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'), [])
SEG = (str(REPO / 'configs/toy/fcn_botr18-d-d8_toy-ade.py'), [])
# 6 classes: the toy configs' metainfo; det_train 4 = VOC2007 trainval 2 + VOC2012 trainval 2
TINY = dict(
    num_classes=6,
    cls_train_per_class=2,
    cls_val_per_class=1,
    cls_size=16,
    det_train=4,
    det_test=2,
    seg_train=3,
    seg_val=2,
    scene_size=48,
)


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    return generate_suite(
        tmp_path_factory.mktemp('suite') / 'synthetic', seed=0, quiet=True, **TINY
    ).root


@pytest.fixture
def suite(pristine, tmp_path):
    """A private copy of the suite that a test may break."""
    root = tmp_path / 'synthetic'
    shutil.copytree(pristine, root)
    return root


def _cfg(which, root: Path):
    cfg = load_config(*which)
    import_host(cfg)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for _, ds in _iter_datasets(cfg[loader]['dataset'], loader):
            for key in ('data_root', 'classes'):
                if isinstance(ds.get(key), str):
                    ds[key] = ds[key].replace('data/synthetic', str(root))
    return cfg


def _voc_xml(path: Path, objects, size=(48, 40)):
    body = ''.join(
        f'<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin>'
        f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
        for n, b in objects
    )
    path.write_text(
        f'<annotation><size><width>{size[0]}</width><height>{size[1]}</height>'
        f'<depth>3</depth></size>{body}</annotation>'
    )


def test_clean_suite_passes_with_counts(suite):
    det = check_config_datasets(_cfg(DET, suite))
    assert len(det.checked) == 3 and det.skipped == [] and det.warnings == []
    assert det.counts['images'] == det.counts['annotations'] == 4 + 2
    assert det.counts['objects'] > 0
    seg = check_config_datasets(_cfg(SEG, suite))
    assert seg.counts['images'] == seg.counts['label_maps'] == 3 + 2
    assert seg.counts['label_maps_scanned'] == 5
    cls = check_config_datasets(_cfg(CLS, suite))
    assert cls.counts['images'] == 6 * (2 + 1)


def test_missing_data_root(suite):
    shutil.rmtree(suite / 'det')
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(_cfg(DET, suite))
    msg = str(info.value)
    assert f'data_root {suite}/det/VOCdevkit/ does not exist' in msg
    assert 'python -m tricks_mm.datasets.synthetic' in msg and '--skip-data-check' in msg
    cfg = _cfg(DET, suite)
    cfg.train_dataloader.dataset.datasets[0].data_root = '/nonexistent/VOCdevkit/'
    with pytest.raises(
        DatasetLayoutError,
        match=r'(?s)/nonexistent/VOCdevkit/ does not exist.*'
        r'--cfg-options <dataloader>\.dataset\.data_root',
    ):
        check_config_datasets(cfg, loaders=('train_dataloader',))


def test_voc_missing_files_and_split(suite):
    voc = suite / 'det/VOCdevkit/VOC2007'
    (voc / 'JPEGImages/000001.jpg').unlink()
    (voc / 'Annotations/000002.xml').unlink()
    (suite / 'det/VOCdevkit/VOC2012/ImageSets/Main/trainval.txt').unlink()
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(_cfg(DET, suite))
    msg = str(info.value)
    assert f'1 images listed but missing:\n      {voc}/JPEGImages/000001.jpg' in msg
    assert f'1 annotations listed but missing:\n      {voc}/Annotations/000002.xml' in msg
    assert 'VOC2012/ImageSets/Main/trainval.txt does not exist' in msg


def test_voc_annotation_faults(suite):
    ann = suite / 'det/VOCdevkit/VOC2007/Annotations'
    _voc_xml(
        ann / '000001.xml',
        [
            ('dog', (2, 2, 20, 20)),
            ('disc', (5, 5, 5, 30)),
            ('disc', (60, 2, 70, 20)),
            ('ring', (30, 10, 60, 30)),
        ],
    )
    _voc_xml(ann / '000002.xml', [])
    (ann / '000003.xml').write_text('<annotation><object>')  # a VOC2007 test id
    with pytest.raises(DatasetLayoutError) as info:
        report = check_config_datasets(_cfg(DET, suite))
    msg = str(info.value)
    assert "unknown class 'dog' in 1 annotation file(s)" in msg and f'{ann}/000001.xml' in msg
    assert 'mmdet would silently drop' in msg
    assert '1 zero-area or inverted box(es)' in msg and 'disc (5.0, 5.0, 5.0, 30.0)' in msg
    assert '1 box(es) entirely outside their image' in msg and 'disc (60.0, 2.0, 70.0, 20.0)' in msg
    assert f'1 unreadable annotation(s):\n      {ann}/000003.xml' in msg
    # warnings only: the partly-outside box and the empty image
    _voc_xml(ann / '000001.xml', [('ring', (30, 10, 60, 30))])
    (ann / '000003.xml').write_text((ann / '000001.xml').read_text())
    report = check_config_datasets(_cfg(DET, suite))
    assert report.counts['boxes_partly_outside'] == 2 and report.counts['empty_images'] == 1
    assert (
        sum(
            '1 box(es) extend past the image border (clipped by Resize' in w
            for w in report.warnings
        )
        == 2
    )  # 000001 (trainval) and 000003 (test)
    assert any(
        '1 image(s) without objects (dropped from training by filter_empty_gt)' in w
        for w in report.warnings
    )


def test_det_num_classes_mismatch(suite):
    cfg = _cfg(DET, suite)
    cfg.model.roi_head.bbox_head.num_classes = 5
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(cfg)
    msg = str(info.value)
    assert 'model.roi_head.bbox_head.num_classes = 5 but the dataset has 6 classes' in msg
    assert msg.count('bbox_head.num_classes = 5') == 1  # reported once, not per dataset
    assert 'set model.roi_head.bbox_head.num_classes=6' in msg


def test_seg_faults(suite):
    train_ann = suite / 'seg/annotations/training'
    maps = sorted(train_ann.iterdir())
    maps[0].unlink()
    label = np.zeros((8, 8), np.uint8)
    label[0, :3] = (7, 9, 200)  # with reduce_zero_label: 6, 8, 199 -- 6 classes -> all invalid
    label[1, 0] = 255
    Image.fromarray(label).save(maps[1])
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(maps[2])
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(_cfg(SEG, suite))
    msg = str(info.value)
    assert f'1 label_maps listed but missing:\n      {maps[0]}' in msg
    assert f'{maps[1]}: [6, 8, 199]' in msg
    assert 'outside 0..5 and 255 (ignore) after reduce_zero_label' in msg
    assert f'{maps[2]}: 3-channel label map (RGB)' in msg
    # without the scan only the missing map is reported
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(_cfg(SEG, suite), scan_labels=False)
    assert 'label_maps listed but missing' in str(info.value)
    assert '199' not in str(info.value) and '3-channel' not in str(info.value)


def test_seg_valid_values_pass(suite):
    maps = sorted((suite / 'seg/annotations/training').iterdir())
    label = np.array([[0, 1, 6, 255]], np.uint8)  # reduce_zero_label -> 255, 0, 5, 255
    Image.fromarray(label).save(maps[0])
    assert check_config_datasets(_cfg(SEG, suite)).counts['label_maps_scanned'] == 5


def test_seg_class_subset_label_map(suite):
    """ADE20KDataset with a subset of its 150 classes: mmseg maps old ids through label_map."""
    cfg = _cfg(SEG, suite)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.update(
            type='ADE20KDataset', metainfo=dict(classes=('wall', 'building'))
        )
    cfg.model.decode_head.num_classes = cfg.model.auxiliary_head.num_classes = 2
    maps = sorted((suite / 'seg/annotations/training').iterdir())
    for path in maps:  # wall (1 -> 0), sky (3 -> 2 -> dropped: 255): valid everywhere
        Image.fromarray(np.array([[1, 3, 0]], np.uint8)).save(path)
    assert (
        check_config_datasets(cfg, loaders=('train_dataloader',)).counts['label_maps_scanned'] == 3
    )
    Image.fromarray(np.array([[1, 200]], np.uint8)).save(maps[0])  # 199: no ADE class
    with pytest.raises(
        DatasetLayoutError, match=r'(?s)outside 0\.\.1 and 255.*' + f'{maps[0]}: \\[199\\]'
    ):
        check_config_datasets(cfg, loaders=('train_dataloader',))


def test_cls_num_classes_mismatch_and_labels(suite):
    cfg = _cfg(CLS, suite)
    cfg.model.head.num_classes = 1000
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(cfg)
    msg = str(info.value)
    assert 'model.head.num_classes = 1000 but the dataset has 6 classes' in msg
    assert f'6 names in {suite}/cls/classes.txt' in msg
    assert 'set model.head.num_classes=6' in msg

    meta = suite / 'cls/meta/train.txt'
    meta.write_text(meta.read_text() + 'disc/disc_train_00000.JPEG 6\n')
    (suite / 'cls/train/disc/disc_train_00001.JPEG').write_bytes(b'')
    with pytest.raises(DatasetLayoutError) as info:
        check_config_datasets(_cfg(CLS, suite))
    msg = str(info.value)
    assert 'has labels [6] outside 0..5' in msg
    assert (
        f'1 images are empty (0 bytes):\n      {suite}/cls/train/disc/disc_train_00001.JPEG' in msg
    )


def test_cls_folder_and_class_file_faults(suite):
    cfg = _cfg(CLS, suite)
    cfg.train_dataloader.dataset.classes = str(suite / 'cls/missing_classes.txt')
    with pytest.raises(
        DatasetLayoutError, match='classes file .*missing_classes.txt does not exist'
    ):
        check_config_datasets(cfg, loaders=('train_dataloader',))
    # folder mode (no meta/ split list): folders are the classes
    shutil.rmtree(suite / 'cls/meta')
    (suite / 'cls/train/extra').mkdir()
    with pytest.raises(
        DatasetLayoutError,
        match=r'cls/train has 7 class folders but 6 names in '
        r'.*classes.txt lists 6 classes',
    ):
        check_config_datasets(_cfg(CLS, suite), loaders=('train_dataloader',))


def test_unknown_dataset_types_are_skipped(suite):
    cfg = _cfg(DET, suite)
    cfg.val_dataloader.dataset = dict(type='CocoDataset', data_root='/nowhere')
    report = check_config_datasets(cfg, loaders=('train_dataloader', 'val_dataloader'))
    assert report.skipped == ['val_dataloader.dataset (CocoDataset)']
    assert len(report.checked) == 2


def test_train_cli_checks_before_building_the_runner(suite, tmp_path, monkeypatch):
    from tricks_mm.cli import train

    shutil.rmtree(suite / 'seg/images/validation')
    argv = [
        SEG[0],
        '--work-dir',
        str(tmp_path / 'w'),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={suite}/seg',
        f'val_dataloader.dataset.data_root={suite}/seg',
    ]
    built = []

    class Built(Exception):
        pass

    def from_cfg(cls, cfg):
        built.append(cfg)
        raise Built

    monkeypatch.setattr(train.StrictRunner, 'from_cfg', classmethod(from_cfg))
    with pytest.raises(
        DatasetLayoutError, match='image dir .*seg/images/validation does not exist'
    ):
        train.main(argv)
    assert built == []
    with pytest.raises(Built):
        train.main(argv + ['--skip-data-check'])
    assert len(built) == 1
    # the guards are on in the config train.py builds
    cfg = built[0]
    assert cfg.optim_wrapper.type == 'tricks_mm.BoTFiniteOptimWrapper'
    assert [h['type'] for h in cfg.custom_hooks] == [
        'tricks_mm.BoTNonFiniteLossHook',
        'tricks_mm.BoTRNGStateHook',
    ]
    assert cfg.train_dataloader.dataset.pipeline[0].type == 'tricks_mm.BoTLoadImageFromFile'


def test_label_map_sample_reads_a_logged_sample(suite, monkeypatch):
    """Above ``label_map_sample`` maps a dataset's scan reads a seeded sample of that many."""
    import tricks_mm.datasets.checks as checks

    logged = []
    monkeypatch.setattr(checks, 'print_log', lambda msg, **kw: logged.append(msg))
    report = check_config_datasets(_cfg(SEG, suite), label_map_sample=2)
    # 3 training maps -> 2 read, 2 validation maps -> both read
    assert report.counts['label_maps_scanned'] == 2 + 2
    assert report.counts['label_maps_not_scanned'] == 1
    assert report.counts['label_maps'] == 3 + 2  # every map is still checked on disk
    assert sum('reading 2 of 3 label maps' in m for m in logged) == 1
    with pytest.raises(ValueError, match='label_map_sample must be >= 1 .* got 0'):
        check_config_datasets(_cfg(SEG, suite), label_map_sample=0)


def test_check_before_training_runs_once_on_rank_0(suite, monkeypatch):
    from tricks_mm.datasets.checks import check_before_training

    shutil.rmtree(suite / 'seg/images/validation')
    cfg = _cfg(SEG, suite)
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(DatasetLayoutError, match='seg/images/validation does not exist'):
        check_before_training(cfg)
    monkeypatch.setenv('RANK', '1')  # torchrun's other ranks: rank 0 checks for them
    assert check_before_training(cfg) is None
    monkeypatch.setenv('RANK', '0')
    cfg.resume, cfg.load_from = True, str(suite / 'epoch_1.pth')  # checked when it started
    assert check_before_training(cfg) is None
