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
            for the host's behaviour. The stage works in the channel order the images arrive in
            (``input_order``): the jitter's luma and hue weights and the lighting's eigenvectors
            are per channel.
        input_order: ``'BGR'`` or ``'RGB'``, the channel order the loading pipeline delivers
            (mmcv's ``LoadImageFromFile`` and tricks_mm's loader: ``'BGR'``). Required with
            ``batch_color``: it cannot be told from ``to_rgb``, which only says whether the host
            swaps the channels (``to_rgb=False`` on BGR images feeds the network BGR).
        **kwargs: ``ClsDataPreprocessor`` arguments.

    Raises:
        ValueError: ``batch_color`` without ``input_order``, an order other than BGR/RGB, or
            ``to_rgb=True`` on RGB input (the host would swap it to BGR).
    """

    def __init__(
        self, batch_color: Optional[dict] = None, input_order: Optional[str] = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if input_order is not None and input_order not in ('BGR', 'RGB'):
            raise ValueError(f"input_order must be 'BGR' or 'RGB', got {input_order!r}")
        if input_order == 'RGB' and self.to_rgb:
            raise ValueError(
                "input_order='RGB' with to_rgb=True: the host would swap RGB input to BGR; "
                "set to_rgb=False for RGB-loading pipelines (or input_order='BGR' for mmcv's)"
            )
        self.input_order = input_order
        self.batch_color: Optional[BoTBatchColorJitter] = None
        if batch_color is not None:
            if 'channel_order' in batch_color:
                raise ValueError(
                    "batch_color takes no channel_order: set the preprocessor's input_order "
                    "(the order the loading pipeline delivers, 'BGR' for mmcv)"
                )
            if input_order is None:
                raise ValueError(
                    'batch_color needs input_order, the channel order the loading pipeline '
                    "delivers ('BGR' for mmcv's LoadImageFromFile): to_rgb="
                    f'{self.to_rgb} only says whether the host swaps channels, not which ones '
                    'the jitter and lighting see'
                )
            self.batch_color = BoTBatchColorJitter(**batch_color, channel_order=input_order.lower())

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
