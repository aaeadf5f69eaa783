"""Pictures of the dynamics: trials, state spaces, phase portraits, spectra, graphs.

Every function draws on a :class:`matplotlib.figure.Figure` made without
pyplot (so nothing opens a window, nothing calls ``plt.show()``, and the
figure belongs to no global state) and returns it; where an ``ax`` is given
it is drawn on and its figure returned.  Save a figure with
``fig.savefig(path, dpi=...)``; in a notebook, display it by leaving it as
the last expression of a cell.

Fixed points are drawn the same way everywhere (:func:`point_style`):
attractors as filled black discs, saddles (and repellers) as diamonds
coloured by their index dim E^u, non-hyperbolic points as grey squares,
slow points as faint grey discs and unresolved branch ends as grey crosses.
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

from typing import Any, Iterable

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from ._validate import check_count, check_real, check_system
from .fixed_points import FixedPoint, FixedPointSet, find_fixed_points, point_kind
from .linearize import Linearization
from .simulate import simulate
from .systems import System, _check_bounds

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
MANIFOLD_POINTS = 3000  # samples along a manifold branch of a flow
MANIFOLD_MAP_STEPS = 12  # maps: iterations of a fundamental domain of W^u
FUNDAMENTAL_POINTS = 400  # maps: points on the fundamental domain
BASIN_TIMESCALES = 4.0  # basins: chunk length in slowest timescales
BASIN_MAX_CHUNKS = 25  # basins: chunks at most before a grid point is left unassigned
BASIN_CAPTURE = 0.25  # basins: settled within this fraction of the nearest-attractor distance
QUIVER_POINTS = 25  # maps: arrows per side of the quiver grid


# ------------------------------------------------------------ shared styles
def point_style(kind: str, index: int = 0) -> dict[str, Any]:
    """Marker keyword arguments (for ``Axes.scatter``) of a point kind.

    Parameters
    ----------
    kind : {"attractor", "saddle", "nonhyperbolic", "slow", "unresolved"}
    index : int
        dim E^u, used for saddles.

    Returns
    -------
    dict
        ``marker``, ``color``, ``s``, ``alpha``, ``edgecolors``, ``zorder``
        and ``label`` (e.g. "index-1 saddle").
    """
    styles = {
        "attractor": dict(marker="o", color=BLACK, s=60, alpha=1.0, label="attractor"),
        "saddle": dict(
            marker="D", color=INDEX_COLORS[(max(index, 1) - 1) % len(INDEX_COLORS)], s=45, alpha=1.0,
            label=f"index-{index} saddle",
        ),
        "nonhyperbolic": dict(marker="s", color=GREY, s=40, alpha=1.0, label="non-hyperbolic"),
        "slow": dict(marker="o", color=GREY, s=18, alpha=0.35, label="slow point"),
        "unresolved": dict(marker="X", color=GREY, s=40, alpha=0.8, label="unresolved end"),
    }
    if kind not in styles:
        raise ValueError(f"kind must be one of {tuple(styles)}, got {kind!r}")
    return {**styles[kind], "edgecolors": "white" if kind != "slow" else "none", "linewidths": 0.6, "zorder": 5}


def _kind_of(is_fixed: bool, lin: Linearization) -> str:
    kind = point_kind(is_fixed, lin)
    return {"non-hyperbolic": "nonhyperbolic", "repeller": "saddle"}.get(kind, kind)


def _node_kind(data: dict[str, Any]) -> str:
    """The point kind of a graph node from its attributes."""
    kind = data.get("kind", "non-hyperbolic")
    return {"non-hyperbolic": "nonhyperbolic", "repeller": "saddle"}.get(kind, kind)


def _scatter_points(ax: Axes, Y: np.ndarray, kinds: list[str], index: np.ndarray) -> None:
    """Scatter projected points Y (m, 2 or 3), one call (and legend entry) per kind and index."""
    groups = sorted({(k, int(i) if k == "saddle" else 0) for k, i in zip(kinds, index)}, key=_legend_order)
    for kind, k in groups:
        sel = np.array([kk == kind and (kind != "saddle" or int(i) == k) for kk, i in zip(kinds, index)])
        shade = {"depthshade": False} if ax.name == "3d" else {}  # the same colours at any depth
        ax.scatter(*Y[sel].T, **point_style(kind, k), **shade)


def _legend_order(group: tuple[str, int]) -> tuple[int, int]:
    order = ("attractor", "saddle", "nonhyperbolic", "slow", "unresolved")
    return order.index(group[0]), group[1]


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
) -> Figure:
    """Trajectories, fixed points and transition branches in the top principal components.

    The states are projected on their top ``dims`` principal components
    (:func:`principal_components`); when the system has n <= ``dims``
    states they are drawn in their own coordinates instead.  On top: the
    fixed points by kind (:func:`point_style`), short segments
    x* +- s v along each saddle's unstable directions (the columns v of
    E^u, s = ``UNSTABLE_SEGMENT`` times the view's extent, before
    projection), and the branches of ``graph``: the paths they took when
    it was built with ``keep_paths=True``, else straight dotted lines from
    each saddle to where its branch ended.

    Parameters
    ----------
    states : array_like of shape (B, T, n) or (T, n), n >= 2
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
        A 3-D Axes for ``dims`` 3, a 2-D one for ``dims`` 2.
    dims : {2, 3}, optional
        Default 2 when n == 2, else 3.

    Returns
    -------
    Figure
    """
    X = np.asarray(states, dtype=float)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[2] < 2:
        raise ValueError(f"states must have shape (B, T, n) or (T, n) with n >= 2, got {np.shape(states)}")
    n = X.shape[2]
    dims = (2 if n == 2 else 3) if dims is None else dims
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    n_trajectories = check_count(n_trajectories, "n_trajectories", 0)
    points = _points_of(fixed_points, graph, n)
    names = system.state_names if system is not None else (
        fixed_points.state_names if fixed_points is not None else tuple(f"x{i + 1}" for i in range(n))
    )
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
    title = system.name if system is not None else (fixed_points.system_name if fixed_points is not None else "")
    ax.set_title(f"{title}: trajectories and fixed points, {where}".lstrip(": "))
    ax.legend(loc="upper left", fontsize="small", framealpha=0.8)
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
        kinds = [_kind_of(f, lin) for f, lin in zip(fixed_points.is_fixed, fixed_points.linearizations)]
        return fixed_points.x, kinds, fixed_points.index, [lin.Eu for lin in fixed_points.linearizations]
    if graph is None or len(graph) == 0:
        return None
    data = [d for _, d in graph.nodes(data=True)]
    x = np.array([d["x"] for d in data], dtype=float)
    if x.shape[1] != n:
        raise ValueError(f"graph nodes must be points of R^{n} like the states, got {x.shape}")
    return x, [_node_kind(d) for d in data], np.array([d.get("index", 0) for d in data]), [None] * len(data)


def _draw_branches(ax: Axes, graph: nx.MultiDiGraph, project: Any) -> None:
    """The branches of a transition graph, coloured by their saddle's index."""
    drawn = False
    for s, t, d in graph.edges(data=True):
        if d.get("via"):
            continue
        color = point_style("saddle", int(graph.nodes[s].get("index", 1)))["color"] if d.get("resolved", True) else GREY
        path = d.get("path")
        if path is not None and len(path):
            ax.plot(*project(np.vstack([graph.nodes[s]["x"], path])).T, color=color, lw=1.1, alpha=0.75)
        else:
            ax.plot(*project(np.stack([graph.nodes[s]["x"], graph.nodes[t]["x"]])).T, ":", color=color, lw=1.1)
        drawn = True
    if drawn:
        ax.plot([], [], color=ORANGE, lw=1.1, label="saddle branches")


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
) -> Figure:
    """The phase portrait of a 2-D flow or map.

    Flows: stream lines of f on a ``resolution`` x ``resolution`` grid,
    the nullclines f_1 = 0 and f_2 = 0, the fixed points by kind
    (:func:`point_style`), and for every saddle its manifolds, computed:
    W^u by integrating x* +- eps v (v spanning E^u) forward, W^s by
    integrating x* +- eps w (w spanning E^s) with ``system.reverse_time()``,
    both with rk4 (:func:`dynsys.simulate.simulate`) for
    ``MANIFOLD_TIMESCALES`` slowest timescales 1 / min margin.

    Maps: arrows of the step g(x) - x, the curves g_i(x) = x_i, the fixed
    points, and W^u of every saddle by iterating a fundamental domain
    {x* +- s v : eps <= s <= eps |lambda|^m} (m = 2 for a flip saddle,
    lambda < 0, so that each branch stays on its side) ``MANIFOLD_MAP_STEPS``
    times.  W^s of a map needs the inverse map, which a :class:`System` does
    not provide, and is not drawn.

    Basins (``basins=True``): every grid point is followed (the whole grid
    as one batch, in chunks, until it is within ``BASIN_CAPTURE`` times the
    nearest-attractor spacing of an attractor) and coloured by the
    attractor it reached; points that reach none stay white.  The colours
    are in ``ax.images[0]``: its array (``resolution`` x ``resolution``,
    row 0 at the lower bound of the second state, ``origin="lower"``)
    holds the number of the attractor in ``fixed_points.stable()``,
    masked where none was reached.  Its cost is that of simulating
    ``resolution**2`` states.

    Parameters
    ----------
    system : System of dim 2
    bounds : array_like of shape (2, 2), optional
        The box drawn; default ``system.bounds``, else a box around the
        fixed points.
    fixed_points : FixedPointSet, optional
        Default: :func:`dynsys.find_fixed_points` in ``bounds``.
    ax : Axes, optional
    resolution : int >= 10
        Grid points per side (stream lines, nullclines, basins).
    nullclines, manifolds, basins : bool
    density : float > 0
        Stream line density (``Axes.streamplot``).

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When ``system.dim != 2``, or bounds are needed and unknown.
    """
    check_system(system)
    if system.dim != 2:
        raise ValueError(f"phase_portrait needs a 2-D system, {system.name} has dim {system.dim}")
    resolution = check_count(resolution, "resolution", 10)
    density = check_real(density, "density", positive=True)
    box = _portrait_bounds(system, bounds, fixed_points)
    if fixed_points is None:
        fixed_points = find_fixed_points(system, bounds=box, seed=0)
    elif not isinstance(fixed_points, FixedPointSet) or fixed_points.x.shape[1] != 2:
        raise ValueError(f"fixed_points must be a FixedPointSet of points of R^2, got {fixed_points!r}")
    fig, ax = _new_axes(ax, (6.5, 5.5))
    u = np.linspace(*box[0], resolution)
    v = np.linspace(*box[1], resolution)
    U, V = np.meshgrid(u, v)
    grid = np.column_stack([U.ravel(), V.ravel()])
    names = system.state_names
    if basins:
        _draw_basins(ax, system, fixed_points, grid, box, resolution)
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
    if manifolds:
        _draw_manifolds(ax, system, fixed_points, box)
    kinds = [_kind_of(f, lin) for f, lin in zip(fixed_points.is_fixed, fixed_points.linearizations)]
    _scatter_points(ax, fixed_points.x, kinds, fixed_points.index)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"{system.name}: phase portrait" + (" and basins" if basins else ""))
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return fig


