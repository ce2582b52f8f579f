"""Finished-step records: a step whose key (hash of its config, inputs and code) is recorded is
skipped.

A record is a small JSON file written atomically after the step's outputs exist, so a step
killed half-way has no record and runs again (resuming from its last checkpoint). Records are
data: they are parsed as JSON and nothing in them is executed (paths in them are only opened as
files, checkpoints through the safe loader).

Rerun policy: a step's ``key`` covers its config, inputs *and* the code identity
(:func:`with_code`); its ``config_key`` the config and inputs alone. By default a step whose code
changed reruns (its old directory is kept as ``<step>.superseded``); with ``--reuse-stale``,
:meth:`RecordBook.lookup_stale` returns a record whose ``config_key`` still matches, and the
report marks it as computed by other code.
"""

import glob
import hashlib
import json
import os.path as osp
from typing import Any, Dict, Iterable, Optional

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.utils.hashing import file_sha256

#: ``top1_kind`` of a checkpoint rung imported without a classifier head: transferred, with no
#: top-1 (the value :func:`tricks_mm.transfer.importers.import_classifier` records)
NO_HEAD = 'no classifier head'


def step_key(kind: str, config_text: str, inputs: Iterable[str], extra: Any = None) -> str:
    """Hash a step: its kind, the exact config it runs, the contents of its input files."""
    digest = hashlib.sha256()
    digest.update(kind.encode())
    digest.update(config_text.encode())
    for path in inputs:
        digest.update(file_sha256(path).encode())
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def with_data(config_key: str, data: Optional[Dict[str, Any]]) -> str:
    """``config_key`` with the identity of the generated data every step reads
    (:func:`tricks_mm.ladder.data.data_identity`); unchanged when the ladder generates none.
    It belongs to the config key, not to the code identity: other data is another experiment,
    never a stale result to reuse."""
    if data is None:
        return config_key
    digest = hashlib.sha256(config_key.encode())
    digest.update(json.dumps(data, sort_keys=True).encode())
    return digest.hexdigest()


def with_code(config_key: str, code: Dict[str, Any]) -> str:
    """The full step key: ``config_key`` (:func:`step_key`) and the code identity
    (:func:`tricks_mm.ladder.code_version.code_identity`) together."""
    digest = hashlib.sha256(config_key.encode())
    digest.update(json.dumps(code, sort_keys=True).encode())
    return digest.hexdigest()


class RecordBook:
    """The records of one ladder, one JSON file per step under ``<work_dir>/records``."""

    def __init__(self, work_dir: str) -> None:
        self.root = osp.join(work_dir, 'records')

    def _path(self, step_id: str) -> str:
        return osp.join(self.root, f'{step_id}.json')

    def _read(self, step_id: str) -> Optional[Dict[str, Any]]:
        """The record of ``step_id`` if it exists and its outputs still exist."""
        path = self._path(step_id)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            record = json.load(f)
        outputs_exist = all(osp.exists(p) for p in record.get('outputs', {}).values())
        return record if outputs_exist else None

    def lookup(self, step_id: str, key: str) -> Optional[Dict[str, Any]]:
        """The record of ``step_id`` if it was made with ``key`` and its outputs still exist."""
        record = self._read(step_id)
        return record if record is not None and record.get('key') == key else None

    def lookup_stale(self, step_id: str, config_key: str) -> Optional[Dict[str, Any]]:
        """The record of ``step_id`` made from the same config and inputs (``config_key``),
        whatever code made it (``--reuse-stale``)."""
        record = self._read(step_id)
        return record if record is not None and record.get('config_key') == config_key else None

    def write(self, step_id: str, record: Dict[str, Any]) -> None:
        atomic_write_bytes(json.dumps(record, indent=2).encode(), self._path(step_id))

    def all(self) -> Dict[str, Dict[str, Any]]:
        """Every record on disk, by step id (the report reads these)."""
        out = {}
        for path in sorted(glob.glob(osp.join(self.root, '*.json'))):
            with open(path) as f:
                out[osp.splitext(osp.basename(path))[0]] = json.load(f)
        return out
