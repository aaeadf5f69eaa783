"""CPU time of certified fixed points: ``certify`` on trained networks, ``all_fixed_points`` by dimension.

Three parts, in one process with one BLAS thread, CPU time (``time.process_time``),
the median of ``--repeats`` calls after a warm-up call:

1. ``certify(system, points)`` on the fixed points of the trained flip-flop
   networks (tanh, n = 64 bundled and n = 256 cached; GRU n = 128 when cached),
   the points found by ``find_fixed_points(system, n_starts=1024, seed=0)``,
   whose time (one call) is given beside it.  Target: the 27 points of the 64-unit
   network certified in under 1 s.
2. ``all_fixed_points`` for Lorenz in the box [-30, 30]² x [-5, 55] (side 60
   around the attractor), beside ``find_fixed_points`` with 1024 starts in the
   same box.  Target: under 10 s, complete, the 3 zeros.
3. Boxes and time against dimension: ``all_fixed_points`` on the random
   continuous-time networks h' = -h + tanh(W h) of ``networks.random_cell``
   (a planted 3-bit memory plus noise, seed 0) in [-1, 1]^n, which holds all
   their fixed points (|h| = |tanh(W h)| < 1), for n = 1, 2, 3, ... until a
   run is not complete within ``--max-boxes`` or takes over ``--max-seconds``;
   beside ``find_fixed_points`` (1024 starts in the box): how many points each
   finds.

``--quick`` (seconds: n = 64 only, one call, dimensions up to 3) is the
smoke mode.  Prints a table and writes ``benchmarks/results/certify[_quick].json``:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_certify.py
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from networks import RESULTS_DIR, Network, cache_path, cpu_median, flipflop_cell, random_cell, report

from dynsys import find_fixed_points, models
from dynsys.certificates import all_fixed_points, certify

LORENZ_BOX = [(-30.0, 30.0), (-30.0, 30.0), (-5.0, 55.0)]
N_STARTS = 1024


def certify_rows(quick: bool, repeats: int) -> tuple[list[list[Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    cases = [("rnn_tanh", 64)] if quick else [("rnn_tanh", 64), ("rnn_tanh", 256), ("gru", 128)]
    rows, records, targets = [], [], []
    for cell, n in cases:
        if (cell, n) != ("rnn_tanh", 64) and not cache_path(cell, n).is_file():
            continue
        net = flipflop_cell(cell, n)
        system = net.system(u=np.zeros(net.input_size))
        t = time.process_time()
        points = find_fixed_points(system, n_starts=N_STARTS, seed=0)
        t_search = time.process_time() - t
        cert, t_cert = cpu_median(lambda system=system, points=points: certify(system, points), repeats)
        rec = {"part": "certify", "cell": cell, "n": n, "points": len(points),
               "certified": int(cert.certified.sum()), "unique": int(cert.unique.sum()),
               "max_radius": float(np.nanmax(cert.radius)) if cert.certified.any() else None,
               "time_certify_s": t_cert, "time_search_s": t_search}
        records.append(rec)
        rows.append([f"certify {cell} n={n}", len(points), rec["certified"], "-", "-", f"{t_cert:.3f}",
                     f"{t_search:.2f}", len(points)])
        if (cell, n) == ("rnn_tanh", 64):
            ok = rec["certified"] == len(points) == 27 and t_cert < 1.0
            targets.append(("PASS" if ok else "FAIL", f"27 points of the 64-unit network certified in {t_cert:.3f} s (< 1 s)"))
    return rows, records, targets


def lorenz_rows(repeats: int) -> tuple[list[list[Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    system = models.lorenz()
    found, t_all = cpu_median(lambda: all_fixed_points(system, LORENZ_BOX), repeats)
    numeric, t_num = cpu_median(lambda: find_fixed_points(system, n_starts=N_STARTS, bounds=LORENZ_BOX, seed=0), repeats)
    rec = {"part": "lorenz", "points": len(found), "complete": found.stats["complete"], "boxes": found.stats["n_boxes"],
           "time_s": t_all, "numeric_points": len(numeric), "numeric_time_s": t_num}
    ok = found.stats["complete"] and len(found) == 3 and t_all < 10.0
    row = ["all_fixed_points lorenz (side 60)", len(found), len(found), found.stats["complete"], found.stats["n_boxes"], f"{t_all:.3f}", f"{t_num:.3f}", len(numeric)]
    what = f"Lorenz in a box of side 60: {len(found)} zeros, complete={found.stats['complete']}, {t_all:.3f} s (< 10 s)"
    return [row], [rec], [("PASS" if ok else "FAIL", what)]


def dimension_rows(quick: bool, max_boxes: int, max_seconds: float) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    rows, records = [], []
    for n in range(1, 4 if quick else 13):
        system = random_cell(Network("continuous", n, "random"), seed=0).system(u=np.zeros(3))
        box = [(-1.0, 1.0)] * n
        t = time.process_time()
        found = all_fixed_points(system, box, max_boxes=max_boxes)
        t_all = time.process_time() - t
        t = time.process_time()
        numeric = find_fixed_points(system, n_starts=N_STARTS, bounds=box, seed=0)
        t_num = time.process_time() - t
        complete = found.stats["complete"]
        records.append({"part": "dimension", "n": n, "points": len(found), "complete": complete,
                        "boxes": found.stats["n_boxes"], "undecided": found.stats["n_undecided"], "time_s": t_all,
                        "numeric_points": int(np.sum(numeric.is_fixed)), "numeric_time_s": t_num})
        rows.append([f"all_fixed_points continuous n={n}", len(found), len(found), complete, found.stats["n_boxes"], f"{t_all:.3f}", f"{t_num:.3f}", int(np.sum(numeric.is_fixed))])
        if not complete or t_all > max_seconds:
            break
    return rows, records


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-boxes", type=int, default=1_000_000)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    headers = ["case", "points", "certified", "complete", "boxes", "time_s", "numeric_time_s", "numeric_points"]
    rows, records, targets = certify_rows(args.quick, repeats)
    more_rows, more_records, more_targets = lorenz_rows(repeats)
    dim_rows, dim_records = dimension_rows(args.quick, args.max_boxes, args.max_seconds)
    report("certify", args.quick, args.out_dir, headers, rows + more_rows + dim_rows,
           records + more_records + dim_records, targets + more_targets, argv)
    return targets + more_targets


if __name__ == "__main__":
    main()
