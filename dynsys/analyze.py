"""The ``dynsys analyze --out DIR`` job: pictures, data files and a report for any system.

For a 2-D system the main picture is its phase portrait (stream lines or
arrows, nullclines, manifolds of the saddles, basins); for more dimensions,
trajectories from the search box on their top principal components with the
fixed points and the saddles' branches.  Next to it: the spectra, the
attractor graph, ``fixed_points.json`` (exact), ``.csv``, ``.npz``,
``graph.graphml``, ``graph.json`` and ``report.html``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import networkx as nx
import numpy as np

from ._io import atomic_write_text
from .fixed_points import FixedPointSet
from .graph import attractor_graph
from .graph_export import write_graph
from .report import Progress, write_html_report, write_points_csv
from .simulate import simulate
from .systems import System

N_TRAJECTORIES = 24  # trajectories drawn for systems of more than 2 dimensions


def point_rows(points: FixedPointSet) -> list[dict[str, Any]]:
    """One row per point: kind, label, index, q, coordinates (up to 6), leading eigenvalue."""
    names = points.state_names if len(points.state_names) <= 6 else ()
    return [
        {
            "#": i,
            "type": "fixed" if p.is_fixed else "slow",
            "label": p.label,
            "index": p.index,
            "q": p.q,
            **{name: float(v) for name, v in zip(names, p.x)},
            "leading eigenvalue": f"{p.eigenvalues[0]:.4g}",
        }
        for i, p in enumerate(points)
    ]


def sample_trajectories(system: System, points: FixedPointSet, seed: int) -> np.ndarray:
    """Trajectories (B, T, n) from random states in the system's box (or around the points)."""
    rng = np.random.default_rng(seed)
    if system.bounds is not None:
        lo, hi = system.bounds[:, 0], system.bounds[:, 1]
    else:
        centre, spread = points.x.mean(axis=0), np.ptp(points.x, axis=0) + 1.0
        lo, hi = centre - spread, centre + spread
    x0 = rng.uniform(lo, hi, size=(N_TRAJECTORIES, system.dim))
    if system.kind == "map":
        return simulate(system, x0, steps=200).X
    return simulate(system, x0, (0.0, 20.0), n_points=400).X


def write_outputs(
    system: System, points: FixedPointSet, graph: nx.MultiDiGraph, out: Path, *, seed: int = 0,
    progress: Progress | None = None,
) -> list[Path]:
    """Write the pictures, data files and ``report.html`` of an analysis to ``out``."""
    from . import plot

    step = progress.step if progress is not None else (lambda what: None)
    step("drawing the pictures")
    if system.dim == 2:
        main = ("Phase portrait with the saddles' manifolds and the basins",
                plot.phase_portrait(system, fixed_points=points, basins=True, resolution=100))
    else:
        main = ("Trajectories with the fixed points and the saddles' branches",
                plot.plot_state_space(sample_trajectories(system, points, seed), points, graph, system=system))
    figures = {"state_space.png": main}
    if len(points):
        figures["spectrum.png"] = ("Eigenvalues of the fixed points", plot.plot_spectrum(points))
    if graph.number_of_nodes():
        figures["graph.png"] = ("Attractor graph", plot.draw_graph(attractor_graph(graph), edge_labels=True))
    written = save_figures(figures, out)
    step("writing data files and the report")
    A = attractor_graph(graph)
    summary = (
        f"{system.name} ({system.kind}, n = {system.dim}; "
        + ", ".join(f"{k} = {v:g}" for k, v in system.params.items())
        + f")\n{int(points.is_fixed.sum())} fixed and {int(points.is_slow.sum())} slow points\n{points.table()}\n"
        f"transition graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges; "
        f"attractor graph: {A.number_of_nodes()} attractors, {A.number_of_edges()} edges"
    )
    return written + save_data_and_report(
        out, title=f"dynsys analysis of {system.name}", summary=summary, figures=figures, points=points,
        graph=graph, rows=point_rows(points), report_json=points.to_json(),
    )


def save_figures(figures: Mapping[str, tuple[str, Any]], out: Path) -> list[Path]:
    """Save figures given as file name -> (caption, Figure) into ``out``."""
    for name, (_, fig) in figures.items():
        fig.savefig(out / name, dpi=110)
    return [out / name for name in figures]


def save_data_and_report(
    out: Path, *, title: str, summary: str, figures: Mapping[str, tuple[str, Any]], points: FixedPointSet,
    graph: nx.MultiDiGraph, rows: list[dict[str, Any]], report_json: str, extra: Sequence[Path] = (),
) -> list[Path]:
    """The data files of a job (fixed_points.json/.csv/.npz, graph.graphml/.json) and
    ``report.html`` showing ``figures`` and linking the data files and ``extra``.

    The branches' paths (``transition_graph(keep_paths=True)``) are for the
    pictures; the graph files leave them out.
    """
    graph = graph.copy()
    for *_, data in graph.edges(data=True):
        data.pop("path", None)
    written = [
        atomic_write_text(out / "fixed_points.json", report_json),
        write_points_csv(rows, out / "fixed_points.csv"),
        points.save(out / "fixed_points.npz"),
        write_graph(graph, out / "graph.graphml"),
        write_graph(graph, out / "graph.json"),
        *extra,
    ]
    report = write_html_report(
        out / "report.html",
        title=title,
        summary=summary,
        figures={caption: name for name, (caption, _) in figures.items()},
        table=rows,
        links={p.name: p.name for p in written},
    )
    return [*written, report]
