"""The ladder's report, shaped like the paper's Tables 8 and 9: Markdown, CSV and two PNG figures.

Per rung and metric: mean, std, n and a 95% t-interval over seeds; paired same-seed differences
against B-standard and against the rung before; per-class AP / IoU in the CSV; a verdict per
claim of Section 6 (:mod:`tricks_mm.ladder.claims`). The statistics are in
:mod:`tricks_mm.ladder.stats`.
"""

import csv
import io
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.ladder import claims
from tricks_mm.ladder.code_version import code_identity, code_version
from tricks_mm.ladder.spec import METRIC_KEYS, LadderSpec
from tricks_mm.ladder.stats import METHOD, Summary, paired, spearman, summarize
from tricks_mm.ladder.step import Step

# (column, task, metric key in the host's output, factor to percent)
COLUMNS = [
    ('top1', 'classify', METRIC_KEYS['classify']['top1'], 1.0),
    ('mAP', 'detect', METRIC_KEYS['detect']['mAP'], 100.0),
    ('pixAcc', 'segment', METRIC_KEYS['segment']['pixAcc'], 1.0),
    ('mIoU', 'segment', METRIC_KEYS['segment']['mIoU'], 1.0),
]
METRICS = [c for c, *_ in COLUMNS]
# per-class results of tricks_mm.evaluation's metrics: (task, key pattern, column prefix, factor)
PER_CLASS = [
    ('detect', re.compile(r'^voc07/AP50/(.+)$'), 'AP50', 100.0),
    ('segment', re.compile(r'^IoU/(.+)$'), 'IoU', 1.0),
]
TABLES = [
    ('Table 8: Faster R-CNN on VOC', ['top1', 'mAP']),
    ('Table 9: FCN on ADE20K', ['top1', 'pixAcc', 'mIoU']),
]
TITLES = {
    'top1': 'classification top-1',
    'mAP': 'detection mAP@0.5',
    'pixAcc': 'segmentation pixAcc',
    'mIoU': 'segmentation mIoU',
}
NO_INTERVAL = 'single run: no interval'
APPROX, STALE = '≈', '†'

#: one reported rung: name, paper numbers, and per column {seed: value in percent}
Row = Dict[str, object]


def is_stale(record: Dict[str, Any], code: Optional[Dict[str, Any]]) -> bool:
    """A record made by code other than ``code`` (kept by ``--reuse-stale``)."""
    return bool(code) and 'code' in record and code_identity(record['code']) != code_identity(code)


def collect(
    spec: LadderSpec, records: Dict[str, dict], code: Optional[Dict[str, Any]] = None
) -> List[Row]:
    """One row per reported rung: per metric (and per-class column), ``{seed: value}``; the
    metrics some of whose values come from records of other code than ``code`` (``stale``); and
    whether its top-1 is a published number rather than one measured here."""
    rows = []
    for rung in spec.rungs:
        if not rung.report:
            continue
        values: Dict[str, Dict[int, float]] = {}
        stale: List[str] = []
        for seed in spec.seeds:
            for column, task, key, factor in COLUMNS:
                metrics = (records.get(Step(seed, rung, task).step_id) or {}).get('metrics', {})
                if key in metrics:
                    values.setdefault(column, {})[seed] = float(metrics[key]) * factor
                    if (
                        is_stale(records[Step(seed, rung, task).step_id], code)
                        and column not in stale
                    ):
                        stale.append(column)
            for task, pattern, prefix, factor in PER_CLASS:
                metrics = (records.get(Step(seed, rung, task).step_id) or {}).get('metrics', {})
                for key, value in metrics.items():
                    match = pattern.match(key)
                    if match:
                        values.setdefault(f'{prefix}/{match.group(1)}', {})[seed] = (
                            float(value) * factor
                        )
        published = any(
            (records.get(Step(seed, rung, 'classify').step_id) or {}).get('top1_kind')
            == 'published'
            for seed in spec.seeds
        )
        rows.append(
            dict(
                rung=rung.name,
                paper=dict(rung.paper),
                paper_approx=list(rung.paper_approx),
                values=values,
                stale=stale,
                published=published,
            )
        )
    return rows


