"""Every shipped config builds and runs one iteration on CPU.

* ``configs/classification/*.py``: each rung with the toy overlay
  (``configs/toy/classification.py``) on a tiny generated suite, one training iteration through
  ``tools/train.py``'s entry point (``tricks_mm.cli.train.main``), validation at the end of the
  epoch, a checkpoint on disk, and the rung's trick present in the *built* runner (backbone
  variant, zero gamma, loss, mixup, distillation teacher, decay per parameter, LR schedule).
* ``configs/detection`` and ``configs/segmentation`` at paper scale: the full-size model from the
  config, one ``train_step`` on a tiny random batch in the host's data structures.
* ``configs/toy`` detection / segmentation: one iteration plus evaluation through the entry point.

The suite is generated once per module under ``<tmp>/data/synthetic`` and every test runs with
``<tmp>`` as working directory, so the configs' relative data roots resolve there.
"""

import copy
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tricks_mm.cli import train as cli_train
from tricks_mm.config.setup import import_host, load_config, syncbn_to_bn_if_needed
from tricks_mm.engine.nan_guard import BoTFiniteOptimWrapper
from tricks_mm.engine.runner import StrictRunner
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.models.backbones.bot_resnet import BoTResNet

REPO = Path(__file__).resolve().parents[2]
OVERLAY = REPO / 'configs' / 'toy' / 'classification.py'
CLS_CONFIGS = sorted((REPO / 'configs' / 'classification').glob('*.py'))
DET_CONFIGS = sorted((REPO / 'configs' / 'detection').glob('*.py'))
FPN_CONFIGS = [c for c in DET_CONFIGS if '-fpn_' in c.name]
C4_CONFIGS = [c for c in DET_CONFIGS if '-c4_' in c.name]
SEG_CONFIGS = sorted((REPO / 'configs' / 'segmentation').glob('*.py'))
TOY_DET = REPO / 'configs' / 'toy' / 'faster-rcnn_botr18-d-fpn_toy-voc.py'
TOY_SEG = REPO / 'configs' / 'toy' / 'fcn_botr18-d-d8_toy-ade.py'
SEG_480 = REPO / 'configs' / 'segmentation' / 'fcn_botr50-d-d8_4xb4-80k_ade20k-480x480.py'

#: Dataloader settings for a single-process CPU test run.
LOADERS = [
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'log_level=WARNING',
]

_WARMUP = 'BoTLinearWarmupLR'
_EFFICIENT = dict(
    zero=True,
    nobias=True,
    lr=0.4,
    loss='CrossEntropyLoss',
    mixup=False,
    distill=False,
    depth=50,
    scheds=[_WARMUP, 'MultiStepLR'],
)
_COSINE_LS = dict(
    _EFFICIENT,
    variant='d',
    loss='BoTLabelSmoothLoss',
    scheds=[_WARMUP, 'CosineAnnealingLR'],
    t_max=115,
)
_COSINE_LS_MIXUP = dict(_COSINE_LS, mixup=True, t_max=195)
#: What each rung must switch on (paper Table 1/5/6 rows); ``depth`` is the paper-scale depth,
#: the toy overlay trains every rung at depth 18. A new rung must be added here.
EXPECTED = {
    'resnet50_baseline_8xb32_in1k.py': dict(
        variant='a',
        zero=False,
        nobias=False,
        lr=0.1,
        loss='CrossEntropyLoss',
        mixup=False,
        distill=False,
        depth=50,
        scheds=['MultiStepLR'],
    ),
    'resnet50b_baseline_8xb32_in1k.py': dict(
        variant='b',
        zero=False,
        nobias=False,
        lr=0.1,
        loss='CrossEntropyLoss',
        mixup=False,
        distill=False,
        depth=50,
        scheds=['MultiStepLR'],
    ),
    'resnet50_efficient_8xb128_in1k.py': dict(_EFFICIENT, variant='a'),
    'resnet50b_efficient_8xb128_in1k.py': dict(_EFFICIENT, variant='b'),
    'resnet50c_efficient_8xb128_in1k.py': dict(_EFFICIENT, variant='c'),
    'resnet50d_efficient_8xb128_in1k.py': dict(_EFFICIENT, variant='d'),
    'resnet50d_cosine_8xb128_in1k.py': dict(
        _EFFICIENT, variant='d', scheds=[_WARMUP, 'CosineAnnealingLR'], t_max=115
    ),
    'resnet50d_cosine_ls_8xb128_in1k.py': _COSINE_LS,
    'resnet50d_cosine_ls_distill_8xb128_in1k.py': dict(_COSINE_LS, distill=True),
    'resnet50d_cosine_ls_mixup_8xb128_in1k.py': _COSINE_LS_MIXUP,
    'resnet50d_cosine_ls_mixup_distill_8xb128_in1k.py': dict(_COSINE_LS_MIXUP, distill=True),
    'resnet152d_cosine_ls_8xb128_in1k.py': dict(_COSINE_LS, depth=152),
    'resnet152d_cosine_ls_mixup_8xb128_in1k.py': dict(_COSINE_LS_MIXUP, depth=152),
}


