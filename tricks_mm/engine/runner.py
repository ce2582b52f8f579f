"""The runner the tricks_mm tools use: mmengine's Runner with strict checkpoint loading.

Why: mmengine's ``Runner.load_checkpoint`` defaults to ``strict=False``, so ``load_from`` or
``--resume`` with a checkpoint of another architecture only logs a warning and goes on with
random weights. Here a key mismatch is an error that lists the keys.
"""
from typing import Any, List, Optional, Tuple

from mmengine.runner import Runner


class StrictRunner(Runner):
    """:class:`mmengine.runner.Runner` whose checkpoint loading is always strict."""

    def load_checkpoint(self,
                        filename: str,
                        map_location: Any = 'cpu',
                        strict: bool = True,
                        revise_keys: Optional[List[Tuple[str, str]]] = None,
                        ) -> dict:
        if not strict:
            raise ValueError(
                'StrictRunner.load_checkpoint(strict=False) was requested; tricks_mm refuses '
                'partial loads. Convert the checkpoint to the model (tools/transfer.py) instead.')
        kwargs: dict = dict(map_location=map_location, strict=True)
        if revise_keys is not None:
            kwargs['revise_keys'] = revise_keys
        return super().load_checkpoint(filename, **kwargs)
