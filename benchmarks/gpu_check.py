"""The one prepared check for a lent GPU machine: install, build mmcv, measure, report.

Usage
-----
On the development machine (network to PyPI), once::

    bash benchmarks/prepare_gpu_bundle.sh            # -> work_dirs/gpu_bundle (~12 MB)

On the GPU machine (python 3.12 with torch preinstalled, no OpenMMLab, no network), from the
repository root, with the bundle carried along (device tool: ``carry=["work_dirs/gpu_bundle"]``,
``timeout_s=600``)::

    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --bundle work_dirs/gpu_bundle

On a CPU machine where the stack is installed (proves the script; tiny sizes)::

    .venv/bin/python benchmarks/gpu_check.py --device cpu

What it does
------------
1. Setup (skipped when ``mmcv.ops``, mmdet, mmseg and mmpretrain already import):
   ``pip install --no-index --no-deps --target ENV`` of every wheel of the bundle, then mmcv 2.1.0
   compiled from the bundled sdist with ``MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=<the
   GPU's, e.g. 9.0>`` and ``MAX_JOBS=<cores>`` (timed). ``-std=c++17`` in its setup.py becomes
   ``-std=c++20`` when the installed torch's own extension builder uses C++20 (as
   scripts/install.sh does for torch 2.14). ENV (``work_dirs/gpu_check_env``) is a package
   folder put on ``PYTHONPATH`` in front of the system's site-packages, rather than a
   ``venv --system-site-packages``: on the GPU image ``python3`` is itself a venv
   (/opt/torch/.venv), and a venv made from it would see the base interpreter's packages, not
   torch. ENV survives between calls on a warm machine (git-ignored folders are kept), so a
   rerun skips the install and the build. If the build with ops fails (a CUDA toolkit newer
   than mmcv 2.1.0 knows, say), mmcv is built without ops so that parts a and b still run; its
   log comes back in the results folder.
2. Measurements, in a child process that sees ENV and the repository (each part has a time
   estimate; a part that would overrun ``--budget-s`` is skipped and marked so):
   a. ResNet-50-D (``tricks_mm.BoTResNet``) training img/s through ``train_step``, batch 256 at
      224 px: FP32 NCHW vs AMP NCHW vs AMP + channels_last (``BoTChannelsLastHook``),
      interleaved; ratios. ("FP32" convolutions use TF32, PyTorch's default for cuDNN.)
   b. Framework overhead (benchmarks/framework_overhead.py): the paper-scale ResNet-50-D
      config through an mmengine Runner vs a bare PyTorch loop, AMP, batch 128.
   c. Faster R-CNN and FCN (benchmarks/downstream.py, paper-scale configs and sizes) iteration
      times, BoTResNet-50 vs the host's ResNet-50.
3. Results: ``gpu_check.json`` (everything, written after each part, so a run cut short still
   returns what it measured) and ``gpu_check.md`` in ``--out`` (default: ``$OUT`` when set, else
   ``work_dirs/gpu_check``); a short table is printed last.

Plan on a lent machine (15 minutes of device time, 10 per command): the first call installs and
builds (the CUDA build of mmcv takes minutes on 16 cores) and measures what still fits in
``--budget-s``; an immediate second call on the still-warm machine finds ENV and measures
everything. Parts b and c reuse the sibling benchmark modules (``framework_overhead.py``,
``downstream.py``, ``trick_cost.py``, ``_common.py``) rather than copies of them.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_ENV = REPO / 'work_dirs' / 'gpu_check_env'
MMCV_SDIST = 'mmcv-2.1.0.tar.gz'
# imports the stack; on a CUDA machine mmcv must also have been compiled with CUDA ops
STACK_CHECK = ('import sys, torch, mmengine, mmdet, mmseg, mmpretrain; '
               'from mmcv.ops import RoIAlign, nms, get_compiling_cuda_version; '
               'sys.exit(torch.cuda.is_available() '
               'and get_compiling_cuda_version() == "not available")')

# (device, part) -> sizes; the CPU ones only prove the script runs
SIZES = {
    'cuda': dict(cls_batch=256, cls_img=224, cls_iters=5, cls_rounds=3,
                 fo_overlays=[], fo_batch=None, fo_img=None, fo_iters=10, fo_rounds=3,
                 fo_profile=5, ds_depth=50, ds_scale='paper', ds_det_iters=3, ds_seg_iters=3,
                 ds_rounds=3),
    'cpu': dict(cls_batch=8, cls_img=64, cls_iters=1, cls_rounds=2,
                fo_overlays=['configs/toy/classification.py'], fo_batch=8, fo_img=64,
                fo_iters=2, fo_rounds=2, fo_profile=2, ds_depth=18, ds_scale='toy',
                ds_det_iters=1, ds_seg_iters=1, ds_rounds=1),
}
# rough seconds each part needs (imports and warm-up included), to skip what cannot finish
ESTIMATE_S = {'cuda': dict(cls=90, overhead=90, downstream=120),
              'cpu': dict(cls=60, overhead=60, downstream=120)}


def say(msg: str) -> None:
    print(f'[gpu_check] {msg}', flush=True)


def sh(cmd: List[str], env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None,
       log_file: Optional[Path] = None) -> None:
    """Run ``cmd``; with ``log_file`` its output goes there and its tail is shown on failure."""
    say('$ ' + ' '.join(str(c) for c in cmd))
    if log_file is None:
        subprocess.run([str(c) for c in cmd], check=True, env=env, cwd=cwd)
        return
    with open(log_file, 'w') as f:
        r = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, stdout=f,
                           stderr=subprocess.STDOUT)
    if r.returncode:
        tail = log_file.read_text(errors='replace').splitlines()[-40:]
        print('\n'.join(tail), flush=True)
        raise subprocess.CalledProcessError(r.returncode, cmd)


def child_env(env_dir: Optional[Path]) -> Dict[str, str]:
    """The environment of every child: ENV and the repository in front of site-packages."""
    env = dict(os.environ)
    paths = ([str(env_dir)] if env_dir else []) + [str(REPO)]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.setdefault('PYTHONWARNINGS', 'ignore')
    return env


def stack_ready(env_dir: Optional[Path]) -> bool:
    """Whether the OpenMMLab stack (with compiled mmcv ops) imports in a child process."""
    r = subprocess.run([sys.executable, '-c', STACK_CHECK], env=child_env(env_dir),
                       capture_output=True, text=True)
    return r.returncode == 0


def torch_uses_cxx20() -> bool:
    """Whether the installed torch builds its own C++ extensions as C++20."""
    import torch.utils.cpp_extension as ext
    return "'-std=c++20'" in Path(ext.__file__).read_text()


def _build_mmcv(bundle: Path, wheel_dir: Path, build_env: Dict[str, str], cxx20: bool,
                log_file: Path) -> float:
    """Compile the bundled mmcv sdist into a wheel in ``wheel_dir``; returns seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(bundle / MMCV_SDIST) as tar:
            if hasattr(tarfile, 'data_filter'):
                tar.extractall(tmp, filter='data')
            else:
                tar.extractall(tmp)
        src = Path(tmp) / MMCV_SDIST[:-len('.tar.gz')]
        if cxx20:
            setup_py = src / 'setup.py'
            setup_py.write_text(re.sub(r'-std=c\+\+1[47]', '-std=c++20', setup_py.read_text()))
        say(f'building mmcv (ops: {build_env["MMCV_WITH_OPS"]}, CUDA: '
            f'{build_env["FORCE_CUDA"]}, arch {build_env.get("TORCH_CUDA_ARCH_LIST", "-")}, '
            f'C++20: {cxx20}, {build_env["MAX_JOBS"]} jobs; log {log_file})')
        t = time.perf_counter()
        sh([sys.executable, '-m', 'pip', 'wheel', '-v', '--no-index', '--no-deps',
            '--no-build-isolation', '--disable-pip-version-check', '-w', wheel_dir, '.'],
           env=build_env, cwd=src, log_file=log_file)
        return time.perf_counter() - t


