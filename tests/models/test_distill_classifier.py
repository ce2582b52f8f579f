"""BoTDistillClassifier: frozen out-of-tree teacher, strict loading, loss on the mixed inputs."""

import copy

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from tricks_mm.models.classifiers import BoTDistillClassifier
from tricks_mm.models.losses import BoTDistillLoss

K, T = 5, 20.0
PRE = dict(type='ClsDataPreprocessor', mean=[127.5] * 3, std=[64.0] * 3, num_classes=K)


def parts(width: int = 8, depth: int = 18, k: int = K) -> dict:
    """A tiny mmpretrain ResNet classifier (width 8: ~0.2 M parameters, 32x32 inputs)."""
    return dict(
        backbone=dict(type='ResNet', depth=depth, stem_channels=width, base_channels=width),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=k, in_channels=width * 8),
        data_preprocessor=dict(PRE, num_classes=k),
    )


def build(cfg: dict):
    from mmpretrain.registry import MODELS

    return MODELS.build(copy.deepcopy(cfg))


def plain(**kw):
    return build(dict(type='ImageClassifier', **parts(**kw)))


def student(teacher, mixup: bool = False, **kw):
    cfg = dict(
        type='tricks_mm.BoTDistillClassifier',
        **parts(),
        distill_loss=dict(type='BoTDistillLoss', temperature=T),
        **kw,
    )
    if mixup:
        cfg['data_preprocessor']['batch_augments'] = dict(augments=dict(type='Mixup', alpha=0.2))
    cfg = copy.deepcopy(cfg)
    cfg['teacher'] = teacher  # a module: not deep-copied
    from mmpretrain.registry import MODELS

    return MODELS.build(cfg)


def batch(n: int = 4, seed: int = 0) -> dict:
    from mmpretrain.structures import DataSample

    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8) for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(i % K) for i in range(n)],
    )


@pytest.fixture(scope='module')
def teacher():
    torch.manual_seed(0)
    return plain(width=8)


def test_teacher_frozen_out_of_tree_and_in_eval(teacher):
    model = student(teacher)
    assert isinstance(model, BoTDistillClassifier) and model.teacher is teacher
    model.train()
    assert model.training and not any(m.training for m in teacher.modules())
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher_ids = {id(p) for p in teacher.parameters()}
    assert not teacher_ids & {id(p) for p in model.parameters()}
    assert all(m is not teacher for m in model.modules())

    reference = plain()
    keys = set(model.state_dict())
    assert keys == set(reference.state_dict())
    assert not any('teacher' in k for k in keys)
    reference.load_state_dict(model.state_dict(), strict=True)
    model.load_state_dict(reference.state_dict(), strict=True)


def test_apply_moves_teacher_too(teacher):
    model = student(copy.deepcopy(teacher))
    model.double()
    assert all(p.dtype == torch.float64 for p in model.teacher.parameters())
    model.to('cpu', torch.float32)
    assert all(p.dtype == torch.float32 for p in model.teacher.parameters())


def test_gradients_reach_student_only_and_teacher_bn_is_untouched(teacher):
    from mmengine.optim import OptimWrapper

    model = student(teacher, mixup=True)
    before = copy.deepcopy(teacher.state_dict())
    model.train()
    data = model.data_preprocessor(batch(), training=True)
    model(**data, mode='loss')['loss'].backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())

    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train_step(batch(seed=1), optim)
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, before[k]), f'teacher {k} changed during training'


def test_loss_equals_independent_forwards(teacher):
    model = student(teacher, mixup=True)
    model.train()
    np.random.seed(0)
    torch.manual_seed(0)
    data = model.data_preprocessor(batch(), training=True)
    target = torch.stack([s.gt_score for s in data['data_samples']])
    assert target.shape == (4, K) and (target.max(1).values < 1).any(), 'mixup must have mixed'
    loss = model(**data, mode='loss')['loss']

    independent = plain()  # a plain classifier carrying the student's weights
    independent.load_state_dict(model.state_dict())
    independent.train()
    with torch.no_grad():
        z = independent(data['inputs'], mode='tensor')
        r = teacher(data['inputs'], mode='tensor')
    assert_close(loss, BoTDistillLoss(temperature=T)(z, r, target))


