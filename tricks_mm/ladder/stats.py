"""Statistics of a ladder report: intervals over seeds, paired same-seed differences, ranks.

Every number comes from ``scipy.stats`` (``ttest_1samp`` / ``ttest_rel`` confidence intervals,
``spearmanr``); this module only decides what is paired with what and what "no interval" means:
a single run has no interval, and seeds are paired by their seed number, never by position.
"""

import math
import statistics
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Tuple

from scipy import stats as sps

CONFIDENCE = 0.95

#: The two lines the report prints about its method.
METHOD = (
    'Intervals: 95% Student-t intervals over seeds, mean ± t(0.975, n-1)·s/√n '
    '(scipy.stats.ttest_1samp); a single run has no interval.',
    'Paired differences: rung minus reference seed by seed (same seed), 95% t-interval of the '
    'per-seed differences (scipy.stats.ttest_rel); * marks an interval that excludes 0.',
)


@dataclass(frozen=True)
class Summary:
    """Mean, sample std, count and 95% t-interval of some values (``None`` where undefined)."""

    mean: Optional[float]
    std: Optional[float]
    n: int
    low: Optional[float]
    high: Optional[float]

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


EMPTY = Summary(None, None, 0, None, None)


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """Mean, sample std (n-1) and the Student-t interval of the mean of ``values``.

    With n = 1 there is a mean but no std and no interval; identical values (std 0) give the
    degenerate interval [mean, mean], which scipy would report as NaN. NaN values (mmseg's IoU
    of a class in neither the predictions nor the labels) are undefined, not numbers: left out,
    and not counted in n.
    """
    values = [float(v) for v in values if not math.isnan(float(v))]
    n = len(values)
    if n == 0:
        return EMPTY
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(mean, None, 1, None, None)
    std = statistics.stdev(values)
    if std == 0:
        return Summary(mean, 0.0, n, mean, mean)
    ci = sps.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return Summary(mean, std, n, float(ci.low), float(ci.high))


def paired(
    values: Mapping[int, float], reference: Mapping[int, float], confidence: float = CONFIDENCE
) -> Summary:
    """``values - reference`` over the seeds both have: mean difference and its t-interval.

    Seeds present in only one of the two, or NaN in either, are left out (n counts the pairs).
    """
    seeds = sorted(
        s
        for s in set(values) & set(reference)
        if not (math.isnan(float(values[s])) or math.isnan(float(reference[s])))
    )
    a = [float(values[s]) for s in seeds]
    b = [float(reference[s]) for s in seeds]
    diffs = [x - y for x, y in zip(a, b)]
    if len(diffs) < 2 or statistics.stdev(diffs) == 0:
        return summarize(diffs, confidence)
    ci = sps.ttest_rel(a, b).confidence_interval(confidence)
    return Summary(
        statistics.fmean(diffs), statistics.stdev(diffs), len(diffs), float(ci.low), float(ci.high)
    )


def spearman(x: Sequence[float], y: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    """Spearman rank correlation and its two-sided p-value (``None`` when undefined: fewer
    than 2 points or a constant coordinate)."""
    if len(x) != len(y):
        raise ValueError(f'spearman needs paired points, got {len(x)} x and {len(y)} y values')
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None, None
    result = sps.spearmanr(x, y)
    rho, p = float(result.statistic), float(result.pvalue)
    return rho, (None if math.isnan(p) else p)
