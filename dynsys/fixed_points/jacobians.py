"""The Jacobian models: how the linear algebra of each step of the search is done.

Every solver of the numeric search (:mod:`.levenberg_marquardt`, the
Newton polishing and the classification of :mod:`.numeric`) reaches DF(x)
only through a :class:`JacobianModel`; two implement it, named in
:data:`SOLVERS`:

- :class:`DenseJacobian` forms DF(x) for every start, shape (B, n, n), and
  solves with LAPACK (batched ``numpy.linalg.solve``): exact steps, O(n³)
  work and O(n²) memory per start and iteration;
- :class:`MatrixFreeJacobian` never forms DF.  It applies DF and DFᵀ through
  the system's Jacobian-vector products (``residual_jvp``,
  ``residual_vjp``) and solves the damped normal equations by CGLS
  (conjugate gradients on least squares): an inexact Levenberg-Marquardt
  or Newton-Krylov method, O(k n²) work for a recurrent network (k CG
  iterations of two products each) and O(n) memory per start.

*Matrix-free steps.*  Without the Jacobians, the Newton step J delta = -F
comes from GMRES (:func:`gmres_batch`: one ``residual_operator`` product
per iteration, at most min(n, GMRES_MAX_ITER), all rows at once) to the
relative residual the caller asks for, an inexact Newton-Krylov method
with superlinear convergence near a regular zero; J = Dg - I of a
contracting network has its spectrum clustered near -1, where GMRES needs
few products.  The damped step minimises |J delta + F|² + mu |delta|² by
CGLS (one jvp and one vjp per iteration, at most min(2n, CG_MAX_ITER)
iterations), stopped at the relative residual eta of the normal
equations: an inexact Levenberg-Marquardt method.  ||J||_F is estimated
with Hutchinson's estimator (HUTCHINSON_PROBES random sign vectors).
Without ``newton_probe``, every row also tries its inexact Newton step at
every iteration of the Levenberg-Marquardt loop, not only where the
damping is above its starting level.  Memory per start is O(n) instead of
O(n²) (O(GMRES_MAX_ITER n) during a Newton step).

References
----------
S. J. Wright and J. N. Holt, "An inexact Levenberg-Marquardt method for large
sparse nonlinear least squares", J. Austral. Math. Soc. B 26, 1985.

D. A. Knoll and D. E. Keyes, "Jacobian-free Newton-Krylov methods: a survey
of approaches and applications", J. Comput. Phys. 193, 2004.

A. Björck, "Numerical methods for least squares problems", SIAM, 1996 (CGLS).
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ..systems import System
from .common import EPS, row_dot, row_norm

CURVATURE_RTOL = 1e-6  # minima: Hessian eigenvalues >= -CURVATURE_RTOL * max |eigenvalue|
CG_MAX_ITER = 500  # CGLS iterations per step at most (and at most 2n)
POLISH_ETA = 1e-6  # relative residual of a matrix-free Newton step
GMRES_MAX_ITER = 40  # Arnoldi vectors of a matrix-free Newton step at most (and at most n)
COMPACT_FRACTION = 0.25  # GMRES drops its finished rows once they are this fraction of those it holds
REORTHOGONALIZE = 1e-3  # a second Gram-Schmidt pass where one pass kept less of |A v| than this
LANCZOS_MIN_DIM = 64  # matrix-free minimum test: Lanczos above, the formed Hessian up to this
HUTCHINSON_PROBES = 2  # random probes of the estimate of ||DF||_F
STATIONARY_ETA = 1e-6  # relative residual of the matrix-free solve of the stationarity test


@runtime_checkable
class JacobianModel(Protocol):
    """What the solvers of the search need from DF(x), for a batch of rows at once.

    Each model carries a per-row state ``aux`` (the Jacobians for the dense
    model, an empty (B, 0) array for the matrix-free one) that the solvers
    keep beside X and F and pass back unchanged.  A new way of doing the
    linear algebra is a new class with these members and one entry in
    :data:`SOLVERS`.

    Attributes
    ----------
    name : str
        Its key in :data:`SOLVERS` (reported as ``stats["solver"]``).
    newton_probe : bool
        True: the Levenberg-Marquardt loop also tries the undamped Newton
        step of the rows whose damping is above its starting level; False:
        of every row, at every iteration.
    system : System

    Examples
    --------
    >>> from dynsys import models
    >>> isinstance(DenseJacobian(models.duffing()), JacobianModel)
    True
    """

    name: str
    newton_probe: bool
    system: System

    @staticmethod
    def bytes_per_start(n: int) -> int:
        """Working memory of the search per start in ``n`` dimensions, in bytes."""

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """The per-row state ``aux`` at the rows of X (B, n)."""

    def gradient(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """grad q = DF^T F of each row, shape (B, n)."""

    def frobenius(self, X: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """||DF||_F of each row (exact or estimated), shape (B,)."""

    def finite(self, aux: np.ndarray) -> np.ndarray:
        """Rows whose ``aux`` is finite, shape (B,)."""

    def apply(self, X: np.ndarray, aux: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Rows DF(x_b) v_b, shape (B, n)."""

    def initial_damping(self, X: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """The scale of diag(J^T J) of each row that the starting damping is a fraction of, shape (B,)."""

    def damped_step(
        self, X: np.ndarray, F: np.ndarray, g: np.ndarray, aux: np.ndarray, mu: np.ndarray, eta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """δ solving (J^T J + mu I) δ = -g (to relative residual ``eta`` where inexact), and J δ."""

    def newton_step(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray, eta: np.ndarray | None = None) -> np.ndarray:
        """δ solving J δ = -F (least squares where J is singular), shape (B, n); to relative residual
        ``eta`` (B,) where inexact, by default the model's own accuracy for polishing."""

    def removable(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray, g: np.ndarray, c2: np.ndarray) -> np.ndarray:
        """g^T (J^T J + c² I)^{-1} g of each row, shape (B,) (see :func:`.criteria.stationary`)."""

    def is_local_minimum(self, X: np.ndarray) -> np.ndarray:
        """Whether q has a local minimum at each row of X, shape (B,)."""


class DenseJacobian:
    """DF(x) formed for every start, shape (B, n, n); steps by LAPACK.

    ``aux`` (the per-start state the solver carries) is the Jacobian itself.

    Examples
    --------
    The Newton step from x = 1.1 towards the zero (1, 0) of the Duffing oscillator:

    >>> import numpy as np
    >>> from dynsys import models
    >>> model = DenseJacobian(models.duffing())
    >>> X = np.array([[1.1, 0.0]])
    >>> model.newton_step(X, model.system.residual(X), model.evaluate(X)).round(6) + 0.0
    array([[-0.087833,  0.      ]])
    """

    name = "dense"
    newton_probe = True  # the LM loop also tries the undamped Newton step

    def __init__(self, system: System) -> None:
        self.system = system

    @staticmethod
    def bytes_per_start(n: int) -> int:
        """Working memory per start: J, J^T J, LAPACK's copy and the trial Jacobians."""
        return 8 * (5 * n * n + 40 * n)

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.system.residual_jacobian(X)

    def gradient(self, X: np.ndarray, F: np.ndarray, J: np.ndarray) -> np.ndarray:
        """grad q = DF^T F."""
        return np.einsum("bij,bi->bj", J, F)

    def frobenius(self, X: np.ndarray, J: np.ndarray) -> np.ndarray:
        """||DF||_F of each row."""
        return np.sqrt(np.einsum("bij,bij->b", J, J))

    def finite(self, J: np.ndarray) -> np.ndarray:
        return np.isfinite(J).all(axis=(1, 2))

    def apply(self, X: np.ndarray, J: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Rows DF(x_b) v_b."""
        return np.einsum("bij,bj->bi", J, V)

    def initial_damping(self, X: np.ndarray, J: np.ndarray) -> np.ndarray:
        """max diag(J^T J) of each row."""
        return np.max(np.einsum("bij,bij->bj", J, J), axis=1, initial=0.0)

    def damped_step(
        self, X: np.ndarray, F: np.ndarray, g: np.ndarray, J: np.ndarray, mu: np.ndarray, eta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """δ solving (J^T J + mu I) δ = -g exactly (``eta`` unused), and J δ."""
        A = np.matmul(J.transpose(0, 2, 1), J)
        A[:, np.arange(A.shape[1]), np.arange(A.shape[1])] += mu[:, None]
        delta = _solve_batch(A, -g)
        return delta, np.einsum("bij,bj->bi", J, delta)

    def newton_step(self, X: np.ndarray, F: np.ndarray, J: np.ndarray, eta: np.ndarray | None = None) -> np.ndarray:
        """δ solving J δ = -F exactly (pseudo-inverse where J is singular; ``eta`` unused)."""
        return _solve_batch(J, -F)

    def removable(self, X: np.ndarray, F: np.ndarray, J: np.ndarray, g: np.ndarray, c2: np.ndarray) -> np.ndarray:
        """g^T (J^T J + c² I)^{-1} g = sum_k (u_k . F)² s_k² / (s_k² + c²) by
        the SVD J = U S V^T (``g`` unused): accurate where J^T J, whose
        condition number is that of J squared, would lose it."""
        value = np.full(len(J), np.nan)
        ok = self.finite(J) & np.isfinite(F).all(axis=1)
        U, S, _ = np.linalg.svd(J[ok])
        a = np.einsum("bik,bi->bk", U, F[ok])
        value[ok] = np.sum(a**2 * (S**2 / (S**2 + c2[ok, None])), axis=1)
        return value

    def is_local_minimum(self, X: np.ndarray) -> np.ndarray:
        """Whether q has a local minimum at each row of X.

        The Hessian of q is taken by central differences of grad q = J^T F,
        H[k] = (grad q(x + h_k e_k) - grad q(x - h_k e_k)) / (2 h_k) with
        h_k = eps^(1/3) max(1, |x_k|), symmetrised; rows are processed in
        chunks of at most about 2^22 Jacobian entries.
        """
        m, n = X.shape
        ok = np.ones(m, dtype=bool)
        chunk = max(1, 2**22 // (2 * n**3))
        for lo in range(0, m, chunk):  # a loop over memory-sized chunks, not over points
            Xc = X[lo : lo + chunk]
            h = np.cbrt(EPS) * np.maximum(1.0, np.abs(Xc))  # (c, n)
            steps = h[:, :, None] * np.eye(n)  # (c, k, n)
            both = np.concatenate([Xc[:, None, :] + steps, Xc[:, None, :] - steps], axis=1).reshape(-1, n)
            with np.errstate(all="ignore"):
                g = self.gradient(both, self.system.residual(both), self.evaluate(both)).reshape(len(Xc), 2, n, n)
            ok[lo : lo + chunk] = _has_no_negative_curvature((g[:, 0] - g[:, 1]) / (2.0 * h[:, :, None]))
        return ok


class MatrixFreeJacobian:
    """DF applied through ``residual_jvp`` and ``residual_vjp``, never formed.

    ``aux`` is an empty (B, 0) array.  Steps come from CGLS on the damped
    normal equations; ||DF||_F is estimated by Hutchinson's trace estimator,
    ||DF||_F² = E|DF z|² for z with independent ±1 entries (seeded, so the
    search stays deterministic).

    Examples
    --------
    The same gradient as the dense model's, without forming DF:

    >>> import numpy as np
    >>> from dynsys import models
    >>> model = MatrixFreeJacobian(models.duffing())
    >>> X = np.array([[1.1, 0.0]])
    >>> model.gradient(X, model.system.residual(X), model.evaluate(X)).round(6)
    array([[0.60753, 0.0693 ]])
    >>> model.evaluate(X).shape
    (1, 0)
    """

    name = "matrix-free"
    newton_probe = False

    def __init__(self, system: System) -> None:
        self.system = system
        self._rng = np.random.default_rng(0)
        self._basis = np.empty((0, 0, 0))  # GMRES's Arnoldi vectors, reused by every Newton step

    @staticmethod
    def bytes_per_start(n: int) -> int:
        """Working memory per start: about 60 vectors of length n (iterates,
        CGLS vectors, trial points and the products' temporaries) and the
        GMRES_MAX_ITER + 1 Arnoldi vectors."""
        return 8 * (60 + GMRES_MAX_ITER + 1) * n

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        return np.empty((len(X), 0))

    def _jvp(self, X: np.ndarray, V: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.system.residual_jvp(X, V)

    def _vjp(self, X: np.ndarray, V: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.system.residual_vjp(X, V)

    def gradient(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray) -> np.ndarray:
        return self._vjp(X, F)

    def frobenius(self, X: np.ndarray, aux: np.ndarray) -> np.ndarray:
        total = np.zeros(len(X))
        for _ in range(HUTCHINSON_PROBES):  # a loop over a few probes, each a batched product
            v = self._jvp(X, self._rng.choice([-1.0, 1.0], size=X.shape))
            total += row_dot(v, v)
        return np.sqrt(total / HUTCHINSON_PROBES)

    def finite(self, aux: np.ndarray) -> np.ndarray:
        return np.ones(len(aux), dtype=bool)

    def apply(self, X: np.ndarray, aux: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Rows DF(x_b) v_b."""
        return self._jvp(X, V)

    def initial_damping(self, X: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """||DF||_F² / n, the mean of diag(J^T J)."""
        return self.frobenius(X, aux) ** 2 / X.shape[1]

    def damped_step(
        self, X: np.ndarray, F: np.ndarray, g: np.ndarray, aux: np.ndarray, mu: np.ndarray, eta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """δ minimising |J δ + F|² + mu |δ|² by CGLS to relative residual ``eta``, and J δ."""
        return self._cgls(X, F, g, mu, eta)

    def newton_step(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray, eta: np.ndarray | None = None) -> np.ndarray:
        """δ with |J δ + F| <= eta |F| (J δ = -F where J is regular; ``eta`` per row, POLISH_ETA when None) by
        GMRES (:func:`gmres_batch`); the rows GMRES leaves above that residual within GMRES_MAX_ITER vectors
        finish by CGLS (least squares where J is singular)."""
        eta = np.full(len(X), POLISH_ETA) if eta is None else eta
        k = min(X.shape[1], GMRES_MAX_ITER)
        self._basis = _workspace(self._basis, (k + 1, len(X), X.shape[1]))
        with np.errstate(all="ignore"):
            op = self.system.residual_operator(X)
            delta, residual = gmres_batch(op.jvp, -F, eta, k, self._basis)
        slow = np.flatnonzero(~(residual <= eta * row_norm(F)))
        if slow.size:
            Xs, Fs = X[slow], F[slow]
            delta[slow] = self._cgls(Xs, Fs, self._vjp(Xs, Fs), np.zeros(slow.size), eta[slow])[0]
        return delta

    def removable(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray, g: np.ndarray, c2: np.ndarray) -> np.ndarray:
        """g^T (J^T J + c² I)^{-1} g = -g . δ for δ from CGLS (relative residual STATIONARY_ETA)."""
        return -row_dot(g, self._cgls(X, F, g, c2, np.full(len(X), STATIONARY_ETA))[0])

    def _cgls(
        self, X: np.ndarray, F: np.ndarray, g: np.ndarray, mu: np.ndarray, eta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """CGLS for every row: minimise |J δ + F|² + mu |δ|² from δ = 0.

        With s = -F - J δ and r = J^T s - mu δ (the residual of the normal
        equations (J^T J + mu I) δ = -g), each iteration takes one jvp and
        one vjp (of ``system.residual_operator(X)``, which computes the
        state-dependent factors of the Jacobian once); a row stops when |r| <= eta |g|, when its curvature
        |J p|² + mu |p|² is not positive, or after min(2n, CG_MAX_ITER)
        iterations.  Returns δ and J δ.
        """
        m, n = X.shape
        with np.errstate(all="ignore"):
            op = self.system.residual_operator(X)
        delta = np.zeros((m, n))
        s = -F.copy()
        r = -g.copy()
        p = r.copy()
        gamma = row_dot(r, r)
        target = (eta * np.sqrt(gamma)) ** 2
        active = np.flatnonzero(gamma > target)
        for _ in range(min(2 * n, CG_MAX_ITER)):  # CG iterations; each a batched product
            if not active.size:
                break
            pa = p[active]
            with np.errstate(all="ignore"):
                u = op.jvp(pa, active)
            curvature = row_dot(u, u) + mu[active] * row_dot(pa, pa)
            ok = np.isfinite(curvature) & (curvature > 0)
            active, pa, u, curvature = active[ok], pa[ok], u[ok], curvature[ok]
            alpha = gamma[active] / curvature
            delta[active] += alpha[:, None] * pa
            s[active] -= alpha[:, None] * u
            with np.errstate(all="ignore"):
                ra = op.vjp(s[active], active) - mu[active, None] * delta[active]
            gamma_new = row_dot(ra, ra)
            beta = gamma_new / gamma[active]
            r[active], gamma[active] = ra, gamma_new
            p[active] = ra + beta[:, None] * pa
            active = active[np.isfinite(gamma_new) & (gamma_new > target[active])]
        return delta, -F - s

    def is_local_minimum(self, X: np.ndarray) -> np.ndarray:
        """Whether q has a local minimum at each row of X.

        The Hessian of q, H v = J^T J v + Σ_i F_i ∇²F_i v, is applied
        matrix-free (:meth:`hessian_times`).  Up to LANCZOS_MIN_DIM
        dimensions it is formed from its products with the unit vectors
        (one batched call for all points) and tested like the dense model's;
        above, its extreme eigenvalues come from Lanczos iterations
        (``scipy.sparse.linalg.eigsh``), one point at a time (these are the
        few distinct slow points, not the starts).
        """
        m, n = X.shape
        if n <= LANCZOS_MIN_DIM:
            H = self.hessian_times(np.repeat(X, n, axis=0), np.tile(np.eye(n), (m, 1)))
            return _has_no_negative_curvature(H.reshape(m, n, n))
        ok = np.ones(m, dtype=bool)
        for i, x in enumerate(X):  # a loop over distinct slow points
            H = LinearOperator((n, n), matvec=lambda v, x=x: self.hessian_times(x[None, :], v.reshape(1, n))[0])
            largest, lowest = _extreme_eigenvalue(H, "LM"), _extreme_eigenvalue(H, "SA")
            ok[i] = bool(np.isfinite(lowest) and lowest >= -CURVATURE_RTOL * abs(largest))
        return ok

    def hessian_times(self, X: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Rows H(x_b) v_b of the Hessian of q: vjp(x, jvp(x, v)) plus the
        central difference (vjp(x + h v, F(x)) - vjp(x - h v, F(x))) / 2h,
        h = eps^(1/3) max(1, |x|_inf) / |v|."""
        F0 = self.system.residual(X)
        size = row_norm(V)
        h = np.cbrt(EPS) * np.maximum(1.0, np.max(np.abs(X), axis=1)) / np.where(size > 0, size, 1.0)
        second = self._vjp(np.concatenate([X + h[:, None] * V, X - h[:, None] * V]), np.concatenate([F0, F0]))
        return self._vjp(X, self._jvp(X, V)) + (second[: len(X)] - second[len(X) :]) / (2.0 * h[:, None])


SOLVERS: dict[str, type[JacobianModel]] = {"dense": DenseJacobian, "matrix-free": MatrixFreeJacobian}


def _has_no_negative_curvature(H: np.ndarray) -> np.ndarray:
    """For a batch of Hessians (m, n, n), symmetrised: no eigenvalue below
    -CURVATURE_RTOL times the largest in modulus (zero curvature is allowed:
    slow points may form lines)."""
    H = 0.5 * (H + H.transpose(0, 2, 1))
    finite = np.isfinite(H).all(axis=(1, 2))
    eig = np.full(H.shape[:2], np.nan)
    eig[finite] = np.linalg.eigvalsh(H[finite])
    return finite & (eig[:, 0] >= -CURVATURE_RTOL * np.max(np.abs(eig), axis=1))



def _extreme_eigenvalue(H: LinearOperator, which: str) -> float:
    """The eigenvalue of the symmetric operator H that ``eigsh`` selects by
    ``which`` ("LM": largest modulus, "SA": smallest), by Lanczos iterations;
    the best Ritz value when they do not converge, NaN when there is none."""
    v0 = np.ones(H.shape[0]) / np.sqrt(H.shape[0])
    try:
        return float(eigsh(H, k=1, which=which, v0=v0, tol=1e-6, return_eigenvectors=False)[0])
    except ArpackNoConvergence as exc:
        return float(exc.eigenvalues.real[0]) if len(exc.eigenvalues) else np.nan


def gmres_batch(
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray],
    b: np.ndarray,
    eta: float | np.ndarray,
    max_iter: int,
    basis: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve A_k y_k = b_k for a batch of operators by GMRES from y = 0, all rows at once.

    Arnoldi's process builds, for each row, an orthonormal basis V_j of the
    Krylov space span{b, A b, ..., A^(j-1) b} (classical Gram-Schmidt; a
    pass that keeps a fraction c of |A v_j| leaves the new vector orthogonal
    to about eps / c, so a second pass, "twice is enough" (Daniel, Gragg,
    Kaufman & Stewart 1976), is made only where c < REORTHOGONALIZE = 1e-3:
    the loss stays below 1e3 eps, far below the relative residuals asked of
    a Newton step, and the cost is one pass instead of two) and
    A V_j = V_(j+1) H_j; y = V_j z minimises
    |b - A y| = | |b| e_1 - H_j z |, whose value Givens rotations of H_j
    give at every step (Saad & Schultz 1986).  A row stops once that
    residual is <= eta |b| or after ``max_iter`` products; then
    R_j z = g_j (the rotated H_j and |b| e_1) is solved, for all rows in one
    batched solve of padded triangular systems.

    Parameters
    ----------
    apply : callable
        ``apply(V, rows)``: the rows A_r v_r for r in ``rows`` (an index
        array), V of shape (len(rows), n).
    b : ndarray of shape (m, n)
    eta : float or ndarray of shape (m,)
        Relative residual to stop at (one for all rows, or one per row).
    max_iter : int
        Products per row at most (the dimension of the Krylov space).
    basis : ndarray of shape (>= k + 1, >= m, n), optional
        Work space for the Arnoldi vectors (k = min(max_iter, n)), reused
        across calls so that the kernel does not zero fresh pages for every
        solve; overwritten.  Allocated when missing or too small.

    Returns
    -------
    y : ndarray of shape (m, n)
    residual : ndarray of shape (m,)
        |b - A y| of each row as GMRES computes it (NaN where b is not finite).

    References
    ----------
    Y. Saad and M. H. Schultz, "GMRES: a generalized minimal residual
    algorithm for solving nonsymmetric linear systems", SIAM J. Sci. Stat.
    Comput. 7, 1986.

    J. W. Daniel, W. B. Gragg, L. Kaufman and G. W. Stewart,
    "Reorthogonalization and stable algorithms for updating the Gram-Schmidt
    QR factorization", Math. Comp. 30, 1976.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[[2.0, 1.0], [0.0, 3.0]], [[1.0, 0.0], [0.0, 4.0]]])
    >>> apply = lambda V, rows: np.einsum("bij,bj->bi", A[rows], V)
    >>> y, residual = gmres_batch(apply, np.array([[3.0, 3.0], [1.0, 8.0]]), 1e-12, 2)
    >>> y.round(12) + 0.0
    array([[1., 1.],
           [1., 2.]])
    """
    m, n = b.shape
    k = max(1, min(max_iter, n))
    basis = _workspace(np.empty((0, 0, 0)) if basis is None else basis, (k + 1, m, n))
    y, residual = np.zeros((m, n)), np.full(m, np.nan)
    beta = row_norm(b)
    zero = np.flatnonzero(beta == 0)
    residual[zero] = 0.0
    rows = np.flatnonzero(np.isfinite(beta) & (beta > 0))
    live = _Arnoldi(rows, b, np.broadcast_to(eta, (m,)) * beta, basis[: k + 1, : len(rows)])
    for j in range(k):  # Arnoldi steps; each a batched product over the rows still iterating
        if not len(live.rows):
            break
        done = live.step(j, apply(live.V[j], live.rows)) & live.alive
        if j == k - 1:
            done = live.alive
        if done.any():
            y[live.rows[done]], residual[live.rows[done]] = live.solution(done, j + 1)
            live.alive &= ~done
            if np.count_nonzero(~live.alive) >= COMPACT_FRACTION * len(live.rows):
                live.keep(live.alive, j + 1)
    return y, residual


def _workspace(buffer: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """``buffer`` when it holds at least ``shape`` (its last axis equal), else a new uninitialised array of it."""
    if buffer.shape[0] < shape[0] or buffer.shape[1] < shape[1] or buffer.shape[2] != shape[2]:
        return np.empty(shape)
    return buffer


class _Arnoldi:
    """GMRES's state for the rows still iterating (:func:`gmres_batch`), in compact arrays.

    The basis is stored by Krylov column, V[j] of shape (m, n) contiguous, in
    a buffer the caller may reuse: dropping rows moves each column's rows
    down in place, so no array of the basis's size is allocated again.
    """

    def __init__(self, rows: np.ndarray, b: np.ndarray, target: np.ndarray, V: np.ndarray) -> None:
        m, k = len(rows), V.shape[0] - 1
        self.rows = rows
        self.alive = np.ones(m, dtype=bool)  # rows still iterating (the others wait for the next compaction)
        self.V = V  # (k + 1, m, n); column j is written before it is read
        self.g = np.zeros((m, k + 1))
        self.g[:, 0] = row_norm(b[rows])
        self.V[0] = b[rows] / self.g[:, :1]
        self.R = np.zeros((m, k, k))
        self.target = target[rows]  # the residual to reach, eta |b|
        self.cos, self.sin = np.zeros((m, k)), np.zeros((m, k))

    def step(self, j: int, w: np.ndarray) -> np.ndarray:
        """Add A v_j = ``w`` to the basis (Gram-Schmidt, Givens); the rows that are done after it."""
        Vj = self.V[: j + 1]
        size = row_norm(w)
        h = np.einsum("jbn,bn->bj", Vj, w)
        w -= np.einsum("bj,jbn->bn", h, Vj)
        h_next = row_norm(w)
        again = np.flatnonzero(h_next < REORTHOGONALIZE * size)  # cancellation: orthogonality may be lost
        if again.size:  # "twice is enough": a second pass for those rows
            Va = Vj[:, again]
            h2 = np.einsum("jbn,bn->bj", Va, w[again])
            w[again] -= np.einsum("bj,jbn->bn", h2, Va)
            h[again] += h2
            h_next[again] = row_norm(w[again])
        self.V[j + 1] = w / np.where(h_next > 0, h_next, 1.0)[:, None]
        for i in range(j):  # the rotations of the earlier columns, each over all rows
            c, s = self.cos[:, i], self.sin[:, i]
            h[:, i], h[:, i + 1] = c * h[:, i] + s * h[:, i + 1], c * h[:, i + 1] - s * h[:, i]
        r = np.hypot(h[:, j], h_next)
        safe = np.where(r > 0, r, 1.0)
        c, s = np.where(r > 0, h[:, j] / safe, 1.0), h_next / safe  # r = 0: A singular on the Krylov space
        self.cos[:, j], self.sin[:, j] = c, s
        h[:, j] = r
        self.R[:, : j + 1, j] = h
        self.g[:, j + 1] = -s * self.g[:, j]
        self.g[:, j] *= c
        residual = np.abs(self.g[:, j + 1])
        return ~(np.isfinite(residual) & (residual > self.target) & (r > 0) & (h_next > 0))

    def solution(self, rows: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """y = V z minimising |g - R z| on the first ``size`` columns, and that minimum, for ``rows``.

        Where A is singular on the Krylov space (a zero on R's diagonal, a
        breakdown), that component of z is 0 and its g_i stays in the residual.
        """
        R, g = self.R[rows, :size, :size], self.g[rows, :size]  # copies (``rows`` a mask): changed below
        b, i = np.nonzero(np.diagonal(R, axis1=1, axis2=2) == 0)
        unmatched = np.zeros(len(R))
        np.add.at(unmatched, b, g[b, i] ** 2)
        R[b, i, i], g[b, i] = 1.0, 0.0
        z = np.linalg.solve(R, g[:, :, None])[..., 0]
        residual = np.sqrt(self.g[rows, size] ** 2 + unmatched)
        return np.einsum("bj,jbn->bn", z, self.V[:size, rows]), residual

    def keep(self, going: np.ndarray, size: int) -> None:
        """Keep only the rows where ``going`` is true, moving the first ``size`` + 1 columns' rows in place."""
        index = np.flatnonzero(going)
        for j in range(size + 1):  # a loop over Krylov columns, each a batched move
            self.V[j, : index.size] = self.V[j, index]
        self.V = self.V[:, : index.size]
        for name in ("rows", "alive", "R", "g", "target", "cos", "sin"):
            setattr(self, name, getattr(self, name)[going])


def _solve_batch(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve A_k y_k = b_k for a batch.

    Where some A_k is exactly singular (LAPACK stops the whole batch), those
    rows (det A_k = 0 or not finite) get the least-squares solution
    pinv(A_k) b_k instead, and rows with non-finite entries get NaN.
    """
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        y = np.full(b.shape, np.nan)
        finite = np.isfinite(A).all(axis=(1, 2)) & np.isfinite(b).all(axis=1)
        det = np.zeros(len(A))
        det[finite] = np.linalg.det(A[finite])
        regular = finite & np.isfinite(det) & (det != 0)
        singular = finite & ~regular
        y[regular] = np.linalg.solve(A[regular], b[regular][..., None])[..., 0]
        y[singular] = np.matmul(np.linalg.pinv(A[singular]), b[singular][..., None])[..., 0]
        return y
