"""Residual blocks of :class:`~tricks_mm.models.backbones.BoTResNet`.

Attribute names follow torchvision / timm (``conv1``, ``bn1``, ..., ``downsample``) so the state
dict of variant B equals torchvision's ``resnet50`` (minus ``fc``) and mmdet's/mmseg's ``ResNet``,
and that of variant D equals timm's ``resnet50d``.

The host ResNets' block options are built with the hosts' own bricks, so each means what it means
there: ``conv_cfg`` and ``dcn`` through mmcv's ``build_conv_layer`` (DCN on the 3x3 conv of a
Bottleneck, ``fallback_on_stride`` as mmdet), ``plugins`` through mmcv's ``build_plugin_layer`` at
mmdet's positions and names, ``with_cp`` through ``torch.utils.checkpoint``, ``drop_path_rate``
through mmcv's ``DropPath`` on the residual branch (as mmpretrain).
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer, build_plugin_layer
from mmcv.cnn.bricks import DropPath
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


def conv(
    conv_cfg: Optional[dict],
    in_ch: int,
    out_ch: int,
    kernel: int,
    stride: int = 1,
    dilation: int = 1,
) -> nn.Module:
    """A bias-free conv through mmcv's ``build_conv_layer`` (``conv_cfg=None``: ``nn.Conv2d``)."""
    return build_conv_layer(
        conv_cfg,
        in_ch,
        out_ch,
        kernel,
        stride=stride,
        padding=dilation * (kernel // 2),
        dilation=dilation,
        bias=False,
    )


@dataclass
class BlockOptions:
    """The options every block of a stage shares (the hosts' per-block keys).

    Attributes:
        norm_cfg: as mmcv's ``build_norm_layer``.
        conv_cfg: as mmcv's ``build_conv_layer`` (``None``: ``nn.Conv2d``).
        stride_in_1x1: variant A (``style='caffe'``): the stride on the first 1x1 conv.
        dcn: mmcv conv config of the Bottleneck's 3x3 conv (``DCN``, ``DCNv2``), or ``None``.
        plugins: mmdet's per-block plugin list (``dict(cfg=..., position='after_conv1|2|3')``).
        with_cp: gradient checkpointing of the block (saves memory, costs a recompute).
        expansion: Bottleneck output / middle width (mmpretrain's key; 4, or 2 for its Wide
            ResNets); ``None``: the block's own.
    """

    norm_cfg: dict = field(default_factory=lambda: dict(type='BN'))
    conv_cfg: Optional[dict] = None
    stride_in_1x1: bool = False
    dcn: Optional[dict] = None
    plugins: List[dict] = field(default_factory=list)
    with_cp: bool = False
    expansion: Optional[int] = None


class _Block(nn.Module):
    """What both blocks share: the shortcut, drop path, gradient checkpointing and the final ReLU.

    Subclasses build their convs, then call :meth:`_add_shortcut` (so the state dict lists them
    in torchvision's order), and define ``residual(x)`` (the branch before the addition) and
    ``last_norm``.
    """

    expansion = 1

    def _add_shortcut(
        self, downsample: Optional[nn.Module], drop_path: float, with_cp: bool
    ) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        # mmpretrain: DropPath on the residual branch; Identity (no parameter) when 0
        self.drop_path = DropPath(drop_path) if drop_path > 1e-5 else nn.Identity()
        self.with_cp = with_cp

    def residual(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.drop_path(self.residual(x)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._inner, x, use_reentrant=False)
        else:
            out = self._inner(x)
        return self.relu(out)


class BasicBlock(_Block):
    """Two 3x3 convs (ResNet-18/34). The stride is on ``conv1`` for every variant (A == B).

    As in mmdet/mmseg, the dilation goes to ``conv1`` only; ``conv2`` stays undilated. As in the
    hosts, no DCN and no plugins on BasicBlock (refused when building the stage).
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        opts: Optional[BlockOptions] = None,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        opts = opts or BlockOptions()
        self.conv1 = conv(opts.conv_cfg, inplanes, planes, 3, stride, dilation)
        self.bn1 = build_norm(opts.norm_cfg, planes)
        self.conv2 = conv(opts.conv_cfg, planes, planes, 3)
        self.bn2 = build_norm(opts.norm_cfg, planes)
        self._add_shortcut(downsample, drop_path, opts.with_cp)

    @property
    def last_norm(self) -> nn.Module:
        """The last norm of the residual branch (zero-gamma target, paper Sec. 3.1)."""
        return self.bn2

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


_POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')


class Bottleneck(_Block):
    """1x1 -> 3x3 -> 1x1 bottleneck (ResNet-50/101/152).

    ``opts.stride_in_1x1`` puts the stride on ``conv1`` (original ResNet, variant A); otherwise it
    is on the 3x3 ``conv2`` (variant B and later, paper Fig. 2a), so no input pixel is skipped.
    DCN replaces ``conv2``; plugins run after conv1/conv2/conv3 (mmdet's ``Bottleneck``).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        opts: Optional[BlockOptions] = None,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        opts = opts or BlockOptions()
        s1, s3 = (stride, 1) if opts.stride_in_1x1 else (1, stride)
        self.expansion = opts.expansion or type(self).expansion
        width = planes * self.expansion
        dcn = dict(opts.dcn) if opts.dcn is not None else None
        fallback = dcn.pop('fallback_on_stride', False) if dcn is not None else False
        conv2_cfg = dcn if dcn is not None and not (fallback and s3 > 1) else opts.conv_cfg
        self.conv1 = conv(opts.conv_cfg, inplanes, planes, 1, s1)
        self.bn1 = build_norm(opts.norm_cfg, planes)
        self.conv2 = conv(conv2_cfg, planes, planes, 3, s3, dilation)
        self.bn2 = build_norm(opts.norm_cfg, planes)
        self.conv3 = conv(opts.conv_cfg, planes, width, 1)
        self.bn3 = build_norm(opts.norm_cfg, width)
        self._add_shortcut(downsample, drop_path, opts.with_cp)
        self.plugin_names: Dict[str, List[str]] = {}
        for position, channels in zip(_POSITIONS, (planes, planes, width)):
            names = []
            for plugin in (p['cfg'] for p in opts.plugins if p['position'] == position):
                plugin = dict(plugin)
                name, layer = build_plugin_layer(
                    plugin, in_channels=channels, postfix=plugin.pop('postfix', '')
                )
                if hasattr(self, name):
                    raise ValueError(f'plugin name {name!r} used twice: give them a postfix')
                self.add_module(name, layer)
                names.append(name)
            self.plugin_names[position] = names

    @property
    def last_norm(self) -> nn.Module:
        """The last norm of the residual branch (zero-gamma target, paper Sec. 3.1)."""
        return self.bn3

    def _plugins(self, x: torch.Tensor, position: str) -> torch.Tensor:
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self._plugins(self.relu(self.bn1(self.conv1(x))), 'after_conv1')
        out = self._plugins(self.relu(self.bn2(self.conv2(out))), 'after_conv2')
        return self._plugins(self.bn3(self.conv3(out)), 'after_conv3')


def make_shortcut(
    inplanes: int,
    outplanes: int,
    stride: int,
    norm_cfg: dict,
    avg_down: bool,
    conv_cfg: Optional[dict] = None,
) -> nn.Sequential:
    """Projection shortcut.

    Plain (A/B/C): ``[conv1x1(stride), norm]``. ResNet-D (paper Fig. 2c, as timm ``resnet50d``):
    ``[pool, conv1x1(stride 1), norm]`` where ``pool`` is
    ``AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)``, or ``nn.Identity`` when
    ``stride == 1`` (layer1, dilated stages) so the keys never depend on strides or dilations.
    """
    if not avg_down:
        return nn.Sequential(
            conv(conv_cfg, inplanes, outplanes, 1, stride), build_norm(norm_cfg, outplanes)
        )
    pool: nn.Module = (
        nn.Identity()
        if stride == 1
        else nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
    )
    return nn.Sequential(
        pool, conv(conv_cfg, inplanes, outplanes, 1), build_norm(norm_cfg, outplanes)
    )


def make_deep_stem(
    in_channels: int, stem_channels: int, norm_cfg: dict, conv_cfg: Optional[dict] = None
) -> nn.Sequential:
    """ResNet-C stem (paper Fig. 2b): 3x3 convs ``c/2, c/2, c`` (first stride 2), norm + ReLU.

    The final norm + ReLU live outside (``bn1``, ``relu``) as in timm ``resnet50d``, giving keys
    ``conv1.{0,1,3,4,6}`` and ``bn1``.
    """
    mid = stem_channels // 2
    return nn.Sequential(
        conv(conv_cfg, in_channels, mid, 3, stride=2),
        build_norm(norm_cfg, mid),
        nn.ReLU(inplace=True),
        conv(conv_cfg, mid, mid, 3),
        build_norm(norm_cfg, mid),
        nn.ReLU(inplace=True),
        conv(conv_cfg, mid, stem_channels, 3),
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
    depth: int,
    stage: int,
    stem_channels: int = 64,
    base_channels: int = 64,
    expansion: Optional[int] = None,
) -> int:
    """Input channels of residual stage ``stage`` (0-based) of a ResNet of ``depth``."""
    expansion = expansion or ARCH[depth][0].expansion
    return stem_channels if stage == 0 else base_channels * 2 ** (stage - 1) * expansion


def block_dilations(
    num_blocks: int,
    dilation: int,
    contract_dilation: bool = False,
    multi_grid: Optional[Sequence[int]] = None,
) -> List[int]:
    """The dilation of each block of a stage, as mmseg's ``ResLayer``: ``multi_grid`` (its last
    stage only) replaces them; else ``contract_dilation`` halves the first block's."""
    if multi_grid is not None:
        if len(multi_grid) != num_blocks:
            raise ValueError(
                f'multi_grid={tuple(multi_grid)!r} needs one dilation per block of the last '
                f'stage ({num_blocks} blocks)'
            )
        return list(multi_grid)
    first = dilation // 2 if contract_dilation and dilation > 1 else dilation
    return [first] + [dilation] * (num_blocks - 1)


def make_res_layer(
    depth: int,
    variant: str,
    stage: int,
    inplanes: int,
    stride: int,
    dilations: Sequence[int],
    opts: BlockOptions,
    base_channels: int = 64,
    drop_paths: Optional[Sequence[float]] = None,
) -> nn.Sequential:
    """Residual stage ``stage`` (0-based, ``layer{stage + 1}``) of a BoTResNet.

    The one place a stage is built, shared by the backbone and the C4 RoI head
    (:class:`~tricks_mm.models.roi_heads.BoTResLayer`), so both have the same modules and keys.
    ``dilations`` holds one dilation per block (:func:`block_dilations`), ``drop_paths`` one
    drop-path rate per block (default 0).
    """
    block, stage_blocks = ARCH[depth]
    num_blocks = stage_blocks[stage]
    if block is BasicBlock and (opts.dcn is not None or opts.plugins):
        raise ValueError(
            f'dcn / plugins on a depth-{depth} ResNet: BasicBlock has no 3x3 middle conv or '
            'plugin positions (the hosts do not implement them either); use depth >= 50'
        )
    planes = base_channels * 2**stage
    outplanes = planes * (opts.expansion or block.expansion)
    drop_paths = list(drop_paths) if drop_paths is not None else [0.0] * num_blocks
    blocks = []
    for i in range(num_blocks):
        downsample = None
        if i == 0 and (stride != 1 or inplanes != outplanes):
            downsample = make_shortcut(
                inplanes, outplanes, stride, opts.norm_cfg, variant == 'd', opts.conv_cfg
            )
        blocks.append(
            block(
                inplanes if i == 0 else outplanes,
                planes,
                stride if i == 0 else 1,
                dilations[i],
                downsample,
                opts,
                drop_paths[i],
            )
        )
    return nn.Sequential(*blocks)
