"""Wall time of ``dynsys flipflop`` and of the test suite in two checkouts, measured alternately.

A refactor must not make the main job or the tests slower.  This runs the
same commands in two working trees of dynsys (say, main before and after a
change: ``git worktree add /tmp/before <commit>``), alternating between them
so that both see the same machine load, each with one thread
(OMP_NUM_THREADS=1 and friends), and prints every run and the medians.

    python benchmarks/compare_checkouts.py /tmp/before . --repeats 3 --tests

Each checkout is imported through PYTHONPATH, so one environment with the
dependencies serves both.  The test suite's time counts its own tests: a
checkout with more tests (doctests, say) does more work, and the number of
tests run is printed beside the time.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, **THREADS, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}


def time_flipflop(tree: Path) -> float:
    """Seconds of one ``python -m dynsys flipflop --out DIR`` in ``tree``."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dynsys", "flipflop", "--out", out], cwd=tree, env=_env(tree),
                       check=True, capture_output=True)
        return time.perf_counter() - start


def time_tests(tree: Path) -> tuple[float, str]:
    """Seconds of one run of the README's test command in ``tree``, and pytest's summary line."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tree,
                          env=_env(tree), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    if done.returncode:
        raise RuntimeError(f"the tests failed in {tree}: {summary[-1:] or done.stdout[-500:]}")
    return seconds, summary[-1] if summary else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--repeats", type=int, default=3, help="flip-flop runs per checkout (default 3)")
    parser.add_argument("--tests", action="store_true", help="also time the full test suite once per checkout")
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; python {platform.python_version()}")
    flipflop: dict[str, list[float]] = {k: [] for k in trees}
    for r in range(args.repeats):
        for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):  # alternate which goes first
            flipflop[name].append(time_flipflop(trees[name]))
            print(f"dynsys flipflop, {name}: {flipflop[name][-1]:.2f} s", flush=True)
    for name, runs in flipflop.items():
        print(f"dynsys flipflop, {name}: median {statistics.median(runs):.2f} s over {len(runs)} runs")
    if args.tests:
        for name, tree in trees.items():
            seconds, summary = time_tests(tree)
            print(f"test suite, {name}: {seconds:.1f} s ({summary.strip()})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
