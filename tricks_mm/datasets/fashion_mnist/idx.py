"""Read the idx files Fashion-MNIST ships (``train-images-idx3-ubyte.gz`` and friends).

Why our own reader rather than ``torchvision.datasets.mnist.read_image_file``: torchvision's
reads only the uncompressed file and checks it with ``assert`` (a bare ``AssertionError`` for a
bad file), while the files arrive gzipped (Debian, the Zalando mirror) and a truncated download
must stop with a message naming the file and the fix. The format is four lines of parsing: a
big-endian magic ``0x0000 TT NN`` (``TT`` = 0x08 for unsigned bytes, ``NN`` = the number of
dimensions), ``NN`` big-endian uint32 sizes, then the data. A test checks the result is
pixel-identical to torchvision's ``FashionMNIST`` on the same files.
"""

import gzip
import os
import zlib
from pathlib import Path
from typing import Union

import numpy as np

_UBYTE = 0x08


def _bad(path: Path, what: str) -> ValueError:
    return ValueError(
        f'{path} is not a valid Fashion-MNIST idx file: {what}. Delete it and fetch the file '
        'again (Debian: apt-get install --reinstall dataset-fashion-mnist; or a download: '
        'python -m tricks_mm.datasets.fashion_mnist --download-root DIR).'
    )


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f'Fashion-MNIST file {path} does not exist')
    if path.suffix != '.gz':
        return path.read_bytes()
    try:
        with gzip.open(path, 'rb') as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as exc:  # truncated or not gzip at all
        raise _bad(path, f'the gzip stream is damaged ({exc})') from exc


def read_idx(path: Union[str, os.PathLike]) -> np.ndarray:
    """Read an unsigned-byte idx file (plain or ``.gz``) into a uint8 array.

    Args:
        path: ``*-images-idx3-ubyte[.gz]`` (-> ``(N, 28, 28)``) or ``*-labels-idx1-ubyte[.gz]``
            (-> ``(N,)``).

    Returns:
        The array, C-contiguous, shaped as the header says.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the gzip stream, the header or the data length is wrong (the message names
            the file and how to fetch it again).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise _bad(path, 'the header does not start with the idx magic 0x0000')
    kind, ndim = data[2], data[3]
    if kind != _UBYTE or not 1 <= ndim <= 3:
        raise _bad(
            path, f'type 0x{kind:02x} with {ndim} dimensions, expected unsigned bytes (0x08)'
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _bad(path, f'{len(data)} bytes, shorter than its {header}-byte header')
    shape = tuple(int(v) for v in np.frombuffer(data, dtype='>u4', count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise _bad(path, f'{len(data)} bytes where a {shape} array needs {expected}')
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
