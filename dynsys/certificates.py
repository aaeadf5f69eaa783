"""Certified fixed points: the Krawczyk test, and every fixed point in a box by branch and bound.

A fixed point x of a flow dx/dt = f(x) or a map x -> g(x) is a zero of the
residual F (F = f, or F = g - id).  For a point x~ and a box
X = x~ + [-r, r]^n, a float matrix C (here the inverse of the float
Jacobian DF(x~)) and an interval matrix DF(X) enclosing DF(y) for every y in
X, the Krawczyk operator is

    K(X) = x~ - C F(x~) + (I - C DF(X)) (X - x~).

Every zero of F in X lies in K(X) (mean value theorem), and if K(X) lies in
the interior of X then F has exactly one zero in X (Krawczyk 1969; Moore 1977;
Rump 1983 for the uniqueness and the nonsingularity of C and DF(X)); if
K(X) ∩ X is empty, F has none in X.  :func:`certify` applies the test to given
points, :func:`all_fixed_points` to the boxes of an interval branch and bound.

How K(X) is enclosed: with J0 the float DF(x~) (C ≈ J0^-1), G >= |I - C J0|
(once per point), E >= |DF(X) - J0| entrywise and d >= |X - x~|,

    K(X) ⊆ x~ - C F(x~) + [-e, e],   e = G d + |C| (E d),

since I - C A = (I - C J0) - C (A - J0) for every A in DF(X).  Only G costs
an n x n x n product, per point; each box (each radius tried) costs
matrix-vector products, which makes n = 256 practical.  K(X) ⊂ int X gives
e < d, so the spectral radius of the majorant G + |C| E is below 1 (Perron-
Frobenius): y -> y - C F(y) is a contraction of X in the d-weighted max-norm,
C is nonsingular, and F has exactly one zero in X.

The enclosures of F and DF over boxes come from :mod:`dynsys.intervals`
(``residual_enclosure``, ``residual_jacobian_enclosure``), and so does every
operation on intervals here (:class:`dynsys.intervals.Interval`: the products
with the float matrix C in midpoint-radius form with Rump's error bound, sums
rounded outwards), so K(X) is enclosed rigorously; see that module for the
rounding argument.  C itself needs no rigour (any C makes the test sound, a
poor one only makes it fail).  An enclosure that is undefined on a box
(infinite bounds: :mod:`dynsys.intervals` turns NaN into the whole line)
makes every test on it fail: no certificate and no exclusion come from it.

References
----------
R. Krawczyk, Newton-Algorithmen zur Bestimmung von Nullstellen mit
Fehlerschranken, Computing 4 (1969) 187-201.
R. E. Moore, A test for existence of solutions to nonlinear systems,
SIAM J. Numer. Anal. 14 (1977) 611-615.
S. M. Rump, Solving algebraic problems with high accuracy, in: A New
Approach to Scientific Computation, Academic Press (1983) 51-120.
A. Neumaier, Interval Methods for Systems of Equations, Cambridge (1990).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validate import check_real_array
from .fixed_points.result import FixedPointSet
from .intervals import Interval, residual_enclosure, residual_jacobian_enclosure
from .linearize import linearize_batch
from .systems import System, check_bounds

# entries of the (boxes, n, n) work arrays of one chunk of Krawczyk tests (about 8 arrays of them: ~130 MB)
_CHUNK_ENTRIES = 2_000_000
# where a box is bisected along its widest side, as a fraction of it: off the centre, so that zeros at
# "round" coordinates (the centre of a symmetric box, half-integers) do not land on a face of two boxes,
# where no box can certify them (K(X) in the interior of X needs the zero in the interior)
_SPLIT = 0.4808936
# multiples of |C F(x~)| and of 1e-8 max(1, |x~|) that certify() tries as radii
_STEP_MULTIPLES = (2.0, 16.0, 1024.0)
_SCALE_MULTIPLES = (1e-10, 1e-8, 1e-6, 1e-4)
# steps of the uniqueness ladder, geometric from the certified radius to the cap
_N_LADDER = 8


@dataclass(frozen=True)
class _Preconditioner:
    """At each point x~ (rows): J0, the float DF(x~) (zero where not finite), C ≈ J0^-1 (the
    inverse, or the pseudo-inverse where one J0 is singular; zero where not finite: any C makes the
    test sound, a poor one only makes it fail), G >= |I - C J0|
    entrywise (an interval product, rounded outwards) and CF, an enclosure of C F(x~): computed once per point,
    for every box around it."""

    C: np.ndarray
    J0: np.ndarray
    G: np.ndarray
    CF: Interval

    def __getitem__(self, rows: Any) -> _Preconditioner:
        return _Preconditioner(self.C[rows], self.J0[rows], self.G[rows], self.CF[rows])


def _inverse_jacobians(system: System, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J0, the float DF at the points x (B, n), and C ≈ J0^-1 (as :class:`_Preconditioner`)."""
    J0 = system.residual_jacobian(x)
    J0 = np.where(np.all(np.isfinite(J0), axis=(1, 2))[:, None, None], J0, 0.0)
    try:
        C = np.linalg.inv(J0)
    except np.linalg.LinAlgError:  # a singular J0 in the batch: the pseudo-inverse for all (slower: an SVD)
        C = np.linalg.pinv(J0)
    return J0, np.where(np.all(np.isfinite(C), axis=(1, 2))[:, None, None], C, 0.0)