def setup(bundle: Optional[Path], env_dir: Path, device: str, out: Path,
          results: Dict[str, Any]) -> None:
    """Install the bundle into ``env_dir`` and build mmcv with ops (see the module docstring).

    If the build with compiled ops fails (a CUDA toolkit newer than mmcv 2.1.0 knows, say),
    mmcv is built without ops instead, so the classification parts still run; the detection
    part then reports the missing ops.
    """
    info: Dict[str, Any] = results.setdefault('setup', {})
    if stack_ready(None):
        info['status'] = 'stack already importable: no install, no mmcv build'
        say(info['status'])
        return
    if stack_ready(env_dir):
        info['status'] = f'reusing {env_dir} (installed and built by an earlier run)'
        say(info['status'])
        return
    if bundle is None or not bundle.is_dir():
        raise SystemExit(f'OpenMMLab is not importable and no bundle folder was given (--bundle '
                         f'{bundle}); build it with benchmarks/prepare_gpu_bundle.sh')
    env_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    wheels = sorted(glob.glob(str(bundle / '*.whl')))
    sh([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile',
        '--upgrade', '--disable-pip-version-check', '--target', env_dir, *wheels])
    info['install_s'] = time.perf_counter() - t

    import torch
    cuda = device == 'cuda'
    arch = '{}.{}'.format(*torch.cuda.get_device_capability()) if cuda else ''
    cxx20 = torch_uses_cxx20()
    info.update(cuda_arch=arch, cxx20=cxx20, torch_cuda=torch.version.cuda)
    build_env = child_env(env_dir)
    build_env.update(MMCV_WITH_OPS='1', FORCE_CUDA='1' if cuda else '0',
                     MAX_JOBS=str(os.cpu_count() or 4))
    if arch:
        build_env['TORCH_CUDA_ARCH_LIST'] = arch
    # kept beside ENV: a rerun on the same machine (or after a failed install) skips the build
    wheel_dir = env_dir.parent / f'gpu_check_mmcv_{"sm" + arch.replace(".", "") if cuda else "cpu"}'
    if glob.glob(str(wheel_dir / 'mmcv-2.1.0-*.whl')):
        info['mmcv_build_s'] = 0.0
        say(f'reusing the mmcv wheel in {wheel_dir}')
    else:
        try:
            info['mmcv_build_s'] = _build_mmcv(bundle, wheel_dir, build_env, cxx20,
                                               out / 'mmcv_build.log')
        except subprocess.CalledProcessError:
            info['mmcv_build_error'] = f'build with ops failed; see {out / "mmcv_build.log"}'
            build_env['MMCV_WITH_OPS'] = '0'
            build_env['FORCE_CUDA'] = '0'
            wheel_dir = env_dir.parent / 'gpu_check_mmcv_noops'
            info['mmcv_noops_build_s'] = _build_mmcv(bundle, wheel_dir, build_env, cxx20,
                                                     out / 'mmcv_build_noops.log')
    sh([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--upgrade',
        '--disable-pip-version-check', '--target', env_dir,
        *glob.glob(str(wheel_dir / 'mmcv*-2.1.0-*.whl'))])
    ok = stack_ready(env_dir)
    info['status'] = 'installed from the bundle' + ('' if ok else ', but the stack check fails '
                                                    '(mmcv ops missing?)')
    say(info['status'])


