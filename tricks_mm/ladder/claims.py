"""The claims of the paper's Section 6 and the rules that decide them on a ladder's seeds.

Claims name rungs by their stable ``key`` in the rung list (``configs/ladders/_base_/
section6_rungs.py``), never by display name. Each claim is a set of *tests*:

- claims 2, 3 and 4a-4d: paired same-seed differences ``rung - reference`` of one metric
  (:func:`tricks_mm.ladder.stats.paired`, two-sided ``ttest_rel`` p); the claim says which side of
  0 each lies on. Claim 2 compares ResNet-50-B and -D under the same efficient recipe; claim 4
  is one verdict per refinement, against the rung it is added to (the paper's rows are
  cumulative);
- claim 1: Spearman's rho of the rung means of top-1 and mAP over every rung with both, with an
  exact one-sided permutation p (:func:`tricks_mm.ladder.stats.rank_test`), the seed noise carried
  through by resampling the seeds within each rung.

All tests of the report form one family: Holm's step-down adjustment keeps the chance of any
false decision at ``ALPHA``. A test *supports* the claim when its adjusted p is below ``ALPHA``
and its estimate lies on the claimed side, *contradicts* it on the other side, and is
*undecided* otherwise (including no p: a single run, or zero spread). A claim **holds** when
every test supports it, **does not hold** when one contradicts it, is **inconclusive** otherwise
(with the seeds it would need), and is **not tested** when the ladder lacks its rungs.

Which claims a ladder decides: a ladder file's ``claims`` list names them, and a named claim
whose rungs are absent refuses the ladder before anything runs (:func:`check_requested`); without
the list every claim is reported, those whose rungs are absent as "not tested: rung ... absent".
"""

from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Sequence, Tuple

from tricks_mm.ladder.stats import (
    ALPHA,
    POWER,
    Summary,
    min_detectable,
    paired,
    rank_test,
    seed_resampled_rho,
    seeds_needed,
    summarize,
)
from tricks_mm.ladder.stats import holm as holm_adjust

#: Stable rung keys of Tables 8/9 (``key=`` in the rung list).
B_STANDARD = 'b_standard'
B_EFFICIENT = 'b_efficient'
D_EFFICIENT = 'd_efficient'
COSINE = 'cosine'
LABEL_SMOOTHING = 'label_smoothing'
DISTILLATION = 'distillation'
MIXUP = 'mixup'
MIXUP_DISTILLATION = 'mixup_distillation'

HOLDS, FAILS, INCONCLUSIVE, UNTESTED = 'holds', 'does not hold', 'inconclusive', 'not tested'
SUPPORTS, CONTRADICTS, UNDECIDED = 'supports', 'contradicts', 'undecided'
#: claim 1 needs at least this many rungs with top-1 and mAP to be tested at all
RANK_MIN_RUNGS = 3


@dataclass(frozen=True)
class Comparison:
    """``rung - reference`` of ``metric`` lies on the side ``sign`` (+1 above 0, -1 below).

    ``paper_reference``: the rung whose paper number stands in for the reference's when the
    paper has none for the reference (the paper has no B-efficient downstream row)."""

    rung: str
    reference: str
    metric: str
    sign: int
    paper_reference: Optional[str] = None


@dataclass(frozen=True)
class Claim:
    """A claim: its id, its words, and its comparisons (none: claim 1's rank test)."""

    id: str
    text: str
    comparisons: Tuple[Comparison, ...] = ()

    @property
    def keys(self) -> List[str]:
        """The rung keys the claim needs."""
        return list(dict.fromkeys(k for c in self.comparisons for k in (c.rung, c.reference)))


def _trade(rung: str, reference: str) -> Tuple[Comparison, ...]:
    return (Comparison(rung, reference, 'top1', +1), Comparison(rung, reference, 'mIoU', -1))


