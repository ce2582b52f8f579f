"""The paper's colour-jitter settings by name, shared by the batch stage
(:mod:`tricks_mm.models.data_preprocessors.batch_color`) and the per-image switch
(:mod:`tricks_mm.config.color_aug`), which may not import each other."""

from typing import Dict, Union

#: Colour jitter settings (mmpretrain ``ColorJitter`` arguments) by name.
#:
#: * ``'paper'``: Sec. 2.1 of He et al. 2019, "scale hue, saturation and brightness with
#:   coefficients uniformly drawn from [0.6, 1.4]": brightness and saturation 0.4; the hue of
#:   MXNet's ``HueJitterAug(0.4)`` (the paper's framework) rotates by up to 0.4 pi = 72 degrees,
#:   which is ``hue=0.2`` in mmpretrain / torchvision units (a fraction of the full circle).
#: * ``'gluoncv'``: GluonCV's ImageNet training script, which produced the paper's models:
#:   brightness, contrast and saturation 0.4, no hue.
JITTER_PRESETS: Dict[str, dict] = {
    'paper': dict(brightness=0.4, saturation=0.4, hue=0.2),
    'gluoncv': dict(brightness=0.4, contrast=0.4, saturation=0.4),
}
JITTER_OPS = ('brightness', 'contrast', 'saturation', 'hue')  # mmpretrain ColorJitter's indices


def jitter_args(jitter: Union[str, dict]) -> dict:
    """mmpretrain ``ColorJitter`` arguments of a preset name or an explicit dict."""
    if isinstance(jitter, str):
        if jitter not in JITTER_PRESETS:
            raise ValueError(
                f'unknown colour jitter preset {jitter!r}: use one of '
                f'{sorted(JITTER_PRESETS)} or a dict of ColorJitter arguments'
            )
        return dict(JITTER_PRESETS[jitter])
    if not isinstance(jitter, dict):
        raise TypeError(f'jitter must be a preset name or a dict, got {type(jitter).__name__}')
    unknown = set(jitter) - set(JITTER_OPS)
    if unknown:
        raise ValueError(
            f'unknown colour jitter argument(s) {sorted(unknown)}: the batch stage '
            f'takes {list(JITTER_OPS)}'
        )
    return dict(jitter)
