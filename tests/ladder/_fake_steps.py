"""Stand-in for the ladder's child processes: records each command and writes the files a real
train / test process would leave (a checkpoint, ``last_checkpoint``, ``metrics.json``)."""

import json
import os.path as osp
from typing import Dict, List

from tricks_mm.ladder import launch

METRICS = {
    'classify': {'accuracy/top1': 70.0},
    'detect': {'voc07/mAP': 0.5},
    'segment': {'aAcc': 80.0, 'mIoU': 30.0},
}


def fake_processes(monkeypatch) -> List[List[str]]:
    """Patch ``launch.run_logged``; return the list the commands are appended to."""
    commands: List[List[str]] = []

    def run_logged(
        cmd: List[str], log_path: str, echo: bool = False, on_line=None, env=None
    ) -> None:
        commands.append(cmd)
        step_dir = osp.dirname(log_path)
        if 'tricks_mm.cli.train' in cmd:
            checkpoint = osp.join(step_dir, 'last.pth')
            open(checkpoint, 'wb').close()
            with open(osp.join(step_dir, 'last_checkpoint'), 'w') as f:
                f.write(checkpoint)
        if '--out-metrics' in cmd:  # train + test in one process, or tools/test.py
            metrics: Dict[str, float] = METRICS[osp.basename(step_dir)]
            with open(cmd[cmd.index('--out-metrics') + 1], 'w') as f:
                json.dump(metrics, f)

    monkeypatch.setattr(launch, 'run_logged', run_logged)
    return commands
