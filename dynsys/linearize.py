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

For large n, ``linearize_batch(..., spectrum="leading")`` (or "auto") finds
only what the class needs, every unstable eigenvalue and the leading stable
ones, by ARPACK (on J for a map, on a Cayley transform of J for a flow) and
E^u from their Ritz vectors; the other fields of the result, a
:class:`LazyLinearization`, are computed as above on first access.  Index,
dims, label, flip and margin are those of the full computation; see
:func:`_leading_spectrum` for how the computed part is certified.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, lu_factor, lu_solve, schur
from scipy.linalg.lapack import dtrsen, ztrsen
from scipy.optimize import linear_sum_assignment
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigs

from ._validate import check_real
from .systems import Kind, System, check_kind, check_system

BATCH_BYTES = 2**26  # memory of one batched call (Jacobians and work arrays), at most
WORK_BYTES = 72  # bytes per entry of a chunk's Jacobians that a batched call holds at its peak (measured)
BASIS_RESIDUAL = 10.0  # an eigenvector basis is accepted with residual <= this * n eps ||J||_2 (module docstring)
SPECTRA = ("full", "leading", "auto")
# spectrum="auto" is "leading" from this n on.  Per point CPU time, full / leading, one thread, on Jacobians of a
# random tanh network (W = 1.2 G / sqrt(n); map D W, flow D W - I; bench_linearize.py --spectra, 6 points each,
# a shared 2-core machine): n = 256: map 40 / 75 ms, flow 38 / 54 ms (leading slower); n = 512: map 320 / 219 ms,
# flow 305 / 119 ms; n = 1024: map 1423 / 675 ms (index 15-37), flow 1295 / 539 ms.
LEADING_MIN_DIM = 512
# spectrum="leading" asks ARPACK first for min(LEADING_FIRST_K, n / 8) eigenvalues (doubled as needed) with an
# Arnoldi basis of LEADING_NCV * k vectors; on 6 random tanh maps (n = 1024, W = 1.2 G / sqrt(n), index 15 to 37)
# (16, 2) took 9.5 s in all, (16, 4) 8.2 s, (32, 2) 5.6 s, (32, 3) 4.8 s, (48, 2) 5.5 s (one thread, CPU time)
LEADING_FIRST_K = 32
LEADING_NCV = 3
LAZY_FIELDS = ("eigenvalues", "eigenvectors", "Es", "Ec", "tol")
"""The fields of a :class:`LazyLinearization` computed from the full spectrum on first access."""

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
    def leading_eigenvalues(self) -> np.ndarray:
        """``eigenvalues[leading]``, the dominant eigenvalues the label is decided from.

        Examples
        --------
        >>> linearize_matrix([[-0.5, 0.0], [0.0, -2.0]], "flow").leading_eigenvalues
        array([-0.5+0.j])
        """
        return self.eigenvalues[self.leading]

    @property
    def is_hyperbolic(self) -> bool:
        """No centre directions."""
        return self.dims[2] == 0

    @property
    def is_attractor(self) -> bool:
        """Hyperbolic with every direction stable (index 0)."""
        return self.is_hyperbolic and self.index == 0

    @property
    def is_saddle(self) -> bool:
        """Hyperbolic with both stable and unstable directions."""
        return self.is_hyperbolic and self.dims[0] > 0 and self.index > 0

    def __repr__(self) -> str:
        at = "" if self.x is None else f"x={np.array2string(self.x, precision=4, threshold=6)}, "
        name, values = self._shown_eigenvalues()
        eigs = np.array2string(values, precision=4, threshold=6)
        return (
            f"{type(self).__name__}({self.kind}, {at}label={self.label!r}, index={self.index}, "
            f"dims={self.dims}, {name}={eigs}, margin={self.margin:.3g})"
        )

    def _shown_eigenvalues(self) -> tuple[str, np.ndarray]:
        """The eigenvalues the repr shows, and their name."""
        return "eigenvalues", self.eigenvalues


