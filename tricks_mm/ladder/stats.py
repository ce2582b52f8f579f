"""Statistics of a ladder report: intervals over seeds, paired same-seed differences, an exact
rank test over rungs, Holm's family-wise adjustment and the power of a paired design.

The numbers come from ``scipy.stats`` (``ttest_1samp`` / ``ttest_rel`` intervals and p-values,
``permutation_test`` for the rank test, the noncentral t ``nct`` for power); this module decides
what is paired with what and when there is no interval:

- a single run has no interval;
- a sample whose spread is zero or negligible against its values (equal values, or values equal
  but for floating-point rounding) has no t-interval either: scipy returns NaN for zero spread,
  and a "[mean, mean]" interval would claim certainty the seeds do not give. Such a sample never
  decides a verdict;
- seeds are paired by their seed number, never by position.
"""

import itertools
import math
import statistics
from dataclasses import dataclass, replace
from typing import List, Mapping, Optional, Sequence

import numpy as np
from scipy import integrate, optimize
from scipy import stats as sps

CONFIDENCE = 0.95
#: the family-wise error rate of the comparisons that decide verdicts
ALPHA = 0.05
#: the power at which minimum detectable effects and seeds needed are reported
POWER = 0.8
#: a spread at most this fraction of the values' magnitude (floor 1) is floating-point noise
NEGLIGIBLE = 1e-9
#: rank tests enumerate every permutation up to this many rungs (8! = 40320), sample beyond
EXACT_MAX = 8
RESAMPLES = 9999

SINGLE_RUN = 'single run: no interval'
ZERO_SPREAD = 'zero spread: no t-interval (equal values across seeds)'

#: The lines the report prints about its method.
METHOD = (
    'Intervals: 95% Student-t intervals over seeds, mean ± t(0.975, n-1)·s/√n '
    '(scipy.stats.ttest_1samp); a single run has no interval, nor has a sample with zero '
    'spread (equal values: scipy gives NaN); a percentage interval is clipped to [0, 100] (‡).',
    'Paired differences: rung minus reference seed by seed (same seed), 95% t-interval and '
    'two-sided p of the per-seed differences (scipy.stats.ttest_rel); * marks an interval that '
    'excludes 0, unadjusted for the many comparisons of the table.',
)


@dataclass(frozen=True)
class Summary:
    """Mean, sample std, count, 95% t-interval and two-sided p of ``mean == 0``
    (``None`` where undefined; ``reason`` says why there is no interval)."""

    mean: Optional[float]
    std: Optional[float]
    n: int
    low: Optional[float]
    high: Optional[float]
    p: Optional[float] = None
    reason: str = ''
    clipped: bool = False

    @property
    def has_interval(self) -> bool:
        return self.low is not None

    @property
    def above_zero(self) -> bool:
        """The interval lies entirely above 0."""
        return self.low is not None and self.low > 0

    @property
    def below_zero(self) -> bool:
        """The interval lies entirely below 0."""
        return self.high is not None and self.high < 0

    @property
    def excludes_zero(self) -> bool:
        return self.above_zero or self.below_zero


EMPTY = Summary(None, None, 0, None, None, reason='no values')


def negligible_spread(std: float, values: Sequence[float]) -> bool:
    """True when ``std`` is zero or floating-point noise against the magnitude of ``values``
    (e.g. 1.01 - 1.00, 2.01 - 2.00, 3.01 - 3.00 have sd 1.3e-16, not a real spread)."""
    scale = max([1.0] + [abs(v) for v in values])
    return std <= NEGLIGIBLE * scale


def _clean(values: Sequence[float]) -> List[float]:
    return [float(v) for v in values if not math.isnan(float(v))]


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """Mean, sample std (n-1), the Student-t interval of the mean and the p of ``mean == 0``.

    With n = 1, or a negligible spread, there is a mean but no interval (``reason`` says which).
    NaN values (mmseg's IoU of a class in neither the predictions nor the labels) are undefined,
    not numbers: left out, and not counted in n.
    """
    values = _clean(values)
    n = len(values)
    if n == 0:
        return EMPTY
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(mean, None, 1, None, None, reason=SINGLE_RUN)
    std = statistics.stdev(values)
    if negligible_spread(std, values):
        return Summary(mean, 0.0, n, None, None, reason=ZERO_SPREAD)
    result = sps.ttest_1samp(values, 0.0)
    ci = result.confidence_interval(confidence)
    return Summary(mean, std, n, float(ci.low), float(ci.high), float(result.pvalue))


