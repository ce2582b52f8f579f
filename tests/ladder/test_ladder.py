"""The ladder end to end on tiny data: steps run once, are skipped on rerun, resume after a kill,
and report."""

import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tricks_mm.cli.ladder import main as ladder_main
from tricks_mm.ladder.materialize import downstream_config
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.spec import TaskSpec, load_ladder

# 1 classification epoch, 1 detection epoch of the tiny suite, 4 segmentation iterations.
_TINY_LADDER = """
ladder = dict(
    name='tiny',
    seeds=[0],
    classify=dict(overlays=['{repo}/configs/toy/classification.py'], epoch_scale={scale},
                  auto_scale_lr=True,  # batch 8, not the toy reference 64: scaled on purpose
                  cfg_options={{'train_dataloader.batch_size': 8, 'train_dataloader.num_workers': 0,
                               'train_dataloader.persistent_workers': False,
                               'val_dataloader.num_workers': 0,
                               'val_dataloader.persistent_workers': False}}),
    detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py',
                cfg_options={{'train_cfg.max_epochs': 1, 'train_dataloader.num_workers': 0,
                             'val_dataloader.num_workers': 0}}),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py',
                 cfg_options={{'train_cfg.max_iters': 4, 'train_cfg.val_interval': 4,
                              'param_scheduler.0.end': 4,
                              'train_dataloader.num_workers': 0,
                              'val_dataloader.num_workers': 0}}),
    rungs=[
        dict(name='no pretraining'),
        dict(name='D cosine',
             cls_config='{repo}/configs/classification/resnet50d_cosine_8xb128_in1k.py',
             paper=dict(top1=77.91, pixAcc=79.25, mIoU=39.33)),
    ])
"""


def _write_ladder(path: Path, repo: Path, scale: float) -> str:
    path.write_text(_TINY_LADDER.format(repo=repo, scale=scale))
    return os.fspath(path)


@pytest.mark.slow
def test_tiny_ladder_runs_skips_and_reruns_only_what_changed(in_workspace, repo, capsys):
    ladder_file = _write_ladder(in_workspace / 'tiny.py', repo, scale=1 / 120)
    paths = ladder_main([ladder_file])
    out = capsys.readouterr().out
    assert 'step 1/6: detect' in out and 'step 6/6: segment' in out
    records = RecordBook('work_dirs/tiny').all()
    assert sorted(records) == sorted(
        [
            'seed0-no-pretraining-detect',
            'seed0-no-pretraining-segment',
            'seed0-d-cosine-classify',
            'seed0-d-cosine-convert',
            'seed0-d-cosine-detect',
            'seed0-d-cosine-segment',
        ]
    )
    assert 'accuracy/top1' in records['seed0-d-cosine-classify']['metrics']
    assert 'voc07/mAP' in records['seed0-d-cosine-detect']['metrics']
    assert {'aAcc', 'mIoU'} <= set(records['seed0-d-cosine-segment']['metrics'])
    # the detector was initialised from this rung's converted classifier
    backbone = records['seed0-d-cosine-convert']['outputs']['backbone']
    assert records['seed0-d-cosine-detect']['inputs'] == [backbone]
    provenance = records['seed0-d-cosine-convert']['provenance']
    assert {k: provenance['architecture'][k] for k in ('depth', 'variant')} == dict(
        depth=18, variant='d'
    )
    assert records['seed0-d-cosine-classify']['batch']['lr_scaled'] is True
    assert 'cosine' in provenance['tricks']

    report = Path(paths['md']).read_text()
    assert '## Table 8' in report and '## Table 9' in report
    assert '| D cosine |' in report and '79.25' in report
    rows = list(csv.DictReader(open(paths['csv'])))
    top1 = next(r for r in rows if r['rung'] == 'D cosine' and r['metric'] == 'top1')
    assert float(top1['mean']) == pytest.approx(
        records['seed0-d-cosine-classify']['metrics']['accuracy/top1'], abs=1e-3
    )
    assert Path(paths['png']).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    # rerun: every step is recorded, nothing trains again
    mtimes = {k: os.stat(f'work_dirs/tiny/records/{k}.json').st_mtime_ns for k in records}
    ladder_main([ladder_file])
    out = capsys.readouterr().out
    assert out.count('done before, skipped') == 6
    assert {k: os.stat(f'work_dirs/tiny/records/{k}.json').st_mtime_ns for k in records} == mtimes

    # a changed classification schedule reruns the rung's chain, not the control
    ladder_main([_write_ladder(in_workspace / 'tiny.py', repo, scale=2 / 120)])
    out = capsys.readouterr().out
    assert out.count('done before, skipped') == 2
    new = RecordBook('work_dirs/tiny').all()
    assert new['seed0-no-pretraining-detect'] == records['seed0-no-pretraining-detect']
    assert new['seed0-d-cosine-classify']['key'] != records['seed0-d-cosine-classify']['key']
    assert os.path.isdir('work_dirs/tiny/seed0/d-cosine/classify.superseded')


