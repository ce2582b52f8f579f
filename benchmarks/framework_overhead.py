"""Framework overhead: a classification training step through tricks_mm + mmengine vs bare PyTorch.

tricks_mm path: a real mmengine ``Runner`` built from a tricks_mm config (default: ResNet-50-D +
cosine + label smoothing with the toy overlay, i.e. ResNet-18-D, 6 classes, 56-px crops, batch 32)
exactly as ``tools/train.py`` builds it, with every default hook (iteration timer, parameter
scheduler, logger writing to the console and the local visualisation backend every 10 iterations,
sampler seed, runtime info) and the data preprocessor. Only these change: the dataset returns
ready ``PackInputs``-style samples (uint8 tensors + ``DataSample``) from memory, so JPEG decoding
and augmentation are not measured (``benchmarks/data_pipeline.py`` does that); validation and
checkpoint saving are off (I/O, not per-step cost).

Bare path: a second instance of the same model class; inputs already normalised on the device;
``model(x, mode='tensor')`` -> the head's loss module -> ``backward`` -> SGD Nesterov with the
same two parameter groups (weight decay on conv/fc weights only) -> the same warmup + cosine
learning rate per iteration (``LambdaLR``). AMP (``autocast`` + ``GradScaler``) on CUDA when
the config asks for it, as ``AmpOptimWrapper`` does.

Interleaving: a lowest-priority hook inside the Runner's loop runs a block of bare iterations
after every block of Runner iterations, so both see the same background load; the Runner block
time runs from the end of one bare block to the end of the next Runner block (data fetch and
every hook included). ``--profile`` then runs extra instrumented iterations and prints where
the Runner's time per iteration goes.
"""

import argparse
import math
import os
import tempfile
import time
from collections import defaultdict
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from _common import (
    REPO,
    add_report_args,
    add_threads_arg,
    log,
    machine_info,
    machine_md,
    md_table,
    median,
    parser,
    publish,
    set_threads,
    spread,
    sync,
)
from torch.utils.data import Dataset

DEFAULT_CONFIG = 'configs/classification/resnet50d_cosine_ls_8xb128_in1k.py'
DEFAULT_OVERLAY = 'configs/toy/classification.py'
HOOK_STAGES = ('before_train_iter', 'after_train_iter', 'before_train_epoch', 'after_train_epoch')


class ReadySamples(Dataset):
    """``length`` samples cycling over ``unique`` pre-generated uint8 images (as PackInputs).

    A fresh ``DataSample`` per item, as ``PackInputs`` makes one: batch augments write into it.
    """

    def __init__(self, length: int, unique: int, size: int, num_classes: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.images = [
            torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
            for _ in range(unique)
        ]
        self.labels = [i % num_classes for i in range(unique)]
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> dict:
        from mmpretrain.structures import DataSample

        k = idx % len(self.images)
        return dict(inputs=self.images[k], data_samples=DataSample().set_gt_label(self.labels[k]))


def _crop_size(cfg: Any) -> int:
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'RandomResizedCrop':
            scale = t['scale']
            return int(scale if isinstance(scale, int) else scale[0])
    raise ValueError('no RandomResizedCrop in the train pipeline: pass --img-size')


def build_config(
    config: str,
    overlays: Sequence[str],
    work_dir: str,
    batch_size: Optional[int],
    img_size: Optional[int],
    total_iters: int,
    collate: Optional[str] = None,
) -> Any:
    """The config ``tools/train.py`` would run, with the in-memory dataset and no val/ckpt."""
    import tricks_mm  # noqa: F401  (safe loader, atomic saves: as tools/train.py)
    from tricks_mm.config.setup import apply_common_flags, import_host, load_config

    cfg = load_config(str(REPO / config), [str(REPO / o) for o in overlays])
    import_host(cfg)
    apply_common_flags(cfg, work_dir, 'none')
    head = cfg.model.head
    if head.loss.get('type', '').endswith('BoTLabelSmoothLoss'):
        # K is the head's width; explicit, because the loss's num_classes was a required
        # argument until recently (the LS rung config does not set it)
        head.loss.setdefault('num_classes', head.num_classes)
    bs = batch_size or cfg.train_dataloader.batch_size
    size = img_size or _crop_size(cfg)
    cfg.train_dataloader.batch_size = bs
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    if collate:
        cfg.train_dataloader.collate_fn = dict(type=collate)
    # registered by name (the Runner dumps its config as text, which an object would break)
    from mmengine.registry import DATASETS

    DATASETS.register_module(name='BenchReadySamples', module=ReadySamples, force=True)
    cfg.train_dataloader.dataset = dict(
        type='BenchReadySamples',
        length=total_iters * bs,
        unique=2 * bs,
        size=size,
        num_classes=head.num_classes,
    )
    cfg.train_cfg.max_epochs = 1
    for key in (
        'val_dataloader',
        'val_cfg',
        'val_evaluator',
        'test_dataloader',
        'test_cfg',
        'test_evaluator',
    ):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.bench = dict(batch_size=bs, img_size=size)
    return cfg


def _decay_groups(model: torch.nn.Module, weight_decay: float) -> List[dict]:
    """What mmengine's ``paramwise_cfg=dict(bias_decay_mult=0, norm_decay_mult=0)`` computes,
    as the two groups a PyTorch user writes (no decay on biases and on norm layers)."""
    from torch.nn.modules.batchnorm import _NormBase
    from torch.nn.modules.normalization import GroupNorm, LayerNorm

    no_decay = set()
    for m in model.modules():
        if isinstance(m, (_NormBase, GroupNorm, LayerNorm)):
            no_decay.update(id(p) for p in m.parameters(recurse=False))
        elif getattr(m, 'bias', None) is not None and isinstance(m.bias, torch.nn.Parameter):
            no_decay.add(id(m.bias))
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        dict(params=[p for p in params if id(p) not in no_decay], weight_decay=weight_decay),
        dict(params=[p for p in params if id(p) in no_decay], weight_decay=0.0),
    ]