CLAIMS: Tuple[Claim, ...] = (
    Claim('1', 'a better ImageNet classifier gives a better Faster R-CNN, Table 8'),
    Claim(
        '2',
        'ResNet-50-D beats ResNet-50-B downstream under the same efficient recipe',
        (
            Comparison(D_EFFICIENT, B_EFFICIENT, 'mAP', +1, paper_reference=B_STANDARD),
            Comparison(D_EFFICIENT, B_EFFICIENT, 'mIoU', +1, paper_reference=B_STANDARD),
        ),
    ),
    Claim(
        '3', 'cosine decay improves FCN on ADE20K', (Comparison(COSINE, D_EFFICIENT, 'mIoU', +1),)
    ),
    Claim(
        '4a', 'label smoothing raises top-1 but lowers FCN mIoU', _trade(LABEL_SMOOTHING, COSINE)
    ),
    Claim(
        '4b', 'distillation raises top-1 but lowers FCN mIoU', _trade(DISTILLATION, LABEL_SMOOTHING)
    ),
    Claim('4c', 'mixup raises top-1 but lowers FCN mIoU', _trade(MIXUP, LABEL_SMOOTHING)),
    Claim(
        '4d',
        'distillation with mixup raises top-1 but lowers FCN mIoU',
        _trade(MIXUP_DISTILLATION, MIXUP),
    ),
)
CLAIM_IDS = tuple(c.id for c in CLAIMS)
BY_ID = {c.id: c for c in CLAIMS}

#: What each verdict means; the report prints these lines in its method section.
METHOD = (
    "Verdicts: every test below is one of a family; Holm's step-down method adjusts their "
    f'p-values so that the chance of any false decision stays at {ALPHA:g}. A test supports a '
    f'claim when its adjusted p < {ALPHA:g} with the estimate on the claimed side, and '
    'contradicts it on the other side.',
    '**holds**: every test of the claim supports it. **does not hold**: a test contradicts it. '
    '**inconclusive**: neither (an interval overlapping 0, a single run, or zero spread, which '
    'has no t-interval); the line says what effect the seeds could detect (80% power, two-sided '
    f"{ALPHA:g}, before adjustment: optimistic) and how many seeds the paper's difference would "
    "need. **not tested**: the ladder lacks the claim's rungs.",
    'Claim 1: Spearman rho of the rung means of top-1 and mAP, one-sided exact permutation p '
    '(every pairing of up to 8 rungs; 9999 random pairings beyond); it also needs the 2.5% '
    'quantile of rho over seeds resampled within each rung to be > 0. Its reverse (rho < 0) '
    f'contradicts the claim when p_less x m < {ALPHA:g} (Bonferroni, m tests) and the 97.5% '
    'quantile of the resampled rho is < 0. A claim with a comparison that has no common seeds '
    'cannot hold. With 3 rungs the '
    'smallest p is 1/6: no rank test can decide.',
)


@dataclass(frozen=True)
class RungData:
    """One reported rung as the claims see it: per metric ``{seed: value in percent}``."""

    name: str
    values: Mapping[str, Mapping[int, float]]
    key: Optional[str] = None
    paper: Mapping[str, float] = field(default_factory=dict)
    paper_approx: Sequence[str] = ()


@dataclass
class Test:
    """One decisive test: its estimate, p, Holm-adjusted p and what it decides."""

    label: str
    estimate: str
    sign: int
    direction: int
    p: Optional[float]
    reason: str = ''
    power: str = ''
    adjusted: Optional[float] = None
    extra_ok: bool = True
    reverse_p: Optional[float] = None
    #: the reverse's own extra condition (claim 1: the seed-resampled rho stays below 0)
    extra_against: bool = True
    family: int = 1

    @property
    def decision(self) -> str:
        if self.adjusted is None or self.adjusted >= ALPHA:
            if (
                self.reverse_p is not None
                and min(1.0, self.family * self.reverse_p) < ALPHA
                and self.extra_against
            ):
                return CONTRADICTS
            return UNDECIDED
        if self.direction == self.sign:
            return SUPPORTS if self.extra_ok else UNDECIDED
        return CONTRADICTS

    def line(self) -> str:
        ps = (
            f'p = {self.p:.3g}, Holm-adjusted p = {self.adjusted:.3g}'
            if self.p is not None and self.adjusted is not None
            else 'no p'
        )
        text = f'  - {self.label}: {self.estimate}; {ps}: {self.decision}'
        if self.reason and self.p is not None:
            text += f' ({self.reason})'
        return text + (f': {self.power}.' if self.power and self.decision == UNDECIDED else '.')


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    tests: List[Test]
    note: str = ''
    #: every comparison of the claim has a test (a missing metric leaves it undecided)
    complete: bool = True

    def line(self) -> str:
        head = f'- **Claim {self.claim.id}** ({self.claim.text}): **{self.verdict}**'
        head += f': {self.note}' if self.note else '.'
        return '\n'.join([head] + [t.line() for t in self.tests])


