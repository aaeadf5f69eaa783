"""Interval arithmetic candidates for dynsys.intervals, measured (issue 17: "measure the candidates").

Times, in CPU seconds (time.process_time, median of --repeats runs, one BLAS thread):

* tanh and exp of 10^5 intervals;
* a 64 x 64 exact float matrix times an interval vector (the pre-activation of a 64-unit network), and
  times 1000 of them (flint: one arb_mat of 1000 columns, built from the floats inside the timing);

for numpy with outward rounding (dynsys.intervals, vectorised), mpmath's ``iv`` (one Python object per
interval; it has no tanh: 1 - 2 / (e^{2x} + 1) in its arithmetic, and is run once) and python-flint's ``arb`` (ball arithmetic in C, one Python object per ball; ``arb_mat`` for the
product), when installed.  Run: ``python benchmarks/bench_intervals.py [--n 100000] [--repeats 3]``.
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import mpmath
import numpy as np
from networks import cpu_median

from dynsys import intervals


def cpu(fn, repeats: int) -> float:
    """The median CPU seconds of ``repeats`` calls of ``fn`` (no warm-up: mpmath's calls take seconds)."""
    return cpu_median(fn, repeats, warm_up=False)[1]


def main(argv: list[str] | None = None) -> list[tuple[str, str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="intervals for tanh and exp")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    lo = rng.normal(size=args.n) * 3
    hi = lo + np.abs(rng.normal(size=args.n)) * 1e-3
    W = rng.normal(size=(64, 64)) / 8
    c = rng.normal(size=64)
    X = intervals.Interval(lo, hi)
    V = intervals.Interval(c - 1e-6, c + 1e-6)
    C = rng.normal(size=(1000, 64))
    Vs = intervals.Interval(C - 1e-6, C + 1e-6)
    rows: list[tuple[str, str, float]] = [
        ("numpy (dynsys.intervals)", "tanh", cpu(lambda: intervals.tanh(X), args.repeats)),
        ("numpy (dynsys.intervals)", "exp", cpu(lambda: intervals.exp(X), args.repeats)),
        ("numpy (dynsys.intervals)", "64x64 @ box", cpu(lambda: W @ V, args.repeats)),
        ("numpy (dynsys.intervals)", "64x64 @ 1000 boxes", cpu(lambda: Vs @ W.T, args.repeats)),
    ]
    iv = mpmath.iv
    iv.prec = 53
    boxes = [iv.mpf([a, b]) for a, b in zip(lo, hi)]
    Wiv = iv.matrix(W.tolist())
    Viv = iv.matrix([iv.mpf([a - 1e-6, a + 1e-6]) for a in c])
    rows += [
        ("mpmath.iv (53 bits)", "tanh", cpu(lambda: [1 - 2 / (iv.exp(2 * b) + 1) for b in boxes], 1)),
        ("mpmath.iv (53 bits)", "exp", cpu(lambda: [iv.exp(b) for b in boxes], 1)),
        ("mpmath.iv (53 bits)", "64x64 @ box", cpu(lambda: Wiv * Viv, args.repeats)),
    ]
    try:
        import flint
    except ImportError:
        print("python-flint not installed: its rows are left out")
    else:
        flint.ctx.prec = 53
        balls = [flint.arb(0.5 * (a + b), 0.5 * (b - a)) for a, b in zip(lo, hi)]
        Wm = flint.arb_mat(W.tolist())
        Vm = flint.arb_mat([[flint.arb(a, 1e-6)] for a in c])
        rows += [
            ("python-flint arb (53 bits)", "tanh", cpu(lambda: [b.tanh() for b in balls], args.repeats)),
            ("python-flint arb (53 bits)", "exp", cpu(lambda: [b.exp() for b in balls], args.repeats)),
            ("python-flint arb (53 bits)", "64x64 @ box", cpu(lambda: Wm * Vm, args.repeats)),
            ("python-flint arb (53 bits)", "64x64 @ 1000 boxes",
             cpu(lambda: Wm * flint.arb_mat([[flint.arb(v, 1e-6) for v in row] for row in C.T]), args.repeats)),
        ]
    print(f"{'library':28s} {'operation':20s} {'CPU s':>10s}   (n = {args.n} intervals for tanh/exp)")
    for lib, op, t in rows:
        print(f"{lib:28s} {op:20s} {t:10.2e}")
    return rows


if __name__ == "__main__":
    main()
