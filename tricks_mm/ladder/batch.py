"""The total batch and LR each ladder step trains with, and the check that refuses a silent change.

A config's LR is right for one total batch: its ``auto_scale_lr.base_batch_size`` (mmengine's
key for "the batch this LR is for"; mmdet and mmpretrain configs carry it, ours add it where
mmseg's lack it). A ladder step runs the config's per-process ``train_dataloader.batch_size`` on
``Launch.world_size`` processes; if that product differs from the reference, the LR (and, for
iteration-based schedules, the number of images seen) silently changes. So a step either runs at
its reference batch, or names the change with ``auto_scale_lr=True`` (mmengine's linear scaling,
``Runner.scale_lr``: ``lr x total / base_batch_size``), or is refused before it starts.
"""

from typing import Any, Dict

from mmengine.config import Config


def effective_batch(
    cfg: Config, world_size: int, auto_scale_lr: bool, where: str
) -> Dict[str, Any]:
    """Total batch and LR of a step, as mmengine will run it.

    Args:
        cfg: the materialized config of the step.
        world_size: processes the step runs on.
        auto_scale_lr: whether the step passes ``--auto-scale-lr`` (a config with
            ``auto_scale_lr.enable=True`` scales in any case).
        where: the step, for error messages.

    Returns:
        ``dict(world_size, batch_per_process, total_batch, reference_batch, config_lr, lr,
        lr_scaled)``; ``lr`` is the starting LR after linear scaling, as mmengine applies it.

    Raises:
        ValueError: the config names no reference batch, or the total batch differs from it
            and ``auto_scale_lr`` is off (the message gives both fixes).
    """
    per_process = cfg.train_dataloader.batch_size
    total = per_process * world_size
    reference = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    if reference is None:
        raise ValueError(
            f'{where}: the config names no reference batch; add auto_scale_lr = '
            f'dict(enable=False, base_batch_size=N) with N the total batch its LR is for'
        )
    config_lr = cfg.optim_wrapper.optimizer.lr
    auto_scale_lr = auto_scale_lr or bool(cfg.auto_scale_lr.get('enable', False))
    if total != reference and not auto_scale_lr:
        raise ValueError(
            f'{where}: {world_size} process(es) x {per_process} images = total batch {total}, '
            f"but the config's LR {config_lr} is for batch {reference} "
            '(auto_scale_lr.base_batch_size). Launch this task with '
            f'{reference / per_process:g} processes (ladder.<task>.launch=dict(nproc_per_node=...'
            '/nnodes=...)), or set ladder.<task>.auto_scale_lr=True to scale the LR linearly '
            '(recorded in the step and the report)'
        )
    scale = total / reference if auto_scale_lr else 1.0
    return dict(
        world_size=world_size,
        batch_per_process=per_process,
        total_batch=total,
        reference_batch=reference,
        config_lr=config_lr,
        lr=config_lr * scale,
        lr_scaled=auto_scale_lr and total != reference,
    )