def fmt_diff(d: Summary) -> str:
    """``+1.23 [+0.40, +2.06] (n=3)``, or the mean and the reason there is no interval."""
    if d.n == 0:
        return 'no common seeds'
    if not d.has_interval:
        return f'{d.mean:+.2f} ({d.reason.split(":")[0]}, n={d.n})'
    return f'{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}] (n={d.n})'


def _paper_effect(rungs: Mapping[str, RungData], c: Comparison) -> Tuple[Optional[float], str]:
    """The paper's difference for the comparison, and how it was found."""
    rung = rungs[c.rung]
    for reference_key, note in ((c.reference, ''), (c.paper_reference, 'stand-in')):
        reference = rungs.get(reference_key) if reference_key else None
        if reference is None or c.metric not in rung.paper or c.metric not in reference.paper:
            continue
        effect = rung.paper[c.metric] - reference.paper[c.metric]
        recalled = c.metric in rung.paper_approx or c.metric in reference.paper_approx
        notes = ['recalled'] if recalled else []
        if note:
            notes.append(f'its {rung.name} - {reference.name}, which also changes the recipe')
        words = f"the paper's {effect:+.2f}" + (f' ({"; ".join(notes)})' if notes else '')
        return effect, words
    return None, ''


def power_text(d: Summary, effect: Optional[float], effect_words: str) -> str:
    """How many seeds the comparison needs: the smallest effect the seeds detect and the seeds
    the paper's effect needs, at the measured paired sd."""
    if d.n < 2:
        return 'a single run measures no noise: run at least 2 seeds (more for power)'
    if not d.std:
        return (
            f'zero spread at n = {d.n}: the seeds give no measure of noise (a published top-1, '
            'or a metric too coarse for the validation set); a larger validation set or more '
            'seeds are needed'
        )
    text = (
        f'at n = {d.n} with sd {d.std:.2f} this design detects only >= '
        f'{min_detectable(d.n, d.std):.2f} points ({POWER:.0%} power)'
    )
    if effect is None:
        return text + '; the paper has no number for this difference'
    needed = seeds_needed(effect, d.std)
    return text + (
        f'; {effect_words} would need about {needed} seeds'
        if needed is not None
        else f'; {effect_words} is too small for any practical number of seeds'
    )


def _comparison_test(rungs: Mapping[str, RungData], c: Comparison) -> Optional[Test]:
    rung, reference = rungs[c.rung], rungs[c.reference]
    d = paired(rung.values.get(c.metric, {}), reference.values.get(c.metric, {}))
    if d.n == 0:
        return None
    effect, words = _paper_effect(rungs, c)
    side = '> 0' if c.sign > 0 else '< 0'
    return Test(
        label=f'{c.metric} {rung.name!r} - {reference.name!r} (claimed {side})',
        estimate=fmt_diff(d),
        sign=c.sign,
        direction=(d.mean > 0) - (d.mean < 0),  # type: ignore[operator]
        p=d.p,
        reason=d.reason,
        power=power_text(d, effect, words),
    )


def _rank_evidence(data: Sequence[RungData]) -> Tuple[Optional[Test], str]:
    """Claim 1's test over the rungs with top-1 and mAP, or why it is not tested."""
    rungs = [r for r in data if r.values.get('top1') and r.values.get('mAP')]
    if len(rungs) < RANK_MIN_RUNGS:
        return None, (
            f'{len(rungs)} rung(s) with top-1 and mAP, a rank test needs at least {RANK_MIN_RUNGS}'
        )
    x = [summarize(list(r.values['top1'].values())).mean for r in rungs]
    y = [summarize(list(r.values['mAP'].values())).mean for r in rungs]
    result = rank_test(x, y)  # type: ignore[arg-type]
    names = ', '.join(repr(r.name) for r in rungs)
    if result.rho is None:
        return (
            Test(
                f'Spearman rho over {len(rungs)} rungs ({names})',
                'undefined (a constant coordinate)',
                +1,
                0,
                None,
                reason='rho undefined',
            ),
            '',
        )
    kind = 'exact' if result.exact else 'Monte-Carlo'
    test = Test(
        label=f'Spearman rho(top-1, mAP) over {len(rungs)} rungs ({names})',
        estimate=f'{result.rho:+.2f}, {kind} one-sided permutation p (rho > 0)',
        sign=+1,
        direction=(result.rho > 0) - (result.rho < 0),
        p=result.p_greater,
        reverse_p=result.p_less,
    )
    notes = []
    if result.min_p >= ALPHA:
        notes.append(
            f'with {len(rungs)} rungs the smallest p any rank test can reach is '
            f'{result.min_p:.3f} >= {ALPHA:g}: this design cannot decide claim 1 (add rungs)'
        )
    rhos = seed_resampled_rho([r.values['top1'] for r in rungs], [r.values['mAP'] for r in rungs])
    if rhos is None:
        test.extra_ok = test.extra_against = False
        notes.append('a rung has fewer than 2 seeds: the seed noise cannot be carried through')
    else:
        ordered = sorted(rhos)
        low = float(ordered[int(0.025 * (len(rhos) - 1))])
        high = float(ordered[int(0.975 * (len(rhos) - 1))])
        test.extra_ok, test.extra_against = low > 0, high < 0
        notes.append(
            f'seeds resampled within each rung: rho > 0 in {float((rhos > 0).mean()):.0%} of '
            f'{len(rhos)} draws, 2.5% / 97.5% quantiles {low:+.2f} / {high:+.2f}'
        )
    test.reason = '; '.join(notes)
    return test, ''


