"""Pictures of the dynamics: trials, state spaces, phase portraits, spectra, graphs.

Every function draws on a :class:`matplotlib.figure.Figure` made without
pyplot (so nothing opens a window, nothing calls ``plt.show()``, and the
figure belongs to no global state) and returns it; where an ``ax`` is given
it is drawn on and its figure returned.  Save a figure with
``fig.savefig(path, dpi=...)``; in a notebook, display it by leaving it as
the last expression of a cell.

Fixed points are drawn the same way everywhere (:func:`point_style`):
attractors as filled black discs, repellers as open circles, saddles as
diamonds coloured by their index dim E^u, non-hyperbolic points as grey
squares, slow points as purple triangles and unresolved branch ends as grey
crosses; legends name only what is drawn, in the colours it is drawn in.
Cycles are drawn the same way everywhere too: a flow's periodic orbits as
closed curves, solid black when stable and dashed when not
(:func:`cycle_style`), named by their id and period; cycle nodes of a graph
as hexagons; branches of cycles (continued in a parameter) by the max and
min over each cycle, with open circles, as AUTO-07p draws them.
Colours come from the colour-blind-safe palette of Okabe & Ito (2008).

The state-space view projects states on their principal components: with
the mean m and the top-k right singular vectors V_k of the centred states,

    y = (x - m) V_k^T,

so y_1 is the direction of largest variance (Sussillo & Barak 2013, Fig. 2).

References
----------
M. Okabe and K. Ito, "Color universal design (CUD): how to make figures and
presentations that are friendly to colorblind people", 2008.
D. Sussillo and O. Barak, Neural Computation 25(3), pp. 626-649, 2013.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Sequence

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.transforms import Bbox

from ._validate import check_count, check_real
from .basins import (
    ESCAPE_FACTOR,
    basins_of_attraction,
    orbits_reaching_no_fixed_point,
    slowest_timescale,
)
from .bifurcation_diagram import BifurcationDiagram
from .continuation import Branch
from .cycle_continuation import CycleBranch
from .fixed_points import FixedPoint, FixedPointSet, find_fixed_points, point_kind
from .linearize import Linearization
from .manifolds import stable_manifold, unstable_manifold
from .periodic_orbits import PeriodicOrbit, find_periodic_orbits
from .simulate import advance
from .systems import System, check_bounds, check_system

# Okabe-Ito colours.
BLACK, ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
)
GREY = "#8C8C8C"
TRAJECTORY = "#7A8A99"  # a neutral blue-grey, apart from the point kinds' colours
INDEX_COLORS = (ORANGE, SKY_BLUE, GREEN, PURPLE, VERMILLION, BLUE, YELLOW)
"""Saddle colour by index k: ``INDEX_COLORS[(k - 1) % 7]``."""
SERIES_COLORS = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY_BLUE, YELLOW, BLACK)
"""Colours of series that are not point kinds (bits, points of a spectrum)."""

UNSTABLE_SEGMENT = 0.08  # saddle's unstable segments: this fraction of the view's extent, each way
MANIFOLD_EPS = 1e-5  # manifolds start at x* +- eps d, eps = MANIFOLD_EPS * (diagonal of the box)
MANIFOLD_TIMESCALES = 30.0  # flows: manifold branches are followed for this many slowest timescales
MANIFOLD_MAP_STEPS = 12  # maps: iterations of a fundamental domain of W^u
QUIVER_POINTS = 25  # maps: arrows per side of the quiver grid
COBWEB_STARTS = (0.2, 0.45)  # 1-D maps: cobweb orbits start at these fractions of the interval
COBWEB_STEPS = 40  # ... and are iterated this many times
LABEL_RINGS = (6.0, 11.0, 17.0, 24.0, 32.0, 42.0)  # graph labels: offsets (points) tried around an anchor
PORTRAIT_CYCLE_STARTS = 32  # phase portraits: starts drawn in the box for the search for attracting cycles
CYCLE_MARKS = 12  # cycle branches: about this many open circles mark each line of a cycle branch


# ------------------------------------------------------------ shared styles
KINDS = ("attractor", "saddle", "repeller", "non-hyperbolic", "slow", "unresolved", "cycle")
"""The point kinds of :func:`dynsys.fixed_points.point_kind` and graph nodes (with the cycle nodes), in legend order."""


def point_style(kind: str, index: int = 0) -> dict[str, Any]:
    """Marker keyword arguments (for ``Axes.scatter``) of a point kind.

    Filled markers are stable, open ones unstable in every direction, as in
    the textbooks: attractors are black discs, repellers open circles,
    saddles diamonds coloured by their index, non-hyperbolic points grey
    squares, slow points purple triangles and unresolved branch ends grey
    crosses.  A cycle node of a transition graph is a black hexagon,
    filled when the cycle is stable (index 0), open otherwise.

    Parameters
    ----------
    kind : {"attractor", "saddle", "repeller", "non-hyperbolic", "slow", "unresolved", "cycle"}
        ``"nonhyperbolic"`` is accepted for ``"non-hyperbolic"``.
    index : int
        dim E^u of a saddle; a cycle's number of multipliers outside the
        unit circle.

    Returns
    -------
    dict
        ``marker``, ``facecolors``, ``edgecolors``, ``s``, ``alpha``,
        ``linewidths``, ``zorder`` and ``label`` (e.g. "index-1 saddle").
        ``color`` is the kind's colour (the edge colour of a repeller), for
        lines drawn with the point (manifolds, branches).

    Examples
    --------
    >>> point_style("saddle", 2)["label"]
    'index-2 saddle'
    >>> point_style("repeller")["facecolors"]
    'white'
    >>> point_style("cycle")["marker"], point_style("cycle")["label"], point_style("cycle", 1)["label"]
    ('h', 'stable cycle', 'unstable cycle')
    """
    kind = "non-hyperbolic" if kind == "nonhyperbolic" else kind
    saddle_color = INDEX_COLORS[(max(index, 1) - 1) % len(INDEX_COLORS)]
    styles = {  # marker, colour, face colour, edge colour, size, label
        "attractor": ("o", BLACK, BLACK, "white", 60, "attractor"),
        "saddle": ("D", saddle_color, saddle_color, "white", 45, f"index-{index} saddle"),
        "repeller": ("o", BLACK, "white", BLACK, 50, "repeller"),
        "non-hyperbolic": ("s", GREY, GREY, "white", 40, "non-hyperbolic"),
        "slow": ("v", PURPLE, PURPLE, BLACK, 45, "slow point"),
        "unresolved": ("X", GREY, GREY, "white", 45, "unresolved end"),
        "cycle": ("h", BLACK, "white", BLACK, 70, "unstable cycle") if index > 0 else
        ("h", BLACK, BLACK, "white", 70, "stable cycle"),
    }
    if kind not in styles:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    marker, color, face, edge, size, label = styles[kind]
    return dict(marker=marker, color=color, facecolors=face, edgecolors=edge, s=size, alpha=1.0,
                linewidths=1.2 if face == "white" else 0.6, zorder=5, label=label)


def cycle_style(stable: bool, label: str = "") -> dict[str, Any]:
    """Line keyword arguments (for ``Axes.plot``) of a cycle: solid black when stable, dashed black otherwise.

    Examples
    --------
    >>> cycle_style(True)["ls"], cycle_style(False, "C1: repelling cycle, T = 6.283")["ls"]
    ('-', '--')
    """
    return dict(color=BLACK, ls="-" if stable else "--", lw=1.6 if stable else 1.3, zorder=4, label=label)


def cycle_label(name: str, stability: str, period: float) -> str:
    """The legend text of a cycle: its id, its class (:attr:`dynsys.periodic_orbits.PeriodicOrbit.label`), its period.

    Examples
    --------
    >>> cycle_label("C0", "stable cycle", 6.6632868593)
    'C0: stable cycle, T = 6.663'
    """
    return f"{name}: {stability}, T = {period:.4g}"


_Curve = tuple[np.ndarray, bool, str]
"""A cycle to draw: its states (m, n) over one period, whether it is stable, its legend text."""


def _orbit_curves(orbits: Sequence[PeriodicOrbit], names: Sequence[str]) -> list[_Curve]:
    return [(o.x, o.stable, cycle_label(name, o.label, o.period)) for o, name in zip(orbits, names)]


def _draw_cycles(ax: Axes, curves: Sequence[_Curve], project: Callable[[np.ndarray], np.ndarray]) -> None:
    """Each cycle as a closed curve through its states, projected, in :func:`cycle_style`, one legend entry each."""
    for x, stable, label in curves:
        ax.plot(*project(np.vstack([x, x[:1]])).T, **cycle_style(stable, label))


def _check_cycles(cycles: Any, n: int) -> tuple[PeriodicOrbit, ...]:
    """``cycles`` as a tuple of PeriodicOrbits of R^n (TypeError or ValueError naming ``cycles``)."""
    if isinstance(cycles, PeriodicOrbit) or not isinstance(cycles, Iterable) or isinstance(cycles, (str, bytes)):
        raise TypeError(f"cycles must be a sequence of PeriodicOrbit, got {type(cycles).__name__}")
    cycles = tuple(cycles)
    for j, c in enumerate(cycles):
        if not isinstance(c, PeriodicOrbit):
            raise TypeError(f"cycles[{j}] must be a PeriodicOrbit, got {type(c).__name__}")
        if c.x.shape[1] != n:
            raise ValueError(f"cycles[{j}] must be a cycle in R^{n} like the states, got one in R^{c.x.shape[1]}")
    return cycles


def _scatter_kwargs(kind: str, index: int = 0) -> dict[str, Any]:
    """:func:`point_style` without ``color`` (which ``scatter`` would let override the face and edge colours)."""
    return {k: v for k, v in point_style(kind, index).items() if k != "color"}


def _node_kind(data: dict[str, Any]) -> str:
    """The point kind of a graph node from its attributes."""
    return str(data.get("kind", "non-hyperbolic"))


def _group(kind: str, index: int) -> tuple[str, int]:
    """The legend group of a point: (kind, index) for a saddle, (kind, 1) for an unstable cycle, (kind, 0) otherwise."""
    if kind == "cycle":
        return "cycle", int(int(index) > 0)
    return str(kind), int(index) if kind == "saddle" else 0


def _scatter_points(ax: Axes, Y: np.ndarray, kinds: Any, index: Any) -> None:
    """Scatter projected points Y (m, 2 or 3), one call (and legend entry) per kind and saddle index."""
    keys = [_group(k, i) for k, i in zip(kinds, index)]
    for group in sorted(set(keys), key=_legend_order):
        sel = np.array([key == group for key in keys])
        shade = {"depthshade": False} if ax.name == "3d" else {}  # the same colours at any depth
        ax.scatter(*Y[sel].T, **_scatter_kwargs(*group), **shade)


def _legend_order(group: tuple[str, int]) -> tuple[int, int]:
    kind = "non-hyperbolic" if group[0] == "nonhyperbolic" else group[0]
    return KINDS.index(kind), group[1]


def _new_axes(ax: Axes | None, figsize: tuple[float, float], projection: str | None = None) -> tuple[Figure, Axes]:
    """The figure and axes to draw on: ``ax`` and its figure, or a new pyplot-free figure."""
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
        if (projection == "3d") != (ax.name == "3d"):
            raise ValueError(f"ax must be {'a 3-D' if projection == '3d' else 'a 2-D'} Axes, got a {ax.name!r} Axes")
        return ax.get_figure(root=True), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(projection=projection)


# ------------------------------------------------------------------- PCA
def principal_components(X: Any, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the top-k principal directions of a cloud of states.

    With the centred data matrix Z = X - m (rows the finite states, m their
    mean) and its SVD Z = U S V^T, the principal directions are the first k
    rows of V^T: the eigenvectors of the covariance Z^T Z / (N - 1) with
    the largest eigenvalues S_i^2 / (N - 1).  Each direction's sign is
    fixed so that its largest-magnitude entry is positive.

    Parameters
    ----------
    X : array_like of shape (..., n)
        States (e.g. trajectories (B, T, n)); rows with NaN are ignored.
    k : int >= 1
        Number of components; at most n are returned.

    Returns
    -------
    mean : ndarray of shape (n,)
    components : ndarray of shape (min(k, n), n)
        Orthonormal rows; project with ``(X - mean) @ components.T``.

    Raises
    ------
    ValueError
        Fewer than one finite state, or a bad ``k``.

    Examples
    --------
    States on the diagonal of the plane vary along (1, 1) / sqrt(2) only:

    >>> mean, components = principal_components([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], k=1)
    >>> mean.tolist(), np.round(components, 6).tolist()
    ([1.0, 1.0], [[0.707107, 0.707107]])
    """
    k = check_count(k, "k")
    X = np.asarray(X, dtype=float)
    if X.ndim < 1 or X.shape[-1] < 1:
        raise ValueError(f"X must have shape (..., n) with n >= 1, got {X.shape}")
    Z = X.reshape(-1, X.shape[-1])
    Z = Z[np.isfinite(Z).all(axis=1)]
    if len(Z) == 0:
        raise ValueError(f"X must hold at least one finite state, got shape {X.shape}")
    mean = Z.mean(axis=0)
    _, _, Vt = np.linalg.svd(Z - mean, full_matrices=len(Z) < Z.shape[1])  # all n rows of V^T, U kept small
    V = Vt[: min(k, Z.shape[1])]
    signs = np.sign(V[np.arange(len(V)), np.argmax(np.abs(V), axis=1)])
    return mean, V * signs[:, None]


