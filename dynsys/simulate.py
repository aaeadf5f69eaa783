"""Trajectories of a system, and states sampled from them as search starts.

A flow dx/dt = f(x) is integrated, a map x_{k+1} = g(x_k) iterated, for a
whole batch of initial states ``x0`` of shape ``(B, n)`` at once.  Rows that
escape (norm above ``max_norm``, or a non-finite state) are frozen: their
states are NaN from that moment on and they are flagged in ``diverged``,
without stopping or slowing the other rows.

:func:`simulate` takes the arguments of each kind (a time span for a flow,
a number of steps for a map); :func:`advance` moves either kind forward by
a duration, and :func:`stepper` gives one step of either, so that the
analyses built on them (basins, manifolds, transition graphs, edge
tracking) need not tell flows from maps to move states.

:func:`sample_states` then draws states visited by the trajectories, the
starts of the fixed-point search of Sussillo & Barak (2013): fixed and slow
points that matter lie near the states the system actually visits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import integrate, sparse

from ._validate import check_count, check_interval, check_real
from .systems import System

IVP_METHODS = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")
METHODS = ("auto", "rk4", *IVP_METHODS)
DEFAULT_N_POINTS = 200
MAX_NORM = 1e6  # default max_norm: a row whose norm exceeds it has diverged
RK4_STEP_SCALE = 0.2  # default rk4 step h = RK4_STEP_SCALE / L, L a rate of f at x0 (see simulate)
DEFAULT_MAX_STEPS = 50_000  # most steps of one integration (rk4 steps, or steps of each solve_ivp method)
STIFF_METHOD = "BDF"  # what "auto" switches to on a stiff problem
EXPLICIT_STABILITY = 3.0  # |h lambda| an explicit method may take on the negative real axis (RK4 2.8, DOP853 ~6)
STIFF_CHECK_STEPS = 100  # "auto" tests DOP853 for stiffness every this many steps (see simulate)
STIFF_MIN_STEPS_LEFT = 1000  # ... and switches when at least this many steps of the current size are left


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Trajectories of a batch of B initial states, sampled at T times.

    Attributes
    ----------
    t : ndarray of shape (T,)
        Times (flow) or step numbers 0, 1, ..., steps (map, integers).
    X : ndarray of shape (B, T, n)
        ``X[b, k]`` is the state of trajectory b at ``t[k]``; NaN from the
        first time the trajectory escaped on (see ``diverged``).
    diverged : ndarray of bool, shape (B,)
        Trajectories whose norm exceeded ``max_norm`` or became non-finite.
    kind : {"flow", "map"}
    method : str
        The integration method used ("rk4", a ``solve_ivp`` method, or
        "iterate" for maps; "DOP853->BDF" when "auto" switched to the stiff
        method on the way).

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> tr = simulate(System.from_sympy([2 * x], [x], kind="map"), [[1.0], [1e6]], steps=2)
    >>> tr.t.tolist(), tr.final.tolist(), tr.diverged.tolist()
    ([0, 1, 2], [[4.0], [nan]], [False, True])
    """

    t: np.ndarray
    X: np.ndarray
    diverged: np.ndarray
    kind: str
    method: str

    @property
    def final(self) -> np.ndarray:
        """The last states, shape (B, n) (NaN rows for diverged trajectories)."""
        return self.X[:, -1]