class LazyLinearization(Linearization):
    """A :class:`Linearization` known from the leading part of the spectrum, the rest computed on demand.

    ``linearize_batch(..., spectrum="leading")`` returns these.  ``index``,
    ``label``, ``flip``, ``margin``, ``dims``, ``Eu``, ``leading`` and
    ``leading_eigenvalues`` (every unstable eigenvalue and the leading
    stable ones, sorted as ``eigenvalues``) are known at once; the fields
    named in ``LAZY_FIELDS`` (``eigenvalues``, ``eigenvectors``, ``Es``,
    ``Ec``, ``tol``), which need the whole spectrum, are computed on first
    access of any of them, as ``spectrum="full"`` computes them, and kept.
    Comparison (by identity, as for every Linearization), pickling (a
    pickled one stays lazy) and :meth:`FixedPointSet.save
    <dynsys.FixedPointSet.save>` (which stores every field) work as for
    the base class.

    Examples
    --------
    >>> J = np.diag([1.5, 0.9, 0.5, 0.25, 0.1, 0.05])
    >>> lin = linearize_matrix(J, "map", spectrum="leading")
    >>> type(lin).__name__, lin.label, lin.index, lin.dims
    ('LazyLinearization', 'saddle', 1, (5, 1, 0))
    >>> lin.leading_eigenvalues.real, lin.is_computed
    (array([1.5, 0.9]), False)
    >>> lin.eigenvalues.real, lin.is_computed  # the whole spectrum, computed now
    (array([1.5 , 0.9 , 0.5 , 0.25, 0.1 , 0.05]), True)
    """

    def __init__(self, *, x: np.ndarray | None, jacobian: np.ndarray, kind: Kind, eigenvalues: np.ndarray,
                 Eu: np.ndarray, dims: tuple[int, int, int], label: str, flip: bool, margin: float,
                 rtol: float) -> None:
        known = {"x": x, "jacobian": jacobian, "kind": kind, "Eu": Eu, "index": dims[1], "label": label,
                 "flip": flip, "margin": margin, "_leading_eigenvalues": eigenvalues, "_dims": dims, "_rtol": rtol}
        for name, value in known.items():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        """The fields of ``LAZY_FIELDS``, computed at the first access (only missing attributes come here)."""
        if name not in LAZY_FIELDS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        known = self.__dict__
        J, x = known["jacobian"], known["x"]
        full = _linearizations(J[None], known["kind"], known["_rtol"], None if x is None else x[None])[0]
        for field_name in LAZY_FIELDS:
            object.__setattr__(self, field_name, getattr(full, field_name))
        return known[name]

    @property
    def is_computed(self) -> bool:
        """Whether the fields of ``LAZY_FIELDS`` have been computed."""
        return "eigenvalues" in self.__dict__

    @property
    def dims(self) -> tuple[int, int, int]:
        """(dim E^s, dim E^u, dim E^c)."""
        return self.__dict__["_dims"]

    @property
    def leading(self) -> np.ndarray:
        """Indices into ``eigenvalues`` of the dominant eigenvalues: the first ``len(leading_eigenvalues)``."""
        return np.arange(len(self.__dict__["_leading_eigenvalues"]))

    @property
    def leading_eigenvalues(self) -> np.ndarray:
        """Every unstable eigenvalue and the leading stable ones (ties included), sorted as ``eigenvalues``."""
        return self.__dict__["_leading_eigenvalues"]

    def _shown_eigenvalues(self) -> tuple[str, np.ndarray]:
        if self.is_computed:
            return "eigenvalues", self.eigenvalues
        return "leading_eigenvalues", self.leading_eigenvalues


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


