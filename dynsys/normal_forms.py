"""Normal-form coefficients that tell how a fixed point bifurcates.

At a bifurcation point x of a flow x' = f(x) or a map x -> g(x), the
critical eigenvalues of A = Df(x) (or Dg(x)) decide *where* the point
bifurcates, and one coefficient of the normal form on the centre manifold
decides *how*: whether the new orbits (a limit cycle, a period-two cycle, the
second fixed point of a fold) appear on the stable or the unstable side.
Following Yu. A. Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed.,
Springer 2004 (sections 3.5, 4.4, 5.4 and 8.7), with

    F(x + u) = F(x) + A u + B(u, u) / 2 + C(u, u, u) / 6 + O(|u|^4),

B and C the symmetric multilinear forms of the second and third derivatives,
extended complex-linearly to complex vectors (no conjugation), and the inner
product <p, q> = p^H q = sum conj(p_i) q_i:

- :func:`first_lyapunov_coefficient` (Hopf point of a flow, eigenvalues
  +-i omega; A q = i omega q, A^T p = -i omega p):

      l1 = Re[ <p, C(q, q, q̄)> - 2 <p, B(q, A^-1 B(q, q̄))>
               + <p, B(q̄, (2 i omega I - A)^-1 B(q, q))> ] / (2 omega)

  (Kuznetsov (3.20) and its n-dimensional form); l1 < 0: supercritical (a
  stable cycle is born), l1 > 0: subcritical.
- :func:`flip_coefficient` (a map with the multiplier -1; A q = -q,
  A^T p = -p):

      c = <p, C(q, q, q)> / 6 - <p, B(q, (A - I)^-1 B(q, q))> / 2

  (Kuznetsov (4.17) and (8.21)); on the centre manifold the map is
  xi -> -xi + c xi^3 + O(xi^4) after removing the quadratic term, and c > 0 is
  supercritical (a stable period-two cycle is born where the fixed point
  loses stability), c < 0 subcritical.
- :func:`neimark_sacker_coefficient` (a map with the multipliers
  exp(+-i theta); A q = exp(i theta) q, A^T p = exp(-i theta) p):

      d = Re{ exp(-i theta) [ <p, C(q, q, q̄)> + 2 <p, B(q, (I - A)^-1 B(q, q̄))>
              + <p, B(q̄, (exp(2 i theta) I - A)^-1 B(q, q))> ] } / 2

  (Kuznetsov section 5.4); d < 0 supercritical (a stable invariant circle),
  d > 0 subcritical.
- :func:`fold_coefficient` (a flow with the eigenvalue 0, a map with the
  multiplier 1; A q = 0 or q, A^T p = 0 or p):

      a = <p, B(q, q)> / 2

  the coefficient of xi' = beta + a xi^2 (flow) or xi -> xi + beta + a xi^2
  (map) in x = x* + xi q; a != 0 makes the fold non-degenerate.

Normalisation.  q and p are scaled so that <q, q> = 1 and <p, q> = 1, as
Kuznetsov (section 8.7) and MatCont do.  The coefficients are not invariant
under every change of coordinates: q -> s q (p -> p / conj(s)) multiplies l1,
c and d by |s|^2 and a by s, so only their signs (with the orientation of q, for
a) are coordinate-free.  Under a change of coordinates y = M x + b the unit
vector q of x becomes M q / |M q|, hence

    l1_y |M q|^2 = l1_x,    c_y |M q|^2 = c_x,    d_y |M q|^2 = d_x,    a_y |M q| = +-a_x,

and the values are invariant under translations and orthogonal M.  For the
Hopf normal form x' = mu x - w y + a x (x^2 + y^2), y' = w x + mu y +
a y (x^2 + y^2) (z = x + i y: z' = (mu + i w) z + a z |z|^2) at mu = 0 the
unit eigenvector q = (1, -i) / sqrt 2 gives C(q, q, q̄) = 4 a q and B = 0, so
l1 = 2 a / w: Kuznetsov's normalisation differs by the factor 2 / w from the
coefficient a of the normal form (a factor 2 from |q| = 1 where z = x + i y
has |q| = 1 / sqrt 2, and 1 / w from rescaling time to unit frequency).

Derivatives.  For systems built from formulas (``system.exprs``) B and C are
exact: sympy differentiates the formulas (only in the states each formula
uses, so sparse systems stay cheap) and the derivatives are evaluated at x
and the current parameters.  Otherwise (callables, recurrent networks) they
are central differences of Jacobian-vector products ``system.jvp`` along
real unit directions, with one Richardson extrapolation (steps h and h/2):

    B(u, v) ~ [J(x + h v) - J(x - h v)] u / (2 h),                 h = 2e-3 s
    C(u, v, w) ~ [J(x + h v + h w) - J(x + h v - h w)
                  - J(x - h v + h w) + J(x - h v - h w)] u / (4 h^2),  h = 1e-2 s

with s = max(1, |x|_inf) and complex arguments split into real and
imaginary parts.  The truncation error after extrapolation is O(h^4); the
rounding error is about delta / h for B and delta / h^2 for C, where delta is
the relative error of one product J u: the machine epsilon for an analytic
Jacobian or network, about eps^(2/3) ~ 4e-11 where the product is itself a
central difference of f.  Measured against the exact coefficients (tests):
with an analytic Jacobian the coefficients agree to 1e-12 (Brusselator,
Lorenz, logistic) and, for a tanh network, whose higher derivatives are
large, to 2e-8; from f alone to 1e-9 to 2e-7 relative (Lorenz 1.3e-7,
Brusselator at A = 2 2.1e-7, delayed logistic map 4e-8).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
import sympy as sp

from ._validate import check_real
from .systems import System, check_system

STEP_SECOND = 2e-3  # relative step of the differences for B
STEP_THIRD = 1e-2  # relative step of the differences for C


# -------------------------------------------------------------- derivatives
@runtime_checkable
class Derivatives(Protocol):
    """The Jacobian A and the multilinear forms B, C of f (flow) or g (map) at one point.

    What :func:`derivatives` returns, exact or by differences; the
    coefficients of this module use nothing else.

    Examples
    --------
    >>> d = derivatives(System.from_strings({"x": "x**3"}), [1.0])
    >>> isinstance(d, Derivatives), d.jacobian, d.second([1], [1]).real, d.third([1], [1], [1]).real
    (True, array([[3.]]), array([6.]), array([6.]))
    """

    x: np.ndarray
    jacobian: np.ndarray

    def second(self, u: Any, v: Any) -> np.ndarray:
        """B(u, v), complex (n,)."""

    def third(self, u: Any, v: Any, w: Any) -> np.ndarray:
        """C(u, v, w), complex (n,)."""


@dataclass(frozen=True)
class ExactDerivatives:
    """B and C from the formulas of a system, differentiated by sympy.

    Attributes
    ----------
    x : ndarray (n,)
    jacobian : ndarray (n, n)
        Df(x) or Dg(x).
    second_index, second_values : ndarray (m2, 3) of int, ndarray (m2,)
        The non-zero d^2 f_i / dx_j dx_k at x, with j <= k, and their rows (i, j, k).
    third_index, third_values : ndarray (m3, 4) of int, ndarray (m3,)
        The non-zero d^3 f_i / dx_j dx_k dx_l at x, with j <= k <= l, and their rows (i, j, k, l).

    Examples
    --------
    f(x, y) = (x^2 y, -y): B(u, v) = (2 y u_x v_x + 2 x (u_x v_y + u_y v_x), 0)
    and C(u, v, w)_1 = 2 (u_x v_x w_y + u_x v_y w_x + u_y v_x w_x):

    >>> s = System.from_strings({"x": "x**2*y", "y": "-y"})
    >>> d = derivatives(s, [1.0, 2.0])
    >>> d.second([1, 0], [0, 1]).real  # d^2 f / dx dy = 2x
    array([2., 0.])
    >>> d.third([1, 0], [1, 0], [0, 1]).real
    array([2., 0.])
    >>> d.third_index, d.third_values  # d^3 f_0 / dx dx dy = 2
    (array([[0, 0, 0, 1]]), array([2.]))
    """

    x: np.ndarray
    jacobian: np.ndarray
    second_index: np.ndarray
    second_values: np.ndarray
    third_index: np.ndarray
    third_values: np.ndarray

    def second(self, u: Any, v: Any) -> np.ndarray:
        u, v = np.asarray(u, complex), np.asarray(v, complex)
        i, j, k = self.second_index.T
        # sum over the distinct orderings of {j, k}: both when j < k, one when j = k
        terms = self.second_values * np.where(j == k, u[j] * v[k], u[j] * v[k] + u[k] * v[j])
        return np.bincount(i, terms.real, len(self.x)) + 1j * np.bincount(i, terms.imag, len(self.x))

    def third(self, u: Any, v: Any, w: Any) -> np.ndarray:
        u, v, w = (np.asarray(a, complex) for a in (u, v, w))
        i, j, k, l = self.third_index.T
        # the distinct orderings of {j, k, l}: all six divided by the repetitions (2 for j = k < l, 6 for j = k = l)
        every = sum(u[a] * v[b] * w[c] for a, b, c in _permutations(j, k, l))
        repeats = np.where((j == k) & (k == l), 6, np.where((j == k) | (k == l), 2, 1))
        terms = self.third_values * every / repeats
        return np.bincount(i, terms.real, len(self.x)) + 1j * np.bincount(i, terms.imag, len(self.x))


def _permutations(j: Any, k: Any, l: Any) -> tuple[tuple[Any, Any, Any], ...]:
    return ((j, k, l), (j, l, k), (k, j, l), (k, l, j), (l, j, k), (l, k, j))


@dataclass(frozen=True)
class DifferencedDerivatives:
    """B and C by central differences of ``system.jvp``, Richardson-extrapolated.

    See the module docstring for the formulas, the steps and their accuracy.

    Attributes
    ----------
    system : System
    x : ndarray (n,)
    jacobian : ndarray (n, n)
        Df(x) or Dg(x), as ``system.jacobian`` gives it.

    Examples
    --------
    The same f(x, y) = (x^2 y, -y) as a plain callable: B and C agree with the
    exact values 2x = 2 and 2 to about 1e-7.

    >>> f = lambda X: np.stack([X[:, 0] ** 2 * X[:, 1], -X[:, 1]], axis=1)
    >>> s = System.from_callable(f, 2, vectorized=True)
    >>> d = derivatives(s, [1.0, 2.0])
    >>> np.round(d.second([1, 0], [0, 1]).real, 6)
    array([2., 0.])
    >>> np.round(d.third([1, 0], [1, 0], [0, 1]).real, 5)
    array([2., 0.])
    """

    system: System
    x: np.ndarray
    jacobian: np.ndarray

    @property
    def _scale(self) -> float:
        return max(1.0, float(np.abs(self.x).max()))

    def _products(self, shifts: np.ndarray, u: np.ndarray) -> np.ndarray:
        """J(x + shift_k) u for every row of ``shifts`` (K, n), u complex: (K, n) complex."""
        K = len(shifts)
        X = np.repeat(self.x[None, :] + shifts, 2, axis=0)
        V = np.tile(np.stack([u.real, u.imag]), (K, 1))
        out = self.system.jvp(X, V).reshape(K, 2, -1)
        return out[:, 0] + 1j * out[:, 1]

    def second(self, u: Any, v: Any) -> np.ndarray:
        u, v = np.asarray(u, complex), np.asarray(v, complex)
        return sum(
            (c * self._along(u, d) for c, d in ((1.0, v.real), (1j, v.imag)) if np.any(d)),
            np.zeros(len(self.x), complex),
        )

    def _along(self, u: np.ndarray, d: np.ndarray) -> np.ndarray:
        """B(u, d) for a real direction d."""
        size = np.linalg.norm(d)
        e = d / size
        h = STEP_SECOND * self._scale * np.array([1.0, 0.5])
        P = self._products(np.concatenate([h[:, None] * e, -h[:, None] * e]), u)
        D = (P[:2] - P[2:]) / (2 * h[:, None])
        return size * (4 * D[1] - D[0]) / 3

    def third(self, u: Any, v: Any, w: Any) -> np.ndarray:
        u, v, w = (np.asarray(a, complex) for a in (u, v, w))
        out = np.zeros(len(self.x), complex)
        for cv, dv in ((1.0, v.real), (1j, v.imag)):
            for cw, dw in ((1.0, w.real), (1j, w.imag)):
                if np.any(dv) and np.any(dw):
                    out += cv * cw * self._across(u, dv, dw)
        return out

    def _across(self, u: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
        """C(u, d1, d2) for real directions d1, d2."""
        s1, s2 = np.linalg.norm(d1), np.linalg.norm(d2)
        e1, e2 = d1 / s1, d2 / s2
        h = STEP_THIRD * self._scale * np.array([1.0, 0.5])
        signs = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], float)  # (4, 2): weights +, -, -, +
        shifts = (h[:, None, None] * (signs[None, :, :1] * e1 + signs[None, :, 1:] * e2)).reshape(8, -1)
        P = self._products(shifts, u).reshape(2, 4, -1)
        D = (P[:, 0] - P[:, 1] - P[:, 2] + P[:, 3]) / (4 * h[:, None] ** 2)
        return s1 * s2 * (4 * D[1] - D[0]) / 3


def derivatives(system: System, x: Any) -> ExactDerivatives | DifferencedDerivatives:
    """The Jacobian and the second and third derivatives of f (flow) or g (map) at ``x``.

    Exact (:class:`ExactDerivatives`) for a system with formulas, central
    differences of Jacobian-vector products otherwise
    (:class:`DifferencedDerivatives`).  The residual of a map, g(x) - x, has
    the same B and C as g.

    Parameters
    ----------
    system : System
    x : array_like (n,)

    Returns
    -------
    ExactDerivatives or DifferencedDerivatives
        with ``jacobian`` (n, n) and the forms ``second(u, v)`` and
        ``third(u, v, w)`` for complex vectors (n,), returning complex (n,).

    Examples
    --------
    The Lorenz flow has B(u, v) = (0, -(u_x v_z + u_z v_x), u_x v_y + u_y v_x)
    and C = 0:

    >>> from dynsys.models import lorenz
    >>> d = derivatives(lorenz(), [0.0, 0.0, 0.0])
    >>> d.second([1, 0, 0], [0, 1, 1j])
    array([0.+0.j, 0.-1.j, 1.+0.j])
    >>> d.third([1, 0, 0], [0, 1, 0], [0, 0, 1])
    array([0.+0.j, 0.+0.j, 0.+0.j])
    """
    check_system(system)
    x = _state(system, x)
    jacobian = system.jacobian(x)
    if not np.isfinite(jacobian).all():
        raise ValueError(f"the Jacobian of {system.name!r} at x = {x} is not finite")
    if system.exprs is None or system.symbols is None:
        return DifferencedDerivatives(system, x, jacobian)
    second, third = _compiled_derivatives(tuple(system.exprs), tuple(system.symbols), tuple(system.param_symbols or ()))
    args = (*x, *system.params.values())
    return ExactDerivatives(x, jacobian, *_evaluate(second, args), *_evaluate(third, args))


def _evaluate(compiled: tuple[np.ndarray, Callable[..., Any]], args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero derivatives at ``args``: their rows of indices and their values."""
    index, fn = compiled
    values = np.asarray(fn(*args), dtype=float).reshape(-1) if len(index) else np.zeros(0)
    if not np.isfinite(values).all():
        raise ValueError("the second or third derivatives are not finite at this point")
    keep = values != 0.0
    return index[keep], values[keep]


