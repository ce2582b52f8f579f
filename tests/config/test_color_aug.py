"""The colour augmentation switches: batched (default) / per image, paper / GluonCV jitter."""

from pathlib import Path

import pytest
from mmengine.config import Config

from tricks_mm.cli.train import build_train_config, parse_args
from tricks_mm.config.color_aug import color_per_image

REPO = Path(__file__).resolve().parents[2]
RUNG = str(REPO / 'configs/classification/resnet50d_cosine_8xb128_in1k.py')
OVERLAY = str(REPO / 'configs/toy/classification.py')
EIGVAL = [55.4625, 4.7940, 1.1475]
EIGVEC_BGR = [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]]
# the per-image transforms the shipped configs had before the batch stage (paper's text)
PAPER_PER_IMAGE = [
    dict(type='ColorJitter', brightness=0.4, saturation=0.4, hue=0.2),
    dict(
        type='tricks_mm.BoTLighting', eigval=EIGVAL, eigvec=EIGVEC_BGR, alphastd=0.1, to_rgb=False
    ),
]


def _types(pipeline) -> list:
    return [t['type'] for t in pipeline]


@pytest.mark.parametrize('overlays', [[], [OVERLAY]], ids=['paper-scale', 'toy'])
def test_shipped_default_is_the_batch_stage_and_workers_only_crop_and_flip(overlays):
    cfg = build_train_config(parse_args([RUNG, '--overlay', *overlays] if overlays else [RUNG]))
    assert _types(cfg.train_dataloader.dataset.pipeline)[1:] == [
        'RandomResizedCrop',
        'RandomFlip',
        'PackInputs',
    ]
    pre = cfg.data_preprocessor
    assert pre.type == 'tricks_mm.BoTClsDataPreprocessor'
    assert pre.batch_color == dict(
        jitter='paper', lighting=dict(eigval=EIGVAL, eigvec=EIGVEC_BGR, alphastd=0.1)
    )


def test_color_per_image_restores_the_per_image_transforms():
    cfg = build_train_config(parse_args([RUNG, '--overlay', OVERLAY, '--color-per-image']))
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert _types(pipeline)[1:] == [
        'RandomResizedCrop',
        'RandomFlip',
        'ColorJitter',
        'tricks_mm.BoTLighting',
        'PackInputs',
    ]
    assert [dict(t) for t in pipeline[3:5]] == PAPER_PER_IMAGE
    assert cfg.data_preprocessor.batch_color is None
    assert pipeline[1]['scale'] == 40  # the rest of the toy pipeline is untouched


def test_gluoncv_jitter_is_one_option_in_both_paths():
    option = ['--cfg-options', 'data_preprocessor.batch_color.jitter=gluoncv']
    cfg = build_train_config(parse_args([RUNG, *option, '--color-per-image']))
    assert dict(cfg.train_dataloader.dataset.pipeline[3]) == dict(
        type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4
    )
    batched = build_train_config(parse_args([RUNG, *option]))
    assert batched.data_preprocessor.batch_color.jitter == 'gluoncv'


def test_color_per_image_refuses_a_config_without_batch_stage():
    cfg = Config(
        dict(
            data_preprocessor=dict(num_classes=2),
            train_dataloader=dict(dataset=dict(pipeline=[dict(type='PackInputs')])),
        )
    )
    with pytest.raises(ValueError, match='no data_preprocessor.batch_color'):
        color_per_image(cfg)


def test_color_per_image_refuses_rgb_input():
    """The per-image transforms take mmcv's BGR images: an RGB-loading config is refused."""
    cfg = Config(
        dict(
            data_preprocessor=dict(num_classes=2, input_order='RGB', batch_color=dict()),
            train_dataloader=dict(dataset=dict(pipeline=[dict(type='PackInputs')])),
        )
    )
    with pytest.raises(ValueError, match="input_order is 'RGB'.*load BGR"):
        color_per_image(cfg)
