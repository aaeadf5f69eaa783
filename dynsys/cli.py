"""The ``dynsys`` command line.

    dynsys analyze MODEL_OR_FILE [--param k=v ...] [--bounds=LO:HI,...] [--json OUT] [--graph OUT] [--out DIR]
    dynsys flipflop [--model FILE.npz|FILE.pt] [--train] [--out DIR] ...
    dynsys models

``analyze`` finds and classifies the fixed and slow points of a built-in
model (see ``dynsys models``) or of a system declared in a TOML file, prints
them as a table and optionally writes them as JSON.  ``flipflop`` opens a
recurrent network trained on the n-bit flip-flop (the bundled one by
default; see :mod:`dynsys.flipflop`).  Bad input exits with status 2 and a
one-line message.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._io import atomic_write_text
from .fixed_points import find_fixed_points
from .graph import attractor_graph, transition_graph
from .graph_export import FORMATS as GRAPH_FORMATS
from .graph_export import write_graph
from .models import MODELS, get_model
from .parse import load_system, parse_assignment
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


def load_model_or_file(target: str) -> System:
    """A built-in model by name, or a system from a TOML file."""
    if target in MODELS:
        return get_model(target)
    path = Path(target)
    if path.suffix.lower() == ".toml" or path.exists():
        return load_system(path)
    raise UsageError(f"{target!r} is neither a built-in model ({', '.join(sorted(MODELS))}) nor a TOML file")


def _analyze(args: argparse.Namespace) -> int:
    if args.graph and Path(args.graph).suffix.lower() not in GRAPH_FORMATS:
        raise UsageError(f"--graph: {args.graph!r} must end in one of {', '.join(GRAPH_FORMATS)}")
    system = load_model_or_file(args.target)
    if args.param:
        system = system.with_params(**dict(parse_assignment(a) for a in args.param))
    bounds = parse_bounds(args.bounds, system.dim) if args.bounds else None
    result = find_fixed_points(
        system,
        bounds=bounds,
        n_starts=args.n_starts,
        tol=args.tol,
        seed=args.seed,
        method="exact" if args.exact else "numeric",
    )
    params = ", ".join(f"{k}={v:g}" for k, v in system.params.items())
    print(f"{system.name} ({system.kind}, n={system.dim}{'; ' + params if params else ''})")
    print(result.table())
    st = result.stats
    print(
        f"{st['n_fixed']} fixed and {st['n_slow']} slow points ({st['method']}"
        + (f", {st['n_starts']} starts: {st['n_diverged']} diverged, {st['n_escaped']} escaped, "
           f"{st['n_unconverged']} unconverged, "
           f"{st['n_outside']} points outside the bounds" if st["method"] == "numeric" else "")
        + f") in {st['time_s']:.2f} s"
    )
    if args.json:
        atomic_write_text(args.json, result.to_json())
        print(f"wrote {args.json}")
    if args.graph or args.out:
        G = transition_graph(system, result, search_saddles=True, keep_paths=bool(args.out), seed=args.seed)
        A = attractor_graph(G)
        print(
            f"transition graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges; "
            f"attractor graph: {A.number_of_nodes()} attractors, {A.number_of_edges()} edges"
        )
    if args.out:
        from .analyze import write_outputs
        from .report import Progress

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        progress = Progress(2)
        written = write_outputs(system, result, G, out, seed=args.seed, progress=progress)
        progress.done()
        print("wrote " + ", ".join(p.name for p in written) + f" to {out}")
        print(f"report: {(out / 'report.html').resolve()}")
    if args.graph:
        for *_, data in G.edges(data=True):
            data.pop("path", None)
        print(f"wrote {write_graph(G, args.graph)}")
    return 0


def load_network(args: argparse.Namespace, out: Path) -> Any:
    """The cell to analyse: the bundled model, a freshly trained one, or the user's file."""
    from . import rnn

    if args.train:
        from .tasks import train

        path = out / "model.npz"
        argv = ["flipflop", "--bits", str(args.bits), "--hidden", str(args.hidden), "--seed", str(args.seed)]
        if train.main([*argv, "--cell", args.cell or "rnn_tanh", "--out", str(path)]) != 0:
            raise UsageError("training failed (see above)")
        return rnn.load(path)
    if args.model is None:
        return rnn.load_flipflop()
    path = Path(args.model)
    if path.suffix == ".pt":
        state = _torch_state_dict(path)
        return rnn.from_state_dict(state, cell=args.cell or _infer_cell(state, path))
    return rnn.load(path)


