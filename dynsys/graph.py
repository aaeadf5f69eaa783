"""The transition graph: how the saddles of a system connect its attractors.

Every saddle x* of index k = dim E^u is left along its unstable subspace:

    x_0 = x* + eps_i d,     d a unit vector of E^u,

both branches d = +-v for k = 1, and for k > 1 the 2k directions +-w of
the real unstable eigenvectors w (or +-the columns of the orthonormal basis
Eu where an eigenvalue is complex or the eigenvectors are nearly dependent,
as for a repeated eigenvalue), completed to ``n_directions`` by unit
vectors of E^u from a scrambled Halton sequence mapped to the sphere.  All
branches of all saddles are followed as one batch
(:func:`dynsys.simulate.advance`: rk4 for a flow, iteration for a map), in
chunks of time; after each chunk a branch ends

- at an attractor when it is inside that attractor's capture radius
  (:func:`dynsys.basins.capture_test`, the test of the attractor mapper),
  or inside the tube of an attracting cycle (a node of kind ``"cycle"``,
  see below);
- at a known fixed point (another saddle: a heteroclinic connection) when
  it is inside its capture radius and *at rest*: over the whole chunk it
  stayed within the smallest capture radius of its final state and its
  speed did not grow;
- at a new fixed point when at rest away from every known point: the state
  is polished by :func:`dynsys.fixed_points.find_fixed_points`, classified
  and added as a node (origin ``"branch"``), and its branches are followed
  in turn;
- unresolved when ``max_time`` is reached (or the branch escapes beyond
  ``ESCAPE_FACTOR`` L, L = max(1, max |x| of the points)): the
  edge goes to a node of type ``"unresolved"`` at the state where it
  stopped (a branch that winds onto a limit cycle the graph does not know
  ends so; it is never forced onto a fixed point).

Cycles: for a flow, the attracting cycles (given, or found by
:func:`dynsys.periodic_orbits.find_periodic_orbits` from ``CYCLE_STARTS``
states drawn in ``system.bounds``, or in the box of the points enlarged by
its size, and from the branch starts of the saddles) are nodes "C0",
"C1", ... of kind ``"cycle"``.  A branch ends at cycle j when it is within
the tube radius r_j = ``capture_radius`` rho_j of the cycle's polyline
(:func:`dynsys.periodic_orbits.cycle_distances`), rho_j the least of the
distance from the cycle to the nearest point or other cycle and the
cycle's inner radius min_t |x(t) - x̄| (so that the tube stays clear of a
focus inside the cycle).

Scales (no absolute constants): with d_i the distance from point i to the
nearest other point of the set (or L = max(1, max |x|) for a lone point),
a saddle's branches start at eps_i = ``epsilon`` d_i and point i captures
within r_i = ``capture_radius`` d_i.  With tau the slowest linear
timescale of the known fixed points and cycles (:func:`dynsys.basins.slowest_timescale`:
1 / min_i margin_i over the hyperbolic points, margin min |Re lambda| for
a flow, min ||lambda| - 1| for a map, min |ln |mu|| / T for a cycle), a chunk lasts
``CHUNK_TIMESCALES`` tau and ``max_time`` defaults to
``HORIZON_TIMESCALES`` tau (iterations for a map), both constants of
:mod:`dynsys.basins`.

Bounds: at most ``MAX_SADDLES`` points are followed in a graph (the rest
are counted in ``counts["not_followed"]``); ``max_seconds`` bounds the wall
time (see :func:`transition_graph`).

Saddle-to-saddle connections: a branch from an index-k saddle that passes
within the capture radius of an index-(k-1) saddle while slowing down
(speed below ``SLOW_FRACTION`` times the median speed along its path)
records an extra edge saddle -> saddle with ``via=True``.

References
----------
D. Sussillo and O. Barak, Neural Computation 25(3), 2013 (saddles between
the attractors of a trained flip-flop network).
N. Maheswaranathan et al., "Universality and individuality in neural
dynamics across large populations of recurrent networks", NeurIPS 2019
(comparing the topology of many networks).
"""
from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import networkx as nx
import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import norm, qmc

from ._budget import Deadline
from ._validate import check_count, check_real
from .basins import (
    CHUNK_TIMESCALES,
    ESCAPE_FACTOR,
    HORIZON_TIMESCALES,
    TINY_MULTIPLIER,
    capture_test,
    slowest_timescale,
)
from .fixed_points import FixedPointSet, find_fixed_points
from .linearize import linearize_batch
from .periodic_orbits import PeriodicOrbit, cycle_distances, find_periodic_orbits
from .saddles import find_saddles_between
from .simulate import advance
from .systems import System, check_system

EPSILON = 1e-3  # branch start: eps_i = EPSILON * (distance from saddle i to the nearest other point)
CAPTURE_RADIUS = 0.1  # capture radius r_i = CAPTURE_RADIUS * (distance to the nearest other point)
POINTS_PER_CHUNK = 64  # states stored per chunk and branch
SLOW_FRACTION = 0.1  # a via-connection slows below this fraction of the branch's median speed
MAX_BRANCH_ROUNDS = 4  # rounds of following the branches of newly found saddles
MAX_SADDLES = 256  # points followed in one graph, at most (the first found, lowest index first)
CYCLE_SEARCH_DIM = 3  # cycles="auto" looks for attracting cycles in flows of at most this dimension
CYCLE_STARTS = 64  # ... from this many starts drawn in the box, and from the saddles' branch starts


