"""dynsys's fixed-point search against Adam on q, case by case, with the issue's targets.

Cases (``networks.py`` says how each network and its starts are made):

- tanh64_B1024, tanh64_B4096: tanh RNN, n = 64, trained (the bundled network);
- tanh256_B1024, tanh256_B4096: tanh RNN, n = 256, trained (cached);
- tanh1024_B1024, tanh1024_B4096: tanh RNN, n = 1024, random with a planted
  3-bit memory (numpy BPTT did not learn the task at this size in 10 minutes);
- gru128_B1024: GRU, n = 128, trained (cached);
- lstm128_B1024: LSTM, n = 128, random (``dynsys.tasks.train`` trains no LSTM);
- ctrnn1000_B1024: continuous-time RNN, n = 1000 (the paper's size), random
  with a planted 3-bit memory (training one would take too long);
- lorenz_B100000: the Lorenz system from a Latin hypercube of 100,000 starts.

``--quick`` runs small stand-ins instead (well under two minutes):
tanh64_B256 (trained), gru32_B256, lstm32_B256, ctrnn100_B256 (random) and
lorenz_B10000.

For each case, on the same starts:

- dynsys: ``find_fixed_points(system, starts, solver=..., max_memory=...)``;
  wall time of an untraced run, peak memory (tracemalloc) of a separate run
  before it (which also warms caches up), distinct fixed points
  (|F| <= 1e-10) and slow points, max |F| over the fixed points (recomputed
  from ``system.residual``), the search statistics;
- the baseline, Adam on q with FixedPointFinder's defaults
  (``adam_baseline.py``): wall time, peak memory of a traced run of its first
  20 iterations and its de-duplication (every iteration allocates the same),
  distinct points (FixedPointFinder's tol_unique 1e-3), fixed points among
  them (q <= 1e-12), max |F| over those (recomputed); and the ratio of the
  times.

The baseline spends ~25 min on tanh1024_B4096, so runs are resumable: each
case's record goes to ``<out-dir>/fixed_points/<case>.json`` as soon as it
is done; ``--cases`` runs a subset; ``--reuse-baseline`` takes a case's
baseline from an earlier record with the same fingerprint (sha256 of the
network's weights, the starts and the baseline's options) instead of
running it again; ``--no-baseline`` runs dynsys only (with
``--reuse-baseline``: reuses a baseline where there is one, runs none).  At the end the
summary ``<out-dir>/fixed_points.json`` (``fixed_points_quick.json`` with
``--quick``) gathers the records of every case of the mode found there,
prints them as a table and checks the targets, one PASS / FAIL / SKIP line
each:

- every case: at least as many distinct fixed points as the baseline, and
  every fixed point with |F| <= 1e-10;
- tanh64_B1024 and tanh1024_B4096: at least 20 times faster than the
  baseline, and tanh1024_B4096 with a peak memory under 2 GB (2000 MB);
- Lorenz: exactly its 3 fixed points, in under 5 s.

(The target that time grows at most linearly in B is checked by
``bench_scaling.py``.)  Usage::

    python benchmarks/bench_fixed_points.py [--quick] [--cases NAME[,NAME...]] [--no-baseline]
        [--reuse-baseline] [--solver {auto,dense,matrix-free}] [--max-memory BYTES] [--out-dir DIR]
    python benchmarks/bench_fixed_points.py [--quick] --profile [CASE]   # cProfile of dynsys on CASE (lorenz)

Trained networks missing from ``benchmarks/cache/`` are trained first
(``python -m dynsys.tasks.train``; minutes for n = 1024).  On a shared or small
machine, ``OPENBLAS_NUM_THREADS=1`` gives steadier timings (the JSON records
the setting with the machine); ``--quick`` then takes about half a minute.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from adam_baseline import DEFAULTS, adam_on_q
from networks import RESULTS_DIR, Network, Problem, format_table, machine, peak_memory, problem, wall_time, write_json

from dynsys.fixed_points import FixedPointSet, find_fixed_points

TOL = 1e-10  # |F| of a fixed point, dynsys's default and the target
MEMORY_ITERS = 20  # baseline iterations traced for its peak memory


@dataclass(frozen=True)
class Case:
    """A network, a number of starts and the targets that apply to it besides the general ones."""

    name: str
    network: Network
    n_starts: int
    min_speedup: float | None = None
    max_peak_mb: float | None = None
    max_time_s: float | None = None
    n_fixed: int | None = None


def _tanh(n: int, B: int, origin: str = "trained", **targets: float) -> Case:
    return Case(f"tanh{n}_B{B}", Network("rnn_tanh", n, origin), B, **targets)


LORENZ = Network("lorenz", 3, "model")
CASES = (
    _tanh(64, 1024, min_speedup=20),
    _tanh(64, 4096),
    _tanh(256, 1024),
    _tanh(256, 4096),
    _tanh(1024, 1024, "random"),  # numpy BPTT at n = 1024 did not learn the task in 10 minutes
    _tanh(1024, 4096, "random", min_speedup=20, max_peak_mb=2000),
    Case("gru128_B1024", Network("gru", 128, "trained"), 1024),
    Case("lstm128_B1024", Network("lstm", 128, "random"), 1024),
    Case("ctrnn1000_B1024", Network("continuous", 1000, "random"), 1024),
    Case("lorenz_B100000", LORENZ, 100_000, max_time_s=5, n_fixed=3),
)
QUICK_CASES = (
    _tanh(64, 256),
    Case("gru32_B256", Network("gru", 32, "random"), 256),
    Case("lstm32_B256", Network("lstm", 32, "random"), 256),
    Case("ctrnn100_B256", Network("continuous", 100, "random"), 256),
    Case("lorenz_B10000", LORENZ, 10_000, max_time_s=5, n_fixed=3),
)


def run_case(
    case: Case,
    *,
    find_options: dict[str, Any] | None = None,
    baseline: bool = True,
    earlier: Sequence[dict[str, Any]] = (),
    baseline_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run dynsys (and the baseline) on ``case``; the record that goes to JSON.

    Parameters
    ----------
    case : Case
    find_options : dict, optional
        Keywords of ``find_fixed_points`` (``solver``, ``max_memory``).
    baseline : bool
        Run the baseline when no record in ``earlier`` has its fingerprint.
    earlier : sequence of dict
        Records of earlier runs; the baseline of one with the same
        fingerprint is taken over (``reused_from`` names its case).
    baseline_options : dict, optional
        Overrides of the baseline's defaults (its fingerprint includes them).
    """
    find_options = dict(find_options or {})
    prob = problem(case.network, case.n_starts)
    _, dynsys_mb = peak_memory(find_fixed_points, prob.system, prob.starts, **find_options)
    points, dynsys_s = wall_time(find_fixed_points, prob.system, prob.starts, **find_options)
    base = run_baseline(prob, baseline_options, earlier, run=baseline)
    return {
        "case": case.name,
        "network": {**vars(case.network), "description": case.network.describe(), "system": prob.system.name,
                    "kind": prob.system.kind, "dim": prob.system.dim},
        "n_starts": len(prob.starts),
        "starts": prob.how,
        "find_options": find_options,
        "dynsys": _dynsys_record(prob, points, dynsys_s, dynsys_mb),
        "baseline": base,
        "speedup": base["time_autodiff_s"] / dynsys_s if base else None,
        "machine": machine(),
    }


