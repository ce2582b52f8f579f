"""A ladder's generated data is what its steps read and is part of their keys; step ids and seeds
that would share a directory are refused at load."""

import os
import os.path as osp
import textwrap

import pytest
import torch
from _fake_steps import fake_processes
from mmengine.config import Config

from tricks_mm.cli import ladder as cli_ladder
from tricks_mm.datasets.synthetic import DEFAULT_SIZES, GENERATOR_VERSION
from tricks_mm.ladder import orchestrate
from tricks_mm.ladder import plan as plan_module
from tricks_mm.ladder.data import ENV_VAR
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.spec import load_ladder

_LADDER = """
ladder = dict(name='data', seeds={seeds},
    synthetic_data=dict(out='{out}', seed={data_seed}, det_train={det_train}),
    classify=dict(overlays=['{repo}/configs/toy/classification.py'], epoch_scale=0.1,
                  auto_scale_lr=True),
    detect=dict(config='{detect}'),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
    rungs=[dict(name='control'),
           dict(name='D cosine',
                cls_config='{repo}/configs/classification/resnet50d_cosine_8xb128_in1k.py')])
"""


def _write(tmp_path, repo, **fields) -> str:
    values = dict(
        seeds=[0],
        out=str(tmp_path / 'data_d1'),
        data_seed=0,
        det_train=4,
        repo=repo,
        detect=f'{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py',
    )
    values.update(fields)
    path = tmp_path / 'ladder.py'
    path.write_text(textwrap.dedent(_LADDER.format(**values)))
    return str(path)


@pytest.fixture
def no_generation(monkeypatch):
    """Record what the ladder asks the generator for instead of generating it; convert writes
    an empty backbone (the fake classifier checkpoint holds nothing to convert)."""

    def convert(checkpoint, out, config, top1):
        torch.save({}, out)
        return dict(architecture=dict(depth=18, variant='d'))

    monkeypatch.setattr(plan_module, 'convert_classifier', convert)
    asked = []
    monkeypatch.setattr(orchestrate, 'prepare_data', lambda spec: asked.append(spec.synthetic_data))
    monkeypatch.setattr(orchestrate, 'report', lambda *args, **kwargs: {})
    return asked


def _data_roots(config_path: str):
    cfg = Config.fromfile(config_path)
    loader = cfg.train_dataloader['dataset']
    inner = loader.get('datasets', [loader])  # Faster R-CNN trains on VOC07 + VOC12 concatenated
    return [d['data_root'] for d in inner] + [cfg.test_dataloader['dataset']['data_root']]


def test_every_step_reads_the_out_the_ladder_generates(tmp_path, repo, monkeypatch, no_generation):
    fake_processes(monkeypatch)
    monkeypatch.delenv(ENV_VAR, raising=False)
    out = str(tmp_path / 'data_d1')
    work = str(tmp_path / 'wd')
    cli_ladder.main([_write(tmp_path, repo, out=out), '--work-dir', work])
    assert [d['out'] for d in no_generation] == [out]
    expected = {
        'classify': [f'{out}/cls', f'{out}/cls'],
        'detect': [f'{out}/det/VOCdevkit/'] * 3,
        'segment': [f'{out}/seg', f'{out}/seg'],
    }
    for rung in ('control', 'd-cosine'):
        for kind, roots in expected.items():
            config = osp.join(work, 'seed0', rung, kind, 'config.py')
            if rung == 'control' and kind == 'classify':
                assert not osp.exists(config)
                continue
            assert _data_roots(config) == roots, (rung, kind)
    # the classification file list too (classes.txt under the data root)
    cls = Config.fromfile(osp.join(work, 'seed0', 'd-cosine', 'classify', 'config.py'))
    assert cls.train_dataloader.dataset.classes == f'{out}/cls/classes.txt'
    assert ENV_VAR not in os.environ  # set while loading configs only


def test_a_config_reading_other_data_is_refused(tmp_path, repo, monkeypatch, no_generation):
    fake_processes(monkeypatch)
    # the paper-scale detection config reads data/VOCdevkit/, not the generated suite
    detect = f'{repo}/configs/detection/faster-rcnn_botr50-d-fpn_1x_voc0712.py'
    path = _write(tmp_path, repo, detect=detect)
    with pytest.raises(
        ValueError,
        match=r'voc0712\.py: train_dataloader\.dataset\.dataset\.datasets\[0\]\.data_root is '
        r"'data/VOCdevkit/', but the ladder prepares its data at '",
    ):
        cli_ladder.main([path, '--work-dir', str(tmp_path / 'wd')])