def linearize_batch(system: System, X: Any, *, tol: float = 1e-8, spectrum: str = "full") -> list[Linearization]:
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
    spectrum : {"full", "leading", "auto"}, default "full"
        "full": every eigenvalue, eigenvector and subspace basis, as above.
        "leading": only the eigenvalues that decide the class (every
        unstable one and the leading stable ones) and E^u, by ARPACK, point
        by point (:class:`LazyLinearization`: the other fields are computed
        in full on first access); a point they do not decide (a centre
        eigenvalue, a repeller, no convergence) gets the full computation.
        Same index, dims, label, flip and margin (to rounding) as "full".
        "auto": "leading" when n >= ``LEADING_MIN_DIM``, else "full".

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
    leading = _leading_wanted(spectrum, system.dim)
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
        for lin in _linearize_chunk(system, Xb[lo : lo + chunk], tol, leading)
    ]


def _leading_wanted(spectrum: Any, n: int) -> bool:
    """Whether ``spectrum`` ("full", "leading" or "auto") asks for the leading spectrum at dimension n."""
    if spectrum not in SPECTRA:
        raise ValueError(f"spectrum must be one of {SPECTRA}, got {spectrum!r}")
    return spectrum == "leading" or (spectrum == "auto" and n >= LEADING_MIN_DIM)


def _linearize_chunk(system: System, X: np.ndarray, tol: float, leading: bool) -> list[Linearization]:
    J = system.jacobian(X)
    bad = ~np.isfinite(J).all(axis=(1, 2))
    if bad.any():
        raise ValueError(
            f"the Jacobian of {system.name!r} at x = {X[np.argmax(bad)].tolist()} has non-finite entries"
        )
    if leading:  # ARPACK works on one matrix at a time
        return [_leading_linearization(Jb, system.kind, tol, xb) for Jb, xb in zip(J, X)]
    return _linearizations(J, system.kind, tol, X)


def linearize_matrix(J: Any, kind: Kind, *, tol: float = 1e-8, x: Any = None, spectrum: str = "full") -> Linearization:
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
    spectrum : {"full", "leading", "auto"}, default "full"
        As in :func:`linearize_batch`.

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
    if _leading_wanted(spectrum, n):
        return _leading_linearization(Jm, kind, tol, x)
    return _linearizations(Jm[None], kind, tol, None if x is None else x[None])[0]


# ------------------------------------------------------------------- helpers
def _score(re: Any, im: Any, kind: Kind) -> Any:
    """s(lambda): Re lambda for a flow, |lambda| - 1 for a map (scalars or arrays)."""
    return re if kind == "flow" else np.hypot(re, im) - 1.0


def _group(score: Any, tol: Any) -> Any:
    """STABLE (score < -tol), UNSTABLE (score > tol) or CENTRE (tol a scalar or one per score)."""
    return np.where(score < -tol, STABLE, np.where(score > tol, UNSTABLE, CENTRE))


def _tolerances(
    w: np.ndarray, conditions: np.ndarray, norms: np.ndarray, tol: float, dim: int | None = None
) -> np.ndarray:
    """tol_i = tol max(1, |lambda_i|) + the rounding error bound of lambda_i, for a batch.

    ``w`` and ``conditions`` (s_i) have shape (B, m), ``norms`` (||J||_2)
    shape (B,), ``dim`` the size n of the matrices (default m: the whole
    spectrum).  The bound is min(n eps ||J|| / s_i, 2^(1 - 1/n)
    (n eps)^(1/n) ||J||): first-order perturbation theory for a backward
    error n eps ||J||, or Elsner's bound where s_i is too small for it (see
    the module docstring).
    """
    n = w.shape[-1] if dim is None else dim
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
    label, flip = _label_and_flip(kind, s, u, c, w[lead], tols[lead])
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
    return _accepted_basis(M, vectors, norm, complement)


