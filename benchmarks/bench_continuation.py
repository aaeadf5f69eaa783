"""Continuation of fixed points of networks: time, memory and cost per step against the size n.

Cases (issue 13):

- ``flipflop``: the bundled 64-unit tanh network trained on the 3-bit
  flip-flop (``rnn.load_flipflop()``), continued from its fixed point near
  the origin along input bit 0 (``cell.system(np.zeros(3), along=e_0)``)
  for s in [-1, 1], with ``solver="auto"`` (dense at n = 64) and forced
  ``"matrix-free"``.  Target: under 2 s.
- ``random_n``: random tanh maps h' = tanh(W h + s w) with W = 0.9 G/√n
  (G standard normal, spectral radius about 0.9, so the origin-like fixed
  point is stable) and w = g/√n (g standard normal, |w| about 1), from the
  origin for s in [-1, 1], matrix-free, n = 64, 128, 256, 512, 1000
  (``--quick``: 32, 64 only, and no flip-flop), and dense up to n = 512
  for comparison.  Target at n = 1000: under
  a minute and 2 GB.

- ``brusselator_cycles`` (issue 14): the branch of limit cycles of the
  Brusselator x' = A − (B+1)x + x²y, y' = Bx − x²y at A = 1, born at its
  Hopf point B = 2 and continued over B in [2, 4] (collocation with the
  default mesh, Floquet multipliers at every point), the Hopf point itself
  found by continuing the equilibrium (A, B/A) first (not timed).  Target:
  under 10 s.  Full run only.

Each case records the wall time, the points of the branch, steps per
second (points / time), the cost per point, the special points and the
peak resident memory of the process so far (``resource.getrusage``'s
ru_maxrss: the matrix-free cases run in increasing n before the dense
ones, so each value bounds that case).
Prints a table and writes ``<out-dir>/continuation.json``
(``continuation_quick.json`` with ``--quick``).

    python benchmarks/bench_continuation.py [--quick] [--out-dir DIR]

One BLAS thread: the script sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
MKL_NUM_THREADS to 1 (unless already set) before numpy is imported
(threadpoolctl is not installed).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np
from networks import RESULTS_DIR, format_table, machine, wall_time, write_json

from dynsys import continuation, rnn
from dynsys.systems import System

FLIPFLOP_TARGET_S = 2.0
CYCLES_TARGET_S = 10.0
LARGE_TARGET_S, LARGE_TARGET_MB = 60.0, 2000.0
SIZES = {False: (64, 128, 256, 512, 1000), True: (32, 64)}
GAIN = 0.9
DENSE_UP_TO = 512


def random_network(n: int, seed: int = 0) -> System:
    """h' = tanh(W h + s w), W = 0.9 G/√n, w = g/√n: the random tanh network along a random input direction."""
    rng = np.random.default_rng(seed)
    W = GAIN * rng.standard_normal((n, n)) / np.sqrt(n)
    w = rng.standard_normal((n, 1)) / np.sqrt(n)
    return rnn.VanillaRNN(w, W).system([0.0], along=[1.0])


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def measure(name: str, system: System, x0: np.ndarray, solver: str) -> dict[str, Any]:
    """One continuation over s in [-1, 1]: time, points, special points, memory."""
    branch, seconds = wall_time(continuation, system, "s", x0, p_span=(-1.0, 1.0), solver=solver)
    return {
        "case": name, "n": system.dim, "solver": solver, "time_s": seconds, "points": len(branch),
        "steps_per_s": len(branch) / seconds, "ms_per_point": 1e3 * seconds / len(branch),
        "eigenvalues_per_point": branch.eigenvalues.shape[1], "stop_reason": list(branch.stop_reason),
        "bifurcations": [[b.kind, b.p] for b in branch.bifurcations], "peak_rss_mb": peak_rss_mb(),
    }


def measure_cycles() -> dict[str, Any]:
    """The Brusselator's cycle branch over B in [2, 4] from its Hopf point (A = 1): time, cycles, special points."""
    brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 1.5})
    hopf = continuation(brusselator, "B", [1.0, 1.5], p_span=(1.5, 4.0)).bifurcations[0]
    branch, seconds = wall_time(continuation, brusselator, "B", hopf, p_span=(2.0, 4.0))
    return {
        "case": "brusselator_cycles", "n": 2, "solver": "collocation", "time_s": seconds, "points": len(branch),
        "steps_per_s": len(branch) / seconds, "ms_per_point": 1e3 * seconds / len(branch),
        "eigenvalues_per_point": branch.multipliers.shape[1], "stop_reason": list(branch.stop_reason),
        "bifurcations": [[b.kind, b.p] for b in branch.bifurcations], "peak_rss_mb": peak_rss_mb(),
        "period_range": [float(branch.period.min()), float(branch.period.max())],
    }


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small networks only: a smoke test in seconds")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    records = []
    if not args.quick:
        cell = rnn.load_flipflop()
        flipflop = cell.system(np.zeros(3), along=np.array([1.0, 0.0, 0.0]))
        for solver in ("auto", "matrix-free"):
            records.append(measure("flipflop", flipflop, np.zeros(flipflop.dim), solver))
    for solver in ("matrix-free", "dense"):  # the dense runs last: their O(n²) would mask the peak of the others
        for n in SIZES[args.quick]:
            if solver == "matrix-free" or n <= DENSE_UP_TO:
                records.append(measure(f"random_{n}", random_network(n), np.zeros(n), solver))
    if not args.quick:
        records.append(measure_cycles())

    targets = []
    for r in records:
        if r["case"] == "flipflop" and r["solver"] == "auto":
            ok = r["time_s"] < FLIPFLOP_TARGET_S
            targets.append(("PASS" if ok else "FAIL", f"flipflop (n = 64): {r['time_s']:.2f} s < {FLIPFLOP_TARGET_S} s"))
        if r["case"] == "random_1000":
            ok = r["time_s"] < LARGE_TARGET_S and r["peak_rss_mb"] < LARGE_TARGET_MB
            what = (f"random_1000: {r['time_s']:.1f} s < {LARGE_TARGET_S} s, "
                    f"peak {r['peak_rss_mb']:.0f} MB < {LARGE_TARGET_MB:.0f} MB")
            targets.append(("PASS" if ok else "FAIL", what))
        if r["case"] == "brusselator_cycles":
            ok = r["time_s"] < CYCLES_TARGET_S
            what = f"brusselator cycles, B in [2, 4]: {r['time_s']:.2f} s < {CYCLES_TARGET_S} s ({r['points']} cycles)"
            targets.append(("PASS" if ok else "FAIL", what))
    headers = ["case", "n", "solver", "time_s", "points", "steps/s", "ms/point", "k eig", "special", "peak MB"]
    rows = [[r["case"], r["n"], r["solver"], f"{r['time_s']:.2f}", r["points"], f"{r['steps_per_s']:.1f}",
             f"{r['ms_per_point']:.1f}", r["eigenvalues_per_point"], len(r["bifurcations"]),
             f"{r['peak_rss_mb']:.0f}"] for r in records]
    print(format_table(headers, rows))
    for status, what in targets:
        print(f"{status}: {what}")
    name = "continuation_quick.json" if args.quick else "continuation.json"
    write_json(args.out_dir / name, {
        "benchmark": "continuation", "quick": args.quick, "machine": machine(), "cases": records,
        "targets": [{"status": s, "what": w} for s, w in targets],
        "command": " ".join(["python", "benchmarks/bench_continuation.py", *(argv or sys.argv[1:])]),
    })
    return targets


if __name__ == "__main__":
    main()
