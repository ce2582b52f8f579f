"""The ladder's report, shaped like the paper's Tables 8 and 9: Markdown, CSV and a PNG plot."""
import csv
import io
import os
import os.path as osp
import statistics
from typing import Dict, List, Optional, Sequence

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.ladder.run import Step
from tricks_mm.ladder.spec import METRIC_KEYS, LadderSpec

# (column, task, metric key in the host's output, factor to percent)
COLUMNS = [
    ('top1', 'classify', METRIC_KEYS['classify']['top1'], 1.0),
    ('mAP', 'detect', METRIC_KEYS['detect']['mAP'], 100.0),
    ('pixAcc', 'segment', METRIC_KEYS['segment']['pixAcc'], 1.0),
    ('mIoU', 'segment', METRIC_KEYS['segment']['mIoU'], 1.0),
]
TABLES = [('Table 8: Faster R-CNN on VOC', ['top1', 'mAP']),
          ('Table 9: FCN on ADE20K', ['top1', 'pixAcc', 'mIoU'])]


def collect(spec: LadderSpec, records: Dict[str, dict]) -> List[Dict[str, object]]:
    """One row per reported rung: per metric, the list of values over the finished seeds."""
    rows = []
    for rung in spec.rungs:
        if not rung.report:
            continue
        row: Dict[str, object] = dict(rung=rung.name, paper=dict(rung.paper))
        for column, task, key, factor in COLUMNS:
            values = []
            for seed in spec.seeds:
                record = records.get(Step(seed, rung, task).step_id)
                if record and key in record.get('metrics', {}):
                    values.append(float(record['metrics'][key]) * factor)
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


def _paper(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def markdown(spec: LadderSpec, rows: List[Dict[str, object]], note: str = '') -> str:
    """Tables 8 and 9 with ours beside the paper's numbers (mean ± std over seeds)."""
    seeds = len(spec.seeds)
    lines = [f'# Ladder `{spec.name}`', '']
    if note:
        lines += [note, '']
    lines += [f'Seeds: {seeds} ({"mean ± std" if seeds > 1 else "single run"}). '
              '"-": not run / not applicable; paper numbers from He et al. 2019.', '']
    for title, columns in TABLES:
        header = ['rung'] + [f'{c} (ours)' for c in columns] + [f'{c} (paper)' for c in columns]
        lines += [f'## {title}', '', '| ' + ' | '.join(header) + ' |',
                  '|' + '---|' * len(header)]
        for row in rows:
            ours = [_fmt(row[c]) + (' (published)' if c == 'top1' and row['published']
                                    and row[c] else '')  # type: ignore[arg-type]
                    for c in columns]
            paper = [_paper(row['paper'].get(c)) for c in columns]  # type: ignore[union-attr]
            lines.append('| ' + ' | '.join([str(row['rung'])] + ours + paper) + ' |')
        lines.append('')
    return '\n'.join(lines)


def csv_text(rows: List[Dict[str, object]]) -> str:
    """One line per rung and metric: mean, std, n, paper value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['rung', 'metric', 'mean', 'std', 'n', 'paper'])
    for row in rows:
        for column, *_ in COLUMNS:
            values = row[column]
            mean = f'{statistics.mean(values):.4f}' if values else ''
            std = f'{statistics.stdev(values):.4f}' if len(values) > 1 else ''
            paper = row['paper'].get(column)  # type: ignore[union-attr]
            writer.writerow([row['rung'], column, mean, std, len(values),
                             '' if paper is None else paper])
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


def write_report(spec: LadderSpec, records: Dict[str, dict], note: str = '') -> Dict[str, str]:
    """Write ``report.md``, ``report.csv`` and ``report.png`` into the ladder's work dir."""
    rows = collect(spec, records)
    os.makedirs(spec.work_dir, exist_ok=True)
    paths = {ext: osp.join(spec.work_dir, f'report.{ext}') for ext in ('md', 'csv', 'png')}
    atomic_write_bytes(markdown(spec, rows, note).encode(), paths['md'])
    atomic_write_bytes(csv_text(rows).encode(), paths['csv'])
    plot(rows, paths['png'], f'ladder {spec.name}' + (' (toy scale, synthetic data)' if note
                                                       else ''))
    return paths
