"""Comparing the items of a sweep: topology classes of their attractor graphs and a fixed-point-geometry distance.

Two questions about a population of systems (networks trained with different
seeds, a model over a parameter grid; Maheswaranathan et al. 2019,
"Universality and individuality in neural dynamics across large populations
of recurrent networks", NeurIPS):

- **Topology**: do the items share the same attractor graph?  The items'
  attractor graphs (:func:`dynsys.attractor_graph`), as simple undirected
  graphs (parallel edges merged, self-loops dropped), fall into exact
  isomorphism classes (:func:`topology_classes`: Weisfeiler-Lehman hashes
  split them into buckets, ``networkx.is_isomorphic`` decides within a
  bucket).  The classes' representatives are compared by graph edit
  distance (:func:`dynsys.compare_graphs`; graphs of at most 12 nodes).
  For a sweep of fixed points alone (no graph) the topology of an item is
  its counts of fixed points by kind and index, and the distance between
  two classes the number of points to add or remove to turn one's counts
  into the other's.
- **Geometry**: how alike are the arrangements of the fixed points?
  :func:`geometry_distances` compares the distributions of the pairwise
  distances between each item's fixed points, each scaled by its mean (the
  "shape distribution" D2 of Osada et al. 2002), by the 1-Wasserstein
  distance.  Through the distances alone it ignores rotations,
  translations, reflections and the dimension of the state space, and the
  scaling makes it ignore scale too, so networks of different sizes
  compare.  It is the lower bound of the Gromov-Wasserstein distance through
  the global distributions of distances of Mémoli (2011, Section 6), up to
  three changes: that bound is half the Wasserstein distance, takes the
  distances unscaled, and counts the pairs (x, x) too (an atom of mass 1/m
  at 0, which would set sets of different sizes apart; Osada's D2 leaves
  them out, as here).  Like any such invariant it tells apart arrangements
  whose distances differ, not every pair of non-isometric sets.  Items are
  then grouped by average-linkage clustering (:func:`linkage_clusters`).

:func:`compare` does both for a :class:`~dynsys.sweep.SweepResult` and
returns a :class:`Comparison`: a table (:attr:`Comparison.rows`,
:meth:`Comparison.to_csv`) and a figure (:meth:`Comparison.figure`).

References
----------
F. Mémoli, "Gromov-Wasserstein distances and the metric approach to object
matching", Found. Comput. Math. 11 (2011) 417-487.
R. Osada, T. Funkhouser, B. Chazelle, D. Dobkin, "Shape distributions",
ACM Trans. Graphics 21 (2002) 807-832.
"""
from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Mapping, Protocol, Sequence

import networkx as nx
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import cdist, pdist, squareform

from .._io import atomic_write, atomic_write_text
from .._validate import check_real
from ..fixed_points import FixedPointSet
from ..graph import attractor_graph, compare_graphs
from .engine import rows_csv

DEFAULT_THRESHOLD = 0.1
"""Default cut of the average-linkage tree: items closer than this (in the geometry distance) share a cluster."""
MAX_PANELS = 8
"""Most topology classes :meth:`Comparison.figure` draws a panel for (the largest classes)."""
MAX_TICK_LABELS = 40
"""Most items whose labels :meth:`Comparison.figure` writes along the matrix."""


class _SweepLike(Protocol):
    """What :func:`compare` reads from a sweep: :class:`dynsys.sweep.SweepResult` has it."""

    rows: list[dict[str, Any]]
    keys: list[str]

    def load(self, key: str) -> Any:
        """The result of the item ``key``."""


