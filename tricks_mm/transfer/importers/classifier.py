"""The mmpretrain classifier an import produces: ``BoTResNet`` + GAP + ``LinearClsHead``.

Its config is what ``tools/train.py`` classifiers look like (``configs/_base_/models/
bot_resnet50_cls.py``), so the checkpoint flows through ``convert``, strict loading, the
downstream configs, the ladder and distillation (as a teacher) like one trained here.
"""

from typing import Any, Dict, Optional

from mmengine.config import Config

from tricks_mm.transfer.normalization import InputNormalization, preprocessor_fields


def classifier_config(
    backbone: Dict[str, Any],
    num_classes: Optional[int],
    feat_dim: int,
    norm: InputNormalization,
) -> Config:
    """The config of the imported classifier (mmpretrain scope, data preprocessor = ``norm``).

    ``num_classes=None`` (a backbone without a classifier head): no head, so the model extracts
    features only and ``convert`` takes its backbone as from any classifier.
    """
    head = (
        None
        if num_classes is None
        else dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=feat_dim,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5) if num_classes >= 5 else (1,),
        )
    )
    preprocessor = preprocessor_fields(norm, 'to_rgb')
    if num_classes is not None:
        preprocessor['num_classes'] = num_classes
    return Config(
        dict(
            default_scope='mmpretrain',
            model=dict(
                type='ImageClassifier',
                backbone=dict(
                    type='tricks_mm.BoTResNet',
                    out_indices=(3,),
                    zero_init_residual=False,
                    **backbone,
                ),
                neck=dict(type='GlobalAveragePooling'),
                head=head,
            ),
            data_preprocessor=preprocessor,
        )
    )
