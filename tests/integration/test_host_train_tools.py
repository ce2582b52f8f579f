"""The hosts' own ``tools/train.py`` (from the installed packages' ``.mim/tools``) trains 2
iterations and evaluates, on the tiny embedded data, a stock host config whose ResNet's ``type``
is the only model change (``tricks_mm.BoTResNet``, and ``tricks_mm.BoTResLayer`` for mmdet's C4
shared head). Where the config names remote host weights, a local file in the host's own layout
(built by the host class, saved as mmengine saves) replaces them, and the backbone loads it
strictly. Everything else the overlay sets is test environment: the data root and class names
of the tiny suite, small images, 2 iterations, no workers.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CLASSES = "('cross', 'disc', 'ring', 'square', 'star', 'triangle')"
pytestmark = pytest.mark.slow


def _host_file(host: str, rel: str) -> Path:
    return Path(importlib.import_module(host).__file__).parent / '.mim' / rel


def _weights(tmp_path: Path, host: str, cls: str, **kwargs) -> str:
    """A ResNet checkpoint in the host's own layout, written by the host class itself."""
    from mmengine.runner.checkpoint import save_checkpoint

    registry = importlib.import_module(f'{host}.registry').MODELS
    torch.manual_seed(0)
    model = registry.build(dict(type=f'{host}.{cls}', **kwargs))
    path = tmp_path / f'{host}_{cls}_{kwargs.get("depth")}.pth'
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return str(path)


