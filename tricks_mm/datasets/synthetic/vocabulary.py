"""The object vocabulary shared by the classification, detection and segmentation splits.

One vocabulary for all three tasks is what makes the suite a transfer benchmark (He et al. 2019,
Sec. 6): a classifier that learns to tell a ``star`` from a ``cross`` on the crops should find the
same features useful for boxing and segmenting them in scenes.

Class order is alphabetical on purpose: mmpretrain's ``CustomDataset`` without an annotation file
labels class folders in sorted order, so sorted names keep the folder labels, ``meta/*.txt``, the
VOC ``cat2label`` and the ADE20K label values one and the same mapping.
"""

from typing import List, Tuple

#: Every shape the generator can draw, in the order in which ``num_classes`` takes them.
VOCABULARY: Tuple[str, ...] = (
    'disc',
    'square',
    'triangle',
    'ring',
    'cross',
    'star',
    'crescent',
    'arrow',
)

#: Default number of categories.
DEFAULT_NUM_CLASSES = 6

# RGB colours for visualisation (mmdet / mmseg read ``palette`` as RGB tuples), one per vocabulary
# entry so that a class keeps its colour whatever ``num_classes`` is.
_VOCAB_PALETTE = {
    'disc': (220, 20, 60),
    'square': (0, 130, 200),
    'triangle': (60, 180, 75),
    'ring': (255, 180, 0),
    'cross': (145, 30, 180),
    'star': (0, 200, 200),
    'crescent': (240, 50, 230),
    'arrow': (128, 128, 0),
}


def get_classes(num_classes: int = DEFAULT_NUM_CLASSES) -> Tuple[str, ...]:
    """Return the sorted class names of a suite with ``num_classes`` categories.

    Args:
        num_classes: How many vocabulary entries to use (2 to ``len(VOCABULARY)``).

    Returns:
        The first ``num_classes`` vocabulary names, sorted alphabetically (label order).

    Raises:
        ValueError: If ``num_classes`` is outside ``[2, len(VOCABULARY)]``.
    """
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int)
        or not (2 <= num_classes <= len(VOCABULARY))
    ):
        raise ValueError(
            f'num_classes must be an int in [2, {len(VOCABULARY)}] (the vocabulary '
            f'is {VOCABULARY}), got {num_classes!r}'
        )
    return tuple(sorted(VOCABULARY[:num_classes]))


def get_palette(classes: Tuple[str, ...]) -> List[Tuple[int, int, int]]:
    """Return one RGB colour per class name, for ``metainfo=dict(classes=..., palette=...)``.

    Args:
        classes: Class names from :data:`VOCABULARY`.

    Returns:
        A list of ``(r, g, b)`` tuples aligned with ``classes``.

    Raises:
        ValueError: If a name is not in the vocabulary.
    """
    unknown = [c for c in classes if c not in _VOCAB_PALETTE]
    if unknown:
        raise ValueError(f'unknown class names {unknown!r}; the vocabulary is {VOCABULARY}')
    return [_VOCAB_PALETTE[c] for c in classes]


#: Class names of the default suite: ('cross', 'disc', 'ring', 'square', 'star', 'triangle').
CLASSES: Tuple[str, ...] = get_classes(DEFAULT_NUM_CLASSES)
#: RGB palette aligned with :data:`CLASSES`.
PALETTE: List[Tuple[int, int, int]] = get_palette(CLASSES)
