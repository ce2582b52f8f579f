"""BoTResNet / BoTResLayer take the host ResNets' keys with the hosts' meaning.

Each case builds the host class itself (mmdet ``ResNet`` / ``ResNetV1d``, mmseg ``ResNet`` /
``ResNetV1c``, mmpretrain ``ResNetV1d``) and BoTResNet with the same keys, and compares: the
output shapes, the parameter count, which parameters are frozen and which norms stay in eval
mode after ``train()``, and (with the host's weights mapped into BoTResNet) the outputs
themselves. The literal shapes of mmdet's own ``test_resnet.py`` are asserted too.
"""

import uuid
import warnings
from collections import OrderedDict

import pytest
import torch
from _random_bn import randomize_bn_
from mmengine.registry import DefaultScope
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tricks_mm.models.backbones import BoTResNet
from tricks_mm.models.backbones.layouts import to_bot
from tricks_mm.models.roi_heads import BoTResLayer


def _dcn_runs_on_cpu() -> bool:
    from mmcv.ops import ModulatedDeformConv2dPack

    try:
        ModulatedDeformConv2dPack(4, 4, 3, padding=1)(torch.randn(1, 4, 6, 6))
    except Exception:  # noqa: BLE001 - any failure means: no CPU kernel in this mmcv build
        return False
    return True


DCN = dict(type='DCNv2', deform_groups=1, fallback_on_stride=False)
CONTEXT = [
    dict(
        cfg=dict(type='ContextBlock', ratio=1.0 / 16),
        stages=(False, True, True, True),
        position='after_conv3',
    )
]
TWO_PLUGINS = [
    dict(cfg=dict(type='ContextBlock', ratio=1.0 / 4), position='after_conv2'),
    dict(
        cfg=dict(type='GeneralizedAttention', spatial_range=-1, num_heads=8, kv_stride=2),
        stages=(False, False, True, True),
        position='after_conv2',
    ),
]

# (host library, host class, keys). BoTResNet gets the same keys, plus the architecture keys the
# host class implies (ResNetV1c = ResNet(deep_stem=True), ResNetV1d = + avg_down=True).
CASES = [
    ('mmdet', 'ResNet', dict(depth=18)),
    ('mmdet', 'ResNet', dict(depth=50, style='caffe', frozen_stages=1, norm_eval=True)),
    ('mmdet', 'ResNetV1d', dict(depth=50, frozen_stages=1)),
    ('mmdet', 'ResNet', dict(depth=50, with_cp=True, frozen_stages=-1)),
    ('mmdet', 'ResNet', dict(depth=18, conv_cfg=dict(type='ConvWS'))),  # weight standardisation
    ('mmdet', 'ResNet', dict(depth=50, plugins=CONTEXT, frozen_stages=2)),
    ('mmdet', 'ResNet', dict(depth=50, plugins=TWO_PLUGINS)),
    ('mmdet', 'ResNet', dict(depth=50, dcn=DCN, stage_with_dcn=(False, True, True, True))),
    (
        'mmdet',
        'ResNet',
        dict(
            depth=50,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=(2,),
            style='caffe',
            frozen_stages=1,
        ),
    ),
    (
        'mmseg',
        'ResNetV1c',
        dict(
            depth=50,
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            contract_dilation=True,
            norm_eval=False,
        ),
    ),
    (
        'mmseg',
        'ResNetV1c',
        dict(
            depth=50,
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            multi_grid=(1, 2, 4),
            contract_dilation=True,
        ),
    ),
    (
        'mmseg',
        'ResNetV1c',
        dict(
            depth=18,
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            contract_dilation=True,
            frozen_stages=3,
        ),
    ),
    ('mmpretrain', 'ResNetV1d', dict(depth=50, out_indices=(0, 1, 2, 3))),
    ('mmpretrain', 'ResNetV1d', dict(depth=50, drop_path_rate=0.1, out_indices=(3,))),
    ('mmpretrain', 'ResNet', dict(depth=50, style='caffe', out_indices=(3,))),
    # mmpretrain's Wide ResNet-50 (wrn/wide-resnet50_8xb32_in1k.py's backbone keys)
    (
        'mmpretrain',
        'ResNet',
        dict(depth=50, stem_channels=64, base_channels=128, expansion=2, out_indices=(3,)),
    ),
]
_IMPLIED = {
    'ResNet': {},
    'ResNetV1c': dict(deep_stem=True),
    'ResNetV1d': dict(deep_stem=True, avg_down=True),
}


def _host(lib: str, cls: str, kwargs: dict) -> nn.Module:
    import importlib

    registry = importlib.import_module(f'{lib}.registry').MODELS
    return registry.build(dict(type=f'{lib}.{cls}', **kwargs))