@dataclass
class _Branch:
    """One branch being followed: where it came from and what it did."""

    saddle: str
    number: int
    direction: np.ndarray
    chunks: list[np.ndarray] = field(default_factory=list)
    time: float = 0.0
    length: float = 0.0
    left_home: bool = False
    end: str | None = None


# ---------------------------------------------------------------- public API
def transition_graph(
    system: System,
    fixed_points: FixedPointSet,
    *,
    epsilon: float | None = None,
    n_directions: int = 8,
    max_time: float | None = None,
    capture_radius: float | None = None,
    keep_paths: bool = False,
    search_saddles: bool = False,
    cycles: bool | str | Sequence[PeriodicOrbit] = "auto",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    max_seconds: float | None = None,
) -> nx.MultiDiGraph:
    """The graph of where the unstable branches of every saddle go.

    Parameters
    ----------
    system : System
    fixed_points : FixedPointSet
        Points of ``system`` (from :func:`dynsys.find_fixed_points`).
    epsilon : float > 0, optional
        Branch starts x* +- eps_i d with eps_i = ``epsilon`` d_i, d_i the
        distance from x* to the nearest other point (default ``EPSILON``).
    n_directions : int >= 1
        Directions per saddle of index k > 1: at least the 2k eigen- or
        basis directions, completed by quasi-random unit vectors of E^u.
    max_time : float > 0, optional
        Time (iterations for a map) after which a branch is unresolved;
        default ``HORIZON_TIMESCALES`` times the slowest timescale tau.
    capture_radius : float > 0, optional
        Capture radius r_i = ``capture_radius`` d_i (default ``CAPTURE_RADIUS``).
    keep_paths : bool
        Store each branch's sampled states as the edge attribute ``path``.
    search_saddles : bool
        Also look for saddles between neighbouring attractors with
        :func:`dynsys.saddles.find_saddles_between`: each attractor with
        every other attractor within ``sqrt(2)`` (+1 %) times its nearest
        attractor distance (the diagonal of a square of neighbours is not
        a neighbour).  Saddles found so get origin ``"saddle_search"``.
    cycles : "auto", bool or sequence of PeriodicOrbit
        The attracting cycles that branches can end on (see the module
        docstring): True finds them (flows only), ``"auto"`` (default) finds
        them for flows of dimension at most ``CYCLE_SEARCH_DIM``, False
        takes none, and a sequence gives them (each must be attracting).
        The search shares ``max_seconds``.  When the ``"auto"`` search
        cannot be done (its integration needs more steps than
        :func:`dynsys.simulate.advance` allows, as for the Rössler flow,
        whose weak focus sets a time scale of 10⁴) the graph is built
        without cycles, says so in ``G.graph["cycle_search"]`` and warns
        (RuntimeWarning); with True the error is raised.
    seed : int
        Seed of the scrambled Halton directions (and of the cycle search's starts).
    progress : callable, optional
        Called with a short text while the work goes on (pairs of the
        saddle search done, branches ended and time reached), e.g.
        :meth:`dynsys.cli.report.Progress.note`.
    max_seconds : float > 0, optional
        Wall-clock budget in seconds (None: unbounded; not to be confused
        with ``max_time``, the integration time of a branch).  It is
        checked between chunks of integration, between the pairs of the
        saddle search and between rounds; when it has run out the graph is
        returned as it stands: branches still being followed end
        unresolved, saddles not yet followed have no edges, and
        ``G.graph["stopped"]`` is ``"time budget"`` (None otherwise).  A
        chunk under way is finished, so the budget may be exceeded by one
        chunk.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes: the points of ``fixed_points`` under their ids
        (``fixed_points.ids``, "P0", "P1", ... by default), then the points
        found on the way, numbered on with the same prefix ("P{m+1}", ...); :func:`graph_points`
        gives all of them as one FixedPointSet.  Node attributes: ``label``
        (the id; jobs may add a short text, e.g. a flip-flop corner),
        ``kind`` ("attractor", "saddle", "repeller", "non-hyperbolic",
        "slow", see :func:`dynsys.fixed_points.point_kind`), ``stability``
        (the class from :mod:`dynsys.linearize`, e.g. "saddle-focus"),
        ``index``, ``q``, ``stable`` (bool), ``lead_re``, ``lead_im`` (the
        leading eigenvalue: largest real part for a flow, largest modulus
        for a map), ``x``, ``eigenvalues``, ``attractor`` (= ``stable``),
        ``type`` ("fixed"/"slow"), ``origin`` ("search", "branch" or
        "saddle_search"); nodes ``"unresolved:{saddle}:{branch}"`` of kind
        and type "unresolved" (``x`` where the branch stopped, ``index`` -1,
        NaN leading eigenvalue); the attracting cycles as nodes "C0", "C1",
        ... (in the order given, or of ``find_periodic_orbits``: by period)
        of kind and type ``"cycle"``, with ``period``, ``multipliers`` (n,)
        complex (as the points' ``eigenvalues``, the trivial one included,
        at index ``trivial``), ``amplitude``, ``x`` (the cycle's first
        state x(0), a state on it), ``mean`` (its time average x̄),
        ``orbit`` (m, n) (its states over one period), ``stability`` (the
        cycle's label, "stable cycle"), ``index``, ``stable`` and
        ``attractor`` (True), ``q`` NaN, ``lead_re``, ``lead_im`` (the
        leading non-trivial Floquet exponent ln(mu) / T, comparable with
        a point's eigenvalue), ``origin`` ("search" or "given");
        :func:`graph_cycles` gives them back as PeriodicOrbits.
        Edges saddle -> end with ``saddle`` (its id), ``branch``, ``direction``, ``time``,
        ``length`` (of the polyline through the sampled states),
        ``resolved``, ``via`` (False), and ``path`` (T, n) when
        ``keep_paths``; via-edges saddle -> saddle with ``via=True`` and
        the same branch attributes.  ``G.graph`` holds ``system``,
        ``kind``, ``epsilon``, ``capture_radius``, ``max_time``, ``tau``,
        ``stopped`` and ``counts`` (with ``cycles``, and ``not_followed``:
        hyperbolic points of index >= 1 left out by ``MAX_SADDLES`` or the
        time budget).

    Notes
    -----
    The points followed ("saddles" here) are the hyperbolic fixed points of
    index k >= 1, repellers (k = n) included: the origin of dx/dt = x - x³
    (n = 1) is the boundary between its two attractors, and the index-3
    point of the 3-cube is a repeller.

    Examples
    --------
    The saddle of the Duffing oscillator sends one branch into each well:

    >>> from dynsys import find_fixed_points, models
    >>> duffing = models.duffing()
    >>> G = transition_graph(duffing, find_fixed_points(duffing, seed=0))
    >>> sorted(G.edges()), [G.nodes[v]["kind"] for v in ("P0", "P1", "P2")]
    ([('P2', 'P0'), ('P2', 'P1')], ['attractor', 'attractor', 'saddle'])

    The Van der Pol oscillator's only fixed point, an unstable focus, sends
    its branches onto the limit cycle (period 6.6632868593 at mu = 1):

    >>> vdp = models.van_der_pol()
    >>> G = transition_graph(vdp, find_fixed_points(vdp, seed=0))
    >>> sorted(set(G.edges())), G.nodes["C0"]["kind"], round(G.nodes["C0"]["period"], 8)
    ([('P0', 'C0')], 'cycle', 6.66328686)
    """
    check_system(system)
    if not isinstance(fixed_points, FixedPointSet):
        raise TypeError(f"fixed_points must be a FixedPointSet, got {type(fixed_points).__name__}")
    if fixed_points.x.shape[1:] != (system.dim,):
        raise ValueError(f"fixed_points must be points of R^{system.dim}, got shape {fixed_points.x.shape}")
    eps_fraction = EPSILON if epsilon is None else check_real(epsilon, "epsilon", positive=True)
    capture = CAPTURE_RADIUS if capture_radius is None else check_real(capture_radius, "capture_radius", positive=True)
    n_directions = check_count(n_directions, "n_directions")
    clock = Deadline(max_seconds)

    G = nx.MultiDiGraph()
    _add_points(G, fixed_points, fixed_points.ids, "search")
    note = progress if progress is not None else (lambda text: None)
    orbits, origin = _attracting_cycles(system, G, fixed_points, cycles, eps_fraction, n_directions, seed, note, clock)
    _add_cycles(G, orbits, origin)
    tau = slowest_timescale(list(fixed_points.fixed().linearizations) + list(orbits))
    horizon = HORIZON_TIMESCALES * tau if max_time is None else check_real(max_time, "max_time", positive=True)
    if search_saddles:
        _add_searched_saddles(system, G, note, clock)
    pending = [v for v in G if G.nodes[v]["saddle"]]
    followed = 0
    for _ in range(MAX_BRANCH_ROUNDS):
        if not pending or clock.passed():
            break
        keep = set(sorted(pending, key=lambda v: G.nodes[v]["index"])[: MAX_SADDLES - followed])
        pending = [v for v in pending if v in keep]
        followed += len(pending)
        before = set(G)
        _follow(system, G, pending, eps_fraction, capture, n_directions, tau, horizon, keep_paths, seed, note, clock)
        pending = [v for v in G if v not in before and G.nodes[v].get("saddle", False)]
    not_followed = sum(bool(d.get("saddle")) for _, d in G.nodes(data=True)) - followed
    for v in G:  # working attributes, not part of the result
        G.nodes[v].pop("saddle", None)
        G.nodes[v].pop("linearization", None)
        G.nodes[v].pop("cycle", None)
    kinds = [G.nodes[v]["type"] for v in G]
    G.graph.update(
        system=system.name,
        kind=system.kind,
        epsilon=f"{eps_fraction:g} x distance to the nearest other point",
        capture_radius=f"{capture:g} x distance to the nearest other point",
        max_time=float(horizon),
        tau=float(tau),
        stopped="time budget" if clock.passed() else None,
        counts={
            "nodes": G.number_of_nodes(),
            "attractors": sum(bool(G.nodes[v]["attractor"]) for v in G),
            "fixed": kinds.count("fixed"),
            "slow": kinds.count("slow"),
            "cycles": kinds.count("cycle"),
            "unresolved": kinds.count("unresolved"),
            "edges": G.number_of_edges(),
            "via_edges": sum(bool(d["via"]) for _, _, d in G.edges(data=True)),
            "not_followed": not_followed,
        },
    )
    return G


