"""One entry point for refining a cycle of a flow: :func:`periodic_orbit`.

A first guess (period and states over one period) comes from the caller
(states, a :class:`PeriodicOrbit`, or a state with a period) or from a
trajectory (:func:`~dynsys.periodic_orbits.recurrence.cycle_guess`); Newton's
method then solves the periodic boundary-value problem by orthogonal
collocation (:class:`~dynsys.periodic_orbits.collocation.Collocation`) or
multiple shooting (:class:`~dynsys.periodic_orbits.shooting.MultipleShooting`),
both quadratically convergent, and the multipliers come from the
monodromy matrix.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validate import check_count, check_real
from ..systems import System
from .collocation import (
    DEFAULT_NCOL,
    DEFAULT_NTST,
    Collocation,
    arclength_mesh,
    periodic_resample,
)
from .floquet import check_flow, describe
from .recurrence import Curve, closest_return, cycle_guess, period_from_states
from .result import PeriodicOrbit
from .shooting import DEFAULT_SEGMENTS, MultipleShooting

GUESS_POINTS = 2000  # samples of a guess for the first mesh
DEFAULT_M = 200  # states of a shooting result
EQUIDISTRIBUTED = 2.0  # no mesh adaptation when every interval's h_j ρ_j is within this factor of their mean
COLLAPSE_TOL = 1e-7  # a "cycle" with amplitude below this (relative) is a fixed point


def initial_guess(system: System, x0: Any, period: float | None = None) -> tuple[float, Curve]:
    """A period and one turn of a cycle (a curve τ ↦ x(τ T), τ in [0, 1]) to start Newton's method from.

    Parameters
    ----------
    system : System
        A flow.
    x0 : array_like of shape (n,) or (m, n), or PeriodicOrbit
        A state: with ``period``, the trajectory from it over one period,
        the period corrected to its closest return to x0 between T/2 and
        3T/2 (:func:`~dynsys.periodic_orbits.recurrence.closest_return`);
        without, the cycle its trajectory settles on
        (:func:`~dynsys.periodic_orbits.recurrence.cycle_guess`).  States
        x(k T / m) over one period: their periodic cubic spline, with
        ``period`` or the best fit
        (:func:`~dynsys.periodic_orbits.recurrence.period_from_states`).
        A PeriodicOrbit: its states, and its period unless ``period`` is given.
    period : float > 0, optional

    Returns
    -------
    period : float
    curve : callable
        τ (shape (p,)) ↦ states (p, n).

    Examples
    --------
    >>> from dynsys import System
    >>> rotation = System.from_strings({"x": "-y", "y": "x"})
    >>> T, curve = initial_guess(rotation, [1.0, 0.0], 2 * np.pi)
    >>> bool(abs(T - 2 * np.pi) < 0.01), bool(np.allclose(curve([0.5]), [[-1.0, 0.0]], atol=0.01))
    (True, True)
    """
    if period is not None:
        period = check_real(period, "period", positive=True)
    if isinstance(x0, PeriodicOrbit):
        if x0.system.dim != system.dim:
            raise ValueError(f"x0 is a cycle in dimension {x0.system.dim}, {system.name} has dimension {system.dim}")
        states = np.array(x0.x)
        return (x0.period if period is None else period), lambda tau: periodic_resample(states, tau)
    x = np.asarray(x0, dtype=float)
    if x.ndim == 2:
        if x.shape[1] != system.dim or len(x) < 3 or not np.all(np.isfinite(x)):
            raise ValueError(f"x0 must be a state of shape ({system.dim},) or finite states of shape "
                             f"(m, {system.dim}) with m >= 3, got shape {x.shape}")
        return (period_from_states(system, x) if period is None else period), lambda tau: periodic_resample(x, tau)
    if period is None:
        return cycle_guess(system, x)
    return closest_return(system, x, period)


def _by_collocation(system: System, period: float, curve: Curve, tol: float, max_iter: int,
                    m: int | None, ntst: int | None, ncol: int, adapt: int, segments: int) -> PeriodicOrbit:
    sample = curve(np.arange(GUESS_POINTS) / GUESS_POINTS)
    col = Collocation(system.dim, ncol=ncol, mesh=arclength_mesh(sample, DEFAULT_NTST if ntst is None else ntst))
    z, history = col.solve(system, col.pack(curve(col.times), period), tol=tol, max_iter=max_iter)
    for _ in range(adapt):
        error = np.diff(col.mesh) * col.error_density(z)  # about the local error^(1/(ncol+1)) of each interval
        if error.max() <= EQUIDISTRIBUTED * error.mean():
            break
        col, z = col.adapt(z)
        z, history = col.solve(system, z, tol=tol, max_iter=max_iter)
    return col.orbit(system, z, m=m, residual=history[-1])


def _by_shooting(system: System, period: float, curve: Curve, tol: float, max_iter: int,
                 m: int | None, ntst: int | None, ncol: int, adapt: int, segments: int) -> PeriodicOrbit:
    shooting = MultipleShooting(system.dim, segments=segments)
    starts = curve(np.arange(shooting.segments) / shooting.segments)
    z, history = shooting.solve(system, shooting.pack(starts, period), tol=tol, max_iter=max_iter)
    return shooting.orbit(system, z, m=DEFAULT_M if m is None else m, residual=history[-1])


METHODS: dict[str, Callable[..., PeriodicOrbit]] = {"collocation": _by_collocation, "shooting": _by_shooting}


def periodic_orbit(system: System, x0: Any, period: float | None = None, *, method: str = "collocation",
                   tol: float = 1e-10, ntst: int | None = None, ncol: int = DEFAULT_NCOL,
                   adapt: int = 1, segments: int = DEFAULT_SEGMENTS, m: int | None = None,
                   max_iter: int = 20) -> PeriodicOrbit:
    """The periodic orbit (cycle) of a flow through or near x0, refined by Newton's method, with its multipliers.

    Solves u' = T f(u), u(0) = u(1), plus a phase condition, for the
    profile u and the period T:

    - ``"collocation"``: orthogonal collocation at Gauss points on ``ntst``
      mesh intervals with polynomials of degree ``ncol``, integral phase
      condition against the guess (:class:`Collocation`; AUTO's method);
    - ``"shooting"``: multiple shooting with ``segments`` segments
      integrated by DOP853 at rtol 1e-11, the phase condition
      ⟨f(r), x_0 − r⟩ = 0 at the guess's first state r
      (:class:`MultipleShooting`).

    Both converge quadratically to max |residual| <= ``tol``.  The
    multipliers are the eigenvalues of the monodromy matrix (the trivial one
    identified by its eigenvector along f(x(0))).

    Parameters
    ----------
    system : System
        A flow, at the parameter values of the cycle.
    x0 : array_like of shape (n,) or (m, n), or PeriodicOrbit
        A state near the cycle (with ``period``: on it, or near it; without:
        anywhere in the cycle's basin, the trajectory from it finds the
        cycle and its period), or states x(k T / m) over one period, or a
        cycle to refine (see :func:`initial_guess`).
    period : float > 0, optional
        The period's guess.
    method : {"collocation", "shooting"}
    tol : float > 0
        Newton's tolerance on the max-norm of the discretised equations.
    ntst : int, optional
        Collocation mesh intervals (default 60; more for relaxation
        cycles: van der Pol at μ = 20 wants about 100).
    ncol : int
        Collocation degree (1 to 7).
    adapt : int >= 0
        Collocation mesh adaptations: the first mesh equidistributes time
        plus arc length of the guess (:func:`arclength_mesh`); after each
        solve, the mesh is moved to equidistribute the error estimate
        (:meth:`Collocation.adapt`) and the problem solved again, up to this
        many times (not when h_j ρ_j is already within a factor 2 of its mean
        on every interval).
    segments : int
        Shooting segments.
    m : int >= 2, optional
        The number of states of the result, uniform in time (default
        ntst · ncol for collocation, 200 for shooting).
    max_iter : int
        Newton steps.

    Returns
    -------
    PeriodicOrbit

    Raises
    ------
    ValueError
        A map (its cycles are fixed points of ``system.iterate(k)``); a bad
        argument (named); a trajectory that comes to rest at a fixed point,
        escapes or does not recur; no convergence; convergence to a fixed
        point (a "cycle" of zero amplitude).

    References
    ----------
    Doedel, Keller & Kernévez (1991), Numerical analysis and control of
    bifurcation problems II, Int. J. Bifurcation and Chaos 1, 745–772;
    Ascher, Mattheij & Russell (1995), ch. 5; Seydel (2010), *Practical
    Bifurcation and Stability Analysis*, ch. 7; Kuznetsov (2004), §10.3.

    Examples
    --------
    Van der Pol's cycle at μ = 1 (period 6.6632868593...), found from a
    trajectory and refined:

    >>> from dynsys.models import van_der_pol
    >>> orbit = periodic_orbit(van_der_pol(1.0), [0.1, 0.0])
    >>> round(orbit.period, 8), orbit.label
    (6.66328686, 'stable cycle')
    >>> round(periodic_orbit(van_der_pol(1.0), orbit, method="shooting").period, 8)
    6.66328686
    """
    check_flow(system, "periodic_orbit")
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_count(max_iter, "max_iter")
    if m is not None:
        m = check_count(m, "m", 2)
    T, states = initial_guess(system, x0, period)
    adapt = check_count(adapt, "adapt", 0)
    orbit = METHODS[method](system, T, states, tol, max_iter, m, ntst, ncol, adapt, segments)
    if orbit.amplitude <= COLLAPSE_TOL * (1 + float(np.linalg.norm(orbit.mean))):
        raise ValueError(f"Newton's method ({method}) converged to a fixed point of {system.name} near "
                         f"{describe(orbit.mean)}, not to a cycle: give a better guess (more states, or a state on "
                         "the cycle with its period)")
    return orbit
