"""Batched Newton-type solvers for F(x) = 0 and min q(x) = ½|F(x)|².

This is the numeric core of :func:`dynsys.find_fixed_points`: a
Levenberg-Marquardt minimisation of q for a whole batch of starts at once,
with early merging of starts that converge to the same zero, and Newton
polishing.  The linear algebra of each step comes from one of two Jacobian
models with the same interface:

- :class:`DenseJacobian` forms DF(x) for every start, shape (B, n, n), and
  solves with LAPACK (batched ``numpy.linalg.solve``): exact steps, O(n³)
  work and O(n²) memory per start and iteration;
- :class:`MatrixFreeJacobian` never forms DF.  It applies DF and DFᵀ through
  the system's Jacobian-vector products (``residual_jvp``,
  ``residual_vjp``) and solves the damped normal equations by CGLS
  (conjugate gradients on least squares): an inexact Levenberg-Marquardt
  or Newton-Krylov method, O(k n²) work for a recurrent network (k CG
  iterations of two products each) and O(n) memory per start.

References
----------
K. Madsen, H. B. Nielsen and O. Tingleff, "Methods for non-linear least
squares problems", 2nd ed., IMM, DTU, 2004 (the damping update).

S. J. Wright and J. N. Holt, "An inexact Levenberg-Marquardt method for large
sparse nonlinear least squares", J. Austral. Math. Soc. B 26, 1985.

D. A. Knoll and D. E. Keyes, "Jacobian-free Newton-Krylov methods: a survey
of approaches and applications", J. Comput. Phys. 193, 2004.

A. Björck, "Numerical methods for least squares problems", SIAM, 1996 (CGLS).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
from scipy.spatial import cKDTree

from .systems import System

EPS = np.finfo(float).eps
LM_TAU = 1e-3  # initial damping mu = LM_TAU * max diag(J^T J)
NEWTON_MAX_ITER = 20  # Newton polishing steps at most
CURVATURE_RTOL = 1e-6  # minima: Hessian eigenvalues >= -CURVATURE_RTOL * max |eigenvalue|
CG_MAX_ITER = 500  # CGLS iterations per step at most (and at most 2n)
CG_ETA_MAX = 0.1  # loosest relative residual of an inexact step
POLISH_ETA = 1e-6  # relative residual of a matrix-free Newton step
LANCZOS_MIN_DIM = 64  # matrix-free minimum test: Lanczos above, the formed Hessian up to this
HUTCHINSON_PROBES = 2  # random probes of the estimate of ||DF||_F
EARLY_MERGE_CAP = 1e-3  # early merging radius at most EARLY_MERGE_CAP * L
NOISE_ULPS = 16.0  # probes of the rounding noise of F move each x_j by NOISE_ULPS eps |x_j|
NOISE_FACTOR = 8.0  # F is zero to rounding when |F| <= NOISE_FACTOR times its measured noise
STATIONARY_ETA = 1e-6  # relative residual of the matrix-free solve of the stationarity test


# ------------------------------------------------------------ Jacobian models
class DenseJacobian:
    """DF(x) formed for every start, shape (B, n, n); steps by LAPACK.

    ``aux`` (the per-start state the solver carries) is the Jacobian itself.
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
        delta = solve_batch(A, -g)
        return delta, np.einsum("bij,bj->bi", J, delta)

    def newton_step(self, X: np.ndarray, F: np.ndarray, J: np.ndarray) -> np.ndarray:
        """δ solving J δ = -F (pseudo-inverse where J is singular)."""
        return solve_batch(J, -F)

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
            total += _dot(v, v)
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
        return -_dot(g, self._cgls(X, F, g, c2, np.full(len(X), STATIONARY_ETA))[0])

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
        gamma = _dot(r, r)
        target = (eta * np.sqrt(gamma)) ** 2
        active = np.flatnonzero(gamma > target)
        for _ in range(min(2 * n, CG_MAX_ITER)):  # CG iterations; each a batched product
            if not active.size:
                break
            pa = p[active]
            with np.errstate(all="ignore"):
                u = op.jvp(pa, active)
            curvature = _dot(u, u) + mu[active] * _dot(pa, pa)
            ok = np.isfinite(curvature) & (curvature > 0)
            active, pa, u, curvature = active[ok], pa[ok], u[ok], curvature[ok]
            alpha = gamma[active] / curvature
            delta[active] += alpha[:, None] * pa
            s[active] -= alpha[:, None] * u
            with np.errstate(all="ignore"):
                ra = op.vjp(s[active], active) - mu[active, None] * delta[active]
            gamma_new = _dot(ra, ra)
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
        size = _norm(V)
        h = np.cbrt(EPS) * np.maximum(1.0, np.max(np.abs(X), axis=1)) / np.where(size > 0, size, 1.0)
        second = self._vjp(np.concatenate([X + h[:, None] * V, X - h[:, None] * V]), np.concatenate([F0, F0]))
        return self._vjp(X, self._jvp(X, V)) + (second[: len(X)] - second[len(X) :]) / (2.0 * h[:, None])


