"""``prepare``: the miniature's three datasets from the Fashion-MNIST files, in the real formats.

Layout under ``out`` (the synthetic suite's, :mod:`tricks_mm.datasets.synthetic.suite`, so the
configs differ only in ``data_root`` and class names)::

    .tricks_mm_fashion_mnist.json   marker: arguments, counts, the test items each split used
    cls/   ImageNet format (mmpretrain CustomDataset / ImageNet): classes.txt, meta/{train,val}.txt,
           train/<class>/train_<i>.png (the 60,000 training images, lossless PNG, 28x28 grey)
           val/<class>/test_<i>.png    (the 10,000 test images: the benchmark's test set)
    det/VOCdevkit/VOC2007, VOC2012     Pascal VOC scenes (trainval over both years, VOC2007 test)
    seg/images, annotations            ADE20K scenes ({training,validation}, reduce_zero_label)

Downstream scenes use test-split items only (never trained on in pretraining): the test split is
shuffled once and cut in two disjoint pools, one for the training scenes of both tasks, one for
their evaluation scenes, so the downstream evaluation never sees an item its training saw.

Safety as in the synthetic suite: a non-empty directory without our marker is refused; one whose
marker matches the arguments is reused; anything else is written into a temporary sibling and
renamed into place.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..synthetic import writers
from ..synthetic.scenes import Scene
from ..synthetic.seeding import item_rng
from .classes import CLASSES
from .compose import ITEMS_RANGE, compose_scene
from .idx import read_idx
from .locate import locate

#: Bump when the bytes a given set of arguments produces change.
PREPARE_VERSION = 1
MARKER_NAME = '.tricks_mm_fashion_mnist.json'

#: Default sizes (docs/miniature.md gives the standard errors they imply).
DEFAULT_SIZES: Dict[str, int] = dict(
    cls_train=60000,  # training images used for pretraining (the first n)
    cls_val=10000,  # test images used for validation (the first n)
    det_train=2000,
    det_test=1000,
    seg_train=2000,
    seg_val=1000,
    scene_size=128,
)
#: (lowest, highest) of each size; det_train >= 2 gives VOC2007 and VOC2012 one scene each.
_LIMITS: Dict[str, Tuple[int, Optional[int]]] = dict(
    cls_train=(10, 60000),
    cls_val=(10, 10000),
    det_train=(2, None),
    det_test=(1, None),
    seg_train=(1, None),
    seg_val=(1, None),
    scene_size=(32, 1024),
)


@dataclass
class MiniatureInfo:
    """Where the prepared miniature lives; ``reused`` when nothing had to be written."""

    root: Path
    cls_root: Path
    det_root: Path
    seg_root: Path
    reused: bool


def _info(root: Path, reused: bool) -> MiniatureInfo:
    return MiniatureInfo(root, root / 'cls', root / 'det' / 'VOCdevkit', root / 'seg', reused)


def _validate(seed: int, sizes: Dict[str, Any]) -> Dict[str, int]:
    unknown = set(sizes) - set(DEFAULT_SIZES)
    if unknown:
        raise ValueError(f'unknown sizes {sorted(unknown)}; expected {sorted(DEFAULT_SIZES)}')
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    merged = {**DEFAULT_SIZES, **sizes}
    for name, value in merged.items():
        lo, hi = _LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f'{name} must be an int >= {lo}, got {value!r}')
        if hi is not None and value > hi:
            raise ValueError(f'{name} must be <= {hi}, got {value!r}')
    return merged


def prepare_args(seed: int = 0, **sizes: int) -> Dict[str, Any]:
    """What fixes the prepared files' contents besides the Fashion-MNIST files themselves:
    this module's version, the seed and every size (defaults filled in); a ladder mixes it
    into each step's key.

    Raises:
        ValueError: an unknown or out-of-range size, or a bad seed.
    """
    return dict(version=PREPARE_VERSION, seed=seed, sizes=_validate(seed, sizes))


def _log(quiet: bool, msg: str) -> None:
    if not quiet:
        print(f'[tricks_mm.fashion_mnist] {msg}', flush=True)


def _write_cls(root: Path, data: Dict[str, np.ndarray], sizes: Dict[str, int]) -> None:
    writers.write_lines(root / 'classes.txt', CLASSES)
    for split, source, n in (
        ('train', 'train', sizes['cls_train']),
        ('val', 'test', sizes['cls_val']),
    ):
        entries = []
        for i in range(n):
            label = int(data[f'{source}_labels'][i])
            rel = f'{CLASSES[label]}/{source}_{i:05d}.png'
            writers.write_png(root / split / rel, data[f'{source}_images'][i])
            entries.append((rel, label))
        writers.write_imagenet_meta(root, split, entries)


def _scenes(
    split: str,
    n: int,
    pool: np.ndarray,
    start: int,
    data: Dict[str, np.ndarray],
    seed: int,
    size: int,
) -> Iterator[Tuple[int, Scene, List[int]]]:
    """``n`` scenes of ``split``, taking items from ``pool`` in order from ``start`` (wrapping
    around, so an item recurs only after the whole pool has been used)."""
    for i in range(n):
        candidates = [int(pool[(start + k) % len(pool)]) for k in range(ITEMS_RANGE[1])]
        scene, used = compose_scene(
            item_rng(seed, split, i), data['test_images'], data['test_labels'], candidates, size
        )
        start = (start + len(used)) % len(pool)
        yield i, scene, used


def _write_downstream(
    tmp: Path, data: Dict[str, np.ndarray], seed: int, sizes: Dict[str, int], quiet: bool
) -> Dict[str, List[int]]:
    order = np.random.default_rng(np.random.SeedSequence(entropy=seed)).permutation(
        len(data['test_labels'])
    )
    pools = {'train': order[: len(order) // 2], 'eval': order[len(order) // 2 :]}
    det, seg = tmp / 'det' / 'VOCdevkit', tmp / 'seg'
    n12 = sizes['det_train'] // 2
    n07 = sizes['det_train'] - n12
    ids = {
        'voc2007_trainval': [f'{i + 1:06d}' for i in range(n07)],
        'voc2012_trainval': [f'2012_{i + 1:06d}' for i in range(n12)],
        'voc2007_test': [f'{n07 + i + 1:06d}' for i in range(sizes['det_test'])],
        'ade_training': [f'ADE_train_{i + 1:08d}' for i in range(sizes['seg_train'])],
        'ade_validation': [f'ADE_val_{i + 1:08d}' for i in range(sizes['seg_val'])],
    }
    where = {  # split -> (items pool, writer of one scene)
        'voc2007_trainval': (
            'train',
            lambda stem, s: writers.write_voc_scene(det / 'VOC2007', stem, s, CLASSES),
        ),
        'voc2012_trainval': (
            'train',
            lambda stem, s: writers.write_voc_scene(det / 'VOC2012', stem, s, CLASSES),
        ),
        'voc2007_test': (
            'eval',
            lambda stem, s: writers.write_voc_scene(det / 'VOC2007', stem, s, CLASSES),
        ),
        'ade_training': (
            'train',
            lambda stem, s: writers.write_ade_scene(seg, 'training', stem, s),
        ),
        'ade_validation': (
            'eval',
            lambda stem, s: writers.write_ade_scene(seg, 'validation', stem, s),
        ),
    }
    items: Dict[str, List[int]] = {}
    position: Dict[Tuple[str, str], int] = {}  # per task and pool: VOC2012 continues VOC2007
    for split, (pool_name, write) in where.items():
        key = (split[:3], pool_name)
        stems = ids[split]
        _log(quiet, f'{split}: {len(stems)} scenes from the {pool_name} pool of test items')
        items[split] = []
        pool = pools[pool_name]
        for i, scene, used in _scenes(
            split, len(stems), pool, position.get(key, 0), data, seed, sizes['scene_size']
        ):
            write(stems[i], scene)
            items[split].extend(used)
        position[key] = (position.get(key, 0) + len(items[split])) % len(pool)
    v07, v12 = ids['voc2007_trainval'], ids['voc2012_trainval']
    writers.write_voc_image_sets(
        det / 'VOC2007',
        [
            ('trainval', v07),
            ('train', v07[0::2]),
            ('val', v07[1::2]),
            ('test', ids['voc2007_test']),
        ],
    )
    writers.write_voc_image_sets(
        det / 'VOC2012', [('trainval', v12), ('train', v12[0::2]), ('val', v12[1::2])]
    )
    return items


def load_arrays(files: Dict[str, Path]) -> Dict[str, np.ndarray]:
    """Read the four files (:func:`~.locate.locate`'s result) and check they agree."""
    data = {role: read_idx(path) for role, path in files.items()}
    for split in ('train', 'test'):
        images, labels = data[f'{split}_images'], data[f'{split}_labels']
        if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
            raise ValueError(
                f'{files[split + "_images"]} ({images.shape}) and {files[split + "_labels"]} '
                f'({labels.shape}) do not form a Fashion-MNIST split of 28x28 images'
            )
        if labels.max() >= len(CLASSES):
            raise ValueError(f'{files[split + "_labels"]} has label {labels.max()}, not 0..9')
    return data


def _digest(seed: int, sizes: Dict[str, int], files: Dict[str, Path]) -> str:
    stamp = {role: os.path.getsize(path) for role, path in files.items()}
    blob = json.dumps(dict(v=PREPARE_VERSION, seed=seed, sizes=sizes, files=stamp), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _marker(root: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads((root / MARKER_NAME).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def prepare(
    out: Union[str, os.PathLike],
    seed: int = 0,
    *,
    source: Optional[Union[str, os.PathLike]] = None,
    download_root: Optional[Union[str, os.PathLike]] = None,
    quiet: bool = False,
    **sizes: int,
) -> MiniatureInfo:
    """Write (or reuse) the miniature's datasets at ``out``.

    Args:
        out: root; absent, empty, or written by this function.
        seed: scene seed (the same seed, sizes and files give identical files).
        source: folder holding the Fashion-MNIST files (default: Debian's, then a download).
        download_root: where torchvision may download them (default: no download).
        quiet: no progress lines.
        **sizes: overrides of :data:`DEFAULT_SIZES`.

    Raises:
        ValueError: a bad size or seed, or a damaged file.
        FileNotFoundError: the files were not found (the message lists every place tried).
        FileExistsError: ``out`` is not empty and was not written here.
    """
    sizes = _validate(seed, sizes)
    files = locate(source, download_root)
    root = Path(out).expanduser().absolute()
    digest = _digest(seed, sizes, files)
    marker = _marker(root)
    if marker and marker.get('args_hash') == digest:
        _log(quiet, f'reused {root}')
        return _info(root, reused=True)
    if root.exists() and marker is None and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(
            f'refusing to write the Fashion-MNIST miniature into {root}: it is not empty and has '
            f'no {MARKER_NAME} marker, so it may hold other data. Pass a new or empty directory.'
        )
    start = time.perf_counter()
    data = load_arrays(files)
    for name, role in (('cls_train', 'train_labels'), ('cls_val', 'test_labels')):
        if sizes[name] > len(data[role]):
            raise ValueError(
                f'{name}={sizes[name]} but the file has {len(data[role])} images '
                f'({files[role]}); lower {name}'
            )
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{root.name}.tmp-', dir=root.parent))
    try:
        _log(quiet, f'cls: {sizes["cls_train"]} training + {sizes["cls_val"]} test images')
        _write_cls(tmp / 'cls', data, sizes)
        items = _write_downstream(tmp, data, seed, sizes, quiet)
        info = dict(
            generator='tricks_mm.datasets.fashion_mnist',
            version=PREPARE_VERSION,
            seed=seed,
            sizes=sizes,
            classes=list(CLASSES),
            files={role: str(path) for role, path in files.items()},
            args_hash=digest,
            test_items=items,
        )
        writers.write_lines(tmp / MARKER_NAME, [json.dumps(info, sort_keys=True)])
        if root.exists():
            shutil.rmtree(root)  # ours (marker) or empty: replaced whole
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _log(quiet, f'done in {time.perf_counter() - start:.1f} s: {root}')
    return _info(root, reused=False)


def pasted_items(root: Union[str, os.PathLike]) -> Dict[str, Sequence[int]]:
    """The test-split item ids each downstream split pasted, from ``root``'s marker."""
    marker = _marker(Path(root))
    if not marker:
        raise FileNotFoundError(f'{root} has no readable {MARKER_NAME}: not a prepared miniature')
    return marker['test_items']
