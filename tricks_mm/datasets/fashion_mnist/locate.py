"""Where the Fashion-MNIST files come from: a path you give, Debian's package, or a download.

The order is the issue's (docs/miniature.md): an explicit path wins and must hold the files
(a typo must not silently fall back to other data); otherwise Debian's ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``, installed by ``make install`` as root with apt);
otherwise torchvision's own downloader (``torchvision.datasets.FashionMNIST(download=True)``,
which checks the upstream MD5s) where there is network; otherwise an error naming all three.
"""

import os
from pathlib import Path
from typing import Dict, List, Optional, Union

#: The four upstream files, by role, without the ``.gz`` they are shipped with.
FILES: Dict[str, str] = dict(
    train_images='train-images-idx3-ubyte',
    train_labels='train-labels-idx1-ubyte',
    test_images='t10k-images-idx3-ubyte',
    test_labels='t10k-labels-idx1-ubyte',
)
#: Where Debian's ``dataset-fashion-mnist`` puts them.
DEBIAN_DIR = Path('/usr/share/datasets/fashion-mnist')
#: Where torchvision's ``FashionMNIST(root)`` keeps them, relative to ``root``.
TORCHVISION_SUBDIR = Path('FashionMNIST') / 'raw'


def files_in(directory: Union[str, os.PathLike]) -> Optional[Dict[str, Path]]:
    """The four files in ``directory`` (``.gz`` or uncompressed; also its torchvision
    ``FashionMNIST/raw`` subfolder), or None if any is missing."""
    for folder in (Path(directory), Path(directory) / TORCHVISION_SUBDIR):
        found = {}
        for role, name in FILES.items():
            for candidate in (folder / f'{name}.gz', folder / name):
                if candidate.is_file():
                    found[role] = candidate
                    break
        if len(found) == len(FILES):
            return found
    return None


def _download(root: Path) -> Optional[Dict[str, Path]]:
    from torchvision.datasets import FashionMNIST

    try:
        for train in (True, False):
            FashionMNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError) as exc:  # no network, a mirror down, an MD5 mismatch
        print(f'[fashion_mnist] download into {root} failed: {exc}', flush=True)
        return None
    return files_in(root / TORCHVISION_SUBDIR)


def locate(
    path: Optional[Union[str, os.PathLike]] = None,
    download_root: Optional[Union[str, os.PathLike]] = None,
    debian_dir: Union[str, os.PathLike] = DEBIAN_DIR,
) -> Dict[str, Path]:
    """Find the four Fashion-MNIST files.

    Args:
        path: a folder you give (the files, or torchvision's ``root``); when given it must
            hold them.
        download_root: where torchvision may download them when neither ``path`` nor Debian's
            folder has them; ``None`` = do not download.
        debian_dir: Debian's folder (a parameter so tests can point elsewhere).

    Returns:
        ``{role: file}`` for the roles of :data:`FILES`.

    Raises:
        FileNotFoundError: ``path`` lacks the files, or no source has them (the message names
            every place tried and how to fill each).
    """
    if path is not None:
        found = files_in(path)
        if found is None:
            raise FileNotFoundError(
                f'{path} does not hold the four Fashion-MNIST files '
                f"({', '.join(n + '[.gz]' for n in FILES.values())}, or torchvision's "
                f"{TORCHVISION_SUBDIR}/ layout); fix the path or leave it out to use Debian's "
                f'{debian_dir} or a download'
            )
        return found
    found = files_in(debian_dir)
    if found is not None:
        return found
    tried: List[str] = [
        '1. a folder given with --fashion-mnist PATH (the four *-ubyte.gz files): none given',
        f"2. Debian's {debian_dir}: missing (as root: apt-get install dataset-fashion-mnist)",
    ]
    if download_root is not None:
        found = _download(Path(download_root))
        if found is not None:
            return found
        tried.append(f'3. torchvision download into {download_root}: failed (no network?)')
    else:
        tried.append('3. torchvision download: not allowed here (pass --download-root DIR)')
    raise FileNotFoundError('Fashion-MNIST files not found. Tried:\n  ' + '\n  '.join(tried))
