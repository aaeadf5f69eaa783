"""What the jobs share for writing their results: rows of points, graph files, figures, the report.

Both jobs (``dynsys analyze --out``, ``dynsys flipflop``) show the same
points under the same ids everywhere: :func:`point_rows` (the table, the
CSV, the report) at :func:`point_coordinates` (the pictures' axes),
:func:`annotate_graph` (the graph files), :func:`save_figures` and
:func:`save_data_and_report` (``fixed_points.json``, ``.csv``, ``.npz``,
``graph.graphml``, ``.gexf``, ``.json``, ``.dot`` and ``report.html``).
Lines for a person: :func:`describe_graph`, :func:`note_stopped`.
"""
from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import networkx as nx
import numpy as np

from .. import __version__
from .._io import atomic_write, atomic_write_text
from ..fixed_points import FixedPointSet
from ..periodic_orbits import PeriodicOrbit
from ..graph import attractor_graph
from ..graph_export import FORMATS as GRAPH_FORMATS
from ..graph_export import write_graph
from .report import format_number, plural, write_html_report, write_points_csv

CORNER_MARGIN = 0.5  # a readout encodes a corner of {-1, 1}^k when every |output| >= this


def point_rows(
    points: FixedPointSet,
    coordinates: Mapping[str, np.ndarray] | None = None,
    readout: np.ndarray | None = None,
    corner_scale: float = 1.0,
) -> list[dict[str, Any]]:
    """One row per point for tables, the CSV and the report.

    Parameters
    ----------
    points : FixedPointSet
    coordinates : mapping of column name to ndarray of shape (m,), optional
        Positions to show, e.g. ``pc1..pc3`` on the pictures' principal
        components; default: the states' own coordinates
        (:func:`point_coordinates`).
    readout : ndarray of shape (m, k), optional
        A network's readout at each point: columns ``readout`` and, for
        attractors only, ``corner`` (the signs, e.g. "+-+", see
        :func:`corner`; empty for other points, which hold no memory).
    corner_scale : float
        ``scale`` of :func:`corner`.

    Returns
    -------
    list of dict
        Keys: id, kind, label (the stability class), index, q, the
        coordinates, leading eigenvalue (complex; the CSV and the report
        print it as a real number when it is one), for a certified set the
        certified radius (None where not certified), and the readout columns.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> rows = point_rows(find_fixed_points(models.duffing(), seed=0))
    >>> [(r["id"], r["kind"]) for r in rows]
    [('P0', 'attractor'), ('P1', 'attractor'), ('P2', 'saddle')]
    """
    if coordinates is None:
        coordinates = point_coordinates(points)
    return [
        {
            "id": p.id,
            "kind": p.kind,
            "label": p.label,
            "index": p.index,
            "q": p.q,
            **{name: float(v[i]) for name, v in coordinates.items()},
            "leading eigenvalue": complex(p.eigenvalues[0]),
            **({} if points.certified is None else {
                "certified radius": float(points.certified_radius[i]) if points.certified[i] else None}),
            **({} if readout is None else {
                "readout": [round(float(o), 4) for o in readout[i]],
                "corner": corner(readout[i], corner_scale) if p.kind == "attractor" else "",
            }),
        }
        for i, p in enumerate(points)
    ]


def cycle_rows(cycles: Sequence[PeriodicOrbit]) -> list[dict[str, Any]]:
    """One row per cycle, under the ids of the transition graph's cycle nodes ("C0", "C1", ... in order).

    Returns
    -------
    list of dict
        Keys: id, label (:attr:`dynsys.PeriodicOrbit.label`), period,
        amplitude (max_t |x(t) − x̄|), index, leading multiplier (the
        non-trivial Floquet multiplier of largest modulus, complex; 1 for
        a one-state cycle, which has none), and the cycle's time average
        ``mean_<state>`` per state.

    Examples
    --------
    >>> from dynsys import find_periodic_orbits, models
    >>> vdp = models.van_der_pol()
    >>> row = cycle_rows(find_periodic_orbits(vdp))[0]
    >>> row["id"], row["label"], round(row["period"], 8), row["index"]
    ('C0', 'stable cycle', 6.66328686, 0)
    """
    return [
        {
            "id": f"C{j}",
            "label": c.label,
            "period": c.period,
            "amplitude": c.amplitude,
            "index": c.index,
            "leading multiplier": complex(c.nontrivial[0]) if len(c.nontrivial) else 1.0 + 0j,
            **{f"mean_{name}": float(m) for name, m in zip(c.system.state_names, c.mean)},
        }
        for j, c in enumerate(cycles)
    ]


