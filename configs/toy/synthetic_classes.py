# Class names and palette of the embedded synthetic suite (tricks_mm.datasets.synthetic.CLASSES /
# PALETTE, default 6 classes; a test keeps the two in step). Hosts need them as metainfo because
# the suite's classes are not VOC's or ADE20K's.
metainfo = dict(
    classes=('cross', 'disc', 'ring', 'square', 'star', 'triangle'),
    palette=[
        (145, 30, 180),
        (220, 20, 60),
        (255, 180, 0),
        (0, 130, 200),
        (0, 200, 200),
        (60, 180, 75),
    ],
)
