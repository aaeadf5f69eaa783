"""Linearisation at a point and the stability class of that point.

At a point x* the system is approximated by its Jacobian J, the matrix Df(x*)
of a flow dx/dt = f(x) or Dg(x*) of a map x -> g(x) (not Dg - I).  Each
eigenvalue lambda of J is classified through its *score*

    s(lambda) = Re lambda          (flow)
    s(lambda) = |lambda| - 1       (map)

as stable when s < -tol_i, unstable when s > tol_i and centre otherwise,
with a tolerance of its own for each eigenvalue lambda_i,

    tol_i = tol * max(1, |lambda_i|) + min(n eps ||J||_2 / s_i,
                                           2^(1 - 1/n) (n eps)^(1/n) ||J||_2),

``Linearization.tol``.  The first term is the user's relative tolerance on
the eigenvalue itself; the second bounds the rounding error of the computed
eigenvalue.  A backward-stable eigensolver returns the exact eigenvalues of
J + E with ||E|| <= p(n) eps ||J|| (p(n) taken as n here), and a simple
eigenvalue moves under E by about ||E|| / s_i to first order, where
s_i = |y_i^H x_i| is the cosine between its unit left and right
eigenvectors, 1 / s_i its condition number (G. H. Golub and C. F. Van Loan,
*Matrix Computations*, 4th ed., Johns Hopkins 2013, section 7.2.2,
"Eigenvalue sensitivity"; the error bound ``EPS * ANORM / RCONDE`` of the
LAPACK Users' Guide, 3rd ed., section 4.8).  For a multiple or defective
eigenvalue s_i is zero or tiny and the first-order estimate useless; there
Elsner's theorem bounds the variation of any eigenvalue by
(||J|| + ||J + E||)^(1 - 1/n) ||E||^(1/n) (L. Elsner, "An optimal bound for
the spectral variation of two matrices", Linear Algebra Appl. 71, 1985,
pp. 77-80; Stewart and Sun, *Matrix Perturbation Theory*, 1990, section
IV.1), and the smaller of the two estimates is used.  So an eigenvalue -1
is stable next to one of -1e12 (a stiff system: tol_i ~ 1e-8 + 4.4e-4, not
1e4), and the eigenvalues -1 +- 1e-8 i that rounding makes of a Jordan
block of -1 (s_i ~ 1e-8) stay real within their tolerance.
The state space splits into the invariant subspaces E^s, E^u and E^c, the
spans of the generalised eigenspaces of each group; their dimensions add up to
n, and the index of the point is dim E^u.

Labels (the vocabulary is ``LABELS``) describe the *leading* behaviour of
the point, decided from its dominant eigenvalues (``Linearization.leading``),
not from any of its n eigenvalues: in a network of 64 units nearly every point
has some complex and some negative eigenvalue deep inside its stable spectrum,
which orbits near it never show.  This is the notion of leading eigenvalues of
Shilnikov theory (L. P. Shilnikov, A. L. Shilnikov, D. V. Turaev and
L. O. Chua, *Methods of Qualitative Theory in Nonlinear Dynamics*, Part I,
World Scientific 1998, ch. 2; Yu. A. Kuznetsov, *Elements of Applied
Bifurcation Theory*, 3rd ed., Springer 2004, ch. 6): near a stable node or
focus almost every orbit approaches the point tangent to the leading stable
eigenspace, the one nearest the stability boundary, because the others decay
faster.  The dominant eigenvalues are

- attractor (all eigenvalues stable): the leading stable ones, of largest
  score s;
- repeller (all unstable): the leading unstable ones, of smallest score (the
  dynamics seen in reversed time);
- saddle: all the unstable ones (the unstable manifold, which the transition
  graph follows, is tangent to all of E^u) and the leading stable ones;
- non-hyperbolic point: all eigenvalues (the centre directions decide
  there, and which of the others matter depends on the nonlinear terms).

"Leading" includes ties within the tolerances, eigenvalues whose scores
differ by at most tol_i + tol_j: a real eigenvalue and a complex pair of the
same score are both leading.  Then:

- hyperbolic: "stable node", "unstable node", "saddle" when the dominant
  eigenvalues are all real; "stable focus", "unstable focus", "saddle-focus"
  when one of them has |Im lambda_i| > tol_i;
- "centre" when every eigenvalue is a centre eigenvalue and none is real
  (purely imaginary pairs for a flow, pairs on the unit circle other than
  +-1 for a map): the linear part is a rotation;
- "non-hyperbolic" otherwise (some centre eigenvalue).

For a map, ``flip`` is True when a dominant eigenvalue is real and negative
(|Im lambda_i| <= tol_i and Re lambda_i < -tol_i: orbits alternate sides), and
``FLIP`` (" (flip)") is appended to the label, e.g. "saddle (flip)".

In two dimensions this is the classical phase-plane classification: a pair
is always dominant, and both eigenvalues of a saddle are.  The one case the
rule decides is a map node with one positive and one negative eigenvalue,
e.g. the attractor x -> diag(0.8, -0.3) x: orbits c1 0.8^k v1 + c2 (-0.3)^k
v2 approach along v1, from one side and without alternating (the v2 part
shrinks like 0.375^k relative to it), so it is a "stable node"; with
diag(-0.8, 0.3) they alternate along v1, a "stable node (flip)".  For a
repeller the same holds with the smaller modulus leading.  In three
dimensions the Lorenz origin is a "saddle" and C+-, with a complex unstable
pair, are "saddle-focus" points, as before.

The condition numbers come from the right eigenvectors alone: with the
real eigenvector matrix X of J (columns x_i for a real eigenvalue, Re x_i
and Im x_i for a complex pair, as LAPACK's ``geev`` returns them), the rows
of X^-1 are left eigenvectors normalised so that y_i^T x_i = 1, whence
s_i = 1 / (||y_i|| ||x_i||) (for a pair x = a + ib with rows p, q of X^-1
belonging to a and b, y = (p - iq)/2 and s = 2 / sqrt((||p||^2 + ||q||^2)
(||a||^2 + ||b||^2))).  A singular X (a defective eigenvalue whose computed
eigenvectors coincide) gives s_i = 0 for every eigenvalue of that point:
Elsner's bound, valid for any eigenvalue, is then its tolerance.  ||J||_2
is c sqrt(lambda_max(A^T A)), A = J / c with c = max |J_ij|, from the
largest eigenvalue of a symmetric Gram matrix, about half the cost of a
singular value decomposition (relative error of order n eps, negligible
beside the factor n of the backward error).

The bases of E^s, E^u and E^c are real and orthonormal.  A group of k
eigenvalues gets its basis from eigenvectors where they determine the
subspace, with no second decomposition: for k <= n - k, Q of the QR
factorisation of the group's normalised real eigenvectors in the order of
``eigenvalues`` (Schur vectors of that order: the first j columns span the
invariant subspace of the group's first j eigenvalues, whole pairs
counted); for k > n - k, an orthonormal basis of the orthogonal complement
of the n - k normalised left eigenvectors of the other groups (rows of
X^-1), since y^T v = 0 for a left eigenvector y and any generalised
eigenvector v of another eigenvalue.  The basis Q (for the complement, the
basis P of the left eigenvectors' span, with J^T for J) is accepted when

- the normalised vectors are independent: the smallest singular value of
  the QR factor R exceeds sqrt(eps); and
- Q is invariant to rounding: its residual G = J Q - Q (Q^T J Q) has
  ||G||_F <= 10 n eps ||J||_2.  Then Q spans an exact invariant subspace
  of J + E with E = -G Q^T, ||E||_2 <= 10 n eps ||J||_2, the kind of
  backward error a sorted Schur form has (whose leading columns have
  ||G||_F of about 0.8 n eps ||J||_2, measured on random matrices with
  n = 30 to 256; eigenvectors reach 0.5 to 2.5), so that both lie within
  about ||E|| / sep of the exact subspace (Golub and Van Loan, section
  7.2.4, "Invariant subspace sensitivity").

The span of a group's eigenvectors is its invariant subspace only when its
eigenvalues are non-defective, and rows of X^-1 are accurate only when X is
well-conditioned; where a Jordan block (too few eigenvectors) or
ill-conditioned eigenvectors spoil the vectors, the residual test fails
(it passes only where the computed vectors still span the subspace to
rounding), and the group gets its basis from a real Schur decomposition
J = Z T Z^T, computed once for that point and sorted so that the group's
eigenvalues lead T: the first k columns of Z then span that group's
invariant subspace, also for complex pairs and defective (Jordan)
matrices.  The subspaces of a defective eigenvalue are accurate; the
eigenvalue itself, of multiplicity m in a Jordan block, moves by about
(eps ||J||)^(1/m) under rounding, which its tolerance tol_i covers (s_i is
then about (eps ||J||)^(1 - 1/m)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, schur
from scipy.linalg.lapack import dtrsen, ztrsen
from scipy.optimize import linear_sum_assignment

from ._validate import check_real
from .systems import Kind, System, check_kind, check_system

BATCH_BYTES = 2**26  # memory of one batched call (Jacobians and work arrays), at most
WORK_BYTES = 72  # bytes per entry of a chunk's Jacobians that a batched call holds at its peak (measured)
BASIS_RESIDUAL = 10.0  # an eigenvector basis is accepted with residual <= this * n eps ||J||_2 (module docstring)

LABELS: tuple[str, ...] = (
    "stable node",
    "stable focus",
    "unstable node",
    "unstable focus",
    "saddle",
    "saddle-focus",
    "centre",
    "non-hyperbolic",
)
"""Every label a point can get; a map's label may carry the suffix ``FLIP``."""