def _record_ladder(tmp_path, repo, seeds):
    ladder_file = tmp_path / 'l.py'
    c = f'{repo}/configs/classification/'
    ladder_file.write_text(
        textwrap.dedent(f"""
        ladder = dict(name='rec', seeds={seeds},
            detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
            segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
            rungs=[dict(name='none'),
                   dict(name='B-efficient', key='b_efficient',
                        cls_config='{c}resnet50b_efficient_8xb128_in1k.py',
                        paper=dict(top1=76.66, mAP=77.54)),
                   dict(name='D-efficient', key='d_efficient',
                        cls_config='{c}resnet50d_efficient_8xb128_in1k.py',
                        paper=dict(top1=77.16, mAP=78.30))])
    """)
    )
    return load_ladder(os.fspath(ladder_file), os.fspath(tmp_path / 'wd'))


# per seed: top-1, mAP (fraction, as mmdet reports it), pixAcc, mIoU, AP50 of 'disc', IoU 'disc'
_B = {
    0: (70.0, 0.50, 80.0, 30.0, 0.40, 20.0),
    1: (74.0, 0.60, 82.0, 34.0, 0.70, 26.0),
    2: (72.0, 0.55, 81.0, 32.0, 0.55, 23.0),
}
_D_GAIN = {
    0: (1.0, 0.05, 0.5, 1.0, 0.1, 1.0),
    1: (1.2, 0.06, 0.7, 1.2, 0.1, 1.0),
    2: (0.9, 0.04, 0.6, 0.9, 0.1, 1.0),
}


def _write_records(spec, seeds):
    book = RecordBook(spec.work_dir)
    for seed in seeds:
        for rung, gain in (('b-efficient', (0,) * 6), ('d-efficient', _D_GAIN[seed])):
            top1, m_ap, acc, miou, ap_disc, iou_disc = (v + g for v, g in zip(_B[seed], gain))
            book.write(f'seed{seed}-{rung}-classify', dict(metrics={'accuracy/top1': top1}))
            book.write(
                f'seed{seed}-{rung}-detect',
                dict(metrics={'voc07/mAP': m_ap, 'voc07/AP50/disc': ap_disc}),
            )
            book.write(
                f'seed{seed}-{rung}-segment',
                dict(metrics={'aAcc': acc, 'mIoU': miou, 'IoU/disc': iou_disc}),
            )
        book.write(f'seed{seed}-none-detect', dict(metrics={'voc07/mAP': 0.1}))
    return book


def _ci(values):
    from scipy import stats

    n = len(values)
    return stats.t.interval(
        0.95, n - 1, loc=statistics.mean(values), scale=statistics.stdev(values) / n**0.5
    )


