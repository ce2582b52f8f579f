"""Classifier -> backbone conversion, provenance, strict downstream loading, stock-config swap.

The transfer contract (``tricks_mm/transfer/convert.py``): a classifier checkpoint converted by
``tools/transfer.py convert`` loads with ``prefix='backbone.'`` and zero missing keys into the
Faster R-CNN and the dilated FCN backbone of the same variant and depth, refuses (naming the keys)
any other architecture, and drops into mmdet's and mmseg's *own* configs.
"""

import copy
import functools
import hashlib
import json
from pathlib import Path

import pytest
import torch
from _known_metrics import perfect_scores
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope

from tricks_mm.cli import test as cli_test
from tricks_mm.cli import train as cli_train
from tricks_mm.cli import transfer as cli_transfer
from tricks_mm.config.setup import load_config
from tricks_mm.datasets.synthetic import CLASSES, PALETTE
from tricks_mm.engine.runner import StrictRunner
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.models.backbones.bot_resnet import BoTResNet
from tricks_mm.models.pretrained import CheckpointMismatchError
from tricks_mm.registry import MODELS as TRICKS_MODELS
from tricks_mm.transfer.convert import convert_classifier

REPO = Path(__file__).resolve().parents[2]
OVERLAY = REPO / 'configs' / 'toy' / 'classification.py'
CLS = REPO / 'configs' / 'classification'
DET_CFG = REPO / 'configs' / 'detection' / 'faster-rcnn_botr50-d-fpn_1x_voc0712.py'
SEG_CFG = REPO / 'configs' / 'segmentation' / 'fcn_botr50-d-d8_4xb4-80k_ade20k-512x512.py'

LOADERS = [
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'log_level=WARNING',
]
METAINFO = dict(classes=tuple(CLASSES), palette=[tuple(c) for c in PALETTE])


# --------------------------------------------------------------------------------------------
# helpers


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _load(path: Path, overlay: bool = False) -> Config:
    """Parse a config once per module (parsing dominates the cheap tests); callers copy."""
    return load_config(str(path), [str(OVERLAY)] if overlay else [])


def _classifier_cfg(
    rung: str = 'resnet50d_cosine_8xb128_in1k.py',
    depth: int = 18,
    variant: str = 'd',
    width: int = 64,
) -> Config:
    """A toy-overlaid classification rung with the given architecture."""
    cfg = copy.deepcopy(_load(CLS / rung, overlay=True))
    cfg.model.backbone.update(
        depth=depth, variant=variant, stem_channels=width, base_channels=width
    )
    cfg.model.head.in_channels = width * 8 * (4 if depth >= 50 else 1)
    return cfg


def _fabricate(cfg: Config, path: Path, seed: int = 0, with_cfg: bool = True) -> dict:
    """Save a checkpoint as mmengine's runner would: "trained" weights (the init plus noise,
    positive BN variances, so nothing equals a fresh init) and the config text in meta.cfg."""
    from mmpretrain.registry import MODELS

    model_cfg = copy.deepcopy(cfg.model.to_dict())
    # a distillation student's checkpoint holds exactly a plain classifier's keys
    for key in ('teacher', 'teacher_checkpoint', 'distill_loss'):
        model_cfg.pop(key, None)
    model_cfg['type'] = 'ImageClassifier'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    g = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    for key, value in state.items():
        if key.endswith('running_var'):
            value.copy_(0.5 + torch.rand(value.shape, generator=g))
        elif value.is_floating_point():
            value.add_(0.02 * torch.randn(value.shape, generator=g))
    meta = dict(epoch=3, iter=30)
    if with_cfg:
        meta['cfg'] = cfg.pretty_text
    torch.save({'meta': meta, 'state_dict': state}, str(path))
    return state


def _backbone_cfg(source: Path, depth: int, variant: str, checkpoint: Path) -> dict:
    """The backbone dict of a shipped downstream config, pointed at ``checkpoint``."""
    backbone = copy.deepcopy(_load(source).model.backbone.to_dict())
    backbone.pop('_delete_', None)
    backbone.update(depth=depth, variant=variant, norm_cfg=dict(type='BN', requires_grad=True))
    backbone['init_cfg'].update(checkpoint=str(checkpoint))
    return backbone