@pytest.fixture(autouse=True)
def _in_workspace(in_workspace):
    """Every test runs in the shared tiny suite (tests/conftest.py)."""
    return in_workspace


def _scalar(runner: StrictRunner, key: str) -> float:
    return runner.message_hub.get_scalar(key).current()


def _decay_by_param(runner: StrictRunner) -> dict:
    """``name -> (ndim, weight_decay, initial_lr)`` from the optimizer's parameter groups."""
    names = {id(p): n for n, p in runner.model.named_parameters()}
    out = {}
    for group in runner.optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            out[names[id(p)]] = (p.ndim, group['weight_decay'], group['initial_lr'])
    return out


def _teacher_options(rung: Path, tmp: Path) -> tuple:
    """Materialise the rung's teacher at toy scale and give it (random) trained-looking weights."""
    from mmpretrain.registry import MODELS

    teacher_rel = Config.fromfile(str(rung)).model.teacher
    teacher_cfg = load_config(str(REPO / teacher_rel), [str(OVERLAY)])
    teacher_file = tmp / 'teacher.py'
    teacher_cfg.dump(str(teacher_file))
    model_cfg = copy.deepcopy(teacher_cfg.model.to_dict())
    model_cfg.setdefault('data_preprocessor', teacher_cfg.data_preprocessor.to_dict())
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(1)
        teacher = MODELS.build(model_cfg)
        teacher.init_weights()
    ckpt = tmp / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, str(ckpt))
    return teacher_file, ckpt, teacher.state_dict()


