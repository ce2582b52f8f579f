"""The GPU check: classification throughput first, then the mmcv CUDA build and downstream.

Usage (from the repository root)::

    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --bundle work_dirs/gpu_bundle
    .venv/bin/python benchmarks/gpu_check.py --device cpu     # proves the whole path, tiny sizes

Needs: python with torch; either the OpenMMLab stack installed, or the offline bundle of
``benchmarks/prepare_gpu_bundle.sh`` (``--bundle``), which ``benchmarks/gpu_setup.py`` installs
into ``--env``; for part 3, nvcc matching torch's CUDA. Writes ``gpu_check.json`` (after every
part, so a run cut short keeps what it measured) and ``gpu_check.md`` into ``--out`` (default
``$OUT`` when set, else ``work_dirs/gpu_check``), the mmcv build logs beside them, and prints a
short table last. Parts that would overrun ``--budget-s`` are skipped and marked so.

Order (the cheap, decisive numbers first):

1. Setup without compiled ops (``gpu_setup.py --ops none``: wheels + mmcv without ops, seconds).
2. Classification, in a child process:
   a. ``cls``: ResNet-50-D (``tricks_mm.BoTResNet``) training img/s through ``train_step``, batch
      256 at 224 px, FP32 NCHW / AMP NCHW / AMP + channels_last (``BoTChannelsLastHook``), each
      with the colour augmentation per image (done in the workers: the step sees augmented
      uint8) and batched (``tricks_mm.BoTClsDataPreprocessor``: jitter + lighting on the GPU
      inside the step), interleaved; ratios. ("FP32" convolutions use TF32, PyTorch's default
      for cuDNN.)
   b. ``pipeline``: benchmarks/data_pipeline.py on this machine's CPU: per-worker img/s of the
      per-image pipeline, of the batched path's worker part and of torchvision v2; the batch
      stage's cost per image on the device; the workers the measured AMP + channels_last rate
      needs either way.
   c. ``overhead``: benchmarks/framework_overhead.py, the ResNet-50-D rung through an mmengine
      Runner vs a bare PyTorch loop (AMP, batch 128): the overhead ratio.
3. Setup with CUDA ops (``gpu_setup.py --ops cuda``; its duration is recorded), in the time left.
4. ``downstream``: Faster R-CNN and FCN (benchmarks/downstream.py, paper-scale configs and sizes)
   iteration times, BoTResNet-50 vs the host's ResNet-50.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional

import gpu_setup

# standard library only: imported before the stack is installed
from _common import cpu_name, parser

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLS_PARTS = ('cls', 'pipeline', 'overhead')
OPS_PARTS = ('downstream',)

# device -> sizes; the CPU ones only prove the script runs
SIZES = {
    'cuda': dict(
        cls_batch=256,
        cls_img=224,
        cls_iters=5,
        cls_rounds=3,
        dp_images=100,
        dp_passes=2,
        dp_batch=256,
        fo_overlays=[],
        fo_batch=None,
        fo_img=None,
        fo_iters=10,
        fo_rounds=3,
        fo_profile=5,
        ds_depth=50,
        ds_scale='paper',
        ds_det_iters=3,
        ds_seg_iters=3,
        ds_rounds=3,
    ),
    'cpu': dict(
        cls_batch=8,
        cls_img=64,
        cls_iters=1,
        cls_rounds=2,
        dp_images=16,
        dp_passes=1,
        dp_batch=8,
        fo_overlays=['configs/toy/classification.py'],
        fo_batch=8,
        fo_img=64,
        fo_iters=2,
        fo_rounds=2,
        fo_profile=2,
        ds_depth=18,
        ds_scale='toy',
        ds_det_iters=1,
        ds_seg_iters=1,
        ds_rounds=1,
    ),
}
# rough seconds each part needs (imports and warm-up included), to skip what cannot finish
ESTIMATE_S = {
    'cuda': dict(cls=120, pipeline=60, overhead=90, ops_build=240, downstream=120),
    'cpu': dict(cls=60, pipeline=30, overhead=60, ops_build=0, downstream=120),
}


def say(msg: str) -> None:
    print(f'[gpu_check] {msg}', flush=True)


# ---------------------------------------------------------------- measurement (child process)


def _batch_color() -> dict:
    """The shipped ``batch_color`` settings (one source: the dataset config)."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(REPO / 'configs/_base_/datasets/imagenet_bot.py'))
    return cfg.data_preprocessor.batch_color.to_dict()


