"""The input convention a classifier was trained with, and the data preprocessor that matches it.

A classifier only transfers if the downstream model feeds its backbone pixels normalised the way
the classifier saw them: the same mean/std, the same channel order, the same value range. Neither
can be read from the weights, so each imported or converted checkpoint records it under
``meta['input_normalization']`` (see :mod:`tricks_mm.transfer.importers`), and downstream configs
either take it (the ladder) or are refused when they disagree (:func:`check_preprocessor`).

The record is the source's own convention, e.g. timm's ``mean=(0.485, 0.456, 0.406),
std=(0.229, 0.224, 0.225), scale=1, channel_order='RGB'`` (pixels in ``[0, 1]``). OpenMMLab's
data preprocessors see 0-255 pixels loaded in BGR order by mmcv, so :func:`preprocessor_fields`
rescales to 0-255 and sets ``bgr_to_rgb`` (mmdet/mmseg) or ``to_rgb`` (mmpretrain).
"""

import json
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple

from tricks_mm.engine.atomic_io import atomic_write_bytes
from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.engine.safe_config import literal_assignments

#: ImageNet mean/std of timm and torchvision, in [0, 1] RGB.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Largest difference, in units of the normalised input (``|delta mean| / std`` and
#: ``|delta std| / std``), still taken as the same convention. The paper's
#: (123.68, 116.779, 103.939) / (58.393, 57.12, 57.375) and timm's ImageNet constants differ by
#: 0.5 grey levels = 0.009 std: the same convention written twice. A BGR-vs-RGB swap or a 0-1 vs
#: 0-255 range differs by more than 0.3 std in some channel.
TOLERANCE = 0.02


@dataclass(frozen=True)
class InputNormalization:
    """How a classifier's input was normalised: ``(pixel - mean) / std`` in the source's units.

    Attributes:
        mean: per-channel mean, in ``channel_order`` and in units where white is ``scale``.
        std: per-channel std, same units.
        scale: 255 when ``mean``/``std`` are in 0-255 pixel units, 1 when in ``[0, 1]``.
        channel_order: ``'RGB'`` or ``'BGR'``: the order the network's input channels are in.
    """

    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    scale: float
    channel_order: str

    def __post_init__(self) -> None:
        if self.channel_order not in ('RGB', 'BGR'):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r}")
        if self.scale not in (1, 255):
            raise ValueError(f'scale must be 1 (values in [0, 1]) or 255, got {self.scale!r}')
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(
                f'mean and std need 3 values and std > 0, got mean={self.mean!r}, std={self.std!r}'
            )
        # the units must agree with the scale: a 0-255 mean on 0-1 input (or a 0-1 std on
        # 0-255 input) normalises every pixel to one far-off value
        if self.scale == 1 and (max(self.mean) > 1 or max(self.std) > 1):
            raise ValueError(
                f'scale=1 means pixels in [0, 1], but mean={self.mean!r} std={self.std!r} are in '
                '0-255 units: set scale=255 (or divide mean and std by 255)'
            )
        if self.scale == 255 and max(self.std) < 1:
            raise ValueError(
                f'scale=255 means pixels in 0-255, but std={self.std!r} is below one grey '
                'level, i.e. in [0, 1] units: set scale=1 (or multiply mean and std by 255)'
            )

    def as_dict(self) -> Dict[str, Any]:
        """Plain types, for a checkpoint's ``meta`` (weights-only loadable)."""
        record = asdict(self)
        record.update(mean=list(self.mean), std=list(self.std))
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> 'InputNormalization':
        return cls(
            mean=tuple(float(v) for v in record['mean']),
            std=tuple(float(v) for v in record['std']),
            scale=record['scale'],
            channel_order=record['channel_order'],
        )

    def pixels(self) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
        """``(mean, std)`` in 0-255 units and RGB order, the form two conventions compare in."""
        factor = 255.0 / self.scale
        mean = [m * factor for m in self.mean]
        std = [s * factor for s in self.std]
        if self.channel_order == 'BGR':
            mean, std = mean[::-1], std[::-1]
        return tuple(mean), tuple(std)

    def describe(self) -> str:
        mean, std = self.pixels()
        return f'{self.channel_order} input, mean={_fmt(mean)} std={_fmt(std)} (0-255 RGB terms)'