def _portrait_bounds(system: System, bounds: Any, fixed_points: FixedPointSet | None) -> np.ndarray:
    """The box (2, 2) of a phase portrait (see :func:`phase_portrait`)."""
    if bounds is not None:
        return _check_bounds(bounds, 2)
    if system.bounds is not None:
        return np.asarray(system.bounds, dtype=float)
    if fixed_points is None or len(fixed_points) == 0:
        raise ValueError(f"bounds are needed: {system.name} has no bounds and no fixed_points were given")
    lo, hi = fixed_points.x.min(axis=0), fixed_points.x.max(axis=0)
    pad = np.maximum(0.5 * (hi - lo), 1.0)
    return np.column_stack([lo - pad, hi + pad])


def _slowest_timescale(points: FixedPointSet) -> float:
    """1 / (smallest positive margin of the hyperbolic fixed points); 1 when there is none."""
    margins = np.array([lin.margin for lin, f in zip(points.linearizations, points.is_fixed) if f], dtype=float)
    margins = margins[margins > 0]
    return 1.0 / float(margins.min()) if margins.size else 1.0


def _manifold_branches(system: System, x: np.ndarray, E: np.ndarray, eps: float, span: float, L: float) -> np.ndarray:
    """Both branches (2k, T, n) of the manifold leaving x along the columns of E, integrated over span."""
    starts = np.concatenate([x + eps * E.T, x - eps * E.T])
    return simulate(system, starts, (0.0, span), method="rk4", n_points=MANIFOLD_POINTS, max_norm=L).X


