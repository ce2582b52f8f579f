"""The paper's colour augmentation on a whole batch, on the model's device.

Why: run per image in the loader workers, colour jitter and PCA lighting are about three
quarters of a worker's time (docs/benchmarks.md, data pipeline), so a GPU training ResNet-50 at
thousands of images per second needs more worker processes than a node has cores per GPU. As
vectorised tensor ops on the batch they cost the GPU next to nothing, and the workers only
decode, crop, flip and collate uint8.

:class:`BoTBatchColorJitter` does what the per-image pipeline of
``configs/_base_/datasets/imagenet_bot.py`` does, sample by sample: mmpretrain's ``ColorJitter``
(each sample its own factors, ``U[max(0, 1 - v), 1 + v]`` for brightness / contrast /
saturation, ``U[-hue, hue]`` for hue, applied in a random order of its own) and then
:class:`~tricks_mm.datasets.lighting.BoTLighting` (``alpha ~ N(0, alphastd)`` per sample and
eigenvector). The factor ranges are parsed by mmpretrain's ``ColorJitter`` itself. The formulas
are in :mod:`tricks_mm.models.data_preprocessors.color_ops`.

Random numbers come from a ``torch.Generator`` of this module, on the batch's device, never from
the global RNGs: its seed is the runner's (``torch.initial_seed()`` when the model is built, which
mmengine's Runner has just set to its seed, and again explicitly in
:class:`~tricks_mm.engine.rng_state.BoTRNGStateHook` ``before_run``) mixed with the process rank,
and its state goes into every checkpoint through the same hook, so ``--resume`` draws what the
uninterrupted run would have drawn.
"""

import copy
from typing import Dict, Optional, Union

import numpy as np
import torch
from mmengine.dist import get_rank
from mmpretrain.datasets.transforms import ColorJitter
from torch import nn

from tricks_mm.models.data_preprocessors import color_ops
from tricks_mm.registry import MODELS
from tricks_mm.utils.color_jitter import JITTER_OPS, jitter_args

_ORDERS = ('bgr', 'rgb')


def _seed_for(seed: int, rank: int) -> int:
    """A 63-bit generator seed of ``(seed, rank)``: ranks draw independent streams."""
    return int(
        np.random.SeedSequence([int(seed) % 2**63, rank]).generate_state(1, dtype=np.uint64)[0]
        % 2**63
    )


