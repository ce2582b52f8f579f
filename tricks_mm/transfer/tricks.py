"""Read which of the paper's tricks a classification config uses (for provenance and reports)."""
from typing import List

from mmengine.config import Config


def _type_name(cfg: dict) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def describe_tricks(cfg: Config) -> List[str]:
    """Return the paper's tricks found in a classification config, in the paper's order.

    Only what the config actually sets counts: e.g. ``fp16`` means an ``AmpOptimWrapper``,
    ``no-bias-decay`` means ``bias_decay_mult == norm_decay_mult == 0``.
    """
    model = cfg.model
    backbone = model.get('backbone', {})
    tricks = [f"ResNet-{backbone.get('depth', '?')}-{str(backbone.get('variant', 'a')).upper()}"]
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