def attractor_graph(G: nx.MultiDiGraph) -> nx.MultiGraph:
    """Attractors joined through the index-1 saddles between them.

    An index-1 saddle has a one-dimensional unstable manifold whose two
    branches fall into the two attractors whose basins it separates; when
    both branches of such a saddle end at attractors a and b, the result
    has the edge a - b with attribute ``saddle`` (the saddle's node id).
    Attracting cycles (nodes of kind ``"cycle"``) are attractors like the
    points: a saddle whose branches end on a cycle and a point joins them.
    Higher-index saddles are left out: their branches reach attractors
    across the diagonals of the basin structure.  Every attractor is a
    node (with the attributes of ``G``), isolated or not.

    Parameters
    ----------
    G : networkx.MultiDiGraph from :func:`transition_graph`

    Returns
    -------
    networkx.MultiGraph

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> duffing = models.duffing()
    >>> A = attractor_graph(transition_graph(duffing, find_fixed_points(duffing, seed=0)))
    >>> list(A.edges(data=True))
    [('P0', 'P1', {'saddle': 'P2'})]
    """
    A = nx.MultiGraph()
    A.add_nodes_from((v, d) for v, d in G.nodes(data=True) if d.get("attractor"))
    for s, d in G.nodes(data=True):
        if d.get("index") != 1 or d.get("type") != "fixed":
            continue
        ends = [t for _, t, e in G.out_edges(s, data=True) if not e["via"] and e["resolved"]]
        if len(ends) == 2 and all(t in A for t in ends):
            A.add_edge(ends[0], ends[1], saddle=s)
    return A


