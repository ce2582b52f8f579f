"""The claim rules on constructed records: a clear win, a clear loss, an overlap, zero spread,
the cumulative-rung trap, a renamed rung, Holm's adjustment over the report's own family and
the seeds an inconclusive claim needs (references: scipy, statsmodels, hand enumeration)."""

import math

import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from tricks_mm.ladder import claims
from tricks_mm.ladder.claims import RungData


def _rung(key, name=None, paper=None, **metrics):
    return RungData(
        name=name or key,
        key=key,
        values={m: dict(enumerate(v)) for m, v in metrics.items()},
        paper=paper or {},
    )


def _by_id(result):
    return {v.claim.id: v for v in result}


B = dict(top1=[70.0, 71.0, 70.5], mAP=[50.0, 52.0, 51.0], mIoU=[30.0, 31.0, 30.4])


def _claim2(d_metrics, requested=('2',)):
    data = [
        _rung(claims.B_EFFICIENT, 'B-efficient', **B),
        _rung(claims.D_EFFICIENT, 'D-eff', **d_metrics),
    ]
    return _by_id(claims.verdicts(data, requested))['2']


def test_claim_2_clear_win_clear_loss_overlap():
    win = _claim2(dict(mAP=[53.0, 55.2, 54.1], mIoU=[32.0, 33.1, 32.3]))
    assert win.verdict == claims.HOLDS
    # both tests in the family of 2: Holm-adjusted p as statsmodels computes it
    ps = [
        sps.ttest_rel([53.0, 55.2, 54.1], B['mAP']).pvalue,
        sps.ttest_rel([32.0, 33.1, 32.3], B['mIoU']).pvalue,
    ]
    adjusted = multipletests(ps, method='holm')[1]
    assert [t.p for t in win.tests] == pytest.approx(ps, rel=1e-12)
    assert [t.adjusted for t in win.tests] == pytest.approx(list(adjusted), rel=1e-12)
    assert "mAP 'D-eff' - 'B-efficient' (claimed > 0): +3.10" in win.line()
    loss = _claim2(dict(mAP=[46.0, 48.1, 47.2], mIoU=[32.0, 33.1, 32.3]))
    assert loss.verdict == claims.FAILS  # mAP clearly lower
    overlap = _claim2(dict(mAP=[52.0, 50.5, 52.5], mIoU=[31.0, 30.0, 31.4]))
    assert overlap.verdict == claims.INCONCLUSIVE


def test_zero_spread_never_decides():
    # +0.01 at every seed: no interval, no p, no verdict (the old rule said "holds")
    v = _claim2(dict(mAP=[50.01, 52.01, 51.01], mIoU=[30.01, 31.01, 30.41]))
    assert v.verdict == claims.INCONCLUSIVE
    assert all(t.p is None and t.decision == claims.UNDECIDED for t in v.tests)
    assert 'zero spread' in v.line()


def test_unadjusted_significance_is_not_enough():
    # mAP alone would pass at 0.05, but the family of two pushes it above after Holm
    mAP = [52.5, 54.0, 52.2]
    p = sps.ttest_rel(mAP, B['mAP']).pvalue
    assert 0.025 < p < 0.05
    v = _claim2(dict(mAP=mAP, mIoU=[30.5, 30.0, 31.4]))
    assert v.tests[0].adjusted == pytest.approx(min(1.0, 2 * p), rel=1e-12)
    assert v.tests[0].decision == claims.UNDECIDED and v.verdict == claims.INCONCLUSIVE


def test_inconclusive_says_how_many_seeds_the_paper_effect_needs():
    mIoU = [31.0, 29.0, 33.0]
    data = [
        _rung(claims.D_EFFICIENT, 'D', paper=dict(mIoU=38.88), mIoU=B['mIoU']),
        _rung(claims.COSINE, 'C', paper=dict(mIoU=39.33), mIoU=mIoU),
    ]
    v = _by_id(claims.verdicts(data, ['3']))['3']
    assert v.verdict == claims.INCONCLUSIVE
    diffs = [a - b for a, b in zip(mIoU, B['mIoU'])]
    sd = sps.tstd(diffs)
    mde = TTestPower().solve_power(nobs=3, alpha=0.05, power=0.8) * sd
    nobs = TTestPower().solve_power(effect_size=0.45 / sd, alpha=0.05, power=0.8)
    assert (
        f'at n = 3 with sd {sd:.2f} this design detects only >= {mde:.2f} points (80% power); '
        f"the paper's +0.45 would need about {math.ceil(nobs)} seeds"
    ) in v.line()