def test_report_from_recorded_results(tmp_path, repo):
    """The report on hand-written records: mean ± std [t-interval], paired same-seed
    differences marked where they exclude 0, a verdict per claim with Holm-adjusted p-values,
    per-class CSV, two figures; a constant sample has no interval."""
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    from tricks_mm.ladder.report import write_report

    spec = _record_ladder(tmp_path, repo, [0, 1, 2])
    book = _write_records(spec, [0, 1, 2])
    paths = write_report(spec, book.all())
    text = Path(paths['md']).read_text()
    low, high = _ci([70.0, 74.0, 72.0])
    m_low, m_high = _ci([50.0, 60.0, 55.0])  # mAP in percent
    assert (
        f'| B-efficient | 72.00 ± 2.00 [{low:.2f}, {high:.2f}] | '
        f'55.00 ± 5.00 [{m_low:.2f}, {m_high:.2f}] | 76.66 | 77.54 |'
    ) in text
    assert '| none | - | 10.00 (zero spread) | - | - |' in text  # equal values: no interval
    assert 'Student-t' in text and 'ttest_rel' in text  # the method, in the report
    assert '**holds**: every test of the claim supports it' in text  # what a verdict means
    # D-efficient - B-efficient, seed by seed: top-1 gains 1.0, 1.2, 0.9
    d_low, d_high = _ci([1.0, 1.2, 0.9])
    assert (
        f'| D-efficient | B-efficient | **{statistics.mean([1.0, 1.2, 0.9]):+.2f} '
        f'[{d_low:+.2f}, {d_high:+.2f}]** * |'
    ) in text
    assert 'unadjusted' in text  # the * of the differences table
    claim_2 = '**Claim 2** (ResNet-50-D beats ResNet-50-B downstream under the same efficient'
    assert claim_2 + ' recipe): **holds**' in text
    # mAP gains 5, 6, 4 and mIoU gains 1.0, 1.2, 0.9 points: a family of two, Holm-adjusted
    p_map = stats.ttest_rel([55.0, 66.0, 59.0], [50.0, 60.0, 55.0]).pvalue
    p_miou = stats.ttest_rel([31.0, 35.2, 32.9], [30.0, 34.0, 32.0]).pvalue
    adjusted = multipletests([p_map, p_miou], method='holm')[1]
    assert f'p = {p_map:.3g}, Holm-adjusted p = {adjusted[0]:.3g}: supports' in text
    assert f'p = {p_miou:.3g}, Holm-adjusted p = {adjusted[1]:.3g}: supports' in text
    assert 'Holm family: the 2 tests with a p-value listed below.' in text
    assert re.search(r'\*\*Claim 1\*\* .*: \*\*not tested\*\*: 2 rung', text)
    for claim in ('3', '4a', '4b', '4c', '4d'):
        assert re.search(rf'\*\*Claim {claim}\*\* .*: \*\*not tested\*\*: rung', text)
    rows = {(r['rung'], r['minus'], r['metric']): r for r in csv.DictReader(open(paths['csv']))}
    miou = rows[('B-efficient', '', 'mIoU')]
    assert (miou['mean'], miou['n']) == ('32.0000', '3')
    assert float(miou['ci_low']) == pytest.approx(_ci([30.0, 34.0, 32.0])[0], abs=1e-4)
    assert rows[('none', '', 'top1')]['n'] == '0'
    assert rows[('B-efficient', '', 'AP50/disc')]['mean'] == '55.0000'  # per-class AP, percent
    assert rows[('D-efficient', '', 'IoU/disc')]['mean'] == '24.0000'
    assert float(rows[('D-efficient', 'B-efficient', 'mAP')]['mean']) == pytest.approx(5.0)
    assert float(rows[('D-efficient', 'B-efficient', 'mAP')]['p']) == pytest.approx(p_map, abs=1e-4)
    for key in ('png', 'transfer'):
        assert Path(paths[key]).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_report_shows_only_the_current_plan(tmp_path, repo):
    """Records of a seed or rung no longer in the ladder, and a record made for another key
    than the plan gives its step (an edited config whose rerun was interrupted), are left out
    of the tables and the Steps table, and counted, never shown as current."""
    from tricks_mm.ladder.report import write_report

    spec = _record_ladder(tmp_path, repo, [0, 1, 2])
    book = _write_records(spec, [0, 1, 2])
    batch = dict(world_size=1, total_batch=4, reference_batch=4, lr=0.02, config_lr=0.02)
    for step_id in ('seed0-d-efficient-detect', 'seed5-d-efficient-detect', 'seed0-old-detect'):
        record = dict(metrics={'voc07/mAP': 0.99}, batch=batch, key='old')
        if step_id == 'seed0-d-efficient-detect':
            record['metrics'] = {'voc07/mAP': 0.55}
        book.write(step_id, record)
    current = dict(book.all()['seed1-b-efficient-detect'], batch=batch)
    book.write('seed1-b-efficient-detect', current)
    # the plan's keys: the records' own (written without one), but D-efficient's seed-0 detect
    # step now plans another key; the stray seed and rung are not in the plan at all
    plan = {s for s in book.all() if not s.startswith(('seed5', 'seed0-old'))}
    current = {step_id: None for step_id in plan} | {'seed0-d-efficient-detect': 'new'}
    text = Path(write_report(spec, book.all(), code={}, current=current)['md']).read_text()
    # D-efficient's mAP from seeds 1 and 2 only: (66 + 59) / 2, n = 2 of 3; its t-interval
    # reaches past 100%, so it is shown clipped to [0, 100] and marked
    low, high = _ci([66.0, 59.0])
    assert high > 100
    assert f'| 62.50 ± 4.95 [{low:.2f}, 100.00]‡ (n=2) |' in text
    assert '‡: the t-interval left [0, 100] and is clipped to it.' in text
    assert '99.00' not in text
    assert (
        'seed5' not in text and 'seed0-old' not in text and 'seed0-d-efficient-detect' not in text
    )
    assert '3 record(s) of steps no longer in the ladder' in text
    assert '| seed1-b-efficient-detect | 1 | 4 (4) | 0.02 (0.02) | current |' in text


