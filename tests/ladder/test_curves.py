"""Learning curves and the plateau test (issue 21): the curve is read from what mmengine's own
``LocalVisBackend`` writes (written here by that backend, not by hand), a resumed run's folders
are merged, and the report marks a classifier that gained more than 1 point of top-1 over its
last 20% of epochs, the gain computed by hand from the curve."""

import os
import textwrap
from pathlib import Path

import pytest
from mmengine.visualization import LocalVisBackend

from tricks_mm.ladder.curves import convergence, read_val_curve
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.report import write_report
from tricks_mm.ladder.spec import load_ladder


def _log_run(step_dir: Path, timestamp: str, val: dict, iters_per_epoch: int = 5) -> None:
    """One training run's mmengine log: training lines every iteration (loss, lr; step =
    iteration) and a validation line per epoch (step = epoch), as LoggerHook writes them."""
    backend = LocalVisBackend(save_dir=str(step_dir / timestamp / 'vis_data'))
    for epoch, top1 in val.items():
        for i in range(iters_per_epoch):
            it = (epoch - 1) * iters_per_epoch + i + 1
            backend.add_scalars({'lr': 0.1, 'loss': 2.0 / it, 'epoch': epoch}, step=it)
        backend.add_scalars({'accuracy/top1': top1, 'data_time': 0.01, 'time': 0.1}, step=epoch)


def test_curve_read_from_mmengines_own_log_files(tmp_path):
    _log_run(tmp_path, '20261202_100000', {1: 40.0, 2: 55.5, 3: 61.25})
    assert read_val_curve(str(tmp_path)) == [(1, 40.0), (2, 55.5), (3, 61.25)]


def test_resumed_run_merges_folders_the_later_pass_winning(tmp_path):
    """A step killed in epoch 3 and resumed from epoch 2's checkpoint validates epoch 3 again
    in a new timestamp folder: that pass is the curve's."""
    _log_run(tmp_path, '20261202_100000', {1: 40.0, 2: 55.5, 3: 50.0})
    _log_run(tmp_path, '20261202_110000', {3: 61.0, 4: 63.0})
    assert read_val_curve(str(tmp_path)) == [(1, 40.0), (2, 55.5), (3, 61.0), (4, 63.0)]


def test_no_validation_logged_gives_an_empty_curve(tmp_path):
    _log_run(tmp_path, '20261202_100000', {})
    assert read_val_curve(str(tmp_path)) == []
    assert read_val_curve(str(tmp_path / 'absent')) == []


@pytest.mark.parametrize(
    'epochs, curve, from_epoch, gain, improving',
    [
        # 12 epochs: the window starts at epoch floor(0.8 * 12) = 9
        (12, [(e, 50 + e) for e in range(1, 13)], 9, 62 - 59, True),
        # exactly 1 point is not "more than 1 point"
        (12, [(e, 80.0) for e in range(1, 9)] + [(9, 90.0), (12, 91.0)], 9, 1.0, False),
        # 20 epochs validated every 3 and at the end: last validation <= 16 is epoch 15
        (
            20,
            [(3, 60.0), (6, 70.0), (9, 80.0), (12, 85.0), (15, 88.0), (18, 88.5), (20, 88.6)],
            15,
            88.6 - 88.0,
            False,
        ),
        # a curve that falls in its window is not improving
        (10, [(e, 70.0) for e in range(1, 9)] + [(9, 69.0), (10, 68.0)], 8, -2.0, False),
    ],
)
def test_plateau_test_by_hand(epochs, curve, from_epoch, gain, improving):
    test = convergence(curve, epochs)
    assert test.from_epoch == from_epoch and test.to_epoch == epochs
    assert test.gain == pytest.approx(gain, abs=1e-12)
    assert test.still_improving is improving


@pytest.mark.parametrize(
    'epochs, curve, reason',
    [
        (12, [(11, 80.0)], 'no validation at the last epoch (12)'),
        (12, [(12, 80.0)], 'no validation at or before epoch 9'),
        (12, [], 'no validation at the last epoch (12)'),
    ],
)
def test_plateau_test_says_when_the_curve_cannot_tell(epochs, curve, reason):
    test = convergence(curve, epochs)
    assert test.gain is None and test.still_improving is None and test.reason == reason


def test_report_marks_a_classifier_still_improving(tmp_path, repo):
    """Seed 0 of D gains 3 points over epochs 8 -> 10 (improving), seed 1 gains 0.5; B's
    classifier has no curve. The top-1 cell of D carries the mark, B's does not, the section
    lists both of D's classifiers, and the curves' figure is written."""
    ladder_file = tmp_path / 'l.py'
    ladder_file.write_text(
        textwrap.dedent(f"""
        ladder = dict(name='curves', seeds=[0, 1],
            detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
            segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
            rungs=[dict(name='B', cls_config='{repo}/configs/classification/'
                        'resnet50b_efficient_8xb128_in1k.py'),
                   dict(name='D', cls_config='{repo}/configs/classification/'
                        'resnet50d_efficient_8xb128_in1k.py')])
        """)
    )
    spec = load_ladder(os.fspath(ladder_file), os.fspath(tmp_path / 'wd'))
    book = RecordBook(spec.work_dir)
    curves = {
        0: [[e, 60.0 + e] for e in range(1, 9)] + [[9, 70.0], [10, 71.0]],  # 68 -> 71
        1: [[e, 70.0] for e in range(1, 9)] + [[9, 70.2], [10, 70.5]],  # 70 -> 70.5
    }
    for seed in (0, 1):
        book.write(f'seed{seed}-b-classify', dict(metrics={'accuracy/top1': 65.0 + seed}))
        book.write(
            f'seed{seed}-d-classify',
            dict(
                metrics={'accuracy/top1': curves[seed][-1][1]},
                val_curve=curves[seed],
                epochs=10,
            ),
        )
    paths = write_report(spec, book.all(), code={})
    text = Path(paths['md']).read_text()
    table8 = text.split('## Table 8')[1].split('## ')[0]
    d_row = next(line for line in table8.splitlines() if line.startswith('| D |'))
    b_row = next(line for line in table8.splitlines() if line.startswith('| B |'))
    assert '↗' in d_row.split('|')[2] and '↗' not in b_row
    assert '## Did the classifiers converge?' in text
    assert '| D | 0 | 10 | 68.00 → 71.00 (8 → 10) | +3.00 | ↗ still improving |' in text
    assert '| D | 1 | 10 | 70.00 → 70.50 (8 → 10) | +0.50 | plateaued (gain ≤ 1) |' in text
    assert '| B |' not in text.split('## Did the classifiers converge?')[1].split('## ')[0]
    assert Path(paths['curves']).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_no_curves_no_section_and_no_figure(tmp_path, repo):
    ladder_file = tmp_path / 'l.py'
    ladder_file.write_text(
        textwrap.dedent(f"""
        ladder = dict(name='flat', seeds=[0],
            detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
            segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
            rungs=[dict(name='D', cls_config='{repo}/configs/classification/'
                        'resnet50d_efficient_8xb128_in1k.py')])
        """)
    )
    spec = load_ladder(os.fspath(ladder_file), os.fspath(tmp_path / 'wd'))
    RecordBook(spec.work_dir).write('seed0-d-classify', dict(metrics={'accuracy/top1': 70.0}))
    paths = write_report(spec, RecordBook(spec.work_dir).all(), code={})
    assert 'converge' not in Path(paths['md']).read_text() and 'curves' not in paths