def measure_cls(device: str, s: Dict[str, Any]) -> Dict[str, Any]:
    """ResNet-50-D train_step img/s: precision x memory format x where the colour stage runs."""
    import torch
    from _common import interleave, log, median, quiet_mmengine, spread
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    from trick_cost import build, classifier_cfg, make_batch

    from tricks_mm.engine.channels_last import BoTChannelsLastHook

    quiet_mmengine()
    torch.backends.cudnn.benchmark = True
    formats = {'FP32 NCHW': (False, False)}
    if device == 'cuda':
        formats.update({'AMP NCHW': (True, False), 'AMP channels_last': (True, True)})
    else:
        formats['FP32 channels_last'] = (False, True)
    batch_color = _batch_color()
    models, wrappers = {}, {}
    for fmt, (amp, cl) in formats.items():
        for aug in ('per-image aug', 'batched aug'):
            cfg = classifier_cfg(50, 1000)
            if aug == 'batched aug':
                cfg['data_preprocessor'] = dict(
                    cfg['data_preprocessor'],
                    batch_color=batch_color,
                    input_order='BGR',
                    type='tricks_mm.BoTClsDataPreprocessor',
                )
            model = build(cfg, device)
            if cl:
                runner = SimpleNamespace(model=model)
                hook = BoTChannelsLastHook()
                hook.before_run(runner)
                hook.before_train(runner)
            opt = torch.optim.SGD(
                model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4
            )
            name = f'{fmt}, {aug}'
            wrappers[name] = (
                AmpOptimWrapper(optimizer=opt, loss_scale='dynamic') if amp else OptimWrapper(opt)
            )
            models[name] = model
    batch = make_batch(s['cls_batch'], s['cls_img'], 1000, device)

    def block(name: str) -> Callable[[int], None]:
        def go(n: int) -> None:
            for _ in range(n):
                models[name].train_step(batch, wrappers[name])

        return go

    times = interleave(
        {n: block(n) for n in models},
        s['cls_iters'],
        s['cls_rounds'],
        warmup=2,
        device=device,
        log=log,
    )
    img_s = {k: s['cls_batch'] / median(v) for k, v in times.items()}
    base = img_s['FP32 NCHW, per-image aug']
    out = dict(
        batch=s['cls_batch'],
        img=s['cls_img'],
        img_per_s=img_s,
        spread={k: spread(v) for k, v in times.items()},
        ratio_to_fp32={k: v / base for k, v in img_s.items()},
        batched_over_per_image={
            f: img_s[f'{f}, batched aug'] / img_s[f'{f}, per-image aug'] for f in formats
        },
    )
    if device == 'cuda':
        out['channels_last_over_nchw_amp'] = (
            img_s['AMP channels_last, per-image aug'] / img_s['AMP NCHW, per-image aug']
        )
        out['max_memory_gib'] = torch.cuda.max_memory_allocated() / 2**30
    return out


