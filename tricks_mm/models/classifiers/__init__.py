"""Classifiers: the distillation student with its frozen teacher (Sec. 5.3)."""

from tricks_mm.models.classifiers.distill_classifier import BoTDistillClassifier, build_teacher

__all__ = ['BoTDistillClassifier', 'build_teacher']
