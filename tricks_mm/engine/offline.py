"""Remote checkpoints (``https://``, ``torchvision://``, ``open-mmlab://``, ``mmcls://``, ...) fail
fast and clearly when they cannot be downloaded, instead of hanging.

Why: mmengine's loaders for these schemes end in ``torch.hub.load_state_dict_from_url``, which
opens the URL without a timeout: on a machine without network a run stalls in DNS or TCP connect
(minutes, or forever behind a black-holing firewall) before it fails with a bare ``URLError``,
and a stalled download never fails at all. The URL schemes also resolve to ``load_from_http`` by
module-global name, so re-registering ``https://`` alone would not reach ``torchvision://``.

:func:`install_offline_guard` re-registers every remote scheme of mmengine's
``CheckpointLoader`` (``force=True``) with loaders that:

1. resolve the scheme to a URL exactly as mmengine does (same model-zoo tables);
2. load the file from the torch hub cache (``<torch.hub.get_dir()>/checkpoints/<basename>``,
   where mmengine's own loader caches it) when it is there: no network at all;
3. otherwise probe the host (or the configured HTTP(S) proxy) with a TCP connect bounded by
   ``timeout`` seconds (DNS included) and raise :class:`OfflineCheckpointError` (a
   ``ConnectionError``) naming the URL, the reason and the cache path to put the file at;
4. download with a per-read socket timeout (a stalled transfer fails instead of hanging), rank 0
   first under DDP as mmengine does, then load through tricks_mm's ``weights_only=True``
   allowlist (:func:`tricks_mm.engine.safe_checkpoint.safe_torch_load`; torch.hub would
   unpickle the download with ``weights_only=False``).

``TRICKS_MM_OFFLINE=1`` skips the probe: anything not cached fails at once. ``pavi://`` and
``s3://``/``petrel://`` (private OpenMMLab storage) only get that switch.
"""

import difflib
import os
import os.path as osp
import socket
import threading
import urllib.request
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import urlparse

import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader

from tricks_mm.engine.safe_checkpoint import safe_load_from_local, safe_torch_load

OFFLINE_ENV = 'TRICKS_MM_OFFLINE'
#: Seconds allowed for DNS + TCP connect of the reachability probe.
DEFAULT_PROBE_TIMEOUT = 3.0
#: Seconds a single read of a download may stall.
DEFAULT_READ_TIMEOUT = 60.0

_settings = dict(probe_timeout=DEFAULT_PROBE_TIMEOUT, read_timeout=DEFAULT_READ_TIMEOUT)
_ORIGINAL: Dict[str, Callable] = {}


class OfflineCheckpointError(ConnectionError):
    """A remote checkpoint is not in the local cache and cannot be downloaded now."""


def is_offline() -> bool:
    """True when ``TRICKS_MM_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get(OFFLINE_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def hub_cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where ``torch.hub`` (and so mmengine's ``load_from_http``) caches ``url``."""
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, osp.basename(urlparse(url).path))


def _endpoint(url: str) -> Tuple[str, int, str]:
    """(host, port, description) a download of ``url`` connects to, honouring proxies."""
    parts = urlparse(url)
    host = parts.hostname or ''
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urlparse(proxy if '://' in proxy else f'http://{proxy}')
        return (
            proxy_parts.hostname or '',
            proxy_parts.port or 80,
            f'proxy {proxy_parts.hostname}:{proxy_parts.port or 80}',
        )
    return host, port, f'{host}:{port}'


