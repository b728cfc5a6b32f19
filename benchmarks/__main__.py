"""Time per training step: dlscratch vs numpy by hand (and PyTorch where installed).

    python -m benchmarks            # all workloads, float64 and float32
    python -m benchmarks --quick    # fewer repeats
    python -m benchmarks --grading  # the grading workload instead (benchmarks/grading.py)

Reports the median of repeats after a warm-up, and each ratio to numpy measured in the same run.
numpy and dlscratch take turns, a block of steps at a time, so that a burst of load from
elsewhere on the machine slows both alike instead of skewing their ratio. PyTorch is timed
on its own afterwards: its thread pool, still spinning after its turn, would slow numpy's
BLAS threads (and the other way round) on a 2-core machine.
"""
import argparse
import ctypes
import importlib.util
import statistics
import sys
import tempfile
import time

import numpy as np

from .workloads import WORKLOADS, dlscratch_step, init_weights, numpy_step, torch_step


def steady_allocator():
    """Ask glibc's malloc to keep the memory that a step frees, for the next step to reuse.

    By default, arrays over ~128 KB get fresh pages from the kernel and a shrinking heap is
    handed back; either way the next step page-faults while the kernel zeroes those pages
    again. For W2 that costs as much as the arithmetic, and it flips from run to run with the
    allocator's history (numpy by hand measured 2.0 or 4.2 ms a step, dlscratch 2.0 or 2.6 ms).
    Measured in steady conditions, both implementations are timed on their computation.
    Returns whether it worked (False where the C library is not glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1


def median_times(steps, repeats, warmup=3, rounds=20):
    """{name: median seconds per step}, timing each step alone. The implementations take turns,
    `rounds` times, each turn starting with one untimed step (caches and thread pools wake up)."""
    times = {k: [] for k in steps}
    for step in steps.values():
        for _ in range(warmup):
            step()
    block = max(repeats // rounds, min(repeats, 10))
    for _ in range(max(1, repeats // block)):
        for k, step in steps.items():
            step()
            for _ in range(block):
                start = time.perf_counter()
                step()
                times[k].append(time.perf_counter() - start)
    return {k: statistics.median(t) for k, t in times.items()}


def check_same_losses(steps, dtype):
    """The implementations must agree before their speed means anything (3 steps from the same weights)."""
    losses = {k: [float(step()) for _ in range(3)] for k, step in steps.items()}
    reference = np.array(losses["numpy"])
    tolerance = 1e-9 if dtype == np.float64 else 1e-4
    for k, values in losses.items():
        if not np.allclose(values, reference, rtol=tolerance, atol=tolerance):
            raise SystemExit(f"{k} disagrees with numpy: losses {values} vs {list(reference)}")


def fmt(seconds):
    return f"{seconds * 1e6:9.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the repeats")
    parser.add_argument("--only", help="run workloads whose name contains this, e.g. W1")
    parser.add_argument("--grading", action="store_true",
                        help="the grading workload: a simulated class, stock nbgrader vs scripts/grade.sh")
    parser.add_argument("--students", type=int, default=56,
                        help="with --grading: submissions per assignment for grade.sh (default: two cycles of "
                             "assignment 1's mix; 500: the full class)")
    parser.add_argument("--stock-students", type=int,
                        help="with --grading: submissions per assignment for stock nbgrader (slow; default: one "
                             "whole cycle of each assignment's mix of kinds)")
    parser.add_argument("--jobs", type=int, help="with --grading: grade.sh --jobs (default: grade.sh's)")
    parser.add_argument("--assignments", help="with --grading: comma-separated assignments (default: all)")
    args = parser.parse_args()
    if args.grading:
        from .grading import run
        with tempfile.TemporaryDirectory(prefix="dlscratch-grading-benchmark-") as scratch:
            run(args.students, args.jobs, scratch, stock_students=args.stock_students,
                assignments=args.assignments.split(",") if args.assignments else None)
        return
    if not steady_allocator():
        print("note: could not keep freed memory (not glibc); big workloads include page faults", flush=True)
    impls = {"numpy": numpy_step, "dlscratch": dlscratch_step}
    if importlib.util.find_spec("torch"):
        impls["pytorch"] = torch_step
    print(f"{'workload':40} {'dtype':8}" + "".join(f"{name:>13}" for name in impls) +
          "".join(f"{name + '/numpy':>17}" for name in impls if name != "numpy"))
    for name, (data, sizes, activation, lr, reduction, repeats) in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        n = max(3, repeats // 10) if args.quick else repeats
        for dtype in (np.float64, np.float32):
            X, C = data(dtype)
            params = init_weights(sizes, dtype)
            steps = {k: make(X, C, params, activation, lr, reduction) for k, make in impls.items()}
            check_same_losses(steps, dtype)
            times = median_times({k: steps[k] for k in ("numpy", "dlscratch")}, n)
            if "pytorch" in steps:
                times.update(median_times({"pytorch": steps["pytorch"]}, n))
            ratios = "".join(f"{times[k] / times['numpy']:16.2f}x" for k in impls if k != "numpy")
            print(f"{name:40} {np.dtype(dtype).name:8}" + "".join(f"{fmt(t):>13}" for t in times.values()) + ratios,
                  flush=True)


if __name__ == "__main__":
    main()