def _unstable_manifold_of_map(system: System, lin: Linearization, eps: float, L: float) -> np.ndarray:
    """Both branches (2, S * (steps + 1), n) of W^u of a map's index-1 saddle, by iterating a fundamental domain."""
    lam = lin.eigenvalues[0].real
    m = 2 if lam < 0 else 1
    s = eps * np.abs(lam) ** (m * np.linspace(0.0, 1.0, FUNDAMENTAL_POINTS))
    v = lin.Eu[:, 0]
    starts = np.concatenate([lin.x + s[:, None] * v, lin.x - s[:, None] * v])
    X = simulate(system.iterate(m) if m > 1 else system, starts, steps=MANIFOLD_MAP_STEPS, max_norm=L).X
    S = FUNDAMENTAL_POINTS
    return np.stack([X[:S].transpose(1, 0, 2).reshape(-1, 2), X[S:].transpose(1, 0, 2).reshape(-1, 2)])


def _draw_manifolds(ax: Axes, system: System, points: FixedPointSet, box: np.ndarray) -> None:
    """W^u (solid) and W^s (dashed, flows only) of every saddle of ``points``."""
    diagonal = float(np.linalg.norm(box[:, 1] - box[:, 0]))
    eps, L = MANIFOLD_EPS * diagonal, 1e3 * (diagonal + float(np.max(np.abs(box))))
    span = MANIFOLD_TIMESCALES * _slowest_timescale(points)
    saddles = points.saddles()
    for lin in saddles.linearizations:
        color = point_style("saddle", lin.index)["color"]
        if system.kind == "flow":
            for path in _manifold_branches(system, lin.x, lin.Eu, eps, span, L):
                ax.plot(*path.T, color=color, lw=1.8, zorder=3)
            for path in _manifold_branches(system.reverse_time(), lin.x, lin.Es, eps, span, L):
                ax.plot(*path.T, "--", color=color, lw=1.4, zorder=3)
        elif lin.index == 1:
            for path in _unstable_manifold_of_map(system, lin, eps, L):  # dots: the images spread apart
                ax.plot(*path.T, ".", color=color, ms=1.5, zorder=3)
    if len(saddles):
        ax.plot([], [], color=BLACK, lw=1.8, label="unstable manifold")
        if system.kind == "flow":
            ax.plot([], [], "--", color=BLACK, lw=1.4, label="stable manifold")


