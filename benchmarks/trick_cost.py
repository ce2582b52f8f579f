"""Cost of the paper's training refinements per step, as a ratio to plain cross entropy.

Each variant is an mmpretrain ``ImageClassifier`` (or tricks_mm ``BoTDistillClassifier``) with a
ResNet-18-D student (``tricks_mm.BoTResNet``), trained through ``model.train_step`` (data
preprocessor, forward, loss, backward, SGD Nesterov step) on the same in-memory batch:

- ``CE``: ``CrossEntropyLoss`` (the reference);
- ``label smoothing``: ``tricks_mm.BoTLabelSmoothLoss`` eps 0.1;
- ``mixup``: mmpretrain ``Mixup`` alpha 0.2 as batch augment (CE on the mixed target);
- ``distill (teacher R-k-D)``: ``tricks_mm.BoTDistillClassifier`` with a built ResNet-k-D
  classifier as teacher (``BoTDistillLoss``, T 20).

The variants run interleaved (blocks rotate every round). A distillation step adds one teacher
forward to a student forward + backward (about 3 student forwards of FLOPs), so the expected
ratio is ``1 + F_teacher / (3 F_student)`` with forward FLOPs counted by
``torch.utils.flop_counter.FlopCounterMode``; measured component times (student forward and
backward, teacher forward) explain where a difference comes from.
"""

import argparse
import copy
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from _common import (
    add_common_args,
    interleave,
    log,
    machine_info,
    machine_md,
    md_table,
    median,
    parser,
    publish,
    quiet_mmengine,
    set_threads,
    spread,
    sync,
)

MEAN, STD = [123.68, 116.779, 103.939], [58.393, 57.12, 57.375]


def classifier_cfg(
    depth: int, num_classes: int, loss: Optional[dict] = None, mixup: bool = False
) -> dict:
    """An mmpretrain ImageClassifier config with a ResNet-``depth``-D tricks_mm backbone."""
    width = 512 if depth < 50 else 2048
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='tricks_mm.BoTResNet', depth=depth, variant='d', out_indices=(3,)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=width,
            loss=loss or dict(type='CrossEntropyLoss', loss_weight=1.0),
        ),
        data_preprocessor=dict(
            type='ClsDataPreprocessor', mean=MEAN, std=STD, to_rgb=True, num_classes=num_classes
        ),
    )
    if mixup:
        cfg['train_cfg'] = dict(augments=dict(type='Mixup', alpha=0.2))
    return cfg


def build(cfg: dict, device: str, seed: int = 0) -> torch.nn.Module:
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    torch.manual_seed(seed)
    cfg = dict(cfg)
    teacher = cfg.pop('teacher', None)
    cfg = copy.deepcopy(cfg)
    if teacher is not None:
        cfg['teacher'] = teacher  # a built module: not deep-copied
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.to(device).train()


def make_batch(n: int, size: int, num_classes: int, device: str) -> dict:
    """A collated batch (``default_collate`` layout: uint8 ``(N, 3, H, W)`` + DataSamples)."""
    from mmpretrain.structures import DataSample

    g = torch.Generator().manual_seed(0)
    return dict(
        inputs=torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8).to(device),
        data_samples=[DataSample().set_gt_label(i % num_classes) for i in range(n)],
    )


