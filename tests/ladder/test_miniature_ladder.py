"""The Fashion-MNIST miniature ladder (configs/ladders/miniature_section6.py, docs/miniature.md):
its file, the recipe shapes its classify step runs, its data preparation, and a tiny end-to-end
run on the real files (skipped, saying why, where Debian's package is absent)."""

import dataclasses
import sys
import textwrap
from pathlib import Path

import pytest

from tricks_mm.datasets.fashion_mnist import DEBIAN_DIR, MARKER_NAME
from tricks_mm.ladder.materialize import classification_config
from tricks_mm.ladder.orchestrate import prepare_data
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.spec import load_ladder

REPO = Path(__file__).resolve().parents[2]
LADDER = REPO / 'configs' / 'ladders' / 'miniature_section6.py'
MINI = REPO / 'configs' / 'miniature'
sys.path.insert(0, str(REPO / 'tests' / 'datasets'))


def _rung(spec, name):
    return next(r for r in spec.rungs if r.name == name)


def test_miniature_ladder_has_every_section6_rung_and_three_seeds(monkeypatch):
    from mmengine.config import Config

    monkeypatch.chdir(REPO)
    spec = load_ladder(str(LADDER))
    shared = Config.fromfile(str(REPO / 'configs/ladders/_base_/section6_rungs.py'))
    assert [r.name for r in spec.rungs] == [r['name'] for r in shared.section6_rungs]
    assert len(spec.seeds) >= 3
    assert spec.fashion_mnist_data == dict(out='data/fashion_mnist', seed=0)
    assert spec.synthetic_data is None
    assert spec.classify.val_interval == 1
    assert spec.detect.config.endswith('configs/miniature/faster-rcnn_botr18-d-fpn_fmnist-voc.py')
    assert spec.segment.config.endswith('configs/miniature/fcn_botr18-d-d8_fmnist-ade.py')


def test_pilot_is_the_miniature_ladder_cut_to_three_rungs_and_one_seed(monkeypatch):
    """configs/ladders/miniature_pilot.py: the named rungs of the shared list (the same dicts
    as in section6_rungs), one seed, and every other field the full miniature ladder's."""
    from mmengine.config import Config

    monkeypatch.chdir(REPO)
    full = load_ladder(str(LADDER))
    pilot = load_ladder(str(REPO / 'configs' / 'ladders' / 'miniature_pilot.py'))
    shared = Config.fromfile(str(REPO / 'configs/ladders/_base_/section6_rungs.py'))
    assert [r.name for r in pilot.rungs] == ['no pretraining', 'B-standard', '+ mixup']
    assert [shared.rung_control, shared.rung_b_standard, shared.rung_mixup] == [
        r for r in shared.section6_rungs if r['name'] in ('no pretraining', 'B-standard', '+ mixup')
    ]
    by_name = {r.name: r for r in full.rungs}
    assert all(r == by_name[r.name] for r in pilot.rungs)
    assert pilot.seeds == [0] and pilot.name == 'miniature_pilot'
    for field in ('classify', 'detect', 'segment', 'fashion_mnist_data', 'jobs'):
        assert getattr(pilot, field) == getattr(full, field), field


def test_recipes_keep_the_papers_shape(monkeypatch):
    """Per-image rate 0.1 / 256 for both recipes (paper Sec. 2 and 3.1, linear scaling), step
    decay without warmup for B-standard, 120 : 200 epochs without / with mixup, validation every
    epoch kept in the step's config."""
    monkeypatch.chdir(REPO)
    spec = load_ladder(str(LADDER))
    configs = {
        name: classification_config(_rung(spec, name), spec.classify, seed=0)
        for name in ('B-standard', '+ cosine', '+ mixup')
    }
    for name, cfg in configs.items():
        batch = cfg.train_dataloader.batch_size
        rate = cfg.optim_wrapper.optimizer.lr * batch / cfg.auto_scale_lr.base_batch_size
        assert rate == pytest.approx(0.1 * batch / 256), name
        assert cfg.train_cfg.val_interval == 1 and cfg.val_dataloader is not None, name
        assert cfg.model.head.num_classes == 10 and cfg.model.backbone.depth == 18
    base = configs['B-standard']
    assert base.optim_wrapper.optimizer.lr == 0.1 and base.auto_scale_lr.base_batch_size == 256
    assert [s['type'] for s in base.param_scheduler] == ['MultiStepLR']  # no warmup
    assert base.param_scheduler[0]['milestones'] == [3, 6, 9]
    assert (base.train_cfg.max_epochs, configs['+ cosine'].train_cfg.max_epochs) == (12, 12)
    assert configs['+ mixup'].train_cfg.max_epochs == 20  # 120 : 200
    assert configs['+ cosine'].optim_wrapper.optimizer.lr == 0.4


