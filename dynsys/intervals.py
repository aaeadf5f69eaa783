"""Interval arithmetic in numpy, with outward rounding, and enclosures of residuals and Jacobians over boxes.

An :class:`Interval` (alias :class:`Box`) holds arrays ``lo`` and ``hi`` of
one shape: the set of real arrays x with lo <= x <= hi elementwise.  Every
operation returns an interval that contains the exact result of the
operation applied to every point of its arguments ("inclusion"): the
building block of proofs by interval arithmetic (Moore 1966; Neumaier 1990),
such as the Krawczyk test of :mod:`dynsys.certificates`.  Operations are numpy
array operations, vectorised over any batch of boxes.

Outward rounding (the argument, checked in tests/test_intervals.py)
-------------------------------------------------------------------
numpy computes in IEEE 754 binary64 with rounding to nearest.

* ``+ - * /`` and ``sqrt`` are correctly rounded: the computed result is the
  float nearest to the exact one, so one step to the next float down
  (``np.nextafter(v, -inf)``) and up (``np.nextafter(v, +inf)``) brackets
  the exact value.  Interval bounds are computed that way: for example
  [a, b] + [c, d] = [down(a + c), up(b + d)].  The same holds with gradual
  underflow (numpy does not flush subnormals to zero) and at overflow
  (down(+inf) is the largest float, below any value that rounds to +inf).
  Where the result is exact the step is skipped, so that exact results stay
  points: sums and products are checked with their exact errors (Knuth's
  TwoSum, Dekker's TwoProduct; where these could underflow or overflow the
  step is always taken), quotients by q·b = a exactly.
* exp, log, tanh, sin, cos, sinh, cosh, atan, asin, acos and non-integer
  powers come from the platform's math library, which is not correctly
  rounded.  glibc's manual (section "Errors in Math Functions") lists, for
  x86_64, the maximum errors its test suite knows for these functions in
  double precision: 1 or 2 ulps (tanh, sinh, cosh 2; the others 1) --
  measured maxima, not proofs; numpy on x86_64 may dispatch float64 exp,
  log, sin, cos, tanh ... to its own SIMD code or to Intel's SVML, documented
  to 4 ulps at most.  We widen each such value by :data:`LIBM_ULPS` = 16 ulps of the
  computed value (or 16 times the smallest normal float, whichever is
  larger, which covers subnormal and flushed results), then one more step
  outwards: a margin of 4 over the largest documented error, of which a
  factor 2 may be used up where the exact value and the computed one lie on
  either side of a power of 2.  Monotone functions are evaluated at the
  ends of the interval (decreasing ones swapped); sin and cos also take the
  extremes ±1 wherever the interval may contain an extremum (tested with a
  relative slack of 1e-12 in x/π, far above its rounding error); results
  are clamped to the known ranges (tanh and sin, cos in [-1, 1], the
  logistic sigmoid in [0, 1], exp >= 0, cosh >= 1 ...).  The logistic sigmoid
  is 1 / (1 + exp(-x)) in interval arithmetic, so it inherits these bounds.
* Integer powers are products (square and multiply on |x|) rounded
  outwards at every step: no math library involved.
* Matrix products with an exact float matrix W (``W @ X``, ``X @ W``) use
  Rump's midpoint-radius product (Rump 1999): with X = <c, r> (c the
  midpoint, r >= |x - c| rounded up), W x lies in
  fl(W c) ± (|W| r + γ_n |W| |c|), where γ_n = n u / (1 - n u), u = 2^-53,
  bounds the rounding error of any float dot product of length n, whatever
  the summation order or use of FMA (Higham 2002, Accuracy and Stability of
  Numerical Algorithms, eq. (3.5)); the non-negative radius product is
  itself computed in floats and scaled by 1 + 2γ_n (an exact sum of
  non-negative terms is at most the computed one divided by 1 - γ_n), plus
  4 n times the smallest subnormal for underflow.  Products of two interval
  matrices use <a, r_a> <b, r_b> ⊆ <ab, |a| r_b + r_a (|b| + r_b)> the same
  way (overestimation at most a factor 1.5 in the radius, Rump 1999).
* A result that is NaN (inf - inf, 0 * inf, a function outside its domain)
  becomes the whole line [-inf, inf]: never a false exclusion.

Enclosures of systems
---------------------
:func:`residual_enclosure` and :func:`residual_jacobian_enclosure` enclose
the residual F (f for a flow, g - id for a map) and its Jacobian DF over a
batch of boxes:

* systems with formulas (``system.exprs``): the sympy expression trees are
  evaluated node by node with the interval operations above (numbers,
  symbols, +, *, powers, exp, log, sqrt, sin, cos, tanh, sinh, cosh, atan,
  asin, acos, Abs, Min, Max, sign, Heaviside; anything else raises
  TypeError naming it); DF from sympy's derivatives, evaluated the same way;
* networks built by ``cell.system(u)`` (:func:`dynsys.rnn.cell_of`), and the
  iterates ``cell.system(u).iterate(k)`` of the discrete ones (enclosures of
  the orbit composed, Jacobians as interval matrix products): the cell
  equations with exact float weights, pre-activations as midpoint-radius
  products, tanh and sigmoid monotone, and their derivatives 1 - tanh² and
  σ(1 - σ) as exact ranges over the interval of tanh or σ; cells rnn_tanh,
  rnn_relu (slopes of relu in [0, 1] where the pre-activation may change
  sign: an enclosure of Clarke's generalised Jacobian, which is what
  Krawczyk's operator needs for a piecewise linear F), gru, lstm and
  continuous.

Candidates measured (issue 17), ``python benchmarks/bench_intervals.py``: CPU seconds, medians of 3, one
BLAS thread, 2-core machine with other jobs running (noisy):

=========================  ==========  ==========  =============  ==================
library                    tanh 1e5    exp 1e5     64x64 @ box    64x64 @ 1000 boxes
=========================  ==========  ==========  =============  ==================
numpy, this module         6.0e-3      6.2e-3      4.3e-5         5.7e-3
mpmath 1.3 ``iv``          3.2 (*)     0.77        2.0e-2         (not run)
python-flint 0.9 ``arb``   5.8e-2      4.3e-2      5.1e-5         8.0e-2
=========================  ==========  ==========  =============  ==================

(*) mpmath's ``iv`` has no tanh: 1 - 2 / (e^{2x} + 1) in its arithmetic.  The
numpy path is used: it is vectorised over batches of boxes (10x faster than
flint's balls on elementwise functions, 14x on batched products, where flint
needs a Python object per number), needs no new dependency, and its rounding
argument is short (above).  flint's ``arb_mat`` is as fast for one product;
mpmath (50 digits) is the independent reference in tests/test_intervals.py.

References
----------
R. E. Moore, Interval Analysis, Prentice-Hall 1966.
A. Neumaier, Interval Methods for Systems of Equations, CUP 1990.
S. M. Rump, Fast and parallel interval arithmetic, BIT 39 (1999) 534-554.
N. J. Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., SIAM 2002.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from .rnn import GRU, LSTM, ContinuousRNN, RNNCell, VanillaRNN, cell_of
from .systems import System

#: Ulps by which values of the math library (exp, log, tanh, sin, ...) are widened: 4 times the largest
#: documented error of the libraries numpy may call on x86_64 (glibc <= 2 ulps, SVML <= 4 ulps).
LIBM_ULPS = 16

_U = 2.0**-53  # unit roundoff of binary64
_ETA = float(np.finfo(float).smallest_subnormal)
_TINY = float(np.finfo(float).smallest_normal)
_MAX = float(np.finfo(float).max)


def _down(v: Any) -> np.ndarray:
    return np.nextafter(v, -np.inf)


def _up(v: Any) -> np.ndarray:
    return np.nextafter(v, np.inf)


def _libm_down(v: np.ndarray) -> np.ndarray:
    """A lower bound of the exact value of a math-library result v (error <= LIBM_ULPS / 2 ulps)."""
    v = np.where(v == np.inf, _MAX, v)
    with np.errstate(invalid="ignore", over="ignore"):
        return _down(v - LIBM_ULPS * np.maximum(np.spacing(np.abs(v)), _TINY))


def _libm_up(v: np.ndarray) -> np.ndarray:
    """An upper bound of the exact value of a math-library result v."""
    v = np.where(v == -np.inf, -_MAX, v)
    with np.errstate(invalid="ignore", over="ignore"):
        return _up(v + LIBM_ULPS * np.maximum(np.spacing(np.abs(v)), _TINY))


class Interval:
    """Arrays of closed intervals [lo, hi] with outward-rounded arithmetic.

    Supports ``+ - * /`` with intervals, numbers and arrays (numpy
    broadcasting), ``**`` with an integer or real exponent, ``@`` with an
    exact float matrix or another interval (midpoint-radius, Rump 1999),
    indexing, and the functions of this module (:func:`exp`, :func:`tanh` ...).
    Each result contains every exact result of the operation over its
    arguments (module docstring: the rounding argument).

    Parameters
    ----------
    lo : array_like
        Lower ends.
    hi : array_like, optional
        Upper ends (broadcast with ``lo``); ``lo`` itself when not given
        (a point interval, exact).

    Attributes
    ----------
    lo, hi : ndarray (float64), same shape

    Raises
    ------
    ValueError
        A NaN end or lo > hi somewhere.

    Examples
    --------
    The floats 0.1 and 0.2 add up exactly to a number between the floats 0.3
    and 0.30000000000000004 (the sum rounded to nearest); exact results stay
    points:

    >>> x = Interval(0.1) + 0.2
    >>> float(x.lo), float(x.hi)
    (0.3, 0.30000000000000004)
    >>> Interval(0.5) + 0.25
    Interval(lo=0.75, hi=0.75)
    >>> y = Interval([-1.0, 2.0], [1.0, 3.0])
    >>> y * y  # x² over [-1, 1] is [0, 1] only with ** 2
    Interval(lo=[-1.0, 4.0], hi=[1.0, 9.0])
    >>> (y**2).lo
    array([0., 4.])
    >>> W = np.array([[1.0, -1.0]])
    >>> z = W @ y  # {x0 - x1 : x in y} = [-4, -1]
    >>> bool(z.lo[0] <= -4.0 and -1.0 <= z.hi[0] and z.width[0] < 3.0 + 1e-12)
    True
    """

    __array_ufunc__ = None  # ndarray + Interval and ndarray @ Interval call the methods below
    __slots__ = ("hi", "lo")

    def __init__(self, lo: Any, hi: Any = None) -> None:
        lo = np.asarray(lo, dtype=float)
        hi = lo if hi is None else np.asarray(hi, dtype=float)
        lo, hi = np.broadcast_arrays(lo, hi)
        if np.isnan(lo).any() or np.isnan(hi).any():
            raise ValueError("lo and hi must not be NaN")
        if (lo > hi).any():
            k = int(np.flatnonzero(lo > hi)[0])
            raise ValueError(f"lo must be <= hi, got lo={lo.flat[k]!r} > hi={hi.flat[k]!r} at flat index {k}")
        self.lo, self.hi = lo, hi

    @classmethod
    def _raw(cls, lo: np.ndarray, hi: np.ndarray) -> Interval:
        """Bounds computed by an operation: NaN becomes -inf (lo) or +inf (hi); no other check."""
        out = object.__new__(cls)
        out.lo = np.where(np.isnan(lo), -np.inf, lo)
        out.hi = np.where(np.isnan(hi), np.inf, hi)
        return out

    # ----------------------------------------------------------- shape, sets
    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    @property
    def ndim(self) -> int:
        return self.lo.ndim

    def __len__(self) -> int:
        return len(self.lo)

    def __getitem__(self, index: Any) -> Interval:
        return Interval._raw(self.lo[index], self.hi[index])

    def __repr__(self) -> str:
        return f"Interval(lo={self.lo.tolist()}, hi={self.hi.tolist()})"

    @property
    def width(self) -> np.ndarray:
        """An upper bound of hi - lo (exact when the difference is a float)."""
        return _sum_bounds(self.hi, -self.lo)[1]

    @property
    def mid(self) -> np.ndarray:
        """A float in [lo, hi] near the centre (lo/2 + hi/2, which cannot overflow)."""
        with np.errstate(invalid="ignore"):
            return np.clip(0.5 * self.lo + 0.5 * self.hi, self.lo, self.hi)

    @property
    def rad(self) -> np.ndarray:
        """An upper bound r of |x - mid| over the interval: [lo, hi] ⊆ [mid - r, mid + r]."""
        m = self.mid
        with np.errstate(invalid="ignore"):
            return np.maximum(_up(m - self.lo), _up(self.hi - m))

    def contains(self, x: Any) -> np.ndarray:
        """Whether lo <= x <= hi, elementwise (x broadcast).

        Examples
        --------
        >>> Interval([0.0, 1.0], [1.0, 2.0]).contains(1.0)
        array([ True,  True])
        """
        x = np.asarray(x, dtype=float)
        return (self.lo <= x) & (x <= self.hi)

    def subset_interior(self, other: Interval) -> np.ndarray:
        """Whether this interval lies in the interior of ``other``: other.lo < lo and hi < other.hi, elementwise.

        Examples
        --------
        >>> x = Interval([0.0, 0.0], [1.0, 1.0])
        >>> x.subset_interior(Interval([-1.0, 0.0], [2.0, 2.0]))
        array([ True, False])
        """
        other = _as_interval(other)
        return (other.lo < self.lo) & (self.hi < other.hi)

    # ------------------------------------------------------------- arithmetic
    def __neg__(self) -> Interval:
        return Interval._raw(-self.hi, -self.lo)

    def __pos__(self) -> Interval:
        return self

    def __add__(self, other: Any) -> Interval:
        other = _as_interval(other)
        return Interval._raw(_sum_bounds(self.lo, other.lo)[0], _sum_bounds(self.hi, other.hi)[1])

    __radd__ = __add__

    def __sub__(self, other: Any) -> Interval:
        other = _as_interval(other)
        return Interval._raw(_sum_bounds(self.lo, -other.hi)[0], _sum_bounds(self.hi, -other.lo)[1])

    def __rsub__(self, other: Any) -> Interval:
        return _as_interval(other) - self

    def __mul__(self, other: Any) -> Interval:
        if not isinstance(other, Interval):
            return _times_exact(self, np.asarray(other, dtype=float))
        pairs = ((self.lo, other.lo), (self.lo, other.hi), (self.hi, other.lo), (self.hi, other.hi))
        return _hull([_product_bounds(a, b) for a, b in pairs])

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Interval:
        other = _as_interval(other)
        pairs = ((self.lo, other.lo), (self.lo, other.hi), (self.hi, other.lo), (self.hi, other.hi))
        out = _hull([_quotient_bounds(a, b) for a, b in pairs])
        through_zero = (other.lo <= 0.0) & (other.hi >= 0.0)
        return Interval._raw(np.where(through_zero, -np.inf, out.lo), np.where(through_zero, np.inf, out.hi))

    def __rtruediv__(self, other: Any) -> Interval:
        return _as_interval(other) / self

    def __pow__(self, exponent: Any) -> Interval:
        return power(self, exponent)

    def __matmul__(self, other: Any) -> Interval:
        other_mid, other_rad = _mid_rad(other)
        return _matmul(self.mid, self.rad, other_mid, other_rad)

    def __rmatmul__(self, other: Any) -> Interval:
        other_mid, other_rad = _mid_rad(other)
        return _matmul(other_mid, other_rad, self.mid, self.rad)


#: The name the design uses for a batch of boxes (B, n): the same class.
Box = Interval


def _as_interval(x: Any) -> Interval:
    return x if isinstance(x, Interval) else Interval(x)


def _sum_bounds(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of a + b: s = fl(a + b) and its exact error e (Knuth's TwoSum, exact in IEEE
    arithmetic without overflow), so a + b = s + e: s itself where e = 0, one ulp out otherwise (or on overflow)."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = a + b
        bb = s - a
        e = (a - (s - bb)) + (b - bb)
        return np.where(e >= 0.0, s, _down(s)), np.where(e <= 0.0, s, _up(s))


_SPLIT = 134217729.0  # 2^27 + 1, Veltkamp's splitting constant


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p = fl(a b), its error e with a b = p + e (Dekker's TwoProduct with Veltkamp's split), and where that is
    exact: |a|, |b| < 2^995 (no overflow in the split) and |p| >= 2^-900 or a factor 0 (no underflow)."""
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        p = a * b
        ca, cb = _SPLIT * a, _SPLIT * b
        a1, b1 = ca - (ca - a), cb - (cb - b)
        a2, b2 = a - a1, b - b1
        e = ((a1 * b1 - p) + a1 * b2 + a2 * b1) + a2 * b2
        trusted = (np.abs(a) < 2.0**995) & (np.abs(b) < 2.0**995) & ((np.abs(p) >= 2.0**-900) | (a == 0.0) | (b == 0.0))
    return p, e, trusted