def check_requested(
    keys: Sequence[Optional[str]], requested: Sequence[str], ranked: Optional[int] = None
) -> None:
    """Refuse claims a ladder asks for but whose rungs it lacks (or unknown claim ids);
    ``ranked``: how many classifier rungs claim 1 would rank (checked when given).

    Raises:
        ValueError: naming the claim, its missing rung keys and the fix.
    """
    unknown = [c for c in requested if c not in BY_ID]
    if unknown:
        raise ValueError(f'ladder.claims names unknown claims {unknown}; known: {list(CLAIM_IDS)}')
    if '1' in requested and ranked is not None and ranked < RANK_MIN_RUNGS:
        raise ValueError(
            f'ladder.claims asks for claim 1, a rank test over the transferred classifier '
            f'rungs, but the ladder has {ranked}: it needs at least {RANK_MIN_RUNGS}; add rungs '
            'or drop claim 1 from ladder.claims'
        )
    for claim_id in requested:
        missing = [k for k in BY_ID[claim_id].keys if k not in keys]
        if missing:
            raise ValueError(
                f'ladder.claims asks for claim {claim_id} ({BY_ID[claim_id].text}), but no rung '
                f'has key {missing}: add those rungs (key=...) or drop claim {claim_id} from '
                'ladder.claims'
            )


def verdicts(data: Sequence[RungData], requested: Optional[Sequence[str]] = None) -> List[Verdict]:
    """The verdicts on the reported rungs ``data``: the ``requested`` claim ids (each must have
    its rungs), or every claim when ``None`` (absent rungs: "not tested")."""
    by_key = {r.key: r for r in data if r.key}
    if requested is not None:
        check_requested(list(by_key), requested)
    out: List[Verdict] = []
    for claim in CLAIMS:
        if requested is not None and claim.id not in requested:
            continue
        if claim.id == '1':
            test, note = _rank_evidence(data)
            out.append(Verdict(claim, UNTESTED, [test] if test else [], note))
            continue
        missing = [k for k in claim.keys if k not in by_key]
        if missing:
            out.append(Verdict(claim, UNTESTED, [], f'rung(s) {missing} absent'))
            continue
        tests, absent = [], []
        for c in claim.comparisons:
            test = _comparison_test(by_key, c)
            if test is None:
                absent.append(f'{c.metric} {by_key[c.rung].name!r} - {by_key[c.reference].name!r}')
            else:
                tests.append(test)
        note = (
            'no metric recorded for these rungs'
            if not tests
            else f'no common seeds for {", ".join(absent)}: that part of the claim is untested'
            if absent
            else ''
        )
        out.append(Verdict(claim, UNTESTED, tests, note, complete=not absent))
    # the family: the tests that have a p (one with none decides nothing and would only
    # inflate everyone else's adjustment)
    family = [t for v in out for t in v.tests if t.p is not None]
    for t, a in zip(family, holm_adjust([t.p for t in family])):
        t.adjusted, t.family = a, len(family)
    for v in out:
        if not v.tests:
            continue
        decisions = [t.decision for t in v.tests]
        if CONTRADICTS in decisions:
            v.verdict = FAILS
        elif v.complete and all(d == SUPPORTS for d in decisions):
            v.verdict = HOLDS
        else:
            v.verdict = INCONCLUSIVE
    return out


def family_size(result: Sequence[Verdict]) -> int:
    """How many tests Holm's adjustment covered (those with a p)."""
    return sum(1 for v in result for t in v.tests if t.p is not None)