def _has_no_negative_curvature(H: np.ndarray) -> np.ndarray:
    """For a batch of Hessians (m, n, n), symmetrised: no eigenvalue below
    -CURVATURE_RTOL times the largest in modulus (zero curvature is allowed:
    slow points may form lines)."""
    H = 0.5 * (H + H.transpose(0, 2, 1))
    finite = np.isfinite(H).all(axis=(1, 2))
    eig = np.full(H.shape[:2], np.nan)
    eig[finite] = np.linalg.eigvalsh(H[finite])
    return finite & (eig[:, 0] >= -CURVATURE_RTOL * np.max(np.abs(eig), axis=1))


JacobianModel = DenseJacobian | MatrixFreeJacobian


def _extreme_eigenvalue(H: LinearOperator, which: str) -> float:
    """The eigenvalue of the symmetric operator H that ``eigsh`` selects by
    ``which`` ("LM": largest modulus, "SA": smallest), by Lanczos iterations;
    the best Ritz value when they do not converge, NaN when there is none."""
    v0 = np.ones(H.shape[0]) / np.sqrt(H.shape[0])
    try:
        return float(eigsh(H, k=1, which=which, v0=v0, tol=1e-6, return_eigenvectors=False)[0])
    except ArpackNoConvergence as exc:
        return float(exc.eigenvalues.real[0]) if len(exc.eigenvalues) else np.nan


# --------------------------------------------------------- Levenberg-Marquardt
@dataclass
class LMResult:
    """The final states of a batch.

    Attributes
    ----------
    X, F : ndarray of shape (B, n)
    aux : ndarray
        The Jacobian model's per-row state at X (DF for the dense model).
    iterations : int
    leader : ndarray of int, shape (B,)
        -1, or the row whose final result a row that merged early takes
        (chains resolved: the leader itself has -1).
    merged : ndarray of bool, shape (B,)
        The rows stopped early by merging (into a known zero or a leader).
    timed_out : bool
        Rows were still iterating when the ``deadline`` passed.
    """

    X: np.ndarray
    F: np.ndarray
    aux: np.ndarray
    iterations: int
    leader: np.ndarray
    merged: np.ndarray
    timed_out: bool = False