# ---------------------------------------------------------------- measurement (child process)

def measure_cls(device: str, s: Dict[str, Any]) -> Dict[str, Any]:
    """ResNet-50-D train_step img/s: FP32 NCHW / AMP NCHW / AMP channels_last (CPU: no AMP)."""
    import torch
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    from _common import interleave, log, median, quiet_mmengine, spread
    from trick_cost import build, classifier_cfg, make_batch
    from tricks_mm.engine.channels_last import BoTChannelsLastHook
    quiet_mmengine()
    torch.backends.cudnn.benchmark = True
    variants = {'FP32 NCHW': (False, False)}
    if device == 'cuda':
        variants.update({'AMP NCHW': (True, False), 'AMP channels_last': (True, True)})
    else:
        variants['FP32 channels_last'] = (False, True)
    models, wrappers, hooks = {}, {}, []
    for name, (amp, cl) in variants.items():
        model = build(classifier_cfg(50, 1000), device)
        if cl:
            hook = BoTChannelsLastHook()
            runner = SimpleNamespace(model=model)
            hook.before_run(runner)
            hook.before_train(runner)
            hooks.append(hook)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                              weight_decay=1e-4)
        wrappers[name] = AmpOptimWrapper(optimizer=opt, loss_scale='dynamic') if amp \
            else OptimWrapper(opt)
        models[name] = model
    batch = make_batch(s['cls_batch'], s['cls_img'], 1000, device)

    def block(name: str) -> Callable[[int], None]:
        def go(n: int) -> None:
            for _ in range(n):
                models[name].train_step(batch, wrappers[name])
        return go
    times = interleave({n: block(n) for n in models}, s['cls_iters'], s['cls_rounds'],
                       warmup=2, device=device, log=log)
    img_s = {k: s['cls_batch'] / median(v) for k, v in times.items()}
    base = img_s['FP32 NCHW']
    out = dict(batch=s['cls_batch'], img=s['cls_img'], img_per_s=img_s,
               spread={k: spread(v) for k, v in times.items()},
               ratio_to_fp32={k: v / base for k, v in img_s.items()})
    if 'AMP channels_last' in img_s:
        out['channels_last_over_nchw_amp'] = img_s['AMP channels_last'] / img_s['AMP NCHW']
    if device == 'cuda':
        out['max_memory_gib'] = torch.cuda.max_memory_allocated() / 2 ** 30
    return out


