"""The one walk over a config tree, and the names of the dataloaders a config can hold.

Every config rewrite and check in the package (SyncBN -> BN, the image-loader swap, the head
``num_classes`` scan of the dataset check) visits the same nodes in the same order and names
them with the same paths, so it walks with :func:`iter_dicts`.
"""

from typing import Any, Iterator, Tuple

#: The dataloader keys of an OpenMMLab config, in the order the Runner builds them.
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def iter_dicts(node: Any, path: str = '') -> Iterator[Tuple[str, dict]]:
    """Every dict under ``node`` (``node`` first, then depth-first) with its config path.

    Paths read like ``--cfg-options`` keys: ``model.backbone.norm_cfg``,
    ``train_dataloader.dataset.pipeline[0]``. A dict may be changed in place while the walk
    is at it (values replaced, not keys added); its children are visited after it.
    """
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from iter_dicts(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from iter_dicts(value, f'{path}[{i}]')
