"""Report statistics against independent references: scipy.stats (t-intervals, ttest_rel,
spearmanr), hand enumeration of permutations (itertools), statsmodels (Holm, TTestPower)."""

import itertools
import math
import random

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from tricks_mm.ladder import stats


def _t_interval(values):
    """The textbook interval: mean ± t(0.975, n-1) * s / sqrt(n), through scipy.stats.t."""
    n = len(values)
    mean = sum(values) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return sps.t.interval(0.95, n - 1, loc=mean, scale=s / math.sqrt(n))


def test_t_interval_hand_computed():
    # mean 2, s 1, t(0.975, 2) = 4.302652729911275 -> half-width 4.3027 / sqrt(3) = 2.48414
    s = stats.summarize([1.0, 2.0, 3.0])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert s.low == pytest.approx(2 - 2.4841377118, abs=1e-9)
    assert s.high == pytest.approx(2 + 2.4841377118, abs=1e-9)
    assert not s.excludes_zero


@pytest.mark.parametrize('n', [2, 3, 5, 8])
def test_t_interval_and_p_match_scipy(n):
    rng = random.Random(n)
    values = [rng.uniform(30, 80) for _ in range(n)]
    s = stats.summarize(values)
    low, high = _t_interval(values)
    assert s.low == pytest.approx(low, rel=1e-12) and s.high == pytest.approx(high, rel=1e-12)
    t = s.mean / (s.std / math.sqrt(n))
    assert s.p == pytest.approx(2 * sps.t.sf(abs(t), n - 1), rel=1e-9)


def test_single_run_and_nan():
    one = stats.summarize([71.5])
    assert (one.mean, one.std, one.low, one.high, one.p) == (71.5, None, None, None, None)
    assert not one.has_interval and not one.excludes_zero and one.reason == stats.SINGLE_RUN
    assert stats.summarize([]).n == 0
    # NaN (mmseg's IoU of a class absent from predictions and labels) is undefined: left out
    assert stats.summarize([float('nan'), 1.0, 2.0, 3.0]) == stats.summarize([1.0, 2.0, 3.0])
    assert stats.summarize([float('nan'), float('nan')]).n == 0
    assert stats.paired({0: 1.0, 1: float('nan'), 2: 3.0}, {0: 0.0, 1: 0.1, 2: 1.5}).n == 2


@pytest.mark.parametrize('n', [2, 3, 4])
def test_zero_spread_has_no_interval_and_decides_nothing(n):
    same = stats.summarize([4.0] * n)
    assert same.n == n and same.std == 0.0 and same.mean == 4.0
    assert (same.low, same.high, same.p) == (None, None, None)
    assert not same.above_zero and not same.excludes_zero and same.reason == stats.ZERO_SPREAD
    # the t statistic mean / (s / sqrt(n)) divides by s = 0: undefined, whatever scipy's
    # version returns for it (NaN, or inf with p = 0 and the point as "interval")
    # a paired difference of +0.01 at every seed is not certainty either
    d = stats.paired({s: 70.01 for s in range(n)}, {s: 70.0 for s in range(n)})
    assert d.mean == pytest.approx(0.01, abs=1e-9) and not d.has_interval and not d.above_zero


def test_differences_equal_but_for_rounding_are_zero_spread():
    a, b = {0: 1.01, 1: 2.01, 2: 3.01}, {0: 1.00, 1: 2.00, 2: 3.00}
    diffs = [a[s] - b[s] for s in a]
    assert 0 < np.std(diffs, ddof=1) < 1e-15  # floating-point rounding, not a spread
    ci = sps.ttest_rel(list(a.values()), list(b.values())).confidence_interval()
    assert ci.low > 0  # scipy, fed the rounding noise, "decides"; the report must not
    d = stats.paired(a, b)
    assert not d.has_interval and d.p is None and d.reason == stats.ZERO_SPREAD


def test_paired_difference_pairs_by_seed_and_matches_ttest_rel():
    rung = {2: 4.0, 0: 1.0, 1: 2.0, 7: 99.0}  # seed 7 has no partner: left out
    reference = {0: 0.5, 1: 1.0, 2: 2.0, 5: -50.0}
    d = stats.paired(rung, reference)
    assert d.n == 3 and d.mean == pytest.approx(7 / 6, abs=1e-12)
    ref = sps.ttest_rel([1.0, 2.0, 4.0], [0.5, 1.0, 2.0])
    ci = ref.confidence_interval()
    assert (d.low, d.high, d.p) == (
        pytest.approx(ci.low, rel=1e-12),
        pytest.approx(ci.high, rel=1e-12),
        pytest.approx(ref.pvalue, rel=1e-12),
    )
    # hand-computed: s = 0.7637626, half-width t(0.975, 2) * s / sqrt(3) = 1.8972915
    assert d.low == pytest.approx(7 / 6 - 1.8972915, abs=1e-6)


