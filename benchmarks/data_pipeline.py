"""Data pipeline per worker: tricks_mm's paper pipeline, per image and batched, vs torchvision v2.

tricks_mm, per image: the ``train_pipeline`` of ``configs/_base_/datasets/imagenet_bot.py`` with
the colour stage moved back into the workers (``tools/train.py --color-per-image``):
LoadImageFromFile, RandomResizedCrop 224, RandomFlip, ColorJitter(.4, 0, .4, hue .2),
BoTLighting, PackInputs; the data preprocessor normalises in the main process.

tricks_mm, batched (the shipped default): the workers run LoadImageFromFile, RandomResizedCrop,
RandomFlip, PackInputs (uint8); the data preprocessor (``tricks_mm.BoTClsDataPreprocessor``,
``batch_color``) applies colour jitter, lighting and normalisation to the collated batch on the
model's device. Timed here: the worker part per image, and the batch stage's CPU cost per image
on batches of ``--batch`` (on a GPU it runs on the device instead).

torchvision: ``decode_jpeg(read_file())`` -> v2 RandomResizedCrop 224 (same scale/ratio;
torchvision's default ``antialias=True``, which cv2's bilinear resize does not do) ->
RandomHorizontalFlip -> ColorJitter(.4, 0, .4, .2) -> ToDtype(float32) -> PCA lighting (AlexNet
eigen-vectors, RGB, sigma 0.1) -> Normalize. In a torchvision training script all of it runs in
the DataLoader workers.

Each runs single-process, one image at a time, as one DataLoader worker does (torch 1 thread as
PyTorch sets in workers, OpenCV serial as mmengine sets ``opencv_num_threads=0``), on the same
generated JPEGs (~400x350, like an average ImageNet image), interleaved pass by pass. Reported:
img/s by process CPU time (the steady measure on a shared machine, see _common) and by wall
clock, time per transform, the workers a GPU consuming 2,500 and 5,000 img/s would need, and the
per-image decode cost of every JPEG decoder installed (OpenCV, PIL, torchvision.io, simplejpeg,
PyTurboJPEG), with its difference to OpenCV's pixels.
"""

import argparse
import math
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from _common import (
    REPO,
    add_report_args,
    log,
    machine_info,
    machine_md,
    md_table,
    median,
    parser,
    publish,
)

BOT_DATASET = 'configs/_base_/datasets/imagenet_bot.py'
# AlexNet PCA lighting in RGB order (the config holds the same, BGR-ordered, for cv2 images).
EIGVAL_RGB = [55.4625, 4.7940, 1.1475]
EIGVEC_RGB = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
PER_IMAGE = 'tricks_mm per image (mmpretrain)'
BATCHED = 'tricks_mm batched: worker part'
TORCHVISION = 'torchvision v2'
#: steps that run in the main process on the batch (on the GPU in training): not worker time
MAIN_PROCESS = ('normalise (data preprocessor)',)