def bounded(summary: Summary, low: float = 0.0, high: float = 100.0) -> Summary:
    """``summary`` with its interval clipped to ``[low, high]`` (a percentage cannot leave
    [0, 100]; ``clipped`` marks that the t-interval did)."""
    if not summary.has_interval:
        return summary
    lo, hi = max(low, summary.low), min(high, summary.high)  # type: ignore[type-var]
    if (lo, hi) == (summary.low, summary.high):
        return summary
    return replace(summary, low=lo, high=hi, clipped=True)


def paired(
    values: Mapping[int, float], reference: Mapping[int, float], confidence: float = CONFIDENCE
) -> Summary:
    """``values - reference`` over the seeds both have: mean difference, its t-interval and the
    two-sided p of ``scipy.stats.ttest_rel``.

    Seeds present in only one of the two, or NaN in either, are left out (n counts the pairs).
    A negligible spread is judged against the magnitude of the values themselves, where the
    rounding of the subtraction happens.
    """
    seeds = sorted(
        s
        for s in set(values) & set(reference)
        if not (math.isnan(float(values[s])) or math.isnan(float(reference[s])))
    )
    a = [float(values[s]) for s in seeds]
    b = [float(reference[s]) for s in seeds]
    diffs = [x - y for x, y in zip(a, b)]
    if len(diffs) < 2:
        return summarize(diffs, confidence)
    std = statistics.stdev(diffs)
    if negligible_spread(std, a + b):
        return Summary(statistics.fmean(diffs), 0.0, len(diffs), None, None, reason=ZERO_SPREAD)
    result = sps.ttest_rel(a, b)
    ci = result.confidence_interval(confidence)
    return Summary(
        statistics.fmean(diffs),
        std,
        len(diffs),
        float(ci.low),
        float(ci.high),
        float(result.pvalue),
    )


@dataclass(frozen=True)
class RankTest:
    """Spearman's rho of paired points and its permutation p-values.

    ``p_greater`` / ``p_less``: one-sided p of rho >= / <= the observed one under random
    pairings; ``exact``: every pairing enumerated (else ``RESAMPLES`` random ones);
    ``min_p``: the smallest one-sided p this many points can give (1/n! exact).
    """

    n: int
    rho: Optional[float]
    p_greater: Optional[float]
    p_less: Optional[float]
    exact: bool
    min_p: float


def min_rank_p(n: int) -> float:
    """The smallest one-sided permutation p of a rank correlation over ``n`` distinct points:
    only the observed pairing (1 of n!) is as extreme; with 3 rungs 1/6 = 0.167 > 0.05. With
    tied values several pairings reach the largest rho (:func:`rank_test` counts them)."""
    if n > EXACT_MAX:
        return max(1.0 / math.factorial(n), 1.0 / (RESAMPLES + 1))
    return 1.0 / math.factorial(max(n, 1))


def rank_test(x: Sequence[float], y: Sequence[float], seed: int = 0) -> RankTest:
    """Spearman rho of ``(x, y)`` with permutation p-values from
    ``scipy.stats.permutation_test(permutation_type='pairings')``: exact (every pairing) up to
    ``EXACT_MAX`` points, ``RESAMPLES`` seeded random pairings beyond. Undefined (``None``) with
    fewer than 3 points or a constant coordinate."""
    if len(x) != len(y):
        raise ValueError(f'rank_test needs paired points, got {len(x)} x and {len(y)} y values')
    n = len(x)
    if n < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return RankTest(n, None, None, None, n <= EXACT_MAX, min_rank_p(n))
    rx, ry = sps.rankdata(x), sps.rankdata(y)
    ry_c = ry - ry.mean()

    def rho(ranks: np.ndarray, axis: int = -1) -> np.ndarray:
        # Spearman's rho = Pearson's r of the ranks (ties averaged, as scipy.stats.spearmanr)
        rc = ranks - ranks.mean(axis=axis, keepdims=True)
        return (rc * ry_c).sum(axis=axis) / np.sqrt((rc**2).sum(axis=axis) * (ry_c**2).sum())

    exact = n <= EXACT_MAX
    resamples = math.factorial(n) if exact else RESAMPLES
    p = {}
    for alternative in ('greater', 'less'):
        result = sps.permutation_test(
            (rx,),
            rho,
            permutation_type='pairings',
            vectorized=True,
            n_resamples=resamples,
            alternative=alternative,
            random_state=np.random.default_rng(seed),
        )
        p[alternative] = float(result.pvalue)
    observed = float(sps.spearmanr(x, y).statistic)
    min_p = min_rank_p(n)
    if exact:  # with ties the best pairing is not unique: count every pairing that reaches it
        every = rho(np.array(list(itertools.permutations(rx))))
        min_p = float((every >= every.max() - 1e-12).mean())
    return RankTest(n, observed, p['greater'], p['less'], exact, min_p)