def _train(host: str, overlay: str, tmp_path: Path, workspace: Path) -> str:
    cfg = tmp_path / 'config.py'
    cfg.write_text(overlay)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]),
        OMP_NUM_THREADS='2',
    )
    proc = subprocess.run(
        [
            sys.executable,
            str(_host_file(host, 'tools/train.py')),
            str(cfg),
            '--work-dir',
            str(tmp_path / 'work'),
        ],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Iter(train) [2/2]' in log, log[-3000:]
    return log


_SHORT = """
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=2)
param_scheduler = []
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=2))
"""

_VOC = """
data_root = 'data/synthetic/det/VOCdevkit/'
metainfo = dict(classes=CLASSES)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='VOCDataset', data_root=data_root, metainfo=metainfo,
                 ann_file='VOC2007/ImageSets/Main/trainval.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='VOCDataset', data_root=data_root, metainfo=metainfo,
                 ann_file='VOC2007/ImageSets/Main/test.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'), test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
""".replace('CLASSES', CLASSES)

_ADE = """
data_root = 'data/synthetic/seg'
crop_size = (64, 64)  # model.data_preprocessor.size: set in each test's model line
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
_ade = dict(_delete_=True, type='ADE20KDataset', data_root=data_root, reduce_zero_label=True)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_ade, data_prefix=dict(img_path='images/training',
                                        seg_map_path='annotations/training'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_ade, data_prefix=dict(img_path='images/validation',
                                        seg_map_path='annotations/validation'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
"""


def test_mmdet_voc_fpn(tmp_path, tiny_workspace):
    weights = _weights(tmp_path, 'mmdet', 'ResNet', depth=50)  # for torchvision://resnet50
    base = _host_file('mmdet', 'configs/pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py')
    log = _train(
        'mmdet',
        f"""_base_ = '{base}'
model = dict(backbone=dict(type='tricks_mm.BoTResNet', init_cfg=dict(checkpoint='{weights}')))
"""
        + _VOC
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    assert 'BoTResNet: ResNet-B50 (from the weights of' in log
    assert 'pascal_voc/mAP' in log


def test_mmdet_c4_caffe(tmp_path, tiny_workspace):
    weights = _weights(tmp_path, 'mmdet', 'ResNet', depth=50, style='caffe')
    base = _host_file('mmdet', 'configs/pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py')
    log = _train(
        'mmdet',
        f"""_base_ = '{base}'
model = dict(
    backbone=dict(type='tricks_mm.BoTResNet', init_cfg=dict(checkpoint='{weights}')),
    roi_head=dict(shared_head=dict(type='tricks_mm.BoTResLayer',
                                   init_cfg=dict(checkpoint='{weights}'))))
"""
        + _VOC
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    assert 'BoTResNet: ResNet-A50' in log and 'BoTResLayer: stage of ResNet-A50' in log
    assert "['layer4']" in log  # the 3-stage backbone leaves the file's stage 4 to the head
    assert 'pascal_voc/mAP' in log


def test_mmdet_dcnv2(tmp_path, tiny_workspace):
    weights = _weights(tmp_path, 'mmdet', 'ResNet', depth=50)
    base = _host_file('mmdet', 'configs/dcnv2/faster-rcnn_r50-mdconv-c3-c5_fpn_1x_coco.py')
    # the COCO config's model, trained on the tiny VOC-format data (no COCO json here); the
    # plain ResNet file has no DCN offsets: they keep mmcv's zero init, as in mmdet
    log = _train(
        'mmdet',
        f"""_base_ = '{base}'
model = dict(backbone=dict(type='tricks_mm.BoTResNet', init_cfg=dict(checkpoint='{weights}')))
"""
        + _VOC
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    assert 'keep their own init (DCN offsets at 0, plugins)' in log
    assert 'BoTResNet: ResNet-B50' in log
    assert 'pascal_voc/mAP' in log


def test_mmseg_fcn_ade20k(tmp_path, tiny_workspace):
    weights = _weights(tmp_path, 'mmseg', 'ResNetV1c', depth=50)  # for open-mmlab://resnet50_v1c
    base = _host_file('mmseg', 'configs/fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py')
    log = _train(
        'mmseg',
        f"""_base_ = '{base}'
model = dict(pretrained='{weights}', backbone=dict(type='tricks_mm.BoTResNet'),
             data_preprocessor=dict(size=(64, 64)))
"""
        + _ADE
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    assert 'BoTResNet: ResNet-C50 (from the weights of' in log
    assert 'mIoU' in log


def test_mmseg_deeplabv3_multi_grid(tmp_path, tiny_workspace):
    weights = _weights(tmp_path, 'mmseg', 'ResNetV1c', depth=101)
    base = _host_file(
        'mmseg', 'configs/deeplabv3/deeplabv3_r101-d16-mg124_4xb2-80k_cityscapes-512x1024.py'
    )
    log = _train(
        'mmseg',
        f"""_base_ = '{base}'
model = dict(pretrained='{weights}', backbone=dict(type='tricks_mm.BoTResNet'),
             data_preprocessor=dict(size=(64, 64)))
"""
        + _ADE
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    assert 'BoTResNet: ResNet-C101' in log
    assert 'mIoU' in log


def test_mmpretrain_resnetv1d50(tmp_path, tiny_workspace):
    base = _host_file('mmpretrain', 'configs/resnet/resnetv1d50_8xb32_in1k.py')
    log = _train(
        'mmpretrain',
        f"""_base_ = '{base}'
model = dict(backbone=dict(type='tricks_mm.BoTResNet'), head=dict(num_classes=6, topk=(1,)))
data_root = 'data/synthetic/cls'
_pipe = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=32),
         dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(_delete_=True, type='CustomDataset',
                                     data_root=data_root + '/train', pipeline=_pipe))
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      dataset=dict(_delete_=True, type='CustomDataset',
                                   data_root=data_root + '/val', pipeline=_pipe))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
"""
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    # its ResNetV1d keeps style='pytorch' and names no weights: host semantics, B (to keep the
    # deep stem and avg-down, a config adds deep_stem=True, avg_down=True or variant='d')
    assert "BoTResNet: ResNet-B50 (host keys {'style': 'pytorch'}" in log
    assert 'accuracy/top1' in log


def _voc_as_coco(workspace: Path, split: str, out: Path) -> str:
    """The tiny VOC-format split as a COCO json with box-shaped polygon masks (Mask R-CNN
    needs masks; the suite's shapes are drawn inside their boxes)."""
    import json
    import xml.etree.ElementTree as ET

    root = workspace / 'data/synthetic/det/VOCdevkit/VOC2007'
    classes = eval(CLASSES)  # noqa: S307 - the literal tuple above
    images, anns = [], []
    for i, name in enumerate((root / f'ImageSets/Main/{split}.txt').read_text().split()):
        xml = ET.parse(root / f'Annotations/{name}.xml').getroot()
        size = xml.find('size')
        images.append(
            dict(
                id=i,
                file_name=f'JPEGImages/{name}.jpg',
                width=int(size.find('width').text),
                height=int(size.find('height').text),
            )
        )
        for obj in xml.findall('object'):
            b = [float(obj.find('bndbox').find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
            anns.append(
                dict(
                    id=len(anns),
                    image_id=i,
                    iscrowd=0,
                    category_id=classes.index(obj.find('name').text),
                    bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]],
                    area=(b[2] - b[0]) * (b[3] - b[1]),
                    segmentation=[[b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3]]],
                )
            )
    out.write_text(
        json.dumps(
            dict(
                images=images,
                annotations=anns,
                categories=[dict(id=k, name=c) for k, c in enumerate(classes)],
            )
        )
    )
    return str(out)


def test_mmdet_gcnet_plugin(tmp_path, tiny_workspace):
    weights = _weights(tmp_path, 'mmdet', 'ResNet', depth=50)  # for torchvision://resnet50
    train_json = _voc_as_coco(tiny_workspace, 'trainval', tmp_path / 'train.json')
    test_json = _voc_as_coco(tiny_workspace, 'test', tmp_path / 'test.json')
    base = _host_file('mmdet', 'configs/gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py')
    log = _train(
        'mmdet',
        f"""_base_ = '{base}'
model = dict(backbone=dict(type='tricks_mm.BoTResNet', init_cfg=dict(checkpoint='{weights}')))
data_root = 'data/synthetic/det/VOCdevkit/VOC2007/'
metainfo = dict(classes={CLASSES})
_pipe = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs'),
]
_coco = dict(_delete_=True, type='CocoDataset', data_root=data_root, metainfo=metainfo,
             data_prefix=dict(img=''), pipeline=_pipe)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
                        batch_sampler=None,
                        dataset=dict(_coco, ann_file='{train_json}',
                                     filter_cfg=dict(filter_empty_gt=True, min_size=4)))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(_coco, ann_file='{test_json}', test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='{test_json}', metric=['bbox', 'segm'])
test_evaluator = val_evaluator
"""
        + _SHORT,
        tmp_path,
        tiny_workspace,
    )
    assert 'BoTResNet: ResNet-B50 (from the weights of' in log
    assert 'keep their own init (DCN offsets at 0, plugins)' in log  # the context blocks
    # evaluated: after 2 iterations the random heads may keep no box above the score threshold,
    # which CocoMetric reports as an empty result instead of mAPs
    assert 'coco/segm_mAP' in log or 'The testing results of the whole dataset is empty' in log
    assert 'Iter(val) [2/2]' in log
