"""Which attractor an orbit reaches: the attractor mapper, basins, time scales.

The mapper follows a batch of states x_0 in chunks of time (or of
iterations for a map, :func:`dynsys.simulate.advance`) and labels each by
the first capture set it is found in at the end of a chunk: a ball
B(a_i, r_i) around a point attractor a_i, i = 0, ..., m - 1, or a tube of
radius r_{m+j} around an attracting cycle Γ_j (a
:class:`dynsys.periodic_orbits.PeriodicOrbit`), j = 0, ..., c - 1:

    label(x_0) = i       when  |x(t) - a_i| <= r_i            at the end of a chunk,
    label(x_0) = m + j   when  dist(x(t), Γ_j) <= r_{m+j}      (the cycles after the points).

The distance to a cycle is the distance to the closed polyline through its
stored states (:func:`dynsys.periodic_orbits.cycle_distances`).  A ball or
tube that lies in the basin of its attractor decides the label: an orbit
that enters it converges to that attractor, and testing at the ends of
chunks rather than after every step loses nothing.  States that never enter a
ball get a negative code: ``ESCAPED`` (non-finite, or beyond the escape
norm ``ESCAPE_FACTOR`` L, L = max(1, the largest |x| of the starts and
attractors)), ``AT_REST`` (a chunk left them unchanged to rounding: a
fixed point of the integrator outside every ball, such as a saddle hit
exactly) or ``UNDECIDED`` (still moving when ``max_time`` has passed).
This is the mapper of Datseris & Wagemakers (2022), "AttractorsViaProximity".

Time is measured in the slowest linear time scale tau of the fixed points
and cycles involved (:func:`slowest_timescale`): chunks of ``CHUNK_TIMESCALES`` tau,
``HORIZON_TIMESCALES`` tau in all by default.

References
----------
G. Datseris and A. Wagemakers, "Effortless estimation of basins of attraction",
Chaos 32, 023104 (2022).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from scipy.spatial.distance import cdist

from ._validate import check_real
from .fixed_points import FixedPointSet
from .linearize import Linearization
from .periodic_orbits import PeriodicOrbit, cycle_distances
from .simulate import DEFAULT_MAX_STEPS, advance
from .systems import System, check_system

ESCAPE_FACTOR = 1e3  # an orbit with |x| > ESCAPE_FACTOR * L has escaped (L: the scale of the states involved)
CHUNK_TIMESCALES = 2.0  # a chunk of the mapper lasts this many slowest linear time scales tau
HORIZON_TIMESCALES = 100.0  # default max_time of the mapper (and of a transition graph's branches), in tau
MAX_TIMESCALE_RATIO = 1e3  # tau is at most this many fastest linear time scales (see slowest_timescale)
TINY_MULTIPLIER = float(np.finfo(float).eps)  # a cycle's Floquet multiplier below this is this (rounding)
BASIN_CAPTURE = 0.25  # basins: capture radius as a fraction of the smallest distance between attractors
UNDECIDED, ESCAPED, AT_REST = -1, -2, -3  # labels of states that reach no capture ball
REST_TOL = 4 * np.finfo(float).eps  # at rest: a chunk changes no coordinate by more than REST_TOL max(1, |x_i|)
CYCLE_GRID = 4  # orbits_reaching_no_fixed_point: CYCLE_GRID per side of the box, CYCLE_GRID**n states
CYCLE_TIMESCALES = 30.0  # ... followed for this many slowest time scales (flows)
CYCLE_STEPS = 1000  # ... or iterations (maps)
CYCLE_POINTS = 3000  # ... storing at most this many states
CYCLE_TAIL = 0.25  # ... of which this last fraction is kept when it reaches no fixed point
CYCLE_CLEARANCE = 0.02  # ... i.e. keeps this fraction of the box's diagonal away from every fixed point


def slowest_timescale(linearizations: Iterable[Linearization | PeriodicOrbit]) -> float:
    """The slowest linear time scale tau = 1 / (smallest hyperbolicity margin).

    The margin of a hyperbolic fixed point is min |Re lambda| for a flow,
    min ||lambda| - 1| for a map (:attr:`Linearization.margin`): perturbations
    along the slowest direction grow or decay like exp(-t / tau) (a flow)
    or (1 -+ 1/tau)^k (a map, in iterations).  The margin of a hyperbolic
    cycle of period T is its smallest |Floquet exponent| min |ln |mu|| / T
    over the non-trivial multipliers mu (perturbations transverse to the
    cycle scale by mu per turn; a multiplier below ``TINY_MULTIPLIER`` counts
    as that).  tau is capped at ``MAX_TIMESCALE_RATIO`` times the fastest of
    these time scales.  Non-hyperbolic points and cycles are left out: their
    margin is 0 up to rounding (a circle of equilibria gives margins ~1e-17,
    hence tau ~1e17).

    Parameters
    ----------
    linearizations : iterable of Linearization or PeriodicOrbit
        E.g. ``points.fixed().linearizations`` of a FixedPointSet, and cycles.

    Returns
    -------
    float
        tau, or 1 when no point is hyperbolic.

    Examples
    --------
    >>> from dynsys.linearize import linearize_matrix
    >>> attractor = linearize_matrix([[-0.5, 0.0], [0.0, -4.0]], "flow")
    >>> saddle = linearize_matrix([[2.0, 0.0], [0.0, -1.0]], "flow")
    >>> lins = [attractor, saddle]
    >>> slowest_timescale(lins)  # the slowest rate is 0.5
    2.0

    A cycle of period 2 whose transverse perturbations shrink by e^-1 a turn
    decays at the rate 1/2:

    >>> from dynsys.periodic_orbits import PeriodicOrbit
    >>> from dynsys.systems import System
    >>> rotation = System.from_strings({"x": "-pi*y", "y": "pi*x"})
    >>> circle = np.column_stack([np.cos(np.linspace(0, 2 * np.pi, 8, endpoint=False)),
    ...                           np.sin(np.linspace(0, 2 * np.pi, 8, endpoint=False))])
    >>> slowest_timescale([PeriodicOrbit(rotation, 2.0, circle, [1.0, np.exp(-1.0)])])
    2.0
    """
    margins = np.array([_margin(item) for item in linearizations], dtype=float)
    margins = margins[margins > 0]
    return float(min(1.0 / margins.min(), MAX_TIMESCALE_RATIO / margins.max())) if margins.size else 1.0


def _margin(item: Linearization | PeriodicOrbit) -> float:
    """A fixed point's hyperbolicity margin, or a cycle's smallest |Floquet exponent| (see slowest_timescale);
    0 when it is not hyperbolic."""
    if isinstance(item, PeriodicOrbit):
        if not item.hyperbolic:
            return 0.0
        return float(np.min(np.abs(np.log(np.maximum(np.abs(item.nontrivial), TINY_MULTIPLIER))))) / item.period
    return float(item.margin) if item.is_hyperbolic else 0.0


def capture_test(states: Any, centres: Any, radii: Any, cycles: Any = ()) -> tuple[np.ndarray, np.ndarray]:
    """Which capture balls B(c_i, r_i), and tubes around cycles, hold each state.

    Parameters
    ----------
    states : array_like of shape (B, n)
        Non-finite rows are in no ball.
    centres : array_like of shape (m, n)
    radii : array_like of shape (m + c,) or a float
        The balls' radii, then the tubes'.
    cycles : sequence of c PeriodicOrbit (or (M, n) arrays of a closed curve's states), optional
        Column m + j is the tube around ``cycles[j]``: the states within its
        radius of the closed polyline through the cycle's states
        (:func:`dynsys.periodic_orbits.cycle_distances`).

    Returns
    -------
    inside : ndarray of bool, shape (B, m + c)
        |x_b - c_i| <= r_i, then dist(x_b, cycle j) <= r_{m+j}.
    distances : ndarray of shape (B, m + c)
        |x_b - c_i|, then dist(x_b, cycle j) (inf for a non-finite row).

    Examples
    --------
    >>> inside, D = capture_test([[0.9, 0.0], [0.0, 0.0]], [[1.0, 0.0], [-1.0, 0.0]], 0.25)
    >>> inside.tolist(), D[1].tolist()
    ([[True, False], [False, False]], [1.0, 1.0])

    With a cycle, the unit circle (here as 64 of its points): a tube of radius 0.2 around it:

    >>> t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    >>> inside, D = capture_test([[0.0, 0.9], [0.0, 0.0]], [[0.0, 0.0]], [0.5, 0.2],
    ...                          cycles=[np.column_stack([np.cos(t), np.sin(t)])])
    >>> inside.tolist()
    [[False, True], [True, False]]
    """
    X = np.atleast_2d(np.asarray(states, dtype=float))
    C = np.asarray(centres, dtype=float).reshape(-1, X.shape[1])
    finite = np.isfinite(X).all(axis=1)
    D = np.full((len(X), len(C)), np.inf)
    if len(C):
        D[finite] = cdist(X[finite], C)
    cycles = list(cycles)
    if cycles:
        D = np.concatenate([D, cycle_distances(X, cycles)], axis=1)
    return D <= np.broadcast_to(np.asarray(radii, dtype=float), (D.shape[1],)), D


def nearest_capture(states: Any, centres: Any, radii: Any, cycles: Any = ()) -> np.ndarray:
    """The nearest capture ball or tube holding each state: its column in :func:`capture_test`
    (i < m: the row of ``centres``; m + j: ``cycles[j]``), or ``UNDECIDED`` (-1).

    Parameters
    ----------
    states : array_like of shape (B, n)
    centres : array_like of shape (m, n)
    radii : array_like of shape (m + c,) or a float
    cycles : sequence of c PeriodicOrbit, optional

    Returns
    -------
    ndarray of int, shape (B,)

    Examples
    --------
    >>> nearest_capture([[0.9, 0.0], [0.0, 0.0], [np.nan, 0.0]], [[1.0, 0.0], [-1.0, 0.0]], 0.25).tolist()
    [0, -1, -1]
    """
    inside, D = capture_test(states, centres, radii, cycles)
    if not inside.shape[1]:
        return np.full(len(inside), UNDECIDED)
    nearest = np.argmin(np.where(inside, D, np.inf), axis=1)
    return np.where(inside.any(axis=1), nearest, UNDECIDED)


@dataclass(frozen=True, eq=False)
class AttractorMapper:
    """The attractor each orbit reaches, for batches of initial states.

    Calling the mapper on states x_0 (B, n) follows them all as one batch,
    in chunks of ``chunk`` (time, or iterations rounded up for a map) with
    :func:`dynsys.simulate.advance` (rk4 for a flow), until each is in a
    capture ball or tube (see the module docstring) or ``max_time`` has
    passed.

    Parameters
    ----------
    system : System
    attractors : array_like of shape (m, n)
        The centres a_i of the capture balls (m = 0: cycles only).
    radii : array_like of shape (m + c,) or float > 0
        Their radii r_i, then the radii of the tubes around the cycles;
        each ball and tube must lie in its attractor's basin.
    timescale : float > 0
        The time scale tau of the dynamics (:func:`slowest_timescale`).
    chunk : float > 0, optional
        Default ``CHUNK_TIMESCALES`` tau; with ``dt``, at most
        ``DEFAULT_MAX_STEPS`` steps of dt (the most one rk4 run takes).
    max_time : float > 0, optional
        Default ``HORIZON_TIMESCALES`` tau.
    max_norm : float > 0, optional
        Escape norm; default ``ESCAPE_FACTOR`` L, L = max(1, the largest
        |x| of the starts and of the attractors).
    dt : float > 0, optional
        The largest rk4 step of a flow (default: :func:`dynsys.simulate.simulate`'s).
    cycles : sequence of PeriodicOrbit, optional
        c attracting cycles of the flow, labelled m, ..., m + c - 1 (after
        the m points, in this order).

    Examples
    --------
    The flow dx/dt = x - x^3 has the attractors -1 and 1 with basins x < 0
    and x > 0 (the time scale is 1 / |f'(+-1)| = 1/2):

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> bistable = System.from_sympy([x - x**3], [x])
    >>> mapper = AttractorMapper(bistable, [[-1.0], [1.0]], 0.5, timescale=0.5)
    >>> mapper([[-3.0], [-0.01], [0.2], [0.0]]).tolist()  # 0 is a fixed point: at rest
    [0, 0, 1, -3]

    The Hopf normal form r' = r (1 - r^2), theta' = 1 has the attracting
    cycle r = 1 (period 2 pi, transverse multiplier exp(-4 pi)); every orbit
    but the focus r = 0 reaches it:

    >>> from dynsys.periodic_orbits import PeriodicOrbit
    >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
    >>> t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    >>> cycle = PeriodicOrbit(hopf, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t)]), [1, np.exp(-4 * np.pi)])
    >>> mapper = AttractorMapper(hopf, np.empty((0, 2)), 0.25, timescale=0.5, cycles=(cycle,))
    >>> mapper([[0.1, 0.0], [2.0, 1.0], [0.0, 0.0]]).tolist()
    [0, 0, -3]
    """

    system: System
    attractors: Any
    radii: Any
    timescale: float
    chunk: float | None = None
    max_time: float | None = None
    max_norm: float | None = None
    dt: float | None = None
    cycles: tuple[PeriodicOrbit, ...] = ()

    def __post_init__(self) -> None:
        check_system(self.system)
        A = np.array(self.attractors, dtype=float).reshape(-1, self.system.dim)
        cycles = tuple(self.cycles)
        for j, cycle in enumerate(cycles):
            if not isinstance(cycle, PeriodicOrbit) or cycle.x.shape[1] != self.system.dim:
                raise ValueError(f"cycles[{j}] must be a PeriodicOrbit of {self.system.name}, got {cycle!r}")
        r = np.broadcast_to(np.asarray(self.radii, dtype=float), (len(A) + len(cycles),)).copy()
        if not (np.isfinite(A).all() and np.all(r > 0)):
            raise ValueError(f"attractors must be finite and radii positive, got {A.tolist()} and {r.tolist()}")
        tau = check_real(self.timescale, "timescale", positive=True)
        chunk = CHUNK_TIMESCALES * tau if self.chunk is None else check_real(self.chunk, "chunk", positive=True)
        if self.dt is not None:
            chunk = min(chunk, DEFAULT_MAX_STEPS * check_real(self.dt, "dt", positive=True))
        horizon = HORIZON_TIMESCALES * tau if self.max_time is None else check_real(
            self.max_time, "max_time", positive=True)
        for name, value in (("attractors", A), ("radii", r), ("chunk", chunk), ("max_time", horizon),
                            ("cycles", cycles)):
            object.__setattr__(self, name, value)

    def __call__(self, states: Any) -> np.ndarray:
        """Labels (B,) of states (B, n): the attractor's row (m + j for ``cycles[j]``), or UNDECIDED, ESCAPED,
        AT_REST."""
        X, _ = self.system.as_batch(states, "states")
        labels = np.full(len(X), UNDECIDED)
        held = [np.abs(self.attractors)] + [np.abs(c.x) for c in self.cycles]
        scale = max(1.0, float(np.max(np.abs(X), initial=0.0)), *(float(np.max(a, initial=0.0)) for a in held))
        max_norm = ESCAPE_FACTOR * scale if self.max_norm is None else self.max_norm
        finite = np.isfinite(X).all(axis=1)
        labels[~finite] = ESCAPED
        active, Y = np.flatnonzero(finite), X[finite]
        elapsed = 0.0
        while active.size and elapsed < self.max_time:
            tr = advance(self.system, Y, min(self.chunk, self.max_time - elapsed), n_points=2, max_norm=max_norm,
                         dt=self.dt)
            elapsed += float(tr.t[-1])
            end = tr.final
            hit = nearest_capture(end, self.attractors, self.radii, self.cycles)
            with np.errstate(invalid="ignore"):
                resting = ~tr.diverged & np.all(np.abs(end - Y) <= REST_TOL * np.maximum(1.0, np.abs(end)), axis=1)
            labels[active[tr.diverged]] = ESCAPED
            labels[active[resting]] = AT_REST
            labels[active[hit >= 0]] = hit[hit >= 0]
            going = (hit < 0) & ~tr.diverged & ~resting
            active, Y = active[going], end[going]
        return labels


def basins_of_attraction(
    system: System, attractors: FixedPointSet, states: Any, *, cycles: Iterable[PeriodicOrbit] = ()
) -> np.ndarray:
    """The attractor each state settles on: its row in ``attractors`` (m + j for ``cycles[j]``), or a negative code.

    An :class:`AttractorMapper` whose balls and tubes all have the radius
    ``BASIN_CAPTURE`` times the smallest of: the distances between two
    attractors (points, and cycles as the sets of their polylines), and
    each cycle's inner radius min_t |x(t) - x̄| (so that the tube stays clear
    of the mean, where a cycle born in a Hopf bifurcation keeps its
    unstable focus); ``BASIN_CAPTURE`` for a single point.  Its time scale
    is the slowest of the attractors' (:func:`slowest_timescale`).  States
    that reach none are ``UNDECIDED``, ``ESCAPED`` or ``AT_REST`` (all < 0).

    Parameters
    ----------
    system : System
    attractors : FixedPointSet
        E.g. ``find_fixed_points(system).stable()`` (may be empty).
    states : array_like of shape (B, n)
        E.g. the points of a grid.
    cycles : iterable of PeriodicOrbit, optional
        Attracting cycles, e.g. from :func:`dynsys.periodic_orbits.find_periodic_orbits`;
        labelled after the m points: m, m + 1, ...

    Returns
    -------
    ndarray of int, shape (B,)

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> duffing = models.duffing()  # wells at (-1, 0) and (1, 0)
    >>> attractors = find_fixed_points(duffing, seed=0).stable()
    >>> labels = basins_of_attraction(duffing, attractors, [[-0.5, 0.0], [0.5, 0.0]])
    >>> attractors.x[labels, 0].round(6).tolist()
    [-1.0, 1.0]

    The Van der Pol oscillator's cycle attracts every orbit but the focus's:

    >>> from dynsys.periodic_orbits import find_periodic_orbits
    >>> vdp = models.van_der_pol()
    >>> points = find_fixed_points(vdp, seed=0)
    >>> cycles = find_periodic_orbits(vdp, n_starts=8, fixed_points=points)
    >>> basins_of_attraction(vdp, points.stable(), [[0.1, 0.0], [3.0, -3.0]], cycles=cycles).tolist()
    [0, 0]
    """
    check_system(system)
    if not isinstance(attractors, FixedPointSet):
        raise TypeError(f"attractors must be a FixedPointSet, got {type(attractors).__name__}")
    cycles = tuple(cycles)
    A = attractors.x.reshape(-1, system.dim)
    X, _ = system.as_batch(states, "states")
    if len(A) + len(cycles) == 0:
        return np.full(len(X), UNDECIDED)
    D = capture_test(np.concatenate([A] + [c.x for c in cycles]), A, np.inf, cycles)[1]  # (all states, m + c)
    owner = np.repeat(np.arange(len(A) + len(cycles)), [1] * len(A) + [len(c.x) for c in cycles])
    D[owner[:, None] == np.arange(D.shape[1])] = np.inf  # an attractor's distance to itself
    inner = [float(np.min(np.linalg.norm(c.x - c.mean, axis=1))) for c in cycles]
    scale = 1.0 if len(A) == 1 and not cycles else min([float(D.min())] + inner)
    tau = slowest_timescale(list(attractors.linearizations) + list(cycles))
    return AttractorMapper(system, A, BASIN_CAPTURE * scale, tau, cycles=cycles)(X)


def orbits_reaching_no_fixed_point(system: System, fixed_points: FixedPointSet, box: Any) -> np.ndarray:
    """The tails of orbits from a grid in a box that reach no fixed point.

    ``CYCLE_GRID``^n states at the centres of a regular grid of the box are
    followed for ``CYCLE_TIMESCALES`` slowest time scales of the fixed
    points (``CYCLE_STEPS`` iterations for a map); the last ``CYCLE_TAIL``
    of each orbit is kept when it stays in the box enlarged by its size on
    each side and reaches no fixed point.  For a flow that is a tail that
    never comes within ``CYCLE_CLEARANCE`` times the box's diagonal of a
    fixed point: bounded and away from the fixed points, in the plane it
    winds onto a limit cycle (Poincare-Bendixson).  For a map it is one
    whose last half of the tail does not stay within that distance of one
    fixed point (a chaotic orbit may pass near a saddle on its attractor):
    a cycle or a strange attractor, not told apart.

    Parameters
    ----------
    system : System
    fixed_points : FixedPointSet
        Points of ``system``.
    box : array_like of shape (n, 2)
        Lower and upper bounds of each state.

    Returns
    -------
    ndarray of shape (K, T, n)
        The K tails found, T states each.

    Examples
    --------
    The Van der Pol oscillator's orbits wind onto its limit cycle (of
    amplitude about 2 in x):

    >>> from dynsys import find_fixed_points, models
    >>> vdp = models.van_der_pol()
    >>> points = find_fixed_points(vdp, seed=0)
    >>> tails = orbits_reaching_no_fixed_point(vdp, points, vdp.bounds)
    >>> len(tails) > 0, round(float(np.max(np.abs(tails[..., 0]))), 1)
    (True, 2.0)
    """
    check_system(system)
    box = np.asarray(box, dtype=float).reshape(system.dim, 2)
    size = box[:, 1] - box[:, 0]
    fractions = (np.arange(CYCLE_GRID) + 0.5) / CYCLE_GRID
    grid = np.stack(np.meshgrid(*[fractions] * system.dim), axis=-1).reshape(-1, system.dim)
    starts = box[:, 0] + grid * size
    max_norm = ESCAPE_FACTOR * (float(np.linalg.norm(size)) + float(np.max(np.abs(box))))
    fixed = fixed_points.fixed()
    duration = CYCLE_TIMESCALES * slowest_timescale(fixed.linearizations) if system.kind == "flow" else CYCLE_STEPS
    X = advance(system, starts, duration, n_points=CYCLE_POINTS, max_norm=max_norm).X
    tail = X[:, -max(2, int(CYCLE_TAIL * X.shape[1])):]
    keep = np.all((tail >= box[:, 0] - size) & (tail <= box[:, 1] + size), axis=(1, 2))  # False for NaN
    clearance = CYCLE_CLEARANCE * float(np.linalg.norm(size))
    if len(fixed):
        D = np.linalg.norm(tail[:, :, None] - fixed.x[None, None], axis=-1)  # (B, tail, m)
        if system.kind == "flow":  # comes near a fixed point: not told apart from reaching it
            reaches = D.min(axis=(1, 2)) <= clearance
        else:  # a map's chaotic orbit may pass near a saddle on its attractor: it reaches one when it stays there
            reaches = D[:, D.shape[1] // 2:].max(axis=1).min(axis=1) <= clearance
        keep &= ~reaches  # NaN distances (escaped states) stay excluded through `keep`
    return tail[keep]
