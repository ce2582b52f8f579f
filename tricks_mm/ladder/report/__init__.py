"""The ladder's report, shaped like the paper's Tables 8 and 9: Markdown, CSV and PNG figures.

Per rung and metric: mean, std, n and a 95% t-interval over seeds; paired same-seed differences
against B-standard and against the rung before; per-class AP / IoU in the CSV; a verdict per
claim of Section 6; the classifiers' learning curves and plateau test. One concern per module:
collecting the records of the current plan (:mod:`.collect`), statistics to table cells
(:mod:`.tables`), the distillation teachers (:mod:`.teachers`), convergence
(:mod:`.convergence`), Markdown and CSV (:mod:`.render`), the figures (:mod:`.figures`); the numbers
are in :mod:`tricks_mm.ladder.stats`, the claims in :mod:`tricks_mm.ladder.claims`.
"""

import os
import os.path as osp
from typing import Any, Dict, Mapping, Optional

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.ladder.code_version import code_version
from tricks_mm.ladder.report.collect import collect, current_records, is_stale
from tricks_mm.ladder.report.convergence import classifier_curves, convergence_lines
from tricks_mm.ladder.report.figures import plot, plot_curves, plot_transfer
from tricks_mm.ladder.report.render import csv_text, markdown, verdicts
from tricks_mm.ladder.report.tables import differences
from tricks_mm.ladder.report.teachers import teacher_lines
from tricks_mm.ladder.spec import LadderSpec

__all__ = [
    'classifier_curves',
    'collect',
    'convergence_lines',
    'csv_text',
    'differences',
    'is_stale',
    'markdown',
    'plot',
    'plot_curves',
    'plot_transfer',
    'teacher_lines',
    'verdicts',
    'write_report',
]


def write_report(
    spec: LadderSpec,
    records: Mapping[str, dict],
    note: str = '',
    code: Optional[Dict[str, Any]] = None,
    current: Optional[Mapping[str, str]] = None,
    label: str = '',
) -> Dict[str, str]:
    """Write ``report.md``, ``report.csv``, ``report.png`` (bars), ``report_transfer.png``
    (top-1 against mAP / mIoU) and, where classifiers recorded validation curves,
    ``report_curves.png`` into the ladder's work dir.

    ``code``: the code version records are compared with (default: the running code's).
    ``current``: step id -> the key the current plan gives that step, where the caller knows
    it; a record made for another key is left out (counted in the report), never shown as
    current. Records of rungs or seeds no longer in the ladder are always left out.
    ``label``: the scale, in the figures' titles (e.g. ``toy scale, synthetic data``).
    """
    code = code if code is not None else code_version()
    plan = current_records(spec, records, current)
    rows = collect(spec, plan, code)
    os.makedirs(spec.work_dir, exist_ok=True)
    paths = {ext: osp.join(spec.work_dir, f'report.{ext}') for ext in ('md', 'csv', 'png')}
    paths['transfer'] = osp.join(spec.work_dir, 'report_transfer.png')
    text = markdown(
        spec, rows, note, teacher_lines(spec, plan), plan, code, len(records) - len(plan)
    )
    atomic_write_bytes(text.encode(), paths['md'])
    atomic_write_bytes(csv_text(rows).encode(), paths['csv'])
    title = f'ladder {spec.name}' + (f' ({label})' if label else '')
    plot(rows, paths['png'], title)
    plot_transfer(rows, paths['transfer'], title)
    curves = classifier_curves(spec, plan)
    if curves:
        paths['curves'] = osp.join(spec.work_dir, 'report_curves.png')
        plot_curves(curves, paths['curves'], title)
    return paths
