"""Atomic writes for every local file mmengine saves (checkpoints above all).

Why: mmengine's ``LocalBackend.put`` opens the final path and writes into it, so a process killed
during a checkpoint save leaves a truncated ``epoch_N.pth`` that ``--resume`` then picks up. Here
the bytes go to a temporary file in the same directory, are flushed and fsync'ed, and the file is
renamed over the target (``os.replace`` is atomic on POSIX): a reader sees the old file or the
complete new one, never a partial one. The directory is fsync'ed after the rename, so the rename
itself survives a crash.

The file gets the mode ``open(path, 'wb')`` would give it: ``0o666`` less the process umask for a
new file (the temporary file is created by ``os.open`` with that mode, so the kernel applies the
umask, instead of ``tempfile.mkstemp``'s owner-only ``0o600``), the existing file's mode when it
replaces one. A shared work directory on a cluster stays readable by the group, as it would
without tricks_mm.
"""

import os
import os.path as osp
import secrets
import stat
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend, register_backend


def _create_temp(directory: str, basename: str) -> str:
    """Create an empty, unique temp file next to the target with ``open()``'s mode; its path."""
    while True:
        path = osp.join(directory, f'.{basename}.{secrets.token_hex(6)}.tmp')
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path


def _fsync_directory(directory: str) -> None:
    """Persist the directory entry written by the rename. Best effort: where directories
    cannot be opened (Windows) or fsynced (some FUSE and network file systems answer EINVAL),
    the rename has already happened and is not undone by reporting a failed write."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` through a temp file + rename in the same directory."""
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    tmp_path = _create_temp(directory, osp.basename(filepath))
    try:
        if osp.exists(filepath):  # open('wb') on an existing file keeps its mode
            os.chmod(tmp_path, stat.S_IMODE(os.stat(filepath).st_mode))
        with open(tmp_path, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
        _fsync_directory(directory)
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