def test_teacher_sees_the_mixed_inputs_the_student_sees(teacher):
    from mmengine.optim import OptimWrapper

    model = student(teacher, mixup=True)
    model.train()
    seen = {}
    hooks = [
        teacher.register_forward_hook(lambda m, a, o: seen.__setitem__('teacher', a[0])),
        model.backbone.register_forward_hook(lambda m, a, o: seen.__setitem__('student', a[0])),
    ]
    try:
        np.random.seed(1)
        torch.manual_seed(1)
        model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0)))
    finally:
        for h in hooks:
            h.remove()
    assert torch.equal(seen['teacher'], seen['student'])
    unmixed = model.data_preprocessor(batch(), training=False)['inputs']
    assert not torch.allclose(seen['teacher'], unmixed), 'the batch should have been mixed'


def test_predict_and_tensor_modes_use_the_student(teacher):
    model = student(teacher).eval()
    data = model.data_preprocessor(batch(), training=False)
    reference = plain()
    reference.load_state_dict(model.state_dict())
    reference.eval()
    assert_close(model(data['inputs'], mode='tensor'), reference(data['inputs'], mode='tensor'))
    preds = model(**data, mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (K,)


@pytest.fixture
def teacher_files(tmp_path):
    """A teacher config file laid out like mmpretrain's (top-level data_preprocessor) + weights."""
    cfg = tmp_path / 'teacher.py'
    p = parts()
    pre = p.pop('data_preprocessor')
    model = dict(type='ImageClassifier', **p)
    cfg.write_text(
        f"default_scope = 'mmpretrain'\nmodel = {model!r}\ndata_preprocessor = {pre!r}\n"
    )
    torch.manual_seed(1)
    ref = plain()
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'meta': {'epoch': 3}, 'state_dict': ref.state_dict()}, ckpt)
    return cfg, ckpt, ref


@pytest.mark.parametrize('as_dict', [False, True])
def test_teacher_from_config_and_checkpoint(teacher_files, as_dict):
    cfg, ckpt, ref = teacher_files
    spec = dict(type='ImageClassifier', **parts()) if as_dict else str(cfg)
    model = student(spec, teacher_checkpoint=str(ckpt))
    loaded = model.teacher.state_dict()
    for k, v in ref.state_dict().items():
        assert torch.equal(loaded[k], v), k
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert model.teacher.data_preprocessor.mean.flatten().tolist() == [127.5] * 3


@pytest.mark.parametrize('other', [dict(width=16), dict(depth=34)])
def test_checkpoint_of_another_architecture_raises(teacher_files, tmp_path, other):
    cfg, _, _ = teacher_files
    wrong = tmp_path / 'wrong.pth'
    torch.save({'state_dict': plain(**other).state_dict()}, wrong)
    with pytest.raises(RuntimeError, match='size mismatch|unexpected key'):
        student(str(cfg), teacher_checkpoint=str(wrong))


def test_bad_teacher_specs_raise(teacher_files, teacher):
    cfg, _, _ = teacher_files
    with pytest.raises(ValueError, match='teacher_checkpoint is required'):
        student(str(cfg))
    with pytest.raises(ValueError, match='does not exist'):
        student(str(cfg) + '.missing', teacher_checkpoint='x.pth')
    with pytest.raises(ValueError, match='int'):
        student(3)
    other_norm = plain()
    other_norm.data_preprocessor.std.fill_(1.0)
    with pytest.raises(ValueError, match='normalise differently'):
        student(other_norm)
    with pytest.raises(ValueError, match='teacher has 7 classes'):
        student(plain(k=7))


def test_builds_like_a_runner_under_the_host_scope(teacher_files):
    """Runner path: mmengine root MODELS, default_scope='mmpretrain', unprefixed inner types."""
    from mmengine.registry import MODELS, DefaultScope

    cfg, ckpt, _ = teacher_files
    model_cfg = dict(
        type='tricks_mm.BoTDistillClassifier',
        **parts(),
        teacher=str(cfg),
        teacher_checkpoint=str(ckpt),
    )
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    assert isinstance(model, BoTDistillClassifier)
    assert isinstance(model.distill_loss, BoTDistillLoss) and model.distill_loss.temperature == T
