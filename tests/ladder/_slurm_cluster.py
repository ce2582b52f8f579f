"""Finding the local Slurm of ``scripts/slurm_local.sh`` (or any Slurm the environment names
with ``SLURM_CONF``) for the tests marked ``slurm``, and reading its job records."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import pytest

from tricks_mm.ladder.executors.slurm import LIVE_STATES, job_states

# scripts/slurm_local.sh's default: $TMPDIR (else /tmp) / tricks_mm_slurm, as tempfile resolves it
DEFAULT_CONF = (
    Path(os.environ.get('TRICKS_MM_SLURM_DIR', Path(tempfile.gettempdir()) / 'tricks_mm_slurm'))
    / 'slurm.conf'
)


def cluster_conf() -> Tuple[Optional[str], str]:
    """(slurm.conf of a cluster that answers, '') or (None, why there is none)."""
    conf = os.environ.get('SLURM_CONF') or (str(DEFAULT_CONF) if DEFAULT_CONF.is_file() else None)
    if shutil.which('sbatch') is None:
        return None, 'no Slurm client (sbatch) here; bash scripts/slurm_local.sh install + start'
    if conf is None:
        return None, f'no local Slurm ({DEFAULT_CONF} absent): bash scripts/slurm_local.sh start'
    env = dict(os.environ, SLURM_CONF=conf)
    probe = subprocess.run(['sinfo', '-h', '-o', '%T'], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        return None, f'the Slurm of {conf} does not answer: {probe.stderr.strip()}'
    return conf, ''


CONF, WHY = cluster_conf()
needs_slurm = [pytest.mark.slurm, pytest.mark.skipif(CONF is None, reason=WHY)]


def conf_value(key: str) -> str:
    for line in Path(CONF).read_text().splitlines():
        if line.split('=')[0].strip() == key:
            return line.split('=', 1)[1].strip()
    raise KeyError(key)


def wait_for_jobs(job_ids: Sequence[str], timeout: float = 240.0) -> Dict[str, str]:
    """Wait until none of ``job_ids`` is queued or running; their final states."""
    deadline = time.time() + timeout
    while True:
        states = {j: info.state for j, info in job_states(job_ids).items()}
        if not any(s in LIVE_STATES for s in states.values()):
            return states
        assert time.time() < deadline, f'jobs still live after {timeout}s: {states}'
        time.sleep(0.5)


def finished_jobs(job_ids: Sequence[str]) -> Dict[str, Dict[str, str]]:
    """The cluster's completion records (``jobcomp/filetxt``) of ``job_ids``, by job id:
    ``JobState``, ``StartTime``, ``EndTime``, ``NodeList``, ..."""
    records: Dict[str, Dict[str, str]] = {}
    path = Path(conf_value('JobCompLoc'))
    for line in path.read_text().splitlines() if path.is_file() else []:
        fields = dict(f.split('=', 1) for f in line.split() if '=' in f)
        if fields.get('JobId') in job_ids:
            records[fields['JobId']] = fields
    return records
