"""Downstream scenes ("the miniature's VOC and ADE20K") composed from Fashion-MNIST items.

A scene is a textured background (the synthetic suite's clutter,
:func:`tricks_mm.datasets.synthetic.textures.clutter_background`) with a few items pasted at
several scales. An item is a 28x28 grey Fashion-MNIST image resized to its scale; its
*silhouette* is the set of its non-background (non-zero) pixels after resizing, and only those
pixels are pasted, with the item's own grey values. Items never overlap (a placement that would
touch an earlier silhouette is redrawn), so every item is wholly visible: its VOC box is the
tight box of its silhouette and its ADE20K mask is the silhouette itself, with no occlusion or
truncation rules to get wrong. The image is not blurred or noised after pasting, so the pasted
pixels are exactly the item's.
"""

from typing import List, Sequence, Tuple

import cv2
import numpy as np

from ..synthetic.scenes import Scene, SceneObject
from ..synthetic.textures import clutter_background

#: Item side as a fraction of the scene side: "several scales", from about a third of the
#: native 28 px size in a 128-px scene to twice it.
SCALE_RANGE: Tuple[float, float] = (0.15, 0.45)
#: Items per scene (inclusive).
ITEMS_RANGE: Tuple[int, int] = (2, 5)
_PLACEMENT_TRIES = 30


def resize_item(item: np.ndarray, side: int) -> np.ndarray:
    """Resize a grey item to ``side`` x ``side`` (area averaging down, bilinear up)."""
    interpolation = cv2.INTER_AREA if side < item.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(item, (side, side), interpolation=interpolation)


def silhouette(item: np.ndarray) -> np.ndarray:
    """The item's non-background pixels: Fashion-MNIST backgrounds are exactly 0."""
    return item > 0


def compose_scene(
    rng: np.random.Generator,
    images: np.ndarray,
    labels: np.ndarray,
    item_ids: Sequence[int],
    size: int,
) -> Tuple[Scene, List[int]]:
    """Paste items into one ``size`` x ``size`` scene.

    Args:
        rng: the scene's generator.
        images: ``(N, 28, 28)`` uint8 items (the test split).
        labels: ``(N,)`` class indices.
        item_ids: the candidate items, in the order they are used; the scene takes a random
            count from :data:`ITEMS_RANGE` of them, front first (an item that finds no free
            place is skipped, but the first is always placed).
        size: scene side in pixels.

    Returns:
        The scene (BGR image, ADE20K-style label map with class ``k`` stored as ``k + 1``,
        one :class:`SceneObject` per item) and the ids of the items pasted, in object order.
    """
    if size < 32:
        raise ValueError(f'scene size must be >= 32 pixels, got {size}')
    image = np.clip(np.round(clutter_background(size, size, rng)), 0, 255).astype(np.uint8)
    label_map = np.zeros((size, size), dtype=np.uint8)
    objects: List[SceneObject] = []
    used: List[int] = []
    count = int(rng.integers(ITEMS_RANGE[0], ITEMS_RANGE[1] + 1))
    for item_id in list(item_ids)[:count]:
        for _ in range(_PLACEMENT_TRIES):
            side = max(4, int(round(size * rng.uniform(*SCALE_RANGE))))
            pixels = resize_item(images[item_id], side)
            mask = silhouette(pixels)
            y, x = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            if mask.any() and not (label_map[y : y + side, x : x + side][mask]).any():
                break
        else:
            continue  # a crowded scene: skip this item rather than overlap another
        region = image[y : y + side, x : x + side]
        region[mask] = pixels[mask][:, None]  # grey on all three channels
        label = int(labels[item_id])
        label_map[y : y + side, x : x + side][mask] = label + 1
        ys, xs = np.nonzero(mask)
        box = (x + int(xs.min()), y + int(ys.min()), x + int(xs.max()), y + int(ys.max()))
        objects.append(SceneObject(label, box, 1.0, truncated=False, difficult=False))
        used.append(int(item_id))
    if not objects:
        raise ValueError(f'no item could be placed in a {size}-px scene; use larger scenes')
    return Scene(image, label_map, objects), used
