"""Wall time and accuracy of the batched fixed-point search.

Cases:

- ``lorenz``: the Lorenz system (σ=10, ρ=28, β=8/3) from a Latin hypercube of
  starts in its bounds (100,000 starts; 10,000 with ``--quick``).  Expected:
  exactly 3 fixed points.
- ``tanh64``: a random network dx/dt = -x + W tanh(x), W_ij ~ N(0, g²/n),
  n = 64, g = 1.5 (from a callable with its analytic Jacobian), 1024 starts
  (256 with ``--quick``) drawn from its trajectories.

- ``flipflop``: the bundled 3-bit flip-flop RNN (64 tanh units) at zero
  input, 1024 starts sampled from held-out trials with noise 0.5, run by
  dynsys and by the Adam-on-q baseline of ``adam_baseline.py``
  (FixedPointFinder's defaults) on the same starts.

For each: time, number of distinct fixed and slow points, the largest |F| over
the fixed points, and the search statistics; for ``flipflop`` also the
baseline's time, distinct points and largest q, and the ratio of the times.  Prints a table and writes JSON
(``benchmarks/results/`` by default, git-ignored).  ``--profile`` prints the
top of a cProfile of the Lorenz case.

    python benchmarks/bench_fixed_points.py [--quick] [--out PATH] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import time
from typing import Any, Callable

import numpy as np

from dynsys.fixed_points import FixedPointSet, find_fixed_points
from dynsys.models import lorenz
from dynsys.systems import System


def tanh_network(n: int = 64, gain: float = 1.5, seed: int = 1) -> System:
    """dx/dt = -x + W tanh(x), W with N(0, gain²/n) entries; Df = W diag(1 - tanh² x) - I."""
    W = gain / np.sqrt(n) * np.random.default_rng(seed).standard_normal((n, n))

    def f(X: np.ndarray) -> np.ndarray:
        return -X + np.tanh(X) @ W.T

    def jacobian(X: np.ndarray) -> np.ndarray:
        return W * (1.0 - np.tanh(X) ** 2)[:, None, :] - np.eye(n)

    return System.from_callable(f, n, jacobian, vectorized=True, name=f"tanh{n}")


def cases(quick: bool) -> dict[str, tuple[Callable[[], System], dict[str, Any]]]:
    return {
        "lorenz": (lorenz, {"n_starts": 10_000 if quick else 100_000}),
        "tanh64": (tanh_network, {"n_starts": 256 if quick else 1024}),
    }


def summarise(name: str, result: FixedPointSet, seconds: float) -> dict[str, Any]:
    fixed = result.fixed()
    return {
        "case": name,
        "time_s": seconds,
        "n_fixed": len(fixed),
        "n_slow": len(result.slow()),
        "max_abs_F_fixed": float(fixed.speed.max()) if len(fixed) else None,
        "labels": sorted(set(fixed.label.tolist())),
        **{k: v for k, v in result.stats.items() if k not in ("time_s",)},
    }


def flipflop_comparison(quick: bool) -> dict[str, Any]:
    """dynsys vs the Adam-on-q baseline on the bundled flip-flop network, same starts."""
    from adam_baseline import adam_on_q

    from dynsys.rnn import load_flipflop
    from dynsys.simulate import sample_states
    from tasks.flipflop import generate

    cell = load_flipflop()
    system = cell.system()
    trials = generate(128, 200, bits=cell.W_out.shape[0], seed=7)
    starts = sample_states(cell.run(trials.inputs), 1024, noise=0.5, seed=8)
    find_fixed_points(system, starts[:16])  # warm-up
    clock = time.perf_counter()
    ours = find_fixed_points(system, starts)
    ours_s = time.perf_counter() - clock
    base = adam_on_q(system, starts, **({"max_iters": 500} if quick else {}))
    fixed = ours.fixed()
    row = {
        "case": "flipflop",
        "starts": len(starts),
        "dynsys_time_s": ours_s,
        "dynsys_n_fixed": len(fixed),
        "dynsys_n_slow": len(ours.slow()),
        "dynsys_max_q_fixed": float(fixed.q.max()) if len(fixed) else None,
        "baseline_time_s": base["time_s"],
        "baseline_iterations": base["iterations"],
        "baseline_n_unique": base["n_unique"],
        "baseline_n_fixed": base["n_fixed"],
        "baseline_max_q_fixed": base["max_q_fixed"],
        "speedup": base["time_s"] / ours_s,
    }
    print(
        f"flipflop starts={len(starts)}  dynsys {ours_s:.3f} s: {len(fixed)} fixed (max q "
        f"{row['dynsys_max_q_fixed'] or float('nan'):.1e}), {len(ours.slow())} slow  |  Adam on q "
        f"{base['time_s']:.2f} s, {base['iterations']} iterations: {base['n_fixed']} fixed of "
        f"{base['n_unique']} distinct (max q {base['max_q_fixed'] or float('nan'):.1e})  |  "
        f"speed-up {row['speedup']:.1f}x"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer starts")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "fixed_points.json"))
    parser.add_argument("--profile", action="store_true", help="cProfile the Lorenz case")
    parser.add_argument("--no-flipflop", action="store_true", help="skip the comparison with Adam on q")
    args = parser.parse_args()

    rows = []
    for name, (make, options) in cases(args.quick).items():
        system = make()
        find_fixed_points(system, n_starts=64)  # warm-up (lambdify caches, imports)
        start = time.perf_counter()
        result = find_fixed_points(system, **options)
        rows.append(summarise(name, result, time.perf_counter() - start))
        print(
            f"{name:8s} starts={result.stats['n_starts']:>7d}  time={rows[-1]['time_s']:7.3f} s  "
            f"fixed={len(result.fixed()):>3d}  slow={len(result.slow()):>3d}  "
            f"max|F|={rows[-1]['max_abs_F_fixed'] or float('nan'):.2e}  "
            f"iterations={result.stats['iterations']}  diverged={result.stats['n_diverged']}  "
            f"unconverged={result.stats['n_unconverged']}"
        )

    if not args.no_flipflop:
        rows.append(flipflop_comparison(args.quick))

    if args.profile:
        system, options = lorenz(), cases(args.quick)["lorenz"][1]
        profiler = cProfile.Profile()
        profiler.runcall(find_fixed_points, system, **options)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    report = {
        "benchmark": "fixed_points",
        "quick": args.quick,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count()},
        "results": rows,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
