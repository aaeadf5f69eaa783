"""The dynsys command line.

    dynsys analyze MODEL_OR_FILE [--param k=v ...] [--bounds=LO:HI,...] [--json OUT] [--graph OUT] [--out DIR]
    dynsys analyze NETWORK.npz|NETWORK.pt [--cell CELL] [--readout NAME] [--input U1,U2,...] ...
    dynsys flipflop [--model FILE.npz|FILE.pt [--cell CELL] [--readout NAME]] [--train] [--input U1,...] ...
    dynsys models

``analyze`` finds and classifies the fixed and slow points of a built-in
model (see ``dynsys models``), of a system declared in a TOML file or of a
recurrent network (see dynsys.rnn.load_network) at a constant input, prints
them as a table and optionally writes them as JSON, the transition graph
and a report.  ``flipflop`` opens a
recurrent network trained on the n-bit flip-flop (the bundled one by
default; see :mod:`dynsys.flipflop`).  Exit status: 0 when done (a result
cut short by ``--max-time`` says so on stderr), 2 for bad input, 1 for a
computation that cannot finish within its limits; every error is one line
on stderr.
"""
from __future__ import annotations

import argparse
import difflib
import os
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Literal, Sequence

import networkx as nx
import numpy as np

from . import __version__, rnn
from ._budget import Deadline
from ._io import atomic_write_text
from .fixed_points import FixedPointSet, find_fixed_points
from .graph import graph_points, transition_graph
from .graph_export import FORMATS as GRAPH_FORMATS
from .graph_export import write_graph
from .models import MODELS, get_model
from .parse import load_system, parse_assignment
from .analyze import describe_graph, without_paths
from .report import Progress
from .systems import System


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def parse_bounds(spec: str, dim: int) -> np.ndarray:
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


NETWORK_SUFFIXES = (".npz", ".pt", ".pth")
DEFAULT_MAX_TIME = 600.0  # seconds: the wall-clock budget of the search and the graph of one command


def check_output_paths(out: str | None = None, files: dict[str, tuple[str | None, Sequence[str]]] | None = None) -> None:
    """Refuse output paths that cannot be written, before anything is computed.

    Parameters
    ----------
    out : str, optional
        The ``--out`` folder: an existing folder we may write into, or a
        path whose nearest existing ancestor is such a folder.
    files : dict, optional
        Option name -> (path or None, allowed suffixes): a file path whose
        suffix is allowed, that is not a folder, and whose folder exists
        and is writable.

    Raises
    ------
    UsageError
        Naming the option and what is wrong with its path.
    """
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out: {out!r} is a file, not a folder")
        existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise UsageError(f"--out: cannot write into {str(existing)!r}")
    for option, (name, suffixes) in (files or {}).items():
        if name is None:
            continue
        path = Path(name)
        if path.suffix.lower() not in suffixes:
            raise UsageError(f"{option}: {name!r} must end in {' or '.join(suffixes)}")
        folder = path.absolute().parent
        if not folder.is_dir():
            raise UsageError(f"{option}: the folder {str(folder)!r} of {name!r} does not exist")
        if path.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"{option}: cannot write the file {name!r}")


def check_counts(args: argparse.Namespace) -> None:
    """``--n-starts`` is a positive count, checked before anything is loaded or computed."""
    if args.n_starts < 1:
        raise UsageError(f"--n-starts must be at least 1, got {args.n_starts}")


def time_budget(args: argparse.Namespace, start: float) -> Deadline:
    """The ``--max-time`` of a command, counted from ``start`` (a ``time.perf_counter()``)."""
    return Deadline(args.max_time, "--max-time", start)


def note_stopped(points: FixedPointSet, graph: nx.MultiDiGraph | None, max_time: float) -> None:
    """One line on stderr for each stage (search, graph) that the time budget cut short (the result is partial)."""
    stopped = [what for what, cut in (
        ("the search for fixed points", points.stats.get("stopped")),
        ("the transition graph (its open branches are unresolved)", graph is not None and graph.graph["stopped"]),
    ) if cut]
    for what in stopped:
        print(f"dynsys: note: the time budget (--max-time {max_time:g} s) ran out during {what}; "
              "the result is partial", file=sys.stderr)


