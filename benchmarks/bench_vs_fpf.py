"""dynsys against a FixedPointFinder-equivalent (``fpf_reference.py``), alternately in one process.

For each case, on the same network and starts (``networks.problem``):
dynsys's ``find_fixed_points(system, starts, solver=S, blas_threads=T)``
for each solver S of ``--solvers`` (A1, A2, ...) and the reference on T
torch threads (B) run in rounds, A1 A2 ... B, A1 A2 ... B, ..., after one
warm-up of each; ``--repeat`` rounds (default 5), for each thread count T
of ``--blas-threads`` (default 1).  Reported per case and T: CPU time
(``time.process_time``) and wall time medians of each, the speed-up
(reference ÷ dynsys CPU time) computed per round and then its median, the
points found by each (dynsys: fixed points, |F| <= 1e-10; reference: its
unique points after outlier removal, and those with q < 1e-12), the max q
(½|F|²) of each over those points, and how many of dynsys's fixed points the
reference found (a reference point within 1e-3).  With ``--memory``, each
runs once more in a fresh process of its own (this script with
``--rss-child``), which first runs it on RSS_WARM_UP_STARTS = 4 starts (the
libraries' one-time set-up: torch's kernels and thread pools), then builds
the problem and records the peak resident memory of the full call (VmHWM,
after resetting it to the current size through /proc/self/clear_refs) above
what the process held before it: what the call itself needed, torch's
allocations counted as much as numpy's, and no memory kept from an earlier
full run (torch's caching allocator would hide it).

Cases (``--cases`` picks some): tanh64_B1024, tanh64_B4096 (the bundled
trained tanh network), tanh256_B1024, tanh256_B4096, gru128_B1024 (trained,
cached in ``benchmarks/cache``; a case whose network is not cached is skipped
with a message, never trained here), gru64_4bit_B1024 (a GRU trained on the
4-bit flip-flop; ``bench_gated.py`` checks its points against a ground truth),
lstm64_B1024 and lstm64_4bit_B1024 (LSTMs of 64 units, states (h, c) of
128, trained on the 3- and 4-bit flip-flops by ``train_torch.py``; ground
truths in ``bench_gated.py`` too),
and random1024_B1024 (a random tanh
network h' = tanh(W h), W = g G / sqrt(n), g = 1.2, n = 1024, starts the
states of 64 of its trajectories plus N(0, 0.5²) noise: dynsys only, the
reference's 10,000 Adam iterations would take about an hour here).
``--quick``: tanh64_B64, one round, at most 200 reference iterations (a
smoke test of seconds).

Needs torch (``pip install dynsys-toolkit[bench]``).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from fpf_reference import DEFAULTS, find_fixed_points_reference
from networks import CACHE_DIR, NOISE, RESULTS_DIR, Network, Problem, cache_path, flipflop_cell, problem, report

from dynsys import rnn
from dynsys.fixed_points import find_fixed_points
from dynsys.simulate import sample_states, simulate

MATCH = 1e-3  # a reference point within this distance of a dynsys fixed point found it
RSS_WARM_UP_STARTS = 4  # a run this small first sets the libraries up, so that --memory counts the call's own memory


@dataclass(frozen=True)
class Case:
    name: str
    network: Network | None  # None: the random n = 1024 network (:func:`random_1024`)
    n_starts: int
    reference_options: dict[str, Any] = field(default_factory=dict)

    @property
    def has_reference(self) -> bool:
        return self.network is not None


CASES = (
    Case("tanh64_B1024", Network("rnn_tanh", 64, "trained"), 1024),
    Case("tanh64_B4096", Network("rnn_tanh", 64, "trained"), 4096),
    Case("tanh256_B1024", Network("rnn_tanh", 256, "trained"), 1024),
    Case("tanh256_B4096", Network("rnn_tanh", 256, "trained"), 4096),
    Case("gru128_B1024", Network("gru", 128, "trained"), 1024),
    Case("gru64_4bit_B1024", Network("gru", 64, "trained", bits=4), 1024),
    Case("lstm64_B1024", Network("lstm", 64, "trained"), 1024),  # H = 64, state (h, c) of 128; train_torch.py
    Case("lstm64_4bit_B1024", Network("lstm", 64, "trained", bits=4), 1024),
    Case("random1024_B1024", None, 1024),
)
QUICK_CASES = (Case("tanh64_B64", Network("rnn_tanh", 64, "trained"), 64, {"max_iters": 200}),)


def random_1024(n_starts: int, n: int = 1024, gain: float = 1.2, seed: int = 0) -> tuple[Problem, Any]:
    """The random tanh network of the module docstring and its starts (seeded), and its cell."""
    rng = np.random.default_rng(seed)
    W = gain / np.sqrt(n) * rng.standard_normal((n, n))
    cell = rnn.from_state_dict({"weight_ih_l0": np.zeros((n, 3)), "weight_hh_l0": W}, "rnn_tanh")
    system = cell.system()
    states = simulate(system, rng.standard_normal((64, n)), steps=100)
    starts = sample_states(states, n_starts, noise=NOISE, seed=seed + 1)
    how = f"states of 64 trajectories from N(0, I) + N(0, {NOISE}^2) noise"
    return Problem(Network("rnn_tanh", n, "random"), system, starts, how, f"random tanh g={gain} seed={seed}"), cell


def cached(network: Network | None) -> bool:
    """Whether the network is built here, bundled or in the cache (this script never trains one)."""
    return network is None or (network.cell, network.n) == ("rnn_tanh", 64) or cache_path(
        network.cell, network.n, network.bits).is_file()


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``fn()``, its CPU time (process_time) and its wall time, in seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def peak_rss(fn: Callable[[], Any]) -> float | None:
    """The peak resident memory of ``fn()`` above the process's resident memory before it, in MB; None off
    Linux.  Writing 5 to /proc/self/clear_refs resets the peak (VmHWM) to the current resident size."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
        fn()
        return (_status_kb("VmHWM") - before) / 1e3
    except OSError:
        return None