def _explained(X: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Fraction of the total variance along each component."""
    Z = X.reshape(-1, X.shape[-1])
    Z = Z[np.isfinite(Z).all(axis=1)] - mean
    total = float(np.sum(Z**2))
    return np.sum((Z @ components.T) ** 2, axis=0) / total if total > 0 else np.zeros(len(components))


# ---------------------------------------------------------------- trials
def plot_trials(inputs: Any, targets: Any, outputs: Any, *, trials: int = 3, fig: Figure | None = None) -> Figure:
    """Inputs, targets and outputs of a few trials of a task such as the flip-flop.

    One row per channel (bit), one column per trial: the input pulses as
    shaded bars, the target as a dashed line, the network's output as a
    solid line (Sussillo & Barak 2013, Fig. 2a).  The pulses are vertical bars
    of the input's height at each step.

    Parameters
    ----------
    inputs, targets, outputs : array_like of shape (B, T, bits)
    trials : int >= 1
        The first ``min(trials, B)`` trials are drawn.
    fig : Figure, optional
        Drawn on (its subplots are added); a new figure by default.

    Returns
    -------
    Figure

    Examples
    --------
    >>> pulses = np.zeros((4, 10, 3))  # 4 trials, 10 steps, 3 bits
    >>> fig = plot_trials(pulses, pulses, pulses, trials=2)
    >>> len(fig.axes)  # 3 bits x 2 trials
    6
    """
    arrays = [np.asarray(a, dtype=float) for a in (inputs, targets, outputs)]
    for name, a in zip(("inputs", "targets", "outputs"), arrays):
        if a.ndim != 3 or a.shape != arrays[0].shape:
            raise ValueError(f"inputs, targets and outputs must share one shape (B, T, bits); {name} has {a.shape}")
    U, Yt, Yo = arrays
    B, T, bits = U.shape
    m = min(check_count(trials, "trials"), B)
    if fig is None:
        fig = Figure(figsize=(1.0 + 3.2 * m, 0.8 + 1.3 * bits), layout="constrained")
    elif not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    axes = np.asarray(fig.subplots(bits, m, sharex=True, sharey=True, squeeze=False))
    t = np.arange(T)
    top = max(1.0, float(np.nanmax(np.abs(arrays))))
    for b in range(m):
        for i in range(bits):
            ax = axes[i, b]
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            ax.vlines(t, 0, U[b, :, i], color=GREY, lw=1.6, label="input")
            ax.plot(t, Yt[b, :, i], "--", color=BLACK, lw=1.0, label="target")
            ax.plot(t, Yo[b, :, i], "-", color=color, lw=1.4, label="output")
            ax.axhline(0, color=GREY, lw=0.5)
            ax.set_ylim(-1.15 * top, 1.15 * top)
            if b == 0:
                ax.set_ylabel(f"bit {i + 1}")
            if i == 0:
                ax.set_title(f"trial {b + 1}")
            if i == bits - 1:
                ax.set_xlabel("time step")
    axes[0, -1].legend(loc="upper right", fontsize="small", ncol=3, frameon=False)
    fig.suptitle("Inputs (pulses), targets (dashed) and outputs (solid)")
    return fig


# ------------------------------------------------------------ state space
def plot_state_space(
    states: Any,
    fixed_points: FixedPointSet | None = None,
    graph: nx.MultiDiGraph | None = None,
    *,
    system: System | None = None,
    n_trajectories: int = 20,
    ax: Axes | None = None,
    dims: int | None = None,
    times: Any = None,
    cycles: Sequence[PeriodicOrbit] | None = None,
) -> Figure:
    """Trajectories, fixed points, cycles and transition branches in the top principal components.

    The states are projected on their top ``dims`` principal components
    (:func:`principal_components`); when the system has n <= ``dims``
    states they are drawn in their own coordinates instead.  On top: the
    fixed points by kind (:func:`point_style`), short segments
    x* +- s v along each saddle's unstable directions (the columns v of
    E^u, s = ``UNSTABLE_SEGMENT`` times the view's extent, before
    projection), and the branches of ``graph``: the paths they took when
    it was built with ``keep_paths=True``, else straight dotted lines from
    each saddle to where its branch ended, coloured like their saddle
    (grey when unresolved), one legend entry per colour drawn.  Cycles
    (``cycles``, else the cycle nodes of ``graph``, whose ``orbit`` holds
    their states) are closed curves projected like the trajectories, in
    :func:`cycle_style` (stable solid, unstable dashed; the legend names
    each by its id "C0", "C1", ... and gives its period).

    A one-state system (n = 1) is drawn as x against time (or step): the
    trajectories, and each fixed point as a dotted horizontal line x = x*
    with its marker at the right end; the branches of ``graph`` are not
    drawn there.

    Parameters
    ----------
    states : array_like of shape (B, T, n) or (T, n), n >= 1
        Trajectories (NaN rows allowed, e.g. after divergence).
    fixed_points : FixedPointSet, optional
        Its points are drawn; when None, the nodes of ``graph`` are.
    graph : networkx.MultiDiGraph, optional
        From :func:`dynsys.graph.transition_graph`.
    system : System, optional
        Gives the title and the state names.
    n_trajectories : int >= 0
        The first ``n_trajectories`` trajectories are drawn.
    ax : Axes, optional
        A 3-D Axes for ``dims`` 3, a 2-D one otherwise.
    dims : {2, 3}, optional
        Default 2 when n <= 2, else 3.
    times : array_like of shape (T,), optional
        The times of the T states, for n = 1 (default: the step numbers).
    cycles : sequence of PeriodicOrbit, optional
        Cycles in R^n to draw, named "C0", "C1", ... in their order (a
        flow's cycles need n >= 2).

    Returns
    -------
    Figure

    Examples
    --------
    >>> from dynsys import find_fixed_points, find_periodic_orbits, models
    >>> from dynsys.simulate import advance
    >>> vdp = models.van_der_pol()
    >>> states = advance(vdp, [[0.1, 0.0], [3.0, 3.0]], 20.0, n_points=200).X
    >>> fig = plot_state_space(states, find_fixed_points(vdp, seed=0), cycles=find_periodic_orbits(vdp), system=vdp)
    >>> [line.get_label() for line in fig.axes[0].lines if line.get_label().startswith("C")]
    ['C0: stable cycle, T = 6.663']
    >>> from dynsys.simulate import simulate
    >>> system = models.logistic()
    >>> states = simulate(system, [[0.1], [0.5]], steps=30).X
    >>> fig = plot_state_space(states, find_fixed_points(system, seed=0), system=system)
    >>> fig.axes[0].get_xlabel()
    'step'
    """
    X = np.asarray(states, dtype=float)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[2] < 1:
        raise ValueError(f"states must have shape (B, T, n) or (T, n) with n >= 1, got {np.shape(states)}")
    n = X.shape[2]
    dims = (2 if n <= 2 else 3) if dims is None else dims
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    n_trajectories = check_count(n_trajectories, "n_trajectories", 0)
    points = _points_of(fixed_points, graph, n)
    names = system.state_names if system is not None else (
        fixed_points.state_names if fixed_points is not None else tuple(f"x{i + 1}" for i in range(n))
    )
    title = system.name if system is not None else (fixed_points.system_name if fixed_points is not None else "")
    if cycles is not None:
        given = _check_cycles(cycles, n)
        curves = _orbit_curves(given, [f"C{j}" for j in range(len(given))])
    else:
        curves = _graph_curves(graph)
    if n == 1:
        if curves:
            raise ValueError("cycles: a one-state system has no cycles to draw")
        return _plot_time_series(X, points, names[0], title, n_trajectories, ax, times)
    if n <= dims:
        dims, mean, P = n, np.zeros(n), np.eye(n)
        labels = list(names)
    else:
        mean, P = principal_components(X, dims)
        share = _explained(X, mean, P)
        labels = [f"PC{i + 1} ({100 * s:.0f}% var.)" for i, s in enumerate(share)]

    def project(Z: np.ndarray) -> np.ndarray:
        return (np.asarray(Z, dtype=float) - mean) @ P.T

    fig, ax = _new_axes(ax, (7.0, 6.0) if dims == 3 else (6.5, 5.5), "3d" if dims == 3 else None)
    if dims == 3:
        ax.computed_zorder = False  # points over lines, as in 2-D, not depth-sorted behind them
    Y = project(X)
    for b in range(min(n_trajectories, len(Y))):
        ax.plot(*Y[b].T, color=TRAJECTORY, lw=0.6, alpha=0.3)
    if n_trajectories:
        ax.plot([], [], color=TRAJECTORY, lw=0.8, label="trajectories")
    finite = Y[np.isfinite(Y).all(axis=-1)]
    extent = float(np.max(np.ptp(finite, axis=0))) if len(finite) else 1.0
    extent = extent if extent > 0 else 1.0
    if graph is not None:
        _draw_branches(ax, graph, project)
    _draw_cycles(ax, curves, project)
    if points is not None:
        x, kinds, index, Eus = points
        s = UNSTABLE_SEGMENT * extent / max(float(np.max(np.linalg.norm(P, axis=1))), 1e-300)
        for xi, kind, k, Eu in zip(x, kinds, index, Eus):
            if kind != "saddle" or Eu is None:
                continue
            color = point_style("saddle", int(k))["color"]
            for v in Eu.T:
                ax.plot(*project(np.stack([xi - s * v, xi + s * v])).T, color=color, lw=2.0, alpha=0.9)
        _scatter_points(ax, project(x), kinds, index)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if dims == 3:
        ax.set_zlabel(labels[2])
    where = "state space" if n <= 3 else f"top {dims} principal components"
    what = "trajectories, fixed points and cycles" if curves else "trajectories and fixed points"
    ax.set_title(f"{title}: {what}, {where}".lstrip(": "))
    ax.legend(loc="upper left", fontsize="small", framealpha=0.8)
    return fig


def _plot_time_series(
    X: np.ndarray, points: Any, name: str, title: str, n_trajectories: int, ax: Axes | None, times: Any
) -> Figure:
    """x against time for a one-state system (see :func:`plot_state_space`)."""
    T = X.shape[1]
    t = np.arange(T, dtype=float) if times is None else np.asarray(times, dtype=float)
    if t.shape != (T,):
        raise ValueError(f"times must have shape ({T},) like the states' time axis, got {t.shape}")
    fig, ax = _new_axes(ax, (6.5, 4.5))
    for b in range(min(n_trajectories, len(X))):
        ax.plot(t, X[b, :, 0], color=TRAJECTORY, lw=0.8, alpha=0.5)
    if n_trajectories:
        ax.plot([], [], color=TRAJECTORY, lw=0.8, label="trajectories")
    if points is not None:
        x, kinds, index, _ = points
        for xi, kind, k in zip(x[:, 0], kinds, index):
            ax.axhline(xi, color=point_style(kind, int(k))["color"], ls=":", lw=1.0, zorder=2)
        _scatter_points(ax, np.column_stack([np.full(len(x), t[-1]), x[:, 0]]), kinds, index)
    ax.set_xlabel("step" if times is None else "time")
    ax.set_ylabel(name)
    ax.set_title(f"{title}: trajectories and fixed points (dotted: x = x*)".lstrip(": "))
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return fig


def _points_of(
    fixed_points: FixedPointSet | None, graph: nx.MultiDiGraph | None, n: int
) -> tuple[np.ndarray, list[str], np.ndarray, list[np.ndarray | None]] | None:
    """Positions (m, n), kinds, indices and E^u bases (None where unknown) of the points to draw."""
    if fixed_points is not None:
        if not isinstance(fixed_points, FixedPointSet):
            raise TypeError(f"fixed_points must be a FixedPointSet, got {type(fixed_points).__name__}")
        if fixed_points.x.shape[1] != n:
            raise ValueError(f"fixed_points must be points of R^{n} like the states, got {fixed_points.x.shape}")
        return (fixed_points.x, list(fixed_points.kinds), fixed_points.index,
                [lin.Eu for lin in fixed_points.linearizations])
    if graph is None or len(graph) == 0:
        return None
    data = [d for _, d in graph.nodes(data=True) if d.get("type") != "cycle"]
    if not data:
        return None
    x = np.array([d["x"] for d in data], dtype=float)
    if x.shape[1] != n:
        raise ValueError(f"graph nodes must be points of R^{n} like the states, got {x.shape}")
    return x, [_node_kind(d) for d in data], np.array([d.get("index", 0) for d in data]), [None] * len(data)


def _graph_curves(graph: nx.Graph | None) -> list[_Curve]:
    """The cycle nodes of a transition graph as curves to draw (their ``orbit``, ``stable``, id and period)."""
    if graph is None:
        return []
    return [(np.asarray(d["orbit"], dtype=float), bool(d["stable"]), cycle_label(str(v), d["stability"], d["period"]))
            for v, d in graph.nodes(data=True) if d.get("type") == "cycle"]


def _draw_branches(ax: Axes, graph: nx.MultiDiGraph, project: Any) -> None:
    """The branches of a transition graph, coloured by their saddle's index (grey: unresolved).

    One legend entry per colour drawn: "branches of index-k saddles" (or of
    repellers), "unresolved branches".
    """
    drawn: dict[str, str] = {}  # colour -> legend label
    for s, t, d in graph.edges(data=True):
        if d.get("via"):
            continue
        k = int(graph.nodes[s].get("index", 1))
        resolved = d.get("resolved", True)
        color = point_style("saddle", k)["color"] if resolved else GREY
        source = "repellers" if graph.nodes[s].get("kind") == "repeller" else f"index-{k} saddles"
        drawn.setdefault(color, f"branches of {source}" if resolved else "unresolved branches")
        path = d.get("path")
        if path is not None and len(path):
            ax.plot(*project(np.vstack([graph.nodes[s]["x"], path])).T, color=color, lw=1.1, alpha=0.75)
        else:
            ax.plot(*project(np.stack([graph.nodes[s]["x"], graph.nodes[t]["x"]])).T, ":", color=color, lw=1.1)
    for color, label in sorted(drawn.items(), key=lambda item: (item[0] == GREY, item[1])):
        ax.plot([], [], color=color, lw=1.1, label=label)


# -------------------------------------------------------- phase portraits
def phase_portrait(
    system: System,
    *,
    bounds: Any = None,
    fixed_points: FixedPointSet | None = None,
    ax: Axes | None = None,
    resolution: int = 200,
    nullclines: bool = True,
    manifolds: bool = True,
    basins: bool = False,
    density: float = 1.2,
    cycles: bool | Sequence[PeriodicOrbit] = True,
) -> Figure:
    """The phase portrait of a 2-D flow or map, or the graph of a 1-D one.

    Flows: stream lines of f on a ``resolution`` x ``resolution`` grid,
    the nullclines f_1 = 0 and f_2 = 0, the fixed points by kind
    (:func:`point_style`), and for every saddle its manifolds
    (:func:`dynsys.manifolds.unstable_manifold` and
    :func:`dynsys.manifolds.stable_manifold`): W^u by integrating
    x* +- eps v (v spanning E^u) forward, W^s by integrating x* +- eps w
    (w spanning E^s) with ``system.reverse_time()``, both with rk4 for
    ``MANIFOLD_TIMESCALES`` slowest timescales 1 / min margin, from
    eps = ``MANIFOLD_EPS`` times the box's diagonal.  The manifolds have
    their saddle's colour, W^u solid and W^s dashed, and so have their
    legend entries.

    Maps: arrows of the step g(x) - x, the curves g_i(x) = x_i, the fixed
    points, and W^u of every saddle by iterating a fundamental domain
    {x* +- s v : eps <= s <= eps |lambda|^m} (m = 2 for a flip saddle,
    lambda < 0, so that each branch stays on its side) ``MANIFOLD_MAP_STEPS``
    times.  W^s of a map needs the inverse map, which a :class:`System` does
    not provide, and is not drawn.

    Cycles of a flow (``cycles=True``): the attracting cycles that
    :func:`dynsys.find_periodic_orbits` finds from ``PORTRAIT_CYCLE_STARTS``
    starts drawn in the box (seed 0); or the cycles given as a sequence of
    PeriodicOrbits (``cycles=[...]``), unstable ones included (from
    :func:`dynsys.periodic_orbit` or the ``guesses`` of
    :func:`dynsys.find_periodic_orbits`).
    Each is drawn as a closed curve, solid black when stable, dashed when
    unstable (:func:`cycle_style`), named in the legend "C0", "C1", ...
    (in the order found or given) with its class and period.  For a map
    (``cycles=True``) the last iterates of the orbits from a grid in the
    box that reach no fixed point
    (:func:`dynsys.basins.orbits_reaching_no_fixed_point`) are drawn as
    dots (a cycle or a strange attractor, not told apart).

    Basins (``basins=True``): every grid point is followed (the whole grid
    as one batch, :func:`dynsys.basins.basins_of_attraction`) and coloured
    by the attractor it reached; points that reach none stay white.  The colours
    are in ``ax.images[0]``: its array (``resolution`` x ``resolution``,
    row 0 at the lower bound of the second state, ``origin="lower"``)
    holds the number of the attractor in ``fixed_points.stable()``,
    masked where none was reached.  Its cost is that of simulating
    ``resolution**2`` states.  Without attractors nothing is coloured; the
    title names basins only where they are drawn ("basin" for one).

    One-state systems: a map is drawn as its graph x' = g(x) with the
    diagonal x' = x and a cobweb of the orbits of ``COBWEB_STARTS`` (as
    fractions of the box) over ``COBWEB_STEPS`` iterations; a flow as the
    graph of dx/dt = f(x) with arrows on the line dx/dt = 0 showing the
    direction of motion (its phase line).  The fixed points lie on the
    diagonal (maps) or the axis (flows).  ``nullclines``, ``manifolds``,
    ``basins`` and ``cycles`` do not apply.

    Parameters
    ----------
    system : System of dim 1 or 2
    bounds : array_like of shape (dim, 2), optional
        The box drawn; default ``system.bounds``, else a box around the
        fixed points.
    fixed_points : FixedPointSet, optional
        Default: :func:`dynsys.find_fixed_points` in ``bounds``.
    ax : Axes, optional
    resolution : int >= 10
        Grid points per side (stream lines, nullclines, basins).
    nullclines, manifolds, basins : bool
    cycles : bool or sequence of PeriodicOrbit
        Find and draw the cycles (True), draw these ones, or none (False).
    density : float > 0
        Stream line density (``Axes.streamplot``).

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When ``system.dim`` is not 1 or 2, or bounds are needed and unknown.

    Examples
    --------
    >>> from dynsys import models
    >>> fig = phase_portrait(models.van_der_pol(), resolution=30)
    >>> fig.axes[0].get_title()
    'van_der_pol: phase portrait'
    >>> [line.get_label() for line in fig.axes[0].lines if line.get_label().startswith("C")]
    ['C0: stable cycle, T = 6.663']
    >>> fig = phase_portrait(models.logistic())
    >>> fig.axes[0].get_title()
    'logistic: cobweb diagram'
    """
    check_system(system)
    if system.dim not in (1, 2):
        raise ValueError(f"phase_portrait needs a 1-D or 2-D system, {system.name} has dim {system.dim}")
    resolution = check_count(resolution, "resolution", 10)
    density = check_real(density, "density", positive=True)
    box = _portrait_bounds(system, bounds, fixed_points)
    if fixed_points is None:
        fixed_points = find_fixed_points(system, bounds=box, seed=0)
    elif not isinstance(fixed_points, FixedPointSet) or fixed_points.x.shape[1] != system.dim:
        raise ValueError(f"fixed_points must be a FixedPointSet of points of R^{system.dim}, got {fixed_points!r}")
    if system.dim == 1:
        return _portrait_1d(system, fixed_points, box[0], ax, resolution)
    fig, ax = _new_axes(ax, (6.5, 5.5))
    u = np.linspace(*box[0], resolution)
    v = np.linspace(*box[1], resolution)
    U, V = np.meshgrid(u, v)
    grid = np.column_stack([U.ravel(), V.ravel()])
    names = system.state_names
    n_basins = _draw_basins(ax, system, fixed_points, grid, box, resolution) if basins else 0
    F = system.residual(grid)
    F1, F2 = F[:, 0].reshape(U.shape), F[:, 1].reshape(U.shape)
    if system.kind == "flow":
        ax.streamplot(u, v, F1, F2, density=density, color=GREY, linewidth=0.7, arrowsize=0.8, zorder=1)
    else:
        step = max(1, resolution // QUIVER_POINTS)
        ax.quiver(U[::step, ::step], V[::step, ::step], F1[::step, ::step], F2[::step, ::step],
                  color=GREY, angles="xy", width=0.003, zorder=1)
    if nullclines:
        legend = [(F1, BLUE, f"d{names[0]}/dt = 0"), (F2, VERMILLION, f"d{names[1]}/dt = 0")]
        if system.kind == "map":
            legend = [(F1, BLUE, f"{names[0]}' = {names[0]}"), (F2, VERMILLION, f"{names[1]}' = {names[1]}")]
        for Fi, color, label in legend:
            if np.nanmin(Fi) < 0 < np.nanmax(Fi):
                ax.contour(U, V, Fi, levels=[0.0], colors=[color], linewidths=1.3, zorder=2)
                ax.plot([], [], color=color, lw=1.3, label=label)
    if system.kind == "flow" and cycles is not False:
        orbits = _portrait_cycles(system, fixed_points, box) if cycles is True else _check_cycles(cycles, 2)
        _draw_cycles(ax, _orbit_curves(orbits, [f"C{j}" for j in range(len(orbits))]), np.asarray)
    elif cycles is True:
        _draw_map_tails(ax, system, fixed_points, box)
    elif cycles is not False and _check_cycles(cycles, 2):
        raise ValueError(f"cycles: {system.name} is a map; only a flow's cycles (PeriodicOrbits) can be given")
    if manifolds:
        _draw_manifolds(ax, system, fixed_points, box)
    _scatter_points(ax, fixed_points.x, fixed_points.kinds, fixed_points.index)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"{system.name}: phase portrait" + {0: "", 1: " and basin"}.get(n_basins, " and basins"))
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return fig


def _portrait_1d(system: System, points: FixedPointSet, interval: np.ndarray, ax: Axes | None, resolution: int) -> Figure:
    """The graph of a 1-D map (with a cobweb) or flow (with its phase line); see :func:`phase_portrait`."""
    fig, ax = _new_axes(ax, (6.0, 5.0))
    name = system.state_names[0]
    x = np.linspace(*interval, max(resolution, 400))
    g = system.rhs(x[:, None])[:, 0]
    if system.kind == "map":
        ax.plot(x, g, color=BLUE, lw=1.5, label=f"{name}' = g({name})", zorder=3)
        ax.plot(interval, interval, color=GREY, lw=1.0, label=f"{name}' = {name}", zorder=2)
        starts = interval[0] + np.asarray(COBWEB_STARTS)[:, None] * (interval[1] - interval[0])
        orbits = advance(system, starts, COBWEB_STEPS).X[:, :, 0]
        for orbit in orbits:  # (x0, x0) -> (x0, x1) -> (x1, x1) -> (x1, x2) -> ...
            ax.plot(np.repeat(orbit, 2)[:-1], np.concatenate([[orbit[0]], np.repeat(orbit[1:], 2)]),
                    color=TRAJECTORY, lw=0.7, alpha=0.7, zorder=1)
        ax.plot([], [], color=TRAJECTORY, lw=0.7, label=f"cobweb of {len(orbits)} orbits, {COBWEB_STEPS} steps")
        where, what = np.column_stack([points.x[:, 0], points.x[:, 0]]), "cobweb diagram"
        ax.set_ylabel(f"{name}'")
    else:
        ax.plot(x, g, color=BLUE, lw=1.5, label=f"d{name}/dt = f({name})", zorder=3)
        ax.axhline(0.0, color=GREY, lw=1.0, zorder=2)
        arrows = np.linspace(*interval, QUIVER_POINTS)
        direction = np.sign(system.rhs(arrows[:, None])[:, 0])
        ax.quiver(arrows, np.zeros_like(arrows), direction, np.zeros_like(arrows), color=GREY, angles="xy",
                  width=0.004, scale=2.5 * QUIVER_POINTS / np.ptp(interval), scale_units="x", zorder=2)
        where, what = np.column_stack([points.x[:, 0], np.zeros(len(points))]), "phase line"
        ax.set_ylabel(f"d{name}/dt")
    _scatter_points(ax, where, points.kinds, points.index)
    ax.set_xlim(*interval)
    ax.set_xlabel(name)
    ax.set_title(f"{system.name}: {what}")
    ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return fig


def _portrait_bounds(system: System, bounds: Any, fixed_points: FixedPointSet | None) -> np.ndarray:
    """The box (dim, 2) of a phase portrait (see :func:`phase_portrait`)."""
    if bounds is not None:
        return check_bounds(bounds, system.dim)
    if system.bounds is not None:
        return np.asarray(system.bounds, dtype=float)
    if fixed_points is None or len(fixed_points) == 0:
        raise ValueError(f"bounds are needed: {system.name} has no bounds and no fixed_points were given")
    lo, hi = fixed_points.x.min(axis=0), fixed_points.x.max(axis=0)
    pad = np.maximum(0.5 * (hi - lo), 1.0)
    return np.column_stack([lo - pad, hi + pad])


def _portrait_cycles(system: System, points: FixedPointSet, box: np.ndarray) -> tuple[PeriodicOrbit, ...]:
    """The attracting cycles of a planar flow reached from starts in the box (see :func:`phase_portrait`)."""
    starts = np.random.default_rng(0).uniform(box[:, 0], box[:, 1], (PORTRAIT_CYCLE_STARTS, 2))
    return find_periodic_orbits(system, starts=starts, fixed_points=points)


def _draw_map_tails(ax: Axes, system: System, points: FixedPointSet, box: np.ndarray) -> None:
    """The last iterates of the orbits of a map that reach no fixed point (see :func:`phase_portrait`)."""
    tails = orbits_reaching_no_fixed_point(system, points, box)
    if not len(tails):
        return
    for path in tails:
        ax.plot(*path.T, ".", color=BLACK, ms=1.0, zorder=4)  # over W^u, which carries them
    ax.plot([], [], ".", color=BLACK, ms=4, label=f"orbits that reach no fixed point (last {tails.shape[1]} steps)")


def _draw_manifolds(ax: Axes, system: System, points: FixedPointSet, box: np.ndarray) -> None:
    """W^u (solid; dots for a map) and W^s (dashed, flows only) of every saddle of ``points``, in its colour."""
    diagonal = float(np.linalg.norm(box[:, 1] - box[:, 0]))
    eps, L = MANIFOLD_EPS * diagonal, ESCAPE_FACTOR * (diagonal + float(np.max(np.abs(box))))
    span = MANIFOLD_TIMESCALES * slowest_timescale(points.fixed().linearizations)
    drawn: set[int] = set()
    for lin in points.saddles().linearizations:
        color = point_style("saddle", lin.index)["color"]
        if system.kind == "flow":
            for path in unstable_manifold(system, lin, eps, span, max_norm=L):
                ax.plot(*path.T, color=color, lw=1.8, zorder=3)
            for path in stable_manifold(system, lin, eps, span, max_norm=L):
                ax.plot(*path.T, "--", color=color, lw=1.4, zorder=3)
        elif lin.index == 1:
            for path in unstable_manifold(system, lin, eps, MANIFOLD_MAP_STEPS, max_norm=L):  # dots: images spread
                ax.plot(*path.T, ".", color=color, ms=1.5, zorder=3)
        else:
            continue
        drawn.add(lin.index)
    for k in sorted(drawn):
        color = point_style("saddle", k)["color"]
        if system.kind == "flow":
            ax.plot([], [], color=color, lw=1.8, label=f"unstable manifold (index-{k} saddle)")
            ax.plot([], [], "--", color=color, lw=1.4, label=f"stable manifold (index-{k} saddle)")
        else:
            ax.plot([], [], ".", color=color, ms=5, label=f"unstable manifold (index-{k} saddle)")


def _draw_basins(
    ax: Axes, system: System, points: FixedPointSet, grid: np.ndarray, box: np.ndarray, resolution: int
) -> int:
    """Colour the grid by the attractor each point reaches (see :func:`phase_portrait`); the number of attractors."""
    attractors = points.stable()
    if not len(attractors):
        return 0
    labels = basins_of_attraction(system, attractors, grid).reshape(resolution, resolution)
    colors = [to_rgba(SERIES_COLORS[i % len(SERIES_COLORS)], 0.35) for i in range(len(attractors))]
    ax.imshow(
        np.ma.masked_less(labels, 0), origin="lower", extent=(*box[0], *box[1]), aspect="auto",
        cmap=ListedColormap(colors), vmin=-0.5, vmax=len(colors) - 0.5, interpolation="nearest", zorder=0,
    )
    for color, x in zip(colors, attractors.x):
        ax.fill([], [], color=color, label=f"basin of ({x[0]:.3g}, {x[1]:.3g})")
    return len(attractors)


# ----------------------------------------------------------------- spectra
def plot_spectrum(points: Any, *, ax: Axes | None = None) -> Figure:
    """Eigenvalues of one or many linearisations in the complex plane.

    Flows are drawn with the imaginary axis (Re lambda = 0, the stability
    boundary), maps with the unit circle |lambda| = 1.  With at most 8
    linearisations each gets its own colour and legend entry, named by
    its id and label; linearisations with the same eigenvalues (up to
    rounding, e.g. symmetric attractors) share one entry, "P1, P2: ...
    (same eigenvalues)", since their markers coincide.  With more, they
    are grouped by point kind (:func:`point_style`: attractors, saddles
    by index, repellers, ...), drawn half-transparent (overlapping markers
    look darker) and counted in the legend ("8 attractors"); without
    ``ax``, each group gets its own panel.

    Parameters
    ----------
    points : FixedPointSet, FixedPoint, Linearization, or a list of them
        All of one kind (flows or maps).
    ax : Axes, optional
        Everything is drawn on it (no panels).

    Returns
    -------
    Figure

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> fig = plot_spectrum(find_fixed_points(models.duffing(), method="exact"))
    >>> sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    ['P0, P1: stable focus (same eigenvalues)', 'P2: saddle']
    """
    entries = _spectrum_entries(points)
    kinds = {kind for _, _, kind, _ in entries}
    if len(kinds) > 1:
        raise ValueError(f"points must all be of flows or all of maps, got both kinds: {sorted(kinds)}")
    kind = kinds.pop() if kinds else "flow"
    if len(entries) <= len(SERIES_COLORS):
        fig, ax = _new_axes(ax, (6.0, 5.0))
        for i, (names, lam) in enumerate(_same_spectra(entries)):
            label = names[0] if len(names) == 1 else ", ".join(n.split(":")[0] for n in names) + ":" + \
                names[0].split(":", 1)[1] + " (same eigenvalues)"
            ax.scatter(lam.real, lam.imag, marker="o", color=SERIES_COLORS[i], s=40, alpha=0.9,
                       edgecolors="white", linewidths=0.5, label=label, zorder=3)
        axes = [ax]
    else:
        groups: dict[tuple[str, int], list[np.ndarray]] = {}
        for _, lam, _, style in entries:
            groups.setdefault(style, []).append(lam)
        order = sorted(groups, key=_legend_order)
        if ax is None and len(order) > 1:
            cols = min(len(order), 3)
            rows = -(-len(order) // cols)
            fig = Figure(figsize=(1.0 + 3.6 * cols, 0.6 + 3.4 * rows), layout="constrained")
            grid = np.asarray(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False))
            axes = list(grid.ravel()[: len(order)])
            for extra in grid.ravel()[len(order):]:
                extra.set_visible(False)
        else:
            fig, ax = _new_axes(ax, (6.0, 5.0))
            axes = [ax] * len(order)
        for ax_k, style in zip(axes, order):
            st = point_style(*style)
            lam = np.concatenate(groups[style])
            count = len(groups[style])
            noun = st["label"] + (" point" if style[0] == "non-hyperbolic" else "")
            ax_k.scatter(lam.real, lam.imag, marker=st["marker"], color=st["color"], s=30, alpha=0.35,
                         linewidths=0, label=f"{count} {noun}{'s' if count != 1 else ''}", zorder=3)
        axes = list(dict.fromkeys(axes))
    what = "flow: stable where Re λ < 0" if kind == "flow" else "map: stable inside |λ| = 1"
    for a in axes:
        _spectrum_frame(a, kind)
        if a.collections:
            a.legend(loc="best", fontsize="small", framealpha=0.85)
    if len(axes) > 1:
        fig.suptitle(f"Eigenvalues ({what})")
    else:
        axes[0].set_title(f"Eigenvalues ({what})")
    return fig


def _spectrum_frame(ax: Axes, kind: str) -> None:
    """The stability boundary (imaginary axis or unit circle), the real axis and the axis labels."""
    if kind == "flow":
        ax.axvline(0.0, color=GREY, lw=1.0, zorder=1)
    else:
        theta = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(theta), np.sin(theta), color=GREY, lw=1.0, zorder=1)
        shared = len(ax.get_shared_x_axes().get_siblings(ax)) > 1  # panels: their limits are shared
        ax.set_aspect("equal", adjustable="box" if shared else "datalim")
    ax.axhline(0.0, color=GREY, lw=0.5, zorder=1)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")


def _same_spectra(entries: list[tuple[str, np.ndarray, str, tuple[str, int]]]) -> list[tuple[list[str], np.ndarray]]:
    """The entries' spectra with equal ones (same sorted eigenvalues up to rounding) merged: (names, eigenvalues)."""
    merged: list[tuple[list[str], np.ndarray]] = []
    for name, lam, _, _ in entries:
        key = np.sort_complex(np.asarray(lam, dtype=complex))
        for names, other in merged:
            if other.shape == key.shape and np.allclose(np.sort_complex(other), key, rtol=1e-9, atol=1e-12):
                names.append(name)
                break
        else:
            merged.append(([name], np.asarray(lam)))
    return merged


