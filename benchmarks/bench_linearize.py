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

``--spectra`` times ``spectrum="full"`` against ``spectrum="leading"`` instead
(:func:`spectra`), in this checkout, one process, one BLAS thread: for each n
of ``--sizes`` (default 256 512 1024) the Jacobians of a random tanh network
h -> tanh(W h), W = 1.2 G / sqrt(n) (the random case of bench_vs_fpf.py), at
``--points`` states of its trajectories (J = D W, D = diag(1 - tanh(W h)^2):
the structure of its fixed points' Jacobians, with dozens of unstable
eigenvalues at n = 1024), as a map, and of the continuous-time network
h' = -h + tanh(W h) (J = D W - I) as a flow; the two spectra alternate point
by point (A B B A ...), median CPU time per point.  Writes
``benchmarks/results/linearize_spectra[_quick].json``:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_linearize.py --spectra
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


def tanh_jacobians(n: int, points: int, seed: int = 0) -> np.ndarray:
    """Jacobians D W (points, n, n) of h -> tanh(W h), W = 1.2 G / sqrt(n), at states after 200 steps from N(0, I)."""
    rng = np.random.default_rng(seed)
    W = 1.2 / np.sqrt(n) * rng.standard_normal((n, n))
    h = rng.standard_normal((points, n))
    for _ in range(200):
        h = np.tanh(h @ W.T)
    return (1.0 - np.tanh(h @ W.T) ** 2)[:, :, None] * W


def spectra(sizes: list[int], points: int) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """Per point CPU time of ``linearize_matrix`` with spectrum "full" and "leading", alternately, on
    :func:`tanh_jacobians` as a map and minus the identity as a flow; table rows and records."""
    from dynsys.linearize import LazyLinearization, linearize_matrix

    rows, records = [], []
    for n in sizes:
        for kind in ("map", "flow"):
            Js = tanh_jacobians(n, points) - (np.eye(n) if kind == "flow" else 0.0)
            seconds: dict[str, list[float]] = {"full": [], "leading": []}
            lins: dict[str, list[Any]] = {"full": [], "leading": []}
            for i, J in enumerate(Js):
                for spectrum in ("full", "leading") if i % 2 == 0 else ("leading", "full"):
                    start = time.process_time()
                    lin = linearize_matrix(J, kind, spectrum=spectrum)
                    seconds[spectrum].append(time.process_time() - start)
                    lins[spectrum].append(lin)
            full, leading = lins["full"], lins["leading"]
            same = all((a.index, a.dims, a.label, a.flip) == (b.index, b.dims, b.label, b.flip)
                       for a, b in zip(full, leading))
            margin = max(abs(a.margin - b.margin) for a, b in zip(full, leading))
            lazy = sum(isinstance(lin, LazyLinearization) for lin in leading)
            ms = {name: 1e3 * statistics.median(values) for name, values in seconds.items()}
            records.append({"n": n, "kind": kind, "points": points, "cpu_s": seconds, "cpu_ms_per_point": ms,
                            "speedup": ms["full"] / ms["leading"], "indices": [lin.index for lin in full],
                            "labels": [lin.label for lin in full], "same_index_dims_label_flip": same,
                            "max_margin_difference": margin, "lazy": lazy})
            rows.append([n, kind, points, f"{min(records[-1]['indices'])}-{max(records[-1]['indices'])}",
                         f"{ms['full']:.1f}", f"{ms['leading']:.1f}", f"{records[-1]['speedup']:.2f}", lazy, same,
                         f"{margin:.1e}"])
    return rows, records


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
    parser.add_argument("--spectra", action="store_true", help='time spectrum="full" against "leading" instead')
    parser.add_argument("--sizes", type=int, nargs="+", help="with --spectra: n (default 256 512 1024, quick 64)")
    parser.add_argument("--points", type=int, help="with --spectra: points per n (default 6, quick 2)")
    parser.add_argument("--worker", nargs=4, metavar=("POINTS", "CELL", "N", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        points, cell, n, calls = args.worker
        print(json.dumps(measure(Path(points), cell, int(n), int(calls))))
        return []
    if args.spectra:
        rows, records = spectra(args.sizes or ([64] if args.quick else [256, 512, 1024]),
                                args.points or (2 if args.quick else 6))
        headers = ["n", "kind", "points", "index", "full ms/point", "leading ms/point", "full/leading", "lazy",
                   "same index, dims, label, flip", "max |dmargin|"]
        targets = [("PASS" if r["same_index_dims_label_flip"] else "FAIL",
                    f"n = {r['n']} {r['kind']}: leading classifies as full") for r in records]
        report("linearize_spectra", args.quick, args.out_dir, headers, rows, records, targets, argv)
        return records
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
