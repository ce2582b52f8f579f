"""The runner the tricks_mm tools use: mmengine's Runner with strict, non-executing loading.

Why: mmengine's ``Runner.load_checkpoint`` defaults to ``strict=False``, so ``load_from`` or
``--resume`` with a checkpoint of another architecture only logs a warning and goes on with
random weights. Here a key mismatch is an error that lists the keys.

And: ``Runner.resume`` passes a checkpoint's ``meta['config']`` (if it has one; mmengine 0.10.7
itself writes ``meta['cfg']``) to ``Config.fromstring``, which executes it, only to read
``gpu_ids``. :meth:`StrictRunner.load_checkpoint` hands resume that one value, read without
executing (:mod:`tricks_mm.engine.safe_config`), and drops text it cannot read that way.
"""

import glob
import logging
import os.path as osp
import re
from typing import Any, List, Optional, Tuple

from mmengine.logging import print_log
from mmengine.runner import Runner

from tricks_mm.engine.safe_config import UnsafeConfigText, read_literal_config


def defuse_stored_config(checkpoint: Any, filename: str) -> None:
    """Replace ``checkpoint['meta']['config']`` (text mmengine's resume would execute) by the
    one line resume needs, ``gpu_ids = [...]``, built from a literal-only reading of it; drop it
    when it is not plain literals (resume then skips its GPU-count check)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict) or 'config' not in meta:
        return
    text = meta.pop('config')
    try:
        if not isinstance(text, str):
            raise UnsafeConfigText(f'a {type(text).__name__}, not text')
        gpu_ids = read_literal_config(text).get('gpu_ids')
    except UnsafeConfigText as err:
        print_log(
            f"{filename}: meta['config'] is not plain literals ({err}); it was ignored, "
            'not executed',
            logger='current',
            level=logging.WARNING,
        )
        return
    if isinstance(gpu_ids, (list, tuple)) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in gpu_ids
    ):
        meta['config'] = f'gpu_ids = {list(gpu_ids)!r}\n'


class StrictRunner(Runner):
    """:class:`mmengine.runner.Runner` whose checkpoint loading is always strict."""

    def load_checkpoint(
        self,
        filename: str,
        map_location: Any = 'cpu',
        strict: bool = True,
        revise_keys: Optional[List[Tuple[str, str]]] = None,
    ) -> dict:
        if not strict:
            raise ValueError(
                'StrictRunner.load_checkpoint(strict=False) was requested; tricks_mm refuses '
                'partial loads. Convert the checkpoint to the model (tools/transfer.py) instead.'
            )
        kwargs: dict = dict(map_location=map_location, strict=True)
        if revise_keys is not None:
            kwargs['revise_keys'] = revise_keys
        checkpoint = super().load_checkpoint(filename, **kwargs)
        defuse_stored_config(checkpoint, filename)
        return checkpoint


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should continue from, or None when there is none.

    Why not mmengine's ``find_latest_checkpoint``: its CheckpointHook deletes the oldest kept
    checkpoint *before* it rewrites ``last_checkpoint``, so a kill in between leaves
    ``last_checkpoint`` naming a deleted file and ``--resume`` fails. Here a dangling pointer
    falls back to the newest ``epoch_N.pth`` / ``iter_N.pth`` actually on disk.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return named
    found = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match.group(2)), path))
    if not found:
        return None
    latest = max(found)[1]
    print_log(
        f'last_checkpoint is missing or names a deleted file; resuming from the newest '
        f'checkpoint on disk: {latest}',
        logger='current',
        level=logging.WARNING,
    )
    return latest