def measure_pipeline(device: str, s: Dict[str, Any], res: Dict[str, Any]) -> Dict[str, Any]:
    """Per-worker img/s here and the workers the measured training rate needs."""
    import data_pipeline as dp

    cls = res.get('cls', {}).get('img_per_s', {})
    fastest = max(cls.values()) if cls else None
    rates = [2500.0, 5000.0] + ([fastest] if fastest else [])
    r = dp.run(
        n_images=s['dp_images'],
        passes=s['dp_passes'],
        batch=s['dp_batch'],
        gpu_rates=rates,
        stage_device=device,
    )
    return dict(
        worker_img_per_s={k: v['worker_img_per_s'] for k, v in r['pipelines'].items()},
        workers_needed={k: v['workers_needed'] for k, v in r['pipelines'].items()},
        batch_stage_ms=r['batch_stage_ms'],
        batch_stage_device=device,
        replaced_ms=r['replaced_ms'],
        decode=r['decode'],
        measured_rate=fastest,
    )


def measure(args: argparse.Namespace) -> None:
    """Child process: run the requested parts within the deadline, saving after each."""
    import torch

    device = args.device
    s = SIZES[device]
    if device == 'cpu':
        torch.set_num_threads(1)  # steadier on a shared machine (see _common)
    out_json = Path(args.result_json)
    res = json.loads(out_json.read_text()) if out_json.exists() else {}
    res['torch'] = torch.__version__
    res['gpu'] = torch.cuda.get_device_name() if device == 'cuda' else None

    def part(name: str, fn: Callable[[], Any]) -> None:
        left = args.deadline - time.time()
        if left < ESTIMATE_S[device][name]:
            res[name] = dict(
                skipped=f'{left:.0f} s left of the budget, ~{ESTIMATE_S[device][name]} s needed'
            )
            say(f'{name}: skipped ({res[name]["skipped"]})')
        else:
            say(f'{name}: running')
            t = time.perf_counter()
            try:
                res[name] = fn()
            except Exception as e:  # keep going: the other parts still tell something
                import traceback

                traceback.print_exc()
                res[name] = dict(error=f'{type(e).__name__}: {e}')
            res[name]['wall_s'] = time.perf_counter() - t
        out_json.write_text(json.dumps(res, indent=1, default=str))

    if 'cls' in args.parts:
        part('cls', lambda: measure_cls(device, s))
    if 'pipeline' in args.parts:
        part('pipeline', lambda: measure_pipeline(device, s, res))
    if 'overhead' in args.parts:
        import framework_overhead as fo

        def overhead() -> Dict[str, Any]:
            r = fo.run(
                overlays=s['fo_overlays'],
                batch_size=s['fo_batch'],
                img_size=s['fo_img'],
                iters=s['fo_iters'],
                rounds=s['fo_rounds'],
                warmup=3,
                profile_iters=s['fo_profile'],
            )
            if torch.cuda.is_available() != (device == 'cuda'):
                r['note'] = 'the Runner picks CUDA whenever it is available'
            return r

        part('overhead', overhead)
    if 'downstream' in args.parts:
        import downstream as ds

        part(
            'downstream',
            lambda: ds.run(
                depth=s['ds_depth'],
                det_iters=s['ds_det_iters'],
                seg_iters=s['ds_seg_iters'],
                rounds=s['ds_rounds'],
                device=device,
                scale=s['ds_scale'],
            ),
        )


# ---------------------------------------------------------------- report


