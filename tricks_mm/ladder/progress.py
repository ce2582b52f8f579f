"""Progress inside a ladder step, from the progress lines of its child process.

Each step config carries :class:`tricks_mm.engine.progress_line.BoTProgressLineHook` (added by
:mod:`tricks_mm.ladder.materialize`), which prints the loop's own iteration, total and loss as
one JSON line per logging interval on the stream the ladder reads; no log text is parsed, so a
change of mmengine's log format changes nothing here. The ETA comes from the rate measured
between lines, or, in training, mmengine's own ETA when the line carries it (``eta_s``); the
test phase, which mmengine's ETA does not cover, is always timed here.
"""

import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from tricks_mm.engine.progress_line import parse_progress_line


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f'{seconds // 60}m{seconds % 60:02d}s'


class StepProgress:
    """Called with every output line of a step's child; prints a progress line now and then.

    Args:
        label: prefix of the printed lines (ladder name, step kind).
        max_epochs: the step's ``train_cfg.max_epochs`` for an epoch-based loop, used where a
            record does not give its ``epochs``; ``None`` for an iteration-based loop.
        interval: at most one printed line per ``interval`` seconds (the first one at once).
        ladder_eta: given this step's estimated (total, remaining) seconds, the whole ladder's
            ETA text (:meth:`LadderProgress.eta`).
        clock, emit: injectable for tests (``time.monotonic``, ``print``).
    """

    def __init__(
        self,
        label: str,
        max_epochs: Optional[int] = None,
        interval: float = 15.0,
        ladder_eta: Optional[Callable[[Tuple[float, float]], str]] = None,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[str], None] = lambda s: print(s, flush=True),
    ) -> None:
        self.label, self.max_epochs, self.interval = label, max_epochs, interval
        self.ladder_eta, self.clock, self.emit = ladder_eta, clock, emit
        self.started = clock()
        self._phase: Optional[str] = None
        self._first: Optional[Tuple[float, int]] = None  # (time, done) at the phase's first line
        self._last_emit: Optional[float] = None
        self._eta_shown = False
        self._last_text = ''
        self.estimate: Optional[Tuple[float, float]] = None  # (total, remaining) seconds

    def _position(self, record: Dict[str, Any]) -> Tuple[str, int, int, str]:
        """(phase, done, total, where) of a progress record."""
        phase, i, n, epoch = record['phase'], record['iter'], record['iters'], record.get('epoch')
        if phase == 'test':
            return 'test', i, n, f'test {i}/{n}'
        if epoch is None:
            return 'train', i, n, f'iter {i}/{n}'
        epochs = record.get('epochs', self.max_epochs)
        if epochs is None:
            return 'train', i, n, f'epoch {epoch}, iter {i}/{n}'
        return 'train', (epoch - 1) * n + i, epochs * n, f'epoch {epoch}/{epochs}, iter {i}/{n}'

    def __call__(self, line: str) -> None:
        record = parse_progress_line(line)
        if record is None:
            return
        phase, done, total, where = self._position(record)
        now = self.clock()
        if phase != self._phase:
            self._phase, self._first = phase, (now, done)
        t0, done0 = self._first  # type: ignore[misc]
        parts = [where, f'{100 * done / total:.0f}%']
        if record.get('loss') is not None:
            parts.append(f'loss {record["loss"]:.4f}')
        first_eta = False
        remaining: Optional[float] = None
        if phase == 'train' and record.get('eta_s') is not None:
            remaining = float(record['eta_s'])  # mmengine's own, from its iteration timer
        elif done > done0 and now > t0:
            remaining = (now - t0) / (done - done0) * (total - done)
        if remaining is not None:
            self.estimate = (now - self.started + remaining, remaining)
            parts.append(f'{phase} ETA {duration(remaining)}')
            if self.ladder_eta is not None:
                parts.append(f'ladder {self.ladder_eta(self.estimate)}')
            first_eta, self._eta_shown = not self._eta_shown, True
        text = f'{self.label}: ' + ', '.join(parts)
        if text != self._last_text and (
            self._last_emit is None
            or first_eta
            or done == total
            or now - self._last_emit >= self.interval
        ):
            self._last_emit, self._last_text = now, text
            self.emit(text)


class LadderProgress:
    """Prints which step starts, how far the ladder is, and an ETA from finished step times
    (the sum of the steps ahead, divided by the ``jobs`` running side by side)."""

    def __init__(self, total: int, name: str, jobs: int = 1) -> None:
        self.total, self.name, self.jobs = total, name, jobs
        self.started = self.done = 0
        self.seconds: Dict[str, List[float]] = {}
        self.remaining: List[str] = []
        # eta() runs in the steps' threads (their progress lines), finish() in the ladder's
        self._lock = threading.Lock()

    def eta(self, current: Optional[Tuple[float, float]] = None) -> str:
        """ETA of the steps left. ``current``: a running step's estimated (total, remaining)
        seconds from its log (:class:`StepProgress`); before any step has finished, its total
        stands in for the kinds not yet timed, so the first ETA comes with the first log lines."""
        with self._lock:
            seconds = {k: list(v) for k, v in self.seconds.items()}
            remaining = list(self.remaining)
        known = [t for times in seconds.values() for t in times]
        if not known and current is None:
            return 'ETA unknown'
        mean_all = sum(known) / len(known) if known else current[0]  # type: ignore[index]
        ahead = remaining[1:] if current is not None else remaining
        left = sum(sum(seconds[k]) / len(seconds[k]) if k in seconds else mean_all for k in ahead)
        left = left / self.jobs + (current[1] if current is not None else 0.0)
        return f'ETA {duration(left)}'

    def start(self, step, remaining_kinds: List[str]) -> None:
        """``remaining_kinds``: the kinds of this step and of every step not started yet."""
        with self._lock:
            self.remaining = list(remaining_kinds)
        self.started += 1
        print(
            f'[ladder {self.name}] step {self.started}/{self.total}: {step.kind} '
            f'rung {step.rung.name!r} seed {step.seed} ({self.eta()})',
            flush=True,
        )

    def _where(self, step) -> str:
        """Which step a line is about: needed once several run side by side."""
        return f' ({step.step_id})' if self.jobs > 1 else ''

    def finish(self, step, seconds: Optional[float]) -> None:
        self.done += 1
        if seconds is None:
            print(f'[ladder {self.name}]   done before, skipped{self._where(step)}', flush=True)
            return
        with self._lock:
            self.seconds.setdefault(step.kind, []).append(seconds)
        print(f'[ladder {self.name}]   finished in {seconds:.0f}s{self._where(step)}', flush=True)

    def fail(self, step, others_running: bool) -> None:
        then = 'waiting for the running steps, then stopping' if others_running else 'stopping'
        print(f'[ladder {self.name}]   step {step.step_id} FAILED; {then}', flush=True)
