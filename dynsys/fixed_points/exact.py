"""Fixed points of systems given by rational formulas, exactly where it matters.

For a system built from formulas (``System.exprs`` is set) whose residual

    F(x) = f(x)          (flow)
    F(x) = g(x) - x      (map)

is a rational function of the states, the fixed points are the common zeros
of the numerators p_i of F_i = p_i / d_i (in lowest terms) at which no
denominator of the formulas, as written, vanishes.  The numerators generate
a polynomial ideal; its lexicographic Groebner basis, computed exactly over
the rationals, decides whether the zero set is finite and gives it in
triangular form, from which the real zeros are read one coordinate at a
time (see :func:`solve_exact` for what is exact and what is computed in
60-digit floating point).  :func:`find` is ``method="exact"`` of
:func:`dynsys.find_fixed_points`: it reports all the real fixed points (in
``bounds`` when given); the options of the numeric search are not used.
"""
from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..systems import System, denominators
from .base import MethodResult, SearchOptions
from .common import inside

#: Decimal digits of the floating-point steps (root refinement, back-substitution, checks).
DIGITS = 60

#: The largest Bezout bound (product of the residuals' numerator degrees, bounded from the
#: formulas as written) the exact method accepts: Duffing's third iterate (243) takes 0.7 s.
MAX_BEZOUT = 300


def find(system: System, options: SearchOptions) -> MethodResult:
    """All the real fixed points of a rational system (:func:`solve_exact`) inside ``options.region``.

    Parameters
    ----------
    system : System
        Built from rational formulas (see :func:`solve_exact`).
    options : SearchOptions
        Only ``region`` and ``merge_tol`` are used: a point within
        ``merge_tol * max(1, max |x|)`` of the region counts as inside.

    Returns
    -------
    MethodResult
        Every point is fixed; the statistics count the points outside the
        region (``n_outside``) and the zeros where F is undefined
        (``n_undefined``); there are no starts.

    Raises
    ------
    ValueError
        See :func:`solve_exact`.

    Examples
    --------
    >>> from dynsys import models
    >>> from dynsys.fixed_points.base import SearchOptions
    >>> options = SearchOptions(
    ...     starts=None, n_starts=1, region=None, noise=0.0, tol=1e-10, max_iter=1, merge_tol=1e-6,
    ...     slow_gtol=1e-8, max_slow_q=None, seed=0, t_span=None, max_drift=1.0, solver="auto",
    ...     max_memory=2**30, deadline=None,
    ... )
    >>> find(models.henon(), options).x.round(6)
    array([[-1.131354, -0.339406],
           [ 0.631354,  0.189406]])
    """
    X, n_undefined = solve_exact(system, return_undefined=True)
    radius = options.merge_tol * max(1.0, float(np.max(np.abs(X), initial=0.0)))
    within = inside(X, options.region, radius)
    X = X[within]
    with np.errstate(all="ignore"):
        F = system.residual(X)
    stats = {"n_starts": 0, "n_diverged": 0, "n_escaped": 0, "n_unconverged": 0}
    stats.update(n_above_max_slow_q=0, n_not_minima=0, n_undefined=n_undefined)
    stats.update(n_outside=int(np.sum(~within)), iterations=0, stopped=None)
    return MethodResult(X, F, np.ones(len(X), dtype=bool), radius, stats)