def test_claim_4_one_verdict_per_refinement_cumulative_trap():
    """Only label smoothing has an effect: the rungs built on it inherit it, so against
    + cosine all would "hold"; against the rung each is added to, only 4a moves."""
    noise = [0.01, -0.02, 0.015]
    cosine = dict(top1=[75.0, 75.5, 75.2], mIoU=[35.0, 35.6, 35.1])
    ls = dict(
        top1=[t + 1.0 + e for t, e in zip(cosine['top1'], noise)],
        mIoU=[m - 1.0 - e for m, e in zip(cosine['mIoU'], noise)],
    )

    def same_as(rung, shift):
        return {m: [v + s for v, s in zip(vals, shift)] for m, vals in rung.items()}

    data = [
        _rung(claims.COSINE, '+ cosine', **cosine),
        _rung(claims.LABEL_SMOOTHING, '+ ls', **ls),
        _rung(claims.DISTILLATION, '+ distill', **same_as(ls, [0.3, -0.4, 0.1])),
        _rung(claims.MIXUP, '+ mixup', **same_as(ls, [-0.2, 0.3, 0.05])),
        _rung(claims.MIXUP_DISTILLATION, '+ mixup + distill', **same_as(ls, [0.25, 0.1, -0.3])),
    ]
    v = _by_id(claims.verdicts(data))
    assert v['4a'].verdict == claims.HOLDS
    assert [v[c].verdict for c in ('4b', '4c', '4d')] == [claims.INCONCLUSIVE] * 3
    assert (
        "'+ distill' - '+ ls'" in v['4b'].line()
        and "'+ mixup + distill' - '+ mixup'" in v['4d'].line()
    )
    # the family is every test in the report: 4 refinements x 2 metrics (claims 1-3 untested)
    assert claims.family_size(list(v.values())) == 8
    assert all(v[c].verdict == claims.UNTESTED for c in ('1', '2', '3'))


def test_a_renamed_rung_keeps_its_claim_and_a_missing_key_is_named():
    d = dict(mAP=[53.0, 55.2, 54.1], mIoU=[32.0, 33.1, 32.3])
    renamed = [
        _rung(claims.B_EFFICIENT, 'ResNet-50-B (eff.)', **B),
        _rung(claims.D_EFFICIENT, 'R50-D!', **d),
    ]
    assert _by_id(claims.verdicts(renamed))['2'].verdict == claims.HOLDS
    unkeyed = [_rung(None, 'B-efficient', **B), _rung(claims.D_EFFICIENT, 'D-efficient', **d)]
    v = _by_id(claims.verdicts(unkeyed))['2']
    assert (
        v.verdict == claims.UNTESTED
        and "**not tested**: rung(s) ['b_efficient'] absent" in v.line()
    )
    with pytest.raises(ValueError, match=r"claim 2 .*no rung has key \['b_efficient'\]"):
        claims.verdicts(unkeyed, ['2'])
    with pytest.raises(ValueError, match=r"unknown claims \['5'\]"):
        claims.verdicts(renamed, ['5'])


def _ranked(top1_means, map_means, spread=(-0.1, 0.0, 0.1)):
    return [
        _rung(None, f'r{i}', top1=[t + s for s in spread], mAP=[m + s for s in spread[::-1]])
        for i, (t, m) in enumerate(zip(top1_means, map_means))
    ]


