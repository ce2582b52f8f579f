"""Were the classifiers converged? Each classify step's validation curve (recorded by the ladder
from mmengine's logs, :mod:`tricks_mm.ladder.curves`) and the plateau test: a classifier that
gained more than 1 point of top-1 over its last 20% of epochs is marked still improving, since
a rung compared before its plateau measures its schedule's length, not its trick."""

from typing import List, Mapping, Tuple

from tricks_mm.ladder.curves import THRESHOLD, WINDOW, Convergence, Curve, convergence
from tricks_mm.ladder.report.tables import IMPROVING
from tricks_mm.ladder.spec import LadderSpec
from tricks_mm.ladder.step import Step


def classifier_curves(
    spec: LadderSpec, records: Mapping[str, dict]
) -> List[Tuple[str, int, Curve, Convergence]]:
    """``(rung, seed, curve, plateau test)`` of every recorded classifier with a curve, teachers
    included, in the ladder's order."""
    out = []
    for rung in spec.rungs:
        for seed in spec.seeds:
            record = records.get(Step(seed, rung, 'classify').step_id) or {}
            if record.get('val_curve'):
                curve = [(int(e), float(v)) for e, v in record['val_curve']]
                out.append((rung.name, seed, curve, convergence(curve, int(record['epochs']))))
    return out


def convergence_lines(spec: LadderSpec, records: Mapping[str, dict]) -> List[str]:
    """The section: one line per classifier with a recorded curve (none without curves)."""
    curves = classifier_curves(spec, records)
    if not curves:
        return []
    lines = [
        '## Did the classifiers converge?',
        '',
        f'Validation top-1 during training. {IMPROVING} still improving: more than '
        f'{THRESHOLD:g} point gained over the last {WINDOW:.0%} of the epochs (from the last '
        'validation at or before 80% of them), so its rung is compared before its plateau.',
        '',
        '| classifier | seed | epochs | top-1 from → to (epoch) | gain | plateau |',
        '|---|---|---|---|---|---|',
    ]
    for rung, seed, curve, test in curves:
        values = dict(curve)
        if test.gain is None:
            span, gain, verdict = '-', '-', f'cannot tell: {test.reason}'
        else:
            span = (
                f'{values[test.from_epoch]:.2f} → {values[test.to_epoch]:.2f} '
                f'({test.from_epoch} → {test.to_epoch})'
            )
            gain = f'{test.gain:+.2f}'
            verdict = (
                f'{IMPROVING} still improving'
                if test.still_improving
                else f'plateaued (gain ≤ {THRESHOLD:g})'
            )
        lines.append(f'| {rung} | {seed} | {test.epochs} | {span} | {gain} | {verdict} |')
    return lines + ['']
