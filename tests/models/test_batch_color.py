"""The batch colour stage equals the per-image transforms it replaces (mmpretrain / mmcv / PIL).

References: mmcv's ``adjust_*`` with the ``'pillow'`` backend (what mmpretrain's ``ColorJitter``
calls), mmpretrain's ``ColorJitter`` itself with fixed factors, ``tricks_mm.BoTLighting``,
torchvision's float colour functions (the exact formulas, no uint8 rounding) and scipy's
distributions for the random factors.
"""

import mmcv
import numpy as np
import pytest
import torch
from scipy import stats

from tricks_mm.datasets.lighting import BoTLighting
from tricks_mm.models.data_preprocessors import (
    BoTBatchColorJitter,
    BoTClsDataPreprocessor,
    color_ops,
)

EIGVAL = [55.4625, 4.7940, 1.1475]
EIGVEC_BGR = [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]]
LIGHTING = dict(eigval=EIGVAL, eigvec=EIGVEC_BGR, alphastd=0.1)
BGR = (2, 1, 0)  # the channels holding R, G, B in an mmcv (BGR) image


def _images(n: int = 6, size: int = 24, seed: int = 0) -> np.ndarray:
    """uint8 BGR images with saturated, dark, bright and grey regions (NHWC)."""
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    imgs[:, :4] = 0  # black rows: lighting must keep them black-ish, never wrap
    imgs[:, 4:8] = 255
    imgs[:, 8:12, :, :] = rng.integers(0, 256, (n, 4, size, 1), dtype=np.uint8)  # grey
    imgs[:, 12:16, :, 0] = 255  # saturated blue
    imgs[:, 12:16, :, 1:] = 0
    return imgs


def _batch(imgs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float()


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).numpy()


PIL_OPS = {  # op -> the mmcv function mmpretrain's ColorJitter calls (pillow backend)
    'brightness': lambda img, f: mmcv.adjust_brightness(img, f, backend='pillow'),
    'contrast': lambda img, f: mmcv.adjust_contrast(img, f, backend='pillow'),
    'saturation': lambda img, f: mmcv.adjust_color(img, alpha=f, backend='pillow'),
    'hue': lambda img, f: mmcv.adjust_hue(img, f, backend='pillow'),
}
FACTORS = {
    'brightness': [0.6, 0.8, 1.0, 1.2, 1.4, 1.33],
    'contrast': [0.6, 0.8, 1.0, 1.2, 1.4, 0.71],
    'saturation': [0.6, 0.8, 1.0, 1.2, 1.4, 0.93],
    'hue': [-0.2, -0.1, 0.0, 0.05, 0.2, 0.13],
}
# Largest |batch - PIL| in 0..255 units, from PIL's uint8 arithmetic: blends truncate to uint8
# (< 1); saturation blends with the grey image rounded to uint8, contrast with the mean grey
# rounded to an integer (each < 0.5 * |1 - f| <= 0.2 more); hue goes through PIL's 8-bit H, S, V
# planes, whose round trip alone (hue 0) moves pixels by up to 6 (mean 0.6), and shifts H in
# steps of 1/255 of the circle (a step is 6 units on a fully saturated pixel).
MAX_DIFF = {'brightness': 1.0, 'contrast': 1.2, 'saturation': 1.2, 'hue': 12.0}


@pytest.mark.parametrize('op', list(PIL_OPS))
def test_each_op_with_fixed_factors_equals_mmcv_pillow(op):
    imgs = _images()
    factors = torch.tensor(FACTORS[op])
    out = getattr(color_ops, op)(_batch(imgs), factors, BGR)
    want = np.stack([PIL_OPS[op](img, float(f)) for img, f in zip(imgs, factors)])
    diff = np.abs(_hwc(out) - want.astype(np.float32))
    assert diff.max() <= MAX_DIFF[op], (op, diff.max())
    assert diff.mean() < 0.6, (op, diff.mean())  # rounding noise, not a different formula