def test_a_shared_teacher_is_paired_with_every_seeds_student(tmp_path, repo):
    """One teacher (seed 0) against three students: the differences use its one top-1 for
    every seed; a stray record of the teacher at another seed is not its result."""
    from tricks_mm.ladder.report import teacher_lines

    c = f'{repo}/configs/classification/'
    ladder_file = tmp_path / 'l.py'
    ladder_file.write_text(
        f"ladder = dict(name='t', seeds=[0, 1, 2], "
        f"detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'), "
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'), rungs=["
        f"dict(name='teacher', cls_config='{c}resnet152d_cosine_ls_8xb128_in1k.py', "
        'report=False, transfer=False, shared=True), '
        f"dict(name='student', cls_config='{c}resnet50d_cosine_ls_distill_8xb128_in1k.py', "
        "teacher='teacher')])"
    )
    spec = load_ladder(os.fspath(ladder_file), str(tmp_path / 'wd'))
    records = {
        'seed0-teacher-classify': dict(metrics={'accuracy/top1': 80.0}),
        'seed1-teacher-classify': dict(metrics={'accuracy/top1': 10.0}),  # not the teacher's
        **{
            f'seed{s}-student-classify': dict(metrics={'accuracy/top1': t})
            for s, t in zip((0, 1, 2), (70.0, 71.0, 72.0))
        },
    }
    low, high = _ci([10.0, 9.0, 8.0])
    assert teacher_lines(spec, records) == [
        "- teacher 'teacher' of 'student': top-1 80.00 (one teacher, seed 0, for every seed); "
        f'teacher - student +9.00 [{low:+.2f}, {high:+.2f}] (n=3): beats its student.'
    ]


