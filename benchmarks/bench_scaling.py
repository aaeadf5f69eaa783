"""How the cost of ``find_fixed_points`` grows with the number of starts B and the size n.

Two sweeps (``networks.py`` says how the networks and starts are made):

- against B: the tanh RNN of n = 256 units trained on the 3-bit flip-flop,
  B = 256, 512, ..., 8192 (``--quick``: the bundled n = 64 network,
  B = 64, ..., 1024); the starts of each B are the first B of one draw of
  the largest, so that a larger batch holds every smaller one;
- against n: random tanh RNNs with a planted 3-bit memory (about a dozen
  fixed points whatever n), n = 64, 128, ..., 1024 at B = 1024
  (``--quick``: n = 16, ..., 128 at B = 128).

Each point: wall time and CPU time of an untraced run, peak memory
(tracemalloc) of a separate run before it (which also warms caches up),
distinct fixed and slow points, iterations, solver and chunks; with
``--reference`` (needs torch), also the CPU time of the
FixedPointFinder-equivalent (``fpf_reference.py``, one thread) on the same
starts, run after dynsys, at every point with n <= REFERENCE_MAX_N = 256
(above, its 10,000 Adam iterations of (B, n) x (n, n) products take most of
an hour), and the speed-up (its CPU time over dynsys's).  Exponents are least-squares
slopes of log(time) and log(memory) against log(B) or log(n).  Against B,
the *saturated* range starts at the smallest B whose number of distinct
fixed points no larger batch exceeds; there the time per start is reported
and the issue's target checked: time at most linear in B, i.e. a fitted
exponent <= 1.1 (0.1 allowed for timing noise).  Prints tables, writes JSON
(``<out-dir>/scaling.json``, ``scaling_quick.json`` with ``--quick``) and a
log-log plot (``scaling.png`` / ``scaling_quick.png``; not with
``--no-plot``).

    python benchmarks/bench_scaling.py [--quick] [--solver {auto,dense,matrix-free}] [--max-memory BYTES]
        [--reference] [--out-dir DIR] [--no-plot]

On a shared or small machine, ``OPENBLAS_NUM_THREADS=1`` gives steadier
timings (the JSON records the setting with the machine).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from networks import (RESULTS_DIR, Network, flipflop_cell, format_table, machine, peak_memory, problem, random_cell,
                      wall_time, write_json)

from dynsys.fixed_points import find_fixed_points
from dynsys.systems import System

MAX_LINEAR_EXPONENT = 1.1  # "at most linear in B", with 0.1 for timing noise
REFERENCE_MAX_N = 256  # --reference runs the FixedPointFinder-equivalent up to this size
SWEEPS = {
    False: {"B_network": Network("rnn_tanh", 256, "trained"), "Bs": [256, 512, 1024, 2048, 4096, 8192],
            "ns": [64, 128, 256, 512, 1024], "n_B": 1024},
    True: {"B_network": Network("rnn_tanh", 64, "trained"), "Bs": [64, 128, 256, 512, 1024],
           "ns": [16, 32, 64, 128], "n_B": 128},
}


def measure(system: System, starts: np.ndarray, find_options: dict[str, Any], cell: Any = None) -> dict[str, Any]:
    """One point of a sweep: time, peak memory and what the search found; with ``cell``, the reference's CPU
    time on the same starts."""
    _, mb = peak_memory(find_fixed_points, system, starts, **find_options)
    cpu = time.process_time()
    points, seconds = wall_time(find_fixed_points, system, starts, **find_options)
    cpu = time.process_time() - cpu
    reference_cpu = None
    if cell is not None:
        from fpf_reference import find_fixed_points_reference

        reference_cpu = time.process_time()
        find_fixed_points_reference(cell, starts)
        reference_cpu = time.process_time() - reference_cpu
    stats = points.stats
    return {
        "B": len(starts),
        "n": system.dim,
        "time_s": seconds,
        "cpu_s": cpu,
        "reference_cpu_s": reference_cpu,
        "speedup_cpu": None if reference_cpu is None else reference_cpu / cpu,
        "peak_mb": mb,
        "time_per_start_ms": 1e3 * seconds / len(starts),
        "n_fixed": stats["n_fixed"],
        "n_slow": stats["n_slow"],
        "iterations": stats["iterations"],
        "solver": stats["solver"],
        "n_chunks": stats["n_chunks"],
    }


def sweep_B(network: Network, Bs: list[int], find_options: dict[str, Any], reference: bool = False
            ) -> dict[str, Any]:
    """Time and memory against B on ``network``, the starts of each B the first B of one draw."""
    prob = problem(network, max(Bs))
    cell = flipflop_cell(network.cell, network.n, network.bits) if reference and network.n <= REFERENCE_MAX_N else None
    rows = []
    for B in sorted(Bs):
        rows.append(measure(prob.system, prob.starts[:B], find_options, cell))
        _progress("B", rows[-1])
    counts = [r["n_fixed"] for r in rows]
    first = next(k for k in range(len(rows)) if counts[k] >= max(counts[k:]))
    saturated = rows[first:]
    return {
        "network": {**vars(network), "description": network.describe(), "system": prob.system.name},
        "starts": prob.how,
        "points": rows,
        "time_exponent": loglog_slope(rows, "B", "time_s"),
        "memory_exponent": loglog_slope(rows, "B", "peak_mb"),
        "reference_time_exponent": loglog_slope([r for r in rows if r["reference_cpu_s"]], "B", "reference_cpu_s"),
        "saturated_from_B": saturated[0]["B"],
        "time_exponent_saturated": loglog_slope(saturated, "B", "time_s"),
        "time_per_start_ms_saturated": float(np.median([r["time_per_start_ms"] for r in saturated])),
    }


def sweep_n(ns: list[int], B: int, find_options: dict[str, Any], reference: bool = False) -> dict[str, Any]:
    """Time and memory against n, random tanh RNNs with a planted memory, B starts each."""
    rows = []
    for n in sorted(ns):
        network = Network("rnn_tanh", n, "random")
        prob = problem(network, B)
        cell = random_cell(network, 0) if reference and n <= REFERENCE_MAX_N else None
        rows.append(measure(prob.system, prob.starts, find_options, cell))
        _progress("n", rows[-1])
    return {
        "network": {"cell": "rnn_tanh", "origin": "random", "description": Network("rnn_tanh", ns[0], "random").family},
        "starts": prob.how,
        "B": B,
        "points": rows,
        "time_exponent": loglog_slope(rows, "n", "time_s"),
        "memory_exponent": loglog_slope(rows, "n", "peak_mb"),
        "reference_time_exponent": loglog_slope([r for r in rows if r["reference_cpu_s"]], "n", "reference_cpu_s"),
    }


def loglog_slope(rows: list[dict[str, Any]], x: str, y: str) -> float | None:
    """The least-squares slope p of log y = p log x + c over ``rows`` (None for fewer than 2 points)."""
    if len(rows) < 2:
        return None
    return float(np.polyfit(np.log([r[x] for r in rows]), np.log([r[y] for r in rows]), 1)[0])


def _progress(what: str, row: dict[str, Any]) -> None:
    reference = "" if row["reference_cpu_s"] is None else f"  reference {row['reference_cpu_s']:.2f} s CPU"
    print(f"  {what}: n={row['n']} B={row['B']}  {row['time_s']:.2f} s  {row['peak_mb']:.0f} MB  "
          f"{row['n_fixed']} fixed, {row['n_slow']} slow{reference}", flush=True)


def check_target(against_B: dict[str, Any]) -> tuple[str, str]:
    """(PASS / FAIL / SKIP, what) for "time at most linear in B once the fixed points stop growing"."""
    p = against_B["time_exponent_saturated"]
    if p is None:
        return "SKIP", "time at most linear in B once distinct fixed points saturate (saturated at the largest B only)"
    return ("PASS" if p <= MAX_LINEAR_EXPONENT else "FAIL",
            f"time ~ B^{p:.2f} for B >= {against_B['saturated_from_B']} (fixed points saturated), "
            f"exponent <= {MAX_LINEAR_EXPONENT}")


def tables(against_B: dict[str, Any], against_n: dict[str, Any]) -> str:
    headers = ["n", "B", "time s", "CPU s", "ms/start", "peak MB", "fixed", "slow", "iterations", "solver/chunks",
               "ref CPU s", "speed-up CPU"]

    def rows(points: list[dict[str, Any]]) -> list[list[Any]]:
        return [[r["n"], r["B"], f"{r['time_s']:.2f}", f"{r['cpu_s']:.2f}", f"{r['time_per_start_ms']:.2f}",
                 f"{r['peak_mb']:.0f}", r["n_fixed"], r["n_slow"], r["iterations"], f"{r['solver']}/{r['n_chunks']}",
                 "-" if r["reference_cpu_s"] is None else f"{r['reference_cpu_s']:.2f}",
                 "-" if r["speedup_cpu"] is None else f"{r['speedup_cpu']:.2f}x"] for r in points]

    def reference(sweep: dict[str, Any], x: str) -> str:
        p = sweep["reference_time_exponent"]
        return "" if p is None else f"; reference CPU time ~ {x}^{p:.2f}"

    return "\n".join([
        f"against B: {against_B['network']['description']}",
        format_table(headers, rows(against_B["points"])),
        f"time ~ B^{against_B['time_exponent']:.2f}, memory ~ B^{against_B['memory_exponent']:.2f}; "
        f"from B = {against_B['saturated_from_B']} (fixed points saturated): time ~ B^"
        + ("-" if against_B["time_exponent_saturated"] is None else f"{against_B['time_exponent_saturated']:.2f}")
        + f", {against_B['time_per_start_ms_saturated']:.2f} ms per start" + reference(against_B, "B"),
        "",
        f"against n: {against_n['network']['description']}, B = {against_n['B']}",
        format_table(headers, rows(against_n["points"])),
        f"time ~ n^{against_n['time_exponent']:.2f}, memory ~ n^{against_n['memory_exponent']:.2f}"
        + reference(against_n, "n"),
    ])


def plot(against_B: dict[str, Any], against_n: dict[str, Any], path: Path) -> Path:
    """Log-log plot of time and memory against B and n, with the fitted power laws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, sweep, x in ((axes[0], against_B, "B"), (axes[1], against_n, "n")):
        xs = np.array([r[x] for r in sweep["points"]], dtype=float)
        for y, label, marker in (("time_s", "time (s)", "o"), ("peak_mb", "peak memory (MB)", "s")):
            ys = np.array([r[y] for r in sweep["points"]])
            p, c = np.polyfit(np.log(xs), np.log(ys), 1)
            ax.loglog(xs, ys, marker, label=f"{label} ~ {x}^{p:.2f}")
            ax.loglog(xs, np.exp(c) * xs**p, "--", color=ax.lines[-1].get_color(), lw=1)
        ax.set_xlabel(x)
        ax.legend()
    axes[0].set_title(f"against B ({against_B['network']['system']})")
    axes[1].set_title(f"against n (B = {against_n['B']})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sweeps (well under a minute)")
    parser.add_argument("--solver", choices=("auto", "dense", "matrix-free"), default="auto")
    parser.add_argument("--max-memory", type=float, help="find_fixed_points' max_memory in bytes (default its own)")
    parser.add_argument("--reference", action="store_true",
                        help="also time the FixedPointFinder-equivalent up to n = 256 (needs torch)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    args = parser.parse_args(argv)

    find_options: dict[str, Any] = {"solver": args.solver}
    if args.max_memory is not None:
        find_options["max_memory"] = args.max_memory
    sweep = SWEEPS[args.quick]
    against_B = sweep_B(sweep["B_network"], sweep["Bs"], find_options, args.reference)
    against_n = sweep_n(sweep["ns"], sweep["n_B"], find_options, args.reference)
    status, what = check_target(against_B)
    stem = "scaling_quick" if args.quick else "scaling"
    report = {"benchmark": "scaling", "quick": args.quick, "machine": machine(), "find_options": find_options,
              "against_B": against_B, "against_n": against_n, "targets": [{"status": status, "target": what}]}
    written = [write_json(args.out_dir / f"{stem}.json", report)]
    if not args.no_plot:
        written.append(plot(against_B, against_n, args.out_dir / f"{stem}.png"))
    print()
    print(tables(against_B, against_n))
    print()
    print(f"{status}  {what}")
    print("wrote " + " and ".join(map(str, written)))
    return report


if __name__ == "__main__":
    main()
