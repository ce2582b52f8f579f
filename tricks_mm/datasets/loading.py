"""Image loading that names the file when an image cannot be read.

Why: mmcv's ``LoadImageFromFile`` (used by mmpretrain, mmdet and mmseg pipelines alike) reports
a bad image in three different ways, two of them without the file name:

============================  ====================================================================
input                         mmcv 2.1 ``LoadImageFromFile``
============================  ====================================================================
zero-byte file                ``cv2.error: (-215:Assertion failed) !buf.empty()`` (no file name)
corrupt / truncated JPEG      cv2: ``AssertionError: failed to load image: <path>`` (gone under
                              ``python -O``: ``img=None`` then crashes in a later transform);
                              pillow backend: ``OSError: image file is truncated`` (no file name)
grayscale / RGBA / 16-bit     converted to 3-channel uint8 BGR (``color_type='color'``): fine
============================  ====================================================================

:class:`BoTLoadImageFromFile` is a drop-in subclass: same arguments, same results (mmcv's own
``transform`` loads the image), but every failure is an :class:`ImageLoadError` naming the file,
its size and the reason, or, with ``on_error='skip'``, a logged and counted skip (the transform
returns ``None`` and mmengine's ``BaseDataset`` draws another training sample; mmengine refuses
``None`` at test time, so keep ``'raise'`` for val/test pipelines). ``tools/train.py`` swaps it
in for ``LoadImageFromFile``.

It also decodes with two libjpeg-turbo decoders mmcv does not offer (``imdecode_backend``):
``'torchvision'`` (``torchvision.io.decode_image``, always installed with torch) and
``'simplejpeg'`` (if installed), both returning the BGR uint8 array mmcv's ``'cv2'`` backend
returns (``color_type='color'`` only). Their speed and their pixel difference to OpenCV are
measured by ``benchmarks/data_pipeline.py`` (docs/benchmarks.md).
"""

import logging
from typing import Optional

import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from tricks_mm.registry import TRANSFORMS

_ON_ERROR = ('raise', 'skip')


def decode_torchvision(img_bytes: bytes) -> np.ndarray:
    """``torchvision.io.decode_image`` as an HWC BGR uint8 array (mmcv's ``'cv2'`` layout)."""
    import torch
    from torchvision.io import ImageReadMode, decode_image

    buf = torch.frombuffer(bytearray(img_bytes), dtype=torch.uint8)
    rgb = decode_image(buf, mode=ImageReadMode.RGB)  # (3, H, W)
    return np.ascontiguousarray(rgb.permute(1, 2, 0).numpy()[..., ::-1])


def decode_simplejpeg(img_bytes: bytes) -> np.ndarray:
    """``simplejpeg.decode_jpeg`` straight to BGR (JPEG only)."""
    import simplejpeg

    return simplejpeg.decode_jpeg(img_bytes, colorspace='BGR')


#: decoders of this module, by ``imdecode_backend`` name
DECODERS = {'torchvision': decode_torchvision, 'simplejpeg': decode_simplejpeg}


class ImageLoadError(ValueError):
    """An image file is missing, empty or cannot be decoded; the message names it."""


@TRANSFORMS.register_module()
class BoTLoadImageFromFile(LoadImageFromFile):
    """mmcv ``LoadImageFromFile`` whose failures name the file (see the module docstring).

    Args:
        on_error: ``'raise'`` (default) an :class:`ImageLoadError`, or ``'skip'`` the sample
            (logged with a running count). mmcv's ``ignore_empty=True`` means ``'skip'``.
        **kwargs: mmcv ``LoadImageFromFile`` arguments.
    """

    #: Images skipped in this process (each dataloader worker counts its own).
    skipped = 0

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        if on_error not in _ON_ERROR:
            raise ValueError(f'on_error must be one of {_ON_ERROR}, got {on_error!r}')
        super().__init__(**kwargs)
        self.on_error = 'skip' if self.ignore_empty else on_error
        if self.imdecode_backend in DECODERS and self.color_type != 'color':
            raise ValueError(
                f'imdecode_backend={self.imdecode_backend!r} decodes to 3-channel '
                f"colour only, got color_type={self.color_type!r}: use the 'cv2' "
                f'backend for it'
            )

    def _read_bytes(self, filename: str) -> bytes:
        if self.file_client_args is not None:
            client = fileio.FileClient.infer_client(self.file_client_args, filename)
            return client.get(filename)
        return fileio.get(filename, backend_args=self.backend_args)

    def _fail(self, filename: str, reason: str) -> None:
        message = (
            f'cannot load image {filename}: {reason}. Replace or remove the file (and its '
            f'entry in the split list / annotation file).'
        )
        if self.on_error == 'raise':
            raise ImageLoadError(message)
        type(self).skipped += 1
        print_log(
            f'{message} Skipped ({type(self).skipped} image(s) skipped in this process).',
            logger='current',
            level=logging.WARNING,
        )

    def transform(self, results: dict) -> Optional[dict]:
        """mmcv's ``transform``; a failure is diagnosed from the file and raised or skipped.

        With ``ignore_empty=True`` mmcv returns ``None`` on any failure; an image that is
        still ``None`` after decoding (the assertion mmcv uses is gone under ``python -O``)
        makes mmcv fail on ``img.shape``. Both end in :meth:`_fail` here.
        """
        filename = results['img_path']
        try:
            loaded = (
                self._decode_with(DECODERS[self.imdecode_backend], results)
                if self.imdecode_backend in DECODERS
                else super().transform(results)
            )
        except Exception as err:  # cv2 / PIL / the file backends raise a zoo of types
            loaded, error = None, err
        else:
            error = None
        if loaded is not None:
            return loaded
        self._fail(filename, self._diagnose(filename, error))
        return None

    def _decode_with(self, decode, results: dict) -> Optional[dict]:
        """mmcv's ``transform`` for a decoder mmcv's ``imfrombytes`` does not know: the same
        result keys, the bytes decoded by ``decode`` (``None`` when it gives no image)."""
        img = decode(self._read_bytes(results['img_path']))
        if img is None:
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results

    def _diagnose(self, filename: str, error: Optional[Exception]) -> str:
        """Why ``filename`` did not load: unreadable, empty, or bytes the decoder refused."""
        try:
            img_bytes = self._read_bytes(filename)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
            return f'{type(err).__name__}: {err}'
        if not img_bytes:
            return 'empty file (0 bytes)'
        detail = (
            f'{type(error).__name__}: {error}' if error is not None else 'corrupt or truncated file'
        )
        return f'{len(img_bytes)} bytes, {self.imdecode_backend} could not decode it ({detail})'

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", on_error='{self.on_error}')"