def test_every_classification_rung_is_listed():
    assert {p.name for p in CLS_CONFIGS} == set(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize('rung', CLS_CONFIGS, ids=lambda p: p.stem)
def test_classification_rung_one_iteration(rung, tmp_path):
    exp = EXPECTED[rung.name]
    paper = Config.fromfile(str(rung))
    assert paper.default_scope == 'mmpretrain'
    assert paper.model.backbone.depth == exp['depth']
    assert paper.model.head.num_classes == 1000

    # 8 training images in batches of 8: one iteration; 6 validation images
    options = [
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=8',
        'train_dataloader.dataset.indices=8',
        'val_dataloader.dataset.indices=6',
        *LOADERS,
    ]
    teacher_sd = None
    if exp['distill']:
        teacher_file, teacher_ckpt, teacher_sd = _teacher_options(rung, tmp_path)
        options += [f'model.teacher={teacher_file}', f'model.teacher_checkpoint={teacher_ckpt}']
    work_dir = tmp_path / 'work'
    runner = cli_train.main(
        [
            str(rung),
            '--overlay',
            str(OVERLAY),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            *options,
        ]
    )

    # it ran: one iteration, a finite loss, validation, a checkpoint of exactly the model
    assert runner.iter == 1 and runner.epoch == 1
    assert math.isfinite(_scalar(runner, 'train/loss'))
    # the logged top-1 is the share of validation images whose argmax is the label (recounted)
    correct = []
    runner.model.eval()
    with torch.no_grad():
        for batch in runner.val_dataloader:
            correct += [
                int(s.pred_label.item() == s.gt_label.item()) for s in runner.model.val_step(batch)
            ]
    assert len(correct) == 6
    assert _scalar(runner, 'val/accuracy/top1') == pytest.approx(100 * sum(correct) / 6, abs=1e-4)
    ckpt = safe_torch_load(str(work_dir / 'epoch_1.pth'), map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    assert set(ckpt['state_dict']) == set(runner.model.state_dict())
    assert not any('teacher' in k for k in ckpt['state_dict'])

    model = runner.model
    backbone = model.backbone
    assert isinstance(backbone, BoTResNet)
    assert (backbone.depth, backbone.variant) == (18, exp['variant'])
    assert backbone.zero_init_residual is exp['zero']
    assert model.head.num_classes == 6
    if exp['variant'] in ('c', 'd'):
        assert isinstance(backbone.conv1, torch.nn.Sequential)  # deep stem
    if exp['variant'] == 'd':
        assert isinstance(backbone.layer2[0].downsample[0], torch.nn.AvgPool2d)

    if exp['distill']:
        assert type(model).__name__ == 'BoTDistillClassifier'
        assert type(model.distill_loss).__name__ == 'BoTDistillLoss'
        assert model.distill_loss.temperature == 20.0
        teacher = model.teacher
        assert teacher.backbone.depth == 18 and not teacher.training
        for key, value in teacher.state_dict().items():
            torch.testing.assert_close(value, teacher_sd[key], msg=key)
    else:
        assert type(model).__name__ == 'ImageClassifier'
        assert type(model.head.loss_module).__name__ == exp['loss']
        if exp['loss'] == 'BoTLabelSmoothLoss':
            assert model.head.loss_module.eps == 0.1

    augments = getattr(model.data_preprocessor, 'batch_augments', None)
    if exp['mixup']:
        mixups = augments.augments
        assert [type(a).__name__ for a in mixups] == ['Mixup']
        assert mixups[0].alpha == 0.2
    else:
        assert augments is None

    # optimizer: NAG, the rung's lr, decay only on conv / fc weights for "no bias decay"
    assert isinstance(runner.optim_wrapper, BoTFiniteOptimWrapper)  # FP16 -> FP32 on CPU
    optimizer = runner.optim_wrapper.optimizer
    assert type(optimizer).__name__ == 'SGD'
    assert all(g['nesterov'] and g['momentum'] == 0.9 for g in optimizer.param_groups)
    decays = _decay_by_param(runner)
    assert set(decays) == {n for n, _ in model.named_parameters()}
    for name, (ndim, decay, lr) in decays.items():
        assert lr == pytest.approx(exp['lr']), name
        if exp['nobias'] and ndim == 1:
            assert decay == 0.0, name
        else:
            assert decay == pytest.approx(1e-4), name
    assert decays['head.fc.bias'][1] == (0.0 if exp['nobias'] else pytest.approx(1e-4))
    assert decays['head.fc.weight'][1] == pytest.approx(1e-4)

    schedulers = runner.param_schedulers
    assert [type(s).__name__ for s in schedulers] == exp['scheds']
    if 'CosineAnnealingLR' in exp['scheds']:
        # epoch-based cosine converted to iterations: one iteration per toy epoch here
        assert schedulers[1].T_max == exp['t_max']
        assert schedulers[1].begin == 5


@pytest.mark.parametrize(
    'rung', [c for c in CLS_CONFIGS if EXPECTED[c.name]['depth'] == 152], ids=lambda p: p.stem
)
def test_teacher_configs_build_at_paper_depth(rung):
    from mmpretrain.registry import MODELS

    cfg = Config.fromfile(str(rung))
    with DefaultScope.overwrite_default_scope('mmpretrain'), torch.device('meta'):
        model = MODELS.build(cfg.model)  # meta tensors: the architecture, no memory
    assert (model.backbone.depth, model.backbone.variant) == (152, 'd')
    assert len(model.backbone.layer3) == 36
    assert model.head.fc.weight.shape == (1000, 2048)


def _det_batch(n: int = 2, size: int = 128) -> dict:
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    g = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n):
        sample = DetDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1.0, 1.0))
        )
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[10.0, 12.0, 70.0, 80.0], [50.0, 40.0, 120.0, 110.0]]),
            labels=torch.tensor([i % 20, 7]),
        )
        samples.append(sample)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(n)
    ]
    return dict(inputs=inputs, data_samples=samples)


def _seg_batch(n: int = 2, size: int = 64, num_classes: int = 150) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=g)
        )
        samples.append(sample)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(n)
    ]
    return dict(inputs=inputs, data_samples=samples)


def _train_step(model, data: dict) -> dict:
    from mmengine.optim import OptimWrapper

    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
    return model.train_step(data, optim)


