"""Shared helpers of the benchmark scripts: machine description, interleaved timing, report.

Why interleaved: the machines these run on are shared, so background load drifts over
seconds. Timing variant A for a minute and then variant B would fold that drift into the
ratio; alternating short blocks of each and taking the median per variant cancels most of it.

Why CPU time as well: on an oversubscribed CPU machine the wall clock mostly measures how long
the scheduler kept the process waiting. The process's CPU time (``time.process_time``, all its
threads) counts the work it did; with one torch thread it is the steadier measure of CPU cost.
On a GPU the wall clock is the measure (the CPU waits for the device).
"""

import argparse
import datetime
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MD = REPO / 'docs' / 'benchmarks.md'


def parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's argument parser: the first line of its module docstring ``doc`` as the
    description, the rest (after the blank line) as the epilog."""
    return argparse.ArgumentParser(
        description=doc.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(doc.splitlines()[2:]),
    )


def add_report_args(p: argparse.ArgumentParser) -> None:
    """The report flags every benchmark shares: the report file, print only."""
    p.add_argument('--md', default=None, help='report file (default docs/benchmarks.md)')
    p.add_argument('--no-write', action='store_true', help='print only')


def add_threads_arg(p: argparse.ArgumentParser) -> None:
    """``--threads``; :func:`set_threads` applies it."""
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's, one per core); 1 is steadier "
        'on a shared machine, where a descheduled thread stalls the others',
    )


def add_common_args(p: argparse.ArgumentParser) -> None:
    """The flags of the timing benchmarks: device, torch threads, report file."""
    import torch  # lazily: gpu_check imports this module before torch is installed

    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    add_threads_arg(p)
    add_report_args(p)


def set_threads(args: argparse.Namespace) -> None:
    """Apply ``--threads`` (torch's default when not given)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def cpu_name() -> str:
    """``platform.processor()``, else the model name from ``/proc/cpuinfo`` (empty on Linux)."""
    name = platform.processor()
    if name and name not in ('x86_64', 'aarch64'):
        return name
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return name or platform.machine()


def machine_info(device: str = 'cpu') -> Dict[str, str]:
    """What a timing depends on: processor, cores, threads, accelerator, library versions."""
    import torch

    info = {
        'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
        'processor': f'{cpu_name()} (platform.processor()={platform.processor()!r})',
        'cpu_count': str(os.cpu_count()),
        'torch_threads': str(torch.get_num_threads()),
        'python': platform.python_version(),
        'torch': torch.__version__,
    }
    try:
        import mmengine

        info['mmengine'] = mmengine.__version__
    except ImportError:
        info['mmengine'] = 'not installed'
    if device.startswith('cuda') and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    return info


def machine_md(info: Dict[str, str]) -> str:
    return ', '.join(f'{k}: {v}' for k, v in info.items())


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table."""

    def cell(v: object) -> str:
        return f'{v:.3g}' if isinstance(v, float) else str(v)

    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines)


def write_section(name: str, body: str, path: Optional[Path] = None) -> Path:
    """Replace (or append) the section ``name`` of the report, keeping every other section.

    Sections are delimited by HTML comments, so a rerun of one benchmark does not touch the
    numbers of the others.
    """
    path = Path(path or DEFAULT_MD)
    start, end = f'<!-- benchmark:{name}:start -->', f'<!-- benchmark:{name}:end -->'
    block = f'{start}\n{body.strip()}\n{end}'
    text = path.read_text() if path.exists() else '# Benchmarks\n'
    pattern = re.compile(re.escape(start) + '.*?' + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def publish(section: str, md: str, args: argparse.Namespace) -> None:
    """Print the report and, unless ``--no-write``, put it in its section of ``--md``."""
    if not args.no_write:
        write_section(section, md, args.md)
    print(md)


def sync(device: str) -> None:
    """Wait for queued GPU work so wall-clock times cover it (no-op on CPU)."""
    if device.startswith('cuda'):
        import torch

        torch.cuda.synchronize()


def interleave(
    blocks: Dict[str, Callable[[int], None]],
    iters: int,
    rounds: int,
    warmup: int = 1,
    device: str = 'cpu',
    log: Optional[Callable[[str], None]] = None,
    cpu_times: Optional[Dict[str, List[float]]] = None,
) -> Dict[str, List[float]]:
    """Seconds per iteration of each variant, from ``rounds`` alternating blocks of ``iters``.

    Args:
        blocks: ``name -> run(n)``, a callable that runs ``n`` iterations of that variant.
        iters: Iterations per block.
        rounds: Blocks per variant; the order of the variants rotates every round so no variant
            always follows the same one.
        warmup: Untimed iterations of each variant first (allocator, kernel selection).
        device: ``'cuda...'`` synchronises around each block.
        cpu_times: If given, filled with ``name -> [process CPU seconds per iteration]``.

    Returns:
        ``name -> [wall-clock seconds per iteration of each block]``.
    """
    names = list(blocks)
    for name in names:
        if warmup:
            blocks[name](warmup)
    sync(device)
    times: Dict[str, List[float]] = {n: [] for n in names}
    cpu = cpu_times if cpu_times is not None else {}
    for n in names:
        cpu[n] = []
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            sync(device)
            c0, t0 = time.process_time(), time.perf_counter()
            blocks[name](iters)
            sync(device)
            times[name].append((time.perf_counter() - t0) / iters)
            cpu[name].append((time.process_time() - c0) / iters)
        if log:
            log(
                f'round {r + 1}/{rounds}: '
                + ', '.join(
                    f'{n} {times[n][-1] * 1e3:.1f} ms/it (cpu {cpu[n][-1] * 1e3:.1f})'
                    for n in names
                )
            )
    return times


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def spread(xs: Sequence[float]) -> str:
    """min-max of block timings relative to the median, e.g. ``-3%/+5%``."""
    m = statistics.median(xs)
    return f'{(min(xs) / m - 1) * 100:+.0f}%/{(max(xs) / m - 1) * 100:+.0f}%'


def quiet_mmengine() -> None:
    """Only warnings from mmengine's logger: model-init tables would bury the results."""
    import logging

    from mmengine.logging import MMLogger

    MMLogger.get_current_instance().setLevel(logging.WARNING)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
