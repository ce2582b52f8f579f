"""Stage 4 of a BoTResNet as the shared RoI head of a C4 Faster R-CNN."""

from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from tricks_mm.models.backbones._blocks import (
    ARCH,
    BlockOptions,
    block_dilations,
    check_arch,
    kaiming_init_,
    make_res_layer,
    stage_in_channels,
)
from tricks_mm.models.backbones.host_interface import (
    log_choice,
    pretrained_to_init_cfg,
    refuse_unknown,
    resolve_variant,
)
from tricks_mm.models.pretrained import load_strict, split_pretrained
from tricks_mm.registry import MODELS

#: Every constructor key (mmdet's shared-head ``ResLayer`` interface plus BoT's).
SUPPORTED_KEYS = (
    'depth variant stage stride dilation style norm_cfg norm_eval with_cp dcn stem_channels '
    'base_channels pretrained init_cfg'
).split()


@MODELS.register_module()
class BoTResLayer(BaseModule):
    """One residual stage of a BoTResNet, run on RoI features (the C4 detector design).

    In the C4 Faster R-CNN of Detectron / GluonCV (the paper's Sec. 6 detector), the backbone
    stops after stage 3 (stride 16) and stage 4 becomes the per-RoI head: RoIAlign 14x14 ->
    ``layer4`` (stride 2) -> 7x7 -> average pool -> classifier. mmdet's ``ResLayer`` shared head
    plays this role but builds mmdet's ResNet stage, which has neither the ResNet-D shortcut nor
    BoTResNet's keys, and loads its ``Pretrained`` init with warnings only. This head builds the
    stage from the same code as :class:`~tricks_mm.models.BoTResNet` (so a classifier's
    ``backbone.layer4.*`` weights fit key for key) and loads strictly.

    Args:
        depth: Depth of the ResNet the stage comes from (18..152).
        variant: ``'a'``..``'d'``, as the backbone's; ``None``: ``style`` decides (mmdet's
            ``ResLayer`` key: ``'caffe'`` -> A, ``'pytorch'`` -> B), else D (the paper's). The
            stem does not exist here, so C and B are the same stage.
        stage: 0-based stage index; the module is ``layer{stage + 1}`` (mmdet's convention, so
            detector keys read ``roi_head.shared_head.layer4.*``).
        stride: Stride of the stage's first block.
        dilation: Dilation of the stage's 3x3 convs.
        style: mmdet's ``ResLayer`` spelling of A vs B (see ``variant``).
        norm_cfg: Norm layer config; the C4 design freezes BN
            (``dict(type='BN', requires_grad=False)`` with ``norm_eval=True``).
        norm_eval: Keep the BatchNorms in eval mode in ``train()``.
        with_cp: Gradient checkpointing of every block.
        dcn: mmcv deformable conv config for the 3x3 convs (as mmdet's ``ResLayer``).
        stem_channels: As the backbone's (sets the input width of stage 0 only).
        base_channels: As the backbone's: width of stage 0, doubled per stage.
        pretrained: As mmdet's ``ResLayer``: a whole-ResNet checkpoint whose
            ``layer{stage + 1}.*`` weights load into this stage (strictly, host layouts read).
        init_cfg: ``dict(type='Pretrained', checkpoint=CONVERTED, prefix='backbone.layer4.')``
            (without ``prefix``: ``'layer{stage + 1}.'`` of a whole-ResNet file, as mmdet's
            ``ResLayer`` reads its stock C4 init_cfg) loads the stage strictly (any missing,
            unexpected or misshaped key raises
            :class:`~tricks_mm.models.CheckpointMismatchError`); otherwise Kaiming init.
        **unsupported: Refused, each key named.
    """

    def __init__(
        self,
        depth: int = 50,
        variant: Optional[str] = None,
        stage: int = 3,
        stride: int = 2,
        dilation: int = 1,
        style: Optional[str] = None,
        norm_cfg: Optional[Dict] = None,
        norm_eval: bool = True,
        with_cp: bool = False,
        dcn: Optional[Dict] = None,
        stem_channels: int = 64,
        base_channels: int = 64,
        pretrained: Optional[str] = None,
        init_cfg: Union[dict, List[dict], None] = None,
        **unsupported: Any,
    ) -> None:
        refuse_unknown('BoTResLayer', unsupported, SUPPORTED_KEYS)
        if not isinstance(stage, int) or not 0 <= stage <= 3:
            raise ValueError(f'stage must be an int in 0..3, got {stage!r}')
        if pretrained is not None:
            pretrained_to_init_cfg(pretrained, init_cfg, 'BoTResLayer')  # warns / refuses both
            init_cfg = dict(type='Pretrained', checkpoint=pretrained, prefix=f'layer{stage + 1}.')
        super().__init__(init_cfg=init_cfg)
        rule_decides = variant is None
        variant, _, why = resolve_variant(variant, style, None, None, 'BoTResLayer')
        variant = check_arch(depth, variant)
        if rule_decides:
            log_choice('BoTResLayer', f'stage of ResNet-{variant.upper()}{depth} ({why})')
        norm_cfg = dict(norm_cfg) if norm_cfg is not None else dict(type='BN', requires_grad=True)
        norm_cfg.pop('_scope_', None)
        self.depth, self.variant = depth, variant
        self.stage, self.norm_eval = stage, norm_eval
        self.layer_name = f'layer{stage + 1}'
        opts = BlockOptions(
            norm_cfg=norm_cfg, stride_in_1x1=variant == 'a', dcn=dcn, with_cp=with_cp
        )
        self.add_module(
            self.layer_name,
            make_res_layer(
                depth,
                variant,
                stage,
                stage_in_channels(depth, stage, stem_channels, base_channels),
                stride,
                block_dilations(ARCH[depth][1][stage], dilation),
                opts,
                base_channels,
            ),
        )

    def init_weights(self) -> None:
        """Kaiming (fan_out) convs and unit norms, or a strict load of the Pretrained init_cfg."""
        pretrained, others = split_pretrained(self.init_cfg)
        if others:
            raise ValueError(f'BoTResLayer takes only a Pretrained init_cfg, got {others!r}')
        layer = getattr(self, self.layer_name)
        if pretrained is None:
            kaiming_init_(self)
        else:
            load_strict(
                layer,
                pretrained['checkpoint'],
                # no prefix: a whole-ResNet file, as mmdet's ResLayer reads it (its stage)
                prefix=pretrained.get('prefix') or f'{self.layer_name}.',
                map_location=pretrained.get('map_location', 'cpu'),
                exclude=pretrained.get('exclude', ()),
            )
        self._is_init = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RoI features (N, C_in, 14, 14) -> (N, C_out, 7, 7) for stride 2."""
        return getattr(self, self.layer_name)(x)

    def train(self, mode: bool = True) -> 'BoTResLayer':
        """Set train mode, keeping every BatchNorm in eval with ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