def probe(url: str, timeout: float) -> Optional[str]:
    """None when a TCP connection to ``url``'s host (or proxy) opens within ``timeout`` seconds,
    else the reason. DNS is inside the bound: the connect runs in a daemon thread."""
    host, port, where = _endpoint(url)
    outcome: Dict[str, Optional[str]] = {}

    def _connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome['reason'] = None
        except OSError as err:
            outcome['reason'] = f'cannot connect to {where}: {err}'

    worker = threading.Thread(target=_connect, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return f'no answer from {where} within {timeout:g} s'
    return outcome['reason']


def _unavailable(
    url: str, cache_path: str, reason: str, cause: str = 'no network'
) -> OfflineCheckpointError:
    return OfflineCheckpointError(
        f'cannot download {url}: {cause} ({reason}). It is not in the local cache either: '
        f'put the file at {cache_path} (e.g. copy it from a machine with network), or point '
        f'init_cfg.checkpoint / load_from at a local file.'
    )


def _download(url: str, cache_path: str) -> None:
    os.makedirs(osp.dirname(cache_path), exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_settings['read_timeout'])
    try:
        # writes a temporary file and moves it into place: no partial file at cache_path
        torch.hub.download_url_to_file(url, cache_path, progress=False)
    except (OSError, ValueError) as err:  # URLError, timeouts and HTTP errors are OSErrors
        raise _unavailable(
            url, cache_path, f'{type(err).__name__}: {err}', cause='the download failed'
        ) from err
    finally:
        socket.setdefaulttimeout(previous)


def _fetch(url: str, model_dir: Optional[str]) -> str:
    """The local path of ``url``: the hub cache, after downloading it if needed."""
    cache_path = hub_cache_path(url, model_dir)
    if osp.isfile(cache_path):
        return cache_path
    if is_offline():
        raise _unavailable(url, cache_path, f'{OFFLINE_ENV} is set', cause='offline mode')
    reason = probe(url, _settings['probe_timeout'])
    if reason is not None:
        raise _unavailable(url, cache_path, reason)
    _download(url, cache_path)
    return cache_path


def load_from_http(filename: str, map_location: Any = None, model_dir: Optional[str] = None) -> Any:
    """``http(s)://`` loader: hub cache first, then a bounded download (rank 0 first)."""
    rank, world_size = get_dist_info()
    path = None
    if rank == 0:
        path = _fetch(filename, model_dir)
    if world_size > 1:
        barrier()
        if rank > 0:
            path = _fetch(filename, model_dir)
    return safe_torch_load(path, map_location=map_location)


def _lookup(table: Dict[str, str], name: str, scheme: str) -> str:
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=3)
    raise KeyError(
        f'{scheme}{name} is not a known checkpoint name'
        + (f'; did you mean {", ".join(scheme + c for c in close)}?' if close else '')
    )


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """``torchvision://NAME`` (and the deprecated ``modelzoo://NAME``)."""
    scheme = 'modelzoo://' if filename.startswith('modelzoo://') else 'torchvision://'
    url = _lookup(mm_ckpt.get_torchvision_models(), filename[len(scheme) :], scheme)
    return load_from_http(url, map_location=map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``: a URL or a file under the mmengine home."""
    scheme = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    name = filename[len(scheme) :]
    name = mm_ckpt.get_deprecated_model_names().get(name, name)
    target = _lookup(mm_ckpt.get_external_models(), name, scheme)
    if target.startswith(('http://', 'https://')):
        return load_from_http(target, map_location=map_location)
    return safe_load_from_local(osp.join(mm_ckpt._get_mmengine_home(), target), map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """``mmcls://NAME``, converted as mmengine does."""
    url = _lookup(mm_ckpt.get_mmcls_models(), filename[len('mmcls://') :], 'mmcls://')
    return mm_ckpt._process_mmcls_checkpoint(load_from_http(url, map_location=map_location))


def _offline_switch(prefix: str) -> Callable:
    original = _ORIGINAL.setdefault(prefix, CheckpointLoader._schemes[prefix])

    def load_from_private_storage(filename: str, map_location: Any = None) -> Any:
        if is_offline():
            raise OfflineCheckpointError(
                f'cannot fetch {filename}: {OFFLINE_ENV} is set. Point init_cfg.checkpoint / '
                f'load_from at a local file.'
            )
        return original(filename, map_location)

    return load_from_private_storage


def install_offline_guard(
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT, read_timeout: float = DEFAULT_READ_TIMEOUT
) -> None:
    """Register the fail-fast loaders for every remote scheme of mmengine's CheckpointLoader.

    Args:
        probe_timeout: Seconds for DNS + TCP connect before declaring the network unreachable.
        read_timeout: Seconds a download may stall on one read.
    """
    if not probe_timeout > 0 or not read_timeout > 0:
        raise ValueError(
            f'timeouts must be > 0, got probe_timeout={probe_timeout!r}, '
            f'read_timeout={read_timeout!r}'
        )
    _settings.update(probe_timeout=float(probe_timeout), read_timeout=float(read_timeout))
    register = CheckpointLoader.register_scheme
    register(('http://', 'https://'), load_from_http, force=True)
    register(('modelzoo://', 'torchvision://'), load_from_torchvision, force=True)
    register(('open-mmlab://', 'openmmlab://'), load_from_openmmlab, force=True)
    register('mmcls://', load_from_mmcls, force=True)
    for prefix in ('pavi://', r'(\S+\:)?s3://', r'(\S+\:)?petrel://'):
        if prefix in CheckpointLoader._schemes:
            register(prefix, _offline_switch(prefix), force=True)
