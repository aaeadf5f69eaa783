"""Refining periodic orbits of flows: time to tolerance 1e-10, Newton steps, period and Floquet multipliers.

Cases (issue 14):

- ``rossler``: the Rössler flow x' = −y − z, y' = x + a y, z' = b + z (x − c)
  at a = b = 0.2, c = 2.5 (a stable period-1 cycle, T ≈ 11.5).  The guess:
  the trajectory from (1, 1, 0), settled and cut at its first return to a
  Poincaré section (``cycle_guess``, timed apart), as 400 states.  Timed:
  ``periodic_orbit(system, states, T)`` to 1e-10, multipliers included,
  by collocation (ntst = 60, ncol = 4, at most one mesh adaptation) and by
  multiple shooting (4 segments).  Target: under 0.2 s.
- ``van_der_pol_10``: van der Pol at μ = 10 (a relaxation oscillation,
  T ≈ 19.08), the same way from (2, 0) with ntst = 100.
- ``rnn_64``: a 64-unit continuous-time network x' = −x + W tanh(x) with
  W = 1.5 G/√64 + 2 (u vᵀ − v uᵀ) + (u uᵀ + v vᵀ) (G standard normal, u, v
  orthonormal: a rotation in the plane of u and v that the random part
  perturbs), which oscillates.  Timed: the search from a random state
  (``cycle_guess``) and the refinement, both methods.

Each refinement is timed ``--repeat`` times (default 5) with
``time.perf_counter``; the table gives the median.  Prints a table and
writes ``<out-dir>/periodic_orbits.json`` (``periodic_orbits_quick.json``
with ``--quick``: the Rössler case only, timed once).

    python benchmarks/bench_periodic_orbits.py [--quick] [--repeat K] [--out-dir DIR]

One BLAS thread: the script sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
MKL_NUM_THREADS to 1 (unless already set) before numpy is imported.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from networks import RESULTS_DIR, format_table, machine, wall_time, write_json

from dynsys import System, periodic_orbit, rnn
from dynsys.models import van_der_pol
from dynsys.periodic_orbits.recurrence import cycle_guess

TARGET_S = 0.2  # refining a cycle of a 3-D flow to 1e-10
TOL = 1e-10
GUESS_STATES = 400


def rossler() -> System:
    """The Rössler flow at a = b = 0.2, c = 2.5 (a period-1 cycle)."""
    return System.from_strings({"x": "-y - z", "y": "x + a*y", "z": "b + z*(x - c)"},
                               {"a": 0.2, "b": 0.2, "c": 2.5}, name="rossler")


def oscillating_network(n: int = 64, seed: int = 0) -> System:
    """x' = −x + W tanh(x), W = 1.5 G/√n + 2 (u vᵀ − v uᵀ) + (u uᵀ + v vᵀ): a network with a limit cycle."""
    rng = np.random.default_rng(seed)
    u, v = np.linalg.qr(rng.normal(size=(n, 2)))[0].T
    W = 1.5 * rng.normal(size=(n, n)) / np.sqrt(n) + 2 * (np.outer(u, v) - np.outer(v, u)) + np.outer(u, u) + np.outer(v, v)
    return rnn.ContinuousRNN(np.zeros((n, 1)), W).system()


def measure(case: str, system: System, start: np.ndarray, repeat: int, **options: Any) -> list[dict[str, Any]]:
    """Search the cycle from ``start`` once (timed), then time its refinement by both methods."""
    (period, curve), search_s = wall_time(cycle_guess, system, start)
    states = curve(np.arange(GUESS_STATES) / GUESS_STATES)
    records = []
    for method in ("collocation", "shooting"):
        times, orbit = [], None
        for _ in range(repeat):
            orbit, seconds = wall_time(periodic_orbit, system, states, period, method=method, tol=TOL, **options)
            times.append(seconds)
        assert orbit is not None
        records.append({
            "case": case, "n": system.dim, "method": method, "search_s": search_s,
            "refine_s": float(np.median(times)), "refine_all_s": times, "guess_period": period,
            "period": orbit.period, "residual": orbit.residual, "label": orbit.label,
            "multipliers": [[float(m.real), float(m.imag)] for m in orbit.multipliers], "trivial": orbit.trivial,
            "largest_nontrivial": [float(orbit.nontrivial[0].real), float(orbit.nontrivial[0].imag)],
        })
    return records


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed refinements per case and method (median)")
    parser.add_argument("--quick", action="store_true", help="the Rössler case only, timed once: a smoke test")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    records = measure("rossler", rossler(), np.array([1.0, 1.0, 0.0]), 1 if args.quick else args.repeat)
    if not args.quick:
        records += measure("van_der_pol_10", van_der_pol(10.0), np.array([2.0, 0.0]), args.repeat, ntst=100)
        network = oscillating_network()
        start = 0.5 * np.random.default_rng(1).normal(size=network.dim)
        records += measure("rnn_64", network, start, max(1, args.repeat // 2))

    targets = []
    for r in records:
        if r["case"] == "rossler" and r["method"] == "collocation":
            ok = r["refine_s"] < TARGET_S and r["residual"] <= TOL
            targets.append(("PASS" if ok else "FAIL",
                            f"rossler ({r['method']}): {r['refine_s']:.3f} s < {TARGET_S} s to {TOL:g}"))
    headers = ["case", "n", "method", "search_s", "refine_s", "period", "residual", "|mu| largest non-trivial",
               "label"]
    rows = [[r["case"], r["n"], r["method"], f"{r['search_s']:.2f}", f"{r['refine_s']:.3f}", f"{r['period']:.10f}",
             f"{r['residual']:.1e}", f"{np.hypot(*r['largest_nontrivial']):.6g}", r["label"]] for r in records]
    print(format_table(headers, rows))
    for status, what in targets:
        print(f"{status}: {what}")
    name = "periodic_orbits_quick.json" if args.quick else "periodic_orbits.json"
    write_json(args.out_dir / name, {
        "benchmark": "periodic_orbits", "quick": args.quick, "machine": machine(), "cases": records,
        "targets": [{"status": s, "what": w} for s, w in targets],
        "command": " ".join(["python", "benchmarks/bench_periodic_orbits.py", *(argv or sys.argv[1:])]),
    })
    return targets


if __name__ == "__main__":
    main()