@pytest.mark.parametrize(
    'change', [dict(data_seed=1), dict(det_train=6), dict(out='OTHER')], ids=str
)
def test_changed_data_reruns_every_step(tmp_path, repo, monkeypatch, no_generation, change):
    commands = fake_processes(monkeypatch)
    work = str(tmp_path / 'wd')
    if change.get('out') == 'OTHER':
        change = dict(out=str(tmp_path / 'data_d2'))

    def ladder(**fields):
        commands.clear()
        cli_ladder.main([_write(tmp_path, repo, **fields), '--work-dir', work])
        return len(commands)

    # control: detect + segment; D cosine: classify + detect + segment (convert runs in-process)
    assert ladder() == 5
    first = RecordBook(work).all()
    assert ladder() == 0  # same data: every step skipped
    assert ladder(**change) == 5  # other data: every step that reads data reruns
    second = RecordBook(work).all()
    assert len(first) == 6 and set(first) == set(second)
    for step_id in first:
        changed = first[step_id]['config_key'] != second[step_id]['config_key']
        # convert reads the classifier file only: a new location of the same data (and the
        # same classifier bytes) is no reason to convert again; new data is
        assert changed == (not step_id.endswith('-convert') or 'out' not in change), step_id


def test_the_key_holds_the_generators_version_seed_and_sizes(tmp_path, repo):
    from tricks_mm.ladder.data import data_identity

    spec = load_ladder(_write(tmp_path, repo, data_seed=3, det_train=6))
    assert data_identity(spec.synthetic_data) == dict(
        generator='tricks_mm.datasets.synthetic',
        version=GENERATOR_VERSION,
        seed=3,
        sizes={**DEFAULT_SIZES, 'det_train': 6},
    )


@pytest.mark.parametrize(
    'fields, match',
    [
        (dict(seeds=[0, 1, 0]), r'ladder\.seeds repeats \[0\] \(\[0, 1, 0\]\)'),
        (dict(det_train=1), r'ladder\.synthetic_data: det_train must be an int >= 2, got 1'),
        (dict(out='data/a b'), r"synthetic_data\.out 'data/a b' contains whitespace"),
    ],
)
def test_repeated_seeds_and_bad_data_are_refused_at_load(tmp_path, repo, fields, match):
    with pytest.raises(ValueError, match=match):
        load_ladder(_write(tmp_path, repo, **fields))


def test_rung_names_with_one_step_id_are_refused_naming_both(tmp_path, repo):
    path = tmp_path / 'ladder.py'
    path.write_text(
        'ladder = dict('
        f"detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),"
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),"
        "rungs=[dict(name='control'), dict(name='+ cosine'), dict(name='Cosine')])"
    )
    with pytest.raises(
        ValueError, match=r"'\+ cosine' / 'Cosine' give the same step id \('cosine'"
    ):
        load_ladder(str(path))


_FASHION = """
ladder = dict(name='fm', seeds=[0], {data},
    classify=dict(overlays=['{repo}/configs/miniature/classification.py'], epoch_scale=0.1,
                  auto_scale_lr=True),
    detect=dict(config='{repo}/configs/miniature/faster-rcnn_botr18-d-fpn_fmnist-voc.py'),
    segment=dict(config='{repo}/configs/miniature/fcn_botr18-d-d8_fmnist-ade.py'),
    rungs=[dict(name='control')])
"""


def _fashion_control_key(tmp_path, repo, data: str) -> str:
    from tricks_mm.ladder.plan import LadderPlan
    from tricks_mm.ladder.step import Step

    path = tmp_path / 'fm.py'
    path.write_text(textwrap.dedent(_FASHION.format(repo=repo, data=data)))
    spec = load_ladder(str(path), str(tmp_path / 'wd'))
    plan = LadderPlan(spec)
    return plan.prepare(Step(0, spec.rungs[0], 'detect')).key


def test_the_fashion_mnist_miniature_enters_every_key_and_its_out_is_what_configs_read(
    tmp_path, repo, monkeypatch
):
    """The miniature's preparation (version, seed, sizes) is in each step key like the
    synthetic suite's; an ``out`` its configs do not read is refused; one data source only."""
    from tricks_mm.datasets.fashion_mnist import DEFAULT_SIZES as FM_SIZES
    from tricks_mm.datasets.fashion_mnist.prepare import PREPARE_VERSION
    from tricks_mm.ladder.data import data_identity

    monkeypatch.chdir(repo)  # the miniature configs read data/fashion_mnist of the checkout
    assert data_identity(None, dict(out='x', seed=3, det_train=50)) == dict(
        generator='tricks_mm.datasets.fashion_mnist',
        version=PREPARE_VERSION,
        seed=3,
        sizes={**FM_SIZES, 'det_train': 50},
    )
    base = "fashion_mnist_data=dict(out='data/fashion_mnist', seed=0)"
    key = _fashion_control_key(tmp_path, repo, base)
    assert key == _fashion_control_key(tmp_path, repo, base)
    assert key != _fashion_control_key(tmp_path, repo, base.replace('seed=0', 'seed=1'))
    assert key != _fashion_control_key(tmp_path, repo, base.replace('seed=0', 'det_train=50'))
    with pytest.raises(ValueError, match=r"data_root is 'data/fashion_mnist/det.*elsewhere"):
        _fashion_control_key(tmp_path, repo, base.replace("'data/fashion_mnist'", "'elsewhere'"))
    with pytest.raises(ValueError, match='det_train must be an int >= 2'):
        _fashion_control_key(tmp_path, repo, base.replace('seed=0', 'det_train=1'))
    with pytest.raises(ValueError, match='a ladder reads one data source'):
        _fashion_control_key(
            tmp_path, repo, base + ", synthetic_data=dict(out=str('data/synthetic'))"
        )
