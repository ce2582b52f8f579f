"""Atomic writes for every local file mmengine saves (checkpoints above all).

Why: mmengine's ``LocalBackend.put`` opens the final path and writes into it, so a process killed
during a checkpoint save leaves a truncated ``epoch_N.pth`` that ``--resume`` then picks up. Here
the bytes go to a temporary file in the same directory, are flushed and fsync'ed, and the file is
renamed over the target (``os.replace`` is atomic on POSIX): a reader sees the old file or the
complete new one, never a partial one.
"""

import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` through a temp file + rename in the same directory."""
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=directory
    )
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


def install_atomic_local_backend() -> None:
    """Register :class:`AtomicLocalBackend` as mmengine's backend for local paths."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
