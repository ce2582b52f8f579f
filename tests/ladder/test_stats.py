"""Report statistics against independent references (scipy.stats formulas, hand-computed cases)
and the claim rules on constructed records: a clear win, a clear loss, an overlap."""

import math
import random

import pytest
from scipy import stats as sps

from tricks_mm.ladder import claims
from tricks_mm.ladder.stats import paired, spearman, summarize


def _t_interval(values):
    """The textbook interval: mean ± t(0.975, n-1) * s / sqrt(n), through scipy.stats.t."""
    n = len(values)
    mean = sum(values) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return sps.t.interval(0.95, n - 1, loc=mean, scale=s / math.sqrt(n))


def test_t_interval_hand_computed():
    # mean 2, s 1, t(0.975, 2) = 4.302652729911275 -> half-width 4.3027 / sqrt(3) = 2.48414
    s = summarize([1.0, 2.0, 3.0])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert s.low == pytest.approx(2 - 2.4841377118, abs=1e-9)
    assert s.high == pytest.approx(2 + 2.4841377118, abs=1e-9)
    assert not s.excludes_zero


@pytest.mark.parametrize('n', [2, 3, 5, 8])
def test_t_interval_matches_scipy_t(n):
    rng = random.Random(n)
    values = [rng.uniform(30, 80) for _ in range(n)]
    s = summarize(values)
    low, high = _t_interval(values)
    assert s.low == pytest.approx(low, rel=1e-12) and s.high == pytest.approx(high, rel=1e-12)


def test_single_run_and_constant_values():
    one = summarize([71.5])
    assert (one.mean, one.std, one.low, one.high, one.has_interval) == (
        71.5,
        None,
        None,
        None,
        False,
    )
    assert not one.excludes_zero
    same = summarize([4.0, 4.0, 4.0])  # zero spread: the interval is the point itself
    assert (same.std, same.low, same.high) == (0.0, 4.0, 4.0) and same.above_zero
    assert summarize([]).n == 0
    # NaN (mmseg's IoU of a class absent from predictions and labels) is undefined: left out
    assert summarize([float('nan'), 1.0, 2.0, 3.0]) == summarize([1.0, 2.0, 3.0])
    assert summarize([float('nan'), float('nan')]).n == 0
    assert paired({0: 1.0, 1: float('nan'), 2: 3.0}, {0: 0.0, 1: 0.0, 2: 1.0}).n == 2


def test_paired_difference_pairs_by_seed_and_matches_scipy():
    rung = {2: 4.0, 0: 1.0, 1: 2.0, 7: 99.0}  # seed 7 has no partner: left out
    reference = {0: 0.5, 1: 1.0, 2: 2.0, 5: -50.0}
    d = paired(rung, reference)
    diffs = [0.5, 1.0, 2.0]  # seed by seed, not position by position
    assert d.n == 3 and d.mean == pytest.approx(sum(diffs) / 3, abs=1e-12)
    low, high = _t_interval(diffs)
    assert (d.low, d.high) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))
    # hand-computed: s = 0.7637626, half-width t(0.975, 2) * s / sqrt(3) = 1.8972915
    assert d.low == pytest.approx(7 / 6 - 1.8972915, abs=1e-6)
    # the paired interval is narrower than the unpaired spread when seeds co-vary
    a, b = {0: 10.0, 1: 20.0, 2: 30.0}, {0: 9.0, 1: 19.2, 2: 28.9}
    assert paired(a, b).above_zero
    assert summarize(list(a.values())).low < summarize(list(b.values())).high


def test_spearman_hand_computed_and_scipy_with_ties():
    # no ties: 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 4 / 120 = 0.8
    rho, p = spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert rho == pytest.approx(0.8, abs=1e-12) and 0 < p < 1
    x, y = [70.1, 72.0, 72.0, 75.3, 76.0], [30.0, 31.5, 29.0, 33.0, 32.9]
    reference = sps.spearmanr(x, y)
    assert spearman(x, y) == (
        pytest.approx(reference.statistic, abs=1e-12),
        pytest.approx(reference.pvalue, abs=1e-12),
    )
    assert spearman([1.0], [2.0]) == (None, None)
    assert spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) == (None, None)
    with pytest.raises(ValueError, match='2 y values'):
        spearman([1, 2, 3], [1, 2])


def _rung(**metrics):
    return {m: dict(enumerate(v)) for m, v in metrics.items()}