def run_baseline(
    prob: Problem, baseline_options: dict[str, Any] | None = None, earlier: Sequence[dict[str, Any]] = (),
    run: bool = True,
) -> dict[str, Any] | None:
    """The baseline's record on ``prob``: taken from a record in ``earlier``
    with the same fingerprint, else (when ``run``) run and measured."""
    hp = {**DEFAULTS, **(baseline_options or {})}
    key = hashlib.sha256((prob.fingerprint + json.dumps(hp, sort_keys=True)).encode()).hexdigest()
    base = next(({**r["baseline"], "reused_from": r["case"]} for r in earlier
                 if r["baseline"] and r["baseline"]["fingerprint"] == key), None)
    if base is None and run:
        result, seconds = wall_time(adam_on_q, prob.system, prob.starts, **hp)
        short = {**hp, "max_iters": min(MEMORY_ITERS, hp["max_iters"])}
        _, mb = peak_memory(adam_on_q, prob.system, prob.starts, **short)
        base = _baseline_record(prob, result, seconds, mb, hp, key)
    return base


def _max_abs_F(prob: Problem, X: np.ndarray) -> float | None:
    """max |F(x)| over the rows of X, recomputed from the system (None when X is empty)."""
    return float(np.linalg.norm(prob.system.residual(X), axis=1).max()) if len(X) else None