def _build_backbone(backbone_cfg: dict) -> BoTResNet:
    model = TRICKS_MODELS.build(dict(backbone_cfg, _scope_='tricks_mm'))
    assert isinstance(model, BoTResNet)
    return model


def _arch(meta: dict) -> dict:
    return {k: meta['architecture'][k] for k in ('depth', 'variant')}


def _scalar(runner: StrictRunner, key: str) -> float:
    return runner.message_hub.get_scalar(key).current()


def _assert_equal_to(state: dict, converted: dict) -> None:
    """``state`` (a backbone state dict) equals ``converted`` (``backbone.``-prefixed) exactly."""
    assert set(state) == {k[len('backbone.') :] for k in converted}
    differ = [k for k, v in state.items() if not torch.equal(v, converted['backbone.' + k])]
    assert not differ, differ


# --------------------------------------------------------------------------------------------
# conversion and provenance


@pytest.mark.slow
def test_convert_trained_classifier_with_cli(in_workspace, tmp_path, capsys):
    """A real 1-iteration run of the cosine rung, converted and inspected through the CLI."""
    work_dir = tmp_path / 'cls'
    runner = cli_train.main(
        [
            str(CLS / 'resnet50d_cosine_8xb128_in1k.py'),
            '--overlay',
            str(OVERLAY),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            'train_cfg.max_epochs=1',
            'train_dataloader.batch_size=8',
            'train_dataloader.dataset.indices=8',
            'val_dataloader.dataset.indices=6',
            *LOADERS,
        ]
    )
    cls_ckpt = work_dir / 'epoch_1.pth'
    out = tmp_path / 'backbone.pth'
    capsys.readouterr()
    meta = cli_transfer.main(['convert', str(cls_ckpt), str(out), '--top1', '41.5'])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(meta, default=str))

    source = safe_torch_load(str(cls_ckpt), map_location='cpu')['state_dict']
    converted = safe_torch_load(str(out), map_location='cpu')
    state = converted['state_dict']
    assert state and all(k.startswith('backbone.') for k in state)
    assert set(state) == {k for k in source if k.startswith('backbone.')}
    assert not any(k.startswith('head.') for k in state)
    for key, value in state.items():
        torch.testing.assert_close(value, source[key], rtol=0, atol=0, msg=key)
    _assert_equal_to(runner.model.backbone.state_dict(), state)

    assert converted['meta'] == meta
    assert meta['source_checkpoint'] == str(cls_ckpt)
    assert meta['source_sha256'] == _sha256(cls_ckpt)
    assert _arch(meta) == dict(depth=18, variant='d')
    assert meta['architecture']['stem_channels'] == 32  # the toy width, read from the weights
    assert meta['top1'] == 41.5
    assert meta['epoch'] == 1
    # what the run really did: on CPU the FP16 rung trained in FP32, so no 'fp16'
    assert meta['tricks'] == ['ResNet-18-D', 'no-bias-decay', 'zero-gamma', 'warmup', 'cosine']

    capsys.readouterr()
    inspected = cli_transfer.main(['inspect', str(out)])
    assert inspected == meta
    assert json.loads(capsys.readouterr().out)['source_sha256'] == _sha256(cls_ckpt)


@pytest.mark.parametrize(
    'rung, tricks',
    [
        ('resnet50_baseline_8xb32_in1k.py', ['ResNet-18-A']),
        (
            'resnet50_efficient_8xb128_in1k.py',
            ['ResNet-18-A', 'fp16', 'no-bias-decay', 'zero-gamma', 'warmup'],
        ),
        (
            'resnet50d_cosine_ls_8xb128_in1k.py',
            [
                'ResNet-18-D',
                'fp16',
                'no-bias-decay',
                'zero-gamma',
                'warmup',
                'cosine',
                'label-smoothing',
            ],
        ),
        (
            'resnet50d_cosine_ls_mixup_distill_8xb128_in1k.py',
            [
                'ResNet-18-D',
                'fp16',
                'no-bias-decay',
                'zero-gamma',
                'warmup',
                'cosine',
                'label-smoothing',
                'distillation',
                'mixup',
            ],
        ),
    ],
)
def test_provenance_tricks_from_stored_config(rung, tricks, tmp_path):
    cfg = _classifier_cfg(rung, variant=_load(CLS / rung, overlay=True).model.backbone.variant)
    ckpt = tmp_path / 'cls.pth'
    source = _fabricate(cfg, ckpt)
    out = tmp_path / 'backbone.pth'
    meta = convert_classifier(str(ckpt), str(out))
    assert meta['tricks'] == tricks
    assert _arch(meta) == dict(depth=18, variant=tricks[0][-1].lower())
    assert meta['source_config_note'] == 'parsed from meta.cfg (not executed)'
    assert meta['top1'] is None and meta['epoch'] == 3
    assert meta['source_sha256'] == _sha256(ckpt)
    state = safe_torch_load(str(out), map_location='cpu')['state_dict']
    assert set(state) == {k for k in source if k.startswith('backbone.')}
    for key, value in state.items():
        torch.testing.assert_close(value, source[key], rtol=0, atol=0, msg=key)


