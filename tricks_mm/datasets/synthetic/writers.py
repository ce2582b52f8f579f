"""On-disk layouts of the real datasets: ImageNet folders, Pascal VOC, ADE20K.

The point of writing the real formats (rather than a pickle) is that the host libraries' own
dataset classes (mmpretrain ``ImageNet``/``CustomDataset``, mmdet ``VOCDataset``, mmseg
``BaseSegDataset``) read the toy suite exactly as they would read the real data, so a toy config
differs from a paper-scale config only in ``data_root``, sizes and schedule.

Encoders are deterministic (fixed JPEG quality, fixed PNG compression, no timestamps), which is
what makes a suite byte-identical for a given seed.
"""

import os
from pathlib import Path
from typing import Iterable, Sequence, Tuple
from xml.sax.saxutils import escape

import cv2
import numpy as np

from .scenes import Scene

JPEG_QUALITY = 90
_PNG_COMPRESSION = 3


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _encode(ext: str, img: np.ndarray, params: Sequence[int]) -> bytes:
    ok, buf = cv2.imencode(ext, img, list(params))
    if not ok:
        raise RuntimeError(f'cv2.imencode({ext!r}) failed for an array of shape {img.shape}')
    return buf.tobytes()


def write_jpeg(path: Path, img: np.ndarray) -> None:
    """Write a BGR uint8 image as baseline JPEG at :data:`JPEG_QUALITY`."""
    _write(path, _encode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]))


def write_png(path: Path, img: np.ndarray) -> None:
    """Write an image (here: single-channel label maps) as PNG."""
    _write(path, _encode('.png', img, [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION]))


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write text lines with a trailing newline, as the real list files have."""
    _write(path, ''.join(f'{line}\n' for line in lines).encode())


# --- ImageNet -------------------------------------------------------------------------------


def write_imagenet_image(
    cls_root: Path, split: str, class_name: str, stem: str, img: np.ndarray
) -> str:
    """Write ``cls/<split>/<class_name>/<stem>.JPEG`` and return its path relative to the split.

    Args:
        cls_root: The ``cls`` directory.
        split: ``'train'`` or ``'val'``.
        class_name: Folder name (the class name; folder order is label order).
        stem: File stem.
        img: BGR uint8 image.

    Returns:
        ``'<class_name>/<stem>.JPEG'``, the form mmpretrain's ``meta/<split>.txt`` lists.
    """
    rel = f'{class_name}/{stem}.JPEG'
    write_jpeg(cls_root / split / rel, img)
    return rel


def write_imagenet_meta(cls_root: Path, split: str, entries: Sequence[Tuple[str, int]]) -> None:
    """Write ``cls/meta/<split>.txt`` with lines ``<class_name>/<file>.JPEG <label>``."""
    write_lines(cls_root / 'meta' / f'{split}.txt', (f'{rel} {label}' for rel, label in entries))


# --- Pascal VOC -----------------------------------------------------------------------------


def _voc_xml(year: str, image_id: str, scene: Scene, classes: Sequence[str]) -> str:
    h, w = scene.image.shape[:2]
    parts = [
        '<annotation>',
        f'\t<folder>{year}</folder>',
        f'\t<filename>{image_id}.jpg</filename>',
        '\t<source>',
        '\t\t<database>tricks_mm synthetic</database>',
        f'\t\t<annotation>{year} format</annotation>',
        '\t\t<image>synthetic</image>',
        '\t</source>',
        '\t<size>',
        f'\t\t<width>{w}</width>',
        f'\t\t<height>{h}</height>',
        '\t\t<depth>3</depth>',
        '\t</size>',
        '\t<segmented>0</segmented>',
    ]
    for obj in scene.objects:
        x0, y0, x1, y1 = obj.bbox
        parts += [
            '\t<object>',
            f'\t\t<name>{escape(classes[obj.label])}</name>',
            '\t\t<pose>Unspecified</pose>',
            f'\t\t<truncated>{int(obj.truncated)}</truncated>',
            f'\t\t<difficult>{int(obj.difficult)}</difficult>',
            '\t\t<bndbox>',
            # VOC pixel coordinates are 1-based and inclusive; mmdet subtracts 1 on reading.
            f'\t\t\t<xmin>{x0 + 1}</xmin>',
            f'\t\t\t<ymin>{y0 + 1}</ymin>',
            f'\t\t\t<xmax>{x1 + 1}</xmax>',
            f'\t\t\t<ymax>{y1 + 1}</ymax>',
            '\t\t</bndbox>',
            '\t</object>',
        ]
    parts.append('</annotation>')
    return '\n'.join(parts) + '\n'


def write_voc_scene(year_root: Path, image_id: str, scene: Scene, classes: Sequence[str]) -> None:
    """Write ``JPEGImages/<id>.jpg`` and ``Annotations/<id>.xml`` under a ``VOC<year>`` root.

    Args:
        year_root: ``.../VOCdevkit/VOC2007`` or ``.../VOC2012``.
        image_id: VOC image id (``000001``, ``2012_000001``).
        scene: The rendered scene.
        classes: Class names, indexed by ``SceneObject.label``.
    """
    write_jpeg(year_root / 'JPEGImages' / f'{image_id}.jpg', scene.image)
    xml = _voc_xml(year_root.name, image_id, scene, classes)
    _write(year_root / 'Annotations' / f'{image_id}.xml', xml.encode())


def write_voc_image_sets(year_root: Path, sets: Sequence[Tuple[str, Sequence[str]]]) -> None:
    """Write ``ImageSets/Main/<name>.txt`` files (one image id per line).

    Args:
        year_root: The ``VOC<year>`` directory.
        sets: ``(name, ids)`` pairs, e.g. ``('trainval', [...])``.
    """
    for name, ids in sets:
        write_lines(year_root / 'ImageSets' / 'Main' / f'{name}.txt', ids)
    os.makedirs(year_root / 'JPEGImages', exist_ok=True)
    os.makedirs(year_root / 'Annotations', exist_ok=True)


# --- ADE20K ---------------------------------------------------------------------------------


def write_ade_scene(seg_root: Path, subset: str, stem: str, scene: Scene) -> None:
    """Write ``images/<subset>/<stem>.jpg`` and ``annotations/<subset>/<stem>.png``.

    The label map keeps ADE20K's convention (0 = other, class ``k`` stored as ``k + 1``) so the
    host reads it with ``reduce_zero_label=True``, exactly as for ADEChallengeData2016.

    Args:
        seg_root: The ``seg`` directory.
        subset: ``'training'`` or ``'validation'``.
        stem: File stem, e.g. ``ADE_train_00000001``.
        scene: The rendered scene.
    """
    write_jpeg(seg_root / 'images' / subset / f'{stem}.jpg', scene.image)
    write_png(seg_root / 'annotations' / subset / f'{stem}.png', scene.label_map)