def test_every_detection_config_is_fpn_or_c4():
    assert sorted(FPN_CONFIGS + C4_CONFIGS) == DET_CONFIGS and FPN_CONFIGS and C4_CONFIGS


def _mmdet_config(rel: str) -> Config:
    """A config shipped inside mmdet (what ``mmdet::rel`` names in a ``_base_``)."""
    import mmdet

    return Config.fromfile(str(Path(mmdet.__file__).parent / '.mim' / 'configs' / rel))


def _without_scope(value):
    """Configs from ``mmdet::`` bases carry ``_scope_='mmdet'`` (the default scope anyway)."""
    if isinstance(value, dict):
        return {k: _without_scope(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_scope(v) for v in value)
    return value


_VOC_KEYS = (
    'train_dataloader',
    'val_dataloader',
    'test_dataloader',
    'train_cfg',
    'val_cfg',
    'test_cfg',
    'param_scheduler',
    'optim_wrapper',
    'auto_scale_lr',
    'default_hooks',
)


@pytest.mark.parametrize('config', DET_CONFIGS, ids=lambda p: p.stem)
def test_detection_data_and_schedule_are_mmdets_voc0712(config):
    """Our VOC snippets reproduce mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py, and each
    design's model is mmdet's own minus the swapped base network and input normalisation."""
    ours = Config.fromfile(str(config)).to_dict()
    voc = _mmdet_config('pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py').to_dict()
    for key in _VOC_KEYS:
        assert _without_scope(ours[key]) == _without_scope(voc[key]), key
    assert [e['eval_mode'] for e in ours['val_evaluator']] == ['11points', 'area']
    design = 'faster-rcnn_r50_fpn.py' if config in FPN_CONFIGS else 'faster-rcnn_r50-caffe-c4.py'
    stock = _mmdet_config(f'_base_/models/{design}').to_dict()['model']
    stock['roi_head']['bbox_head']['num_classes'] = 20
    model = _without_scope(copy.deepcopy(ours['model']))
    swapped = {('backbone',), ('data_preprocessor',), ('roi_head', 'shared_head')}
    for path in swapped:
        node_ours, node_stock = model, stock
        for key in path[:-1]:
            node_ours, node_stock = node_ours[key], node_stock[key]
        node_ours.pop(path[-1], None)
        node_stock.pop(path[-1], None)
    assert model == _without_scope(stock)


@pytest.mark.slow
@pytest.mark.parametrize('config', FPN_CONFIGS, ids=lambda p: p.stem)
def test_paper_scale_detection_train_step(config):
    from mmdet.registry import MODELS

    cfg = Config.fromfile(str(config))
    assert import_host(cfg) == 'mmdet'
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg = None  # no converted checkpoint here
    # Fewer sampled RoIs (512 -> 64 per image): the two 1024-wide FC layers over 12544 inputs
    # per RoI dominate a CPU step; the architecture is unchanged.
    assert cfg.model.train_cfg.rcnn.sampler.num == 512
    cfg.model.train_cfg.rcnn.sampler.num = 64
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        backbone = model.backbone
        assert isinstance(backbone, BoTResNet)
        assert (backbone.depth, backbone.variant, backbone.out_indices) == (50, 'd', (0, 1, 2, 3))
        assert model.roi_head.bbox_head.num_classes == 20
        torch.testing.assert_close(
            model.data_preprocessor.mean.flatten(), torch.tensor([123.68, 116.779, 103.939])
        )
        log_vars = _train_step(model, _det_batch())
    # frozen_stages=1 and norm_eval=True survive train()
    assert not any(p.requires_grad for p in backbone.conv1.parameters())
    assert not any(p.requires_grad for p in backbone.layer1.parameters())
    assert all(p.requires_grad for p in backbone.layer2.parameters())
    assert not any(m.training for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    for key in ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars['loss']) > 0


@pytest.mark.slow
@pytest.mark.parametrize('config', C4_CONFIGS, ids=lambda p: p.stem)
def test_paper_scale_c4_detection_train_step(config):
    from mmdet.registry import MODELS

    from tricks_mm.models.roi_heads import BoTResLayer

    cfg = Config.fromfile(str(config))
    assert import_host(cfg) == 'mmdet'
    checkpoint = cfg.model.backbone.init_cfg.checkpoint
    assert cfg.model.backbone.init_cfg.exclude == ['layer4.']
    assert cfg.model.roi_head.shared_head.init_cfg.checkpoint == checkpoint
    assert cfg.model.roi_head.shared_head.init_cfg.prefix == 'backbone.layer4.'
    assert cfg.model.roi_head.bbox_roi_extractor.roi_layer.output_size == 14
    assert cfg.train_dataloader.dataset.dataset.datasets[0].pipeline[2].scale == (1000, 600)
    cfg.model.backbone.init_cfg = None
    cfg.model.roi_head.shared_head.init_cfg = None
    # 16 RoIs per image instead of 512: stage 4 runs once per RoI, 512 of them take minutes on
    # a CPU; the architecture is unchanged.
    assert cfg.model.train_cfg.rcnn.sampler.num == 512
    cfg.model.train_cfg.rcnn.sampler.num = 16
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        backbone, head = model.backbone, model.roi_head.shared_head
        assert isinstance(backbone, BoTResNet) and isinstance(head, BoTResLayer)
        assert (backbone.depth, backbone.variant, backbone.num_stages) == (50, 'd', 3)
        assert backbone.out_indices == (2,) and not hasattr(backbone, 'layer4')
        assert head.layer4[0].downsample[0].stride == 2  # ResNet-D pool shortcut, stride 2
        torch.testing.assert_close(
            model.data_preprocessor.mean.flatten(), torch.tensor([123.68, 116.779, 103.939])
        )
        assert model.data_preprocessor._channel_conversion  # BGR files -> RGB, as the classifier
        trained = [backbone.layer2[0].conv1.weight, head.layer4[0].conv1.weight]
        before = [w.detach().clone() for w in trained]
        log_vars = _train_step(model, _det_batch())
    assert not any(torch.equal(w, b) for w, b in zip(trained, before))  # both are trained
    # frozen: stem + layer1 entirely, every BN (statistics and affine) in backbone and head
    assert not any(p.requires_grad for p in backbone.conv1.parameters())
    assert not any(p.requires_grad for p in backbone.layer1.parameters())
    bns = [
        m
        for m in list(backbone.modules()) + list(head.modules())
        if isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert not any(m.training or m.weight.requires_grad for m in bns)
    for key in ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars['loss']) > 0


@pytest.mark.slow
@pytest.mark.parametrize('config', SEG_CONFIGS, ids=lambda p: p.stem)
def test_paper_scale_segmentation_train_step(config):
    from mmseg.registry import MODELS

    cfg = Config.fromfile(str(config))
    assert import_host(cfg) == 'mmseg'
    assert cfg.model.pretrained is None
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    changed = syncbn_to_bn_if_needed(cfg, 'none')
    assert {
        'model.backbone.norm_cfg',
        'model.decode_head.norm_cfg',
        'model.auxiliary_head.norm_cfg',
    } <= set(changed)
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.decode_head.norm_cfg.type == 'BN'
    assert cfg.model.auxiliary_head.norm_cfg.type == 'BN'
    crop = cfg.crop_size
    assert crop in ((512, 512), (480, 480))
    assert cfg.model.data_preprocessor.size == crop
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (64, 64)
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        backbone = model.backbone
        assert isinstance(backbone, BoTResNet)
        assert (backbone.depth, backbone.variant) == (50, 'd')
        # D8: layer3 dilation 2 (first block contracted to 1), layer4 dilation 4 (first 2)
        assert backbone.layer3[0].conv2.dilation == (1, 1)
        assert backbone.layer3[1].conv2.dilation == (2, 2)
        assert backbone.layer4[0].conv2.dilation == (2, 2)
        assert backbone.layer4[1].conv2.dilation == (4, 4)
        assert backbone.layer4[0].conv2.stride == (1, 1)
        assert model.decode_head.num_classes == 150
        aux_weight = model.auxiliary_head.loss_decode.loss_weight
        assert aux_weight == (0.4 if crop == (512, 512) else 0.5)
        log_vars = _train_step(model, _seg_batch())
    for key in ('loss', 'decode.loss_ce', 'aux.loss_ce'):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars['loss']) > 0


