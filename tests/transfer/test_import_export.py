"""Import of timm / torchvision / mmpretrain ResNets and export back, against the libraries.

Each case builds the library's own model with random weights and perturbed BN statistics, saves
it the way that library saves, imports it with ``tools/transfer.py import``, and asserts that the
imported tricks_mm classifier gives the library model's logits and every stage's features.
"""

import argparse
import copy
import sys
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import save_checkpoint
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from safetensors.torch import load_file, save_file
from torch.testing import assert_close

from tricks_mm.cli import transfer as cli_transfer
from tricks_mm.engine.safe_checkpoint import UnsafeCheckpointError, safe_torch_load
from tricks_mm.models.backbones.bot_resnet import BoTResNet
from tricks_mm.models.pretrained import load_strict
from tricks_mm.transfer.convert import convert_classifier
from tricks_mm.transfer.export import export_classifier
from tricks_mm.transfer.importers import LayoutError, import_classifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'models'))
from _random_bn import randomize_bn_  # noqa: E402  (the shared helper of tests/models)

NUM_CLASSES = 7
TIGHT = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(scope='module')
def images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def _random(model: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
    return randomize_bn_(model).eval()


def _torch_stages(model: torch.nn.Module, x: torch.Tensor, act: str):
    x = model.maxpool(getattr(model, act)(model.bn1(model.conv1(x))))
    feats = []
    for i in range(1, 5):
        x = getattr(model, f'layer{i}')(x)
        feats.append(x)
    return feats


def _imported(out: Path):
    """The imported classifier (from its own config + checkpoint) and a 4-stage backbone."""
    cfg = Config.fromfile(str(out.with_suffix('.py')))
    classifier = MMPRETRAIN_MODELS.build(copy.deepcopy(cfg.model)).eval()
    classifier.load_state_dict(safe_torch_load(str(out))['state_dict'], strict=True)
    kwargs = {k: v for k, v in cfg.model.backbone.items() if k != 'type'}
    kwargs['out_indices'] = (0, 1, 2, 3)
    backbone = BoTResNet(**kwargs).eval()
    load_strict(backbone, str(out), prefix='backbone.')
    return classifier, backbone


def _check_equal(out: Path, x: torch.Tensor, logits: torch.Tensor, feats) -> None:
    classifier, backbone = _imported(out)
    with torch.no_grad():
        assert_close(classifier(x, mode='tensor'), logits, **TIGHT)
        ours = backbone(x)
    assert len(ours) == len(feats) == 4
    for a, b in zip(ours, feats):
        assert_close(a, b, **TIGHT)


# --------------------------------------------------------------------------------------------
# timm


def _timm_save(model: torch.nn.Module, path: Path, form: str, arch: str) -> Path:
    if form == 'safetensors':
        path = path.with_suffix('.safetensors')
        save_file(model.state_dict(), str(path))
    elif form in ('train', 'train-ema'):
        # as timm/utils/checkpoint_saver.py writes it
        args = argparse.Namespace(model=arch, lr=0.1, epochs=3, model_ema=form == 'train-ema')
        state = dict(
            epoch=2,
            arch=arch,
            state_dict=model.state_dict(),
            optimizer=dict(state={}, param_groups=[dict(lr=0.1, params=[0])]),
            version=2,
            args=args,
        )
        if form == 'train-ema':
            state['state_dict'] = {k: torch.zeros_like(v) for k, v in state['state_dict'].items()}
            state['state_dict_ema'] = model.state_dict()
        torch.save(state, str(path))
    else:
        path = path.with_suffix('.' + form)
        torch.save(model.state_dict(), str(path))
    return path


@pytest.mark.parametrize(
    'arch,form',
    [
        ('resnet18d', 'pth'),
        ('resnet18d', 'safetensors'),
        ('resnet18d', 'train'),
        ('resnet18d', 'train-ema'),
        ('resnet50d', 'safetensors'),
        ('resnet50c', 'train'),
        ('resnet50', 'pth'),
        ('resnet50s', 'bin'),
    ],
)
def test_timm_import_equals_timm(tmp_path, images, arch, form):
    model = _random(timm.create_model(arch, num_classes=NUM_CLASSES))
    src = _timm_save(model, tmp_path / 'src.pth', form, arch)
    out = tmp_path / 'imported.pth'
    argv = ['import', str(src), str(out), '--top1', '80.1']
    argv += ['--from', 'timm'] if arch == 'resnet50' else []  # plain stem: timm == torchvision
    argv += ['--ema'] if form == 'train-ema' else []
    meta = cli_transfer.main(argv)
    with torch.no_grad():
        _check_equal(out, images, model(images), _torch_stages(model, images, 'act1'))
    stored = safe_torch_load(str(out))['meta']
    assert stored['provenance']['source_library'] == 'timm'
    assert stored['provenance']['top1'] == 80.1
    assert stored['input_normalization'] == dict(
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], scale=1, channel_order='RGB'
    )
    expected = dict(
        resnet18d=(18, 'd'),
        resnet50d=(50, 'd'),
        resnet50c=(50, 'c'),
        resnet50=(50, 'b'),
        resnet50s=(50, 'c'),
    )[arch]
    assert (meta['architecture']['depth'], meta['architecture']['variant']) == expected
    if form.startswith('train'):
        assert stored['provenance']['timm_model'] == arch and stored['provenance']['epoch'] == 2