# ------------------------------------------------------------------ geometry
def shape_distribution(x: Any) -> np.ndarray:
    """The sorted pairwise distances of the points ``x``, divided by their mean (Osada et al.'s D2).

    For points x_1, ..., x_m (m >= 2, not all equal) the values are
    d_ij / d̄ over the pairs i < j, where d_ij = |x_i - x_j| and d̄ is the
    mean of the d_ij; they have mean 1.  Fewer than two points, or points
    that all coincide, have the one value 0 (all their distances are 0).

    Parameters
    ----------
    x : array_like of shape (m, n)

    Returns
    -------
    ndarray of shape (m (m - 1) / 2,), or (1,) for fewer than two points

    Examples
    --------
    >>> shape_distribution([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])  # distances 1, 1, 2; mean 4/3
    array([0.75, 0.75, 1.5 ])
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"x must be a finite array of shape (m, n), got shape {x.shape}")
    d = np.sort(pdist(x)) if len(x) >= 2 else np.zeros(1)
    mean = d.mean()
    return d / mean if mean > 0 else np.zeros(1)


def geometry_distances(point_sets: Sequence[Any]) -> np.ndarray:
    """The 1-Wasserstein distances between the shape distributions of point sets, all pairs.

    D_ab = W_1(P_a, P_b) = ∫ |F_a(t) - F_b(t)| dt, where F_a is the
    distribution function of :func:`shape_distribution` of the a-th set
    (what ``scipy.stats.wasserstein_distance`` gives; computed as the L1
    distance of the quantile functions, one ``cdist`` per pair of set sizes).  D is symmetric with a zero
    diagonal; D_ab = 0 when set b is set a rotated, reflected, translated,
    scaled, or embedded in more dimensions (distances are kept up to one
    factor, which the scaling removes).  Every distribution has mean 1, so
    D_ab <= 2; a set of fewer than two points is at distance 1 from any
    set of two points or more.

    Parameters
    ----------
    point_sets : sequence of array_like of shape (m_a, n_a)
        The sets may differ in size m_a and dimension n_a.

    Returns
    -------
    ndarray of shape (len(point_sets), len(point_sets))

    Examples
    --------
    Three points in a line against an equilateral triangle: the line's
    scaled distances are 3/4, 3/4, 3/2 and the triangle's 1, 1, 1, so
    W_1 = (1/4 + 1/4 + 1/2) / 3 = 1/3.

    >>> line, triangle = [[0, 0], [1, 0], [2, 0]], [[0, 0], [1, 0], [0.5, 3 ** 0.5 / 2]]
    >>> D = geometry_distances([line, triangle])
    >>> np.round(D * 3, 12)
    array([[0., 1.],
           [1., 0.]])
    """
    shapes = [shape_distribution(x) for x in point_sets]
    D = np.zeros((len(shapes), len(shapes)))
    by_size: dict[int, list[int]] = {}
    for i, shape in enumerate(shapes):
        by_size.setdefault(len(shape), []).append(i)
    sizes = sorted(by_size)
    # W_1 = ∫_0^1 |Q_a(t) - Q_b(t)| dt with Q the quantile functions (the sorted values, steps at k/m): between
    # the sets of sizes m and n both are constant on the intervals between the points k/m and k/n, so one
    # weighted L1 distance (cdist) per pair of sizes gives every pair of items of those sizes
    for k, m in enumerate(sizes):
        for n in sizes[k:]:
            edges = np.union1d(np.arange(m + 1) / m, np.arange(n + 1) / n)
            middle, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
            A = np.array([shapes[i] for i in by_size[m]])[:, (middle * m).astype(int)] * width
            B = np.array([shapes[i] for i in by_size[n]])[:, (middle * n).astype(int)] * width
            block = cdist(A, B, "cityblock")
            D[np.ix_(by_size[m], by_size[n])] = block
            D[np.ix_(by_size[n], by_size[m])] = block.T
    return D


def linkage_clusters(distances: Any, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Average-linkage clusters of items from their distances, cut at ``threshold``.

    Hierarchical clustering (UPGMA, ``scipy.cluster.hierarchy.linkage``
    with ``method="average"``): two clusters merge while the mean distance
    between their members is at most ``threshold``.  Clusters are numbered
    0, 1, ... from the largest; clusters of equal size by their first item.

    Parameters
    ----------
    distances : array_like of shape (N, N)
        Symmetric, zero diagonal, finite and >= 0.
    threshold : float >= 0

    Returns
    -------
    ndarray of int, shape (N,)
        Each item's cluster.

    Examples
    --------
    >>> D = np.array([[0, 0.1, 5], [0.1, 0, 5], [5, 5, 0]])
    >>> linkage_clusters(D, threshold=1.0).tolist()
    [0, 0, 1]
    """
    threshold = check_real(threshold, "threshold")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    D = np.asarray(distances, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1] or not np.isfinite(D).all() or (D < 0).any():
        raise ValueError(f"distances must be a finite square array >= 0, got shape {D.shape}")
    if not np.allclose(D, D.T) or np.diag(D).any():
        raise ValueError("distances must be symmetric with a zero diagonal")
    if len(D) < 2:
        return np.zeros(len(D), dtype=int)
    tree = linkage(squareform(D, checks=False), method="average")
    return _numbered_by_size(fcluster(tree, t=threshold, criterion="distance"))


