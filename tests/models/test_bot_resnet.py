"""Tests of BoTResNet against independent references (torchvision, mmpretrain, timm)."""

import uuid
from collections import OrderedDict

import pytest
import torch
from _random_bn import randomize_bn_
from mmengine.registry import DefaultScope
from torch import nn

from tricks_mm.models.backbones import BoTResNet, CheckpointMismatchError

# Measured with BoTResNet(depth=50, variant=v).parameters() (3 input channels, no fc).
PARAMS_R50 = {'a': 23_508_032, 'b': 23_508_032, 'c': 23_527_264, 'd': 23_527_264}


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _copy_positionally(src: nn.Module, dst: nn.Module) -> None:
    """Copy ``src``'s state dict into ``dst`` by order (the key names differ, layouts must not)."""
    src_sd, dst_sd = src.state_dict(), dst.state_dict()
    assert len(src_sd) == len(dst_sd)
    new = OrderedDict()
    for (sk, sv), (dk, dv) in zip(src_sd.items(), dst_sd.items()):
        assert sv.shape == dv.shape, (sk, dk)
        new[dk] = sv
    dst.load_state_dict(new, strict=True)


def _torchvision_features(tv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
    return tv.layer4(tv.layer3(tv.layer2(tv.layer1(x))))


def test_variant_b_equals_torchvision_resnet50():
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    tv = randomize_bn_(torchvision.models.resnet50(weights=None)).eval()
    model = BoTResNet(depth=50, variant='b').eval()
    tv_sd = {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    assert list(tv_sd) == list(model.state_dict())
    model.load_state_dict(tv_sd, strict=True)
    assert _n_params(model) == _n_params(tv) - _n_params(tv.fc) == PARAMS_R50['b']
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], _torchvision_features(tv, x))


@pytest.mark.parametrize(
    'variant,ref_type,ref_kwargs',
    [
        ('a', 'ResNet', dict(style='caffe')),
        ('c', 'ResNetV1c', {}),
        ('d', 'ResNetV1d', {}),
    ],
)
def test_variants_equal_mmpretrain(variant, ref_type, ref_kwargs):
    """mmpretrain's ResNet (caffe style) / ResNetV1c / ResNetV1d have other key names but the
    same parameter order, so weights copy positionally and all four stage outputs must agree."""
    from mmpretrain.registry import MODELS

    torch.manual_seed(0)
    ref = MODELS.build(dict(type=ref_type, depth=50, out_indices=(0, 1, 2, 3), **ref_kwargs))
    randomize_bn_(ref).eval()  # mmpretrain's ResNet.train() returns None, hence no chaining
    model = BoTResNet(depth=50, variant=variant).eval()
    _copy_positionally(ref, model)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for ours, theirs in zip(model(x), ref(x), strict=True):
            torch.testing.assert_close(ours, theirs)


def test_variant_a_stride_on_first_1x1():
    model = BoTResNet(depth=50, variant='A')
    assert model.variant == 'a'
    for layer in (model.layer2, model.layer3, model.layer4):
        assert layer[0].conv1.stride == (2, 2) and layer[0].conv2.stride == (1, 1)
        assert layer[0].downsample[0].stride == (2, 2)


def _downsampling_blocks(model):
    return [(i, layer[0]) for i, layer in enumerate(model.res_layers)]


def test_variant_d_structure():
    model = BoTResNet(depth=50, variant='d')
    stem = [m for m in model.conv1 if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in stem] == [
        (3, 32, (3, 3), (2, 2)),
        (32, 32, (3, 3), (1, 1)),
        (32, 64, (3, 3), (1, 1)),
    ]
    assert isinstance(model.bn1, nn.BatchNorm2d) and model.bn1.num_features == 64
    for i, blk in _downsampling_blocks(model):
        pool, conv = blk.downsample[0], blk.downsample[1]
        if i == 0:
            assert isinstance(pool, nn.Identity)
        else:
            assert isinstance(pool, nn.AvgPool2d)
            assert (pool.kernel_size, pool.stride) == (2, 2)
            assert pool.ceil_mode and not pool.count_include_pad
            assert blk.conv2.stride == (2, 2) and blk.conv1.stride == (1, 1)
        assert conv.kernel_size == (1, 1) and conv.stride == (1, 1)
    with torch.no_grad():
        outs = model.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


