"""The architecture read from a state dict alone, checked on our backbone and on independent
implementations (timm's ResNet-D / ResNet, torchvision's ResNet = variant B)."""

import pytest
import torch

from tricks_mm.models.backbones.bot_resnet import BoTResNet
from tricks_mm.transfer.architecture import infer_architecture


def _meta_state(model: torch.nn.Module, drop=('fc.',)) -> dict:
    return {k: v for k, v in model.state_dict().items() if not k.startswith(drop)}


@pytest.mark.parametrize('depth', [18, 34, 50, 101, 152])
@pytest.mark.parametrize('variant', ['a', 'b', 'c', 'd'])
def test_botresnet_layouts(depth, variant):
    with torch.device('meta'):
        model = BoTResNet(depth=depth, variant=variant, stem_channels=32, base_channels=16)
    arch = infer_architecture(model.state_dict())
    expected = ('a', 'b') if variant in 'ab' else (variant,)
    assert arch == dict(
        depth=depth,
        variant=None if variant in 'ab' else variant,
        candidates=expected,
        stem_channels=32,
        base_channels=16,
        in_channels=3,
        num_stages=4,
    )


@pytest.mark.parametrize(
    'name, depth, candidates',
    [
        ('resnet50d', 50, ('d',)),
        ('resnet18d', 18, ('d',)),
        ('resnet50c', 50, ('c',)),
        ('resnet50', 50, ('a', 'b')),
        ('resnet101d', 101, ('d',)),
    ],
)
def test_timm_models(name, depth, candidates):
    timm = pytest.importorskip('timm')
    with torch.device('meta'):
        model = timm.create_model(name, pretrained=False)
    arch = infer_architecture(_meta_state(model))
    assert (arch['depth'], arch['candidates'], arch['stem_channels']) == (depth, candidates, 64)


@pytest.mark.parametrize('name, depth', [('resnet18', 18), ('resnet152', 152)])
def test_torchvision_models(name, depth):
    import torchvision

    with torch.device('meta'):
        model = getattr(torchvision.models, name)()
    arch = infer_architecture(_meta_state(model))
    assert (arch['depth'], arch['variant'], arch['candidates']) == (depth, None, ('a', 'b'))


def test_foreign_layouts_are_refused_naming_what_is_wrong():
    with torch.device('meta'):
        state = BoTResNet(depth=50, variant='d').state_dict()
    with pytest.raises(ValueError, match='no stem'):
        infer_architecture({k: v for k, v in state.items() if not k.startswith('conv1')})
    with pytest.raises(
        ValueError, match=r'\[3, 4, 5\] with Bottleneck blocks .* match no BoTResNet depths'
    ):
        infer_architecture(
            {k: v for k, v in state.items() if not k.startswith(('layer3.5.', 'layer4.'))}
        )
    with torch.device('meta'):
        b = BoTResNet(depth=50, variant='b').state_dict()
    mixed = {k: v for k, v in b.items() if not k.startswith('layer2.0.downsample')}
    mixed.update({k: v for k, v in state.items() if k.startswith('layer2.0.downsample')})
    with pytest.raises(ValueError, match='pooled'):
        infer_architecture(mixed)
