"""Multiple shooting for the periodic problem: :class:`MultipleShooting`.

The cycle is cut into s segments of duration T / s that start at the
unknown states x_0, ..., x_{s−1}; the equations are

    φ_{T/s}(x_i) − x_{i+1} = 0,  i = 0, ..., s − 1  (x_s = x_0),
    ⟨f(r), x_0 − r⟩ = 0,

the last a phase condition: x_0 lies on the hyperplane through the
reference point r orthogonal to the flow there (Seydel 2010, §7.3;
Kuznetsov 2004, §10.3).  Newton's method needs ∂φ/∂x (the variational
equations, integrated with the segments, all at once: :func:`variational_flow`)
and ∂φ/∂T = f(φ) / s.  The states and the period converge quadratically,
to the integrator's tolerance.  Short segments keep the problem well
conditioned on unstable cycles, where single shooting amplifies errors by
the unstable multiplier.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_count, check_real
from ..systems import System
from .floquet import (
    FLOQUET_ATOL,
    FLOQUET_RTOL,
    check_flow,
    compose,
    multipliers_of,
    variational_flow,
)
from .newton import damped_newton, pack_states, unpack_states
from .result import PeriodicOrbit

DEFAULT_SEGMENTS = 4


class MultipleShooting:
    """Multiple shooting with s segments for a cycle of an n-dimensional flow.

    Unknowns z = (x_0, ..., x_{s−1} flattened, T): s n + 1 of them; the
    states x_i = x(i T / s).  Methods take a ``system`` already at its
    parameter values.

    Parameters
    ----------
    n : int
    segments : int
        s >= 1 (1 is single shooting).
    rtol, atol : float
        DOP853's tolerances for the segments and their variational equations.

    Examples
    --------
    The Hopf normal form with μ = 1, ω = 1: the unit circle, period 2π.

    >>> from dynsys import System
    >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
    >>> shooting = MultipleShooting(2, segments=3)
    >>> t = 2 * np.pi * np.arange(3) / 3
    >>> z, history = shooting.solve(hopf, shooting.pack(1.1 * np.column_stack([np.cos(t), np.sin(t)]), 6.0))
    >>> states, T = shooting.unpack(z)
    >>> bool(abs(T - 2 * np.pi) < 1e-9), bool(np.allclose(np.linalg.norm(states, axis=1), 1, atol=1e-9))
    (True, True)
    """

    def __init__(self, n: int, segments: int = DEFAULT_SEGMENTS, *, rtol: float = FLOQUET_RTOL,
                 atol: float = FLOQUET_ATOL) -> None:
        self.n = check_count(n, "n")
        self.segments = check_count(segments, "segments")
        self.size = self.segments * self.n + 1
        self.rtol = check_real(rtol, "rtol", positive=True)
        self.atol = check_real(atol, "atol", positive=True)

    def __repr__(self) -> str:
        return f"MultipleShooting(n={self.n}, segments={self.segments})"

    def pack(self, states: Any, period: float) -> np.ndarray:
        """The unknowns z = (states flattened, T), for states (s, n) at the times i T / s.

        Examples
        --------
        >>> MultipleShooting(1, segments=2).pack([[1.0], [-1.0]], 3.0).tolist()
        [1.0, -1.0, 3.0]
        """
        return pack_states(states, period, (self.segments, self.n), "states")

    def unpack(self, z: Any) -> tuple[np.ndarray, float]:
        """The states (s, n) and the period T stored in ``z``.

        Examples
        --------
        >>> states, T = MultipleShooting(1, segments=2).unpack([1.0, -1.0, 3.0])
        >>> states.tolist(), T
        ([[1.0], [-1.0]], 3.0)
        """
        return unpack_states(z, (self.segments, self.n))

    def residual_and_jacobian(self, system: System, z: Any, reference: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The shooting equations at z, their (dense) Jacobian, and the segments' derivatives Φ_i.

        Parameters
        ----------
        system : System
        z : array_like of shape (size,)
        reference : array_like of shape (n,)
            The point r of the phase condition ⟨f(r), x_0 − r⟩ = 0.

        Returns
        -------
        residual : ndarray of shape (size,)
            (φ_{T/s}(x_i) − x_{i+1} for i = 0, ..., s − 1, flattened; ⟨f(r), x_0 − r⟩).
        jacobian : ndarray of shape (size, size)
        Phi : ndarray of shape (s, n, n)
            ∂φ_{T/s}/∂x at each x_i; their product Φ_{s−1} ⋯ Φ_0 is the
            monodromy matrix at x_0 on a solution.

        Examples
        --------
        x' = −y, y' = x: the unit circle with its period 2π solves the equations.

        >>> from dynsys import System
        >>> rotation = System.from_strings({"x": "-y", "y": "x"})
        >>> shooting = MultipleShooting(2, segments=2)
        >>> r, J, Phi = shooting.residual_and_jacobian(rotation, [1.0, 0.0, -1.0, 0.0, 2 * np.pi], [1.0, 0.0])
        >>> bool(np.abs(r).max() < 1e-9), J.shape, Phi.shape
        (True, (5, 5), (2, 2, 2))
        """
        check_flow(system, "MultipleShooting.residual_and_jacobian")
        states, T = self.unpack(z)
        ends, Phi, _ = variational_flow(system, states, T / self.segments, rtol=self.rtol, atol=self.atol)
        return self._equations(system, states, ends, Phi, np.asarray(reference, dtype=float)) + (Phi,)

    def _equations(self, system: System, states: np.ndarray, ends: np.ndarray, Phi: np.ndarray,
                   reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, n = self.segments, self.n
        f_ref = system.rhs(reference[None])[0]
        residual = np.concatenate([(ends - np.roll(states, -1, axis=0)).ravel(), [f_ref @ (states[0] - reference)]])
        J = np.zeros((self.size, self.size))
        blocks = J[: s * n, : s * n].reshape(s, n, s, n)  # a view: row segment, row component, column segment, column component
        i = np.arange(s)
        blocks[i, :, i, :] = Phi
        blocks[i, :, (i + 1) % s, :] -= np.eye(n)
        J[: s * n, -1] = system.rhs(ends).ravel() / s
        J[-1, :n] = f_ref
        return residual, J

    def solve(self, system: System, z: Any, reference: Any = None, *, tol: float = 1e-10,
              max_iter: int = 20) -> tuple[np.ndarray, list[float]]:
        """Newton's method on the shooting equations from ``z``: the solution and the residual history.

        A step that does not decrease the residual's 2-norm is halved (up to
        ten times); near the cycle every full step is taken and convergence
        is quadratic.

        Parameters
        ----------
        system : System
        z : array_like of shape (size,)
        reference : array_like of shape (n,), optional
            The phase condition's point r; default x_0 of ``z``.
        tol : float > 0
            On max |residual| (keep it above the integrator's accuracy,
            about ``rtol`` times the state's scale).
        max_iter : int

        Returns
        -------
        z : ndarray of shape (size,)
        history : list of float

        Raises
        ------
        ValueError
            A singular Jacobian, a non-positive period or no convergence.

        Examples
        --------
        >>> from dynsys import System
        >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
        >>> shooting = MultipleShooting(2, segments=1)
        >>> z, history = shooting.solve(hopf, shooting.pack([[0.9, 0.1]], 6.5))
        >>> bool(history[-1] <= 1e-10), bool(abs(shooting.unpack(z)[1] - 2 * np.pi) < 1e-9)
        (True, True)
        """
        check_flow(system, "MultipleShooting.solve")
        z = np.array(z, dtype=float)
        reference = self.unpack(z)[0][0].copy() if reference is None else np.asarray(reference, dtype=float)

        def step(z: np.ndarray, r: np.ndarray, J: np.ndarray) -> np.ndarray:
            try:
                return -np.linalg.solve(J, r)
            except np.linalg.LinAlgError:
                raise ValueError(f"the shooting Jacobian of {system.name} is singular at period {z[-1]:.6g}: "
                                 "a non-hyperbolic cycle, or a guess on a fixed point") from None

        return damped_newton(z, lambda z: self.residual_and_jacobian(system, z, reference)[:2], step,
                             lambda new, old: bool(np.linalg.norm(new) < np.linalg.norm(old)),
                             tol=tol, max_iter=max_iter, what=f"a cycle of {system.name} (shooting)")

    def orbit(self, system: System, z: Any, *, m: int = 200, residual: float = 0.0) -> PeriodicOrbit:
        """The cycle of ``z`` as a :class:`PeriodicOrbit`: m states on a uniform grid (the segments' dense
        output), the multipliers of the monodromy matrix Φ_{s−1} ⋯ Φ_0.

        Examples
        --------
        >>> from dynsys import System
        >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
        >>> shooting = MultipleShooting(2, segments=2)
        >>> orbit = shooting.orbit(hopf, [1.0, 0.0, -1.0, 0.0, 2 * np.pi], m=50)
        >>> orbit.x.shape, bool(abs(orbit.nontrivial[0] - np.exp(-4 * np.pi)) < 1e-9)
        ((50, 2), True)
        """
        check_flow(system, "MultipleShooting.orbit")
        m = check_count(m, "m", 2)
        states, T = self.unpack(z)
        s, n = self.segments, self.n
        _, Phi, dense = variational_flow(system, states, T / s, rtol=self.rtol, atol=self.atol, dense_output=True)
        t = np.arange(m) * (T / m)
        segment = np.minimum((t / (T / s)).astype(int), s - 1)
        local = t - segment * (T / s)
        Y = dense(local).reshape(s, n + n * n, m)  # every segment at every local time
        x = Y[segment, :n, np.arange(m)]
        mu, trivial = multipliers_of(compose(Phi), system.rhs(states[:1])[0])
        return PeriodicOrbit(system, T, x, mu, trivial=trivial, residual=residual, method="shooting")
