"""The paper's linear warmup: ``lr_i = i * lr / m`` for iterations ``i = 1..m`` (Sec. 3.1).

Why not mmengine's ``LinearLR``: it is multiplicative (chained), so it cannot start from 0
(``start_factor=0`` divides by zero at the second step), and it reaches the full rate one step
early, after ``m - 1`` steps (``total_iters = end - begin - 1``). The paper's warmup starts at
``lr / m`` on the first iteration and reaches ``lr`` on the m-th. This scheduler computes that
closed form from the base learning rate, so it is exact and composes with a cosine or step
schedule that begins at ``m``.
"""

from typing import List, Optional, Union

from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import LinearLR
from torch.optim import Optimizer

from tricks_mm.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class BoTLinearWarmupLR(LinearLR):
    """Linear warmup from ``lr / m`` to ``lr`` over the ``m = end - begin`` steps of its range.

    Use ``by_epoch=True, convert_to_iter_based=True, end=5`` for the paper's per-iteration warmup
    over 5 epochs.
    """

    def __init__(
        self,
        optimizer: Union[Optimizer, OptimWrapper],
        begin: int = 0,
        end: int = 5,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not end > begin:
            raise ValueError(f'warmup needs end > begin, got begin={begin}, end={end}')
        super().__init__(
            optimizer,
            start_factor=0.0,
            end_factor=1.0,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )

    @classmethod
    def build_iter_from_epoch(
        cls,
        *args,
        begin: float = 0,
        end: float = 5,
        by_epoch: bool = True,
        epoch_length: Optional[int] = None,
        **kwargs,
    ) -> 'BoTLinearWarmupLR':
        """Epochs -> iterations, keeping at least one warmup iteration.

        A warmup of a fraction of an epoch (toy schedules shrink 5 of 120 epochs) can round to
        zero iterations; one iteration at ``lr / 1`` is the paper's formula with ``m = 1``.
        """
        if not by_epoch:
            raise ValueError('convert_to_iter_based needs an epoch-based config (by_epoch=True)')
        if epoch_length is None or epoch_length <= 0:
            raise ValueError(f'epoch_length must be a positive int, got {epoch_length!r}')
        first = int(begin * epoch_length)
        last = max(first + 1, int(end * epoch_length))
        return cls(*args, begin=first, end=last, by_epoch=False, **kwargs)

    def _get_value(self) -> List[float]:
        warmup_steps = self.end - self.begin
        return [base * (self.last_step + 1) / warmup_steps for base in self.base_values]
