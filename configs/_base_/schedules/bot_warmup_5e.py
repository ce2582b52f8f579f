# The paper's linear warmup (Sec. 3.1): lr from 0 to its initial value over the first 5 epochs,
# per iteration. Each rung that warms up lists `{{_base_.BOT_WARMUP}}` first in its
# param_scheduler, followed by its own decay.
BOT_WARMUP = dict(
    type='tricks_mm.BoTLinearWarmupLR', by_epoch=True, begin=0, end=5, convert_to_iter_based=True
)