def _preconditioners(system: System, x: np.ndarray) -> _Preconditioner:
    """The :class:`_Preconditioner` at the points x (B, n)."""
    J0, C = _inverse_jacobians(system, x)
    M = np.eye(x.shape[1]) - C @ Interval(J0)
    Fx = Interval(*residual_enclosure(system, x, x))
    return _Preconditioner(C, J0, _magnitude(M), (C @ Fx[..., None])[..., 0])


def _magnitude(v: Interval) -> np.ndarray:
    return np.maximum(np.abs(v.lo), np.abs(v.hi))


def _krawczyk(system: System, x: np.ndarray, pre: _Preconditioner, lo: np.ndarray,
              hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K(X) for boxes X = [lo, hi] (B, n) around x (B, n), in the form of the module docstring, chunked."""
    B, n = x.shape
    Klo, Khi = np.empty_like(x), np.empty_like(x)
    step = max(1, _CHUNK_ENTRIES // (n * n))
    for a in range(0, B, step):
        s = slice(a, a + step)
        E = _magnitude(Interval(*residual_jacobian_enclosure(system, lo[s], hi[s])) - pre.J0[s])
        d = Interval(_magnitude(Interval(lo[s], hi[s]) - x[s])[..., None])  # |X - x~| <= d
        e = pre.G[s] @ d + np.abs(pre.C[s]) @ Interval((E @ d).hi)  # >= |I - C DF(X)| d
        K = x[s] - pre.CF[s] + Interval(-e.hi[..., 0], e.hi[..., 0])
        Klo[s], Khi[s] = K.lo, K.hi
    return Klo, Khi


def _passes(system: System, x: np.ndarray, pre: _Preconditioner, r: np.ndarray) -> np.ndarray:
    """Whether K(X) ⊂ int X for the boxes X = x + [-r, r]^n (rows of x, C, r), rounded outwards."""
    box = x + Interval(-r[:, None], r[:, None])  # outward rounded
    lo, hi = box.lo, box.hi
    Klo, Khi = _krawczyk(system, x, pre, lo, hi)
    return (r > 0) & np.all((Klo > lo) & (Khi < hi), axis=1)


@dataclass(frozen=True, eq=False)
class Certificates:
    """Krawczyk certificates of points, in the order of the points given to :func:`certify`.

    Attributes
    ----------
    x : ndarray of shape (K, n)
        The points x~.
    certified : ndarray of bool, shape (K,)
        Proven: F has exactly one zero in the box x~ + [-radius, radius]^n.
    radius : ndarray of shape (K,)
        The smallest radius proven (NaN where not certified): the zero lies
        within ``radius`` of x~ in the max-norm.
    unique_radius : ndarray of shape (K,)
        The largest radius proven (>= ``radius``; NaN where not certified):
        there is no other zero in x~ + [-unique_radius, unique_radius]^n.
    unique : ndarray of bool, shape (K,)
        Certified in a strictly larger box than ``radius`` (``unique_radius
        > radius``).
    ids : tuple of str
        The points' ids (those of the FixedPointSet given, else "0", "1", ...).

    Examples
    --------
    >>> from dynsys import models
    >>> cert = certify(models.duffing(), [[1.0, 0.0], [0.5, 0.0]])
    >>> cert.certified.tolist(), bool(cert.radius[0] < 1e-7)
    ([True, False], True)
    >>> print(cert.table())  # doctest: +NORMALIZE_WHITESPACE
    id  certified  radius     unique  unique_radius
    0   yes        1.000e-10  yes     2.500e-01
    1   no         -          no      -
    """

    x: np.ndarray
    certified: np.ndarray
    radius: np.ndarray
    unique_radius: np.ndarray
    unique: np.ndarray
    ids: tuple[str, ...] = field(default=())

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One dict per point: ``id``, ``certified``, ``radius``, ``unique``, ``unique_radius`` (NaN where not).

        Examples
        --------
        >>> from dynsys import models
        >>> certify(models.duffing(), [[0.0, 0.0]]).rows[0]["certified"]
        True
        """
        return [
            {"id": i, "certified": bool(c), "radius": float(r), "unique": bool(u), "unique_radius": float(ur)}
            for i, c, r, u, ur in zip(self.ids, self.certified, self.radius, self.unique, self.unique_radius)
        ]

    def table(self) -> str:
        """The certificates as a text table, one row per point.

        Examples
        --------
        >>> from dynsys import models
        >>> print(certify(models.duffing(), [[0.0, 0.0]]).table().splitlines()[1].split()[:2])
        ['0', 'yes']
        """
        def number(v: float) -> str:
            return "-" if np.isnan(v) else f"{v:.3e}"

        head = ("id", "certified", "radius", "unique", "unique_radius")
        body = [(r["id"], "yes" if r["certified"] else "no", number(r["radius"]), "yes" if r["unique"] else "no",
                 number(r["unique_radius"])) for r in self.rows]
        widths = [max(len(row[j]) for row in [head, *body]) for j in range(len(head))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body])


