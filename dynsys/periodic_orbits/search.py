"""Where the cycles of a flow are: :func:`find_periodic_orbits`, and the distance of states to a cycle.

Attracting cycles are found as the ω-limit sets of trajectories: a batch of
starts is followed together (:func:`dynsys.simulate.advance`) over
``t_span``; the last ``TAIL_FRACTION`` of each trajectory, its *tail*
z(t), t_1 − W <= t <= t_1, is sampled at ``TAIL_POINTS`` times and

- *escaped* when it diverged;
- *settled on a point* when its extent e = max_t |z(t) − z(t_1)| is below
  ``STILL`` L (L = max(1, max |x| of the starts)), or its end lies within
  ``LEAVE`` e of a stable fixed point (a slow spiral into a focus);
- *recurrent* with period estimate T when, going back from the end, it
  first leaves the ball of radius ``LEAVE`` e around z(t_1) and then comes
  back within ``RETURN`` e of it: T = t_1 − t*, t* the time of the nearest
  return (a parabola through the squared distances at the three samples
  around it places t* between the samples);
- *periodic* when, moreover, 2 T <= t_1 and its last period lies within
  ``RETURN`` e of the period before: max |z(t) − z(t − T)| <= ``RETURN`` e
  over t_1 − T <= t <= t_1 (z(t − T) interpolated linearly between the
  samples).  A chaotic tail comes back near its end now and then, but does
  not repeat a whole period.

This is the near-return test of recurrence (Lathrop & Kostelich 1989;
Auerbach et al. 1987 for the unstable orbits of chaotic sets).  Periodic
tails that return onto one another (the end of one within ``RETURN`` e of
the other's last period, periods within ``PERIOD_MATCH``) are one candidate;
each candidate (z(t_1), T) is refined by
:func:`dynsys.periodic_orbits.periodic_orbit` and kept when the refined
cycle is attracting (every non-trivial Floquet multiplier inside the unit
circle), is the cycle the tail settled on (the tail's last period within
``RETURN`` e of it) and has trustworthy multipliers (the trivial one within
``TRIVIAL_TOL`` of 1).  Guesses are refined the same way and kept whatever their
stability.  Cycles are one cycle *up to phase* when their periods agree to
``PERIOD_RTOL`` and each lies within ``MERGE_RTOL`` times the larger
amplitude of the other (the symmetric distance of
:func:`cycle_distances` between their polylines: a Hausdorff distance that
does not depend on where the uniform grids start).

References
----------
D. P. Lathrop and E. J. Kostelich, "Characterization of an experimental
strange attractor by periodic orbits", Phys. Rev. A 40, 4028 (1989).
D. Auerbach, P. Cvitanović, J.-P. Eckmann, G. Gunaratne and I. Procaccia,
"Exploring chaotic motion through periodic orbits", Phys. Rev. Lett. 58,
2387 (1987).
Y. A. Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed.,
Springer 2004, section 1.5 (Floquet multipliers, stability of cycles).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

from .._budget import Deadline
from .._validate import check_count, check_real
from ..fixed_points import FixedPointSet, find_fixed_points
from ..simulate import advance
from ..systems import System, check_system
from .floquet import check_flow
from .recurrence import check_state
from .refine import periodic_orbit
from .result import METHODS, PeriodicOrbit

SEARCH_TIMESCALES = 30.0  # default t_span: (0, this many slowest linear time scales of the fixed points)
TAIL_FRACTION = 0.5  # the recurrence is looked for in this last fraction of each trajectory
TAIL_POINTS = 2000  # states sampled over the tail
TRANSIENT_PIECES = 4  # the transient before the tail is integrated in this many pieces (max_seconds checked between)
STILL = 1e-3  # a tail of extent below STILL * L has settled on a point
LEAVE = 0.3  # going back from the end, the tail has left the end's neighbourhood beyond LEAVE * extent
RETURN = 0.05  # ... and returns to it within RETURN * extent
PERIOD_MATCH = 0.05  # two recurrent tails with periods this close (relative) and ends on each other: one candidate
PERIOD_RTOL = 1e-6  # refined cycles whose periods agree to this (relative) ...
MERGE_RTOL = 1e-2  # ... and lie within this fraction of the larger amplitude of each other are one cycle
MAX_SLOWDOWN = 1e3  # the default span's tau is at most this many times the fastest point's time scale
ORDER_DIGITS = 6  # the cycles found are ordered by their periods to this many significant digits, then amplitude
TRIVIAL_TOL = 1e-3  # a cycle refined from a tail is kept when its trivial multiplier is within this of 1
ESCAPE_FACTOR = 1e3  # a trajectory beyond ESCAPE_FACTOR * L has escaped
MAX_BLOCK = 2_000_000  # cycle_distances: states x segments x dim handled at once, at most


def cycle_distances(states: Any, cycles: Iterable[PeriodicOrbit | Any]) -> np.ndarray:
    """The distance of each state to each cycle's closed polyline.

    A cycle stored as m states x_0, ..., x_{m−1} on a uniform time grid is
    the closed polyline through them (x_m = x_0); the distance of a state
    y to it is the least distance to a segment,

        min_k min_{0 <= s <= 1} |y − x_k − s (x_{k+1} − x_k)|,

    exact for the polyline and within O(h² κ) of the distance to the cycle
    itself (h the longest segment, κ the curvature).

    Parameters
    ----------
    states : array_like of shape (B, n)
        Non-finite rows are at distance inf.
    cycles : iterable of PeriodicOrbit or of arrays of shape (m, n)
        The cycles (their :attr:`PeriodicOrbit.x`), or the states of any
        closed curves.

    Returns
    -------
    ndarray of shape (B, c)

    Examples
    --------
    The unit circle as a square's corners (the polyline is the square):

    >>> square = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    >>> cycle_distances([[0.0, 0.0], [2.0, 0.0], [0.5, 0.5]], [square]).ravel().round(6).tolist()
    [0.707107, 1.0, 0.0]
    """
    Y = np.atleast_2d(np.asarray(states, dtype=float))
    curves = [np.asarray(c.x if isinstance(c, PeriodicOrbit) else c, dtype=float) for c in cycles]
    D = np.full((len(Y), len(curves)), np.inf)
    finite = np.flatnonzero(np.isfinite(Y).all(axis=1))
    for j, X in enumerate(curves):
        if X.ndim != 2 or X.shape[1] != Y.shape[1] or len(X) < 2:
            raise ValueError(f"cycle {j} must have shape (m >= 2, {Y.shape[1]}), got {X.shape}")
        V = np.roll(X, -1, axis=0) - X  # segments x_k -> x_{k+1}, closing the loop
        VV = np.maximum(np.einsum("ij,ij->i", V, V), np.finfo(float).tiny)
        block = max(1, MAX_BLOCK // (len(X) * Y.shape[1]))
        for start in range(0, len(finite), block):  # blocks bound the memory; each block is vectorised
            rows = finite[start:start + block]
            W = Y[rows, None, :] - X[None]  # (b, m, n)
            s = np.clip(np.einsum("bmn,mn->bm", W, V) / VV, 0.0, 1.0)
            D[rows, j] = np.sqrt(np.min(np.sum((W - s[..., None] * V) ** 2, axis=2), axis=1))
    return D


def same_cycle(a: PeriodicOrbit, b: PeriodicOrbit) -> bool:
    """Whether two cycles are one up to phase (see the module docstring).

    Their periods agree to ``PERIOD_RTOL`` and every state of each lies
    within ``MERGE_RTOL`` times the larger amplitude of the other's
    polyline (:func:`cycle_distances`).

    Parameters
    ----------
    a, b : PeriodicOrbit

    Returns
    -------
    bool

    Examples
    --------
    >>> from dynsys import System
    >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
    >>> def circle(radius, shift):
    ...     t = np.linspace(0, 2 * np.pi, 64, endpoint=False) + shift
    ...     return PeriodicOrbit(hopf, 2 * np.pi, radius * np.column_stack([np.cos(t), np.sin(t)]), [1, 0.5])
    >>> same_cycle(circle(1.0, 0.0), circle(1.0, 0.05)), same_cycle(circle(1.0, 0.0), circle(2.0, 0.0))
    (True, False)
    """
    if abs(a.period - b.period) > PERIOD_RTOL * max(a.period, b.period):
        return False
    gap = max(float(cycle_distances(a.x, [b.x]).max()), float(cycle_distances(b.x, [a.x]).max()))
    return gap <= MERGE_RTOL * max(a.amplitude, b.amplitude)


def find_periodic_orbits(
    system: System,
    *,
    starts: Any = None,
    n_starts: int = 64,
    t_span: tuple[float, float] | None = None,
    seed: int = 0,
    guesses: Iterable[PeriodicOrbit | Any] | None = None,
    fixed_points: FixedPointSet | None = None,
    tol: float = 1e-10,
    method: str = "collocation",
    max_seconds: float | None = None,
) -> tuple[PeriodicOrbit, ...]:
    """The attracting cycles reached from a batch of starts, and the cycles near given guesses.

    The algorithm (recurrence of the trajectories' tails, refinement,
    merging up to phase) is in the module docstring.

    Parameters
    ----------
    system : System
        A flow.
    starts : array_like of shape (B, n), optional
        Initial states; by default ``n_starts`` states drawn uniformly in
        ``system.bounds`` with ``seed``.
    n_starts : int >= 1
        Used when ``starts`` is not given.
    t_span : (0, t_1), optional
        How long the starts are followed (the recurrence is looked for in
        the last ``TAIL_FRACTION`` of it); default t_1 = ``SEARCH_TIMESCALES``
        tau, tau = 1 / (the smallest |Re λ| over the hyperbolic fixed
        points), at most ``MAX_SLOWDOWN`` / (the largest); 1 when there is
        none (:func:`dynsys.basins.slowest_timescale`'s rule for flows).  A
        cycle whose period is longer than ``TAIL_FRACTION`` t_1 / 2, or
        that attracts more slowly than 1 / t_1, needs a longer span.
    seed : int
        Seed of the starts (and of the fixed-point search).
    guesses : iterable of PeriodicOrbit or of states (n,), optional
        Each is refined by :func:`dynsys.periodic_orbits.periodic_orbit`
        (a PeriodicOrbit from its states and period, a state with the
        period that ``periodic_orbit`` estimates from the trajectory through
        it); the cycles they converge to are kept whatever their stability
        (the way to unstable cycles, which no trajectory settles on).
    fixed_points : FixedPointSet, optional
        The fixed points of ``system`` (for tau and to recognise a tail that
        spirals into a stable point); by default found by
        :func:`dynsys.find_fixed_points` from the starts.
    tol : float > 0
        Newton tolerance of the refinement (``periodic_orbit``'s ``tol``).
    method : {"collocation", "shooting"}
        ``periodic_orbit``'s method.
    max_seconds : float > 0, optional
        Wall-clock budget: checked between the stages (the transient is
        integrated in ``TRANSIENT_PIECES`` pieces) and between refinements;
        the cycles refined when it runs out are returned.

    Returns
    -------
    tuple of PeriodicOrbit
        Distinct up to phase, ordered by period (rounded to
        ``ORDER_DIGITS`` significant digits, so that equal periods computed
        apart tie), then amplitude, then the coordinates of their means
        (lexicographically).

    Raises
    ------
    ValueError
        ``system`` is a map, no ``starts`` and no ``system.bounds``, or bad
        arguments (named).

    Examples
    --------
    The Van der Pol oscillator at μ = 1 has one limit cycle, of period
    6.6632868593 (and amplitude about 2 in x):

    >>> from dynsys import models
    >>> (cycle,) = find_periodic_orbits(models.van_der_pol(), n_starts=16)
    >>> round(cycle.period, 8), cycle.label
    (6.66328686, 'stable cycle')
    """
    check_system(system)
    check_flow(system, "find_periodic_orbits")
    clock = Deadline(max_seconds)
    tol = check_real(tol, "tol", positive=True)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    X0 = _starts(system, starts, check_count(n_starts, "n_starts"), seed)
    if fixed_points is None:
        fixed_points = find_fixed_points(system, X0, seed=seed, max_seconds=clock.left())
    elif not isinstance(fixed_points, FixedPointSet):
        raise TypeError(f"fixed_points must be a FixedPointSet, got {type(fixed_points).__name__}")
    t1 = _span(t_span, fixed_points)
    refine = _refiner(system, tol, method)
    found = [orbit for orbit in map(refine, _guesses(system, guesses)) if orbit is not None]
    if not clock.passed():
        for candidate in _candidates(system, X0, t1, fixed_points, clock):
            if clock.passed():
                break
            orbit = refine((candidate.x, candidate.period))
            if orbit is not None and orbit.stable and _traced(orbit, candidate):
                found.append(orbit)
    distinct: list[PeriodicOrbit] = []
    for orbit in found:
        if not any(same_cycle(orbit, other) for other in distinct):
            distinct.append(orbit)
    return tuple(sorted(distinct, key=lambda o: (float(f"{o.period:.{ORDER_DIGITS}g}"), o.amplitude, *o.mean)))


# ------------------------------------------------------------------- helpers
def _starts(system: System, starts: Any, n_starts: int, seed: int) -> np.ndarray:
    if starts is not None:
        X, _ = system.as_batch(starts, "starts")
        if not np.isfinite(X).all():
            raise ValueError("starts must be finite")
        return X
    if system.bounds is None:
        raise ValueError(f"{system.name} has no bounds: give the starts")
    box = np.asarray(system.bounds, dtype=float).reshape(system.dim, 2)
    return np.random.default_rng(seed).uniform(box[:, 0], box[:, 1], (n_starts, system.dim))


def _span(t_span: tuple[float, float] | None, fixed_points: FixedPointSet) -> float:
    """t_1 of the span (0, t_1): given, or SEARCH_TIMESCALES tau (see find_periodic_orbits)."""
    if t_span is None:
        rates = [lin.margin for lin in fixed_points.fixed().linearizations if lin.is_hyperbolic and lin.margin > 0]
        tau = min(1.0 / min(rates), MAX_SLOWDOWN / max(rates)) if rates else 1.0
        return SEARCH_TIMESCALES * tau
    span = np.asarray(t_span, dtype=float)
    if span.shape != (2,) or not np.all(np.isfinite(span)) or span[0] != 0 or span[1] <= 0:
        raise ValueError(f"t_span must be (0, t_1) with t_1 > 0, got {t_span!r}")
    return float(span[1])


def _guesses(system: System, guesses: Iterable[PeriodicOrbit | Any] | None) -> list[tuple[Any, float | None]]:
    """(PeriodicOrbit or state, None) for each guess: what periodic_orbit starts from."""
    out: list[tuple[Any, float | None]] = []
    for k, g in enumerate(guesses if guesses is not None else ()):
        if isinstance(g, PeriodicOrbit):
            out.append((g, None))
            continue
        out.append((check_state(system, g, f"guesses[{k}], not a PeriodicOrbit,"), None))
    return out


def _refiner(system: System, tol: float, method: str) -> Callable[[tuple[Any, float | None]], PeriodicOrbit | None]:
    """A function (state, period) -> the refined PeriodicOrbit, or None where the refinement fails."""
    def refine(guess: tuple[Any, float | None]) -> PeriodicOrbit | None:
        x, period = guess
        try:
            orbit = periodic_orbit(system, x, period, method=method, tol=tol)
        except (ValueError, RuntimeError, np.linalg.LinAlgError, FloatingPointError):
            return None
        return orbit

    return refine


class _Candidate(NamedTuple):
    """A periodic tail: its end state, period estimate, states over its last period, and how near they must
    lie to the refined cycle."""

    x: np.ndarray
    period: float
    tail: np.ndarray
    tolerance: float


def _traced(orbit: PeriodicOrbit, candidate: _Candidate) -> bool:
    """Whether the refined cycle is the one the tail settled on: the tail's last period lies along it, and its
    multipliers are to be trusted (the trivial one is 1 to within TRIVIAL_TOL)."""
    near = float(cycle_distances(candidate.tail, [orbit]).max()) <= candidate.tolerance
    return near and abs(orbit.multipliers[orbit.trivial] - 1) <= TRIVIAL_TOL


def _candidates(
    system: System, X0: np.ndarray, t1: float, fixed_points: FixedPointSet, clock: Deadline
) -> list[_Candidate]:
    """The periodic tails, one per group of tails on one cycle (none when ``clock`` runs out on the way)."""
    L = max(1.0, float(np.max(np.abs(X0))))
    max_norm = ESCAPE_FACTOR * L
    tail = TAIL_FRACTION * t1
    X, diverged = X0, np.zeros(len(X0), dtype=bool)
    for _ in range(TRANSIENT_PIECES):  # the transient in pieces, with the clock checked between them
        if clock.passed():
            return []
        ends = advance(system, X, (t1 - tail) / TRANSIENT_PIECES, n_points=2, max_norm=max_norm, method="auto")
        diverged |= ends.diverged
        X = np.where(diverged[:, None], X0, ends.final)
    if clock.passed():
        return []
    tr = advance(system, X, tail, n_points=TAIL_POINTS, max_norm=max_norm, method="auto")
    keep = ~(diverged | tr.diverged)
    Z, t = tr.X[keep], tr.t
    end = Z[:, -1]
    d = np.linalg.norm(Z - end[:, None], axis=2)  # (B, K): distance of the tail from its end
    extent = d.max(axis=1)
    settled = extent <= STILL * L
    stable = fixed_points.fixed().stable().x
    if len(stable):
        nearest = np.min(np.linalg.norm(end[:, None] - stable[None], axis=2), axis=1)
        settled |= nearest <= LEAVE * extent
    K = d.shape[1]
    idx = np.arange(K)
    left = d > LEAVE * extent[:, None]
    gone = np.where(left.any(axis=1), K - 1 - np.argmax(left[:, ::-1], axis=1), 0)  # last sample outside the ball
    near = (d < RETURN * extent[:, None]) & (idx < gone[:, None])
    back = np.where(near.any(axis=1), K - 1 - np.argmax(near[:, ::-1], axis=1), -1)  # last sample of the return
    before = left & (idx < np.maximum(back, 0)[:, None])
    start = np.where(before.any(axis=1), K - 1 - np.argmax(before[:, ::-1], axis=1), 0)  # the return's dip starts
    dip = np.where((idx > start[:, None]) & (idx < gone[:, None]), d, np.inf)
    k = np.clip(np.argmin(dip, axis=1), 1, K - 2)
    rows = np.arange(len(k))
    y0, y1, y2 = (d[rows, k + s] ** 2 for s in (-1, 0, 1))
    curv = y0 - 2 * y1 + y2
    shift = np.where(curv > 0, np.clip(0.5 * (y0 - y2) / np.where(curv > 0, curv, 1.0), -1.0, 1.0), 0.0)
    h = t[1] - t[0]
    period = t[-1] - (t[k] + shift * h)
    recurrent = np.flatnonzero(~settled & (back > 0) & (period > 0) & (period <= 0.5 * t[-1]))
    # periodic, not merely returning once: the tail's last period lies within RETURN e of the period before it
    steps = period[recurrent] / h
    whole = np.floor(steps).astype(int)[:, None]
    frac = (steps - np.floor(steps))[:, None, None]
    shifted = np.clip(idx - whole, 1, K - 1)
    rows = np.arange(len(recurrent))[:, None]
    earlier = (1 - frac) * Z[recurrent][rows, shifted] + frac * Z[recurrent][rows, shifted - 1]  # z(t_k - T)
    last = idx >= K - 1 - whole
    drift = np.max(np.where(last, np.linalg.norm(Z[recurrent] - earlier, axis=2), 0.0), axis=1)
    recurrent = recurrent[drift <= RETURN * extent[recurrent]]
    groups: list[int] = []
    for b in recurrent:  # one candidate per cycle: a tail whose end lies on a kept tail's last period joins it
        ends_on = [g for g in groups if abs(period[b] - period[g]) <= PERIOD_MATCH * period[g]
                   and np.min(np.linalg.norm(Z[g][t >= t[-1] - period[g]] - end[b], axis=1)) <= RETURN * extent[g]]
        if not ends_on:
            groups.append(int(b))
    return [_Candidate(end[g], float(period[g]), Z[g][t >= t[-1] - period[g]], RETURN * float(extent[g]))
            for g in groups]