def basin_labels(system: System, attractors: FixedPointSet, X0: np.ndarray) -> np.ndarray:
    """The attractor each state settles on: its row in ``attractors``, or -1.

    All states are followed as one batch, in chunks of ``BASIN_TIMESCALES``
    slowest timescales (iterations for a map) of the attractors, until each
    is within ``BASIN_CAPTURE`` times the smallest distance between two
    attractors (or 1 for a single attractor) of one of them; after
    ``BASIN_MAX_CHUNKS`` chunks the rest are -1.

    Parameters
    ----------
    system : System
    attractors : FixedPointSet
    X0 : ndarray of shape (B, n)

    Returns
    -------
    ndarray of int, shape (B,)
    """
    A = attractors.x
    labels = np.full(len(X0), -1)
    if len(A) == 0:
        return labels
    D = np.linalg.norm(A[:, None] - A[None], axis=2) + np.diag(np.full(len(A), np.inf))
    radius = BASIN_CAPTURE * (float(D.min()) if len(A) > 1 else 1.0)
    chunk = BASIN_TIMESCALES * _slowest_timescale(attractors)
    L = 1e3 * max(1.0, float(np.max(np.abs(X0))), float(np.max(np.abs(A))))
    active, Y = np.arange(len(X0)), np.array(X0, dtype=float)
    for _ in range(BASIN_MAX_CHUNKS):
        if system.kind == "flow":
            Y = simulate(system, Y, (0.0, chunk), method="rk4", n_points=2, max_norm=L).final
        else:
            Y = simulate(system, Y, steps=max(1, int(np.ceil(chunk))), max_norm=L).final
        dist = np.linalg.norm(Y[:, None] - A[None], axis=2)
        near = np.nanargmin(np.where(np.isfinite(dist), dist, np.inf), axis=1)
        done = dist[np.arange(len(Y)), near] <= radius
        labels[active[done]] = near[done]
        keep = ~done & np.isfinite(Y).all(axis=1)
        active, Y = active[keep], Y[keep]
        if not len(active):
            break
    return labels


def _draw_basins(
    ax: Axes, system: System, points: FixedPointSet, grid: np.ndarray, box: np.ndarray, resolution: int
) -> None:
    """Colour the grid by the attractor each point reaches (see :func:`phase_portrait`)."""
    attractors = points.stable()
    labels = basin_labels(system, attractors, grid).reshape(resolution, resolution)
    colors = [to_rgba(c, 0.35) for c in SERIES_COLORS[: max(1, len(attractors))]]
    ax.imshow(
        np.ma.masked_less(labels, 0), origin="lower", extent=(*box[0], *box[1]), aspect="auto",
        cmap=ListedColormap(colors), vmin=-0.5, vmax=len(colors) - 0.5, interpolation="nearest", zorder=0,
    )
    for i, x in enumerate(attractors.x):
        ax.fill([], [], color=colors[i % len(colors)], label=f"basin of ({x[0]:.3g}, {x[1]:.3g})")