@lru_cache(maxsize=32)
def _compiled_derivatives(exprs: tuple, xs: tuple, ps: tuple) -> tuple:
    """The non-zero second and third derivatives of ``exprs`` (multi-indices sorted), lambdified."""
    position = {s: j for j, s in enumerate(xs)}
    seconds: dict[tuple[int, ...], sp.Expr] = {}
    thirds: dict[tuple[int, ...], sp.Expr] = {}
    for i, f in enumerate(exprs):
        for j in _states_in(f, position):
            fj = sp.diff(f, xs[j])
            for k in (k for k in _states_in(fj, position) if k >= j):
                fjk = sp.diff(fj, xs[k])
                seconds[(i, j, k)] = fjk
                for l in (l for l in _states_in(fjk, position) if l >= k):
                    thirds[(i, j, k, l)] = sp.diff(fjk, xs[l])
    return tuple(
        (
            np.array(list(table), dtype=int).reshape(len(table), size),
            sp.lambdify([*xs, *ps], list(table.values()), modules="numpy", cse=True),
        )
        for table, size in ((seconds, 3), (thirds, 4))
    )


def _states_in(expr: sp.Expr, position: dict) -> list[int]:
    return sorted(position[s] for s in expr.free_symbols if s in position)


def _state(system: System, x: Any) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.shape != (system.dim,) or not np.isfinite(arr).all():
        raise ValueError(f"x must be one finite state of shape ({system.dim},), got {x!r}")
    return arr