def levenberg_marquardt(
    model: JacobianModel,
    X0: np.ndarray,
    *,
    tol: float,
    gtol: float,
    max_iter: int,
    length: float,
    trust: np.ndarray,
    merge_radius: float,
    zeros: tuple[np.ndarray, np.ndarray] | None = None,
    deadline: float | None = None,
) -> LMResult:
    """Minimise q = ½|F|² from every row of X0 at once (the Notes of
    :func:`dynsys.find_fixed_points` give the method).

    Rows whose F or Jacobian is not finite, or that leave the ``trust`` box,
    stop where that happened (and are classified as diverged or escaped
    later).  The rows still iterating are kept in compact working arrays, so
    each iteration costs one batched step (two for the rows that also try a
    Newton step), one evaluation of F at the trial points and one of the
    Jacobian model at the accepted ones.

    Early merging: a row converging to a zero (|F| <= sqrt(tol)) stops when
    it lies within r = min(EARLY_MERGE_CAP L, merge_radius + 4|δ|) (δ its
    last step) of a known zero (``zeros``, pairs (x, F) found before, or a
    row of this batch that reached |F| <= tol), taking that zero's (x, F);
    converging rows clustered at such a radius (with their median step)
    follow the one with the lowest q (``leader``), so that one of them goes on.

    ``deadline`` (a ``time.perf_counter()`` value) stops the iterations
    when passed, leaving the rows where they are (``timed_out``).
    """
    system = model.system
    X = X0.copy()
    with np.errstate(all="ignore"):
        F = system.residual(X)
    AUX = model.evaluate(X)
    leader = np.full(len(X), -1)
    merged_rows = np.zeros(len(X), dtype=bool)
    known = _KnownZeros(X.shape[1], merge_radius, EARLY_MERGE_CAP * length, zeros)
    rows = np.flatnonzero(_healthy(model, X, F, AUX, trust))
    x, f, j = X[rows], F[rows], AUX[rows]
    q = 0.5 * _dot(f, f)
    mu = LM_TAU * model.initial_damping(x, j)
    mu[~(mu > 0)] = LM_TAU
    nu = np.full(len(rows), 2.0)
    fnorm0 = np.maximum(np.sqrt(2.0 * q), EPS)
    gnorm0 = np.full(len(rows), np.nan)  # |grad q| at the first iteration
    step = np.full(len(rows), np.inf)
    jnorm = model.frobenius(x, j)
    rejected = np.zeros(len(rows), dtype=bool)  # the last step was rejected
    iterations = 0

    def retire(going: np.ndarray) -> None:
        nonlocal rows, x, f, j, q, mu, nu, fnorm0, gnorm0, step, jnorm, rejected
        done = ~going
        X[rows[done]], F[rows[done]], AUX[rows[done]] = x[done], f[done], j[done]
        rows, x, f, j, q, mu, nu, fnorm0, gnorm0, step, jnorm, rejected = (
            w[going] for w in (rows, x, f, j, q, mu, nu, fnorm0, gnorm0, step, jnorm, rejected)
        )

    while rows.size and iterations < max_iter:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        iterations += 1
        with np.errstate(all="ignore"):
            g = model.gradient(x, f, j)
        converged, zero = _converged(model, x, f, j, g, jnorm, tol, gtol, length, rejected)
        stop = ~np.isfinite(g).all(axis=1) | converged
        known.add(x[zero], f[zero])
        merged, lead = known.merge(x, f, q, step, tol, ~stop)
        merged_rows[rows[merged]] = True
        follows = np.flatnonzero(lead >= 0)
        leader[rows[follows]] = rows[lead[follows]]
        going = ~(stop | merged)
        if not going.all():
            g = g[going]
            retire(going)
            if not rows.size:
                break
        m = len(x)
        # forcing term: relative accuracy of an inexact step, tighter as |F|
        # (towards a zero) or |grad q| (towards a slow point) falls
        gnorm = _norm(g)
        gnorm0 = np.where(np.isnan(gnorm0), np.maximum(gnorm, EPS), gnorm0)
        eta = np.minimum(CG_ETA_MAX, np.sqrt(np.minimum(_norm(f) / fnorm0, gnorm / gnorm0)))
        with np.errstate(all="ignore"):
            delta, jdelta = model.damped_step(x, f, g, j, mu, eta)
            # Where the damping is still above its starting level, the undamped
            # (Newton) step is tried too: mu I damps the directions of small
            # singular values, along which LM alone crawls in curved valleys.
            probed = np.full(m, not model.newton_probe)  # rows whose Newton step was tried (all: no probe)
            if model.newton_probe:
                probed = mu > LM_TAU * model.initial_damping(x, j)
            probe = np.flatnonzero(probed)
            delta_newton = model.newton_step(x[probe], f[probe], j[probe])
            trials = np.concatenate([x + delta, x[probe] + delta_newton])
            f_trials = system.residual(trials)
            q_trials = 0.5 * _dot(f_trials, f_trials)
            newton = np.zeros(m, dtype=bool)
            newton[probe] = q_trials[m:] < q_trials[probe]  # False where NaN
            pick = np.arange(m)
            pick[probe] = np.where(newton[probe], np.arange(m, m + probe.size), probe)
            xt, ft, qt = trials[pick], f_trials[pick], q_trials[pick]
            delta[newton] = delta_newton[newton[probe]]
            # gain ratio: actual decrease of q over the decrease -g.δ - ½|Jδ|²
            # of its quadratic model; a better Newton step counts as perfect
            predicted = -_dot(g, delta) - 0.5 * _dot(jdelta, jdelta)
            rho = np.where(newton, 1.0, (q - qt) / predicted)
        descent = qt < q  # False where qt is NaN
        # On the rounding floor of q (a slow point), progress is a smaller |grad q|.
        flat = np.flatnonzero(~descent & (qt <= q * (1.0 + 4.0 * EPS)))
        j_flat = j[:0]
        if flat.size:
            j_flat = model.evaluate(xt[flat])
            with np.errstate(all="ignore"):
                smaller = _norm(model.gradient(xt[flat], ft[flat], j_flat)) < _norm(g[flat])
            flat, j_flat = flat[smaller], j_flat[smaller]
        accept = descent.copy()
        accept[flat] = True
        # Accepted: move, re-evaluate J, relax the damping (kept on the floor).
        if descent.all():  # the common case early on: no copies
            x, f, q, j = xt, ft, qt, model.evaluate(xt)
        else:
            x[accept], f[accept], q[accept] = xt[accept], ft[accept], qt[accept]
            j[descent] = model.evaluate(xt[descent])
            j[flat] = j_flat
        step[accept] = _norm(delta[accept])
        mu[descent] *= np.fmax(1.0 / 3.0, 1.0 - (2.0 * rho[descent] - 1.0) ** 3)
        nu[accept] = 2.0
        # Rejected: stiffen the damping.
        mu[~accept] *= nu[~accept]
        nu[~accept] *= 2.0
        rejected = ~accept
        # Stop rows that became unhealthy, or whose rejected step is below rounding
        # after the Newton step was tried too: under a large starting damping
        # (stiff F) the damped step is below rounding long before mu grows
        # past its starting level, where the probe starts.
        stalled = ~accept & probed & (_norm(delta) <= EPS * (_norm(x) + EPS * length))
        going = ~stalled
        going[accept] = _healthy(model, x[accept], f[accept], j[accept], trust)
        if not going.all():
            retire(going)
    timed_out = bool(rows.size) and iterations < max_iter
    X[rows], F[rows], AUX[rows] = x, f, j
    return LMResult(X, F, AUX, iterations, _resolve_chains(leader), merged_rows, timed_out)