def test_imported_checkpoint_flows_through_convert(tmp_path, images):
    """``convert`` accepts an import unchanged; the backbone loads strictly downstream."""
    model = _random(timm.create_model('resnet18d', num_classes=NUM_CLASSES))
    src = _timm_save(model, tmp_path / 'src.pth', 'pth', 'resnet18d')
    out, backbone_ckpt = tmp_path / 'cls.pth', tmp_path / 'backbone.pth'
    import_classifier(str(src), str(out))
    meta = convert_classifier(str(out), str(backbone_ckpt))
    assert {k: meta['architecture'][k] for k in ('depth', 'variant')} == dict(depth=18, variant='d')
    backbone = BoTResNet(depth=18, variant='d', out_indices=(0, 1, 2, 3)).eval()
    load_strict(backbone, str(backbone_ckpt), prefix='backbone.')
    with torch.no_grad():
        for a, b in zip(backbone(images), _torch_stages(model, images, 'act1')):
            assert_close(a, b, **TIGHT)


# --------------------------------------------------------------------------------------------
# torchvision


@pytest.mark.parametrize('depth', [18, 50])
def test_torchvision_import_equals_torchvision(tmp_path, images, depth):
    model = _random(getattr(torchvision.models, f'resnet{depth}')(num_classes=NUM_CLASSES))
    src = tmp_path / f'resnet{depth}.pth'
    state = model.state_dict()
    if depth == 18:  # torchvision's pre-0.4 files have no num_batches_tracked
        state = {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    torch.save(state, str(src))
    out = tmp_path / 'imported.pth'
    meta = import_classifier(str(src), str(out), source='torchvision')
    assert meta['architecture']['variant'] == 'b'
    with torch.no_grad():
        _check_equal(out, images, model(images), _torch_stages(model, images, 'relu'))


# --------------------------------------------------------------------------------------------
# mmpretrain


def _mmpretrain_classifier(kind: str, depth: int, style: str = 'pytorch'):
    backbone = dict(type=kind, depth=depth, out_indices=(0, 1, 2, 3))
    if style != 'pytorch':
        backbone['style'] = style
    cfg = dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=512 if depth < 50 else 2048
        ),
    )
    model = MMPRETRAIN_MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return _random(model), cfg


def _mmpretrain_save(model, cfg, path: Path, preprocessor=None, with_meta: bool = True) -> Path:
    """As mmengine's runner saves: meta (with the config text), state_dict, message_hub."""
    hub = MessageHub.get_instance(f'import-test-{path.name}')
    hub.update_scalar('train/loss', 1.5)
    checkpoint = dict(
        state_dict=model.state_dict(),
        message_hub=hub.state_dict(),
        optimizer=dict(state={}, param_groups=[dict(lr=0.1, params=[0])]),
    )
    if with_meta:
        text = Config(
            dict(
                model=cfg,
                data_preprocessor=preprocessor
                or dict(
                    num_classes=NUM_CLASSES,
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375],
                    to_rgb=True,
                ),
            )
        ).pretty_text
        checkpoint['meta'] = dict(
            cfg=text,
            epoch=100,
            iter=5000,
            mmengine_version='0.10.7',
            dataset_meta=dict(classes=[str(i) for i in range(7)]),
        )
    save_checkpoint(checkpoint, str(path))
    return path


@pytest.mark.parametrize(
    'kind,depth,style,variant',
    [
        ('ResNet', 18, 'pytorch', 'b'),
        ('ResNet', 50, 'pytorch', 'b'),
        ('ResNet', 50, 'caffe', 'a'),
        ('ResNetV1c', 18, 'pytorch', 'c'),
        ('ResNetV1c', 50, 'pytorch', 'c'),
        ('ResNetV1d', 18, 'pytorch', 'd'),
        ('ResNetV1d', 50, 'pytorch', 'd'),
    ],
)
def test_mmpretrain_import_equals_mmpretrain(tmp_path, images, kind, depth, style, variant):
    model, cfg = _mmpretrain_classifier(kind, depth, style)
    src = _mmpretrain_save(model, cfg, tmp_path / 'epoch_100.pth')
    out = tmp_path / 'imported.pth'
    meta = cli_transfer.main(['import', str(src), str(out)])  # auto: backbone.* = mmpretrain
    assert meta['architecture'] == dict(
        depth=depth, variant=variant, name=f'resnet{depth}' + ('' if variant == 'b' else variant)
    )
    assert meta['provenance']['source_library'] == 'mmpretrain'
    with torch.no_grad():
        _check_equal(out, images, model(images, mode='tensor'), model.backbone(images))


