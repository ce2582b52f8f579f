"""Run a model in the ``torch.channels_last`` (NHWC) memory format, which mmengine cannot express.

Why: convolutions under AMP on tensor-core GPUs are fastest in NHWC; cuDNN otherwise transposes
every activation (timm's tables: about 1.45x for ResNet-50 under AMP on an RTX 3090). mmengine,
mmpretrain, mmdet and mmseg have no switch for it: the Runner never changes the memory format
of the model, and the data preprocessors stack batches as contiguous NCHW tensors, so a
channels_last model would convert its input at the first convolution of every step.

Use it from any host config::

    custom_hooks = [dict(type='tricks_mm.BoTChannelsLastHook')]

The numbers are those of NCHW within floating-point tolerance (different convolution kernels
sum in a different order); only the layout of 4-D weights and activations changes.
"""

from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn
from torch.utils.hooks import RemovableHandle

from tricks_mm.registry import HOOKS


def to_channels_last(value: Any) -> Any:
    """``value`` with every 4-D tensor in it (a tensor, list or tuple) made channels_last.

    Other tensors (3-D single images, label maps) are returned unchanged: channels_last is only
    defined for 4-D tensors.
    """
    if isinstance(value, torch.Tensor):
        return value.contiguous(memory_format=torch.channels_last) if value.dim() == 4 else value
    if isinstance(value, (list, tuple)):
        return type(value)(to_channels_last(v) for v in value)
    return value


def _inputs_to_channels_last(module: nn.Module, args: Any, output: Any) -> Any:
    """Forward hook of a data preprocessor: return its output with ``inputs`` channels_last.

    mmengine data preprocessors return ``dict(inputs=..., data_samples=...)``; a new dict is
    returned so nothing the preprocessor keeps is modified.
    """
    if isinstance(output, dict) and 'inputs' in output:
        return {**output, 'inputs': to_channels_last(output['inputs'])}
    return output


@HOOKS.register_module()
class BoTChannelsLastHook(Hook):
    """Convert the model and the preprocessed batches to ``torch.channels_last``.

    - ``before_train`` / ``before_val`` / ``before_test``: ``model.to(memory_format=
      channels_last)``. Not in ``before_run``: weight initialisation and ``load_from`` / resume
      happen after ``before_run`` in ``Runner.train``; converting here comes after them (they
      copy in place, so the order is not required for correctness, but it is the last point
      before the first step). Parameters are converted in place (``param.data``), so the
      optimizer built earlier still holds the same parameter objects. Converting an already
      channels_last model is a no-op, so the repeated calls of a train-with-validation run cost
      nothing.
    - ``before_run``: register, once, a forward hook on the model's ``data_preprocessor`` that
      returns its output with 4-D ``inputs`` made channels_last; ``after_run`` removes it. Why a
      forward hook on the preprocessor rather than a changed ``forward``: every host
      (mmpretrain, mmdet, mmseg) builds its batch there and calls it through ``__call__`` in
      ``train_step`` / ``val_step`` / ``test_step``; batch augments (mixup) have already run, so
      the teacher of a distillation classifier sees the same NHWC tensor; and nothing is
      replaced on the object or mutated during ``forward``: the PyTorch hook is registered once
      per run and removed with its handle.

    With DistributedDataParallel, the gradient buckets are laid out when the wrapper is built
    (before any hook runs), so NHWC gradients are copied into NCHW buckets: still correct, but
    convert the model before wrapping (``model.to(memory_format=torch.channels_last)``) for the
    best speed in multi-GPU runs.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._handle: Optional[RemovableHandle] = None

    @staticmethod
    def _model(runner: Any) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_run(self, runner: Any) -> None:
        """Make the data preprocessor's 4-D outputs channels_last (registered once per run)."""
        if self._handle is not None:
            return
        preprocessor = getattr(self._model(runner), 'data_preprocessor', None)
        if not isinstance(preprocessor, nn.Module):
            raise ValueError(
                'BoTChannelsLastHook needs a model with a `data_preprocessor` module (an '
                f'mmengine BaseModel), got {type(self._model(runner)).__name__} with '
                f'data_preprocessor={preprocessor!r:.100}'
            )
        self._handle = preprocessor.register_forward_hook(_inputs_to_channels_last)

    def after_run(self, runner: Any) -> None:
        """Remove the preprocessor hook, leaving the model as the run found it (but NHWC)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _convert(self, runner: Any) -> None:
        self._model(runner).to(memory_format=torch.channels_last)

    def before_train(self, runner: Any) -> None:
        """Convert the model after weight initialisation and checkpoint loading."""
        self._convert(runner)

    def before_val(self, runner: Any) -> None:
        """Convert the model (a no-op when training already did)."""
        self._convert(runner)

    def before_test(self, runner: Any) -> None:
        """Convert the model (``Runner.test`` has no train phase before it)."""
        self._convert(runner)