def test_percentage_interval_is_clipped_to_0_100():
    s = stats.summarize([99.0, 90.0, 99.5])  # t-interval reaches above 100
    assert _t_interval([99.0, 90.0, 99.5])[1] > 100
    clipped = stats.bounded(s)
    assert clipped.high == 100.0 and clipped.low == pytest.approx(s.low) and clipped.clipped
    inside = stats.summarize([50.0, 51.0, 52.0])
    assert stats.bounded(inside) == inside and not stats.bounded(inside).clipped
    low = stats.bounded(stats.summarize([0.5, 0.1, 3.0]))
    assert low.low == 0.0 and low.clipped


def _enumerated_p(x, y):
    """One-sided p of Spearman's rho by hand: every pairing of y's ranks with x's."""
    rx, ry = sps.rankdata(x), sps.rankdata(y)

    def rho(perm):
        return np.corrcoef(rx, ry[list(perm)])[0, 1]

    observed = rho(range(len(x)))
    rhos = np.array([rho(p) for p in itertools.permutations(range(len(x)))])
    eps = 1e-12
    return observed, float(np.mean(rhos >= observed - eps)), float(np.mean(rhos <= observed + eps))


def _enumerated_min_p(x, y):
    """The smallest one-sided p any pairing reaches: the share of pairings at the largest rho."""
    rx, ry = sps.rankdata(x), sps.rankdata(y)
    rhos = np.array(
        [np.corrcoef(rx, ry[list(p)])[0, 1] for p in itertools.permutations(range(len(x)))]
    )
    return float(np.mean(rhos >= rhos.max() - 1e-12))


@pytest.mark.parametrize('n', [3, 4, 5, 6, 7, 8])
def test_rank_test_is_exact_for_up_to_8_rungs(n):
    rng = random.Random(10 + n)
    x = [rng.uniform(70, 80) for _ in range(n)]
    y = [xi * 0.3 + rng.gauss(0, 1) for xi in x]
    if n == 6:
        y[1] = y[2]  # a tie: averaged ranks, as scipy.stats.spearmanr
    rho, greater, less = _enumerated_p(x, y)
    result = stats.rank_test(x, y)
    assert result.exact and result.n == n
    assert result.rho == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert result.rho == pytest.approx(rho, abs=1e-12)
    assert result.p_greater == pytest.approx(greater, abs=1e-12)
    assert result.p_less == pytest.approx(less, abs=1e-12)
    # distinct values: only the best pairing, 1 of n!; the tie (n = 6) gives two best pairings
    assert result.min_p == pytest.approx(_enumerated_min_p(x, y))
    assert result.min_p == pytest.approx((2 if n == 6 else 1) / math.factorial(n))


def test_three_rungs_never_reach_0_05():
    x = [1.0, 2.0, 3.0]
    ps = [stats.rank_test(x, list(p)).p_greater for p in itertools.permutations(x)]
    assert min(ps) == pytest.approx(1 / 6) and min(ps) > stats.ALPHA
    assert stats.rank_test(x, [3.0, 2.0, 1.0]).p_less == pytest.approx(1 / 6)  # not 0.000


def test_rank_test_beyond_8_rungs_samples_within_monte_carlo_error():
    rng = random.Random(3)
    x = [rng.uniform(0, 1) for _ in range(9)]
    y = [xi + rng.gauss(0, 0.6) for xi in x]
    _, greater, _ = _enumerated_p(x, y)  # 9! = 362880 pairings, by hand
    result = stats.rank_test(x, y)
    assert not result.exact
    error = math.sqrt(greater * (1 - greater) / stats.RESAMPLES)
    assert abs(result.p_greater - greater) < 4 * error + 1 / stats.RESAMPLES


def test_rank_test_undefined_cases():
    assert stats.rank_test([1.0, 2.0], [2.0, 1.0]).rho is None  # fewer than 3 points
    assert stats.rank_test([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]).rho is None
    with pytest.raises(ValueError, match='2 y values'):
        stats.rank_test([1, 2, 3], [1, 2])


def test_holm_matches_statsmodels():
    # textbook case (Holm 1979 style): four p-values, two rejected at 0.05
    textbook = [0.01, 0.04, 0.03, 0.005]
    assert stats.holm(textbook) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-12)
    rng = random.Random(0)
    for m in (1, 2, 5, 12):
        ps = [rng.random() ** 3 for _ in range(m)]
        reference = multipletests(ps, alpha=0.05, method='holm')[1]
        assert stats.holm(ps) == pytest.approx(list(reference), abs=1e-12)


@pytest.mark.parametrize(
    'n, sd, effect', [(2, 0.5, 1.0), (3, 2.1, 0.76), (3, 0.51, 0.76), (5, 1.0, 0.4), (10, 0.3, 0.2)]
)
def test_power_mde_and_seeds_needed_match_statsmodels(n, sd, effect):
    analysis = TTestPower()
    assert stats.power(effect / sd, n) == pytest.approx(
        analysis.power(effect_size=effect / sd, nobs=n, alpha=0.05), abs=1e-9
    )
    d = analysis.solve_power(effect_size=None, nobs=n, alpha=0.05, power=0.8)
    assert stats.min_detectable(n, sd) == pytest.approx(d * sd, rel=1e-5)
    nobs = analysis.solve_power(effect_size=effect / sd, nobs=None, alpha=0.05, power=0.8)
    assert stats.seeds_needed(effect, sd) == max(2, math.ceil(nobs))