def _paper_lr(step: int, warmup: int, total: int) -> float:
    """Factor of the base LR: lr_i = i lr / m for i <= m, then cosine (paper Sec. 3.1, 5.1)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class BareLoop:
    """The same training step in plain PyTorch (see the module docstring)."""

    def __init__(self, cfg: Any, device: str, amp: bool, timed: bool = False) -> None:
        from mmengine.registry import DefaultScope
        from mmpretrain.registry import MODELS

        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            self.model = MODELS.build(cfg.model)
        self.model.init_weights()
        self.model.to(device).train()
        self.loss_fn = self.model.head.loss_module
        opt = cfg.optim_wrapper.optimizer
        self.optimizer = torch.optim.SGD(
            _decay_groups(self.model, opt.get('weight_decay', 0.0)),
            lr=opt.lr,
            momentum=opt.get('momentum', 0.0),
            nesterov=opt.get('nesterov', False),
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda i: _paper_lr(i, 5 * 1000, 120 * 1000)
        )
        bs, size = cfg.bench.batch_size, cfg.bench.img_size
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(bs, 3, size, size, generator=g).to(device)
        self.y = torch.randint(0, cfg.model.head.num_classes, (bs,), generator=g).to(device)
        self.amp = amp
        self.scaler = torch.amp.GradScaler('cuda') if amp else None
        self.device = device
        self.timed = timed
        self.parts: Dict[str, float] = defaultdict(float)

    def _mark(self, name: str, t0: float) -> float:
        if not self.timed:
            return t0
        sync(self.device)
        t = _clock(self.device)()
        self.parts[name] += t - t0
        return t

    def __call__(self, n: int) -> None:
        for _ in range(n):
            t = _clock(self.device)()
            with torch.autocast('cuda', dtype=torch.float16, enabled=self.amp):
                loss = self.loss_fn(self.model(self.x, mode='tensor'), self.y)
            t = self._mark('forward + loss', t)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                t = self._mark('backward', t)
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                loss.backward()
                t = self._mark('backward', t)
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.scheduler.step()
            self._mark('optimizer step + zero_grad + lr', t)


def _clock(device: str) -> Callable[[], float]:
    """Wall clock on a GPU, process CPU time on CPU (steadier on a shared machine)."""
    return time.perf_counter if device == 'cuda' else time.process_time


def _timed_method(obj: Any, name: str, acc: Dict[str, float], key: str, device: str) -> None:
    """Replace ``obj.name`` (instance attribute, benchmark only) by a timing wrapper."""
    fn = getattr(obj, name)
    clock = _clock(device)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        sync(device)
        t0 = clock()
        out = fn(*args, **kwargs)
        sync(device)
        acc[key] += clock() - t0
        return out

    setattr(obj, name, wrapper)


def _instrument(runner: Any, acc: Dict[str, float], device: str) -> None:
    """Time every hook method the Runner calls per iteration, and the parts of train_step."""
    from mmengine.hooks import Hook

    for hook in runner.hooks:
        if isinstance(hook, InterleaveHook):
            continue
        for stage in HOOK_STAGES:
            if getattr(type(hook), stage) is not getattr(Hook, stage):
                _timed_method(hook, stage, acc, f'hook {type(hook).__name__}.{stage}', device)
    model = runner.model
    _timed_method(model.data_preprocessor, 'forward', acc, 'train_step: data_preprocessor', device)
    _timed_method(model, '_run_forward', acc, 'train_step: forward + loss', device)
    _timed_method(model, 'parse_losses', acc, 'train_step: parse_losses', device)
    _timed_method(runner.optim_wrapper, 'backward', acc, 'train_step: backward', device)
    _timed_method(runner.optim_wrapper, 'step', acc, 'train_step: optimizer step', device)
    _timed_method(runner.optim_wrapper, 'zero_grad', acc, 'train_step: zero_grad', device)
    _timed_method(model, 'train_step', acc, 'train_step (total)', device)


class InterleaveHook:
    """Lowest-priority hook alternating blocks of Runner iterations with bare blocks.

    A plain class made into an mmengine ``Hook`` by :func:`_make_hook` (mmengine imported late).
    """


def _make_hook(
    bare: BareLoop, warmup: int, iters: int, rounds: int, profile_iters: int, device: str
) -> Any:
    from mmengine.hooks import Hook

    class _Hook(Hook, InterleaveHook):
        priority = 'LOWEST'

        def __init__(self) -> None:
            self.times: Dict[str, List[float]] = {'tricks_mm Runner': [], 'bare PyTorch': []}
            self.cpu: Dict[str, List[float]] = {'tricks_mm Runner': [], 'bare PyTorch': []}
            self.t0 = self.c0 = 0.0
            self.profile: Dict[str, float] = defaultdict(float)
            self.profile_wall = 0.0
            self.fetch_t = 0.0

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            if self.fetch_t:
                self.profile['data fetch + collate (+ loop)'] += _clock(device)() - self.fetch_t

        def after_train_iter(
            self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
        ) -> None:
            done = runner.iter + 1
            timed_end = warmup + rounds * iters
            boundary = done == warmup or (
                warmup < done <= timed_end and (done - warmup) % iters == 0
            )
            if not boundary and done <= timed_end:
                return  # no synchronisation inside a block: the Runner keeps its GPU overlap
            sync(device)
            now, cnow = time.perf_counter(), time.process_time()
            if done == warmup:
                bare(warmup)
            elif done <= timed_end:
                self.times['tricks_mm Runner'].append((now - self.t0) / iters)
                self.cpu['tricks_mm Runner'].append((cnow - self.c0) / iters)
                t, c = time.perf_counter(), time.process_time()
                bare(iters)
                sync(device)
                self.times['bare PyTorch'].append((time.perf_counter() - t) / iters)
                self.cpu['bare PyTorch'].append((time.process_time() - c) / iters)
                r = len(self.times['bare PyTorch'])
                log(
                    f'round {r}/{rounds}: '
                    + ', '.join(
                        f'{k} {v[-1] * 1e3:.1f} ms/it (cpu {self.cpu[k][-1] * 1e3:.1f})'
                        for k, v in self.times.items()
                    )
                )
                if done == timed_end and profile_iters:
                    _instrument(runner, self.profile, device)
            else:
                self.profile_wall += (now if device == 'cuda' else cnow) - (
                    self.t0 if device == 'cuda' else self.c0
                )
            sync(device)
            self.t0, self.c0 = time.perf_counter(), time.process_time()
            self.fetch_t = _clock(device)() if done >= timed_end else 0.0

    return _Hook()


def run(
    config: str = DEFAULT_CONFIG,
    overlays: Sequence[str] = (DEFAULT_OVERLAY,),
    batch_size: Optional[int] = None,
    img_size: Optional[int] = None,
    iters: int = 10,
    rounds: int = 5,
    warmup: int = 3,
    profile_iters: int = 0,
    work_dir: Optional[str] = None,
    collate: Optional[str] = None,
) -> Dict[str, Any]:
    """Measure; returns img/s per variant, the ratio and (with ``profile_iters``) a breakdown."""
    from tricks_mm.engine.runner import StrictRunner  # what tools/train.py runs

    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    total = warmup + rounds * iters + profile_iters
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_config(config, overlays, work_dir or tmp, batch_size, img_size, total, collate)
        amp = cfg.optim_wrapper.get('type', 'OptimWrapper').endswith('AmpOptimWrapper')
        runner = StrictRunner.from_cfg(cfg)
        bare = BareLoop(cfg, device, amp)
        hook = _make_hook(bare, warmup, iters, rounds, profile_iters, device)
        runner.register_hook(hook)
        runner.train()
        if profile_iters:
            bare_t = BareLoop(cfg, device, amp, timed=True)
            bare_t(warmup)
            bare_t.parts.clear()
            t = _clock(device)()
            bare_t(profile_iters)
            bare_wall = _clock(device)() - t
    bs = cfg.bench.batch_size
    med = {k: median(v) for k, v in hook.times.items()}
    med_cpu = {k: median(v) for k, v in hook.cpu.items()}
    out: Dict[str, Any] = dict(
        config=config,
        overlays=list(overlays),
        device=device,
        amp=amp,
        batch_size=bs,
        img_size=cfg.bench.img_size,
        iters=iters,
        rounds=rounds,
        model=f'{cfg.model.type} / {cfg.model.backbone.type} depth {cfg.model.backbone.depth} '
        f'variant {cfg.model.backbone.get("variant", "-")}',
        loss=cfg.model.head.loss.type,
        collate=cfg.train_dataloader.get('collate_fn', {}).get('type', 'pseudo_collate'),
        threads=torch.get_num_threads(),
        ms_per_iter={k: v * 1e3 for k, v in med.items()},
        img_per_s={k: bs / v for k, v in med.items()},
        spread={k: spread(v) for k, v in hook.times.items()},
        blocks_ms={k: [round(x * 1e3, 2) for x in v] for k, v in hook.times.items()},
        cpu_ms_per_iter={k: v * 1e3 for k, v in med_cpu.items()},
        cpu_img_per_s={k: bs / v for k, v in med_cpu.items()},
        cpu_spread={k: spread(v) for k, v in hook.cpu.items()},
        blocks_cpu_ms={k: [round(x * 1e3, 2) for x in v] for k, v in hook.cpu.items()},
    )
    out['wall_ratio'] = out['img_per_s']['tricks_mm Runner'] / out['img_per_s']['bare PyTorch']
    out['cpu_ratio'] = (
        out['cpu_img_per_s']['tricks_mm Runner'] / out['cpu_img_per_s']['bare PyTorch']
    )
    # the headline: wall clock on a GPU; CPU time on a (shared) CPU machine, see _common
    out['ratio'] = out['wall_ratio'] if device == 'cuda' else out['cpu_ratio']
    out['ratio_basis'] = 'wall clock' if device == 'cuda' else 'process CPU time'
    if profile_iters:
        n = profile_iters
        out['profile_ms_per_iter'] = {
            'runner': {
                k: v / n * 1e3 for k, v in sorted(hook.profile.items(), key=lambda kv: -kv[1])
            },
            'runner wall': hook.profile_wall / n * 1e3,
            'bare': {k: v / n * 1e3 for k, v in bare_t.parts.items()},
            'bare wall': bare_wall / n * 1e3,
        }
    return out


def report(res: Dict[str, Any], info: Dict[str, str]) -> str:
    rows = [
        (
            k,
            f'{res["img_per_s"][k]:.1f}',
            f'{res["ms_per_iter"][k]:.1f}',
            res['spread'][k],
            f'{res["cpu_img_per_s"][k]:.1f}',
            f'{res["cpu_ms_per_iter"][k]:.1f}',
            res['cpu_spread'][k],
        )
        for k in res['img_per_s']
    ]
    md = [
        '## Framework overhead (benchmarks/framework_overhead.py)',
        '',
        f'Machine: {machine_md(info)}',
        '',
        f'{res["model"]}, loss {res["loss"]}, batch {res["batch_size"]}, '
        f'{res["img_size"]}x{res["img_size"]}, {res["device"]}'
        f'{" AMP" if res["amp"] else " FP32"}; config `{res["config"]}` + '
        f'{", ".join(f"`{o}`" for o in res["overlays"]) or "no overlay"}; '
        f'collate `{res["collate"]}`; '
        f'{res["rounds"]} interleaved rounds of {res["iters"]} iterations each (median); '
        f'{res["threads"]} torch thread(s).',
        '',
        md_table(
            [
                'path',
                'img/s (wall)',
                'ms/iter (wall)',
                'wall block spread',
                'img/s (CPU time)',
                'CPU ms/iter',
                'CPU block spread',
            ],
            rows,
        ),
        '',
        f'**Ratio tricks_mm / bare ({res["ratio_basis"]}): {res["ratio"]:.3f}** '
        f'({"within" if res["ratio"] >= 0.9 else "NOT within"} the 10% target); '
        f'wall-clock ratio {res["wall_ratio"]:.3f}, CPU-time ratio {res["cpu_ratio"]:.3f}.',
    ]
    prof = res.get('profile_ms_per_iter')
    if prof:
        prows = [(k, f'{v:.2f}') for k, v in prof['runner'].items()]
        prows.append(('(whole Runner iteration, instrumented)', f'{prof["runner wall"]:.2f}'))
        prows += [(f'bare: {k}', f'{v:.2f}') for k, v in prof['bare'].items()]
        prows.append(('(whole bare iteration, instrumented)', f'{prof["bare wall"]:.2f}'))
        clock = 'wall clock' if res['device'] == 'cuda' else 'process CPU time'
        md += [
            '',
            f'Where a Runner iteration goes ({clock}; instrumented iterations after the '
            'timed rounds; nested entries overlap: `train_step (total)` contains the '
            '`train_step:` parts):',
            '',
            md_table(['component', 'ms/iter'], prows),
        ]
    return '\n'.join(md)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument('--config', default=DEFAULT_CONFIG, help='classification config (repo-relative)')
    p.add_argument(
        '--overlay',
        nargs='*',
        default=[DEFAULT_OVERLAY],
        help='overlays merged over the config; pass --overlay with nothing for the '
        'paper-scale model (ResNet-50-D, 224 px, batch 128)',
    )
    p.add_argument('--batch-size', type=int, help='override the config batch size')
    p.add_argument('--img-size', type=int, help='override the crop size of the config')
    p.add_argument('--iters', type=int, default=10, help='iterations per block')
    p.add_argument('--rounds', type=int, default=5, help='blocks per path')
    p.add_argument('--warmup', type=int, default=3, help='untimed iterations per path first')
    p.add_argument(
        '--profile',
        type=int,
        default=10,
        metavar='N',
        help='instrumented iterations after the timed rounds (0: none)',
    )
    p.add_argument(
        '--collate',
        choices=['pseudo_collate', 'default_collate'],
        help="override the config's collate_fn (default: the config's, which for "
        "tricks_mm's classification configs is mmengine's pseudo_collate)",
    )
    p.add_argument(
        '--section',
        default='framework_overhead',
        help='name of the report section (to keep several runs)',
    )
    add_threads_arg(p)
    add_report_args(p)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    set_threads(args)
    res = run(
        args.config,
        args.overlay,
        args.batch_size,
        args.img_size,
        args.iters,
        args.rounds,
        args.warmup,
        args.profile,
        collate=args.collate,
    )
    md = report(res, machine_info(res['device']))
    publish(args.section, md, args)
    return res


if __name__ == '__main__':
    os.environ.setdefault('PYTHONWARNINGS', 'ignore')
    main()