@pytest.mark.parametrize('op', list(PIL_OPS))
def test_each_op_equals_torchvision_float_formula(op):
    """No rounding on either side: the same formula up to float error (and the luma weights)."""
    from torchvision.transforms.v2 import functional as F

    ref = {
        'brightness': F.adjust_brightness,
        'contrast': F.adjust_contrast,
        'saturation': F.adjust_saturation,
        'hue': F.adjust_hue,
    }[op]
    x = _batch(_images())
    rgb = x.flip(1) / 255  # torchvision: RGB floats in [0, 1]
    factors = FACTORS[op]
    out = getattr(color_ops, op)(x.clone(), torch.tensor(factors), BGR)
    want = torch.stack([ref(rgb[i], f) for i, f in enumerate(factors)]).flip(1) * 255
    # torchvision's red luma weight is 0.2989, PIL's 0.299: <= 0.0001 * 255 * 1.4 in grey
    tol = 1e-3 if op in ('brightness', 'hue') else 0.06
    torch.testing.assert_close(out, want, rtol=0, atol=tol)


def _stage(jitter='paper') -> BoTBatchColorJitter:
    return BoTBatchColorJitter(jitter=jitter, lighting=LIGHTING, channel_order='bgr')


@pytest.mark.parametrize('jitter', ['paper', 'gluoncv'])
def test_whole_stage_with_fixed_factors_equals_mmpretrain_colorjitter_then_botlighting(
    jitter, monkeypatch
):
    from mmpretrain.datasets.transforms import ColorJitter

    stage = _stage(jitter)
    stage.seed_rng(3)
    imgs = _images()
    n = len(imgs)
    params = stage.draw(n, torch.device('cpu'))
    out = _hwc(stage.augment(_batch(imgs), params))
    ops = list(stage.ranges)
    index = {'brightness': 0, 'contrast': 1, 'saturation': 2, 'hue': 3}  # mmpretrain's indices
    want = []
    for i, img in enumerate(imgs):
        cj = ColorJitter(**stage.jitter)
        order = [index[ops[j]] for j in params['order'][i].tolist()]
        factors = [
            float(params[k][i]) if k in params else None
            for k in ('brightness', 'contrast', 'saturation', 'hue')
        ]
        cj._rand_params = lambda order=order, f=factors: (order, *f)
        jittered = cj.transform(dict(img=img.copy()))['img']
        alpha = params['alpha'][i].double().numpy()
        # BoTLighting, fed the same alpha (mmcv draws it with np.random.normal)
        monkeypatch.setattr(np.random, 'normal', lambda *a, alpha=alpha, **k: alpha)
        lit = BoTLighting(**LIGHTING, to_rgb=False).transform(dict(img=jittered.copy()))['img']
        shift = np.asarray(EIGVEC_BGR) @ (alpha * np.asarray(EIGVAL))
        exact = np.clip(jittered.astype(np.float64) + shift, 0, 255)
        np.testing.assert_array_equal(lit, exact.astype(np.uint8))  # it truncates to uint8
        want.append(lit.astype(np.float32))
    want = np.stack(want)
    diff = out - want
    # The per-image path rounds to uint8 after every step (MAX_DIFF above) and truncates after
    # lighting; the batch stage does not round. A hue error (<= 12) grows with a later
    # saturation and brightness step (factors <= 1.4 each): <= 12 * 1.4 * 1.4 + 4 < 28. The
    # truncations (up to 3 jitter steps + lighting, < 1 each) darken the per-image result: the
    # mean difference is positive and below 2.
    assert np.abs(diff).max() < 28.0, np.abs(diff).max()
    assert 0.0 < diff.mean() < 2.0, diff.mean()
    assert np.abs(diff).mean() < 2.0, np.abs(diff).mean()


def test_lighting_clips_like_botlighting_black_stays_black():
    stage = BoTBatchColorJitter(jitter=None, lighting=dict(LIGHTING, alphastd=0.5))
    imgs = np.zeros((64, 2, 2, 3), np.uint8)
    imgs[32:] = 255
    torch.manual_seed(0)
    out = stage(torch.from_numpy(imgs).permute(0, 3, 1, 2))
    offsets = (stage.last_params['alpha'] * torch.tensor(EIGVAL)) @ torch.tensor(EIGVEC_BGR).t()
    assert out.min() >= 0 and out.max() <= 255
    black, white = out[:32], out[32:]
    want_black = offsets[:32].clamp(min=0).view(32, 3, 1, 1).expand_as(black)
    want_white = (255 + offsets[32:]).clamp(max=255).view(32, 3, 1, 1).expand_as(white)
    torch.testing.assert_close(black, want_black, rtol=0, atol=1e-4)
    torch.testing.assert_close(white, want_white, rtol=0, atol=1e-4)
    assert (black == 0).any() and (white == 255).any()  # negative offsets clip, no wrap
    assert black.max() < 128 and white.min() > 127