TIMM_IMAGENET = InputNormalization(IMAGENET_MEAN, IMAGENET_STD, 1, 'RGB')
TORCHVISION_IMAGENET = TIMM_IMAGENET
#: mmpretrain's ImageNet configs: ``mean=[123.675, 116.28, 103.53], std=[58.395, 57.12,
#: 57.375], to_rgb=True``.
MMPRETRAIN_IMAGENET = InputNormalization(
    (123.675, 116.28, 103.53), (58.395, 57.12, 57.375), 255, 'RGB'
)


def _fmt(values: Sequence[float]) -> str:
    return '(' + ', '.join(f'{v:.3f}' for v in values) + ')'


def from_preprocessor(cfg: Mapping[str, Any]) -> Optional[InputNormalization]:
    """The convention of an OpenMMLab data preprocessor config (``None`` if it sets no mean).

    OpenMMLab preprocessors see 0-255 BGR images (mmcv loading). ``to_rgb`` (mmpretrain),
    ``bgr_to_rgb`` and ``rgb_to_bgr`` (mmengine's ``ImgDataPreprocessor``, mmdet, mmseg) each
    swap the channels (mmengine applies the same swap for either flag), making the network
    input RGB, with ``mean``/``std`` given in that output order.

    Raises:
        ValueError: ``bgr_to_rgb`` and ``rgb_to_bgr`` both set (mmengine refuses it too).
    """
    if cfg.get('mean') is None:
        return None
    if cfg.get('bgr_to_rgb', False) and cfg.get('rgb_to_bgr', False):
        raise ValueError(
            'data preprocessor sets both bgr_to_rgb and rgb_to_bgr (each swaps the channels; '
            'together they contradict): keep bgr_to_rgb=True for mmcv-loaded BGR images'
        )
    swaps = ('to_rgb', 'bgr_to_rgb', 'rgb_to_bgr')
    rgb = any(bool(cfg.get(flag, False)) for flag in swaps)
    std = cfg.get('std') if cfg.get('std') is not None else (1.0, 1.0, 1.0)
    return InputNormalization(
        tuple(float(v) for v in cfg['mean']),
        tuple(float(v) for v in std),
        255,
        'RGB' if rgb else 'BGR',
    )


def preprocessor_fields(norm: InputNormalization, rgb_key: str) -> Dict[str, Any]:
    """The ``mean``/``std``/``rgb_key`` fields of an OpenMMLab data preprocessor for ``norm``.

    Args:
        rgb_key: ``'bgr_to_rgb'`` (mmdet, mmseg) or ``'to_rgb'`` (mmpretrain).
    """
    factor = 255.0 / norm.scale
    return {
        'mean': [round(m * factor, 6) for m in norm.mean],
        'std': [round(s * factor, 6) for s in norm.std],
        rgb_key: norm.channel_order == 'RGB',
    }


def mismatch(
    expected: InputNormalization, actual: InputNormalization, tolerance: float = TOLERANCE
) -> Optional[str]:
    """``None`` if both are the same convention (see :data:`TOLERANCE`), else why not."""
    (m0, s0), (m1, s1) = expected.pixels(), actual.pixels()
    worst = max(
        max(abs(a - b) / s for a, b, s in zip(m0, m1, s0)),
        max(abs(a - b) / s for a, b, s in zip(s0, s1, s0)),
    )
    if expected.channel_order != actual.channel_order:
        return f'channel order {expected.channel_order} vs {actual.channel_order}'
    if worst > tolerance:
        return f'mean/std differ by up to {worst:.3f} std (tolerance {tolerance})'
    return None


class NormalizationMismatchError(ValueError):
    """A downstream data preprocessor normalises differently from the pretrained backbone."""


def check_preprocessor(
    preprocessor: Mapping[str, Any],
    checkpoint_norm: InputNormalization,
    checkpoint: str,
    where: str = 'model.data_preprocessor',
) -> None:
    """Refuse a data preprocessor that does not match the checkpoint's input convention.

    Raises:
        NormalizationMismatchError: naming both conventions and the fix.
    """
    ours = from_preprocessor(preprocessor)
    if ours is None:
        raise NormalizationMismatchError(
            f'{where} sets no mean/std but the backbone checkpoint {checkpoint!r} expects '
            f'{checkpoint_norm.describe()}; set {where} to '
            f'{preprocessor_fields(checkpoint_norm, "bgr_to_rgb")}'
        )
    why = mismatch(checkpoint_norm, ours)
    if why is not None:
        raise NormalizationMismatchError(
            f'{where} ({ours.describe()}) does not match the input convention of the backbone '
            f'checkpoint {checkpoint!r} ({checkpoint_norm.describe()}): {why}. The backbone '
            f'would see differently normalised pixels than it was trained on; set {where} '
            f'mean/std/bgr_to_rgb to {preprocessor_fields(checkpoint_norm, "bgr_to_rgb")}'
        )