B = dict(top1=[70.0, 71.0, 70.5], mAP=[50.0, 52.0, 51.0], mIoU=[30.0, 31.0, 30.4])


def test_claim_2_clear_win_clear_loss_overlap():
    win = {
        claims.B_STANDARD: _rung(**B),
        claims.D_EFFICIENT: _rung(
            top1=[72.0, 73.0, 72.5], mAP=[53.0, 55.2, 54.1], mIoU=[32.0, 33.1, 32.3]
        ),
    }
    verdict = claims.claim_2(win)
    assert verdict.verdict == claims.HOLDS
    assert "mAP 'D-efficient' - 'B-standard' +3.10" in verdict.evidence
    loss = {
        claims.B_STANDARD: _rung(**B),
        claims.D_EFFICIENT: _rung(mAP=[46.0, 48.1, 47.2], mIoU=[32.0, 33.1, 32.3]),
    }
    assert claims.claim_2(loss).verdict == claims.FAILS  # mAP clearly lower, mIoU higher
    overlap = {
        claims.B_STANDARD: _rung(**B),
        claims.D_EFFICIENT: _rung(mAP=[52.0, 50.5, 52.5], mIoU=[31.0, 30.0, 31.4]),
    }
    assert claims.claim_2(overlap).verdict == claims.INCONCLUSIVE


def test_claim_3_single_run_and_absent_rungs():
    single = {claims.D_EFFICIENT: _rung(mIoU=[30.0]), claims.COSINE: _rung(mIoU=[35.0])}
    verdict = claims.claim_3(single)
    assert verdict.verdict == claims.INCONCLUSIVE and 'single run: no interval' in verdict.evidence
    absent = claims.claim_3({claims.D_EFFICIENT: _rung(mIoU=[30.0, 31.0])})
    assert absent.verdict == claims.UNTESTED and "'+ cosine'" in absent.evidence
    assert (
        claims.claim_3(
            {
                claims.D_EFFICIENT: _rung(mIoU=[30.0, 31.0, 30.2]),
                claims.COSINE: _rung(mIoU=[28.0, 29.5, 28.1]),
            }
        ).verdict
        == claims.FAILS
    )


def test_claim_4_every_refinement_must_trade_miou_for_top1():
    cosine = _rung(top1=[75.0, 75.5, 75.2], mIoU=[35.0, 35.6, 35.1])
    ls = _rung(top1=[76.0, 76.4, 76.3], mIoU=[34.0, 34.4, 34.2])  # up, down: as claimed
    mixup_up = _rung(top1=[76.5, 77.0, 76.8], mIoU=[36.0, 36.6, 36.0])  # mIoU up: against
    mixup_flat = _rung(top1=[76.5, 77.0, 76.8], mIoU=[35.5, 34.9, 35.4])  # mIoU overlaps 0
    base = {claims.COSINE: cosine, '+ label smoothing': ls}
    assert claims.claim_4(base).verdict == claims.HOLDS
    assert claims.claim_4(dict(base, **{'+ mixup': mixup_up})).verdict == claims.FAILS
    assert claims.claim_4(dict(base, **{'+ mixup': mixup_flat})).verdict == claims.INCONCLUSIVE
    assert claims.claim_4({claims.COSINE: cosine}).verdict == claims.UNTESTED


def test_claim_1_ranks_rungs_by_top1():
    rising = {
        claims.B_STANDARD: _rung(**B),
        'mid': _rung(top1=[73.0, 74.0, 73.4], mAP=[53.0, 54.5, 53.9]),
        'best': _rung(top1=[76.0, 76.8, 76.1], mAP=[56.0, 57.5, 56.2]),
        'no pretraining': _rung(mAP=[10.0, 11.0, 10.5]),
    }  # no top-1: not a classifier rung
    verdict = claims.claim_1(rising)
    assert verdict.verdict == claims.HOLDS
    assert "'best' - 'B-standard'" in verdict.evidence
    assert 'over 3 rungs = +1.00' in verdict.evidence
    falling = dict(rising, best=_rung(top1=[76.0, 76.8, 76.1], mAP=[45.0, 46.0, 45.2]))
    assert claims.claim_1(falling).verdict == claims.FAILS
    noisy = dict(rising, best=_rung(top1=[76.0, 76.8, 76.1], mAP=[49.0, 55.0, 52.5]))
    assert claims.claim_1(noisy).verdict == claims.INCONCLUSIVE
    assert claims.claim_1({claims.B_STANDARD: _rung(**B)}).verdict == claims.UNTESTED
