"""Data pipeline throughput per worker: tricks_mm's paper pipeline (mmpretrain) vs torchvision v2.

tricks_mm: the ``train_pipeline`` of ``configs/_base_/datasets/imagenet_bot.py`` built with
mmpretrain's transforms (LoadImageFromFile, RandomResizedCrop 224, RandomFlip, ColorJitter(.4,
.4, hue .2), Lighting, PackInputs) plus the normalisation of the config's data preprocessor
(BGR->RGB, float, mean/std), which in training runs in the main process, normally on the GPU.

torchvision: ``decode_jpeg(read_file())`` -> v2 RandomResizedCrop 224 (same scale/ratio;
torchvision's default ``antialias=True``, which cv2's bilinear resize does not do) ->
RandomHorizontalFlip -> ColorJitter(.4, 0, .4, .2) -> ToDtype(float32) -> PCA lighting (AlexNet
eigen-vectors, RGB, sigma 0.1) -> Normalize. In a torchvision training script all of it runs in
the DataLoader workers.

Both run single-process, one image at a time, as one DataLoader worker does (torch 1 thread as
PyTorch sets in workers, OpenCV serial as mmengine sets ``opencv_num_threads=0``), on the same
generated JPEGs (~400x350, like an average ImageNet image), interleaved pass by pass. Reported:
img/s, time per transform, and the workers a GPU consuming ``--gpu-img-per-s`` would need.
"""
import argparse
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _common import (REPO, log, machine_info, machine_md, md_table, median,  # noqa: E402
                     publish)

BOT_DATASET = 'configs/_base_/datasets/imagenet_bot.py'
# AlexNet PCA lighting in RGB order (the config holds the same, BGR-ordered, for cv2 images).
EIGVAL_RGB = [55.4625, 4.7940, 1.1475]
EIGVEC_RGB = [[-0.5675, 0.7192, 0.4009],
              [-0.5808, -0.0045, -0.8140],
              [-0.5836, -0.6948, 0.4203]]


