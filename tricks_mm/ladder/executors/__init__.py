"""Executors take a :class:`tricks_mm.ladder.plan.LadderPlan` and run its steps: ``local``
(processes on this machine, ``jobs`` side by side) or ``slurm`` (one Slurm job per step, with
the dependencies of the plan)."""
