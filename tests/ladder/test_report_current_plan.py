"""`--report-only` after a config edit whose rerun was interrupted shows only the current plan:
the edited rung's old records (and those of every step that read them) are left out and
counted, the untouched rung's records stay (issue 20, item 7)."""

import re
import textwrap

import pytest
import torch
from _fake_steps import fake_processes

from tricks_mm.cli import ladder as cli_ladder
from tricks_mm.ladder import launch
from tricks_mm.ladder import plan as plan_module
from tricks_mm.ladder.plan import NOT_CURRENT, LadderPlan
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.spec import load_ladder

_LADDER = """
ladder = dict(name='edit', seeds=[0],
    classify=dict(overlays=['{repo}/configs/toy/classification.py'], epoch_scale={scale},
                  auto_scale_lr=True),
    detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
    rungs=[dict(name='control'),
           dict(name='D cosine',
                cls_config='{repo}/configs/classification/resnet50d_cosine_8xb128_in1k.py')])
"""
D_STEPS = [f'seed0-d-cosine-{kind}' for kind in ('classify', 'convert', 'detect', 'segment')]


@pytest.fixture
def ladder_file(tmp_path, repo, monkeypatch):
    """Writes the ladder file at an epoch scale; convert writes an empty backbone (the fake
    classifier checkpoint holds nothing to convert)."""

    def convert(checkpoint, out, config, top1):
        torch.save({}, out)
        return dict(architecture=dict(depth=18, variant='d'))

    monkeypatch.setattr(plan_module, 'convert_classifier', convert)
    monkeypatch.chdir(repo)
    path = tmp_path / 'ladder.py'

    def write(scale: float, transfer: bool = True) -> str:
        text = textwrap.dedent(_LADDER.format(repo=repo, scale=scale))
        if not transfer:
            text = text.replace(
                "resnet50d_cosine_8xb128_in1k.py')",
                "resnet50d_cosine_8xb128_in1k.py', transfer=False)",
            )
        path.write_text(text)
        return str(path)

    return write


def _row(text: str, rung: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f'| {rung} |'))


def test_an_interrupted_rerun_after_an_edit_reports_only_the_current_plan(
    tmp_path, ladder_file, monkeypatch
):
    work = str(tmp_path / 'wd')
    fake_processes(monkeypatch)
    cli_ladder.main([ladder_file(0.1), '--work-dir', work])
    first = (tmp_path / 'wd' / 'report.md').read_text()
    assert '70.00' in _row(first, 'D cosine')  # the fake classifier's top-1, reported

    # edit the rung's classification (another epoch scale), then interrupt its rerun
    def interrupted(cmd, log_path, echo=False, on_line=None, env=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(launch, 'run_logged', interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli_ladder.main([ladder_file(0.2), '--work-dir', work])
    assert set(D_STEPS) <= set(RecordBook(work).all())  # the old records are still on disk

    keys = LadderPlan(load_ladder(ladder_file(0.2), work)).current_keys()
    old = RecordBook(work).all()
    assert keys['seed0-d-cosine-classify'] != old['seed0-d-cosine-classify']['key']
    assert [keys[s] for s in D_STEPS[1:]] == [NOT_CURRENT] * 3  # they read the old classifier
    assert keys['seed0-control-detect'] == old['seed0-control-detect']['key']

    cli_ladder.main([ladder_file(0.2), '--work-dir', work, '--report-only'])
    text = (tmp_path / 'wd' / 'report.md').read_text()
    assert not re.search(r'\d', _row(text, 'D cosine').split('|', 2)[2])  # no number shown
    assert '50.00' in _row(text, 'control')  # the untouched rung's records stay
    assert all(step not in text for step in D_STEPS)  # nor in the Steps table
    assert '4 record(s) of steps no longer in the ladder' in text


def test_a_rung_no_longer_transferred_keeps_no_downstream_record(
    tmp_path, ladder_file, monkeypatch
):
    """Steps the plan no longer has (a rung now ``transfer=False``) are not current: its
    classifier stays in the tables, its old detection and segmentation results do not."""
    work = str(tmp_path / 'wd')
    fake_processes(monkeypatch)
    cli_ladder.main([ladder_file(0.1), '--work-dir', work])
    assert '50.00' in _row((tmp_path / 'wd' / 'report.md').read_text(), 'D cosine')
    cli_ladder.main([ladder_file(0.1, transfer=False), '--work-dir', work, '--report-only'])
    text = (tmp_path / 'wd' / 'report.md').read_text()
    assert '70.00' in _row(text, 'D cosine') and '50.00' not in _row(text, 'D cosine')
    assert '3 record(s) of steps no longer in the ladder' in text
