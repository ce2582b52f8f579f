"""Pixels: cluttered backgrounds and textured object fills.

Colours are drawn per instance and independently of the class, so colour carries no label
information; the only class-discriminative signal is the outline. Textures (stripes, dots, checker,
smooth noise, gradient) are likewise random per instance, which forces features that survive
appearance changes, the property a transferred backbone needs. Backgrounds are low-contrast clutter
(smooth colour noise, thin lines, irregular smudges) so that a detector cannot find objects by
"anything that is not flat".
"""

from typing import Tuple

import cv2
import numpy as np

TEXTURES: Tuple[str, ...] = ('stripes', 'dots', 'checker', 'noise', 'gradient')

_MIN_CONTRAST = 90.0  # L2 distance (0..441) between an object's colour and the local background


def smooth_noise(
    height: int, width: int, rng: np.random.Generator, cells: int, channels: int = 1
) -> np.ndarray:
    """Low-frequency noise in ``[-1, 1]``: a coarse random grid upsampled bicubically.

    Args:
        height: Output height.
        width: Output width.
        rng: Random generator.
        cells: Grid cells along the longer side (larger means finer blobs).
        channels: 1 for a ``(H, W)`` field, else ``(H, W, channels)``.

    Returns:
        A float32 field.
    """
    gh = max(2, round(cells * height / max(height, width)))
    gw = max(2, round(cells * width / max(height, width)))
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw, channels)).astype(np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(field, -1.0, 1.0).reshape(height, width, *(() if channels == 1 else (channels,)))


def clutter_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Render a low-contrast cluttered background.

    Args:
        height: Image height.
        width: Image width.
        rng: Random generator.

    Returns:
        A float32 ``(H, W, 3)`` image in ``[0, 255]``.
    """
    base = rng.uniform(40, 215, size=3)
    img = base + 28.0 * smooth_noise(height, width, rng, int(rng.integers(3, 7)), channels=3)
    img = np.ascontiguousarray(img, dtype=np.float32)
    size = max(height, width)
    # Irregular smudges, blurred so that they read as stains rather than as (class-like) shapes.
    layer = np.zeros_like(img)  # premultiplied colour, so blurring does not darken the rims
    alpha = np.zeros((height, width), dtype=np.float32)
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        n = int(rng.integers(9, 16))
        t = np.sort(rng.uniform(0, 2 * np.pi, size=n))
        r = rng.uniform(0.04, 0.18, size=n) * size
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1).astype(np.int32)
        a = float(rng.uniform(0.5, 0.9))
        cv2.fillPoly(layer, [pts], (a * (base + rng.uniform(-35, 35, size=3))).tolist())
        cv2.fillPoly(alpha, [pts], a)
    sigma = 0.025 * size
    layer = cv2.GaussianBlur(layer, (0, 0), sigma)
    alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)[..., None]
    img = img * (1.0 - alpha) + layer  # layer is premultiplied by alpha
    for _ in range(int(rng.integers(3, 9))):  # thin lines and strokes
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = (base + rng.uniform(-45, 45, size=3)).tolist()
        cv2.line(img, p0, p1, colour, int(rng.integers(1, 3)), lineType=cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 0.8)


def pick_colour(background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a random colour that stands out from ``background``'s mean.

    Rejection sampling keeps the object visible without making colour depend on the class.

    Args:
        background: The pixels the object will cover, ``(..., 3)``.
        rng: Random generator.

    Returns:
        A float ``(3,)`` colour.
    """
    mean = background.reshape(-1, 3).mean(axis=0)
    colour = rng.uniform(0, 255, size=3)
    for _ in range(20):
        if np.linalg.norm(colour - mean) >= _MIN_CONTRAST:
            break
        colour = rng.uniform(0, 255, size=3)
    else:  # pathological mid-grey background: push away from it
        colour = np.where(mean > 127, mean - 110, mean + 110)
    return colour


def object_fill(
    height: int, width: int, colour: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Render an object's textured fill for a ``(height, width)`` box.

    Args:
        height: Box height.
        width: Box width.
        colour: Primary colour from :func:`pick_colour`.
        rng: Random generator.

    Returns:
        A float32 ``(H, W, 3)`` patch.
    """
    kind = TEXTURES[int(rng.integers(len(TEXTURES)))]
    secondary = np.clip(
        colour + rng.choice([-1.0, 1.0], size=3) * rng.uniform(35, 80, size=3), 0, 255
    )
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = rng.uniform(0, np.pi)
    u = xx * np.cos(theta) + yy * np.sin(theta)
    v = -xx * np.sin(theta) + yy * np.cos(theta)
    period = rng.uniform(4.0, 9.0)
    if kind == 'stripes':
        w = (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    elif kind == 'dots':
        du = np.mod(u, period) - period / 2
        dv = np.mod(v, period) - period / 2
        w = (du * du + dv * dv < (0.3 * period) ** 2).astype(np.float32)
    elif kind == 'checker':
        w = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == 'noise':
        w = 0.5 + 0.5 * smooth_noise(height, width, rng, int(rng.integers(3, 7)))
    else:  # gradient
        w = (u - u.min()) / max(float(u.max() - u.min()), 1.0)
    patch = colour + w[..., None] * (secondary - colour)
    shade = 1.0 + 0.12 * smooth_noise(height, width, rng, 2)  # soft illumination
    return (patch * shade[..., None]).astype(np.float32)
