"""One converted classifier feeds the C4 Faster R-CNN twice: stages 1-3 into the backbone, stage 4
into the RoI head, each strictly, together every key of the checkpoint."""

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.models.backbones import BoTResNet, CheckpointMismatchError
from tricks_mm.models.roi_heads import BoTResLayer
from tricks_mm.transfer.convert import convert_classifier

REPO = Path(__file__).resolve().parents[2]
C4_CFG = REPO / 'configs' / 'detection' / 'faster-rcnn_botr50-d-c4_1x_voc0712.py'


def _converted(tmp_path: Path, depth: int, variant: str, seed: int) -> Path:
    """A converted checkpoint of a classifier with random ("trained") weights."""
    torch.manual_seed(seed)
    backbone = BoTResNet(depth=depth, variant=variant)
    state = {
        f'backbone.{k}': v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
        for k, v in backbone.state_dict().items()
    }
    state['head.fc.weight'] = torch.randn(1000, backbone.feat_dim)
    cls_ckpt = tmp_path / f'cls_{variant}{depth}.pth'
    torch.save({'state_dict': state}, cls_ckpt)
    out = tmp_path / f'backbone_{variant}{depth}.pth'
    convert_classifier(str(cls_ckpt), str(out))
    return out


_C4 = Config.fromfile(str(C4_CFG))


def _c4_model_cfg(checkpoint: Path, depth: int = 50, variant: str = 'd') -> ConfigDict:
    model = copy.deepcopy(_C4.model)
    for part in (model['backbone'], model['roi_head']['shared_head']):
        part.update(depth=depth, variant=variant)
        part['init_cfg']['checkpoint'] = str(checkpoint)
    return model


def _build(model_cfg: ConfigDict):
    from mmdet.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(model_cfg)


@pytest.fixture(scope='module')
def d50(tmp_path_factory) -> Path:
    return _converted(tmp_path_factory.mktemp('c4'), 50, 'd', seed=0)


def test_backbone_and_head_share_out_every_key(d50):
    model = _build(_c4_model_cfg(d50))
    model.init_weights()
    assert isinstance(model.backbone, BoTResNet) and model.backbone.num_stages == 3
    head = model.roi_head.shared_head
    assert isinstance(head, BoTResLayer)
    state = safe_torch_load(str(d50), map_location='cpu')['state_dict']
    loaded = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    loaded.update({f'backbone.{k}': v for k, v in head.state_dict().items()})
    assert set(loaded) == set(state)  # nothing left behind, nothing invented
    differ = [k for k, v in loaded.items() if not torch.equal(v, state[k])]
    assert not differ, differ


def test_other_depth_is_refused_by_the_backbone(tmp_path, d50):
    # ResNet-101's layer4 has 3 blocks like ResNet-50's: only stages 1-3 can tell them apart
    r101 = _converted(tmp_path, 101, 'd', seed=1)
    model = _build(_c4_model_cfg(r101, depth=50))
    with pytest.raises(CheckpointMismatchError, match=r'unexpected keys \[layer3\.6\.'):
        model.backbone.init_weights()
    model.roi_head.shared_head.init_weights()  # the head alone cannot see it


def test_other_variant_is_refused_by_both(tmp_path):
    b50 = _converted(tmp_path, 50, 'b', seed=2)
    model = _build(_c4_model_cfg(b50, depth=50, variant='d'))
    with pytest.raises(CheckpointMismatchError, match=r'conv1\.0\.weight'):
        model.backbone.init_weights()
    with pytest.raises(CheckpointMismatchError, match=r'0\.downsample\.2\.weight'):
        model.roi_head.shared_head.init_weights()


def test_exclude_must_name_existing_keys(d50):
    cfg = _c4_model_cfg(d50)
    cfg['backbone']['init_cfg']['exclude'] = ['layer5.']
    with pytest.raises(CheckpointMismatchError, match=r"starts with 'layer5\.'"):
        _build(cfg).backbone.init_weights()
    # without exclude, the backbone refuses the stage the head should load
    del cfg['backbone']['init_cfg']['exclude']
    with pytest.raises(CheckpointMismatchError, match=r'unexpected keys \[layer4\.0\.'):
        _build(cfg).backbone.init_weights()
