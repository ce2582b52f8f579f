"""Engine pieces mmengine cannot express as config (importing registers them)."""
from tricks_mm.engine import channels_last  # noqa: F401
from tricks_mm.engine import nan_guard  # noqa: F401
from tricks_mm.engine import rng_state  # noqa: F401
from tricks_mm.engine import warmup  # noqa: F401
