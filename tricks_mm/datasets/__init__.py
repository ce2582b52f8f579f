"""Datasets of tricks_mm: the embedded synthetic suite (ImageNet / VOC / ADE20K formats)."""

from . import lighting, loading  # noqa: F401  (register BoTLighting, BoTLoadImageFromFile)
from .synthetic import CLASSES, PALETTE, SuiteInfo, generate_suite, get_classes, get_palette

__all__ = ['CLASSES', 'PALETTE', 'SuiteInfo', 'generate_suite', 'get_classes', 'get_palette']
