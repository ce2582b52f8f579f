"""Remote checkpoint schemes fail fast and clearly without network, use the hub cache when the
file is there, and download (bounded) when the host answers. No test touches the internet: the
"network" is a local HTTP server, a closed port or a patched connect."""

import http.server
import os
import socket
import threading
from contextlib import contextmanager

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint
from torch import nn

from tricks_mm.engine import offline
from tricks_mm.engine.offline import (
    OFFLINE_ENV,
    OfflineCheckpointError,
    hub_cache_path,
    install_offline_guard,
)


@pytest.fixture(autouse=True)
def guard(tmp_path, monkeypatch):
    """Install the guard with short timeouts, a private hub dir, and restore mmengine after."""
    schemes = dict(CheckpointLoader._schemes)
    settings = dict(offline._settings)
    hub_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    monkeypatch.delenv(OFFLINE_ENV, raising=False)
    for var in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(var, raising=False)
    install_offline_guard(probe_timeout=0.5, read_timeout=0.5)
    yield tmp_path / 'hub' / 'checkpoints'
    torch.hub.set_dir(hub_dir)
    CheckpointLoader._schemes = type(CheckpointLoader._schemes)(schemes)
    offline._settings.update(settings)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextmanager
def _serve(directory):
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(directory), **k
    )
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()


def test_schemes_are_registered():
    for prefix in (
        'http://',
        'https://',
        'torchvision://',
        'modelzoo://',
        'open-mmlab://',
        'openmmlab://',
        'mmcls://',
    ):
        assert CheckpointLoader._schemes[prefix].__module__ == 'tricks_mm.engine.offline', prefix
    assert CheckpointLoader._schemes['pavi://'].__name__ == 'load_from_private_storage'


def test_cache_hit_needs_no_network(guard, monkeypatch):
    url = 'https://download.example.invalid/models/tiny-0123abcd.pth'
    cache = hub_cache_path(url)
    assert cache == str(guard / 'tiny-0123abcd.pth')
    os.makedirs(guard)
    torch.save({'w': torch.arange(3.0)}, cache)

    def no_network(*args, **kwargs):
        raise AssertionError('the network was touched')

    monkeypatch.setattr(socket, 'create_connection', no_network)
    loaded = CheckpointLoader.load_checkpoint(url)
    torch.testing.assert_close(loaded['w'], torch.arange(3.0))


def _connects(monkeypatch, connect=None) -> list:
    """Record the (address, timeout) of every socket.create_connection; refuse any download."""
    calls = []
    real = socket.create_connection

    def spy(address, timeout=None, *args, **kwargs):
        calls.append((address, timeout))
        return (connect or real)(address, timeout, *args, **kwargs)

    def no_download(*args, **kwargs):
        raise AssertionError('a download was attempted')

    monkeypatch.setattr(socket, 'create_connection', spy)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_download)
    return calls


def test_closed_port_fails_fast_naming_url_and_cache(guard, monkeypatch):
    """One connect, bounded by the probe timeout, then the error: no download is attempted."""
    port = _free_port()
    url = f'http://127.0.0.1:{port}/models/r18.pth'
    calls = _connects(monkeypatch)
    with pytest.raises(OfflineCheckpointError) as info:
        CheckpointLoader.load_checkpoint(url)
    assert calls == [(('127.0.0.1', port), 0.5)]
    msg = str(info.value)
    assert isinstance(info.value, ConnectionError)
    assert f'cannot download {url}: no network' in msg
    assert str(guard / 'r18.pth') in msg and 'init_cfg.checkpoint' in msg
    assert not (guard / 'r18.pth').exists()


def test_unanswered_connect_is_bounded(monkeypatch):
    """A black-holed host (DNS or SYN never answered) costs probe_timeout, not minutes: the
    connect that never returns is abandoned after the probe's bounded wait, and nothing else
    touches the network."""
    released = threading.Event()

    def black_hole(address, timeout=None, *args, **kwargs):
        released.wait()  # never answers while the loader waits
        raise OSError('released')

    calls = _connects(monkeypatch, black_hole)
    try:
        with pytest.raises(
            OfflineCheckpointError, match='no answer from download.openmmlab.com:443 within 0.5 s'
        ):
            CheckpointLoader.load_checkpoint('https://download.openmmlab.com/x/y.pth')
        assert calls == [(('download.openmmlab.com', 443), 0.5)]
    finally:
        released.set()


@pytest.mark.parametrize(
    'name,url_part',
    [
        ('torchvision://resnet18', 'download.pytorch.org/models/resnet18-'),
        ('modelzoo://resnet18', 'download.pytorch.org/models/resnet18-'),
        ('open-mmlab://resnet50_v1c', 'download.openmmlab.com/pretrain/third_party/resnet50_v1c-'),
        ('mmcls://vgg11', 'download.openmmlab.com/mmclassification/v0/vgg/vgg11_'),
    ],
)
def test_model_zoo_schemes_resolve_then_fail_fast(guard, monkeypatch, name, url_part):
    monkeypatch.setenv(OFFLINE_ENV, '1')
    model = nn.Linear(1, 1)
    with pytest.raises(OfflineCheckpointError) as info:
        load_checkpoint(model, name)  # mmengine's public entry (init_cfg=Pretrained uses it)
    msg = str(info.value)
    assert url_part in msg and f'{OFFLINE_ENV} is set' in msg and str(guard) in msg


def test_unknown_model_name_suggests():
    with pytest.raises(KeyError, match='did you mean torchvision://resnet50'):
        CheckpointLoader.load_checkpoint('torchvision://resnet5O')


def test_private_storage_offline(monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, 'true')
    with pytest.raises(OfflineCheckpointError, match='cannot fetch pavi://a/b.pth'):
        CheckpointLoader.load_checkpoint('pavi://a/b.pth')


def test_download_then_cache(guard, tmp_path):
    served = tmp_path / 'www'
    served.mkdir()
    torch.save({'state_dict': {'weight': torch.ones(2)}}, served / 'm.pth')
    with _serve(served) as base:
        url = f'{base}/m.pth'
        loaded = CheckpointLoader.load_checkpoint(url)
    torch.testing.assert_close(loaded['state_dict']['weight'], torch.ones(2))
    assert (guard / 'm.pth').is_file()
    # server gone: the cached copy is used
    again = CheckpointLoader.load_checkpoint(url)
    torch.testing.assert_close(again['state_dict']['weight'], torch.ones(2))


def test_stalled_download_times_out(guard, monkeypatch):
    """The host accepts the connection but never answers: the read timeout ends it."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(4)
    url = f'http://127.0.0.1:{listener.getsockname()[1]}/slow.pth'
    seen = []
    real = torch.hub.download_url_to_file

    def download(*args, **kwargs):
        seen.append(socket.getdefaulttimeout())  # the per-read bound every new socket gets
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    try:
        with pytest.raises(OfflineCheckpointError, match='the download failed .*timed out'):
            CheckpointLoader.load_checkpoint(url)
    finally:
        listener.close()
    assert seen == [0.5]
    assert not (guard / 'slow.pth').exists()
    assert socket.getdefaulttimeout() is None  # restored


def test_timeouts_validated():
    with pytest.raises(ValueError, match='probe_timeout=0'):
        install_offline_guard(probe_timeout=0)