def short_table(res: Dict[str, Any]) -> str:
    rows: List[str] = ['| what | result |', '|---|---|']
    for level, st in res.get('setup', {}).items():
        what = st.get('status') or st.get('error') or st.get('skipped') or '-'
        if st.get('mmcv_build_s'):
            what += f', mmcv build {st["mmcv_build_s"]:.0f} s'
        rows.append(f'| setup ({level} ops) | {what} |')
    cls = res.get('cls', {})
    if 'img_per_s' in cls:
        for k, v in cls['img_per_s'].items():
            rows.append(
                f'| ResNet-50-D train, batch {cls["batch"]}x{cls["img"]}, {k} | '
                f'{v:.0f} img/s ({cls["ratio_to_fp32"][k]:.2f}x FP32) |'
            )
        if 'channels_last_over_nchw_amp' in cls:
            rows.append(
                f'| channels_last / NCHW under AMP | {cls["channels_last_over_nchw_amp"]:.2f}x |'
            )
        for fmt, r in cls.get('batched_over_per_image', {}).items():
            rows.append(f'| batched / per-image colour stage, {fmt} (step img/s) | {r:.3f}x |')
    elif cls:
        rows.append(f'| ResNet-50-D train | {cls.get("skipped") or cls.get("error")} |')
    dp = res.get('pipeline', {})
    if 'worker_img_per_s' in dp:
        for k, v in dp['worker_img_per_s'].items():
            need = ', '.join(
                f'{n} for {float(g):.0f} img/s' for g, n in dp['workers_needed'][k].items()
            )
            rows.append(f'| per-worker img/s, {k} | {v:.0f} (workers: {need}) |')
        rows.append(
            f'| batch colour stage on {dp["batch_stage_device"]} | '
            f'{dp["batch_stage_ms"]:.3f} ms/img (per-image transforms it replaces, CPU: '
            f'{dp["replaced_ms"]:.2f} ms/img) |'
        )
        for name, d in dp.get('decode', {}).items():
            rows.append(
                f'| JPEG decode, {name} | {d["ms"]:.2f} ms/img (max diff to OpenCV '
                f'{d["max_diff"]:.0f}) |'
            )
    elif dp:
        rows.append(f'| data pipeline | {dp.get("skipped") or dp.get("error")} |')
    fo = res.get('overhead', {})
    if 'ratio' in fo:
        ips = fo['img_per_s']
        rows.append(
            f'| framework overhead (Runner / bare), batch {fo["batch_size"]}x'
            f'{fo["img_size"]}{" AMP" if fo["amp"] else ""} | {fo["ratio"]:.3f} '
            f'({ips["tricks_mm Runner"]:.0f} vs {ips["bare PyTorch"]:.0f} img/s) |'
        )
    elif fo:
        rows.append(f'| framework overhead | {fo.get("skipped") or fo.get("error")} |')
    dsr = res.get('downstream', {})
    for t in dsr.get('tasks', []):
        cells = ', '.join(f'{k} {v:.3f} s/it' for k, v in t['s_per_it'].items())
        rows.append(
            f'| {t["task"]} batch {t["batch"]}x{t["shape"][0]}x{t["shape"][1]} | '
            f'{cells} (ratio {t["ratio"]:.3f}) |'
        )
    if dsr and not dsr.get('tasks'):
        rows.append(f'| downstream | {dsr.get("skipped") or dsr.get("error")} |')
    return '\n'.join(rows)


