"""Scene composition: one renderer gives the image, boxes and masks of every task.

Detection and segmentation read the same kind of scene (the detection writer keeps the boxes, the
segmentation writer the label map), and classification crops are single-object scenes, so the
three tasks differ only in what is annotated, as in the paper's ImageNet -> VOC / ADE20K transfer.

Boxes follow Pascal VOC: they enclose the *visible* extent of an object (after occlusion by later
objects and truncation by the border), are stored here 0-based and inclusive, and an object is
``difficult`` when most of it is hidden or it is tiny.
"""

from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from .shapes import Outline, place, random_outline, rasterize
from .textures import clutter_background, object_fill, pick_colour

# VOC-style difficulty: an object is hard to recognise when under this visible fraction ...
DIFFICULT_VISIBLE_FRACTION = 0.45
# ... or when its visible box is this small (pixels, shorter side).
DIFFICULT_MIN_SIDE = 10
# Placement rejects a new object that would leave an existing one less visible than this, so
# every annotated object keeps enough of its shape to be named.
_MIN_VISIBLE_FRACTION = 0.3
_PLACEMENT_TRIES = 20


@dataclass
class SceneObject:
    """One annotated object.

    Attributes:
        label: Class index into the suite's ``classes``.
        bbox: Visible box ``(x0, y0, x1, y1)``, 0-based inclusive pixel indices.
        visible_fraction: Visible pixels over the full (unoccluded, untruncated) area.
        truncated: Whether part of the object lies outside the image.
        difficult: VOC ``difficult`` flag.
    """

    label: int
    bbox: Tuple[int, int, int, int]
    visible_fraction: float
    truncated: bool
    difficult: bool


@dataclass
class Scene:
    """A rendered image with its annotations.

    Attributes:
        image: ``(H, W, 3)`` uint8, BGR (cv2 order, as written to disk).
        label_map: ``(H, W)`` uint8, 0 = background, ``k + 1`` = class ``k`` (ADE20K style).
        objects: Annotated objects, in painting order (later ones occlude earlier ones).
    """

    image: np.ndarray
    label_map: np.ndarray
    objects: List[SceneObject] = field(default_factory=list)


@dataclass
class _Placed:
    label: int
    full_area: int
    truncated: bool
    mask: np.ndarray  # in-image mask before occlusion


def _paint(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Paint a textured object of random colour into ``img`` (in place) where ``mask`` is set."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    region = img[y0:y1, x0:x1]
    sub = mask[y0:y1, x0:x1]
    colour = pick_colour(region[sub], rng)
    region[sub] = object_fill(y1 - y0, x1 - x0, colour, rng)[sub]


def _rasterize_padded(outline: Outline, h: int, w: int, pad: int) -> Tuple[np.ndarray, int]:
    """Return the in-image mask and the full pixel area (off-image part included)."""
    padded = rasterize(outline, h + 2 * pad, w + 2 * pad, offset=(pad, pad))
    return padded[pad : pad + h, pad : pad + w], int(padded.sum())


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor-like finishing: slight blur and pixel noise, then quantise."""
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    img = img + rng.normal(0.0, rng.uniform(2.0, 6.0), size=img.shape).astype(np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _annotate(placed: Sequence[_Placed], label_map: np.ndarray) -> List[SceneObject]:
    objects = []
    covered = np.zeros(label_map.shape, dtype=bool)
    for p in reversed(placed):  # later objects occlude earlier ones
        visible = p.mask & ~covered
        covered |= p.mask
        ys, xs = np.nonzero(visible)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
        fraction = float(visible.sum()) / max(p.full_area, 1)
        side = min(bbox[2] - bbox[0], bbox[3] - bbox[1]) + 1
        difficult = fraction < DIFFICULT_VISIBLE_FRACTION or side < DIFFICULT_MIN_SIDE
        objects.append(SceneObject(p.label, bbox, round(fraction, 4), p.truncated, difficult))
    return objects[::-1]


def render_scene(
    rng: np.random.Generator, classes: Sequence[str], size: int, max_objects: int = 4
) -> Scene:
    """Render a multi-object scene for detection and segmentation.

    The image is ``size`` on its longer side and 75-100% of it on the other (VOC and ADE20K
    images are not square). Objects are 12-30% of ``size`` in half-size, may be truncated by the
    border, and occlude each other, each keeping at least 30% visible.

    Args:
        rng: The scene's generator.
        classes: Class names; labels are drawn uniformly from ``range(len(classes))``.
        size: Longer image side in pixels.
        max_objects: Upper bound on objects per scene (at least one is always placed).

    Returns:
        The rendered :class:`Scene`.
    """
    short = int(round(size * rng.uniform(0.75, 1.0)))
    h, w = (size, short) if rng.random() < 0.3 else (short, size)
    img = clutter_background(h, w, rng)
    label_map = np.zeros((h, w), dtype=np.uint8)
    pad = size  # enough to count the off-image part of any object
    placed: List[_Placed] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(classes)))
        outline = random_outline(classes[label], rng)
        for _ in range(_PLACEMENT_TRIES):
            radius = rng.uniform(0.12, 0.3) * size
            center = (rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h)
            pixels = place(outline, center, radius, rng.uniform(0, 2 * np.pi))
            inside, full = _rasterize_padded(pixels, h, w, pad)
            if full == 0 or inside.sum() < 0.6 * full:
                continue
            covered = np.zeros((h, w), dtype=bool)
            ok = True
            for p in reversed(placed):
                if (p.mask & ~covered & ~inside).sum() < _MIN_VISIBLE_FRACTION * p.full_area:
                    ok = False
                    break
                covered |= p.mask
            if ok:
                break
        else:
            if placed:
                continue  # crowded scene: skip this object rather than bury another one
            # Unlucky first object: a centred fallback guarantees a non-empty scene.
            pixels = place(outline, (w / 2, h / 2), 0.2 * size, rng.uniform(0, 2 * np.pi))
            inside, full = _rasterize_padded(pixels, h, w, pad)
        _paint(img, inside, rng)
        label_map[inside] = label + 1
        placed.append(_Placed(label, full, bool(inside.sum() < full), inside))
    return Scene(_finish(img, rng), label_map, _annotate(placed, label_map))


def render_crop(rng: np.random.Generator, class_name: str, size: int) -> np.ndarray:
    """Render a classification crop: one big, roughly centred object on clutter.

    Args:
        rng: The crop's generator.
        class_name: Vocabulary name of the object.
        size: Square side in pixels.

    Returns:
        ``(size, size, 3)`` uint8 BGR image.
    """
    img = clutter_background(size, size, rng)
    outline = random_outline(class_name, rng)
    center = tuple(size / 2 + rng.uniform(-0.1, 0.1, size=2) * size)
    pixels = place(outline, center, rng.uniform(0.28, 0.42) * size, rng.uniform(0, 2 * np.pi))
    _paint(img, _rasterize_padded(pixels, size, size, size)[0], rng)
    return _finish(img, rng)