def _accepted_basis(M: np.ndarray, vectors: np.ndarray, norm: float, complement: bool = False) -> np.ndarray | None:
    """Q of the QR factorisation of the normalised columns (n, m) of ``vectors`` (with ``complement``:
    the orthogonal complement of their span, the last n - m columns of the complete Q), or None unless
    they are finite, independent (smallest singular value of R above sqrt(eps)) and span a subspace P
    that M leaves invariant to rounding, ||M P - P (P^T M P)||_F <= 10 n eps ``norm`` (``norm`` at
    most ||M||_2 keeps the test valid; see the module docstring)."""
    if not np.isfinite(vectors).all():
        return None
    (n, m), eps = vectors.shape, np.finfo(float).eps
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


def _label_and_flip(kind: Kind, s: int, u: int, c: int, dominant: np.ndarray, tols: np.ndarray) -> tuple[str, bool]:
    """The label (with FLIP for a flip) and ``flip`` of a point with subspace dimensions (s, u, c) from its
    dominant eigenvalues and their tolerances: non-real where |Im| exceeds the tolerance, a flip where a map
    has a real one below -tol."""
    nonreal = np.abs(dominant.imag) > tols
    flip = kind == "map" and bool(np.any(~nonreal & (dominant.real < -tols)))
    return _label(s, u, c, bool(nonreal.any()), bool(nonreal.all())) + (FLIP if flip else ""), flip


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



# --------------------------------------------------------- leading spectrum
def _leading_linearization(J: np.ndarray, kind: Kind, tol: float, x: np.ndarray | None) -> Linearization:
    """The :class:`LazyLinearization` of one finite real matrix J from its leading eigenvalues
    (:func:`_leading_spectrum`), or where they do not decide it, the full one (``spectrum="full"``)."""
    lazy = _leading_spectrum(J, kind, tol)
    if lazy is None:
        return _linearizations(J[None], kind, tol, None if x is None else x[None])[0]
    w, Eu, dims, label, flip, margin = lazy
    return LazyLinearization(
        x=None if x is None else np.array(x, dtype=float), jacobian=np.array(J, dtype=float), kind=kind,
        eigenvalues=w, Eu=Eu, dims=dims, label=label, flip=flip, margin=margin, rtol=tol,
    )


