"""The Fashion-MNIST miniature's data (tricks_mm.datasets.fashion_mnist, docs/miniature.md).

References: torchvision's ``FashionMNIST`` and ``read_image_file`` for the idx reader; cv2 and
numpy recomputations for the scenes; mmpretrain / mmdet / mmseg's own dataset classes and the
configs' evaluators (ground truth scores 100) for the written files. Most tests run on small
fake idx files written here (the format: big-endian magic 0x00000803 / 0x00000801, sizes, bytes);
the tests on the real files skip, saying why, where Debian's package is absent.
"""

import gzip
import hashlib
import shutil
import struct
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tricks_mm.datasets.fashion_mnist import (
    CLASSES,
    DEBIAN_DIR,
    FILES,
    compose_scene,
    locate,
    pasted_items,
    prepare,
    read_idx,
)
from tricks_mm.datasets.synthetic.seeding import item_rng
from tricks_mm.datasets.synthetic.textures import clutter_background

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests'))

REAL = DEBIAN_DIR / 'train-images-idx3-ubyte.gz'
needs_real = pytest.mark.skipif(
    not REAL.is_file(),
    reason=f'{DEBIAN_DIR} absent: as root, apt-get install dataset-fashion-mnist (make install '
    'does so where it runs as root with apt)',
)
TINY = dict(
    cls_train=60, cls_val=40, det_train=6, det_test=4, seg_train=4, seg_val=3, scene_size=96
)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file by the format's definition (gzipped when the name ends in .gz)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f'>{array.ndim}I', *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == '.gz' else data)


def fake_items(rng: np.random.Generator, n: int, ring: bool) -> np.ndarray:
    """``n`` 28x28 items: a textured blob on a zero background, with zero holes inside; with
    ``ring`` a 3-px frame of values >= 100 so the silhouette spans the whole square."""
    items = np.zeros((n, 28, 28), np.uint8)
    for k in range(n):
        y0, x0 = rng.integers(0, 8, size=2) if not ring else (0, 0)
        y1, x1 = (28 - rng.integers(0, 8, size=2)) if not ring else (28, 28)
        blob = rng.integers(1, 256, size=(y1 - y0, x1 - x0))
        blob[rng.random(blob.shape) < 0.1] = 0  # holes
        items[k, y0:y1, x0:x1] = blob
        if ring:
            items[k, :3], items[k, -3:] = 100 + k % 100, 100
            items[k, :, :3], items[k, :, -3:] = 100, 100
    return items


@pytest.fixture(scope='module')
def fake_source(tmp_path_factory) -> Path:
    """Fake Fashion-MNIST files: 60 training and 40 test items (labels cycling 0..9)."""
    root = tmp_path_factory.mktemp('fmnist_src')
    rng = np.random.default_rng(7)
    arrays = dict(
        train_images=fake_items(rng, 60, ring=False),
        train_labels=np.arange(60) % 10,
        test_images=fake_items(rng, 40, ring=False),
        test_labels=np.arange(40) % 10,
    )
    for role, name in FILES.items():
        write_idx(root / f'{name}.gz', arrays[role])
    return root


# --- the idx reader -------------------------------------------------------------------------


@pytest.mark.parametrize('gz', [True, False])
def test_read_idx_matches_torchvision_reader(tmp_path, gz):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    write_idx(tmp_path / 'im', images)
    write_idx(tmp_path / 'lb', labels)
    suffix = '.gz' if gz else ''
    if gz:
        for name in ('im', 'lb'):
            (tmp_path / f'{name}.gz').write_bytes(gzip.compress((tmp_path / name).read_bytes()))
    np.testing.assert_array_equal(
        read_idx(tmp_path / f'im{suffix}'), read_image_file(str(tmp_path / 'im')).numpy()
    )
    np.testing.assert_array_equal(
        read_idx(tmp_path / f'lb{suffix}'), read_label_file(str(tmp_path / 'lb')).numpy()
    )


def test_truncated_gz_is_a_clear_error(tmp_path, fake_source):
    bad = tmp_path / 'train-images-idx3-ubyte.gz'
    bad.write_bytes((fake_source / bad.name).read_bytes()[:500])
    with pytest.raises(ValueError, match='gzip stream is damaged') as info:
        read_idx(bad)
    assert str(bad) in str(info.value) and 'apt-get install --reinstall' in str(info.value)


