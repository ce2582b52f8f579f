"""Build the exact config each ladder step runs, from the ladder file and the step's inputs.

The materialized config is dumped into the step's directory and both hashed (for skip-on-rerun)
and run from there, so what is recorded is what ran.
"""
from typing import Any, Dict, Optional

from mmengine.config import Config

from tricks_mm.cli.config_setup import load_config
from tricks_mm.cli.schedule_scale import scale_schedule
from tricks_mm.ladder.spec import Rung, TaskSpec


def _finish(cfg: Config, task: TaskSpec, seed: int, extra: Optional[Dict[str, Any]] = None
            ) -> Config:
    if task.epoch_scale is not None:
        scale_schedule(cfg, task.epoch_scale)
    cfg.merge_from_dict(dict(task.cfg_options))
    if extra:
        cfg.merge_from_dict(extra)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    return cfg


def classification_config(rung: Rung, task: TaskSpec, seed: int,
                          teacher: Optional[Dict[str, str]] = None) -> Config:
    """The rung's classifier config at the ladder's scale; ``teacher`` = {config, checkpoint}."""
    assert rung.cls_config is not None
    cfg = load_config(rung.cls_config, task.overlays)
    extra = dict(rung.cls_options)
    if teacher is not None:
        if not str(cfg.model.type).endswith('DistillClassifier'):
            raise ValueError(f'rung {rung.name!r} names a teacher but its config trains a '
                             f'{cfg.model.type}, not tricks_mm.BoTDistillClassifier')
        extra.update({'model.teacher': teacher['config'],
                      'model.teacher_checkpoint': teacher['checkpoint']})
    return _finish(cfg, task, seed, extra)


def downstream_config(task: TaskSpec, seed: int, backbone: Dict[str, Any],
                      pretrained: Optional[str]) -> Config:
    """A detection or segmentation config with the rung's backbone architecture.

    Args:
        backbone: ``depth`` and ``variant`` of the classifier (or of the control).
        pretrained: converted backbone checkpoint; ``None`` trains from scratch, which also
            unfreezes the stem/stage 1 and the BN statistics (frozen random weights would be a
            handicap, not a control).
    """
    cfg = load_config(task.config, task.overlays)
    extra: Dict[str, Any] = {f'model.backbone.{k}': v for k, v in backbone.items()}
    if pretrained is None:
        extra.update({'model.backbone.init_cfg': None, 'model.backbone.frozen_stages': -1,
                      'model.backbone.norm_eval': False})
    else:
        extra['model.backbone.init_cfg'] = dict(type='Pretrained', checkpoint=pretrained,
                                                prefix='backbone.')
    return _finish(cfg, task, seed, extra)
