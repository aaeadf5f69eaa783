"""What collocation and multiple shooting share: the unknowns z = (states, T) and a damped Newton method.

Collocation (the profile at its nodes) and multiple shooting (the segments'
first states) both solve for z = (states (rows, n) flattened row by row, T).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validate import check_count, check_real


def pack_states(states: Any, period: float, shape: tuple[int, int], what: str) -> np.ndarray:
    """z = (states flattened row by row, T), checking that ``states`` (named ``what``) has ``shape``.

    Examples
    --------
    >>> pack_states([[1.0, 2.0]], 3.0, (1, 2), "states").tolist()
    [1.0, 2.0, 3.0]
    >>> pack_states([[1.0, 2.0]], 3.0, (2, 2), "profile")
    Traceback (most recent call last):
    ...
    ValueError: profile must have shape (2, 2), got (1, 2)
    """
    states = np.asarray(states, dtype=float)
    if states.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {states.shape}")
    return np.append(states.ravel(), check_real(period, "period", positive=True))


def unpack_states(z: Any, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """The states (rows, n) and the period T stored in z (of length rows · n + 1).

    Examples
    --------
    >>> states, T = unpack_states([1.0, 2.0, 3.0], (1, 2))
    >>> states.tolist(), T
    ([[1.0, 2.0]], 3.0)
    """
    z = np.asarray(z, dtype=float)
    size = shape[0] * shape[1] + 1
    if z.shape != (size,):
        raise ValueError(f"z must have shape ({size},), got {z.shape}")
    return z[:-1].reshape(shape), float(z[-1])


MAX_HALVINGS = 10  # of a Newton step that is not accepted
STALL = 1e-5  # Newton stuck below this residual: a degenerate (non-isolated) cycle rather than a bad guess


def damped_newton(z: Any, residual: Callable[[np.ndarray], tuple[np.ndarray, Any]],
                  step: Callable[[np.ndarray, np.ndarray, Any], np.ndarray],
                  accept: Callable[[np.ndarray, np.ndarray], bool], *, tol: float, max_iter: int,
                  what: str) -> tuple[np.ndarray, list[float]]:
    """Newton's method with step halving, on unknowns whose last entry is a period T > 0.

    Parameters
    ----------
    z : array_like
        The initial guess.
    residual : callable
        z ↦ (r, data): the residual and whatever ``step`` needs (a Jacobian).
        A ValueError from it at a trial point rejects the step.
    step : callable
        (z, r, data) ↦ Δz solving J Δz = −r (raising a ValueError when J is singular).
    accept : callable
        (r_new, r) ↦ whether the step is taken; a rejected step is halved
        (at most ``MAX_HALVINGS`` times), as is one that makes T <= 0.
    tol : float > 0
        Stops when max |r| <= tol.
    max_iter : int
    what : str
        The problem's name, for the messages.

    Returns
    -------
    z : ndarray
    history : list of float
        max |r| at the start and after each step.

    Raises
    ------
    ValueError
        No acceptable step, or no convergence in ``max_iter`` steps.

    Examples
    --------
    z = (x, T) with r = (x² − 2, T − 1):

    >>> z, history = damped_newton(
    ...     [1.0, 3.0], lambda z: (np.array([z[0] ** 2 - 2, z[1] - 1]), None),
    ...     lambda z, r, _: -r / np.array([2 * z[0], 1.0]), lambda new, old: True, tol=1e-12, max_iter=10, what="x² = 2")
    >>> bool(abs(z[0] - np.sqrt(2)) < 1e-12), float(z[1]), len(history) <= 7
    (True, 1.0, True)
    """
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_count(max_iter, "max_iter")
    z = np.array(z, dtype=float)
    r, data = residual(z)
    history = [float(np.abs(r).max())]
    for _ in range(max_iter):
        if history[-1] <= tol:
            return z, history
        delta = step(z, r, data)
        for _ in range(MAX_HALVINGS):
            trial = z + delta
            if trial[-1] > 0:
                try:
                    r_new, data_new = residual(trial)
                except ValueError:  # an integration that fails: too long a step
                    r_new = None
                if r_new is not None and np.all(np.isfinite(r_new)) and accept(r_new, r):
                    break
            delta = delta / 2
        else:
            why = ("the cycle is not isolated (a family of cycles of a conservative system, a double multiplier 1) "
                   "or tol is below the attainable accuracy" if history[-1] <= STALL else "the guess is too far from "
                   "a cycle")
            raise ValueError(f"Newton's method for {what} cannot reduce the residual {history[-1]:.2e} from period "
                             f"{z[-1]:.6g}: {why}")
        z, r, data = trial, r_new, data_new
        history.append(float(np.abs(r).max()))
    if history[-1] <= tol:
        return z, history
    raise ValueError(f"Newton's method for {what} did not converge to tol = {tol:g} in {max_iter} steps "
                     f"(residuals {', '.join(f'{h:.2e}' for h in history[-4:])}); try a better guess, a finer "
                     "discretisation or a larger tol")