def connection_graph(G: nx.MultiDiGraph) -> nx.DiGraph:
    """The connection structure: saddle -> saddle of index one lower, index-1 saddle -> attractor.

    Nodes are the fixed points and cycles of ``G`` (not the unresolved
    ends), added in the order of their index (points before cycles, then by
    the number of their id), each with its ``index``;
    an edge s -> t exists when some resolved branch (or via-connection) of
    s reaches t and index(t) = index(s) - 1.  For the 3-cube: 1 index-3
    saddle -> 6 index-2 -> 12 index-1 -> 8 attractors.

    Parameters
    ----------
    G : networkx.MultiDiGraph from :func:`transition_graph`

    Returns
    -------
    networkx.DiGraph

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> duffing = models.duffing()
    >>> C = connection_graph(transition_graph(duffing, find_fixed_points(duffing, seed=0)))
    >>> [(v, C.nodes[v]["index"]) for v in C], list(C.edges())
    ([('P0', 0), ('P1', 0), ('P2', 1)], [('P2', 'P0'), ('P2', 'P1')])
    """
    C = nx.DiGraph()
    points = [v for v, d in G.nodes(data=True) if d["type"] != "unresolved"]
    for v in sorted(points, key=lambda v: (G.nodes[v]["index"], G.nodes[v]["type"] == "cycle", _node_number(v))):
        C.add_node(v, index=G.nodes[v]["index"], attractor=G.nodes[v]["attractor"])
    for s, t, d in G.edges(data=True):
        if d["resolved"] and s in C and t in C and C.nodes[t]["index"] == C.nodes[s]["index"] - 1:
            C.add_edge(s, t)
    return C


def graph_points(G: nx.MultiDiGraph, system: System, fixed_points: FixedPointSet) -> FixedPointSet:
    """All the fixed and slow points of a transition graph, as one set.

    ``fixed_points`` (what :func:`transition_graph` was given) followed by
    the points the graph added on the way (saddle search, branches that came
    to rest at a new point), in the order of their ids, each linearised
    again; unresolved branch ends are not points, and neither are cycles
    (:func:`graph_cycles` gives those).  A run that shows this set
    in its tables and files shows the same points under the same ids as
    its graph.

    Parameters
    ----------
    G : networkx.MultiDiGraph from :func:`transition_graph`
    system : System
        The system the graph was built for.
    fixed_points : FixedPointSet
        The points the graph was built from.

    Returns
    -------
    FixedPointSet
        With ``ids`` equal to the graph's point nodes.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models, transition_graph
    >>> duffing = models.duffing()
    >>> attractors = find_fixed_points(duffing, seed=0).stable()
    >>> G = transition_graph(duffing, attractors, search_saddles=True)
    >>> graph_points(G, duffing, attractors).kinds.tolist()
    ['attractor', 'attractor', 'saddle']
    """
    known = set(fixed_points.ids)
    added = sorted((v for v in G if _is_point(G, v) and v not in known), key=_node_number)
    if not added:
        return fixed_points
    X = np.array([G.nodes[v]["x"] for v in added], dtype=float)
    q = np.array([G.nodes[v]["q"] for v in added], dtype=float)
    is_fixed = np.array([G.nodes[v]["type"] == "fixed" for v in added])
    extra = FixedPointSet(
        x=X, q=q, speed=np.sqrt(2 * q), is_fixed=is_fixed, is_slow=~is_fixed,
        linearizations=tuple(linearize_batch(system, X)), kind=system.kind, state_names=system.state_names,
        system_name=system.name, params=dict(system.params), ids=tuple(added),
    )
    return fixed_points.concat(extra)