def _values(row: Row, column: str) -> Dict[int, float]:
    return row['values'].get(column, {})  # type: ignore[union-attr]


def _cell(summary: Summary, seeds: int) -> str:
    if summary.n == 0:
        return '-'
    text = f'{summary.mean:.2f}'
    if summary.has_interval:
        text += f' ± {summary.std:.2f} [{summary.low:.2f}, {summary.high:.2f}]'
    if summary.n != seeds:
        text += f' (n={summary.n})'
    return text


def _diff_cell(d: Summary) -> str:
    if d.n == 0:
        return '-'
    if not d.has_interval:
        return f'{d.mean:+.2f}'
    text = f'{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]'
    return f'**{text}** *' if d.excludes_zero else text


def _paper(value: Optional[float], approximate: bool = False) -> str:
    return '-' if value is None else f'{APPROX if approximate else ""}{value:.2f}'


def _ours(row: Row, column: str, seeds: int) -> str:
    """Our cell: the summary, ``(published)`` for a checkpoint rung's top-1, ``†`` if stale."""
    summary = summarize(list(_values(row, column).values()))
    text = _cell(summary, seeds)
    if column == 'top1' and row['published'] and summary.n:
        text += ' (published)'
    return text + (f' {STALE}' if column in row['stale'] else '')  # type: ignore[operator]


def _steps_table(
    spec: LadderSpec, records: Dict[str, dict], code: Optional[Dict[str, Any]]
) -> List[str]:
    """Every recorded train step's processes, total batch and LR (and staleness)."""
    lines = [
        '## Steps: launch, total batch, LR',
        '',
        '| step | processes | total batch (config reference) | LR (config) | code |',
        '|---|---|---|---|---|',
    ]
    for step_id, record in sorted(records.items()):
        batch = record.get('batch')
        if not batch:
            continue
        scaled = ' (linearly scaled)' if batch.get('lr_scaled') else ''
        lines.append(
            f'| {step_id} | {batch["world_size"]} | {batch["total_batch"]} '
            f'({batch["reference_batch"]}) | {batch["lr"]:.6g}{scaled} ({batch["config_lr"]:.6g})'
            f' | {STALE + " stale" if is_stale(record, code) else "current"} |'
        )
    return lines + [''] if len(lines) > 4 else []


def differences(rows: List[Row]) -> List[Tuple[str, str, str, Summary]]:
    """``(rung, reference, metric, paired difference)`` for each rung after B-standard against
    it, and for each rung against the rung before it (in the ladder's order), where both have
    the metric."""
    by_name = {str(r['rung']): r for r in rows}
    names = list(by_name)
    out = []
    for i, row in enumerate(rows):
        references = []
        if claims.B_STANDARD in by_name and i > names.index(claims.B_STANDARD):
            references.append(claims.B_STANDARD)
        if i > 0 and rows[i - 1]['rung'] not in references:
            references.append(str(rows[i - 1]['rung']))
        for reference in references:
            for metric in METRICS:
                d = paired(_values(row, metric), _values(by_name[reference], metric))
                if d.n:
                    out.append((str(row['rung']), reference, metric, d))
    return out


def verdicts(rows: List[Row]) -> List[claims.Verdict]:
    return claims.verdicts({str(r['rung']): {m: _values(r, m) for m in METRICS} for r in rows})


