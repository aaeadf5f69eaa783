"""Floquet multipliers of a cycle of a flow, from its monodromy matrix.

For a T-periodic solution x(t) of x' = f(x), the monodromy matrix is
M = Φ(T), where Φ solves the variational equation

    Φ' = Df(x(t)) Φ,    Φ(0) = I,

along the cycle (Kuznetsov 2004, section 1.5).  Its eigenvalues are the
Floquet multipliers.  M f(x(0)) = f(x(0)): one multiplier is 1 (the
trivial one, a shift along the cycle), with eigenvector f(x(0)); the others
decide the stability of the cycle.  Numerically the trivial multiplier is
found as the one whose eigenvector is best aligned with f(x(0)) (nearest to
1 when f(x(0)) = 0 up to rounding, which a cycle never has).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from .._validate import check_real
from ..systems import System, check_system

FLOQUET_RTOL = 1e-11  # relative tolerance of the variational integration
FLOQUET_ATOL = 1e-12


def check_flow(system: Any, who: str) -> System:
    """``system`` itself when it is a flow; a ValueError that points maps to ``iterate(k)`` otherwise.

    Examples
    --------
    >>> from dynsys.models import logistic, van_der_pol
    >>> check_flow(van_der_pol(), "periodic_orbit").name
    'van_der_pol'
    >>> check_flow(logistic(), "periodic_orbit")
    Traceback (most recent call last):
    ...
    ValueError: periodic_orbit needs a flow; logistic is a map (its period-k points are fixed points of system.iterate(k): use find_fixed_points(system.iterate(k)))
    """
    check_system(system)
    if system.kind != "flow":
        raise ValueError(f"{who} needs a flow; {system.name} is a map (its period-k points are fixed points of "
                         "system.iterate(k): use find_fixed_points(system.iterate(k)))")
    return system


def describe(x: Any, shown: int = 4) -> str:
    """A state for an error message: its first ``shown`` values (4 significant digits), and how many there are.

    Examples
    --------
    >>> describe([1.0, 2.5]), describe(np.arange(10.0))
    ('[1, 2.5]', '[0, 1, 2, 3, ...] (10 values)')
    """
    x = np.asarray(x, dtype=float).ravel()
    head = ", ".join(f"{v:.4g}" for v in x[:shown])
    return f"[{head}]" if len(x) <= shown else f"[{head}, ...] ({len(x)} values)"


def variational_flow(system: System, X: Any, duration: float, *, rtol: float = FLOQUET_RTOL,
                     atol: float = FLOQUET_ATOL, dense_output: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
    """The flow φ_t(x) and its derivative Φ = ∂φ_t/∂x from a batch of states, over one duration.

    Integrates x' = f(x), Φ' = Df(x) Φ, Φ(0) = I, from every row of ``X`` at
    once, as one ODE of B (n + n²) equations, with ``solve_ivp``'s DOP853;
    the right-hand side evaluates f and Df on the whole batch per stage and
    multiplies Df Φ as one batched matrix product.

    Parameters
    ----------
    system : System
        A flow.
    X : array_like of shape (B, n)
        Finite initial states.
    duration : float > 0
    rtol, atol : float
        DOP853's tolerances.
    dense_output : bool
        Return the solver's dense output as well (``None`` otherwise).

    Returns
    -------
    ends : ndarray of shape (B, n)
        φ_duration(X).
    Phi : ndarray of shape (B, n, n)
        ∂φ_duration/∂x at each row of X.
    dense : OdeSolution or None
        ``dense(t)`` is the flattened (B, n + n²) state at the time t; the
        first n of each row are φ_t.

    Raises
    ------
    ValueError
        The integration fails (an orbit that escapes, say).

    Examples
    --------
    x' = −x: φ_t(x) = x e^{−t}, Φ = e^{−t}.

    >>> from dynsys import System
    >>> decay = System.from_strings({"x": "-x"})
    >>> ends, Phi, _ = variational_flow(decay, [[1.0], [2.0]], 1.0)
    >>> bool(np.allclose(ends.ravel(), [np.exp(-1), 2 * np.exp(-1)])), bool(np.allclose(Phi, np.exp(-1)))
    (True, True)
    """
    check_flow(system, "variational_flow")
    n = system.dim
    X = np.array(X, dtype=float, ndmin=2)
    if X.ndim != 2 or X.shape[1] != n or not np.all(np.isfinite(X)):
        raise ValueError(f"X must be finite states of shape (B, {n}), got shape {np.shape(X)}")
    B = len(X)
    duration = check_real(duration, "duration", positive=True)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        y = y.reshape(B, n + n * n)
        x = y[:, :n]
        dPhi = np.matmul(system.jacobian(x), y[:, n:].reshape(B, n, n))
        return np.concatenate([system.rhs(x), dPhi.reshape(B, n * n)], axis=1).ravel()

    y0 = np.concatenate([X, np.broadcast_to(np.eye(n).ravel(), (B, n * n))], axis=1).ravel()
    sol = solve_ivp(rhs, (0.0, duration), y0, method="DOP853", rtol=rtol, atol=atol, dense_output=dense_output)
    y = sol.y[:, -1].reshape(B, n + n * n)
    if not sol.success or not np.all(np.isfinite(y)):
        raise ValueError(f"the variational equations of {system.name} could not be integrated over {duration:.6g} "
                         f"from {B} state(s) starting with {describe(X[0])}: {sol.message}")
    return y[:, :n], y[:, n:].reshape(B, n, n), sol.sol if dense_output else None


def monodromy(system: System, x0: Any, period: float, *, rtol: float = FLOQUET_RTOL,
              atol: float = FLOQUET_ATOL) -> np.ndarray:
    """The monodromy matrix M = Φ(T) of the cycle through ``x0``.

    With one state x0, the variational equations are integrated from
    (x0, I) over [0, T] (:func:`variational_flow`).  With s states
    x(k T / s), k = 0, ..., s − 1, along the cycle, each is integrated over
    T / s (all at once) and M = Φ_{s−1} ⋯ Φ_1 Φ_0, the monodromy at x(0):
    the error of a state then grows over T / s only, which keeps M accurate
    on cycles with large unstable multipliers (multiple shooting).

    Parameters
    ----------
    system : System
        A flow, at the parameter values of the cycle.
    x0 : array_like of shape (n,) or (s, n)
        A point on the cycle, or s points equally spaced in time over one period.
    period : float > 0
        T.

    Returns
    -------
    ndarray of shape (n, n)

    Examples
    --------
    A linear rotation x' = −y, y' = x returns to where it started after 2π:
    M = I.

    >>> from dynsys import System
    >>> rotation = System.from_strings({"x": "-y", "y": "x"})
    >>> np.allclose(monodromy(rotation, [1.0, 0.0], 2 * np.pi), np.eye(2), atol=1e-9)
    True
    >>> np.allclose(monodromy(rotation, [[1.0, 0.0], [-1.0, 0.0]], 2 * np.pi), np.eye(2), atol=1e-9)
    True
    """
    period = check_real(period, "period", positive=True)
    X = np.array(x0, dtype=float, ndmin=2)
    _, Phi, _ = variational_flow(system, X, period / len(X), rtol=rtol, atol=atol)
    return compose(Phi)


def compose(Phi: Any) -> np.ndarray:
    """The product Φ_{s−1} ⋯ Φ_1 Φ_0 of the derivatives of s consecutive segments: the derivative of their composition.

    Examples
    --------
    >>> compose(np.array([[[2.0]], [[3.0]]])).tolist()
    [[6.0]]
    """
    Phi = np.asarray(Phi, dtype=float)
    M = Phi[0]
    for P in Phi[1:]:
        M = P @ M
    return M


def multipliers_of(M: Any, direction: Any) -> tuple[np.ndarray, int]:
    """The eigenvalues of a monodromy matrix by decreasing modulus, and which one is trivial.

    The trivial multiplier is the one whose (unit) eigenvector v has the
    largest |⟨v, f⟩| / |f| with ``direction`` = f(x(0)); when f is zero it is
    the eigenvalue nearest to 1.  Eigenvalues of modulus below
    n · eps · ‖M‖ (the rounding error of the eigenvalues) are set to 0:
    their sign and phase are noise (a strongly attracting direction
    otherwise shows up as a spurious flip).

    Parameters
    ----------
    M : array_like of shape (n, n)
    direction : array_like of shape (n,)
        f(x(0)), the flow's direction at the cycle's first point.

    Returns
    -------
    multipliers : ndarray of shape (n,), complex
    trivial : int

    Examples
    --------
    >>> mu, k = multipliers_of(np.diag([0.5, 1.0, 3.0]), [0.0, 1.0, 0.0])
    >>> mu.real.tolist(), k
    ([3.0, 1.0, 0.5], 1)
    >>> multipliers_of(np.diag([1.0, -1e-17]), [1.0, 0.0])[0].real.tolist()
    [1.0, 0.0]
    """
    M = np.asarray(M, dtype=float)
    f = np.asarray(direction, dtype=float).reshape(-1)
    w, V = np.linalg.eig(M)
    w[np.abs(w) < len(M) * np.finfo(float).eps * np.linalg.norm(M, 2)] = 0.0
    order = np.lexsort((-w.real, -np.abs(w)))
    w, V = w[order], V[:, order]
    norm = np.linalg.norm(f)
    if norm > 0 and np.all(np.isfinite(f)):
        alignment = np.abs(f @ V) / (norm * np.linalg.norm(V, axis=0))
        trivial = int(np.argmax(alignment - 1e-9 * np.abs(w - 1)))  # ties (a repeated 1): the nearest to 1
    else:
        trivial = int(np.argmin(np.abs(w - 1)))
    return w, trivial


def floquet_multipliers(system: System, x0: Any, period: float, *, rtol: float = FLOQUET_RTOL,
                        atol: float = FLOQUET_ATOL) -> tuple[np.ndarray, int]:
    """The Floquet multipliers of the cycle of period T through ``x0``, and the index of the trivial one.

    The eigenvalues of the monodromy matrix (:func:`monodromy`), sorted by
    decreasing modulus (then decreasing real part); the trivial one (1 up to
    the accuracy of the integration) is identified by its eigenvector's
    alignment with f(x0) (:func:`multipliers_of`).

    Parameters
    ----------
    system : System
        A flow, at the parameter values of the cycle.
    x0 : array_like of shape (n,) or (s, n)
        A point on the cycle, or s points x(k T / s) equally spaced in time
        over one period (see :func:`monodromy`; an unstable multiplier μ
        amplifies the errors of the states by up to |μ|^{1/s}).
    period : float > 0
    rtol, atol : float
        DOP853's tolerances for the variational equations.

    Returns
    -------
    multipliers : ndarray of shape (n,), complex
    trivial : int

    Raises
    ------
    ValueError
        A map (use ``system.iterate(k)``), a bad x0 or period, or an
        integration that fails.

    References
    ----------
    Kuznetsov, *Elements of Applied Bifurcation Theory* (3rd ed., 2004), §1.5.

    Examples
    --------
    The Hopf normal form r' = r(μ − r²), θ' = ω has the cycle r = √μ of
    period 2π/ω, with the non-trivial multiplier exp(−2μ · 2π/ω):

    >>> from dynsys import System
    >>> hopf = System.from_strings({"x": "mu*x - w*y - x*(x**2 + y**2)", "y": "w*x + mu*y - y*(x**2 + y**2)"},
    ...                            {"mu": 0.25, "w": 1.0})
    >>> mu, k = floquet_multipliers(hopf, [0.5, 0.0], 2 * np.pi)
    >>> k, bool(abs(mu[0] - 1) < 1e-9), bool(abs(mu[1] - np.exp(-np.pi)) < 1e-9)
    (0, True, True)
    """
    check_flow(system, "floquet_multipliers")
    M = monodromy(system, x0, period, rtol=rtol, atol=atol)
    return multipliers_of(M, system.rhs(np.array(x0, dtype=float, ndmin=2)[:1])[0])