def graph_cycles(G: nx.Graph, system: System) -> tuple[PeriodicOrbit, ...]:
    """The cycles of a transition graph (nodes of kind ``"cycle"``), as PeriodicOrbits.

    Built from the node attributes ``period``, ``orbit``, ``multipliers``
    and ``trivial``, so it works on a graph read back from a file as well;
    in the order of the cycles' ids ("C0", "C1", ...).

    Parameters
    ----------
    G : networkx graph from :func:`transition_graph` (or :func:`attractor_graph`)
    system : System
        The flow the graph was built for.

    Returns
    -------
    tuple of PeriodicOrbit

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> vdp = models.van_der_pol()
    >>> G = transition_graph(vdp, find_fixed_points(vdp, seed=0))
    >>> [round(c.period, 8) for c in graph_cycles(G, vdp)]
    [6.66328686]
    """
    ids = sorted((v for v, d in G.nodes(data=True) if d.get("type") == "cycle"), key=_node_number)
    return tuple(
        PeriodicOrbit(system, G.nodes[v]["period"], G.nodes[v]["orbit"], G.nodes[v]["multipliers"],
                      trivial=G.nodes[v]["trivial"], residual=G.nodes[v]["residual"], method=G.nodes[v]["method"])
        for v in ids
    )


def compare_graphs(G1: nx.Graph, G2: nx.Graph, *, timeout: float = 5.0) -> dict[str, Any]:
    """Compare two attractor graphs (from :func:`attractor_graph`).

    Parameters
    ----------
    G1, G2 : networkx graphs
        Compared as simple undirected graphs (parallel edges merged).
    timeout : float > 0
        Seconds allowed to ``networkx.graph_edit_distance``.

    Returns
    -------
    dict
        ``isomorphic`` (bool) and ``edit_distance`` (the number of node and
        edge insertions/deletions turning one into the other, the best
        found within ``timeout``; None when either graph has more than 12
        nodes).

    Examples
    --------
    >>> import networkx as nx
    >>> compare_graphs(nx.cycle_graph(4), nx.path_graph(4))  # one edge apart
    {'isomorphic': False, 'edit_distance': 1.0}
    """
    timeout = check_real(timeout, "timeout", positive=True)
    for name, g in (("G1", G1), ("G2", G2)):
        if not isinstance(g, nx.Graph):
            raise TypeError(f"{name} must be a networkx graph, got {type(g).__name__}")
    S1, S2 = nx.Graph(G1.to_undirected()), nx.Graph(G2.to_undirected())
    isomorphic = nx.is_isomorphic(S1, S2)
    distance = None
    if max(len(S1), len(S2)) <= 12:
        distance = 0.0 if isomorphic else nx.graph_edit_distance(S1, S2, timeout=timeout)
    return {"isomorphic": isomorphic, "edit_distance": None if distance is None else float(distance)}


# ------------------------------------------------------------------- helpers
_POINT_ID = re.compile(r"([A-Za-z]+)(\d+)")  # a point's id: a prefix and a number, "P3" (unresolved ends have none)


def _node_number(v: Any) -> int:
    """The number of a point id ("P3" -> 3, "C0" -> 0); -1 for other nodes."""
    match = _POINT_ID.fullmatch(v) if isinstance(v, str) else None
    return int(match[2]) if match else -1


def _is_point(G: nx.MultiDiGraph, v: Any) -> bool:
    """Whether node v is a fixed or slow point (not an unresolved end, not a cycle)."""
    return _node_number(v) >= 0 and G.nodes[v]["type"] in ("fixed", "slow")


def _new_ids(G: nx.MultiDiGraph, k: int) -> list[str]:
    """k fresh ids after the largest number m of a point so far, with the points' prefix
    ("P" by default): P{m+1}, ..., P{m+k}."""
    numbered = [v for v in G if _is_point(G, v)]
    prefix = _POINT_ID.fullmatch(numbered[0])[1] if numbered else "P"
    start = max((_node_number(v) for v in numbered), default=-1) + 1
    return [f"{prefix}{start + i}" for i in range(k)]


