"""Time and memory of the reference dropouts against torch.nn.functional.dropout.

    python benchmarks/bench_dropout_impl.py [--numel N] [--p P] [--repeats R]

For each implementation, on one float32 CPU tensor (16M elements by default) at p = 0.3:

* forward time: median over ``repeats`` calls, after one warm-up call;
* forward + backward time: the same for ``y = f(x, p); y.backward(g)``;
* peak memory of forward + backward, above what was resident before the call (x, g and
  x.grad already allocated), read from the kernel's resident-set high-water mark (VmHWM in
  /proc/self/status, reset before each run by writing 5 to /proc/self/clear_refs); median
  over ``repeats`` runs. This is Linux-only and counts whole pages, which is fine at 64 MB
  tensors; on other systems the column reads "n/a".

Everything runs in one process, one implementation after another, so the numbers share
the same machine state. Targets (issue 2): forward within 1.5x of F.dropout, forward +
backward peak memory within 1.25x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from dropout_impl import dropout_bernoulli, dropout_mask

Dropout = Callable[[torch.Tensor, float], torch.Tensor]
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mib(field: str) -> float:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _peak_memory_mib(fn: Dropout, x: torch.Tensor, g: torch.Tensor, p: float) -> float | None:
    if not CLEAR_REFS.exists():
        return None
    x.grad = None
    x.grad = torch.zeros_like(x)  # resident before the call, like a model's gradient buffer
    baseline = _status_mib("VmRSS:")
    CLEAR_REFS.write_text("5")  # reset the high-water mark to the current resident size
    y = fn(x, p)
    y.backward(g)
    del y
    return _status_mib("VmHWM:") - baseline


def _median_seconds(step: Callable[[], object], repeats: int) -> float:
    step()  # warm-up: first-call allocations and thread-pool start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(fn: Dropout, numel: int, p: float, repeats: int) -> dict[str, float | None]:
    x = torch.randn(numel, requires_grad=True)
    g = torch.randn(numel)

    def forward() -> None:
        with torch.no_grad():
            fn(x, p)

    def forward_backward() -> None:
        x.grad = None
        fn(x, p).backward(g)

    memories = [_peak_memory_mib(fn, x, g, p) for _ in range(repeats)]
    return {
        "forward_ms": 1e3 * _median_seconds(forward, repeats),
        "forward_backward_ms": 1e3 * _median_seconds(forward_backward, repeats),
        "peak_mib": None if None in memories else statistics.median(memories),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numel", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    implementations: dict[str, Dropout] = {
        "torch.nn.functional.dropout": F.dropout,
        "dropout_impl.dropout_mask": dropout_mask,
        "dropout_impl.dropout_bernoulli": dropout_bernoulli,
    }
    results = {name: measure(fn, args.numel, args.p, args.repeats) for name, fn in implementations.items()}
    reference = results["torch.nn.functional.dropout"]

    print(
        f"float32 CPU tensor, {args.numel:,} elements, p={args.p}, median of {args.repeats}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads\n"
    )
    print("| implementation | forward ms (x F.dropout) | fwd+bwd ms (x F.dropout) | fwd+bwd peak MiB (x F.dropout) |")
    print("|---|---|---|---|")
    for name, row in results.items():
        cells = []
        for key in ("forward_ms", "forward_backward_ms", "peak_mib"):
            value, base = row[key], reference[key]
            cells.append("n/a" if value is None else f"{value:.1f} ({value / base:.2f}x)")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
