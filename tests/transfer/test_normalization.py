"""Input normalisation follows the checkpoint: recorded on import/convert, matched or refused."""

import pytest
import timm
import torch
from mmengine.config import Config

from tricks_mm.transfer.convert import convert_classifier
from tricks_mm.transfer.importers import import_classifier
from tricks_mm.transfer.normalization import (
    MMPRETRAIN_IMAGENET,
    TIMM_IMAGENET,
    NormalizationMismatchError,
    check_config_normalization,
    from_preprocessor,
    mismatch,
    preprocessor_fields,
)

#: mmdet's caffe-style input (detectron weights): BGR, std 1
CAFFE = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
PAPER = dict(mean=[123.68, 116.779, 103.939], std=[58.393, 57.12, 57.375], bgr_to_rgb=True)


def test_preprocessor_fields_rescale_timm_to_pixels():
    fields = preprocessor_fields(TIMM_IMAGENET, 'bgr_to_rgb')
    assert fields['mean'] == pytest.approx([0.485 * 255, 0.456 * 255, 0.406 * 255])
    assert fields['std'] == pytest.approx([0.229 * 255, 0.224 * 255, 0.225 * 255])
    assert fields['bgr_to_rgb'] is True
    # timm's constants x 255 are mmpretrain's ImageNet defaults
    assert mismatch(TIMM_IMAGENET, MMPRETRAIN_IMAGENET) is None


def test_same_convention_written_twice_matches_and_caffe_style_does_not():
    assert mismatch(TIMM_IMAGENET, from_preprocessor(PAPER)) is None
    caffe = from_preprocessor(CAFFE)
    assert caffe.channel_order == 'BGR' and caffe.pixels()[0] == (123.675, 116.28, 103.53)
    assert 'channel order RGB vs BGR' in mismatch(TIMM_IMAGENET, caffe)
    rgb_std1 = from_preprocessor(dict(CAFFE, mean=CAFFE['mean'][::-1], bgr_to_rgb=True))
    assert 'differ by up to' in mismatch(TIMM_IMAGENET, rgb_std1)


@pytest.fixture(scope='module')
def timm_backbone(tmp_path_factory):
    root = tmp_path_factory.mktemp('norm')
    torch.save(timm.create_model('resnet18d', num_classes=5).state_dict(), root / 'r18d.pth')
    import_classifier(str(root / 'r18d.pth'), str(root / 'cls.pth'))
    meta = convert_classifier(str(root / 'cls.pth'), str(root / 'backbone.pth'))
    assert meta['input_normalization'] == TIMM_IMAGENET.as_dict()
    return str(root / 'backbone.pth')


def _cfg(checkpoint: str, preprocessor: dict) -> Config:
    return Config(
        dict(
            model=dict(
                data_preprocessor=preprocessor,
                backbone=dict(
                    type='tricks_mm.BoTResNet',
                    depth=18,
                    variant='d',
                    init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.'),
                ),
            )
        )
    )


def test_downstream_config_mismatching_the_checkpoint_is_refused(timm_backbone):
    check_config_normalization(_cfg(timm_backbone, PAPER))  # same convention
    with pytest.raises(NormalizationMismatchError) as err:
        check_config_normalization(_cfg(timm_backbone, CAFFE))
    message = str(err.value)
    assert timm_backbone in message
    assert 'BGR input, mean=(123.675, 116.280, 103.530) std=(1.000, 1.000, 1.000)' in message
    assert 'RGB input, mean=(123.675, 116.280, 103.530) std=(58.395, 57.120, 57.375)' in message
    with pytest.raises(NormalizationMismatchError, match='sets no mean/std'):
        check_config_normalization(_cfg(timm_backbone, dict(bgr_to_rgb=True)))


def test_checkpoints_without_a_record_are_not_judged(tmp_path):
    torch.save({'state_dict': {}}, tmp_path / 'foreign.pth')
    check_config_normalization(_cfg(str(tmp_path / 'foreign.pth'), CAFFE))
