"""ResNet-A/B/C/D of "Bag of Tricks for Image Classification" as one OpenMMLab backbone."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule, initialize
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tricks_mm.models.backbones._blocks import (
    ARCH,
    BlockOptions,
    block_dilations,
    build_norm,
    check_arch,
    conv,
    kaiming_init_,
    make_deep_stem,
    make_res_layer,
    stage_in_channels,
)
from tricks_mm.models.backbones.host_interface import (
    host_defaults,
    log_choice,
    pretrained_to_init_cfg,
    refuse_unknown,
    resolve_variant,
    stage_dcn,
    stage_plugins,
)
from tricks_mm.models.pretrained import load_strict, split_pretrained
from tricks_mm.registry import MODELS

#: Every constructor key (the hosts' ResNet interface plus ``variant``), for the refusal message.
SUPPORTED_KEYS = (
    'depth variant in_channels stem_channels base_channels num_stages strides dilations '
    'out_indices style deep_stem avg_down frozen_stages conv_cfg norm_cfg norm_eval dcn '
    'stage_with_dcn plugins with_cp zero_init_residual contract_dilation multi_grid '
    'drop_path_rate expansion pretrained init_cfg'
).split()


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
        variant: ``'a'``, ``'b'``, ``'c'`` or ``'d'`` (case-insensitive); ``None``: the defaults
            rule of :mod:`~tricks_mm.models.backbones.host_interface` (host keys -> host
            semantics, none -> ResNet-D), logged.
        in_channels: Input image channels.
        stem_channels: Output channels of the stem (deep stem: ``c/2, c/2, c``); ``None``: the
            host default (mmdet: ``base_channels``; otherwise 64).
        base_channels: Width of the first stage (doubled per stage).
        num_stages: Number of residual stages, 1..4.
        strides: Stride of the first block of each stage.
        dilations: Dilation of each stage's 3x3 convs.
        out_indices: Stages whose outputs are returned (as a tuple, in stage order).
        style, deep_stem, avg_down: The hosts' spelling of the variant (see the rule).
        frozen_stages: -1 freezes nothing; 0 the stem; ``i`` the stem and stages 1..i (eval mode,
            ``requires_grad=False``, re-applied by ``train()``).
        conv_cfg: mmcv conv config of every conv (``None``: ``nn.Conv2d``), as the hosts'.
        norm_cfg: Norm config for ``mmcv.cnn.build_norm_layer`` (``BN``, ``SyncBN``, ``GN``...).
        norm_eval: Keep every BatchNorm in eval mode in ``train()``; ``None``: the host default
            (mmdet ``True``, otherwise ``False``).
        dcn, stage_with_dcn: mmdet's deformable 3x3 conv of the Bottlenecks of the marked stages
            (an mmcv conv config: ``DCN``, ``DCNv2``; ``fallback_on_stride`` as mmdet).
        plugins: mmdet's block plugins (``cfg``, ``position``, optional ``stages``), built by
            mmcv's ``build_plugin_layer`` under mmdet's names.
        with_cp: Gradient checkpointing of every block (memory for recompute).
        zero_init_residual: Zero gamma (paper Sec. 3.1): the last norm of each residual branch
            starts at weight 0. Not applied when ``init_cfg`` loads pretrained weights: it is an
            init trick, the checkpoint's weights win.
        contract_dilation: As mmseg: the first block of a stage with dilation > 1 uses
            ``dilation // 2``.
        multi_grid: As mmseg: the dilations of the last stage's blocks.
        drop_path_rate: As mmpretrain: stochastic depth, rising linearly over the blocks from 0.
        expansion: As mmpretrain: the Bottleneck's output / middle width (4; 2 in its Wide
            ResNets, with ``base_channels=128``); BasicBlock has 1 only.
        pretrained: As the hosts (deprecated there): ``init_cfg=Pretrained`` of that checkpoint.
        init_cfg: ``dict(type='Pretrained', checkpoint=..., prefix=..., exclude=...)`` loads
            strictly (see :func:`load_strict`, which also reads the hosts' own layouts); other
            init configs are applied by mmengine after the default init.
        **unsupported: Refused, each key named with what to use instead.
    """

    def __init__(
        self,
        depth: int,
        variant: Optional[str] = None,
        in_channels: int = 3,
        stem_channels: Optional[int] = None,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
        style: Optional[str] = None,
        deep_stem: Optional[bool] = None,
        avg_down: Optional[bool] = None,
        frozen_stages: int = -1,
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Optional[Dict] = None,
        norm_eval: Optional[bool] = None,
        dcn: Optional[Dict] = None,
        stage_with_dcn: Sequence[bool] = (False, False, False, False),
        plugins: Optional[List[dict]] = None,
        with_cp: bool = False,
        zero_init_residual: bool = True,
        contract_dilation: bool = False,
        multi_grid: Optional[Sequence[int]] = None,
        drop_path_rate: float = 0.0,
        expansion: Optional[int] = None,
        pretrained: Optional[str] = None,
        init_cfg: Union[dict, List[dict], None] = None,
        **unsupported: Any,
    ) -> None:
        refuse_unknown('BoTResNet', unsupported, SUPPORTED_KEYS)
        init_cfg = pretrained_to_init_cfg(pretrained, init_cfg, 'BoTResNet')
        super().__init__(init_cfg=init_cfg)
        rule_decides = variant is None
        variant, host_mode, why = resolve_variant(
            variant, style, deep_stem, avg_down, init_cfg=init_cfg
        )
        variant = check_arch(depth, variant)
        defaults = host_defaults(host_mode, base_channels)
        stem_channels = defaults['stem_channels'] if stem_channels is None else stem_channels
        norm_eval = defaults['norm_eval'] if norm_eval is None else norm_eval
        if rule_decides:
            log_choice(
                'BoTResNet',
                f'ResNet-{variant.upper()}{depth} ({why}); defaults of {defaults["host"]}: '
                f'stem_channels={stem_channels}, norm_eval={norm_eval}',
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
        block, stage_blocks = ARCH[depth]
        if expansion is not None and block.expansion == 1 and expansion != 1:
            raise ValueError(
                f'expansion={expansion!r}: a depth-{depth} ResNet has BasicBlocks, whose '
                'expansion is 1 (mmpretrain widens Bottlenecks only): drop the key or use '
                'depth >= 50'
            )
        if not 0.0 <= float(drop_path_rate) < 1.0:
            raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_path_rate!r}')
        if conv_cfg is not None and dcn is not None:
            raise ValueError('conv_cfg must be None for DCN (as mmdet): drop one of them')
        self.depth, self.variant, self.num_stages = depth, variant, num_stages
        self.host_mode = host_mode
        self.out_indices = tuple(sorted({i % num_stages for i in out_indices}))
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.zero_init_residual = zero_init_residual
        norm_cfg = dict(norm_cfg) if norm_cfg is not None else dict(type='BN', requires_grad=True)
        norm_cfg.pop('_scope_', None)  # a norm_cfg variable of a host base config carries one

        if variant in ('c', 'd'):
            self.conv1 = make_deep_stem(in_channels, stem_channels, norm_cfg, conv_cfg)
        else:
            self.conv1 = conv(conv_cfg, in_channels, stem_channels, 7, stride=2)
        self.bn1 = build_norm(norm_cfg, stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        n_blocks = list(stage_blocks[:num_stages])
        rates = torch.linspace(0, float(drop_path_rate), sum(n_blocks), device='cpu').tolist()
        inplanes = stem_channels
        for i in range(num_stages):
            opts = BlockOptions(
                norm_cfg=norm_cfg,
                conv_cfg=conv_cfg,
                stride_in_1x1=variant == 'a',
                dcn=stage_dcn(dcn, stage_with_dcn, i, num_stages),
                plugins=stage_plugins(plugins, i, num_stages),
                with_cp=with_cp,
                expansion=expansion,
            )
            last = i == num_stages - 1
            layer_dilations = block_dilations(
                n_blocks[i], dilations[i], contract_dilation, multi_grid if last else None
            )
            first = sum(n_blocks[:i])
            self.add_module(
                f'layer{i + 1}',
                make_res_layer(
                    depth,
                    variant,
                    i,
                    inplanes,
                    strides[i],
                    layer_dilations,
                    opts,
                    base_channels,
                    rates[first : first + n_blocks[i]],
                ),
            )
            inplanes = stage_in_channels(depth, i + 1, stem_channels, base_channels, expansion)
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
        added = self._added_modules()
        if pretrained is not None:
            for name in added:  # their own init, as the hosts keep it under a Pretrained init
                module = self.get_submodule(name.rstrip('.').removesuffix('.conv_offset'))
                init = getattr(module, 'init_weights', None) or getattr(
                    module, 'reset_parameters', None
                )
                if init is not None:
                    init()
            load_strict(
                self,
                pretrained['checkpoint'],
                prefix=pretrained.get('prefix'),
                map_location=pretrained.get('map_location', 'cpu'),
                exclude=pretrained.get('exclude', ()),
                # host mode only (a stock C4 config): tricks_mm's own configs say exclude=
                beyond=tuple(f'layer{i}.' for i in range(self.num_stages + 1, 5))
                if self.host_mode
                else (),
                added=added,
            )
        self._is_init = True

    def _added_modules(self) -> List[str]:
        """Key prefixes of the modules a host adds to a plain ResNet: DCN offset convs and
        block plugins (see :func:`load_strict`'s ``added``)."""
        added = []
        for name, block in self.named_modules():
            if hasattr(block, 'plugin_names'):
                added += [f'{name}.{p}.' for ps in block.plugin_names.values() for p in ps]
                if hasattr(block.conv2, 'conv_offset'):
                    added.append(f'{name}.conv2.conv_offset.')
        return added

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