class _KnownZeros:
    """Distinct zeros (x, F) known so far, for early merging (see levenberg_marquardt)."""

    def __init__(self, n: int, radius: float, cap: float, zeros: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.x, self.f = zeros if zeros is not None else (np.zeros((0, n)), np.zeros((0, n)))
        self.radius, self.cap = radius, cap
        self._tree = cKDTree(self.x)

    def add(self, x: np.ndarray, f: np.ndarray) -> None:
        """Add the zeros that are not within the merge radius of a known one."""
        if len(x) and len(self.x):
            new = self._tree.query(x, distance_upper_bound=self.radius)[0] > self.radius
            x, f = x[new], f[new]
        if len(x):
            distinct = np.unique(cluster(x, _dot(f, f), np.ones(len(x), dtype=bool), self.radius))
            self.x, self.f = np.concatenate([self.x, x[distinct]]), np.concatenate([self.f, f[distinct]])
            self._tree = cKDTree(self.x)

    def merge(
        self, x: np.ndarray, f: np.ndarray, q: np.ndarray, step: np.ndarray, tol: float, candidate: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which working rows merge, and the row each follows (-1: none).

        Rows that merge into a known zero get its (x, F) written into ``x``
        and ``f`` in place.  Converging rows are clustered with the radius
        min(cap, merge radius + 4 median |δ|) and follow their cluster's
        lowest q.
        """
        m = len(x)
        merged = np.zeros(m, dtype=bool)
        lead = np.full(m, -1)
        near = np.flatnonzero(candidate & (_norm(f) <= np.sqrt(tol)))
        if not near.size:
            return merged, lead
        if len(self.x):
            d, k = self._tree.query(x[near], distance_upper_bound=self.cap)
            hit = d <= np.minimum(self.cap, self.radius + 4.0 * step[near])
            x[near[hit]], f[near[hit]] = self.x[k[hit]], self.f[k[hit]]
            merged[near[hit]] = True
            near = near[~hit]
        if near.size > 1:
            r = min(self.cap, self.radius + 4.0 * float(np.median(step[near])))
            best = near[cluster(x[near], q[near], np.zeros(near.size, dtype=bool), r)]
            follows = best != near
            merged[near[follows]] = True
            lead[near[follows]] = best[follows]
        return merged, lead


def _resolve_chains(leader: np.ndarray) -> np.ndarray:
    """Follow leader -> leader's leader ... to a row without one (pointer jumping)."""
    while True:
        has = leader >= 0
        nxt = np.where(has, leader[np.where(has, leader, 0)], -1)
        further = has & (nxt >= 0)
        if not further.any():
            return leader
        leader = np.where(further, nxt, leader)


def polish(model: JacobianModel, X: np.ndarray, F: np.ndarray, AUX: np.ndarray, tol: float, rows: np.ndarray) -> None:
    """Newton steps on F = 0 from ``rows`` of X (in place), while |F| decreases.

    A row that does not reach a zero (:func:`is_zero`) keeps its input values.
    """
    Xp, Fp, Jp = X[rows], F[rows], AUX[rows]
    fp = _norm(Fp)
    active = np.flatnonzero(fp > 0)
    for _ in range(NEWTON_MAX_ITER):
        if not active.size:
            break
        with np.errstate(all="ignore"):
            Xt = Xp[active] + model.newton_step(Xp[active], Fp[active], Jp[active])
            Ft = model.system.residual(Xt)
        ft = _norm(Ft)
        better = ft < fp[active]  # False where ft is NaN
        b = active[better]
        Xp[b], Fp[b], fp[b] = Xt[better], Ft[better], ft[better]
        Jp[b] = model.evaluate(Xp[b])
        active = b[(fp[b] > 0) & model.finite(Jp[b])]
    done = is_zero(model, Xp, Fp, Jp, tol)
    X[rows[done]], F[rows[done]], AUX[rows[done]] = Xp[done], Fp[done], Jp[done]


# ------------------------------------------------------------------ helpers
def cluster(X: np.ndarray, q: np.ndarray, is_fixed: np.ndarray, radius: float | np.ndarray) -> np.ndarray:
    """For each point, the index of its cluster's representative.

    ``radius`` is one r for all points or an r_i per point.  Every two
    points closer than max(r_a, r_b) end up in one cluster (points up to
    6 max(r_a, r_b) apart may too).  Many starts converge to the same few
    points, so each point is first binned into cubes of diameter R_i, r_i
    rounded up to a power of two; the bins' representatives are joined when
    closer than 3 max(R_a, R_b) (``cKDTree.query_pairs`` per level R, in a
    loop over the few distinct levels, and connected components of the
    pair graph), which covers every pair of points closer than max(r_a,
    r_b).  A cluster's representative is a fixed point if it has one, then
    the one with the lowest q, then the lexicographically smallest.
    ``np.unique`` of the result gives the representatives.
    """
    m, n = X.shape
    if m == 0:
        return np.zeros(0, dtype=int)
    level = np.exp2(np.ceil(np.log2(np.broadcast_to(np.asarray(radius, dtype=float), (m,)))))
    preference = np.lexsort((*X.T[::-1], q, ~is_fixed))  # best first
    keys = np.column_stack([level, np.floor(X * (np.sqrt(n) / level[:, None]))])
    _, first, in_bin = np.unique(keys[preference], axis=0, return_index=True, return_inverse=True)
    reps = preference[first]  # the best point of each bin
    pairs = [np.zeros((0, 2), dtype=int)]
    for r in np.unique(level[reps]):  # a loop over the distinct radius levels
        sub = np.flatnonzero(level[reps] <= r)
        p = sub[cKDTree(X[reps[sub]]).query_pairs(3 * r, output_type="ndarray").reshape(-1, 2)]
        pairs.append(p[np.max(level[reps[p]], axis=1) == r])
    pairs = np.concatenate(pairs)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(reps), len(reps)))
    n_clusters, label = connected_components(graph, directed=False)
    order = np.argsort(first, kind="stable")  # bins by their best point's preference
    best = np.empty(n_clusters, dtype=int)
    best[label[order[::-1]]] = reps[order[::-1]]  # the last write wins: the most preferred bin
    rep_of = np.empty(m, dtype=int)
    rep_of[preference] = best[label[in_bin.ravel()]]
    return rep_of


