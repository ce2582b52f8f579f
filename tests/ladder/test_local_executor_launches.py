"""The launches the plan gives its steps: an imported classifier is evaluated as the classify
task's steps are launched, and a multi-node torchrun (whose rendezvous the ladder would start
on one node only) is refused, naming the Slurm executor."""

import sys

import pytest
from _fake_steps import fake_processes

from tricks_mm.ladder import plan as plan_module
from tricks_mm.ladder.plan import LadderPlan, StepRuntime
from tricks_mm.ladder.spec import load_ladder, make_launch
from tricks_mm.ladder.step import Step

_LADDER = """
ladder = dict(
    seeds=[0],
    classify=dict(config='{repo}/configs/classification/resnet50d_cosine_8xb128_in1k.py',
                  overlays=['{repo}/configs/toy/classification.py'],
                  launch=dict(launcher='pytorch', nproc_per_node=2)),
    detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
    segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
    rungs=[dict(name='published', checkpoint='{checkpoint}', source='timm', top1=80.0)],
)
"""


def test_an_imported_classifier_is_evaluated_with_the_classify_launch(repo, tmp_path, monkeypatch):
    checkpoint = tmp_path / 'published.pth'
    checkpoint.write_bytes(b'weights')
    ladder_file = tmp_path / 'ladder.py'
    ladder_file.write_text(_LADDER.format(repo=repo, checkpoint=checkpoint))
    spec = load_ladder(str(ladder_file), str(tmp_path / 'wd'))
    assert spec.launch.launcher == 'none'  # the ladder's own launch differs from classify's

    def import_classifier(path, out, source, arch, top1, ema, config_out):
        open(out, 'wb').close()
        with open(config_out, 'w') as f:
            f.write("model = dict(type='ImageClassifier')\ndata_preprocessor = dict(mean=[0.0])\n")
        # the meta import_classifier returns: a classifier with its head
        return dict(source=source, provenance=dict(top1_kind='published'))

    monkeypatch.setattr(plan_module, 'import_classifier', import_classifier)
    commands = fake_processes(monkeypatch)
    planned = LadderPlan(spec).prepare(Step(0, spec.rungs[0], 'classify'))
    record = planned.run(StepRuntime())
    step_dir = tmp_path / 'wd' / 'seed0' / 'published' / 'classify'
    assert commands == [
        [
            sys.executable,
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            '--nnodes=1',
            '-m',
            'tricks_mm.cli.test',
            str(step_dir / 'eval_config.py'),
            str(step_dir / 'classifier.pth'),
            '--work-dir',
            str(step_dir / 'test'),
            '--out-metrics',
            str(step_dir / 'metrics.json'),
            '--launcher',
            'pytorch',
        ]
    ]
    assert record['top1_kind'] == 'evaluated'


def test_multi_node_torchrun_is_refused_naming_the_slurm_executor():
    with pytest.raises(
        ValueError,
        match=r"ladder.detect.launch: launcher='pytorch' with nnodes=2: the ladder starts "
        r'torchrun on one node only; run multi-node steps as Slurm jobs \(--executor slurm\) '
        r"with launcher='slurm'",
    ):
        make_launch(dict(launcher='pytorch', nnodes=2), 'ladder.detect.launch')
    # one node, or srun across nodes, stay allowed
    assert make_launch(dict(launcher='pytorch', nproc_per_node=8), 'x').world_size == 8
    assert make_launch(dict(launcher='slurm', nnodes=2, nproc_per_node=8), 'x').world_size == 16
