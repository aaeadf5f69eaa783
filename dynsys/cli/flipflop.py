"""The ``dynsys flipflop`` job: open a recurrent network trained on the n-bit flip-flop.

Following Sussillo & Barak (2013), a network that stores n bits should hold
each of the 2^n memories as an attractor, at a corner of a cube in its state
space, with saddles between neighbouring corners.  :func:`analyze_flipflop`

1. runs held-out trials of the task and scores the network on them;
2. checks where the trials settle when the input is off, or held at a
   chosen value (forward iteration,
   :func:`dynsys.simulate.settling_period`): on fixed points, or on period-k
   cycles, which a tanh network trained with a large learning rate may use
   instead (then the k-th iterate is analysed too, and its attractors are
   the cycles' points);
3. samples starts from the trials' hidden states with noise and finds and
   classifies the fixed and slow points of the network at that input;
4. reads out which corner of {-1, 1}^n each attractor encodes (a network
   without a readout skips this and the scoring of step 1);
5. builds the transition graph (:func:`dynsys.graph.transition_graph`, with
   the saddle search between neighbouring attractors) and checks whether its
   attractor graph is the n-cube.

``dynsys flipflop`` (:func:`run`: the bundled network, a freshly trained
one or the user's file) prints its summary, and :func:`write_outputs`
writes the pictures, ``fixed_points.json`` (:meth:`FlipFlopAnalysis.to_dict`)
and ``.csv``, ``fixed_points.npz`` (the whole :class:`FixedPointSet`,
exactly), ``graph.graphml``, ``.gexf``, ``.json`` and ``.dot``, and
``report.html``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import networkx as nx
import numpy as np

from .. import rnn
from .._budget import Deadline
from ..fixed_points import FixedPointSet, find_fixed_points
from ..graph import attractor_graph, transition_graph
from ..graph import graph_points as graph_points_of
from ..simulate import sample_states, settling_period
from ..systems import System
from ..tasks.flipflop import generate
from .inputs import (
    CELL_HELP, DEFAULT_MAX_TIME, INPUT_HELP, MAX_TIME_HELP, READOUT_HELP, UsageError, check_counts,
    check_output_paths, input_vector, read_network, time_budget,
)
from .outputs import (
    annotate_graph, command_line, corner, count_kinds, describe_graph, note_stopped, point_coordinates, point_rows,
    save_data_and_report, save_figures, without_paths,
)
from .report import Progress, write_points_csv

SETTLE_STEPS = 1000  # iterations with the input off before the settling test
HELP = "analyse a recurrent network trained on the n-bit flip-flop"
DESCRIPTION = (
    "Open a recurrent network trained on the n-bit flip-flop (the bundled 3-bit, 64-unit tanh "
    "network by default): score it on held-out trials, find its fixed and slow points, the corners its "
    "attractors encode and the saddles between them, and write pictures, data files, the graph and "
    "report.html to --out."
)


@dataclass(frozen=True, eq=False)
class FlipFlopAnalysis:
    """What :func:`analyze_flipflop` found.

    Attributes
    ----------
    system : System
        The network with its input held at ``input`` (a map, or a flow for
        a continuous RNN).
    input : ndarray of shape (bits,)
        The constant input of ``system`` (zeros: the input off).
    inputs, targets, mask : ndarray of shape (B, T, bits)
        The held-out trials.
    states : ndarray of shape (B, T, n)
        The network's states during the trials.
    outputs : ndarray of shape (B, T, bits), or None
        Its readout; None for a network without a readout.
    accuracy : float or None
        Fraction of masked steps where sign(output) equals the target; None
        without a readout.
    period : ndarray of int, shape (B,)
        Where each trial's final state settles with the input off: 1 a
        fixed point, k a k-cycle, 0 neither (maps only; all 1 for flows,
        which are not checked this way).
    fixed_points : FixedPointSet
        Fixed and slow points of ``system``.
    cycle_period : int
        The period k of the cycles the trials settle on when that is not 1,
        else 1.
    cycle_points : FixedPointSet or None
        Fixed points of ``system.iterate(cycle_period)`` when it is > 1.
    corners : ndarray of int, shape (m, bits), or None
        The sign of the readout at each attractor (rows of
        ``attractors``); None without a readout.  Which of them encode a
        memory (every output decided, :func:`dynsys.cli.outputs.corner`):
        :meth:`encoded_corners`.
    attractors : FixedPointSet
        The attractors: the stable fixed points, or the stable points of the
        k-th iterate when the memories are k-cycles.
    readout : callable or None
        The network's readout, states (m, n) -> outputs (m, bits); None
        when the network has none.
    graph : networkx.MultiDiGraph
        The transition graph of the attractors' system (``system``, or its
        k-th iterate for k-cycles).

    Examples
    --------
    A 2-bit flip-flop held by two uncoupled bistable units: its attractor
    graph is the square (the 2-cube), one saddle on each edge.

    >>> from dynsys import rnn
    >>> cell = rnn.VanillaRNN(2 * np.eye(2), 2 * np.eye(2), W_out=np.eye(2))  # h' = tanh(2u + 2h): 2 bistable units
    >>> analysis = analyze_flipflop(cell, n_trials=16, n_steps=50, n_starts=64, seed=0)
    >>> analysis.bits, len(analysis.attractors), analysis.is_cube
    (2, 4, True)
    >>> sorted(analysis.encoded_corners())
    ['++', '+-', '-+', '--']
    >>> analysis.graph_summary()["nodes"]
    {'attractor': 4, 'index-1 saddle': 4, 'repeller': 1}
    """

    system: System
    input: np.ndarray
    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    states: np.ndarray
    outputs: np.ndarray | None
    accuracy: float | None
    period: np.ndarray
    fixed_points: FixedPointSet
    cycle_period: int
    cycle_points: FixedPointSet | None
    attractors: FixedPointSet
    corners: np.ndarray | None
    readout: Callable[[np.ndarray], np.ndarray] | None
    graph: nx.MultiDiGraph

    @property
    def is_cube(self) -> bool:
        """Whether the attractor graph is the n-cube, n = bits."""
        A = nx.Graph(attractor_graph(self.graph))
        return nx.is_isomorphic(A, nx.hypercube_graph(self.bits))

    @property
    def bits(self) -> int:
        return self.inputs.shape[2]

    def counts(self) -> dict[str, Any]:
        """Numbers of points by kind: stable, saddles by index, repellers, non-hyperbolic, slow."""
        kinds = self.fixed_points.kinds
        saddle_index = self.fixed_points.index[kinds == "saddle"]
        return {
            "fixed": int(self.fixed_points.is_fixed.sum()),
            "stable": int(np.sum(kinds == "attractor")),
            "saddles_by_index": {int(k): int(np.sum(saddle_index == k)) for k in np.unique(saddle_index)},
            "repellers": int(np.sum(kinds == "repeller")),
            "non_hyperbolic": int(np.sum(kinds == "non-hyperbolic")),
            "slow": int(np.sum(kinds == "slow")),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready report: score, counts, attractors with their corners,
        and every fixed and slow point (ids as in the graph and the tables)
        with its readout, and its corner when it is an attractor."""
        points = self.fixed_points.records()
        if self.readout is not None:
            for record, out in zip(points, self.readout(self.fixed_points.x)):
                record["readout"] = out.tolist()
                if record["kind"] == "attractor":
                    record["corner"] = corner(out, self.readout_scale)
        return {
            "system": self.system.name,
            "input": self.input.tolist(),
            "accuracy": self.accuracy,
            "n_trials": len(self.inputs),
            "counts": self.counts(),
            "settling_periods": {int(k): int(c) for k, c in enumerate(np.bincount(self.period)) if c},
            "cycle_period": self.cycle_period,
            "attractors": [{"id": i, "x": x.tolist()} for i, x in zip(self.attractors.ids, self.attractors.x)]
            if self.readout is None else [
                {"id": i, "x": x.tolist(), "corner": corner(out, self.readout_scale), "readout": out.tolist()}
                for i, x, out in zip(self.attractors.ids, self.attractors.x, self.readout(self.attractors.x))
            ],
            "distinct_corners": None if self.readout is None else len(self.encoded_corners()),
            "points": points,
            "search": self.fixed_points.stats,
            "graph": self.graph_summary(),
        }

    def graph_summary(self) -> dict[str, Any]:
        """Nodes of the transition graph by kind, its edges, and whether the
        attractor graph is the n-cube."""
        kinds = count_kinds(self.graph)
        A = attractor_graph(self.graph)
        return {
            "nodes": dict(sorted(kinds.items())),
            "edges": self.graph.number_of_edges(),
            "unresolved_edges": sum(1 for *_, d in self.graph.edges(data=True) if not d["resolved"]),
            "attractor_graph_edges": A.number_of_edges(),
            "is_cube": self.is_cube,
        }

    @property
    def readout_scale(self) -> float:
        """The size of the network's decided outputs: the median |output| over the
        trials' scored steps (1 without a readout); see :func:`dynsys.cli.outputs.corner`."""
        if self.outputs is None or not self.mask.any():
            return 1.0
        return float(np.median(np.abs(self.outputs[self.mask])))

    def encoded_corners(self) -> set[str]:
        """The distinct corners the attractors encode (:func:`dynsys.cli.outputs.corner`); none without a readout."""
        if self.readout is None:
            return set()
        return {c for c in (corner(o, self.readout_scale) for o in self.readout(self.attractors.x)) if c}

    def summary(self) -> str:
        """A few lines for a person: the score, the points by kind, the corners."""
        n = self.counts()
        held = "input (" + ", ".join(f"{v:g}" for v in self.input) + ")" if self.input.any() else "zero input"
        lines = [
            f"held-out trials: {len(self.inputs)} x {self.inputs.shape[1]} steps, "
            + ("no readout: trial scoring and corner decoding skipped" if self.accuracy is None
               else f"accuracy {100 * self.accuracy:.2f}% of masked steps"),
            f"fixed points at {held}: {n['fixed']} ({n['stable']} stable; "
            + ("saddles by index " + ", ".join(f"{k}: {v}" for k, v in n["saddles_by_index"].items())
               if n["saddles_by_index"] else "no saddles")
            + "".join(f"; {n[key]} {name}" for key, name in (("repellers", "repellers"),
                                                             ("non_hyperbolic", "non-hyperbolic")) if n[key])
            + f"), {n['slow']} slow points",
        ]
        settled = np.bincount(self.period, minlength=2)
        if self.system.kind == "map":
            lines.append(
                f"trials settle at {held}: {settled[1]} on fixed points"
                + "".join(f", {c} on {k}-cycles" for k, c in enumerate(settled) if k > 1 and c)
                + (f", {settled[0]} not settled within {SETTLE_STEPS} steps" if settled[0] else "")
            )
        if self.cycle_points is not None:
            lines.append(
                f"memories are held as {self.cycle_period}-cycles: the {self.cycle_period}-th iterate has "
                f"{len(self.attractors)} stable points"
            )
        if self.readout is None:
            lines.append(f"attractors: {len(self.attractors)}")
        else:
            lines.append(
                f"attractors: {len(self.attractors)}, encoding {len(self.encoded_corners())} of the "
                f"{2 ** self.bits} corners of {{-1, 1}}^{self.bits}"
            )
            for i, x, out in zip(self.attractors.ids, self.attractors.x, self.readout(self.attractors.x)):
                lines.append(f"  {i:>4}  {corner(out, self.readout_scale) or 'no corner':>{self.bits}}  readout "
                             f"{np.array2string(out, precision=3)}  |x| = {np.linalg.norm(x):.3f}")
        lines.append(describe_graph(self.graph) + (", the" if self.is_cube else ", not the") + f" {self.bits}-cube")
        return "\n".join(lines)


