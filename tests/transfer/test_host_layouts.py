"""The hosts' checkpoint layouts in and out, each checked against the host class itself.

host -> BoTResNet -> host: a host ResNet's weights (saved as mmengine saves) load strictly into
BoTResNet (its ``init_cfg=Pretrained``), export back with ``tools/transfer.py export --to HOST``,
load into the host class with ``strict=True`` and through the host's stock
``init_cfg=Pretrained`` with no missing / unexpected key, with equal features all the way.
"""

import copy
import logging
import sys
from pathlib import Path

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import save_checkpoint
from torch.testing import assert_close

from tricks_mm.cli import transfer as cli_transfer
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.models.backbones import BoTResNet, CheckpointMismatchError
from tricks_mm.models.backbones.layouts import LayoutError, infer_layout, to_bot
from tricks_mm.transfer.importers import import_classifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'models'))
from _random_bn import randomize_bn_  # noqa: E402

HOST_IMPLIES = {
    ('mmdet', 'ResNet'): ('b', dict()),
    ('mmdet', 'ResNetV1d'): ('d', dict(deep_stem=True, avg_down=True)),
    ('mmseg', 'ResNetV1c'): ('c', dict(deep_stem=True)),
    ('mmpretrain', 'ResNetV1d'): ('d', dict(deep_stem=True, avg_down=True)),
}
X = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def _host(lib: str, cls: str, **kwargs) -> torch.nn.Module:
    import importlib

    registry = importlib.import_module(f'{lib}.registry').MODELS
    return registry.build(dict(type=f'{lib}.{cls}', out_indices=(0, 1, 2, 3), **kwargs))