def measure(args: argparse.Namespace) -> None:
    """Child process: run the parts within the budget, saving results after each."""
    sys.path.insert(0, str(HERE))
    import torch
    device = args.device
    s = SIZES[device]
    if device == 'cpu':
        torch.set_num_threads(1)  # steadier on a shared machine (see _common)
    out_json = Path(args.result_json)
    res = json.loads(out_json.read_text()) if out_json.exists() else {}
    res['torch'] = torch.__version__
    res['gpu'] = torch.cuda.get_device_name() if device == 'cuda' else None
    deadline = args.deadline

    def part(name: str, fn: Callable[[], Any]) -> None:
        left = deadline - time.time()
        if left < ESTIMATE_S[device][name]:
            res[name] = dict(skipped=f'{left:.0f} s left of the budget, ~'
                                     f'{ESTIMATE_S[device][name]} s needed')
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
    if 'overhead' in args.parts:
        import framework_overhead as fo

        def overhead() -> Dict[str, Any]:
            r = fo.run(overlays=s['fo_overlays'], batch_size=s['fo_batch'], img_size=s['fo_img'],
                       iters=s['fo_iters'], rounds=s['fo_rounds'], warmup=3,
                       profile_iters=s['fo_profile'])
            if torch.cuda.is_available() != (device == 'cuda'):
                r['note'] = 'the Runner picks CUDA whenever it is available'
            return r
        part('overhead', overhead)
    if 'downstream' in args.parts:
        import downstream as ds
        part('downstream', lambda: ds.run(depth=s['ds_depth'], det_iters=s['ds_det_iters'],
                                          seg_iters=s['ds_seg_iters'], rounds=s['ds_rounds'],
                                          device=device, scale=s['ds_scale']))


# ---------------------------------------------------------------- report

def short_table(res: Dict[str, Any]) -> str:
    rows: List[str] = ['| what | result |', '|---|---|']
    st = res.get('setup', {})
    rows.append(f"| setup | {st.get('status', '-')}"
                + (f", mmcv build {st['mmcv_build_s']:.0f} s" if 'mmcv_build_s' in st else '')
                + (f", {st['mmcv_build_error']}" if 'mmcv_build_error' in st else '')
                + ' |')
    cls = res.get('cls', {})
    if 'img_per_s' in cls:
        for k, v in cls['img_per_s'].items():
            rows.append(f"| ResNet-50-D train, batch {cls['batch']}x{cls['img']}, {k} | "
                        f"{v:.0f} img/s ({cls['ratio_to_fp32'][k]:.2f}x FP32) |")
        if 'channels_last_over_nchw_amp' in cls:
            rows.append(f"| channels_last / NCHW under AMP | "
                        f"{cls['channels_last_over_nchw_amp']:.2f}x |")
    elif cls:
        rows.append(f"| ResNet-50-D AMP/channels_last | {cls.get('skipped') or cls.get('error')} |")
    fo = res.get('overhead', {})
    if 'ratio' in fo:
        ips = fo['img_per_s']
        rows.append(f"| framework overhead (Runner / bare), batch {fo['batch_size']}x"
                    f"{fo['img_size']}{' AMP' if fo['amp'] else ''} | {fo['ratio']:.3f} "
                    f"({ips['tricks_mm Runner']:.0f} vs {ips['bare PyTorch']:.0f} img/s) |")
    elif fo:
        rows.append(f"| framework overhead | {fo.get('skipped') or fo.get('error')} |")
    dsr = res.get('downstream', {})
    for t in dsr.get('tasks', []):
        cells = ', '.join(f'{k} {v:.3f} s/it' for k, v in t['s_per_it'].items())
        rows.append(f"| {t['task']} batch {t['batch']}x{t['shape'][0]}x{t['shape'][1]} | "
                    f"{cells} (ratio {t['ratio']:.3f}) |")
    if dsr and not dsr.get('tasks'):
        rows.append(f"| downstream | {dsr.get('skipped') or dsr.get('error')} |")
    return '\n'.join(rows)


