"""Data preprocessors: the paper's colour augmentation on the batch, on the model's device."""

from tricks_mm.models.data_preprocessors.batch_color import BoTBatchColorJitter
from tricks_mm.models.data_preprocessors.preprocessor import BoTClsDataPreprocessor

__all__ = ['BoTBatchColorJitter', 'BoTClsDataPreprocessor']
