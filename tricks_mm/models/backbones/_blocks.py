"""Residual blocks of :class:`~tricks_mm.models.backbones.BoTResNet`.

Attribute names follow torchvision / timm (``conv1``, ``bn1``, ..., ``downsample``) so the state
dict of variant B equals torchvision's ``resnet50`` (minus ``fc``) and that of variant D equals
timm's ``resnet50d``.
"""

from typing import Dict, Optional, Tuple, Type, Union

import torch
from mmcv.cnn import build_norm_layer
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def kaiming_init_(module: nn.Module) -> None:
    """torchvision's ResNet init: Kaiming-normal (fan_out) convs, norms at weight 1, bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_norm(norm_cfg: dict, channels: int) -> nn.Module:
    """The norm layer alone (``build_norm_layer`` also returns a name we don't use)."""
    return build_norm_layer(norm_cfg, channels)[1]


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        in_ch, out_ch, 3, stride=stride, padding=dilation, dilation=dilation, bias=False
    )


def _conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs (ResNet-18/34). The stride is on ``conv1`` for every variant (A == B).

    As in mmdet/mmseg, the dilation goes to ``conv1`` only; ``conv2`` stays undilated.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        norm_cfg: Optional[dict] = None,
        stride_in_1x1: bool = False,
    ) -> None:
        super().__init__()
        del stride_in_1x1  # no 1x1 conv in the residual branch: variant A == B here
        norm_cfg = norm_cfg or dict(type='BN')
        self.conv1 = _conv3x3(inplanes, planes, stride, dilation)
        self.bn1 = build_norm(norm_cfg, planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = build_norm(norm_cfg, planes)
        self.downsample = downsample

    @property
    def last_norm(self) -> nn.Module:
        """The last norm of the residual branch (zero-gamma target, paper Sec. 3.1)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 bottleneck (ResNet-50/101/152).

    ``stride_in_1x1=True`` puts the stride on ``conv1`` (original ResNet, variant A); otherwise it
    is on the 3x3 ``conv2`` (variant B and later, paper Fig. 2a), so no input pixel is skipped.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        norm_cfg: Optional[dict] = None,
        stride_in_1x1: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = _conv1x1(inplanes, planes, s1)
        self.bn1 = build_norm(norm_cfg, planes)
        self.conv2 = _conv3x3(planes, planes, s3, dilation)
        self.bn2 = build_norm(norm_cfg, planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = build_norm(norm_cfg, planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def last_norm(self) -> nn.Module:
        """The last norm of the residual branch (zero-gamma target, paper Sec. 3.1)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_shortcut(
    inplanes: int, outplanes: int, stride: int, norm_cfg: dict, avg_down: bool
) -> nn.Sequential:
    """Projection shortcut.

    Plain (A/B/C): ``[conv1x1(stride), norm]``. ResNet-D (paper Fig. 2c, as timm ``resnet50d``):
    ``[pool, conv1x1(stride 1), norm]`` where ``pool`` is
    ``AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)``, or ``nn.Identity`` when
    ``stride == 1`` (layer1, dilated stages) so the keys never depend on strides or dilations.
    """
    if not avg_down:
        return nn.Sequential(_conv1x1(inplanes, outplanes, stride), build_norm(norm_cfg, outplanes))
    pool: nn.Module = (
        nn.Identity()
        if stride == 1
        else nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
    )
    return nn.Sequential(pool, _conv1x1(inplanes, outplanes), build_norm(norm_cfg, outplanes))


def make_deep_stem(in_channels: int, stem_channels: int, norm_cfg: dict) -> nn.Sequential:
    """ResNet-C stem (paper Fig. 2b): 3x3 convs ``c/2, c/2, c`` (first stride 2), norm + ReLU.

    The final norm + ReLU live outside (``bn1``, ``relu``) as in timm ``resnet50d``, giving keys
    ``conv1.{0,1,3,4,6}`` and ``bn1``.
    """
    mid = stem_channels // 2
    return nn.Sequential(
        _conv3x3(in_channels, mid, stride=2),
        build_norm(norm_cfg, mid),
        nn.ReLU(inplace=True),
        _conv3x3(mid, mid),
        build_norm(norm_cfg, mid),
        nn.ReLU(inplace=True),
        _conv3x3(mid, stem_channels),
    )


# depth -> (block, blocks per stage)
ARCH: Dict[int, Tuple[Type[Union[BasicBlock, Bottleneck]], Tuple[int, ...]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}
VARIANTS = ('a', 'b', 'c', 'd')


def check_arch(depth: int, variant: str) -> str:
    """Validate ``depth`` and ``variant``; return the variant in lower case."""
    variant = variant.lower() if isinstance(variant, str) else variant
    if variant not in VARIANTS:
        raise ValueError(f'variant must be one of {VARIANTS}, got {variant!r}')
    if depth not in ARCH:
        raise ValueError(f'depth must be one of {tuple(ARCH)}, got {depth!r}')
    return variant


def stage_in_channels(
    depth: int, stage: int, stem_channels: int = 64, base_channels: int = 64
) -> int:
    """Input channels of residual stage ``stage`` (0-based) of a ResNet of ``depth``."""
    block = ARCH[depth][0]
    return stem_channels if stage == 0 else base_channels * 2 ** (stage - 1) * block.expansion


def make_res_layer(
    depth: int,
    variant: str,
    stage: int,
    inplanes: int,
    stride: int,
    dilation: int,
    norm_cfg: dict,
    base_channels: int = 64,
    contract_dilation: bool = False,
) -> nn.Sequential:
    """Residual stage ``stage`` (0-based, ``layer{stage + 1}``) of a BoTResNet.

    The one place a stage is built, shared by the backbone and the C4 RoI head
    (:class:`~tricks_mm.models.roi_heads.BoTResLayer`), so both have the same modules and keys.
    """
    block, stage_blocks = ARCH[depth]
    planes = base_channels * 2**stage
    first_dilation = dilation // 2 if contract_dilation and dilation > 1 else dilation
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = make_shortcut(
            inplanes, planes * block.expansion, stride, norm_cfg, avg_down=variant == 'd'
        )
    kw = dict(norm_cfg=norm_cfg, stride_in_1x1=variant == 'a')
    blocks = [block(inplanes, planes, stride, first_dilation, downsample, **kw)]
    blocks += [
        block(planes * block.expansion, planes, 1, dilation, None, **kw)
        for _ in range(1, stage_blocks[stage])
    ]
    return nn.Sequential(*blocks)
