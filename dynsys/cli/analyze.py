"""The ``dynsys analyze`` job: fixed and slow points of any system, its transition graph, its report.

It loads a built-in model, a TOML file or a network file at a constant
input (:func:`load_model_or_file`), finds and classifies the fixed and slow
points, prints them as a table and, with ``--json``, ``--graph`` or
``--out``, writes them, the transition graph, and the pictures, data files
and report.

For a flow it also looks for attracting cycles (limit cycles): the
trajectories from up to ``CYCLE_STARTS`` starts in the box
(:func:`dynsys.find_periodic_orbits`, for at most ``--cycle-time``
seconds within ``--max-time``), refined and
kept when stable, named C0, C1, ... by period, printed as a second table
(id, period, amplitude, label, leading non-trivial Floquet multiplier)
and handed to the transition graph, whose cycle nodes carry the same ids;
``--no-cycles`` skips them.  A search that cannot finish (a
``RuntimeError``, e.g. trajectories beyond the simulation's step limit) is
a note on stderr, and the run goes on without cycles.

For a 2-D system the main picture is its phase portrait (stream lines or
arrows, nullclines, manifolds of the saddles, basins, the cycles); for more
dimensions, trajectories from the search box on their top principal
components with the fixed points, the cycles and the saddles' branches.
Next to it: the spectra, the attractor graph, ``fixed_points.json``
(exact), ``.csv``, ``.npz``, ``cycles.json`` and ``.csv`` (flows), the
graph as ``graph.graphml``, ``.gexf``, ``.json`` and ``.dot``, and
``report.html``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

from .. import rnn
from .._io import atomic_write_text
from ..certificates import all_fixed_points
from ..fixed_points import FixedPointSet, find_fixed_points
from ..graph import attractor_graph, graph_points, transition_graph
from ..graph_export import FORMATS as GRAPH_FORMATS
from ..graph_export import write_graph
from ..intervals import check_enclosure
from ..parse import parse_assignment
from ..periodic_orbits import PeriodicOrbit, find_periodic_orbits
from ..simulate import advance
from ..systems import System
from ..targets import NETWORK_SUFFIXES, UnknownTargetError, is_network_file, load_target
from .inputs import (
    CELL_HELP, DEFAULT_MAX_TIME, INPUT_HELP, MAX_TIME_HELP, READOUT_HELP, UsageError,
    check_counts, check_output_paths, network_system, read_network, time_budget,
)
from .outputs import (
    annotate_graph, command_line, cycle_table, describe_graph, note_stopped, point_coordinates, point_rows,
    save_data_and_report, save_figures, without_paths,
)
from .report import Progress

HELP = "find and classify the fixed and slow points (a flow's attracting cycles too) of a model, file or network"
DESCRIPTION = (
    "Find and classify the fixed and slow points of a built-in model (see 'dynsys models'), "
    "of a system declared in a TOML file, or of a recurrent network file (.npz, .pt) at a constant input, and "
    "the attracting cycles of a flow (unless --no-cycles); print them as tables; with --graph or --out also build the transition graph (saddles and the "
    "attractors their branches reach) and write it, the pictures, the data files and report.html."
)
N_TRAJECTORIES = 24  # trajectories drawn for systems of more than 2 dimensions
TRAJECTORY_DURATION = {"flow": 20.0, "map": 200}  # ... over this time (flow) or these iterations (map)
TRAJECTORY_POINTS = 400  # ... with this many stored states
CYCLE_STARTS = 64  # flows: the attracting cycles are looked for from at most this many starts in the box
CYCLE_TIME = 10.0  # seconds: the default --cycle-time
ALL_IN_BOX_MAX_BOXES = 100_000  # the default --max-boxes of --all-in-box


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dynsys analyze``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="dynsys analyze")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["lorenz", "--param", "rho=0.5", "--bounds=-30:30"])
    >>> args.target, args.param, args.bounds, args.n_starts
    ('lorenz', ['rho=0.5'], '-30:30', 512)
    """
    parser.add_argument("target", metavar="MODEL_OR_FILE",
                        help="built-in model name, TOML file, or network file (.npz, .pt)")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", help="set a parameter (repeatable)")
    parser.add_argument("--bounds", metavar="LO:HI[,LO:HI...]", help="search box; use --bounds=... for negative values")
    parser.add_argument("--n-starts", type=int, default=512, help="number of starts (default 512)")
    parser.add_argument("--tol", type=float, default=1e-10, help="|F| below which a point is fixed (default 1e-10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    parser.add_argument("--exact", action="store_true", help="solve a polynomial system exactly with sympy")
    parser.add_argument("--certify", action="store_true",
                        help="prove each fixed point: exactly one zero within a radius (Krawczyk's test in interval "
                        "arithmetic; formula systems and networks)")
    parser.add_argument("--all-in-box", action="store_true",
                        help="instead of the search from starts, every fixed point in the box (--bounds or the "
                        "model's) by interval branch and bound, each certified; says whether the box was "
                        "covered completely")
    parser.add_argument("--max-boxes", type=int, default=ALL_IN_BOX_MAX_BOXES, metavar="N",
                        help=f"--all-in-box: boxes examined at most (default {ALL_IN_BOX_MAX_BOXES:,})")
    parser.add_argument("--json", metavar="OUT", help="write the fixed points as JSON")
    parser.add_argument("--graph", metavar="OUT", help="write the transition graph (.graphml, .gexf, .json or .dot)")
    parser.add_argument("--out", metavar="DIR", help="write pictures, data files and report.html to DIR")
    parser.add_argument("--cell", choices=rnn.CELLS, help="network file: " + CELL_HELP)
    parser.add_argument("--readout", metavar="NAME", help="network file: " + READOUT_HELP)
    parser.add_argument("--input", metavar="U1,U2,...", help="network file: " + INPUT_HELP)
    parser.add_argument("--max-time", type=float, default=DEFAULT_MAX_TIME, metavar="SECONDS", help=MAX_TIME_HELP)
    parser.add_argument("--no-cycles", action="store_true",
                        help="flows: do not look for attracting cycles (limit cycles)")
    parser.add_argument("--cycle-time", type=float, default=CYCLE_TIME, metavar="SECONDS",
                        help=f"flows: wall-clock budget of the search for cycles, within --max-time (default "
                        f"{CYCLE_TIME:g}; checked between refinements of candidate cycles)")


def _parse_bounds(spec: str, dim: int) -> np.ndarray:
    """Bounds from ``"LO:HI"`` (every state) or ``"LO:HI,LO:HI,..."`` (one per state)."""
    try:
        pairs = [tuple(float(v) for v in part.split(":")) for part in spec.split(",")]
    except ValueError:
        raise UsageError(f"--bounds: cannot read {spec!r}; write LO:HI or LO:HI,LO:HI,... ") from None
    if any(len(p) != 2 for p in pairs):
        raise UsageError(f"--bounds: every entry of {spec!r} must be LO:HI")
    if len(pairs) == 1:
        pairs = pairs * dim
    if len(pairs) != dim:
        raise UsageError(f"--bounds: {len(pairs)} ranges given for {dim} states")
    return np.array(pairs)


def load_model_or_file(
    target: str, *, cell: str | None = None, readout: str | None = None, input: str | None = None,
    along: str | None = None,
) -> System:
    """A built-in model by name, a system from a TOML file, or a network file (.npz, .pt) at input ``input``.

    ``cell``, ``readout``, ``input`` (``"1,0,0"``, zeros when None) and
    ``along`` (a direction d: the network at input u + s d, with the one
    parameter "s", :meth:`dynsys.rnn.RNNCell.system`) are the options
    ``--cell``, ``--readout``, ``--input`` and ``--along``, which only a
    network file takes.

    Raises
    ------
    UsageError
        For a name that is neither a model nor a file (with the closest
        model's name), or network options given for a model or TOML file.

    Examples
    --------
    >>> load_model_or_file("duffing").name
    'duffing'
    >>> load_model_or_file("dufing")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: 'dufing' is neither ... file; did you mean duffing? built-in models: ...
    """
    if is_network_file(target):
        network = read_network(Path(target), cell, False if readout is None else readout)  # the dynamics need no readout
        return network_system(network, input, along)
    given = [f"--{k}" for k, v in (("cell", cell), ("readout", readout), ("input", input), ("along", along))
             if v is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: only for a network file ({', '.join(NETWORK_SUFFIXES)}), not {target!r}")
    try:
        return load_target(target)
    except UnknownTargetError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Run ``dynsys analyze``: check the options, load the system, search, build the graph, write; the exit status.

    Raises
    ------
    UsageError
        For bad input, before anything is computed.

    Examples
    --------
    >>> import contextlib, io
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["duffing", "--n-starts", "64"])
    >>> args.argv = ["analyze", "duffing", "--n-starts", "64"]
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     status = run(args)
    >>> lines = printed.getvalue().splitlines()
    >>> status, lines[3], lines[-2:]
    (0, 'duffing (flow, n=2; delta=0.3, alpha=-1, beta=1)', ['attracting cycles (duffing):', 'no attracting cycle found'])
    """
    clock = time.perf_counter()
    check_counts(args)
    if not args.cycle_time > 0:
        raise UsageError(f"--cycle-time must be a number of seconds > 0, got {args.cycle_time:g}")
    check_output_paths(args.out, {"--json": (args.json, (".json",)), "--graph": (args.graph, GRAPH_FORMATS)})
    budget = time_budget(args, clock)
    system = load_model_or_file(args.target, cell=args.cell, readout=args.readout, input=args.input)
    if args.param:
        system = system.with_params(**dict(parse_assignment(a) for a in args.param))
    bounds = _parse_bounds(args.bounds, system.dim) if args.bounds else None
    _check_certificates(args, system, bounds)
    build_graph = bool(args.graph or args.out)
    look_for_cycles = system.kind == "flow" and not args.no_cycles
    progress = Progress((2 + 2 * bool(args.out) if build_graph else 1) + look_for_cycles, start=clock)
    progress.step("finding every fixed point in the box" if args.all_in_box else "finding fixed and slow points")
    try:
        result = all_fixed_points(system, bounds, max_boxes=args.max_boxes) if args.all_in_box else find_fixed_points(
            system, bounds=bounds, n_starts=args.n_starts, tol=args.tol, seed=args.seed,
            method="exact" if args.exact else "numeric", max_seconds=budget.left(), certify=args.certify,
        )
    except ValueError as exc:
        if not args.exact:
            raise
        raise UsageError(f"--exact cannot solve {system.name}: {exc}; drop --exact to search numerically") from None
    cycles, cycles_cut = None, False
    if look_for_cycles:
        progress.step("looking for attracting cycles")
        left = budget.left()
        limit = args.cycle_time if left is None else min(left, args.cycle_time)
        started = time.perf_counter()
        try:
            cycles = attracting_cycles(system, result, bounds, n_starts=min(args.n_starts, CYCLE_STARTS),
                                       seed=args.seed, max_seconds=limit)
        except RuntimeError as exc:  # e.g. trajectories beyond simulate's max_steps: the points are still reported
            print(f"dynsys: note: the search for attracting cycles failed ({' '.join(str(exc).split())}); no "
                  "cycles are reported", file=sys.stderr)
        cycles_cut = cycles is not None and time.perf_counter() - started >= limit
    points, G = result, None
    if build_graph:
        progress.step("building the transition graph")
        G = transition_graph(system, result, search_saddles=True, keep_paths=bool(args.out), seed=args.seed,
                             progress=progress.note, max_seconds=budget.left(),
                             cycles=False if cycles is None else cycles)
        points = graph_points(G, system, result)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = _write_outputs(system, points, G, out, seed=args.seed, progress=progress,
                                 command=command_line(args.argv), cycles=cycles)
    progress.done()
    params = ", ".join(f"{k}={v:g}" for k, v in system.params.items())
    print(f"{system.name} ({system.kind}, n={system.dim}{'; ' + params if params else ''})")
    print(points.table())
    st = result.stats
    if args.all_in_box:
        print(_box_summary(result))
    else:
        print(
            f"{st['n_fixed']} fixed and {st['n_slow']} slow points from the search ({st['method']}"
            + (f", {st['n_starts']} starts: {st['n_diverged']} diverged, {st['n_escaped']} escaped, "
               f"{st['n_unconverged']} unconverged, "
               f"{st['n_outside']} points outside the bounds" if st["method"] == "numeric" else "")
            + f") in {st['time_s']:.2f} s"
        )
    if args.certify:
        print(f"certified (Krawczyk): {int(result.certified.sum())} of {st['n_fixed']} fixed points, each the only "
              f"zero within its radius, in {st['time_certify_s']:.2f} s")
    if cycles is not None:
        print(f"attracting cycles ({system.name}):")
        print(cycle_table(cycles))
    if G is not None:
        print(describe_graph(G, len(points) - len(result)))
    if args.json:
        atomic_write_text(args.json, points.to_json())
        print(f"wrote {args.json}")
    if args.out:
        print("wrote " + ", ".join(p.name for p in written) + f" to {out}")
        print(f"report: {(out / 'report.html').resolve()}")
    if args.graph:
        print(f"wrote {write_graph(without_paths(G), args.graph)}")
    note_stopped(result, G, args.max_time)
    if cycles_cut:
        which = "--cycle-time" if limit == args.cycle_time else "what --max-time left"
        print(f"dynsys: note: the time budget of the search for cycles ({limit:g} s, {which}) ran out; the result "
              "is partial (cycles may be missing)", file=sys.stderr)
    return 0


def _check_certificates(args: argparse.Namespace, system: System, bounds: np.ndarray | None) -> None:
    """--certify and --all-in-box: a system with interval enclosures, a box for --all-in-box, not with --exact."""
    if not (args.certify or args.all_in_box):
        return
    flags = " and ".join(f for f, on in (("--certify", args.certify), ("--all-in-box", args.all_in_box)) if on)
    if args.exact:
        raise UsageError(f"{flags} cannot go with --exact (the exact solutions need no certificate)")
    if args.max_boxes < 1:
        raise UsageError(f"--max-boxes must be a count >= 1, got {args.max_boxes}")
    if args.all_in_box and bounds is None and system.bounds is None:
        raise UsageError(f"--all-in-box needs a box: {system.name} has no bounds; give --bounds=LO:HI,...")
    try:
        check_enclosure(system)
    except TypeError as exc:
        raise UsageError(f"{flags}: {exc}") from None


def _box_summary(points: FixedPointSet) -> str:
    """The line that says how many fixed points the branch and bound proved and whether it covered the box."""
    st = points.stats
    covered = ("complete: every box excluded or certified, so these are all the fixed points in the box"
               if st["complete"] else f"INCOMPLETE: {st['n_undecided']} boxes undecided at the budget of "
               f"{st['max_boxes']:,} boxes (--max-boxes); fixed points may lie in them")
    return (f"{st['n_fixed']} fixed points, each certified, by interval branch and bound over {st['n_boxes']:,} "
            f"boxes in {st['time_s']:.2f} s; {covered}")


def attracting_cycles(
    system: System, points: FixedPointSet, bounds: np.ndarray | None = None, *, n_starts: int = CYCLE_STARTS,
    seed: int = 0, max_seconds: float | None = None,
) -> tuple[PeriodicOrbit, ...]:
    """The attracting cycles of a flow reached from ``n_starts`` states drawn uniformly in the box.

    The box is ``bounds``, else ``system.bounds``, else the points' box
    widened by half its size (at least 1) on each side.  The cycles are
    :func:`dynsys.find_periodic_orbits`'s (refined, distinct up to phase,
    ordered by period) that are stable; their order gives their ids C0,
    C1, ... in every output.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> vdp = models.van_der_pol()
    >>> [round(c.period, 8) for c in attracting_cycles(vdp, find_fixed_points(vdp, seed=0))]
    [6.66328686]
    """
    box = _box(system, points, bounds)
    starts = np.random.default_rng(seed).uniform(box[:, 0], box[:, 1], (n_starts, system.dim))
    found = find_periodic_orbits(system, starts=starts, fixed_points=points, seed=seed, max_seconds=max_seconds)
    return tuple(c for c in found if c.stable)


def _box(system: System, points: FixedPointSet, bounds: np.ndarray | None) -> np.ndarray:
    """The box (n, 2) that starts are drawn in: ``bounds``, the system's, or around the points."""
    if bounds is not None:
        return np.asarray(bounds, dtype=float)
    if system.bounds is not None:
        return np.asarray(system.bounds, dtype=float)
    if len(points):
        lo, hi = points.x.min(axis=0), points.x.max(axis=0)
    else:
        lo = hi = np.zeros(system.dim)
    pad = np.maximum(0.5 * (hi - lo), 1.0)
    return np.column_stack([lo - pad, hi + pad])