def forward_flops(model: torch.nn.Module, size: int) -> int:
    """Forward FLOPs of one image (``mode='tensor'``: backbone + neck + head logits)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, size, size, device=next(model.parameters()).device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, mode='tensor')
    model.train(was_training)
    return counter.get_total_flops()


def _components(
    student: torch.nn.Module, teacher: torch.nn.Module, batch: dict, n: int, device: str
) -> Dict[str, float]:
    """Seconds of a student forward (train mode), its backward, and a teacher forward (eval,
    no_grad), on the preprocessed batch; min over ``n`` runs (the least disturbed one).
    Process CPU time on CPU, wall clock on a GPU (see ``_common``)."""
    clock = time.perf_counter if device.startswith('cuda') else time.process_time
    x = student.data_preprocessor(copy.deepcopy(batch), True)['inputs']
    out: Dict[str, List[float]] = {
        'student forward': [],
        'student backward': [],
        'teacher forward': [],
    }
    for _ in range(n):
        sync(device)
        t0 = clock()
        loss = student(x, mode='tensor').float().logsumexp(1).mean()
        sync(device)
        t1 = clock()
        loss.backward()
        sync(device)
        t2 = clock()
        with torch.no_grad():
            teacher(x, mode='tensor')
        sync(device)
        t3 = clock()
        student.zero_grad(set_to_none=True)
        out['student forward'].append(t1 - t0)
        out['student backward'].append(t2 - t1)
        out['teacher forward'].append(t3 - t2)
    return {k: min(v) for k, v in out.items()}


def run(
    batch_size: int = 32,
    img_size: int = 64,
    num_classes: int = 100,
    teacher_depths: Sequence[int] = (34, 50),
    iters: int = 3,
    rounds: int = 5,
    device: str = 'cpu',
) -> Dict[str, Any]:
    from mmengine.optim import OptimWrapper

    import tricks_mm.models  # noqa: F401

    quiet_mmengine()
    student_depth = 18
    cfgs: Dict[str, dict] = {
        'CE': classifier_cfg(student_depth, num_classes),
        'label smoothing': classifier_cfg(
            student_depth,
            num_classes,
            dict(type='tricks_mm.BoTLabelSmoothLoss', num_classes=num_classes, eps=0.1),
        ),
        'mixup': classifier_cfg(student_depth, num_classes, mixup=True),
    }
    teachers: Dict[int, torch.nn.Module] = {}
    for k in teacher_depths:
        teachers[k] = build(classifier_cfg(k, num_classes), device, seed=k).eval()
        teachers[k].requires_grad_(False)
        cfg = classifier_cfg(student_depth, num_classes)
        cfg.update(
            type='tricks_mm.BoTDistillClassifier',
            teacher=teachers[k],
            distill_loss=dict(type='BoTDistillLoss', temperature=20.0),
        )
        cfgs[f'distill (teacher R-{k}-D)'] = cfg
    models = {name: build(cfg, device) for name, cfg in cfgs.items()}
    wrappers = {
        name: OptimWrapper(
            torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
        )
        for name, m in models.items()
    }
    batches = {name: make_batch(batch_size, img_size, num_classes, device) for name in models}

    def block(name: str) -> Callable[[int], None]:
        def go(n: int) -> None:
            for _ in range(n):
                models[name].train_step(batches[name], wrappers[name])

        return go

    cpu: Dict[str, List[float]] = {}
    wall = interleave(
        {n: block(n) for n in models},
        iters,
        rounds,
        warmup=1,
        device=device,
        log=log,
        cpu_times=cpu,
    )
    # ratios from process CPU time on a (shared) CPU machine, wall clock on a GPU (_common)
    basis = 'wall clock' if device.startswith('cuda') else 'process CPU time'
    times = wall if device.startswith('cuda') else cpu
    med = {k: median(v) for k, v in times.items()}
    f_student = forward_flops(models['CE'], img_size)
    res: Dict[str, Any] = dict(
        batch_size=batch_size,
        img_size=img_size,
        num_classes=num_classes,
        device=device,
        iters=iters,
        rounds=rounds,
        student='ResNet-18-D',
        basis=basis,
        threads=torch.get_num_threads(),
        wall_ms_per_iter={k: median(v) * 1e3 for k, v in wall.items()},
        ms_per_iter={k: v * 1e3 for k, v in med.items()},
        ratio={k: v / med['CE'] for k, v in med.items()},
        spread={k: spread(v) for k, v in times.items()},
        student_gflops=f_student / 1e9,
        teachers={},
    )
    for k, teacher in teachers.items():
        f_t = forward_flops(teacher, img_size)
        comp = _components(models['CE'], teacher, batches['CE'], 3, device)
        step = comp['student forward'] + comp['student backward']
        res['teachers'][k] = dict(
            gflops=f_t / 1e9,
            expected_ratio=1 + f_t / (3 * f_student),
            measured_ratio=res['ratio'][f'distill (teacher R-{k}-D)'],
            component_ms={n: v * 1e3 for n, v in comp.items()},
            backward_over_forward=comp['student backward'] / comp['student forward'],
            teacher_over_student_forward=comp['teacher forward'] / comp['student forward'],
            flops_teacher_over_student=f_t / f_student,
            component_ratio=1 + comp['teacher forward'] / step,
        )
    return res


def report(res: Dict[str, Any], info: Dict[str, str]) -> str:
    rows = [
        (
            k,
            f'{v:.1f}',
            f'{res["wall_ms_per_iter"][k]:.1f}',
            f'{res["ratio"][k]:.3f}',
            res['spread'][k],
        )
        for k, v in res['ms_per_iter'].items()
    ]
    trows = []
    for k, t in res['teachers'].items():
        c = t['component_ms']
        trows.append(
            (
                f'R-{k}-D',
                f'{t["gflops"]:.3f}',
                f'{t["flops_teacher_over_student"]:.2f}',
                f'{t["expected_ratio"]:.3f}',
                f'{t["measured_ratio"]:.3f}',
                f'{c["student forward"]:.1f} / {c["student backward"]:.1f} / '
                f'{c["teacher forward"]:.1f}',
                f'{t["backward_over_forward"]:.2f}',
                f'{t["teacher_over_student_forward"]:.2f}',
                f'{t["component_ratio"]:.3f}',
            )
        )
    md = [
        '## Cost of the training refinements (benchmarks/trick_cost.py)',
        '',
        f'Machine: {machine_md(info)}',
        '',
        f'{res["student"]} student (`tricks_mm.BoTResNet`), {res["num_classes"]} classes, batch '
        f'{res["batch_size"]}, {res["img_size"]}x{res["img_size"]}, {res["device"]} FP32, '
        f'`train_step` with SGD Nesterov; {res["rounds"]} interleaved rounds of {res["iters"]} '
        f'steps (median); {res["threads"]} torch thread(s); ratios from {res["basis"]}.',
        '',
        md_table(
            [
                'variant',
                f'ms/step ({res["basis"]})',
                'ms/step (wall)',
                'ratio to CE',
                'block spread',
            ],
            rows,
        ),
        '',
        f'Distillation vs the FLOP model `1 + F_teacher / (3 F_student)` (student forward '
        f'{res["student_gflops"]:.3f} GFLOPs per image):',
        '',
        md_table(
            [
                'teacher',
                'teacher GFLOPs/img',
                'F_t / F_s',
                'expected ratio',
                'measured ratio',
                'ms: student fwd / bwd / teacher fwd',
                'student bwd / fwd time',
                'teacher / student fwd time',
                '1 + t_teacher / (t_fwd + t_bwd)',
            ],
            trows,
        ),
    ]
    return '\n'.join(md)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--img-size', type=int, default=64)
    p.add_argument('--num-classes', type=int, default=100)
    p.add_argument(
        '--teacher-depths',
        type=int,
        nargs='+',
        default=[34, 50],
        help='teacher ResNet-D depths (one distillation variant each)',
    )
    p.add_argument('--iters', type=int, default=3, help='steps per block')
    p.add_argument('--rounds', type=int, default=5, help='blocks per variant')
    add_common_args(p)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    set_threads(args)
    res = run(
        args.batch_size,
        args.img_size,
        args.num_classes,
        args.teacher_depths,
        args.iters,
        args.rounds,
        args.device,
    )
    md = report(res, machine_info(args.device))
    publish('trick_cost', md, args)
    return res


if __name__ == '__main__':
    main()
