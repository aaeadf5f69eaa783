"""Orthogonal collocation of the periodic boundary-value problem: :class:`Collocation`.

A T-periodic solution of x' = f(x) is, in the rescaled time τ = t / T, a
solution u(τ) = x(τ T) of

    u'(τ) = T f(u(τ)),    u(0) = u(1),    ∫₀¹ ⟨u(τ), v'(τ)⟩ dτ = 0,

where the last (integral phase) condition fixes the phase against a
reference profile v (the previous solution, in continuation): among the
shifts u(τ + s) of a cycle it selects the one that minimises ∫|u − v|²
(Doedel's AUTO; Doedel, Keller & Kernévez 1991).

The discretisation (Ascher, Mattheij & Russell 1995, ch. 5; AUTO-07p):
[0, 1] is cut into ``ntst`` equal mesh intervals [τ_j, τ_{j+1}] of length
h = 1 / ntst; on each, u is the polynomial of degree ``ncol`` through the
values at the ``ncol + 1`` equally spaced nodes τ_j + k h / ncol,
k = 0, ..., ncol, the last node of one interval being the first of the
next (so u is continuous).  The profile is therefore the values at the
N = ntst · ncol + 1 equally spaced nodes τ_i = i / (N − 1) of [0, 1],
u(1) included.  The differential equation is imposed at the ``ncol``
Gauss–Legendre points of each interval; with these points the solution at
the mesh points is accurate to O(h^{2 ncol}) (superconvergence), the
profile between them to O(h^{ncol + 1}).

Unknowns z = (u_0, ..., u_{N−1} flattened row by row, T): N n + 1 of them.
Equations, in this order: the ntst · ncol · n collocation equations
u'(ζ) − T f(u(ζ)) = 0 (interval by interval, point by point), the n
periodicity equations u_0 − u_{N−1} = 0, and the phase condition (the
integral computed by the same Gauss rule, exact for piecewise polynomials
of degree 2 ncol − 1).  N n + 1 in all: the system is square, and its
Jacobian is sparse (blocks of n × (ncol + 1) n per collocation point, the
periodicity rows, one dense phase row and the T column).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from .._validate import check_count, check_real
from ..systems import System
from .floquet import check_flow, floquet_multipliers
from .result import PeriodicOrbit

DEFAULT_NTST = 40
DEFAULT_NCOL = 4
MAX_NCOL = 7


def lagrange_basis(nodes: np.ndarray, s: Any) -> tuple[np.ndarray, np.ndarray]:
    """The Lagrange polynomials through ``nodes`` and their derivatives, at the points ``s``.

    Parameters
    ----------
    nodes : ndarray of shape (k,)
        Distinct points.
    s : array_like of shape (p,)

    Returns
    -------
    values, derivatives : ndarrays of shape (p, k)
        ℓ_i(s_q) and ℓ_i'(s_q).

    Examples
    --------
    >>> values, slopes = lagrange_basis(np.array([0.0, 0.5, 1.0]), [0.0, 0.25])
    >>> values.tolist(), slopes[0].tolist()
    ([[1.0, 0.0, 0.0], [0.375, 0.75, -0.125]], [-3.0, 4.0, -1.0])
    """
    s = np.asarray(s, dtype=float).reshape(-1)
    k = len(nodes)
    coeffs = np.linalg.inv(np.vander(nodes, k, increasing=True))  # ℓ_i(s) = Σ_p coeffs[p, i] s^p
    powers = np.vander(s, k, increasing=True)
    dpowers = np.zeros_like(powers)
    dpowers[:, 1:] = powers[:, :-1] * np.arange(1, k)
    return powers @ coeffs, dpowers @ coeffs


class Collocation:
    """Orthogonal collocation of u' = T f(u), u(0) = u(1), with an integral phase condition.

    Parameters
    ----------
    n : int
        The dimension of the flow.
    ntst : int
        The number of mesh intervals (uniform mesh on [0, 1]).
    ncol : int
        The degree of the piecewise polynomials, and the number of
        Gauss–Legendre collocation points per interval (1 to 7).

    Attributes
    ----------
    n, ntst, ncol : int
    nodes : int
        N = ntst · ncol + 1, the profile's rows.
    size : int
        N n + 1, the number of unknowns (and of equations).
    times : ndarray of shape (N,)
        The nodes τ_i = i / (N − 1) in [0, 1] (rescaled time: t = τ T).

    Notes
    -----
    Every method takes a ``system`` already at its parameter values
    (``system.with_params(...)`` first).  A profile is an (N, n) array of the
    states at :attr:`times` times T; its last row is u(1), equal to its
    first on a solution.  ``reference`` is such a profile (the same shape).

    References
    ----------
    Ascher, Mattheij & Russell, *Numerical Solution of Boundary Value Problems
    for ODEs* (1995), ch. 5; Doedel, *Lecture notes on numerical analysis of
    nonlinear equations* (AUTO), and the AUTO-07p manual.

    Examples
    --------
    The Hopf normal form with μ = 1/4, ω = 2 has the cycle of radius 1/2 and
    period π.  From a poor guess (radius 0.4, period 3):

    >>> from dynsys import System
    >>> hopf = System.from_strings({"x": "mu*x - w*y - x*(x**2 + y**2)", "y": "w*x + mu*y - y*(x**2 + y**2)"},
    ...                            {"mu": 0.25, "w": 2.0})
    >>> col = Collocation(2, ntst=20, ncol=4)
    >>> tau = 2 * np.pi * col.times
    >>> z0 = col.pack(0.4 * np.column_stack([np.cos(tau), np.sin(tau)]), 3.0)
    >>> z, history = col.solve(hopf, z0)
    >>> profile, T = col.unpack(z)
    >>> bool(abs(T - np.pi) < 1e-9), bool(np.allclose(np.linalg.norm(profile, axis=1), 0.5, atol=1e-9))
    (True, True)
    """

    def __init__(self, n: int, ntst: int = DEFAULT_NTST, ncol: int = DEFAULT_NCOL) -> None:
        self.n = check_count(n, "n")
        self.ntst = check_count(ntst, "ntst")
        self.ncol = check_count(ncol, "ncol")
        if self.ncol > MAX_NCOL:
            raise ValueError(f"ncol must be between 1 and {MAX_NCOL}, got {ncol}")
        self.nodes = self.ntst * self.ncol + 1
        self.size = self.nodes * self.n + 1
        self.times = np.linspace(0.0, 1.0, self.nodes)
        h = 1.0 / self.ntst
        gauss, weights = np.polynomial.legendre.leggauss(self.ncol)
        local = np.linspace(0.0, 1.0, self.ncol + 1)
        values, slopes = lagrange_basis(local, (gauss + 1) / 2)
        self._L = values  # (ncol, ncol + 1): u(ζ_i) = Σ_k L[i, k] u_{j,k}
        self._D = slopes / h  # (ncol, ncol + 1): u'(ζ_i), with d/dτ = (1/h) d/ds
        self._w = weights / 2 * h  # Gauss weights on an interval of length h
        self._index = np.arange(self.ntst)[:, None] * self.ncol + np.arange(self.ncol + 1)  # (ntst, ncol + 1)
        self._pattern = self._sparsity()

    def __repr__(self) -> str:
        return f"Collocation(n={self.n}, ntst={self.ntst}, ncol={self.ncol})"

    # ------------------------------------------------------------ unknowns
    def pack(self, profile: Any, period: float) -> np.ndarray:
        """The unknowns z = (profile flattened, T).

        Parameters
        ----------
        profile : array_like of shape (N, n)
            The states at :attr:`times` · T.
        period : float > 0

        Examples
        --------
        >>> col = Collocation(2, ntst=2, ncol=1)
        >>> col.pack(np.zeros((3, 2)), 5.0).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]
        """
        profile = np.asarray(profile, dtype=float)
        if profile.shape != (self.nodes, self.n):
            raise ValueError(f"profile must have shape ({self.nodes}, {self.n}), got {profile.shape}")
        return np.append(profile.ravel(), check_real(period, "period", positive=True))

    def unpack(self, z: Any) -> tuple[np.ndarray, float]:
        """The profile (N, n) and the period T stored in ``z``.

        Examples
        --------
        >>> col = Collocation(1, ntst=1, ncol=2)
        >>> profile, T = col.unpack([1.0, 2.0, 3.0, 4.0])
        >>> profile.tolist(), T
        ([[1.0], [2.0], [3.0]], 4.0)
        """
        z = np.asarray(z, dtype=float)
        if z.shape != (self.size,):
            raise ValueError(f"z must have shape ({self.size},), got {z.shape}")
        return z[:-1].reshape(self.nodes, self.n), float(z[-1])

    def from_orbit(self, orbit: PeriodicOrbit) -> np.ndarray:
        """The unknowns of a :class:`PeriodicOrbit`, its states interpolated (periodically, trigonometrically) to the nodes.

        Examples
        --------
        >>> from dynsys import System
        >>> rotation = System.from_strings({"x": "-y", "y": "x"})
        >>> t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        >>> orbit = PeriodicOrbit(rotation, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t)]), [1, 1])
        >>> col = Collocation(2, ntst=5, ncol=3)
        >>> profile, T = col.unpack(col.from_orbit(orbit))
        >>> bool(np.allclose(profile[:, 0], np.cos(2 * np.pi * col.times))), T == 2 * np.pi
        (True, True)
        """
        if orbit.system.dim != self.n:
            raise ValueError(f"orbit is a cycle in dimension {orbit.system.dim}, this collocation has n = {self.n}")
        return self.pack(periodic_resample(orbit.x, self.times), orbit.period)

    # ---------------------------------------------------------- equations
    def _blocks(self, profile: np.ndarray) -> np.ndarray:
        return profile[self._index]  # (ntst, ncol + 1, n)

    def _points(self, profile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        U = self._blocks(profile)
        X = np.einsum("ik,jkn->jin", self._L, U)  # u at the collocation points (ntst, ncol, n)
        dX = np.einsum("ik,jkn->jin", self._D, U)
        return X, dX

    def _phase_row(self, reference: Any) -> np.ndarray:
        v = np.asarray(reference, dtype=float)
        if v.shape != (self.nodes, self.n):
            raise ValueError(f"reference must be a profile of shape ({self.nodes}, {self.n}), got {v.shape}")
        dV = np.einsum("ik,jkn->jin", self._D, self._blocks(v))  # v' at the collocation points
        coef = np.einsum("i,ik,jin->jkn", self._w, self._L, dV)  # ∂/∂u_{j,k} of Σ_j Σ_i w_i ⟨u(ζ_ji), v'(ζ_ji)⟩
        row = np.zeros((self.nodes, self.n))
        np.add.at(row, self._index, coef)
        return row.ravel()

    def residual(self, system: System, z: Any, reference: Any) -> np.ndarray:
        """The collocation equations, periodicity and the phase condition at ``z``: shape (size,).

        Parameters
        ----------
        system : System
            The flow, at its parameter values.
        z : array_like of shape (size,)
        reference : array_like of shape (N, n)
            The profile v of the phase condition ∫⟨u, v'⟩ dτ = 0.

        Returns
        -------
        ndarray of shape (size,)
            (u'(ζ) − T f(u(ζ)) for every collocation point ζ (ntst · ncol · n
            values, interval by interval), u(0) − u(1) (n), ∫⟨u, v'⟩ dτ (1)).

        Examples
        --------
        The circle of radius 1 and period 2π of x' = −y, y' = x solves the
        equations up to the discretisation error:

        >>> from dynsys import System
        >>> rotation = System.from_strings({"x": "-y", "y": "x"})
        >>> col = Collocation(2, ntst=10, ncol=4)
        >>> tau = 2 * np.pi * col.times
        >>> circle = np.column_stack([np.cos(tau), np.sin(tau)])
        >>> bool(np.abs(col.residual(rotation, col.pack(circle, 2 * np.pi), circle)).max() < 1e-3)
        True
        """
        check_flow(system, "Collocation.residual")
        profile, T = self.unpack(z)
        X, dX = self._points(profile)
        F = system.rhs(X.reshape(-1, self.n))
        return np.concatenate([
            dX.ravel() - T * F.ravel(),
            profile[0] - profile[-1],
            [self._phase_row(reference) @ profile.ravel()],
        ])

    def _sparsity(self) -> tuple[np.ndarray, np.ndarray]:
        """The (row, column) indices of the Jacobian's entries, in the order :meth:`jacobian` fills them."""
        n, ntst, ncol, N = self.n, self.ntst, self.ncol, self.nodes
        a = np.arange(n)
        # collocation blocks: row (j, i, a), column (node index[j, k], b)
        rows = ((np.arange(ntst)[:, None, None, None, None] * ncol + np.arange(ncol)[None, :, None, None, None]) * n
                + a[None, None, :, None, None])
        cols = self._index[:, None, None, :, None] * n + a[None, None, None, None, :]
        shape = (ntst, ncol, n, ncol + 1, n)
        block_rows, block_cols = np.broadcast_to(rows, shape).ravel(), np.broadcast_to(cols, shape).ravel()
        m = ntst * ncol * n
        t_rows, t_cols = np.arange(m), np.full(m, N * n)  # ∂/∂T
        p_rows = np.concatenate([m + a, m + a])  # periodicity: u_0 − u_{N−1}
        p_cols = np.concatenate([a, (N - 1) * n + a])
        ph_rows, ph_cols = np.full(N * n, m + n), np.arange(N * n)  # the phase row
        return (np.concatenate([block_rows, t_rows, p_rows, ph_rows]),
                np.concatenate([block_cols, t_cols, p_cols, ph_cols]))

    def jacobian(self, system: System, z: Any, reference: Any) -> sparse.csc_matrix:
        """The Jacobian of :meth:`residual` with respect to z, sparse: shape (size, size).

        The collocation block of the point ζ_{j,i} and the node u_{j,k} is
        D_{ik} I − T L_{ik} Df(u(ζ_{j,i})) (L, D the Lagrange basis and its
        τ-derivative at the Gauss points); the T column is −f(u(ζ)).

        Examples
        --------
        Agreement with central differences of the residual:

        >>> from dynsys import System
        >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
        >>> col = Collocation(2, ntst=3, ncol=2)
        >>> rng = np.random.default_rng(0)
        >>> z, v = rng.normal(size=col.size), rng.normal(size=(col.nodes, 2))
        >>> J = col.jacobian(hopf, z, v).toarray()
        >>> e = 1e-6 * np.eye(col.size)
        >>> fd = np.array([col.residual(hopf, z + d, v) - col.residual(hopf, z - d, v) for d in e]).T / 2e-6
        >>> bool(np.abs(J - fd).max() < 1e-6)
        True
        """
        check_flow(system, "Collocation.jacobian")
        profile, T = self.unpack(z)
        X, _ = self._points(profile)
        flat = X.reshape(-1, self.n)
        A = system.jacobian(flat).reshape(self.ntst, self.ncol, self.n, self.n)
        eye = np.eye(self.n)
        blocks = (self._D[None, :, None, :, None] * eye[None, None, :, None, :]
                  - T * self._L[None, :, None, :, None] * A[:, :, :, None, :])  # (ntst, ncol, n, ncol + 1, n)
        values = np.concatenate([
            blocks.ravel(),
            -system.rhs(flat).ravel(),
            np.ones(self.n), -np.ones(self.n),
            self._phase_row(reference),
        ])
        rows, cols = self._pattern
        return sparse.coo_matrix((values, (rows, cols)), shape=(self.size, self.size)).tocsc()

    def param_derivative(self, system: System, z: Any, name: str) -> np.ndarray:
        """∂residual/∂p for the parameter ``name``: shape (size,).

        −T ∂f/∂p(u(ζ)) in the collocation rows (from
        ``system.param_derivative``), 0 in the periodicity and phase rows.

        Examples
        --------
        >>> from dynsys import System
        >>> s = System.from_strings({"x": "a*x - y", "y": "x + a*y"}, {"a": 0.0})
        >>> col = Collocation(2, ntst=2, ncol=1)
        >>> z = col.pack(np.ones((3, 2)), 2.0)
        >>> col.param_derivative(s, z, "a").tolist()  # −T (x, y) at the two collocation points, then zeros
        [-2.0, -2.0, -2.0, -2.0, 0.0, 0.0, 0.0]
        """
        check_flow(system, "Collocation.param_derivative")
        profile, T = self.unpack(z)
        X, _ = self._points(profile)
        dfdp = system.param_derivative(X.reshape(-1, self.n), name)
        return np.concatenate([-T * dfdp.ravel(), np.zeros(self.n + 1)])

    # ------------------------------------------------------------- Newton
    def solve(self, system: System, z: Any, reference: Any = None, *, tol: float = 1e-10,
              max_iter: int = 20) -> tuple[np.ndarray, list[float]]:
        """Newton's method on :meth:`residual` from ``z``: the solution and the residual history.

        Each step solves J Δz = −r with a sparse LU factorisation
        (``scipy.sparse.linalg.splu``); it stops when max |r| <= ``tol``.
        Convergence is quadratic near a hyperbolic cycle.

        Parameters
        ----------
        system : System
        z : array_like of shape (size,)
            The initial guess.
        reference : array_like of shape (N, n), optional
            The phase condition's reference; default the profile of ``z``.
        tol : float > 0
        max_iter : int

        Returns
        -------
        z : ndarray of shape (size,)
        history : list of float
            max |r| before each step and at the end.

        Raises
        ------
        ValueError
            The Jacobian is singular (a non-hyperbolic cycle, or a guess that
            collapsed onto a fixed point), the period turns non-positive, or
            no convergence in ``max_iter`` steps; the message says which.

        Examples
        --------
        >>> from dynsys import System
        >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
        >>> col = Collocation(2, ntst=10, ncol=4)
        >>> tau = 2 * np.pi * col.times
        >>> z, history = col.solve(hopf, col.pack(np.column_stack([np.cos(tau), 1.2 * np.sin(tau)]), 6.0))
        >>> bool(history[-1] <= 1e-10), bool(abs(col.unpack(z)[1] - 2 * np.pi) < 1e-8)
        (True, True)
        """
        check_flow(system, "Collocation.solve")
        tol = check_real(tol, "tol", positive=True)
        max_iter = check_count(max_iter, "max_iter")
        z = np.array(z, dtype=float)
        self.unpack(z)
        reference = self.unpack(z)[0].copy() if reference is None else np.asarray(reference, dtype=float)
        r = self.residual(system, z, reference)
        history = [float(np.abs(r).max())]
        for _ in range(max_iter):
            if not np.isfinite(history[-1]):
                break
            if history[-1] <= tol:
                return z, history
            try:
                step = splu(self.jacobian(system, z, reference)).solve(-r)
            except RuntimeError as exc:
                raise ValueError(f"the collocation Jacobian of {system.name} is singular at period "
                                 f"{z[-1]:.6g} ({exc}): a non-hyperbolic cycle, or a guess on a fixed point") from None
            z = z + step
            if z[-1] <= 0:
                raise ValueError(f"Newton's method for a cycle of {system.name} drove the period to {z[-1]:.6g} "
                                 "<= 0: the guess is too far from a cycle")
            r = self.residual(system, z, reference)
            history.append(float(np.abs(r).max()))
        if history[-1] <= tol:
            return z, history
        raise ValueError(f"Newton's method for a cycle of {system.name} did not converge to tol = {tol:g} in "
                         f"{max_iter} steps (residuals {', '.join(f'{h:.2e}' for h in history[-4:])}); try a "
                         "better guess, more mesh intervals (ntst) or a larger tol")

    # --------------------------------------------------------------- output
    def states(self, z: Any, m: int) -> np.ndarray:
        """The collocation polynomials of ``z`` at the m uniform times τ = k / m, k = 0, ..., m − 1: shape (m, n).

        Examples
        --------
        >>> col = Collocation(1, ntst=2, ncol=2)
        >>> z = col.pack((col.times ** 2)[:, None], 1.0)  # u(τ) = τ², a polynomial of degree 2: exact
        >>> col.states(z, 4).ravel().tolist()
        [0.0, 0.0625, 0.25, 0.5625]
        """
        profile, _ = self.unpack(z)
        m = check_count(m, "m", 2)
        tau = np.arange(m) / m
        j = np.minimum((tau * self.ntst).astype(int), self.ntst - 1)
        s = tau * self.ntst - j
        values, _ = lagrange_basis(np.linspace(0.0, 1.0, self.ncol + 1), s)  # (m, ncol + 1)
        return np.einsum("mk,mkn->mn", values, self._blocks(profile)[j])

    def orbit(self, system: System, z: Any, *, m: int | None = None, residual: float = 0.0) -> PeriodicOrbit:
        """The cycle of ``z`` as a :class:`PeriodicOrbit`: m states on a uniform grid, multipliers by
        :func:`~dynsys.periodic_orbits.floquet.floquet_multipliers`.

        Parameters
        ----------
        system : System
            The flow at the cycle's parameter values.
        z : array_like of shape (size,)
        m : int >= 2, optional
            The number of states; default N − 1 (the nodes without u(1)).
        residual : float
            Stored as :attr:`PeriodicOrbit.residual`.

        Examples
        --------
        >>> from dynsys import System
        >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
        >>> col = Collocation(2, ntst=10, ncol=4)
        >>> tau = 2 * np.pi * col.times
        >>> orbit = col.orbit(hopf, col.pack(np.column_stack([np.cos(tau), np.sin(tau)]), 2 * np.pi))
        >>> orbit.label, orbit.x.shape, bool(abs(orbit.nontrivial[0] - np.exp(-4 * np.pi)) < 1e-8)
        ('stable cycle', (40, 2), True)
        """
        check_flow(system, "Collocation.orbit")
        m = self.nodes - 1 if m is None else check_count(m, "m", 2)
        x = self.states(z, m)
        T = self.unpack(z)[1]
        mu, trivial = floquet_multipliers(system, x[0], T)
        return PeriodicOrbit(system, T, x, mu, trivial=trivial, residual=residual, method="collocation")


