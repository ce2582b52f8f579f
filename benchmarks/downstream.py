"""Downstream training speed: BoTResNet vs the host library's own ResNet of the same design.

Faster R-CNN (mmdet) and FCN (mmseg) from the toy configs (``configs/toy/faster-rcnn_botr18-d-
fpn_toy-voc.py``, ``configs/toy/fcn_botr18-d-d8_toy-ade.py``), identical except the backbone:

- detection: ``tricks_mm.BoTResNet`` variant ``'b'`` vs mmdet ``ResNet`` ``style='pytorch'``
  (both torchvision's ResNet: stride on the 3x3 conv);
- segmentation: ``tricks_mm.BoTResNet`` variant ``'c'`` vs mmseg ``ResNetV1c`` (deep stem), both
  dilated (strides 1, 2, 1, 1; dilations 1, 1, 2, 4; contract_dilation).

Same depth, frozen stages, norm settings, random init (no checkpoint). Each model trains through
its own ``train_step`` on a fixed synthetic batch (random images; boxes from
``mmdet.testing.demo_mm_inputs``; random label maps), blocks of iterations alternating. The ratio
should be 1 within noise: the backbones compute the same thing.
"""

import argparse
import copy
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from _common import (
    REPO,
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
)

DET_CONFIG = 'configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'
SEG_CONFIG = 'configs/toy/fcn_botr18-d-d8_toy-ade.py'
# scale -> (det config, det batch, det image (h, w), seg config, seg batch); seg crops: config's
SCALES = {
    'toy': (DET_CONFIG, 4, (160, 160), SEG_CONFIG, 8),
    'paper': (
        'configs/detection/faster-rcnn_botr50-d-fpn_1x_voc0712.py',
        2,
        (600, 1000),
        'configs/segmentation/fcn_botr50-d-d8_4xb4-80k_ade20k-512x512.py',
        4,
    ),
}
SHARED_KEYS = (
    'depth',
    'stem_channels',
    'base_channels',
    'out_indices',
    'strides',
    'dilations',
    'contract_dilation',
    'frozen_stages',
    'norm_cfg',
    'norm_eval',
)


def _load(config: str, depth: int) -> Any:
    import tricks_mm  # noqa: F401
    from tricks_mm.config.setup import import_host, load_config, syncbn_to_bn_if_needed

    cfg = load_config(str(REPO / config))
    import_host(cfg)
    syncbn_to_bn_if_needed(cfg, 'none')
    cfg.model.backbone.depth = depth
    return cfg


def _backbones(cfg: Any, bot_variant: str, host: dict) -> Dict[str, dict]:
    """The config's backbone as BoTResNet ``bot_variant`` and as the host class ``host``."""
    shared = {
        k: copy.deepcopy(cfg.model.backbone[k]) for k in SHARED_KEYS if k in cfg.model.backbone
    }
    bot = dict(
        type='tricks_mm.BoTResNet',
        variant=bot_variant,
        zero_init_residual=False,
        init_cfg=None,
        **shared,
    )
    theirs = dict(init_cfg=None, zero_init_residual=False, **host, **shared)
    return {
        f'BoTResNet-{shared["depth"]}-{bot_variant.upper()}': bot,
        f'{host["type"]}-{shared["depth"]}'
        f'{" style=" + host["style"] if "style" in host else ""}': theirs,
    }


def _build(scope: str, model_cfg: dict, backbone: dict, device: str) -> torch.nn.Module:
    import importlib

    from mmengine.registry import DefaultScope

    models = importlib.import_module(f'{scope}.registry').MODELS
    cfg = copy.deepcopy(dict(model_cfg))
    cfg['backbone'] = backbone
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = models.build(cfg)
    model.init_weights()
    return model.to(device).train()


def det_batch(n: int, size: Tuple[int, int], num_classes: int) -> dict:
    from mmdet.testing import demo_mm_inputs

    return demo_mm_inputs(
        batch_size=n, image_shapes=(3, *size), num_items=[5] * n, num_classes=num_classes
    )


def seg_batch(n: int, size: Tuple[int, int], num_classes: int) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, *size), generator=g, dtype=torch.uint8))
        s = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, *size), generator=g))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _task(
    name: str,
    scope: str,
    cfg: Any,
    backbones: Dict[str, dict],
    batch: dict,
    iters: int,
    rounds: int,
    device: str,
) -> Dict[str, Any]:
    from mmengine.optim import OptimWrapper

    models = {k: _build(scope, cfg.model, b, device) for k, b in backbones.items()}
    # a small lr: the step's work must stay the same for the whole run (no divergence)
    wrappers = {
        k: OptimWrapper(torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4))
        for k, m in models.items()
    }
    batches = {k: copy.deepcopy(batch) for k in models}

    def block(k: str) -> Callable[[int], None]:
        def go(n: int) -> None:
            for _ in range(n):
                models[k].train_step(batches[k], wrappers[k])

        return go

    log(f'{name}:')
    cpu: Dict[str, List[float]] = {}
    wall = interleave(
        {k: block(k) for k in models},
        iters,
        rounds,
        warmup=1,
        device=device,
        log=log,
        cpu_times=cpu,
    )
    # the ratio from process CPU time on a (shared) CPU machine, wall clock on a GPU (_common)
    times = wall if device.startswith('cuda') else cpu
    med = {k: median(v) for k, v in times.items()}
    bot, host = list(med)
    return dict(
        task=name,
        batch=len(batch['inputs']),
        shape=tuple(batch['inputs'][0].shape[1:]),
        iters=iters,
        rounds=rounds,
        basis='wall clock' if device.startswith('cuda') else 'process CPU time',
        it_per_s={k: 1 / median(v) for k, v in wall.items()},
        s_per_it={k: median(v) for k, v in wall.items()},
        cpu_s_per_it={k: median(v) for k, v in cpu.items()},
        spread={k: spread(v) for k, v in times.items()},
        params_m={
            k: sum(p.numel() for p in m.backbone.parameters()) / 1e6 for k, m in models.items()
        },
        ratio=med[host] / med[bot],
    )


