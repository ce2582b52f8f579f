"""Model components; importing this module registers them in ``tricks_mm.registry.MODELS``."""

from tricks_mm.models import backbones, classifiers, data_preprocessors, losses, roi_heads  # noqa: F401