def _spectrum_entries(points: Any) -> list[tuple[str, np.ndarray, str, tuple[str, int]]]:
    """(name, eigenvalues, kind of system, (point kind, index)) for each linearisation in ``points``."""
    if isinstance(points, (FixedPointSet, FixedPoint, Linearization)):
        points = [points]
    if not isinstance(points, Iterable) or isinstance(points, (str, bytes, np.ndarray)):
        raise TypeError(f"points must be a FixedPointSet, FixedPoint, Linearization or a list of them, got {points!r}")
    entries = []
    for item in points:
        if isinstance(item, FixedPointSet):
            entries += [(f"{p.id or f'#{len(entries) + j}'}: {p.label}", p.eigenvalues, item.kind,
                         _group(p.kind, p.index)) for j, p in enumerate(item)]
        elif isinstance(item, FixedPoint):
            entries.append((f"{item.id or f'#{len(entries)}'}: {item.label}", item.eigenvalues,
                            item.linearization.kind, _group(item.kind, item.index)))
        elif isinstance(item, Linearization):
            entries.append((f"#{len(entries)}: {item.label}", item.eigenvalues, item.kind,
                            _group(point_kind(True, item), item.index)))
        else:
            raise TypeError(f"points must hold FixedPointSets, FixedPoints or Linearizations, got {type(item).__name__}")
    return entries


