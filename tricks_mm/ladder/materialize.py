"""Build the exact config each ladder step runs, from the ladder file and the step's inputs.

The materialized config is dumped into the step's directory and both hashed (for skip-on-rerun)
and run from there, so what is recorded is what ran. Each config is loaded reading the data the
ladder generates and refused if it reads other data (:mod:`tricks_mm.ladder.data`).
"""

from typing import Any, Dict, Optional

from mmengine.config import Config

from tricks_mm.config.schedule_scale import scale_schedule
from tricks_mm.config.setup import load_config
from tricks_mm.ladder.data import check_reads_data, reading_data_at
from tricks_mm.ladder.spec import Rung, TaskSpec
from tricks_mm.transfer.normalization import InputNormalization, preprocessor_fields


def _load(task: TaskSpec, config: Optional[str] = None) -> Config:
    """``config`` (default: the task's) with the task's overlays, reading the ladder's data."""
    path = config or task.config
    assert path is not None
    with reading_data_at(task.data_root):
        return load_config(path, task.overlays)


def _finish(
    cfg: Config, task: TaskSpec, seed: int, extra: Optional[Dict[str, Any]] = None
) -> Config:
    if task.epoch_scale is not None:
        scale_schedule(cfg, task.epoch_scale)
    cfg.merge_from_dict(dict(task.cfg_options))
    if extra:
        cfg.merge_from_dict(extra)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    # Each step is evaluated once, on the test split after training in the same process
    # (tools/train.py --out-metrics; the report shows those numbers); validating at the end of
    # training as well would only repeat it, unless the task asks for a learning curve.
    if task.val_interval is None:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    else:
        cfg.train_cfg.val_interval = task.val_interval
    _add_tensorboard(cfg)
    _add_progress_lines(cfg)
    check_reads_data(cfg, task.data_root, cfg.filename)
    return cfg


def _add_progress_lines(cfg: Config) -> None:
    """Every step prints its progress as JSON lines for the ladder to show
    (:class:`tricks_mm.engine.progress_line.BoTProgressLineHook`, at the logger's interval):
    :mod:`tricks_mm.ladder.progress` reads those, never the log text."""
    logger = (cfg.get('default_hooks') or {}).get('logger') or {}
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('BoTProgressLineHook') for h in hooks):
        hooks.append(
            dict(type='tricks_mm.BoTProgressLineHook', interval=int(logger.get('interval', 10)))
        )
    cfg.custom_hooks = hooks