def _bot(lib: str, cls: str, kwargs: dict) -> BoTResNet:
    """Built as a host config builds it: the host's registry, in the host's default scope."""
    import importlib

    DefaultScope.get_instance(f'test-host-{uuid.uuid4()}', scope_name=lib)
    registry = importlib.import_module(f'{lib}.registry').MODELS
    # the host classes' own default: style='pytorch' (stride on the 3x3 conv)
    cfg = dict(type='tricks_mm.BoTResNet', **{'style': 'pytorch', **kwargs}, **_IMPLIED[cls])
    return registry.build(cfg)


def _case_id(case):
    lib, cls, kw = case
    return f'{lib}-{cls}-' + '-'.join(f'{k}' for k in kw if k != 'depth') + f'-{kw["depth"]}'


def _frozen(model: nn.Module):
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)


def _eval_norms(model: nn.Module):
    return sorted(
        m.num_features for m in model.modules() if isinstance(m, _BatchNorm) and not m.training
    )


@pytest.mark.parametrize('case', CASES, ids=_case_id)
def test_same_keys_same_network_as_the_host_class(case):
    lib, cls, kwargs = case
    if 'dcn' in kwargs and not _dcn_runs_on_cpu():
        pytest.skip('this mmcv build has no CPU kernel for DCNv2 (see test_dcn_builds_*)')
    torch.manual_seed(0)
    host = _host(lib, cls, kwargs)
    host.init_weights()  # the host's own init (ConvWS needs more than torch's default)
    randomize_bn_(host)
    ours = _bot(lib, cls, kwargs)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in host.parameters())
    # frozen parameters and eval-mode norms, after train() as a runner calls it
    host.train(), ours.train()
    assert _frozen(ours) == _frozen(host)
    assert _eval_norms(ours) == _eval_norms(host)
    # the host's weights, mapped by layout, give the host's outputs
    state, _ = to_bot(host.state_dict())
    ours.load_state_dict(state, strict=True)
    host.eval(), ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = host(x), ours(x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_drop_path_rates_are_mmpretrain_s():
    host = _host('mmpretrain', 'ResNetV1d', dict(depth=50, drop_path_rate=0.2))
    ours = BoTResNet(depth=50, variant='d', drop_path_rate=0.2)

    def rates(model):
        return [
            float(getattr(b.drop_path, 'drop_prob', 0.0))
            for i in range(1, 5)
            for b in getattr(model, f'layer{i}')
        ]

    assert rates(ours) == pytest.approx(rates(host), abs=0)
    assert rates(ours)[0] == 0.0 and rates(ours)[-1] == pytest.approx(0.2)


def test_mmdet_test_resnet_shapes():
    """Literal expectations of mmdet's tests/test_models/test_backbones/test_resnet.py."""
    x = torch.randn(1, 3, 32, 32)
    for kwargs, shapes in [
        (dict(depth=18), [(1, 64, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2), (1, 512, 1, 1)]),
        (
            dict(depth=18, with_cp=True),
            [(1, 64, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2), (1, 512, 1, 1)],
        ),
        (
            dict(depth=50, style='pytorch'),
            [(1, 256, 8, 8), (1, 512, 4, 4), (1, 1024, 2, 2), (1, 2048, 1, 1)],
        ),
        (
            dict(depth=50, plugins=CONTEXT),
            [(1, 256, 8, 8), (1, 512, 4, 4), (1, 1024, 2, 2), (1, 2048, 1, 1)],
        ),
        (dict(depth=50, out_indices=(0, 2), style='pytorch'), [(1, 256, 8, 8), (1, 1024, 2, 2)]),
    ]:
        model = BoTResNet(**kwargs).eval()  # mmdet's test: norm_eval (1x1 maps, batch 1)
        outs = model(x)
        assert [tuple(o.shape) for o in outs] == shapes, kwargs
    model = BoTResNet(depth=50, with_cp=True, style='pytorch')
    assert all(b.with_cp for layer in model.res_layers for b in layer)
    model = BoTResNet(depth=50, plugins=CONTEXT, style='pytorch')
    assert not hasattr(model.layer1[0], 'context_block')
    assert hasattr(model.layer2[0], 'context_block')


def test_with_cp_checkpoints_and_keeps_gradients():
    torch.manual_seed(0)
    a = BoTResNet(depth=18, variant='b', with_cp=True).train()
    b = BoTResNet(depth=18, variant='b').train()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    calls = []
    handle = torch.utils.checkpoint.checkpoint
    try:
        torch.utils.checkpoint.checkpoint = lambda *args, **kw: (
            calls.append(1) or handle(*args, **kw)
        )
        a(x)[-1].sum().backward()
    finally:
        torch.utils.checkpoint.checkpoint = handle
    grad_a = x.grad.clone()
    x.grad = None
    b(x)[-1].sum().backward()
    assert len(calls) == 8  # one per block of ResNet-18
    torch.testing.assert_close(grad_a, x.grad)


@pytest.fixture
def restore_default_scope(monkeypatch):
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict(DefaultScope._instance_dict))


