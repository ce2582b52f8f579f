"""Engine pieces mmengine cannot express as config (importing registers them)."""

from tricks_mm.engine import (
    channels_last,  # noqa: F401
    nan_guard,  # noqa: F401
    progress_line,  # noqa: F401
    rng_state,  # noqa: F401
    warmup,  # noqa: F401
)