def _add_points(G: nx.MultiDiGraph, points: FixedPointSet, ids: list[str] | tuple[str, ...], origin: str) -> None:
    """Add the points as nodes with the given ids (attributes: see :func:`transition_graph`)."""
    for v, p in zip(ids, points):
        lin = p.linearization
        lead = complex(p.eigenvalues[0]) if len(p.eigenvalues) else 0j
        G.add_node(
            v,
            label=v,
            kind=p.kind,
            stability=str(p.label),
            index=int(p.index),
            q=float(p.q),
            stable=p.kind == "attractor",
            lead_re=lead.real,
            lead_im=lead.imag,
            x=np.array(p.x),
            eigenvalues=np.array(p.eigenvalues, dtype=complex),
            attractor=p.kind == "attractor",
            type="fixed" if p.is_fixed else "slow",
            origin=origin,
            saddle=bool(p.is_fixed and lin.is_hyperbolic and lin.index >= 1),
            linearization=lin,
        )


def _points(G: nx.MultiDiGraph) -> tuple[list[str], np.ndarray]:
    """The ids and positions (m, n) of the fixed and slow points of G."""
    ids = [v for v in G if _is_point(G, v)]
    return ids, np.array([G.nodes[v]["x"] for v in ids])


def _cycles(G: nx.MultiDiGraph) -> tuple[list[str], list[PeriodicOrbit]]:
    """The ids and PeriodicOrbits of the cycle nodes of G (while it is being built)."""
    ids = [v for v in G if G.nodes[v]["type"] == "cycle"]
    return ids, [G.nodes[v]["cycle"] for v in ids]


def _tube_radii(X: np.ndarray, cycles: list[PeriodicOrbit], fraction: float) -> np.ndarray:
    """fraction * (the least of a cycle's distance to the nearest point or other cycle and its inner radius)."""
    radii = []
    for j, c in enumerate(cycles):
        others = [o.x for i, o in enumerate(cycles) if i != j]
        gaps = [float(np.min(cdist(c.x, X)))] if len(X) else []
        gaps += [float(cycle_distances(c.x, others).min())] if others else []
        radii.append(fraction * min(gaps + [float(np.min(np.linalg.norm(c.x - c.mean, axis=1)))]))
    return np.array(radii, dtype=float)


def _radii(X: np.ndarray, fraction: float) -> np.ndarray:
    """fraction * (distance from each point to the nearest other one; L for a lone point)."""
    L = max(1.0, float(np.max(np.abs(X), initial=0.0)))
    if len(X) < 2:
        return np.full(len(X), fraction * L)
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    return fraction * np.minimum(D.min(axis=1), L * np.sqrt(X.shape[1]))


def _directions(lin: Any, n_directions: int, seed: int) -> np.ndarray:
    """Unit directions (K, n) of E^u, sorted lexicographically (see the module docstring)."""
    Eu = lin.Eu
    k = Eu.shape[1]
    unstable = lin.eigenvalues[:k]  # sorted by decreasing Re (flow) or modulus (map)
    V = lin.eigenvectors[:, :k]
    base = Eu
    if np.all(np.abs(unstable.imag) <= lin.tol[:k]):
        W = V.real / np.linalg.norm(V.real, axis=0)
        if np.linalg.svd(W, compute_uv=False)[-1] > np.sqrt(np.finfo(float).eps):  # independent eigenvectors
            base = W
    D = np.concatenate([base.T, -base.T])
    extra = n_directions - len(D) if k > 1 else 0
    if extra > 0:
        u = qmc.Halton(d=k, scramble=True, seed=seed).random(extra)
        z = norm.ppf(np.clip(u, 1e-12, 1 - 1e-12)) @ Eu.T
        D = np.concatenate([D, z / np.linalg.norm(z, axis=1, keepdims=True)])
    D = D + 0.0  # no negative zeros in the sort
    return D[np.lexsort(np.round(D, 12).T[::-1])]


def _attracting_cycles(
    system: System,
    G: nx.MultiDiGraph,
    fixed_points: FixedPointSet,
    cycles: bool | str | Sequence[PeriodicOrbit],
    eps_fraction: float,
    n_directions: int,
    seed: int,
    note: Callable[[str], None],
    clock: Deadline,
) -> tuple[tuple[PeriodicOrbit, ...], str]:
    """The cycles of the option ``cycles`` of :func:`transition_graph`, and their origin ("search" or "given")."""
    if isinstance(cycles, (bool, str)):
        if cycles not in (True, False, "auto"):
            raise ValueError(f"cycles must be 'auto', True, False or a sequence of PeriodicOrbit, got {cycles!r}")
        if cycles is True and system.kind != "flow":
            raise ValueError(f"cycles=True needs a flow; {system.name} is a map")
        if cycles is False or system.kind != "flow" or (cycles == "auto" and system.dim > CYCLE_SEARCH_DIM):
            return (), "search"
        ids, X = _points(G)
        saddles = [v for v in ids if G.nodes[v]["saddle"]]
        if system.bounds is not None:
            box = np.asarray(system.bounds, dtype=float).reshape(system.dim, 2)
        else:
            size = np.maximum(np.ptp(X, axis=0), 1.0) if len(X) else np.ones(system.dim)
            centre = X.mean(axis=0) if len(X) else np.zeros(system.dim)
            box = np.column_stack([centre - 1.5 * size, centre + 1.5 * size])
        parts = [np.random.default_rng(seed).uniform(box[:, 0], box[:, 1], (CYCLE_STARTS, system.dim))]
        if saddles:
            parts.append(_branch_starts(G, saddles, eps_fraction, n_directions, seed)[1])
        starts = np.concatenate(parts)
        note(f"cycles: following {len(starts)} starts")
        try:
            found = find_periodic_orbits(system, starts=starts, seed=seed, max_seconds=clock.left(),
                                         fixed_points=fixed_points)
        except RuntimeError as exc:
            if cycles is True:
                raise
            G.graph["cycle_search"] = f"not done: {exc}"
            warnings.warn(f"transition_graph: no cycle search for {system.name} ({exc}); pass cycles= to give "
                          "them", RuntimeWarning, stacklevel=3)
            return (), "search"
        return tuple(c for c in found if c.stable), "search"
    given = tuple(cycles)
    for j, c in enumerate(given):
        if not isinstance(c, PeriodicOrbit) or c.x.shape[1] != system.dim or not c.stable:
            raise ValueError(f"cycles[{j}] must be an attracting PeriodicOrbit of {system.name}, got {c!r}")
    return given, "given"