def periodic_resample(x: Any, times: Any) -> np.ndarray:
    """States x_k = x(k/m), k = 0, ..., m − 1, of a 1-periodic function, resampled at ``times`` by trigonometric interpolation.

    Parameters
    ----------
    x : array_like of shape (m, n)
        The samples over one period (x(1) = x(0) not repeated).
    times : array_like of shape (p,)
        Times in units of the period.

    Returns
    -------
    ndarray of shape (p, n)

    Examples
    --------
    >>> t = np.arange(8) / 8
    >>> x = np.column_stack([np.cos(2 * np.pi * t), np.sin(4 * np.pi * t)])
    >>> bool(np.allclose(periodic_resample(x, [0.3, 1.0]), [[np.cos(0.6 * np.pi), np.sin(1.2 * np.pi)], [1, 0]]))
    True
    """
    x = np.asarray(x, dtype=float)
    times = np.asarray(times, dtype=float).reshape(-1)
    m = len(x)
    coef = np.fft.rfft(x, axis=0) / m  # (m // 2 + 1, n)
    k = np.arange(len(coef))
    weight = np.where((k == 0) | ((m % 2 == 0) & (k == m // 2)), 1.0, 2.0)  # Nyquist term counted once, real part
    phase = np.exp(2j * np.pi * np.outer(times, k))  # (p, K)
    return ((phase * weight) @ coef).real