def write_report(res: Dict[str, Any], out: Path) -> str:
    table = short_table(res)
    head = (f"GPU check, {res.get('date')}: {res.get('gpu') or 'no GPU'}, "
            f"{res.get('processor')}, {res.get('cpu_count')} CPUs, python {res.get('python')}, "
            f"torch {res.get('torch')}, device {res.get('device')}")
    md = f'## GPU check (benchmarks/gpu_check.py)\n\n{head}\n\n{table}\n'
    (out / 'gpu_check.md').write_text(md + '\n```json\n' + json.dumps(res, indent=1, default=str)
                                      + '\n```\n')
    return md


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(__doc__.splitlines()[2:]))
    p.add_argument('--device', choices=['cuda', 'cpu'], default=None,
                   help='default: cuda when available (tiny sizes on cpu)')
    p.add_argument('--bundle', type=Path, default=REPO / 'work_dirs' / 'gpu_bundle',
                   help='folder made by benchmarks/prepare_gpu_bundle.sh')
    p.add_argument('--env', type=Path, default=DEFAULT_ENV,
                   help='package folder the bundle is installed into (put on PYTHONPATH)')
    p.add_argument('--out', type=Path, default=None,
                   help='results folder (default: $OUT if set, else work_dirs/gpu_check)')
    p.add_argument('--parts', nargs='+', default=['cls', 'overhead', 'downstream'],
                   choices=['cls', 'overhead', 'downstream'], help='measurements to run')
    p.add_argument('--budget-s', type=float, default=540,
                   help='wall-clock budget of the whole script; parts that cannot finish in '
                        'what is left are skipped (default fits a 600 s device call)')
    p.add_argument('--stage', choices=['all', 'measure'], default='all', help=argparse.SUPPRESS)
    p.add_argument('--result-json', help=argparse.SUPPRESS)
    p.add_argument('--deadline', type=float, help=argparse.SUPPRESS)
    return p.parse_args(argv)


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
    sys.path.insert(0, str(HERE))
    from _common import cpu_name  # standard library only
    res: Dict[str, Any] = dict(
        date=time.strftime('%Y-%m-%d %H:%M'), device=args.device, processor=cpu_name(),
        cpu_count=os.cpu_count(),
        python=platform.python_version(), nvidia_smi=shutil.which('nvidia-smi') is not None)
    try:
        setup(args.bundle, args.env, args.device, out, res)
    finally:
        result_json.write_text(json.dumps(res, indent=1, default=str))
    cmd = [sys.executable, __file__, '--stage', 'measure', '--device', args.device,
           '--result-json', str(result_json), '--deadline', str(start + args.budget_s),
           '--parts', *args.parts]
    rc = subprocess.run(cmd, env=child_env(args.env)).returncode
    res = json.loads(result_json.read_text())
    res['measure_returncode'] = rc
    res['total_s'] = time.time() - start
    result_json.write_text(json.dumps(res, indent=1, default=str))
    md = write_report(res, out)
    say(f'full results: {result_json} and {out / "gpu_check.md"}')
    print(md, flush=True)


if __name__ == '__main__':
    main()
