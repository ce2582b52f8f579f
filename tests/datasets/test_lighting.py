"""BoTLighting = AlexNet PCA lighting, clipped to the uint8 range instead of wrapping."""

import numpy as np

from tricks_mm.datasets.lighting import BoTLighting

EIGVAL = [55.4625, 4.7940, 1.1475]
EIGVEC = [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]]


def test_matches_the_pca_formula_and_clips():
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2] = 255
    img[2:] = 3
    np.random.seed(0)
    out = BoTLighting(eigval=EIGVAL, eigvec=EIGVEC, alphastd=0.1)(dict(img=img.copy()))['img']
    np.random.seed(0)
    alpha = np.random.normal(0, 0.1, 3)
    shift = np.asarray(EIGVEC) @ (alpha * np.asarray(EIGVAL))  # AlexNet: V (alpha * lambda)
    want = np.clip(img.astype(np.float64) + shift, 0, 255).astype(np.uint8)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, want)
    assert out[:2].min() >= 255 - int(np.ceil(np.abs(shift).max()))  # no wrap to ~0
    assert out[2:].max() <= 3 + int(np.ceil(np.abs(shift).max()))  # no wrap to ~255


def test_mmpretrain_lighting_wraps_where_ours_clips():
    """The bug this class exists for (mmpretrain 1.2.0 casts without clipping)."""
    from mmpretrain.datasets.transforms import Lighting

    img = np.full((2, 2, 3), 1, np.uint8)
    stock_max, ours_max = [], []
    for seed in range(5):
        np.random.seed(seed)
        stock = Lighting(eigval=EIGVAL, eigvec=EIGVEC, alphastd=0.5)(dict(img=img.copy()))
        np.random.seed(seed)
        ours = BoTLighting(eigval=EIGVAL, eigvec=EIGVEC, alphastd=0.5)(dict(img=img.copy()))
        stock_max.append(int(stock['img'].max()))
        ours_max.append(int(ours['img'].max()))
    assert max(stock_max) > 200  # a near-black image turned bright: wrapped around
    assert max(ours_max) < 128  # stays dark
