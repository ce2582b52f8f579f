"""The ladder's report, shaped like the paper's Tables 8 and 9: Markdown, CSV and a PNG plot."""
import csv
import io
import os
import os.path as osp
import statistics
from typing import Any, Dict, List, Optional, Sequence

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.ladder.code_version import code_identity, code_version
from tricks_mm.ladder.spec import METRIC_KEYS, LadderSpec
from tricks_mm.ladder.step import Step

# (column, task, metric key in the host's output, factor to percent)
COLUMNS = [
    ('top1', 'classify', METRIC_KEYS['classify']['top1'], 1.0),
    ('mAP', 'detect', METRIC_KEYS['detect']['mAP'], 100.0),
    ('pixAcc', 'segment', METRIC_KEYS['segment']['pixAcc'], 1.0),
    ('mIoU', 'segment', METRIC_KEYS['segment']['mIoU'], 1.0),
]
TABLES = [('Table 8: Faster R-CNN on VOC', ['top1', 'mAP']),
          ('Table 9: FCN on ADE20K', ['top1', 'pixAcc', 'mIoU'])]
APPROX, STALE = '≈', '†'


def is_stale(record: Dict[str, Any], code: Optional[Dict[str, Any]]) -> bool:
    """A record made by code other than ``code`` (kept by ``--reuse-stale``)."""
    return bool(code) and 'code' in record and code_identity(record['code']) != code_identity(
        code)


def collect(spec: LadderSpec, records: Dict[str, dict],
            code: Optional[Dict[str, Any]] = None) -> List[Dict[str, object]]:
    """One row per reported rung: per metric, the list of values over the finished seeds, and
    the metrics some of whose values come from records of other code than ``code``."""
    rows = []
    for rung in spec.rungs:
        if not rung.report:
            continue
        row: Dict[str, object] = dict(rung=rung.name, paper=dict(rung.paper),
                                      paper_approx=list(rung.paper_approx), stale=[])
        for column, task, key, factor in COLUMNS:
            values = []
            for seed in spec.seeds:
                record = records.get(Step(seed, rung, task).step_id)
                if record and key in record.get('metrics', {}):
                    values.append(float(record['metrics'][key]) * factor)
                    if is_stale(record, code):
                        row['stale'].append(column)  # type: ignore[union-attr]
            row[column] = values
        # a checkpoint rung's top-1 is the published number, not one measured here
        row['published'] = any(records.get(Step(seed, rung, 'classify').step_id, {}).get(
            'top1_kind') == 'published' for seed in spec.seeds)
        rows.append(row)
    return rows


def _fmt(values: Sequence[float]) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def _paper(value: Optional[float], approximate: bool = False) -> str:
    return '-' if value is None else f'{APPROX if approximate else ""}{value:.2f}'


def _steps_table(spec: LadderSpec, records: Dict[str, dict],
                 code: Optional[Dict[str, Any]]) -> List[str]:
    """Every recorded train step's processes, total batch and LR (and staleness)."""
    lines = ['## Steps: launch, total batch, LR', '',
             '| step | processes | total batch (config reference) | LR (config) | code |',
             '|---|---|---|---|---|']
    for step_id, record in sorted(records.items()):
        batch = record.get('batch')
        if not batch:
            continue
        scaled = ' (linearly scaled)' if batch.get('lr_scaled') else ''
        lines.append(
            f"| {step_id} | {batch['world_size']} | {batch['total_batch']} "
            f"({batch['reference_batch']}) | {batch['lr']:.6g}{scaled} ({batch['config_lr']:.6g})"
            f" | {STALE + ' stale' if is_stale(record, code) else 'current'} |")
    return lines + [''] if len(lines) > 4 else []