def _product_bounds(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of a b: p = fl(a b) where it is exact, else one ulp out."""
    p, e, trusted = _two_product(a, b)
    return np.where(trusted & (e >= 0.0), p, _down(p)), np.where(trusted & (e <= 0.0), p, _up(p))


def _quotient_bounds(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of a / b (b != 0): q = fl(a / b) where q b = a exactly, else one ulp out."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        q = a / b
    p, e, trusted = _two_product(q, b)
    exact = trusted & (p == a) & (e == 0.0) & np.isfinite(q)
    return np.where(exact, q, _down(q)), np.where(exact, q, _up(q))


def _times_exact(x: Interval, w: np.ndarray) -> Interval:
    """x w for an exact float array w: monotone in x for each w, so two products instead of four."""
    positive = w >= 0.0
    low = _product_bounds(np.where(positive, x.lo, x.hi), w)[0]
    high = _product_bounds(np.where(positive, x.hi, x.lo), w)[1]
    return Interval._raw(low, high)


def _hull(bounds: list[tuple[np.ndarray, np.ndarray]]) -> Interval:
    """[min of the lower bounds, max of the upper bounds]; a NaN candidate (0·inf) gives the whole line."""
    lows = np.stack(np.broadcast_arrays(*[lo for lo, _ in bounds]))
    highs = np.stack(np.broadcast_arrays(*[hi for _, hi in bounds]))
    nan = np.isnan(lows).any(axis=0) | np.isnan(highs).any(axis=0)
    return Interval._raw(np.where(nan, -np.inf, lows.min(axis=0)), np.where(nan, np.inf, highs.max(axis=0)))


def _mid_rad(x: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Midpoint and radius of an interval, or an exact array with radius None."""
    if isinstance(x, Interval):
        return x.mid, x.rad
    return np.asarray(x, dtype=float), None


def _matmul(a: np.ndarray, ra: np.ndarray | None, b: np.ndarray, rb: np.ndarray | None) -> Interval:
    """Enclosure of {x @ y : |x - a| <= ra, |y - b| <= rb} (None: exact), numpy matmul shapes.

    fl(a b) ± (|a| (rb + γ|b|) + ra (|b| + rb)) · (1 + 2γ) + 4nη, γ = 1.01 n u (module docstring).
    """
    n = a.shape[-1]
    if n * _U > 0.01:
        raise ValueError(f"matrix products of length n = {n} are beyond the rounding bound used here")
    gamma = 1.01 * n * _U  # >= n u / (1 - n u) for n u <= 0.01
    with np.errstate(invalid="ignore", over="ignore"):
        mid = np.matmul(a, b)
        abs_b = np.abs(b)
        s = _up(gamma * abs_b) if rb is None else _up(rb + _up(gamma * abs_b))
        radius = np.matmul(np.abs(a), s)
        if ra is not None:
            radius = _up(radius + np.matmul(ra, abs_b if rb is None else _up(abs_b + rb)))
        radius = _up(_up(radius * _up(1.0 + 2.0 * gamma)) + 4.0 * n * _ETA)
        return Interval._raw(_down(mid - radius), _up(mid + radius))


# ------------------------------------------------------------------ functions
def _monotone(f: Callable[[np.ndarray], np.ndarray], x: Interval, increasing: bool = True) -> Interval:
    """[f(lo), f(hi)] (swapped when decreasing) widened by the math library's error bound."""
    with np.errstate(all="ignore"):
        a, b = f(x.lo), f(x.hi)
    if not increasing:
        a, b = b, a
    return Interval._raw(_libm_down(a), _libm_up(b))


def _clip(x: Interval, low: float, high: float) -> Interval:
    return Interval._raw(np.clip(x.lo, low, high), np.clip(x.hi, low, high))


def _outside(x: Interval, bad: np.ndarray) -> Interval:
    """x with the whole line where ``bad`` (an argument outside the function's domain)."""
    return Interval._raw(np.where(bad, -np.inf, x.lo), np.where(bad, np.inf, x.hi))


def exp(x: Interval) -> Interval:
    """e^x, increasing, >= 0.

    Examples
    --------
    >>> y = exp(Interval(0.0, 1.0))
    >>> bool(y.lo[()] <= 1.0 and np.e <= y.hi[()] < np.e + 1e-14)
    True
    """
    return _clip(_monotone(np.exp, _as_interval(x)), 0.0, np.inf)


def expm1(x: Interval) -> Interval:
    """e^x - 1, increasing, >= -1 (accurate near 0).

    Examples
    --------
    >>> bool(expm1(Interval(1e-20)).contains(1e-20))
    True
    """
    return _clip(_monotone(np.expm1, _as_interval(x)), -1.0, np.inf)


def log(x: Interval) -> Interval:
    """Natural logarithm, increasing on [0, inf] (log 0 = -inf); the whole line where lo < 0.

    Examples
    --------
    >>> y = log(Interval(1.0, np.e))
    >>> bool(y.lo[()] <= 0.0 and 1.0 <= y.hi[()] < 1.0 + 1e-14)
    True
    """
    x = _as_interval(x)
    return _outside(_monotone(np.log, x), x.lo < 0.0)


def log1p(x: Interval) -> Interval:
    """log(1 + x), increasing; the whole line where lo < -1.

    Examples
    --------
    >>> bool(log1p(Interval(1e-20)).contains(1e-20))
    True
    """
    x = _as_interval(x)
    return _outside(_monotone(np.log1p, x), x.lo < -1.0)


def sqrt(x: Interval) -> Interval:
    """Square root, correctly rounded (one ulp outwards), >= 0; the whole line where lo < 0.

    Examples
    --------
    >>> y = sqrt(Interval(2.0))
    >>> bool(y.lo[()] < 2**0.5 < y.hi[()] or y.lo[()] == 2**0.5)
    True
    """
    x = _as_interval(x)
    with np.errstate(invalid="ignore"):
        y = Interval._raw(np.maximum(_down(np.sqrt(x.lo)), 0.0), _up(np.sqrt(x.hi)))
    return _outside(y, x.lo < 0.0)


def tanh(x: Interval) -> Interval:
    """Hyperbolic tangent, increasing, in [-1, 1].

    Examples
    --------
    >>> tanh(Interval(-np.inf, np.inf))
    Interval(lo=-1.0, hi=1.0)
    """
    return _clip(_monotone(np.tanh, _as_interval(x)), -1.0, 1.0)


def sinh(x: Interval) -> Interval:
    """Hyperbolic sine, increasing.

    Examples
    --------
    >>> bool(sinh(Interval(0.0)).contains(0.0))
    True
    """
    return _monotone(np.sinh, _as_interval(x))


def cosh(x: Interval) -> Interval:
    """Hyperbolic cosine: increasing in |x|, >= 1.

    Examples
    --------
    >>> bool(cosh(Interval(-1.0, 2.0)).lo[()] <= 1.0)
    True
    """
    return _clip(_monotone(np.cosh, absolute(x)), 1.0, np.inf)


def atan(x: Interval) -> Interval:
    """Arc tangent, increasing, in [-π/2, π/2].

    Examples
    --------
    >>> bool(atan(Interval(1.0)).contains(np.pi / 4))
    True
    """
    half_pi = float(_up(np.pi / 2))
    return _clip(_monotone(np.arctan, _as_interval(x)), -half_pi, half_pi)


def asin(x: Interval) -> Interval:
    """Arc sine, increasing on [-1, 1]; the whole line where x leaves [-1, 1].

    Examples
    --------
    >>> bool(asin(Interval(1.0)).contains(np.pi / 2))
    True
    """
    x = _as_interval(x)
    half_pi = float(_up(np.pi / 2))
    return _outside(_clip(_monotone(np.arcsin, x), -half_pi, half_pi), (x.lo < -1.0) | (x.hi > 1.0))


def acos(x: Interval) -> Interval:
    """Arc cosine, decreasing on [-1, 1]; the whole line where x leaves [-1, 1].

    Examples
    --------
    >>> bool(acos(Interval(-1.0)).contains(np.pi))
    True
    """
    x = _as_interval(x)
    y = _clip(_monotone(np.arccos, x, increasing=False), 0.0, float(_up(np.pi)))
    return _outside(y, (x.lo < -1.0) | (x.hi > 1.0))


def _cosine_like(f: Callable[[np.ndarray], np.ndarray], x: Interval, shift: float) -> Interval:
    """f(x) = cos(x - shift·π) over x: the end values, and ±1 where t = x/π - shift may reach an integer
    (even: a maximum, odd: a minimum), t widened by 1e-12 (1 + |t|), far above its rounding error (~1e-15 |t|)."""
    x = _as_interval(x)
    with np.errstate(all="ignore"):
        a, b = f(x.lo), f(x.hi)
        y = Interval._raw(_libm_down(np.minimum(a, b)), _libm_up(np.maximum(a, b)))
        t_lo, t_hi = x.lo / np.pi - shift, x.hi / np.pi - shift
        t_lo = t_lo - 1e-12 * (1.0 + np.abs(t_lo))
        t_hi = t_hi + 1e-12 * (1.0 + np.abs(t_hi))
        has_max = 2.0 * np.ceil(t_lo / 2.0) <= t_hi
        has_min = 2.0 * np.ceil((t_lo - 1.0) / 2.0) + 1.0 <= t_hi
        wide = ~np.isfinite(t_lo) | ~np.isfinite(t_hi)
    return _clip(Interval._raw(np.where(has_min | wide, -1.0, y.lo), np.where(has_max | wide, 1.0, y.hi)), -1.0, 1.0)


def cos(x: Interval) -> Interval:
    """Cosine, with the extremes ±1 wherever the interval may contain 2kπ or (2k + 1)π.

    Examples
    --------
    >>> cos(Interval(-1.0, 4.0)).hi, cos(Interval(-1.0, 4.0)).lo
    (array(1.), array(-1.))
    """
    return _cosine_like(np.cos, x, 0.0)


def sin(x: Interval) -> Interval:
    """Sine, with the extremes ±1 wherever the interval may contain π/2 + kπ.

    Examples
    --------
    >>> y = sin(Interval(0.0, 3.0))
    >>> float(y.hi), bool(y.lo <= 0.0)
    (1.0, True)
    """
    return _cosine_like(np.sin, x, 0.5)


def sigmoid(x: Interval) -> Interval:
    """The logistic function σ(x) = 1 / (1 + e^{-x}), increasing, in [0, 1], in interval arithmetic.

    Examples
    --------
    >>> y = sigmoid(Interval(0.0))
    >>> bool(y.contains(0.5)), bool(y.width < 1e-14)
    (True, True)
    """
    return _clip(1.0 / (1.0 + exp(-_as_interval(x))), 0.0, 1.0)


def absolute(x: Interval) -> Interval:
    """|x|: [mignitude, magnitude], exact.

    Examples
    --------
    >>> absolute(Interval(-2.0, 1.0))
    Interval(lo=0.0, hi=2.0)
    """
    x = _as_interval(x)
    mag = np.maximum(np.abs(x.lo), np.abs(x.hi))
    mig = np.where((x.lo <= 0.0) & (x.hi >= 0.0), 0.0, np.minimum(np.abs(x.lo), np.abs(x.hi)))
    return Interval._raw(mig, mag)


def _pow_nonneg(v: np.ndarray, n: int, side: int) -> np.ndarray:
    """A lower (side 0) or upper (side 1) bound of v^n for v >= 0, by square and multiply with bounded products."""
    result = np.ones_like(v)
    base = v
    while n:
        if n & 1:
            result = _product_bounds(result, base)[side]
        n >>= 1
        if n:
            base = _product_bounds(base, base)[side]
    return np.maximum(result, 0.0)


def _integer_power(x: Interval, n: int) -> Interval:
    if n < 0:
        return 1.0 / _integer_power(x, -n)
    if n == 0:
        return Interval._raw(np.ones_like(x.lo), np.ones_like(x.hi))
    if n % 2 == 0:
        a = absolute(x)
        return Interval._raw(_pow_nonneg(a.lo, n, 0), _pow_nonneg(a.hi, n, 1))

    def signed(v: np.ndarray, toward_low: bool) -> np.ndarray:  # odd n: v^n = sign(v) |v|^n
        pos = _pow_nonneg(np.abs(v), n, 0 if toward_low else 1)
        neg = _pow_nonneg(np.abs(v), n, 1 if toward_low else 0)
        return np.where(v >= 0.0, pos, -neg)

    return Interval._raw(signed(x.lo, True), signed(x.hi, False))


def power(x: Interval, exponent: Any) -> Interval:
    """x ** p: integer p by outward-rounded products (x ** 2 >= 0 even where x changes sign); a real p
    for x >= 0 (the whole line where lo < 0) from the math library's pow; an interval p as exp(p log x).

    Examples
    --------
    >>> power(Interval(-2.0, 1.0), 2)
    Interval(lo=0.0, hi=4.0)
    >>> power(Interval(-2.0, 1.0), 3)
    Interval(lo=-8.0, hi=1.0)
    >>> bool(power(Interval(4.0), 0.5).contains(2.0))
    True
    """
    x = _as_interval(x)
    if isinstance(exponent, Interval):
        return exp(exponent * log(x))
    p = float(exponent)
    if p == int(p) and abs(p) <= 2**31:
        return _integer_power(x, int(p))
    lo = np.maximum(x.lo, 0.0)
    y = _monotone(lambda v: np.power(v, p), Interval._raw(lo, x.hi), increasing=p > 0)
    return _outside(_clip(y, 0.0, np.inf), x.lo < 0.0)


def minimum(*args: Interval) -> Interval:
    """Elementwise minimum of intervals, exact.

    Examples
    --------
    >>> minimum(Interval(0.0, 2.0), Interval(1.0, 3.0))
    Interval(lo=0.0, hi=2.0)
    """
    return _lattice(np.minimum, args)


def maximum(*args: Interval) -> Interval:
    """Elementwise maximum of intervals, exact.

    Examples
    --------
    >>> maximum(Interval(0.0, 2.0), Interval(1.0, 3.0))
    Interval(lo=1.0, hi=3.0)
    """
    return _lattice(np.maximum, args)


def _lattice(op: np.ufunc, args: tuple[Any, ...]) -> Interval:
    """op (np.minimum or np.maximum) of intervals: op of the lower ends, op of the upper ends."""
    xs = [_as_interval(a) for a in args]
    return Interval._raw(op.reduce([a.lo for a in xs]), op.reduce([a.hi for a in xs]))


def _step_range(x: Interval, at_zero_low: float, at_zero_high: float, below: float) -> Interval:
    """Range of a step function (value ``below`` for x < 0, 1 for x > 0, [at_zero_low, at_zero_high] at 0)."""
    lo = np.where(x.lo > 0.0, 1.0, np.where(x.lo < 0.0, below, at_zero_low))
    hi = np.where(x.hi < 0.0, below, np.where(x.hi > 0.0, 1.0, at_zero_high))
    return Interval._raw(np.minimum(lo, hi), np.maximum(lo, hi))


def _concat(parts: list[Interval], axis: int = -1) -> Interval:
    return Interval._raw(np.concatenate([p.lo for p in parts], axis), np.concatenate([p.hi for p in parts], axis))


def _split(x: Interval, k: int) -> list[Interval]:
    return [Interval._raw(lo, hi) for lo, hi in zip(np.split(x.lo, k, axis=-1), np.split(x.hi, k, axis=-1))]


# -------------------------------------------------------- formula enclosures
_FUNCTIONS: dict[Any, Callable[[Interval], Interval]] = {
    sp.exp: exp, sp.log: log, sp.sin: sin, sp.cos: cos, sp.tanh: tanh, sp.sinh: sinh, sp.cosh: cosh,
    sp.atan: atan, sp.asin: asin, sp.acos: acos, sp.Abs: absolute,
}


def _number(node: sp.Expr) -> Interval:
    """A sympy number or constant: the float itself when exact, else one ulp either side."""
    value = float(node)
    if (node.is_Rational or node.is_Float) and sp.Rational(value) == node:
        return Interval(value)
    return Interval._raw(_down(value), _up(value))


def _evaluate(expr: sp.Expr, env: dict[sp.Symbol, Interval], memo: dict[sp.Expr, Interval]) -> Interval:
    """Interval value of a sympy tree, node by node (``memo`` shares repeated subtrees)."""
    if expr in memo:
        return memo[expr]
    if expr.is_Symbol:
        if expr not in env:
            raise ValueError(f"the formula has a symbol {expr} that is neither a state nor a parameter")
        out = env[expr]
    elif expr.is_Number or expr.is_NumberSymbol:
        if not expr.is_real or not expr.is_finite:
            raise TypeError(f"no interval enclosure for the number {expr} (not a finite real)")
        out = _number(expr)
    else:
        args = [_evaluate(a, env, memo) for a in expr.args]
        if expr.is_Add:
            out = functools.reduce(lambda u, v: u + v, args)
        elif expr.is_Mul:
            out = functools.reduce(lambda u, v: u * v, args)
        elif expr.is_Pow:
            out = _pow_node(expr, args[0], args[1])
        elif expr.func in _FUNCTIONS and len(args) == 1:
            out = _FUNCTIONS[expr.func](args[0])
        elif expr.func is sp.Min:
            out = minimum(*args)
        elif expr.func is sp.Max:
            out = maximum(*args)
        elif expr.func is sp.sign:
            out = _step_range(args[0], 0.0, 0.0, -1.0)
        elif expr.func is sp.Heaviside:  # [0, 1] at 0, whatever its value H0 there: a slope enclosure
            out = _step_range(args[0], 0.0, 1.0, 0.0)
        else:
            raise TypeError(f"no interval enclosure for the sympy node {expr.func.__name__} in {expr}")
    memo[expr] = out
    return out


def _pow_node(expr: sp.Pow, base: Interval, exponent: Interval) -> Interval:
    e = expr.exp
    if e.is_Integer:
        return power(base, int(e))
    if e == sp.Rational(1, 2):
        return sqrt(base)
    if e == sp.Rational(-1, 2):
        return 1.0 / sqrt(base)
    if e.is_Number and float(e) == e:  # an exact float exponent
        return power(base, float(e))
    return power(base, exponent)


@functools.lru_cache(maxsize=64)
def _derivatives(exprs: tuple[sp.Expr, ...], symbols: tuple[sp.Symbol, ...]) -> tuple[tuple[sp.Expr, ...], ...]:
    return tuple(tuple(sp.diff(e, x) for x in symbols) for e in exprs)


def _formula_env(system: System, X: Interval) -> dict[sp.Symbol, Interval]:
    env = {x: X[:, i] for i, x in enumerate(system.symbols)}
    env.update({p: Interval(v) for p, v in zip(system.param_symbols or (), system.params.values())})
    return env


def _formula_residual(system: System, X: Interval) -> Interval:
    env, memo = _formula_env(system, X), {}
    rows = [_evaluate(e, env, memo) for e in system.exprs]
    out = Interval._raw(np.stack([np.broadcast_to(r.lo, (len(X),)) for r in rows], axis=1),
                        np.stack([np.broadcast_to(r.hi, (len(X),)) for r in rows], axis=1))
    return out - X if system.kind == "map" else out


def _formula_jacobian(system: System, X: Interval) -> Interval:
    env, memo = _formula_env(system, X), {}
    B, n = X.shape
    lo, hi = np.empty((B, n, n)), np.empty((B, n, n))
    for i, row in enumerate(_derivatives(tuple(system.exprs), tuple(system.symbols))):
        for j, d in enumerate(row):
            v = _evaluate(d, env, memo)
            lo[:, i, j], hi[:, i, j] = v.lo, v.hi
    J = Interval._raw(lo, hi)
    return _minus_identity(J) if system.kind == "map" else J


def _minus_identity(J: Interval) -> Interval:
    """J - I, changing (and rounding) only the diagonal."""
    return _add_diagonal(J, Interval(-1.0))


def _add_diagonal(J: Interval, D: Interval) -> Interval:
    """J + diag(D) for J (B, n, n), D (B, n) or broadcast to it."""
    n = J.shape[-1]
    lo, hi = J.lo.copy(), J.hi.copy()
    d = np.arange(n)
    lo[..., d, d], hi[..., d, d] = _down(lo[..., d, d] + D.lo), _up(hi[..., d, d] + D.hi)
    return Interval._raw(lo, hi)


# ----------------------------------------------------------- cell enclosures
def _logistic_slope(P: Interval) -> Interval:
    """Exact range of p (1 - p) over P ⊆ [0, 1] (σ' = σ(1 - σ)), outward rounded: largest 1/4 at p = 1/2."""
    ends = [Interval(P.lo) * (1.0 - Interval(P.lo)), Interval(P.hi) * (1.0 - Interval(P.hi))]
    lo = np.minimum(ends[0].lo, ends[1].lo)
    hi = np.where((P.lo <= 0.5) & (P.hi >= 0.5), 0.25, np.maximum(ends[0].hi, ends[1].hi))
    return _clip(Interval._raw(lo, hi), 0.0, 0.25)


def _tanh_slope(T: Interval) -> Interval:
    """1 - t² over T ⊆ [-1, 1] (tanh' = 1 - tanh²), exact range outward rounded, in [0, 1]."""
    return _clip(1.0 - T**2, 0.0, 1.0)


def _rows(D: Interval, W: np.ndarray) -> Interval:
    """diag(D) W for D (B, m) and exact W (m, n): each row of W scaled by an interval."""
    return D[:, :, None] * W


class _Cell:
    """Enclosures of one network's residual and Jacobian, from its equations (docstrings of dynsys.rnn)."""

    def __init__(self, cell: RNNCell, u: np.ndarray, d: np.ndarray | None, params: dict[str, float]) -> None:
        U = Interval(u) if d is None else Interval(u) + params["s"] * Interval(d)
        drive = cell.weight_ih @ U + cell.bias_ih  # W_ih (u + s d) + b_ih, enclosed
        self.cell, self.drive = cell, drive
        self.c = drive + cell.bias_hh  # everything the recurrent product W_hh h is added to

    def _pre(self, H: Interval) -> Interval:
        return H @ self.cell.weight_hh.T + self.c

    def next_state(self, X: Interval) -> Interval:
        """g(X) of a discrete cell (the map itself, for composing iterates)."""
        cell = self.cell
        if isinstance(cell, VanillaRNN):
            S = self._pre(X)
            return tanh(S) if cell.nonlinearity == "tanh" else Interval._raw(np.maximum(S.lo, 0.0), np.maximum(S.hi, 0.0))
        if isinstance(cell, GRU):
            _, Z, N, _ = self._gru(X)
            return (1.0 - Z) * N + Z * X
        if isinstance(cell, LSTM):
            *_, O, C1, T = self._lstm(X)
            return _concat([O * T, C1])
        raise TypeError(f"{type(cell).__name__} cells have no interval enclosure of a next state")

    def residual(self, X: Interval) -> Interval:
        cell = self.cell
        if isinstance(cell, ContinuousRNN):
            return (tanh(X) @ cell.weight_hh.T + self.c - X) / cell.tau
        if isinstance(cell, VanillaRNN):
            return self.next_state(X) - X
        if isinstance(cell, GRU):
            _, Z, N, _ = self._gru(X)
            return (1.0 - Z) * (N - X)
        if isinstance(cell, LSTM):
            Hs = cell.hidden_size
            c, *_, O, C1, T = self._lstm(X)
            return _concat([O * T - X[:, :Hs], C1 - c])
        raise TypeError(f"{type(cell).__name__} cells have no interval enclosure")

    def _gru(self, X: Interval) -> tuple[Interval, ...]:
        S = X @ self.cell.weight_hh.T + Interval(self.cell.bias_hh)  # W_hh h + b_hh (m is its n block)
        A_r, A_z, A_n = _split(self.drive, 3)
        S_r, S_z, M = _split(S, 3)
        R, Z = sigmoid(A_r + S_r), sigmoid(A_z + S_z)
        return R, Z, tanh(A_n + R * M), M

    def _lstm(self, X: Interval) -> tuple[Interval, ...]:
        Hs = self.cell.hidden_size
        h, c = X[:, :Hs], X[:, Hs:]
        S_i, S_f, S_g, S_o = _split(self._pre(h), 4)
        I, F, G, O = sigmoid(S_i), sigmoid(S_f), tanh(S_g), sigmoid(S_o)
        C1 = F * c + I * G
        return c, I, F, G, O, C1, tanh(C1)

    def jacobian(self, X: Interval) -> Interval:
        cell = self.cell
        W = cell.weight_hh
        if isinstance(cell, ContinuousRNN):
            D = _tanh_slope(tanh(X))
            return _minus_identity(D[:, None, :] * W) / cell.tau
        if isinstance(cell, VanillaRNN):
            S = self._pre(X)
            if cell.nonlinearity == "tanh":
                D = _tanh_slope(tanh(S))
            else:  # slopes of relu: 1 where s > 0, 0 where s < 0, [0, 1] where s may be 0
                D = Interval._raw((S.lo > 0.0).astype(float), (S.hi >= 0.0).astype(float))
            return _minus_identity(_rows(D, W))
        Hs = cell.hidden_size
        if isinstance(cell, GRU):
            R, Z, N, M = self._gru(X)
            W_r, W_z, W_n = np.split(W, 3)
            dn = (1.0 - Z) * _tanh_slope(N)
            J = _rows(dn * M * _logistic_slope(R), W_r) + _rows((X - N) * _logistic_slope(Z), W_z) + _rows(dn * R, W_n)
            return _add_diagonal(J, Z - 1.0)
        if isinstance(cell, LSTM):
            c, I, F, G, O, _, T = self._lstm(X)
            W_i, W_f, W_g, W_o = np.split(W, 4)
            dcdh = _rows(G * _logistic_slope(I), W_i) + _rows(c * _logistic_slope(F), W_f) + _rows(I * _tanh_slope(G), W_g)
            dt = O * _tanh_slope(T)
            J_hh = _rows(T * _logistic_slope(O), W_o) + dt[:, :, None] * dcdh
            B = len(X)
            zero = Interval(np.zeros((B, Hs, Hs)))
            J_hc = _add_diagonal(zero, dt * F)
            J_cc = _add_diagonal(zero, F)
            J = _concat([_concat([J_hh, J_hc], -1), _concat([dcdh, J_cc], -1)], -2)
            return _minus_identity(J)
        raise TypeError(f"{type(cell).__name__} cells have no interval enclosure")


# --------------------------------------------------------------------- public
def _boxes(system: System, lo: Any, hi: Any) -> tuple[Interval, bool]:
    lo_b, single = system.as_batch(lo, "lo")
    hi_b, _ = system.as_batch(hi, "hi")
    if lo_b.shape != hi_b.shape:
        raise ValueError(f"lo and hi must have the same shape, got {np.shape(lo)} and {np.shape(hi)}")
    if np.isnan(lo_b).any() or np.isnan(hi_b).any() or (lo_b > hi_b).any():
        raise ValueError("lo and hi must be boxes: no NaN and lo <= hi everywhere")
    return Interval(lo_b, hi_b), single


def _iterated(system: System) -> tuple[System | None, int]:
    """(g, k) for a system built as g.iterate(k) (with the parameters it has now), else (None, 0)."""
    recipe = system._recipe
    build = None if recipe is None else recipe.build
    owner = getattr(build, "__self__", None)
    if not isinstance(owner, System) or getattr(build, "__func__", None) is not System.iterate:
        return None, 0
    return owner.with_params(**system.params) if system.params else owner, int(recipe.args[0])


def _iterate_enclosures(cell: _Cell, k: int) -> tuple[Callable[[Interval], Interval], Callable[[Interval], Interval]]:
    """Enclosures of g^k - id and of its Jacobian Dg(x_{k-1}) ... Dg(x_0) - I, x_j in the enclosures of the orbit
    X_0 = X, X_{j+1} = g(X_j) (interval matrix products, midpoint-radius)."""

    def residual(X: Interval) -> Interval:
        Y = X
        for _ in range(k):
            Y = cell.next_state(Y)
        return Y - X

    def jacobian(X: Interval) -> Interval:
        Y, J = X, None
        for _ in range(k):
            D = _add_diagonal(cell.jacobian(Y), Interval(1.0))  # Dg = DF + I
            J = D if J is None else D @ J
            Y = cell.next_state(Y)
        return _minus_identity(J)

    return residual, jacobian


def _enclosure(system: System) -> tuple[Callable[[Interval], Interval], Callable[[Interval], Interval]]:
    """The residual and Jacobian enclosures of a system, or TypeError."""
    if system.exprs is not None and system.symbols is not None:
        return functools.partial(_formula_residual, system), functools.partial(_formula_jacobian, system)
    found = cell_of(system)
    if found is not None:
        enclosure = _Cell(*found, system.params)
        return enclosure.residual, enclosure.jacobian
    base, k = _iterated(system)
    if base is not None:
        found = cell_of(base)
        if found is not None and found[0].kind == "map":
            return _iterate_enclosures(_Cell(*found, base.params), k)
    raise TypeError(
        f"{system.name} has no interval enclosure: it needs formulas (System.from_sympy / from_strings) "
        "or a network built by RNNCell.system"
    )


def check_enclosure(system: System) -> None:
    """Raise the TypeError that :func:`residual_enclosure` or :func:`residual_jacobian_enclosure` would
    raise for ``system`` (no formulas nor network behind it, or a formula node without an interval version),
    by evaluating both on the box of the origin; so that a caller can refuse before it starts long work.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import System, models
    >>> check_enclosure(models.lorenz())
    >>> check_enclosure(System.from_callable(lambda X: -X, dim=1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: system has no interval enclosure: ...
    """
    origin = Interval(np.zeros((1, system.dim)))
    residual, jacobian = _enclosure(system)
    residual(origin)
    jacobian(origin)


def residual_enclosure(system: System, lo: Any, hi: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the residual F (f for a flow, g - id for a map) over each box [lo, hi].

    For every x with lo <= x <= hi (rowwise), Flo <= F(x) <= Fhi, F taken
    in exact real arithmetic on the system's formulas (with their float
    parameters) or on the network's equations (with its float weights and
    input): see the module docstring for how.

    Parameters
    ----------
    system : System
        With formulas (``system.exprs``) or built by ``RNNCell.system``.
    lo, hi : array_like of shape (B, n) or (n,)
        The boxes' corners, lo <= hi.

    Returns
    -------
    Flo, Fhi : ndarray of the shape of ``lo``

    Raises
    ------
    TypeError
        A system without formulas nor a network behind it, or a formula node
        without an interval version (named in the message).
    ValueError
        Boxes of the wrong shape, with NaN, or with lo > hi.

    Examples
    --------
    x' = x² - 2 over [1, 2] takes values in [-1, 2], a zero inside; over
    [1.5, 2] in [0.25, 2], no zero there:

    >>> from dynsys import System
    >>> s = System.from_strings({"x": "x**2 - 2"})
    >>> Flo, Fhi = residual_enclosure(s, [[1.0], [1.5]], [[2.0], [2.0]])
    >>> bool(Flo[0, 0] <= -1.0 and 2.0 <= Fhi[0, 0]), bool(Flo[1, 0] > 0.0)
    (True, True)
    """
    X, single = _boxes(system, lo, hi)
    F = _enclosure(system)[0](X)
    return (F.lo[0], F.hi[0]) if single else (F.lo, F.hi)


def residual_jacobian_enclosure(system: System, lo: Any, hi: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the Jacobian DF of the residual over each box [lo, hi].

    For every x in the box, Jlo <= DF(x) <= Jhi entrywise (DF = Df for a
    flow, Dg - I for a map); for the relu network, where DF jumps, the
    bounds hold every slope (F(x) - F(y) = A (x - y) with A in the bounds for
    x, y in the box), which is what Krawczyk's test needs.

    Parameters
    ----------
    system : System
    lo, hi : array_like of shape (B, n) or (n,)

    Returns
    -------
    Jlo, Jhi : ndarray of shape (B, n, n) (or (n, n) for one box)

    Raises
    ------
    TypeError, ValueError
        As :func:`residual_enclosure`.

    Examples
    --------
    The Hénon map g(x, y) = (1 - a x² + y, b x) has DF = [[-2 a x - 1, 1], [b, -1]]:

    >>> from dynsys import models
    >>> s = models.henon()
    >>> Jlo, Jhi = residual_jacobian_enclosure(s, [0.0, 0.0], [1.0, 1.0])
    >>> a, b = s.params["a"], s.params["b"]
    >>> bool(Jlo[0, 0] <= -2 * a - 1 and Jhi[0, 0] >= -1), bool(Jlo[1, 0] <= b <= Jhi[1, 0])
    (True, True)
    """
    X, single = _boxes(system, lo, hi)
    J = _enclosure(system)[1](X)
    return (J.lo[0], J.hi[0]) if single else (J.lo, J.hi)