def _numbered_by_size(groups: Sequence[Hashable]) -> np.ndarray:
    """Groups renumbered 0, 1, ... from the largest; equal sizes in the order of their first item."""
    sizes = Counter(groups)
    first: dict[Hashable, int] = {}
    for i, g in enumerate(groups):
        first.setdefault(g, i)
    order = sorted(first, key=lambda g: (-sizes[g], first[g]))
    number = {g: k for k, g in enumerate(order)}
    return np.array([number[g] for g in groups], dtype=int)


# ------------------------------------------------------------------ topology
def simple_graph(G: nx.Graph) -> nx.Graph:
    """``G`` as a simple undirected graph: direction dropped, parallel edges merged, self-loops removed.

    Node attributes are kept; edge attributes are not (merged edges have
    several).

    Examples
    --------
    >>> G = nx.MultiDiGraph([(0, 1), (1, 0), (1, 1), (1, 2)])
    >>> sorted(simple_graph(G).edges())
    [(0, 1), (1, 2)]
    """
    S = nx.Graph()
    S.add_nodes_from(G.nodes(data=True))
    S.add_edges_from((u, v) for u, v in G.edges() if u != v)
    return S


def topology_classes(graphs: Sequence[nx.Graph]) -> np.ndarray:
    """The exact isomorphism classes of graphs, as simple undirected graphs.

    Each graph is taken as :func:`simple_graph`; graphs whose
    Weisfeiler-Lehman hashes (``networkx.weisfeiler_lehman_graph_hash``,
    an isomorphism invariant) differ are not isomorphic, and within a hash
    bucket each graph is tested with ``networkx.is_isomorphic`` against the
    representatives (first members) of the bucket's classes so far.  Node
    and edge attributes play no part.  Classes are numbered 0, 1, ... from
    the largest; classes of equal size by their first graph.

    Parameters
    ----------
    graphs : sequence of networkx graphs

    Returns
    -------
    ndarray of int, shape (len(graphs),)
        Each graph's class.

    Examples
    --------
    >>> cube = nx.hypercube_graph(3)
    >>> relabelled = nx.relabel_nodes(cube, {v: k for k, v in enumerate(cube)})
    >>> topology_classes([nx.path_graph(3), cube, relabelled]).tolist()
    [1, 0, 0]
    """
    simple = [simple_graph(G) for G in graphs]
    buckets: dict[str, list[int]] = {}  # WL hash -> the representatives of its classes
    owner: list[int] = []
    for i, S in enumerate(simple):
        with warnings.catch_warnings():  # networkx >= 3.5 notes that its hashes changed in 3.5: not kept here
            warnings.filterwarnings("ignore", "The hashes produced", UserWarning)
            reps = buckets.setdefault(nx.weisfeiler_lehman_graph_hash(S), [])
        match = next((r for r in reps if nx.is_isomorphic(simple[r], S)), None)
        if match is None:
            reps.append(i)
            match = i
        owner.append(match)
    return _numbered_by_size(owner)


def point_counts(points: FixedPointSet) -> dict[str, int]:
    """The numbers of fixed points by kind, saddles and non-hyperbolic points by index too.

    Keys "attractor", "repeller", "saddle of index k", "non-hyperbolic of
    index k", in that order (those present only).

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> point_counts(find_fixed_points(models.duffing(), seed=0))
    {'attractor': 2, 'saddle of index 1': 1}
    """
    fixed = points.fixed()
    names = [str(kind) if kind in ("attractor", "repeller") else f"{kind} of index {k}"
             for kind, k in zip(fixed.kinds, fixed.index)]
    order = {"attractor": 0, "repeller": 1, "saddle": 2, "non-hyperbolic": 3}
    counts = Counter(names)
    return {name: counts[name] for name in sorted(counts, key=lambda s: (order[s.split(" of ")[0]], s))}