def peak_rss_fresh(case: str, variant: str, threads: int, quick: bool) -> float | None:
    """:func:`peak_rss` of one run of ``variant`` (a solver or "reference") on ``case``, in a fresh process."""
    command = [sys.executable, __file__, "--rss-child", case, variant, str(threads)] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=Path(__file__).parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def variants_of(case: Case, solvers: list[str], threads: int) -> tuple[Problem, dict[str, Callable[[], Any]]]:
    """The problem of ``case`` and a call of dynsys with each solver and of the reference on it."""
    if case.network is None:
        prob, cell = random_1024(case.n_starts)
    else:
        prob, cell = problem(case.network, case.n_starts), flipflop_cell(case.network.cell, case.network.n,
                                                                       case.network.bits)
    variants: dict[str, Callable[[], Any]] = {
        solver: (lambda solver=solver: find_fixed_points(prob.system, prob.starts, solver=solver,
                                                          blas_threads=threads))
        for solver in solvers}
    if case.has_reference:
        variants["reference"] = lambda: find_fixed_points_reference(
            cell, prob.starts, threads=threads, **case.reference_options)
    return prob, variants


def run_case(case: Case, repeat: int, solvers: list[str], threads: int, memory: bool, quick: bool
             ) -> dict[str, Any]:
    """One warm-up of each, then ``repeat`` rounds (dynsys with each solver, then the reference); the record."""
    prob, variants = variants_of(case, solvers, threads)
    results = {name: fn() for name, fn in variants.items()}  # warm-up
    rounds = []
    for _ in range(repeat):
        row = {}
        for name, fn in variants.items():
            results[name], row[f"{name}_cpu_s"], row[f"{name}_wall_s"] = timed(fn)
        for solver in solvers if case.has_reference else ():
            row[f"{solver}_speedup_cpu"] = row["reference_cpu_s"] / row[f"{solver}_cpu_s"]
            row[f"{solver}_speedup_wall"] = row["reference_wall_s"] / row[f"{solver}_wall_s"]
        rounds.append(row)
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    span = {key: [min(r[key] for r in rounds), max(r[key] for r in rounds)] for key in rounds[0]}
    record: dict[str, Any] = {
        "case": case.name, "network": prob.network.describe() if case.network else
        "random tanh RNN, W = 1.2 G / sqrt(n), n = 1024", "cell": prob.network.cell, "n": prob.network.n,
        "B": case.n_starts, "starts": prob.how, "fingerprint": prob.fingerprint, "repeat": repeat,
        "blas_threads": threads, "solvers": solvers, "rounds": rounds, "median": med, "range": span,
        "peak_rss_mb": {name: peak_rss_fresh(case.name, name, threads, quick) for name in variants} if memory
        else None,
    }
    ref = results.get("reference")
    for solver in solvers:
        points = results[solver]
        fixed = points.fixed().x
        q = 0.5 * np.sum(prob.system.residual(fixed) ** 2, axis=1) if len(fixed) else np.zeros(0)
        record[solver] = {"n_fixed": len(fixed), "n_slow": len(points.slow()),
                          "max_q": float(q.max()) if len(q) else None,
                          "index": np.bincount(points.index[points.is_fixed]).tolist() if len(fixed) else [],
                          "stats": {k: v for k, v in points.stats.items() if k != "time_s"}}
        if ref is not None:
            record[solver]["found_by_reference"] = int(sum(
                bool(len(ref["points"])) and float(np.min(np.linalg.norm(ref["points"] - x, axis=1))) <= MATCH
                for x in fixed))
    if ref is not None:
        record["reference"] = {
            "n_unique": len(ref["points"]), "n_fixed": int(np.sum(ref["q"] < DEFAULTS["tol_q"])),
            "max_q": float(ref["q"].max()) if len(ref["q"]) else None, "iterations": ref["iterations"],
            "n_stopped": ref["n_stopped"], "times": ref["times"], "options": ref["options"]}
    return record


