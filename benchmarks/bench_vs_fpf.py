"""dynsys against a FixedPointFinder-equivalent (``fpf_reference.py``), alternately in one process.

For each case, on the same network and starts (``networks.problem``):
dynsys's ``find_fixed_points(system, starts)`` (A) and the reference (B) run
alternately, A B A B ..., one thread each (OMP/OPENBLAS/MKL_NUM_THREADS=1 set
before numpy is imported; ``torch.set_num_threads(1)``), after one warm-up of
each; ``--repeat`` pairs (default 5).  Reported per case: CPU time
(``time.process_time``) and wall time medians of each, the speed-up
(reference ÷ dynsys CPU time) computed per same-run pair and then its median,
the points found by each (dynsys: fixed points, |F| <= 1e-10; reference: its
unique points after outlier removal, and those with q < 1e-12), the max q
(½|F|²) of each over those points, and how many of dynsys's fixed points the
reference found (a reference point within 1e-3).

Cases (``--cases`` picks some): tanh64_B1024, tanh64_B4096 (the bundled
trained tanh network), tanh256_B1024, tanh256_B4096, gru128_B1024 (trained,
cached in ``benchmarks/cache``; a case whose network is not cached is skipped
with a message, never trained here).  ``--quick``: tanh64_B64, one pair, at
most 200 reference iterations (a smoke test of seconds).

Needs torch (``pip install dynsys-toolkit[bench]``).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fpf_reference import DEFAULTS, find_fixed_points_reference
from networks import CACHE_DIR, RESULTS_DIR, Network, flipflop_cell, problem, report

from dynsys.fixed_points import find_fixed_points

MATCH = 1e-3  # a reference point within this distance of a dynsys fixed point found it


@dataclass(frozen=True)
class Case:
    name: str
    network: Network
    n_starts: int
    reference_options: dict[str, Any] = field(default_factory=dict)


CASES = (
    Case("tanh64_B1024", Network("rnn_tanh", 64, "trained"), 1024),
    Case("tanh64_B4096", Network("rnn_tanh", 64, "trained"), 4096),
    Case("tanh256_B1024", Network("rnn_tanh", 256, "trained"), 1024),
    Case("tanh256_B4096", Network("rnn_tanh", 256, "trained"), 4096),
    Case("gru128_B1024", Network("gru", 128, "trained"), 1024),
)
QUICK_CASES = (Case("tanh64_B64", Network("rnn_tanh", 64, "trained"), 64, {"max_iters": 200}),)


def cached(network: Network) -> bool:
    """Whether the trained network is bundled or in the cache (this script never trains one)."""
    return (network.cell, network.n) == ("rnn_tanh", 64) or (
        CACHE_DIR / f"flipflop_{network.cell}_{network.n}.npz").is_file()


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``fn(*args, **kwargs)``, its CPU time (process_time) and its wall time, in seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def run_case(case: Case, repeat: int) -> dict[str, Any]:
    """One warm-up of each, then ``repeat`` pairs A (dynsys) B (reference); the record of the case."""
    prob = problem(case.network, case.n_starts)
    cell = flipflop_cell(case.network.cell, case.network.n)
    dyn = lambda: find_fixed_points(prob.system, prob.starts)
    ref = lambda: find_fixed_points_reference(cell, prob.starts, **case.reference_options)
    dyn(), ref()  # warm-up
    pairs = []
    for _ in range(repeat):
        points, d_cpu, d_wall = timed(dyn)
        result, r_cpu, r_wall = timed(ref)
        pairs.append({"dynsys_cpu_s": d_cpu, "dynsys_wall_s": d_wall, "reference_cpu_s": r_cpu,
                      "reference_wall_s": r_wall, "speedup_cpu": r_cpu / d_cpu, "speedup_wall": r_wall / d_wall})
    fixed = points.fixed().x
    q_dyn = 0.5 * np.sum(prob.system.residual(fixed) ** 2, axis=1) if len(fixed) else np.zeros(0)
    ref_points, ref_q = result["points"], result["q"]
    ref_fixed = ref_points[ref_q < DEFAULTS["tol_q"]]
    found = sum(bool(len(ref_points)) and float(np.min(np.linalg.norm(ref_points - x, axis=1))) <= MATCH
                for x in fixed)
    med = {key: statistics.median(p[key] for p in pairs) for key in pairs[0]}
    return {
        "case": case.name, "network": case.network.describe(), "cell": case.network.cell, "n": case.network.n,
        "B": case.n_starts, "starts": prob.how, "fingerprint": prob.fingerprint, "repeat": repeat,
        "pairs": pairs, "median": med,
        "dynsys": {"n_fixed": len(fixed), "n_slow": len(points.slow()),
                   "max_q": float(q_dyn.max()) if len(q_dyn) else None,
                   "stats": {k: v for k, v in points.stats.items() if k != "time_s"}},
        "reference": {"n_unique": len(ref_points), "n_fixed": len(ref_fixed),
                      "max_q": float(ref_q.max()) if len(ref_q) else None, "iterations": result["iterations"],
                      "n_stopped": result["n_stopped"], "times": result["times"],
                      "options": result["options"]},
        "dynsys_fixed_found_by_reference": int(found),
    }


def _e(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one tiny case, one pair (seconds)")
    parser.add_argument("--cases", help="comma-separated case names (default: all of the mode)")
    parser.add_argument("--repeat", type=int, help="pairs after the warm-up (default 5; 1 with --quick)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    cases = QUICK_CASES if args.quick else CASES
    by_name = {c.name: c for c in cases}
    selected = args.cases.split(",") if args.cases else list(by_name)
    unknown = [name for name in selected if name not in by_name]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; cases: {', '.join(by_name)}")
    repeat = args.repeat or (1 if args.quick else 5)

    records, notes = [], []
    for name in selected:
        case = by_name[name]
        if not cached(case.network):
            notes.append(("SKIP", f"{name}: network not cached in {CACHE_DIR} (train it with networks.flipflop_cell)"))
            print(notes[-1][1], flush=True)
            continue
        records.append(run_case(case, repeat))
        m = records[-1]["median"]
        print(f"{name}: dynsys {m['dynsys_cpu_s']:.2f} s CPU, reference {m['reference_cpu_s']:.2f} s CPU, "
              f"speed-up {m['speedup_cpu']:.2f}x", flush=True)
    headers = ["case", "cell", "n", "B", "dynsys CPU s", "wall s", "ref CPU s", "wall s", "speed-up CPU", "wall",
               "dynsys fixed", "max q", "ref unique/fixed", "max q", "ref iters", "dynsys pts found by ref"]
    rows = [[r["case"], r["cell"], r["n"], r["B"], f"{r['median']['dynsys_cpu_s']:.2f}",
             f"{r['median']['dynsys_wall_s']:.2f}", f"{r['median']['reference_cpu_s']:.2f}",
             f"{r['median']['reference_wall_s']:.2f}", f"{r['median']['speedup_cpu']:.2f}x",
             f"{r['median']['speedup_wall']:.2f}x", r["dynsys"]["n_fixed"], _e(r["dynsys"]["max_q"]),
             f"{r['reference']['n_unique']}/{r['reference']['n_fixed']}", _e(r["reference"]["max_q"]),
             r["reference"]["iterations"], f"{r['dynsys_fixed_found_by_reference']}/{r['dynsys']['n_fixed']}"]
            for r in records]
    path = report("vs_fpf", args.quick, args.out_dir, headers, rows, records, notes, argv)
    print(f"wrote {path}")
    return records


if __name__ == "__main__":
    main()