def _random_host(lib, cls, depth):
    torch.manual_seed(depth)
    model = _host(lib, cls, depth=depth)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, mode='fan_out')
    randomize_bn_(model).eval()  # (mmdet's ResNet.train returns None: no chaining)
    return model


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('lib, cls', list(HOST_IMPLIES))
def test_round_trip_through_the_host_class(tmp_path, lib, cls, depth):
    variant, _ = HOST_IMPLIES[(lib, cls)]
    host = _random_host(lib, cls, depth)
    src = tmp_path / 'host.pth'
    save_checkpoint({'state_dict': host.state_dict(), 'meta': {}}, str(src))
    # in: the strict loader maps the host layout (every key, nothing left over)
    ours = BoTResNet(
        depth=depth, variant=variant, init_cfg=dict(type='Pretrained', checkpoint=str(src))
    ).eval()
    ours.init_weights()
    with torch.no_grad():
        expected = host(X)
        for a, b in zip(ours(X), expected):
            assert_close(a, b, rtol=1e-5, atol=1e-5)
    # out: export of a converted-style backbone checkpoint to the host's layout
    bb = tmp_path / 'backbone.pth'
    torch.save(
        {
            'state_dict': {f'backbone.{k}': v for k, v in ours.state_dict().items()},
            'meta': dict(architecture=dict(depth=depth, variant=variant)),
        },
        str(bb),
    )
    out = tmp_path / f'to_{lib}.pth'
    cli_transfer.main(['export', str(bb), str(out), '--to', lib])
    state = safe_torch_load(str(out))['state_dict']
    if lib == 'mmpretrain':
        state = {k[len('backbone.') :]: v for k, v in state.items()}
    back = _host(lib, cls, depth=depth)
    back.eval()
    back.load_state_dict(state, strict=True)
    with torch.no_grad():
        for a, b in zip(back(X), expected):
            assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    'lib, cls', [('mmdet', 'ResNetV1d'), ('mmseg', 'ResNetV1c'), ('mmpretrain', 'ResNetV1d')]
)
def test_export_loads_through_the_host_s_stock_pretrained_init_without_warnings(
    tmp_path, lib, cls, caplog
):
    variant, _ = HOST_IMPLIES[(lib, cls)]
    ours = randomize_bn_(BoTResNet(depth=18, variant=variant)).eval()
    bb = tmp_path / 'backbone.pth'
    torch.save(
        {'state_dict': {f'backbone.{k}': v for k, v in ours.state_dict().items()}, 'meta': {}},
        str(bb),
    )
    out = tmp_path / 'out.pth'
    cli_transfer.main(['export', str(bb), str(out), '--to', lib, '--arch', f'resnet18{variant}'])
    prefix = dict(prefix='backbone.') if lib == 'mmpretrain' else {}
    host = _host(
        lib, cls, depth=18, init_cfg=dict(type='Pretrained', checkpoint=str(out), **prefix)
    )
    logger = MMLogger.get_current_instance()
    logger.propagate = True
    with caplog.at_level(logging.WARNING):
        host.init_weights()
    assert not [
        r for r in caplog.records if 'missing' in r.getMessage() or 'unexpected' in r.getMessage()
    ]
    host.eval()
    with torch.no_grad():
        for a, b in zip(host(X), ours(X)):
            assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_open_mmlab_v1c_layout_imports_and_equals_mmseg(tmp_path):
    """``open-mmlab://resnet50_v1c``'s layout: mmseg's ResNetV1c saved as mmcv saves (a backbone
    alone, no head), imported with --from mmseg and used for transfer."""
    host = _random_host('mmseg', 'ResNetV1c', 50)
    src = tmp_path / 'resnet50_v1c.pth'
    save_checkpoint({'state_dict': host.state_dict(), 'meta': {}}, str(src))
    out = tmp_path / 'imported.pth'
    meta = cli_transfer.main(['import', str(src), str(out), '--from', 'mmseg'])
    assert meta['architecture']['variant'] == 'c'
    assert meta['provenance']['top1_kind'] == 'no classifier head'
    assert meta['provenance']['source_layout'] == 'mmcv'
    ours = BoTResNet(depth=50, variant='c').eval()
    ours.load_state_dict(
        {k[len('backbone.') :]: v for k, v in safe_torch_load(str(out))['state_dict'].items()},
        strict=True,
    )
    with torch.no_grad():
        for a, b in zip(ours(X), host(X)):
            assert_close(a, b, rtol=1e-5, atol=1e-5)
    # a type-only config naming such weights gets their architecture (the defaults rule)
    built = BoTResNet(
        depth=50, style='pytorch', init_cfg=dict(type='Pretrained', checkpoint=str(src))
    )
    assert built.variant == 'c'


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize(
    'cls, kwargs, variant',
    [
        ('ResNet', {}, 'b'),
        ('ResNetV1c', {}, 'c'),
        ('ResNetV1d', {}, 'd'),
    ],
)
def test_headless_mmpretrain_backbones_import_for_transfer(tmp_path, depth, cls, kwargs, variant):
    host = _random_host('mmpretrain', cls, depth)
    src = tmp_path / 'backbone.pth'
    save_checkpoint({'state_dict': host.state_dict(), 'meta': {}}, str(src))
    out = tmp_path / 'imported.pth'
    arch = f'resnet{depth}' if variant == 'b' else None
    meta = import_classifier(str(src), str(out), source='mmpretrain', arch=arch)
    assert meta['provenance']['top1'] is None
    assert meta['provenance']['top1_kind'] == 'no classifier head'
    state = safe_torch_load(str(out))['state_dict']
    assert not [k for k in state if not k.startswith('backbone.')]
    ours = BoTResNet(depth=depth, variant=variant).eval()
    ours.load_state_dict({k[9:]: v for k, v in state.items()}, strict=True)
    with torch.no_grad():
        for a, b in zip(ours(X), host(X)):
            assert_close(a, b, rtol=1e-5, atol=1e-5)
    # what needs a head refuses it, saying why
    with pytest.raises(LayoutError, match='a backbone imported without its head'):
        cli_transfer.main(['export', str(out), str(tmp_path / 't.pth'), '--to', 'timm'])
    with pytest.raises(LayoutError, match='has no classifier head'):
        import_classifier(
            str(src), str(tmp_path / 'x.pth'), source='mmpretrain', arch=arch, top1=76.0
        )


def test_ssl_checkpoint_skips_neck_and_projection_head_by_name(tmp_path):
    host = _random_host('mmpretrain', 'ResNet', 18)
    state = {f'backbone.{k}': v for k, v in host.state_dict().items()}
    state.update(
        {
            'neck.mlp.0.weight': torch.zeros(4, 512),
            'head.predictor.weight': torch.zeros(4, 4),
            'momentum_encoder.0.weight': torch.zeros(1),
        }
    )
    src = tmp_path / 'ssl.pth'
    save_checkpoint({'state_dict': state, 'meta': {}}, str(src))
    meta = import_classifier(str(src), str(tmp_path / 'o.pth'), arch='resnet18')
    assert sorted(meta['provenance']['skipped_parts']) == [
        'head (not a linear head.fc)',
        'momentum_encoder',
        'neck',
    ]
    state['mystery.weight'] = torch.zeros(1)
    save_checkpoint({'state_dict': state, 'meta': {}}, str(src))
    with pytest.raises(ValueError, match=r'mystery\.weight.*skipped by name'):
        import_classifier(str(src), str(tmp_path / 'o.pth'), arch='resnet18')


