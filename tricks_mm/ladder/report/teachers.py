"""Does each distillation teacher beat its student? (Distillation from a teacher that is not
better than its student means nothing.)"""

from typing import Dict, List, Mapping

from tricks_mm.ladder import claims
from tricks_mm.ladder.report.tables import cell
from tricks_mm.ladder.spec import METRIC_KEYS, LadderSpec
from tricks_mm.ladder.stats import paired, summarize
from tricks_mm.ladder.step import Step


def teacher_lines(spec: LadderSpec, records: Mapping[str, dict]) -> List[str]:
    """For each distillation rung: its teacher's top-1 against the student's, paired by seed.
    A shared teacher (trained once, with the first seed) is paired with every seed's student."""
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
            teacher_top1 = {s: teacher_runs[spec.seeds[0]] for s in student}
            note = f' (one teacher, seed {spec.seeds[0]}, for every seed)'
        else:
            teacher_top1 = teacher_runs
        d = paired(teacher_top1, student)
        if d.above_zero:
            verdict = 'beats its student'
        elif d.has_interval:
            verdict = (
                'does NOT beat its student'
                if d.below_zero
                else 'is not clearly better than its student'
            )
        elif d.n > 1:  # zero spread: no interval, no verdict beyond the sign
            verdict = f'is not clearly better than its student ({d.reason})'
        elif d.n == 0:
            verdict = 'not compared (no seed with both top-1s)'
        elif d.mean > 0:
            verdict = 'beats its student (single run: no interval)'
        elif d.mean == 0:
            verdict = 'ties its student (single run)'
        else:
            verdict = 'does NOT beat its student (single run)'

        lines.append(
            f'- teacher {rung.teacher!r} of {rung.name!r}: top-1 '
            f'{cell(teacher, 1 if shared else len(spec.seeds))}{note}; teacher - student '
            f'{claims.fmt_diff(d)}: {verdict}.'
        )
    return lines