def make_jpegs(
    folder: Path, n: int, size: Tuple[int, int] = (400, 350), seed: int = 0
) -> List[str]:
    """``n`` photo-like JPEGs (smooth colour fields + texture noise, quality 90) of ~``size``.

    Pure noise would compress (and decode) unlike photographs; smooth fields alone would be too
    cheap: the mix gives files of ImageNet-like size (tens of kB).
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        w = int(size[0] * rng.uniform(0.85, 1.15))
        h = int(size[1] * rng.uniform(0.85, 1.15))
        low = rng.uniform(0, 255, (h // 25 + 2, w // 25 + 2, 3)).astype(np.uint8)
        img = np.asarray(Image.fromarray(low).resize((w, h), Image.BICUBIC), dtype=np.float32)
        img += rng.normal(0, 12, (h, w, 3))
        path = folder / f'img_{i:04d}.jpg'
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


class Timed:
    """A sequence of ``(name, fn)`` steps applied in order, accumulating CPU time per step."""

    def __init__(self, steps: Sequence[Tuple[str, Callable[[Any], Any]]]) -> None:
        self.steps = list(steps)
        self.acc: Dict[str, float] = defaultdict(float)
        self.count = 0

    def __call__(self, x: Any) -> Any:
        for name, fn in self.steps:
            t = time.process_time()
            x = fn(x)
            self.acc[name] += time.process_time() - t
        self.count += 1
        return x

    def reset(self) -> None:
        self.acc.clear()
        self.count = 0


def _bot_config(per_image: bool):
    from mmengine.config import Config

    from tricks_mm.config.color_aug import per_image_transforms

    cfg = Config.fromfile(str(REPO / BOT_DATASET))
    steps = list(cfg.train_pipeline)
    if per_image:
        pack = [i for i, t in enumerate(steps) if t['type'] == 'PackInputs'][0]
        steps[pack:pack] = per_image_transforms(cfg.data_preprocessor.batch_color)
    return cfg, steps


def mm_pipeline(per_image: bool, decoder: str = 'cv2') -> Timed:
    """The configured pipeline (per image: + the data preprocessor's normalisation)."""
    import mmpretrain.datasets  # noqa: F401  (registers the transforms)
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS, TRANSFORMS

    import tricks_mm.datasets  # noqa: F401

    cfg, steps = _bot_config(per_image)
    pre_cfg = dict(cfg.data_preprocessor, type='ClsDataPreprocessor')
    pre_cfg.pop('batch_color')
    built = []
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for t in steps:
            if t['type'] == 'LoadImageFromFile':
                t = dict(t, type='tricks_mm.BoTLoadImageFromFile', imdecode_backend=decoder)
            built.append((t['type'].replace('tricks_mm.', ''), TRANSFORMS.build(t)))
        pre = MODELS.build(pre_cfg)
    if not per_image:
        return Timed(built)

    def normalise(results: dict) -> torch.Tensor:
        # default_collate's branch of ClsDataPreprocessor on a batch of one
        return pre(dict(inputs=results['inputs'][None], data_samples=None))['inputs']

    return Timed(built + [(MAIN_PROCESS[0], normalise)])


def batch_stage() -> Any:
    """The shipped config's data preprocessor with its colour stage, on the CPU."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import tricks_mm.models  # noqa: F401

    cfg, _ = _bot_config(per_image=False)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.data_preprocessor.to_dict())


class Lighting:
    """AlexNet PCA lighting on a float CHW RGB tensor (torchvision has no such transform)."""

    def __init__(self, alphastd: float = 0.1) -> None:
        self.eigval = torch.tensor(EIGVAL_RGB)
        self.eigvec = torch.tensor(EIGVEC_RGB)
        self.alphastd = alphastd

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        alpha = torch.randn(3) * self.alphastd
        return img + (self.eigvec @ (alpha * self.eigval)).view(3, 1, 1)


def tv_pipeline(size: int = 224) -> Timed:
    """The equivalent torchvision transforms v2 pipeline."""
    from torchvision.io import decode_jpeg, read_file
    from torchvision.transforms import v2

    mean = [123.68, 116.779, 103.939]
    std = [58.393, 57.12, 57.375]
    return Timed(
        [
            ('read_file + decode_jpeg', lambda p: decode_jpeg(read_file(p))),
            (
                'RandomResizedCrop',
                v2.RandomResizedCrop(
                    size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), antialias=True
                ),
            ),
            ('RandomHorizontalFlip', v2.RandomHorizontalFlip(0.5)),
            ('ColorJitter', v2.ColorJitter(brightness=0.4, saturation=0.4, hue=0.2)),
            ('ToDtype float32', v2.ToDtype(torch.float32, scale=False)),
            ('Lighting', Lighting(0.1)),
            ('Normalize', v2.Normalize(mean, std)),
        ]
    )


def decoders() -> Dict[str, Callable[[bytes], np.ndarray]]:
    """Every JPEG decoder importable here, each returning an HWC BGR uint8 array."""
    import cv2
    import mmcv

    out: Dict[str, Callable[[bytes], np.ndarray]] = {
        'OpenCV (mmcv cv2 backend)': lambda b: mmcv.imfrombytes(b, backend='cv2'),
        'PIL (mmcv pillow backend)': lambda b: mmcv.imfrombytes(b, backend='pillow'),
    }
    from tricks_mm.datasets.loading import decode_torchvision

    out['torchvision.io.decode_jpeg (tricks_mm torchvision backend)'] = decode_torchvision
    try:
        import simplejpeg  # noqa: F401

        from tricks_mm.datasets.loading import decode_simplejpeg

        out['simplejpeg (tricks_mm simplejpeg backend)'] = decode_simplejpeg
    except ImportError:
        pass
    try:
        import turbojpeg  # noqa: F401  (PyTurboJPEG; needs the libturbojpeg system library)

        mmcv.imfrombytes(
            cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8))[1].tobytes(), backend='turbojpeg'
        )
        out['PyTurboJPEG (mmcv turbojpeg backend)'] = lambda b: mmcv.imfrombytes(
            b, backend='turbojpeg'
        )
    except Exception:  # not installed, or its shared library is missing
        pass
    return out


def time_decoders(
    paths: Sequence[str], rounds: int = 3, device: str = 'cpu'
) -> Dict[str, Dict[str, float]]:
    """CPU ms per decode (median of ``rounds`` interleaved passes) and pixels vs OpenCV; on
    ``device='cuda'`` also torchvision's batched GPU decode (wall ms per image)."""
    blobs = [Path(p).read_bytes() for p in paths]
    decs = decoders()
    ref_name = next(iter(decs))
    ref = [decs[ref_name](b).astype(np.int16) for b in blobs]
    per_pass: Dict[str, List[float]] = {n: [] for n in decs}
    for r in range(rounds):
        for name in list(decs) if r % 2 == 0 else list(decs)[::-1]:
            t = time.process_time()
            for b in blobs:
                decs[name](b)
            per_pass[name].append((time.process_time() - t) / len(blobs) * 1e3)
    out = {}
    for name, dec in decs.items():
        diffs = [np.abs(dec(b).astype(np.int16) - r) for b, r in zip(blobs[:20], ref[:20])]
        out[name] = dict(
            ms=median(per_pass[name]),
            max_diff=float(max(d.max() for d in diffs)),
            mean_diff=float(np.mean([d.mean() for d in diffs])),
        )
    if device.startswith('cuda'):
        out['torchvision.io.decode_jpeg, batched on the GPU (nvJPEG)'] = _gpu_decode(
            blobs, ref, rounds, device
        )
    return out


def _gpu_decode(
    blobs: List[bytes], ref: List[np.ndarray], rounds: int, device: str
) -> Dict[str, float]:
    """Wall ms per image of one batched ``decode_jpeg(list, device=...)`` call per pass."""
    from torchvision.io import decode_jpeg

    data = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
    decode_jpeg(data[:4], device=device)  # warm-up (nvJPEG handles)
    times = []
    for _ in range(rounds):
        torch.cuda.synchronize()
        t = time.perf_counter()
        imgs = decode_jpeg(data, device=device)
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) / len(data) * 1e3)
    diffs = [
        np.abs(i.permute(1, 2, 0).flip(-1).cpu().numpy().astype(np.int16) - r)
        for i, r in zip(imgs[:20], ref[:20])
    ]
    return dict(
        ms=median(times),
        max_diff=float(max(d.max() for d in diffs)),
        mean_diff=float(np.mean([d.mean() for d in diffs])),
    )