def _sample_trajectories(system: System, points: FixedPointSet, seed: int) -> np.ndarray:
    """Trajectories (B, T, n) from random states in the system's box (or around the points)."""
    rng = np.random.default_rng(seed)
    if system.bounds is not None:
        lo, hi = system.bounds[:, 0], system.bounds[:, 1]
    else:
        centre, spread = points.x.mean(axis=0), np.ptp(points.x, axis=0) + 1.0
        lo, hi = centre - spread, centre + spread
    x0 = rng.uniform(lo, hi, size=(N_TRAJECTORIES, system.dim))
    return advance(system, x0, TRAJECTORY_DURATION[system.kind], n_points=TRAJECTORY_POINTS, method="auto").X


def _write_outputs(
    system: System, points: FixedPointSet, graph: nx.MultiDiGraph, out: Path, *, seed: int = 0,
    progress: Progress | None = None, command: str | None = None, cycles: tuple[PeriodicOrbit, ...] | None = None,
) -> list[Path]:
    """Write the pictures, data files and ``report.html`` of an analysis to ``out``.

    ``points`` are all the points of the run (:func:`dynsys.graph.graph_points`
    of ``graph``), so every output shows the same points under the same ids;
    ``cycles`` (None: not looked for) are the graph's cycle nodes C0, C1, ...
    in order, drawn and written under those ids.
    """
    from .. import plot  # matplotlib is loaded only when a job draws

    step = progress.step if progress is not None else (lambda what: None)
    note = progress.note if progress is not None else (lambda text: None)
    step("drawing the pictures")
    note("phase portrait" if system.dim <= 2 else "trajectories")
    if system.dim <= 2:
        portrait = plot.phase_portrait(system, fixed_points=points, basins=True, resolution=100,
                                       cycles=system.kind == "map" or (cycles or ()))  # a map: its orbits' tails
        main = (portrait.axes[0].get_title(), portrait)
    else:
        trajectories = _sample_trajectories(system, points, seed)
        main = ("Trajectories with the fixed points, " + ("the attracting cycles " if cycles else "")
                + "and the saddles' branches",
                plot.plot_state_space(trajectories, points, graph, system=system))
    # the pictures' axes: the states themselves up to 3 of them, else the trajectories' top 3 principal components
    projection = None if system.dim <= 3 else plot.principal_components(trajectories, 3)
    coordinates = point_coordinates(points, projection)
    figures = {"state_space.png": main}
    note("spectra and the attractor graph")
    if points.is_fixed.any():
        figures["spectrum.png"] = ("Eigenvalues of the fixed points", plot.plot_spectrum(points.fixed()))
    A = attractor_graph(graph)
    if A.number_of_nodes() > 1:
        axes = (dict(projection=(np.zeros(3), np.eye(3)), axis_names=system.state_names) if system.dim == 3
                else dict(projection=projection))
        figures["graph.png"] = ("Attractor graph: attractors joined through the index-1 saddles between them",
                                plot.draw_graph(A, edge_labels=True, **axes))
    written = save_figures(figures, out)
    step("writing data files and the report")
    rows = point_rows(points, coordinates)
    summary = (
        f"{system.name} ({system.kind}, n = {system.dim}"
        + "".join(f", {k} = {v:g}" for k, v in system.params.items())
        + f")\n{int(points.is_fixed.sum())} fixed and {int(points.is_slow.sum())} slow points\n{points.table()}\n"
        + ("" if cycles is None else f"attracting cycles:\n{cycle_table(cycles)}\n")
        + describe_graph(graph)
    )
    graph = without_paths(graph)
    annotate_graph(graph, rows, list(coordinates))
    return written + save_data_and_report(
        out, title=f"dynsys analysis of {system.name}", summary=summary, figures=figures, points=points,
        graph=graph, rows=rows, report_json=points.to_json(), command=command, cycles=cycles,
    )