def seed_resampled_rho(
    x: Sequence[Mapping[int, float]],
    y: Sequence[Mapping[int, float]],
    draws: int = 2000,
    seed: int = 0,
) -> Optional[np.ndarray]:
    """Spearman rho of the rung means with the seeds resampled (with replacement) within each
    rung, ``x[i][s]`` and ``y[i][s]`` kept together as one seed's pair: how much the rank
    correlation of the means moves with the seed noise. ``None`` when a rung has fewer than
    2 seeds with both numbers (no seed uncertainty to carry)."""
    pairs = []
    for xs, ys in zip(x, y):
        seeds = sorted(set(xs) & set(ys))
        if len(seeds) < 2:
            return None
        pairs.append(np.array([[xs[s], ys[s]] for s in seeds], dtype=float))
    rng = np.random.default_rng(seed)
    means = np.stack(
        [p[rng.integers(0, len(p), size=(draws, len(p)))].mean(axis=1) for p in pairs], axis=1
    )  # draws x rungs x 2
    rx = sps.rankdata(means[:, :, 0], axis=1)
    ry = sps.rankdata(means[:, :, 1], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(denominator > 0, (rx * ry).sum(axis=1) / denominator, 0.0)


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values (family-wise error control for any dependence):
    sorted ascending, ``p_(k) * (m - k)`` (k from 0), made non-decreasing, capped at 1.

    A few lines of our own rather than a runtime dependency on statsmodels; the tests check it
    against ``statsmodels.stats.multitest.multipletests(method='holm')``.
    """
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for k, i in enumerate(sorted(range(m), key=lambda j: pvalues[j])):
        running = max(running, min(1.0, (m - k) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def power(effect_size: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided one-sample / paired t-test at standardized effect
    ``effect_size`` (mean / sd) with ``n`` pairs: P(|T| > t(1 - alpha/2, n-1)) for T
    noncentral t with n-1 degrees of freedom and noncentrality effect·√n (as statsmodels'
    ``TTestPower``)."""
    df = n - 1
    crit = sps.t.ppf(1 - alpha / 2, df)
    nc = effect_size * math.sqrt(n)
    value = float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))
    if not math.isnan(value):
        return value

    # scipy's nct gives NaN for a large noncentrality at few degrees of freedom: the same
    # probability as an integral over the chi-square of the denominator, T = (Z + nc) / sqrt(V/df)
    def integrand(v: float) -> float:
        scale = crit * math.sqrt(v / df)
        return float((sps.norm.cdf(nc - scale) + sps.norm.cdf(-nc - scale)) * sps.chi2.pdf(v, df))

    return float(integrate.quad(integrand, 0, math.inf, limit=200)[0])


def min_detectable(n: int, sd: float, alpha: float = ALPHA, target: float = POWER) -> float:
    """The smallest true mean difference the paired design detects with power ``target`` at
    ``n`` seeds and paired sd ``sd`` (same units as ``sd``)."""
    if n < 2:
        raise ValueError(f'min_detectable needs n >= 2 seeds, got {n}')
    d = optimize.brentq(lambda e: power(e, n, alpha) - target, 1e-9, 100.0, xtol=1e-12)
    return d * sd


def seeds_needed(
    effect: float, sd: float, alpha: float = ALPHA, target: float = POWER, most: int = 10000
) -> Optional[int]:
    """The fewest seeds (n >= 2) at which the paired design detects ``effect`` with power
    ``target`` given paired sd ``sd``; ``None`` when more than ``most`` would be needed."""
    if sd <= 0:
        raise ValueError(f'seeds_needed needs a positive sd, got {sd}')
    d = abs(effect) / sd
    high = 2  # power rises with n: double until the target is reached, then bisect
    while power(d, high, alpha) < target:
        if high >= most:
            return None
        high = min(2 * high, most)
    low = max(2, high // 2)
    while low < high:
        mid = (low + high) // 2
        if power(d, mid, alpha) >= target:
            high = mid
        else:
            low = mid + 1
    return low