def teacher_lines(spec: LadderSpec, records: Dict[str, dict]) -> List[str]:
    """For each distillation rung: its teacher's top-1 against the student's, paired by seed
    (distillation from a teacher that is not better than its student means nothing). A shared
    teacher (trained once, with the first seed) is paired with every seed's student."""
    key = METRIC_KEYS['classify']['top1']
    by_name = {r.name: r for r in spec.rungs}

    def top1_by_seed(name: str, seeds: List[int]) -> Dict[int, float]:
        out = {}
        for seed in seeds:
            record = records.get(Step(seed, by_name[name], 'classify').step_id) or {}
            if key in record.get('metrics', {}):
                out[seed] = float(record['metrics'][key])
        return out

    lines = []
    for rung in spec.rungs:
        if rung.teacher is None:
            continue
        shared = by_name[rung.teacher].shared

        student = top1_by_seed(rung.name, spec.seeds)
        teacher_runs = top1_by_seed(rung.teacher, spec.seeds[:1] if shared else spec.seeds)
        if not teacher_runs or not student:
            continue
        teacher = summarize(list(teacher_runs.values()))
        note = ''
        if shared:
            top1 = {rung.teacher: {s: teacher_runs[spec.seeds[0]] for s in student}}
            note = f' (one teacher, seed {spec.seeds[0]}, for every seed)'
        else:
            top1 = {rung.teacher: teacher_runs}
        top1[rung.name] = student
        d = paired(top1[rung.teacher], top1[rung.name])
        if d.above_zero:
            verdict = 'beats its student'
        elif d.has_interval:
            verdict = (
                'does NOT beat its student'
                if d.below_zero
                else 'is not clearly better than its student'
            )
        else:
            verdict = (
                'beats its student (single run: no interval)'
                if d.n and d.mean > 0
                else 'does NOT beat its student (single run)'
            )
        lines.append(
            f'- teacher {rung.teacher!r} of {rung.name!r}: top-1 '
            f'{_cell(teacher, 1 if shared else len(spec.seeds))}{note}; teacher - student '
            f'{claims.fmt_diff(d)}: {verdict}.'
        )
    return lines


