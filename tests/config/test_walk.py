"""The one config walker: every dict, parent before children, paths as --cfg-options keys."""

from mmengine.config import Config

from tricks_mm.config.guards import strict_image_loading
from tricks_mm.config.setup import syncbn_to_bn_if_needed
from tricks_mm.config.walk import DATALOADERS, iter_dicts


def test_paths_and_order():
    tree = dict(a=dict(type='X', b=[dict(type='Y'), 3, (dict(c=dict()),)]), d=1)
    assert [p for p, _ in iter_dicts(tree)] == ['', 'a', 'a.b[0]', 'a.b[2][0]', 'a.b[2][0].c']
    assert [p for p, _ in iter_dicts(tree['a'], 'model')][:2] == ['model', 'model.b[0]']
    assert list(iter_dicts(None, 'x')) == [] and list(iter_dicts([1, 'a'], 'x')) == []


def test_in_place_rewrites_see_every_node():
    cfg = Config(
        dict(
            model=dict(
                backbone=dict(norm_cfg=dict(type='SyncBN')),
                heads=[dict(norm_cfg=dict(type='SyncBN')), dict(norm_cfg=dict(type='BN'))],
            ),
            train_dataloader=dict(
                dataset=dict(
                    datasets=[
                        dict(pipeline=[dict(type='LoadImageFromFile'), dict(type='Resize')]),
                        dict(pipeline=[dict(type='mmcv.LoadImageFromFile')]),
                    ]
                )
            ),
            test_dataloader=None,
        )
    )
    assert syncbn_to_bn_if_needed(cfg, 'none') == [
        'model.backbone.norm_cfg',
        'model.heads[0].norm_cfg',
    ]
    assert cfg.model.heads[0].norm_cfg.type == 'BN'
    assert strict_image_loading(cfg) == [
        'train_dataloader.dataset.datasets[0].pipeline[0]',
        'train_dataloader.dataset.datasets[1].pipeline[0]',
    ]
    assert DATALOADERS == ('train_dataloader', 'val_dataloader', 'test_dataloader')