def run(
    depth: int = 18,
    det_iters: int = 2,
    seg_iters: int = 3,
    rounds: int = 4,
    tasks: Tuple[str, ...] = ('det', 'seg'),
    device: str = 'cpu',
    scale: str = 'toy',
) -> Dict[str, Any]:
    """Interleaved iteration times; ``scale='paper'`` uses the paper-scale configs and sizes
    (Faster R-CNN FPN on 2 x 600x1000, FCN-D8 on 4 x 512x512) for a GPU."""
    quiet_mmengine()
    det_config, det_n, det_size, seg_config, seg_n = SCALES[scale]
    heads = 'toy heads' if scale == 'toy' else 'paper config'
    out: Dict[str, Any] = dict(
        depth=depth, device=device, scale=scale, tasks=[], threads=torch.get_num_threads()
    )
    if 'det' in tasks:
        cfg = _load(det_config, depth)
        bb = _backbones(cfg, 'b', dict(type='ResNet', style='pytorch'))
        k = cfg.model.roi_head.bbox_head.num_classes
        out['tasks'].append(
            _task(
                f'Faster R-CNN (FPN, {heads})',
                'mmdet',
                cfg,
                bb,
                det_batch(det_n, det_size, k),
                det_iters,
                rounds,
                device,
            )
        )
    if 'seg' in tasks:
        cfg = _load(seg_config, depth)
        bb = _backbones(cfg, 'c', dict(type='ResNetV1c'))
        k = cfg.model.decode_head.num_classes
        size = tuple(cfg.crop_size)
        out['tasks'].append(
            _task(
                f'FCN (D8, {heads})',
                'mmseg',
                cfg,
                bb,
                seg_batch(seg_n, size, k),
                seg_iters,
                rounds,
                device,
            )
        )
    return out


def report(res: Dict[str, Any], info: Dict[str, str]) -> str:
    rows = []
    for t in res['tasks']:
        for k in t['it_per_s']:
            rows.append(
                (
                    t['task'],
                    k,
                    f'{t["params_m"][k]:.2f}',
                    f'{t["it_per_s"][k]:.2f}',
                    f'{t["s_per_it"][k]:.3f}',
                    f'{t["cpu_s_per_it"][k]:.3f}',
                    t['spread'][k],
                )
            )
    ratios = ', '.join(f'{t["task"]}: {t["ratio"]:.3f}' for t in res['tasks'])
    shapes = '; '.join(
        f'{t["task"]}: batch {t["batch"]} x {t["shape"][0]}x{t["shape"][1]}, '
        f'{t["rounds"]} rounds of {t["iters"]} it'
        for t in res['tasks']
    )
    return '\n'.join(
        [
            '## Downstream training speed (benchmarks/downstream.py)',
            '',
            f'Machine: {machine_md(info)}',
            '',
            f'Depth {res["depth"]}, {res["scale"]} scale, {res["device"]} FP32, random init, '
            '`train_step` on a synthetic '
            f'batch, interleaved (median). {shapes}.',
            '',
            md_table(
                [
                    'model',
                    'backbone',
                    'backbone params (M)',
                    'it/s (wall)',
                    's/it (wall)',
                    'CPU s/it',
                    f'block spread ({res["tasks"][0]["basis"] if res["tasks"] else ""})',
                ],
                rows,
            ),
            '',
            f'Speed ratio BoTResNet / host ResNet (1 = same speed; from '
            f'{res["tasks"][0]["basis"] if res["tasks"] else "-"}; {res["threads"]} torch '
            f'thread(s)): {ratios}.',
        ]
    )


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument('--depth', type=int, default=18, choices=[18, 34, 50, 101])
    p.add_argument('--tasks', nargs='+', default=['det', 'seg'], choices=['det', 'seg'])
    p.add_argument('--det-iters', type=int, default=2, help='Faster R-CNN steps per block')
    p.add_argument('--seg-iters', type=int, default=3, help='FCN steps per block')
    p.add_argument('--rounds', type=int, default=4, help='blocks per backbone')
    p.add_argument(
        '--scale',
        choices=sorted(SCALES),
        default='toy',
        help='toy configs and sizes (CPU), or the paper-scale ones (GPU)',
    )
    add_common_args(p)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    set_threads(args)
    res = run(
        args.depth,
        args.det_iters,
        args.seg_iters,
        args.rounds,
        tuple(args.tasks),
        args.device,
        args.scale,
    )
    md = report(res, machine_info(args.device))
    publish('downstream', md, args)
    return res


if __name__ == '__main__':
    main()