def markdown(
    spec: LadderSpec,
    rows: List[Row],
    note: str = '',
    teachers: Sequence[str] = (),
    records: Optional[Dict[str, dict]] = None,
    code: Optional[Dict[str, Any]] = None,
) -> str:
    """Tables 8 and 9 with ours beside the paper's numbers, paired differences, teachers,
    verdicts, then each step's launch size, total batch and LR."""
    seeds = len(spec.seeds)
    lines = [f'# Ladder `{spec.name}`', '']
    if note:
        lines += [note, '']
    cells = 'mean ± std [95% CI] over seeds' if seeds > 1 else f'one value each ({NO_INTERVAL})'
    lines += [
        f'Seeds: {spec.seeds} (n = {seeds}); cells: {cells}. "-": not run / not '
        'applicable; paper numbers from He et al. 2019.',
        '',
    ]
    lines += [f'Method. {METHOD[0]}', f'{METHOD[1]}', '']
    if any(row['paper_approx'] for row in rows):
        lines += [
            f'{APPROX}: approximate paper number (recalled, not checked against the paper).',
            '',
        ]
    if any(row['stale'] for row in rows):
        lines += [
            f'{STALE}: computed by other code than the current (kept with --reuse-stale; '
            'rerun without it to refresh).',
            '',
        ]
    for title, columns in TABLES:
        header = ['rung'] + [f'{c} (ours)' for c in columns] + [f'{c} (paper)' for c in columns]
        lines += [f'## {title}', '', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
        for row in rows:
            ours = [_ours(row, c, seeds) for c in columns]
            paper = [
                _paper(row['paper'].get(c), c in row['paper_approx'])  # type: ignore
                for c in columns
            ]
            lines.append('| ' + ' | '.join([str(row['rung'])] + ours + paper) + ' |')
        lines.append('')
    diffs = differences(rows)
    if diffs:
        lines += [
            '## Paired differences (same seed)',
            '',
            (
                'Percentage points, rung minus reference'
                + (
                    '; * and bold: the 95% interval excludes 0.'
                    if seeds > 1
                    else f' ({NO_INTERVAL}).'
                )
            ),
            '',
            '| rung | minus | ' + ' | '.join(METRICS) + ' |',
            '|' + '---|' * (2 + len(METRICS)),
        ]
        pairs = list(dict.fromkeys((rung, ref) for rung, ref, _, _ in diffs))
        table = {(rung, ref, m): d for rung, ref, m, d in diffs}
        for rung, ref in pairs:
            cells_ = [
                _diff_cell(table[(rung, ref, m)]) if (rung, ref, m) in table else '-'
                for m in METRICS
            ]
            lines.append(f'| {rung} | {ref} | ' + ' | '.join(cells_) + ' |')
        lines.append('')
    if teachers:
        lines += ['## Distillation teachers', ''] + list(teachers) + ['']
    lines += ['## Claims of Section 6', '']
    lines += [v.line() for v in verdicts(rows)]
    lines.append('')
    lines += _steps_table(spec, records or {}, code)
    return '\n'.join(lines)


def _fmt(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.4f}'


def csv_text(rows: List[Row]) -> str:
    """Long format: one line per rung and metric (per-class AP/IoU included), then one line per
    paired difference (``minus`` names the reference rung); ``paper_approx`` marks a recalled
    paper number, ``stale`` a value from a record of other code (``--reuse-stale``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            'rung',
            'minus',
            'metric',
            'mean',
            'std',
            'n',
            'ci_low',
            'ci_high',
            'paper',
            'paper_approx',
            'stale',
        ]
    )
    for row in rows:
        per_class = sorted(k for k in row['values'] if k not in METRICS)  # type: ignore
        for column in METRICS + per_class:
            s = summarize(list(_values(row, column).values()))
            paper = row['paper'].get(column)  # type: ignore[union-attr]
            writer.writerow(
                [
                    row['rung'],
                    '',
                    column,
                    _fmt(s.mean),
                    _fmt(s.std),
                    s.n,
                    _fmt(s.low),
                    _fmt(s.high),
                    '' if paper is None else paper,
                    int(column in row['paper_approx']),  # type: ignore[operator]
                    int(column in row['stale']),
                ]
            )  # type: ignore[operator]
    for rung, ref, metric, d in differences(rows):
        writer.writerow(
            [
                rung,
                ref,
                metric,
                _fmt(d.mean),
                _fmt(d.std),
                d.n,
                _fmt(d.low),
                _fmt(d.high),
                '',
                '',
                '',
            ]
        )
    return out.getvalue()


def _save(fig, path: str) -> None:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=110)
    plt.close(fig)
    atomic_write_bytes(buffer.getvalue(), path)


def _pyplot():
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def _error(s: Summary) -> Optional[List[List[float]]]:
    """Asymmetric error bar from the interval; ``None`` for a single run (no zero-width bar)."""
    if not s.has_interval:
        return None
    return [[s.mean - s.low], [s.high - s.mean]]


def plot(rows: List[Row], path: str, title: str) -> None:
    """Bars per rung, one panel per metric; error bars = 95% t-interval, none for one seed."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.8))
    names = [str(r['rung']) for r in rows]
    any_single = False
    for ax, column in zip(axes, METRICS):
        summaries = [summarize(list(_values(r, column).values())) for r in rows]
        for i, s in enumerate(summaries):
            if s.n == 0:
                continue
            err = _error(s)
            any_single |= err is None
            ax.bar(i, s.mean, color='tab:blue')
            if err is not None:
                ax.errorbar(i, s.mean, yerr=err, color='black', capsize=3)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, rotation=35, ha='right', fontsize=8)
        ax.set_title(TITLES[column])
        ax.set_ylabel('%')
        bounds = [
            v
            for s in summaries
            if s.n
            for v in (s.low if s.has_interval else s.mean, s.high if s.has_interval else s.mean)
        ]
        if bounds:
            low, high = min(bounds), max(bounds)
            ax.set_ylim(max(0.0, low - (high - low) - 5), min(100.0, high + (high - low) + 5))
    fig.suptitle(
        title
        + (f' ({NO_INTERVAL} where n = 1)' if any_single else ' (bars: 95% t-interval over seeds)')
    )
    fig.tight_layout()
    _save(fig, path)


