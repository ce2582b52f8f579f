"""A checkpoint save that dies half-way never corrupts the previous file."""

import errno
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

import tricks_mm  # noqa: F401  (installs the atomic backend)
from tricks_mm.engine import atomic_io


def test_failure_mid_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / 'latest.pth'
    save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, str(path))

    def dying_fsync(fd):
        raise KeyboardInterrupt('killed during save')

    monkeypatch.setattr(atomic_io.os, 'fsync', dying_fsync)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    torch.testing.assert_close(_load_checkpoint(str(path))['state_dict']['w'], torch.zeros(3))
    assert os.listdir(tmp_path) == ['latest.pth']


@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_modes_equal_those_of_open_under_the_umask(tmp_path, umask):
    """A new file gets 0o666 less the umask and a replaced file keeps its mode, as with open()."""
    old = os.umask(umask)
    try:
        with open(tmp_path / 'by_open', 'wb') as f:
            f.write(b'x')
        atomic_io.atomic_write_bytes(b'x', tmp_path / 'atomic')
        save_checkpoint({'w': torch.zeros(1)}, str(tmp_path / 'ckpt.pth'))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        assert modes == {n: 0o666 & ~umask for n in ('by_open', 'atomic', 'ckpt.pth')}

        os.chmod(tmp_path / 'atomic', 0o640)  # replacing keeps the existing file's mode
        atomic_io.atomic_write_bytes(b'y', tmp_path / 'atomic')
        assert stat.S_IMODE((tmp_path / 'atomic').stat().st_mode) == 0o640
        assert (tmp_path / 'atomic').read_bytes() == b'y'
    finally:
        os.umask(old)


def test_directory_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    path = tmp_path / 'latest.pth'
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        st = os.fstat(fd)
        synced.append((stat.S_ISDIR(st.st_mode), st.st_ino, path.exists()))
        real_fsync(fd)

    monkeypatch.setattr(atomic_io.os, 'fsync', recording_fsync)
    atomic_io.atomic_write_bytes(b'data', path)
    # first the file's bytes (before the rename), then the directory (after it)
    assert synced == [(False, synced[0][1], False), (True, tmp_path.stat().st_ino, True)]
    assert path.read_bytes() == b'data'


def test_a_directory_fsync_the_file_system_refuses_does_not_fail_the_written_file(
    tmp_path, monkeypatch
):
    """Some FUSE / network file systems answer EINVAL to fsync on a directory: the rename has
    happened, so the write succeeds."""
    path = tmp_path / 'latest.pth'
    real_fsync = os.fsync

    def refusing_fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, 'Invalid argument')
        real_fsync(fd)

    monkeypatch.setattr(atomic_io.os, 'fsync', refusing_fsync)
    atomic_io.atomic_write_bytes(b'data', path)
    assert path.read_bytes() == b'data'


_WRITER = r"""
import sys, torch
import tricks_mm
from mmengine.runner.checkpoint import save_checkpoint
path = sys.argv[1]
i = 0
while True:
    i += 1
    save_checkpoint({"state_dict": {"w": torch.full((2_000_000,), float(i))}, "i": i}, path)
    print(i, flush=True)
"""


@pytest.mark.slow
def test_kill_9_during_repeated_saves_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / 'ckpt.pth'
    script = tmp_path / 'writer.py'
    script.write_text(_WRITER)
    for delay in (0.05, 0.13, 0.31):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
        )
        line = proc.stdout.readline()
        while not line.strip().isdigit():  # skip mmengine's log lines
            line = proc.stdout.readline()
        assert line.strip() == '1'  # one complete save exists
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = _load_checkpoint(str(path))
        assert ckpt['state_dict']['w'].shape == (2_000_000,)
        assert float(ckpt['state_dict']['w'][0]) == ckpt['i']
