"""Statistics to table cells: a metric's summary, a paired difference, a paper number, and the
table of paired differences and of the steps' launch sizes."""

from typing import Any, Dict, List, Mapping, Optional, Tuple

from tricks_mm.ladder import claims
from tricks_mm.ladder.report.collect import METRICS, Row, is_stale, values
from tricks_mm.ladder.stats import Summary, bounded, paired, summarize

APPROX, STALE, CLIPPED, IMPROVING = '≈', '†', '‡', '↗'


def percent_summary(row: Row, column: str) -> Summary:
    """The summary of a percentage column, its interval clipped to [0, 100]."""
    return bounded(summarize(list(values(row, column).values())))


def cell(summary: Summary, seeds: int) -> str:
    """``mean ± std [low, high]`` (‡ where clipped to [0, 100]), ``(n=..)`` when seeds are
    missing, ``(zero spread)`` where equal values give no interval."""
    if summary.n == 0:
        return '-'
    text = f'{summary.mean:.2f}'
    if summary.has_interval:
        text += f' ± {summary.std:.2f} [{summary.low:.2f}, {summary.high:.2f}]'
        text += CLIPPED if summary.clipped else ''
    elif summary.n > 1:
        text += ' (zero spread)'
    if summary.n != seeds:
        text += f' (n={summary.n})'
    return text


def diff_cell(d: Summary) -> str:
    if d.n == 0:
        return '-'
    if not d.has_interval:
        return f'{d.mean:+.2f}' + (' (zero spread)' if d.n > 1 else '')
    text = f'{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]'
    return f'**{text}** *' if d.excludes_zero else text


def paper_cell(value: Optional[float], approximate: bool = False) -> str:
    return '-' if value is None else f'{APPROX if approximate else ""}{value:.2f}'


def ours(row: Row, column: str, seeds: int) -> str:
    """Our cell: the summary, ``(published)`` for a checkpoint rung's top-1, ``↗`` where a
    seed's classifier was still improving at its last epoch, ``†`` if stale;
    a backbone imported without a classifier head has no top-1."""
    if column == 'top1' and row.get('headless'):
        return 'no classifier head'
    summary = percent_summary(row, column)
    text = cell(summary, seeds)
    if column == 'top1' and row['published'] and summary.n:
        text += ' (published)'
    if column == 'top1' and row.get('improving'):
        text += f' {IMPROVING}'
    return text + (f' {STALE}' if column in row['stale'] else '')


def differences(rows: List[Row]) -> List[Tuple[str, str, str, Summary]]:
    """``(rung, reference, metric, paired difference)`` for each rung after B-standard (by its
    key) against it, and for each rung against the rung before it (in the ladder's order),
    where both have the metric."""
    base = next((i for i, r in enumerate(rows) if r['key'] == claims.B_STANDARD), None)
    out = []
    for i, row in enumerate(rows):
        references = []
        if base is not None and i > base:
            references.append(rows[base])
        if i > 0 and rows[i - 1] is not (references[0] if references else None):
            references.append(rows[i - 1])
        for reference in references:
            for metric in METRICS:
                d = paired(values(row, metric), values(reference, metric))
                if d.n:
                    out.append((str(row['rung']), str(reference['rung']), metric, d))
    return out


def steps_table(records: Mapping[str, Dict[str, Any]], code: Optional[Dict[str, Any]]) -> List[str]:
    """Every recorded train step's processes, total batch and LR (and staleness); ``records``
    are those of the current plan (:func:`tricks_mm.ladder.report.collect.current_records`)."""
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