def solve_exact(system: System, *, return_undefined: bool = False) -> np.ndarray | tuple[np.ndarray, int]:
    """The real fixed points of a rational system, rounded to float64.

    Parameters
    ----------
    system : System
        A flow or map built from formulas (``System.from_sympy`` or
        ``System.from_strings``) whose right-hand side is a rational function
        of the states.  Parameter values and floating-point constants in the
        formulas are replaced by the rationals their shortest decimal
        representations denote (``repr``), so ``0.3`` means 3/10; so are
        irrational coefficients such as ``pi`` (through their float64 value).
    return_undefined : bool, default False
        Also return how many zeros were rejected because F is undefined
        there (a denominator vanishes, see Notes).

    Returns
    -------
    ndarray of shape (m, n)
        The distinct real zeros of the residual at which F is defined, one
        per row, each coordinate the float64 nearest to a 60-digit value.
        Rows are sorted lexicographically.  ``m`` may be 0.
    int
        With ``return_undefined``: the number of distinct real zeros of the
        numerators rejected because a denominator vanishes there.

    Raises
    ------
    ValueError
        If the system has no formulas, if a residual is not a rational
        function of the states (``sin``, ``exp``, fractional powers ...), if
        the zero set is not finite (a curve or surface of fixed points), or
        if the Bezout number of the numerators exceeds :data:`MAX_BEZOUT`.

    Notes
    -----
    With F_i = p_i / d_i in lowest terms, let I = <p_1, ..., p_n>.  By
    Bezout's theorem I has at most D = prod_i deg p_i isolated zeros, and
    the lexicographic Groebner basis, the univariate polynomial in it (of
    degree up to D) and its coefficients grow with D; systems whose D,
    bounded from the formulas' trees without expanding them, exceeds
    :data:`MAX_BEZOUT` are refused at once, before any of that work (the
    numeric method has no such limit).  The cost also grows with the
    density of the polynomials: sparse ones such as iterated maps solve in
    under a second near the cap (Duffing's third iterate, D = 243: 0.7 s),
    dense random bivariate ones of degree 8 (D = 64) in about 9 s and of
    degree 10 (D = 100) in about a minute (sympy's F5B algorithm).

    *Exact* (rational arithmetic): the coefficients, the reduced lex
    Groebner basis G of I (x_1 > ... > x_n); whether there is no zero
    (G = {1}); whether the zeros are finitely many (G has, for every x_j, an
    element whose leading monomial is a power of x_j); and the real roots
    of the one univariate element g_n(x_n) of G, isolated in disjoint
    rational intervals from its square-free part (Vincent-Akritas-
    Strzebonski continued fractions, ``sympy.Poly.intervals``), so that
    their number and distinctness are exact and a multiple root counts once.

    *Floating point* (``mpmath`` at :data:`DIGITS` digits): each isolated
    root is refined inside its interval; then coordinate by coordinate,
    x_{n-1} down to x_1, over every partial zero a = (x_{j+1}, ..., x_n):
    among the elements of G whose main variable is x_j, the one of least
    degree in x_j whose leading coefficient does not vanish at a (relative
    size above 10^-20) is, by the Gianni-Kalkbrenner theorem [1]_, [2]_, the
    gcd of all of them at a, and its roots in x_j (``mpmath.polyroots``)
    are the candidates; those with relative imaginary part below 10^-20
    are taken as real, and those closer than that relative distance as one
    (a multiple root).  A candidate zero is kept when every p_i vanishes
    there to 10^-20 relative to |p_i| (the polynomial evaluated with
    absolute values of its terms) and no denominator d of the formulas as
    written (:func:`dynsys.systems.denominators`, before cancellation, so
    the zero x = 1 of (x² − 2x + 1)/(x − 1), cancelled to x − 1, is not a
    fixed point) has |d| <= 10^-20 |d|.  In shape position (G = {x_1 -
    h_1(x_n), ..., g_n(x_n)}, the generic case) each real root of g_n gives
    one zero, whose coordinates h_j(x_n) are evaluated at 60 digits.

    References
    ----------
    .. [1] P. Gianni and T. Mora, "Algebraic solution of systems of
       polynomial equations using Groebner bases", AAECC-5, LNCS 356,
       pp. 247-257, 1989.
    .. [2] D. A. Cox, J. Little and D. O'Shea, *Ideals, Varieties, and
       Algorithms*, 4th ed., Springer 2015, ch. 3 (elimination and
       extension) and ch. 2 section 7.

    Examples
    --------
    >>> import sympy as sp
    >>> from dynsys import System
    >>> x, y = sp.symbols("x y", real=True)
    >>> henon = System.from_sympy([1 - 1.4 * x**2 + y, 0.3 * x], [x, y], kind="map")
    >>> solve_exact(henon).round(6)
    array([[-1.131354, -0.339406],
           [ 0.631354,  0.189406]])
    """
    if system.exprs is not None and system.symbols is not None:  # else rational_residual says why not
        degrees = [max(1, _degree_bound(e, system.symbols)[0]) for e in system.exprs]
        if system.kind == "map":  # g_i - x_i
            degrees = [max(d, 1 + _degree_bound(e, system.symbols)[1]) for d, e in zip(degrees, system.exprs)]
        bezout = int(np.prod(degrees, dtype=object))
        if bezout > MAX_BEZOUT:
            raise ValueError(
                f"the exact method is limited to a Bezout bound of {MAX_BEZOUT} zeros (MAX_BEZOUT); the "
                f"numerators of {system.name} have degrees up to {degrees}, so up to {bezout} zeros, whose "
                f"Groebner basis and roots would take too long; the numeric search handles it"
            )
    numerators, undefined_at = rational_residual(system)
    xs = system.symbols
    basis = sp.groebner(numerators, *xs, order="lex", method="f5b")
    if list(basis.exprs) == [1]:
        return (np.empty((0, system.dim)), 0) if return_undefined else np.empty((0, system.dim))
    if not basis.is_zero_dimensional:
        raise ValueError(
            f"the fixed points of {system.name} are not isolated: the residual vanishes on a "
            f"set of positive dimension (a curve or surface), so there are infinitely many"
        )
    residuals, undefined_at = [sp.Poly(p, *xs) for p in numerators], [sp.Poly(d, *xs) for d in undefined_at]
    rows, rejected = set(), set()
    with mpmath.workdps(DIGITS):
        for zero in _real_zeros(list(basis.exprs), xs):
            at = dict(zip(xs, zero))
            if all(_negligible(*_evaluate(p, at)) for p in residuals):
                undefined = any(_negligible(*_evaluate(d, at)) for d in undefined_at)
                (rejected if undefined else rows).add(tuple(float(c) for c in zero))
    points = np.array(sorted(rows), dtype=float).reshape(len(rows), system.dim)
    points = points[np.lexsort(points.T[::-1])]
    return (points, len(rejected)) if return_undefined else points


