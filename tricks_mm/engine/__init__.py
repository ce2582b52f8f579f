"""Engine pieces mmengine cannot express as config (importing registers them)."""
from tricks_mm.engine import warmup  # noqa: F401
