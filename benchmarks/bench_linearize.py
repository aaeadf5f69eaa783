"""CPU time of ``linearize_batch`` per fixed point, in this checkout and another one, alternately.

``find_fixed_points`` linearises every distinct point it finds
(:func:`dynsys.linearize.linearize_batch`: eigenvalues, eigenvectors,
condition numbers, E^s/E^u/E^c bases, labels).  This times that step alone
on the fixed points of the trained flip-flop tanh networks (n = 64, the
bundled :func:`dynsys.rnn.load_flipflop`, and n = 256, cached by
``networks.flipflop_cell``; starts as ``networks.problem(network, 1024)``,
27 points each), which this checkout's ``find_fixed_points`` finds once and
saves for both checkouts.

Each measurement is a subprocess with ``PYTHONPATH`` set to one checkout and
one BLAS thread: a warm-up call, then ``--calls`` timed calls of
``linearize_batch(system, X)``, CPU time (``time.process_time``); the
checkouts alternate (A B B A A B ...) for ``--repeats`` rounds, and the
table gives the median over all calls, per point.  With ``--before`` the
labels, dimensions (dim E^s, dim E^u, dim E^c) and eigenvalues of both
checkouts are compared too.  A checkout of another commit, e.g. main before
a change:

    git archive <commit> dynsys | tar -x -C /tmp/before
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_linearize.py --before /tmp/before

``--quick`` (seconds: n = 64 only, 256 starts, one round of one call) is the
smoke mode for CI.  Prints a table and writes
``benchmarks/results/linearize[_quick].json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from networks import BENCH_DIR, RESULTS_DIR, Network, flipflop_cell, problem, report

NETWORKS = {False: (Network("rnn_tanh", 64, "trained"), Network("rnn_tanh", 256, "trained")),
            True: (Network("rnn_tanh", 64, "trained"),)}
N_STARTS = {False: 1024, True: 256}
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def fixed_points(network: Network, n_starts: int) -> np.ndarray:
    """The fixed points (k, n) that this checkout's ``find_fixed_points`` finds from ``problem(network, n_starts)``."""
    from dynsys import find_fixed_points

    prob = problem(network, n_starts)
    return np.asarray(find_fixed_points(prob.system, prob.starts).x)


def measure(points: Path, cell: str, n: int, calls: int) -> dict[str, Any]:
    """In the worker: CPU seconds of ``calls`` calls of ``linearize_batch`` at the saved points (after a
    warm-up call), and the labels, dimensions and eigenvalues the last call gave."""
    from dynsys.linearize import linearize_batch

    system = flipflop_cell(cell, n).system()
    X = np.load(points)
    lins = linearize_batch(system, X)
    seconds = []
    for _ in range(calls):
        start = time.process_time()
        lins = linearize_batch(system, X)
        seconds.append(time.process_time() - start)
    return {"cpu_s": seconds, "labels": [lin.label for lin in lins], "dims": [list(lin.dims) for lin in lins],
            "eigenvalues": [[[z.real, z.imag] for z in lin.eigenvalues] for lin in lins]}


def run_worker(tree: Path, points: Path, network: Network, calls: int) -> dict[str, Any]:
    """:func:`measure` in a subprocess that imports dynsys from ``tree``, with one BLAS thread."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(points), network.cell, str(network.n),
               str(calls)]
    env = {**os.environ, **THREADS, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 64 only, 256 starts, one call (seconds)")
    parser.add_argument("--before", type=Path, help="another checkout of dynsys to time alternately with this one")
    parser.add_argument("--repeats", type=int, help="rounds of alternation (default 5, quick 1)")
    parser.add_argument("--calls", type=int, help="timed calls per worker (default 3, quick 1)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--worker", nargs=4, metavar=("POINTS", "CELL", "N", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        points, cell, n, calls = args.worker
        print(json.dumps(measure(Path(points), cell, int(n), int(calls))))
        return []
    repeats = args.repeats or (1 if args.quick else 5)
    calls = args.calls or (1 if args.quick else 3)
    trees = {"after": BENCH_DIR.parent}
    if args.before:
        trees = {"before": args.before.resolve(), **trees}
    records, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for network in NETWORKS[args.quick]:
            path = Path(tmp) / f"points_{network.cell}_{network.n}.npy"
            X = fixed_points(network, N_STARTS[args.quick])
            np.save(path, X)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
            for r in range(repeats):
                for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):  # alternate which goes first
                    runs[name].append(run_worker(trees[name], path, network, calls))
            ms = {name: 1e3 * statistics.median([s for run in done for s in run["cpu_s"]]) / len(X)
                  for name, done in runs.items()}
            record: dict[str, Any] = {"network": network.describe(), "n": network.n, "points": len(X),
                                      "n_starts": N_STARTS[args.quick], "repeats": repeats, "calls": calls,
                                      "cpu_ms_per_point": ms,
                                      "cpu_s": {name: [run["cpu_s"] for run in done] for name, done in runs.items()},
                                      "labels": runs["after"][-1]["labels"], "dims": runs["after"][-1]["dims"]}
            if args.before:
                old, new = runs["before"][-1], runs["after"][-1]
                record["same_labels_and_dims"] = old["labels"] == new["labels"] and old["dims"] == new["dims"]
                record["max_eigenvalue_difference"] = float(np.max(np.abs(
                    np.asarray(old["eigenvalues"]) - np.asarray(new["eigenvalues"])), initial=0.0))
                record["speedup"] = ms["before"] / ms["after"]
            records.append(record)
            rows.append([network.n, len(X), *(f"{ms[name]:.2f}" for name in trees)]
                        + ([f"{record['speedup']:.2f}", record["same_labels_and_dims"],
                            f"{record['max_eigenvalue_difference']:.1e}"] if args.before else []))
    headers = ["n", "points", *(f"{name} ms/point" for name in trees)]
    headers += ["before/after", "same labels, dims", "max |dlambda|"] if args.before else []
    targets = [("PASS" if r["same_labels_and_dims"] else "FAIL", f"n = {r['n']}: labels and dims as before")
               for r in records if args.before]
    report("linearize", args.quick, args.out_dir, headers, rows, records, targets, argv)
    return records


if __name__ == "__main__":
    main()
