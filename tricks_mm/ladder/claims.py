"""The four claims of the paper's Section 6 and the rules that decide them on a ladder's seeds.

Each claim is decided by paired (same-seed) differences between named rungs (see
:mod:`tricks_mm.ladder.stats`): it *holds* when the intervals that matter lie on the claimed side
of 0, *does not hold* when one lies on the other side, and is *inconclusive* otherwise (including a
single run, which has no interval). A claim whose rungs the ladder lacks is *not tested by this
ladder*. The rule is printed with the verdict so a reader can check the numbers beside it.
"""

from dataclasses import dataclass
from typing import Callable, List, Mapping, Sequence, Tuple

from tricks_mm.ladder.stats import Summary, paired, spearman, summarize

#: Rung labels of Tables 8/9 as the ladder files name them.
B_STANDARD = 'B-standard'
D_EFFICIENT = 'D-efficient'
COSINE = '+ cosine'
REFINEMENTS = ('+ label smoothing', '+ distillation', '+ mixup')

HOLDS, FAILS, INCONCLUSIVE, UNTESTED = (
    'holds',
    'does not hold',
    'inconclusive',
    'not tested by this ladder',
)

#: rung name -> metric column (top1, mAP, pixAcc, mIoU) -> {seed: value in percent}
Values = Mapping[str, Mapping[str, Mapping[int, float]]]


@dataclass(frozen=True)
class Verdict:
    number: int
    claim: str
    rule: str
    verdict: str
    evidence: str

    def line(self) -> str:
        return (
            f'- **Claim {self.number}** ({self.claim}): **{self.verdict}**. '
            f'Rule: {self.rule} Evidence: {self.evidence or "-"}'
        )


def fmt_diff(d: Summary) -> str:
    """``+1.23 [+0.40, +2.06] (n=3)``, or the reason there is no interval."""
    if d.n == 0:
        return 'no common seeds'
    if not d.has_interval:
        return f'{d.mean:+.2f} (single run: no interval)'
    return f'{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}] (n={d.n})'


def _diff(values: Values, rung: str, reference: str, metric: str) -> Summary:
    return paired(values.get(rung, {}).get(metric, {}), values.get(reference, {}).get(metric, {}))


def _has(values: Values, rung: str, metric: str) -> bool:
    return bool(values.get(rung, {}).get(metric))


def claim_1(values: Values) -> Verdict:
    """A better ImageNet classifier gives a better Faster R-CNN (Table 8)."""
    claim = 'a better ImageNet classifier gives a better Faster R-CNN, Table 8'
    rule = (
        'among the pretrained rungs with top-1 and mAP, take the lowest and the highest mean '
        'top-1; holds when the paired top-1 and mAP differences (highest - lowest) both lie '
        'above 0 and, with 3+ rungs, Spearman rho(top-1, mAP) of the rung means is > 0; does '
        'not hold when the top-1 interval lies above 0 and the mAP interval below 0, or rho '
        '< 0 with p < 0.05; inconclusive otherwise.'
    )
    rungs = [r for r in values if _has(values, r, 'top1') and _has(values, r, 'mAP')]
    if len(rungs) < 2:
        return Verdict(1, claim, rule, UNTESTED, 'fewer than two pretrained rungs with mAP')
    mean = {
        r: {m: summarize(list(values[r][m].values())).mean for m in ('top1', 'mAP')} for r in rungs
    }
    ranked = sorted(rungs, key=lambda r: mean[r]['top1'])
    low, high = ranked[0], ranked[-1]
    d_top1 = _diff(values, high, low, 'top1')
    d_map = _diff(values, high, low, 'mAP')
    rho, p = (
        spearman([mean[r]['top1'] for r in rungs], [mean[r]['mAP'] for r in rungs])
        if len(rungs) >= 3
        else (None, None)
    )
    evidence = f'{high!r} - {low!r}: top-1 {fmt_diff(d_top1)}, mAP {fmt_diff(d_map)}'
    if len(rungs) >= 3:
        evidence += (
            f'; Spearman rho over {len(rungs)} rungs = '
            + ('undefined' if rho is None else f'{rho:+.2f}')
            + ('' if p is None else f' (p = {p:.3f})')
        )
    contradicts = [
        d_top1.above_zero and d_map.below_zero,
        rho is not None and p is not None and rho < 0 and p < 0.05,
    ]
    if any(contradicts):
        verdict = FAILS
    elif (
        d_top1.above_zero and d_map.above_zero and (len(rungs) < 3 or (rho is not None and rho > 0))
    ):
        verdict = HOLDS
    else:
        verdict = INCONCLUSIVE
    return Verdict(1, claim, rule, verdict, evidence)