def analyze_flipflop(
    cell: Any,
    *,
    input: Any = None,
    n_trials: int = 128,
    n_steps: int = 200,
    n_starts: int = 1024,
    noise: float = 0.05,
    pulse_probability: float = 0.05,
    seed: int = 1234,
    tol: float = 1e-10,
    progress: Progress | None = None,
    max_seconds: float | None = None,
) -> FlipFlopAnalysis:
    """Run the flip-flop analysis on a trained cell of :mod:`dynsys.rnn`.

    Parameters
    ----------
    cell : a cell of :mod:`dynsys.rnn` with ``bits`` inputs
        Its readout, when it has one (``bits`` outputs), scores the trials
        and decodes the corner each attractor encodes; without one both are
        skipped (``accuracy``, ``outputs``, ``corners`` and ``readout`` of
        the result are None) and the rest of the analysis is the same.
    input : array_like of shape (bits,), optional
        The constant input at which the network is analysed (its fixed
        points, where the trials settle, the transition graph); zeros (the
        input off) when not given.
    n_trials, n_steps : int
        Size of the held-out batch of trials (seeded by ``seed``, distinct
        from training seeds).
    n_starts : int
        Starts sampled from the trials' states.
    noise : float
        Standard deviation of the Gaussian noise added to the starts.
    pulse_probability : float
        Pulse probability per step and channel of the held-out trials.
    seed : int
    tol : float
        |F| below which a point is fixed.
    progress : Progress, optional
        Reports the steps of the analysis (see :class:`dynsys.cli.report.Progress`).
    max_seconds : float > 0, optional
        Wall-clock budget of the whole analysis, shared by the search and the
        graph (``max_seconds`` of :func:`dynsys.find_fixed_points` and
        :func:`dynsys.transition_graph`); when it runs out their results are
        partial and say so (``fixed_points.stats["stopped"]``,
        ``graph.graph["stopped"]``).  None: no budget.

    Returns
    -------
    FlipFlopAnalysis

    Examples
    --------
    Two uncoupled tanh units h' = tanh(2u + 2h) store 2 bits: at zero input
    each unit has the attractors h = +-0.9575 (the roots of h = tanh 2h)
    and an unstable fixed point 0, so the network has 4 attractors at the
    corners, 4 index-1 saddles between them and a repeller at the origin.

    >>> from dynsys import rnn
    >>> cell = rnn.VanillaRNN(2 * np.eye(2), 2 * np.eye(2), W_out=np.eye(2))  # h' = tanh(2u + 2h): 2 bistable units
    >>> analysis = analyze_flipflop(cell, n_trials=16, n_steps=50, n_starts=64, seed=0)
    >>> analysis.accuracy, analysis.counts()["stable"], analysis.counts()["saddles_by_index"]
    (1.0, 4, {1: 4})
    >>> np.round(np.abs(analysis.attractors.x), 4).tolist()
    [[0.9575, 0.9575], [0.9575, 0.9575], [0.9575, 0.9575], [0.9575, 0.9575]]
    """
    bits = cell.input_size
    if cell.W_out is not None and cell.W_out.shape[0] != bits:
        raise ValueError(f"a flip-flop network has as many outputs as inputs; this one has {cell.W_out.shape[0]} "
                         f"outputs and {bits} inputs")
    system = cell.system(input)  # checks the input's shape
    step = progress.step if progress is not None else (lambda what: None)
    budget = Deadline(max_seconds)

    step("running held-out trials")
    trials = generate(n_trials, n_steps, bits=bits, p=pulse_probability, seed=seed)
    states = cell.run(trials.inputs)
    B, T, n = states.shape
    outputs = accuracy = None
    if cell.W_out is not None:
        outputs = cell.readout(states.reshape(B * T, n)).reshape(B, T, bits)
        accuracy = float(np.mean(np.sign(outputs[trials.mask]) == trials.targets[trials.mask]))

    step("finding fixed and slow points")
    starts = sample_states(states, n_starts, noise=noise, seed=seed)
    fixed_points = find_fixed_points(system, starts, tol=tol, seed=seed, max_seconds=budget.left())

    period = np.ones(B, dtype=int)
    cycle_period, cycle_points = 1, None
    graph_system, graph_points = system, fixed_points
    if system.kind == "map":
        step("checking where the trials settle")
        period, final = settling_period(system, states[:, -1], steps=SETTLE_STEPS)
        settled = period[period > 0]
        if settled.size and np.bincount(settled).argmax() > 1:
            cycle_period = int(np.bincount(settled).argmax())
            cycle_starts = np.concatenate([starts, final[period == cycle_period]])
            graph_system = system.iterate(cycle_period)
            cycle_points = find_fixed_points(graph_system, cycle_starts, tol=tol, seed=seed, max_seconds=budget.left())
            # ids of their own: the points of the k-th iterate are not those of the map ("C0", "C1", ...)
            graph_points = cycle_points = replace(cycle_points, ids=tuple(f"C{i}" for i in range(len(cycle_points))))
    step("building the transition graph")
    graph = transition_graph(graph_system, graph_points, search_saddles=True, keep_paths=True, seed=seed,
                             progress=None if progress is None else progress.note, max_seconds=budget.left())
    graph_points = graph_points_of(graph, graph_system, graph_points)  # with the points the graph added
    if cycle_points is None:
        fixed_points = graph_points
    else:
        cycle_points = graph_points
    attractors = graph_points.stable()
    corners = None
    if cell.W_out is not None:
        corners = np.where(cell.readout(attractors.x) >= 0, 1, -1) if len(attractors) else np.zeros((0, bits), int)
    return FlipFlopAnalysis(
        system=system,
        input=np.zeros(bits) if input is None else np.asarray(input, dtype=float),
        inputs=trials.inputs,
        targets=trials.targets,
        mask=trials.mask,
        states=states,
        outputs=outputs,
        accuracy=accuracy,
        period=period,
        fixed_points=fixed_points,
        cycle_period=cycle_period,
        cycle_points=cycle_points,
        attractors=attractors,
        corners=corners,
        readout=None if cell.W_out is None else cell.readout,
        graph=graph,
    )


