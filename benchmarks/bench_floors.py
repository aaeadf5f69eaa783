"""The floors under issue 15's speed targets: what the least work of a Newton-type search costs here.

For each case of ``bench_vs_fpf.py`` with a tanh network (the same network
and starts), in one process, one BLAS thread, CPU time (median of
``--repeat``, after a warm-up):

- ``reference``: the FixedPointFinder-equivalent's whole call
  (``fpf_reference.py``, one torch thread), and the budget the issue's
  target leaves dynsys: reference ÷ TARGETS[n] (10x at n = 64, 20x at
  n = 256);
- ``F``: one evaluation of F on all B starts (the least work of any
  iteration of any method, Adam's included);
- ``solve``: one batched LU solve ``numpy.linalg.solve`` of the (B, n, n)
  Jacobians DF - I (one dense Newton step for every start; forming the
  Jacobians not counted);
- ``matvec``: one Jacobian-vector product on all B starts (one Krylov
  iteration of a matrix-free Newton step for every start);
- ``eig``: ``numpy.linalg.eig`` of the Jacobians at the K fixed points
  dynsys finds (eigenvalues and eigenvectors, what the linearisation needs
  at least; the reference decomposes the same K matrices).

The last columns: the budget left after ``eig``, and how many dense Newton
steps (``solve``) or matrix-free Krylov iterations (``matvec``) over the
whole batch that leaves.  A Newton-type search from B starts needs a few
steps per start (dynsys's searches take 13-16 iterations, their last ones
on a few representatives); where the budget holds less than one such step,
the target cannot be met by any search that linearises its points with
LAPACK's ``eig`` here.

    python benchmarks/bench_floors.py [--cases tanh64_B1024,...] [--repeat 5] [--quick]

``--quick``: tanh64_B64, one repetition (a smoke test of seconds).  Needs
torch (``pip install dynsys-toolkit[bench]``).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from bench_vs_fpf import CASES, QUICK_CASES, Case, cached
from fpf_reference import find_fixed_points_reference
from networks import RESULTS_DIR, cpu_median, flipflop_cell, problem, report

from dynsys.fixed_points import find_fixed_points

TARGETS = {64: 10.0, 256: 20.0}  # issue 15: at least this many times less CPU than the reference


def floors(case: Case, repeat: int) -> dict[str, Any]:
    """The record of one case: the reference's CPU time, the budget and the costs of the primitives."""
    network = case.network
    prob = problem(network, case.n_starts)
    system, X = prob.system, prob.starts
    cell = flipflop_cell(network.cell, network.n, network.bits)
    points = find_fixed_points(system, X, blas_threads=1).fixed()
    J = system.residual_jacobian(X)
    rhs = -system.residual(X)[:, :, None]
    V = np.random.default_rng(0).standard_normal(X.shape)
    J_points = system.jacobian(points.x)
    record = {
        "case": case.name, "n": system.dim, "B": len(X), "K": len(points), "target": TARGETS[system.dim],
        "reference_cpu_s": cpu_median(lambda: find_fixed_points_reference(cell, X, **case.reference_options),
                                      repeat)[1],
        "F_s": cpu_median(lambda: system.residual(X), repeat)[1],
        "solve_s": cpu_median(lambda: np.linalg.solve(J, rhs), repeat)[1],
        "matvec_s": cpu_median(lambda: system.residual_jvp(X, V), repeat)[1],
        "eig_s": cpu_median(lambda: np.linalg.eig(J_points), repeat)[1],
    }
    record["budget_s"] = record["reference_cpu_s"] / record["target"]
    record["left_after_eig_s"] = left = record["budget_s"] - record["eig_s"]
    record["solves_left"], record["matvecs_left"] = left / record["solve_s"], left / record["matvec_s"]
    return record


def _ms(value: float) -> str:
    return f"{1e3 * value:.1f}"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="tanh64_B1024,tanh64_B4096,tanh256_B1024,tanh256_B4096",
                        help="tanh cases of bench_vs_fpf.py, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tanh64_B64, one repetition (seconds)")
    parser.add_argument("--out-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    known = {c.name: c for c in CASES + QUICK_CASES}
    names = [QUICK_CASES[0].name] if args.quick else args.cases.split(",")
    unknown = [name for name in names if name not in known or known[name].network is None
               or known[name].network.cell != "rnn_tanh"]
    if unknown:
        parser.error(f"--cases: tanh cases of bench_vs_fpf.py, got {unknown}")
    records = []
    for name in names:
        case = known[name]
        if not cached(case.network):
            print(f"{name}: its network is not cached; skipped (bench_vs_fpf.py trains it)")
            continue
        records.append(floors(case, 1 if args.quick else args.repeat))
    headers = ["case", "K", "ref CPU ms", "target", "budget ms", "F ms", "solve ms", "matvec ms", "eig(K) ms",
               "left after eig ms", "solves left", "matvecs left"]
    rows = [[r["case"], r["K"], _ms(r["reference_cpu_s"]), f"{r['target']:.0f}x", _ms(r["budget_s"]), _ms(r["F_s"]),
             _ms(r["solve_s"]), _ms(r["matvec_s"]), _ms(r["eig_s"]), _ms(r["left_after_eig_s"]),
             f"{r['solves_left']:.1f}", f"{r['matvecs_left']:.0f}"] for r in records]
    report("floors", args.quick, Path(args.out_dir), headers, rows, records, [], argv)
    return records


if __name__ == "__main__":
    main()
