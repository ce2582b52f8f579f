"""BoTLoadImageFromFile's extra decoders give what mmcv's cv2 backend gives."""

import cv2
import numpy as np
import pytest

from tricks_mm.datasets.loading import BoTLoadImageFromFile


@pytest.fixture
def jpeg(tmp_path):
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.uniform(0, 255, (12, 14, 3)).astype(np.uint8), (70, 60))
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    path = tmp_path / 'a.jpg'
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return str(path)


@pytest.mark.parametrize('backend', ['torchvision', 'simplejpeg'])
def test_decoder_matches_opencv(jpeg, backend):
    if backend == 'simplejpeg':
        pytest.importorskip('simplejpeg')
    ref = BoTLoadImageFromFile()(dict(img_path=jpeg))['img']
    out = BoTLoadImageFromFile(imdecode_backend=backend)(dict(img_path=jpeg))
    assert out['img'].dtype == np.uint8 and out['img'].flags['C_CONTIGUOUS']
    assert out['img_shape'] == ref.shape[:2] == (60, 70)
    # all three are libjpeg-turbo with the same default IDCT and upsampling: same pixels
    # (docs/benchmarks.md lists the measured difference on the benchmark's JPEGs)
    assert np.abs(out['img'].astype(int) - ref).max() <= 1


def test_decoder_refuses_grayscale_with_the_fix():
    with pytest.raises(ValueError, match="use the 'cv2' backend"):
        BoTLoadImageFromFile(imdecode_backend='torchvision', color_type='grayscale')


def test_decoder_failure_names_the_file(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'\xff\xd8 not a jpeg')
    from tricks_mm.datasets.loading import ImageLoadError

    with pytest.raises(ImageLoadError, match='bad.jpg'):
        BoTLoadImageFromFile(imdecode_backend='torchvision')(dict(img_path=str(bad)))
