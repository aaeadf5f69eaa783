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

*Matrix-free steps.*  Without the Jacobians, the step minimises
|J delta + F|² + mu |delta|² by CGLS (one ``residual_jvp`` and one
``residual_vjp`` per iteration, at most min(2n, CG_MAX_ITER) iterations),
stopped at the relative residual eta of the normal equations that the
caller asks for (the Levenberg-Marquardt loop's forcing term): an inexact
Levenberg-Marquardt method that becomes an inexact Newton-Krylov method as
mu falls, with superlinear convergence near a regular zero.  ||J||_F is
estimated with Hutchinson's estimator (HUTCHINSON_PROBES random sign
vectors).  Without ``newton_probe``, every row also tries its inexact
Newton step (CGLS to relative residual POLISH_ETA) at every iteration of
the Levenberg-Marquardt loop, not only where the damping is above its
starting level.  Memory per start is O(n) instead of O(n²).

References
----------
S. J. Wright and J. N. Holt, "An inexact Levenberg-Marquardt method for large
sparse nonlinear least squares", J. Austral. Math. Soc. B 26, 1985.

D. A. Knoll and D. E. Keyes, "Jacobian-free Newton-Krylov methods: a survey
of approaches and applications", J. Comput. Phys. 193, 2004.

A. Björck, "Numerical methods for least squares problems", SIAM, 1996 (CGLS).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ..systems import System
from .common import EPS, row_dot, row_norm

CURVATURE_RTOL = 1e-6  # minima: Hessian eigenvalues >= -CURVATURE_RTOL * max |eigenvalue|
CG_MAX_ITER = 500  # CGLS iterations per step at most (and at most 2n)
POLISH_ETA = 1e-6  # relative residual of a matrix-free Newton step
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

    def newton_step(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """δ solving J δ = -F (least squares where J is singular), shape (B, n)."""

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

    def newton_step(self, X: np.ndarray, F: np.ndarray, J: np.ndarray) -> np.ndarray:
        """δ solving J δ = -F (pseudo-inverse where J is singular)."""
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

    @staticmethod
    def bytes_per_start(n: int) -> int:
        """Working memory per start: about 60 vectors of length n (iterates,
        CGLS vectors, trial points and the products' temporaries)."""
        return 8 * 60 * n

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

    def newton_step(self, X: np.ndarray, F: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """δ minimising |J δ + F| (J δ = -F where J is regular) by CGLS."""
        g = self._vjp(X, F)
        return self._cgls(X, F, g, np.zeros(len(X)), np.full(len(X), POLISH_ETA))[0]

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
