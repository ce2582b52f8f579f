"""Claims in ladder files: every Section 6 ladder loads with its rung keys, a ladder that asks
for a claim must have its rungs, and the rule for claims a ladder does not ask for."""

import os

import pytest

from tricks_mm.ladder import claims
from tricks_mm.ladder.spec import load_ladder

KEYS = [
    'b_standard',
    'b_efficient',
    'd_efficient',
    'cosine',
    'label_smoothing',
    'distillation',
    'mixup',
    'mixup_distillation',
]


@pytest.mark.parametrize('ladder', ['paper_section6', 'toy_section6'])
def test_section6_ladders_key_every_claim_rung(repo, monkeypatch, ladder):
    monkeypatch.chdir(repo)
    spec = load_ladder(f'configs/ladders/{ladder}.py')
    keys = {r.key: r for r in spec.rungs if r.key}
    assert list(keys) == KEYS
    b_eff = keys['b_efficient']
    assert b_eff.cls_config.endswith('resnet50b_efficient_8xb128_in1k.py')
    assert (b_eff.paper, b_eff.paper_approx) == ({'top1': 76.66}, ['top1'])  # Table 5, recalled
    claims.check_requested(list(keys), list(claims.CLAIM_IDS), ranked=9)  # every claim testable


def test_toy_demo_loads_and_reports_untested_claims_without_asking(repo, monkeypatch):
    monkeypatch.chdir(repo)
    spec = load_ladder('configs/ladders/toy_demo.py')
    assert spec.claims is None
    assert [r.key for r in spec.rungs] == [None, 'b_standard', 'mixup']


def _ladder(tmp_path, repo, extra, rungs):
    c = f'{repo}/configs/classification/'
    path = tmp_path / 'l.py'
    path.write_text(
        f"ladder = dict(name='k', {extra}"
        f"detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'), "
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'), rungs=["
        + ', '.join(
            f"dict(name='{name}', key={key!r}, cls_config='{c}resnet50d_efficient_8xb128_in1k.py')"
            for name, key in rungs
        )
        + '])'
    )
    return os.fspath(path)


def test_a_ladder_asking_for_a_claim_needs_its_rungs(tmp_path, repo):
    both = [('B eff', 'b_efficient'), ('D eff', 'd_efficient'), ('x', None)]
    spec = load_ladder(_ladder(tmp_path, repo, "claims=['2'], ", both))
    assert spec.claims == ['2']
    with pytest.raises(ValueError, match=r"claim 2 .*no rung has key \['b_efficient'\].*drop"):
        load_ladder(_ladder(tmp_path, repo, "claims=['2'], ", both[1:]))
    with pytest.raises(ValueError, match=r"unknown claims \['4'\]; known: \['1', '2', '3', '4a'"):
        load_ladder(_ladder(tmp_path, repo, "claims=['4'], ", both))
    with pytest.raises(ValueError, match='claim 1, a rank test .* has 2: it needs at least 3'):
        load_ladder(_ladder(tmp_path, repo, "claims=['1'], ", both[:2]))
    # a rung left out of the report (report=False) cannot serve a claim either
    hidden = _ladder(tmp_path, repo, "claims=['2'], ", both)
    with open(hidden) as f:
        text = f.read().replace("key='b_efficient',", "key='b_efficient', report=False,")
    with open(hidden, 'w') as f:
        f.write(text)
    with pytest.raises(ValueError, match=r"claim 2 .*no rung has key \['b_efficient'\]"):
        load_ladder(hidden)
    with pytest.raises(ValueError, match=r'rung keys repeat'):
        load_ladder(_ladder(tmp_path, repo, '', [('a', 'mixup'), ('b', 'mixup')]))


def test_the_figure_annotates_the_claim_1_test():
    """The transfer figure's Spearman line is the verdict's exact permutation test: four rungs
    in the same order give p = 1/4! (scipy's t-approximation would print 0.000)."""
    from tricks_mm.ladder.report.figures import rho_text

    text = rho_text([70.0, 71.0, 72.0, 73.0], [50.0, 51.0, 52.0, 53.0])
    assert text == ('Spearman rho = +1.00 (n=4, exact one-sided p=0.042, smallest possible 0.0417)')
    assert rho_text([70.0, 71.0], [50.0, 51.0]) == 'Spearman rho undefined (n=2)'