@dataclass(frozen=True)
class TopologyClass:
    """One class of items with the same topology.

    Attributes
    ----------
    id : int
        0 for the largest class.
    members : tuple of str
        The items' keys, in sweep order; the first is the representative.
    graph : networkx.Graph or None
        The representative's attractor graph as a simple graph (graph
        sweeps); None for a sweep of fixed points alone.
    counts : dict of str to int
        The representative's fixed points by kind (:func:`point_counts`).
    description : str
        For people: "8 attractors, 12 edges" or "2 attractors, 1 saddle of index 1".

    Examples
    --------
    >>> TopologyClass(0, ("0000-a",), None, {"attractor": 2}, "2 attractors").representative
    '0000-a'
    """

    id: int
    members: tuple[str, ...]
    graph: nx.Graph | None
    counts: dict[str, int]
    description: str

    @property
    def representative(self) -> str:
        """The key of the class's first item."""
        return self.members[0]


@dataclass(frozen=True, eq=False)
class Comparison:
    """The items of a sweep grouped by topology and by fixed-point geometry (from :func:`compare`).

    Attributes
    ----------
    keys, labels : tuple of str
        The compared items (those whose status is "ok"), in sweep order.
    topology : ndarray of int, shape (N,)
        Each item's topology class (an index into ``classes``).
    classes : tuple of TopologyClass
        Largest first.
    class_distances : ndarray of shape (C, C)
        Between the classes' representatives: the graph edit distance
        (:func:`dynsys.compare_graphs`; NaN where a graph has more than 12
        nodes) or, for point counts, the number of points added or removed.
    distances : ndarray of shape (N, N)
        The geometry distance between items (:func:`geometry_distances` of
        their fixed points).
    clusters : ndarray of int, shape (N,)
        Each item's geometry cluster (:func:`linkage_clusters` at ``threshold``).
    threshold : float
    params : tuple of dict
        Each item's ``param_*`` columns from the sweep's summary (grids).
    skipped : tuple of str
        Keys of the items left out because they failed.

    Examples
    --------
    >>> import numpy as np
    >>> c = Comparison(keys=("0000-a", "0001-b"), labels=("a", "b"), topology=np.array([0, 0]),
    ...     classes=(TopologyClass(0, ("0000-a", "0001-b"), None, {"attractor": 2}, "2 attractors"),),
    ...     class_distances=np.zeros((1, 1)), distances=np.zeros((2, 2)), clusters=np.array([0, 0]),
    ...     threshold=0.1)
    >>> c.rows[1]
    {'key': '0001-b', 'label': 'b', 'topology_class': 0, 'topology': '2 attractors', 'geometry_cluster': 0}
    """

    keys: tuple[str, ...]
    labels: tuple[str, ...]
    topology: np.ndarray
    classes: tuple[TopologyClass, ...]
    class_distances: np.ndarray
    distances: np.ndarray
    clusters: np.ndarray
    threshold: float
    params: tuple[dict[str, Any], ...] = ()
    skipped: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One row per item: key, label, topology_class, topology (its description), geometry_cluster, params."""
        params = self.params or ({},) * len(self)
        return [
            {"key": key, "label": label, "topology_class": int(t), "topology": self.classes[t].description,
             "geometry_cluster": int(c), **p}
            for key, label, t, c, p in zip(self.keys, self.labels, self.topology, self.clusters, params)
        ]

    def class_rows(self) -> list[dict[str, Any]]:
        """One row per topology class: id, items, representative, description, distances to the other classes.

        Examples
        --------
        >>> import numpy as np
        >>> c = Comparison(keys=("0000-a",), labels=("a",), topology=np.array([0]),
        ...     classes=(TopologyClass(0, ("0000-a",), None, {"attractor": 2}, "2 attractors"),),
        ...     class_distances=np.zeros((1, 1)), distances=np.zeros((1, 1)), clusters=np.array([0]), threshold=0.1)
        >>> c.class_rows()
        [{'class': 0, 'items': 1, 'representative': '0000-a', 'topology': '2 attractors', 'distance to 0': 0.0}]
        """
        return [
            {"class": c.id, "items": len(c.members), "representative": c.representative, "topology": c.description,
             **{f"distance to {d.id}": float(self.class_distances[c.id, d.id]) for d in self.classes}}
            for c in self.classes
        ]

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :attr:`rows` as CSV to ``path``, atomically; the path.

        Examples
        --------
        >>> import numpy as np, tempfile, pathlib
        >>> c = Comparison(keys=("0000-a",), labels=("a",), topology=np.array([0]),
        ...     classes=(TopologyClass(0, ("0000-a",), None, {"attractor": 2}, "2 attractors"),),
        ...     class_distances=np.zeros((1, 1)), distances=np.zeros((1, 1)), clusters=np.array([0]), threshold=0.1)
        >>> print(c.to_csv(pathlib.Path(tempfile.mkdtemp()) / "c.csv").read_text().strip())
        key,label,topology_class,topology,geometry_cluster
        0000-a,a,0,2 attractors,0
        """
        return atomic_write_text(path, rows_csv(self.rows))

    def order(self) -> np.ndarray:
        """The items' positions sorted by topology class, then geometry cluster, then sweep order.

        Examples
        --------
        >>> import numpy as np
        >>> c = Comparison(keys=("a", "b", "c"), labels=("a", "b", "c"), topology=np.array([1, 0, 0]),
        ...     classes=(), class_distances=np.zeros((2, 2)), distances=np.zeros((3, 3)),
        ...     clusters=np.array([0, 1, 0]), threshold=0.1)
        >>> c.order().tolist()
        [2, 1, 0]
        """
        return np.lexsort((np.arange(len(self)), self.clusters, self.topology))

    def figure(self) -> Any:
        """The geometry distance matrix ordered by topology class, and one panel per class.

        Left: :attr:`distances` with the items in :meth:`order`, class
        boundaries drawn as lines, item labels on the axes (up to
        ``MAX_TICK_LABELS`` items).  Right: for each of the largest
        ``MAX_PANELS`` classes, its representative's attractor graph drawn
        with networkx (Kamada-Kawai layout), or its counts of fixed points
        for a sweep without graphs.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import numpy as np
        >>> c = Comparison(keys=("0000-a",), labels=("a",), topology=np.array([0]),
        ...     classes=(TopologyClass(0, ("0000-a",), nx.path_graph(2), {"attractor": 2}, "2 attractors, 1 edge"),),
        ...     class_distances=np.zeros((1, 1)), distances=np.zeros((1, 1)), clusters=np.array([0]), threshold=0.1)
        >>> len(c.figure().axes)  # the matrix, its colour bar, one class panel
        3
        """
        from matplotlib.figure import Figure  # matplotlib is loaded only when drawing

        shown = self.classes[:MAX_PANELS]
        columns = 1 if len(shown) <= 2 else 2
        grid_rows = max(2, math.ceil(len(shown) / columns))
        side = max(5.0, 2.5 * grid_rows, 2.0 + 0.14 * min(len(self), MAX_TICK_LABELS))
        fig = Figure(figsize=(side + 2.2 + 2.8 * columns, side))
        grid = fig.add_gridspec(grid_rows, 1 + columns, width_ratios=[side + 2.2] + [2.8] * columns)
        self._draw_matrix(fig, fig.add_subplot(grid[:, 0]))
        for k, cls in enumerate(shown):
            self._draw_class(fig.add_subplot(grid[k // columns, 1 + k % columns]), cls)
        if len(self.classes) > len(shown):
            fig.text(0.99, 0.01, f"+ {len(self.classes) - len(shown)} smaller classes not drawn", ha="right")
        fig.tight_layout()
        return fig

    def _draw_matrix(self, fig: Any, ax: Any) -> None:
        order = self.order()
        top = float(self.distances.max()) or 1.0  # all items alike: a scale from 0 to 1
        image = ax.imshow(self.distances[np.ix_(order, order)], cmap="viridis", vmin=0, vmax=top,
                          interpolation="nearest")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="geometry distance (W1 of scaled distances)")
        ticks = np.arange(len(order))
        if len(order) <= MAX_TICK_LABELS:
            names = [f"{self.labels[i]} [{self.topology[i]}]" for i in order]
            ax.set_xticks(ticks, names, rotation=90, fontsize=7)
            ax.set_yticks(ticks, names, fontsize=7)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        bounds = np.flatnonzero(np.diff(self.topology[order])) + 0.5
        for b in bounds:
            ax.axhline(b, color="white", lw=1.5)
            ax.axvline(b, color="white", lw=1.5)
        c, k = len(self.classes), len(set(self.clusters.tolist()))
        ax.set_title(f"{len(self)} items by topology class [id], then geometry cluster\n"
                     f"{c} class{'es' * (c != 1)}, {k} cluster{'s' * (k != 1)} (average linkage at "
                     f"{self.threshold:g})", fontsize=9)

    @staticmethod
    def _draw_class(ax: Any, cls: TopologyClass) -> None:
        ax.set_title(f"class {cls.id}: {len(cls.members)} item{'s' * (len(cls.members) != 1)}\n{cls.description}",
                     fontsize=8)
        ax.set_axis_off()
        if cls.graph is None:
            ax.text(0.5, 0.5, "\n".join(f"{n} {name}" for name, n in cls.counts.items()) or "no fixed points",
                    ha="center", va="center", fontsize=8, transform=ax.transAxes)
            return
        G = cls.graph
        nx.draw_networkx(G, pos=_layout(G), ax=ax, with_labels=False, node_size=40, node_color="tab:blue",
                         edge_color="0.4", width=1.0)
        ax.margins(0.15)


def _layout(G: nx.Graph) -> dict[Any, Any]:
    """Node positions: the nodes' states ``x`` on their top three principal components, drawn in oblique
    projection (the third axis at (0.45, 0.3)), when every node has one (so a flip-flop's attractors sit as the
    corners of its cube seen from the side); else Kamada-Kawai."""
    states = [G.nodes[v].get("x") for v in G]
    if len(G) > 2 and all(x is not None and np.ndim(x) == 1 and np.size(x) >= 2 for x in states) and \
            len({np.size(x) for x in states}) == 1:
        X = np.asarray(states, dtype=float)
        X = X - X.mean(axis=0)
        _, _, Vt = np.linalg.svd(X, full_matrices=False)
        Y = X @ Vt[:3].T
        oblique = np.array([[1.0, 0.0], [0.0, 1.0], [0.45, 0.3]])[: Y.shape[1]]
        return dict(zip(G, Y @ oblique))
    return nx.kamada_kawai_layout(G) if len(G) > 1 else {v: (0.0, 0.0) for v in G}


# ------------------------------------------------------------------ compare
def compare(
    result: _SweepLike, *, threshold: float = DEFAULT_THRESHOLD, timeout: float = 5.0,
    figure: str | os.PathLike[str] | None = None,
) -> Comparison:
    """Group the items of a sweep by the topology of their attractor graphs and by their fixed points' geometry.

    Each item that finished (status "ok") is loaded (``result.load(key)``):
    a :class:`~dynsys.FixedPointSet` (fixed-points sweeps) or a result with
    ``points`` and ``graph`` (transition-graph sweeps: the transition graph
    of :func:`dynsys.transition_graph`).

    - Topology: graph sweeps, the isomorphism classes of the items'
      :func:`dynsys.attractor_graph` as simple graphs
      (:func:`topology_classes`), the classes' representatives compared by
      :func:`dynsys.compare_graphs` (edit distance; NaN above 12 nodes);
      fixed-points sweeps, the classes of equal :func:`point_counts`, at
      the distance sum_k |c_k - c'_k| (points added or removed).
    - Geometry: :func:`geometry_distances` of the items' fixed points (the
      slow points are left out), clustered by :func:`linkage_clusters`.

    Parameters
    ----------
    result : SweepResult
        Anything with ``rows`` (dicts with ``key``, ``label``, ``status``
        and ``param_*`` values), ``keys`` and ``load(key)``.
    threshold : float >= 0, default DEFAULT_THRESHOLD
        Where the average-linkage tree of the geometry distances is cut.
    timeout : float > 0, default 5
        Seconds allowed to each graph edit distance.
    figure : path, optional
        Also save :meth:`Comparison.figure` there (format from the suffix),
        atomically.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        No item finished; an item's result is neither a FixedPointSet nor
        a graph result (e.g. a continuation); graph and point results mixed.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> class Sweep:  # a stand-in for dynsys.sweep.SweepResult
    ...     def __init__(self, results):
    ...         self.results = results
    ...         self.keys = list(results)
    ...         self.rows = [{"key": k, "label": k[5:], "status": "ok"} for k in results]
    ...     def load(self, key):
    ...         return self.results[key]
    >>> sweep = Sweep({f"000{i}-rho={r}": find_fixed_points(models.lorenz().with_params(rho=r), seed=0)
    ...                for i, r in enumerate([0.5, 10.0, 28.0])})
    >>> [(row["label"], row["topology_class"], row["topology"]) for row in compare(sweep).rows]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('rho=0.5', 0, '1 attractor'), ('rho=10.0', 1, '2 attractors, 1 saddle of index 1'),
     ('rho=28.0', 2, '1 saddle of index 1, 2 saddles of index 2')]
    """
    threshold = check_real(threshold, "threshold")
    rows = list(result.rows)
    ok = [row for row in rows if row.get("status", "ok") == "ok"]
    if not ok:
        raise ValueError(f"result: none of its {len(rows)} items finished (status 'ok'); nothing to compare")
    keys = tuple(str(row["key"]) for row in ok)
    loaded = [_points_and_graph(key, result.load(key)) for key in keys]
    with_graph = {graph is not None for _, graph in loaded}
    if len(with_graph) > 1:
        raise ValueError("result: some items have transition graphs and some do not; compare one kind of sweep")
    counts = [point_counts(points) for points, _ in loaded]
    if with_graph == {True}:
        graphs = [simple_graph(attractor_graph(graph)) for _, graph in loaded]
        topology = topology_classes(graphs)
    else:
        graphs = [None] * len(loaded)
        topology = _numbered_by_size([tuple(c.items()) for c in counts])
    first = [int(np.argmax(topology == c)) for c in range(int(topology.max()) + 1)]  # each class's representative
    classes = tuple(
        TopologyClass(c, tuple(k for k, t in zip(keys, topology) if t == c), graphs[i], counts[i],
                      _describe(graphs[i], counts[i]))
        for c, i in enumerate(first)
    )
    distances = geometry_distances([points.fixed().x for points, _ in loaded])
    comparison = Comparison(
        keys=keys, labels=tuple(str(row.get("label", row["key"])) for row in ok), topology=topology,
        classes=classes, class_distances=_class_distances(classes, timeout), distances=distances,
        clusters=linkage_clusters(distances, threshold), threshold=threshold,
        params=tuple({k: v for k, v in row.items() if k.startswith("param_")} for row in ok),
        skipped=tuple(str(row["key"]) for row in rows if row.get("status", "ok") != "ok"),
    )
    if figure is not None:
        fig = comparison.figure()
        atomic_write(figure, lambda f: fig.savefig(f, format=Path(figure).suffix[1:] or "png", dpi=110))
    return comparison


def _points_and_graph(key: str, item: Any) -> tuple[FixedPointSet, nx.Graph | None]:
    """An item's fixed points and transition graph (None for a FixedPointSet), or a ValueError naming it."""
    if isinstance(item, FixedPointSet):
        return item, None
    points, graph = getattr(item, "points", None), getattr(item, "graph", None)
    if isinstance(points, FixedPointSet) and isinstance(graph, nx.Graph):
        return points, graph
    raise ValueError(f"result: item {key!r} holds a {type(item).__name__}; compare takes fixed points "
                     "(FixedPoints) or transition graphs (TransitionGraph)")


def _describe(graph: nx.Graph | None, counts: Mapping[str, int]) -> str:
    """"8 attractors, 12 edges" for a graph; "2 attractors, 1 saddle of index 1" for counts."""
    def plural(n: int, noun: str) -> str:
        head, _, tail = noun.partition(" of ")
        return f"{n} {head}{'s' * (n != 1)}{' of ' + tail if tail else ''}"

    if graph is not None:
        return f"{plural(len(graph), 'attractor')}, {plural(graph.number_of_edges(), 'edge')}"
    return ", ".join(plural(n, name) for name, n in counts.items()) or "no fixed points"


def _class_distances(classes: Sequence[TopologyClass], timeout: float) -> np.ndarray:
    """Edit distances between the classes' representatives (graphs), or the L1 distances of their counts."""
    D = np.zeros((len(classes), len(classes)))
    for a, b in zip(*np.triu_indices(len(classes), 1)):
        A, B = classes[a], classes[b]
        if A.graph is not None and B.graph is not None:
            d = compare_graphs(A.graph, B.graph, timeout=timeout)["edit_distance"]
            D[a, b] = D[b, a] = math.nan if d is None else d
        else:
            names = set(A.counts) | set(B.counts)
            D[a, b] = D[b, a] = sum(abs(A.counts.get(n, 0) - B.counts.get(n, 0)) for n in names)
    return D