def _infer_cell(state: Any, path: Path) -> str:
    """rnn_tanh, gru or lstm from the stacked gate rows of weight_hh_l0 (G H rows, H columns)."""
    keys = [k for k in state if str(k).endswith("weight_hh_l0")]
    if len(keys) != 1:
        raise UsageError(f"{path}: no single weight_hh_l0 in the state_dict; name the cell with --cell")
    rows, cols = tuple(state[keys[0]].shape)
    cells = {1: "rnn_tanh", 3: "gru", 4: "lstm"}
    if rows % cols or rows // cols not in cells:
        raise UsageError(f"{path}: weight_hh_l0 of shape {(rows, cols)} fits no cell; name it with --cell")
    return cells[rows // cols]


def _torch_state_dict(path: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise UsageError(f"reading {path} needs PyTorch (pip install torch), or save its state_dict as .npz") from None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise UsageError(f"{path} holds a {type(state).__name__}, not a state_dict; save model.state_dict()")
    return state


def _flipflop(args: argparse.Namespace) -> int:
    from .flipflop import analyze_flipflop, write_outputs
    from .report import Progress

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cell = load_network(args, out)
    print(f"network: {cell!r}")
    progress = Progress(6 if cell.kind == "map" else 5)
    analysis = analyze_flipflop(cell, n_starts=args.n_starts, noise=args.noise, seed=args.seed + 1234,
                                progress=progress)
    written = write_outputs(analysis, out, progress)
    progress.done()
    print(analysis.fixed_points.table())
    print(analysis.summary())
    print("wrote " + ", ".join(p.name for p in written) + f" to {out}")
    print(f"report: {(out / 'report.html').resolve()}")
    return 0


def _models(args: argparse.Namespace) -> int:
    for name in sorted(MODELS):
        system = get_model(name)
        params = ", ".join(f"{k}={v:g}" for k, v in system.params.items())
        print(f"{name:16s} {system.kind:4s} n={system.dim:<3d} {params}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynsys", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="find and classify fixed and slow points")
    analyze.add_argument("target", metavar="MODEL_OR_FILE", help="built-in model name or TOML file")
    analyze.add_argument("--param", action="append", metavar="NAME=VALUE", help="set a parameter (repeatable)")
    analyze.add_argument("--bounds", metavar="LO:HI[,LO:HI...]", help="search box; use --bounds=... for negative values")
    analyze.add_argument("--n-starts", type=int, default=512, help="number of starts (default 512)")
    analyze.add_argument("--tol", type=float, default=1e-10, help="|F| below which a point is fixed (default 1e-10)")
    analyze.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    analyze.add_argument("--exact", action="store_true", help="solve a polynomial system exactly with sympy")
    analyze.add_argument("--json", metavar="OUT", help="write the fixed points as JSON")
    analyze.add_argument("--graph", metavar="OUT", help="write the transition graph (.graphml, .gexf, .json or .dot)")
    analyze.add_argument("--out", metavar="DIR", help="write pictures, data files and report.html to DIR")
    analyze.set_defaults(run=_analyze)

    flipflop = sub.add_parser("flipflop", help="analyse a recurrent network trained on the n-bit flip-flop")
    flipflop.add_argument("--model", metavar="FILE.npz|FILE.pt", help="a trained network (default: the bundled one)")
    flipflop.add_argument("--train", action="store_true", help="train a network first (dynsys.tasks.train)")
    flipflop.add_argument("--bits", type=int, default=3, help="bits of the task, with --train (default 3)")
    flipflop.add_argument("--hidden", type=int, default=64, help="hidden units, with --train (default 64)")
    flipflop.add_argument("--cell", choices=["rnn_tanh", "rnn_relu", "gru", "lstm", "continuous"],
                          help="cell type of --model FILE.pt or of --train (default: inferred / rnn_tanh)")
    flipflop.add_argument("--n-starts", type=int, default=1024, help="starts sampled from the trials (default 1024)")
    flipflop.add_argument("--noise", type=float, default=0.05, help="noise added to the starts (default 0.05)")
    flipflop.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    flipflop.add_argument("--out", default="flipflop_out", metavar="DIR", help="output folder (default flipflop_out)")
    flipflop.set_defaults(run=_flipflop)

    models = sub.add_parser("models", help="list the built-in models")
    models.set_defaults(run=_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynsys`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, ValueError, OSError) as exc:
        print(f"dynsys: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