def test_short_data_and_bad_header_are_clear_errors(tmp_path):
    short = tmp_path / 'short'
    short.write_bytes(bytes([0, 0, 8, 1]) + struct.pack('>I', 10) + bytes(9))
    with pytest.raises(ValueError, match=r'17 bytes where a \(10,\) array needs 18'):
        read_idx(short)
    wrong = tmp_path / 'wrong'
    wrong.write_bytes(bytes([0, 0, 0x0D, 1]) + struct.pack('>I', 1) + bytes(4))  # float32
    with pytest.raises(ValueError, match='type 0x0d'):
        read_idx(wrong)
    with pytest.raises(FileNotFoundError, match='missing-file'):
        read_idx(tmp_path / 'missing-file')


def test_locate_order_and_errors(tmp_path, fake_source):
    assert locate(fake_source) == {r: fake_source / f'{n}.gz' for r, n in FILES.items()}
    # torchvision's layout under a root, uncompressed
    raw = tmp_path / 'tv' / 'FashionMNIST' / 'raw'
    raw.mkdir(parents=True)
    for name in FILES.values():
        (raw / name).write_bytes(gzip.decompress((fake_source / f'{name}.gz').read_bytes()))
    assert locate(tmp_path / 'tv') == {r: raw / n for r, n in FILES.items()}
    # an explicit path must hold the files, even when Debian's folder has them
    with pytest.raises(FileNotFoundError, match='does not hold the four'):
        locate(tmp_path / 'empty', debian_dir=fake_source)
    # no path: Debian's folder, then (not allowed here) a download, then all three named
    assert (
        locate(debian_dir=fake_source)['test_labels'] == fake_source / f'{FILES["test_labels"]}.gz'
    )
    with pytest.raises(FileNotFoundError) as info:
        locate(debian_dir=tmp_path / 'no-debian')
    message = str(info.value)
    for needle in ('--fashion-mnist PATH', 'apt-get install dataset-fashion-mnist', 'download'):
        assert needle in message


