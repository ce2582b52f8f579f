"""Move the paper's colour augmentation from the batch back into the per-image pipeline.

The shipped classification configs run colour jitter and PCA lighting on the batch
(``data_preprocessor.batch_color``, :class:`tricks_mm.models.data_preprocessors.
BoTClsDataPreprocessor`). :func:`color_per_image` turns such a config into the per-image variant
(mmpretrain ``ColorJitter`` + :class:`tricks_mm.datasets.lighting.BoTLighting` in the loader
workers, before ``PackInputs``) with the very same settings, for comparison
(``tools/train.py --color-per-image``). The settings have one source: ``batch_color``.
"""

from typing import Any, List

from mmengine.config import Config

from tricks_mm.utils.color_jitter import jitter_args


def _short(type_name: Any) -> str:
    return str(type_name).rsplit('.', 1)[-1]


def per_image_transforms(batch_color: dict) -> List[dict]:
    """The per-image transforms equivalent to ``batch_color`` (BGR images, as mmcv loads)."""
    out: List[dict] = []
    jitter = batch_color.get('jitter', 'paper')
    if jitter is not None:
        out.append(dict(type='ColorJitter', **jitter_args(jitter)))
    lighting = batch_color.get('lighting')
    if lighting is not None:
        out.append(dict(type='tricks_mm.BoTLighting', **dict(lighting), to_rgb=False))
    return out


def color_per_image(cfg: Config) -> List[str]:
    """Rewrite ``cfg`` in place so colour jitter + lighting run per image; returns what moved.

    Raises:
        ValueError: the config has no batch colour stage, or its training pipeline has no
            ``PackInputs`` to insert the transforms before.
    """
    pre = cfg.get('model', {}).get('data_preprocessor') or cfg.get('data_preprocessor')
    if not pre or pre.get('batch_color') is None:
        raise ValueError(
            '--color-per-image: the config has no data_preprocessor.batch_color '
            '(its colour augmentation is already per image, or absent)'
        )
    if pre.get('input_order', 'BGR') != 'BGR':
        raise ValueError(
            f'--color-per-image: data_preprocessor.input_order is {pre["input_order"]!r}, but '
            "the per-image transforms (mmpretrain's ColorJitter, BoTLighting) take mmcv's BGR "
            "images: load BGR (input_order='BGR') or keep the colour stage on the batch"
        )
    transforms = per_image_transforms(pre['batch_color'])
    pipeline = cfg.train_dataloader.dataset.get('pipeline')
    packs = [i for i, t in enumerate(pipeline or []) if _short(t.get('type')) == 'PackInputs']
    if not packs:
        raise ValueError(
            '--color-per-image: train_dataloader.dataset.pipeline has no PackInputs '
            'to put ColorJitter and BoTLighting before'
        )
    cfg.train_dataloader.dataset.pipeline = pipeline[: packs[0]] + transforms + pipeline[packs[0] :]
    for holder in (cfg.get('data_preprocessor'), cfg.get('model', {}).get('data_preprocessor')):
        if holder is not None and 'batch_color' in holder:
            holder['batch_color'] = None
    return [t['type'] for t in transforms]
