"""BoTChannelsLastHook: NHWC weights and batches, the same numbers as NCHW."""

import copy
from types import SimpleNamespace
from typing import List

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch.testing import assert_close
from torch.utils.data import Dataset

from tricks_mm.engine.channels_last import BoTChannelsLastHook, to_channels_last

K = 5
CL = torch.channels_last
# fp32 tolerances: NHWC and NCHW convolutions accumulate in different orders (about 1e-6
# relative per layer on CPU), which is well inside these.
TOL = dict(rtol=1e-4, atol=1e-5)


def classifier():
    """ResNet-18-D classifier (tricks_mm backbone in an mmpretrain ImageClassifier)."""
    from mmpretrain.registry import MODELS

    model = MODELS.build(
        dict(
            _scope_='mmpretrain',  # independent of whatever default scope an earlier test left
            type='ImageClassifier',
            backbone=dict(type='tricks_mm.BoTResNet', depth=18, variant='d'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=K, in_channels=512),
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True,
                num_classes=K,
            ),
        )
    )
    model.init_weights()
    return model


def batch(n: int = 4, size: int = 32, seed: int = 0) -> dict:
    from mmpretrain.structures import DataSample

    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(i % K) for i in range(n)],
    )


def record_backbone_inputs(model) -> List[bool]:
    """Forward pre-hook on the backbone: whether each input it receives is channels_last."""
    seen: List[bool] = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].is_contiguous(memory_format=CL))
    )
    return seen


def apply_hook(hook: BoTChannelsLastHook, model, stage: str = 'train') -> SimpleNamespace:
    runner = SimpleNamespace(model=model)
    hook.before_run(runner)
    getattr(hook, f'before_{stage}')(runner)
    return runner


def sgd(model) -> OptimWrapper:
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True))


def test_train_step_and_predict_match_nchw():
    torch.manual_seed(0)
    ref = classifier()
    nhwc = copy.deepcopy(ref)
    ref_seen, nhwc_seen = record_backbone_inputs(ref), record_backbone_inputs(nhwc)
    apply_hook(BoTChannelsLastHook(), nhwc)

    convs = [p for p in nhwc.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=CL) for p in convs)
    assert not all(p.is_contiguous(memory_format=CL) for p in ref.parameters() if p.dim() == 4)

    data = batch()
    ref_log = ref.train_step(copy.deepcopy(data), sgd(ref))
    nhwc_log = nhwc.train_step(copy.deepcopy(data), sgd(nhwc))
    assert_close(nhwc_log['loss'], ref_log['loss'], **TOL)
    # one Nesterov step later the weights still agree (and keep their layout)
    for (name, p_ref), p_nhwc in zip(ref.named_parameters(), nhwc.parameters()):
        assert_close(p_nhwc, p_ref, **TOL, msg=name)
    assert all(p.is_contiguous(memory_format=CL) for p in convs)

    ref.eval(), nhwc.eval()
    ref_pred = ref.test_step(copy.deepcopy(data))
    nhwc_pred = nhwc.test_step(copy.deepcopy(data))
    assert_close(
        torch.stack([s.pred_score for s in nhwc_pred]),
        torch.stack([s.pred_score for s in ref_pred]),
        **TOL,
    )
    assert nhwc_seen == [True, True] and ref_seen == [False, False]


def test_after_run_removes_the_preprocessor_hook_and_before_run_registers_once():
    model = classifier()
    hook = BoTChannelsLastHook()
    runner = apply_hook(hook, model, 'test')
    hook.before_run(runner)  # a second call must not stack a second hook
    assert len(model.data_preprocessor._forward_hooks) == 1
    seen = record_backbone_inputs(model)
    model.eval()
    model.test_step(batch(n=2))
    hook.after_run(runner)
    assert not model.data_preprocessor._forward_hooks
    model.test_step(batch(n=2))
    assert seen == [True, False]  # the weights stay NHWC; the batches are NCHW again


def test_to_channels_last_leaves_non_4d_tensors():
    x4, x3 = torch.randn(2, 3, 4, 5), torch.randn(3, 4, 5)
    out = to_channels_last([x4, x3])
    assert out[0].is_contiguous(memory_format=CL) and out[1] is x3
    assert_close(out[0], x4, rtol=0, atol=0)


def test_model_without_data_preprocessor_is_refused():
    with pytest.raises(ValueError, match='data_preprocessor'):
        BoTChannelsLastHook().before_run(SimpleNamespace(model=torch.nn.Conv2d(3, 3, 1)))


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_built_from_any_host_scope(scope):
    import importlib

    from mmengine.registry import HOOKS, DefaultScope

    importlib.import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        hook = HOOKS.build(dict(type='tricks_mm.BoTChannelsLastHook'))
    assert isinstance(hook, BoTChannelsLastHook)


class _Batches(Dataset):
    """Eight ready samples in the format mmpretrain's datasets produce after PackInputs."""

    def __init__(self) -> None:
        data = batch(n=8, seed=1)
        self.items = [
            dict(inputs=i, data_samples=s) for i, s in zip(data['inputs'], data['data_samples'])
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> dict:
        return copy.deepcopy(self.items[idx])


def test_runner_uses_the_hook_from_config(tmp_path):
    """End to end: the Runner builds the hook from `custom_hooks` and trains/tests in NHWC."""
    from mmengine.runner import Runner

    model = classifier()
    seen = record_backbone_inputs(model)
    loader = dict(
        batch_size=4,
        num_workers=0,
        dataset=_Batches(),
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
    )
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        default_scope='mmpretrain',
        train_dataloader=loader,
        test_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=2, val_interval=100),
        test_cfg=dict(),
        test_evaluator=dict(type='Accuracy', topk=(1,)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        custom_hooks=[dict(type='tricks_mm.BoTChannelsLastHook')],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING',
    )
    runner.train()
    runner.test()
    assert seen == [True] * 4
    assert all(p.is_contiguous(memory_format=CL) for p in model.parameters() if p.dim() == 4)