def test_random_factors_follow_mmpretrain_distributions_per_sample():
    from mmpretrain.datasets.transforms import ColorJitter

    stage = _stage('paper')
    stage.seed_rng(0)
    n = 3000
    p = stage.draw(n, torch.device('cpu'))
    ks = stats.kstest  # p > 0.001 for "same distribution": eight such tests run here
    assert ks(p['brightness'].numpy(), 'uniform', args=(0.6, 0.8)).pvalue > 0.001
    assert ks(p['saturation'].numpy(), 'uniform', args=(0.6, 0.8)).pvalue > 0.001
    assert ks(p['hue'].numpy(), 'uniform', args=(-0.2, 0.4)).pvalue > 0.001
    assert ks(p['alpha'].flatten().numpy(), 'norm', args=(0, 0.1)).pvalue > 0.001
    assert 'contrast' not in p  # the paper's text has no contrast
    # the test can tell a wrong range apart
    assert ks(p['hue'].numpy(), 'uniform', args=(-0.5, 1.0)).pvalue < 1e-6
    # mmpretrain's own draws (independent reference): same distributions (two-sample KS)
    np.random.seed(0)
    cj = ColorJitter(brightness=0.4, saturation=0.4, hue=0.2)
    ref = [cj._rand_params() for _ in range(n)]
    assert stats.ks_2samp(p['brightness'].numpy(), [r[1] for r in ref]).pvalue > 0.001
    assert stats.ks_2samp(p['hue'].numpy(), [r[4] for r in ref]).pvalue > 0.001
    # order: every permutation of the 3 active ops equally likely (mmpretrain permutes all 4)
    perms, counts = np.unique(p['order'].numpy(), axis=0, return_counts=True)
    assert len(perms) == 6
    assert stats.chisquare(counts).pvalue > 0.001
    # each sample its own factors (a batch of 64: float32 draws collide rarely, not never)
    assert len(set(p['brightness'][:64].tolist())) == 64
    assert len(set(p['hue'][:64].tolist())) == 64


def test_each_sample_gets_its_own_factors_in_the_batch():
    stage = _stage('gluoncv')
    imgs = _images(n=8)
    x = _batch(imgs)
    torch.manual_seed(1)
    out = stage(x)
    params = stage.last_params
    for i in range(len(imgs)):  # sample i of the batch == sample i alone with its factors
        own = {k: v[i : i + 1] for k, v in params.items()}
        torch.testing.assert_close(out[i : i + 1], stage.augment(x[i : i + 1].clone(), own))
    assert not torch.equal(
        out[0], stage.augment(x[:1].clone(), {k: v[1:2] for k, v in params.items()})[0]
    )


def test_generator_state_round_trip_and_seeding():
    stage = _stage()
    stage.seed_rng(7, rank=0)
    a0 = stage.draw(4, torch.device('cpu'))
    state = stage.rng_state()
    a1 = stage.draw(4, torch.device('cpu'))
    other = _stage()
    other.set_rng_state(state)
    b1 = other.draw(4, torch.device('cpu'))
    for k in a1:
        assert torch.equal(a1[k], b1[k]), k
    again = _stage()
    again.seed_rng(7, rank=0)
    assert torch.equal(again.draw(4, torch.device('cpu'))['hue'], a0['hue'])
    rank1 = _stage()
    rank1.seed_rng(7, rank=1)
    assert not torch.equal(rank1.draw(4, torch.device('cpu'))['hue'], a0['hue'])
    torch.manual_seed(123)  # the global stream neither feeds nor is consumed by the stage
    before = torch.get_rng_state()
    stage.draw(4, torch.device('cpu'))
    assert torch.equal(torch.get_rng_state(), before)