@MODELS.register_module()
class BoTBatchColorJitter(nn.Module):
    """Per-sample random colour jitter + PCA lighting of an ``(N, 3, H, W)`` batch.

    Args:
        jitter: a :data:`JITTER_PRESETS` name (``'paper'``, ``'gluoncv'``) or a dict of
            mmpretrain ``ColorJitter`` arguments (``brightness``, ``contrast``, ``saturation``,
            ``hue``), or ``None`` for no jitter.
        lighting: ``dict(eigval=..., eigvec=..., alphastd=0.1)`` as
            :class:`~tricks_mm.datasets.lighting.BoTLighting` with ``to_rgb=False`` takes it
            (eigenvector rows in ``channel_order``), or ``None`` for no lighting.
        channel_order: ``'bgr'`` (mmcv-loaded images, the default) or ``'rgb'``.

    ``forward`` takes uint8 or float values in ``[0, 255]`` and returns float32 in ``[0, 255]``
    in the same channel order. The drawn factors of the last call are kept in ``last_params``
    (for tests and inspection).
    """

    def __init__(
        self,
        jitter: Union[str, dict, None] = 'paper',
        lighting: Optional[dict] = None,
        channel_order: str = 'bgr',
    ) -> None:
        super().__init__()
        if channel_order not in _ORDERS:
            raise ValueError(f'channel_order must be one of {_ORDERS}, got {channel_order!r}')
        self.channel_order = channel_order
        self.rgb_index = (0, 1, 2) if channel_order == 'rgb' else (2, 1, 0)
        self.jitter = None if jitter is None else jitter_args(jitter)
        ranges = ColorJitter(**(self.jitter or {}))  # mmpretrain parses and checks the ranges
        self.ranges = {
            op: getattr(ranges, op) for op in JITTER_OPS if getattr(ranges, op) is not None
        }
        self.lighting_cfg = None if lighting is None else copy.deepcopy(dict(lighting))
        if lighting is not None:
            unknown = set(lighting) - {'eigval', 'eigvec', 'alphastd'}
            if unknown:
                raise ValueError(
                    f'unknown lighting argument(s) {sorted(unknown)}: give eigval, '
                    f'eigvec (rows in {channel_order} order) and alphastd'
                )
            eigval = torch.tensor(lighting['eigval'], dtype=torch.float32)
            eigvec = torch.tensor(lighting['eigvec'], dtype=torch.float32)
            if eigval.shape != (3,) or eigvec.shape != (3, 3):
                raise ValueError(
                    f'lighting needs 3 eigenvalues and a 3x3 eigenvector matrix, '
                    f'got shapes {tuple(eigval.shape)} and {tuple(eigvec.shape)}'
                )
            self.register_buffer('eigval', eigval, persistent=False)
            self.register_buffer('eigvec', eigvec, persistent=False)
            self.alphastd = float(lighting.get('alphastd', 0.1))
        self._seed = _seed_for(torch.initial_seed(), get_rank())
        self._generator: Optional[torch.Generator] = None
        self._pending_state: Optional[dict] = None
        self.last_params: Dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ random state

    def seed_rng(self, seed: int, rank: int = 0) -> None:
        """Restart the stream from ``(seed, rank)`` (the runner's seed and the process rank)."""
        self._seed = _seed_for(seed, rank)
        self._generator = None
        self._pending_state = None

    def rng_state(self) -> dict:
        """What a checkpoint needs to continue the stream (tensors and plain values only)."""
        if self._generator is None:
            return (
                dict(seed=self._seed, device=None, state=None)
                if self._pending_state is None
                else dict(self._pending_state)
            )
        return dict(
            seed=self._seed, device=self._generator.device.type, state=self._generator.get_state()
        )

    def set_rng_state(self, state: dict) -> None:
        """Continue the stream saved by :meth:`rng_state` (applied at the next batch)."""
        self._seed = int(state['seed'])
        self._generator = None
        self._pending_state = dict(state) if state.get('state') is not None else None

    def _rng(self, device: torch.device) -> torch.Generator:
        g = self._generator
        if g is not None and g.device.type == device.type:
            return g
        if g is not None:
            raise RuntimeError(
                f'BoTBatchColorJitter drew on {g.device.type} and now gets a '
                f'batch on {device.type}: keep the model on one device'
            )
        g = torch.Generator(device=device)
        g.manual_seed(self._seed)
        pending = self._pending_state
        if pending is not None:
            if pending['device'] != device.type:
                raise RuntimeError(
                    f'the checkpoint holds the colour augmentation stream of a '
                    f'{pending["device"]} run, this run is on {device.type}: resume on the same '
                    f'kind of device'
                )
            g.set_state(pending['state'])
            self._pending_state = None
        self._generator = g
        return g

    # ------------------------------------------------------------------ augmentation

    def draw(self, n: int, device: torch.device) -> Dict[str, torch.Tensor]:
        """Per-sample factors: ``{op: (n,)}``, ``order: (n, K)`` op indices, ``alpha: (n, 3)``."""
        g = self._rng(device)
        params: Dict[str, torch.Tensor] = {}
        for op, (lo, hi) in self.ranges.items():
            params[op] = lo + (hi - lo) * torch.rand(n, generator=g, device=device)
        if self.ranges:  # a uniformly random order of the active ops for every sample
            keys = torch.rand(n, len(self.ranges), generator=g, device=device)
            params['order'] = keys.argsort(dim=1)
        if self.lighting_cfg is not None:
            params['alpha'] = self.alphastd * torch.randn(n, 3, generator=g, device=device)
        return params

    def augment(self, x: torch.Tensor, params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Apply given factors (see :meth:`draw`) to a float batch."""
        ops = list(self.ranges)
        if ops:
            order = params['order']
            for position in range(order.shape[1]):
                for j, op in enumerate(ops):
                    idx = (order[:, position] == j).nonzero().squeeze(1)
                    if idx.numel() == 0:
                        continue
                    fn = getattr(color_ops, op)
                    x.index_copy_(
                        0, idx, fn(x.index_select(0, idx), params[op][idx], self.rgb_index)
                    )
        if self.lighting_cfg is not None:
            x = color_ops.lighting(x, params['alpha'], self.eigval, self.eigvec)
        return x

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(
                f'BoTBatchColorJitter takes an (N, 3, H, W) batch, got shape {tuple(inputs.shape)}'
            )
        x = inputs.to(torch.float32, copy=True)
        self.last_params = self.draw(x.shape[0], x.device)
        return self.augment(x, self.last_params)

    def extra_repr(self) -> str:
        return (
            f'jitter={self.jitter}, lighting={self.lighting_cfg is not None}, '
            f'channel_order={self.channel_order!r}'
        )
