"""When a point counts as a zero of F, when as a stationary point of q = ½|F|², when as saturated.

The Levenberg-Marquardt loop stops rows by these tests, and the numeric
method classifies its final points by them (fixed: :func:`is_zero`; slow:
:func:`stationary`; saturated: :func:`saturated`).
"""
from __future__ import annotations

import numpy as np

from .common import EPS, row_dot, row_norm
from .jacobians import JacobianModel

NOISE_ULPS = 16.0  # probes of the rounding noise of F move each x_j by NOISE_ULPS eps |x_j|
NOISE_FACTOR = 8.0  # F is zero to rounding when |F| <= NOISE_FACTOR times its measured noise
SATURATION_RTOL = 0.1  # saturated: along DF's flattest direction, F's slope and curvature below this times their scale
SATURATION_PROBE = 1e-3  # ... the curvature measured by a second difference of step SATURATION_PROBE * L


def rounding_noise(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray) -> np.ndarray:
    """The rounding noise of F at each row of X, measured.

    Two probes move every coordinate by h_j = ±NOISE_ULPS eps |x_j| (signs
    (+, +, ...) and (-, +, -, ...), fixed, so a row's value does not depend
    on the batch), over which F is linear to far below rounding; what
    F(x + h) - F(x) - DF(x) h shows is the rounding error of the two
    evaluations of F.  Returns the larger |.| of the two probes per row.

    Parameters
    ----------
    model : JacobianModel
    X, F : ndarray of shape (B, n)
        Points and F there.
    aux : ndarray
        The model's state at X (``model.evaluate(X)``).

    Returns
    -------
    ndarray of shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import models
    >>> from dynsys.fixed_points.jacobians import DenseJacobian
    >>> model = DenseJacobian(models.duffing())
    >>> X = np.array([[1.0, 0.0]])
    >>> bool(rounding_noise(model, X, model.system.residual(X), model.evaluate(X))[0] < 1e-14)
    True
    """
    m, n = X.shape
    signs = np.stack([np.ones(n), np.where(np.arange(n) % 2 == 0, -1.0, 1.0)])
    H = (NOISE_ULPS * EPS) * np.abs(X)[None, :, :] * signs[:, None, :]  # (2, m, n)
    with np.errstate(all="ignore"):
        moved = model.system.residual((X[None] + H).reshape(2 * m, n)).reshape(2, m, n)
        linear = np.stack([model.apply(X, aux, h) for h in H])  # two probes, each a batched product
        return np.max(row_norm((moved - F[None] - linear).reshape(2 * m, n)).reshape(2, m), axis=0)


