"""Which code a ladder step ran with, so a cached result never outlives a code fix.

The identity that enters a step's key (:func:`code_identity`):

* ``package``: the tricks_mm version;
* ``source_sha256``: SHA-256 over the path and bytes of every ``*.py`` file of the imported
  ``tricks_mm`` package (sorted by path). It changes exactly when the package code changes,
  committed or not, in a git checkout or an installed copy alike. Configs are not in it: the
  step key already hashes the full materialized config text that ran, and hashing ``configs/``
  would rerun every step whenever a ladder file gains a rung;
* ``hosts``: the versions of torch, torchvision, mmengine, mmcv, mmpretrain, mmdet, mmseg.

Recorded beside it for people (not in the key): ``commit`` (``git rev-parse HEAD``) and
``dirty`` (``git status --porcelain --untracked-files=all -- tricks_mm`` is non-empty, i.e. the
package differs from that commit), both ``None`` when the package is not in a git work tree.
"""

import hashlib
import importlib.metadata
import os
import os.path as osp
import subprocess
from typing import Any, Dict, Optional

import tricks_mm

HOSTS = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmpretrain', 'mmdet', 'mmsegmentation')
#: The keys of :func:`code_version` that decide whether a step reruns.
IDENTITY_KEYS = ('package', 'source_sha256', 'hosts')


def _source_sha256(package_dir: str) -> str:
    files = []
    for root, dirs, names in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        files += [osp.join(root, n) for n in names if n.endswith('.py')]
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(osp.relpath(path, package_dir).encode() + b'\0')
        with open(path, 'rb') as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def _git(repo: str, *args: str) -> Optional[str]:
    try:
        out = subprocess.run(
            ['git', '-C', repo, *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def _host_version(name: str) -> Optional[str]:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def code_version() -> Dict[str, Any]:
    """The code identity and its git context (see the module docstring)."""
    package_dir = osp.dirname(osp.abspath(tricks_mm.__file__))
    repo = osp.dirname(package_dir)
    toplevel = _git(repo, 'rev-parse', '--show-toplevel')
    in_git = toplevel is not None and osp.realpath(toplevel.strip()) == osp.realpath(repo)
    commit = _git(repo, 'rev-parse', 'HEAD') if in_git else None
    status = (
        _git(repo, 'status', '--porcelain', '--untracked-files=all', '--', 'tricks_mm')
        if in_git
        else None
    )
    return dict(
        package=tricks_mm.__version__,
        source_sha256=_source_sha256(package_dir),
        hosts={name: _host_version(name) for name in HOSTS},
        commit=commit.strip() if commit else None,
        dirty=None if status is None else bool(status.strip()),
    )


def code_identity(version: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The part of :func:`code_version` that decides reruns (``{}`` for a record without one)."""
    return {k: (version or {}).get(k) for k in IDENTITY_KEYS} if version else {}
