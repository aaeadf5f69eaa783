"""The saddle between two attractors, found by edge tracking.

Searches for fixed points from states sampled along trajectories rarely find
the saddles: trajectories pass them quickly.  But a saddle of index 1 whose
unstable manifold joins two attractors a and b sits on the boundary between
their basins, and its stable manifold *is* that boundary (locally).  Edge
tracking finds it without any start near it:

1. *Boundary on the path.*  Along the segment p(s) = a + s (b - a),
   0 <= s <= 1, classify points by the attractor they reach (see below) and
   narrow a bracket [p_A, p_B] with p_A in the basin of a and p_B in that of
   b by the factor 2^(-n_bisect), to |p_A - p_B| <= 2^(-n_bisect) |a - b|.  Each round classifies
   ``n_scan`` equally spaced interior points of the bracket at once (a
   multisection: a coarse scan first, then ever finer ones, each worth
   log2(n_scan + 1) bisection steps).
2. *Edge tracking* (Battelino et al. 1988; Skufca, Yorke & Eckhardt 2006).
   The basins are invariant, so after the pair is advanced (integrated or
   iterated) p_A still lies in the basin of a and p_B in that of b: the pair
   still straddles the boundary.  Advance it until the two states are
   ``separation * |a - b|`` apart (they separate along the unstable
   direction of the edge), then narrow the bracket between them again by
   2^(-n_bisect).  The midpoint of the pair thus stays on the boundary while
   it follows the dynamics restricted to the boundary, and converges to the
   attractor of that restricted dynamics, the *edge state*: the saddle.
   Tracking stops when a round moves the midpoint by at most
   ``separation * |a - b|``: once the pair has reached the saddle, each round
   just lets it escape along the unstable manifold and brings it back, and
   the chord between the escaped pair crosses the boundary O(separation²)
   from the saddle (the curvature of the unstable manifold), which is as
   close as tracking gets.
3. *Polish.*  :func:`dynsys.find_fixed_points` from the edge state (Newton
   convergence); the point is returned when it is a fixed point of index >= 1.

A state is classified by the attractor mapper
(:class:`dynsys.basins.AttractorMapper`) with the two attractors a and b:
integrated (RK4 over the batch, step at most h = 0.5 / L with L the largest
||Df||_2 along the segment, :func:`dynsys.simulate.step_size`) or iterated
until it comes within the capture radius r = capture |a - b| of a or of b;
states that reach neither within ``t_max`` (stuck on the boundary itself,
at a third attractor, or escaped) are undecided and never end a bracket.
The balls of radius r about a and b must lie in the basins; lower
``capture`` when in doubt.  Tracking advances the pair one such step at a
time (:func:`dynsys.simulate.stepper`).

References
----------
J. M. Battelino, C. Grebogi, E. Ott, J. A. Yorke and E. D. Yorke, "Multiple
coexisting attractors, basin boundaries and basic sets", Physica D 32 (1988),
pp. 296-305 (the straddle method).

J. D. Skufca, J. A. Yorke and B. Eckhardt, "Edge of chaos in a parallel shear
flow", Phys. Rev. Lett. 96, 174101 (2006) (edge tracking).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import check_count, check_real
from .basins import AttractorMapper, slowest_timescale
from .fixed_points import find_fixed_points
from .fixed_points.common import EPS
from .linearize import Linearization, linearize_batch
from .simulate import step_size, stepper
from .systems import System, check_system

A_SIDE, B_SIDE = 0, 1  # the labels of a and b (their rows in the mapper's attractors)
HORIZON = 200.0  # default t_max, in units of the slowest time scale of the two attractors
STEP_SCALE = 0.5  # RK4 step h = STEP_SCALE / L, L = max ||Df||_2 on the segment

Stepper = Callable[[np.ndarray], np.ndarray]


def find_saddles_between(
    system: System,
    a: Any,
    b: Any,
    *,
    n_bisect: int = 20,
    t_max: float | None = None,
    tol: float = 1e-10,
    capture: float = 0.25,
    n_scan: int = 16,
    separation: float = 1e-3,
    max_rounds: int = 100,
) -> np.ndarray | None:
    """The saddle on the boundary between the basins of two attractors.

    Parameters
    ----------
    system : System
        A flow or a map.
    a, b : array_like of shape (n,)
        Two distinct attractors (hyperbolic fixed points of index 0).
    n_bisect : int, default 20
        Each narrowing shrinks the bracket by the factor 2^(-n_bisect) (at
        most to the rounding limit 16 eps max(1, |x|)).  More does not make
        the saddle more accurate (the final Newton polish does that), only
        the search slower.
    t_max : float, optional
        How long a state is followed before it counts as undecided: a time
        for a flow, a number of iterations for a map; also the longest a
        pair is advanced in one tracking round.  Default: 200 times the
        slowest time scale of a and b (:func:`dynsys.basins.slowest_timescale`),
        1 / min(-Re lambda) for a flow, 1 / min(1 - |mu|) for a map.
    tol : float, default 1e-10
        Fixed-point tolerance |F(x)| <= tol of the final polish.
    capture : float in (0, 0.5), default 0.25
        Capture radius r = capture |a - b| about a and b.
    n_scan : int, default 16
        States classified at once in each narrowing round.
    separation : float, default 1e-3
        A tracked pair is advanced until it is ``separation * |a - b|``
        apart, then narrowed again; tracking stops when a round moves the
        pair's midpoint by at most that much.
    max_rounds : int, default 100
        Tracking rounds at most.

    Returns
    -------
    ndarray of shape (n,) or None
        The saddle (a fixed point with |F| <= tol and index >= 1 within the
        capture radius of the edge state), or None when the basins of a and
        b do not meet along the segment from a to b (no bracket), or when
        the edge state does not polish to such a point (e.g. the edge state
        is a periodic orbit).

    Raises
    ------
    ValueError
        ``a`` or ``b`` of the wrong shape, not finite, equal, or not an
        attractor; bad parameters (named in the message).
    TypeError
        If ``system`` is not a :class:`System`.

    Notes
    -----
    When the basins of a and b touch only at a fixed point of higher index,
    that point is the edge state and is returned: for ẋ_i = x_i - x_i³ the
    basins of the opposite corners (1, 1) and (-1, -1) are the open
    quadrants, which meet only at the origin, a source of index 2.  Check
    the index (:func:`dynsys.linearize`) where only index-1 saddles are
    wanted.

    Examples
    --------
    >>> from dynsys import models
    >>> saddle = find_saddles_between(models.duffing(), [-1.0, 0.0], [1.0, 0.0])
    >>> bool(np.allclose(saddle, [0.0, 0.0], atol=1e-12))
    True
    """
    check_system(system)
    a = _attractor_position(system, a, "a")
    b = _attractor_position(system, b, "b")
    span = float(np.linalg.norm(b - a))
    if span == 0.0:
        raise ValueError(f"a and b must be distinct attractors, both are {a.tolist()}")
    n_bisect = check_count(n_bisect, "n_bisect")
    tol = check_real(tol, "tol", positive=True)
    capture = check_real(capture, "capture", positive=True)
    if capture >= 0.5:
        raise ValueError(f"capture must be < 0.5 (disjoint balls about a and b), got {capture!r}")
    n_scan = check_count(n_scan, "n_scan")
    separation = check_real(separation, "separation", positive=True)
    max_rounds = check_count(max_rounds, "max_rounds")
    tau = slowest_timescale(_check_attractors(system, a, b))

    path = a + np.linspace(0.0, 1.0, n_scan + 2)[:, None] * (b - a)
    h = step_size(system, path, STEP_SCALE)
    t_max = check_real(HORIZON * tau if t_max is None else t_max, "t_max", positive=True)
    n_steps = int(np.ceil(t_max / h))
    step = stepper(system, h)
    radius = capture * span
    classify = AttractorMapper(system, np.stack([a, b]), radius, tau, max_time=t_max, dt=h)

    shrink = 2.0 ** (-n_bisect)
    bracket = _narrow(classify, a, b, shrink * span, n_scan)
    if np.linalg.norm(bracket[1] - bracket[0]) > separation * span:
        return None  # the basins do not meet along the segment, as far as can be resolved
    edge = _track(classify, step, bracket, shrink, separation * span, n_steps, max_rounds, n_scan)
    return _polish(system, edge, tol, radius)


# ------------------------------------------------------------------ checks
def _attractor_position(system: System, x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.shape != (system.dim,):
        raise ValueError(f"{name} must have shape ({system.dim},) for {system.name}, got shape {np.shape(x)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def _check_attractors(system: System, a: np.ndarray, b: np.ndarray) -> list[Linearization]:
    """The linearisations at a and b; raises ValueError unless both are attractors."""
    lins = linearize_batch(system, np.stack([a, b]))
    for name, x, lin in zip("ab", (a, b), lins):
        if not lin.is_attractor:
            raise ValueError(
                f"{name} = {x.tolist()} is not an attractor of {system.name} "
                f"({lin.label}, eigenvalues {np.round(lin.eigenvalues, 6).tolist()})"
            )
    return lins


# --------------------------------------------------------------- tracking
def _narrow(
    classify: Callable[[np.ndarray], np.ndarray], p_a: np.ndarray, p_b: np.ndarray, width: float, n_scan: int
) -> tuple[np.ndarray, np.ndarray]:
    """Narrow the bracket [p_a, p_b] (p_a in the basin of a, p_b in that of b)
    to |p_a - p_b| <= width, classifying ``n_scan`` interior points at once
    per round.  The new bracket is the first point of b's basin and the last
    point of a's basin before it.  A round whose interior points are all
    undecided cannot narrow the bracket: it is returned as it is."""
    s = np.arange(1, n_scan + 1)[:, None] / (n_scan + 1)
    while True:
        gap = float(np.linalg.norm(p_b - p_a))
        floor = 16 * EPS * max(1.0, float(np.abs(p_a).max()), float(np.abs(p_b).max()))
        if gap <= max(width, floor):
            return p_a, p_b
        X = np.vstack([p_a, p_a + s * (p_b - p_a), p_b])
        labels = np.r_[A_SIDE, classify(X[1:-1]), B_SIDE]
        j = int(np.argmax(labels == B_SIDE))
        i = int(np.flatnonzero(labels[:j] == A_SIDE)[-1])
        if (i, j) == (0, n_scan + 1):
            return p_a, p_b
        p_a, p_b = X[i], X[j]


def _track(
    classify: Callable[[np.ndarray], np.ndarray],
    step: Stepper,
    bracket: tuple[np.ndarray, np.ndarray],
    shrink: float,
    separation: float,
    n_steps: int,
    max_rounds: int,
    n_scan: int,
) -> np.ndarray:
    """Edge tracking from a bracket on the basin boundary: advance the pair
    until it is ``separation`` apart (or ``n_steps`` steps), narrow it by the
    factor ``shrink``, until a round moves the midpoint by at most
    ``separation``; returns the midpoint."""
    pair = np.stack(bracket)
    middle = pair.mean(axis=0)
    for _ in range(max_rounds):
        with np.errstate(all="ignore"):
            for _ in range(n_steps):
                pair = step(pair)
                if not np.linalg.norm(pair[1] - pair[0]) <= separation:
                    break
        if not np.isfinite(pair).all():
            break
        width = shrink * float(np.linalg.norm(pair[1] - pair[0]))
        pair = np.stack(_narrow(classify, pair[0], pair[1], width, n_scan))
        moved = float(np.linalg.norm(pair.mean(axis=0) - middle))
        middle = pair.mean(axis=0)
        if moved <= separation:
            break
    return middle


def _polish(system: System, edge: np.ndarray, tol: float, radius: float) -> np.ndarray | None:
    """The fixed point of index >= 1 that Newton finds from ``edge``, if within ``radius``."""
    points = find_fixed_points(system, starts=edge, tol=tol).fixed()
    if not len(points):
        return None
    point = points[0]
    if point.index < 1 or np.linalg.norm(point.x - edge) > radius:
        return None
    return point.x
