"""Fashion-MNIST, the miniature's real images (docs/miniature.md).

Pretraining ("the miniature's ImageNet") uses the 60,000 training images in mmpretrain's format;
downstream ("its VOC and ADE20K") scenes are composed from test-split items only. Data
preparation: ``python -m tricks_mm.datasets.fashion_mnist --out data/fashion_mnist``.
"""

from .classes import CLASSES, PALETTE
from .compose import compose_scene, resize_item, silhouette
from .idx import read_idx
from .locate import DEBIAN_DIR, FILES, locate
from .prepare import (
    DEFAULT_SIZES,
    MARKER_NAME,
    MiniatureInfo,
    load_arrays,
    pasted_items,
    prepare,
    prepare_args,
)

__all__ = [
    'CLASSES',
    'DEBIAN_DIR',
    'DEFAULT_SIZES',
    'FILES',
    'MARKER_NAME',
    'PALETTE',
    'MiniatureInfo',
    'compose_scene',
    'load_arrays',
    'locate',
    'pasted_items',
    'prepare',
    'prepare_args',
    'read_idx',
    'resize_item',
    'silhouette',
]