def test_teacher_line_without_common_seeds_or_with_a_tie_says_so(tmp_path, repo):
    """A teacher (not shared) and its student with no seed in common are not compared; one
    common seed with equal top-1s is a tie, neither "beats" nor "does NOT beat"."""
    from tricks_mm.ladder.report import teacher_lines

    c = f'{repo}/configs/classification/'
    ladder_file = tmp_path / 'l.py'
    ladder_file.write_text(
        f"ladder = dict(name='t', seeds=[0, 1], "
        f"detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'), "
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'), rungs=["
        f"dict(name='teacher', cls_config='{c}resnet152d_cosine_ls_8xb128_in1k.py', "
        'report=False, transfer=False), '
        f"dict(name='student', cls_config='{c}resnet50d_cosine_ls_distill_8xb128_in1k.py', "
        "teacher='teacher')])"
    )
    spec = load_ladder(os.fspath(ladder_file), str(tmp_path / 'wd'))
    teacher = {'seed0-teacher-classify': dict(metrics={'accuracy/top1': 80.0})}
    apart = dict(teacher, **{'seed1-student-classify': dict(metrics={'accuracy/top1': 70.0})})
    assert teacher_lines(spec, apart)[0].endswith(
        'teacher - student no common seeds: not compared (no seed with both top-1s).'
    )
    tie = dict(teacher, **{'seed0-student-classify': dict(metrics={'accuracy/top1': 80.0})})
    assert teacher_lines(spec, tie)[0].endswith(': ties its student (single run).')


def test_single_seed_report_says_no_interval_and_draws_no_error_bars(tmp_path, repo, monkeypatch):
    from matplotlib.axes import Axes

    from tricks_mm.ladder.report import write_report

    bars = []
    original = Axes.errorbar

    def recording(self, *args, **kwargs):
        bars.append((kwargs.get('xerr'), kwargs.get('yerr')))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, 'errorbar', recording)
    spec = _record_ladder(tmp_path, repo, [0])
    paths = write_report(spec, _write_records(spec, [0]).all())
    text = Path(paths['md']).read_text()
    assert 'single run: no interval' in text
    assert '| B-efficient | 70.00 | 50.00 | 76.66 | 77.54 |' in text
    assert re.search(r'\*\*Claim 2\*\* .*: \*\*inconclusive\*\*', text)
    assert 'a single run measures no noise: run at least 2 seeds' in text
    assert all(xerr is None and yerr is None for xerr, yerr in bars)  # points, no zero bars
    bars.clear()
    spec3 = _record_ladder(tmp_path, repo, [0, 1, 2])
    write_report(spec3, _write_records(spec3, [0, 1, 2]).all())
    assert any(yerr is not None for _, yerr in bars)  # with seeds, the intervals are drawn


def test_bad_ladder_files_are_refused_with_the_field_named(tmp_path, repo):
    bad = tmp_path / 'bad.py'
    bad.write_text(
        'ladder = dict(detect=dict('
        f"config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),"
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),"
        "rungs=[dict(name='x', teacher='y')])"
    )
    with pytest.raises(ValueError, match="teacher 'y'"):
        load_ladder(os.fspath(bad))
    bad.write_text(
        'ladder = dict(detect=dict('
        f"config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),"
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),"
        "rungs=[dict(name='y'), dict(name='x', teacher='y')])"
    )
    with pytest.raises(ValueError, match="its teacher 'y' has no classifier"):
        load_ladder(os.fspath(bad))
    bad.write_text("ladder = dict(detect=dict(config='nope.py'), rungs=[dict(name='x')])")
    with pytest.raises(ValueError, match='nope.py'):
        load_ladder(os.fspath(bad))
    bad.write_text(
        'ladder = dict(detect=dict('
        f"config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),"
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),"
        "launch=dict(launcher='mpi'), rungs=[dict(name='x')])"
    )
    with pytest.raises(ValueError, match="'mpi'"):
        load_ladder(os.fspath(bad))


_RUNG_LADDER = (
    "ladder = dict(detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),"
    "segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),"
    "rungs=[dict(name='t', cls_config='{repo}/configs/classification/"
    "resnet50d_cosine_8xb128_in1k.py', cls_options={{'a': 1, 'b': 2}}, transfer=False,"
    ' report=False, shared=True)], {extra})'
)


