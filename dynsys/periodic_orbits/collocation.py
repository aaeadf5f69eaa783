"""Orthogonal collocation of the periodic boundary-value problem: :class:`Collocation`.

A T-periodic solution of x' = f(x) is, in the rescaled time τ = t / T, a
solution u(τ) = x(τ T) of

    u'(τ) = T f(u(τ)),    u(0) = u(1),    ∫₀¹ ⟨u(τ), v'(τ)⟩ dτ = 0,

where the last (integral phase) condition fixes the phase against a
reference profile v (the previous solution, in continuation): among the
shifts u(τ + s) of a cycle it selects the one that minimises ∫|u − v|²
(Doedel's AUTO; Doedel, Keller & Kernévez 1991).

The discretisation (Ascher, Mattheij & Russell 1995, ch. 5; AUTO-07p):
[0, 1] is cut into ``ntst`` mesh intervals [τ_j, τ_{j+1}] of lengths h_j
(equal by default); on each, u is the polynomial of degree ``ncol``
through the values at the ``ncol + 1`` equally spaced nodes
τ_j + k h_j / ncol, k = 0, ..., ncol, the last node of one interval being
the first of the next (so u is continuous).  The profile is therefore the
values at N = ntst · ncol + 1 nodes of [0, 1] (equally spaced on the
uniform mesh), u(1) included.  The differential equation is imposed at the
``ncol`` Gauss–Legendre points of each interval; with these points the
solution at the mesh points is accurate to O(h^{2 ncol})
(superconvergence), the profile between them to O(h^{ncol + 1}).

Mesh adaptation (:meth:`Collocation.adapt`, as in AUTO after Russell &
Christiansen 1978) equidistributes the estimate |u^{(ncol+1)}|^{1/(ncol+1)}
of the local error, so relaxation oscillations get short intervals on
their fast jumps.

Unknowns z = (u_0, ..., u_{N−1} flattened row by row, T): N n + 1 of them.
Equations, in this order: the ntst · ncol · n collocation equations
h_j (u'(ζ) − T f(u(ζ))) = 0 (interval by interval, point by point; the
factor h_j gives them the units of the state, like the others), the n
periodicity equations u_0 − u_{N−1} = 0, and the phase condition (the
integral computed by the same Gauss rule, exact for piecewise polynomials
of degree 2 ncol − 1).  N n + 1 in all: the system is square, and its
Jacobian is sparse (blocks of n × (ncol + 1) n per collocation point, the
periodicity rows, one dense phase row and the T column).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import sparse
from scipy.interpolate import CubicSpline
from scipy.sparse.linalg import splu

from .._validate import check_count
from ..systems import System
from .floquet import check_flow, compose, multipliers_of
from .newton import damped_newton, pack_states, unpack_states
from .result import PeriodicOrbit

DEFAULT_NTST = 60
DEFAULT_NCOL = 4
MAX_NCOL = 7
ORDERING = "MMD_AT_PLUS_A"  # SuperLU's column ordering: 5x less fill than COLAMD on these bordered block bands
GROWTH = 4.0  # a Newton step may raise the residual's 2-norm by this factor (far from the cycle it often does)


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
    ntst : int, optional
        The number of mesh intervals (default 60, or ``len(mesh) − 1``).
    ncol : int
        The degree of the piecewise polynomials, and the number of
        Gauss–Legendre collocation points per interval (1 to 7).
    mesh : array_like of shape (ntst + 1,), optional
        Increasing mesh points from 0 to 1; default uniform.

    Attributes
    ----------
    n, ntst, ncol : int
    mesh : ndarray of shape (ntst + 1,)
        The mesh points 0 = τ_0 < τ_1 < ... < τ_ntst = 1.
    nodes : int
        N = ntst · ncol + 1, the profile's rows.
    size : int
        N n + 1, the number of unknowns (and of equations).
    times : ndarray of shape (N,)
        The nodes τ_i in [0, 1] (rescaled time: t = τ T); i / (N − 1) on
        the uniform mesh.

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

    def __init__(self, n: int, ntst: int | None = None, ncol: int = DEFAULT_NCOL, *, mesh: Any = None) -> None:
        self.n = check_count(n, "n")
        self.ncol = check_count(ncol, "ncol")
        if self.ncol > MAX_NCOL:
            raise ValueError(f"ncol must be between 1 and {MAX_NCOL}, got {ncol}")
        if mesh is None:
            self.ntst = DEFAULT_NTST if ntst is None else check_count(ntst, "ntst")
            self.mesh = np.linspace(0.0, 1.0, self.ntst + 1)
        else:
            self.mesh = np.array(mesh, dtype=float)
            if (self.mesh.ndim != 1 or len(self.mesh) < 2 or self.mesh[0] != 0 or self.mesh[-1] != 1
                    or not np.all(np.diff(self.mesh) > 0)):
                raise ValueError(f"mesh must increase strictly from 0 to 1, got {np.asarray(mesh).tolist()!r}")
            self.ntst = len(self.mesh) - 1
            if ntst is not None and check_count(ntst, "ntst") != self.ntst:
                raise ValueError(f"ntst = {ntst} does not match the mesh of {self.ntst} intervals")
        self.nodes = self.ntst * self.ncol + 1
        self.size = self.nodes * self.n + 1
        self._h = np.diff(self.mesh)
        self._local = np.linspace(0.0, 1.0, self.ncol + 1)  # nodes of an interval, in its local coordinate s
        self.times = np.append((self.mesh[:-1, None] + self._h[:, None] * self._local[:-1]).ravel(), 1.0)
        gauss, weights = np.polynomial.legendre.leggauss(self.ncol)
        values, slopes = lagrange_basis(self._local, (gauss + 1) / 2)
        self._L = values  # (ncol, ncol + 1): u(ζ_i) = Σ_k L[i, k] u_{j,k}
        self._S = slopes  # (ncol, ncol + 1): du/ds(ζ_i); du/dτ = (1/h_j) du/ds
        self._w = weights / 2  # Gauss weights on [0, 1]
        self._index = np.arange(self.ntst)[:, None] * self.ncol + np.arange(self.ncol + 1)  # (ntst, ncol + 1)
        self._pattern = self._sparsity()

    def __repr__(self) -> str:
        uniform = "" if np.allclose(self._h, 1 / self.ntst, rtol=1e-12, atol=0) else ", adapted mesh"
        return f"Collocation(n={self.n}, ntst={self.ntst}, ncol={self.ncol}{uniform})"

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
        return pack_states(profile, period, (self.nodes, self.n), "profile")

    def unpack(self, z: Any) -> tuple[np.ndarray, float]:
        """The profile (N, n) and the period T stored in ``z``.

        Examples
        --------
        >>> col = Collocation(1, ntst=1, ncol=2)
        >>> profile, T = col.unpack([1.0, 2.0, 3.0, 4.0])
        >>> profile.tolist(), T
        ([[1.0], [2.0], [3.0]], 4.0)
        """
        return unpack_states(z, (self.nodes, self.n))

    def from_orbit(self, orbit: PeriodicOrbit) -> np.ndarray:
        """The unknowns of a :class:`PeriodicOrbit`, its states interpolated (periodic cubic spline) to the nodes.

        Examples
        --------
        >>> from dynsys import System
        >>> rotation = System.from_strings({"x": "-y", "y": "x"})
        >>> t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        >>> orbit = PeriodicOrbit(rotation, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t)]), [1, 1])
        >>> col = Collocation(2, ntst=5, ncol=3)
        >>> profile, T = col.unpack(col.from_orbit(orbit))
        >>> bool(np.allclose(profile[:, 0], np.cos(2 * np.pi * col.times), atol=1e-5)), T == 2 * np.pi
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
        dX = np.einsum("ik,jkn->jin", self._S, U) / self._h[:, None, None]
        return X, dX

    def _phase_row(self, reference: Any) -> np.ndarray:
        v = np.asarray(reference, dtype=float)
        if v.shape != (self.nodes, self.n):
            raise ValueError(f"reference must be a profile of shape ({self.nodes}, {self.n}), got {v.shape}")
        dV = np.einsum("ik,jkn->jin", self._S, self._blocks(v))  # h_j v' at the collocation points
        coef = np.einsum("i,ik,jin->jkn", self._w, self._L, dV)  # ∂/∂u_{j,k} of Σ_j h_j Σ_i w_i ⟨u(ζ_ji), v'(ζ_ji)⟩
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
            (h_j (u'(ζ) − T f(u(ζ))) for every collocation point ζ (ntst · ncol · n
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
        >>> bool(np.abs(col.residual(rotation, col.pack(circle, 2 * np.pi), circle)).max() < 1e-4)
        True
        """
        check_flow(system, "Collocation.residual")
        profile, T = self.unpack(z)
        X, dX = self._points(profile)
        F = system.rhs(X.reshape(-1, self.n)).reshape(X.shape)
        return np.concatenate([
            ((dX - T * F) * self._h[:, None, None]).ravel(),
            profile[0] - profile[-1],
            [self._phase_row(reference) @ profile.ravel()],
        ])

    def _sparsity(self) -> tuple[np.ndarray, np.ndarray]:
        """The Jacobian's CSR structure (column indices, row pointers) for the values in :meth:`jacobian`'s order.

        Row by row: each collocation row (j, i, a) holds the (ncol + 1) n
        entries of its block (columns of the nodes u_{j,0..ncol}, increasing)
        and then its T entry (the last column); the n periodicity rows hold
        two entries each (u_0 and u_{N−1}); the phase row holds one per
        profile value.
        """
        n, ntst, ncol, N = self.n, self.ntst, self.ncol, self.nodes
        a = np.arange(n)
        block = self._index[:, None, None, :, None] * n + a  # (ntst, 1, 1, ncol + 1, n): the columns of a row
        width = (ncol + 1) * n + 1
        colloc = np.concatenate([np.broadcast_to(block, (ntst, ncol, n, ncol + 1, n)).reshape(-1, width - 1),
                                 np.full((ntst * ncol * n, 1), N * n)], axis=1)
        indices = np.concatenate([colloc.ravel(), np.column_stack([a, (N - 1) * n + a]).ravel(), np.arange(N * n)])
        lengths = np.concatenate([np.full(ntst * ncol * n, width), np.full(n, 2), [N * n]])
        return indices, np.concatenate([[0], np.cumsum(lengths)])

    def jacobian(self, system: System, z: Any, reference: Any) -> sparse.csc_matrix:
        """The Jacobian of :meth:`residual` with respect to z, sparse: shape (size, size).

        The collocation block of the point ζ_{j,i} and the node u_{j,k} is
        ℓ_k'(s_i) I − h_j T ℓ_k(s_i) Df(u(ζ_{j,i})) (ℓ the Lagrange basis of
        the interval, s_i the Gauss points in its local coordinate); the T
        column is −h_j f(u(ζ)).

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
        return self._jacobian_csr(system, z, reference).tocsc()

    def _blocks_of(self, system: System, z: Any) -> np.ndarray:
        """The collocation blocks ℓ_k'(s_i) I − h_j T ℓ_k(s_i) Df(u(ζ_{j,i})): shape (ntst, ncol, n, ncol + 1, n)."""
        profile, T = self.unpack(z)
        X, _ = self._points(profile)
        A = system.jacobian(X.reshape(-1, self.n)).reshape(self.ntst, self.ncol, self.n, self.n)
        hA = A * self._h[:, None, None, None]
        blocks = (-T * self._L)[None, :, None, :, None] * hA[:, :, :, None, :]
        diagonal = np.arange(self.n)
        blocks[:, :, diagonal, :, diagonal] += self._S[None]  # + ℓ_k'(s_i) I, on the diagonal only
        return blocks

    def _jacobian_csr(self, system: System, z: Any, reference: Any) -> sparse.csr_matrix:
        check_flow(system, "Collocation.jacobian")
        X, _ = self._points(self.unpack(z)[0])
        flat = X.reshape(-1, self.n)
        blocks = self._blocks_of(system, z)
        dT = -(system.rhs(flat).reshape(X.shape) * self._h[:, None, None])
        values = np.concatenate([
            np.concatenate([blocks.reshape(dT.size, -1), dT.reshape(-1, 1)], axis=1).ravel(),
            np.tile([1.0, -1.0], self.n),
            self._phase_row(reference),
        ])
        indices, indptr = self._pattern
        return sparse.csr_matrix((values, indices, indptr), shape=(self.size, self.size))

    def param_derivative(self, system: System, z: Any, name: str) -> np.ndarray:
        """∂residual/∂p for the parameter ``name``: shape (size,).

        −h_j T ∂f/∂p(u(ζ)) in the collocation rows (from
        ``system.param_derivative``), 0 in the periodicity and phase rows.

        Examples
        --------
        >>> from dynsys import System
        >>> s = System.from_strings({"x": "a*x - y", "y": "x + a*y"}, {"a": 0.0})
        >>> col = Collocation(2, ntst=2, ncol=1)
        >>> z = col.pack(np.ones((3, 2)), 2.0)
        >>> col.param_derivative(s, z, "a").tolist()  # −h T (x, y), h = 1/2, at the two collocation points, then zeros
        [-1.0, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0]
        """
        check_flow(system, "Collocation.param_derivative")
        profile, T = self.unpack(z)
        X, _ = self._points(profile)
        dfdp = system.param_derivative(X.reshape(-1, self.n), name)
        return np.concatenate([(-T * dfdp.reshape(X.shape) * self._h[:, None, None]).ravel(), np.zeros(self.n + 1)])

    # ------------------------------------------------------------- Newton
    def solve(self, system: System, z: Any, reference: Any = None, *, tol: float = 1e-10,
              max_iter: int = 20) -> tuple[np.ndarray, list[float]]:
        """Newton's method on :meth:`residual` from ``z``: the solution and the residual history.

        Each step solves J Δz = −r with a sparse LU factorisation
        (``scipy.sparse.linalg.splu``, minimum-degree ordering on Jᵀ + J);
        it stops when max |r| <= ``tol``.
        A step that would make T <= 0 or multiply the residual's 2-norm by
        more than 4 is halved (up to ten times).  Convergence is quadratic
        near a hyperbolic cycle.

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
        z = np.array(z, dtype=float)
        reference = self.unpack(z)[0].copy() if reference is None else np.asarray(reference, dtype=float)

        def step(z: np.ndarray, r: np.ndarray, _: None) -> np.ndarray:
            try:
                return splu(self.jacobian(system, z, reference), permc_spec=ORDERING).solve(-r)
            except RuntimeError as exc:
                raise ValueError(f"the collocation Jacobian of {system.name} is singular at period {z[-1]:.6g} "
                                 f"({exc}): a non-hyperbolic cycle, or a guess on a fixed point") from None

        return damped_newton(z, lambda z: (self.residual(system, z, reference), None), step,
                             lambda new, old: bool(np.linalg.norm(new) < GROWTH * np.linalg.norm(old)),
                             tol=tol, max_iter=max_iter, what=f"a cycle of {system.name} (collocation)")

    def monodromy(self, system: System, z: Any) -> np.ndarray:
        """The monodromy matrix of the discretised cycle, from the collocation blocks: shape (n, n).

        On interval j the linearised collocation equations (T fixed),
        Σ_k [ℓ_k'(s_i) I − h_j T ℓ_k(s_i) Df(u(ζ_{j,i}))] δu_{j,k} = 0,
        determine δu_{j,1..ncol} from δu_{j,0}: the transfer matrix
        P_j (δu_{j,ncol} = P_j δu_{j,0}) is the last block row of
        −[B_{j,1..ncol}]⁻¹ B_{j,0}, one batched solve over all intervals;
        M = P_{ntst−1} ⋯ P_0.  This is the Gauss–Legendre Runge–Kutta
        method of order 2 ncol applied to Φ' = T Df(u(τ)) Φ on the mesh, as
        accurate as the variational integration of
        :func:`~dynsys.periodic_orbits.floquet.monodromy` on a converged
        cycle (the tests compare both with closed forms) and much cheaper.

        Examples
        --------
        The unit circle of r' = r(1 − r²), θ' = 1: multipliers 1 and e^{−4π}.

        >>> from dynsys import System
        >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
        >>> col = Collocation(2, ntst=20)
        >>> circle = np.column_stack([np.cos(2 * np.pi * col.times), np.sin(2 * np.pi * col.times)])
        >>> z, _ = col.solve(hopf, col.pack(circle, 2 * np.pi))
        >>> mu = np.linalg.eigvals(col.monodromy(hopf, z))
        >>> bool(np.allclose(np.sort(mu.real), [np.exp(-4 * np.pi), 1.0], rtol=1e-8, atol=1e-12))
        True
        """
        check_flow(system, "Collocation.monodromy")
        blocks = self._blocks_of(system, z)  # (ntst, ncol, n, ncol + 1, n)
        n, width = self.n, self.ncol * self.n
        B = blocks.reshape(self.ntst, width, self.ncol + 1, n)
        P = -np.linalg.solve(B[:, :, 1:, :].reshape(self.ntst, width, width), B[:, :, 0, :])[:, -n:, :]
        return compose(P)

    # --------------------------------------------------------------- output
    def evaluate(self, z: Any, tau: Any) -> np.ndarray:
        """The collocation polynomials of ``z`` at the rescaled times ``tau`` in [0, 1]: shape (len(tau), n).

        Examples
        --------
        >>> col = Collocation(1, ntst=2, ncol=2)
        >>> z = col.pack((col.times ** 2)[:, None], 1.0)  # u(τ) = τ², a polynomial of degree 2: exact
        >>> col.evaluate(z, [0.0, 0.25, 0.75, 1.0]).ravel().tolist()
        [0.0, 0.0625, 0.5625, 1.0]
        """
        profile, _ = self.unpack(z)
        tau = np.asarray(tau, dtype=float).reshape(-1)
        if not np.all((tau >= 0) & (tau <= 1)):
            raise ValueError("tau must lie in [0, 1]")
        j = np.clip(np.searchsorted(self.mesh, tau, side="right") - 1, 0, self.ntst - 1)
        values, _ = lagrange_basis(self._local, (tau - self.mesh[j]) / self._h[j])  # (len(tau), ncol + 1)
        return np.einsum("mk,mkn->mn", values, self._blocks(profile)[j])

    def error_density(self, z: Any) -> np.ndarray:
        """The local error indicator ρ_j = |u^{(ncol+1)}|^{1/(ncol+1)} on each mesh interval: shape (ntst,).

        u^{(ncol)} is constant on an interval (c_j); u^{(ncol+1)} is
        estimated from the jumps of c_j to the neighbouring intervals
        (periodically), divided by the distance of their midpoints (Russell
        & Christiansen 1978; AUTO).  The collocation error on an interval
        is about (h_j ρ_j)^{ncol+1}.

        Examples
        --------
        On u = (cos 2πτ, sin 2πτ) it is the same on every interval of the uniform mesh:

        >>> col = Collocation(2, ntst=8, ncol=3)
        >>> tau = 2 * np.pi * col.times
        >>> rho = col.error_density(col.pack(np.column_stack([np.cos(tau), np.sin(tau)]), 1.0))
        >>> bool(np.allclose(rho, rho[0], rtol=1e-6)), bool(abs(rho[0] - 2 * np.pi) < 0.5)
        (True, True)
        """
        profile, _ = self.unpack(z)
        k = self.ncol
        top = math.factorial(k) * np.linalg.inv(np.vander(self._local, k + 1, increasing=True))[k]  # ℓ_i^{(k)}
        c = np.einsum("k,jkn->jn", top, self._blocks(profile)) / self._h[:, None] ** k  # u^{(k)} per interval
        gap = np.linalg.norm(np.roll(c, -1, axis=0) - c, axis=1) / ((self._h + np.roll(self._h, -1)) / 2)
        return ((gap + np.roll(gap, 1)) / 2) ** (1.0 / (k + 1))

    def adapt(self, z: Any, ntst: int | None = None) -> tuple[Collocation, np.ndarray]:
        """A collocation on a new mesh that equidistributes :meth:`error_density`, and ``z`` moved onto it.

        Parameters
        ----------
        z : array_like of shape (size,)
            A solution on this mesh.
        ntst : int, optional
            The new number of intervals (default: the same).

        Returns
        -------
        collocation : Collocation
        z : ndarray of shape (collocation.size,)
            The polynomials of ``z`` evaluated at the new nodes.

        Examples
        --------
        A profile that jumps near τ = 1/2 draws the mesh there:

        >>> col = Collocation(1, ntst=20, ncol=3)
        >>> z = col.pack(np.tanh(50 * np.sin(2 * np.pi * col.times))[:, None], 1.0)
        >>> new, z_new = col.adapt(z)
        >>> bool(np.diff(new.mesh).min() < 0.5 / 20), new.size == col.size
        (True, True)
        """
        _, T = self.unpack(z)
        new = Collocation(self.n, ncol=self.ncol, mesh=equidistribute(self.mesh, self.error_density(z),
                                                                      self.ntst if ntst is None else ntst))
        return new, new.pack(self.evaluate(z, new.times), T)

    def orbit(self, system: System, z: Any, *, m: int | None = None, residual: float = 0.0) -> PeriodicOrbit:
        """The cycle of ``z`` as a :class:`PeriodicOrbit`: m states on a uniform grid (the collocation
        polynomials), the multipliers of :meth:`monodromy` (sorted, the trivial one identified by
        :func:`~dynsys.periodic_orbits.floquet.multipliers_of`).

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
        The unit circle of r' = r(1 − r²)/2, θ' = 2 (period π, multiplier e^{−π}):

        >>> from dynsys import System
        >>> s = System.from_strings({"x": "x*(1 - x**2 - y**2)/2 - 2*y", "y": "y*(1 - x**2 - y**2)/2 + 2*x"})
        >>> col = Collocation(2, ntst=10, ncol=4)
        >>> circle = np.column_stack([np.cos(2 * np.pi * col.times), np.sin(2 * np.pi * col.times)])
        >>> z, history = col.solve(s, col.pack(circle, 3.0))
        >>> orbit = col.orbit(s, z, m=50, residual=history[-1])
        >>> orbit.label, orbit.x.shape, bool(abs(orbit.nontrivial[0] - np.exp(-np.pi)) < 1e-8)
        ('stable cycle', (50, 2), True)
        """
        check_flow(system, "Collocation.orbit")
        m = self.nodes - 1 if m is None else check_count(m, "m", 2)
        x = self.evaluate(z, np.arange(m) / m)
        T = self.unpack(z)[1]
        mu, trivial = multipliers_of(self.monodromy(system, z), system.rhs(x[:1])[0])
        return PeriodicOrbit(system, T, x, mu, trivial=trivial, residual=residual, method="collocation")


def periodic_resample(x: Any, times: Any) -> np.ndarray:
    """States x_k = x(k/m), k = 0, ..., m − 1, of a 1-periodic function, resampled at ``times`` (periodic cubic spline).

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
    >>> t = np.arange(64) / 64
    >>> x = np.column_stack([np.cos(2 * np.pi * t), np.sin(4 * np.pi * t)])
    >>> bool(np.allclose(periodic_resample(x, [0.3, 1.0]), [[np.cos(0.6 * np.pi), np.sin(1.2 * np.pi)], [1, 0]],
    ...                  atol=1e-5))
    True
    """
    x = np.asarray(x, dtype=float)
    m = len(x)
    spline = CubicSpline(np.arange(m + 1) / m, np.vstack([x, x[:1]]), bc_type="periodic")
    return spline(np.mod(np.asarray(times, dtype=float).reshape(-1), 1.0))


def equidistribute(edges: Any, density: Any, intervals: int) -> np.ndarray:
    """A mesh of ``intervals`` intervals of [edges[0], edges[-1]] with equal shares of ∫ρ, for ρ constant on each cell.

    Parameters
    ----------
    edges : array_like of shape (k + 1,)
        The cells' edges, increasing.
    density : array_like of shape (k,)
        ρ >= 0 on each cell; a floor of 1 % of its mean keeps every part
        of the period meshed.
    intervals : int

    Returns
    -------
    ndarray of shape (intervals + 1,)

    Examples
    --------
    Three times the density on [0, 1/2] puts three of four intervals there (up to the floor):

    >>> equidistribute([0.0, 0.5, 1.0], [3.0, 1.0], 4).round(3).tolist()
    [0.0, 0.167, 0.334, 0.505, 1.0]
    """
    edges = np.asarray(edges, dtype=float)
    density = np.asarray(density, dtype=float)
    intervals = check_count(intervals, "intervals")
    density = np.where(np.isfinite(density), density, 0.0)
    density = density + (0.01 * density.mean() if density.mean() > 0 else 1.0)
    cumulative = np.concatenate([[0.0], np.cumsum(density * np.diff(edges))])
    mesh = np.interp(np.linspace(0.0, cumulative[-1], intervals + 1), cumulative, edges)
    mesh[0], mesh[-1] = edges[0], edges[-1]
    return mesh


def arclength_mesh(states: Any, ntst: int) -> np.ndarray:
    """A mesh of [0, 1] for a cycle sampled at x(k/m), k < m: intervals of equal length in time plus state-space arc length.

    Equidistributes 1 + |x'(τ)| / mean |x'| (from the chords between
    consecutive samples): half the intervals go where the state moves
    fastest, as on the jumps of a relaxation oscillation.

    Examples
    --------
    >>> t = np.arange(100) / 100
    >>> mesh = arclength_mesh(np.column_stack([np.tanh(30 * np.sin(2 * np.pi * t))]), 10)
    >>> len(mesh), bool(np.diff(mesh).min() < 0.05)
    (11, True)
    """
    x = np.asarray(states, dtype=float)
    m = len(x)
    speed = np.linalg.norm(np.roll(x, -1, axis=0) - x, axis=1)
    mean = speed.mean()
    return equidistribute(np.arange(m + 1) / m, 1 + (speed / mean if mean > 0 else 0.0), ntst)
