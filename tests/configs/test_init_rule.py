"""One init rule for every classification rung: the paper's Xavier (Sec. 2) for conv and FC
weights, BN gamma 1 / beta 0, then zero gamma (Sec. 3.1) where the rung sets it."""

import copy
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

REPO = Path(__file__).resolve().parents[2]
CLS_CONFIGS = sorted((REPO / 'configs' / 'classification').glob('*.py'))
XAVIER_CONV = dict(type='Xavier', layer='Conv2d', distribution='uniform')
XAVIER_FC = dict(type='Xavier', layer='Linear', distribution='uniform')


@pytest.mark.parametrize('config', CLS_CONFIGS, ids=lambda p: p.stem)
def test_every_rung_has_the_rule(config):
    model = Config.fromfile(str(config)).model
    assert model.backbone.init_cfg == XAVIER_CONV
    assert model.head.init_cfg == XAVIER_FC


def _bound(weight: torch.Tensor) -> float:
    """Paper Sec. 2: uniform in [-a, a], a = sqrt(6 / (d_in + d_out)), with d_in / d_out the
    input / output channels times the kernel area."""
    receptive = weight[0][0].numel()
    return math.sqrt(6.0 / (weight.shape[1] * receptive + weight.shape[0] * receptive))


# convs: ResNet-50-A stem 1 + 16 blocks x 3 + 4 shortcuts = 53; -D: deep stem 3 -> 55; + fc
@pytest.mark.parametrize(
    'rung, zero_gamma, layers',
    [
        ('resnet50_baseline_8xb32_in1k.py', False, 54),
        ('resnet50d_efficient_8xb128_in1k.py', True, 56),
    ],
)
def test_built_rung_is_initialised_by_the_rule(rung, zero_gamma, layers):
    from mmpretrain.registry import MODELS

    cfg = Config.fromfile(str(REPO / 'configs' / 'classification' / rung))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(copy.deepcopy(cfg.model.to_dict()))
    model.init_weights()
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weights) == layers
    for w in weights:
        a = _bound(w)
        assert w.abs().max() <= a
        if w.numel() >= 20000:  # std of U[-a, a] is a / sqrt(3); Kaiming-normal would be larger
            assert w.std().item() == pytest.approx(a / math.sqrt(3), rel=0.03)
    assert torch.count_nonzero(model.head.fc.bias) == 0
    last = {id(blk.last_norm) for layer in model.backbone.res_layers for blk in layer}
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            gamma = 0.0 if zero_gamma and id(m) in last else 1.0
            assert torch.all(m.weight == gamma) and torch.all(m.bias == 0)