def rational_residual(system: System) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """The numerators p_i of the residual F_i = p_i / d_i in lowest terms, and
    the denominators of the formulas as written (before cancellation), where
    F is undefined.

    Parameters and floating-point constants are replaced by exact rationals
    (see :func:`solve_exact`).

    Raises
    ------
    ValueError
        If the system has no formulas or a residual is not a rational
        function of the states.

    Examples
    --------
    >>> from dynsys import models
    >>> numerators, denominators = rational_residual(models.henon())
    >>> numerators, denominators
    ([-7*x**2/5 - x + y + 1, 3*x/10 - y], [])
    """
    if system.exprs is None or system.symbols is None:
        raise ValueError(
            f"the exact method needs a system built from formulas (System.from_sympy or "
            f"System.from_strings); {system.name} was built from a callable"
        )
    xs = system.symbols
    values = {s: _rational(v) for s, v in zip(system.param_symbols or (), system.params.values())}
    exprs = [e.xreplace(values) for e in system.exprs]
    numerators = []
    for x, e in zip(xs, exprs):
        F = e - (x if system.kind == "map" else 0)
        p, d = sp.fraction(sp.cancel(sp.together(F)))
        if not (p.is_polynomial(*xs) and d.is_polynomial(*xs)):
            raise ValueError(
                f"the exact method needs rational functions of the states, but the residual for "
                f"{x} in {system.name} is {F}"
            )
        numerators.append(_with_rational_coefficients(p, xs))
    return numerators, [_with_rational_coefficients(d, xs) for d in denominators(exprs)]


def _with_rational_coefficients(p: sp.Expr, xs: tuple[sp.Symbol, ...]) -> sp.Expr:
    """The polynomial ``p`` with each irrational or floating-point coefficient
    replaced by the rational of its float64 value's shortest decimal form."""
    poly = sp.Poly(p, *xs)
    terms = {}
    for monom, c in poly.terms():
        if not c.is_Rational:
            if not (c.is_number and c.is_real):
                raise ValueError(f"the exact method needs real numeric coefficients, got {c} in {p}")
            c = _rational(float(c))
        terms[monom] = c
    return sp.Poly.from_dict(terms, *xs).as_expr()


def _rational(value: float) -> sp.Rational:
    """The rational denoted by the shortest decimal representation of ``value``."""
    return sp.Rational(repr(float(value)))


def _degree_bound(e: sp.Expr, xs: tuple[sp.Symbol, ...]) -> tuple[int, int]:
    """Upper bounds on the total degrees (numerator, denominator) of ``e`` as a
    fraction of polynomials in ``xs``, from its tree, without expanding it:
    exact for expanded polynomials, an upper bound after any cancellation."""
    if e in xs:
        return 1, 0
    if isinstance(e, sp.Mul):
        parts = [_degree_bound(a, xs) for a in e.args]
        return sum(p for p, _ in parts), sum(q for _, q in parts)
    if isinstance(e, sp.Add):
        parts = [_degree_bound(a, xs) for a in e.args]
        den = sum(q for _, q in parts)  # over the product of the denominators
        return max(p + den - q for p, q in parts), den
    if isinstance(e, sp.Pow) and e.exp.is_Integer:
        p, q = _degree_bound(e.base, xs)
        k = int(e.exp)
        return (k * p, k * q) if k >= 0 else (-k * q, -k * p)
    return 0, 0  # constants and parameters (functions of the states are refused later)