def test_failed_download_names_all_three(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise RuntimeError('Error downloading train-images-idx3-ubyte.gz: no network')

    monkeypatch.setattr(torchvision.datasets, 'FashionMNIST', Offline)
    with pytest.raises(FileNotFoundError, match='3. torchvision download into .*: failed'):
        locate(download_root=tmp_path / 'dl', debian_dir=tmp_path / 'none')


@needs_real
def test_real_files_pixel_identical_to_torchvision(tmp_path):
    """torchvision reads the uncompressed files from ``root/FashionMNIST/raw`` (its
    ``_check_exists`` only checks they exist; Debian's .gz are recompressed, so their bytes
    differ from the upstream MD5s its download would check)."""
    from torchvision.datasets import FashionMNIST

    raw = tmp_path / 'FashionMNIST' / 'raw'
    raw.mkdir(parents=True)
    for name in FILES.values():
        with gzip.open(DEBIAN_DIR / f'{name}.gz') as src, open(raw / name, 'wb') as dst:
            shutil.copyfileobj(src, dst)
    files = locate()
    for split, train in (('train', True), ('test', False)):
        ref = FashionMNIST(str(tmp_path), train=train, download=False)
        np.testing.assert_array_equal(read_idx(files[f'{split}_images']), ref.data.numpy())
        np.testing.assert_array_equal(read_idx(files[f'{split}_labels']), ref.targets.numpy())
    assert len(ref) == 10000


def test_classes_are_torchvisions_spelt_for_folders():
    from torchvision.datasets import FashionMNIST

    spelt = [
        c.lower().replace('-', '').replace('/', '_').replace(' ', '_') for c in FashionMNIST.classes
    ]
    assert list(CLASSES) == spelt


def test_config_classes_match_the_package():
    from mmengine.config import Config

    meta = Config.fromfile(str(REPO / 'configs/miniature/fashion_mnist_classes.py')).fmnist_metainfo
    from tricks_mm.datasets.fashion_mnist import PALETTE

    assert tuple(meta.classes) == CLASSES and [tuple(c) for c in meta.palette] == PALETTE


# --- scene composition ----------------------------------------------------------------------


@pytest.mark.parametrize('seed', range(6))
def test_scene_masks_are_the_pasted_silhouettes(seed):
    """Ring items: the box is the whole resized square, so the reference item is recomputed
    with cv2 from the box alone; everything else must be the untouched background."""
    rng = np.random.default_rng(100 + seed)
    items = fake_items(rng, 10, ring=True)
    labels = np.arange(10)
    size = 96
    scene, used = compose_scene(item_rng(seed, 'ade_training', 0), items, labels, range(5), size)
    background = np.clip(
        np.round(clutter_background(size, size, item_rng(seed, 'ade_training', 0))), 0, 255
    )
    assert used == list(range(len(scene.objects))) and len(used) >= 2
    union = np.zeros((size, size), bool)
    for obj, item_id in zip(scene.objects, used):
        x0, y0, x1, y1 = obj.bbox
        side = x1 - x0 + 1
        assert y1 - y0 + 1 == side and obj.label == labels[item_id]
        ref = cv2.resize(
            items[item_id],
            (side, side),
            interpolation=cv2.INTER_AREA if side < 28 else cv2.INTER_LINEAR,
        )
        mask = ref > 0
        assert not (union[y0 : y1 + 1, x0 : x1 + 1] & mask).any()  # no overlap
        union[y0 : y1 + 1, x0 : x1 + 1] |= mask
        assert (scene.label_map[y0 : y1 + 1, x0 : x1 + 1][mask] == obj.label + 1).all()
        crop = scene.image[y0 : y1 + 1, x0 : x1 + 1][mask]
        np.testing.assert_array_equal(crop, np.repeat(ref[mask][:, None], 3, axis=1))
    np.testing.assert_array_equal(scene.label_map > 0, union)
    np.testing.assert_array_equal(scene.image[~union], background[~union])


@pytest.mark.parametrize('seed', range(6))
def test_scene_boxes_are_tight(seed, fake_source):
    """Items with margins, one per class in a scene: each box is the tight box of its class's
    pixels in the label map, and several scales occur."""
    images = read_idx(fake_source / 't10k-images-idx3-ubyte.gz')
    labels = read_idx(fake_source / 't10k-labels-idx1-ubyte.gz')
    sides = set()
    for i in range(4):
        scene, used = compose_scene(
            item_rng(seed, 'voc2007_test', i), images, labels, range(5 * i, 5 * i + 5), 128
        )
        for obj in scene.objects:
            ys, xs = np.nonzero(scene.label_map == obj.label + 1)
            assert obj.bbox == (xs.min(), ys.min(), xs.max(), ys.max())
            assert not obj.difficult and not obj.truncated
            sides.add(obj.bbox[2] - obj.bbox[0])
    assert len(sides) > 3


# --- the prepared layout and the host datasets ----------------------------------------------


@pytest.fixture(scope='module')
def workspace(tmp_path_factory, fake_source) -> Path:
    """``<tmp>/data/fashion_mnist`` prepared from the fake files (the configs' data root)."""
    root = tmp_path_factory.mktemp('fmnist_ws')
    prepare(root / 'data' / 'fashion_mnist', seed=0, source=fake_source, quiet=True, **TINY)
    return root


def _digest(img: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest()


def test_pretraining_split_is_the_training_images_only(workspace, fake_source):
    cls = workspace / 'data' / 'fashion_mnist' / 'cls'
    train = read_idx(fake_source / 'train-images-idx3-ubyte.gz')
    train_labels = read_idx(fake_source / 'train-labels-idx1-ubyte.gz')
    test = read_idx(fake_source / 't10k-images-idx3-ubyte.gz')
    lines = (cls / 'meta' / 'train.txt').read_text().splitlines()
    assert len(lines) == TINY['cls_train']
    seen = set()
    for i, line in enumerate(lines):
        rel, label = line.split()
        png = cv2.imread(str(cls / 'train' / rel), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(png, train[i])  # lossless, the i-th training image
        assert int(label) == train_labels[i] and rel.split('/')[0] == CLASSES[train_labels[i]]
        seen.add(_digest(png))
    assert not seen & {_digest(t) for t in test}  # no test item in pretraining
    val = (cls / 'meta' / 'val.txt').read_text().splitlines()
    assert len(val) == TINY['cls_val'] and all('/test_' in line for line in val)


def test_downstream_uses_disjoint_test_pools(workspace):
    items = pasted_items(workspace / 'data' / 'fashion_mnist')
    train = {i for k in ('voc2007_trainval', 'voc2012_trainval', 'ade_training') for i in items[k]}
    evaluation = {i for k in ('voc2007_test', 'ade_validation') for i in items[k]}
    assert train and evaluation and not train & evaluation
    assert train | evaluation <= set(range(40))
    # each task goes through its pool (20 items) before an item recurs, across VOC years too
    for seq in (items['voc2007_trainval'] + items['voc2012_trainval'], items['ade_training']):
        first = seq[:20]
        assert len(set(first)) == len(first) and len(seq) > len(items['voc2007_trainval']) // 2


def test_mmpretrain_reads_the_pretraining_split(workspace):
    pytest.importorskip('mmcv')
    from mmengine.registry import init_default_scope
    from mmpretrain.datasets import CustomDataset, ImageNet

    init_default_scope('mmpretrain')
    cls = workspace / 'data' / 'fashion_mnist' / 'cls'
    by_meta = ImageNet(data_root=str(cls), split='train', classes=str(cls / 'classes.txt'))
    by_folder = CustomDataset(data_root=str(cls), data_prefix='train')
    assert len(by_meta) == len(by_folder) == TINY['cls_train']
    assert by_meta.metainfo['classes'] == CLASSES
    labels = sorted(int(by_meta.get_data_info(i)['gt_label']) for i in range(len(by_meta)))
    assert labels == sorted(np.arange(60) % 10)


@pytest.mark.parametrize(
    'config, expected',
    [
        ('faster-rcnn_botr18-d-fpn_fmnist-voc.py', {'voc07/mAP': 1.0, 'voc_area/mAP': 1.0}),
        ('fcn_botr18-d-d8_fmnist-ade.py', {'aAcc': 100.0, 'mIoU': 100.0, 'mAcc': 100.0}),
    ],
)
def test_ground_truth_scores_100_through_the_configs(workspace, monkeypatch, config, expected):
    """mmdet's VOCDataset and mmseg's BaseSegDataset read the written files through the
    miniature configs, and their evaluators score the ground truth 100%."""
    from _known_metrics import perfect_scores

    from tricks_mm.config.setup import import_host, load_config

    monkeypatch.chdir(workspace)
    cfg = load_config(str(REPO / 'configs' / 'miniature' / config))
    import_host(cfg)
    scores = perfect_scores(cfg)
    assert {k: scores[k] for k in expected} == pytest.approx(expected, abs=1e-6)


def test_mmdet_training_sets_hold_every_scene(workspace, monkeypatch):
    from mmengine.registry import init_default_scope

    from tricks_mm.config.setup import load_config

    monkeypatch.chdir(workspace)
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS

    cfg = load_config(
        str(REPO / 'configs' / 'miniature' / 'faster-rcnn_botr18-d-fpn_fmnist-voc.py')
    )
    train = DATASETS.build(cfg.train_dataloader.dataset.to_dict())
    assert len(train) == TINY['det_train']
    items = pasted_items(workspace / 'data' / 'fashion_mnist')
    n_objects = sum(len(train.get_data_info(i)['instances']) for i in range(len(train)))
    assert n_objects == len(items['voc2007_trainval']) + len(items['voc2012_trainval'])


def test_prepare_reuses_refuses_and_validates(workspace, fake_source, tmp_path):
    info = prepare(
        workspace / 'data' / 'fashion_mnist', seed=0, source=fake_source, quiet=True, **TINY
    )
    assert info.reused
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'x').write_text('mine')
    with pytest.raises(FileExistsError, match='no .tricks_mm_fashion_mnist.json marker'):
        prepare(foreign, source=fake_source, quiet=True, **TINY)
    with pytest.raises(ValueError, match='scene_size must be an int >= 32'):
        prepare(tmp_path / 'x', source=fake_source, quiet=True, **dict(TINY, scene_size=8))
    with pytest.raises(ValueError, match='cls_train=100 but the file has 60'):
        prepare(tmp_path / 'y', source=fake_source, quiet=True, **dict(TINY, cls_train=100))


def test_cli(tmp_path, fake_source, capsys):
    from tricks_mm.datasets.fashion_mnist.__main__ import main

    args = ['--out', str(tmp_path / 'm'), '--fashion-mnist', str(fake_source), '--quiet']
    sizes = [f'--{k.replace("_", "-")}={v}' for k, v in TINY.items()]
    assert main(args + sizes) == 0
    assert (
        tmp_path / 'm' / 'seg' / 'annotations' / 'validation' / 'ADE_val_00000003.png'
    ).is_file()
    assert main(['--out', str(tmp_path / 'n'), '--fashion-mnist', str(tmp_path / 'nothing')]) == 2
    assert 'does not hold the four Fashion-MNIST files' in capsys.readouterr().err
