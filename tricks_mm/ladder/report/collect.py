"""Collecting a ladder's records into report rows: per rung and metric, ``{seed: value}``.

Only steps of the current plan are reported: records of rungs or seeds no longer in the ladder
are left out, and where the caller knows the plan's step keys (``current``), a record made for
another key (an edited config whose rerun was interrupted) is left out too and counted, never
shown as current. A record of other code kept with ``--reuse-stale`` is marked stale.
"""

import re
from typing import Any, Dict, List, Mapping, Optional, Set

from tricks_mm.ladder import claims
from tricks_mm.ladder.code_version import code_identity
from tricks_mm.ladder.curves import convergence
from tricks_mm.ladder.records import NO_HEAD
from tricks_mm.ladder.spec import METRIC_KEYS, LadderSpec
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
#: the step kinds a rung may have (a teacher classifies only, the control has no classifier)
KINDS = ('classify', 'convert', 'detect', 'segment')

#: one reported rung: name, key, paper numbers, and per column {seed: value in percent}
Row = Dict[str, Any]


def is_stale(record: Dict[str, Any], code: Optional[Dict[str, Any]]) -> bool:
    """A record made by code other than ``code`` (kept by ``--reuse-stale``)."""
    return bool(code) and 'code' in record and code_identity(record['code']) != code_identity(code)


def plan_step_ids(spec: LadderSpec) -> Set[str]:
    """The ids of every step the ladder's rungs and seeds can have (a superset of the plan by
    kind, never a step of a rung or seed the ladder no longer has)."""
    return {
        Step(seed, rung, kind).step_id
        for seed in spec.seeds
        for rung in spec.rungs
        for kind in KINDS
    }


def current_records(
    spec: LadderSpec, records: Mapping[str, dict], current: Optional[Mapping[str, str]] = None
) -> Dict[str, dict]:
    """The records of the current plan: step ids of the ladder's rungs and seeds, and, when
    ``current`` (step id -> planned key, every step of the plan) is given, only records of its
    steps made with their planned keys (a rung no longer transferred keeps no detect record)."""
    ids = plan_step_ids(spec)
    return {
        step_id: record
        for step_id, record in records.items()
        if step_id in ids and (current is None or current.get(step_id) == record.get('key'))
    }


def collect(
    spec: LadderSpec,
    records: Mapping[str, dict],
    code: Optional[Dict[str, Any]] = None,
    current: Optional[Mapping[str, str]] = None,
) -> List[Row]:
    """One row per reported rung: per metric (and per-class column), ``{seed: value}``; the
    metrics some of whose values come from records of other code than ``code`` (``stale``); and
    whether its top-1 is a published number rather than one measured here; the seeds whose
    classifier was still improving at its last epoch (``improving``). Records outside the
    current plan (:func:`current_records`) are not used."""
    records = current_records(spec, records, current)
    rows = []
    for rung in spec.rungs:
        if not rung.report:
            continue
        values: Dict[str, Dict[int, float]] = {}
        stale: List[str] = []
        for seed in spec.seeds:
            for column, task, key, factor in COLUMNS:
                record = records.get(Step(seed, rung, task).step_id) or {}
                if key in record.get('metrics', {}):
                    values.setdefault(column, {})[seed] = float(record['metrics'][key]) * factor
                    if is_stale(record, code) and column not in stale:
                        stale.append(column)
            for task, pattern, prefix, factor in PER_CLASS:
                metrics = (records.get(Step(seed, rung, task).step_id) or {}).get('metrics', {})
                for key, value in metrics.items():
                    match = pattern.match(key)
                    if match:
                        values.setdefault(f'{prefix}/{match.group(1)}', {})[seed] = (
                            float(value) * factor
                        )
        classifiers = {
            seed: records.get(Step(seed, rung, 'classify').step_id) or {} for seed in spec.seeds
        }
        kinds = {record.get('top1_kind') for record in classifiers.values()}
        rows.append(
            dict(
                rung=rung.name,
                key=rung.key,
                paper=dict(rung.paper),
                paper_approx=list(rung.paper_approx),
                values=values,
                stale=stale,
                published='published' in kinds,
                headless=NO_HEAD in kinds,
                improving=[
                    seed
                    for seed, record in classifiers.items()
                    if record.get('val_curve')
                    and convergence(record['val_curve'], int(record['epochs'])).still_improving
                ],
            )
        )
    return rows


def values(row: Row, column: str) -> Dict[int, float]:
    """``{seed: value}`` of one column of a row (empty when not run)."""
    return row['values'].get(column, {})


def rung_data(rows: List[Row]) -> List[claims.RungData]:
    """The rows as the claims see them."""
    return [
        claims.RungData(
            name=str(r['rung']),
            key=r['key'],
            values={m: values(r, m) for m in METRICS},
            paper=r['paper'],
            paper_approx=r['paper_approx'],
        )
        for r in rows
    ]