def make_jpegs(folder: Path, n: int, size: Tuple[int, int] = (400, 350), seed: int = 0
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
    """A sequence of ``(name, fn)`` steps applied in order, accumulating time per step."""

    def __init__(self, steps: Sequence[Tuple[str, Callable[[Any], Any]]]) -> None:
        self.steps = list(steps)
        self.acc: Dict[str, float] = defaultdict(float)
        self.count = 0

    def __call__(self, x: Any) -> Any:
        for name, fn in self.steps:
            t = time.perf_counter()
            x = fn(x)
            self.acc[name] += time.perf_counter() - t
        self.count += 1
        return x

    def reset(self) -> None:
        self.acc.clear()
        self.count = 0


def mm_pipeline(cfg_path: str = BOT_DATASET) -> Timed:
    """The configured mmpretrain pipeline + the data preprocessor's normalisation."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    import mmpretrain.datasets  # noqa: F401  (registers the transforms)
    from mmpretrain.registry import MODELS, TRANSFORMS
    cfg = Config.fromfile(str(REPO / cfg_path))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        steps = [(t['type'], TRANSFORMS.build(t)) for t in cfg.train_pipeline]
        pre = MODELS.build(dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))

    def normalise(results: dict) -> torch.Tensor:
        # default_collate's branch of ClsDataPreprocessor on a batch of one
        return pre(dict(inputs=results['inputs'][None], data_samples=None))['inputs']
    return Timed([(n, t) for n, t in steps] + [('normalise (data preprocessor)', normalise)])


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
    return Timed([
        ('read_file + decode_jpeg', lambda p: decode_jpeg(read_file(p))),
        ('RandomResizedCrop', v2.RandomResizedCrop(size, scale=(0.08, 1.0),
                                                   ratio=(3. / 4., 4. / 3.), antialias=True)),
        ('RandomHorizontalFlip', v2.RandomHorizontalFlip(0.5)),
        ('ColorJitter', v2.ColorJitter(brightness=0.4, saturation=0.4, hue=0.2)),
        ('ToDtype float32', v2.ToDtype(torch.float32, scale=False)),
        ('Lighting', Lighting(0.1)),
        ('Normalize', v2.Normalize(mean, std)),
    ])


def run(n_images: int = 200, passes: int = 3, gpu_img_per_s: float = 2500.0,
        folder: Optional[str] = None) -> Dict[str, Any]:
    """Time both pipelines over the same files, alternating whole passes."""
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
        pipes = {'tricks_mm (mmpretrain + data preprocessor)': mm_pipeline(),
                 'torchvision v2': tv_pipeline()}
        inputs = {'tricks_mm (mmpretrain + data preprocessor)': lambda p: dict(img_path=p),
                  'torchvision v2': lambda p: p}
        for name, pipe in pipes.items():  # warm-up pass: page cache, lazy imports
            for p in paths[:20]:
                pipe(inputs[name](p))
            pipe.reset()
        per_pass: Dict[str, List[float]] = {n: [] for n in pipes}
        for r in range(passes):
            order = list(pipes) if r % 2 == 0 else list(pipes)[::-1]
            for name in order:
                t = time.perf_counter()
                for p in paths:
                    pipes[name](inputs[name](p))
                per_pass[name].append(len(paths) / (time.perf_counter() - t))
            log(f'pass {r + 1}/{passes}: ' + ', '.join(
                f'{n} {v[-1]:.0f} img/s' for n, v in per_pass.items()))
    res: Dict[str, Any] = dict(n_images=n_images, passes=passes, mean_kb=kb,
                               gpu_img_per_s=gpu_img_per_s, pipelines={})
    for name, pipe in pipes.items():
        ms = {k: v / pipe.count * 1e3 for k, v in pipe.acc.items()}
        # the data preprocessor runs in the main process on the GPU batch: not worker time
        norm_ms = sum(v for k, v in ms.items() if k.startswith('normalise'))
        img_s = median(per_pass[name])
        worker_img_s = 1e3 / (1e3 / img_s - norm_ms)
        res['pipelines'][name] = dict(
            img_per_s=img_s, img_per_s_passes=per_pass[name], ms_per_transform=ms,
            worker_img_per_s=worker_img_s,
            workers_needed=math.ceil(gpu_img_per_s / worker_img_s))
    return res


def report(res: Dict[str, Any], info: Dict[str, str]) -> str:
    gpu = res['gpu_img_per_s']
    pipes = res['pipelines']
    rows = [(n, f"{p['img_per_s']:.0f}", f"{1e3 / p['img_per_s']:.2f}",
             f"{p['worker_img_per_s']:.0f}", p['workers_needed'])
            for n, p in pipes.items()]
    (a, pa), (b, pb) = list(pipes.items())
    md = [
        '## Data pipeline per worker (benchmarks/data_pipeline.py)', '',
        f'Machine: {machine_md(info)}', '',
        f"{res['n_images']} generated JPEGs (~400x350, {res['mean_kb']:.0f} kB mean), "
        f"{res['passes']} alternating passes (median), single process, 1 torch thread, serial "
        'OpenCV; 224-px RandomResizedCrop output.', '',
        md_table(['pipeline', 'img/s', 'ms/img', 'img/s in a worker',
                  f'workers for {gpu:.0f} img/s'], rows), '',
        '"In a worker" leaves out the data preprocessor\'s normalisation for tricks_mm (it runs '
        'in the main process on the GPU batch); torchvision normalises in the worker.', '',
        f"Ratio tricks_mm / torchvision: {pa['img_per_s'] / pb['img_per_s']:.2f}.", '',
        'Time per transform (ms/img):', '',
    ]
    for name, p in pipes.items():
        md += [f'- {name}: ' + ', '.join(f'{k} {v:.2f}' for k, v in p['ms_per_transform'].items())]
    return '\n'.join(md)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(__doc__.splitlines()[2:]))
    p.add_argument('--images', type=int, default=200, help='JPEGs to generate')
    p.add_argument('--passes', type=int, default=3, help='passes over the files per pipeline')
    p.add_argument('--gpu-img-per-s', type=float, default=2500.0,
                   help='training throughput the workers must feed (default: ResNet-50 on an '
                        'A100 with AMP + channels_last, NVIDIA DeepLearningExamples)')
    p.add_argument('--folder', help='where to write the JPEGs (default: a temporary folder)')
    p.add_argument('--md', default=None, help='report file (default docs/benchmarks.md)')
    p.add_argument('--no-write', action='store_true', help='print only')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    res = run(args.images, args.passes, args.gpu_img_per_s, args.folder)
    md = report(res, machine_info())
    publish('data_pipeline', md, args)
    return res


if __name__ == '__main__':
    main()
