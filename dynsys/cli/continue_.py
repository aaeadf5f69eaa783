"""The ``dynsys continue`` job: branches of fixed points in a parameter, their special points, the diagram.

    dynsys continue MODEL_OR_FILE --param NAME --span=LO:HI [--x0 X1,X2,... | --from-point K] [--cycles] [--out DIR]
    dynsys continue NETWORK.npz --along 1,0,0 --span=LO:HI [--input U1,U2,...] [--cell CELL] ...

Without ``--x0`` or ``--from-point`` it builds the whole bifurcation diagram
(:func:`dynsys.bifurcation_diagram`: the fixed points at the span's ends
and inside it, continued, with branch switching at branch points); with
one of them, the one branch through that point (:func:`dynsys.continuation`),
starting at the parameter's value (the span's low end when the value lies
outside the span).  It prints the special points as a table and, with
``--out``, writes ``diagram.png``, ``branches.json`` (exact, read back by
:meth:`dynsys.BifurcationDiagram.load`), ``branches.csv`` (one row per
point: branch, p, the state, index, stable, s), ``bifurcations.csv`` and
``report.html``.  With ``--cycles`` (flows), the branch of cycles born at
each Hopf point is continued too (:func:`dynsys.continuation` from the
Hopf point, within ``--span``): each is printed (``CycleBranch.table``),
named "cycles 0", "cycles 1", ... in the order of its Hopf point (as
:meth:`dynsys.BifurcationDiagram.table` names them), drawn in
``diagram.png`` (max and min over each cycle) and ``period.png`` (period
against the parameter), stored in ``branches.json`` and as rows of kind
"cycle" in ``branches.csv`` (the cycle's mean state, its period and
amplitude), its special points (LPC, PD, NS) in ``bifurcations.csv``
with their period, and listed in ``report.html``.  A network file (.npz, .pt) is continued in its input:
``--along 1,0,0`` follows its fixed points at input u + s d (u from
``--input``, zeros by default; d the direction) as s runs over ``--span``
(the parameter is ``s``; :meth:`dynsys.rnn.RNNCell.system`).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._io import atomic_write_text
from ..bifurcation_diagram import BifurcationDiagram, bifurcation_diagram
from ..continuation import Bifurcation, continuation
from ..cycle_continuation import CycleBranch
from ..fixed_points import find_fixed_points
from ..parse import parse_assignment
from ..rnn import CELLS
from ..systems import System
from .analyze import is_network_file, load_model_or_file
from .inputs import UsageError, check_output_paths, network_system, read_network
from .outputs import command_line, save_figures
from .report import Progress, write_html_report, write_points_csv

HELP = "continue fixed points in a parameter: branches, folds, Hopf points, the bifurcation diagram"
DESCRIPTION = (
    "Follow the fixed points of a built-in model or TOML file as the parameter --param runs over --span "
    "(pseudo-arclength continuation), locate their special points (fold LP, Hopf H, branch point BP, flip PD, "
    "Neimark-Sacker NS) and print them as a table; with --cycles (flows) also continue the cycles born at each "
    "Hopf point (folds of cycles LPC, period doublings PD, Neimark-Sacker NS); with --out also write the diagram, "
    "the branches and "
    "report.html. Without --x0 or --from-point, all the branches found from the fixed points at several values "
    "of the parameter. Write --span=LO:HI when LO is negative."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dynsys continue``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="dynsys continue")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["lorenz", "--param", "rho", "--span=0.5:30", "--from-point", "0"])
    >>> args.target, args.param, args.span, args.from_point, args.x0, args.max_steps
    ('lorenz', 'rho', '0.5:30', 0, None, 1000)
    """
    parser.add_argument("target", metavar="MODEL_OR_FILE", help="built-in model name, TOML file or network file")
    parser.add_argument("--param", metavar="NAME", help="the parameter to vary (a network with --along: s)")
    parser.add_argument("--along", metavar="D1,D2,...", help="network files: continue in the input u + s d along "
                        "this direction d (one value per input); the parameter is s")
    parser.add_argument("--input", metavar="U1,U2,...", help="network files: the input u at s = 0 (default zeros)")
    parser.add_argument("--cell", choices=CELLS, help="network files: the cell, when the weights cannot tell")
    parser.add_argument("--span", required=True, metavar="LO:HI", help="its interval (write --span=LO:HI if LO < 0)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--x0", metavar="X1,X2,...", help="continue the one branch through the fixed point near x0")
    start.add_argument("--from-point", type=int, metavar="K",
                       help="continue the one branch through fixed point K of the table of 'dynsys analyze'")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="set another parameter (repeatable)")
    parser.add_argument("--out", metavar="DIR", help="write diagram.png, branches.json/.csv, bifurcations.csv and "
                        "report.html to DIR")
    parser.add_argument("--max-steps", type=int, default=1000, help="continuation steps per direction (default 1000)")
    parser.add_argument("--n-starts", type=int, default=64, help="starts of each search for fixed points (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    parser.add_argument("--cycles", action="store_true", help="flows: also continue the branch of cycles (limit "
                        "cycles) born at each Hopf point, with their folds (LPC), period doublings (PD) and "
                        "Neimark-Sacker points (NS)")


def parse_span(spec: str) -> tuple[float, float]:
    """``"LO:HI"`` as (LO, HI), finite with LO < HI.

    Examples
    --------
    >>> parse_span("-1:2.5")
    (-1.0, 2.5)
    >>> parse_span("2:1")
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --span: '2:1' must be LO:HI with LO < HI
    """
    try:
        lo, hi = (float(v) for v in spec.split(":"))
    except ValueError:
        raise UsageError(f"--span: cannot read {spec!r}; write LO:HI (--span=LO:HI when LO is negative)") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise UsageError(f"--span: {spec!r} must be LO:HI with LO < HI")
    return lo, hi


def _start(system: System, param: str, args: argparse.Namespace, p0: float) -> np.ndarray:
    """The starting state that ``--x0`` or ``--from-point`` names."""
    if args.x0 is not None:
        try:
            x0 = np.array([float(v) for v in args.x0.split(",")])
        except ValueError:
            raise UsageError(f"--x0: cannot read {args.x0!r}; write X1,X2,... ({system.dim} numbers)") from None
        if x0.shape != (system.dim,) or not np.isfinite(x0).all():
            raise UsageError(f"--x0: {args.x0!r} has {len(x0)} numbers; {system.name} has {system.dim} states "
                             f"({', '.join(system.state_names)})")
        return x0
    points = find_fixed_points(system, n_starts=args.n_starts, seed=args.seed).fixed()
    if not 0 <= args.from_point < len(points):
        raise UsageError(f"--from-point: {system.name} at {param} = {p0:g} has {len(points)} fixed points "
                         f"(0 to {len(points) - 1}), not {args.from_point}")
    return points.x[args.from_point]


def run(args: argparse.Namespace) -> int:
    """Run ``dynsys continue``: check the options, load, continue, print, write; the exit status.

    Raises
    ------
    UsageError
        For bad input, before anything is computed.

    Examples
    --------
    >>> import contextlib, io
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["logistic", "--param", "r", "--span", "2.5:3.4", "--x0", "0.6"])
    >>> args.argv = []
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     status = run(args)
    >>> status, printed.getvalue().splitlines()[-1].split()
    (0, ['flip', '3', '0.666667', '0'])
    """
    clock = time.perf_counter()
    if args.max_steps < 1 or args.n_starts < 1:
        raise UsageError(f"--max-steps and --n-starts must be at least 1, got {args.max_steps} and {args.n_starts}")
    check_output_paths(args.out)
    lo, hi = parse_span(args.span)
    if args.along is not None and args.param not in (None, "s"):
        raise UsageError(f"--param: a network continued --along has the one parameter s, not {args.param!r}")
    param = "s" if args.along is not None else args.param
    if param is None:
        raise UsageError("--param NAME is needed (or --along D1,D2,... for a network file)")
    readout = None
    if is_network_file(args.target) and args.along is not None:  # read once: its dynamics and its readout
        network = read_network(Path(args.target), args.cell, None)
        system = network_system(network, args.input, args.along)
        readout = network.readout if network.output_size else None
    else:
        system = load_model_or_file(args.target, cell=args.cell, input=args.input, along=args.along)
    if args.set:
        system = system.with_params(**dict(parse_assignment(a) for a in args.set))
    if param not in system.params:
        raise UsageError(f"--param: {param!r} is not a parameter of {system.name}; its parameters are "
                         f"{', '.join(system.params) or 'none'}")
    if args.cycles and system.kind != "flow":
        raise UsageError(f"--cycles: cycles are continued for flows; {system.name} is a map")
    p0 = system.params[param] if lo <= system.params[param] <= hi else lo
    system = system.with_params(**{param: p0})
    progress = Progress(2 if args.out else 1, start=clock)
    if args.x0 is None and args.from_point is None:
        progress.step("tracing the bifurcation diagram")
        diagram = bifurcation_diagram(system, param, (lo, hi), n_starts=args.n_starts, seed=args.seed,
                                      max_steps=args.max_steps, cycles=args.cycles)
    else:
        progress.step("continuing the branch")
        branch = continuation(system, param, _start(system, param, args, p0), p_span=(lo, hi),
                              max_steps=args.max_steps)
        special = sorted(branch.bifurcations, key=lambda b: b.p)
        diagram = BifurcationDiagram(branches=(branch,), bifurcations=special, system=system, param=param,
                                     p_span=(lo, hi), cycle_branches=_hopf_cycles(system, param, special, (lo, hi), args.max_steps)
                                     if args.cycles else ())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        progress.step("writing the diagram, the branches and the report")
        written = write_outputs(diagram, out, command=command_line(args.argv), readout=readout)
    progress.done()
    params = ", ".join(f"{k}={v:g}" for k, v in system.params.items() if k != param)
    print(f"{system.name} ({system.kind}, n={system.dim}{'; ' + params if params else ''})")
    print(diagram.table())
    for k, cycles in enumerate(diagram.cycle_branches):
        print(f"cycles {k}: {cycles.table()}")
    if args.cycles:
        missing = sum(b.kind == "hopf" for b in diagram.bifurcations) - len(diagram.cycle_branches)
        if missing:
            print(f"dynsys: note: no cycle branch could be started at {missing} of the Hopf points "
                  "(degenerate, or no cycle found near it)", file=sys.stderr)
    if args.out:
        print("wrote " + ", ".join(p.name for p in written) + f" to {out}")
        print(f"report: {(out / 'report.html').resolve()}")
    return 0


def _hopf_cycles(system: System, param: str, special: list[Bifurcation], span: tuple[float, float],
                 max_steps: int) -> tuple[CycleBranch, ...]:
    """The cycle branches born at the Hopf points among ``special`` (those that cannot be started are left out)."""
    found = []
    for b in special:
        if b.kind != "hopf":
            continue
        try:
            found.append(continuation(system, param, b, p_span=span, max_steps=max_steps))
        except ValueError:  # a degenerate Hopf point (l1 = 0), or no cycle near it: reported by the caller
            continue
    return tuple(found)


def branch_rows(diagram: BifurcationDiagram) -> list[dict[str, Any]]:
    """One row per point of every branch: branch, the parameter, the state, index, stable, s.

    With cycle branches, also one row per cycle (branch "cycles 0", ...)
    and the columns kind ("point" or "cycle"), period and amplitude; a
    cycle's state columns hold its mean x̄ over one period, its index the
    number of non-trivial multipliers outside the unit circle.

    Examples
    --------
    >>> from dynsys import models
    >>> diagram = bifurcation_diagram(models.logistic(), "r", (2.5, 3.4))
    >>> list(branch_rows(diagram)[0])
    ['branch', 'r', 'x', 'index', 'stable', 's']
    """
    names = diagram.system.state_names
    with_cycles = bool(diagram.cycle_branches)
    rows = [
        {"branch": k, **({"kind": "point"} if with_cycles else {}), diagram.param: float(p),
         **dict(zip(names, map(float, x))), **({"period": "", "amplitude": ""} if with_cycles else {}),
         "index": int(i), "stable": bool(stable), "s": float(s)}
        for k, branch in enumerate(diagram.branches)
        for p, x, i, stable, s in zip(branch.p, branch.x, branch.index, branch.stable, branch.s)
    ]
    rows += [
        {"branch": f"cycles {k}", "kind": "cycle", diagram.param: float(p),
         **dict(zip(names, map(float, x.mean(axis=0)))),
         "period": float(T), "amplitude": float(a), "index": int(i), "stable": bool(stable), "s": float(s)}
        for k, cycles in enumerate(diagram.cycle_branches)
        for p, x, T, a, i, stable, s in zip(cycles.p, cycles.x, cycles.period, cycles.amplitude, cycles.index,
                                             cycles.stable, cycles.s)
    ]
    return rows


def cycle_branch_rows(diagram: BifurcationDiagram) -> list[dict[str, Any]]:
    """One row per cycle branch: id, the Hopf point it was started at, its parameter range, periods, largest
    amplitude, special points and why its ends stopped.

    Examples
    --------
    >>> from dynsys import System
    >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 1.5})
    >>> row, = cycle_branch_rows(bifurcation_diagram(brusselator, "B", (1.5, 2.5), n_starts=8, cycles=True))
    >>> row["id"], row["from"], row["stopped"]
    ('cycles 0', 'H at B = 2', 'hopf / p_span')
    """
    hopf = [b for b in diagram.bifurcations if b.kind == "hopf"]
    rows = []
    for k, cycles in enumerate(diagram.cycle_branches):
        near = min(hopf, key=lambda b: min(abs(cycles.p[0] - b.p), abs(cycles.p[-1] - b.p)), default=None)
        rows.append({
            "id": f"cycles {k}", "from": "" if near is None else f"H at {diagram.param} = {near.p:.10g}",
            f"{diagram.param} range": f"{cycles.p.min():.6g} to {cycles.p.max():.6g}", "cycles": len(cycles),
            "period range": f"{cycles.period.min():.6g} to {cycles.period.max():.6g}",
            "largest amplitude": float(cycles.amplitude.max()),
            "special points": " ".join(b.kind for b in cycles.bifurcations),
            "stopped": " / ".join(cycles.stop_reason),
        })
    return rows


def bifurcation_rows(diagram: BifurcationDiagram) -> list[dict[str, Any]]:
    """One row per special point: kind, label, the parameter, the state, frequency, branch.

    Examples
    --------
    >>> from dynsys import models
    >>> bifurcation_rows(bifurcation_diagram(models.logistic(), "r", (2.5, 3.4)))[0]["label"]
    'PD'
    """
    from ..plot import BIFURCATION_LABELS  # matplotlib is loaded only when a job draws

    names = diagram.system.state_names
    rows = [
        {"kind": b.kind, "label": BIFURCATION_LABELS[b.kind], diagram.param: b.p,
         **dict(zip(names, map(float, b.x))), "frequency": "" if b.frequency is None else b.frequency,
         "branch": diagram.branch_of(b)}
        for b in diagram.bifurcations
    ]
    if not diagram.cycle_branches:
        return rows
    for row, b in zip(rows, diagram.bifurcations):  # a Hopf point's cycles start at the period 2 pi / omega
        row["period"] = 2 * np.pi / b.frequency if b.kind == "hopf" and b.frequency else ""
    return rows + [
        {"kind": b.kind, "label": BIFURCATION_LABELS[b.kind], diagram.param: b.p,
         **dict(zip(names, map(float, b.x))), "frequency": "" if b.frequency is None else b.frequency,
         "branch": f"cycles {k}", "period": "" if b.period is None else b.period}
        for k, cycles in enumerate(diagram.cycle_branches) for b in cycles.bifurcations
    ]


def write_outputs(
    diagram: BifurcationDiagram, out: Path, *, command: str | None = None,
    readout: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Path]:
    """Write diagram.png, branches.json, branches.csv, bifurcations.csv and report.html to ``out``.

    Also frequency.png (the leading oscillatory mode's frequency against the
    parameter) when a branch has non-real eigenvalues, and readout.png (each
    output of ``readout``, a network's, against the parameter) when given.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys import models
    >>> written = write_outputs(bifurcation_diagram(models.logistic(), "r", (2.5, 3.4)), Path(tempfile.mkdtemp()))
    >>> [p.name for p in written]
    ['diagram.png', 'branches.json', 'branches.csv', 'bifurcations.csv', 'report.html']
    """
    from .. import __version__, plot  # matplotlib is loaded only when a job draws

    system = diagram.system
    y = "norm" if system.dim > 1 else None
    caption = f"Fixed points of {system.name} against {diagram.param}: stable solid, unstable dashed"
    if diagram.cycle_branches:
        caption = (f"Fixed points and cycles of {system.name} against {diagram.param}: stable solid, unstable "
                   "dashed; the cycles (open circles) by their max and min")
    figures = {"diagram.png": (caption, plot.plot_bifurcation_diagram(diagram, y))}
    if any(np.isfinite(branch.oscillatory_mode()[0]).any() for branch in diagram.branches):
        figures["frequency.png"] = (f"The leading oscillatory mode's frequency against {diagram.param}",
                                    plot.plot_mode_frequency(diagram))
    if diagram.cycle_branches:
        figures["period.png"] = (f"Period of the cycles against {diagram.param}",
                                 plot.plot_cycle_period(diagram))
    if readout is not None:
        figures["readout.png"] = (f"The network's readout against {diagram.param}: stable solid, unstable dashed",
                                  _readout_figure(diagram, readout))
    rows = bifurcation_rows(diagram)
    written = [
        *save_figures(figures, out),
        atomic_write_text(out / "branches.json", diagram.to_json()),
        write_points_csv(branch_rows(diagram), out / "branches.csv"),
        write_points_csv(rows, out / "bifurcations.csv"),
    ]
    report = write_html_report(
        out / "report.html", title=f"dynsys continuation of {system.name} in {diagram.param}",
        summary="\n".join([diagram.table(),
                             *(f"cycles {k}: {c.table()}" for k, c in enumerate(diagram.cycle_branches))]),
        figures={caption: name for name, (caption, _) in figures.items()}, table=rows, table_title="Special points",
        more_tables={"Cycle branches": cycle_branch_rows(diagram)} if diagram.cycle_branches else None,
        links={p.name: p.name for p in written if p.suffix != ".png"}, command=command, version=__version__,
    )
    return [*written, report]


def _readout_figure(diagram: BifurcationDiagram, readout: Callable[[np.ndarray], np.ndarray]) -> Any:
    """One panel per output of ``readout``: :func:`dynsys.plot.plot_bifurcation_diagram` with y = that output."""
    from matplotlib.figure import Figure

    from .. import plot

    k = np.asarray(readout(diagram.branches[0].x[:1])).shape[1]
    fig = Figure(figsize=(6.4, 3.2 * k))
    for i, ax in enumerate(fig.subplots(k, 1, squeeze=False)[:, 0]):
        plot.plot_bifurcation_diagram(diagram, lambda X, i=i: readout(X)[:, i], ax=ax)
        ax.set_ylabel(f"readout {i}")
    fig.tight_layout()
    return fig