def _e(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def table_rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per case, thread count and dynsys solver."""
    rows = []
    for r in records:
        m, ref = r["median"], r.get("reference")
        for solver in r["solvers"]:
            d = r[solver]
            speed = (f"{m[f'{solver}_speedup_cpu']:.2f}x [{r['range'][f'{solver}_speedup_cpu'][0]:.2f}-"
                     f"{r['range'][f'{solver}_speedup_cpu'][1]:.2f}]" if ref else "-")
            mem = r["peak_rss_mb"] or {}
            rows.append([
                r["case"], r["blas_threads"], solver, f"{m[f'{solver}_cpu_s']:.3f}", f"{m[f'{solver}_wall_s']:.3f}",
                f"{m['reference_cpu_s']:.3f}" if ref else "-", f"{m['reference_wall_s']:.3f}" if ref else "-", speed,
                f"{d['n_fixed']} {d['index']}", _e(d["max_q"]), d["n_slow"], d["stats"].get("n_unconverged"),
                f"{ref['n_unique']}/{ref['n_fixed']}" if ref else "-", _e(ref["max_q"]) if ref else "-",
                ref["iterations"] if ref else "-", f"{d['found_by_reference']}/{d['n_fixed']}" if ref else "-",
                "/".join("-" if mem.get(k) is None else f"{mem[k]:.0f}" for k in (solver, "reference")) if mem else "-",
            ])
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one tiny case, one round (seconds)")
    parser.add_argument("--cases", help="comma-separated case names (default: all of the mode)")
    parser.add_argument("--repeat", type=int, help="rounds after the warm-up (default 5; 1 with --quick)")
    parser.add_argument("--solvers", default="auto", help="dynsys solvers, comma-separated (default auto)")
    parser.add_argument("--blas-threads", default="1", help="thread counts, comma-separated (default 1)")
    parser.add_argument("--memory", action="store_true", help="also measure each one's peak resident memory")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--rss-child", nargs=3, metavar=("CASE", "VARIANT", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = QUICK_CASES if args.quick else CASES
    by_name = {c.name: c for c in cases}
    if args.rss_child:  # one run in this fresh process, for peak_rss_fresh: print its peak memory
        name, variant, threads = args.rss_child
        case = by_name[name]
        small = Case(case.name, case.network, RSS_WARM_UP_STARTS, {**case.reference_options, "max_iters": 2})
        _, warm_up = variants_of(small, [] if variant == "reference" else [variant], int(threads))
        warm_up[variant]()  # the libraries' one-time set-up (torch's kernels, thread pools), not counted
        _, variants = variants_of(case, [] if variant == "reference" else [variant], int(threads))
        print(json.dumps(peak_rss(variants[variant])))
        return []
    selected = args.cases.split(",") if args.cases else list(by_name)
    unknown = [name for name in selected if name not in by_name]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; cases: {', '.join(by_name)}")
    solvers = args.solvers.split(",")
    if not set(solvers) <= {"auto", "dense", "matrix-free"}:
        parser.error(f"--solvers: auto, dense or matrix-free, got {args.solvers}")
    try:
        threads = [int(t) for t in args.blas_threads.split(",")]
    except ValueError:
        parser.error(f"--blas-threads: comma-separated integers, got {args.blas_threads}")
    repeat = args.repeat or (1 if args.quick else 5)

    records, notes = [], []
    for name in selected:
        case = by_name[name]
        if not cached(case.network):
            notes.append(("SKIP", f"{name}: network not cached in {CACHE_DIR} (train it with networks.flipflop_cell)"))
            print(notes[-1][1], flush=True)
            continue
        for t in threads:
            records.append(run_case(case, repeat, solvers, t, args.memory, args.quick))
            m = records[-1]["median"]
            print(f"{name}, {t} thread(s): " + ", ".join(f"{s} {m[f'{s}_cpu_s']:.3f} s CPU" for s in solvers)
                  + (f", reference {m['reference_cpu_s']:.3f} s CPU" if case.has_reference else ""), flush=True)
    headers = ["case", "threads", "solver", "dynsys CPU s", "wall s", "ref CPU s", "wall s",
               "speed-up CPU, median [range]", "dynsys fixed [by index]", "max q", "slow", "unconverged",
               "ref unique/fixed", "max q", "ref iters", "dynsys pts found by ref", "peak RSS MB dynsys/ref"]
    path = report("vs_fpf", args.quick, args.out_dir, headers, table_rows(records), records, notes, argv)
    print(f"wrote {path}")
    return records


if __name__ == "__main__":
    main()