def test_rung_options_change_a_composed_rung_by_name(tmp_path, repo):
    path = tmp_path / 'ladder.py'
    path.write_text(
        _RUNG_LADDER.format(repo=repo, extra="rung_options={'t': dict(cls_options={'b': 3})}")
    )
    (rung,) = load_ladder(os.fspath(path)).rungs
    assert rung.cls_options == {'a': 1, 'b': 3} and rung.shared  # merged key by key


@pytest.mark.parametrize(
    'extra, match',
    [
        ("rung_options={'x': dict(report=True)}", r"rung_options names \['x'\], which are not"),
        ("rung_options={'t': dict(depth=34)}", r"rung 't' has unknown keys \['depth'\]"),
        ("rung_options={'t': dict(name='u')}", "cannot rename rung 't'"),
        ("rung_options={'t': dict(transfer=True)}", 'shared=True is for teachers'),
        ('jobs=0', 'ladder.jobs must be an int >= 1, got 0'),
        ('warm_start=True', r"unknown ladder keys \['warm_start'\]"),  # removed (issue 24)
    ],
)
def test_bad_rung_options_jobs_and_unknown_keys_are_refused(tmp_path, repo, extra, match):
    path = tmp_path / 'ladder.py'
    path.write_text(_RUNG_LADDER.format(repo=repo, extra=extra))
    with pytest.raises(ValueError, match=match):
        load_ladder(os.fspath(path))


@pytest.mark.parametrize('pretrained', ['work_dirs/x/backbone.pth', None])
def test_downstream_config_binds_backbone_and_c4_head(repo, pretrained):
    """A C4 detector's stage-4 RoI head gets the rung's architecture and checkpoint too; the
    control unfreezes everything a random init would otherwise be stuck with."""
    task = TaskSpec(config=str(repo / 'configs/detection/faster-rcnn_botr50-d-c4_1x_voc0712.py'))
    cfg = downstream_config(
        task, seed=3, backbone=dict(depth=101, variant='c'), pretrained=pretrained
    )
    backbone, head = cfg.model.backbone, cfg.model.roi_head.shared_head
    assert (backbone.depth, backbone.variant, head.depth, head.variant) == (101, 'c', 101, 'c')
    assert cfg.randomness.seed == 3
    # evaluated once, by the step's test process, not again at the end of training
    assert cfg.val_cfg is None and cfg.val_dataloader is None and cfg.val_evaluator is None
    # TensorBoard event files next to the host's own backend
    assert [b.type for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend',
        'TensorboardVisBackend',
    ]
    assert cfg.test_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
    if pretrained is None:
        assert backbone.init_cfg is None and head.init_cfg is None
        assert backbone.frozen_stages == -1
        assert not backbone.norm_eval and not head.norm_eval
        assert backbone.norm_cfg.requires_grad and head.norm_cfg.requires_grad
    else:
        assert backbone.init_cfg == dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.', exclude=['layer4.']
        )
        assert head.init_cfg == dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.layer4.'
        )
        assert backbone.frozen_stages == 1 and backbone.norm_eval and head.norm_eval
        assert backbone.norm_cfg.requires_grad is False