# ------------------------------------------------------- critical vectors
def _critical_vectors(A: np.ndarray, target: complex) -> tuple[np.ndarray, np.ndarray]:
    """q with A q = target q, <q, q> = 1, and p with A^T p = conj(target) p, <p, q> = 1."""
    w, V = np.linalg.eig(A)
    q = V[:, np.argmin(np.abs(w - target))]
    wt, U = np.linalg.eig(A.T)
    p = U[:, np.argmin(np.abs(wt - np.conj(target)))]
    q = q / np.linalg.norm(q)
    product = np.vdot(p, q)
    if abs(product) < 1e-12 * np.linalg.norm(p):
        raise ValueError(f"the eigenvalue {target:.6g} is not simple: <p, q> = 0 (a Jordan block)")
    return q, p / np.conj(product)


def _real_vectors(A: np.ndarray, target: float, what: str, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Real q, p for the real eigenvalue ``target``, q oriented so that its largest entry is positive."""
    w = np.linalg.eigvals(A)
    nearest = w[np.argmin(np.abs(w - target))]
    if abs(nearest - target) > tol * max(1.0, abs(target)):
        raise ValueError(f"x is not a {what} point: no eigenvalue {target:g} within tol = {tol:g}; "
                         f"the eigenvalues are {np.array2string(w, precision=6)}")
    q, p = _critical_vectors(A, target)
    phase = q[np.argmax(np.abs(q))]
    q, p = q * (abs(phase) / phase), p * (abs(phase) / phase)  # <p, q> stays 1
    return q.real, p.real


# ------------------------------------------------------------ coefficients
def first_lyapunov_coefficient(system: System, x: Any, omega: float | None = None, *, tol: float = 1e-6) -> float:
    """The first Lyapunov coefficient l1 of a flow at a Hopf point.

    Parameters
    ----------
    system : System
        A flow.
    x : array_like (n,)
        A fixed point where Df(x) has a simple pair of eigenvalues +-i omega.
    omega : float, optional
        The frequency of the pair, to choose it when there are several;
        by default the pair with Im > 0 nearest the imaginary axis.  The
        computation uses Im lambda of the chosen eigenvalue.
    tol : float, default 1e-6
        The chosen eigenvalue lambda must satisfy |Re lambda| <=
        tol max(1, |lambda|) (and, with ``omega``, |lambda - i omega| <=
        tol max(1, omega) + |Re lambda|).

    Returns
    -------
    float
        l1 in Kuznetsov's normalisation <q, q> = <p, q> = 1 (module
        docstring): l1 < 0 supercritical (a stable limit cycle of radius
        ~ sqrt(-mu' (p - p*) / (omega l1)) in the coordinate along q), l1 > 0
        subcritical.  For the Hopf normal form with cubic coefficient a and
        frequency w, l1 = 2 a / w.

    Raises
    ------
    ValueError
        For a map (its analogue is :func:`neimark_sacker_coefficient`), or
        when no pair within ``tol`` is purely imaginary with omega > 0 (a
        neutral saddle +-lambda or a double zero is not a Hopf point; the
        message lists the eigenvalues), or the pair is not simple, or Df(x)
        is singular (a zero-Hopf point).

    References
    ----------
    Yu. A. Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed.,
    Springer 2004, eq. (3.20) and section 8.7.

    Examples
    --------
    The Hopf normal form z' = (mu + i w) z + a z |z|^2 with a = -1, w = 2 at
    mu = 0: l1 = 2 a / w = -1, supercritical.

    >>> s = System.from_strings({"x": "-2*y - x*(x**2 + y**2)", "y": "2*x - y*(x**2 + y**2)"})
    >>> round(first_lyapunov_coefficient(s, [0.0, 0.0]), 12)
    -1.0
    >>> first_lyapunov_coefficient(System.from_strings({"x": "-x", "y": "-y"}), [0.0, 0.0])
    Traceback (most recent call last):
    ...
    ValueError: x is not a Hopf point: no pair of eigenvalues +-i omega within tol = 1e-06; the eigenvalues are [-1. -1.]
    """
    check_system(system)
    if system.kind != "flow":
        raise ValueError(f"first_lyapunov_coefficient needs a flow, got a {system.kind}; "
                         "a map's analogue is the Neimark-Sacker coefficient")
    tol = check_real(tol, "tol", positive=True)
    d = derivatives(system, x)
    A = d.jacobian
    lam = _hopf_eigenvalue(np.linalg.eigvals(A), omega, tol)
    w = float(lam.imag)
    q, p = _critical_vectors(A, 1j * w)
    n = len(q)
    try:
        steady = np.linalg.solve(A, d.second(q, q.conj()))
    except np.linalg.LinAlgError:
        raise ValueError("Df(x) has a zero eigenvalue besides the pair +-i omega (a zero-Hopf point), "
                         "where l1 is not defined") from None
    cubic = np.vdot(p, d.third(q, q, q.conj()))
    mean = np.vdot(p, d.second(q, steady))
    harmonic = np.vdot(p, d.second(q.conj(), np.linalg.solve(2j * w * np.eye(n) - A, d.second(q, q))))
    return float((cubic - 2 * mean + harmonic).real / (2 * w))


def _hopf_eigenvalue(w: np.ndarray, omega: float | None, tol: float) -> complex:
    upper = w[w.imag > tol * np.maximum(1.0, np.abs(w))]  # not a real pair (a neutral saddle) nor a double zero
    if omega is None:
        lam = upper[np.argmin(np.abs(upper.real))] if len(upper) else None
    else:
        omega = check_real(omega, "omega", positive=True)
        lam = upper[np.argmin(np.abs(upper - 1j * omega))] if len(upper) else None
        if lam is not None and abs(lam.imag - omega) > tol * max(1.0, omega) + abs(lam.real):
            lam = None
    if lam is None or abs(lam.real) > tol * max(1.0, abs(lam)):
        wanted = "+-i omega" if omega is None else f"+-{omega:g}i"
        raise ValueError(f"x is not a Hopf point: no pair of eigenvalues {wanted} within tol = {tol:g}; "
                         f"the eigenvalues are {np.array2string(w, precision=6)}")
    return complex(lam)


def flip_coefficient(system: System, x: Any, *, tol: float = 1e-6) -> float:
    """The normal-form coefficient c of a map's period doubling (flip) at ``x``.

    Parameters
    ----------
    system : System
        A map x -> g(x).
    x : array_like (n,)
        A fixed point where Dg(x) has the simple eigenvalue -1.
    tol : float, default 1e-6
        How close (relative to 1) an eigenvalue must be to -1.

    Returns
    -------
    float
        c = <p, C(q, q, q)> / 6 - <p, B(q, (A - I)^-1 B(q, q))> / 2 with
        <q, q> = <p, q> = 1: on the centre manifold the map is
        xi -> -(1 + beta) xi + c xi^3 after the quadratic term is removed.
        c > 0: supercritical (a stable period-two cycle appears as the fixed
        point loses stability), c < 0: subcritical.  In one dimension
        c = g''^2 / 4 + g''' / 6.

    Raises
    ------
    ValueError
        For a flow, or when no eigenvalue is within ``tol`` of -1 (the
        message lists the eigenvalues).

    References
    ----------
    Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed., eqs. (4.17)
    and (8.21).

    Examples
    --------
    The logistic map g(x) = r x (1 - x) at r = 3, x* = 2/3: g'' = -2r = -6,
    g''' = 0, so c = 36 / 4 = 9 > 0 (the period doubling is supercritical).

    >>> logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 3.0}, kind="map")
    >>> round(flip_coefficient(logistic, [2 / 3]), 10)
    9.0
    """
    check_system(system)
    if system.kind != "map":
        raise ValueError(f"flip_coefficient needs a map, got a {system.kind}")
    tol = check_real(tol, "tol", positive=True)
    d = derivatives(system, x)
    A = d.jacobian
    q, p = _real_vectors(A, -1.0, "flip", tol)
    quadratic = np.linalg.solve(A - np.eye(len(q)), d.second(q, q))
    return float((p @ d.third(q, q, q) / 6 - p @ d.second(q, quadratic) / 2).real)


def neimark_sacker_coefficient(system: System, x: Any, theta: float | None = None, *, tol: float = 1e-6) -> float:
    """The normal-form coefficient d of a map's Neimark-Sacker bifurcation at ``x``.

    Parameters
    ----------
    system : System
        A map x -> g(x).
    x : array_like (n,)
        A fixed point where Dg(x) has a simple pair of multipliers
        exp(+-i theta), 0 < theta < pi.
    theta : float, optional
        The angle of the pair, to choose it when there are several; by default
        the pair with Im > 0 nearest the unit circle.  The computation uses
        the angle of the chosen multiplier.
    tol : float, default 1e-6
        The chosen multiplier mu must satisfy ||mu| - 1| <= tol (and, with
        ``theta``, |arg mu - theta| <= tol max(1, theta)).

    Returns
    -------
    float
        d = Re{ exp(-i theta) [ <p, C(q, q, q̄)> + 2 <p, B(q, (I - A)^-1 B(q, q̄))>
        + <p, B(q̄, (exp(2 i theta) I - A)^-1 B(q, q))> ] } / 2
        with A q = exp(i theta) q, A^T p = exp(-i theta) p and
        <q, q> = <p, q> = 1: on the centre manifold the map is
        w -> exp(i theta) (1 + beta) w + c1 w |w|^2 + ... with
        d = Re(exp(-i theta) c1), so that |w| -> |w| (1 + beta + d |w|^2).
        d < 0: supercritical (a stable invariant circle of radius
        ~ sqrt(-beta / d) appears as the fixed point loses stability),
        d > 0: subcritical.  The strong resonances theta = 2 pi / 3 and
        pi / 2 (and theta -> 0, pi) need other normal forms.

    Raises
    ------
    ValueError
        For a flow, or when no pair of multipliers is on the unit circle
        within ``tol`` (the message lists them), or the pair is not simple.

    References
    ----------
    Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed., sections
    4.7 and 5.4 (the n-dimensional formula for d).

    Examples
    --------
    The map x -> R(theta) (x + c |x|^2 x) (R a rotation; z -> e^(i theta)
    (z + c z |z|^2) for z = x1 + i x2) has d = 2 c with |q| = 1, as l1 = 2 a / w
    for the Hopf normal form: here theta = 1, c = -1/2.

    >>> s = System.from_strings({
    ...     "x": "cos(1)*(x - (x**2 + y**2)*x/2) - sin(1)*(y - (x**2 + y**2)*y/2)",
    ...     "y": "sin(1)*(x - (x**2 + y**2)*x/2) + cos(1)*(y - (x**2 + y**2)*y/2)"}, kind="map")
    >>> round(neimark_sacker_coefficient(s, [0.0, 0.0]), 12)
    -1.0
    """
    check_system(system)
    if system.kind != "map":
        raise ValueError(f"neimark_sacker_coefficient needs a map, got a {system.kind}; "
                         "a flow's analogue is first_lyapunov_coefficient")
    tol = check_real(tol, "tol", positive=True)
    d = derivatives(system, x)
    A = d.jacobian
    mu = _neimark_sacker_multiplier(np.linalg.eigvals(A), theta, tol)
    angle = float(np.angle(mu))
    rotation = np.exp(1j * angle)
    q, p = _critical_vectors(A, rotation)
    n = len(q)
    cubic = np.vdot(p, d.third(q, q, q.conj()))
    mean = np.vdot(p, d.second(q, np.linalg.solve(np.eye(n) - A, d.second(q, q.conj()))))
    harmonic = np.vdot(p, d.second(q.conj(), np.linalg.solve(rotation**2 * np.eye(n) - A, d.second(q, q))))
    return float((np.conj(rotation) * (cubic + 2 * mean + harmonic)).real / 2)


def _neimark_sacker_multiplier(w: np.ndarray, theta: float | None, tol: float) -> complex:
    upper = w[w.imag > tol * np.maximum(1.0, np.abs(w))]
    if theta is None:
        mu = upper[np.argmin(np.abs(np.abs(upper) - 1))] if len(upper) else None
    else:
        theta = check_real(theta, "theta", positive=True)
        mu = upper[np.argmin(np.abs(np.angle(upper) - theta))] if len(upper) else None
        if mu is not None and abs(np.angle(mu) - theta) > tol * max(1.0, theta):
            mu = None
    if mu is None or abs(abs(mu) - 1) > tol:
        wanted = "exp(+-i theta)" if theta is None else f"exp(+-{theta:g}i)"
        raise ValueError(f"x is not a Neimark-Sacker point: no pair of multipliers {wanted} within tol = {tol:g}; "
                         f"the multipliers are {np.array2string(w, precision=6)}")
    return complex(mu)


def fold_coefficient(system: System, x: Any, *, tol: float = 1e-6) -> float:
    """The normal-form coefficient a of a fold (saddle-node) at ``x``, for flows and maps.

    Parameters
    ----------
    system : System
    x : array_like (n,)
        A fixed point where the residual's Jacobian DF(x) (Df, or Dg - I for
        a map) has the simple eigenvalue 0.
    tol : float, default 1e-6
        How close an eigenvalue of DF must be to 0.

    Returns
    -------
    float
        a = <p, B(q, q)> / 2, with DF q = 0, DF^T p = 0, <q, q> = <p, q> = 1
        and q oriented so that its entry of largest magnitude is positive:
        the centre manifold x = x* + xi q + ... carries xi' = beta + a xi^2
        (flow) or xi -> xi + beta + a xi^2 (map).  Its sign goes with that
        orientation of q: for a flow with a < 0 the two fixed points exist
        for beta > 0, at xi = +-sqrt(-beta / a), the one on the side of +q
        attracting along q.

    Raises
    ------
    ValueError
        When no eigenvalue of DF is within ``tol`` of 0 (the message lists
        the eigenvalues).

    References
    ----------
    Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed., sections
    3.2, 4.2 and 5.4.

    Examples
    --------
    x' = mu - x^2 at mu = 0, x = 0: q = p = 1 and B(q, q) = -2, so a = -1.

    >>> fold = System.from_strings({"x": "mu - x**2"}, {"mu": 0.0})
    >>> fold_coefficient(fold, [0.0])
    -1.0
    """
    tol = check_real(tol, "tol", positive=True)
    d = derivatives(system, x)
    DF = d.jacobian - np.eye(system.dim) if system.kind == "map" else d.jacobian
    q, p = _real_vectors(DF, 0.0, "fold", tol)
    return float((p @ d.second(q, q) / 2).real)


__all__ = [
    "Derivatives",
    "ExactDerivatives",
    "DifferencedDerivatives",
    "derivatives",
    "first_lyapunov_coefficient",
    "flip_coefficient",
    "neimark_sacker_coefficient",
    "fold_coefficient",
]