@pytest.mark.parametrize(
    'name, depth, variant',
    [('resnet50d', 50, 'd'), ('resnet50c', 50, 'c'), ('resnet18d', 18, 'd'), ('resnet50', 50, 'b')],
)
def test_variants_equal_timm(name, depth, variant):
    """timm is a test dependency (pyproject ``test`` extra): this never skips."""
    import timm

    torch.manual_seed(0)
    ref = randomize_bn_(timm.create_model(name, pretrained=False)).eval()
    model = BoTResNet(depth=depth, variant=variant).eval()
    ref_sd = {k: v for k, v in ref.state_dict().items() if not k.startswith('fc.')}
    assert list(ref_sd) == list(model.state_dict())
    model.load_state_dict(ref_sd, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], ref.forward_features(x))


def test_parameter_counts_r50():
    counts = {v: _n_params(BoTResNet(depth=50, variant=v)) for v in 'abcd'}
    assert counts == PARAMS_R50
    # deep stem: 3*32*9 + 32*32*9 + 32*64*9 convs + two BN(32) replace the 7x7 conv (3*64*49)
    assert counts['c'] - counts['b'] == 864 + 9216 + 18432 + 2 * 64 - 9408


def _last_norms(model):
    return {id(blk.last_norm) for layer in model.res_layers for blk in layer}


@pytest.mark.parametrize('depth', [18, 50])
def test_zero_gamma(depth):
    model = BoTResNet(depth=depth, variant='d')
    model.init_weights()
    last = _last_norms(model)
    n_last = 0
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            expected = 0.0 if id(m) in last else 1.0
            n_last += id(m) in last
            torch.testing.assert_close(m.weight, torch.full_like(m.weight, expected))
            torch.testing.assert_close(m.bias, torch.zeros_like(m.bias))
    assert n_last == (8 if depth == 18 else 16)


def _save_backbone_ckpt(model, path):
    sd = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    sd['head.fc.weight'] = torch.zeros(10, model.feat_dim)
    torch.save({'state_dict': sd, 'meta': {}}, path)
    return str(path)


def test_pretrained_loads_strictly_and_skips_zero_gamma(tmp_path):
    torch.manual_seed(0)
    src = randomize_bn_(BoTResNet(depth=18, variant='d'))
    ckpt = _save_backbone_ckpt(src, tmp_path / 'cls.pth')
    model = BoTResNet(
        depth=18,
        variant='d',
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.'),
    )
    model.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)
    assert all((blk.last_norm.weight != 0).all() for layer in model.res_layers for blk in layer)


@pytest.mark.parametrize(
    'src_kwargs,dst_kwargs,missing,unexpected',
    [
        (
            dict(depth=18, variant='b'),
            dict(depth=18, variant='d'),
            'conv1.0.weight',
            'conv1.weight',
        ),
        (dict(depth=18, variant='d'), dict(depth=50, variant='d'), 'layer1.0.conv3.weight', None),
        (dict(depth=50, variant='d'), dict(depth=18, variant='d'), None, 'layer1.0.conv3.weight'),
    ],
)
def test_strict_loading_names_keys(tmp_path, src_kwargs, dst_kwargs, missing, unexpected):
    ckpt = _save_backbone_ckpt(BoTResNet(**src_kwargs), tmp_path / 'other.pth')
    model = BoTResNet(
        **dst_kwargs, init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='backbone')
    )
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    msg = str(err.value)
    for key in (missing, unexpected):
        if key is not None:
            assert key in msg
    assert 'tools/transfer.py' in msg