def _add_cycles(G: nx.MultiDiGraph, cycles: tuple[PeriodicOrbit, ...], origin: str) -> None:
    """Add the cycles as nodes C0, C1, ... (skipping ids that points have; attributes: see :func:`transition_graph`)."""
    free = (f"C{k}" for k in itertools.count() if f"C{k}" not in G)
    for c, v in zip(cycles, free):
        lead = c.nontrivial[0] if len(c.nontrivial) else 1.0 + 0j
        exponent = (np.log(max(abs(lead), TINY_MULTIPLIER)) + 1j * np.angle(lead)) / c.period
        G.add_node(
            v, label=v, kind="cycle", stability=c.label, index=c.index, q=float("nan"), stable=c.stable,
            lead_re=float(exponent.real), lead_im=float(exponent.imag), x=np.array(c.x[0]), mean=np.array(c.mean),
            orbit=np.array(c.x), period=c.period, multipliers=np.array(c.multipliers), trivial=c.trivial,
            amplitude=c.amplitude, residual=c.residual, method=c.method, attractor=c.stable, type="cycle",
            origin=origin, saddle=False, cycle=c,
        )


def _add_searched_saddles(system: System, G: nx.MultiDiGraph, note: Callable[[str], None], clock: Deadline) -> None:
    """Saddles between neighbouring attractors, from dynsys.saddles.find_saddles_between."""
    attractors = [v for v in G if G.nodes[v]["attractor"]]
    if len(attractors) < 2:
        return
    A = np.array([G.nodes[v]["x"] for v in attractors])
    D = cdist(A, A)
    np.fill_diagonal(D, np.inf)
    near = D <= 1.01 * np.sqrt(2.0) * D.min(axis=1, keepdims=True)
    pairs = sorted({(min(i, j), max(i, j)) for i, j in zip(*np.nonzero(near | near.T))})
    found = []
    for k, (i, j) in enumerate(pairs):  # one boundary search per pair of neighbouring attractors
        if clock.passed():
            break
        note(f"saddle search: pair {k + 1} of {len(pairs)}")
        try:
            s = find_saddles_between(system, A[i], A[j])
        except (ValueError, RuntimeError):
            continue
        if s is not None:
            found.append(np.asarray(s, dtype=float).reshape(-1, system.dim))
    if found:
        _add_new_points(system, G, np.concatenate(found), "saddle_search", clock)


def _add_new_points(system: System, G: nx.MultiDiGraph, Y: np.ndarray, origin: str, clock: Deadline) -> None:
    """Polish the states Y into fixed points and add those not yet known as nodes."""
    polished = find_fixed_points(system, starts=Y, max_seconds=clock.left())
    if not len(polished):
        return
    _, X = _points(G)
    r = _radii(X, CAPTURE_RADIUS)  # a polished point within a known point's capture radius is that point
    known = capture_test(polished.x, X, r)[0].any(axis=1)
    new = polished[~known]
    _add_points(G, new, _new_ids(G, len(new)), origin)


def _branch_starts(
    G: nx.MultiDiGraph, saddles: list[str], eps_fraction: float, n_directions: int, seed: int
) -> tuple[list[_Branch], np.ndarray]:
    """The branches of ``saddles`` and their starts x* + eps_i d (K, n) (see the module docstring)."""
    ids, X = _points(G)
    eps = dict(zip(ids, _radii(X, eps_fraction)))
    branches, starts = [], []
    for s in saddles:
        for b, d in enumerate(_directions(G.nodes[s]["linearization"], n_directions, seed)):
            branches.append(_Branch(s, b, d))
            starts.append(G.nodes[s]["x"] + eps[s] * d)
    return branches, np.array(starts, dtype=float)