def _dynsys_record(prob: Problem, points: FixedPointSet, seconds: float, mb: float) -> dict[str, Any]:
    fixed = points.fixed()
    index, count = np.unique(fixed.index, return_counts=True)
    return {
        "time_s": seconds,
        "peak_mb": mb,
        "n_fixed": len(fixed),
        "n_slow": len(points.slow()),
        "max_abs_F_fixed": _max_abs_F(prob, fixed.x),
        "fixed_by_index": dict(zip(index.tolist(), count.tolist())),
        "stats": {k: v for k, v in points.stats.items() if k != "time_s"},
    }


def _baseline_record(
    prob: Problem, result: dict[str, Any], seconds: float, mb: float, options: dict[str, Any], key: str
) -> dict[str, Any]:
    fixed = result["x"][result["q"] <= options["tol_q"]]
    return {
        "time_s": seconds,
        "time_autodiff_s": seconds - result["redundant_s"],
        "redundant_s": result["redundant_s"],
        "decompose_s": result["decompose_s"],
        "peak_mb": mb,
        "iterations": result["iterations"],
        "n_unique": result["n_unique"],
        "n_fixed": result["n_fixed"],
        "max_q_fixed": result["max_q_fixed"],
        "max_abs_F_fixed": _max_abs_F(prob, fixed),
        "options": options,
        "fingerprint": key,
        "reused_from": None,
    }