def _real_zeros(basis: list[sp.Expr], xs: tuple[sp.Symbol, ...]) -> list[tuple[Any, ...]]:
    """Candidate real zeros (tuples of mpmath numbers) of a zero-dimensional
    reduced lex Groebner basis: the last coordinate isolated exactly, the
    others by back-substitution (see :func:`solve_exact`)."""
    n = len(xs)
    main = [min(j for j in range(n) if sp.degree(g, xs[j]) > 0) for g in basis]  # main (highest) variable
    (last,) = [g for g, j in zip(basis, main) if j == n - 1]
    zeros = [(r,) for r in _isolated_real_roots(sp.Poly(last, xs[-1]))]
    for j in range(n - 2, -1, -1):
        below = xs[j + 1 :]
        # each element with main variable x_j as its coefficients in x_j (polynomials in ``below``), leading first
        elements = [
            [sp.Poly(c, *below) for c in sp.Poly(g, xs[j]).all_coeffs()]
            for g in sorted((g for g, m in zip(basis, main) if m == j), key=lambda g: sp.degree(g, xs[j]))
        ]
        zeros = [(r, *a) for a in zeros for r in _fibre(elements, dict(zip(below, a)))]
    return zeros


def _isolated_real_roots(p: sp.Poly) -> list[Any]:
    """The distinct real roots of a univariate rational polynomial, isolated
    exactly (from its square-free part) and refined to :data:`DIGITS` digits."""
    q = p.sqf_part()
    coeffs = [_mpf(c) for c in q.all_coeffs()]

    def f(t: Any) -> Any:
        return mpmath.polyval(coeffs, t)

    roots = []
    for (lo, hi), _ in q.intervals():
        if lo != hi:  # narrowed exactly, so that no end is a root (nor shared with another interval)
            lo, hi = q.refine_root(lo, hi, eps=sp.Rational(1, 10**6) * max(1, abs(lo), abs(hi)))
        exact = lo == hi  # a rational root
        roots.append(_mpf(lo) if exact else mpmath.findroot(f, (_mpf(lo), _mpf(hi)), solver="illinois", verify=False))
    return roots


def _fibre(elements: list[list[sp.Poly]], at: dict[sp.Symbol, Any]) -> list[Any]:
    """The real values of x_j over the partial zero ``at``: the real roots of
    the first element (least degree in x_j) whose leading coefficient does not
    vanish there, which is the gcd of all of them there (Gianni-Kalkbrenner)."""
    for coefficients in elements:
        values = [_evaluate(c, at) for c in coefficients]
        if not _negligible(*values[0]):
            break
    roots = mpmath.polyroots([v for v, _ in values], maxsteps=200, extraprec=2 * DIGITS, error=False)
    real = sorted(mpmath.re(r) for r in roots if _negligible(mpmath.im(r), max(1, abs(r))))
    return [r for i, r in enumerate(real) if i == 0 or not _negligible(r - real[i - 1], max(1, abs(r)))]


def _evaluate(p: sp.Poly, at: dict[sp.Symbol, Any]) -> tuple[Any, Any]:
    """(p(x), |p|(x)) at ``at`` in mpmath: the value and the sum of the
    absolute values of its terms c_k x^k."""
    terms = [_mpf(c) * mpmath.fprod(at[g] ** e for g, e in zip(p.gens, monom)) for monom, c in p.terms()]
    return mpmath.fsum(terms), mpmath.fsum(abs(t) for t in terms)


def _negligible(value: Any, magnitude: Any) -> bool:
    """|value| <= 10^-(DIGITS/3) magnitude: zero to the precision of the floating-point steps."""
    return bool(abs(value) <= mpmath.mpf(10) ** -(DIGITS // 3) * magnitude)


def _mpf(c: Any) -> Any:
    """A rational as an mpmath number (rounded to the working precision)."""
    r = sp.Rational(c)
    return mpmath.mpf(int(r.p)) / int(r.q)
