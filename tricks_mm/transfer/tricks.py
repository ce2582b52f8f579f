"""Read which of the paper's tricks a classification config uses (for provenance and reports).

What counts is what ran: a key the config leaves out takes the component's default, read from
the component's own signature (``BoTResNet`` defaults to ``variant='d'`` and
``zero_init_residual=True``), never a guess of ours.
"""

import inspect
from typing import Any, Dict, List, Mapping, Optional

from mmengine.config import Config

from tricks_mm.models.backbones.bot_resnet import BoTResNet


def _type_name(cfg: Mapping) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def bot_resnet_defaults() -> Dict[str, Any]:
    """The keyword defaults of :class:`BoTResNet`, from its signature."""
    return {
        name: p.default
        for name, p in inspect.signature(BoTResNet).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def backbone_settings(cfg: Config) -> Dict[str, Any]:
    """The classifier's backbone config merged over ``BoTResNet``'s defaults.

    Raises:
        ValueError: the backbone is not a ``tricks_mm.BoTResNet`` (its defaults are unknown here).
    """
    backbone = dict(cfg.model.get('backbone', {}))
    if _type_name(backbone) != 'BoTResNet':
        raise ValueError(
            f'model.backbone.type is {backbone.get("type")!r}: provenance reads '
            'tricks_mm.BoTResNet classifiers only'
        )
    return {**bot_resnet_defaults(), **backbone}


def describe_tricks(cfg: Config, architecture: Optional[Mapping[str, Any]] = None) -> List[str]:
    """Return the paper's tricks found in a classification config, in the paper's order.

    Only what the run does counts: e.g. ``fp16`` means an ``AmpOptimWrapper``,
    ``no-bias-decay`` means ``bias_decay_mult == norm_decay_mult == 0``; keys the config omits
    take the component defaults (:func:`backbone_settings`).

    Args:
        cfg: the classification config that ran.
        architecture: ``depth``/``variant`` read from the weights
            (:func:`~tricks_mm.transfer.architecture.infer_architecture`); they win over the
            config's spelling where they are known.
    """
    model = cfg.model
    backbone = backbone_settings(cfg)
    arch = {k: v for k, v in (architecture or {}).items() if v is not None}
    depth = arch.get('depth', backbone.get('depth'))
    variant = arch.get('variant', backbone['variant'])
    tricks = [f'ResNet-{depth}-{str(variant).upper()}']
    optim = cfg.get('optim_wrapper', {})
    if optim.get('type', '').endswith('AmpOptimWrapper'):
        tricks.append('fp16' if optim.get('dtype', 'float16') != 'bfloat16' else 'bf16')
    paramwise = optim.get('paramwise_cfg', {})
    if paramwise.get('bias_decay_mult') == 0 and paramwise.get('norm_decay_mult') == 0:
        tricks.append('no-bias-decay')
    if backbone.get('zero_init_residual'):
        tricks.append('zero-gamma')
    schedulers = cfg.get('param_scheduler', [])
    schedulers = [schedulers] if isinstance(schedulers, dict) else schedulers
    names = [_type_name(s) for s in schedulers]
    if any('Warmup' in n or n == 'LinearLR' for n in names):
        tricks.append('warmup')
    if any(n.startswith('Cosine') for n in names):
        tricks.append('cosine')
    loss = model.get('head', {}).get('loss', {})
    if 'LabelSmooth' in _type_name(loss) or model.get('distill_loss', {}).get('label_smooth_eps'):
        tricks.append('label-smoothing')
    if _type_name(model).endswith('DistillClassifier'):
        tricks.append('distillation')
    augments = model.get('train_cfg', {}) or {}
    augments = augments.get('augments', [])
    augments = [augments] if isinstance(augments, dict) else augments
    if any(_type_name(a) == 'Mixup' for a in augments):
        tricks.append('mixup')
    return tricks
