"""Shape geometry: each class is a family of outlines with random shape parameters.

A shape is a list of ``(polygon, fill)`` operations in unit coordinates (the shape fits the
``[-1, 1]`` square): ``fill=1`` paints, ``fill=0`` cuts a hole (ring, crescent). Intra-class
variation comes from the parameters (aspect, arm width, number of star points, ...), from
:func:`place` (scale, rotation, position) and from the texture, never from colour, so a classifier
has to learn shape.
"""

from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np

Outline = List[Tuple[np.ndarray, int]]

_SUBPIXEL_SHIFT = 4  # cv2.fillPoly fixed-point bits: smoother edges than integer vertices.


def _ellipse(rx: float, ry: float, cx: float = 0.0, cy: float = 0.0, n: int = 40) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _disc(rng: np.random.Generator) -> Outline:
    return [(_ellipse(1.0, rng.uniform(0.8, 1.0)), 1)]


def _square(rng: np.random.Generator) -> Outline:
    aspect = rng.uniform(0.8, 1.0)
    pts = np.array([[-1, -aspect], [1, -aspect], [1, aspect], [-1, aspect]], dtype=np.float64)
    return [(pts + rng.uniform(-0.06, 0.06, size=pts.shape), 1)]


def _triangle(rng: np.random.Generator) -> Outline:
    angles = np.deg2rad(np.array([-90.0, 30.0, 150.0]) + rng.uniform(-12, 12, size=3))
    radii = rng.uniform(0.85, 1.0, size=3)
    pts = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    return [(pts + [0.0, 0.15], 1)]  # recentre: the centroid sits below the circumcentre


def _ring(rng: np.random.Generator) -> Outline:
    ry = rng.uniform(0.85, 1.0)
    inner = rng.uniform(0.45, 0.65)
    return [(_ellipse(1.0, ry), 1), (_ellipse(inner, inner * ry), 0)]


def _cross(rng: np.random.Generator) -> Outline:
    t = rng.uniform(0.25, 0.42)  # half arm width
    a, b = rng.uniform(0.85, 1.0, size=2)  # half arm lengths
    pts = np.array(
        [
            [-t, -b],
            [t, -b],
            [t, -t],
            [a, -t],
            [a, t],
            [t, t],
            [t, b],
            [-t, b],
            [-t, t],
            [-a, t],
            [-a, -t],
            [-t, -t],
        ]
    )
    return [(pts, 1)]


def _star(rng: np.random.Generator) -> Outline:
    points = int(rng.integers(5, 7))
    inner = rng.uniform(0.38, 0.5)
    t = np.linspace(0.0, 2.0 * np.pi, 2 * points, endpoint=False) - np.pi / 2
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return [(np.stack([r * np.cos(t), r * np.sin(t)], axis=1), 1)]


def _crescent(rng: np.random.Generator) -> Outline:
    cut_r = rng.uniform(0.75, 0.9)
    offset = rng.uniform(0.4, 0.6)
    return [(_ellipse(1.0, 1.0), 1), (_ellipse(cut_r, cut_r, cx=offset, cy=-0.1 * offset), 0)]


def _arrow(rng: np.random.Generator) -> Outline:
    w = rng.uniform(0.15, 0.25)  # half shaft width
    head_len = rng.uniform(0.75, 0.95)
    head_w = rng.uniform(0.6, 0.8)
    x0 = 1.0 - head_len
    pts = np.array([[-1, -w], [x0, -w], [x0, -head_w], [1, 0], [x0, head_w], [x0, w], [-1, w]])
    return [(pts, 1)]


_OUTLINES: Dict[str, Callable[[np.random.Generator], Outline]] = {
    'disc': _disc,
    'square': _square,
    'triangle': _triangle,
    'ring': _ring,
    'cross': _cross,
    'star': _star,
    'crescent': _crescent,
    'arrow': _arrow,
}


def random_outline(name: str, rng: np.random.Generator) -> Outline:
    """Draw one instance's outline in unit coordinates.

    Args:
        name: A vocabulary name.
        rng: The instance's generator (consumed for the shape parameters).

    Returns:
        ``(polygon, fill)`` operations, polygons as ``(N, 2)`` float arrays.

    Raises:
        ValueError: If ``name`` is not a known shape.
    """
    try:
        return _OUTLINES[name](rng)
    except KeyError:
        raise ValueError(f'unknown shape {name!r}, expected one of {tuple(_OUTLINES)}') from None


def place(outline: Outline, center: Tuple[float, float], radius: float, angle: float) -> Outline:
    """Scale, rotate and translate a unit outline into pixel coordinates.

    Args:
        outline: Unit-coordinate operations from :func:`random_outline`.
        center: ``(x, y)`` pixel centre.
        radius: Pixel half-size (the unit square's half side).
        angle: Rotation in radians.

    Returns:
        The same operations in pixel coordinates.
    """
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]]) * radius
    return [(poly @ rot.T + np.asarray(center), fill) for poly, fill in outline]


def rasterize(
    outline: Outline, height: int, width: int, offset: Tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Rasterize pixel-coordinate operations into a boolean mask.

    Args:
        outline: Operations in pixel coordinates (from :func:`place`).
        height: Mask height.
        width: Mask width.
        offset: ``(x, y)`` added to every vertex, used to draw on a padded canvas so that the
            part of a truncated object outside the image is still counted.

    Returns:
        A ``(height, width)`` bool mask.
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    scale = 1 << _SUBPIXEL_SHIFT
    for poly, fill in outline:
        pts = np.round((poly + np.asarray(offset)) * scale).astype(np.int32)
        cv2.fillPoly(mask, [pts], int(fill), lineType=cv2.LINE_8, shift=_SUBPIXEL_SHIFT)
    return mask.astype(bool)
