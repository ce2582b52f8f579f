"""How tools/train.py adapts host configs: hosts, SyncBN, AMP on CPU, schedule scaling."""

import pytest
from mmengine.config import Config

from tricks_mm.config.schedule_scale import scale_schedule
from tricks_mm.config.setup import (
    apply_common_flags,
    import_host,
    load_config,
    syncbn_to_bn_if_needed,
)


def test_stock_mmseg_syncbn_becomes_bn_in_a_single_process(tmp_path):
    leaf = tmp_path / 'fcn.py'
    leaf.write_text("_base_ = ['mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py']\n")
    cfg = Config.fromfile(str(leaf))
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    changed = syncbn_to_bn_if_needed(cfg, 'none')
    assert set(changed) >= {
        'model.backbone.norm_cfg',
        'model.decode_head.norm_cfg',
        'model.auxiliary_head.norm_cfg',
    }
    assert 'SyncBN' not in str(cfg.model)


def test_amp_rung_falls_back_to_fp32_without_gpu(repo):
    cfg = load_config(str(repo / 'configs/classification/resnet50_efficient_8xb128_in1k.py'))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    apply_common_flags(cfg, 'wd', 'none')
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.optim_wrapper.paramwise_cfg == dict(bias_decay_mult=0.0, norm_decay_mult=0.0)


def test_auto_scale_lr_needs_a_base_batch():
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            optim_wrapper=dict(optimizer=dict(lr=0.1)),
            model=dict(type='x'),
        )
    )
    with pytest.raises(ValueError, match='base_batch_size'):
        apply_common_flags(cfg, 'wd', 'none', auto_scale_lr=True)


@pytest.mark.parametrize('scope', [None, 'tricks_mm', 'mmcv'])
def test_config_must_name_a_host(scope):
    with pytest.raises(ValueError, match='default_scope must be one of'):
        import_host(Config(dict(default_scope=scope)))


def test_epoch_scale_keeps_the_schedule_shape(repo):
    cfg = load_config(str(repo / 'configs/classification/resnet50d_cosine_ls_mixup_8xb128_in1k.py'))
    scale_schedule(cfg, 0.1)
    assert cfg.train_cfg.max_epochs == 20
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 0.5)
    assert (cosine.begin, cosine.end, cosine.T_max) == (0.5, 20, 19.5)
    cfg = load_config(str(repo / 'configs/classification/resnet50_baseline_8xb32_in1k.py'))
    scale_schedule(cfg, 0.1)
    assert cfg.param_scheduler[0].milestones == [3, 6, 9]
    with pytest.raises(ValueError, match='> 0'):
        scale_schedule(cfg, 0)


def test_overlay_must_exist(repo, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config(
            str(repo / 'configs/classification/resnet50_baseline_8xb32_in1k.py'),
            [str(tmp_path / 'nope.py')],
        )