def _leading_spectrum(
    J: np.ndarray, kind: Kind, tol: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int], str, bool, float] | None:
    """(leading eigenvalues, Eu, dims, label, flip, margin) of J by ARPACK, or None where the
    leading eigenvalues do not decide them (then the caller computes the full spectrum).

    ARPACK (``scipy.sparse.linalg.eigs``, implicitly restarted Arnoldi) computes the k
    eigenvalues mu of largest modulus of an operator C: J itself for a map; for a flow the
    Cayley transform C = (sigma I - J)^-1 (sigma I + J), sigma the largest column norm of J
    (at most ||J||_2; one LU factorisation), whose eigenvalues mu = (sigma + lambda) / (sigma - lambda) have
    |mu| > 1 exactly where Re lambda > 0.  If rho is the smallest |mu| computed, every
    eigenvalue of J with score s > t is among those computed, with t = rho - 1 (map) or
    t = sigma (rho - 1) / (rho + 1) (flow: the half-plane Re lambda > t is the outside of
    the Apollonius circle through mu = -1 and (sigma + t) / (sigma - t), whose nearest
    point to 0 is at distance rho).  k starts at ``LEADING_FIRST_K`` and doubles until the
    eigenvalues of score > t include a stable one and t lies below the tie window of the
    leading stable eigenvalue s_L, t < s_L - tol_L - max_i tol_i (the uncomputed
    eigenvalues taken no worse conditioned than the computed ones); then every unstable
    eigenvalue and every leading stable one (:func:`_leading`) is known, and so are the
    index, dims, label, flip and margin.  None (full spectrum) when k would exceed n / 2,
    on a centre eigenvalue (the label then depends on all of them), when ARPACK does not
    converge, or when the classification changes between a lower and an upper bound of
    ||J||_2 (below).

    The eigenvalues are Ritz values of J itself (of the Ritz vectors, Rayleigh quotients
    x^H J x for a flow).  Their condition numbers s_i = |y_i^H x_i| / (||y_i|| ||x_i||)
    take left eigenvectors y_i from ARPACK on C^T (J^T, or (sigma I + J)^T (sigma I - J)^-T
    with the same LU), matched to the right ones by value, computed only once the least
    possible tolerances (s_i = 1, the lower norm bound) no longer ask for a larger k.  ||J||_2 enters the tolerances
    (:func:`_tolerances`); instead of its O(n^3) value, every eigenvalue is classified with
    the upper bound ||J||_F >= ||J||_2 and with the lower bound max(largest column norm,
    largest |lambda| computed) <= ||J||_2: since tol_i grows with the norm, both agreeing
    means ||J||_2 itself gives the same groups and ties, exactly as ``spectrum="full"``
    would classify them.  Eu is Q of the QR factorisation of the real unstable Ritz
    vectors (Re x, Im x for a pair), accepted by the residual test of the eigenvector
    bases (:func:`_accepted_basis`, with the lower bound: a stricter test); where it fails,
    None.  Krylov methods can miss an eigenvalue whose eigenvector the random start vector
    barely touches; ARPACK's restarts make that rare but not impossible.
    """
    n = len(J)
    fro = float(np.linalg.norm(J))
    if n < 4 or fro == 0.0:
        return None
    low = float(np.max(np.linalg.norm(J, axis=0)))  # a column norm never exceeds ||J||_2
    cayley = kind == "flow"
    if cayley:
        sigma = low
        shifted = sigma * np.eye(n) - J
        lu = lu_factor(shifted, check_finite=False)
        if np.min(np.abs(np.diag(lu[0]))) <= n * np.finfo(float).eps * np.linalg.norm(shifted, 1):
            return None  # sigma (nearly) an eigenvalue
        op = LinearOperator((n, n), matvec=lambda v: lu_solve(lu, sigma * v + J @ v), dtype=float)
        op_t = LinearOperator((n, n), matvec=lambda v: sigma * (u := lu_solve(lu, v, trans=1)) + J.T @ u, dtype=float)
    else:
        op, op_t = J, J.T
    rng = np.random.default_rng(0)  # fixed start vectors: the same answer every call
    k = min(LEADING_FIRST_K, max(4, n // 8), n - 2)
    while True:
        try:
            ncv = min(n, max(LEADING_NCV * k, 20))
            mu, V = eigs(op, k, which="LM", ncv=ncv, v0=rng.standard_normal(n))
        except (ArpackNoConvergence, ArpackError):
            return None
        rho = float(np.min(np.abs(mu)))
        threshold = sigma * (rho - 1.0) / (rho + 1.0) if cayley else rho - 1.0
        keep = np.abs(mu) > rho * (1.0 + 1e-12)
        mu, V = mu[keep], V[:, keep]
        w = _ritz_values(J, V) if cayley else mu
        certified = _score(w.real, w.imag, kind) > threshold
        w, V = w[certified], V[:, certified]
        if _classified(w, np.ones(len(w)), low, n, kind, tol, threshold) != "more":  # the least tolerances: worth y_i
            try:
                mu_t, Y = eigs(op_t, k, which="LM", ncv=ncv, v0=rng.standard_normal(n))
            except (ArpackNoConvergence, ArpackError):
                return None
            conditions = _matched_conditions(w, V, _ritz_values(J.T, Y) if cayley else mu_t, Y)
            if conditions is None:
                return None
            low = max(low, float(np.max(np.abs(w))))  # the spectral radius never exceeds ||J||_2
            decided = [_classified(w, conditions, norm, n, kind, tol, threshold) for norm in (low, fro)]
            if "more" not in decided:
                if decided[0] != decided[1] or decided[1] is None:
                    return None
                return _leading_result(J, kind, tol, w, V, conditions, fro, low, *decided[1])
        if k >= n // 2 or k >= n - 2:
            return None
        k = min(2 * k, n - 2)


def _ritz_values(M: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The Rayleigh quotients v^H M v / v^H v of the columns of V, real where the imaginary part is rounding."""
    w = np.einsum("ij,ij->j", V.conj(), M @ V) / np.einsum("ij,ij->j", V.conj(), V)
    return np.where(np.abs(w.imag) <= 4 * np.finfo(float).eps * np.abs(w), w.real, w)


def _matched_conditions(w: np.ndarray, V: np.ndarray, wz: np.ndarray, Z: np.ndarray) -> np.ndarray | None:
    """s_i = |y_i^H x_i| / (||y_i|| ||x_i||) for the eigenvalues w (right vectors V) from eigenpairs
    (wz, Z) of J^T: J^T z = lambda z makes y = conj(z) a left eigenvector (y^H J = lambda y^H) and
    y^H x = z^T x.  Pairs are matched by value (least total distance); None where an eigenvalue has
    no partner within 1e-6 max(1, |lambda|)."""
    rows, cols = linear_sum_assignment(np.abs(w[:, None] - wz[None, :]))
    if len(rows) < len(w) or np.any(np.abs(w[rows] - wz[cols]) > 1e-6 * np.maximum(1.0, np.abs(w[rows]))):
        return None
    x, z = V[:, rows], Z[:, cols]
    return np.abs(np.einsum("ij,ij->j", z, x)) / (np.linalg.norm(x, axis=0) * np.linalg.norm(z, axis=0))


def _classified(
    w: np.ndarray, conditions: np.ndarray, norm: float, n: int, kind: Kind, tol: float, threshold: float
) -> Any:
    """For :func:`_leading_spectrum`: the groups and the dominant ones (:func:`_leading`) of the
    computed eigenvalues w, all those of score > ``threshold``, of a matrix of size n, classified with
    condition numbers s_i and ||J||_2 = ``norm``; "more" where they do not reach below the leading stable one's tie
    window; None on a centre eigenvalue."""
    score = _score(w.real, w.imag, kind)
    tols = _tolerances(w[None], conditions[None], np.array([norm]), tol, n)[0]
    groups = _group(score, tols)
    if np.any(groups == CENTRE):
        return None
    stable = groups == STABLE
    if not stable.any():
        return "more"
    lead = np.flatnonzero(stable)[np.argmax(score[stable])]
    if threshold >= score[lead] - tols[lead] - np.max(tols):
        return "more"
    return tuple(groups.tolist()), tuple(_leading(score, tols).tolist())


def _leading_result(
    J: np.ndarray, kind: Kind, tol: float, w: np.ndarray, V: np.ndarray, conditions: np.ndarray,
    high: float, low: float, groups: tuple[int, ...], dominant_at: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int], str, bool, float] | None:
    """For :func:`_leading_spectrum`: the result tuple from the classified eigenvalues, or None
    where the real unstable Ritz vectors fail the basis test."""
    n, unstable = len(J), np.array(groups) == UNSTABLE
    u = int(unstable.sum())
    at = np.array(dominant_at)
    dominant = w[at]
    order = np.lexsort((-dominant.real, -dominant.imag, -_score(dominant.real, dominant.imag, kind)))
    dominant = dominant[order]
    vectors = V[:, unstable & (w.imag >= 0)]
    real = np.hstack([vectors.real, vectors[:, vectors.imag.any(axis=0)].imag])
    if real.shape[1] != u:
        return None
    Eu = np.zeros((n, 0)) if u == 0 else _accepted_basis(J, real, low)
    if Eu is None:
        return None
    tols = _tolerances(w[None], conditions[None], np.array([high]), tol, n)[0][at][order]
    label, flip = _label_and_flip(kind, n - u, u, 0, dominant, tols)
    margin = float(np.min(np.abs(_score(dominant.real, dominant.imag, kind))))
    return dominant, Eu, (n - u, u, 0), label, flip, margin
