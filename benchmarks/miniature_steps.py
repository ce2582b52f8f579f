"""Per-step costs of the Fashion-MNIST miniature ladder (docs/miniature.md), for its budget.

Times, on the prepared miniature (``python -m tricks_mm.datasets.fashion_mnist --out
data/fashion_mnist``), through the configs the ladder runs (``configs/miniature/``):

- the classifier: training iterations at the overlay's batch (128) and size (40 px), at the
  miniature's half width and at full width, and validation batches (256) -> seconds per epoch
  of the 60,000 training images and per pass over the 10,000 test images;
- one Faster R-CNN FPN and one FCN training iteration (batch 4, 128-px scenes) and one
  evaluation image of each -> seconds per step of their schedules.

Every number is a median over iterations after a warm-up, wall and process CPU time, at the
given torch thread count (1 = what each of the ladder's ``jobs=2`` steps gets). The machine is
whatever it runs on: say how loaded it was beside the numbers.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch
from _common import REPO, machine_info

from tricks_mm.config.setup import apply_common_flags, import_host, load_config
from tricks_mm.engine.runner import StrictRunner

CLS = REPO / 'configs/classification/resnet50d_cosine_8xb128_in1k.py'
OVERLAY = REPO / 'configs/miniature/classification.py'
DET = REPO / 'configs/miniature/faster-rcnn_botr18-d-fpn_fmnist-voc.py'
SEG = REPO / 'configs/miniature/fcn_botr18-d-d8_fmnist-ade.py'
FULL_WIDTH = {
    'model.backbone.stem_channels': 64,
    'model.backbone.base_channels': 64,
    'model.head.in_channels': 512,
}


def build(config: Path, overlays: List[str], options: Optional[Dict] = None) -> StrictRunner:
    """The runner the ladder's step would build (no checkpoint: the control's backbone)."""
    cfg = load_config(str(config), overlays)
    import_host(cfg)
    options = dict(options or {}, log_level='WARNING')
    if 'backbone' in cfg.model and cfg.model.backbone.get('init_cfg'):
        options['model.backbone.init_cfg'] = None
    apply_common_flags(cfg, tempfile.mkdtemp(prefix='mini_'), 'none', options, auto_scale_lr=True)
    return StrictRunner.from_cfg(cfg)


def _geometry(size: int) -> Dict:
    """Overrides for the overlay's pipelines at crop ``size`` (the paper's 224/256 ratio)."""
    return {
        'train_dataloader.dataset.pipeline.1.scale': size,
        'val_dataloader.dataset.pipeline.1.scale': round(size / 0.875),
        'val_dataloader.dataset.pipeline.2.crop_size': size,
    }


def _median_times(step, batches, n: int, warmup: int) -> Dict[str, float]:
    wall, cpu = [], []
    for i, data in enumerate(batches):
        if i == warmup + n:
            break
        t, c = time.perf_counter(), time.process_time()
        step(data)
        if i >= warmup:
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return dict(wall=statistics.median(wall), cpu=statistics.median(cpu), n=len(wall))


def time_train(runner: StrictRunner, n: int, warmup: int) -> Dict[str, float]:
    """Median seconds of one training iteration (loading included, as in the loop)."""
    loader = runner.build_dataloader(runner.cfg.train_dataloader)
    optim = runner.build_optim_wrapper(runner.cfg.optim_wrapper)
    runner.model.train()
    out = _median_times(lambda d: runner.model.train_step(d, optim), loader, n, warmup)
    out.update(batch=loader.batch_size, batches=len(loader))
    return out


def time_val(runner: StrictRunner, n: int, warmup: int) -> Dict[str, float]:
    """Median seconds of one validation batch (loading included)."""
    loader = runner.build_dataloader(runner.cfg.val_dataloader)
    runner.model.eval()
    with torch.no_grad():
        out = _median_times(runner.model.val_step, loader, n, warmup)
    out.update(batch=loader.batch_size, batches=len(loader))
    return out


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=1, help='torch threads (default 1)')
    p.add_argument('--iters', type=int, default=10, help='timed iterations per measure')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--only', choices=['cls', 'det', 'seg'], action='append')
    p.add_argument('--out', help='also write the results as JSON here')
    p.add_argument(
        '--cls-sizes', type=int, nargs='*', default=[], help='also time these crop sizes'
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    only = args.only or ['cls', 'det', 'seg']
    results: Dict[str, Dict] = dict(machine=machine_info('cpu'), threads=args.threads)
    if 'cls' in only:
        variants = [('cls_half_width', {}), ('cls_full_width', FULL_WIDTH)]
        for size in args.cls_sizes:  # cheaper geometries: crop `size` of a size/0.875 resize
            variants.append((f'cls_half_width_{size}px', _geometry(size)))
        for name, opts in variants:
            runner = build(CLS, [str(OVERLAY)], opts)
            train = time_train(runner, args.iters, args.warmup)
            val = time_val(runner, max(2, args.iters // 3), 1)
            results[name] = dict(
                train=train,
                val=val,
                epoch_s=train['wall'] * train['batches'],
                epoch_cpu_s=train['cpu'] * train['batches'],
                val_pass_s=val['wall'] * val['batches'],
            )
            print(name, json.dumps(results[name]), flush=True)
    for kind, config in (('det', DET), ('seg', SEG)):
        if kind in only:
            runner = build(config, [])
            results[kind] = dict(
                train=time_train(runner, args.iters, args.warmup),
                val=time_val(runner, args.iters, args.warmup),
            )
            print(kind, json.dumps(results[kind]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