def _one_sided(
    number: int,
    claim: str,
    rule: str,
    values: Values,
    comparisons: Sequence[Tuple[str, str, str, int]],
) -> Verdict:
    """Comparisons ``(rung, reference, metric, sign)``: the claim says ``rung - reference`` has
    the sign ``sign`` (+1 above 0, -1 below 0) for every comparison."""
    needed = {name for rung, ref, _, _ in comparisons for name in (rung, ref)}
    missing = sorted(n for n in needed if n not in values)
    if missing:
        return Verdict(number, claim, rule, UNTESTED, f'rungs absent: {missing}')
    diffs, parts = [], []
    for rung, ref, metric, sign in comparisons:
        d = _diff(values, rung, ref, metric)
        diffs.append((d, sign))
        parts.append(f'{metric} {rung!r} - {ref!r} {fmt_diff(d)}')
    if all(d.n == 0 for d, _ in diffs):
        return Verdict(number, claim, rule, UNTESTED, 'no metric recorded for these rungs')
    if any((d.below_zero if sign > 0 else d.above_zero) for d, sign in diffs):
        verdict = FAILS
    elif all((d.above_zero if sign > 0 else d.below_zero) for d, sign in diffs):
        verdict = HOLDS
    else:  # an interval overlaps 0, or a single run has none
        verdict = INCONCLUSIVE
    return Verdict(number, claim, rule, verdict, '; '.join(parts))


def claim_2(values: Values) -> Verdict:
    return _one_sided(
        2,
        'ResNet-D beats ResNet-B downstream',
        f'holds when the paired {D_EFFICIENT} - {B_STANDARD} interval lies above 0 for mAP and '
        'for mIoU; does not hold when either lies below 0; inconclusive otherwise.',
        values,
        [(D_EFFICIENT, B_STANDARD, m, +1) for m in ('mAP', 'mIoU')],
    )


def claim_3(values: Values) -> Verdict:
    return _one_sided(
        3,
        'cosine decay improves FCN on ADE20K',
        f'holds when the paired {COSINE} - {D_EFFICIENT} mIoU interval lies above 0; does not '
        'hold when it lies below 0; inconclusive otherwise.',
        values,
        [(COSINE, D_EFFICIENT, 'mIoU', +1)],
    )


def claim_4(values: Values) -> Verdict:
    present = [r for r in REFINEMENTS if r in values]
    rule = (
        f'for every rung of {list(REFINEMENTS)} in the ladder, holds when the paired '
        f'rung - {COSINE!r} top-1 interval lies above 0 and the mIoU interval below 0; does '
        'not hold when for one of them top-1 lies below 0 or mIoU above 0; inconclusive '
        'otherwise.'
    )
    claim = (
        'label smoothing, distillation and mixup raise top-1 but lower FCN mIoU relative to '
        '+ cosine'
    )
    if not present:
        return Verdict(4, claim, rule, UNTESTED, f'rungs absent: {list(REFINEMENTS)}')
    return _one_sided(
        4,
        claim,
        rule,
        values,
        [(r, COSINE, m, s) for r in present for m, s in (('top1', +1), ('mIoU', -1))],
    )


CLAIMS: List[Callable[[Values], Verdict]] = [claim_1, claim_2, claim_3, claim_4]


def verdicts(values: Values) -> List[Verdict]:
    """The four verdicts on ``values`` (claim 1 uses every rung with a top-1 and an mAP)."""
    return [claim(values) for claim in CLAIMS]