def test_provenance_from_explicit_config_and_plain_state_dict(tmp_path):
    cfg = _classifier_cfg('resnet50c_efficient_8xb128_in1k.py', depth=34, variant='c')
    ckpt = tmp_path / 'cls.pth'
    _fabricate(cfg, ckpt, with_cfg=False)
    # no config anywhere: weights still convert; the architecture comes from the weights (C is
    # visible: deep stem, plain shortcut), the tricks are unknown and the provenance says so
    meta = convert_classifier(str(ckpt), str(tmp_path / 'a.pth'))
    assert _arch(meta) == dict(depth=34, variant='c')
    assert meta['tricks'] is None and meta['source_config'] is None
    assert meta['source_config_note'].startswith('unknown: the checkpoint stores no meta.cfg')
    # the config given explicitly
    cfg_file = tmp_path / 'cls_cfg.py'
    cfg.dump(str(cfg_file))
    meta = convert_classifier(str(ckpt), str(tmp_path / 'b.pth'), config=str(cfg_file), top1=70.25)
    assert meta['source_config'] == str(cfg_file)
    assert _arch(meta) == dict(depth=34, variant='c')
    assert meta['tricks'][:2] == ['ResNet-34-C', 'fp16'] and meta['top1'] == 70.25
    # a bare state dict (no runner wrapper) converts the same weights
    bare = tmp_path / 'bare.pth'
    torch.save(safe_torch_load(str(ckpt), map_location='cpu')['state_dict'], str(bare))
    convert_classifier(str(bare), str(tmp_path / 'c.pth'))
    a = safe_torch_load(str(tmp_path / 'a.pth'), map_location='cpu')['state_dict']
    c = safe_torch_load(str(tmp_path / 'c.pth'), map_location='cpu')['state_dict']
    assert set(a) == set(c)
    for key in a:
        torch.testing.assert_close(a[key], c[key], rtol=0, atol=0)


def test_provenance_source_config_from_meta_names_the_checkpoint(tmp_path):
    ckpt = tmp_path / 'cls.pth'
    _fabricate(_classifier_cfg(), ckpt)
    meta = convert_classifier(str(ckpt), str(tmp_path / 'out.pth'))
    assert meta['source_config'] == f'{ckpt}#meta.cfg'


def _with_meta_cfg(ckpt: Path, text: str) -> None:
    checkpoint = safe_torch_load(str(ckpt), map_location='cpu')
    checkpoint['meta']['cfg'] = text
    torch.save(checkpoint, str(ckpt))