def cycle_table(cycles: Sequence[PeriodicOrbit]) -> str:
    """The cycles as a text table for a person: id, period, amplitude, label, leading non-trivial multiplier.

    Examples
    --------
    >>> from dynsys import find_periodic_orbits, models
    >>> print(cycle_table(find_periodic_orbits(models.van_der_pol())))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    id      period   amplitude  label         leading multiplier
    C0   6.663287    2.829...  stable cycle   0.0008597
    >>> cycle_table(())
    'no attracting cycle found'
    """
    if not cycles:
        return "no attracting cycle found"
    rows = cycle_rows(cycles)
    width = max(len(r["label"]) for r in rows)
    lines = [f"{'id':<4}{'period':>10}{'amplitude':>12}  {'label':<{width}}  leading multiplier"]
    lines += [f"{r['id']:<4}{r['period']:>10.7g}{r['amplitude']:>12.7g}  {r['label']:<{width}}  "
              f"{format_number(r['leading multiplier'])}" for r in rows]
    return "\n".join(lines)


def cycles_json(cycles: Sequence[PeriodicOrbit]) -> str:
    """The cycles as one JSON document, ``{"cycles": [{"id": "C0", ...}, ...]}``, each entry
    :meth:`dynsys.PeriodicOrbit.to_json`'s object with its id (exact: read back with
    ``PeriodicOrbit.from_json(json.dumps(entry), system)``).

    Examples
    --------
    >>> import json
    >>> from dynsys import PeriodicOrbit, find_periodic_orbits, models
    >>> vdp = models.van_der_pol()
    >>> found = find_periodic_orbits(vdp)
    >>> (entry,) = json.loads(cycles_json(found))["cycles"]
    >>> entry["id"], PeriodicOrbit.from_json(json.dumps(entry), vdp).period == found[0].period
    ('C0', True)
    """
    return json.dumps({"cycles": [{"id": f"C{j}", **json.loads(c.to_json())} for j, c in enumerate(cycles)]})


def corner(output: np.ndarray, scale: float = 1.0) -> str:
    """The corner of {-1, 1}^k a readout encodes, as signs (``"+-+"``), or ``""``.

    A readout encodes a corner when every output is at least
    ``CORNER_MARGIN * scale`` away from 0: ``scale`` is the size of the
    network's decided outputs (1 for the flip-flop's targets +-1; the job
    passes the median |output| of its trials, so a readout trained to a
    smaller scale decodes as its trials score); an untrained network's
    point near the origin encodes none.

    Examples
    --------
    >>> corner(np.array([0.97, -1.02, 0.9])), corner(np.array([0.97, -0.01, 0.9]))
    ('+-+', '')
    """
    output = np.asarray(output, dtype=float)
    if np.any(np.abs(output) < CORNER_MARGIN * scale):
        return ""
    return "".join("+" if o > 0 else "-" for o in output)


def annotate_graph(G: nx.MultiDiGraph, rows: Sequence[Mapping[str, Any]], coordinates: Sequence[str]) -> None:
    """Copy the rows' scalar columns into the graph's nodes, for tools that colour and lay out by them.

    Each row's ``coordinates`` columns become node attributes of the same
    name; a readout becomes ``readout1..readoutk``; an attractor's corner
    becomes ``corner`` and its label ``"P3 (+-+)"``.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models, transition_graph
    >>> points = find_fixed_points(models.duffing(), seed=0)
    >>> G = transition_graph(models.duffing(), points)
    >>> annotate_graph(G, point_rows(points), ["coord_x"])
    >>> {node: float(x) for node, x in G.nodes(data="coord_x")}
    {'P0': -1.0, 'P1': 1.0, 'P2': 0.0}
    """
    for row in rows:
        data = G.nodes[row["id"]]
        data.update({name: row[name] for name in coordinates})
        for j, value in enumerate(row.get("readout", ()), start=1):
            data[f"readout{j}"] = value
        if row.get("corner"):
            data["corner"] = row["corner"]
            data["label"] = f"{row['id']} ({row['corner']})"


