"""Ladder rungs from published checkpoints: imported instead of trained, then detect + segment.

The stand-ins are tiny random classifiers written by timm and mmpretrain themselves, at the toy
configs' width (stem 32, stages 32-64-128-256), so the toy detector and segmentor load them.
"""

import copy
import os
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from timm.models.resnet import BasicBlock, ResNet

from tricks_mm.cli.ladder import main as ladder_main
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.spec import load_ladder

_LADDER = """
ladder = dict(
    name='published',
    seeds=[0],
    detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py',
                cfg_options={{'train_cfg.max_epochs': 1, 'train_dataloader.num_workers': 0,
                             'val_dataloader.num_workers': 0}}),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py',
                 cfg_options={{'train_cfg.max_iters': 4, 'train_cfg.val_interval': 4,
                              'param_scheduler.0.end': 4,
                              'train_dataloader.num_workers': 0,
                              'val_dataloader.num_workers': 0}}),
    rungs=[
        # (no arch: the names mean the published widths, e.g. resnet18d = a 64-wide stem)
        dict(name='timm R18-D', checkpoint='{timm}', source='timm', top1=71.5),
        dict(name='mmpretrain R18-C', checkpoint='{mmpretrain}'),
    ])
"""
#: a convention unlike any default, to see it reach the downstream data preprocessors
_MMPRETRAIN_NORM = dict(mean=[100.0, 110.0, 120.0], std=[60.0, 61.0, 62.0], to_rgb=True)


def _stand_ins(root: Path):
    torch.manual_seed(0)
    timm_model = ResNet(
        BasicBlock,
        [2, 2, 2, 2],
        num_classes=6,
        stem_width=16,
        stem_type='deep',
        avg_down=True,
        channels=(32, 64, 128, 256),
    )
    timm_file = root / 'timm_r18d.pth'
    torch.save(timm_model.state_dict(), timm_file)
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=32, base_channels=32),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=6, in_channels=256),
    )
    model = MMPRETRAIN_MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    mm_file = root / 'mmpretrain_r18c.pth'
    text = Config(dict(model=cfg, data_preprocessor=dict(num_classes=6, **_MMPRETRAIN_NORM)))
    save_checkpoint(
        dict(state_dict=model.state_dict(), meta=dict(cfg=text.pretty_text)), str(mm_file)
    )
    return timm_file, mm_file


@pytest.mark.slow
def test_checkpoint_rungs_import_then_detect_and_segment(in_workspace, repo, capsys):
    timm_file, mm_file = _stand_ins(in_workspace)
    ladder_file = in_workspace / 'published.py'
    ladder_file.write_text(_LADDER.format(repo=repo, timm=timm_file, mmpretrain=mm_file))
    paths = ladder_main([os.fspath(ladder_file)])
    out = capsys.readouterr().out
    assert 'step 1/8: classify' in out and 'step 8/8: segment' in out
    records = RecordBook('work_dirs/published').all()
    assert sorted(records) == sorted(
        f'seed0-{r}-{k}'
        for r in ('timm-r18-d', 'mmpretrain-r18-c')
        for k in ('classify', 'convert', 'detect', 'segment')
    )
    imported = records['seed0-timm-r18-d-classify']
    assert imported['metrics'] == {'accuracy/top1': 71.5}
    assert imported['top1_kind'] == 'published'
    assert imported['provenance']['provenance']['source_library'] == 'timm'
    assert records['seed0-mmpretrain-r18-c-classify']['metrics'] == {}
    for rung, norm in (
        ('timm-r18-d', dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])),
        ('mmpretrain-r18-c', _MMPRETRAIN_NORM),
    ):
        backbone = records[f'seed0-{rung}-convert']['outputs']['backbone']
        assert records[f'seed0-{rung}-convert']['provenance']['architecture']['depth'] == 18
        for task, metric in (('detect', 'voc07/mAP'), ('segment', 'mIoU')):
            record = records[f'seed0-{rung}-{task}']
            assert record['inputs'] == [backbone] and metric in record['metrics']
            # the data preprocessor follows the checkpoint's input convention
            pre = Config.fromfile(record['outputs']['config']).model.data_preprocessor
            assert pre.mean == pytest.approx(norm['mean'], abs=1e-3)
            assert pre.std == pytest.approx(norm['std'], abs=1e-3) and pre.bgr_to_rgb
    report = Path(paths['md']).read_text()
    assert '| timm R18-D | 71.50 (published) |' in report
    assert '| mmpretrain R18-C | - |' in report


