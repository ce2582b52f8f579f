"""The report's figures: bars per rung and metric, top-1 against mAP / mIoU, and the
classifiers' learning curves.

Error bars are the 95% t-intervals clipped to [0, 100] (a percentage cannot leave it); a single
run or a zero-spread sample has none. The Spearman annotation is the claim-1 test
(:func:`tricks_mm.ladder.stats.rank_test`: exact one-sided permutation p)."""

import io
from typing import List, Optional, Sequence, Tuple

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.ladder.curves import Convergence, Curve
from tricks_mm.ladder.report.collect import METRICS, Row
from tricks_mm.ladder.report.tables import percent_summary
from tricks_mm.ladder.stats import SINGLE_RUN, Summary, rank_test

TITLES = {
    'top1': 'classification top-1',
    'mAP': 'detection mAP@0.5',
    'pixAcc': 'segmentation pixAcc',
    'mIoU': 'segmentation mIoU',
}


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


def error_bar(s: Summary) -> Optional[List[List[float]]]:
    """Asymmetric error bar from the (clipped) interval; ``None`` without an interval."""
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
        summaries = [percent_summary(r, column) for r in rows]
        for i, s in enumerate(summaries):
            if s.n == 0:
                continue
            err = error_bar(s)
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
        + (
            f' (no bar: {SINGLE_RUN} or zero spread)'
            if any_single
            else ' (bars: 95% t-interval over seeds, within [0, 100])'
        )
    )
    fig.tight_layout()
    _save(fig, path)


def rho_text(x: Sequence[float], y: Sequence[float]) -> str:
    """The claim-1 statistic of the points: Spearman rho and its exact one-sided p."""
    result = rank_test(x, y)
    if result.rho is None:
        return f'Spearman rho undefined (n={len(x)})'
    kind = 'exact' if result.exact else 'Monte-Carlo'
    return (
        f'Spearman rho = {result.rho:+.2f} (n={len(x)}, {kind} one-sided p={result.p_greater:.3f}'
        f', smallest possible {result.min_p:.3g})'
    )


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
            x = percent_summary(row, 'top1')
            y = percent_summary(row, metric)
            if x.n == 0 or y.n == 0:
                continue
            xs.append(x.mean)
            ys.append(y.mean)
            ours_ax.errorbar(
                x.mean,
                y.mean,
                xerr=error_bar(x),
                yerr=error_bar(y),
                fmt='o',
                capsize=3,
                color='tab:blue',
            )
            ours_ax.annotate(
                str(row['rung']),
                (x.mean, y.mean),
                fontsize=7,
                xytext=(4, 4),
                textcoords='offset points',
            )
        ours_ax.set_title(f'ours: {metric} vs top-1\n{rho_text(xs, ys)}', fontsize=9)
        px, py = [], []
        for row in rows:
            paper = row['paper']
            if 'top1' in paper and metric in paper:
                px.append(paper['top1'])
                py.append(paper[metric])
                paper_ax.plot(px[-1], py[-1], 'o', color='tab:orange')
                paper_ax.annotate(
                    str(row['rung']),
                    (px[-1], py[-1]),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords='offset points',
                )
        paper_ax.set_title(
            f'paper (He et al. 2019): {metric} vs top-1\n{rho_text(px, py)}', fontsize=9
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
    fig.suptitle(title + ' (bars: 95% t-interval within [0, 100]; none for a single run)')
    fig.tight_layout()
    _save(fig, path)


def plot_curves(
    curves: Sequence[Tuple[str, int, Curve, Convergence]], path: str, title: str
) -> None:
    """The classifiers' validation top-1 against epoch: one colour per rung, one line per seed;
    a hollow marker at the last epoch of a classifier still improving there."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = {}
    for rung, _, curve, test in curves:
        colour = colours.setdefault(rung, f'C{len(colours) % 10}')
        epochs, top1 = zip(*curve)
        ax.plot(epochs, top1, color=colour, lw=1, label=rung)
        if test.still_improving:
            ax.plot(epochs[-1], top1[-1], 'o', mfc='none', color=colour, ms=8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))  # one legend entry per rung, not per seed
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc='lower right')
    ax.set_xlabel('epoch')
    ax.set_ylabel('validation top-1 (%)')
    ax.grid(alpha=0.3)
    ax.set_title(
        f'{title}: learning curves (one line per seed; circle: still improving, > 1 point '
        'over the last 20% of epochs)',
        fontsize=9,
    )
    fig.tight_layout()
    _save(fig, path)
