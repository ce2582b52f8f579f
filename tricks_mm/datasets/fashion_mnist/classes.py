"""Fashion-MNIST's ten classes, as folder- and XML-safe names, with a palette for mmseg.

Label ``k`` is Zalando's label ``k``; torchvision's names (``FashionMNIST.classes``) differ only
in spelling ("T-shirt/top" holds a slash, which a folder name cannot). A test keeps the two lists
aligned.
"""

from typing import List, Tuple

CLASSES: Tuple[str, ...] = (
    'tshirt_top',
    'trouser',
    'pullover',
    'dress',
    'coat',
    'sandal',
    'shirt',
    'sneaker',
    'bag',
    'ankle_boot',
)
#: RGB colours for mmseg's metainfo (visualisation only), one per class.
PALETTE: List[Tuple[int, int, int]] = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (128, 128, 0),
]