NOUNS = {"slow": "slow point", "non-hyperbolic": "non-hyperbolic point", "unresolved": "unresolved branch end"}


def count_kinds(G: nx.MultiDiGraph) -> Counter[str]:
    """The nodes of a transition graph by kind, saddles by index ("index-1 saddle").

    Examples
    --------
    >>> from dynsys import find_fixed_points, models, transition_graph
    >>> dict(count_kinds(transition_graph(models.duffing(), find_fixed_points(models.duffing(), seed=0))))
    {'attractor': 2, 'index-1 saddle': 1}
    """
    return Counter(f"index-{d['index']} saddle" if d["kind"] == "saddle" else d["kind"] for _, d in G.nodes(data=True))


def describe_graph(G: nx.MultiDiGraph, added: int = 0) -> str:
    """One line about a transition graph for a person: its nodes by kind (saddles by
    index), how many points the graph added to the search's, its edges, how many
    branches stayed unresolved, and its attractor graph.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models, transition_graph
    >>> describe_graph(transition_graph(models.duffing(), find_fixed_points(models.duffing(), seed=0)))
    'transition graph: 2 attractors, 1 index-1 saddle; 2 edges, 0 unresolved branch ends; attractor graph: 2 attractors, 1 edge'
    """
    kinds = count_kinds(G)
    unresolved = kinds.pop("unresolved", 0)
    A = attractor_graph(G)
    return (
        "transition graph: "
        + (", ".join(plural(n, NOUNS.get(k, k)) for k, n in sorted(kinds.items())) or "no points")
        + (f" ({added} found by the graph)" if added else "")
        + f"; {plural(G.number_of_edges(), 'edge')}, {plural(unresolved, NOUNS['unresolved'])}; "
        f"attractor graph: {plural(A.number_of_nodes(), 'attractor')}, {plural(A.number_of_edges(), 'edge')}"
    )


