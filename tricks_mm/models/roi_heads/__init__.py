"""RoI heads; importing this module registers them in ``tricks_mm.registry.MODELS``."""

from tricks_mm.models.roi_heads.bot_res_layer import BoTResLayer

__all__ = ['BoTResLayer']