FLIP = " (flip)"

# Group codes, ordered like the score: stable < centre < unstable.
STABLE, CENTRE, UNSTABLE = -1, 0, 1


@dataclass(frozen=True, eq=False)
class Linearization:
    """The linearisation of a flow or map at a point, and its stability class.

    Attributes
    ----------
    x : ndarray of shape (n,) or None
        The point (None for a bare matrix given to :func:`linearize_matrix`).
    jacobian : ndarray of shape (n, n)
        J = Df(x) for a flow, Dg(x) for a map.
    kind : {"flow", "map"}
    eigenvalues : ndarray of shape (n,), complex
        Sorted by decreasing Re (flow) or decreasing modulus (map), ties by
        decreasing Im then decreasing Re.
    eigenvectors : ndarray of shape (n, n), complex
        Column i, of unit norm, belongs to ``eigenvalues[i]``.
    Es, Eu, Ec : ndarray of shape (n, k_s), (n, k_u), (n, k_c)
        Real orthonormal bases of the stable, unstable and centre subspaces.
    index : int
        dim E^u.
    label : str
        One of ``LABELS``, for a map possibly followed by ``FLIP``.
    flip : bool
        A map with a real negative eigenvalue among the dominant ones
        (:attr:`leading`); always False for a flow.
    margin : float
        Hyperbolicity margin min |s(lambda)|: min |Re lambda| (flow) or
        min ||lambda| - 1| (map).  The point is non-hyperbolic when
        |s(lambda_i)| <= tol_i for some i.
    tol : ndarray of shape (n,)
        tol_i, the tolerance each of ``eigenvalues`` was classified with:
        the relative tolerance given times max(1, |lambda_i|) plus the
        rounding error bound of lambda_i, which grows with its condition
        number 1 / s_i (see the module docstring).

    Examples
    --------
    The origin of x' = x − x³, y' = −y is a saddle: Df = diag(1, −1), with
    the unstable direction along x and the stable one along y.

    >>> from dynsys import System
    >>> s = System.from_strings({"x": "x - x**3", "y": "-y"})
    >>> lin = linearize(s, [0.0, 0.0])
    >>> lin
    Linearization(flow, x=[0. 0.], label='saddle', index=1, dims=(1, 1, 0), eigenvalues=[ 1.+0.j -1.+0.j], margin=1)
    >>> lin.is_saddle, lin.is_attractor
    (True, False)
    >>> np.abs(lin.Eu[:, 0]), np.abs(lin.Es[:, 0])  # unit bases, each up to its sign
    (array([1., 0.]), array([0., 1.]))
    """

    x: np.ndarray | None
    jacobian: np.ndarray
    kind: Kind
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    Es: np.ndarray
    Eu: np.ndarray
    Ec: np.ndarray
    index: int
    label: str
    flip: bool
    margin: float
    tol: np.ndarray

    def __post_init__(self) -> None:
        # one tolerance per eigenvalue; a single one (as sets saved by earlier versions hold) applies to all
        object.__setattr__(self, "tol", np.array(np.broadcast_to(np.asarray(self.tol, float), self.eigenvalues.shape)))
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def dims(self) -> tuple[int, int, int]:
        """(dim E^s, dim E^u, dim E^c)."""
        return self.Es.shape[1], self.Eu.shape[1], self.Ec.shape[1]

    @property
    def leading(self) -> np.ndarray:
        """Indices into ``eigenvalues`` of the dominant eigenvalues, from which
        the label and ``flip`` are decided (see the module docstring).

        Attractor: the leading stable eigenvalues; repeller: the leading
        unstable ones; saddle: every unstable one and the leading stable
        ones; non-hyperbolic point: all of them.  Since ``eigenvalues`` are
        sorted by decreasing score, the indices are consecutive.

        Examples
        --------
        A slow real direction and a fast spiral: orbits end along the former.

        >>> lin = linearize_matrix([[-0.5, 0.0, 0.0], [0.0, -2.0, 3.0], [0.0, -3.0, -2.0]], "flow")
        >>> lin.eigenvalues
        array([-0.5+0.j, -2. +3.j, -2. -3.j])
        >>> lin.leading, lin.label
        (array([0]), 'stable node')
        """
        return _leading(_score(self.eigenvalues.real, self.eigenvalues.imag, self.kind), self.tol)

    @property
    def is_hyperbolic(self) -> bool:
        """No centre directions."""
        return self.Ec.shape[1] == 0

    @property
    def is_attractor(self) -> bool:
        """Hyperbolic with every direction stable (index 0)."""
        return self.is_hyperbolic and self.index == 0

    @property
    def is_saddle(self) -> bool:
        """Hyperbolic with both stable and unstable directions."""
        return self.is_hyperbolic and self.Es.shape[1] > 0 and self.index > 0

    def __repr__(self) -> str:
        at = "" if self.x is None else f"x={np.array2string(self.x, precision=4, threshold=6)}, "
        eigs = np.array2string(self.eigenvalues, precision=4, threshold=6)
        return (
            f"Linearization({self.kind}, {at}label={self.label!r}, index={self.index}, "
            f"dims={self.dims}, eigenvalues={eigs}, margin={self.margin:.3g})"
        )