def certify(system: System, points: FixedPointSet | Any, *, radius: float | Any = None) -> Certificates:
    """Prove, point by point, that exactly one zero of the residual lies near each point (Krawczyk's test).

    For each point x~ (vectorised over all of them), C = DF(x~)^-1 in floats
    and boxes X = x~ + [-r, r]^n; the test passes when the outward-rounded
    K(X) = x~ - C F(x~) + (I - C DF(X)) (X - x~) lies in the interior of X,
    which proves that F has exactly one zero in X (see the module docstring).

    Radii tried: with ``radius`` None, r in {2, 16, 1024} |C F(x~)|_inf and
    {1e-10, 1e-8, 1e-6, 1e-4} max(1, |x~|_inf) (the Newton step bounds the distance
    to the zero; the second set covers a step rounded to 0), keeping the
    smallest that passes; else the radius given.  Then the uniqueness ladder:
    9 radii geometric from the certified radius to a cap, half the max-norm
    distance to the nearest other point given (0.1 max(1, |x~|_inf) for a
    single point, and never less than the certified radius), searched by
    bisection over the ladder for the largest that passes (the test is not
    monotone in r, so a larger one may pass too; every radius that passes is
    a proof): ``unique_radius``.  The points are tested together in each
    round (radii tried, then bisection steps), only those still undecided.

    Parameters
    ----------
    system : System
        A system with interval enclosures (:mod:`dynsys.intervals`: formula
        systems and RNN cells).
    points : FixedPointSet or array_like of shape (K, n)
    radius : float or array_like of shape (K,), optional
        The radius (> 0) to prove for every point, or one per point.

    Returns
    -------
    Certificates
        In the order of ``points``.

    Raises
    ------
    ValueError
        ``points`` not of shape (K, n) for the system's n states, not
        finite; ``radius`` not positive and finite or of another shape.
    TypeError
        A system without interval enclosures.

    Examples
    --------
    The Duffing oscillator's fixed points (±1, 0) and (0, 0):

    >>> from dynsys import models
    >>> cert = certify(models.duffing(), [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    >>> cert.certified.tolist(), cert.unique.tolist()
    ([True, True, True], [True, True, True])
    >>> certify(models.duffing(), [[1.0, 0.0]], radius=3.0).certified  # the box holds all three zeros
    array([False])
    """
    ids: tuple[str, ...]
    if isinstance(points, FixedPointSet):
        x, ids = points.x, tuple(points.ids)
    else:
        x = check_real_array(points, "points")
        if x.ndim != 2 or x.shape[1] != system.dim:
            raise ValueError(f"points must have shape (K, {system.dim}) for the {system.dim} states, got {x.shape}")
        ids = tuple(str(i) for i in range(len(x)))
    K = len(x)
    scale = np.maximum(1.0, np.max(np.abs(x), axis=1, initial=0.0))
    if K == 0:
        empty = np.zeros(0)
        return Certificates(x, empty.astype(bool), empty, empty.copy(), empty.astype(bool), ids)
    pre = _preconditioners(system, x)
    if radius is None:
        step = np.max(np.abs((pre.C @ system.residual(x)[:, :, None])[..., 0]), axis=1)
        tries = np.concatenate([np.multiply.outer(_STEP_MULTIPLES, step), np.multiply.outer(_SCALE_MULTIPLES, scale)])
        tries = np.sort(np.where(np.isfinite(tries), tries, 0.0), axis=0)  # (R, K)
    else:
        r = check_real_array(radius, "radius")
        if r.ndim > 1 or (r.ndim == 1 and r.shape != (K,)) or np.any(r <= 0):
            raise ValueError(f"radius must be a positive number or one per point ({K}), got {radius!r}")
        tries = np.broadcast_to(r, (K,))[None, :]
    r_cert = np.full(K, np.nan)
    for r in tries:  # smallest first, for the points not yet certified
        rows = np.flatnonzero(np.isnan(r_cert) & (r > 0))
        ok = _passes(system, x[rows], pre[rows], r[rows])
        r_cert[rows[ok]] = r[rows[ok]]
    certified = ~np.isnan(r_cert)
    base = np.where(certified, r_cert, 1.0)
    cap = np.maximum(_uniqueness_caps(x, scale), base)
    # ladder[0] = base (passed), ladder[L] = cap; bisect over its indices for the largest that passes
    ladder = base * (cap / base) ** (np.arange(_N_LADDER + 1)[:, None] / _N_LADDER)
    low = np.zeros(K, dtype=int)
    high = np.where(certified & (cap > base), _N_LADDER + 1, 1)
    while np.any(high - low > 1):
        rows = np.flatnonzero(high - low > 1)
        mid = (low[rows] + high[rows]) // 2
        ok = _passes(system, x[rows], pre[rows], ladder[mid, rows])
        low[rows] = np.where(ok, mid, low[rows])
        high[rows] = np.where(ok, high[rows], mid)
    unique_radius = np.where(certified, ladder[low, np.arange(K)], np.nan)
    return Certificates(x, certified, r_cert, unique_radius, certified & (low > 0), ids)


