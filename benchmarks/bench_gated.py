"""dynsys's ``find_fixed_points`` on trained gated networks, against a ground truth computed without it.

For each case (``networks.problem``: a trained GRU or LSTM and its B starts, the
network's states on flip-flop trials plus N(0, 0.5²) noise) the ground truth
is computed independently of dynsys's search, from the same starts:

- attractors: forward iteration of the map, x <- g(x), from every start,
  until the state stops moving (|g(x) - x|_inf <= ITERATE_TOL), at most
  ITERATE_STEPS steps; each end point is then polished by the Newton
  iteration below (it starts next to a zero);
- every fixed point a plain float64 Newton iteration reaches: J δ = -F with
  J = Dg - I (``numpy.linalg.solve``, batched; the least-squares step
  ``numpy.linalg.lstsq`` for a row whose J is singular), backtracking
  δ <- δ/2 until |F| decreases by the factor 1 - 1e-4 α (Armijo, at most
  BACKTRACKS halvings, then the row stops), at most NEWTON_STEPS steps, a
  zero when |F| <= ZERO_TOL.

The distinct points are the connected components of the graph "closer than
MERGE_RADIUS" (``scipy.spatial.cKDTree`` and ``scipy.sparse.csgraph``), each
classified by the moduli of the eigenvalues of Dg (attractor: all < 1;
otherwise a saddle of index #{|λ| > 1}).  The truth is the union of the
attractors and the Newton zeros that are zeros of F, not of its float64
rounding only (:func:`genuine`); the others are counted
(``truth_saturated_zeros``), not matched:

- GRU: inside (-1, 1)^n.  Every fixed point of a GRU has h = n = tanh(.)
  there, and the "zeros" Newton reaches outside it are zeros of float64 only,
  where an update gate rounds to z = 1 (F_k = (1 - z_k)(n_k - h_k) = 0 with
  n_k != h_k).
- LSTM, state (h, c): h = o ⊙ tanh(c) lies in (-1, 1)^H, but c is unbounded
  (c = i ⊙ g / (1 - f) at a fixed point, large where the forget gate f is
  near 1), so no box rule serves for c.  As the gates depend on h only, F_c =
  (f - 1) ⊙ c + i ⊙ g is affine in c at fixed h, and the c of the fixed
  point with that h is c* = c - F_c / (f - 1), f the diagonal of Dg's c-c
  block.  A zero is genuine when h is in (-1, 1)^H, f < 1 and |c - c*| =
  |F_c| / (1 - f) <= MERGE_RADIUS / 10 in every coordinate: where f rounds
  to 1 (1 - f = 0 in float64) every c is a float64 "zero" of F_c = i ⊙ g ≈ 0
  and c is not determined; where 1 - f is tiny, |F| <= ZERO_TOL does not
  place c within the radius at which points are matched.  (The trained
  LSTMs here have 1 - f >= 0.37 at every point of their truths: no zero is
  set aside.)

dynsys then runs (``find_fixed_points(system,
starts)``, default options, one thread), alternately with nothing else, and its
fixed points are matched to the truth within MERGE_RADIUS: reported are its
CPU time, the truth's attractors and saddles it found and missed, the fixed
points it found that the truth lacks (checked: |F| there), and its statistics
(unconverged, slow, saturated starts, iterations).

The truth of a case is cached in ``benchmarks/cache/truth_<case>_<fingerprint>.npz``
(it does not depend on dynsys), so that runs of two checkouts (before and
after a change) compare against the same truth:

    PYTHONPATH=. python benchmarks/bench_gated.py --cases gru64_4bit_B1024 --repeat 3

Cases: gru64_4bit_B1024, gru128_B1024 (GRUs of ``dynsys.tasks.train``),
lstm64_B1024 and lstm64_4bit_B1024 (LSTMs with H = 64, a state of 128, on
the 3- and 4-bit flip-flop, trained by ``train_torch.py``), each with 1024
starts.  ``--quick``: a random GRU with n = 16 and 64 starts (seconds; no
training).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from networks import CACHE_DIR, RESULTS_DIR, Network, Problem, problem, report
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from dynsys.fixed_points import find_fixed_points
from dynsys.systems import System

ITERATE_STEPS = 20_000  # forward iteration: steps at most
ITERATE_TOL = 1e-12  # ... until |g(x) - x|_inf <= this
NEWTON_STEPS = 100  # Newton: steps at most
BACKTRACKS = 30  # halvings of a Newton step at most
ZERO_TOL = 1e-10  # |F| <= this: a zero (dynsys's default tol)
MERGE_RADIUS = 1e-5  # points closer than this are one
TRUTH_VERSION = 2  # of the cached truth's contents


@dataclass(frozen=True)
class Case:
    name: str
    network: Network
    n_starts: int


CASES = (
    Case("gru64_4bit_B1024", Network("gru", 64, "trained", bits=4), 1024),
    Case("gru128_B1024", Network("gru", 128, "trained"), 1024),
    Case("lstm64_B1024", Network("lstm", 64, "trained"), 1024),
    Case("lstm64_4bit_B1024", Network("lstm", 64, "trained", bits=4), 1024),
)
QUICK_CASES = (Case("gru16_random_B64", Network("gru", 16, "random"), 64),)


def forward_iterate(system: System, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x <- g(x) from every row of X until |g(x) - x|_inf <= ITERATE_TOL (at most ITERATE_STEPS
    steps): the end points and which rows stopped moving."""
    X = X.copy()
    moving = np.arange(len(X))
    for _ in range(ITERATE_STEPS):
        if not moving.size:
            break
        G = system.rhs(X[moving])
        still = np.max(np.abs(G - X[moving]), axis=1) > ITERATE_TOL
        X[moving] = G
        moving = moving[still]
    settled = np.ones(len(X), dtype=bool)
    settled[moving] = False
    return X, settled


