"""Wall time and accuracy of batched integration: rk4 against solve_ivp.

For four flows and batch sizes B, integrate B random starts with
``simulate`` by "auto", rk4 (default step), RK45, DOP853 and LSODA
(default tolerances), and compare the states at t1 with a reference:
DOP853 with rtol = 1e-10, atol = 1e-12, or the exact solution
x(t) = (x0 - tanh t) / (1 - x0 tanh t) of the Riccati equation
dx/dt = x^2 - 1, whose rows with x0 tanh(t1) >= 1 blow up before t1 (the
case of diverging rows).  The error is the largest |x(t1) - reference|
over the rows that did not diverge; ``wrong_flags`` counts rows whose
divergence flag disagrees with the reference.  Prints a
table and writes JSON.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_simulate.py [--quick] [--out PATH]

(one BLAS thread gives steadier timings on a shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import sympy as sp

from dynsys.simulate import simulate
from dynsys.systems import System

METHODS = ("auto", "rk4", "RK45", "DOP853", "LSODA")


def lorenz() -> System:
    try:
        from dynsys.models import lorenz as model

        return model()
    except ImportError:
        x, y, z = sp.symbols("x y z", real=True)
        s, r, b = sp.symbols("sigma rho beta", real=True)
        return System.from_sympy(
            [s * (y - x), x * (r - z) - y, x * y - b * z], [x, y, z], {s: 10.0, r: 28.0, b: 8 / 3}, name="lorenz"
        )


def duffing() -> System:
    x, v = sp.symbols("x v", real=True)
    return System.from_sympy([v, -0.25 * v + x - x**3], [x, v], name="duffing")


def tanh_network(n: int = 50, gain: float = 1.5) -> System:
    """dx/dt = -x + W tanh(x), W with N(0, gain^2/n) entries (chaotic for gain > 1)."""
    W = gain / np.sqrt(n) * np.random.default_rng(1).standard_normal((n, n))

    def f(X: np.ndarray) -> np.ndarray:
        return -X + np.tanh(X) @ W.T

    def jac(X: np.ndarray) -> np.ndarray:
        return W * (1.0 - np.tanh(X) ** 2)[:, None, :] - np.eye(n)

    return System.from_callable(f, n, jac, vectorized=True, name=f"tanh{n}")


def riccati() -> System:
    x = sp.Symbol("x", real=True)
    return System.from_sympy([x**2 - 1], [x], name="riccati")


def riccati_exact(X0: np.ndarray, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """x(t1) and the blow-up flags of dx/dt = x^2 - 1."""
    th = np.tanh(t1)
    return (X0 - th) / (1 - X0 * th), (X0 * th >= 1)[:, 0]


def dop853(system: System, X0: np.ndarray, t1: float) -> tuple[np.ndarray, np.ndarray]:
    ref = simulate(system, X0, (0.0, t1), method="DOP853", rtol=1e-10, atol=1e-12, n_points=2)
    return ref.final, ref.diverged


# system, box of starts (per coordinate), t_span, reference
CASES = {
    "lorenz": (lorenz, [(-20, 20), (-25, 25), (0, 50)], (0.0, 5.0), dop853),
    "duffing": (duffing, [(-2, 2), (-2, 2)], (0.0, 20.0), dop853),
    "tanh50": (tanh_network, [(-2, 2)] * 50, (0.0, 20.0), dop853),
    "riccati": (riccati, [(-2, 2)], (0.0, 10.0), lambda system, X0, t1: riccati_exact(X0, t1)),
}


def run(batches: list[int], repeats: int) -> list[dict]:
    rows = []
    for name, (make, box, t_span, reference) in CASES.items():
        system = make()
        lo, hi = np.array(box, dtype=float).T
        for B in batches:
            X0 = lo + (hi - lo) * np.random.default_rng(B).random((B, len(box)))
            ref, ref_diverged = reference(system, X0, t_span[1])
            scale = float(np.max(np.abs(ref[~ref_diverged]), initial=0.0))
            for method in METHODS:
                times: list[float] = []
                while len(times) < repeats and sum(times) < 2.0:  # one run is enough for slow cases
                    start = time.perf_counter()
                    tr = simulate(system, X0, t_span, method=method)
                    times.append(time.perf_counter() - start)
                ok = ~(tr.diverged | ref_diverged)
                err = float(np.max(np.abs(tr.final[ok] - ref[ok]), initial=0.0))
                wrong = int(np.sum(tr.diverged != ref_diverged))
                rows.append(dict(system=name, dim=system.dim, B=B, t_span=t_span, method=method, used=tr.method,
                                 seconds=min(times), max_abs_error=err, state_scale=scale,
                                 diverged=int(tr.diverged.sum()), wrong_flags=wrong))
                print(f"{name:8s} {B:5d} {method:6s} {tr.method:6s} {min(times):9.4f} s  {err:9.2e}  {scale:8.3g}  "
                      f"{int(tr.diverged.sum()):4d} {wrong:4d}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches, one repeat")
    parser.add_argument("--out", default=os.path.join("benchmarks", "results", "simulate.json"))
    args = parser.parse_args()
    batches, repeats = ([1, 20], 1) if args.quick else ([1, 100, 1000], 3)
    print(f"{'system':8s} {'B':>5s} {'method':6s} {'used':6s} {'time':>11s}  {'error t1':>9s}  {'max |x|':>8s}  {'div':>4s} {'bad':>4s}")
    rows = run(batches, repeats)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(dict(machine=platform.platform(), cpus=os.cpu_count(), quick=args.quick, rows=rows), fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