def test_mmpretrain_normalisation_is_read_from_the_checkpoint_config(tmp_path):
    model, cfg = _mmpretrain_classifier('ResNetV1d', 18)
    src = _mmpretrain_save(
        model,
        cfg,
        tmp_path / 'c.pth',
        preprocessor=dict(
            num_classes=NUM_CLASSES,
            mean=[103.53, 116.28, 123.675],
            std=[1.0, 1.0, 1.0],
            to_rgb=False,
        ),
    )
    meta = import_classifier(str(src), str(tmp_path / 'out.pth'))
    assert meta['input_normalization'] == dict(
        mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], scale=255, channel_order='BGR'
    )
    text = (tmp_path / 'out.py').read_text()
    assert 'to_rgb=False' in text and '103.53' in text


def test_mmpretrain_without_config_needs_arch_for_a_vs_b(tmp_path, images):
    """A vs B is invisible in the weights: refused without --arch, exact with it."""
    model, cfg = _mmpretrain_classifier('ResNet', 50, 'caffe')
    src = _mmpretrain_save(model, cfg, tmp_path / 'c.pth', with_meta=False)
    out = tmp_path / 'out.pth'
    with pytest.raises(LayoutError, match='pass --arch resnet50a or --arch resnet50b'):
        import_classifier(str(src), str(out))
    import_classifier(str(src), str(out), arch='resnet50a')
    with torch.no_grad():
        _check_equal(out, images, model(images, mode='tensor'), model.backbone(images))
    # the wrong choice is a different network: the test above can fail
    import_classifier(str(src), str(out), arch='resnet50b')
    classifier, _ = _imported(out)
    with torch.no_grad():
        assert not torch.allclose(
            classifier(images, mode='tensor'), model(images, mode='tensor'), rtol=1e-3, atol=1e-3
        )


# --------------------------------------------------------------------------------------------
# refusals


def test_unknown_layouts_are_refused_naming_the_keys(tmp_path):
    se = timm.create_model('seresnet18', num_classes=NUM_CLASSES)
    torch.save(se.state_dict(), str(tmp_path / 'se.pth'))
    with pytest.raises(LayoutError, match=r'keys that did not map \[layer1\.0\.se\.fc1'):
        import_classifier(str(tmp_path / 'se.pth'), str(tmp_path / 'o.pth'), source='timm')
    torch.save({'encoder.weight': torch.zeros(3, 3)}, str(tmp_path / 'x.pth'))
    with pytest.raises(LayoutError, match=r'not a ResNet.*encoder\.weight'):
        import_classifier(str(tmp_path / 'x.pth'), str(tmp_path / 'o.pth'), source='timm')
    plain = timm.create_model('resnet18', num_classes=NUM_CLASSES)
    torch.save(plain.state_dict(), str(tmp_path / 'r18.pth'))
    with pytest.raises(ValueError, match='--from timm or --from torchvision'):
        import_classifier(str(tmp_path / 'r18.pth'), str(tmp_path / 'o.pth'))
    assert not (tmp_path / 'o.pth').exists()


@pytest.mark.parametrize(
    'arch,match',
    [
        ('resnet50c', r'variant C but the weights are D'),
        ('resnet101d', r'depth 101 but the weights .* depth 50'),
        ('resnet50', r'variant B but the weights are D'),
        ('resnet50s', r'variant C but the weights are D'),
        ('densenet121', r'not a ResNet name'),
    ],
)
def test_arch_contradicting_the_weights_is_refused(tmp_path, arch, match):
    model = timm.create_model('resnet50d', num_classes=NUM_CLASSES)
    torch.save(model.state_dict(), str(tmp_path / 'd.pth'))
    with pytest.raises(ValueError, match=match):
        import_classifier(str(tmp_path / 'd.pth'), str(tmp_path / 'o.pth'), arch=arch)


def _touch(path):
    Path(path).write_text('payload ran')


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return _touch, (self.marker,)


