"""Deterministic synthetic stand-ins for ImageNet, Pascal VOC 07+12 and ADE20K.

One object vocabulary (shapes with random colour, texture, scale, rotation, on clutter) rendered
into classification crops and detection / segmentation scenes, written in the real on-disk formats
so the host libraries' dataset classes read them unchanged. See :mod:`.suite` for the layout and
``python -m tricks_mm.datasets.synthetic --help`` for the command line.

Host ``metainfo`` (the class names differ from VOC's and ADE20K's, so pass them explicitly)::

    from tricks_mm.datasets.synthetic import CLASSES, PALETTE
    metainfo = dict(classes=CLASSES, palette=PALETTE)
"""

from .scenes import Scene, SceneObject, render_crop, render_scene
from .seeding import item_rng
from .suite import (
    DEFAULT_SIZES,
    GENERATOR_VERSION,
    MARKER_NAME,
    SuiteInfo,
    generate_suite,
    suite_args,
)
from .vocabulary import CLASSES, PALETTE, VOCABULARY, get_classes, get_palette

__all__ = [
    'CLASSES',
    'PALETTE',
    'VOCABULARY',
    'DEFAULT_SIZES',
    'GENERATOR_VERSION',
    'MARKER_NAME',
    'Scene',
    'SceneObject',
    'SuiteInfo',
    'generate_suite',
    'get_classes',
    'get_palette',
    'item_rng',
    'render_crop',
    'render_scene',
    'suite_args',
]