@pytest.mark.usefixtures('restore_default_scope')
@pytest.mark.parametrize(
    'scope, kwargs, variant, norm_eval, stem',
    [
        ('mmdet', dict(style='pytorch'), 'b', True, 32),
        ('mmdet', dict(style='caffe'), 'a', True, 32),
        ('mmdet', dict(deep_stem=True, avg_down=True), 'd', True, 32),
        ('mmseg', dict(style='pytorch', deep_stem=True), 'c', False, 64),
        ('mmpretrain', dict(style='pytorch'), 'b', False, 64),
        ('mmdet', dict(), 'd', False, 64),  # no host key: the paper's D, tricks_mm defaults
        ('mmdet', dict(variant='b'), 'b', False, 64),
    ],
)
def test_defaults_rule(scope, kwargs, variant, norm_eval, stem):
    """Host keys -> the host class's meaning and defaults (mmdet: norm_eval=True,
    stem_channels=base_channels, as mmdet's ResNet); none -> ResNet-D, tricks_mm's defaults."""
    import importlib

    registry = importlib.import_module(f'{scope}.registry').MODELS
    DefaultScope.get_instance(f'test-host-{uuid.uuid4()}', scope_name=scope)
    model = registry.build(dict(type='tricks_mm.BoTResNet', depth=50, base_channels=32, **kwargs))
    assert (model.variant, model.norm_eval, model.bn1.num_features) == (variant, norm_eval, stem)
    if 'variant' not in kwargs:
        host_kwargs = {k: v for k, v in kwargs.items()}
        if scope != 'mmdet' or kwargs:
            host = _host(scope, 'ResNet', dict(depth=50, base_channels=32, **host_kwargs))
            assert host.norm_eval == norm_eval
            assert sum(p.numel() for p in host.parameters()) == sum(
                p.numel() for p in model.parameters()
            )


def test_the_rule_is_logged(monkeypatch):
    from tricks_mm.models.backbones import host_interface

    logged = []
    monkeypatch.setattr(host_interface, 'print_log', lambda msg, logger: logged.append(msg))
    BoTResNet(depth=18)
    assert logged == [
        "BoTResNet: ResNet-D18 (no variant/style/deep_stem/avg_down given: the paper's "
        'ResNet-D); defaults of tricks_mm: stem_channels=64, norm_eval=False'
    ]
    BoTResNet(depth=18, variant='d')
    assert len(logged) == 1  # an explicit variant is not re-told


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(variant='d', style='caffe'), r"style='caffe' contradicts variant='d'"),
        (dict(variant='b', deep_stem=True), r"deep_stem=True contradicts variant='b'"),
        (dict(style='caffe', deep_stem=True), r"style='caffe' with deep_stem=True"),
        (dict(avg_down=True), r'avg_down=True without deep_stem=True'),
        (dict(groups=32, base_width=4), r'groups=32 \(ResNeXt.*base_width=4'),
        (dict(stage_with_sac=(False,) * 4), r'stage_with_sac=.*DetectoRS_ResNet'),
        (dict(frobnicate=1), r'frobnicate=1 \(no such key.*Supported keys: depth'),
        (dict(style='tensorflow'), r"'tensorflow'"),
        (dict(stage_with_dcn=(False, True, True, True)), r'without dcn'),
        (dict(dcn=DCN, stage_with_dcn=(True,) * 3), r'needs num_stages=4'),
        (dict(dcn=DCN, conv_cfg=dict(type='ConvWS')), r'conv_cfg must be None for DCN'),
        (
            dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=0.25), position='before')]),
            r"position one of 'after_conv1'",
        ),
        (dict(multi_grid=(1, 2)), r'multi_grid=\(1, 2\) needs one dilation per block'),
        (
            dict(pretrained='x.pth', init_cfg=dict(type='Pretrained', checkpoint='y.pth')),
            'init_cfg and pretrained cannot be specified at the same time',
        ),
    ],
)
def test_refusals_name_the_key_and_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoTResNet(depth=50, **kwargs)


def test_expansion_on_basic_blocks_is_refused():
    with pytest.raises(ValueError, match='expansion=2: a depth-18 ResNet has BasicBlocks'):
        BoTResNet(depth=18, expansion=2)


def test_dcn_and_plugins_on_basic_blocks_are_refused_as_the_hosts_do():
    with pytest.raises(ValueError, match='BasicBlock has no 3x3 middle conv'):
        BoTResNet(depth=18, dcn=DCN, stage_with_dcn=(False, True, True, True))
    with pytest.raises(AssertionError):  # the host refuses it too
        _host('mmdet', 'ResNet', dict(depth=18, dcn=DCN, stage_with_dcn=(False, True, True, True)))


