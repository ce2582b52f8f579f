"""Loaded into a ladder's classification step by the kill test (``custom_imports``): once the
first epoch's checkpoint is written it leaves a marker file and waits, so the test kills the
ladder at a known point in the middle of a step."""

import os
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class PauseAfterFirstEpochHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW) has saved epoch_1.pth

    def __init__(self, marker: str, seconds: float = 300.0) -> None:
        self.marker, self.seconds = marker, seconds

    def after_train_epoch(self, runner) -> None:
        # runner.epoch counts finished epochs from the next line of the loop on: 0 here
        if runner.epoch == 0 and not os.path.exists(self.marker):
            with open(self.marker, 'w') as f:
                f.write(str(os.getpid()))
            time.sleep(self.seconds)