# ------------------------------------------------------------------ graphs
def draw_graph(
    G: nx.Graph,
    *,
    ax: Axes | None = None,
    positions: dict[Any, Any] | None = None,
    edge_labels: bool = False,
    projection: tuple[Any, Any] | None = None,
    axis_names: Sequence[str] | None = None,
) -> Figure:
    """A transition graph or attractor graph, with nodes drawn by kind.

    Node positions: ``positions`` when given; else, with ``projection =
    (mean, components)`` (e.g. ``principal_components(states, 3)``, the
    projection of :func:`plot_state_space`), each node's state ``x``
    projected, y = (x - mean) components^T, in 3-D when ``components`` has
    3 rows (with equal axis scales, so that the 2^3 attractors of a 3-bit
    flip-flop sit at the corners of a cube); else, when every node has an
    ``x`` attribute, the nodes' states projected on their own top 2
    principal components (their own coordinates for n <= 2); else a
    spring layout with seed 0.  Nodes are drawn by kind
    (:func:`point_style`; a cycle node, kind ``"cycle"``, as a hexagon at
    its state ``x`` on the cycle) and named by their ``label`` attribute
    (their id when they have none; a cycle's with its period, "C0 (T =
    6.663)"); edges as arrows for a directed graph (resolved
    solid, unresolved dashed grey, via-edges dotted), parallel edges as
    arcs.  Labels are placed, for the view drawn, where they overlap no
    other label and no node (the nearest free spot around their anchor).

    Parameters
    ----------
    G : networkx graph
        From :func:`dynsys.graph.transition_graph` or
        :func:`dynsys.graph.attractor_graph`.
    ax : Axes, optional
        A 3-D Axes when ``projection`` has 3 components (or ``positions``
        are 3-D), else a 2-D one.
    positions : dict of node to (x, y) or (x, y, z), optional
    edge_labels : bool
        Write each edge's ``saddle`` attribute (attractor graphs: the
        index-1 saddle between the two attractors) on it.
    projection : (mean, components), optional
        ``mean`` of shape (n,), ``components`` of shape (2 or 3, n) with
        orthonormal rows; the axes are called PC1, PC2 (, PC3).
    axis_names : sequence of str, optional
        Names of the axes instead, e.g. the states' names with
        ``projection = (zeros(3), eye(3))`` for a 3-state system.

    Returns
    -------
    Figure

    Examples
    --------
    >>> import networkx as nx
    >>> import numpy as np
    >>> G = nx.MultiGraph()
    >>> corners = [(-1.0, -1.0, 1.0), (1.0, -1.0, 1.0)]
    >>> for i, c in enumerate(corners):
    ...     G.add_node(f"P{i}", label=f"P{i} (corner {i})", kind="attractor", index=0, x=np.array(c))
    >>> G.add_edge("P0", "P1", saddle="P2")
    0
    >>> fig = draw_graph(G, edge_labels=True, projection=(np.zeros(3), np.eye(3)))
    >>> fig.axes[0].name, sorted(t.get_text() for t in fig.axes[0].texts)
    ('3d', ['P0 (corner 0)', 'P1 (corner 1)', 'P2'])
    """
    if not isinstance(G, nx.Graph):
        raise TypeError(f"G must be a networkx graph, got {type(G).__name__}")
    pos, axis_labels = _graph_positions(G, positions, projection)
    if axis_names is not None:
        if len(axis_names) != len(axis_labels):
            raise ValueError(f"axis_names must name the {len(axis_labels)} axes, got {list(axis_names)}")
        axis_labels = tuple(map(str, axis_names))
    dim = len(axis_labels)
    fig, ax = _new_axes(ax, (7.0, 6.5) if dim == 3 else (6.5, 5.5), "3d" if dim == 3 else None)
    nodes = list(G)
    XY = np.array([pos[v] for v in nodes], dtype=float).reshape(-1, dim)
    if dim == 3:
        ax.computed_zorder = False  # nodes over edges, as in 2-D
    to_data = _to_axes_data(ax)
    anchors, arrows = _draw_edges(ax, G, pos, to_data)
    data = [G.nodes[v] for v in nodes]
    _scatter_points(ax, XY, [_node_kind(d) for d in data], [d.get("index", 0) for d in data])
    if len(XY):
        lo, hi = XY.min(axis=0), XY.max(axis=0)
        pad = 0.12 * np.maximum(hi - lo, 1e-9) + (hi == lo)
        if dim == 2 and positions is None and _has_states(G):
            ax.set_aspect("equal", adjustable="datalim")  # distances as in state space: the limits follow
            ax.update_datalim([lo - pad, hi + pad])
            ax.autoscale_view()
        else:
            for set_lim, a, b in zip((ax.set_xlim, ax.set_ylim, getattr(ax, "set_zlim", None)), lo - pad, hi + pad):
                set_lim(a, b)
        if dim == 3:  # equal scales on the three axes of a state space, no axis thinner than a quarter of the widest
            extent = 2 * pad + hi - lo
            ax.set_box_aspect(np.maximum(extent, 0.25 * extent.max()) if positions is None else None, zoom=0.95)
        if not G.is_directed() and G.number_of_edges():
            ax.plot([], [], color=GREY, lw=1.1, label="joined through an index-1 saddle")
        where = dict(loc="upper left") if dim == 3 else dict(loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.legend(fontsize="small", frameon=False, **where)
    else:
        ax.text(0.5, 0.5, "no nodes" if G.is_directed() else "no attractors", transform=ax.transAxes,
                ha="center", va="center", color=GREY)
        ax.set_axis_off()
    for set_label, text in zip((ax.set_xlabel, ax.set_ylabel, getattr(ax, "set_zlabel", None)), axis_labels):
        set_label(text)
    name = G.graph.get("system", "")
    what = "transition graph" if G.is_directed() else "attractor graph"
    ax.set_title(f"{name}: {what}" if name else what.capitalize())
    renderer = _draw_now(fig)
    for tail, head, color in arrows:
        ax.annotate("", to_data(head), xytext=to_data(tail), zorder=2, annotation_clip=False,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.1, mutation_scale=10)).set_in_layout(False)
    markers = np.array([to_data(p) for p in XY]).reshape(-1, 2)
    texts = [(markers[i], _node_text(v, d), True) for i, (v, d) in enumerate(zip(nodes, data))]
    if edge_labels:
        texts += [(anchor(), str(d["saddle"]), False) for anchor, d in anchors if "saddle" in d]
    _place_labels(ax, renderer, markers, texts)
    return fig