@pytest.mark.parametrize(
    'payload',
    [
        "import os\nopen({marker!r}, 'w').write('ran')\n",
        "model = dict(x=open({marker!r}, 'w').write('ran'))\n",
        "default_scope = __import__('builtins').open({marker!r}, 'w')\n",
    ],
)
def test_code_in_meta_cfg_never_runs(payload, tmp_path, capsys):
    """A classifier checkpoint from elsewhere whose meta.cfg writes a file: convert and inspect
    succeed, record the tricks as unknown with the reason, and the file never appears."""
    cfg = _classifier_cfg()
    ckpt = tmp_path / 'cls.pth'
    _fabricate(cfg, ckpt)
    marker = tmp_path / 'pwned'
    _with_meta_cfg(ckpt, payload.format(marker=str(marker)) + cfg.pretty_text)

    out = tmp_path / 'backbone.pth'
    meta = cli_transfer.main(['convert', str(ckpt), str(out)])
    assert not marker.exists()
    assert meta['tricks'] is None and meta['source_config'] is None
    assert meta['source_config_note'].startswith('unknown: meta.cfg is not plain literal')
    assert 'never executed' in meta['source_config_note']
    assert _arch(meta) == dict(depth=18, variant='d')  # from the weights
    for path in (out, ckpt):  # inspect the converted file and the hostile source itself
        cli_transfer.main(['inspect', str(path)])
        assert not marker.exists()
    capsys.readouterr()

    # the payload is live: mmengine's own reader (what convert used to call) runs it
    live = tmp_path / 'live'
    try:
        Config.fromstring(payload.format(marker=str(live)) + 'x = 1\n', '.py')
    except Exception:  # noqa: BLE001  (what mmengine makes of the result does not matter)
        pass
    assert live.exists()


def test_provenance_takes_the_defaults_of_what_ran(tmp_path):
    """A classifier config that omits every defaulted backbone key (variant, zero gamma, widths):
    the provenance records what BoTResNet built with its defaults (ResNet-D, zero gamma)."""
    from mmpretrain.registry import MODELS

    cfg = _classifier_cfg()
    cfg.model.backbone = dict(type='tricks_mm.BoTResNet', depth=18, out_indices=(3,))
    cfg.model.head.in_channels = 512
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        built = MODELS.build(copy.deepcopy(cfg.model.to_dict())).backbone
    built.init_weights()
    # the reference: what the built model is
    assert built.variant == 'd' and all(
        torch.count_nonzero(blk.last_norm.weight) == 0
        for layer in built.res_layers
        for blk in layer
    )
    ckpt = tmp_path / 'cls.pth'
    _fabricate(cfg, ckpt)
    meta = convert_classifier(str(ckpt), str(tmp_path / 'out.pth'))
    assert _arch(meta) == dict(depth=18, variant=built.variant)
    assert meta['tricks'][0] == 'ResNet-18-D' and 'zero-gamma' in meta['tricks']


def test_a_and_b_come_from_the_config_and_must_fit_the_weights(tmp_path):
    """A vs B is invisible in the weights: the config decides; a config that names (or defaults
    to) a variant the weights cannot be is refused, naming both."""
    cfg = _classifier_cfg(variant='b')
    ckpt = tmp_path / 'cls.pth'
    _fabricate(cfg, ckpt, with_cfg=False)
    meta = convert_classifier(str(ckpt), str(tmp_path / 'a.pth'))
    assert _arch(meta) == dict(depth=18, variant=None)
    assert "one of ['a', 'b']" in meta['architecture']['variant_note']
    cfg_file = tmp_path / 'b.py'
    cfg.dump(str(cfg_file))
    meta = convert_classifier(str(ckpt), str(tmp_path / 'b.pth'), config=str(cfg_file))
    assert _arch(meta) == dict(depth=18, variant='b') and meta['tricks'][0] == 'ResNet-18-B'
    del cfg.model.backbone['variant']  # BoTResNet's default: 'd', which these weights are not
    cfg.dump(str(cfg_file))
    with pytest.raises(ValueError, match="variant 'd' but its weights are depth 18 variant a or b"):
        convert_classifier(str(ckpt), str(tmp_path / 'c.pth'), config=str(cfg_file))
    assert not (tmp_path / 'c.pth').exists()


