"""mmpretrain's classification data preprocessor with the paper's colour augmentation on the batch.

:class:`BoTClsDataPreprocessor` is ``ClsDataPreprocessor`` (same arguments, same results) plus
``batch_color``: in training it stacks the uint8 batch on the model's device, applies
:class:`~tricks_mm.models.data_preprocessors.batch_color.BoTBatchColorJitter` (colour jitter,
then PCA lighting, each sample its own factors) and hands the float batch to the host, which
converts BGR to RGB, normalises and runs its batch augments (mixup) as always. Validation and
test batches pass untouched. Why the batch and not the workers: see
:mod:`~tricks_mm.models.data_preprocessors.batch_color`.
"""

from typing import Optional

import torch
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

from tricks_mm.models.data_preprocessors.batch_color import BoTBatchColorJitter
from tricks_mm.registry import MODELS


@MODELS.register_module()
class BoTClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` with an optional batch colour stage (see the module docstring).

    Args:
        batch_color: ``BoTBatchColorJitter`` arguments (``jitter``, ``lighting``), or ``None``
            for the host's behaviour. The stage works in the channel order the images arrive in:
            BGR when ``to_rgb=True`` (mmcv-loaded), else RGB.
        **kwargs: ``ClsDataPreprocessor`` arguments.
    """

    def __init__(self, batch_color: Optional[dict] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.batch_color: Optional[BoTBatchColorJitter] = None
        if batch_color is not None:
            if 'channel_order' in batch_color:
                raise ValueError(
                    'batch_color takes no channel_order: it follows to_rgb (BGR '
                    'inputs when to_rgb=True, RGB otherwise)'
                )
            order = 'bgr' if self.to_rgb else 'rgb'
            self.batch_color = BoTBatchColorJitter(**batch_color, channel_order=order)

    def forward(self, data: dict, training: bool = False) -> dict:
        if training and self.batch_color is not None:
            inputs = self.cast_data(data['inputs'])
            if isinstance(inputs, (list, tuple)):
                shapes = {tuple(i.shape) for i in inputs}
                if len(shapes) != 1:
                    raise ValueError(
                        f'batch_color needs images of one size, got {sorted(shapes)}: '
                        f'end the training pipeline with a fixed-size crop'
                    )
                inputs = torch.stack(list(inputs))
            data = dict(data, inputs=self.batch_color(inputs))
        return super().forward(data, training)