# ----------------------------------------------------------------- spectra
def plot_spectrum(points: Any, *, ax: Axes | None = None) -> Figure:
    """Eigenvalues of one or many linearisations in the complex plane.

    Flows are drawn with the imaginary axis (Re lambda = 0, the stability
    boundary), maps with the unit circle |lambda| = 1.  Each point gets its
    own colour when there are at most 8; beyond that the colours are those
    of the point kinds (:func:`point_style`).

    Parameters
    ----------
    points : FixedPointSet, FixedPoint, Linearization, or a list of them
        All of one kind (flows or maps).
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    entries = _spectrum_entries(points)
    kinds = {kind for _, _, kind, _ in entries}
    if len(kinds) > 1:
        raise ValueError(f"points must all be of flows or all of maps, got both kinds: {sorted(kinds)}")
    kind = kinds.pop() if kinds else "flow"
    fig, ax = _new_axes(ax, (6.0, 5.0))
    by_kind = len(entries) > len(SERIES_COLORS)
    seen: set[str] = set()
    for i, (name, lam, _, style) in enumerate(entries):
        if by_kind:
            st = point_style(*style)
            label = None if st["label"] in seen else st["label"]
            seen.add(st["label"])
            ax.scatter(lam.real, lam.imag, marker=st["marker"], color=st["color"], s=30, alpha=0.8, label=label)
        else:
            ax.scatter(lam.real, lam.imag, marker="o", color=SERIES_COLORS[i], s=40, alpha=0.9,
                       edgecolors="white", linewidths=0.5, label=name, zorder=3)
    if kind == "flow":
        ax.axvline(0.0, color=GREY, lw=1.0, zorder=1)
        ax.set_title("Eigenvalues (flow: stable where Re λ < 0)")
    else:
        theta = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(theta), np.sin(theta), color=GREY, lw=1.0, zorder=1)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title("Eigenvalues (map: stable inside |λ| = 1)")
    ax.axhline(0.0, color=GREY, lw=0.5, zorder=1)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    if entries:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return fig


def _spectrum_entries(points: Any) -> list[tuple[str, np.ndarray, str, tuple[str, int]]]:
    """(name, eigenvalues, kind of system, (point kind, index)) for each linearisation in ``points``."""
    if isinstance(points, (FixedPointSet, FixedPoint, Linearization)):
        points = [points]
    if not isinstance(points, Iterable) or isinstance(points, (str, bytes, np.ndarray)):
        raise TypeError(f"points must be a FixedPointSet, FixedPoint, Linearization or a list of them, got {points!r}")
    entries = []
    for item in points:
        if isinstance(item, FixedPointSet):
            entries += [(f"#{len(entries) + j}: {p.label}", p.eigenvalues, item.kind,
                         (_kind_of(p.is_fixed, p.linearization), p.index)) for j, p in enumerate(item)]
        elif isinstance(item, FixedPoint):
            lin = item.linearization
            entries.append((f"#{len(entries)}: {item.label}", item.eigenvalues, lin.kind,
                            (_kind_of(item.is_fixed, lin), item.index)))
        elif isinstance(item, Linearization):
            entries.append((f"#{len(entries)}: {item.label}", item.eigenvalues, item.kind,
                            (_kind_of(True, item), item.index)))
        else:
            raise TypeError(f"points must hold FixedPointSets, FixedPoints or Linearizations, got {type(item).__name__}")
    return entries


# ------------------------------------------------------------------ graphs
def draw_graph(
    G: nx.Graph, *, ax: Axes | None = None, positions: dict[Any, Any] | None = None, edge_labels: bool = False
) -> Figure:
    """A transition graph or attractor graph, with nodes drawn by kind.

    Node positions: ``positions`` when given; else, when every node has an
    ``x`` attribute, the nodes' states projected on their top 2 principal
    components (their own coordinates for n <= 2), so the picture matches
    :func:`plot_state_space`; else a spring layout with seed 0.  Nodes are
    drawn by kind (:func:`point_style`: attractors black, saddles coloured
    by index, unresolved ends grey) with their ids; edges as arrows for a
    directed graph (resolved solid, unresolved dashed grey, via-edges
    dotted), parallel edges as arcs.

    Parameters
    ----------
    G : networkx graph
        From :func:`dynsys.graph.transition_graph` or
        :func:`dynsys.graph.attractor_graph`.
    ax : Axes, optional
    positions : dict of node to (x, y), optional
    edge_labels : bool
        Write each edge's ``saddle`` attribute (attractor graphs) on it.

    Returns
    -------
    Figure
    """
    if not isinstance(G, nx.Graph):
        raise TypeError(f"G must be a networkx graph, got {type(G).__name__}")
    pos = _graph_positions(G, positions)
    fig, ax = _new_axes(ax, (6.5, 5.5))
    directed = G.is_directed()
    count: dict[tuple[Any, Any], int] = {}
    for s, t, d in G.edges(data=True):
        key = (s, t) if directed else tuple(sorted((s, t), key=str))
        j = count[key] = count.get(key, -1) + 1
        resolved = d.get("resolved", True)
        style = ":" if d.get("via") else ("-" if resolved else "--")
        color = GREY if not resolved else point_style("saddle", int(G.nodes[s].get("index", 1) or 1))["color"]
        color = color if directed else GREY
        rad = 0.15 * ((j + 1) // 2) * (-1) ** j
        ax.add_patch(FancyArrowPatch(
            pos[s], pos[t], arrowstyle="-|>" if directed else "-", mutation_scale=10, linestyle=style, color=color,
            lw=1.1, connectionstyle=f"arc3,rad={rad}", shrinkA=7, shrinkB=7, zorder=2,
        ))
        if edge_labels and "saddle" in d:
            mid = 0.5 * (np.asarray(pos[s]) + np.asarray(pos[t]))
            ax.annotate(str(d["saddle"]), mid, fontsize=7, color=BLACK, ha="center", va="center", zorder=4)
    nodes = list(G)
    XY = np.array([pos[v] for v in nodes], dtype=float).reshape(-1, 2)
    data = [G.nodes[v] for v in nodes]
    _scatter_points(ax, XY, [_node_kind(d) for d in data], np.array([d.get("index", 0) for d in data]))
    for v, (a, b) in zip(nodes, XY):
        ax.annotate(str(v).split(":")[0] if str(v).startswith("unresolved") else str(v), (a, b),
                    xytext=(4, 4), textcoords="offset points", fontsize=7, zorder=6)
    if len(XY):
        lo, hi = XY.min(axis=0), XY.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-9) + (hi == lo)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", frameon=False)
    xlabel, ylabel = _graph_axis_labels(G, positions)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    name = G.graph.get("system", "")
    what = "transition graph" if directed else "attractor graph"
    ax.set_title(f"{name}: {what}" if name else what.capitalize())
    return fig


def _has_states(G: nx.Graph) -> bool:
    return len(G) > 0 and all("x" in d for _, d in G.nodes(data=True))


def _graph_axis_labels(G: nx.Graph, positions: dict[Any, Any] | None) -> tuple[str, str]:
    if positions is None and _has_states(G):
        n = len(np.atleast_1d(next(iter(G.nodes(data="x")))[1]))
        return ("PC1", "PC2") if n > 2 else ("x1", "x2" if n == 2 else "")
    return "", ""


def _graph_positions(G: nx.Graph, positions: dict[Any, Any] | None) -> dict[Any, np.ndarray]:
    """Node -> (x, y): given, PCA of the nodes' states, or a seeded spring layout."""
    if positions is not None:
        missing = [v for v in G if v not in positions]
        if missing:
            raise ValueError(f"positions must give every node of G; missing {missing[:5]}")
        return {v: np.asarray(positions[v], dtype=float).reshape(2) for v in G}
    if _has_states(G):
        nodes = list(G)
        X = np.array([np.atleast_1d(G.nodes[v]["x"]) for v in nodes], dtype=float)
        if X.shape[1] == 1:
            Y = np.column_stack([X[:, 0], np.zeros(len(X))])
        elif X.shape[1] == 2:
            Y = X
        else:
            mean, P = principal_components(X, 2)
            Y = (X - mean) @ P.T
            if Y.shape[1] < 2:
                Y = np.column_stack([Y, np.zeros(len(Y))])
        return dict(zip(nodes, Y))
    return {v: np.asarray(p, dtype=float) for v, p in nx.spring_layout(G, seed=0).items()}
