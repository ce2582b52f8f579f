"""The report's text: Markdown shaped like the paper's Tables 8 and 9, and a long-format CSV."""

import csv
import io
from typing import Any, Dict, List, Mapping, Optional, Sequence

from tricks_mm.ladder import claims
from tricks_mm.ladder.report.collect import METRICS, Row, rung_data
from tricks_mm.ladder.report.convergence import convergence_lines
from tricks_mm.ladder.report.tables import (
    APPROX,
    CLIPPED,
    IMPROVING,
    STALE,
    diff_cell,
    differences,
    ours,
    paper_cell,
    percent_summary,
    steps_table,
)
from tricks_mm.ladder.spec import LadderSpec
from tricks_mm.ladder.stats import METHOD, SINGLE_RUN

TABLES = [
    ('Table 8: Faster R-CNN on VOC', ['top1', 'mAP']),
    ('Table 9: FCN on ADE20K', ['top1', 'pixAcc', 'mIoU']),
]


def verdicts(rows: List[Row], requested: Optional[Sequence[str]] = None) -> List[claims.Verdict]:
    return claims.verdicts(rung_data(rows), requested)


def _tables(rows: List[Row], seeds: int) -> List[str]:
    lines: List[str] = []
    for title, columns in TABLES:
        header = ['rung'] + [f'{c} (ours)' for c in columns] + [f'{c} (paper)' for c in columns]
        lines += [f'## {title}', '', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
        for row in rows:
            cells = [ours(row, c, seeds) for c in columns]
            paper = [paper_cell(row['paper'].get(c), c in row['paper_approx']) for c in columns]
            lines.append('| ' + ' | '.join([str(row['rung'])] + cells + paper) + ' |')
        lines.append('')
    return lines


def _differences_table(rows: List[Row], seeds: int) -> List[str]:
    diffs = differences(rows)
    if not diffs:
        return []
    explain = (
        '; * and bold: the 95% interval excludes 0 (unadjusted: this table makes many '
        "comparisons; the claims' Holm-adjusted p-values decide the verdicts)."
        if seeds > 1
        else f' ({SINGLE_RUN}).'
    )
    lines = [
        '## Paired differences (same seed)',
        '',
        'Percentage points, rung minus reference' + explain,
        '',
        '| rung | minus | ' + ' | '.join(METRICS) + ' |',
        '|' + '---|' * (2 + len(METRICS)),
    ]
    pairs = list(dict.fromkeys((rung, ref) for rung, ref, _, _ in diffs))
    table = {(rung, ref, m): d for rung, ref, m, d in diffs}
    for rung, ref in pairs:
        cells = [
            diff_cell(table[(rung, ref, m)]) if (rung, ref, m) in table else '-' for m in METRICS
        ]
        lines.append(f'| {rung} | {ref} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def markdown(
    spec: LadderSpec,
    rows: List[Row],
    note: str = '',
    teachers: Sequence[str] = (),
    records: Optional[Mapping[str, dict]] = None,
    code: Optional[Dict[str, Any]] = None,
    left_out: int = 0,
) -> str:
    """Tables 8 and 9 with ours beside the paper's numbers, paired differences, teachers,
    verdicts, then each step's launch size, total batch and LR. ``records``: those of the
    current plan; ``left_out``: how many records of an older plan were not used."""
    seeds = len(spec.seeds)
    lines = [f'# Ladder `{spec.name}`', '']
    if note:
        lines += [note, '']
    cells = 'mean ± std [95% CI] over seeds' if seeds > 1 else f'one value each ({SINGLE_RUN})'
    lines += [
        f'Seeds: {spec.seeds} (n = {seeds}); cells: {cells}. "-": not run / not '
        'applicable; paper numbers from He et al. 2019.',
        '',
    ]
    lines += ['Method. ' + METHOD[0], METHOD[1], '']
    lines += [line for text in claims.METHOD for line in (text, '')]
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
    if any(row.get('improving') for row in rows):
        lines += [
            f'{IMPROVING}: a classifier of this rung was still improving at its last epoch '
            '(see "Did the classifiers converge?").',
            '',
        ]
    if any(percent_summary(row, c).clipped for row in rows for c in METRICS):
        lines += [f'{CLIPPED}: the t-interval left [0, 100] and is clipped to it.', '']
    if left_out:
        lines += [
            f"{left_out} record(s) of steps no longer in the ladder's plan (an edited config "
            'not yet rerun, or a removed rung or seed) are left out.',
            '',
        ]
    lines += _tables(rows, seeds)
    lines += _differences_table(rows, seeds)
    lines += convergence_lines(spec, records or {})
    if teachers:
        lines += ['## Distillation teachers', ''] + list(teachers) + ['']
    result = verdicts(rows, spec.claims)
    lines += [
        '## Claims of Section 6',
        '',
        f'Holm family: the {claims.family_size(result)} tests with a p-value listed below.',
        '',
    ]
    lines += [v.line() for v in result]
    lines.append('')
    lines += steps_table(records or {}, code)
    return '\n'.join(lines)


def _fmt(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.4f}'


def csv_text(rows: List[Row]) -> str:
    """Long format: one line per rung and metric (per-class AP/IoU included), then one line per
    paired difference (``minus`` names the reference rung, ``p`` its unadjusted ttest_rel p);
    ``paper_approx`` marks a recalled paper number, ``stale`` a value from a record of other
    code (``--reuse-stale``), ``clipped`` an interval clipped to [0, 100]."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = 'rung minus metric mean std n ci_low ci_high p paper paper_approx stale clipped'
    writer.writerow(header.split())
    for row in rows:
        per_class = sorted(k for k in row['values'] if k not in METRICS)
        for column in METRICS + per_class:
            s = percent_summary(row, column)
            paper = row['paper'].get(column)
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
                    '',
                    '' if paper is None else paper,
                    int(column in row['paper_approx']),
                    int(column in row['stale']),
                    int(s.clipped),
                ]
            )
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
                _fmt(d.p),
                '',
                '',
                '',
                0,
            ]
        )
    return out.getvalue()