def check_targets(records: list[dict[str, Any]], cases: tuple[Case, ...]) -> list[tuple[str, str]]:
    """(PASS / FAIL / SKIP, what) for each target of the issue that applies to ``records``."""
    by_name = {c.name: c for c in cases}
    lines = []
    for r in records:
        case, ours, base = by_name[r["case"]], r["dynsys"], r["baseline"]
        name = r["case"]
        if base is None:
            lines.append(("SKIP", f"{name}: distinct fixed points >= baseline's (no baseline run)"))
        else:
            lines.append((_verdict(ours["n_fixed"] >= base["n_fixed"]),
                          f"{name}: {ours['n_fixed']} distinct fixed points >= baseline's {base['n_fixed']}"))
        worst = ours["max_abs_F_fixed"]
        lines.append((_verdict(worst is None or worst <= TOL),
                      f"{name}: max |F| over fixed points {_e(worst)} <= {TOL:.0e}"))
        if case.min_speedup is not None:
            lines.append(("SKIP", f"{name}: speed-up >= {case.min_speedup:g}x (no baseline run)") if base is None else
                         (_verdict(r["speedup"] >= case.min_speedup),
                          f"{name}: speed-up {r['speedup']:.1f}x >= {case.min_speedup:g}x"))
        if case.max_peak_mb is not None:
            lines.append((_verdict(ours["peak_mb"] < case.max_peak_mb),
                          f"{name}: dynsys peak memory {ours['peak_mb']:.0f} MB < {case.max_peak_mb:g} MB"))
        if case.max_time_s is not None:
            lines.append((_verdict(ours["n_fixed"] == case.n_fixed and ours["time_s"] < case.max_time_s),
                          f"{name}: {ours['n_fixed']} fixed points (all {case.n_fixed}) in {ours['time_s']:.2f} s "
                          f"< {case.max_time_s:g} s"))
    missing = [c.name for c in cases if c.name not in {r["case"] for r in records}]
    lines += [("SKIP", f"{name}: not run") for name in missing]
    return lines


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _e(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def table(records: list[dict[str, Any]]) -> str:
    """The records as a text table."""
    headers = ["case", "network", "n", "B", "dynsys s", "MB", "fixed", "slow", "max|F|", "solver",
               "Adam s", "MB", "fixed/distinct", "max|F|", "speed-up"]
    rows = []
    for r in records:
        ours, base, stats = r["dynsys"], r["baseline"], r["dynsys"]["stats"]
        solver = f"{stats['solver']}/{stats['n_chunks']}"
        rows.append([
            r["case"], r["network"]["origin"], r["network"]["n"], r["n_starts"], f"{ours['time_s']:.2f}",
            f"{ours['peak_mb']:.0f}", ours["n_fixed"], ours["n_slow"], _e(ours["max_abs_F_fixed"]), solver,
            *(["-"] * 5 if base is None else [
                f"{base['time_s']:.1f}" + ("*" if base["reused_from"] else ""), f"{base['peak_mb']:.0f}",
                f"{base['n_fixed']}/{base['n_unique']}", _e(base["max_abs_F_fixed"]), f"{r['speedup']:.1f}x"]),
        ])
    return format_table(headers, rows)


def profile(case: Case, find_options: dict[str, Any]) -> None:
    """Print the top of a cProfile of dynsys on ``case``."""
    prob = problem(case.network, case.n_starts)
    profiler = cProfile.Profile()
    profiler.runcall(find_fixed_points, prob.system, prob.starts, **find_options)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small stand-in cases (< 2 min in all)")
    parser.add_argument("--cases", help="comma-separated case names (default: all of the mode)")
    parser.add_argument("--no-baseline", action="store_true", help="run dynsys only")
    parser.add_argument("--summary", action="store_true",
                        help="run nothing: gather the records found in <out-dir>, taking each case's baseline "
                             "from <out-dir>/baselines/ where the record has none, and check the targets")
    parser.add_argument("--baseline-only", action="store_true",
                        help="run the baseline only, into <out-dir>/baselines/ (for --reuse-baseline later)")
    parser.add_argument("--reuse-baseline", action="store_true",
                        help="take the baseline from an earlier record with the same fingerprint when there is one")
    parser.add_argument("--solver", choices=("auto", "dense", "matrix-free"), default="auto")
    parser.add_argument("--max-memory", type=float, help="find_fixed_points' max_memory in bytes (default its own)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--profile", nargs="?", const="lorenz", metavar="CASE",
                        help="only print a cProfile of dynsys on CASE (default the Lorenz case)")
    args = parser.parse_args(argv)

    cases = QUICK_CASES if args.quick else CASES
    by_name = {c.name: c for c in cases}
    find_options: dict[str, Any] = {"solver": args.solver}
    if args.max_memory is not None:
        find_options["max_memory"] = args.max_memory
    if args.profile:
        name = next((c for c in by_name if c.startswith(args.profile)), None)
        if name is None:
            parser.error(f"--profile: no case {args.profile!r}; cases: {', '.join(by_name)}")
        profile(by_name[name], find_options)
        return []
    selected = args.cases.split(",") if args.cases else list(by_name)
    unknown = [name for name in selected if name not in by_name]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; cases{' (--quick)' if args.quick else ''}: "
                     f"{', '.join(by_name)}")

    folder, baselines = args.out_dir / "fixed_points", args.out_dir / "baselines"
    if args.baseline_only:
        for name in selected:
            base = run_baseline(problem(by_name[name].network, by_name[name].n_starts))
            write_json(baselines / f"{name}.json", {"case": name, "baseline": base, "machine": machine()})
            print(f"{name}: baseline {base['time_s']:.1f} s, {base['n_fixed']} fixed", flush=True)
        return []
    for name in [] if args.summary else selected:
        earlier = _records(folder) + _records(baselines) if args.reuse_baseline else []
        record = run_case(by_name[name], find_options=find_options, baseline=not args.no_baseline, earlier=earlier)
        write_json(folder / f"{name}.json", record)
        print(f"{name}: dynsys {record['dynsys']['time_s']:.2f} s, {record['dynsys']['n_fixed']} fixed"
              + (f"; baseline {record['baseline']['time_s']:.1f} s, {record['baseline']['n_fixed']} fixed"
                 if record["baseline"] else "") + f"  -> {folder / (name + '.json')}", flush=True)

    records = [_with_baseline(r, _records(baselines)) for r in _records(folder) if r["case"] in by_name]
    records.sort(key=lambda r: list(by_name).index(r["case"]))
    targets = check_targets(records, cases)
    summary = args.out_dir / ("fixed_points_quick.json" if args.quick else "fixed_points.json")
    write_json(summary, {"benchmark": "fixed_points", "quick": args.quick, "machine": machine(),
                         "cases": records, "targets": [{"status": s, "target": t} for s, t in targets]})
    print()
    print(table(records))
    print("(* baseline taken from an earlier record; solver: dynsys's solver / number of chunks)")
    print()
    print("\n".join(f"{status}  {what}" for status, what in targets))
    print(f"wrote {summary}")
    return targets


def _with_baseline(record: dict[str, Any], baselines: list[dict[str, Any]]) -> dict[str, Any]:
    """``record``, with the baseline run by ``--baseline-only`` for its case when it has none (a case's
    network and starts are seeded, so the same case name is the same search)."""
    if record["baseline"] is not None:
        return record
    base = next(({**b["baseline"], "reused_from": b["case"]} for b in baselines if b["case"] == record["case"]), None)
    return record if base is None else {**record, "baseline": base,
                                        "speedup": base["time_autodiff_s"] / record["dynsys"]["time_s"]}


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


if __name__ == "__main__":
    main()
