"""``generate_suite``: the whole embedded suite, written atomically and only where it is safe.

Layout under ``out_dir`` (each task in its real on-disk format)::

    .tricks_mm_synthetic.json          marker: seed, sizes, version, args hash, counts
    cls/                               ImageNet (mmpretrain ImageNet / CustomDataset data_root)
      classes.txt  meta/{train,val}.txt  {train,val}/<class>/<class>_<i>.JPEG
    det/VOCdevkit/                     Pascal VOC (mmdet VOCDataset data_root)
      VOC2007/{JPEGImages,Annotations,ImageSets/Main/{trainval,train,val,test}.txt}
      VOC2012/{JPEGImages,Annotations,ImageSets/Main/{trainval,train,val}.txt}
    seg/                               ADE20K (mmseg BaseSegDataset data_root)
      images/{training,validation}/ADE_*.jpg  annotations/{training,validation}/ADE_*.png

Safety rules, because ``out_dir`` is usually a path a config or CLI user typed:

* a non-empty directory without our marker is refused (it may hold real data);
* a directory whose marker matches the arguments is reused untouched;
* anything else is generated into a hidden temporary sibling and renamed into place, so a crash
  never leaves a half-written suite at ``out_dir``.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from . import writers
from .scenes import render_crop, render_scene
from .seeding import item_rng
from .vocabulary import VOCABULARY, get_classes, get_palette

#: Bump whenever the bytes a given seed produces change (rendering, layout, encoders).
GENERATOR_VERSION = 1
#: Marker file at the suite root; its presence is what makes a directory ours.
MARKER_NAME = '.tricks_mm_synthetic.json'

#: Default sizes: about 10 s on one CPU core.
DEFAULT_SIZES: Dict[str, int] = dict(
    num_classes=6,
    cls_train_per_class=120,
    cls_val_per_class=30,
    cls_size=64,
    det_train=160,
    det_test=60,
    seg_train=160,
    seg_val=60,
    scene_size=160,
)

# Lower bounds that keep every split non-empty and every object drawable.
_MINIMA: Dict[str, int] = dict(
    num_classes=2,
    cls_train_per_class=1,
    cls_val_per_class=1,
    cls_size=16,
    det_train=2,  # one image for each of VOC2007 and VOC2012 trainval
    det_test=1,
    seg_train=1,
    seg_val=1,
    scene_size=32,
)
_MAXIMA: Dict[str, int] = dict(num_classes=len(VOCABULARY), cls_size=1024, scene_size=2048)


@dataclass
class SuiteInfo:
    """Where a generated suite lives.

    Attributes:
        root: The suite root (``out_dir``).
        cls_root: ImageNet-layout root: ``data_root`` for mmpretrain ``ImageNet``.
        det_root: ``VOCdevkit`` directory: ``data_root`` for mmdet ``VOCDataset``.
        seg_root: ADE20K-layout root: ``data_root`` for mmseg ``BaseSegDataset``.
        classes: Class names in label order.
        palette: RGB colours aligned with ``classes``.
        reused: True when an identical suite was already there and nothing was written.
    """

    root: Path
    cls_root: Path
    det_root: Path
    seg_root: Path
    classes: Tuple[str, ...]
    palette: List[Tuple[int, int, int]] = field(default_factory=list)
    reused: bool = False


def _validate(seed: int, sizes: Dict[str, Any]) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    unknown = set(sizes) - set(DEFAULT_SIZES)
    if unknown:
        raise ValueError(
            f'unknown size arguments {sorted(unknown)}; expected {sorted(DEFAULT_SIZES)}'
        )
    for name, value in sizes.items():
        lo, hi = _MINIMA[name], _MAXIMA.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < lo
            or (hi is not None and value > hi)
        ):
            bound = f'in [{lo}, {hi}]' if hi is not None else f'>= {lo}'
            raise ValueError(f'{name} must be an int {bound}, got {value!r}')


def suite_args(seed: int = 0, **sizes: int) -> Dict[str, Any]:
    """What fixes a suite's bytes: the generator version, the seed and every size (defaults
    filled in), validated as :func:`generate_suite` validates them. A ladder puts this in the
    key of every step that reads the suite (:mod:`tricks_mm.ladder.data`).

    Raises:
        ValueError: If the seed or a size is invalid or unknown.
    """
    _validate(seed, sizes)
    return dict(version=GENERATOR_VERSION, seed=seed, sizes={**DEFAULT_SIZES, **sizes})


def _args_hash(seed: int, sizes: Dict[str, int]) -> str:
    blob = json.dumps(suite_args(seed, **sizes), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _read_marker(root: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads((root / MARKER_NAME).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # ours (the marker exists) but unreadable: regenerate


def _info(root: Path, classes: Tuple[str, ...], reused: bool) -> SuiteInfo:
    return SuiteInfo(
        root=root,
        cls_root=root / 'cls',
        det_root=root / 'det' / 'VOCdevkit',
        seg_root=root / 'seg',
        classes=classes,
        palette=get_palette(classes),
        reused=reused,
    )


def _is_reusable(root: Path, digest: str) -> bool:
    marker = _read_marker(root)
    return (
        bool(marker)
        and marker.get('args_hash') == digest
        and all((root / sub).is_dir() for sub in ('cls', 'det', 'seg'))
    )


def _check_target(root: Path) -> None:
    """Raise unless ``root`` is absent, empty, or carries our marker."""
    if not root.exists():
        return
    if not root.is_dir():
        raise FileExistsError(
            f'refusing to generate the synthetic suite at {root}: it exists and '
            f'is not a directory. Pass a new or empty directory as out_dir.'
        )
    if _read_marker(root) is None and any(root.iterdir()):
        raise FileExistsError(
            f'refusing to generate the synthetic suite into {root}: the directory is not empty '
            f'and has no {MARKER_NAME} marker, so it was not written by this generator and may '
            f'hold real data. Pass a new or empty directory as out_dir, or remove {root} '
            f'yourself if its contents are disposable.'
        )


def _log(quiet: bool, msg: str) -> None:
    if not quiet:
        print(f'[tricks_mm.synthetic] {msg}', flush=True)


def _write_cls(
    cls_root: Path, seed: int, classes: Tuple[str, ...], sizes: Dict[str, int], quiet: bool
) -> Dict[str, int]:
    writers.write_lines(cls_root / 'classes.txt', classes)
    counts = {}
    for split, per_class in (
        ('train', sizes['cls_train_per_class']),
        ('val', sizes['cls_val_per_class']),
    ):
        _log(quiet, f'cls/{split}: {per_class * len(classes)} crops of {sizes["cls_size"]} px')
        entries = []
        for label, name in enumerate(classes):
            vocab_index = VOCABULARY.index(name)  # keyed by name: stable across num_classes
            for i in range(per_class):
                img = render_crop(
                    item_rng(seed, f'cls_{split}', vocab_index, i), name, sizes['cls_size']
                )
                stem = f'{name}_{split}_{i:05d}'
                entries.append(
                    (writers.write_imagenet_image(cls_root, split, name, stem, img), label)
                )
        writers.write_imagenet_meta(cls_root, split, entries)
        counts[f'cls_{split}'] = len(entries)
    return counts


def _write_det(
    det_root: Path, seed: int, classes: Tuple[str, ...], sizes: Dict[str, int], quiet: bool
) -> Dict[str, int]:
    # The paper's protocol: train on VOC2007 trainval + VOC2012 trainval, test on VOC2007 test.
    n12 = sizes['det_train'] // 2
    n07 = sizes['det_train'] - n12
    plan = [
        ('VOC2007', 'trainval', 'voc2007_trainval', [f'{i + 1:06d}' for i in range(n07)]),
        ('VOC2012', 'trainval', 'voc2012_trainval', [f'2012_{i + 1:06d}' for i in range(n12)]),
        (
            'VOC2007',
            'test',
            'voc2007_test',
            [f'{n07 + i + 1:06d}' for i in range(sizes['det_test'])],
        ),
    ]
    image_sets: Dict[str, List[Tuple[str, List[str]]]] = {'VOC2007': [], 'VOC2012': []}
    counts = {'det_objects': 0, 'det_difficult': 0}
    for year, set_name, split, ids in plan:
        _log(quiet, f'det/{year} {set_name}: {len(ids)} scenes')
        for i, image_id in enumerate(ids):
            scene = render_scene(item_rng(seed, split, i), classes, sizes['scene_size'])
            writers.write_voc_scene(det_root / year, image_id, scene, classes)
            counts['det_objects'] += len(scene.objects)
            counts['det_difficult'] += sum(o.difficult for o in scene.objects)
        image_sets[year].append((set_name, ids))
        if set_name == 'trainval':  # VOC also ships the train / val halves of trainval
            image_sets[year] += [('train', ids[0::2]), ('val', ids[1::2])]
        counts[f'det_{year.lower()}_{set_name}'] = len(ids)
    for year, sets in image_sets.items():
        writers.write_voc_image_sets(det_root / year, sets)
    return counts


def _write_seg(
    seg_root: Path, seed: int, classes: Tuple[str, ...], sizes: Dict[str, int], quiet: bool
) -> Dict[str, int]:
    counts = {}
    for subset, prefix, n in (
        ('training', 'ADE_train', sizes['seg_train']),
        ('validation', 'ADE_val', sizes['seg_val']),
    ):
        _log(quiet, f'seg/{subset}: {n} scenes')
        for i in range(n):
            scene = render_scene(item_rng(seed, f'ade_{subset}', i), classes, sizes['scene_size'])
            writers.write_ade_scene(seg_root, subset, f'{prefix}_{i + 1:08d}', scene)
        counts[f'seg_{subset}'] = n
    return counts


def _install(tmp: Path, root: Path, digest: str) -> bool:
    """Move the finished ``tmp`` suite to ``root``; return False if an identical one won a race."""
    if root.exists():
        if _is_reusable(root, digest):
            return False  # a concurrent run finished the same suite first
        _check_target(root)  # the target may have changed while we were generating
        if not any(root.iterdir()):
            root.rmdir()
    if not root.exists():
        os.replace(tmp, root)
        return True
    old = Path(tempfile.mkdtemp(prefix=f'.{root.name}.old-', dir=root.parent))
    os.replace(root, old)  # rename(2) may replace an empty directory
    try:
        os.replace(tmp, root)
    except BaseException:
        os.replace(old, root)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return True


def generate_suite(
    out_dir: Union[str, os.PathLike], seed: int = 0, *, quiet: bool = False, **sizes: int
) -> SuiteInfo:
    """Generate (or reuse) the synthetic cls / VOC / ADE20K suite at ``out_dir``.

    Args:
        out_dir: Suite root. Must be absent, empty, or a suite written by this function.
        seed: Suite seed; the same seed and sizes give byte-identical files.
        quiet: Suppress the per-split progress lines.
        **sizes: Overrides of :data:`DEFAULT_SIZES`: ``num_classes``, ``cls_train_per_class``,
            ``cls_val_per_class``, ``cls_size``, ``det_train`` (split between VOC2007 and VOC2012
            trainval, 2007 taking the odd one), ``det_test`` (VOC2007 test), ``seg_train``,
            ``seg_val``, ``scene_size`` (longer side of detection / segmentation images).

    Returns:
        A :class:`SuiteInfo`; ``reused`` tells whether an identical suite was already there.

    Raises:
        ValueError: If the seed or a size is invalid or unknown.
        FileExistsError: If ``out_dir`` holds something that is not a suite of ours.
    """
    _validate(seed, sizes)
    sizes = {**DEFAULT_SIZES, **sizes}
    classes = get_classes(sizes['num_classes'])
    root = Path(out_dir).expanduser().absolute()
    digest = _args_hash(seed, sizes)
    if _is_reusable(root, digest):
        _log(quiet, f'reused {root} (seed={seed}, same arguments)')
        return _info(root, classes, reused=True)
    _check_target(root)

    start = time.perf_counter()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{root.name}.tmp-', dir=root.parent))
    try:
        _log(quiet, f'generating into {root} (seed={seed})')
        counts = _write_cls(tmp / 'cls', seed, classes, sizes, quiet)
        counts.update(_write_det(tmp / 'det' / 'VOCdevkit', seed, classes, sizes, quiet))
        counts.update(_write_seg(tmp / 'seg', seed, classes, sizes, quiet))
        marker = dict(
            generator='tricks_mm.datasets.synthetic',
            version=GENERATOR_VERSION,
            seed=seed,
            sizes=sizes,
            classes=list(classes),
            args_hash=digest,
            counts=counts,
        )
        writers.write_lines(tmp / MARKER_NAME, [json.dumps(marker, indent=2, sort_keys=True)])
        installed = _install(tmp, root, digest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if not installed:
        _log(quiet, f'reused {root} (written concurrently with the same arguments)')
        return _info(root, classes, reused=True)
    _log(quiet, f'done in {time.perf_counter() - start:.1f} s: {root}')
    return _info(root, classes, reused=False)
