"""A tiny ladder for the executor tests: the control and one trained rung (B-standard) at the
demo's toy task configs; each seed plans six steps (control: detect, segment; B-standard:
classify, convert, detect, segment), four without the control."""

from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[2]

_LADDER = """
ladder = dict(
    name='{name}',
    seeds={seeds},
    jobs={jobs},
    classify=dict(overlays=['{repo}/configs/toy/classification.py'], epoch_scale=0.15,
                  auto_scale_lr=True),
    detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
    rungs=[{control}
        dict(name='B-standard',
             cls_config='{repo}/configs/classification/resnet50b_baseline_8xb32_in1k.py'),
    ],
)
"""


def tiny_ladder(
    folder: Path,
    seeds: List[int] = (0, 1),
    jobs: int = 1,
    name: str = 'tiny',
    extra: str = '',
    control: bool = True,
) -> Path:
    """Write the ladder file into ``folder``; its path. ``extra``: more keys of ``ladder``;
    ``control=False``: B-standard alone."""
    rung = "\n        dict(name='no pretraining')," if control else ''
    text = _LADDER.format(name=name, seeds=list(seeds), jobs=jobs, repo=REPO, control=rung)
    if extra:
        text = text.replace('    rungs=[', f'    {extra},\n    rungs=[')
    path = Path(folder) / f'{name}.py'
    path.write_text(text)
    return path


def needs(step_id: str) -> List[str]:
    """What a step of the tiny ladder reads, from the protocol (independent of the plan):
    convert reads its classifier, B-standard's downstream steps its backbone, the control
    nothing."""
    seed, rest = step_id.split('-', 1)
    rung, kind = rest.rsplit('-', 1)
    if kind == 'convert':
        return [f'{seed}-{rung}-classify']
    if kind in ('detect', 'segment') and rung == 'b-standard':
        return [f'{seed}-{rung}-convert']
    return []