def run(
    n_images: int = 200,
    passes: int = 3,
    batch: int = 32,
    gpu_rates: Sequence[float] = (2500.0, 5000.0),
    decoder: str = 'cv2',
    folder: Optional[str] = None,
    stage_device: str = 'cpu',
) -> Dict[str, Any]:
    """Time the pipelines over the same files, alternating whole passes, and the batch stage."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    torch.manual_seed(0)
    np.random.seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(folder or tmp)
        root.mkdir(parents=True, exist_ok=True)
        paths = make_jpegs(root, n_images)
        kb = sum(os.path.getsize(p) for p in paths) / len(paths) / 1024
        pipes = {
            PER_IMAGE: mm_pipeline(per_image=True),
            BATCHED: mm_pipeline(per_image=False),
            TORCHVISION: tv_pipeline(),
        }
        if decoder != 'cv2':
            pipes[f'{BATCHED}, {decoder} decoder'] = mm_pipeline(False, decoder)
        inputs = {
            n: (lambda p: p) if n == TORCHVISION else (lambda p: dict(img_path=p)) for n in pipes
        }
        for name, pipe in pipes.items():  # warm-up pass: page cache, lazy imports
            for p in paths[:20]:
                pipe(inputs[name](p))
            pipe.reset()
        cpu_pass: Dict[str, List[float]] = {n: [] for n in pipes}
        wall_pass: Dict[str, List[float]] = {n: [] for n in pipes}
        worker_out: List[torch.Tensor] = []
        for r in range(passes):
            names = list(pipes)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                c, t = time.process_time(), time.perf_counter()
                for p in paths:
                    out = pipes[name](inputs[name](p))
                    if name == BATCHED and len(worker_out) < batch * 4:
                        worker_out.append(out['inputs'])
                cpu_pass[name].append(len(paths) / (time.process_time() - c))
                wall_pass[name].append(len(paths) / (time.perf_counter() - t))
            log(
                f'pass {r + 1}/{passes}: '
                + ', '.join(f'{n} {v[-1]:.0f} img/s' for n, v in cpu_pass.items())
            )
        decode = time_decoders(paths, device=stage_device)
    # the batch stage on collated worker outputs (uint8 NCHW), training mode
    # (CPU: process CPU time; CUDA: wall clock around synchronised batches)
    pre = batch_stage().to(stage_device)
    pool = list(worker_out)
    while len(pool) < 2 * batch:  # few images, big batches: reuse the crops
        pool += worker_out
    batches = [
        dict(inputs=torch.stack(pool[i : i + batch]).to(stage_device), data_samples=None)
        for i in range(0, len(pool) - batch + 1, batch)
    ]
    cuda = stage_device.startswith('cuda')
    clock = time.perf_counter if cuda else time.process_time
    pre(batches[0], training=True)  # warm-up
    stage_ms = []
    for _ in range(passes):
        if cuda:
            torch.cuda.synchronize()
        c = clock()
        for b in batches:
            pre(b, training=True)
        if cuda:
            torch.cuda.synchronize()
        stage_ms.append((clock() - c) / (len(batches) * batch) * 1e3)
    res: Dict[str, Any] = dict(
        n_images=n_images,
        passes=passes,
        mean_kb=kb,
        batch=batch,
        gpu_rates=list(gpu_rates),
        pipelines={},
        decode=decode,
        stage_device=stage_device,
        batch_stage_ms=median(stage_ms),
        batch_stage_ms_passes=stage_ms,
    )
    for name, pipe in pipes.items():
        ms = {k: v / pipe.count * 1e3 for k, v in pipe.acc.items()}
        main_ms = sum(v for k, v in ms.items() if k in MAIN_PROCESS)
        img_s = median(cpu_pass[name])
        worker_img_s = 1e3 / (1e3 / img_s - main_ms)
        res['pipelines'][name] = dict(
            img_per_s=img_s,
            img_per_s_passes=cpu_pass[name],
            wall_img_per_s=median(wall_pass[name]),
            ms_per_transform=ms,
            worker_img_per_s=worker_img_s,
            workers_needed={str(int(g)): math.ceil(g / worker_img_s) for g in gpu_rates},
        )
    per = res['pipelines'][PER_IMAGE]['ms_per_transform']
    res['replaced_ms'] = sum(
        v for k, v in per.items() if k in ('ColorJitter', 'BoTLighting') or k in MAIN_PROCESS
    )
    return res


def report(res: Dict[str, Any], info: Dict[str, str], load: str) -> str:
    rates = res['gpu_rates']
    pipes = res['pipelines']
    rows = [
        (
            n,
            f'{p["img_per_s"]:.0f}',
            f'{1e3 / p["img_per_s"]:.2f}',
            f'{p["wall_img_per_s"]:.0f}',
            f'{p["worker_img_per_s"]:.0f}',
            *p['workers_needed'].values(),
        )
        for n, p in pipes.items()
    ]
    tv = pipes[TORCHVISION]['worker_img_per_s']
    ratios = ', '.join(
        f'{n} {p["worker_img_per_s"] / tv:.2f}' for n, p in pipes.items() if n != TORCHVISION
    )
    md = [
        '## Data pipeline per worker (benchmarks/data_pipeline.py)',
        '',
        f'Machine: {machine_md(info)}; load: {load}',
        '',
        f'{res["n_images"]} generated JPEGs (~400x350, {res["mean_kb"]:.0f} kB mean), '
        f'{res["passes"]} interleaved passes (median), single process, 1 torch thread, serial '
        'OpenCV; 224-px RandomResizedCrop output. img/s from process CPU time (wall clock beside '
        'it: on a loaded machine it measures scheduler waits).',
        '',
        md_table(
            [
                'pipeline',
                'img/s (CPU time)',
                'CPU ms/img',
                'img/s (wall)',
                'img/s in a worker',
                *[f'workers for {g:.0f} img/s' for g in rates],
            ],
            rows,
        ),
        '',
        '"In a worker" leaves out what runs in the main process on the batch (the data '
        "preprocessor's normalisation; for the batched path also colour jitter and lighting, "
        'below); torchvision does everything in the worker.',
        '',
        f'Worker img/s relative to torchvision v2 (same run): {ratios}.',
        '',
        f'Batch stage (tricks_mm.BoTClsDataPreprocessor, training: colour jitter + lighting + '
        f'normalisation on batches of {res["batch"]}, CPU, 1 thread): '
        f'**{res["batch_stage_ms"]:.2f} ms/img** CPU time, against '
        f'{res["replaced_ms"]:.2f} ms/img for the per-image ColorJitter + BoTLighting + '
        f'normalisation it replaces (ratio {res["batch_stage_ms"] / res["replaced_ms"]:.2f}).',
        '',
        'Time per transform (CPU ms/img):',
        '',
    ]
    for name, p in pipes.items():
        md += [f'- {name}: ' + ', '.join(f'{k} {v:.2f}' for k, v in p['ms_per_transform'].items())]
    md += [
        '',
        'JPEG decode alone (bytes in memory; CPU ms/img, median of 3 interleaved passes; '
        'pixel difference to OpenCV over 20 images, 0..255):',
        '',
        md_table(
            ['decoder', 'ms/img', 'max |diff|', 'mean |diff|'],
            [
                (n, f'{d["ms"]:.2f}', f'{d["max_diff"]:.0f}', f'{d["mean_diff"]:.3f}')
                for n, d in res['decode'].items()
            ],
        ),
    ]
    return '\n'.join(md)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument('--images', type=int, default=200, help='JPEGs to generate')
    p.add_argument('--passes', type=int, default=3, help='passes over the files per pipeline')
    p.add_argument('--batch', type=int, default=32, help='batch size of the batch stage')
    p.add_argument(
        '--gpu-img-per-s',
        type=float,
        nargs='+',
        default=[2500.0, 5000.0],
        help='training throughputs the workers must feed (default: ResNet-50 with '
        'AMP + channels_last on an A100, per NVIDIA DeepLearningExamples, and '
        'twice that for newer GPUs)',
    )
    p.add_argument(
        '--decoder',
        default='cv2',
        help='also time the batched worker part with this BoTLoadImageFromFile '
        'imdecode_backend (e.g. torchvision, simplejpeg)',
    )
    p.add_argument(
        '--load', default='not stated', help='what else ran on the machine, for the report'
    )
    p.add_argument('--folder', help='where to write the JPEGs (default: a temporary folder)')
    add_report_args(p)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    load = f'{args.load}; load average at start {os.getloadavg()[0]:.1f}'
    res = run(args.images, args.passes, args.batch, args.gpu_img_per_s, args.decoder, args.folder)
    md = report(res, machine_info(), load)
    publish('data_pipeline', md, args)
    return res


if __name__ == '__main__':
    main()
