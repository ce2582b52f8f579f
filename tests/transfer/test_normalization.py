"""Input normalisation follows the checkpoint: recorded on import/convert, matched or refused."""

import json

import pytest
import timm
import timm.data
import torch
from mmengine.config import Config

from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.transfer.convert import convert_classifier
from tricks_mm.transfer.export import export_classifier
from tricks_mm.transfer.importers import import_classifier
from tricks_mm.transfer.normalization import (
    MMPRETRAIN_IMAGENET,
    TIMM_IMAGENET,
    InputNormalization,
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


@pytest.mark.parametrize('flag', ['bgr_to_rgb', 'rgb_to_bgr', None])
def test_channel_order_agrees_with_what_mmengine_feeds_the_network(flag):
    """Either swap flag makes mmengine's preprocessor feed RGB (from mmcv's BGR images)."""
    from mmengine.model import ImgDataPreprocessor

    cfg = dict(mean=[1.0, 2.0, 3.0], std=[2.0, 4.0, 8.0])
    if flag:
        cfg[flag] = True
    norm = from_preprocessor(cfg)
    assert norm.channel_order == ('RGB' if flag else 'BGR')
    bgr = torch.tensor([10.0, 20.0, 30.0]).view(3, 1, 1).expand(3, 2, 2)
    fed = ImgDataPreprocessor(**cfg)(dict(inputs=[bgr]))['inputs'][0][:, 0, 0]
    seen = [30.0, 20.0, 10.0] if norm.channel_order == 'RGB' else [10.0, 20.0, 30.0]
    expected = [(v - m) / s for v, m, s in zip(seen, norm.mean, norm.std)]
    assert fed.tolist() == pytest.approx(expected, abs=1e-6)


def test_both_swap_flags_are_refused():
    with pytest.raises(ValueError, match='sets both bgr_to_rgb and rgb_to_bgr'):
        from_preprocessor(dict(PAPER, rgb_to_bgr=True))


@pytest.mark.parametrize(
    'mean, std, scale, match',
    [
        (
            (123.675, 116.28, 103.53),
            (58.395, 57.12, 57.375),
            1,
            r'scale=1 means pixels in \[0, 1\]',
        ),
        ((0.485, 0.456, 0.406), (58.395, 57.12, 57.375), 1, r'scale=1 means pixels in \[0, 1\]'),
        ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 255, 'scale=255 means pixels in 0-255'),
    ],
)
def test_scale_must_agree_with_the_units_of_mean_and_std(mean, std, scale, match):
    with pytest.raises(ValueError, match=match):
        InputNormalization(mean, std, scale, 'RGB')


@pytest.fixture(scope='module')
def timm_classifier(tmp_path_factory):
    root = tmp_path_factory.mktemp('export')
    torch.save(timm.create_model('resnet18d', num_classes=5).state_dict(), root / 'r18d.pth')
    import_classifier(str(root / 'r18d.pth'), str(root / 'cls.pth'))
    return root / 'cls.pth'


def test_export_writes_the_normalisation_timm_reads(timm_classifier, tmp_path):
    info = export_classifier(str(timm_classifier), str(tmp_path / 'r18d.safetensors'), 'timm')
    assert info['config'] == str(tmp_path / 'r18d.json')
    config = json.loads((tmp_path / 'r18d.json').read_text())
    # timm's own data config for the architecture: the same mean/std (the import recorded it)
    reference = timm.data.resolve_data_config({}, model=timm.create_model('resnet18d'))
    assert config['architecture'] == 'resnet18d' and config['num_classes'] == 5
    assert config['pretrained_cfg']['mean'] == pytest.approx(reference['mean'], abs=1e-6)
    assert config['pretrained_cfg']['std'] == pytest.approx(reference['std'], abs=1e-6)


def _rewritten(source, tmp_path, change) -> str:
    ckpt = safe_torch_load(str(source))
    change(ckpt['meta'])
    path = tmp_path / 'changed.pth'
    torch.save(ckpt, path)
    return str(path)


def test_export_refuses_unknown_or_bgr_normalisation(timm_classifier, tmp_path):
    def forget(meta):  # neither the record nor a config with a data preprocessor
        meta.pop('input_normalization')
        meta.pop('cfg', None)

    unknown = _rewritten(timm_classifier, tmp_path, forget)
    with pytest.raises(ValueError, match='records no input normalisation'):
        export_classifier(unknown, str(tmp_path / 'o.pth'), 'timm')
    caffe = InputNormalization((103.53, 116.28, 123.675), (1.0, 1.0, 1.0), 255, 'BGR')
    bgr = _rewritten(
        timm_classifier, tmp_path, lambda m: m.update(input_normalization=caffe.as_dict())
    )
    with pytest.raises(ValueError, match='was trained on BGR input'):
        export_classifier(bgr, str(tmp_path / 'o.pth'), 'timm')
    assert not (tmp_path / 'o.pth').exists()  # refused before anything is written