@pytest.mark.slow
def test_toy_detection_one_iteration_and_eval(tmp_path):
    work_dir = tmp_path / 'work'
    runner = cli_train.main(
        [
            str(TOY_DET),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            'model.backbone.init_cfg=None',
            'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1',
            *LOADERS,
        ]
    )
    assert runner.iter == 1  # 4 trainval images (VOC2007 + VOC2012), batch 4
    assert isinstance(runner.model.backbone, BoTResNet)
    assert runner.model.backbone.depth == 18
    assert runner.model.roi_head.bbox_head.num_classes == 6
    assert runner.train_dataloader.dataset.metainfo['classes'][0] == 'cross'
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss'):
        assert math.isfinite(_scalar(runner, f'train/{key}')), key
    assert (work_dir / 'epoch_1.pth').is_file()
    # evaluated (what the numbers mean: test_toy_metrics_score_ground_truth_100_percent)
    for key in ('val/voc07/mAP', 'val/voc_area/mAP'):
        assert math.isfinite(_scalar(runner, key)), key


@pytest.mark.slow
def test_toy_segmentation_one_iteration_and_eval(tmp_path):
    work_dir = tmp_path / 'work'
    runner = cli_train.main(
        [
            str(TOY_SEG),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            'model.backbone.init_cfg=None',
            'train_cfg.max_iters=1',
            'train_cfg.val_interval=1',
            *LOADERS,
        ]
    )
    assert runner.iter == 1
    backbone = runner.model.backbone
    assert isinstance(backbone, BoTResNet) and backbone.depth == 18
    # SyncBN -> BN for the single-process run
    assert isinstance(backbone.bn1, torch.nn.BatchNorm2d)
    assert not isinstance(backbone.bn1, torch.nn.SyncBatchNorm)
    assert runner.model.decode_head.num_classes == 6
    for key in ('decode.loss_ce', 'aux.loss_ce', 'loss'):
        assert math.isfinite(_scalar(runner, f'train/{key}')), key
    assert (work_dir / 'iter_1.pth').is_file()
    # evaluated (what the numbers mean: test_toy_metrics_score_ground_truth_100_percent)
    for key in ('val/aAcc', 'val/mIoU', 'val/mAcc'):
        assert math.isfinite(_scalar(runner, key)), key


