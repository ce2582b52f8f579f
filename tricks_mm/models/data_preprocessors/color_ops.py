"""Colour jitter and PCA lighting on a float batch, with one factor per sample.

Why our own: torchvision's and mmcv's colour functions take one factor for the whole input
(torchvision's ``adjust_*`` broadcast a scalar; mmcv's work on one HWC image), so applying the
paper's per-image random factors to a batch would need a Python loop over the samples. These are
the same formulas with the factor as a ``(N,)`` tensor, written for ``(N, 3, H, W)`` float
batches in ``[0, 255]`` on any device:

* brightness / contrast / saturation blend the image with black / its mean grey / its grey image
  and clip to ``[0, 255]``, as PIL's ``ImageEnhance`` (mmcv's default ``'pillow'`` backend, which
  mmpretrain's ``ColorJitter`` uses) and torchvision do; the grey level is PIL's ITU-R 601-2
  luma ``L = 0.299 R + 0.587 G + 0.114 B`` (torchvision rounds the red weight to 0.2989);
* hue rotates the HSV hue by ``factor`` of the full circle (the semantics of mmcv's and
  torchvision's ``adjust_hue``), keeping each pixel's maximum and minimum channel (HSV value and
  saturation), through the closed form ``c = max - (max - min) * clip(min(k, 4 - k), 0, 1)``,
  ``k = (n_c + 6 h) mod 6`` with ``n = 5, 3, 1`` for R, G, B;
* lighting adds AlexNet's PCA offset ``V (alpha * lambda)`` and clips to ``[0, 255]`` (the
  semantics of :class:`tricks_mm.datasets.lighting.BoTLighting`: black stays black, no wrap).

Nothing is rounded to uint8 between the steps: the per-image path rounds after every PIL step
and truncates after lighting; the tests bound the difference.
"""

from typing import Sequence

import torch

#: ITU-R 601-2 luma weights of PIL's ``convert('L')`` for R, G, B.
LUMA_RGB = (0.299, 0.587, 0.114)


def _per_sample(factor: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(N,)`` factors shaped to broadcast over ``(N, C, H, W)``."""
    return factor.to(x.dtype).view(-1, 1, 1, 1)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``factor * x + (1 - factor) * other``, clipped to ``[0, 255]`` (PIL's ``Image.blend``).

    One ``torch.lerp``: on a CPU the same as three broadcasting ops is ten times slower.
    """
    return torch.lerp(other, x, _per_sample(factor, x)).clamp_(0, 255)


def grey(x: torch.Tensor, rgb_index: Sequence[int]) -> torch.Tensor:
    """The luma plane ``(N, 1, H, W)``; ``rgb_index`` gives the channels holding R, G, B."""
    weights = [0.0, 0.0, 0.0]
    for channel, weight in zip(rgb_index, LUMA_RGB):
        weights[channel] = weight
    n, _, h, w = x.shape
    return torch.matmul(x.new_tensor(weights), x.reshape(n, 3, h * w)).view(n, 1, h, w)


def brightness(x: torch.Tensor, factor: torch.Tensor, rgb_index: Sequence[int]) -> torch.Tensor:
    """PIL ``ImageEnhance.Brightness``: blend with black (``rgb_index``: same signature as the
    other ops, unused)."""
    return (x * _per_sample(factor, x)).clamp_(0, 255)


def contrast(x: torch.Tensor, factor: torch.Tensor, rgb_index: Sequence[int]) -> torch.Tensor:
    """PIL ``ImageEnhance.Contrast``: blend with the image's mean grey level."""
    mean = grey(x, rgb_index).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(x, mean, factor)


def saturation(x: torch.Tensor, factor: torch.Tensor, rgb_index: Sequence[int]) -> torch.Tensor:
    """PIL ``ImageEnhance.Color``: blend with the grey image."""
    return _blend(x, grey(x, rgb_index), factor)


def hue(x: torch.Tensor, factor: torch.Tensor, rgb_index: Sequence[int]) -> torch.Tensor:
    """Rotate the HSV hue by ``factor`` (fraction of the circle, in ``[-0.5, 0.5]``).

    Written with masks and channel reductions rather than ``torch.where`` and per-channel
    ``maximum``: on a CPU those are several times slower (not vectorised), on a GPU the same.
    """
    r, g, b = (x[:, i] for i in rgb_index)
    maxc = x.amax(dim=1)
    delta = maxc - x.amin(dim=1)
    # hue in sextants [0, 6): 0 red, 2 green, 4 blue (grey pixels: any hue, result unchanged)
    is_r = (maxc == r).to(x.dtype)
    is_g = (maxc == g).to(x.dtype).mul_(1 - is_r)
    is_b = 1 - is_r - is_g
    num = is_r * (g - b) + is_g * (b - r + 2 * delta) + is_b * (r - g + 4 * delta)
    h6 = num.div_(delta.clamp(min=1e-6))
    h6 = torch.remainder(h6.add_(6 * factor.to(x.dtype).view(-1, 1, 1)), 6.0)
    channels = [None, None, None]
    for channel, n in zip(rgb_index, (5.0, 3.0, 1.0)):
        k = h6 + n
        k.sub_((k >= 6).to(x.dtype).mul_(6))  # k mod 6, as h6 is in [0, 6)
        ramp = torch.minimum(k, 4.0 - k).clamp_(0, 1)
        channels[channel] = maxc - ramp.mul_(delta)
    return torch.stack(channels, dim=1)


def lighting(
    x: torch.Tensor, alpha: torch.Tensor, eigval: torch.Tensor, eigvec: torch.Tensor
) -> torch.Tensor:
    """AlexNet PCA lighting: ``x + V (alpha * lambda)`` per sample, clipped to ``[0, 255]``.

    ``alpha`` is ``(N, 3)``; ``eigvec`` rows are in the channel order of ``x``.
    """
    offset = (alpha.to(x.dtype) * eigval.to(x.dtype)) @ eigvec.to(x.dtype).t()  # (N, 3)
    return (x + offset.view(-1, 3, 1, 1)).clamp_(0, 255)
