"""type='tricks_mm.X' resolves under every host's default scope, without custom_imports."""

import uuid

import pytest
import torch
from mmengine.registry import DefaultScope

HOSTS = ['mmpretrain', 'mmdet', 'mmseg']


def _host_registries(scope: str):
    module = __import__(f'{scope}.registry', fromlist=['MODELS'])
    return module


@pytest.fixture(params=HOSTS)
def host(request):
    scope = request.param
    with DefaultScope.overwrite_default_scope(scope):
        DefaultScope.get_instance(f'test-{uuid.uuid4()}', scope_name=scope)
        yield scope, _host_registries(scope)


def test_models_resolve_under_host_scope(host):
    scope, registries = host
    from tricks_mm.models.backbones import BoTResNet
    from tricks_mm.models.losses.label_smooth import BoTLabelSmoothLoss

    backbone = registries.MODELS.build(dict(type='tricks_mm.BoTResNet', depth=18, variant='d'))
    loss = registries.MODELS.build(dict(type='tricks_mm.BoTLabelSmoothLoss', eps=0.1))
    assert type(backbone) is BoTResNet and type(loss) is BoTLabelSmoothLoss
    # host names still resolve to the host's own classes in the same scope
    assert registries.MODELS.get('ResNet').__module__.startswith(scope)


def test_scheduler_and_hooks_resolve_under_host_scope(host):
    scope, registries = host
    from tricks_mm.engine.warmup import BoTLinearWarmupLR

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = registries.PARAM_SCHEDULERS.build(
        dict(type='tricks_mm.BoTLinearWarmupLR', optimizer=opt, begin=0, end=4, by_epoch=False)
    )
    assert type(sched) is BoTLinearWarmupLR
    assert opt.param_groups[0]['lr'] == pytest.approx(0.1 / 4)
    for hook in ('BoTRNGStateHook', 'BoTChannelsLastHook', 'BoTNonFiniteLossHook'):
        assert type(registries.HOOKS.build(dict(type=f'tricks_mm.{hook}'))).__name__ == hook