def test_torchvision_checkpoint_drops_fc_only(monkeypatch):
    """``torchvision://resnet18`` (mmdet's default init) loads into variant B: only ``fc.*`` is
    dropped; the download is replaced by a freshly built torchvision model."""
    torchvision = pytest.importorskip('torchvision')
    from tricks_mm.models import pretrained

    torch.manual_seed(0)
    tv = randomize_bn_(torchvision.models.resnet18(weights=None))
    seen = []
    monkeypatch.setattr(
        pretrained,
        '_load_checkpoint',
        lambda name, map_location: seen.append(name) or tv.state_dict(),
    )
    model = BoTResNet(
        depth=18, variant='b', init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')
    )
    model.init_weights()
    assert seen == ['torchvision://resnet18']
    torch.testing.assert_close(model.layer4[1].bn2.weight, tv.layer4[1].bn2.weight)
    model = BoTResNet(
        depth=18, variant='c', init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')
    )
    with pytest.raises(CheckpointMismatchError, match='conv1.0.weight'):
        model.init_weights()


def test_wrong_prefix_raises(tmp_path):
    ckpt = _save_backbone_ckpt(BoTResNet(depth=18), tmp_path / 'cls.pth')
    model = BoTResNet(depth=18, init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='bb.'))
    with pytest.raises(CheckpointMismatchError, match='bb.'):
        model.init_weights()


def _bns(module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_frozen_stages_and_norm_eval():
    model = BoTResNet(depth=18, variant='d', frozen_stages=1)
    model.train()
    for part in (model.conv1, model.bn1, model.layer1):
        assert all(not p.requires_grad for p in part.parameters())
        assert all(not bn.training for bn in _bns(part))
    for part in (model.layer2, model.layer3, model.layer4):
        assert all(p.requires_grad for p in part.parameters())
        assert all(bn.training for bn in _bns(part))
    model = BoTResNet(depth=18, variant='d', norm_eval=True).train()
    assert all(not bn.training for bn in _bns(model))
    assert all(p.requires_grad for p in model.parameters())


def test_dilated_d8_keys_and_output_stride():
    kwargs = dict(depth=50, variant='d')
    model = BoTResNet(
        strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True, **kwargs
    ).eval()
    assert list(model.state_dict()) == list(BoTResNet(**kwargs).state_dict())
    assert isinstance(model.layer3[0].downsample[0], nn.Identity)
    assert model.layer3[0].conv2.dilation == (1, 1) and model.layer3[1].conv2.dilation == (2, 2)
    assert model.layer4[0].conv2.dilation == (2, 2) and model.layer4[1].conv2.dilation == (4, 4)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 8, 8]


@pytest.fixture
def restore_default_scope(monkeypatch):
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict(DefaultScope._instance_dict))


@pytest.mark.usefixtures('restore_default_scope')
def test_build_under_host_scopes():
    import importlib

    keys = {}
    for host in ('mmpretrain', 'mmdet', 'mmseg'):
        registry = importlib.import_module(f'{host}.registry').MODELS
        DefaultScope.get_instance(f'test-bot-resnet-{uuid.uuid4()}', scope_name=host)
        model = registry.build(dict(type='tricks_mm.BoTResNet', depth=18, variant='d'))
        assert type(model) is BoTResNet
        keys[host] = list(model.state_dict())
    assert keys['mmpretrain'] == keys['mmdet'] == keys['mmseg']


@pytest.mark.parametrize(
    'kwargs,bad',
    [
        (dict(depth=50, variant='e'), "'e'"),
        (dict(depth=42), '42'),
        (dict(depth=18, out_indices=(0, 4)), '(0, 4)'),
        (dict(depth=18, num_stages=5), '5'),
        (dict(depth=18, strides=(1, 2, 2)), '(1, 2, 2)'),
        (dict(depth=18, frozen_stages=5), '5'),
        (dict(depth=18, variant='a', style='pytorch'), "'pytorch'"),
    ],
)
def test_bad_input_raises_value_error(kwargs, bad):
    with pytest.raises(ValueError) as err:
        BoTResNet(**kwargs)
    assert bad in str(err.value)