def simulate(
    system: System,
    x0: Any,
    t_span: tuple[float, float] | None = None,
    *,
    steps: int | None = None,
    n_points: int | None = None,
    t_eval: Any = None,
    method: str = "auto",
    dt: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_norm: float = MAX_NORM,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Trajectories:
    """Integrate a flow or iterate a map from a batch of initial states.

    Parameters
    ----------
    system : System
    x0 : array_like of shape (n,) or (B, n)
        Finite initial states (a single state gives B = 1).
    t_span : (t0, t1), flows only
        Integration interval, t0 < t1 (integrate ``system.reverse_time()``
        to go backwards).
    steps : int >= 0, maps only
        Number of iterations; every state x_0, ..., x_steps is stored
        (T = steps + 1).
    n_points : int >= 2, flows only
        Number of equally spaced output times in ``t_span`` (default 200);
        exclusive with ``t_eval``.
    t_eval : array_like of shape (T,), flows only
        Strictly increasing output times inside ``t_span``.
    method : {"auto", "rk4", "RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"}
        Flows only.  "rk4" is the classic fourth-order Runge-Kutta scheme
        with a fixed step, vectorised over the batch.  The other names are
        the ``scipy.integrate.solve_ivp`` methods, stepped over the whole
        batch as one ODE of size B*n (Radau and BDF get the exact
        block-diagonal Jacobian as a sparse matrix; LSODA approximates it
        by banded finite differences).  "auto" is
        DOP853, BDF on a stiff problem, or rk4 once a row diverges (see
        Notes).
    dt : float > 0, optional, rk4 only
        Largest step.  Each interval between output times is cut into
        m = ceil(Δt / dt) equal steps.  By default dt = 0.2 / L, where L is
        the largest of ||Df(x0_b) v|| over the batch and five power
        iterations from random unit vectors v (an estimate of the fastest
        rate of the linearised flow at the starts), so that h L <= 0.2:
        RK4's local error is then about (h L)^5 / 120 < 3e-6 relative, and
        h L stays 14 times inside RK4's stability limit (|h λ| < 2.78).
    rtol, atol : float
        Tolerances of the ``solve_ivp`` methods (unused by rk4 and maps),
        per trajectory: the solvers other than LSODA measure the error of
        the whole batch by one RMS norm over its B*n components, so they
        are given rtol / sqrt(B) and atol / sqrt(B), which keeps each row's
        RMS error norm within rtol, atol as if it were solved alone (LSODA
        uses a max norm, per component already).
    max_norm : float > 0
        A row whose Euclidean norm exceeds it, or that becomes NaN/inf, or
        whose f overflows, is diverged: NaN from then on.  ``np.inf`` keeps
        only the non-finite tests.
    max_steps : int >= 1, flows only
        Most steps of one integration: rk4 steps in all, or the steps each
        ``solve_ivp`` method takes (restarts included).  A span that needs
        more is refused instead of running for hours (see Raises); "auto"
        first tries the stiff method.

    Returns
    -------
    Trajectories

    Raises
    ------
    ValueError
        Bad shapes or values, or arguments of the other kind of system
        (``steps`` for a flow; ``t_span``, ``n_points``, ``t_eval``, ``dt``,
        ``method`` for a map).  With ``method="rk4"``, a span that needs
        more than ``max_steps`` steps of size ``dt``.
    RuntimeError
        When a ``solve_ivp`` method fails (its step size collapses) and no
        moving row is left to blame, or needs more than ``max_steps`` steps
        to cover ``t_span`` (e.g. ``t_span=(0, 1e300)`` on a system that
        never comes to rest): the message names the time reached.

    Notes
    -----
    Diverged rows never stop the run nor change the other rows: rk4 sets
    them to NaN; the ``solve_ivp`` methods are stepped by hand, and when a
    row escapes after a step it is frozen (f = 0 there) and the solver is
    restarted from the current state.  Still, an adaptive step must shrink
    to follow every blow-up, for all the rows of the batch at once, which
    rk4 with its fixed step does not.  Hence "auto": DOP853 (with ``rtol``,
    ``atol``) until the first row diverges, then rk4 from the start (with
    ``dt`` given, rk4 at once); ``Trajectories.method`` says which.

    *Stiffness.*  An explicit method needs |h lambda| <= c on the negative
    real axis (c = 2.8 for RK4, about 6 for DOP853), so a system whose
    fastest rate L is far above the rates the solution moves at (Robertson's
    kinetics: L ~ 1e4 while y changes over times ~ 1 to 1e10) forces it to
    take ~ L (t1 - t0) / c steps whatever the tolerance.  "auto" detects it
    twice: up front, when L (t1 - t0) > ``EXPLICIT_STABILITY`` ``max_steps``
    with L the power-iteration estimate of ||Df|| at ``x0`` described under
    ``dt``; and on the way, every ``STIFF_CHECK_STEPS`` steps of DOP853,
    when its step h is held at the stability limit, h L(y) >=
    ``EXPLICIT_STABILITY`` (L at the current states), while at least
    ``STIFF_MIN_STEPS_LEFT`` steps of that size remain to t1.  It then
    continues with BDF (with the exact block-diagonal Jacobian) from the
    current state.  (Robertson from (1, 0, 0) over [0, 40]: DOP853 holds
    h L = 6.4 for 17 900 steps, 4.3 s; switched, 0.1 s.  Lorenz, Duffing
    and Van der Pol from random starts are never switched: h L <= 1.3
    there, or > 3 only with few steps left.)
    After a diverging row, rk4 is used only when its fixed step needs at
    most ``max_steps`` steps, BDF (freezing the diverging rows) otherwise.
    Measured with ``benchmarks/bench_simulate.py`` (B = 1000 random starts,
    200 output points, one BLAS thread on a shared 2-core machine, where
    times vary by up to ±40 %; error = max |x(t1) - reference| over the rows
    that did not diverge, reference DOP853 with rtol = 1e-10 or the exact
    solution; "riccati" is dx/dt = x^2 - 1 from x0 in [-2, 2] over [0, 10],
    where 233 rows blow up; Lorenz's errors are amplified by chaos over
    [0, 5]):

    ==========  ==============  ==============  =============  ==============  ==============
    system      auto            rk4             RK45           DOP853          LSODA
    ==========  ==============  ==============  =============  ==============  ==============
    Lorenz      0.22 s, 3e-2    0.20 s, 1e-1    0.28 s, 2e-2   0.16 s, 3e-2    0.42 s, 6e-3
    Duffing     0.12 s, 1e-5    0.33 s, 8e-6    0.20 s, 2e-5   0.10 s, 1e-5    0.34 s, 2e-4
    tanh, n=50  1.59 s, 3e-9    2.62 s, 6e-6    1.91 s, 2e-8   1.11 s, 3e-9    1.71 s, 3e-8
    riccati     0.12 s, 5e-13   0.07 s, 5e-13   8.7 s, 6e-8    7.5 s, 9e-11    5.9 s, 1e-8
    ==========  ==============  ==============  =============  ==============  ==============

    On smooth batches DOP853 is the fastest (rk4 with its default step is
    1 to 3 times slower, within 1e-5 of the state scale); with diverging
    rows rk4 is 60 to 130 times faster than the adaptive methods.  Pass
    "LSODA", "BDF" or "Radau" for stiff systems.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> decay = System.from_sympy([-x], [x])
    >>> tr = simulate(decay, [[1.0], [2.0]], (0.0, 1.0), n_points=3)
    >>> tr.X.shape, bool(np.allclose(tr.final[:, 0], [np.exp(-1), 2 * np.exp(-1)]))
    ((2, 3, 1), True)
    """
    X0, _ = system.as_batch(x0, "x0")
    if not np.all(np.isfinite(X0)):
        bad = np.flatnonzero(~np.isfinite(X0).all(axis=1))
        raise ValueError(f"x0 must be finite, got NaN or inf in rows {bad.tolist()}")
    max_norm = check_real(max_norm, "max_norm", positive=True, finite=False)
    if system.kind == "map":
        flow_only = dict(t_span=t_span, n_points=n_points, t_eval=t_eval, dt=dt)
        given = [k for k, v in flow_only.items() if v is not None] + (["method"] if method != "auto" else [])
        if given:
            raise ValueError(f"{given} apply to flows only; {system.name} is a map: give steps")
        return _iterate(system, X0, check_count(steps, "steps", 0), max_norm)

    if steps is not None:
        raise ValueError(f"steps applies to maps only; {system.name} is a flow: give t_span=(t0, t1)")
    t0, t1 = check_interval(t_span, "t_span", ("t0", "t1"))
    t_eval = _output_times(t0, t1, n_points, t_eval)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if dt is not None and method not in ("auto", "rk4"):
        raise ValueError(f"dt applies to method='rk4' only, got dt={dt!r} with method={method!r}")
    max_steps = check_count(max_steps, "max_steps")
    if dt is not None:
        dt = check_real(dt, "dt", positive=True)
    solve = {"rtol": rtol, "atol": atol, "max_norm": max_norm, "max_steps": max_steps}
    if method in ("auto", "rk4"):
        rate = _fastest_rate(system, X0) if dt is None else 0.0
        substeps = _rk4_substeps(t0, t_eval, dt if dt is not None else RK4_STEP_SCALE / rate if rate > 0 else np.inf)
    if method == "auto" and dt is None:
        if rate * (t1 - t0) > EXPLICIT_STABILITY * max_steps:
            solved = _solve_batch(system, X0, t0, t1, t_eval, STIFF_METHOD, **solve)
        else:
            solved = _solve_batch(system, X0, t0, t1, t_eval, "DOP853", **solve, give_up=True, stiff_switch=True)
            if solved is None and substeps.sum() > max_steps:
                solved = _solve_batch(system, X0, t0, t1, t_eval, STIFF_METHOD, **solve)
        method = "rk4" if solved is None else solved[2]
    elif method not in ("auto", "rk4"):
        solved = _solve_batch(system, X0, t0, t1, t_eval, method, **solve)
    if method in ("auto", "rk4"):
        if substeps.sum() > max_steps:
            raise ValueError(
                f"rk4 needs {substeps.sum():.3g} steps of size dt over t_span = ({t0:g}, {t1:g}) for "
                f"{system.name}, more than max_steps = {max_steps}: shorten t_span, raise dt or max_steps, or "
                f"use method='auto' (stiff systems)"
            )
        method = "rk4"
        X, dead_from = _rk4(system, X0, t0, t_eval, substeps, max_norm), np.full(X0.shape[0], np.inf)
    else:
        X, dead_from, method = solved
    diverged = _blank_after_escape(X, t_eval[None, :] >= dead_from[:, None], max_norm)
    return Trajectories(t=t_eval, X=X, diverged=diverged, kind="flow", method=method)


def advance(
    system: System,
    x0: Any,
    duration: float,
    *,
    n_points: int | None = None,
    max_norm: float = MAX_NORM,
    method: str = "rk4",
    dt: float | None = None,
) -> Trajectories:
    """Move a batch of states forward by a duration, for a flow or a map alike.

    A flow is integrated over (0, ``duration``) (:func:`simulate` with
    ``t_span=(0, duration)``); a map is iterated m = ceil(``duration``)
    times, its time counted in iterations (m >= 1).

    Parameters
    ----------
    system : System
    x0 : array_like of shape (n,) or (B, n)
        Finite initial states.
    duration : float > 0
        Time (flow) or number of iterations, rounded up (map).
    n_points : int >= 2, optional
        States stored, equally spaced in time from 0 to the end: for a map
        the iterations round(k m / (n_points - 1)), k = 0, ..., n_points - 1,
        without repeats (so at most m + 1 of them).  Default: every
        iterate of a map, ``DEFAULT_N_POINTS`` times of a flow.
    max_norm : float > 0
        Rows beyond it (or non-finite) diverge, as in :func:`simulate`.
    method : str
        The flow's integration method (:func:`simulate`); default "rk4".
    dt : float > 0, optional
        The flow's largest rk4 step (:func:`simulate`); a map's step is
        one iteration, and ``dt`` is not used.

    Returns
    -------
    Trajectories
        ``t`` runs from 0 to the duration reached: ``duration`` for a flow,
        m for a map (its stored step numbers).

    Raises
    ------
    ValueError
        Bad arguments (named in the message), as for :func:`simulate`.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> decay = System.from_sympy([-x], [x])
    >>> tr = advance(decay, [[1.0]], 2.0, n_points=3)
    >>> tr.t.tolist(), bool(abs(tr.final[0, 0] - np.exp(-2.0)) < 1e-5)
    ([0.0, 1.0, 2.0], True)
    >>> halve = System.from_sympy([x / 2], [x], kind="map")
    >>> tr = advance(halve, [[1.0]], 2.5)
    >>> tr.t.tolist(), tr.final.tolist()
    ([0, 1, 2, 3], [[0.125]])
    """
    duration = check_real(duration, "duration", positive=True)
    if system.kind == "flow":
        return simulate(system, x0, (0.0, duration), method=method, n_points=n_points or DEFAULT_N_POINTS,
                        max_norm=max_norm, dt=dt)
    steps = int(np.ceil(duration))
    tr = simulate(system, x0, steps=steps, max_norm=max_norm)
    if n_points is None:
        return tr
    keep = np.unique(np.linspace(0, steps, min(steps + 1, check_count(n_points, "n_points", 2))).round().astype(int))
    return Trajectories(t=tr.t[keep], X=tr.X[:, keep], diverged=tr.diverged, kind=tr.kind, method=tr.method)


def stepper(system: System, h: float) -> Callable[[np.ndarray], np.ndarray]:
    """One step of a flow or a map for a batch of states (B, n).

    For a flow the classic fourth-order Runge-Kutta step of size h
    (:func:`rk4_step`), for a map one iteration x -> g(x) (h is not used:
    a map's step is one iteration, see :func:`step_size`).

    Parameters
    ----------
    system : System
    h : float > 0
        The flow's step.

    Returns
    -------
    callable
        ``step(X)`` for X of shape (B, n), returning the states one step on.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> step = stepper(System.from_sympy([-x], [x]), 0.1)
    >>> bool(abs(step(np.array([[1.0]]))[0, 0] - np.exp(-0.1)) < 1e-7)
    True
    >>> stepper(System.from_sympy([x / 2], [x], kind="map"), 1.0)(np.array([[1.0]])).tolist()
    [[0.5]]
    """
    f = system.rhs
    if system.kind == "map":
        return f
    h = check_real(h, "h", positive=True)
    return lambda x: rk4_step(f, x, h)


def step_size(system: System, X: Any, scale: float = RK4_STEP_SCALE) -> float:
    """The step of :func:`stepper` for states X: scale / L for a flow, 1 for a map.

    L = max ||Df(x)||_2 over the rows of X (finite values only), the
    fastest rate of the linearised flow there: an RK4 step h = scale / L
    keeps |h lambda| <= scale for every eigenvalue, inside RK4's stability
    limit 2.78 for scale < 2.78.  A flow with Df = 0 on X gets h = 1; a
    map's step is one iteration.

    Parameters
    ----------
    system : System
    X : array_like of shape (B, n)
    scale : float > 0

    Returns
    -------
    float

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> step_size(System.from_sympy([-4 * x], [x]), [[0.0], [1.0]], 0.5)
    0.125
    >>> step_size(System.from_sympy([x / 2], [x], kind="map"), [[1.0]])
    1.0
    """
    if system.kind == "map":
        return 1.0
    scale = check_real(scale, "scale", positive=True)
    with np.errstate(all="ignore"):
        L = np.linalg.norm(system.jacobian(np.asarray(X, dtype=float)), 2, axis=(1, 2))
    L = L[np.isfinite(L)]
    return scale / float(L.max()) if L.size and L.max() > 0 else 1.0


def settling_period(
    system: System, x0: Any, *, steps: int = 1000, max_period: int = 8, rtol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Where the orbits of a map settle: on a fixed point, a k-cycle, or neither.

    Iterates x_{j+1} = g(x_j) from each row of ``x0`` for ``steps`` steps and
    returns, per row, the least k <= ``max_period`` with
    |x_T - x_{T-k}| <= rtol (1 + |x_T|), T = ``steps``: 1 for a fixed point,
    k for a cycle of period k, 0 when the orbit has not settled (or
    diverged).  The attractors of a trained network are not always fixed
    points: a memory held as a 2-cycle shows up as period 2, and its
    points are the fixed points of ``system.iterate(2)``.

    Returns
    -------
    period : ndarray of int, shape (B,)
    final : ndarray of shape (B, n)
        The states x_T.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> flip = System.from_sympy([-x], [x], kind="map")  # x -> -x: 0 is fixed, every other orbit a 2-cycle
    >>> period, final = settling_period(flip, [[0.0], [1.0]], steps=10)
    >>> period.tolist(), final.tolist()
    ([1, 2], [[0.0], [1.0]])
    """
    if system.kind != "map":
        raise ValueError(f"settling_period needs a map, {system.name} is a {system.kind}")
    steps = check_count(steps, "steps")
    max_period = check_count(max_period, "max_period")
    if max_period > steps:
        raise ValueError(f"max_period = {max_period} exceeds steps = {steps}")
    rtol = check_real(rtol, "rtol", positive=True)
    X = simulate(system, x0, steps=steps).X
    final = X[:, -1]
    gaps = np.linalg.norm(final[:, None, :] - X[:, -2 : -max_period - 2 : -1], axis=2)  # (B, k = 1..max_period)
    with np.errstate(invalid="ignore"):
        settled = gaps <= rtol * (1.0 + np.linalg.norm(final, axis=1, keepdims=True))
    period = np.where(settled.any(axis=1), np.argmax(settled, axis=1) + 1, 0)
    return period, final


def sample_states(
    trajectories: Trajectories | np.ndarray,
    n: int,
    *,
    noise: float = 0.0,
    burn_in: int = 0,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Draw n states at random among the finite states of trajectories.

    Parameters
    ----------
    trajectories : Trajectories, or array of shape (B, T, dim) or (N, dim)
        States to draw from; a state is kept when all its coordinates are
        finite.
    n : int >= 0
        Number of states to draw: without replacement when at most as many
        as the finite states, with replacement otherwise.
    noise : float >= 0
        Standard deviation of the isotropic Gaussian noise added to every
        coordinate, in absolute units of the state: x + noise * N(0, I).
    burn_in : int >= 0
        Number of leading time points of every trajectory to skip (only for
        trajectories, not for a flat (N, dim) array of states).
    seed : int, numpy.random.Generator or None
        Seeds ``numpy.random.default_rng``.

    Returns
    -------
    ndarray of shape (n, dim)

    Raises
    ------
    ValueError
        Bad shapes or arguments, or no finite state to draw from.

    Examples
    --------
    >>> X = np.array([[[0.0, 0.0], [1.0, 1.0], [np.nan, np.nan]]])  # (B, T, n) = (1, 3, 2)
    >>> sorted(sample_states(X, 2, seed=0).tolist())  # both finite states
    [[0.0, 0.0], [1.0, 1.0]]
    """
    X = trajectories.X if isinstance(trajectories, Trajectories) else np.asarray(trajectories, dtype=float)
    n = check_count(n, "n", 0)
    burn_in = check_count(burn_in, "burn_in", 0)
    noise = check_real(noise, "noise")
    if X.ndim == 3:
        X = X[:, burn_in:].reshape(-1, X.shape[2])
    elif X.ndim != 2 or burn_in:
        raise ValueError(
            f"trajectories must have shape (B, T, dim), or (N, dim) without burn_in, "
            f"got shape {X.shape} with burn_in={burn_in}"
        )
    states = X[np.isfinite(X).all(axis=1)]
    if len(states) == 0:
        raise ValueError(f"no finite states to sample from (shape {X.shape} after burn_in={burn_in})")
    rng = np.random.default_rng(seed)
    picked = states[rng.choice(len(states), size=n, replace=n > len(states))]
    return picked + noise * rng.standard_normal(picked.shape) if noise else picked


# ---------------------------------------------------------------------- helpers
def _output_times(t0: float, t1: float, n_points: int | None, t_eval: Any) -> np.ndarray:
    if t_eval is None:
        n_points = DEFAULT_N_POINTS if n_points is None else check_count(n_points, "n_points", 2)
        return np.linspace(t0, t1, n_points)
    if n_points is not None:
        raise ValueError(f"give n_points or t_eval, not both (n_points={n_points!r})")
    t = np.asarray(t_eval, dtype=float)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0) or t[0] < t0 or t[-1] > t1:
        raise ValueError(
            f"t_eval must be a non-empty, strictly increasing 1-D array inside t_span {(t0, t1)}, got {t_eval!r}"
        )
    return t


def _escaped(X: np.ndarray, max_norm: float) -> np.ndarray:
    """Rows of X (..., n) with norm above max_norm or a NaN/inf entry."""
    return ~(np.einsum("...i,...i->...", X, X) <= max_norm**2)


def _blank_after_escape(X: np.ndarray, dead: np.ndarray, max_norm: float) -> np.ndarray:
    """Set X (B, T, n) to NaN from each row's first escape (or ``dead``) on; return (B,) flags."""
    with np.errstate(over="ignore", invalid="ignore"):
        bad = np.logical_or.accumulate(_escaped(X, max_norm) | dead, axis=1)
    X[bad] = np.nan
    return bad[:, -1].copy()


def _iterate(system: System, X0: np.ndarray, steps: int, max_norm: float) -> Trajectories:
    B, n = X0.shape
    X = np.empty((B, steps + 1, n))
    X[:, 0] = x = X0
    dead = np.zeros(B, dtype=bool)
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            x = system.rhs(x)
            dead |= _escaped(x, max_norm)
            X[:, k] = x = np.where(dead[:, None], np.nan, x)
    return Trajectories(t=np.arange(steps + 1), X=X, diverged=dead, kind="map", method="iterate")


def _fastest_rate(system: System, X0: np.ndarray) -> float:
    """max over the batch and 5 power iterations of ||Df(x0_b) v||, |v| = 1 (finite values only)."""
    V = np.random.default_rng(0).standard_normal(X0.shape)
    rates = [0.0]
    with np.errstate(all="ignore"):
        for _ in range(5):
            s = np.linalg.norm(V, axis=1, keepdims=True)
            V = system.jvp(X0, V / np.where(s > 0, s, 1.0))
            rates.extend(np.linalg.norm(V, axis=1))
    rates = np.asarray(rates)
    return float(rates[np.isfinite(rates)].max())


def rk4_step(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float) -> np.ndarray:
    """One classic fourth-order Runge-Kutta step of dx/dt = f(x) for a batch x (B, n).

    Examples
    --------
    >>> x = rk4_step(lambda x: -x, np.array([[1.0]]), 0.1)
    >>> bool(abs(x[0, 0] - np.exp(-0.1)) < 1e-7)  # local error O(h^5)
    True
    """
    k1 = f(x)
    k2 = f(x + 0.5 * h * k1)
    k3 = f(x + 0.5 * h * k2)
    k4 = f(x + h * k3)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _rk4_substeps(t0: float, t_eval: np.ndarray, dt: float) -> np.ndarray:
    """Equal rk4 steps (float counts, possibly huge) in each interval between t0 and the output times:
    ceil(gap / dt), at least 1, 0 for an empty interval."""
    gaps = np.diff(np.concatenate(([t0], t_eval)))
    with np.errstate(over="ignore"):
        return np.where(gaps == 0, 0.0, np.maximum(1.0, np.ceil(gaps / dt * (1 - 1e-12))))


def _rk4(
    system: System, X0: np.ndarray, t0: float, t_eval: np.ndarray, substeps: np.ndarray, max_norm: float
) -> np.ndarray:
    """Classic RK4 for the whole batch, X (B, T, n), ``substeps[k]`` equal steps from the previous
    output time (t0 first) to ``t_eval[k]``; escaped rows turn NaN and stay NaN."""
    f = system.rhs
    gaps = np.diff(np.concatenate(([t0], t_eval)))
    X = np.empty((X0.shape[0], len(t_eval), X0.shape[1]))
    x = X0
    with np.errstate(all="ignore"):
        for k, m in enumerate(substeps.astype(int)):
            for _ in range(m):
                x = rk4_step(f, x, gaps[k] / m)
                x = np.where(_escaped(x, max_norm)[:, None], np.nan, x)
            X[:, k] = x
    return X


class _BatchODE:
    """A batch (B, n) as one ODE of size B*n for scipy's solvers; ``frozen`` rows have f = 0."""

    def __init__(self, system: System, B: int) -> None:
        self.system, self.B, self.n = system, B, system.dim
        self.frozen = np.zeros(B, dtype=bool)

    def fun(self, t: float, y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            dX = self.system.rhs(y.reshape(self.B, self.n))
        dX[self.frozen] = 0.0
        return dX.ravel()

    def fastest_rows(self, y: np.ndarray) -> np.ndarray:
        """Rows whose rate ||f(x)|| / max(1, ||x||) is at least half the largest (NaN/inf included)."""
        with np.errstate(all="ignore"):
            speed = np.linalg.norm(self.fun(0.0, y).reshape(self.B, self.n), axis=1)
            rate = speed / np.maximum(1.0, np.linalg.norm(y.reshape(self.B, self.n), axis=1))
        rate = np.where(np.isnan(rate), np.inf, rate)
        return (rate >= 0.5 * rate.max()) & (rate > 0) & ~self.frozen

    def block_jacobian(self, y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            J = self.system.jacobian(y.reshape(self.B, self.n))
        return np.where(self.frozen[:, None, None], 0.0, J)

    def sparse_jac(self, t: float, y: np.ndarray) -> sparse.bsr_matrix:
        """Block-diagonal Jacobian for Radau and BDF."""
        N = self.B * self.n
        return sparse.bsr_matrix((self.block_jacobian(y), np.arange(self.B), np.arange(self.B + 1)), shape=(N, N))


def _solver_options(ode: _BatchODE, method: str, rtol: float, atol: float) -> dict[str, Any]:
    """Keyword arguments of the ``solve_ivp`` class ``method`` for the batch ODE."""
    # scipy's own solvers measure errors by an RMS norm over all B*n components, and an RMS over the
    # batch <= 1 / sqrt(B) implies an RMS over each row <= 1; LSODA's max norm is per component already.
    per_row = 1.0 if method == "LSODA" else 1.0 / np.sqrt(ode.B)
    options: dict[str, Any] = dict(rtol=rtol * per_row, atol=atol * per_row)
    if method in ("Radau", "BDF"):
        options["jac"] = ode.sparse_jac
    elif method == "LSODA":
        # banded finite differences over each row's block (a user Jacobian in
        # LSODA's packed band format fails under scipy < 1.17's Fortran LSODA)
        options.update(lband=ode.n - 1, uband=ode.n - 1)
    return options


def _stiff(ode: _BatchODE, solver: integrate.OdeSolver) -> bool:
    """Whether an explicit solver is held at its stability limit with many steps left (see simulate)."""
    h = solver.step_size
    if not h or (solver.t_bound - solver.t) / h < STIFF_MIN_STEPS_LEFT:
        return False
    live = ~ode.frozen
    return h * _fastest_rate(ode.system, solver.y.reshape(ode.B, ode.n)[live]) >= EXPLICIT_STABILITY


def _solve_batch(
    system: System, X0: np.ndarray, t0: float, t1: float, t_eval: np.ndarray, method: str, *,
    rtol: float, atol: float, max_norm: float, max_steps: int, give_up: bool = False, stiff_switch: bool = False,
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Step a scipy solver over the batch; freeze diverging rows and restart it.

    A row diverges when its norm exceeds ``max_norm`` after a step, or when
    the solver fails or stalls (its step size collapses, as at a finite-time
    blow-up, or where f overflows): then the fastest rows are taken to
    diverge.  Freezing rows changes the ODE, so the solver restarts from
    the current state rather than step across the jump in f.  With
    ``stiff_switch``, a step size that collapsed (see :func:`simulate`,
    *Stiffness*) restarts the batch with ``STIFF_METHOD`` from the current
    state.  Returns X (B, T, n), each row's time of death and the method(s)
    used, or None at the first diverging row when ``give_up``.
    """
    B, n = X0.shape
    ode = _BatchODE(system, B)
    used = method
    options = _solver_options(ode, method, rtol, atol)
    solver_class = getattr(integrate, method)
    Y = np.empty((len(t_eval), B * n))
    k = int(t_eval[0] == t0)
    Y[:k] = X0.ravel()
    dead_from = np.full(B, np.inf)
    solver = solver_class(ode.fun, t0, X0.ravel(), t1, **options)
    steps = 0
    while k < len(t_eval):
        t_before = solver.t
        with np.errstate(all="ignore"):  # overflowing trial stages are rejected by the solver
            message = solver.step()
        steps += 1
        if steps > max_steps:
            raise RuntimeError(
                f"method {method!r} needs more than max_steps = {max_steps} steps to cover t_span = ({t0:g}, "
                f"{t1:g}) for {system.name} (it reached t = {solver.t:.6g}): shorten t_span or raise max_steps"
            )
        if solver.status == "failed" or solver.t <= t_before:  # LSODA may stall without failing
            escaped = ode.fastest_rows(solver.y)
            if not escaped.any():
                raise RuntimeError(f"method {method!r} failed for {system.name} at t = {solver.t}: {message}")
        else:
            j = np.searchsorted(t_eval, solver.t, side="right")
            if j > k:
                Y[k:j] = solver.dense_output()(t_eval[k:j]).T
                k = j
            escaped = _escaped(solver.y.reshape(B, n), max_norm) & ~ode.frozen
        if escaped.any() and k < len(t_eval):
            if give_up:
                return None
            dead_from[escaped] = solver.t
            ode.frozen |= escaped
            solver = solver_class(ode.fun, solver.t, solver.y, t1, **options)
        if stiff_switch and steps % STIFF_CHECK_STEPS == 0 and k < len(t_eval) and _stiff(ode, solver):
            # after this step's output times are filled from its own dense output
            method = STIFF_METHOD
            used, stiff_switch, steps = f"{used}->{method}", False, 0
            options, solver_class = _solver_options(ode, method, rtol, atol), getattr(integrate, method)
            solver = solver_class(ode.fun, solver.t, solver.y, t1, **options)
    return Y.T.reshape(B, n, -1).transpose(0, 2, 1).copy(), dead_from, used