def without_paths(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of a transition graph without the branches' sampled paths (kept for pictures only).

    Examples
    --------
    >>> from dynsys import find_fixed_points, models, transition_graph
    >>> G = transition_graph(models.duffing(), find_fixed_points(models.duffing(), seed=0), keep_paths=True)
    >>> [("path" in d) for *_, d in G.edges(data=True)], [("path" in d) for *_, d in without_paths(G).edges(data=True)]
    ([True, True], [False, False])
    """
    G = G.copy()
    for *_, data in G.edges(data=True):
        data.pop("path", None)
    return G


def point_coordinates(
    points: FixedPointSet, projection: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """The points' coordinates in the pictures' axes, by column name.

    With ``projection = (mean, components)`` (from
    :func:`dynsys.plot.principal_components`), ``pc1..pck`` =
    (x - mean) @ components.T; without, the states themselves, named
    ``coord_<state>`` (the pictures of systems with n <= 3 use their axes).

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> sorted(point_coordinates(find_fixed_points(models.duffing(), seed=0)))
    ['coord_v', 'coord_x']
    """
    if projection is None:
        return {f"coord_{name}": points.x[:, j] for j, name in enumerate(points.state_names)}
    mean, components = projection
    pcs = (points.x - mean) @ np.asarray(components).T
    return {f"pc{j + 1}": pcs[:, j] for j in range(pcs.shape[1])}


def save_figures(figures: Mapping[str, tuple[str, Any]], out: Path) -> list[Path]:
    """Save figures given as file name -> (caption, Figure) into ``out``, each atomically.

    The format is the name's suffix ("state_space.png"); each picture is
    written to a temporary file in ``out`` and renamed into place
    (:func:`dynsys._io.atomic_write`), so a run killed while drawing leaves
    no truncated picture.

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> out = Path(tempfile.mkdtemp())
    >>> [p.name for p in save_figures({"empty.png": ("An empty picture", fig)}, out)], (out / "empty.png").is_file()
    (['empty.png'], True)
    >>> plt.close(fig)
    """
    for name, (_, fig) in figures.items():
        atomic_write(out / name, lambda f, fig=fig, name=name: fig.savefig(f, format=Path(name).suffix[1:], dpi=110))
    return [out / name for name in figures]


def save_data_and_report(
    out: Path, *, title: str, summary: str, figures: Mapping[str, tuple[str, Any]], points: FixedPointSet,
    graph: nx.MultiDiGraph, rows: list[dict[str, Any]], report_json: str, extra: Sequence[Path] = (),
    command: str | None = None, cycles: Sequence[PeriodicOrbit] | None = None,
) -> list[Path]:
    """The data files of a job (fixed_points.json/.csv/.npz, graph.graphml/.gexf/.json/.dot) and
    ``report.html`` showing ``figures`` and linking the data files and ``extra``.

    ``points``, ``rows`` and the point nodes of ``graph`` are to be the same
    points under the same ids; ``graph`` is written as given (without
    branch paths: see :func:`without_paths`).  With ``cycles`` (the
    attracting cycles searched for, in the order of the graph's cycle
    nodes C0, C1, ...; possibly none), also ``cycles.json``
    (:func:`cycles_json`) and ``cycles.csv`` (:func:`cycle_rows`), and a
    table of the cycles in the report.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys import find_fixed_points, models, transition_graph
    >>> points = find_fixed_points(models.duffing(), seed=0)
    >>> written = save_data_and_report(
    ...     Path(tempfile.mkdtemp()), title="Duffing", summary=points.table(), figures={}, points=points,
    ...     graph=transition_graph(models.duffing(), points), rows=point_rows(points), report_json=points.to_json())
    >>> [p.name for p in written]  # doctest: +NORMALIZE_WHITESPACE
    ['fixed_points.json', 'fixed_points.csv', 'fixed_points.npz', 'graph.graphml', 'graph.gexf', 'graph.json',
     'graph.dot', 'report.html']
    """
    written = [
        atomic_write_text(out / "fixed_points.json", report_json),
        write_points_csv(rows, out / "fixed_points.csv"),
        points.save(out / "fixed_points.npz"),
        *(write_graph(graph, out / f"graph{suffix}") for suffix in GRAPH_FORMATS),
        *extra,
    ]
    found = None if cycles is None else cycle_rows(cycles)
    if cycles is not None:
        written += [atomic_write_text(out / "cycles.json", cycles_json(cycles)),
                    write_points_csv(found, out / "cycles.csv")]
    report = write_html_report(
        out / "report.html",
        title=title,
        summary=summary,
        figures={caption: name for name, (caption, _) in figures.items()},
        table=rows,
        more_tables={} if found is None else {"Attracting cycles": found},
        links={p.name: p.name for p in written},
        command=command,
        version=__version__,
        when=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    return [*written, report]


def note_stopped(points: FixedPointSet, graph: nx.MultiDiGraph | None, max_time: float) -> None:
    """One line on stderr for each stage (search, graph) that the time budget cut short (the result is partial).

    Examples
    --------
    >>> import contextlib, io
    >>> from dynsys import find_fixed_points, models
    >>> points = find_fixed_points(models.duffing(), seed=0, max_seconds=1e-9)
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     note_stopped(points, None, 1e-9)
    >>> print(err.getvalue().strip())
    dynsys: note: the time budget (--max-time 1e-09 s) ran out during the search for fixed points; the result is partial
    """
    stopped = [what for what, cut in (
        ("the search for fixed points", points.stats.get("stopped")),
        ("the transition graph (its open branches are unresolved)", graph is not None and graph.graph["stopped"]),
    ) if cut]
    for what in stopped:
        print(f"dynsys: note: the time budget (--max-time {max_time:g} s) ran out during {what}; "
              "the result is partial", file=sys.stderr)


def command_line(argv: Sequence[str]) -> str:
    """The command as a person would type it again: ``dynsys`` and the quoted arguments.

    Examples
    --------
    >>> print(command_line(["analyze", "lorenz", "--param", "rho=0.5", "--out", "my run"]))
    dynsys analyze lorenz --param rho=0.5 --out 'my run'
    """
    return shlex.join(["dynsys", *map(str, argv)])
