"""The ``dynsys sweep`` job: one analysis over many models, network files or a parameter grid, and their comparison.

    dynsys sweep MODELS_OR_FILES... --out DIR [--task fixed-points|graph|continuation] [--serial | --scheduler ADDRESS]
    dynsys sweep --grid MODEL --param rho=0:30:61 [--param beta=1,2,8/3 ...] --out DIR [--workers N] ...

Each item (a built-in model, a TOML or network file, or one point of the
grid: the Cartesian product of the ``--param`` values, the first varying
slowest) runs the task (:mod:`dynsys.sweep`): ``fixed-points``
(:func:`dynsys.find_fixed_points`), ``graph`` (the fixed points and the
transition graph, the default) or ``continuation`` (the bifurcation diagram
in ``--continue-param`` over ``--span``).  The items run on a Dask cluster:
a local one of ``--workers`` single-threaded processes (default: one per
core), the one at ``--scheduler ADDRESS``, or, with ``--serial``, one after
the other in this process.  Progress goes to stderr.  ``--out DIR`` gets

- ``items/<key>/``: each item's files (``points.npz``, ``graph.graphml``,
  ``diagram.json``, ``summary.json``), written as the item completes; a
  second run with the same ``--out`` skips the items already done;
- ``summary.csv``: one row per item (counts of points by kind and index,
  attractor graph, time, worker, status, error);
- ``comparison.csv`` and ``comparison.png`` (fixed-points and graph tasks):
  the items' topology classes and geometry clusters
  (:func:`dynsys.sweep.compare`);
- ``report.html``: the figure and the tables.

An item that fails is recorded (status "error", with its error) and the
sweep goes on; the exit status is 0 when at least one item finished, 1 when
none did, 2 for bad input (one line on stderr, before anything is run or
written).
"""
from __future__ import annotations

import argparse
import math
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._validate import check_real
from ..sweep import Continuation, FixedPoints, TransitionGraph, compare, grid, sweep
from ..sweep.engine import INSTALL_HINT, row_columns
from ..targets import check_target, load_target
from .continue_ import parse_span
from .inputs import UsageError, check_output_paths
from .outputs import command_line
from .report import plural, write_html_report

