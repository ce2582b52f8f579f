"""Finished-step records: a step whose key (hash of its config and inputs) is recorded is skipped.

A record is a small JSON file written atomically after the step's outputs exist, so a step
killed half-way has no record and runs again (resuming from its last checkpoint).
"""
import glob
import hashlib
import json
import os.path as osp
from typing import Any, Dict, Iterable, Optional

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.utils.hashing import file_sha256


def step_key(kind: str, config_text: str, inputs: Iterable[str], extra: Any = None) -> str:
    """Hash a step: its kind, the exact config it runs, the contents of its input files."""
    digest = hashlib.sha256()
    digest.update(kind.encode())
    digest.update(config_text.encode())
    for path in inputs:
        digest.update(file_sha256(path).encode())
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class RecordBook:
    """The records of one ladder, one JSON file per step under ``<work_dir>/records``."""

    def __init__(self, work_dir: str) -> None:
        self.root = osp.join(work_dir, 'records')

    def _path(self, step_id: str) -> str:
        return osp.join(self.root, f'{step_id}.json')

    def lookup(self, step_id: str, key: str) -> Optional[Dict[str, Any]]:
        """The record of ``step_id`` if it was made with ``key`` and its outputs still exist."""
        path = self._path(step_id)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            record = json.load(f)
        outputs_exist = all(osp.exists(p) for p in record.get('outputs', {}).values())
        return record if record.get('key') == key and outputs_exist else None

    def write(self, step_id: str, record: Dict[str, Any]) -> None:
        atomic_write_bytes(json.dumps(record, indent=2).encode(), self._path(step_id))

    def all(self) -> Dict[str, Dict[str, Any]]:
        """Every record on disk, by step id (the report reads these)."""
        out = {}
        for path in sorted(glob.glob(osp.join(self.root, '*.json'))):
            with open(path) as f:
                out[osp.splitext(osp.basename(path))[0]] = json.load(f)
        return out