def _rho_text(x: Sequence[float], y: Sequence[float]) -> str:
    rho, p = spearman(x, y)
    if rho is None:
        return f'Spearman rho undefined (n={len(x)})'
    return f'Spearman rho = {rho:+.2f} (n={len(x)}' + ('' if p is None else f', p={p:.2f}') + ')'


def plot_transfer(rows: List[Row], path: str, title: str) -> None:
    """ImageNet top-1 (x) against VOC mAP and against mIoU (y): one point per rung with its
    95% intervals, ours on the left and the paper's numbers on the right, Spearman rho on each
    panel."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    for r, metric in enumerate(('mAP', 'mIoU')):
        ours_ax, paper_ax = axes[r]
        xs, ys = [], []
        for row in rows:
            x = summarize(list(_values(row, 'top1').values()))
            y = summarize(list(_values(row, metric).values()))
            if x.n == 0 or y.n == 0:
                continue
            xs.append(x.mean)
            ys.append(y.mean)
            ours_ax.errorbar(
                x.mean, y.mean, xerr=_error(x), yerr=_error(y), fmt='o', capsize=3, color='tab:blue'
            )
            ours_ax.annotate(
                str(row['rung']),
                (x.mean, y.mean),
                fontsize=7,
                xytext=(4, 4),
                textcoords='offset points',
            )
        ours_ax.set_title(f'ours: {metric} vs top-1\n{_rho_text(xs, ys)}', fontsize=9)
        px, py = [], []
        for row in rows:
            paper = row['paper']
            if 'top1' in paper and metric in paper:  # type: ignore[operator]
                px.append(paper['top1'])  # type: ignore[index]
                py.append(paper[metric])  # type: ignore[index]
                paper_ax.plot(px[-1], py[-1], 'o', color='tab:orange')
                paper_ax.annotate(
                    str(row['rung']),
                    (px[-1], py[-1]),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords='offset points',
                )
        paper_ax.set_title(
            f'paper (He et al. 2019): {metric} vs top-1\n{_rho_text(px, py)}', fontsize=9
        )
        for ax, points in ((ours_ax, xs), (paper_ax, px)):
            if not points:
                ax.text(
                    0.5,
                    0.5,
                    'no rung has both numbers',
                    transform=ax.transAxes,
                    ha='center',
                    va='center',
                    fontsize=9,
                )
            ax.set_xlabel('ImageNet top-1 (%)' if ax is paper_ax else 'top-1 (%)')
            ax.set_ylabel(f'{metric} (%)')
            ax.grid(alpha=0.3)
    fig.suptitle(title + ' (bars: 95% t-interval; none for a single run)')
    fig.tight_layout()
    _save(fig, path)


def write_report(
    spec: LadderSpec,
    records: Dict[str, dict],
    note: str = '',
    code: Optional[Dict[str, Any]] = None,
) -> Dict[str, str]:
    """Write ``report.md``, ``report.csv``, ``report.png`` (bars) and ``report_transfer.png``
    (top-1 against mAP / mIoU) into the ladder's work dir.

    ``code``: the code version records are compared with (default: the running code's).
    """
    code = code if code is not None else code_version()
    rows = collect(spec, records, code)
    os.makedirs(spec.work_dir, exist_ok=True)
    paths = {ext: osp.join(spec.work_dir, f'report.{ext}') for ext in ('md', 'csv', 'png')}
    paths['transfer'] = osp.join(spec.work_dir, 'report_transfer.png')
    atomic_write_bytes(
        markdown(spec, rows, note, teacher_lines(spec, records), records, code).encode(),
        paths['md'],
    )
    atomic_write_bytes(csv_text(rows).encode(), paths['csv'])
    title = f'ladder {spec.name}' + (' (toy scale, synthetic data)' if note else '')
    plot(rows, paths['png'], title)
    plot_transfer(rows, paths['transfer'], title)
    return paths