def test_prepare_data_writes_the_miniature(monkeypatch, tmp_path):
    import numpy as np
    from test_fashion_mnist import FILES, TINY, fake_items, write_idx  # noqa: F401

    rng = np.random.default_rng(1)
    src = tmp_path / 'src'
    src.mkdir()
    arrays = dict(
        train_images=fake_items(rng, 60, ring=False),
        train_labels=np.arange(60) % 10,
        test_images=fake_items(rng, 40, ring=False),
        test_labels=np.arange(40) % 10,
    )
    for role, name in FILES.items():
        write_idx(src / f'{name}.gz', arrays[role])
    monkeypatch.chdir(REPO)
    spec = load_ladder(str(LADDER))
    out = tmp_path / 'data' / 'fashion_mnist'
    spec = dataclasses.replace(
        spec, fashion_mnist_data=dict(out=str(out), seed=0, source=str(src), **TINY)
    )
    prepare_data(spec)
    assert (out / MARKER_NAME).is_file()
    assert len((out / 'cls' / 'meta' / 'train.txt').read_text().splitlines()) == 60


@pytest.mark.slow
@pytest.mark.skipif(
    not (DEBIAN_DIR / 'train-images-idx3-ubyte.gz').is_file(),
    reason=f'{DEBIAN_DIR} absent: as root, apt-get install dataset-fashion-mnist',
)
def test_tiny_miniature_ladder_end_to_end(tmp_path, monkeypatch, capsys):
    """2 rungs x 1 seed on a few hundred real images: data, the classifier with its learning
    curve, Faster R-CNN and FCN, the report. One seed: the seed mechanics (intervals, pairing)
    are the synthetic ladders' tests; each seed here would add six step processes."""
    from tricks_mm.cli.ladder import main as ladder_main

    ladder = tmp_path / 'tiny_miniature.py'
    loaders = (
        "'train_dataloader.num_workers': 0, 'val_dataloader.num_workers': 0, "
        "'train_dataloader.persistent_workers': False, 'val_dataloader.persistent_workers': False"
    )
    ladder.write_text(
        textwrap.dedent(
            f"""
            ladder = dict(
                name='tiny_miniature',
                fashion_mnist_data=dict(out='data/fashion_mnist', seed=0, cls_train=300,
                                        cls_val=100, det_train=16, det_test=8, seg_train=8,
                                        seg_val=4, scene_size=96),
                seeds=[0],
                classify=dict(overlays=['{REPO}/configs/miniature/classification.py'],
                              epoch_scale=2 / 120, auto_scale_lr=True, val_interval=1,
                              cfg_options={{'train_dataloader.batch_size': 32, {loaders}}}),
                detect=dict(config='{REPO}/configs/miniature/faster-rcnn_botr18-d-fpn_fmnist-voc.py',
                            cfg_options={{'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
                                         'param_scheduler.1.milestones': [1], {loaders}}}),
                segment=dict(config='{REPO}/configs/miniature/fcn_botr18-d-d8_fmnist-ade.py',
                             cfg_options={{'train_cfg.max_iters': 4, 'train_cfg.val_interval': 4,
                                          'param_scheduler.0.end': 4, {loaders}}}),
                rungs=[
                    dict(name='no pretraining'),
                    dict(name='D cosine',
                         cls_config='{REPO}/configs/classification/resnet50d_cosine_8xb128_in1k.py'),
                ])
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    paths = ladder_main([str(ladder)])
    report = Path(paths['md']).read_text()
    assert 'D cosine' in report and 'no pretraining' in report
    # the classifier validated at each of its 2 epochs: two accuracy points in its log
    logs = sorted((tmp_path / 'work_dirs' / 'tiny_miniature').rglob('scalars.json'))
    val_points = [
        line for log in logs for line in log.read_text().splitlines() if 'accuracy/top1' in line
    ]
    assert len(val_points) >= 2  # 2 epochs (the final test adds none here)
    # the record keeps the curve; its last point is the final model on the same images as the
    # step's test (test_dataloader = val_dataloader), so it equals the recorded top-1
    book = RecordBook(str(tmp_path / 'work_dirs' / 'tiny_miniature'))
    record = book.all()['seed0-d-cosine-classify']
    assert record['epochs'] == 2 and [e for e, _ in record['val_curve']] == [1, 2]
    assert record['val_curve'][-1][1] == pytest.approx(record['metrics']['accuracy/top1'], abs=1e-9)
    assert '## Did the classifiers converge?' in report and Path(paths['curves']).is_file()


@pytest.mark.parametrize('value', [0, 'every', True, 1.5])
def test_bad_val_interval_is_refused_with_the_field_named(tmp_path, value):
    ladder = tmp_path / 'bad.py'
    ladder.write_text(
        f"ladder = dict(classify=dict(val_interval={value!r}), rungs=[dict(name='x')],\n"
        f"    detect=dict(config='{MINI}/faster-rcnn_botr18-d-fpn_fmnist-voc.py'),\n"
        f"    segment=dict(config='{MINI}/fcn_botr18-d-d8_fmnist-ade.py'))\n"
    )
    with pytest.raises(ValueError, match='ladder.classify.val_interval must be an int >= 1'):
        load_ladder(str(ladder))


def test_without_val_interval_the_step_does_not_validate(monkeypatch):
    """The other ladders keep their single final evaluation."""
    monkeypatch.chdir(REPO)
    spec = load_ladder(str(REPO / 'configs' / 'ladders' / 'toy_section6.py'))
    cfg = classification_config(_rung(spec, '+ cosine'), spec.classify, seed=0)
    assert cfg.val_dataloader is None and cfg.val_cfg is None
