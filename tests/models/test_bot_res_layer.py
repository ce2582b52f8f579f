"""The C4 RoI head: stage 4 of a BoTResNet, checked against the backbone's own stage and mmdet."""

import pytest
import torch
from _random_bn import randomize_bn_
from mmengine.registry import DefaultScope
from torch import nn

from tricks_mm.models.backbones import BoTResNet, CheckpointMismatchError
from tricks_mm.models.roi_heads import BoTResLayer


@pytest.mark.parametrize(
    'variant, depth, width',
    [('a', 50, 64), ('b', 50, 64), ('d', 50, 64), ('d', 18, 64), ('d', 18, 32)],
)
def test_equals_the_backbone_stage(variant, depth, width):
    torch.manual_seed(0)
    backbone = randomize_bn_(
        BoTResNet(depth=depth, variant=variant, stem_channels=width, base_channels=width)
    ).eval()
    head = BoTResLayer(depth=depth, variant=variant, stage=3, stride=2, base_channels=width).eval()
    layer4 = {f'layer4.{k}': v for k, v in backbone.layer4.state_dict().items()}
    assert list(head.state_dict()) == list(layer4)
    head.load_state_dict(layer4, strict=True)
    in_ch = backbone.layer3[-1].last_norm.num_features
    x = torch.randn(3, in_ch, 14, 14)
    with torch.no_grad():
        out = head(x)
        torch.testing.assert_close(out, backbone.layer4(x), rtol=0, atol=0)
    assert out.shape[2:] == (7, 7)


@pytest.mark.parametrize(
    'variant, mmdet_kwargs',
    [
        ('b', dict(style='pytorch')),
        ('a', dict(style='caffe')),
        ('d', dict(style='pytorch', avg_down=True)),
    ],
)
def test_equals_mmdet_res_layer(variant, mmdet_kwargs):
    """An independent implementation: mmdet's ResLayer builder (its shared head's stage)."""
    from mmdet.models.backbones.resnet import Bottleneck as MMDetBottleneck
    from mmdet.models.layers import ResLayer as MMDetResLayer

    torch.manual_seed(0)
    ref = randomize_bn_(
        MMDetResLayer(MMDetBottleneck, 1024, 512, 3, stride=2, **mmdet_kwargs)
    ).eval()
    head = BoTResLayer(depth=50, variant=variant).eval()
    head.load_state_dict({f'layer4.{k}': v for k, v in ref.state_dict().items()}, strict=True)
    x = torch.randn(2, 1024, 14, 14)
    with torch.no_grad():
        torch.testing.assert_close(head(x), ref(x), rtol=1e-5, atol=1e-5)


def test_norm_eval_keeps_bn_frozen_in_train():
    """With norm_eval a training-mode forward normalises with the running statistics and leaves
    them untouched, i.e. equals the eval-mode forward; without it, batch statistics are used."""
    torch.manual_seed(0)
    head = randomize_bn_(
        BoTResLayer(depth=18, norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True)
    )
    x = torch.randn(2, 256, 14, 14)
    with torch.no_grad():
        expected = head.eval()(x)
    stats = {k: v.clone() for k, v in head.state_dict().items() if 'running' in k}
    head.train()
    bns = [m for m in head.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(p.requires_grad for m in bns for p in m.parameters())
    with torch.no_grad():
        out = head(x)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert all(torch.equal(head.state_dict()[k], v) for k, v in stats.items())
    head.norm_eval = False
    head.train()
    with torch.no_grad():
        batch_stats = head(x)
    assert not torch.allclose(batch_stats, expected, atol=1e-3)
    assert not all(torch.equal(head.state_dict()[k], v) for k, v in stats.items())


def test_registered_for_mmdet_configs():
    from mmdet.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmdet'):
        head = MODELS.build(dict(type='tricks_mm.BoTResLayer', depth=101, variant='c'))
    assert isinstance(head, BoTResLayer) and len(head.layer4) == 3


@pytest.mark.parametrize(
    'kwargs, bad',
    [
        (dict(depth=50, variant='e'), "'e'"),
        (dict(depth=42), '42'),
        (dict(depth=50, stage=4), '4'),
    ],
)
def test_bad_arguments_name_the_value(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        BoTResLayer(**kwargs)


def test_pretrained_init_cfg_is_strict(tmp_path):
    torch.manual_seed(0)
    src = randomize_bn_(BoTResNet(depth=50, variant='b'))
    ckpt = tmp_path / 'b50.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, ckpt)
    same = BoTResLayer(
        depth=50,
        variant='b',
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.layer4.'),
    )
    same.init_weights()
    for k, v in src.layer4.state_dict().items():
        assert torch.equal(same.layer4.state_dict()[k], v), k
    # ResNet-D's shortcut is pool + conv + norm: the B weights do not fit and the keys are named
    other = BoTResLayer(
        depth=50,
        variant='d',
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.layer4.'),
    )
    with pytest.raises(CheckpointMismatchError, match=r'0\.downsample\.2\.weight'):
        other.init_weights()
    with pytest.raises(ValueError, match="unknown Pretrained init_cfg keys \\['prefx'\\]"):
        BoTResLayer(
            init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefx='backbone.layer4.')
        ).init_weights()
