"""Two-process training on CPU (torchrun + gloo) for each host, and through the slurm launcher:
both ranks train on disjoint shards, end with identical weights, the LR follows the total batch
(--auto-scale-lr), and only rank 0 writes checkpoints."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tricks_mm.datasets.synthetic import generate_suite
from tricks_mm.engine.safe_checkpoint import safe_torch_load

pytestmark = pytest.mark.distributed

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TINY = dict(
    num_classes=6,
    cls_train_per_class=4,
    cls_val_per_class=1,
    cls_size=32,
    det_train=4,
    det_test=1,
    seg_train=8,
    seg_val=1,
    scene_size=64,
)
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
# A guard against a hang, not a time goal: the five two-rank runs start together on a 2-core
# machine, so each takes minutes of wall time when the machine is slow or busy (a 60 s limit
# once cut the NaN run mid-way while the other runs were still starting).
HANG_LIMIT = 300


@pytest.fixture(scope='module')
def suite(tmp_path_factory):
    return generate_suite(tmp_path_factory.mktemp('dist') / 'synthetic', seed=0, quiet=True, **TINY)


@pytest.fixture(scope='module')
def probe_overlay(tmp_path_factory):
    path = tmp_path_factory.mktemp('overlay') / 'probe.py'
    path.write_text(
        "custom_imports = dict(imports=['_rank_probe'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='RankProbeHook')]\n"
    )
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class _Run:
    """One ``torchrun --nproc_per_node=2 -m tricks_mm.cli.train`` in the background."""

    def __init__(
        self,
        args,
        work_dir: Path,
        limit: int = HANG_LIMIT,
        module: str = 'tricks_mm.cli.train',
        launcher=True,
    ):
        work_dir.mkdir(parents=True)
        self.work_dir, self.limit = work_dir, limit
        self.log = work_dir.parent / f'{work_dir.name}.out'
        cmd = [
            'timeout',
            '-k',
            '5',
            str(limit),
            sys.executable,
            '-m',
            'torch.distributed.run',
            '--nnodes=1',
            '--nproc_per_node=2',
            '--master_addr=127.0.0.1',
            f'--master_port={_free_port()}',
            '-m',
            module,
            *args,
        ]
        if launcher:
            cmd += ['--launcher', 'pytorch', '--work-dir', str(work_dir)]
        env = dict(
            os.environ,
            OMP_NUM_THREADS='1',
            PYTHONWARNINGS='ignore',
            PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get('PYTHONPATH', '')]),
        )
        with open(self.log, 'w') as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def finish(self) -> None:
        try:
            self.proc.wait(timeout=self.limit + 15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def output(self) -> str:
        """The run's output; fails the test, with the output's tail, unless it succeeded."""
        self.finish()
        out = self.log.read_text()
        assert self.proc.returncode == 0, (
            f'torchrun failed ({self.proc.returncode}):\n{out[-6000:]}'
        )
        return out


class _SlurmRun(_Run):
    """Two ``tricks_mm.cli.train --launcher slurm`` processes with the variables ``srun`` would
    set (``MASTER_ADDR`` given, as on a cluster without ``scontrol`` in the test)."""

    def __init__(self, args, work_dir: Path, limit: int = HANG_LIMIT):
        work_dir.mkdir(parents=True)
        self.work_dir, self.limit = work_dir, limit
        self.log = work_dir.parent / f'{work_dir.name}.out'
        port = str(_free_port())
        self.procs = []
        for rank in (0, 1):
            env = dict(
                os.environ,
                OMP_NUM_THREADS='1',
                PYTHONWARNINGS='ignore',
                SLURM_PROCID=str(rank),
                SLURM_LOCALID=str(rank),
                SLURM_NTASKS='2',
                SLURM_NODELIST='localhost',
                MASTER_ADDR='127.0.0.1',
                MASTER_PORT=port,
                PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get('PYTHONPATH', '')]),
            )
            for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
                env.pop(key, None)
            cmd = [
                'timeout',
                '-k',
                '5',
                str(limit),
                sys.executable,
                '-m',
                'tricks_mm.cli.train',
                *args,
                '--launcher',
                'slurm',
                '--work-dir',
                str(work_dir),
            ]
            out = open(self.log if rank == 0 else f'{self.log}.rank1', 'w')
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=REPO,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self.proc = self.procs[0]

    def finish(self) -> None:
        for proc in self.procs:
            try:
                proc.wait(timeout=self.limit + 15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def output(self) -> str:
        self.finish()
        out = self.log.read_text()
        codes = [p.returncode for p in self.procs]
        assert codes == [0, 0], (
            f'slurm ranks failed {codes}:\n{out[-6000:]}\n'
            + Path(f'{self.log}.rank1').read_text()[-3000:]
        )
        return out


def _probes(work_dir: Path):
    probes = [json.loads((work_dir / f'probe_rank{r}.json').read_text()) for r in (0, 1)]
    assert [p['rank'] for p in probes] == [0, 1]
    assert all(p['world_size'] == 2 and p['ddp'] for p in probes)
    return probes


def _check_common(work_dir: Path, probes, iters: int, per_rank_batch: int, expected_ckpt: str):
    # both ranks ran every iteration, on disjoint shards of the same size
    assert [len(p['iters']) for p in probes] == [iters, iters]
    assert all(len(batch) == per_rank_batch for p in probes for batch in p['iters'])
    seen = [{path for batch in p['iters'] for path in batch} for p in probes]
    assert len(seen[0]) == len(seen[1]) > 0 and not seen[0] & seen[1]
    # DDP kept the replicas identical
    assert probes[0]['checksum'] == probes[1]['checksum']
    # only rank 0 saved; the work dir holds exactly the expected checkpoint
    assert probes[0]['saves'] >= 1 and probes[1]['saves'] == 0
    assert sorted(p.name for p in work_dir.glob('*.pth')) == [expected_ckpt]
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith(expected_ckpt)
    return seen


CLS_BATCH = 3  # per rank: 24 training images / (2 ranks x 3) = 4 iterations


@pytest.fixture(scope='module')
def runs(suite, probe_overlay, tmp_path_factory):
    """Start the three runs together (the machine has spare cycles while ranks import and
    rendezvous), then wait for all of them."""
    base = tmp_path_factory.mktemp('runs')
    cls_root = suite.cls_root
    cls_opts = [
        f'{loader}.dataset.{key}={value}'
        for loader in ('train_dataloader', 'test_dataloader')
        for key, value in (('data_root', cls_root), ('classes', f'{cls_root}/classes.txt'))
    ]
    cls_opts += [
        f'train_dataloader.batch_size={CLS_BATCH}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
    ]
    det_opts = [
        f'train_dataloader.dataset.datasets.{i}.data_root={suite.det_root}/' for i in (0, 1)
    ]
    det_opts += [
        'train_dataloader.batch_size=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
        'param_scheduler.0.end=2',
        'model.backbone.init_cfg=None',
    ]
    seg_opts = [
        f'train_dataloader.dataset.data_root={suite.seg_root}',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_iters=2',
        'param_scheduler.0.end=2',
        'model.backbone.init_cfg=None',
    ]
    started = dict(
        cls=_Run(
            [
                str(REPO / 'configs/classification/resnet50b_efficient_8xb128_in1k.py'),
                '--overlay',
                str(REPO / 'configs/toy/classification.py'),
                probe_overlay,
                '--auto-scale-lr',
                '--cfg-options',
                *cls_opts,
                *NO_VAL,
            ],
            base / 'cls',
        ),
        det=_Run(
            [
                str(REPO / 'configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
                '--overlay',
                probe_overlay,
                '--auto-scale-lr',
                '--cfg-options',
                *det_opts,
                *NO_VAL,
            ],
            base / 'det',
        ),
        seg=_Run(
            [
                str(REPO / 'configs/toy/fcn_botr18-d-d8_toy-ade.py'),
                '--overlay',
                probe_overlay,
                '--cfg-options',
                *seg_opts,
                *NO_VAL,
            ],
            base / 'seg',
        ),
        nan=_Run([str(base / 'nan')], base / 'nan', module='_nan_ddp', launcher=False),
        slurm=_SlurmRun(
            [
                str(REPO / 'configs/classification/resnet50b_efficient_8xb128_in1k.py'),
                '--overlay',
                str(REPO / 'configs/toy/classification.py'),
                probe_overlay,
                '--auto-scale-lr',
                '--cfg-options',
                *cls_opts,
                *NO_VAL,
            ],
            base / 'slurm',
        ),
    )
    for run in started.values():
        run.finish()
    return started


def test_classification_two_ranks_auto_scale_lr(runs):
    run = runs['cls']
    out = run.output()
    probes = _probes(run.work_dir)
    seen = _check_common(
        run.work_dir, probes, iters=4, per_rank_batch=CLS_BATCH, expected_ckpt='epoch_1.pth'
    )
    assert len(seen[0] | seen[1]) == 24  # together the ranks covered the epoch once
    # linear scaling: lr = 0.4 x (2 ranks x 3) / base batch (the toy overlay's reference: 64)
    expected_lr = 0.4 * (2 * CLS_BATCH) / 64
    assert 'current batch size is 6. Scaling the original LR by' in out
    assert [p['initial_lr'] for p in probes] == pytest.approx([expected_lr] * 2, rel=1e-9)
    ckpt = safe_torch_load(str(run.work_dir / 'epoch_1.pth'))
    assert ckpt['optimizer']['param_groups'][0]['initial_lr'] == pytest.approx(
        expected_lr, rel=1e-9
    )
    assert ckpt['meta']['iter'] == 4


def test_detection_two_ranks(runs):
    run = runs['det']
    out = run.output()
    probes = _probes(run.work_dir)
    # VOC2007 + VOC2012 trainval: 2 + 2 images, one per rank per iteration
    seen = _check_common(
        run.work_dir, probes, iters=2, per_rank_batch=1, expected_ckpt='epoch_1.pth'
    )
    assert len(seen[0] | seen[1]) == 4
    # the toy config's reference batch 4 (its lr 0.02 is for 4 images on one process):
    # lr = 0.02 x (2 x 1) / 4
    assert 'current batch size is 2. Scaling the original LR by 0.5' in out
    assert [p['initial_lr'] for p in probes] == pytest.approx([0.01] * 2, rel=1e-9)


def test_segmentation_two_ranks(runs):
    run = runs['seg']
    run.output()
    probes = _probes(run.work_dir)
    # 8 images: one pass of the infinite sampler, 2 iterations x 2 images per rank
    seen = _check_common(
        run.work_dir, probes, iters=2, per_rank_batch=2, expected_ckpt='iter_2.pth'
    )
    assert len(seen[0] | seen[1]) == 8
    # no --auto-scale-lr: the config's LR whatever the world size
    assert [p['initial_lr'] for p in probes] == pytest.approx([0.05, 0.05])


def test_nonfinite_loss_on_one_rank_skips_the_step_on_both(runs):
    run = runs['nan']
    run.output()
    records = [json.loads((run.work_dir / f'nan_rank{r}.json').read_text()) for r in (0, 1)]
    for record in records:
        assert record['skipped'] == 1 and record['bad_ranks'] == [0, 1, 0]
        assert record['weights'][1] == record['weights'][0]  # step 1 not applied
        assert record['weights'][2] != record['weights'][1]  # training went on
        assert all(w == w for ws in record['weights'] for w in ws)  # no NaN anywhere
    assert records[0]['weights'] == records[1]['weights']  # replicas still identical


def test_slurm_launcher_without_cuda(runs):
    """``--launcher slurm`` on CPU: mmengine's slurm init would call torch.cuda.set_device;
    tools/train.py builds the gloo group from slurm's variables instead."""
    run = runs['slurm']
    out = run.output()
    probes = _probes(run.work_dir)
    seen = _check_common(
        run.work_dir, probes, iters=4, per_rank_batch=CLS_BATCH, expected_ckpt='epoch_1.pth'
    )
    assert len(seen[0] | seen[1]) == 24
    assert 'current batch size is 6. Scaling the original LR by' in out