def write_outputs(
    analysis: FlipFlopAnalysis, out: Path, progress: Progress | None = None, command: str | None = None
) -> list[Path]:
    """Write the pictures, data files and ``report.html`` of an analysis to ``out``.

    Every output shows the same points (``analysis.fixed_points``, which
    holds the points the graph added) under the same ids; the graph's nodes
    carry their coordinates on the top principal components of the trials'
    states (``pc1..pc3``, the axes of ``state_space.png``), their readout
    and, for attractors, the corner they encode.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys import rnn
    >>> cell = rnn.VanillaRNN(2 * np.eye(2), 2 * np.eye(2), W_out=np.eye(2))  # h' = tanh(2u + 2h): 2 bistable units
    >>> analysis = analyze_flipflop(cell, n_trials=16, n_steps=50, n_starts=64, seed=0)
    >>> written = write_outputs(analysis, Path(tempfile.mkdtemp()))
    >>> [p.name for p in written]  # doctest: +NORMALIZE_WHITESPACE
    ['trials.png', 'state_space.png', 'spectrum.png', 'graph.png', 'fixed_points.json', 'fixed_points.csv',
     'fixed_points.npz', 'graph.graphml', 'graph.gexf', 'graph.json', 'graph.dot', 'report.html']
    """
    from .. import plot  # matplotlib is loaded only when a job draws

    step = progress.step if progress is not None else (lambda what: None)
    step("drawing the pictures")
    points = analysis.fixed_points
    graph_points = points if analysis.cycle_points is None else analysis.cycle_points  # the points of the graph
    projection = plot.principal_components(analysis.states, 3)
    figures = {} if analysis.outputs is None else {  # without a readout there are no outputs to draw
        "trials.png": ("Inputs, targets and outputs of held-out trials", plot.plot_trials(
            analysis.inputs, analysis.targets, analysis.outputs)),
    }
    figures["state_space.png"] = (
        "Hidden states on their top principal components, with the "
        + ("fixed points" if analysis.cycle_points is None else f"fixed points of the {analysis.cycle_period}-th iterate")
        + " and the saddles' branches",
        plot.plot_state_space(analysis.states, graph_points, analysis.graph, system=analysis.system))
    if points.is_fixed.any():
        figures["spectrum.png"] = ("Eigenvalues of the fixed points", plot.plot_spectrum(points.fixed()))
    graph = without_paths(analysis.graph)
    def rows_of(fps: FixedPointSet) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        coordinates = point_coordinates(fps, projection)
        outs = None if analysis.readout is None else analysis.readout(fps.x)
        return point_rows(fps, coordinates, outs, analysis.readout_scale), coordinates

    rows, coordinates = rows_of(points)
    graph_rows = rows
    if graph_points is not points:  # k-cycles: the graph holds the iterate's points
        graph_rows, coordinates = rows_of(graph_points)
    annotate_graph(graph, graph_rows, list(coordinates))
    A = attractor_graph(graph)
    if A.number_of_nodes() > 1:
        figures["graph.png"] = (
            "Attractor graph on the top principal components: attractors (with the corner they encode) joined "
            "through the index-1 saddles between them",
            plot.draw_graph(A, edge_labels=True, projection=projection))
    written = save_figures(figures, out)
    step("writing data files and the report")
    cycles = [] if analysis.cycle_points is None else [
        analysis.cycle_points.save(out / "cycle_points.npz"), write_points_csv(graph_rows, out / "cycle_points.csv")]
    return written + save_data_and_report(
        out, title=f"Flip-flop analysis of {analysis.system.name}", summary=analysis.summary(), figures=figures,
        points=points, graph=graph, rows=rows, report_json=json.dumps(analysis.to_dict(), indent=1),
        extra=cycles, command=command,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dynsys flipflop``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="dynsys flipflop")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--train", "--bits", "2"])
    >>> args.train, args.bits, args.n_starts, args.out
    (True, 2, 1024, 'flipflop_out')
    """
    parser.add_argument("--model", metavar="FILE.npz|FILE.pt", help="a trained network (default: the bundled one)")
    parser.add_argument("--train", action="store_true", help="train a network first (dynsys.tasks.train)")
    parser.add_argument("--bits", type=int, help="bits of the task, with --train (default 3)")
    parser.add_argument("--hidden", type=int, help="hidden units, with --train (default 64)")
    parser.add_argument("--cell", choices=rnn.CELLS, help="with --model: " + CELL_HELP + "; with --train: the "
                        "cell to train (default rnn_tanh)")
    parser.add_argument("--readout", metavar="NAME", help="with --model: " + READOUT_HELP)
    parser.add_argument("--input", metavar="U1,U2,...", help=INPUT_HELP)
    parser.add_argument("--n-starts", type=int, default=1024, help="starts sampled from the trials (default 1024)")
    parser.add_argument("--noise", type=float, default=0.05, help="noise added to the starts (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--out", default="flipflop_out", metavar="DIR", help="output folder (default flipflop_out)")
    parser.add_argument("--max-time", type=float, default=DEFAULT_MAX_TIME, metavar="SECONDS", help=MAX_TIME_HELP)


def _load_network(args: argparse.Namespace, out: Path) -> rnn.RNNCell:
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
        from ..tasks import train  # the trainer is loaded only when asked to train

        out.mkdir(parents=True, exist_ok=True)  # the trained model is the run's first output
        path = out / "model.npz"
        argv = ["flipflop", "--bits", str(3 if args.bits is None else args.bits),
                "--hidden", str(64 if args.hidden is None else args.hidden), "--seed", str(args.seed)]
        if train.main([*argv, "--cell", args.cell or "rnn_tanh", "--out", str(path)]) != 0:
            raise UsageError("training failed (see above)")
        return rnn.load(path)
    if args.model is None:
        return rnn.load_flipflop()
    return read_network(Path(args.model), args.cell, args.readout)


def run(args: argparse.Namespace) -> int:
    """Run ``dynsys flipflop``: check the options, open the network, analyse it, write the outputs; the exit status.

    Raises
    ------
    UsageError
        For bad input, before anything is computed.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> run(parser.parse_args(["--bits", "4"]))
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --bits applies only with --train
    """
    clock = time.perf_counter()
    check_counts(args)
    check_output_paths(args.out)
    out = Path(args.out)
    cell = _load_network(args, out)
    u = input_vector(args.input, cell)
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