def markdown(spec: LadderSpec, rows: List[Dict[str, object]], note: str = '',
             records: Optional[Dict[str, dict]] = None,
             code: Optional[Dict[str, Any]] = None) -> str:
    """Tables 8 and 9 with ours beside the paper's numbers (mean ± std over seeds), then each
    step's launch size, total batch and LR."""
    seeds = len(spec.seeds)
    lines = [f'# Ladder `{spec.name}`', '']
    if note:
        lines += [note, '']
    lines += [f'Seeds: {seeds} ({"mean ± std" if seeds > 1 else "single run"}). '
              '"-": not run / not applicable; paper numbers from He et al. 2019.', '']
    if any(row['paper_approx'] for row in rows):
        lines += [f'{APPROX}: approximate paper number (recalled, not checked against the '
                  'paper).', '']
    if any(row['stale'] for row in rows):
        lines += [f'{STALE}: computed by other code than the current (kept with --reuse-stale; '
                  'rerun without it to refresh).', '']
    for title, columns in TABLES:
        header = ['rung'] + [f'{c} (ours)' for c in columns] + [f'{c} (paper)' for c in columns]
        lines += [f'## {title}', '', '| ' + ' | '.join(header) + ' |',
                  '|' + '---|' * len(header)]
        for row in rows:
            ours = [_fmt(row[c]) + (' (published)' if c == 'top1' and row['published']
                                    and row[c] else '')
                    + (f' {STALE}' if c in row['stale'] else '')  # type: ignore
                    for c in columns]
            paper = [_paper(row['paper'].get(c), c in row['paper_approx'])  # type: ignore
                     for c in columns]
            lines.append('| ' + ' | '.join([str(row['rung'])] + ours + paper) + ' |')
        lines.append('')
    lines += _steps_table(spec, records or {}, code)
    return '\n'.join(lines)


def csv_text(rows: List[Dict[str, object]]) -> str:
    """One line per rung and metric: mean, std, n, paper value (and whether it is approximate),
    whether a value comes from a stale record."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['rung', 'metric', 'mean', 'std', 'n', 'paper', 'paper_approx', 'stale'])
    for row in rows:
        for column, *_ in COLUMNS:
            values = row[column]
            mean = f'{statistics.mean(values):.4f}' if values else ''
            std = f'{statistics.stdev(values):.4f}' if len(values) > 1 else ''
            paper = row['paper'].get(column)  # type: ignore[union-attr]
            writer.writerow([row['rung'], column, mean, std, len(values),
                             '' if paper is None else paper,
                             int(column in row['paper_approx']),  # type: ignore[operator]
                             int(column in row['stale'])])  # type: ignore[operator]
    return out.getvalue()


def plot(rows: List[Dict[str, object]], path: str, title: str) -> None:
    """Bars per rung, one panel per metric (error bars = std over seeds)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    columns = [c for c, *_ in COLUMNS]
    fig, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3.8))
    names = [str(r['rung']) for r in rows]
    for ax, column in zip(axes, columns):
        means = [statistics.mean(r[column]) if r[column] else 0.0 for r in rows]
        stds = [statistics.stdev(r[column]) if len(r[column]) > 1 else 0.0 for r in rows]
        ax.bar(range(len(rows)), means, yerr=stds, color='tab:blue', capsize=3)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, rotation=35, ha='right', fontsize=8)
        ax.set_title({'top1': 'classification top-1', 'mAP': 'detection mAP@0.5',
                      'pixAcc': 'segmentation pixAcc', 'mIoU': 'segmentation mIoU'}[column])
        ax.set_ylabel('%')
        filled = [m for m, r in zip(means, rows) if r[column]]
        if filled:
            low, high = min(filled), max(filled)
            ax.set_ylim(max(0.0, low - (high - low) - 5), min(100.0, high + (high - low) + 5))
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=110)
    plt.close(fig)
    atomic_write_bytes(buffer.getvalue(), path)


def write_report(spec: LadderSpec, records: Dict[str, dict], note: str = '',
                 code: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """Write ``report.md``, ``report.csv`` and ``report.png`` into the ladder's work dir.

    ``code``: the code version records are compared with (default: the running code's).
    """
    code = code if code is not None else code_version()
    rows = collect(spec, records, code)
    os.makedirs(spec.work_dir, exist_ok=True)
    paths = {ext: osp.join(spec.work_dir, f'report.{ext}') for ext in ('md', 'csv', 'png')}
    atomic_write_bytes(markdown(spec, rows, note, records, code).encode(), paths['md'])
    atomic_write_bytes(csv_text(rows).encode(), paths['csv'])
    plot(rows, paths['png'], f'ladder {spec.name}' + (' (toy scale, synthetic data)' if note
                                                       else ''))
    return paths