def _uniqueness_caps(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Half the max-norm distance from each point to the nearest other one (0.1 scale when alone)."""
    if len(x) == 1:
        return 0.1 * scale
    d = np.max(np.abs(x[:, None, :] - x[None, :, :]), axis=2)
    np.fill_diagonal(d, np.inf)
    return 0.5 * d.min(axis=1)


def all_fixed_points(system: System, bounds: Any = None, *, max_boxes: int = 10_000) -> FixedPointSet:
    """Every fixed point in a box, each certified, by interval branch and bound.

    A queue of boxes starts with ``bounds``; boxes are taken in batches
    (breadth first, vectorised) and each box X is

    1. excluded when 0 is not in the enclosure of F over X (some component
       of F has a sign on X);
    2. else tested with Krawczyk's operator at its midpoint x~ (module
       docstring): K(X) ⊂ int X proves exactly one zero in X (certified);
       K(X) ∩ X empty proves none (excluded); else X <- K(X)' ∩ X, which keeps
       every zero of X, K(X)' being K(X) widened by 0.1 of its width and
       2^-20 of X's widest side on each side (Rump's epsilon-inflation: a
       side where K(X) is a point, F affine in that variable, stays wide
       enough for the next test, which needs K(X) in the interior, however
       often it is contracted);
    3. else bisected across its widest side (at 0.48 of it, off the centre,
       so that zeros at round coordinates do not fall on the common face,
       where neither half could certify them); a box narrower than ~1e-12
       max(1, |x~|) in every side is set aside as undecided (a multiple or
       singular zero, or one on a face).

    Each box certified holds exactly one zero, in its interior; the boxes are
    disjoint up to faces, so the zeros are distinct.  Each zero is then
    refined by Newton's method from the box's midpoint and certified by
    :func:`certify` (the box itself is the certificate where that fails).
    The budget counts boxes taken from the queue; the boxes still queued at
    the budget and those set aside are returned as undecided, never dropped.

    Parameters
    ----------
    system : System
        A system with interval enclosures (:mod:`dynsys.intervals`); for a
        map's period-k points, ``system.iterate(k)``.
    bounds : array_like of shape (2,) or (n, 2), optional
        The box (low, high) per state; default ``system.bounds``.
    max_boxes : int, default 10_000
        The most boxes to examine.

    Returns
    -------
    FixedPointSet
        The certified zeros (all ``is_fixed``), with ``stats``: ``method``
        ("interval branch and bound"), ``complete`` (true only when every
        box was excluded or certified: then these are all the fixed points
        in the box), ``n_boxes`` (examined), ``n_excluded``, ``n_certified``,
        ``n_undecided``, ``undecided`` (a list of [low, high] boxes, each a
        list of n floats), ``max_boxes``, ``time_s``; ``certified`` is
        true and ``certified_radius`` the radius proven for each point (the
        zero lies within it of the point, max-norm).  Zeros exactly on a face of ``bounds`` cannot be
        certified: they stay in undecided boxes.

    Raises
    ------
    ValueError
        Bad ``bounds`` (none given and the system has none), ``max_boxes``
        not a positive integer.
    TypeError
        A system without interval enclosures.

    Examples
    --------
    The Duffing oscillator has exactly the zeros (0, 0) and (±1, 0):

    >>> from dynsys import models
    >>> points = all_fixed_points(models.duffing(), [(-3, 3), (-3, 3)])
    >>> np.round(points.x, 12).tolist(), points.stats["complete"]
    ([[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], True)
    >>> all_fixed_points(models.duffing(), [(2, 3), (-1, 1)]).stats["n_fixed"]  # none there
    0
    """
    clock = time.perf_counter()
    if bounds is None and system.bounds is None:
        raise ValueError(f"bounds must be given: {system.name!r} has no bounds of its own")
    box = check_bounds(system.bounds if bounds is None else bounds, system.dim)
    if isinstance(max_boxes, bool) or not isinstance(max_boxes, (int, np.integer)) or max_boxes < 1:
        raise ValueError(f"max_boxes must be a positive integer, got {max_boxes!r}")
    lo, hi = box[None, :, 0], box[None, :, 1]
    found: list[tuple[np.ndarray, np.ndarray]] = []
    aside: list[tuple[np.ndarray, np.ndarray]] = []
    n_boxes = n_excluded = 0
    while len(lo) and n_boxes < max_boxes:
        take = min(len(lo), max_boxes - n_boxes, _BATCH, max(1, _CHUNK_ENTRIES // system.dim**2))
        Xlo, Xhi, lo, hi = lo[:take], hi[:take], lo[take:], hi[take:]
        n_boxes += take
        Flo, Fhi = residual_enclosure(system, Xlo, Xhi)
        keep = ~np.any((np.asarray(Flo) > 0) | (np.asarray(Fhi) < 0), axis=1)
        Xlo, Xhi = Xlo[keep], Xhi[keep]
        x = 0.5 * Xlo + 0.5 * Xhi
        Klo, Khi = _krawczyk(system, x, _preconditioners(system, x), Xlo, Xhi)
        proven = np.all((Klo > Xlo) & (Khi < Xhi), axis=1)
        empty = np.any((Klo > Xhi) | (Khi < Xlo), axis=1)
        found.append((Xlo[proven], Xhi[proven]))
        n_excluded += int(np.sum(~keep) + np.sum(empty & ~proven))
        rest = ~proven & ~empty
        Xlo, Xhi, Klo, Khi = Xlo[rest], Xhi[rest], Klo[rest], Khi[rest]
        pad = _PAD_K * (Khi - Klo) + _PAD_X * np.max(Xhi - Xlo, axis=1, keepdims=True)  # epsilon-inflation
        Xlo, Xhi = np.fmax(Xlo, Klo - pad), np.fmin(Xhi, Khi + pad)  # pad >= 0: rounding keeps K(X) inside
        width = Xhi - Xlo
        small = np.max(width, axis=1) <= _FLOOR * np.maximum(1.0, np.max(np.abs(Xlo), axis=1))
        aside.append((Xlo[small], Xhi[small]))
        Xlo, Xhi, width = Xlo[~small], Xhi[~small], width[~small]
        rows, side = np.arange(len(Xlo)), np.argmax(width, axis=1)
        cut = Xlo[rows, side] + _SPLIT * width[rows, side]
        left_hi, right_lo = Xhi.copy(), Xlo.copy()
        left_hi[rows, side] = cut
        right_lo[rows, side] = cut
        lo, hi = np.concatenate([lo, Xlo, right_lo]), np.concatenate([hi, left_hi, Xhi])
    aside.append((lo, hi))
    Ulo, Uhi = (np.concatenate(parts).reshape(-1, system.dim) for parts in zip(*aside))
    Zlo, Zhi = (np.concatenate(parts).reshape(-1, system.dim) for parts in zip(*found))
    x, radius = _refine(system, Zlo, Zhi)
    stats = {
        "method": "interval branch and bound",
        "complete": len(Ulo) == 0,
        "n_boxes": n_boxes,
        "n_excluded": n_excluded,
        "n_certified": len(x),
        "n_undecided": len(Ulo),
        "undecided": [[a.tolist(), b.tolist()] for a, b in zip(Ulo, Uhi)],
        "max_boxes": int(max_boxes),
    }
    return _point_set(system, x, radius, stats, clock)


_BATCH = 4096  # boxes per round of the branch and bound
_FLOOR = 2.0**-40  # relative width below which a box is not bisected further
_NEWTON_STEPS = 6
_PAD_K, _PAD_X = 0.1, 2.0**-20  # the epsilon-inflation of K(X) in the branch and bound (of K's width, X's widest)


def _refine(system: System, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The zero proven in each box: Newton from the midpoint, certified; else the midpoint and the box's half-width."""
    mid = 0.5 * lo + 0.5 * hi
    x = mid.copy()
    for _ in range(_NEWTON_STEPS):
        step = (_inverse_jacobians(system, x)[1] @ system.residual(x)[:, :, None])[..., 0] if len(x) else x
        x = x - step
    inside = np.all(np.isfinite(x) & (x >= lo) & (x <= hi), axis=1)
    x = np.where(inside[:, None], x, mid)
    cert = certify(system, x)
    half = np.max(Interval(lo, hi).rad, axis=1, initial=0.0)
    good = inside & cert.certified
    return np.where(good[:, None], x, mid), np.where(good, cert.radius, half)


def _point_set(system: System, x: np.ndarray, radius: np.ndarray, stats: dict[str, Any],
               clock: float) -> FixedPointSet:
    """The FixedPointSet of the certified zeros x, fixed points, ordered by index then coordinates."""
    lins = linearize_batch(system, x, spectrum="auto")
    index = np.array([lin.index for lin in lins], dtype=int)
    order = np.lexsort((*x.T[::-1], index))
    x, radius = x[order], radius[order]
    speed = np.linalg.norm(system.residual(x), axis=1) if len(x) else np.zeros(0)
    fixed = np.ones(len(x), dtype=bool)
    return FixedPointSet(
        x=x, q=0.5 * speed**2, speed=speed, is_fixed=fixed, is_slow=~fixed,
        linearizations=tuple(lins[i] for i in order), kind=system.kind, state_names=system.state_names,
        system_name=system.name, params=dict(system.params),
        stats={**stats, "n_fixed": len(x), "n_slow": 0, "time_s": time.perf_counter() - clock},
        certified=fixed, certified_radius=radius,
    )