HELP = "run one analysis over many models, network files or a parameter grid (on Dask), and compare the results"
DESCRIPTION = (
    "Run the fixed points, the transition graph (default) or the continuation of every model or file given, or of "
    "a model at every point of a parameter grid (--grid MODEL --param NAME=LO:HI:N ...), on a local Dask cluster "
    "(--workers), an existing one (--scheduler ADDRESS) or in this process (--serial); write each item's files, "
    "summary.csv, the comparison of the items (topology classes of their attractor graphs, clusters of their "
    "fixed points' geometry: comparison.csv, comparison.png) and report.html to --out. A finished item is not run "
    "again by a second run with the same --out."
)
TASKS = ("fixed-points", "graph", "continuation")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dynsys sweep``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="dynsys sweep")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--grid", "lorenz", "--param", "rho=0:30:61", "--out", "run", "--serial"])
    >>> args.targets, args.grid, args.param, args.task, args.serial, args.workers
    ([], 'lorenz', ['rho=0:30:61'], 'graph', True, None)
    """
    parser.add_argument("targets", nargs="*", metavar="MODEL_OR_FILE",
                        help="built-in model names, TOML files or network files (.npz, .pt), one item each")
    parser.add_argument("--grid", metavar="MODEL", help="sweep this model or file over the --param values instead")
    parser.add_argument("--param", action="append", metavar="NAME=LO:HI:N",
                        help="with --grid: N values from LO to HI (or NAME=V1,V2,...); repeatable, the first "
                        "varies slowest")
    parser.add_argument("--task", choices=TASKS, default="graph",
                        help="the analysis of each item (default graph: fixed points and transition graph)")
    parser.add_argument("--continue-param", metavar="NAME", help="continuation: the parameter to follow")
    parser.add_argument("--span", metavar="LO:HI", help="continuation: its interval (--span=LO:HI if LO < 0)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at this scheduler address "
                       "(e.g. tcp://10.0.0.1:8786; dask-jobqueue on Slurm: the address of its scheduler)")
    where.add_argument("--serial", action="store_true", help="run the items one after the other in this process")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--n-starts", type=int, default=256, help="starts of each search for fixed points "
                        "(default 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    parser.add_argument("--threshold", type=float, default=0.1, help="average-linkage cut of the geometry "
                        "distances between items (default 0.1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="write the items' files, summary.csv, "
                        "comparison.csv/.png and report.html to DIR")


def parse_grid_param(spec: str) -> tuple[str, list[float]]:
    """``NAME=LO:HI:N`` (N values from LO to HI, ends included), ``NAME=V1,V2,...`` or ``NAME=V``.

    Raises
    ------
    UsageError
        Naming ``--param`` and what is wrong with ``spec``.

    Examples
    --------
    >>> parse_grid_param("rho=0:30:4")
    ('rho', [0.0, 10.0, 20.0, 30.0])
    >>> parse_grid_param("beta=1,2.5")
    ('beta', [1.0, 2.5])
    >>> parse_grid_param("rho=0:30")
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --param: cannot read 'rho=0:30'; write NAME=LO:HI:N (N values) or NAME=V1,V2,...
    """
    hint = f"--param: cannot read {spec!r}; write NAME=LO:HI:N (N values) or NAME=V1,V2,..."
    name, eq, values = spec.partition("=")
    name = name.strip()
    if not eq or not _NAME.fullmatch(name):
        raise UsageError(hint)
    parts = values.split(":")
    try:
        if len(parts) == 3:
            lo, hi, n = float(parts[0]), float(parts[1]), parts[2].strip()
            if not n.isdigit() or int(n) < 1:
                raise UsageError(f"--param: {spec!r}: N must be a whole number >= 1, got {n!r}")
            points = np.linspace(lo, hi, int(n)).tolist()
        elif len(parts) == 1:
            points = [float(v) for v in values.split(",")]
        else:
            raise UsageError(hint)
    except ValueError:
        raise UsageError(hint) from None
    if not all(math.isfinite(v) for v in points):
        raise UsageError(f"--param: every value of {spec!r} must be finite")
    return name, points


def _items(args: argparse.Namespace) -> list[Any]:
    """The items from the targets or the grid; bad input refused (UsageError / ValueError) before anything runs."""
    if bool(args.targets) == bool(args.grid):
        raise UsageError("give the models or files to sweep, or --grid MODEL with --param, not both" if args.targets
                         else "nothing to sweep: give models or files, or --grid MODEL --param NAME=LO:HI:N")
    if args.param and not args.grid:
        raise UsageError("--param: only with --grid MODEL (the model whose parameters it sets)")
    if args.targets:
        for target in args.targets:
            check_target(target)
        return list(args.targets)
    if not args.param:
        raise UsageError("--grid: give the values with --param NAME=LO:HI:N (repeatable)")
    values = dict(parse_grid_param(spec) for spec in args.param)
    if len(values) < len(args.param):
        raise UsageError(f"--param: each parameter once; got {', '.join(args.param)}")
    system = load_target(args.grid)  # UnknownTargetError (a ValueError) for neither a model nor a file
    unknown = [name for name in values if name not in system.params]
    if unknown:
        raise UsageError(f"--param: {', '.join(map(repr, unknown))} not a parameter of {system.name}; its "
                         f"parameters are {', '.join(system.params) or 'none'}")
    if args.continue_param is not None and args.continue_param in values:
        raise UsageError(f"--continue-param: {args.continue_param!r} is also swept by --param")
    return grid(system, **values)


def _task(args: argparse.Namespace) -> Any:
    """The task object of ``--task`` with its options; UsageError for options of another task."""
    if args.n_starts < 1:
        raise UsageError(f"--n-starts must be at least 1, got {args.n_starts}")
    search = dict(n_starts=args.n_starts, seed=args.seed)
    if args.task != "continuation":
        if args.continue_param is not None or args.span is not None:
            raise UsageError("--continue-param and --span: only with --task continuation")
        if args.task == "fixed-points":
            return FixedPoints(**search)
        return TransitionGraph(fixed_points=search, graph=dict(seed=args.seed))
    if args.continue_param is None or args.span is None:
        raise UsageError("--task continuation needs --continue-param NAME and --span LO:HI")
    return Continuation(args.continue_param, parse_span(args.span), **search)


def _connect(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``, connected before anything is written.

    Raises
    ------
    UsageError
        When distributed is not installed, or no scheduler answers at ``address``.
    """
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--scheduler needs dask's distributed: {INSTALL_HINT}") from None
    try:
        return distributed.Client(address)
    except (OSError, ValueError, TypeError) as exc:  # timed out, refused, not an address
        raise UsageError(f"--scheduler: cannot connect to {address!r}: {' '.join(str(exc).split())}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``dynsys sweep``: check the options, run the sweep, compare, write the report; the exit status.

    Raises
    ------
    UsageError
        For bad input, before anything is run or written.

    Examples
    --------
    >>> import contextlib, io, tempfile
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> argv = ["--grid", "duffing", "--param", "delta=0.2,0.3", "--task", "fixed-points", "--serial",
    ...         "--n-starts", "32", "--out", tempfile.mkdtemp()]
    >>> args = parser.parse_args(argv)
    >>> args.argv = ["sweep", *argv]
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed, contextlib.redirect_stderr(io.StringIO()):
    ...     status = run(args)
    >>> status, printed.getvalue().splitlines()[0]
    (0, '2 items: 2 ok, 0 failed')
    """
    clock = time.perf_counter()
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and (args.serial or args.scheduler):
        raise UsageError("--workers: only for the local cluster, not with --serial or --scheduler")
    check_real(args.threshold, "--threshold")  # ValueError: bad input, exit 2
    check_output_paths(args.out)
    task = _task(args)
    items = _items(args)
    out = Path(args.out)
    client = _connect(args.scheduler) if args.scheduler else "serial" if args.serial else None
    try:
        result = sweep(task, items, client=client, out=out, progress=True, workers=args.workers)
    finally:
        if args.scheduler:
            client.close()
    rows = list(result.rows)
    ok = sum(row["status"] == "ok" for row in rows)
    print(f"{plural(len(rows), 'item')}: {ok} ok, {len(rows) - ok} failed")
    for row in rows:
        if row["status"] != "ok":
            print(f"dynsys: note: item {row['key']} failed: {row['error']}", file=sys.stderr)
    comparison = None
    if ok and args.task != "continuation":
        comparison = compare(result, threshold=args.threshold, figure=out / "comparison.png")
        comparison.to_csv(out / "comparison.csv")
        for cls in comparison.classes:
            print(f"topology class {cls.id}: {plural(len(cls.members), 'item')}, {cls.description}")
        print(f"geometry: {plural(len(set(comparison.clusters.tolist())), 'cluster')} "
              f"(average linkage at {args.threshold:g})")
    written = _write_report(out, rows, comparison, args, time.perf_counter() - clock)
    print("wrote " + ", ".join(written) + f" to {out}")
    print(f"report: {(out / 'report.html').resolve()}")
    if not ok:
        print("dynsys: error: no item finished; see the errors in summary.csv", file=sys.stderr)
        return 1
    return 0


def _write_report(out: Path, rows: list[dict[str, Any]], comparison: Any, args: argparse.Namespace,
                  seconds: float) -> list[str]:
    """report.html: what was swept, the comparison figure and tables, the per-item summary; the files listed."""
    ok = sum(row["status"] == "ok" for row in rows)
    lines = [f"{plural(len(rows), 'item')} ({ok} ok, {len(rows) - ok} failed), task {args.task}, "
             f"in {seconds:.1f} s"]
    figures, more = {}, {}
    files = ["summary.csv"]
    if comparison is not None:
        lines += [f"topology class {c.id}: {plural(len(c.members), 'item')}, {c.description} "
                  f"(e.g. {c.representative})" for c in comparison.classes]
        lines.append(f"geometry: {plural(len(set(comparison.clusters.tolist())), 'cluster')} (average linkage of "
                     f"the W1 distances between the items' scaled pairwise distances, cut at {args.threshold:g})")
        figures = {"Geometry distances between the items, ordered by topology class; each class's attractor "
                   "graph": "comparison.png"}
        more = {"Topology classes": comparison.class_rows(), "Comparison": comparison.rows}
        files += ["comparison.png", "comparison.csv"]
    write_html_report(
        out / "report.html", title=f"dynsys sweep: {args.task} of {plural(len(rows), 'item')}",
        summary="\n".join(lines), figures=figures, table=_same_columns(rows), table_title="Items", more_tables=more,
        links={name: name for name in files if name.endswith(".csv")}, command=command_line(args.argv),
        version=__version__, when=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    return [*files, "report.html"]


def _same_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the union of their columns (in order of appearance), "" where a row has none (failed items)
    or None (no error).

    Examples
    --------
    >>> _same_columns([{"key": "a", "status": "error"}, {"key": "b", "status": "ok", "error": None, "n_points": 3}])
    [{'key': 'a', 'status': 'error', 'error': '', 'n_points': ''}, {'key': 'b', 'status': 'ok', 'error': '', 'n_points': 3}]
    """
    columns = row_columns(rows)
    return [{k: "" if row.get(k) is None else row[k] for k in columns} for row in rows]
