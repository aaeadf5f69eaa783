"""First guesses of a cycle: its period and states over one period, from a trajectory or from given states.

:func:`cycle_guess` lets the flow settle from x0, then watches the
trajectory return to the Poincaré section through its end point x_e,
{x : ⟨x − x_e, f(x_e)⟩ = 0}, crossed in the flow's direction: the first
crossing close to x_e (within ``RETURN_TOL`` of the orbit's extent) gives
the period T, and the trajectory over [0, T] the states.  A trajectory that
comes to rest (a fixed point) or escapes has no cycle, and says so.

:func:`period_from_states` estimates T from states x_k = x(k T / m) alone:
the least-squares fit of x_{k+1} − x_{k−1} ≈ (2T / m) f(x_k).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from .._validate import check_count
from ..simulate import MAX_NORM
from ..systems import System
from .floquet import check_flow, describe

RETURN_TOL = 1e-3  # a return to the section counts when |x(T) − x_e| <= RETURN_TOL · max_t |x(t) − x_e|
REST_TOL = 1e-9  # |f(x_e)| <= REST_TOL · (1 + |x_e|) · rate: the trajectory has come to rest
GUESS_RTOL = 1e-9
SETTLE_TIMES = 50.0  # the first round lasts SETTLE_TIMES / rate, and each next one twice as long
MAX_ROUNDS = 12
MAX_CROSSINGS = 300  # section crossings (all rounds) without a repeated return: no cycle to settle on

Curve = Callable[[Any], np.ndarray]  # τ in [0, 1] (shape (p,)) ↦ states x(τ T) (shape (p, n))


def rate(system: System, x: np.ndarray) -> float:
    """The fastest rate of the linearised flow at x: the spectral radius of Df(x) (1 when it is 0).

    Examples
    --------
    >>> from dynsys import System
    >>> rate(System.from_strings({"x": "-3*x + y", "y": "-y"}), np.zeros(2))
    3.0
    """
    radius = float(np.max(np.abs(np.linalg.eigvals(system.jacobian(x[None])[0]))))
    return radius if np.isfinite(radius) and radius > 0 else 1.0


def check_state(system: System, x0: Any, what: str = "x0") -> np.ndarray:
    """``x0`` as a finite float state of shape (n,), or a ValueError naming ``what``.

    Examples
    --------
    >>> from dynsys import System
    >>> check_state(System.from_strings({"x": "-x"}), [2]).tolist()
    [2.0]
    """
    x = np.asarray(x0, dtype=float)
    if x.shape != (system.dim,) or not np.all(np.isfinite(x)):
        raise ValueError(f"{what} must be a finite state of shape ({system.dim},), got {describe(x0)} of shape {x.shape}")
    return x


def _integrate(system: System, x: np.ndarray, duration: float, **options: Any) -> Any:
    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        return system.rhs(y[None])[0]

    def escape(_t: float, y: np.ndarray) -> float:
        return MAX_NORM - float(np.abs(y).max())

    escape.terminal = True  # type: ignore[attr-defined]
    events = [escape] + list(options.pop("events", []))
    sol = solve_ivp(rhs, (0.0, duration), x, method="DOP853", rtol=GUESS_RTOL, atol=GUESS_RTOL * 1e-3,
                    events=events, **options)
    if sol.status == 1 and len(sol.t_events[0]) or not np.all(np.isfinite(sol.y[:, -1])):
        raise ValueError(f"no cycle: the trajectory of {system.name} from {describe(x)} escapes (|x| > {MAX_NORM:g})")
    if not sol.success:
        raise ValueError(f"no cycle: the trajectory of {system.name} from {describe(x)} could not be integrated "
                         f"({sol.message})")
    return sol


def one_turn(dense: Callable[[np.ndarray], np.ndarray], period: float) -> Curve:
    """The curve τ ↦ x(τ T), τ in [0, 1], of a solver's dense output t ↦ x(t) (shape (n,) or (n, p)).

    Examples
    --------
    >>> curve = one_turn(lambda t: np.vstack([np.cos(t), np.sin(t)]), 2 * np.pi)
    >>> curve([0.0, 0.5]).round(12).tolist()
    [[1.0, 0.0], [-1.0, 0.0]]
    """
    return lambda tau: dense(np.asarray(tau, dtype=float).reshape(-1) * period).T


def closest_return(system: System, x0: Any, period: float) -> tuple[float, Curve]:
    """The trajectory from x0 over one turn, the turn's length corrected to the closest return near ``period``.

    Integrates from x0 over 1.5 T (DOP853, dense output) and takes as the
    period the time t in [T/2, 3T/2] where |x(t) − x0| is least (on a grid
    of 1000 times): a rough period guess then still gives a nearly closed
    curve.

    Returns
    -------
    period : float
    curve : callable
        τ ↦ x(τ T*) for τ in [0, 1], T* the corrected period.

    Raises
    ------
    ValueError
        The trajectory escapes (|x| > 1e6) or cannot be integrated.

    Examples
    --------
    >>> from dynsys import System
    >>> rotation = System.from_strings({"x": "-y", "y": "x"})
    >>> T, curve = closest_return(rotation, [1.0, 0.0], 5.0)
    >>> bool(abs(T - 2 * np.pi) < 0.01), bool(np.allclose(curve([0, 0.25]), [[1, 0], [0, 1]], atol=0.01))
    (True, True)
    """
    x = check_state(system, x0)
    sol = _integrate(system, x, 1.5 * period, dense_output=True)
    times = np.linspace(0.5 * period, 1.5 * period, 1000)
    best = float(times[np.argmin(np.linalg.norm(sol.sol(times).T - x, axis=1))])
    return best, one_turn(sol.sol, best)


def cycle_guess(system: System, x0: Any, *, max_rounds: int = MAX_ROUNDS,
                max_crossings: int = MAX_CROSSINGS) -> tuple[float, Curve]:
    """A period and one turn of the cycle that the trajectory from x0 settles on.

    Rounds of doubling length D = 50 / L, 100 / L, ... (L the fastest rate
    of Df(x0)), each continuing the trajectory from where the last one
    ended (so it settles as the rounds go on), at x_e: integrate over D,
    recording the crossings of the section ⟨x − x_e, f(x_e)⟩ = 0 in the
    flow's direction.  The period is the first time T of a crossing within
    ``RETURN_TOL`` of x_e (relative to the orbit's extent) that is followed
    by another such crossing at 2T (within ``RETURN_TOL`` · T): a settled
    cycle returns every period, a chaotic orbit's near returns do not
    repeat.  Stops at the first round that finds one, or that crosses the
    sections ``max_crossings`` times in all without one.

    Parameters
    ----------
    system : System
        A flow.
    x0 : array_like of shape (n,)
    max_rounds : int
    max_crossings : int
        Section crossings (all rounds together) after which a trajectory
        that has not repeated a return is declared to have no cycle.

    Returns
    -------
    period : float
    curve : callable
        τ ↦ x(τ T) for τ in [0, 1] (an array of shape (p,) to states
        (p, n)), the settled trajectory over one period (dense output).

    Raises
    ------
    ValueError
        The trajectory comes to rest at a fixed point, escapes, or shows no
        repeated return within ``max_rounds`` rounds or ``max_crossings``
        crossings; the message says which.

    Examples
    --------
    The Hopf normal form with μ = 1, ω = 2 settles on the unit circle, of period π:

    >>> from dynsys import System
    >>> hopf = System.from_strings({"x": "x - 2*y - x*(x**2 + y**2)", "y": "2*x + y - y*(x**2 + y**2)"})
    >>> T, curve = cycle_guess(hopf, [0.1, 0.0])
    >>> states = curve(np.linspace(0, 1, 50))
    >>> bool(abs(T - np.pi) < 1e-4), bool(np.allclose(np.linalg.norm(states, axis=1), 1, atol=1e-4))
    (True, True)
    """
    check_flow(system, "cycle_guess")
    x = check_state(system, x0)
    max_rounds = check_count(max_rounds, "max_rounds")
    max_crossings = check_count(max_crossings, "max_crossings")
    duration = SETTLE_TIMES / rate(system, x)
    crossings = 0
    for _ in range(max_rounds):
        f = system.rhs(x[None])[0]
        if np.linalg.norm(f) <= REST_TOL * (1 + np.linalg.norm(x)) * rate(system, x):
            raise ValueError(f"no cycle: the trajectory of {system.name} from {describe(x0)} comes to rest "
                             f"at the fixed point near {describe(x)}")

        def section(_t: float, y: np.ndarray, x_e: np.ndarray = x, f_e: np.ndarray = f) -> float:
            return float((y - x_e) @ f_e)

        section.direction = 1  # type: ignore[attr-defined]
        sol = _integrate(system, x, duration, events=[section], dense_output=True)
        extent = float(np.max(np.linalg.norm(sol.y.T - x, axis=1)))
        times, states = sol.t_events[1], sol.y_events[1]
        close = (times > 1e-9 * duration) & (np.linalg.norm(states - x, axis=1) <= RETURN_TOL * extent)
        returns = times[close]
        for period in returns:  # a cycle returns again after twice its period; a chaotic orbit seldom does
            if np.any(np.abs(returns - 2 * period) <= RETURN_TOL * period):
                return float(period), one_turn(sol.sol, float(period))
        crossings += len(times)
        if crossings >= max_crossings:
            raise ValueError(f"no cycle: the trajectory of {system.name} from {describe(x0)} crosses Poincaré "
                             f"sections {crossings} times without returning to the same point twice (a chaotic or "
                             "quasi-periodic orbit, or a very slow transient); give x0 on the cycle and its period")
        x = sol.y[:, -1]
        duration *= 2
    raise ValueError(f"no cycle: the trajectory of {system.name} from {describe(x0)} does not return "
                     f"near itself within {max_rounds} rounds (a chaotic or quasi-periodic orbit, or a very slow "
                     "transient); give x0 on the cycle and its period")


def period_from_states(system: System, states: Any) -> float:
    """The period T that best fits m states x_k = x(k T / m) over one period: x_{k+1} − x_{k−1} ≈ (2T / m) f(x_k).

    The least-squares solution T = (m / 2) Σ⟨x_{k+1} − x_{k−1}, f(x_k)⟩ / Σ|f(x_k)|² (indices mod m).

    Examples
    --------
    >>> from dynsys import System
    >>> rotation = System.from_strings({"x": "-3*y", "y": "3*x"})  # period 2π/3
    >>> t = np.arange(64) / 64 * 2 * np.pi
    >>> bool(abs(period_from_states(rotation, np.column_stack([np.cos(t), np.sin(t)])) - 2 * np.pi / 3) < 1e-2)
    True
    """
    x = np.asarray(states, dtype=float)
    if x.ndim != 2 or x.shape[1] != system.dim or len(x) < 3 or not np.all(np.isfinite(x)):
        raise ValueError(f"states must be a finite array of shape (m, {system.dim}) with m >= 3, got {x.shape}")
    f = system.rhs(x)
    chord = np.roll(x, -1, axis=0) - np.roll(x, 1, axis=0)
    denominator = float(np.sum(f * f))
    period = len(x) / 2 * float(np.sum(chord * f)) / denominator if denominator > 0 else 0.0
    if not period > 0:
        raise ValueError(f"the states do not go round a cycle of {system.name} in the flow's direction "
                         "(no positive period fits them); give the period")
    return period