def write_report(res: Dict[str, Any], out: Path) -> str:
    table = short_table(res)
    head = (
        f'GPU check, {res.get("date")}: {res.get("gpu") or "no GPU"}, '
        f'{res.get("processor")}, {res.get("cpu_count")} CPUs, python {res.get("python")}, '
        f'torch {res.get("torch")}, device {res.get("device")}'
    )
    md = f'## GPU check (benchmarks/gpu_check.py)\n\n{head}\n\n{table}\n'
    (out / 'gpu_check.md').write_text(
        md + '\n```json\n' + json.dumps(res, indent=1, default=str) + '\n```\n'
    )
    return md


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument(
        '--device',
        choices=['cuda', 'cpu'],
        default=None,
        help='default: cuda when available (tiny sizes on cpu)',
    )
    p.add_argument(
        '--bundle',
        type=Path,
        default=REPO / 'work_dirs' / 'gpu_bundle',
        help='folder made by benchmarks/prepare_gpu_bundle.sh',
    )
    p.add_argument(
        '--env',
        type=Path,
        default=gpu_setup.DEFAULT_ENV,
        help='package folder the bundle is installed into (put on PYTHONPATH)',
    )
    p.add_argument(
        '--out',
        type=Path,
        default=None,
        help='results folder (default: $OUT if set, else work_dirs/gpu_check)',
    )
    p.add_argument(
        '--parts',
        nargs='+',
        default=[*CLS_PARTS, *OPS_PARTS],
        choices=[*CLS_PARTS, *OPS_PARTS],
        help='measurements to run',
    )
    p.add_argument(
        '--budget-s',
        type=float,
        default=540,
        help='wall-clock budget of the whole script; parts that cannot finish in '
        'what is left are skipped (default fits a 600 s call)',
    )
    p.add_argument('--stage', choices=['all', 'measure'], default='all', help=argparse.SUPPRESS)
    p.add_argument('--result-json', help=argparse.SUPPRESS)
    p.add_argument('--deadline', type=float, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _measure_child(
    args: argparse.Namespace, parts: List[str], result_json: Path, deadline: float
) -> int:
    cmd = [
        sys.executable,
        __file__,
        '--stage',
        'measure',
        '--device',
        args.device,
        '--result-json',
        str(result_json),
        '--deadline',
        str(deadline),
        '--parts',
        *parts,
    ]
    return subprocess.run(cmd, env=gpu_setup.child_env(args.env)).returncode


def main(argv: Optional[List[str]] = None) -> None:
    start = time.time()
    args = parse_args(argv)
    if args.device is None:
        import torch

        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.stage == 'measure':
        measure(args)
        return
    out = args.out or Path(os.environ.get('OUT') or REPO / 'work_dirs' / 'gpu_check')
    out.mkdir(parents=True, exist_ok=True)
    result_json = out / 'gpu_check.json'
    deadline = start + args.budget_s
    res: Dict[str, Any] = dict(
        date=time.strftime('%Y-%m-%d %H:%M'),
        device=args.device,
        processor=cpu_name(),
        cpu_count=os.cpu_count(),
        python=platform.python_version(),
        nvidia_smi=shutil.which('nvidia-smi') is not None,
        setup={},
    )

    def save() -> None:
        result_json.write_text(json.dumps(res, indent=1, default=str))

    def setup(level: str) -> bool:
        try:
            res['setup'][level] = gpu_setup.ensure(level, args.bundle, args.env, out)
            say(f'setup {level}: {res["setup"][level]["status"]}')
            return True
        except (Exception, SystemExit) as e:  # record and go on with what can still run
            res['setup'][level] = dict(error=f'{type(e).__name__}: {e}')
            say(f'setup {level} failed: {e}')
            return False
        finally:
            save()

    cls_parts = [p for p in args.parts if p in CLS_PARTS]
    ops_parts = [p for p in args.parts if p in OPS_PARTS]
    rcs = {}
    if cls_parts and setup('none'):
        rcs['classification'] = _measure_child(args, cls_parts, result_json, deadline)
        res.update(
            {k: v for k, v in json.loads(result_json.read_text()).items() if k not in ('setup',)}
        )
    if ops_parts:
        left = deadline - time.time()
        need = ESTIMATE_S[args.device]['ops_build'] + ESTIMATE_S[args.device]['downstream']
        if gpu_setup.ready('cuda', None) or gpu_setup.ready('cuda', args.env) or left >= need:
            if setup('cuda'):
                rcs['downstream'] = _measure_child(args, ops_parts, result_json, deadline)
                res.update(
                    {
                        k: v
                        for k, v in json.loads(result_json.read_text()).items()
                        if k not in ('setup',)
                    }
                )
        else:
            res['setup']['cuda'] = dict(
                skipped=f'{left:.0f} s left, ~{need} s needed for the '
                f'mmcv CUDA build and the downstream part'
            )
    res['measure_returncodes'] = rcs
    res['total_s'] = time.time() - start
    save()
    md = write_report(res, out)
    say(f'full results: {result_json} and {out / "gpu_check.md"}')
    print(md, flush=True)


if __name__ == '__main__':
    main()
