"""The hosts' own configs build with only ``type`` changed (a sample; the whole trees are
surveyed by ``benchmarks/host_config_survey.py``, counts in docs/benchmarks.md).

The sample: the configs the issue names (each of its failure modes: ``pretrained`` handed down
by mmseg, ``style='caffe'`` C4 with its shared head, DCNv2, the GCNet plugin, ``multi_grid``,
mmpretrain's V1d) and a seeded random draw from each tree. Each must build, the named ones with
the variant of the weights they name (the defaults rule).
"""

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.host_config_survey import (  # noqa: E402
    check_config,
    config_root,
    family_configs,
)

NAMED = [
    ('mmseg', 'fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py', 'model.backbone: BoTResNet-C'),
    (
        'mmseg',
        'deeplabv3/deeplabv3_r101-d16-mg124_4xb2-80k_cityscapes-512x1024.py',
        'model.backbone: BoTResNet-C',
    ),
    ('mmdet', 'pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', 'model.backbone: BoTResNet-B'),
    (
        'mmdet',
        'pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py',
        'model.backbone: BoTResNet-A; model.roi_head.shared_head: BoTResLayer-A',
    ),
    ('mmdet', 'dcnv2/faster-rcnn_r50-mdconv-c3-c5_fpn_1x_coco.py', 'model.backbone: BoTResNet-B'),
    ('mmdet', 'gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py', 'model.backbone: BoTResNet-B'),
    ('mmpretrain', 'resnet/resnetv1d50_8xb32_in1k.py', 'model.backbone: BoTResNet-B'),
]


@pytest.mark.parametrize('host, rel, expected', NAMED, ids=[n[1] for n in NAMED])
def test_named_configs_build_with_only_the_type_changed(host, rel, expected):
    from mmengine.config import Config

    cfg = Config.fromfile(str(config_root(host) / rel))
    assert check_config(host, cfg) == ('built', expected)


@pytest.mark.slow
@pytest.mark.parametrize('host', ['mmdet', 'mmseg', 'mmpretrain'])
def test_a_random_sample_of_each_tree_builds(host):
    configs = list(family_configs(host))
    assert len(configs) > 20  # the tree is there and holds ResNet-family configs
    sample = random.Random(0).sample(configs, 6)
    outcomes = {str(path.name): check_config(host, cfg) for path, cfg in sample}
    assert {name: o for name, (o, _) in outcomes.items() if o != 'built'} == {}