def newton(system: System, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain Newton on F = g(x) - x = 0 with backtracking (module docstring) from every row of X:
    the end points and which rows are zeros (|F| <= ZERO_TOL)."""
    X = X.copy()
    F = system.residual(X)
    f = np.linalg.norm(F, axis=1)
    active = np.flatnonzero(np.isfinite(f) & (f > ZERO_TOL))
    for _ in range(NEWTON_STEPS):
        if not active.size:
            break
        J = system.residual_jacobian(X[active])
        try:
            step = np.linalg.solve(J, -F[active][:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # some J singular: least squares row by row (rare)
            step = np.stack([np.linalg.lstsq(j, -r, rcond=None)[0] for j, r in zip(J, F[active])])
        alpha = np.ones(active.size)
        todo = np.arange(active.size)  # rows of ``active`` still backtracking
        moved = np.zeros(active.size, dtype=bool)
        for _ in range(BACKTRACKS + 1):
            rows = active[todo]
            with np.errstate(all="ignore"):
                Xt = X[rows] + alpha[todo, None] * step[todo]
                Ft = system.residual(Xt)
                ft = np.linalg.norm(Ft, axis=1)
            ok = ft <= (1.0 - 1e-4 * alpha[todo]) * f[rows]
            X[rows[ok]], F[rows[ok]], f[rows[ok]] = Xt[ok], Ft[ok], ft[ok]
            moved[todo[ok]] = True
            todo = todo[~ok]
            alpha[todo] /= 2.0
            if not todo.size:
                break
        active = active[moved & (f[active] > ZERO_TOL)]
    return X, f <= ZERO_TOL


def distinct(X: np.ndarray) -> np.ndarray:
    """One row per connected component of "closer than MERGE_RADIUS" (the first of each)."""
    if not len(X):
        return X
    pairs = cKDTree(X).query_pairs(MERGE_RADIUS, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(X), len(X)))
    labels = connected_components(graph, directed=False)[1]
    return X[np.unique(labels, return_index=True)[1]]


def genuine(network: Network, system: System, X: np.ndarray) -> np.ndarray:
    """Which zeros X (k, dim) of float64 Newton are fixed points of the map, by the rule of the module
    docstring for ``network.cell`` (an LSTM's; any other cell's: inside (-1, 1)^dim, the GRU's)."""
    if network.cell != "lstm" or not len(X):
        return np.max(np.abs(X), axis=1, initial=0.0) < 1.0
    H = system.dim // 2
    f = np.diagonal(system.jacobian(X)[:, H:, H:], axis1=1, axis2=2)  # the forget gates: ∂c'/∂c = diag(f)
    F_c = system.residual(X)[:, H:]
    placed = (f < 1.0) & (np.abs(F_c) <= MERGE_RADIUS / 10 * (1.0 - f))  # |c - c*| = |F_c| / (1 - f)
    return (np.max(np.abs(X[:, :H]), axis=1) < 1.0) & np.all(placed, axis=1)


def ground_truth(prob: Problem) -> dict[str, np.ndarray]:
    """The distinct fixed points (x, index = #{|λ(Dg)| > 1}) that forward iteration and Newton reach
    from the problem's starts, and how many starts each reached."""
    ends, settled = forward_iterate(prob.system, prob.starts)
    attractors, ok = newton(prob.system, ends[settled])
    zeros, reached = newton(prob.system, prob.starts)
    X = distinct(np.concatenate([attractors[ok], zeros[reached]]))
    real = genuine(prob.network, prob.system, X)
    X = X[real]
    moduli = np.abs(np.linalg.eigvals(prob.system.jacobian(X))) if len(X) else np.zeros((0, prob.system.dim))
    return {"x": X, "index": np.sum(moduli > 1.0, axis=1), "n_settled": np.array(int(settled.sum())),
            "n_newton": np.array(int(reached.sum())), "n_attractor_ends": np.array(int(ok.sum())),
            "n_saturated_zeros": np.array(int((~real).sum()))}


def cached_truth(case: Case, prob: Problem) -> dict[str, np.ndarray]:
    """:func:`ground_truth`, cached under the problem's fingerprint."""
    path = CACHE_DIR / f"truth_{case.name}_{prob.fingerprint[:16]}_v{TRUTH_VERSION}.npz"
    if path.is_file():
        with np.load(path) as data:
            return dict(data)
    clock = time.process_time()
    truth = ground_truth(prob)
    truth["cpu_s"] = np.array(time.process_time() - clock)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, **truth)
    return truth


def compare(truth: dict[str, np.ndarray], points: Any, system: System) -> dict[str, Any]:
    """dynsys's fixed points against the truth (matched within MERGE_RADIUS)."""
    X = points.x[points.is_fixed]
    attractor = truth["index"] == 0
    if len(X) and len(truth["x"]):
        d_truth = cKDTree(X).query(truth["x"])[0]
        d_found = cKDTree(truth["x"]).query(X)[0]
    else:
        d_truth, d_found = np.full(len(truth["x"]), np.inf), np.full(len(X), np.inf)
    hit, extra = d_truth <= MERGE_RADIUS, d_found > MERGE_RADIUS
    return {
        "truth_attractors": int(attractor.sum()), "truth_saddles": int((~attractor).sum()),
        "found_attractors": int((hit & attractor).sum()), "found_saddles": int((hit & ~attractor).sum()),
        "extra_fixed": int(extra.sum()),
        "extra_max_F": float(np.max(np.linalg.norm(system.residual(X[extra]), axis=1), initial=0.0)),
        "n_fixed": len(X), "n_slow": int(points.is_slow.sum()),
    }


def run_case(case: Case, repeat: int, solver: str = "auto") -> dict[str, Any]:
    """The truth, then ``repeat`` timed runs of dynsys with ``solver`` (after one warm-up); the record of the case."""
    prob = problem(case.network, case.n_starts)
    truth = cached_truth(case, prob)
    find_fixed_points(prob.system, prob.starts[:8], solver=solver)  # warm-up
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        points = find_fixed_points(prob.system, prob.starts, solver=solver)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    stats = {k: points.stats.get(k) for k in ("n_unconverged", "n_escaped", "n_saturated", "n_slow",
                                              "iterations", "solver")}
    return {"case": case.name, "network": case.network.describe(), "n_starts": case.n_starts,
            "truth_cpu_s": float(truth["cpu_s"]), "truth_settled": int(truth["n_settled"]),
            "truth_saturated_zeros": int(truth["n_saturated_zeros"]),
            "truth_newton": int(truth["n_newton"]), "dynsys_cpu_s": statistics.median(cpu), "cpu_s_all": cpu,
            "dynsys_wall_s": statistics.median(wall), **compare(truth, points, prob.system), "stats": stats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a random GRU-16, 64 starts (seconds)")
    parser.add_argument("--cases", nargs="*", help="names of cases to run (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of dynsys per case (median)")
    parser.add_argument("--solver", default="auto", choices=["auto", "dense", "matrix-free"],
                        help="find_fixed_points' solver (default auto)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    cases = QUICK_CASES if args.quick else [c for c in CASES if not args.cases or c.name in args.cases]
    records = [run_case(case, 1 if args.quick else args.repeat, args.solver) for case in cases]
    headers = ["case", "dynsys CPU s", "attractors", "saddles", "extra", "slow", "unconverged", "saturated",
               "iterations", "truth CPU s"]
    rows = [[r["case"], f"{r['dynsys_cpu_s']:.2f}", f"{r['found_attractors']}/{r['truth_attractors']}",
             f"{r['found_saddles']}/{r['truth_saddles']}", r["extra_fixed"], r["n_slow"],
             r["stats"]["n_unconverged"], r["stats"]["n_saturated"], r["stats"]["iterations"],
             f"{r['truth_cpu_s']:.1f}"] for r in records]
    targets = [("PASS" if r["found_attractors"] == r["truth_attractors"] and r["found_saddles"] == r["truth_saddles"]
                else "FAIL", f"{r['case']}: every attractor and saddle of the truth found") for r in records]
    report("gated", args.quick, args.out, headers, rows, records, targets, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