def _add_tensorboard(cfg: Config) -> None:
    """Every step also writes TensorBoard event files (mmengine's ``TensorboardVisBackend``,
    next to the host's own backends, under ``<step>/<timestamp>/vis_data``), so
    ``tensorboard --logdir work_dirs/<ladder>`` shows every rung's curves side by side."""
    visualizer = cfg.get('visualizer')
    if not isinstance(visualizer, dict):
        raise ValueError(
            f'{cfg.filename}: the ladder needs a `visualizer` dict (the host '
            f"default_runtime's) to add TensorBoard to, got {visualizer!r}"
        )
    backends = list(visualizer.get('vis_backends') or [])
    if not any(str(b.get('type', '')).endswith('TensorboardVisBackend') for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer['vis_backends'] = backends


def classification_config(
    rung: Rung, task: TaskSpec, seed: int, teacher: Optional[Dict[str, str]] = None
) -> Config:
    """The rung's classifier config at the ladder's scale.

    Args:
        teacher: ``{config, checkpoint}`` of the distillation teacher, plus ``normalization``
            for an imported (published) teacher: the teacher is fed the student's normalised
            input, so the student's data preprocessor takes the teacher's convention.
    """
    assert rung.cls_config is not None
    cfg = _load(task, rung.cls_config)
    extra = dict(rung.cls_options)
    if teacher is not None:
        if not str(cfg.model.type).endswith('DistillClassifier'):
            raise ValueError(
                f'rung {rung.name!r} names a teacher but its config trains a '
                f'{cfg.model.type}, not tricks_mm.BoTDistillClassifier'
            )
        extra.update(
            {'model.teacher': teacher['config'], 'model.teacher_checkpoint': teacher['checkpoint']}
        )
        if teacher.get('normalization') is not None:
            fields = preprocessor_fields(
                InputNormalization.from_dict(teacher['normalization']), 'to_rgb'
            )
            extra.update({f'data_preprocessor.{k}': v for k, v in fields.items()})
    return _finish(cfg, task, seed, extra)


def task_config_text(task: TaskSpec) -> str:
    """The text of a task's config with its overlays (what a step key hashes)."""
    cfg = _load(task)
    check_reads_data(cfg, task.data_root, cfg.filename)
    return cfg.pretty_text


def imported_eval_config(task: TaskSpec, classifier_config: str) -> Config:
    """The ladder's classification test set (``ladder.classify.config``) around an imported
    classifier: its model and data preprocessor replace the config's, the data stays."""
    cfg = _load(task)
    imported = Config.fromfile(classifier_config)
    cfg.model = imported.model
    cfg.data_preprocessor = dict(cfg.get('data_preprocessor') or {}, **imported.data_preprocessor)
    cfg.merge_from_dict(dict(task.cfg_options))
    check_reads_data(cfg, task.data_root, cfg.filename)
    return cfg


def downstream_config(
    task: TaskSpec,
    seed: int,
    backbone: Dict[str, Any],
    pretrained: Optional[str],
    normalization: Optional[Dict[str, Any]] = None,
) -> Config:
    """A detection or segmentation config with the rung's backbone architecture.

    A C4 detector's RoI head (``tricks_mm.BoTResLayer``, stage 4 of the same network) gets the
    same architecture and checkpoint as the backbone.

    Args:
        backbone: ``depth`` and ``variant`` of the classifier (or of the control).
        pretrained: converted backbone checkpoint; ``None`` trains from scratch, which also
            unfreezes the stem/stage 1 and the BN statistics and affine parameters (frozen
            random weights would be a handicap, not a control).
        normalization: the classifier's input convention (``meta['input_normalization']`` of
            the converted checkpoint): the data preprocessor takes its mean/std/channel order,
            so the backbone sees pixels normalised as in its pretraining.
    """
    cfg = _load(task)
    parts = {'model.backbone': cfg.model.backbone}
    shared_head = cfg.model.get('roi_head', {}).get('shared_head')
    if shared_head is not None and str(shared_head.get('type')).endswith('BoTResLayer'):
        parts['model.roi_head.shared_head'] = shared_head
    extra: Dict[str, Any] = {}
    for key, part in parts.items():
        extra.update({f'{key}.{k}': v for k, v in backbone.items()})
        if pretrained is None:
            extra.update({f'{key}.init_cfg': None, f'{key}.norm_eval': False})
            if part.get('norm_cfg', {}).get('requires_grad') is False:
                extra[f'{key}.norm_cfg.requires_grad'] = True
        else:
            init_cfg = part.get('init_cfg') or {}
            if not isinstance(init_cfg, dict):
                raise ValueError(
                    f'{key}.init_cfg of {task.config} must be one dict for the '
                    f'ladder to bind the converted checkpoint, got {init_cfg!r}'
                )
            init_cfg = dict(init_cfg)  # keeps the config's prefix / exclude
            init_cfg.update(type='Pretrained', checkpoint=pretrained)
            init_cfg.setdefault('prefix', 'backbone.')
            extra[f'{key}.init_cfg'] = init_cfg
    if pretrained is None:
        extra['model.backbone.frozen_stages'] = -1
    if normalization is not None:
        fields = preprocessor_fields(InputNormalization.from_dict(normalization), 'bgr_to_rgb')
        extra.update({f'model.data_preprocessor.{k}': v for k, v in fields.items()})
    return _finish(cfg, task, seed, extra)