def is_zero(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, tol: float) -> np.ndarray:
    """Rows where F vanishes: |F| <= tol, or |F| <= NOISE_FACTOR times its
    :func:`rounding_noise` (an absolute ``tol`` below the rounding error of
    F, e.g. of a stiff system or of large cancelling terms, is unreachable:
    such a point is a zero as far as float64 can tell).

    Parameters
    ----------
    model : JacobianModel
    X, F : ndarray of shape (B, n)
    aux : ndarray
        The model's state at X.
    tol : float
        Absolute tolerance on |F|.

    Returns
    -------
    ndarray of bool, shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import models
    >>> from dynsys.fixed_points.jacobians import DenseJacobian
    >>> model = DenseJacobian(models.duffing())
    >>> X = np.array([[1.0, 0.0], [0.5, 0.0]])
    >>> is_zero(model, X, model.system.residual(X), model.evaluate(X), tol=1e-10).tolist()
    [True, False]
    """
    with np.errstate(over="ignore", invalid="ignore"):
        fnorm = row_norm(F)
    zero = fnorm <= tol
    rest = np.flatnonzero(~zero & np.isfinite(fnorm))
    if rest.size:
        zero[rest] = fnorm[rest] <= NOISE_FACTOR * rounding_noise(model, X[rest], F[rest], aux[rest])
    return zero


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
    some other direction (a stiff system).  The quadratic form is
    ``model.removable``: -g . delta for the Levenberg-Marquardt step delta
    with damping c² (CGLS to relative residual STATIONARY_ETA for the
    matrix-free model), or, for the dense model, the sum by the SVD of J.

    Parameters
    ----------
    model : JacobianModel
    X, F, g : ndarray of shape (B, n)
        Points, F and grad q there.
    aux : ndarray
        The model's state at X.
    gtol : float
        Relative tolerance (``slow_gtol`` of :func:`dynsys.find_fixed_points`).
    length : float
        L, the length scale of the search.

    Returns
    -------
    ndarray of bool, shape (B,)

    Examples
    --------
    The slow point x = 0 of dx/dt = 1 + x² is stationary; x = 1 is not:

    >>> import numpy as np
    >>> from dynsys import System
    >>> from dynsys.fixed_points.jacobians import DenseJacobian
    >>> model = DenseJacobian(System.from_strings({"x": "1 + x**2"}))
    >>> X = np.array([[0.0], [1.0]])
    >>> F, J = model.system.residual(X), model.evaluate(X)
    >>> stationary(model, X, F, J, model.gradient(X, F, J), gtol=1e-8, length=1.0).tolist()
    [True, False]
    """
    fnorm = row_norm(F)
    with np.errstate(all="ignore"):
        return model.removable(X, F, aux, g, (fnorm / length) ** 2) <= (gtol * fnorm) ** 2


def saturated(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, length: float) -> np.ndarray:
    """Rows in a saturated region: F is flat, to first and second order, along the flattest direction of DF.

    With s_n the smallest singular value of J = DF(x) and v_n its right
    singular vector, s = ||J||_F / sqrt(n) (the root mean square singular
    value: the scale of J at x) and the curvature of F along v_n in the
    direction of F,

        kappa = |F . (F(x + h v_n) + F(x - h v_n) - 2 F(x))| / (|F| h²),   h = SATURATION_PROBE L,

    a row is saturated when

        s_n <= SATURATION_RTOL |F| / L   and   kappa <= SATURATION_RTOL s / L:

    along v_n, F changes by less than a tenth of itself over the length
    scale L to first order and does not curve on the scale on which J acts
    in the other directions.  This is what a saturating gate does: where
    the update gate z_k of a GRU (or the input and forget gates of an LSTM)
    approaches 1, h_k' = z_k h_k + (1 - z_k) n_k -> h_k, and the component
    F_k with its gradient and its curvature all carry the factor 1 - z_k;
    q decreases towards such a region without a zero (a unit held outside
    the range of its candidate, |h_k| > 1 > |n_k|, can only stop moving as
    z_k -> 1), so slowly that Levenberg-Marquardt crawls there for hundreds
    of iterations, and where q has a local minimum in it, that minimum is
    no slow point of the dynamics but a gate held shut.  Not saturated: a
    slow point of the usual kind, the ghost of a saddle-node such as x = 0
    of dx/dt = c + x², where DF is singular but F curves along v_n (kappa = 2
    there); a point where J vanishes altogether (s = 0, as in one dimension:
    there is no other direction to be flat against); a stiff system, whose
    slow directions still move F at a rate comparable to |F| / L.

    Only the dense Jacobian model has the SVD to test: with another model
    (``model.name != "dense"``) no row is saturated.

    Parameters
    ----------
    model : JacobianModel
    X, F : ndarray of shape (B, n)
        Points and F there (a zero, F = 0, has no direction: never saturated).
    aux : ndarray
        The model's state at X (DF for the dense model).
    length : float
        L, the length scale of the search.

    Returns
    -------
    ndarray of bool, shape (B,)

    Examples
    --------
    The unit x of F = (e^-y, 15 - y/2) moves at a speed that the gate e^-y,
    closed at y = 30, makes tiny (e^-30), and nothing along x changes it: a
    saturated region (a line of them), with no zero.  The ghost x = 0 of
    F = (0.01 + x², -y) is a slow point, not saturated:

    >>> import numpy as np
    >>> from dynsys import System
    >>> from dynsys.fixed_points.jacobians import DenseJacobian
    >>> gate = System.from_strings({"x": "exp(-y)", "y": "15 - y / 2"})
    >>> ghost = System.from_strings({"x": "0.01 + x**2", "y": "-y"})
    >>> for system, x in ((gate, [[3.0, 30.0]]), (ghost, [[0.0, 0.0]])):
    ...     model, X = DenseJacobian(system), np.array(x)
    ...     print(saturated(model, X, system.residual(X), model.evaluate(X), length=1.0).tolist())
    [True]
    [False]
    """
    out = np.zeros(len(X), dtype=bool)
    if model.name != "dense":
        return out
    with np.errstate(all="ignore"):
        fnorm = row_norm(F)
        scale = np.sqrt(np.einsum("bij,bij->b", aux, aux) / X.shape[1])
    rows = np.flatnonzero((fnorm > 0) & np.isfinite(fnorm) & (scale > 0) & np.isfinite(scale))
    if not rows.size:
        return out
    _, s, Vt = np.linalg.svd(aux[rows])
    v, h = Vt[:, -1], SATURATION_PROBE * length
    with np.errstate(all="ignore"):
        both = model.system.residual(np.concatenate([X[rows] + h * v, X[rows] - h * v]))
        second = both[: rows.size] + both[rows.size :] - 2.0 * F[rows]
        kappa = np.abs(row_dot(F[rows], second)) / (fnorm[rows] * h**2)
        out[rows] = (s[:, -1] <= SATURATION_RTOL * fnorm[rows] / length) & (
            kappa <= SATURATION_RTOL * scale[rows] / length)
    return out
