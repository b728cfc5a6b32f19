"""Time per training step: dlscratch vs numpy by hand (and PyTorch where installed).

    python -m benchmarks            # all workloads, float64 and float32
    python -m benchmarks --quick    # fewer repeats

Reports the median of repeats after a warm-up, and each ratio to numpy measured in the same run.
"""
import argparse
import importlib.util
import statistics
import time

import numpy as np

from .workloads import WORKLOADS, dlscratch_step, init_weights, numpy_step, torch_step


def median_time(step, repeats, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    args = parser.parse_args()
    impls = {"numpy": numpy_step, "dlscratch": dlscratch_step}
    if importlib.util.find_spec("torch"):
        impls["pytorch"] = torch_step
    print(f"{'workload':36} {'dtype':8}" + "".join(f"{name:>13}" for name in impls) +
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
            times = {k: median_time(step, n) for k, step in steps.items()}
            ratios = "".join(f"{times[k] / times['numpy']:16.2f}x" for k in impls if k != "numpy")
            print(f"{name:36} {np.dtype(dtype).name:8}" + "".join(f"{fmt(t):>13}" for t in times.values()) + ratios,
                  flush=True)


if __name__ == "__main__":
    main()