def recorded_normalization(meta: Mapping[str, Any], cfg: Optional[Any]) -> Optional[Dict]:
    """The input convention of a classifier checkpoint, as a plain dict (``None``: unknown).

    An imported classifier records it in ``meta['input_normalization']``; one trained here has
    it in its config's data preprocessor (top level, as mmpretrain configs keep it, or under
    ``model``).
    """
    if meta.get('input_normalization'):
        return InputNormalization.from_dict(meta['input_normalization']).as_dict()
    if cfg is None:
        return None
    preprocessor = cfg.get('data_preprocessor') or cfg.get('model', {}).get('data_preprocessor')
    norm = from_preprocessor(preprocessor or {})
    return norm.as_dict() if norm is not None else None


def _pretrained_paths(node: Any, where: str) -> Iterator[Tuple[str, str]]:
    """``(config path, checkpoint)`` of every local ``Pretrained`` init_cfg under ``node``."""
    if isinstance(node, Mapping):
        init = node.get('init_cfg')
        for cfg in init if isinstance(init, (list, tuple)) else [init]:
            if (
                isinstance(cfg, Mapping)
                and cfg.get('type') == 'Pretrained'
                and osp.isfile(str(cfg.get('checkpoint')))
            ):
                yield f'{where}.init_cfg', str(cfg['checkpoint'])
        for key, value in node.items():
            if key != 'init_cfg':
                yield from _pretrained_paths(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_paths(value, f'{where}[{i}]')


def check_config_normalization(cfg: Any) -> None:
    """Refuse a config whose data preprocessor does not match its pretrained checkpoints.

    Every local ``Pretrained`` checkpoint of ``cfg.model`` that records an
    ``input_normalization`` (imports and ``convert`` outputs do) is compared with
    ``model.data_preprocessor`` (or the top-level ``data_preprocessor``, mmpretrain style).
    Checkpoints that record none (third-party files) are not judged.

    Raises:
        NormalizationMismatchError: naming the checkpoint and both conventions.
    """
    model = cfg.get('model') or {}
    preprocessor = model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    for _where, path in _pretrained_paths(model, 'model'):
        checkpoint = safe_torch_load(path, map_location='cpu')
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        record = meta.get('input_normalization') if isinstance(meta, dict) else None
        if record:
            check_preprocessor(
                preprocessor,
                InputNormalization.from_dict(record),
                path,
                where='model.data_preprocessor',
            )


def export_config(ckpt: Mapping[str, Any], checkpoint: str, model: str, num_classes: int) -> Dict:
    """The input convention of an exported classifier, in the form timm reads next to weights
    (the ``config.json`` of its Hugging Face layout: ``architecture``, ``num_classes``,
    ``pretrained_cfg.mean/std`` in [0, 1] RGB units, as ``timm.data.resolve_data_config`` and
    torchvision's ``Normalize`` take them).

    Raises:
        ValueError: the checkpoint records no convention (``meta.input_normalization`` or the
            data preprocessor of ``meta.cfg``), or one timm / torchvision cannot feed (BGR).
    """
    meta = ckpt.get('meta') or {}
    cfg = literal_assignments(meta['cfg']) if isinstance(meta.get('cfg'), str) else None
    record = recorded_normalization(meta, cfg)
    if record is None:
        raise ValueError(
            f'{checkpoint!r} records no input normalisation (meta.input_normalization, or the '
            'data_preprocessor of meta.cfg): the exported weights would be fed pixels '
            'normalised who knows how; export a checkpoint written by tools/train.py or '
            'tools/transfer.py import'
        )
    norm = InputNormalization.from_dict(record)
    if norm.channel_order != 'RGB':
        raise ValueError(
            f'{checkpoint!r} was trained on BGR input ({norm.describe()}); timm and '
            'torchvision feed RGB, so the exported network would see its colours swapped'
        )
    mean, std = norm.pixels()
    return dict(
        architecture=model,
        num_classes=num_classes,
        pretrained_cfg=dict(
            mean=[round(m / 255.0, 6) for m in mean], std=[round(s / 255.0, 6) for s in std]
        ),
    )


def write_export_config(config: Dict[str, Any], out: str) -> str:
    """Write :func:`export_config`'s dict next to the exported weights (``<out stem>.json``);
    its path."""
    path = osp.splitext(out)[0] + '.json'
    atomic_write_bytes(json.dumps(config, indent=2).encode(), path)
    return path
