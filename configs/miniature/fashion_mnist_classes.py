# Class names and palette of the Fashion-MNIST miniature (tricks_mm.datasets.fashion_mnist.CLASSES /
# PALETTE; a test keeps the two in step), named fmnist_metainfo so that it does not clash with the
# toy configs' metainfo when both are bases. Hosts need them as metainfo: they are not VOC's or
# ADE20K's classes.
fmnist_metainfo = dict(
    classes=(
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
    ),
    palette=[
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
    ],
)