def _node_text(v: Any, data: dict[str, Any]) -> str:
    """A node's label in a graph picture: its ``label`` (else its id), and a cycle's period."""
    text = str(data.get("label", v))
    return f"{text} (T = {data['period']:.4g})" if data.get("type") == "cycle" and "period" in data else text


def _draw_edges(
    ax: Axes, G: nx.Graph, pos: dict[Any, np.ndarray], to_data: Callable[[np.ndarray], np.ndarray]
) -> tuple[list[tuple[Callable[[], np.ndarray], dict[str, Any]]], list[tuple[np.ndarray, np.ndarray, str]]]:
    """Draw the edges, parallel ones as arcs.

    Returns each edge's label anchor (a function giving the middle of its
    arc in the axes' 2-D data coordinates, to be called once the figure is
    drawn) with its attributes, and in 3-D the arrowheads of a directed
    graph still to be drawn (tail, head, colour).  In 2-D an arc is
    matplotlib's ``arc3``, a quadratic Bezier curve in display
    coordinates; in 3-D it is one in data coordinates, bent by ``rad``
    times the edge's length along a normal of the edge.
    """
    directed = G.is_directed()
    count: dict[tuple[Any, Any], int] = {}
    anchors, arrows = [], []
    for s, t, d in G.edges(data=True):
        key = (s, t) if directed else tuple(sorted((s, t), key=str))
        j = count[key] = count.get(key, -1) + 1
        resolved = d.get("resolved", True)
        style = ":" if d.get("via") else ("-" if resolved else "--")
        color = GREY if not (resolved and directed) else point_style("saddle", int(G.nodes[s].get("index", 1) or 1))["color"]
        rad = 0.15 * ((j + 1) // 2) * (-1) ** j
        p0, p1 = pos[s], pos[t]
        if len(p0) == 2:
            ax.add_patch(FancyArrowPatch(
                p0, p1, arrowstyle="-|>" if directed else "-", mutation_scale=10, linestyle=style, color=color,
                lw=1.1, connectionstyle=f"arc3,rad={rad}", shrinkA=7, shrinkB=7, zorder=2,
            ))
            anchors.append((functools.partial(_arc3_middle, ax, p0, p1, rad), d))
            continue
        chord = p1 - p0
        normal = np.cross(chord, np.eye(3)[np.argmin(np.abs(chord))])
        normal /= max(float(np.linalg.norm(normal)), 1e-300)
        control = 0.5 * (p0 + p1) + rad * float(np.linalg.norm(chord)) * normal
        u = np.linspace(0.0, 1.0, 31)[:, None]
        curve = (1 - u) ** 2 * p0 + 2 * u * (1 - u) * control + u**2 * p1
        ax.plot(*curve.T, linestyle=style, color=color, lw=1.1, zorder=2)
        anchors.append((functools.partial(to_data, curve[15]), d))
        if directed:
            arrows.append((curve[-6], curve[-4], color))
    return anchors, arrows


def _arc3_middle(ax: Axes, p0: np.ndarray, p1: np.ndarray, rad: float) -> np.ndarray:
    """The middle (t = 1/2) of matplotlib's arc3 from p0 to p1, in data coordinates.

    arc3 bends the chord in display coordinates through the control point
    c = m + rad (dy, -dx), m the chord's middle and (dx, dy) = p1 - p0; the
    quadratic Bezier curve passes through (p0 + 2c + p1) / 4 = m + rad (dy, -dx) / 2.
    """
    q0, q1 = ax.transData.transform(np.array([p0, p1], dtype=float))
    dx, dy = q1 - q0
    return ax.transData.inverted().transform(0.5 * (q0 + q1) + 0.5 * rad * np.array([dy, -dx]))


def _to_axes_data(ax: Axes) -> Callable[[np.ndarray], np.ndarray]:
    """The map from a position to the axes' 2-D data coordinates: projected by the 3-D view of the last draw."""
    from mpl_toolkits.mplot3d import proj3d

    def to_data(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return np.array(proj3d.proj_transform(*p, ax.M)[:2]) if len(p) == 3 else p

    return to_data


def _draw_now(fig: Figure) -> Any:
    """Draw the figure (so its layout and 3-D views are final) and return its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _place_labels(ax: Axes, renderer: Any, markers: np.ndarray, texts: list[tuple[np.ndarray, str, bool]]) -> None:
    """Annotate each anchor with its text where it overlaps no placed text and no marker.

    ``markers``: node positions (m, 2) in 2-D data coordinates; ``texts``:
    (anchor in 2-D data coordinates, text, whether it is a node label).
    Node labels try the spots of :func:`_label_spots` around their node,
    edge labels start on their edge; each takes the first free spot (or
    the least covered one).  Labels are kept out of the layout, so that
    the positions they were placed for do not move.
    """
    radius = 0.5 * np.sqrt(point_style("attractor")["s"]) * ax.figure.dpi / 72.0
    occupied = [Bbox.from_extents(*(c - radius), *(c + radius)) for c in ax.transData.transform(markers)]
    for xy, text, is_node in texts:
        label = ax.annotate(
            text, xy, xytext=(0, 0), textcoords="offset points", fontsize=7, zorder=6, annotation_clip=False,
            bbox=None if is_node else dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85),
        )
        label.set_in_layout(False)
        best, best_cost = None, np.inf
        for offset, ha, va in _label_spots(is_node):
            label.set(position=offset, ha=ha, va=va)
            box = label.get_window_extent(renderer)
            cost = sum(_overlap(box, other) for other in occupied)
            if cost < best_cost:
                best, best_cost = (offset, ha, va, box), cost
            if cost == 0:
                break
        offset, ha, va, box = best
        label.set(position=offset, ha=ha, va=va)
        occupied.append(box)


def _label_spots(is_node: bool) -> Iterable[tuple[tuple[float, float], str, str]]:
    """Offsets (points) and alignments to try for a label: on rings of growing radius, 8 directions each."""
    if not is_node:
        yield (0.0, 0.0), "center", "center"
    for r in LABEL_RINGS:
        for angle in np.deg2rad([45, 135, -45, -135, 0, 180, 90, -90]):
            c, s = np.cos(angle), np.sin(angle)
            ha = "left" if c > 0.3 else ("right" if c < -0.3 else "center")
            va = "bottom" if s > 0.3 else ("top" if s < -0.3 else "center")
            yield (r * c, r * s), ha, va


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area (display units) shared by two boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def _has_states(G: nx.Graph) -> bool:
    return len(G) > 0 and all("x" in d for _, d in G.nodes(data=True))


def _graph_positions(
    G: nx.Graph, positions: dict[Any, Any] | None, projection: tuple[Any, Any] | None
) -> tuple[dict[Any, np.ndarray], tuple[str, ...]]:
    """Node -> position (2-D or 3-D) and the axis labels: given, projected, PCA of the nodes' states, or a spring layout."""
    if positions is not None:
        missing = [v for v in G if v not in positions]
        if missing:
            raise ValueError(f"positions must give every node of G; missing {missing[:5]}")
        pos = {v: np.asarray(positions[v], dtype=float).ravel() for v in G}
        dims = {len(p) for p in pos.values()} or {2}
        if len(dims) > 1 or not dims <= {2, 3}:
            raise ValueError(f"positions must all be 2-D or all 3-D, got lengths {sorted(dims)}")
        return pos, ("",) * dims.pop()
    nodes = list(G)
    if projection is not None:
        mean, components = (np.asarray(a, dtype=float) for a in projection)
        if components.ndim != 2 or len(components) not in (2, 3) or mean.shape != components.shape[1:]:
            raise ValueError(f"projection must be (mean (n,), components (2 or 3, n)), got shapes "
                             f"{mean.shape} and {components.shape}")
        if not _has_states(G):
            raise ValueError("projection needs every node of G to have its state x")
        X = np.array([np.ravel(G.nodes[v]["x"]) for v in nodes], dtype=float).reshape(len(nodes), -1)
        if len(nodes) and X.shape[1] != len(mean):
            raise ValueError(f"projection is of R^{len(mean)}, the nodes' states are of R^{X.shape[1]}")
        Y = (X - mean) @ components.T
        return dict(zip(nodes, Y)), tuple(f"PC{i + 1}" for i in range(len(components)))
    if _has_states(G):
        X = np.array([np.atleast_1d(G.nodes[v]["x"]) for v in nodes], dtype=float)
        n = X.shape[1]
        if n == 1:
            Y = np.column_stack([X[:, 0], np.zeros(len(X))])
        elif n == 2:
            Y = X
        else:
            mean, P = principal_components(X, 2)
            Y = (X - mean) @ P.T
            if Y.shape[1] < 2:
                Y = np.column_stack([Y, np.zeros(len(Y))])
        return dict(zip(nodes, Y)), (("PC1", "PC2") if n > 2 else ("x1", "x2" if n == 2 else ""))
    return {v: np.asarray(p, dtype=float) for v, p in nx.spring_layout(G, seed=0).items()}, ("", "")


# ------------------------------------------------------ bifurcation diagrams
BIFURCATION_LABELS = {"fold": "LP", "hopf": "H", "branch_point": "BP", "flip": "PD", "neimark_sacker": "NS",
                      "fold_cycle": "LPC", "period_doubling": "PD"}
"""The short labels of special points, as AUTO-07p and BifurcationKit.jl write them (of cycles: LPC, PD, NS)."""
BIFURCATION_MARKERS = {"fold": "s", "hopf": "o", "branch_point": "^", "flip": "D", "neimark_sacker": "p",
                       "fold_cycle": "P", "period_doubling": "D"}
BIFURCATION_NAMES = {"fold": "fold", "hopf": "Hopf", "branch_point": "branch point", "flip": "flip (period doubling)",
                     "neimark_sacker": "Neimark-Sacker", "fold_cycle": "fold of cycles",
                     "period_doubling": "period doubling"}


def _branch_readout(y: Any, system: System) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The function (m, n) -> (m,) that ``y`` names and its axis label."""
    if y is None:
        y = 0
    if callable(y):
        name = getattr(y, "__name__", "")
        return (lambda X: np.asarray(y(X), dtype=float).reshape(len(X))), (
            name if name and name != "<lambda>" else "y(x)")
    if isinstance(y, str) and y == "norm":
        return (lambda X: np.linalg.norm(X, axis=1)), "|" + ", ".join(system.state_names[:3]) + (
            ", ...|" if system.dim > 3 else "|")
    if isinstance(y, str):
        if y not in system.state_names:
            raise ValueError(f"y must be a state name {list(system.state_names)}, an index, 'norm' or a function of "
                             f"x, got {y!r}")
        y = system.state_names.index(y)
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool) and -system.dim <= y < system.dim:
        k = int(y)
        return (lambda X: X[:, k]), system.state_names[k]
    raise ValueError(f"y must be a state index in [0, {system.dim}), a state name, 'norm' or a function of x, "
                     f"got {y!r}")


def stability_runs(branch: Branch) -> list[tuple[int, int]]:
    """The maximal runs [start, stop) of points of ``branch`` with the same stability and index.

    Examples
    --------
    >>> from dynsys import System, continuation
    >>> pitchfork = System.from_strings({"x": "mu*x - x**3"}, {"mu": -1.0})
    >>> branch = continuation(pitchfork, "mu", [0.0], p_span=(-1, 1))
    >>> [bool(branch.stable[a]) for a, b in stability_runs(branch)]
    [True, False]
    """
    key = np.stack([branch.stable.astype(int), branch.index], axis=1)
    cuts = np.flatnonzero(np.any(np.diff(key, axis=0) != 0, axis=1)) + 1
    edges = [0, *cuts.tolist(), len(branch)]
    return list(zip(edges[:-1], edges[1:]))


def _joined_at_special_points(branch: Branch, readout: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The branch's (p, y) with a joint after each point, shape (2m - 1,): the special point between the
    two neighbours where there is one, else the next point, so that runs of
    :func:`stability_runs` [a, b) are drawn as the slices [2a − 1, 2b − 1] and meet at the special points."""
    p, X = branch.p.copy(), branch.x.copy()
    joints_p, joints_x = p[1:].copy(), X[1:].copy()
    for b in branch.bifurcations:
        k = int(np.searchsorted(branch.s, b.s)) - 1
        if 0 <= k < len(branch) - 1:
            joints_p[k], joints_x[k] = b.p, b.x
    P = np.empty(2 * len(p) - 1)
    Xs = np.empty((2 * len(p) - 1, X.shape[1]))
    P[0::2], P[1::2], Xs[0::2], Xs[1::2] = p, joints_p, X, joints_x
    return P, readout(Xs)


def _branches_and_points(diagram: Any) -> tuple[Sequence[Branch], Sequence[Any]]:
    """The branches and special points of a BifurcationDiagram or of one Branch (TypeError, or ValueError
    when there is no branch)."""
    if isinstance(diagram, Branch):
        branches, bifurcations = (diagram,), diagram.bifurcations
    elif isinstance(diagram, BifurcationDiagram):
        branches, bifurcations = diagram.branches, diagram.bifurcations
    else:
        raise TypeError(f"diagram must be a BifurcationDiagram or a Branch, got {type(diagram).__name__}")
    if not branches:
        raise ValueError("diagram has no branches to draw")
    return branches, bifurcations


def _diagram_parts(diagram: Any) -> tuple[Sequence[Branch], Sequence[Any], Sequence[CycleBranch], System, str]:
    """Point branches, their special points, cycle branches, the system and the parameter of a
    BifurcationDiagram, a Branch or a CycleBranch (TypeError, or ValueError when there is nothing to draw)."""
    if isinstance(diagram, CycleBranch):
        return (), (), (diagram,), diagram.system, diagram.param
    if not isinstance(diagram, (Branch, BifurcationDiagram)):
        raise TypeError(f"diagram must be a BifurcationDiagram, a Branch or a CycleBranch, got {type(diagram).__name__}")
    cycles = diagram.cycle_branches if isinstance(diagram, BifurcationDiagram) else ()
    if isinstance(diagram, BifurcationDiagram) and not diagram.branches and cycles:
        return (), diagram.bifurcations, cycles, diagram.system, diagram.param
    branches, bifurcations = _branches_and_points(diagram)
    return branches, bifurcations, cycles, branches[0].system, branches[0].param


def _run_style(stable: bool, index: int) -> tuple[str, str, str]:
    """Colour, line style and legend text of a run of one stability and index (points or cycles)."""
    if stable:
        return BLACK, "-", "stable"
    if index > 0:
        return point_style("saddle", index)["color"], "--", f"unstable, index {index}"
    return GREY, "--", "non-hyperbolic"


def _cycle_extent(cycles: CycleBranch, readout: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The max and the min (each (m,)) of the readout over each cycle of a branch."""
    m, M, n = cycles.x.shape
    values = readout(cycles.x.reshape(m * M, n)).reshape(m, M)
    return values.max(axis=1), values.min(axis=1)


def _draw_cycle_runs(ax: Axes, cycles: CycleBranch, curves: Sequence[np.ndarray], legend: dict[str, dict[str, Any]]
                     ) -> None:
    """Each curve (m,) of a cycle branch against its parameter, run by run of one stability and index, with open
    circles (about ``CYCLE_MARKS`` per curve).  Runs meet where they change: at the special point located
    between them (its parameter, the curve interpolated in s there), else at the first cycle of the next run."""
    every = max(1, len(cycles) // CYCLE_MARKS)
    for a, b in stability_runs(cycles):
        color, style, text = _run_style(bool(cycles.stable[a]), int(cycles.index[a]))
        marks = dict(marker="o", ms=3.5, mfc="white", mec=color, markevery=every)
        for y in curves:
            before = _cycle_joint(cycles, y, a) if a > 0 else None
            after = _cycle_joint(cycles, y, b) if b < len(cycles) else None
            if after is None and b < len(cycles):
                after = (cycles.p[b], y[b])
            P = [*([before[0]] if before else []), *cycles.p[a:b], *([after[0]] if after else [])]
            Y = [*([before[1]] if before else []), *y[a:b], *([after[1]] if after else [])]
            ax.plot(P, Y, style, color=color, lw=1.3, **marks)
        legend.setdefault(f"cycles, {text}", dict(color=color, ls=style, lw=1.3, **marks))


def _cycle_joint(cycles: CycleBranch, y: np.ndarray, k: int) -> tuple[float, float] | None:
    """The special point between cycles k − 1 and k of a branch, as (p, y interpolated in s), or None."""
    for b in cycles.bifurcations:
        if cycles.s[k - 1] <= b.s <= cycles.s[k]:
            return float(b.p), float(np.interp(b.s, cycles.s, y))
    return None


def _cycle_special_points(cycles: Sequence[CycleBranch], values: Callable[[CycleBranch], Sequence[np.ndarray]]
                          ) -> dict[str, list[tuple[float, float]]]:
    """The cycle bifurcations of the branches by kind, as (p, y) with y interpolated in s on each of the curves
    that ``values`` gives for the branch."""
    found: dict[str, list[tuple[float, float]]] = {}
    for branch in cycles:
        curves = values(branch)
        for b in branch.bifurcations:
            found.setdefault(b.kind, []).extend((b.p, float(np.interp(b.s, branch.s, y))) for y in curves)
    return found


def _mark_points(ax: Axes, kind: str, where: Sequence[tuple[float, float]], annotate: Sequence[bool]) -> None:
    """Mark special points of one kind (one legend entry) and write their label where ``annotate`` says."""
    if not where:
        return
    P, Y = np.array(where, dtype=float).T
    ax.scatter(P, Y, marker=BIFURCATION_MARKERS[kind], s=40, facecolors=VERMILLION, edgecolors=BLACK,
               linewidths=0.6, zorder=5, label=f"{BIFURCATION_LABELS[kind]}: {BIFURCATION_NAMES[kind]}")
    for p, v, write in zip(P, Y, annotate):
        if write:
            ax.annotate(BIFURCATION_LABELS[kind], (p, v), xytext=(5, 5), textcoords="offset points", fontsize=9)


def plot_cycle_period(diagram: BifurcationDiagram | CycleBranch, *, ax: Axes | None = None) -> Figure:
    """Draw the period of the cycles along cycle branches against their parameter.

    A panel of its own (not a second axis of :func:`plot_bifurcation_diagram`,
    whose y is a state): the period T of each cycle of each
    :class:`~dynsys.cycle_continuation.CycleBranch` (of a diagram made
    with ``cycles=True``, or one branch), stable runs solid black, unstable
    ones dashed in the colour of their index, with open circles as in
    :func:`plot_bifurcation_diagram`; the cycle bifurcations at their
    periods, labelled LPC (fold of cycles), PD (period doubling), NS
    (Neimark–Sacker); and, for a diagram, its Hopf points at the period
    2π/ω that the cycles born there tend to (ω the frequency of the
    crossing pair), labelled H.

    Parameters
    ----------
    diagram : BifurcationDiagram or CycleBranch
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When there is no cycle branch to draw.

    Examples
    --------
    The Hopf normal form's cycles all have the period 2π:

    >>> from dynsys import System, continuation
    >>> hopf = System.from_strings({"x": "mu*x - y - x*(x**2 + y**2)", "y": "x + mu*y - y*(x**2 + y**2)"},
    ...                            {"mu": -0.1})
    >>> point = continuation(hopf, "mu", [0.0, 0.0], p_span=(-0.1, 0.5)).bifurcations[0]
    >>> fig = plot_cycle_period(continuation(hopf, "mu", point, p_span=(-0.1, 0.5), ntst=20))
    >>> ax = fig.axes[0]
    >>> ax.get_ylabel(), bool(np.allclose(ax.lines[0].get_ydata(), 2 * np.pi))
    ('period T', True)
    """
    _, bifurcations, cycles, system, param = _diagram_parts(diagram)
    if not cycles:
        raise ValueError("diagram has no cycle branches to draw (bifurcation_diagram(..., cycles=True) has them)")
    fig, ax = _new_axes(ax, (6.4, 4.4))
    legend: dict[str, dict[str, Any]] = {}
    for branch in cycles:
        _draw_cycle_runs(ax, branch, [branch.period], legend)
    hopf = [(b.p, 2 * np.pi / b.frequency) for b in bifurcations if b.kind == "hopf" and b.frequency]
    _mark_points(ax, "hopf", hopf, [True] * len(hopf))
    for kind, where in _cycle_special_points(cycles, lambda branch: [branch.period]).items():
        _mark_points(ax, kind, where, [True] * len(where))
    for text, style in sorted(legend.items(), key=lambda item: ("stable" not in item[0].split(", ")[1], item[0])):
        ax.plot([], [], label=text, **style)
    ax.set_xlabel(param)
    ax.set_ylabel("period T")
    ax.set_title(f"{system.name}: period of the cycles against {param}")
    ax.legend(fontsize=8, loc="best")
    return fig


def plot_mode_frequency(diagram: BifurcationDiagram | Branch, *, ax: Axes | None = None) -> Figure:
    """Draw the frequency of the leading oscillatory mode along branches against their parameter.

    The frequency is :meth:`dynsys.continuation.Branch.oscillatory_mode`'s:
    |Im λ| of a flow's, |arg μ| of a map's leading non-real pair; solid where
    that mode grows (Re λ > 0, |μ| > 1), dotted where it decays; gaps where
    every eigenvalue is real.  For a network continued in its input, this
    is the frequency its linearisation predicts against the input level
    (Sussillo & Barak 2013).

    Parameters
    ----------
    diagram : BifurcationDiagram or Branch
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure

    Examples
    --------
    >>> from dynsys import System, continuation
    >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.5, "B": 3.0})
    >>> fig = plot_mode_frequency(continuation(brusselator, "B", [1.5, 2.0], p_span=(3.0, 3.5)))
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('B', 'frequency of the leading oscillatory mode (per unit time)')
    """
    branches, _ = _branches_and_points(diagram)
    system, param = branches[0].system, branches[0].param
    fig, ax = _new_axes(ax, (6.4, 4.4))
    for i, branch in enumerate(branches):
        frequency, unstable = branch.oscillatory_mode()
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        ax.plot(branch.p, np.where(unstable, frequency, np.nan), "-", color=color, lw=1.8)
        ax.plot(branch.p, np.where(unstable, np.nan, frequency), ":", color=color, lw=1.4)
        if len(branches) > 1:
            ax.plot([], [], "-", color=color, label=f"branch {i}")
    ax.plot([], [], "-", color=GREY, lw=1.8, label="the mode grows (unstable)")
    ax.plot([], [], ":", color=GREY, lw=1.4, label="the mode decays")
    ax.set_xlabel(param)
    ax.set_ylabel("frequency of the leading oscillatory mode" + (" (rad / step)" if system.kind == "map"
                                                                   else " (per unit time)"))
    ax.set_title(f"{system.name}: leading oscillatory mode against {param}")
    ax.legend(fontsize=8, loc="best")
    return fig


def plot_bifurcation_diagram(
    diagram: BifurcationDiagram | Branch | CycleBranch, y: Any = None, *, ax: Axes | None = None
) -> Figure:
    """Draw branches of fixed points and of cycles against their parameter, with their special points.

    Stable parts of a branch are solid black lines, unstable ones dashed, in
    the colour of :func:`point_style` for their index (a saddle of index k;
    grey where a point is neither, non-hyperbolic); each run of one
    stability and index is one line, joined to the next at the point where
    it changes.  Special points are marked and labelled as AUTO-07p and
    BifurcationKit.jl label them: fold "LP", Hopf "H", branch point "BP",
    flip "PD", Neimark-Sacker "NS".  Cycle branches (a diagram's
    :attr:`~dynsys.BifurcationDiagram.cycle_branches`, or a
    :class:`~dynsys.cycle_continuation.CycleBranch`) are drawn as AUTO draws
    them, by the max and the min of y over each cycle (two lines that meet
    at the Hopf point the branch is born at), in the same colours and line
    styles by stability and index (the index of a cycle: its non-trivial
    multipliers outside the unit circle), with open circles; their special
    points are marked on both lines and labelled once: "LPC" (fold of
    cycles), "PD" (period doubling), "NS" (Neimark-Sacker).  The legend
    names what is drawn.  :func:`plot_cycle_period` draws the cycles'
    periods.

    Parameters
    ----------
    diagram : BifurcationDiagram, Branch or CycleBranch
    y : int, str or callable, optional
        What to plot against the parameter: a state's index or name (default
        the first state), ``"norm"`` (|x|), or a function of the states
        (m, n) -> (m,), a network's readout for instance.
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure

    Examples
    --------
    >>> from dynsys import System, bifurcation_diagram
    >>> pitchfork = System.from_strings({"x": "mu*x - x**3"}, {"mu": 0.0})
    >>> fig = plot_bifurcation_diagram(bifurcation_diagram(pitchfork, "mu", (-1.0, 1.0)))
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel(), [t.get_text() for t in ax.texts]
    ('mu', 'x', ['BP'])

    The Brusselator's cycles, born at its Hopf point B = 1 + A²:

    >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 1.5})
    >>> fig = plot_bifurcation_diagram(bifurcation_diagram(brusselator, "B", (1.5, 2.5), n_starts=8, cycles=True))
    >>> sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    ['H: Hopf', 'cycles, stable', 'stable', 'unstable, index 2']
    """
    branches, bifurcations, cycles, system, param = _diagram_parts(diagram)
    readout, ylabel = _branch_readout(y, system)
    fig, ax = _new_axes(ax, (6.4, 4.4))
    legend: dict[str, dict[str, Any]] = {}
    for branch in branches:
        P, values = _joined_at_special_points(branch, readout)
        for a, b in stability_runs(branch):
            color, style, label = _run_style(bool(branch.stable[a]), int(branch.index[a]))
            run = slice(max(2 * a - 1, 0), 2 * b)
            ax.plot(P[run], values[run], style, color=color, lw=1.6)
            legend.setdefault(label, dict(color=color, ls=style, lw=1.6))
    extents = {id(branch): _cycle_extent(branch, readout) for branch in cycles}  # the readout over every cycle, once
    for branch in cycles:
        _draw_cycle_runs(ax, branch, extents[id(branch)], legend)
    for kind in BIFURCATION_LABELS:
        points = [b for b in bifurcations if b.kind == kind]
        if points:
            where = list(zip([b.p for b in points], readout(np.array([b.x for b in points])).tolist()))
            _mark_points(ax, kind, where, [True] * len(where))
    for kind, where in _cycle_special_points(cycles, lambda branch: extents[id(branch)]).items():
        _mark_points(ax, kind, where, [j % 2 == 0 for j in range(len(where))])  # (max, min) pairs: one label each
    for label, style in sorted(legend.items(), key=lambda item: (item[0].startswith("cycles"),
                                                                 "stable" not in item[0].split(", ")[-1], item[0])):
        ax.plot([], [], label=label, **style)
    ax.set_xlabel(param)
    ax.set_ylabel(ylabel + ("  (cycles: max and min over each cycle)" if cycles else ""))
    what = ("fixed points and cycles" if branches else "cycles") if cycles else "fixed points"
    ax.set_title(f"{system.name}: {what} against {param}")
    ax.legend(fontsize=8, loc="best")
    return fig