def solve_batch(A: np.ndarray, b: np.ndarray) -> np.ndarray:
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


def _dot(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Row-wise inner products of two (B, n) batches."""
    return np.einsum("bi,bi->b", U, V)


def _norm(V: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of a (B, n) batch."""
    return np.sqrt(_dot(V, V))


def inside(X: np.ndarray, region: np.ndarray | None, radius: float = 0.0) -> np.ndarray:
    """Which rows of X lie in the box ``region`` widened by ``radius`` (all when None)."""
    if region is None:
        return np.ones(len(X), dtype=bool)
    return np.all((X >= region[:, 0] - radius) & (X <= region[:, 1] + radius), axis=1)


def _healthy(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """Rows with finite F, q = ½|F|² and Jacobian inside the ``trust`` box."""
    with np.errstate(over="ignore"):
        return np.isfinite(_dot(F, F)) & model.finite(aux) & inside(X, trust)


def rounding_noise(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray) -> np.ndarray:
    """The rounding noise of F at each row of X, measured.

    Two probes move every coordinate by h_j = ±NOISE_ULPS eps |x_j| (signs
    (+, +, ...) and (-, +, -, ...), fixed, so a row's value does not depend
    on the batch), over which F is linear to far below rounding; what
    F(x + h) - F(x) - DF(x) h shows is the rounding error of the two
    evaluations of F.  Returns the larger |.| of the two probes per row.
    """
    m, n = X.shape
    signs = np.stack([np.ones(n), np.where(np.arange(n) % 2 == 0, -1.0, 1.0)])
    H = (NOISE_ULPS * EPS) * np.abs(X)[None, :, :] * signs[:, None, :]  # (2, m, n)
    with np.errstate(all="ignore"):
        moved = model.system.residual((X[None] + H).reshape(2 * m, n)).reshape(2, m, n)
        linear = np.stack([model.apply(X, aux, h) for h in H])  # two probes, each a batched product
        return np.max(_norm((moved - F[None] - linear).reshape(2 * m, n)).reshape(2, m), axis=0)


def is_zero(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, tol: float) -> np.ndarray:
    """Rows where F vanishes: |F| <= tol, or |F| <= NOISE_FACTOR times its
    :func:`rounding_noise` (an absolute ``tol`` below the rounding error of
    F, e.g. of a stiff system or of large cancelling terms, is unreachable:
    such a point is a zero as far as float64 can tell)."""
    with np.errstate(over="ignore", invalid="ignore"):
        fnorm = _norm(F)
    zero = fnorm <= tol
    rest = np.flatnonzero(~zero & np.isfinite(fnorm))
    if rest.size:
        zero[rest] = fnorm[rest] <= NOISE_FACTOR * rounding_noise(model, X[rest], F[rest], aux[rest])
    return zero


def _converged(
    model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, g: np.ndarray, jnorm: np.ndarray,
    tol: float, gtol: float, length: float, rejected: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that stop, and those of them that are zeros (:func:`is_zero`).

    A row stops at a zero (|F| <= tol; or, after a rejected step, zero to
    rounding) or where it is :func:`stationary`.  |g| <= gtol |F| (||J||_F
    + |F| / L) is necessary for stationarity and cheap: it is checked first,
    with the cached ``jnorm`` (||J||_F per row, times 10), which is
    re-evaluated (and updated in place) only for the rows it lets pass.
    """
    with np.errstate(all="ignore"):  # huge but finite rows overflow to inf here, harmlessly
        fnorm, gnorm = _norm(F), _norm(g)
        zero = fnorm <= tol
        noisy = np.flatnonzero(~zero & rejected)
        if noisy.size:
            zero[noisy] = is_zero(model, X[noisy], F[noisy], aux[noisy], tol)
        maybe = np.flatnonzero(~zero & (gnorm <= gtol * fnorm * (10.0 * jnorm + fnorm / length)))
        if maybe.size:
            jnorm[maybe] = model.frobenius(X[maybe], aux[maybe])
            maybe = maybe[gnorm[maybe] <= gtol * fnorm[maybe] * (jnorm[maybe] + fnorm[maybe] / length)]
        done = zero.copy()
        if maybe.size:
            done[maybe] = stationary(model, X[maybe], F[maybe], aux[maybe], g[maybe], gtol, length)
        return done, zero


def stationary(
    model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, g: np.ndarray, gtol: float, length: float
) -> np.ndarray:
    """Rows where g = grad q = J^T F is negligible, direction by direction.

    With the singular values s_k of J and a_k = u_k . F the part of F in
    the range of J along its k-th left singular vector, g = sum s_k a_k v_k;
    a row is stationary when

        g^T (J^T J + c² I)^{-1} g = sum_k a_k² s_k² / (s_k² + c²) <= gtol² |F|²,
        c = |F| / L,

    i.e. when the part of F that the Jacobian could remove is negligible
    against |F|, counting each direction with weight s_k² / (s_k² + c²):
    fully where J acts (s_k >> c), not where it vanishes (s_k << c, as at
    the slow point x = 0 of dx/dt = 1 + x²).  Unlike a test of |g| against
    ||J|| |F|, it does not call a point stationary because J is large in
    some other direction (a stiff system).  The quadratic form is -g . delta
    for the Levenberg-Marquardt step delta with damping c² (CGLS to relative
    residual STATIONARY_ETA for the matrix-free model), or, for the dense
    model, the sum by the SVD of J.
    """
    fnorm = _norm(F)
    with np.errstate(all="ignore"):
        return model.removable(X, F, aux, g, (fnorm / length) ** 2) <= (gtol * fnorm) ** 2