@pytest.mark.slow
def test_killed_ladder_resumes_the_step_without_redoing_finished_ones(
    in_workspace, repo, tmp_path, monkeypatch, capsys
):
    """kill -9 the ladder (and its training process) in the middle of the classification step,
    after its first epoch's checkpoint: the rerun skips the finished control steps and resumes
    the classifier from that checkpoint instead of starting it again."""
    marker = tmp_path / 'paused'
    hook = (
        f"'custom_imports': dict(imports=['_pause_hook'], allow_failed_imports=False), "
        f"'custom_hooks': [dict(type='PauseAfterFirstEpochHook', marker='{marker}')], "
    )
    text = _TINY_LADDER.format(repo=repo, scale=2 / 120).replace("name='tiny'", "name='killed'")
    text = text.replace(
        "'train_dataloader.batch_size': 8, ", "'train_dataloader.batch_size': 8, " + hook, 1
    )
    ladder_file = in_workspace / 'killed.py'
    ladder_file.write_text(text)
    monkeypatch.setenv(
        'PYTHONPATH',
        os.pathsep.join([str(Path(__file__).parent), os.environ.get('PYTHONPATH', '')]),
    )
    monkeypatch.setenv('PYTHONWARNINGS', 'ignore')

    with open(tmp_path / 'first.out', 'w') as out:
        first = subprocess.Popen(
            [sys.executable, '-m', 'tricks_mm.cli.ladder', str(ladder_file)],
            cwd=in_workspace,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 600
        while not marker.exists():
            assert first.poll() is None, (tmp_path / 'first.out').read_text()[-3000:]
            assert time.time() < deadline, 'the classification step never reached epoch 1'
            time.sleep(0.2)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the ladder and the training process under it
        first.wait()

    work = Path('work_dirs/killed')
    step_dir = work / 'seed0' / 'd-cosine' / 'classify'
    finished = ['seed0-no-pretraining-detect', 'seed0-no-pretraining-segment']
    assert sorted(RecordBook(str(work)).all()) == finished  # the classifier was not recorded
    assert (step_dir / 'epoch_1.pth').is_file() and not (step_dir / 'epoch_2.pth').exists()
    before = {k: (work / 'records' / f'{k}.json').stat().st_mtime_ns for k in finished}
    control_logs = {p: p.stat().st_size for p in (work / 'seed0' / 'no-pretraining').rglob('*.log')}

    ladder_main([str(ladder_file)])
    out = capsys.readouterr().out
    assert out.count('done before, skipped') == 2
    assert {k: (work / 'records' / f'{k}.json').stat().st_mtime_ns for k in finished} == before
    assert {p: p.stat().st_size for p in control_logs} == control_logs  # nothing reran there
    records = RecordBook(str(work)).all()
    assert len(records) == 6
    assert records['seed0-d-cosine-classify']['outputs']['checkpoint'].endswith('epoch_2.pth')
    log = (step_dir / 'run.log').read_text()
    resumed = log[log.index('resumed epoch: 1') :]  # mmengine's resume message, then epoch 2 only
    assert re.search(r'Epoch\(train\)\s+\[2\]', resumed)
    assert not re.search(r'Epoch\(train\)\s+\[1\]', resumed)


def test_toy_section6_has_every_rung_three_seeds_and_stronger_teachers(repo, monkeypatch):
    """The full toy ladder: the control and every Table 8/9 rung, seeds 0-2; each distillation
    teacher is deeper and trains longer than its student (the materialized configs)."""
    from tricks_mm.ladder.materialize import classification_config

    monkeypatch.chdir(repo)  # the ladder file names repo-relative configs
    spec = load_ladder('configs/ladders/toy_section6.py')
    assert spec.name == 'toy_section6' and spec.seeds == [0, 1, 2]
    reported = [r.name for r in spec.rungs if r.report]
    assert reported == [
        'no pretraining',
        'B-standard',
        'B-efficient',
        'D-efficient',
        '+ cosine',
        '+ label smoothing',
        '+ distillation',
        '+ mixup',
        '+ mixup + distillation',
    ]
    assert spec.detect.config.endswith('faster-rcnn_botr18-d-fpn_toy-voc.py')
    assert spec.segment.config.endswith('fcn_botr18-d-d8_toy-ade.py')
    rungs = {r.name: r for r in spec.rungs}
    b_standard = classification_config(rungs['B-standard'], spec.classify, 0)
    assert b_standard.model.backbone.variant == 'b'
    assert [s.type for s in b_standard.param_scheduler] == ['MultiStepLR']  # standard recipe
    for student in ('+ distillation', '+ mixup + distillation'):
        teacher = rungs[rungs[student].teacher]
        assert not teacher.report and not teacher.transfer
        t_cfg = classification_config(teacher, spec.classify, 0)
        s_cfg = classification_config(
            rungs[student], spec.classify, 0, teacher=dict(config='t.py', checkpoint='t.pth')
        )
        assert t_cfg.model.backbone.depth == 34 > s_cfg.model.backbone.depth == 18
        assert t_cfg.train_cfg.max_epochs == 36 > s_cfg.train_cfg.max_epochs
        cosine = t_cfg.param_scheduler[1]
        assert cosine.type == 'CosineAnnealingLR' and cosine.end == 36
        assert cosine.begin + cosine.T_max == pytest.approx(36)  # decays to 0 at the end


# toy_section6 at tiny size: 2 rungs, 2 seeds, 1 classification epoch, 1 detection epoch,
# 4 segmentation iterations; the logger writes every iteration so each step logs a loss.
_TINY_SECTION6 = """
_options = {{'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
            'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
            'default_hooks.logger.interval': 1}}
ladder = dict(
    name='tiny6',
    seeds=[0, 1],
    classify=dict(overlays=['{repo}/configs/toy/classification.py'], epoch_scale=1 / 120,
                  auto_scale_lr=True,  # batch 8, not the toy reference 64
                  cfg_options=dict(_options, **{{'train_dataloader.batch_size': 8}})),
    detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py',
                cfg_options=dict(_options, **{{'train_cfg.max_epochs': 1}})),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py',
                 cfg_options=dict(_options, **{{'train_cfg.max_iters': 4,
                                               'param_scheduler.0.end': 4}})),
    rungs=[
        dict(name='B-standard', cls_config='{c}resnet50_baseline_8xb32_in1k.py',
             cls_options={{'model.backbone.variant': 'b'}}, paper=dict(top1=76.14, mAP=77.54)),
        dict(name='D-efficient', cls_config='{c}resnet50d_efficient_8xb128_in1k.py',
             paper=dict(top1=77.16, mAP=78.30, pixAcc=78.88, mIoU=38.88)),
    ])
"""


@pytest.mark.slow
def test_tiny_section6_reports_intervals_verdicts_figures_and_tensorboard(
    in_workspace, repo, capsys
):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ladder_file = in_workspace / 'tiny6.py'
    ladder_file.write_text(_TINY_SECTION6.format(repo=repo, c=f'{repo}/configs/classification/'))
    paths = ladder_main([str(ladder_file)])
    out = capsys.readouterr().out
    assert 'step 16/16: segment' in out
    assert re.search(r'classify: epoch 1/1, iter \d+/\d+, \d+%, loss [\d.]+', out)  # in-step
    text = Path(paths['md']).read_text()
    # two seeds: mean ± std [interval] (‡: clipped to [0, 100]), or no interval for equal values
    cell = r'[\d.]+ (± [\d.]+ \[[\d.-]+, [\d.-]+\]‡?|\(zero spread\))'
    for rung in ('B-standard', 'D-efficient'):
        assert re.search(rf'\| {rung} \| {cell} \|', text), text
    assert re.search(r'\| D-efficient \| B-standard \| [+-][\d.]+ (\[|\(zero spread\))', text)
    # two rungs, no keys: no claim can be tested (claim 1 ranks 3 rungs or more)
    for number in ('1', '2', '3', '4a', '4b', '4c', '4d'):
        assert re.search(rf'\*\*Claim {number}\*\* .*: \*\*not tested\*\*', text)
    rows = list(csv.DictReader(open(paths['csv'])))
    assert {r['metric'] for r in rows if r['rung'] == 'D-efficient'} >= {
        'top1',
        'mAP',
        'mIoU',
        'AP50/disc',
        'IoU/disc',
    }
    for key in ('png', 'transfer'):
        assert Path(paths[key]).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # every training step wrote TensorBoard events holding the loss
    records = RecordBook('work_dirs/tiny6').all()
    trained = [k for k in records if not k.endswith('-convert')]
    assert len(trained) == 12
    for step_id in trained:
        step_dir = Path(records[step_id]['outputs']['config']).parent
        events = sorted(step_dir.glob('*/vis_data/events.out.tfevents.*'))
        assert events, step_id
        scalars = set()
        for event_file in events:
            acc = EventAccumulator(str(event_file))
            acc.Reload()
            scalars |= set(acc.Tags()['scalars'])
        assert 'loss' in scalars, (step_id, scalars)