def test_preprocessor_augments_training_batches_then_normalises_like_the_host():
    from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

    norm = dict(mean=[123.68, 116.779, 103.939], std=[58.393, 57.12, 57.375], to_rgb=True)
    ours = BoTClsDataPreprocessor(
        batch_color=dict(jitter='paper', lighting=LIGHTING), input_order='BGR', **norm
    )
    host = ClsDataPreprocessor(**norm)
    imgs = torch.from_numpy(_images()).permute(0, 3, 1, 2).contiguous()
    data = dict(inputs=list(imgs), data_samples=None)  # pseudo_collate: a list of uint8 CHW
    torch.testing.assert_close(
        ours(data, training=False)['inputs'], host(data, training=False)['inputs']
    )
    ours.batch_color.seed_rng(0)
    trained = ours(data, training=True)['inputs']
    aug = ours.batch_color.augment(imgs.float(), ours.batch_color.last_params)
    mean = torch.tensor(norm['mean']).view(1, 3, 1, 1)
    std = torch.tensor(norm['std']).view(1, 3, 1, 1)
    torch.testing.assert_close(trained, (aug.flip(1) - mean) / std)
    ours.batch_color.seed_rng(0)
    stacked = ours(dict(inputs=imgs, data_samples=None), training=True)['inputs']
    torch.testing.assert_close(stacked, trained)  # default_collate gives the same
    assert ours.batch_color.channel_order == 'bgr'


def test_bad_settings_name_the_value_and_the_fix():
    with pytest.raises(ValueError, match="unknown colour jitter preset 'gluon'"):
        BoTBatchColorJitter(jitter='gluon')
    with pytest.raises(ValueError, match='unknown colour jitter argument'):
        BoTBatchColorJitter(jitter=dict(brightnes=0.4))
    with pytest.raises(ValueError, match='batch_color takes no channel_order'):
        BoTClsDataPreprocessor(batch_color=dict(channel_order='rgb'), input_order='BGR')
    pre = BoTClsDataPreprocessor(batch_color=dict(jitter='paper'), input_order='BGR')
    mixed = [torch.zeros(3, 8, 8, dtype=torch.uint8), torch.zeros(3, 9, 8, dtype=torch.uint8)]
    with pytest.raises(ValueError, match='fixed-size crop'):
        pre(dict(inputs=mixed, data_samples=None), training=True)


@pytest.mark.parametrize('to_rgb', [True, False])
def test_channel_order_is_taken_from_input_order_not_guessed_from_to_rgb(to_rgb):
    """mmcv loads BGR whatever to_rgb says: with to_rgb=False the network sees BGR, and the
    jitter and lighting must still weigh the channels as B, G, R."""
    pre = BoTClsDataPreprocessor(batch_color=dict(jitter='paper'), input_order='BGR', to_rgb=to_rgb)
    assert pre.batch_color.channel_order == 'bgr'
    rgb = BoTClsDataPreprocessor(batch_color=dict(jitter='paper'), input_order='RGB')
    assert rgb.batch_color.channel_order == 'rgb'


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(batch_color=dict(jitter='paper')), "batch_color needs input_order.*'BGR' for mmcv"),
        (
            dict(batch_color=dict(jitter='paper'), to_rgb=False),
            'batch_color needs input_order.*to_rgb=False only says',
        ),
        (dict(input_order='bgr'), "input_order must be 'BGR' or 'RGB', got 'bgr'"),
        (dict(input_order='RGB', to_rgb=True), "input_order='RGB' with to_rgb=True"),
    ],
)
def test_combinations_it_cannot_tell_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoTClsDataPreprocessor(**kwargs)


def test_rng_hook_seeds_from_the_runner_and_checkpoints_the_stream():
    from types import SimpleNamespace

    from mmengine.logging import MMLogger

    from tricks_mm.engine.rng_state import BoTRNGStateHook

    def runner(seed: int) -> SimpleNamespace:
        model = torch.nn.Module()
        model.data_preprocessor = BoTClsDataPreprocessor(
            batch_color=dict(jitter='paper'), input_order='BGR'
        )
        return SimpleNamespace(model=model, seed=seed, logger=MMLogger.get_current_instance())

    def draw(r: SimpleNamespace) -> torch.Tensor:
        return r.model.data_preprocessor.batch_color.draw(8, torch.device('cpu'))['hue']

    hook = BoTRNGStateHook()
    first, same_seed, other_seed = runner(5), runner(5), runner(6)
    for r in (first, same_seed, other_seed):
        hook.before_run(r)
    head = draw(first)
    assert torch.equal(draw(same_seed), head)
    assert not torch.equal(draw(other_seed), head)
    checkpoint: dict = {}
    hook.before_save_checkpoint(first, checkpoint)
    assert 'data_preprocessor.batch_color' in checkpoint['tricks_mm_rng_state']['modules']
    continued = draw(first)
    resumed = runner(5)
    hook.before_run(resumed)
    hook.after_load_checkpoint(resumed, checkpoint)
    assert torch.equal(draw(resumed), continued)  # not the seed's first draws: the stream
    assert not torch.equal(continued, head)