def test_dcn_builds_mmcv_s_modulated_deform_conv():
    from mmcv.ops import ModulatedDeformConv2dPack

    model = BoTResNet(depth=50, style='pytorch', dcn=DCN, stage_with_dcn=(False, True, True, True))
    assert not isinstance(model.layer1[0].conv2, ModulatedDeformConv2dPack)
    assert all(
        isinstance(b.conv2, ModulatedDeformConv2dPack)
        for i in (2, 3, 4)
        for b in getattr(model, f'layer{i}')
    )
    host = _host(
        'mmdet', 'ResNet', dict(depth=50, dcn=DCN, stage_with_dcn=(False, True, True, True))
    )
    assert list(to_bot(host.state_dict())[0]) == list(model.state_dict())


def test_pretrained_becomes_a_strict_pretrained_init_cfg(tmp_path):
    src = BoTResNet(depth=18, variant='b')
    torch.save({'state_dict': src.state_dict()}, str(tmp_path / 'r18.pth'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = BoTResNet(depth=18, style='pytorch', pretrained=str(tmp_path / 'r18.pth'))
    assert any('pretrained is deprecated' in str(w.message) for w in caught)
    assert model.init_cfg == dict(type='Pretrained', checkpoint=str(tmp_path / 'r18.pth'))
    model.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------
# BoTResLayer: mmdet's shared-head ResLayer keys


@pytest.mark.parametrize('style, variant', [('caffe', 'a'), ('pytorch', 'b')])
def test_res_layer_takes_mmdet_shared_head_keys(style, variant):
    from mmdet.registry import MODELS

    torch.manual_seed(0)
    kwargs = dict(
        depth=50,
        stage=3,
        stride=2,
        dilation=1,
        style=style,
        norm_eval=True,
        norm_cfg=dict(type='BN', requires_grad=False),
    )
    host = randomize_bn_(MODELS.build(dict(type='mmdet.ResLayer', **kwargs)))
    host.eval()  # mmdet's ResLayer.train returns None
    ours = BoTResLayer(**kwargs).eval()
    assert ours.variant == variant
    ours.load_state_dict(host.state_dict(), strict=True)
    x = torch.randn(2, 1024, 14, 14)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), host(x), rtol=1e-5, atol=1e-5)
    ours_cp = BoTResLayer(**kwargs, with_cp=True)
    assert all(b.with_cp for b in ours_cp.layer4)


def test_res_layer_refusals():
    with pytest.raises(ValueError, match=r"style='caffe' contradicts variant='d'"):
        BoTResLayer(variant='d', style='caffe')
    with pytest.raises(ValueError, match=r'frobnicate=1.*Supported keys'):
        BoTResLayer(frobnicate=1)


def test_res_layer_pretrained_reads_the_stage_of_a_whole_resnet(tmp_path):
    src = randomize_bn_(BoTResNet(depth=50, variant='b'))
    torch.save({'state_dict': src.state_dict()}, str(tmp_path / 'r50.pth'))
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        head = BoTResLayer(style='pytorch', pretrained=str(tmp_path / 'r50.pth'))
    head.init_weights()
    for k, v in src.layer4.state_dict().items():
        torch.testing.assert_close(head.layer4.state_dict()[k], v, rtol=0, atol=0)


def test_weights_variant_reads_mmengine_and_ddp_checkpoints(tmp_path, monkeypatch):
    """An mmengine-saved checkpoint (numpy objects in its meta, as the Runner writes) with DDP
    ``module.`` keys gives the variant of its weights (mmseg ResNetV1c: C); an unreadable file
    is logged with the reason, never silently skipped."""
    import numpy as np
    from mmengine.runner.checkpoint import save_checkpoint
    from mmseg.registry import MODELS as MMSEG_MODELS

    from tricks_mm.models.backbones import host_interface

    host = MMSEG_MODELS.build(dict(type='ResNetV1c', depth=18))
    state = {f'module.backbone.{k}': v for k, v in host.state_dict().items()}
    path = tmp_path / 'v1c.pth'
    save_checkpoint(
        dict(state_dict=state, meta=dict(epoch=np.int64(3), lr=np.float64(0.1))), str(path)
    )
    init = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    variants, where = host_interface.weights_variant(init)
    assert variants == ('c',) and str(path) in where

    logged = []
    monkeypatch.setattr(
        host_interface, 'print_log', lambda msg, logger, level=None: logged.append(msg)
    )
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(b'not a checkpoint')
    assert host_interface.weights_variant(dict(init, checkpoint=str(broken))) is None
    assert len(logged) == 1 and 'could not be read from its weights' in logged[0]
