"""Throughput of a sweep of flip-flop networks on 2 local Dask workers against the serial loop, and the overhead per item.

The items are 32 networks trained on the 3-bit flip-flop by the project's own
trainer (``python -m dynsys.tasks.train flipflop --hidden 32 --seed k``,
k = 0..31, about 4 s each on one core; cached in
``benchmarks/cache/flipflop_rnn_tanh_32_seed<k>.npz`` and trained when
missing), or with ``--networks perturbed`` the bundled 64-unit network and 31
copies whose recurrent weights get N(0, 0.02²) noise (seeded; written to
``benchmarks/cache``).  Each item is a network file, loaded on the worker.

Two tasks run over the same items, each with the same ``dynsys.sweep.sweep``
call but for ``client``:

- the analysis (``--task graph``, default: ``TransitionGraph``, the fixed
  points from ``--n-starts`` 256 starts and the transition graph; or
  ``fixed-points``);
- a trivial task (``FunctionTask`` of ``operator.attrgetter("dim")``): its
  time per item is the sweep's overhead per item (loading the network file,
  shipping the item, writing its folder and summary).

on ``client="serial"`` (the loop, in a process of its own started before
the clusters: not sharing the GIL with the scheduler and clients, which run
in this process) and on a ``LocalCluster``
of ``--workers`` single-threaded worker processes (started once, its start
timed apart; one untimed trivial sweep warms each up), alternating serial / Dask ``--repeat`` times (A B A B: the
machine's load drifts), each run into a fresh ``--out`` folder (no resume).

The cluster's workers run with ``MALLOC_TRIM_THRESHOLD_`` unset.  Dask's
nanny sets it to 65536 by default (``distributed.nanny.pre-spawn-environ``,
to hand freed memory back to the OS); setting it at all also fixes glibc's
mmap threshold, so every numpy temporary above 128 KiB is mapped and
unmapped again, and dynsys's searches ran about 1.5x slower (CPU time of
the same items) in such a worker than in a plain process.  ``--dask-default``
adds a second cluster with Dask's default environment (``dask-trim``),
alternating with the others, to show the difference.
Reported: wall-clock medians, the items' own times summed (``time_s`` of
the summaries: inflated on the workers when the machine is busy), items/s,
the speedup (serial / Dask), the overhead per item, and whether the Dask run's per-item summaries (point
counts, attractor graph) equal the serial run's.  Wall time, not CPU time:
the work is in other processes; a busy machine shows in the spread of the
repeats, which is printed.

    PYTHONPATH=. python benchmarks/bench_sweep.py [--networks trained|perturbed] [--repeat 2]

``--quick``: 4 perturbed networks, their fixed points from 32 starts, one
repeat (a smoke test: seconds, and the cluster's start).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse
import multiprocessing
import operator
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from networks import BENCH_DIR, CACHE_DIR, RESULTS_DIR, report

from dynsys import rnn
from dynsys.sweep import FixedPoints, FunctionTask, TransitionGraph, sweep

HIDDEN = 32  # units of the trained networks
NOISE = 0.02  # standard deviation of the perturbations of the bundled network's recurrent weights
SUMMARY_KEYS = ("status", "n_fixed", "n_slow", "n_attractors", "n_saddles", "n_graph_nodes", "n_graph_edges",
                "graph_hash")  # what must agree between the serial and the Dask run


def trained_networks(count: int) -> tuple[list[Path], float]:
    """``count`` networks trained with seeds 0..count-1 (cached); the seconds spent training the missing ones."""
    paths = [CACHE_DIR / f"flipflop_rnn_tanh_{HIDDEN}_seed{k}.npz" for k in range(count)]
    started = time.perf_counter()
    for k, path in enumerate(paths):
        if path.is_file():
            continue
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "dynsys.tasks.train", "flipflop", "--hidden", str(HIDDEN), "--seed", str(k),
                   "--out", str(path)]
        print(f"training {path.name}: {' '.join(command[1:])}", flush=True)
        subprocess.run(command, cwd=BENCH_DIR.parent, check=True, stdout=subprocess.DEVNULL)
    return paths, time.perf_counter() - started


def perturbed_networks(count: int) -> list[Path]:
    """The bundled network and ``count - 1`` copies with N(0, NOISE²) added to weight_hh (seeds 1..), as files."""
    bundled = rnn.load_flipflop()
    state = {name: np.asarray(value) for name, value in bundled.state_dict().items()}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        W = state["weight_hh_l0"]
        noise = NOISE * np.random.default_rng(k).standard_normal(W.shape) if k else 0.0
        path = CACHE_DIR / f"flipflop_rnn_tanh_64_perturbed{k}.npz"
        rnn.from_state_dict({**state, "weight_hh_l0": W + noise}, bundled.cell).save(path)
        paths.append(path)
    return paths


def local_cluster(workers: int, trim: bool) -> Any:
    """A LocalCluster of ``workers`` single-threaded processes; with ``trim``, Dask's default environment
    (MALLOC_TRIM_THRESHOLD_=65536), else with MALLOC_TRIM_THRESHOLD_ unset (glibc's dynamic thresholds)."""
    import dask
    from distributed import LocalCluster

    setting = {} if trim else {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    with dask.config.set(setting):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def timed_sweep(task: Any, items: list[str], client: Any, folder: Path) -> tuple[float, list[dict[str, Any]]]:
    """Wall seconds of one sweep into a fresh ``folder``, and its rows."""
    started = time.perf_counter()
    result = sweep(task, items, client=client, out=folder, progress=False)
    return time.perf_counter() - started, list(result.rows)


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", choices=("trained", "perturbed"), default="trained")
    parser.add_argument("--count", type=int, default=32, help="networks (default 32)")
    parser.add_argument("--task", choices=("graph", "fixed-points"), default="graph")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-starts", type=int, default=256, help="starts of each search (default 256)")
    parser.add_argument("--repeat", type=int, default=2, help="alternating serial / Dask runs of each task")
    parser.add_argument("--dask-default", action="store_true", help="also run on a second cluster with Dask's "
                        "default worker environment (MALLOC_TRIM_THRESHOLD_=65536), alternating with the others")
    parser.add_argument("--quick", action="store_true", help="4 perturbed networks, their fixed points from 32 "
                        "starts, one repeat (smoke test)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.networks, args.count, args.repeat, args.task, args.n_starts = "perturbed", 4, 1, "fixed-points", 32
    from distributed import Client

    training_s = 0.0
    if args.networks == "trained":
        paths, training_s = trained_networks(args.count)
    else:
        paths = perturbed_networks(args.count)
    items = [str(p) for p in paths]
    search = dict(n_starts=args.n_starts, seed=0)
    task = FixedPoints(**search) if args.task == "fixed-points" else TransitionGraph(fixed_points=search,
                                                                                     graph=dict(seed=0))
    trivial = FunctionTask(operator.attrgetter("dim"))
    # the serial loop runs in a process of its own, started before the clusters (whose scheduler and clients live
    # in this process, and whose start sets MALLOC_TRIM_THRESHOLD_ in this process's environment)
    serial_process = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    serial_process.submit(len, []).result()
    started = time.perf_counter()
    clusters = {"dask": local_cluster(args.workers, trim=False)}
    startup_s = time.perf_counter() - started
    if args.dask_default:
        clusters["dask-trim"] = local_cluster(args.workers, trim=True)
    clients = {mode: Client(cluster) for mode, cluster in clusters.items()}
    times: dict[tuple[str, str], list[float]] = {}
    busy: dict[tuple[str, str], list[float]] = {}  # the items' own times (time_s), summed
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            serial_process.submit(timed_sweep, trivial, items, "serial", Path(tmp) / "warm-serial").result()
            for mode, client in clients.items():  # imports and first calls, untimed
                timed_sweep(trivial, items, client, Path(tmp) / f"warm-{mode}")
            for r in range(args.repeat):
                for name, what in (("trivial", trivial), (args.task, task)):
                    for mode, where in (("serial", "serial"), *clients.items()):
                        folder = Path(tmp) / f"{name}-{mode}-{r}"
                        seconds, rows[name, mode] = (
                            serial_process.submit(timed_sweep, what, items, where, folder).result()
                            if mode == "serial" else timed_sweep(what, items, where, folder))
                        times.setdefault((name, mode), []).append(seconds)
                        busy.setdefault((name, mode), []).append(sum(row["time_s"] for row in rows[name, mode]))
                        print(f"repeat {r}: {name:>12} {mode:>9} {seconds:7.2f} s", flush=True)
    finally:
        serial_process.shutdown()
        for mode in clients:
            clients[mode].close()
            clusters[mode].close()
    n = len(items)
    serial = statistics.median(times[args.task, "serial"])
    same = [[row.get(k) for k in SUMMARY_KEYS] for row in rows[args.task, "serial"]] == [
        [row.get(k) for k in SUMMARY_KEYS] for row in rows[args.task, "dask"]]
    failed = sum(row["status"] != "ok" for key in rows for row in rows[key])
    table = [[name, mode, f"{statistics.median(t):.2f}", " ".join(f"{s:.2f}" for s in t),
              f"{statistics.median(busy[name, mode]):.2f}", f"{n / statistics.median(t):.2f}",
              f"{1e3 * statistics.median(t) / n:.1f}"] for (name, mode), t in times.items()]
    record = {
        "networks": args.networks, "count": n, "task": args.task, "n_starts": args.n_starts, "workers": args.workers,
        "repeat": args.repeat,
        "cluster_start_s": startup_s, "training_s": training_s,
        "wall_s": {f"{name}/{mode}": t for (name, mode), t in times.items()},
        "items_time_s": {f"{name}/{mode}": t for (name, mode), t in busy.items()},
        "items_per_s": {mode: n / statistics.median(times[args.task, mode]) for mode in ("serial", *clients)},
        "speedup": {mode: serial / statistics.median(times[args.task, mode]) for mode in clients},
        "overhead_ms_per_item": {mode: 1e3 * statistics.median(times["trivial", mode]) / n
                                 for mode in ("serial", *clients)},
        "same_summaries": same, "failed_items": failed,
    }
    print(f"{n} {args.networks} networks, task {args.task}; local cluster of {args.workers} workers started in "
          f"{startup_s:.1f} s (not counted); training the missing networks took {training_s:.1f} s")
    targets = [
        ("PASS" if same else "FAIL", "the Dask run's per-item summaries equal the serial run's"),
        ("PASS" if not failed else "FAIL", f"no item failed ({failed} did)"),
    ]
    report("sweep", args.quick, args.out_dir, ["task", "where", "median s", "runs s", "items' own s", "items/s",
                                                      "ms/item"], table,
           [record], targets, argv)
    for mode in clients:
        print(f"{mode}: speedup on {args.workers} workers {record['speedup'][mode]:.2f}x; overhead per item (trivial "
              f"task) {record['overhead_ms_per_item'][mode]:.1f} ms (serial "
              f"{record['overhead_ms_per_item']['serial']:.1f} ms)")
    return targets


if __name__ == "__main__":
    sys.exit(0 if all(status != "FAIL" for status, _ in main()) else 1)
