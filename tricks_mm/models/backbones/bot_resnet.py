"""ResNet-A/B/C/D of "Bag of Tricks for Image Classification" as one OpenMMLab backbone."""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule, initialize
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tricks_mm.models.backbones._blocks import (
    build_norm,
    check_arch,
    kaiming_init_,
    make_deep_stem,
    make_res_layer,
    stage_in_channels,
)
from tricks_mm.models.pretrained import load_strict, split_pretrained
from tricks_mm.registry import MODELS

_STYLES = {'a': 'caffe', 'b': 'pytorch', 'c': 'pytorch', 'd': 'pytorch'}


@MODELS.register_module()
class BoTResNet(BaseModule):
    """ResNet with the model tweaks of He et al., "Bag of Tricks for Image Classification with
    Convolutional Neural Networks", CVPR 2019 (https://arxiv.org/abs/1812.01187), Sec. 4.

    One implementation, the variants are data (paper Fig. 1/2):

    ======= ========================== ============================= ========================
    variant stem                       stride of downsampling block  projection shortcut
    ======= ========================== ============================= ========================
    ``a``   7x7/2 conv                 first 1x1 conv (original)     1x1 conv, stride 2
    ``b``   7x7/2 conv                 3x3 conv (torchvision v1.5)   1x1 conv, stride 2
    ``c``   3x3 convs 32-32-64, 1st /2 3x3 conv                      1x1 conv, stride 2
    ``d``   3x3 convs 32-32-64, 1st /2 3x3 conv                      2x2/2 avg pool, 1x1 conv
    ======= ========================== ============================= ========================

    Depths 18/34 use BasicBlock (A == B there), 50/101/152 Bottleneck. Parameter counts at depth 50
    (3 input channels, no fc): A = B = 23,508,032 (= torchvision ``resnet50`` minus fc);
    C = D = 23,527,264 (the pool of D has no parameters).

    State-dict keys follow torchvision (A/B) and timm ``resnet50d`` (C/D: ``conv1`` is the deep
    stem ``Sequential``, keys ``conv1.{0,1,3,4,6}``, then ``bn1``; D's shortcut is
    ``downsample.{0: pool, 1: conv, 2: norm}``). Keys depend on neither strides, dilations nor the
    host library, so a classifier checkpoint loads into the detection/segmentation backbone with
    prefix ``backbone.`` and no missing key.

    Args:
        depth: 18, 34, 50, 101 or 152.
        variant: ``'a'``, ``'b'``, ``'c'`` or ``'d'`` (case-insensitive).
        in_channels: Input image channels.
        stem_channels: Output channels of the stem (deep stem: ``c/2, c/2, c``).
        base_channels: Width of the first stage (doubled per stage).
        num_stages: Number of residual stages, 1..4.
        strides: Stride of the first block of each stage.
        dilations: Dilation of each stage's 3x3 convs.
        out_indices: Stages whose outputs are returned (as a tuple, in stage order).
        contract_dilation: As mmseg: the first block of a stage with dilation > 1 uses
            ``dilation // 2``.
        frozen_stages: -1 freezes nothing; 0 the stem; ``i`` the stem and stages 1..i (eval mode,
            ``requires_grad=False``, re-applied by ``train()``).
        norm_eval: Keep every BatchNorm in eval mode in ``train()``.
        norm_cfg: Norm config for ``mmcv.cnn.build_norm_layer`` (``BN``, ``SyncBN``, ``GN``...).
        zero_init_residual: Zero gamma (paper Sec. 3.1): the last norm of each residual branch
            starts at weight 0. Not applied when ``init_cfg`` loads pretrained weights: it is an
            init trick, the checkpoint's weights win.
        style: Accepted for compatibility with mmdet/mmseg/mmpretrain base configs; if given it
            must agree with ``variant`` (``'caffe'`` for a, ``'pytorch'`` for b/c/d).
        init_cfg: ``dict(type='Pretrained', checkpoint=..., prefix=..., exclude=...)`` loads
            strictly (see :func:`load_strict`); other init configs are applied by mmengine after
            the default init.
    """

    def __init__(
        self,
        depth: int,
        variant: str = 'd',
        in_channels: int = 3,
        stem_channels: int = 64,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
        contract_dilation: bool = False,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        norm_cfg: Optional[Dict] = None,
        zero_init_residual: bool = True,
        style: Optional[str] = None,
        init_cfg: Union[dict, List[dict], None] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        variant = check_arch(depth, variant)
        if style is not None and style != _STYLES[variant]:
            raise ValueError(
                f'style={style!r} contradicts variant={variant!r} (which means '
                f'style {_STYLES[variant]!r}); drop style or change the variant'
            )
        if not isinstance(num_stages, int) or not 1 <= num_stages <= 4:
            raise ValueError(f'num_stages must be an int in 1..4, got {num_stages!r}')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(
                f'strides and dilations need num_stages={num_stages} entries, got '
                f'strides={tuple(strides)!r}, dilations={tuple(dilations)!r}'
            )
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if not out_indices or any(
            isinstance(i, bool) or not isinstance(i, int) or not -num_stages <= i < num_stages
            for i in out_indices
        ):
            raise ValueError(
                f'out_indices must be stage indices in [{-num_stages}, '
                f'{num_stages}), got {out_indices!r}'
            )
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= num_stages:
            raise ValueError(
                f'frozen_stages must be an int in -1..{num_stages}, got {frozen_stages!r}'
            )
        self.depth, self.variant, self.num_stages = depth, variant, num_stages
        self.out_indices = tuple(sorted({i % num_stages for i in out_indices}))
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.zero_init_residual = zero_init_residual
        norm_cfg = dict(norm_cfg) if norm_cfg is not None else dict(type='BN', requires_grad=True)
        norm_cfg.pop('_scope_', None)  # a norm_cfg variable of a host base config carries one

        if variant in ('c', 'd'):
            self.conv1 = make_deep_stem(in_channels, stem_channels, norm_cfg)
        else:
            self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = build_norm(norm_cfg, stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        inplanes = stem_channels
        for i in range(num_stages):
            self.add_module(
                f'layer{i + 1}',
                make_res_layer(
                    depth,
                    variant,
                    i,
                    inplanes,
                    strides[i],
                    dilations[i],
                    norm_cfg,
                    base_channels,
                    contract_dilation,
                ),
            )
            inplanes = stage_in_channels(depth, i + 1, stem_channels, base_channels)
        self.feat_dim = inplanes
        self._freeze_stages()

    @property
    def res_layers(self) -> List[nn.Sequential]:
        """The residual stages ``layer1..layer{num_stages}``."""
        return [getattr(self, f'layer{i + 1}') for i in range(self.num_stages)]

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.conv1, self.bn1] + self.res_layers[: self.frozen_stages]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Kaiming (fan_out) convs, norms 1/0, zero gamma; then other init_cfgs; then a strict
        load of a ``Pretrained`` init_cfg (which overrides zero gamma)."""
        pretrained, others = split_pretrained(self.init_cfg)
        kaiming_init_(self)
        if self.zero_init_residual and pretrained is None:
            for layer in self.res_layers:
                for blk in layer:
                    nn.init.zeros_(blk.last_norm.weight)
        if others:
            initialize(self, others)
        if pretrained is not None:
            load_strict(
                self,
                pretrained['checkpoint'],
                prefix=pretrained.get('prefix'),
                map_location=pretrained.get('map_location', 'cpu'),
                exclude=pretrained.get('exclude', ()),
            )
        self._is_init = True

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the outputs of the stages in ``out_indices`` (stride 4, 8, 16, 32 undilated)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, layer in enumerate(self.res_layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'BoTResNet':
        """Set train mode, keeping frozen stages (and, with ``norm_eval``, all BN) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