def test_mmpretrain_resnet_spelled_with_deep_stem_and_avg_down(tmp_path):
    """mmpretrain's ``ResNet(deep_stem=True, avg_down=True)`` = V1d, named so in meta.cfg."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, deep_stem=True, avg_down=True),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=512),
    )
    model = MODELS.build(copy.deepcopy(cfg))
    randomize_bn_(model)
    model.eval()
    src = tmp_path / 'c.pth'
    save_checkpoint(
        {'state_dict': model.state_dict(), 'meta': dict(cfg=Config(dict(model=cfg)).pretty_text)},
        str(src),
    )
    meta = import_classifier(str(src), str(tmp_path / 'o.pth'))
    assert meta['architecture']['variant'] == 'd'
    meta = import_classifier(str(src), str(tmp_path / 'o.pth'), arch='resnetv1d18')
    assert meta['architecture']['name'] == 'resnet18d'
    state = safe_torch_load(str(tmp_path / 'o.pth'))['state_dict']
    ours = BoTResNet(depth=18, variant='d', out_indices=(3,)).eval()
    ours.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    with torch.no_grad():
        assert_close(ours(X)[0], model.backbone(X)[-1], rtol=1e-5, atol=1e-5)


def test_torchvision_weights_into_a_d_model_name_the_fix(tmp_path):
    import torchvision

    tv = torchvision.models.resnet18()
    src = tmp_path / 'resnet18.pth'
    torch.save(tv.state_dict(), str(src))
    model = BoTResNet(depth=18, variant='d', init_cfg=dict(type='Pretrained', checkpoint=str(src)))
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    text = str(err.value)
    assert 'The file is ResNet-18 variant A/B' in text
    assert "variant='b' (style='pytorch')" in text
    assert 'tools/transfer.py import' in text and 'convert' in text


def test_one_inferrer_reads_every_host_layout():
    for (lib, cls), (variant, _) in HOST_IMPLIES.items():
        for depth in (18, 50):
            state, layout = to_bot(_host(lib, cls, depth=depth).state_dict())
            found = infer_layout(state)
            assert found.depth == depth and variant in found.variants, (lib, cls, depth)
            # A/B keys are the same everywhere: only deep stems and avg-down differ
            expected = 'bot' if variant == 'b' else {'mmdet': 'mmcv', 'mmseg': 'mmcv'}.get(lib, lib)
            assert layout == expected


@pytest.mark.parametrize(
    'extra',
    [
        dict(
            dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
            stage_with_dcn=(False, True, True, True),
        ),
        dict(
            plugins=[
                dict(
                    cfg=dict(type='ContextBlock', ratio=1.0 / 16),
                    stages=(False, True, True, True),
                    position='after_conv3',
                )
            ]
        ),
    ],
    ids=['dcnv2', 'gcnet'],
)
def test_plain_resnet_weights_into_dcn_and_plugin_models_as_the_host(tmp_path, extra):
    """A stock DCN / GCNet config names plain ImageNet weights: the added modules (offsets,
    context blocks) are not in the file and keep their own init, as in mmdet's ResNet with the
    same init_cfg; every other key loads strictly, and the outputs equal the host's."""
    src = tmp_path / 'r50.pth'
    save_checkpoint({'state_dict': _random_host('mmdet', 'ResNet', 50).state_dict()}, str(src))
    init = dict(type='Pretrained', checkpoint=str(src))
    host = _host('mmdet', 'ResNet', depth=50, init_cfg=init, **extra)
    host.init_weights()
    host.eval()
    ours = BoTResNet(depth=50, style='pytorch', init_cfg=init, out_indices=(0, 1, 2, 3), **extra)
    ours.init_weights()
    ours.eval()
    with torch.no_grad():
        for a, b in zip(ours(X), host(X)):
            assert_close(a, b, rtol=1e-5, atol=1e-5)
    # a file that has some of an added module's keys must have all of them
    state = {k: v for k, v in ours.state_dict().items()}
    dropped = [k for k in state if '.conv_offset.' in k or '.context_block.' in k][1:]
    torch.save({k: v for k, v in state.items() if k not in dropped}, str(tmp_path / 'part.pth'))
    part = BoTResNet(
        depth=50,
        style='pytorch',
        **extra,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'part.pth')),
    )
    with pytest.raises(CheckpointMismatchError, match='missing keys'):
        part.init_weights()


def test_timm_headless_state_dict_imports_for_transfer(tmp_path):
    import timm

    model = timm.create_model('resnet18d', num_classes=0)
    randomize_bn_(model).eval()
    torch.save(model.state_dict(), str(tmp_path / 'r18d.pth'))
    out = tmp_path / 'o.pth'
    meta = import_classifier(str(tmp_path / 'r18d.pth'), str(out), source='timm')
    assert (meta['architecture']['variant'], meta['provenance']['top1_kind']) == (
        'd',
        'no classifier head',
    )
    ours = BoTResNet(depth=18, variant='d', out_indices=(3,)).eval()
    state = safe_torch_load(str(out))['state_dict']
    ours.load_state_dict({k[len('backbone.') :]: v for k, v in state.items()}, strict=True)
    with torch.no_grad():
        assert_close(ours(X)[0], model.forward_features(X), rtol=1e-5, atol=1e-5)
