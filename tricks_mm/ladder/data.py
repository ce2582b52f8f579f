"""The data a ladder generates: where every step reads it, and what of it enters a step key.

``ladder.synthetic_data`` generates the embedded suite at ``out``. The toy configs name their
data root ``'{{$TRICKS_MM_SYNTHETIC_DATA:data/synthetic}}/...'`` (mmengine's environment
substitution, which also reaches ``_base_`` files; without the variable they read the checkout's
``data/synthetic``), and the ladder loads each step config with the variable set to ``out``
(:func:`reading_data_at`), so the materialized config, which is what a step runs and what its
key hashes, reads the suite the ladder generated. A step config whose datasets read from
anywhere else is refused (:func:`check_reads_data`): a config with a written-out path would
silently train on other data than the ladder generated.

The suite's bytes are fixed by the generator's version, seed and sizes
(:func:`tricks_mm.datasets.synthetic.suite_args`); :func:`data_identity` is what the runner mixes
into every step's key (:func:`tricks_mm.ladder.records.with_data`), so changing the data
regenerates the suite and reruns every step instead of reusing records made on other data.
"""

import os
import os.path as osp
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from tricks_mm.config.walk import DATALOADERS, iter_dicts

#: The environment variable the toy configs take their data root from.
ENV_VAR = 'TRICKS_MM_SYNTHETIC_DATA'
_ENV_LOCK = threading.Lock()


def check_synthetic_data(raw: Any) -> Optional[Dict[str, Any]]:
    """``ladder.synthetic_data`` validated (``out``: a path without whitespace, which
    mmengine's substitution cannot carry; the generator's own arguments checked by it); as
    given, or ``None``.

    Raises:
        ValueError: naming the bad key or value.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get('out'), str) or not raw['out']:
        raise ValueError(
            f"ladder.synthetic_data must be a dict with 'out' (the suite's directory), got {raw!r}"
        )
    if any(c.isspace() for c in raw['out']):
        raise ValueError(
            f"ladder.synthetic_data.out {raw['out']!r} contains whitespace, which the configs' "
            f'{{{{${ENV_VAR}:...}}}} substitution cannot carry: choose a path without it'
        )
    data_identity(raw)  # the generator refuses an unknown or out-of-range size, naming it
    return dict(raw)


def check_fashion_mnist_data(raw: Any) -> Optional[Dict[str, Any]]:
    """``ladder.fashion_mnist_data`` validated (``out``: where the miniature is prepared; the
    preparation's own arguments checked by it); as given, or ``None``.

    Raises:
        ValueError: naming the bad key or value.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get('out'), str) or not raw['out']:
        raise ValueError(
            "ladder.fashion_mnist_data must be a dict with 'out' (the miniature's directory), "
            f'got {raw!r}'
        )
    fashion_mnist_identity(raw)  # the preparation refuses an unknown or out-of-range size
    return dict(raw)


def fashion_mnist_identity(fashion_mnist_data: Dict[str, Any]) -> Dict[str, Any]:
    """The preparation's version, seed and sizes of ``ladder.fashion_mnist_data``. Where the
    Fashion-MNIST files come from (``source``, ``download_root``) is not in it: every source
    holds the same images, which the preparation checks by their shapes and labels."""
    from tricks_mm.datasets.fashion_mnist import prepare_args

    options = {
        k: v
        for k, v in fashion_mnist_data.items()
        if k not in ('out', 'source', 'download_root', 'quiet')
    }
    try:
        return dict(generator='tricks_mm.datasets.fashion_mnist', **prepare_args(**options))
    except (TypeError, ValueError) as error:
        raise ValueError(f'ladder.fashion_mnist_data: {error}') from error


def data_identity(
    synthetic_data: Optional[Dict[str, Any]],
    fashion_mnist_data: Optional[Dict[str, Any]] = None,
) -> Optional[Dict[str, Any]]:
    """The generator's version, seed and sizes of ``ladder.synthetic_data``, or of the
    Fashion-MNIST miniature's preparation (``None``: the ladder prepares no data). The location
    is not in it: the step configs name it."""
    if fashion_mnist_data is not None:
        return fashion_mnist_identity(fashion_mnist_data)
    if synthetic_data is None:
        return None
    from tricks_mm.datasets.synthetic import suite_args

    options = {k: v for k, v in synthetic_data.items() if k != 'out'}
    try:
        return dict(generator='tricks_mm.datasets.synthetic', **suite_args(**options))
    except (TypeError, ValueError) as error:
        raise ValueError(f'ladder.synthetic_data: {error}') from error


@contextmanager
def reading_data_at(root: Optional[str]) -> Iterator[None]:
    """Load configs inside this block to have them read the suite at ``root`` (no change for
    ``None``). The variable is set for the block only, under a lock: other threads of the ladder
    only wait on step processes, whose configs are already materialized."""
    if root is None:
        yield
        return
    with _ENV_LOCK:
        old = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = root
        try:
            yield
        finally:
            if old is None:
                del os.environ[ENV_VAR]
            else:
                os.environ[ENV_VAR] = old


def _under(path: str, root: str) -> bool:
    path, root = osp.abspath(path), osp.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_reads_data(cfg: Any, root: Optional[str], where: str) -> None:
    """Refuse a step config (``where`` names it) whose datasets do not read the suite at
    ``root``: every ``data_root`` under the dataloaders must lie under it, and one must exist.

    Raises:
        ValueError: naming the dataloader path, what it reads and the fix.
    """
    if root is None:
        return
    seen = 0
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        for path, node in iter_dicts(loader.get('dataset'), f'{name}.dataset'):
            data_root = node.get('data_root')
            if data_root is None:
                continue
            seen += 1
            if not _under(str(data_root), root):
                raise ValueError(
                    f'{where}: {path}.data_root is {data_root!r}, but the ladder prepares its '
                    f'data at {root!r} (its synthetic_data.out or fashion_mnist_data.out); write '
                    f"the config's data root as '{{{{${ENV_VAR}:data/synthetic}}}}/...' (as "
                    "configs/toy/ do), set the ladder's out to where the config reads (as "
                    'configs/miniature/ expect: data/fashion_mnist), or drop the data key from '
                    'the ladder'
                )
    if not seen:
        raise ValueError(
            f'{where}: no dataloader names a data_root, so the ladder cannot tell that it reads '
            f'the data the ladder prepares at {root!r}'
        )