def test_timm_checkpoint_with_a_foreign_object_is_refused_and_never_runs(tmp_path):
    model = timm.create_model('resnet18d', num_classes=NUM_CLASSES)
    marker = tmp_path / 'ran'
    src = tmp_path / 'evil.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            arch='resnet18d',
            args=argparse.Namespace(model='resnet18d'),
            extra=_Payload(str(marker)),
        ),
        str(src),
    )
    for source in ('timm', 'auto'):
        with pytest.raises(UnsafeCheckpointError, match='_touch'):
            import_classifier(str(src), str(tmp_path / 'o.pth'), source=source)
        assert not marker.exists()
    # argparse.Namespace is allowed for timm train.py files only, not for other loads
    clean = tmp_path / 'train.pth'
    torch.save(
        dict(state_dict=model.state_dict(), args=argparse.Namespace(model='resnet18d')), str(clean)
    )
    with pytest.raises(UnsafeCheckpointError, match='Namespace'):
        import_classifier(str(clean), str(tmp_path / 'o.pth'), source='torchvision')
    with pytest.raises(UnsafeCheckpointError, match='Namespace'):
        safe_torch_load(str(clean))
    torch.load(str(src), weights_only=False)  # the payload is live: unrestricted pickle runs it
    assert marker.read_text() == 'payload ran'


# --------------------------------------------------------------------------------------------
# export


def test_export_round_trip_to_timm(tmp_path, images):
    model = _random(timm.create_model('resnet50d', num_classes=NUM_CLASSES))
    src = _timm_save(model, tmp_path / 'src.pth', 'pth', 'resnet50d')
    import_classifier(str(src), str(tmp_path / 'cls.pth'))
    for name in ('back.pth', 'back.safetensors'):
        info = cli_transfer.main(
            ['export', str(tmp_path / 'cls.pth'), str(tmp_path / name), '--to', 'timm']
        )
        assert info['model'] == 'resnet50d'
        fresh = timm.create_model(info['model'], num_classes=info['num_classes'])
        state = (
            safe_torch_load(str(tmp_path / name))
            if name.endswith('.pth')
            else load_file(str(tmp_path / name))
        )
        fresh.load_state_dict(state, strict=True)
        with torch.no_grad():
            assert_close(fresh.eval()(images), model(images), **TIGHT)


_PAPER_INPUT = dict(mean=[123.68, 116.779, 103.939], std=[58.393, 57.12, 57.375], to_rgb=True)


def _tricks_classifier(tmp_path: Path, depth: int, variant: str) -> Path:
    """A classifier as tools/train.py writes it (BoTResNet, meta.cfg of the run)."""
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(
            type='tricks_mm.BoTResNet',
            depth=depth,
            variant=variant,
            out_indices=(3,),
            zero_init_residual=False,
        ),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=512 if depth < 50 else 2048
        ),
    )
    model = MMPRETRAIN_MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    _random(model)
    path = tmp_path / f'tricks_{depth}{variant}.pth'
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            # a run's config: the model and the input normalisation export carries along
            meta=dict(cfg=Config(dict(model=cfg, data_preprocessor=_PAPER_INPUT)).pretty_text),
        ),
        str(path),
    )
    return path, model


def test_export_round_trip_to_torchvision(tmp_path, images):
    path, model = _tricks_classifier(tmp_path, 18, 'b')
    info = export_classifier(str(path), str(tmp_path / 'tv.pth'), 'torchvision')
    assert info['model'] == 'resnet18'
    tv = torchvision.models.resnet18(num_classes=NUM_CLASSES)
    tv.load_state_dict(safe_torch_load(str(tmp_path / 'tv.pth')), strict=True)
    with torch.no_grad():
        assert_close(tv.eval()(images), model(images, mode='tensor'), **TIGHT)


@pytest.mark.parametrize(
    'to,depth,variant,match',
    [
        ('torchvision', 18, 'd', 'torchvision has only variant B'),
        ('timm', 50, 'a', 'variant A'),
        ('timm', 18, 'c', "timm.create_model has no 'resnet18c'"),
    ],
)
def test_export_refuses_what_the_library_cannot_build(tmp_path, to, depth, variant, match):
    path, _ = _tricks_classifier(tmp_path, depth, variant)
    with pytest.raises(LayoutError, match=match):
        export_classifier(str(path), str(tmp_path / 'o.pth'), to)


def test_normalisation_override_from_the_command_line(tmp_path):
    model = timm.create_model('resnet18d', num_classes=NUM_CLASSES)
    src = _timm_save(model, tmp_path / 'src.pth', 'pth', 'resnet18d')
    out = tmp_path / 'o.pth'
    meta = cli_transfer.main(
        [
            'import',
            str(src),
            str(out),
            '--mean',
            '0.5',
            '0.5',
            '0.5',
            '--std',
            '0.5',
            '0.5',
            '0.5',
            '--scale',
            '1',
            '--channel-order',
            'RGB',
        ]
    )
    assert meta['input_normalization'] == dict(
        mean=[0.5] * 3, std=[0.5] * 3, scale=1, channel_order='RGB'
    )
    assert Config.fromfile(str(out.with_suffix('.py'))).data_preprocessor.mean == [127.5] * 3
    with pytest.raises(SystemExit):
        cli_transfer.main(['import', str(src), str(out), '--mean', '0.5', '0.5', '0.5'])