def test_claim_1_three_rungs_can_never_hold():
    v = _by_id(claims.verdicts(_ranked([70, 72, 74], [50, 52, 54]), ['1']))['1']
    assert v.tests[0].p == pytest.approx(1 / 6)  # exact: the perfect order, 1 of 3! pairings
    assert v.verdict == claims.INCONCLUSIVE
    assert 'smallest p any rank test can reach is 0.167' in v.line()


def test_claim_1_exact_rank_test_holds_fails_and_carries_seed_noise():
    rising = _by_id(claims.verdicts(_ranked([70, 71, 72, 73, 74], [50, 51, 52, 53, 54]), ['1']))[
        '1'
    ]
    assert rising.tests[0].p == pytest.approx(1 / 120) and rising.verdict == claims.HOLDS
    falling = _by_id(claims.verdicts(_ranked([70, 71, 72, 73, 74], [54, 53, 52, 51, 50]), ['1']))[
        '1'
    ]
    assert falling.verdict == claims.FAILS
    # same means, but seed noise larger than the gaps: the resampled rho is often <= 0
    noisy = _ranked([70, 71, 72, 73, 74], [50, 51, 52, 53, 54], spread=(-6.0, 0.0, 6.0))
    noisy_v = _by_id(claims.verdicts(noisy, ['1']))['1']
    assert noisy_v.tests[0].p == pytest.approx(1 / 120) and noisy_v.verdict == claims.INCONCLUSIVE
    single = _ranked([70, 71, 72, 73, 74], [50, 51, 52, 53, 54], spread=(0.0,))
    assert _by_id(claims.verdicts(single, ['1']))['1'].verdict == claims.INCONCLUSIVE
    assert _by_id(claims.verdicts(_ranked([70, 71], [50, 51])))['1'].verdict == claims.UNTESTED


def test_a_claim_with_an_untested_comparison_cannot_hold():
    """Claim 4a is "raises top-1 but lowers mIoU": a clear top-1 gain with no mIoU recorded
    (a failed FCN step) leaves it inconclusive, naming the missing part."""
    cosine = _rung(claims.COSINE, '+ cosine', top1=[70.0, 71.0, 70.5], mIoU=[30.0, 31.0, 30.4])
    smoothing = _rung(claims.LABEL_SMOOTHING, '+ LS', top1=[74.0, 75.2, 74.4])
    v = _by_id(claims.verdicts([cosine, smoothing], ['4a']))['4a']
    assert [t.decision for t in v.tests] == [claims.SUPPORTS]
    assert v.verdict == claims.INCONCLUSIVE
    assert "no common seeds for mIoU '+ LS' - '+ cosine'" in v.line()


def test_tests_without_a_p_stay_out_of_the_holm_family():
    """A zero-spread comparison decides nothing; it must not enlarge the family the others are
    adjusted in (statsmodels' Holm over the tests that have a p)."""
    d = dict(mAP=[53.0, 55.2, 54.1], mIoU=[30.01, 31.01, 30.41])  # mIoU: +0.01 at every seed
    v = _claim2(d)
    with_p = [t for t in v.tests if t.p is not None]
    assert len(with_p) == 1 and len(v.tests) == 2
    expected = multipletests([sps.ttest_rel(d['mAP'], B['mAP']).pvalue], method='holm')[1]
    assert with_p[0].adjusted == pytest.approx(expected[0], rel=1e-12)
    assert claims.family_size([v]) == 1


def test_claim_1_reverse_needs_the_seed_noise_check_too():
    """A falling order contradicts claim 1 only when the seed-resampled rho stays below 0."""
    spread = (-6.0, 0.0, 6.0)  # seed noise far above the 1-point gaps between rung means
    noisy = [
        _rung(None, f'r{i}', top1=[t + s for s in spread], mAP=[m + s for s in spread])
        for i, (t, m) in enumerate(zip([70, 71, 72, 73, 74], [54, 53, 52, 51, 50]))
    ]
    v = _by_id(claims.verdicts(noisy, ['1']))['1']
    assert v.tests[0].reverse_p == pytest.approx(1 / 120)  # the exact reverse p
    assert v.verdict == claims.INCONCLUSIVE