def test_convert_refuses_checkpoint_without_backbone_keys(tmp_path):
    ckpt = tmp_path / 'plain.pth'
    torch.save({'state_dict': BoTResNet(18, 'd').state_dict()}, str(ckpt))
    with pytest.raises(ValueError, match=r"no 'backbone\.' keys \(first keys: conv1\.0\.weight"):
        convert_classifier(str(ckpt), str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()


# --------------------------------------------------------------------------------------------
# strict loading into the downstream backbones

WRONG_VARIANT = {'a': 'c', 'b': 'd', 'c': 'd', 'd': 'b'}
WRONG_DEPTH = {18: 34, 34: 18, 50: 34}
ARCHS = [(v, d) for d in (18, 34) for v in 'abcd'] + [('d', 50)]


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """``(variant, depth) -> (converted checkpoint path, its state dict)``, made on demand."""
    root = tmp_path_factory.mktemp('converted')
    cache = {}

    def get(variant: str, depth: int):
        if (variant, depth) not in cache:
            cls_ckpt = root / f'cls_{variant}{depth}.pth'
            _fabricate(
                _classifier_cfg(depth=depth, variant=variant),
                cls_ckpt,
                seed=depth + ord(variant),
                with_cfg=False,
            )
            out = root / f'backbone_{variant}{depth}.pth'
            convert_classifier(str(cls_ckpt), str(out))
            cache[variant, depth] = out, safe_torch_load(str(out), map_location='cpu')['state_dict']
        return cache[variant, depth]

    return get


@pytest.mark.parametrize('variant, depth', ARCHS)
def test_same_architecture_loads_exactly(converted, variant, depth):
    ckpt, state = converted(variant, depth)
    det = _build_backbone(_backbone_cfg(DET_CFG, depth, variant, ckpt))
    det.init_weights()
    _assert_equal_to(det.state_dict(), state)  # zero missing / unexpected keys, same tensors

    # the dilated D8 FCN backbone: same keys whatever the strides / dilations
    seg_cfg = _backbone_cfg(SEG_CFG, depth, variant, ckpt)
    assert (seg_cfg['strides'], seg_cfg['dilations'], seg_cfg['contract_dilation']) == (
        (1, 2, 1, 1),
        (1, 1, 2, 4),
        True,
    )
    seg = _build_backbone(seg_cfg)
    seg.init_weights()
    _assert_equal_to(seg.state_dict(), state)
    if (variant, depth) == ('d', 18):  # and it runs at output stride 8 with those weights
        seg.eval()
        with torch.no_grad():
            outs = seg(torch.randn(1, 3, 32, 32))
        assert [tuple(o.shape[1:]) for o in outs] == [
            (64, 8, 8),
            (128, 4, 4),
            (256, 4, 4),
            (512, 4, 4),
        ]


@pytest.mark.parametrize('variant, depth', ARCHS)
@pytest.mark.parametrize('wrong', ['variant', 'depth'])
def test_other_architecture_is_refused_naming_keys(converted, variant, depth, wrong):
    ckpt, state = converted(variant, depth)
    target = (
        (WRONG_VARIANT[variant], depth) if wrong == 'variant' else (variant, WRONG_DEPTH[depth])
    )
    model = _build_backbone(_backbone_cfg(DET_CFG, target[1], target[0], ckpt))
    own = list(model.state_dict())
    theirs = [k[len('backbone.') :] for k in state]
    missing = [k for k in own if k not in theirs]
    unexpected = [k for k in theirs if k not in own]
    assert missing or unexpected
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    message = str(err.value)
    assert f'{len(missing)} missing keys' in message
    assert f'{len(unexpected)} unexpected keys' in message
    assert str(ckpt) in message
    for key in missing[:3] + unexpected[:3]:
        assert key in message
    if (variant, depth, wrong) == ('d', 18, 'variant'):  # deep stem vs 7x7 stem
        assert 'conv1.weight' in missing and 'conv1.0.weight' in unexpected
    if (variant, depth, wrong) == ('d', 18, 'depth'):  # ResNet-34 has a third layer1 block
        assert 'layer1.2.conv1.weight' in missing


@pytest.mark.parametrize('depth', [101, 152])
@pytest.mark.parametrize('variant', ['b', 'd'])
def test_deep_backbones_key_sets(variant, depth, tmp_path):
    """The converted key set of a deep classifier is the downstream model's key set (width 8
    classifier: the keys do not depend on the width; no forward pass)."""
    cfg = _classifier_cfg(depth=depth, variant=variant, width=8)
    cls_ckpt = tmp_path / 'cls.pth'
    _fabricate(cfg, cls_ckpt, with_cfg=False)
    out = tmp_path / 'backbone.pth'
    convert_classifier(str(cls_ckpt), str(out))
    keys = set(safe_torch_load(str(out), map_location='cpu')['state_dict'])
    with torch.device('meta'):
        full = BoTResNet(
            depth=depth,
            variant=variant,
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            contract_dilation=True,
        )
    assert keys == {'backbone.' + k for k in full.state_dict()}
    assert len([k for k in keys if k.endswith('conv3.weight')]) == {101: 33, 152: 50}[depth]


# --------------------------------------------------------------------------------------------
# mmdet's and mmseg's own configs with the backbone swapped in


class _Snapshot(Hook):
    """Copies the backbone state right before the first training iteration."""

    def __init__(self, store: dict):
        self.store = store

    def before_train(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        self.store.update({k: v.detach().clone() for k, v in model.backbone.state_dict().items()})


@pytest.fixture
def snapshot(monkeypatch) -> dict:
    """Make ``tools/train.py``'s runner record the initialised backbone."""
    store: dict = {}

    class _SnapshotRunner(StrictRunner):
        def train(self):
            self.register_hook(_Snapshot(store), priority='VERY_HIGH')
            return super().train()

    monkeypatch.setattr(cli_train, 'StrictRunner', _SnapshotRunner)
    return store


def _tiny_loaders(cfg: Config) -> None:
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].num_workers = 0
        cfg[name].persistent_workers = False


@pytest.fixture(scope='module')
def d18(tmp_path_factory) -> tuple:
    """A converted ResNet-18-D backbone with random ("trained") weights."""
    root = tmp_path_factory.mktemp('d18')
    cls_ckpt = root / 'cls.pth'
    _fabricate(_classifier_cfg(depth=18, variant='d'), cls_ckpt, seed=7, with_cfg=False)
    out = root / 'resnet18d_backbone.pth'
    convert_classifier(str(cls_ckpt), str(out), top1=50.0)
    return out, safe_torch_load(str(out), map_location='cpu')['state_dict']


@pytest.mark.slow
def test_stock_mmdet_config_with_swapped_backbone(in_workspace, tmp_path, d18, snapshot):
    ckpt, state = d18
    leaf = tmp_path / 'stock_det.py'
    leaf.write_text("_base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py']\n")
    cfg = Config.fromfile(str(leaf))
    assert cfg.model.backbone.type == 'ResNet'
    cfg.merge_from_dict(
        dict(
            model=dict(
                backbone=dict(
                    _delete_=True,
                    type='tricks_mm.BoTResNet',
                    depth=18,
                    variant='d',
                    out_indices=(0, 1, 2, 3),
                    frozen_stages=1,
                    norm_eval=True,
                    norm_cfg=dict(type='BN', requires_grad=True),
                    init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'),
                ),
                neck=dict(in_channels=[64, 128, 256, 512]),
                roi_head=dict(bbox_head=dict(num_classes=len(CLASSES))),
                # fewer RoIs through the two 1024-wide FC layers (the CPU cost of a step);
                # same model
                train_cfg=dict(rcnn=dict(sampler=dict(num=64))),
                test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100)),
            )
        )
    )
    assert set(cfg.model.backbone) >= {'type', 'init_cfg'} and 'style' not in cfg.model.backbone
    data_root = 'data/synthetic/det/VOCdevkit/'
    resize = dict(type='Resize', scale=(96, 96), keep_ratio=True)
    train = cfg.train_dataloader
    train.batch_size = 4  # the 4 trainval images of VOC2007 + VOC2012: one iteration
    train.dataset.times = 1
    for voc in train.dataset.dataset.datasets:
        voc.update(
            data_root=data_root,
            metainfo=METAINFO,
            filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=4),
        )
        voc.pipeline[2] = resize
    cfg.val_dataloader.dataset.update(data_root=data_root, metainfo=METAINFO)
    cfg.val_dataloader.dataset.pipeline[1] = resize
    cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    _tiny_loaders(cfg)
    cfg.train_cfg.update(max_epochs=1, val_begin=2)  # one iteration; evaluation: tools/test.py
    config = tmp_path / 'det.py'
    cfg.dump(str(config))

    work_dir = tmp_path / 'det'
    runner = cli_train.main(
        [str(config), '--work-dir', str(work_dir), '--cfg-options', 'log_level=WARNING']
    )
    _assert_equal_to(snapshot, state)  # the initialised backbone is the converted checkpoint
    assert runner.iter == 1
    assert _scalar(runner, 'train/loss') > 0
    # frozen stem + layer1 and eval-mode BN: still the converted weights after training
    after = runner.model.backbone.state_dict()
    for key in ('conv1.0.weight', 'bn1.running_mean', 'layer1.0.conv1.weight'):
        torch.testing.assert_close(after[key], state['backbone.' + key], rtol=0, atol=0)
    assert not torch.equal(after['layer4.1.conv2.weight'], state['backbone.layer4.1.conv2.weight'])

    metrics_file = tmp_path / 'det_metrics.json'
    metrics = cli_test.main(
        [
            str(config),
            str(work_dir / 'epoch_1.pth'),
            '--work-dir',
            str(tmp_path / 'det_test'),
            '--out-metrics',
            str(metrics_file),
            '--cfg-options',
            'log_level=WARNING',
        ]
    )
    assert json.loads(metrics_file.read_text())['pascal_voc/mAP'] == pytest.approx(
        metrics['pascal_voc/mAP']
    )
    # known answer through the same config's VOCMetric: the ground truth as detections is 100%
    assert perfect_scores(cfg)['pascal_voc/mAP'] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_stock_mmseg_config_with_swapped_backbone(in_workspace, tmp_path, d18, snapshot):
    ckpt, state = d18
    leaf = tmp_path / 'stock_seg.py'
    leaf.write_text("_base_ = ['mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py']\n")
    cfg = Config.fromfile(str(leaf))
    assert cfg.model.backbone.type == 'ResNetV1c'
    crop = (96, 96)
    cfg.merge_from_dict(
        dict(
            model=dict(
                pretrained=None,
                data_preprocessor=dict(size=crop),
                backbone=dict(
                    _delete_=True,
                    type='tricks_mm.BoTResNet',
                    depth=18,
                    variant='d',
                    out_indices=(0, 1, 2, 3),
                    strides=(1, 2, 1, 1),
                    dilations=(1, 1, 2, 4),
                    contract_dilation=True,
                    norm_cfg=dict(type='SyncBN', requires_grad=True),
                    norm_eval=False,
                    init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'),
                ),
                decode_head=dict(in_channels=512, num_classes=len(CLASSES)),
                auxiliary_head=dict(in_channels=256, num_classes=len(CLASSES)),
            )
        )
    )
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'  # mmseg's; tools/train.py makes it BN
    dataset = dict(
        type='BaseSegDataset',
        data_root='data/synthetic/seg',
        metainfo=METAINFO,
        img_suffix='.jpg',
        seg_map_suffix='.png',
        reduce_zero_label=True,
    )
    cfg.train_dataloader.dataset.update(dataset)
    cfg.train_dataloader.dataset.pipeline[2].scale = (192, 96)
    cfg.train_dataloader.dataset.pipeline[3].crop_size = crop
    cfg.val_dataloader.dataset.update(dataset)
    cfg.val_dataloader.dataset.pipeline[1].scale = (192, 96)
    cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    _tiny_loaders(cfg)
    cfg.train_cfg.update(max_iters=1, val_begin=2)  # one iteration; evaluation: tools/test.py
    config = tmp_path / 'seg.py'
    cfg.dump(str(config))

    work_dir = tmp_path / 'seg'
    runner = cli_train.main(
        [str(config), '--work-dir', str(work_dir), '--cfg-options', 'log_level=WARNING']
    )
    _assert_equal_to(snapshot, state)
    assert runner.iter == 1
    assert isinstance(runner.model.backbone.bn1, torch.nn.BatchNorm2d)
    assert not isinstance(runner.model.backbone.bn1, torch.nn.SyncBatchNorm)
    assert _scalar(runner, 'train/decode.loss_ce') > 0

    metrics = cli_test.main(
        [
            str(config),
            str(work_dir / 'iter_1.pth'),
            '--work-dir',
            str(tmp_path / 'seg_test'),
            '--cfg-options',
            'log_level=WARNING',
        ]
    )
    assert set(metrics) >= {'aAcc', 'mIoU', 'mAcc'}
    # known answer through the same config's IoUMetric: the ground truth as prediction is 100%
    perfect = perfect_scores(cfg)
    assert (perfect['mIoU'], perfect['aAcc']) == pytest.approx((100.0, 100.0), abs=1e-6)