# ---------------------------------------------------------------- public API
def linearize(system: System, x: Any, *, tol: float = 1e-8) -> Linearization:
    """Linearise ``system`` at one point and classify the point.

    Parameters
    ----------
    system : System
    x : array_like of shape (n,)
    tol : float, default 1e-8
        Relative tolerance of the classification: eigenvalue lambda_i is a
        centre eigenvalue when its score is within
        ``tol * max(1, |lambda_i|)`` plus its rounding error bound of zero
        (see the module docstring).

    Returns
    -------
    Linearization

    Raises
    ------
    ValueError
        If ``x`` is not a finite state of shape (n,), or the Jacobian there
        is not finite.

    Examples
    --------
    >>> import sympy as sp
    >>> from dynsys import System
    >>> x, y = sp.symbols("x y")
    >>> duffing = System.from_sympy([y, -y / 2 + x - x**3], [x, y])
    >>> linearize(duffing, [0.0, 0.0]).label
    'saddle'
    >>> linearize(duffing, [1.0, 0.0]).label
    'stable focus'
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"x must be one state of shape (n,), got shape {arr.shape}; use linearize_batch for batches")
    return linearize_batch(system, arr[None, :], tol=tol)[0]


def linearize_batch(system: System, X: Any, *, tol: float = 1e-8) -> list[Linearization]:
    """Linearise ``system`` at each row of ``X``.

    The Jacobians are evaluated in batched calls, ``system.jacobian`` of
    shape (k, n, n), and so are the eigendecomposition
    (``numpy.linalg.eig``, right eigenvectors only), the inverse of the
    eigenvector matrices (left eigenvectors: condition numbers) and the
    2-norms, k points at a time: the Jacobians and these work arrays, about
    72 k n² bytes, within 64 MB (k >= 1).  The subspace bases come from the
    eigenvectors point by point, and from a Schur form only for the groups
    whose eigenvectors fail the test of the module docstring.

    Parameters
    ----------
    system : System
    X : array_like of shape (B, n)
    tol : float, default 1e-8
        As in :func:`linearize`.

    Returns
    -------
    list of Linearization, one per row of ``X``

    Examples
    --------
    The three fixed points of x' = x − x³, y' = −y at once:

    >>> from dynsys import System
    >>> s = System.from_strings({"x": "x - x**3", "y": "-y"})
    >>> lins = linearize_batch(s, [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    >>> [lin.label for lin in lins]
    ['saddle', 'stable node', 'stable node']
    >>> lins[1].eigenvalues.real  # 1 - 3x² = -2 and -1, slowest first
    array([-1., -2.])
    """
    check_system(system)
    tol = check_real(tol, "tol")
    Xb = np.asarray(X, dtype=float)
    if Xb.ndim != 2 or Xb.shape[1] != system.dim:
        raise ValueError(f"X must have shape (B, {system.dim}) for {system.name!r}, got shape {Xb.shape}")
    bad = ~np.isfinite(Xb).all(axis=1)
    if bad.any():
        raise ValueError(f"X must be finite, got x = {Xb[np.argmax(bad)].tolist()}")
    if len(Xb) == 0:
        return []
    n = system.dim
    chunk = max(1, BATCH_BYTES // (WORK_BYTES * n * n))
    return [
        lin
        for lo in range(0, len(Xb), chunk)  # memory-sized chunks of points
        for lin in _linearize_chunk(system, Xb[lo : lo + chunk], tol)
    ]


def _linearize_chunk(system: System, X: np.ndarray, tol: float) -> list[Linearization]:
    J = system.jacobian(X)
    bad = ~np.isfinite(J).all(axis=(1, 2))
    if bad.any():
        raise ValueError(
            f"the Jacobian of {system.name!r} at x = {X[np.argmax(bad)].tolist()} has non-finite entries"
        )
    return _linearizations(J, system.kind, tol, X)


def linearize_matrix(J: Any, kind: Kind, *, tol: float = 1e-8, x: Any = None) -> Linearization:
    """Classify the linear flow dx/dt = J x or map x -> J x at the origin.

    This is the linearisation of any system whose Jacobian at ``x`` is J.

    Parameters
    ----------
    J : array_like of shape (n, n), real and finite
    kind : {"flow", "map"}
    tol : float, default 1e-8
        As in :func:`linearize`.
    x : array_like of shape (n,), optional
        The point J belongs to, stored in the result.

    Returns
    -------
    Linearization

    Examples
    --------
    >>> linearize_matrix([[-2.0, 0.0], [0.0, 0.5]], "map").label
    'saddle (flip)'
    """
    check_kind(kind)
    tol = check_real(tol, "tol")
    if np.iscomplexobj(J):
        raise ValueError(f"J must be a real matrix, got dtype {np.asarray(J).dtype}")
    Jm = np.asarray(J, dtype=float)
    if Jm.ndim != 2 or Jm.shape[0] != Jm.shape[1] or Jm.shape[0] == 0:
        raise ValueError(f"J must be a square matrix of shape (n, n), n >= 1, got shape {Jm.shape}")
    n = Jm.shape[0]
    if x is not None:
        x = np.asarray(x, dtype=float)
        if x.shape != (n,):
            raise ValueError(f"x must have shape ({n},) like J, got shape {x.shape}")
    if not np.isfinite(Jm).all():
        where = "" if x is None else f" at x = {x.tolist()}"
        raise ValueError(f"J{where} has non-finite entries: {Jm.tolist()}")
    return _linearizations(Jm[None], kind, tol, None if x is None else x[None])[0]


# ------------------------------------------------------------------- helpers
def _score(re: Any, im: Any, kind: Kind) -> Any:
    """s(lambda): Re lambda for a flow, |lambda| - 1 for a map (scalars or arrays)."""
    return re if kind == "flow" else np.hypot(re, im) - 1.0


def _group(score: Any, tol: Any) -> Any:
    """STABLE (score < -tol), UNSTABLE (score > tol) or CENTRE (tol a scalar or one per score)."""
    return np.where(score < -tol, STABLE, np.where(score > tol, UNSTABLE, CENTRE))


def _tolerances(w: np.ndarray, conditions: np.ndarray, norms: np.ndarray, tol: float) -> np.ndarray:
    """tol_i = tol max(1, |lambda_i|) + the rounding error bound of lambda_i, for a batch.

    ``w`` and ``conditions`` (s_i) have shape (B, n), ``norms`` (||J||_2)
    shape (B,).  The bound is min(n eps ||J|| / s_i, 2^(1 - 1/n)
    (n eps)^(1/n) ||J||): first-order perturbation theory for a backward
    error n eps ||J||, or Elsner's bound where s_i is too small for it (see
    the module docstring).
    """
    n = w.shape[-1]
    backward = (n * np.finfo(float).eps * norms)[:, None]
    with np.errstate(divide="ignore"):
        first_order = np.where(conditions > 0, backward / conditions, np.inf)
    elsner = (2.0 * norms[:, None]) ** (1.0 - 1.0 / n) * backward ** (1.0 / n)
    return tol * np.maximum(1.0, np.abs(w)) + np.minimum(first_order, elsner)


def _linearizations(J: np.ndarray, kind: Kind, tol: float, X: np.ndarray | None) -> list[Linearization]:
    """The Linearization of each finite real matrix of a batch J (B, n, n), at the rows of X (B, n) if given.

    One batched ``numpy.linalg.eig`` (right eigenvectors only), one batched
    inverse of the real eigenvector matrices (left eigenvectors: condition
    numbers and complements) and one batched Gram matrix (2-norms); then,
    point by point, the subspace bases (:func:`_subspace_bases`) and the
    label (:func:`_linearization`).
    """
    w, V = np.linalg.eig(J)  # unit columns; a complex pair (LAPACK's order) adjacent, Im > 0 first
    w, V = w.astype(complex, copy=False), V.astype(complex, copy=False)
    real = np.where(w.imag[:, None, :] < 0, V.imag, V.real)  # geev's real eigenvector matrix, up to signs
    left = _inverses(real)  # rows: left eigenvectors with y_i^T x_j = delta_ij
    conditions = _condition_numbers(w, real, left)
    primary = np.abs(w) if kind == "map" else w.real
    order = np.lexsort((-w.real, -w.imag, -primary), axis=-1)  # last key sorts first
    rows = np.arange(len(J))[:, None]
    w, conditions, left = w[rows, order], conditions[rows, order], left[rows, order]  # left: rows sorted
    V, real = (np.ascontiguousarray(a[rows, :, order].transpose(0, 2, 1)) for a in (V, real))  # columns sorted
    norms = _spectral_norms(J)
    tols = _tolerances(w, conditions, norms, tol)
    scores = _score(w.real, w.imag, kind)
    groups = _group(scores, tols)
    return [
        _linearization(
            J[b], kind, w[b], V[b], tols[b], scores[b], groups[b],
            _subspace_bases(J[b], w[b], groups[b], real[b], left[b], float(norms[b])),
            None if X is None else X[b],
        )
        for b in range(len(J))
    ]


def _inverses(A: np.ndarray) -> np.ndarray:
    """A^-1 of each matrix of a batch (B, n, n); all NaN for one that LU finds singular."""
    try:
        return np.linalg.inv(A)
    except LinAlgError:  # a defective eigenvalue whose computed eigenvectors coincide: one by one
        return np.full_like(A, np.nan) if len(A) == 1 else np.concatenate([_inverses(a[None]) for a in A])


def _condition_numbers(w: np.ndarray, real: np.ndarray, left: np.ndarray) -> np.ndarray:
    """s_i = |y_i^H x_i| / (||y_i|| ||x_i||) (B, n) from the real eigenvector matrices X and X^-1.

    ``w`` (B, n) in LAPACK's order, a pair lambda, conj(lambda) adjacent
    with Im > 0 first; ``real`` (B, n, n) holds X, ``left`` X^-1.  A real
    eigenvalue: s = 1 / (||row i of X^-1|| ||x_i||); a pair: s = 2 /
    sqrt((||p||^2 + ||q||^2) (||a||^2 + ||b||^2)), a, b its two columns of
    X and p, q the matching rows of X^-1 (see the module docstring).  Rows
    that are not finite (a singular X) give s = 0.
    """
    pair = w.imag != 0
    partner = np.arange(w.shape[-1]) + (w.imag > 0) - (w.imag < 0)
    with np.errstate(invalid="ignore", over="ignore"):  # huge rows of X^-1 overflow to s = 0
        cols, rows = np.sum(real**2, axis=-2), np.sum(left**2, axis=-1)
        cols = np.where(pair, cols + np.take_along_axis(cols, partner, -1), cols)
        rows = np.where(pair, rows + np.take_along_axis(rows, partner, -1), rows)
        s = np.where(pair, 2.0, 1.0) / np.sqrt(rows * cols)
    return np.where(np.isfinite(s), s, 0.0)


def _spectral_norms(J: np.ndarray) -> np.ndarray:
    """||J||_2 (B,) of each matrix of a batch (B, n, n): c sqrt(lambda_max(A^T A)), A = J / c with
    c = max |J_ij| (so that A^T A neither overflows nor underflows)."""
    c = np.abs(J).max(axis=(1, 2))
    c = np.where(c > 0, c, 1.0)
    A = J / c[:, None, None]
    return c * np.sqrt(np.maximum(np.linalg.eigvalsh(np.matmul(A.transpose(0, 2, 1), A))[:, -1], 0.0))


def _linearization(
    J: np.ndarray,
    kind: Kind,
    w: np.ndarray,
    V: np.ndarray,
    tols: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray,
    bases: tuple[np.ndarray, np.ndarray, np.ndarray],
    x: np.ndarray | None,
) -> Linearization:
    """One point's Linearization from its sorted spectrum (w, V, tols, scores, groups) and (Es, Ec, Eu)."""
    s, c = int(np.sum(groups == STABLE)), int(np.sum(groups == CENTRE))
    u = len(w) - s - c
    Es, Ec, Eu = bases
    lead = _leading(score, tols)
    dominant, dominant_tol = w[lead], tols[lead]
    nonreal = np.abs(dominant.imag) > dominant_tol
    flip = kind == "map" and bool(np.any(~nonreal & (dominant.real < -dominant_tol)))
    label = _label(s, u, c, bool(nonreal.any()), bool(nonreal.all())) + (FLIP if flip else "")
    return Linearization(
        x=None if x is None else np.array(x, dtype=float),
        jacobian=np.array(J, dtype=float),
        kind=kind,
        eigenvalues=w,
        eigenvectors=V,
        Es=Es,
        Eu=Eu,
        Ec=Ec,
        index=u,
        label=label,
        flip=flip,
        margin=float(np.min(np.abs(score))),
        tol=tols,
    )


def _subspace_bases(
    J: np.ndarray, w: np.ndarray, groups: np.ndarray, real: np.ndarray, left: np.ndarray, norm: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Es, Ec, Eu) of one point: from eigenvectors (:func:`_eigenvector_basis`)
    where they pass its test, else from the sorted real Schur form
    (:func:`_invariant_basis`; the form computed once, for the groups that need it)."""
    schur_form: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    bases = []
    for group in (STABLE, CENTRE, UNSTABLE):
        basis = _eigenvector_basis(J, groups == group, real, left, norm)
        if basis is None:
            if schur_form is None:
                T, Z = schur(J, output="real")
                schur_form = T, Z, _groups_at(_schur_eigenvalues(T), w, groups)
            basis = _invariant_basis(J, *schur_form, w, groups, group)
        bases.append(basis)
    return bases[0], bases[1], bases[2]


def _eigenvector_basis(
    J: np.ndarray, member: np.ndarray, real: np.ndarray, left: np.ndarray, norm: float
) -> np.ndarray | None:
    """Real orthonormal basis (n, k) of J's invariant subspace of the k eigenvalues
    marked in ``member``, from eigenvectors; None where they do not determine it.

    k <= n - k: Q of the QR factorisation of the group's normalised columns
    of the real eigenvector matrix X (``real``, columns in the order of the
    sorted eigenvalues); k > n - k: the orthogonal complement of the n - k
    normalised rows of X^-1 (``left``) of the other eigenvalues, whose span
    P is invariant under J^T.  None unless those vectors are independent
    (the smallest singular value of the R factor above sqrt(eps)) and their
    span P is invariant to rounding: ||M P - P (P^T M P)||_F <= 10 n eps
    ||J||_2, M = J or J^T (see the module docstring).
    """
    n, k = len(member), int(np.sum(member))
    if k in (0, n):
        return np.eye(n)[:, :k]
    complement = k > n - k
    vectors, M = (left[~member].T, J.T) if complement else (real[:, member], J)
    if not np.isfinite(vectors).all():
        return None
    m, eps = vectors.shape[1], np.finfo(float).eps
    Q, R = np.linalg.qr(vectors / np.linalg.norm(vectors, axis=0), mode="complete" if complement else "reduced")
    P = Q[:, :m]
    if np.linalg.svd(R[:m], compute_uv=False)[-1] <= np.sqrt(eps):
        return None
    MP = M @ P
    if np.linalg.norm(MP - P @ (P.T @ MP)) > BASIS_RESIDUAL * n * eps * norm:
        return None
    return Q[:, m:] if complement else P


def _leading(score: np.ndarray, tol: Any) -> np.ndarray:
    """Indices of the dominant eigenvalues, given their scores (any order)
    and tolerances (one per score, or one for all).

    With stable and no centre eigenvalues: the stable ones whose score is
    within tol_i + tol_k of the largest stable score s_k, plus every
    unstable one; with only unstable ones: those within tol_i + tol_k of the
    smallest score s_k; with a centre eigenvalue: all.
    """
    tol = np.broadcast_to(tol, score.shape)
    groups = _group(score, tol)
    stable, unstable = groups == STABLE, groups == UNSTABLE
    if np.any(groups == CENTRE):
        return np.arange(len(score))
    if stable.any():
        k = np.flatnonzero(stable)[np.argmax(score[stable])]
        chosen = unstable | (stable & (score >= score[k] - tol - tol[k]))
    else:
        k = np.argmin(score)
        chosen = score <= score[k] + tol + tol[k]
    return np.flatnonzero(chosen)


def _label(s: int, u: int, c: int, oscillating: bool, all_nonreal: bool) -> str:
    """The label from the subspace dimensions and whether the dominant
    eigenvalues (all of them when ``c`` > 0) are non-real: some of them
    (``oscillating``) or all (``all_nonreal``)."""
    if c:
        return "centre" if s == u == 0 and all_nonreal else "non-hyperbolic"
    shape = "focus" if oscillating else "node"
    if u == 0:
        return f"stable {shape}"
    if s == 0:
        return f"unstable {shape}"
    return "saddle-focus" if oscillating else "saddle"


def _invariant_basis(
    J: np.ndarray, T: np.ndarray, Z: np.ndarray, at_T: np.ndarray, w: np.ndarray, groups: np.ndarray, group: int
) -> np.ndarray:
    """Real orthonormal basis (n, k) of J's invariant subspace for one group (k its eigenvalues).

    The real Schur form J = Z T Z^T (computed once per point) is reordered
    by LAPACK's ``dtrsen`` so that the diagonal blocks whose eigenvalues are
    of ``group`` (``at_T``, from :func:`_groups_at`) lead T; the leading k
    columns of the reordered Z are the basis.  Groups are selected as such,
    not by rank of score: with one tolerance per eigenvalue a group need not
    be an interval of scores.  When the selection splits a 2 x 2 block (a
    complex pair) or counts other than k, or a swap of ill-conditioned
    blocks fails, :func:`_basis_of_group` selects the group in the complex
    Schur form instead, so the dimension is always k.
    """
    k = int(np.sum(groups == group))
    if k == 0:
        return np.zeros((J.shape[0], 0))
    select = (at_T == group).astype(np.int32)
    first = np.flatnonzero(np.diag(T, -1) != 0)  # the first rows of the 2 x 2 blocks
    if select.sum() != k or np.any(select[first] != select[first + 1]):
        return _basis_of_group(J, w, groups, group)
    _, Zs, _, _, _, _, _, info = dtrsen(select, T, Z, job="N")
    return Zs[:, :k] if info == 0 else _basis_of_group(J, w, groups, group)


def _groups_at(d: np.ndarray, w: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The group of each eigenvalue d_i of a Schur form: that of the eigenvalue of ``w``
    it is paired with, the pairing minimising the total distance |d_i - w_j| (both
    computations of the same spectrum differ by rounding only)."""
    rows, cols = linear_sum_assignment(np.abs(d[:, None] - w[None, :]))
    out = np.empty(len(d), dtype=groups.dtype)
    out[rows] = groups[cols]
    return out


def _schur_eigenvalues(T: np.ndarray) -> np.ndarray:
    """The eigenvalue at each diagonal position of a real Schur form T: the
    diagonal entry, or for a 2 x 2 block [[a, b], [c, d]] (c != 0) the pair
    (a + d)/2 ± i sqrt(-((a - d)²/4 + b c))."""
    d = np.diag(T).astype(complex)
    i = np.flatnonzero(np.diag(T, -1) != 0)  # the first rows of the 2 x 2 blocks
    p, q, r, t = T[i, i], T[i, i + 1], T[i + 1, i], T[i + 1, i + 1]
    im = np.sqrt(np.maximum(-((p - t) ** 2 / 4 + q * r), 0.0))
    d[i], d[i + 1] = (p + t) / 2 + 1j * im, (p + t) / 2 - 1j * im
    return d


def _basis_of_group(J: np.ndarray, w: np.ndarray, groups: np.ndarray, group: int) -> np.ndarray:
    """Real orthonormal basis of the invariant subspace of the eigenvalues of ``group``.

    The complex Schur form J = Z T Z^H is reordered by LAPACK's ``ztrsen``
    with an explicit selection (the eigenvalues paired with those of the
    group, :func:`_groups_at`; complex reordering cannot fail), so exactly
    k of them lead T.  The leading k columns Z_k span a complex invariant
    subspace closed under conjugation; the left singular vectors of
    [Re Z_k, Im Z_k] for its k largest singular values form a real
    orthonormal basis of the same subspace.
    """
    k = int(np.sum(groups == group))
    T, Z = schur(J.astype(complex), output="complex")
    select = (_groups_at(np.diag(T), w, groups) == group).astype(np.int32)
    _, Zs, _, _, _, _, info = ztrsen(select, T, Z, job="N")
    if info != 0:
        raise LinAlgError(f"LAPACK ztrsen failed to reorder the Schur form (info={info})")
    U, _, _ = np.linalg.svd(np.hstack([Zs[:, :k].real, Zs[:, :k].imag]), full_matrices=False)
    return U[:, :k]