def test_checkpoint_rungs_are_validated_before_anything_runs(tmp_path, repo):
    base = (
        f"detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'), "
        f"segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'), "
    )
    bad = tmp_path / 'bad.py'
    cases = [
        (
            "dict(name='x', checkpoint='checkpoints/nope.pth')",
            r"checkpoint 'checkpoints/nope.pth' does not exist; download it",
        ),
        (f"dict(name='x', checkpoint='{bad}', cls_config='{bad}')", 'both cls_config and'),
        (f"dict(name='x', checkpoint='{bad}', source='keras')", "got 'keras'"),
        ("dict(name='x', arch='resnet50d')", r"sets \['arch'\] but no checkpoint"),
    ]
    for rung, match in cases:
        bad.write_text(f'ladder = dict({base}rungs=[{rung}])')
        with pytest.raises(ValueError, match=match):
            load_ladder(os.fspath(bad))


def test_published_ladder_names_its_missing_files(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    if Path('checkpoints/resnet50-0676ba61.pth').exists():
        pytest.skip('the published checkpoints are present')
    with pytest.raises(ValueError, match=r'torchvision R50 V1.*resnet50-0676ba61\.pth'):
        load_ladder('configs/ladders/published_section6.py', os.fspath(tmp_path))


@pytest.mark.parametrize('follow', [True, False])
def test_published_teacher_sets_the_students_normalisation(tmp_path, repo, follow):
    """A published teacher saw timm's input convention; the distilled student must feed it the
    same, which BoTDistillClassifier itself checks when it is built."""
    import timm

    from tricks_mm.ladder.materialize import classification_config
    from tricks_mm.ladder.spec import Rung, TaskSpec
    from tricks_mm.transfer.importers import import_classifier

    torch.save(timm.create_model('resnet18d', num_classes=6).state_dict(), tmp_path / 't.pth')
    meta = import_classifier(str(tmp_path / 't.pth'), str(tmp_path / 'teacher.pth'))
    teacher = dict(config=meta['config_file'], checkpoint=str(tmp_path / 'teacher.pth'))
    if follow:  # what the ladder passes for an imported teacher rung
        teacher['normalization'] = meta['input_normalization']
    rung = Rung(
        name='student',
        cls_config=str(repo / 'configs/classification/resnet50d_cosine_ls_distill_8xb128_in1k.py'),
    )
    cfg = classification_config(
        rung, TaskSpec(overlays=[str(repo / 'configs/toy/classification.py')]), 0, teacher
    )
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.data_preprocessor = cfg.data_preprocessor
    if not follow:  # the paper's mean/std against timm's: refused by the classifier
        with pytest.raises(ValueError, match='normalise differently'):
            MMPRETRAIN_MODELS.build(model_cfg)
        return
    assert cfg.data_preprocessor.mean == pytest.approx([123.675, 116.28, 103.53])
    assert cfg.data_preprocessor.std == pytest.approx([58.395, 57.12, 57.375])
    MMPRETRAIN_MODELS.build(model_cfg)


@pytest.mark.slow
def test_checkpoint_rung_is_evaluated_when_a_classification_set_is_configured(in_workspace, repo):
    """With ``ladder.classify.config`` the imported classifier's top-1 is measured, and equals
    the timm model's own accuracy on the same images (normalised by hand, timm's way)."""
    from mmpretrain.registry import DATASETS

    from tricks_mm.ladder.plan import LadderPlan, StepRuntime
    from tricks_mm.ladder.step import Step

    timm_file, _ = _stand_ins(in_workspace)
    ladder_file = in_workspace / 'evaluated.py'
    ladder_file.write_text(
        _LADDER.format(repo=repo, timm=timm_file, mmpretrain=timm_file).replace(
            'seeds=[0],',
            f"seeds=[0], classify=dict(config='{repo}/configs/classification/"
            f"resnet50d_cosine_8xb128_in1k.py', "
            f"overlays=['{repo}/configs/toy/classification.py']),",
        )
    )
    spec = load_ladder(os.fspath(ladder_file))
    planned = LadderPlan(spec).prepare(Step(0, spec.rungs[0], 'classify'))
    assert planned.record is None  # not run before: it runs now
    record = planned.run(StepRuntime())
    assert record['top1_kind'] == 'evaluated'

    eval_cfg = Config.fromfile(
        os.path.join(os.path.dirname(record['outputs']['checkpoint']), 'eval_config.py')
    )
    dataset = DATASETS.build(eval_cfg.test_dataloader.dataset)
    timm_model = ResNet(
        BasicBlock,
        [2, 2, 2, 2],
        num_classes=6,
        stem_width=16,
        stem_type='deep',
        avg_down=True,
        channels=(32, 64, 128, 256),
    )
    timm_model.load_state_dict(torch.load(timm_file), strict=True)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    correct = 0
    for i in range(len(dataset)):
        item = dataset[i]
        rgb = item['inputs'].float().flip(0) / 255  # mmcv loads BGR
        x = ((rgb - mean[:, None, None]) / std[:, None, None])[None]
        with torch.no_grad():
            correct += int(
                timm_model.eval()(x).argmax(1).item() == int(item['data_samples'].gt_label)
            )
    assert len(dataset) == 12
    assert record['metrics']['accuracy/top1'] == pytest.approx(100 * correct / len(dataset))


def test_published_ladder_is_valid_once_its_files_are_there(repo, tmp_path, monkeypatch):
    """With (empty stand-in) files in checkpoints/, the shipped ladder validates: every rung
    names an existing file, a known source and an architecture name the importer parses."""
    from tricks_mm.transfer.importers.naming import parse_arch

    (tmp_path / 'configs').symlink_to(repo / 'configs')
    (tmp_path / 'checkpoints' / 'timm').mkdir(parents=True)
    for name in ('resnet50-0676ba61.pth', 'resnet50-11ad3fa6.pth') + tuple(
        f'timm/{m}.safetensors'
        for m in (
            'resnet50.gluon_in1k',
            'resnet50c.gluon_in1k',
            'resnet50d.gluon_in1k',
            'resnet50d.a1_in1k',
        )
    ):
        (tmp_path / 'checkpoints' / name).touch()
    monkeypatch.chdir(tmp_path)
    spec = load_ladder('configs/ladders/published_section6.py', os.fspath(tmp_path / 'wd'))
    rungs = [r for r in spec.rungs if r.checkpoint]
    assert len(rungs) == 6 and spec.rungs[0].name == 'no pretraining'
    assert {r.source for r in rungs} == {'torchvision', 'timm'}
    assert [(parse_arch(r.arch).depth, parse_arch(r.arch).variant) for r in rungs] == [
        (50, 'b'),
        (50, 'b'),
        (50, 'b'),
        (50, 'c'),
        (50, 'd'),
        (50, 'd'),
    ]
    assert all(r.top1 is not None for r in rungs)


def test_a_headless_checkpoint_rung_transfers_without_top1_and_cannot_teach(
    in_workspace, repo, monkeypatch
):
    """A backbone without a classifier head (timm ``num_classes=0``) is imported for transfer:
    no top-1 is evaluated even where the ladder evaluates top-1 (nothing is launched), the
    report's top-1 cell says why, and a student that distils from it is refused with the
    reason (issue 22)."""
    from tricks_mm.ladder import launch
    from tricks_mm.ladder.plan import LadderPlan, StepRuntime
    from tricks_mm.ladder.report import write_report
    from tricks_mm.ladder.step import Step

    torch.manual_seed(0)
    headless = ResNet(
        BasicBlock,
        [2, 2, 2, 2],
        num_classes=0,
        stem_width=16,
        stem_type='deep',
        avg_down=True,
        channels=(32, 64, 128, 256),
    )
    backbone_file = in_workspace / 'headless_r18d.pth'
    torch.save(headless.state_dict(), backbone_file)
    assert not any(k.startswith('fc.') for k in headless.state_dict())
    student = f'{repo}/configs/classification/resnet50d_cosine_ls_distill_8xb128_in1k.py'
    ladder_file = in_workspace / 'headless.py'
    ladder_file.write_text(
        _LADDER.format(repo=repo, timm=backbone_file, mmpretrain=backbone_file)
        .replace(
            'seeds=[0],',
            f"seeds=[0], classify=dict(config='{repo}/configs/classification/"
            f"resnet50d_cosine_8xb128_in1k.py', "
            f"overlays=['{repo}/configs/toy/classification.py']),",
        )
        .replace(
            ', top1=71.5),',
            "),\n        dict(name='student', cls_config='" + student + "', teacher='timm R18-D'),",
        )
    )

    def no_launch(*args, **kwargs):
        raise AssertionError('a headless checkpoint has no top-1 to evaluate')

    monkeypatch.setattr(launch, 'run_logged', no_launch)
    spec = load_ladder(os.fspath(ladder_file))
    plan = LadderPlan(spec)
    teacher = Step(0, spec.rungs[0], 'classify')
    record = plan.prepare(teacher).run(StepRuntime())
    assert record['top1_kind'] == 'no classifier head' and record['metrics'] == {}
    plan.results[teacher.step_id] = record
    with pytest.raises(ValueError, match="timm R18-D'.*no classifier head: distillation needs"):
        plan.prepare(Step(0, next(r for r in spec.rungs if r.name == 'student'), 'classify'))

    text = open(write_report(spec, {teacher.step_id: record}, code={})['md']).read()
    row = next(line for line in text.splitlines() if line.startswith('| timm R18-D |'))
    assert row.split('|')[2].strip() == 'no classifier head'