def load_model_or_file(
    target: str, *, cell: str | None = None, readout: str | None = None, input: str | None = None
) -> System:
    """A built-in model by name, a system from a TOML file, or a network file (.npz, .pt) at input ``input``.

    ``cell``, ``readout`` and ``input`` (``"1,0,0"``, zeros when None) are
    the options ``--cell``, ``--readout`` and ``--input``, which only a
    network file takes.
    """
    path = Path(target)
    if target not in MODELS and path.suffix.lower() in NETWORK_SUFFIXES:
        network = _read_network(path, cell, False if readout is None else readout)  # the dynamics need no readout
        return network.system(_input_vector(input, network))
    given = [f"--{k}" for k, v in (("cell", cell), ("readout", readout), ("input", input)) if v is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: only for a network file ({', '.join(NETWORK_SUFFIXES)}), not {target!r}")
    if target in MODELS:
        return get_model(target)
    if path.suffix.lower() == ".toml" or path.exists():
        return load_system(path)
    close = difflib.get_close_matches(target.lower(), list(MODELS), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(
        f"{target!r} is neither a built-in model nor a TOML or network file; {hint}"
        f"built-in models: {', '.join(sorted(MODELS))} (see dynsys models)"
    )


def _read_network(path: Path, cell: str | None, readout: str | Literal[False] | None) -> Any:
    """:func:`dynsys.rnn.load_network`, its warnings (readout used, keys not used) printed as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            network = rnn.load_network(path, cell=cell, readout=readout)
        except rnn.AmbiguousCellError as err:
            raise UsageError(f"{path}: {err.reason}: " + " or ".join(f"--cell {c}" for c in err.choices)) from None
    for w in caught:
        print(f"dynsys: note: {w.message}", file=sys.stderr)
    return network


def _input_vector(spec: str | None, network: Any) -> np.ndarray | None:
    """The values of ``--input "1,0,0"``, one per input of ``network``; None when not given."""
    if spec is None:
        return None
    try:
        u = np.array([float(v) for v in spec.split(",")])
    except ValueError:
        raise UsageError(f"--input: cannot read {spec!r}; write numbers separated by commas, e.g. 1,0,0") from None
    if u.shape != (network.input_size,):
        raise UsageError(f"--input: {u.size} values given; the network has {network.input_size} inputs")
    if not np.all(np.isfinite(u)):
        raise UsageError(f"--input: every value must be finite, got {spec!r}")
    return u


def _analyze(args: argparse.Namespace) -> int:
    clock = time.perf_counter()
    check_counts(args)
    check_output_paths(args.out, {"--json": (args.json, (".json",)), "--graph": (args.graph, GRAPH_FORMATS)})
    budget = time_budget(args, clock)
    system = load_model_or_file(args.target, cell=args.cell, readout=args.readout, input=args.input)
    if args.param:
        system = system.with_params(**dict(parse_assignment(a) for a in args.param))
    bounds = parse_bounds(args.bounds, system.dim) if args.bounds else None
    build_graph = bool(args.graph or args.out)
    progress = Progress(2 + 2 * bool(args.out) if build_graph else 1, start=clock)
    progress.step("finding fixed and slow points")
    try:
        result = find_fixed_points(
            system, bounds=bounds, n_starts=args.n_starts, tol=args.tol, seed=args.seed,
            method="exact" if args.exact else "numeric", max_seconds=budget.left(),
        )
    except ValueError as exc:
        if not args.exact:
            raise
        raise UsageError(f"--exact cannot solve {system.name}: {exc}; drop --exact to search numerically") from None
    points, G = result, None
    if build_graph:
        progress.step("building the transition graph")
        G = transition_graph(system, result, search_saddles=True, keep_paths=bool(args.out), seed=args.seed,
                             progress=progress.note, max_seconds=budget.left())
        points = graph_points(G, system, result)
    if args.out:
        from .analyze import write_outputs

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = write_outputs(system, points, G, out, seed=args.seed, progress=progress,
                                command=command_line(args.argv))
    progress.done()
    params = ", ".join(f"{k}={v:g}" for k, v in system.params.items())
    print(f"{system.name} ({system.kind}, n={system.dim}{'; ' + params if params else ''})")
    print(points.table())
    st = result.stats
    print(
        f"{st['n_fixed']} fixed and {st['n_slow']} slow points from the search ({st['method']}"
        + (f", {st['n_starts']} starts: {st['n_diverged']} diverged, {st['n_escaped']} escaped, "
           f"{st['n_unconverged']} unconverged, "
           f"{st['n_outside']} points outside the bounds" if st["method"] == "numeric" else "")
        + f") in {st['time_s']:.2f} s"
    )
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
    return 0


def command_line(argv: Sequence[str]) -> str:
    """The command as a person would type it again: ``dynsys`` and the quoted arguments."""
    return shlex.join(["dynsys", *map(str, argv)])


def load_network(args: argparse.Namespace, out: Path) -> Any:
    """The cell to analyse: the bundled model, a freshly trained one, or the user's file."""
    for option, value, allowed, partner in (
        ("--bits", args.bits, args.train, "--train"),
        ("--hidden", args.hidden, args.train, "--train"),
        ("--cell", args.cell, args.train or args.model is not None, "--train or --model"),
        ("--readout", args.readout, args.model is not None, "--model"),
    ):
        if value is not None and not allowed:
            raise UsageError(f"{option} applies only with {partner}")
    if args.train and args.model is not None:
        raise UsageError("--train and --model exclude each other: train a network, or analyse yours")
    if args.train:
        from .tasks import train

        out.mkdir(parents=True, exist_ok=True)  # the trained model is the run's first output
        path = out / "model.npz"
        argv = ["flipflop", "--bits", str(3 if args.bits is None else args.bits),
                "--hidden", str(64 if args.hidden is None else args.hidden), "--seed", str(args.seed)]
        if train.main([*argv, "--cell", args.cell or "rnn_tanh", "--out", str(path)]) != 0:
            raise UsageError("training failed (see above)")
        return rnn.load(path)
    if args.model is None:
        return rnn.load_flipflop()
    return _read_network(Path(args.model), args.cell, args.readout)


def _flipflop(args: argparse.Namespace) -> int:
    from .flipflop import analyze_flipflop, write_outputs

    clock = time.perf_counter()
    check_counts(args)
    check_output_paths(args.out)
    out = Path(args.out)
    cell = load_network(args, out)
    u = _input_vector(args.input, cell)
    print(f"network: {cell!r}")
    budget = time_budget(args, clock)
    progress = Progress(6 if cell.kind == "map" else 5, start=clock)
    analysis = analyze_flipflop(cell, input=u, n_starts=args.n_starts, noise=args.noise, seed=args.seed + 1234,
                                progress=progress, max_seconds=budget.left())
    out.mkdir(parents=True, exist_ok=True)
    written = write_outputs(analysis, out, progress, command=command_line(args.argv))
    progress.done()
    print(analysis.fixed_points.table())
    print(analysis.summary())
    print("wrote " + ", ".join(p.name for p in written) + f" to {out}")
    print(f"report: {(out / 'report.html').resolve()}")
    note_stopped(analysis.fixed_points, analysis.graph, args.max_time)
    return 0


def _models(args: argparse.Namespace) -> int:
    for name in sorted(MODELS):
        system = get_model(name)
        params = ", ".join(f"{k}={v:g}" for k, v in system.params.items())
        print(f"{name:16s} {system.kind:4s} n={system.dim:<3d} {params}")
    return 0


MAX_TIME_HELP = (
    f"wall-clock budget of the run's search and graph (default {DEFAULT_MAX_TIME:g}; inf for none); when it runs out "
    "the points and branches found so far are reported, with a note on stderr"
)
CELL_HELP = "cell of the network: needed for a single-gate layer (tanh or relu); GRU and LSTM are inferred"
READOUT_HELP = "module name of the network's readout (fc: fc.weight, fc.bias) when several layers could be it"
INPUT_HELP = "analyse the network with its input held at these values, one per input (default zeros)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynsys",
        description="Fixed points, slow points, their stability and the saddles between attractors, for "
        "dynamical systems and trained recurrent networks.",
        epilog="Bad input exits with status 2 and a one-line message. Run 'dynsys COMMAND --help' for a command's "
        "options.",
    )
    parser.add_argument("--version", action="version", version=f"dynsys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = sub.add_parser(
        "analyze", help="find and classify the fixed and slow points of a model, TOML file or network",
        description="Find and classify the fixed and slow points of a built-in model (see 'dynsys models'), "
        "of a system declared in a TOML file, or of a recurrent network file (.npz, .pt) at a constant input; "
        "print them as a table; with --graph or --out also build the transition graph (saddles and the "
        "attractors their branches reach) and write it, the pictures, the data files and report.html.",
    )
    analyze.add_argument("target", metavar="MODEL_OR_FILE",
                         help="built-in model name, TOML file, or network file (.npz, .pt)")
    analyze.add_argument("--param", action="append", metavar="NAME=VALUE", help="set a parameter (repeatable)")
    analyze.add_argument("--bounds", metavar="LO:HI[,LO:HI...]", help="search box; use --bounds=... for negative values")
    analyze.add_argument("--n-starts", type=int, default=512, help="number of starts (default 512)")
    analyze.add_argument("--tol", type=float, default=1e-10, help="|F| below which a point is fixed (default 1e-10)")
    analyze.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    analyze.add_argument("--exact", action="store_true", help="solve a polynomial system exactly with sympy")
    analyze.add_argument("--json", metavar="OUT", help="write the fixed points as JSON")
    analyze.add_argument("--graph", metavar="OUT", help="write the transition graph (.graphml, .gexf, .json or .dot)")
    analyze.add_argument("--out", metavar="DIR", help="write pictures, data files and report.html to DIR")
    analyze.add_argument("--cell", choices=rnn.CELLS, help="network file: " + CELL_HELP)
    analyze.add_argument("--readout", metavar="NAME", help="network file: " + READOUT_HELP)
    analyze.add_argument("--input", metavar="U1,U2,...", help="network file: " + INPUT_HELP)
    analyze.add_argument("--max-time", type=float, default=DEFAULT_MAX_TIME, metavar="SECONDS", help=MAX_TIME_HELP)
    analyze.set_defaults(run=_analyze)

    flipflop = sub.add_parser(
        "flipflop", help="analyse a recurrent network trained on the n-bit flip-flop",
        description="Open a recurrent network trained on the n-bit flip-flop (the bundled 3-bit, 64-unit tanh "
        "network by default): score it on held-out trials, find its fixed and slow points, the corners its "
        "attractors encode and the saddles between them, and write pictures, data files, the graph and "
        "report.html to --out.",
    )
    flipflop.add_argument("--model", metavar="FILE.npz|FILE.pt", help="a trained network (default: the bundled one)")
    flipflop.add_argument("--train", action="store_true", help="train a network first (dynsys.tasks.train)")
    flipflop.add_argument("--bits", type=int, help="bits of the task, with --train (default 3)")
    flipflop.add_argument("--hidden", type=int, help="hidden units, with --train (default 64)")
    flipflop.add_argument("--cell", choices=rnn.CELLS, help="with --model: " + CELL_HELP + "; with --train: the "
                          "cell to train (default rnn_tanh)")
    flipflop.add_argument("--readout", metavar="NAME", help="with --model: " + READOUT_HELP)
    flipflop.add_argument("--input", metavar="U1,U2,...", help=INPUT_HELP)
    flipflop.add_argument("--n-starts", type=int, default=1024, help="starts sampled from the trials (default 1024)")
    flipflop.add_argument("--noise", type=float, default=0.05, help="noise added to the starts (default 0.05)")
    flipflop.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    flipflop.add_argument("--out", default="flipflop_out", metavar="DIR", help="output folder (default flipflop_out)")
    flipflop.add_argument("--max-time", type=float, default=DEFAULT_MAX_TIME, metavar="SECONDS", help=MAX_TIME_HELP)
    flipflop.set_defaults(run=_flipflop)

    models = sub.add_parser(
        "models", help="list the built-in models", description="List the built-in models with their kind "
        "(flow or map), dimension and default parameters.",
    )
    models.set_defaults(run=_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynsys`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except (UsageError, ValueError, OSError) as exc:  # bad input: the usage status
        print(f"dynsys: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a computation that cannot finish within its limits (e.g. simulate's max_steps)
        print(f"dynsys: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