@pytest.mark.parametrize(
    'config, expected',
    [
        (TOY_DET, {'voc07/mAP': 1.0, 'voc_area/mAP': 1.0}),
        (TOY_SEG, {'aAcc': 100.0, 'mIoU': 100.0, 'mAcc': 100.0}),
    ],
)
def test_toy_metrics_score_ground_truth_100_percent(config, expected):
    """Known answer: the ground truth as prediction scores 100% through the toy config's own
    evaluator (mmdet's VOCMetric, 11-point and area; mmseg's IoUMetric)."""
    from _known_metrics import perfect_scores

    cfg = load_config(str(config))
    import_host(cfg)
    scores = perfect_scores(cfg)
    assert {k: scores[k] for k in expected} == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    'config, scale, crop',
    [
        (SEG_480, (2080, 520), (480, 480)),  # GluonCV: base size 520, crop 480
        (TOY_SEG, (256, 128), (96, 96)),  # the 128-px synthetic scenes
    ],
    ids=['480', 'toy'],
)
def test_fcn_pipelines_are_mmsegs_ade20k_pipelines_at_their_sizes(config, scale, crop):
    """Both configs take mmseg's own ADE20K pipelines and change only the sizes."""
    cfg = Config.fromfile(str(config))
    import mmseg

    ade20k = Path(mmseg.__file__).parent / '.mim' / 'configs' / '_base_' / 'datasets' / 'ade20k.py'
    mmseg_ade = Config.fromfile(str(ade20k))
    sizes = {'RandomResize': {'scale': scale}, 'Resize': {'scale': scale}}
    sizes['RandomCrop'] = {'crop_size': crop}
    for ours, theirs in (
        (cfg.train_pipeline, mmseg_ade.train_pipeline),
        (cfg.test_pipeline, mmseg_ade.test_pipeline),
    ):
        assert [t['type'] for t in ours] == [t['type'] for t in theirs]
        for a, b in zip(ours, theirs):
            changed = sizes.get(a['type'], {})
            assert {k: a[k] for k in changed} == changed
            assert {k: v for k, v in a.items() if k not in changed and k != '_scope_'} == {
                k: v for k, v in b.items() if k not in changed and k != '_scope_'
            }
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
    assert cfg.test_dataloader.dataset.pipeline == cfg.test_pipeline
