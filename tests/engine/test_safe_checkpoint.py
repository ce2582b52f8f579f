"""Checkpoints load with weights_only=True and the allowlist; anything else is refused."""

import os
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

import tricks_mm  # noqa: F401  (installs the loader)
from tricks_mm.engine.safe_checkpoint import UnsafeCheckpointError, safe_torch_load


class _Payload:
    """Runs a shell command when unpickled: what a malicious checkpoint would carry."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def _runner_like_checkpoint() -> dict:
    """What mmengine 0.10.7's Runner writes: message hub with HistoryBuffers and numpy values."""
    import numpy as np

    hub = MessageHub.get_instance('test_safe_checkpoint')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/lr', np.float64(0.1))
    hub.update_info('iter', 3)
    hub.update_info('arr', np.arange(3, dtype=np.float32))
    return dict(
        meta=dict(epoch=1, iter=3, seed=0),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict(),
    )


def test_stock_mmengine_checkpoint_loads(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint(_runner_like_checkpoint(), path)
    loaded = _load_checkpoint(path, map_location='cpu')  # through mmengine's CheckpointLoader
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == 0.5
    assert buffer.mean() == 0.5
    torch.testing.assert_close(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['message_hub']['runtime_info']['arr'].tolist() == [0.0, 1.0, 2.0]


def test_foreign_pickled_object_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': _Payload(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError, match='allowlist') as err:
        _load_checkpoint(path, map_location='cpu')
    assert 'evil.pth' in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize('name', ['__init__', '__class__', 'statistics'])
def test_getattr_is_limited_to_history_buffer_statistics(tmp_path, name):
    """The getattr mmengine needs is not a general getattr."""

    class _Getattr:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, name))

    path = str(tmp_path / 'getattr.pth')
    torch.save({'x': _Getattr()}, path)
    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(path)


def test_refusal_is_an_unpickling_error(tmp_path):
    """Callers catching pickle.UnpicklingError (as torch users do) still catch the refusal."""
    path = str(tmp_path / 'evil.pth')
    torch.save({'x': _Payload(str(tmp_path / 'm'))}, path)
    with pytest.raises(pickle.UnpicklingError):
        safe_torch_load(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))