def _follow(
    system: System,
    G: nx.MultiDiGraph,
    saddles: list[str],
    eps_fraction: float,
    capture: float,
    n_directions: int,
    tau: float,
    horizon: float,
    keep_paths: bool,
    seed: int,
    note: Callable[[str], None],
    clock: Deadline,
) -> None:
    """Follow every branch of ``saddles`` as one batch and add the edges to G (until ``clock`` runs out)."""
    branches, Y = _branch_starts(G, saddles, eps_fraction, n_directions, seed)
    ids, X = _points(G)
    cycle_ids, cycles = _cycles(G)
    L = max(1.0, float(np.max(np.abs(X))))
    chunk = CHUNK_TIMESCALES * tau  # rounded up to whole iterations for a map, by advance
    active = np.arange(len(branches))
    elapsed = 0.0
    while active.size and elapsed < horizon and not clock.passed():
        note(f"branches: {len(branches) - active.size} of {len(branches)} ended, t = {elapsed:.4g} of {horizon:.4g}")
        tr = advance(system, Y[active], min(chunk, horizon - elapsed), n_points=POINTS_PER_CHUNK + 1,
                     max_norm=ESCAPE_FACTOR * L)
        P, t, diverged = tr.X, elapsed + tr.t, tr.diverged
        elapsed = float(t[-1])
        ids, X = _points(G)
        r = _radii(X, capture)
        radii = np.concatenate([r, _tube_radii(X, cycles, capture)])  # balls around the points, tubes around cycles
        speed = np.linalg.norm(np.nan_to_num(system.residual(P.reshape(-1, P.shape[2]))), axis=1)
        speed = speed.reshape(P.shape[:2])
        finite = ~diverged
        end = P[:, -1]
        inside, D = capture_test(end, X, radii, cycles)
        targets = ids + cycle_ids
        attractor = np.array([G.nodes[v]["attractor"] for v in targets])
        still = np.max(np.linalg.norm(P - end[:, None, :], axis=2), axis=1) <= r.min()
        at_rest = finite & still & (speed[:, -1] <= speed[:, 0])
        ended = np.zeros(len(active), dtype=bool)
        new_rest = []
        for j, a in enumerate(active):  # bookkeeping per branch; the integration is batched
            br = branches[a]
            path = P[j][np.isfinite(P[j]).all(axis=1)]
            br.chunks.append(path)
            br.length += float(np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1)))
            home = ids.index(br.saddle)
            br.left_home |= bool(np.any(np.linalg.norm(path - X[home], axis=1) > r[home]))
            eligible = inside[j].copy()
            if not br.left_home:
                eligible[home] = False
            hits = np.flatnonzero(eligible & (attractor | (at_rest[j] & (np.arange(len(targets)) < len(ids)))))
            br.time = float(t[len(path) - 1])  # the last finite state (the chunk starts finite)
            if diverged[j]:
                ended[j] = True
            elif hits.size:
                e = hits[np.argmin(D[j, hits])]
                br.end, ended[j] = targets[e], True
                first = np.argmax(capture_test(path, X, radii, cycles)[0][:, e])  # first sample inside
                br.time = float(t[first])
            elif at_rest[j] and not inside[j].any():
                new_rest.append(j)
        if new_rest:  # such a branch ends at its new point at the next chunk's test
            _add_new_points(system, G, end[new_rest], "branch", clock)
        Y[active] = np.where(np.isfinite(end), end, Y[active])
        active = active[~ended]
    for br in branches:
        _add_branch_edges(system, G, br, keep_paths, capture)


def _add_branch_edges(
    system: System, G: nx.MultiDiGraph, br: _Branch, keep_paths: bool, capture: float
) -> None:
    """The edge saddle -> end of one branch, and its via-edges."""
    path = np.concatenate(br.chunks) if br.chunks else np.empty((0, system.dim))
    attrs = {"saddle": br.saddle, "branch": br.number, "direction": br.direction, "time": br.time, "length": br.length}
    if keep_paths:
        attrs["path"] = path
    end = br.end
    if end is None:
        end = f"unresolved:{br.saddle}:{br.number}"
        x = path[-1] if len(path) else G.nodes[br.saddle]["x"]
        F = system.residual(x[None, :])[0]
        G.add_node(
            end, label=end, kind="unresolved", stability="unresolved", index=-1, q=float(0.5 * F @ F),
            stable=False, lead_re=float("nan"), lead_im=float("nan"), x=np.array(x),
            eigenvalues=np.zeros(0, dtype=complex), attractor=False, type="unresolved", origin="branch",
        )
    G.add_edge(br.saddle, end, resolved=br.end is not None, via=False, **attrs)
    k = G.nodes[br.saddle]["index"]
    ids, X = _points(G)
    lower = [i for i, v in enumerate(ids) if G.nodes[v]["index"] == k - 1 and G.nodes[v]["saddle"] and v != br.end]
    if not lower or len(path) < 3:
        return
    r = _radii(X, capture)[lower]
    speed = np.linalg.norm(system.residual(path), axis=1)
    slow = speed < SLOW_FRACTION * np.median(speed)
    near, _ = capture_test(path, X[lower], r)
    for i in np.flatnonzero((near & slow[:, None]).any(axis=0)):
        G.add_edge(br.saddle, ids[lower[i]], resolved=True, via=True, **attrs)
