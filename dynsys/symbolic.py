"""Exact fixed points of systems given by rational formulas.

For a system built from formulas (``System.exprs`` is set) whose residual

    F(x) = f(x)          (flow)
    F(x) = g(x) - x      (map)

is a rational function of the states, the fixed points are the common zeros
of the numerators p_i of F_i = p_i / d_i at which no denominator d_i
vanishes.  The numerators generate a polynomial ideal; a lexicographic
Groebner basis decides whether its zero set is finite, and the
zeros are then listed as exact algebraic numbers (radicals, or ``CRootOf``
instances where radicals do not exist), evaluated to 30 digits and rounded
to float64.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.polys.polyerrors import UnsolvableFactorError

from .systems import System

#: Decimal digits used to evaluate the exact zeros before rounding to float64.
DIGITS = 30


def solve_exact(system: System) -> np.ndarray:
    """The real fixed points of a rational system, exactly, rounded to float64.

    Parameters
    ----------
    system : System
        A flow or map built from formulas (``System.from_sympy`` or
        ``System.from_strings``) whose right-hand side is a rational function
        of the states.  Parameter values and floating-point constants in the
        formulas are replaced by the rationals their shortest decimal
        representations denote (``repr``), so ``0.3`` means 3/10; so are
        irrational coefficients such as ``pi`` (through their float64 value).

    Returns
    -------
    ndarray of shape (m, n)
        The real zeros of the residual, one per row, each coordinate the
        float64 nearest to its exact value (evaluated to 30 digits first).
        Rows are sorted lexicographically.  ``m`` may be 0.

    Raises
    ------
    ValueError
        If the system has no formulas, if a residual is not a rational
        function of the states (``sin``, ``exp``, fractional powers ...), or
        if the zero set is not finite (a curve or surface of fixed points).

    Notes
    -----
    With F_i = p_i / d_i in lowest terms, let I = <p_1, ..., p_n>.  The reduced
    lexicographic Groebner basis G of I is {1} when there is no zero at all,
    and I has finitely many zeros exactly when G contains, for every state
    x_j, a polynomial whose leading monomial is a pure power of x_j
    (``GroebnerBasis.is_zero_dimensional``).  Then G is triangular and the
    zeros are found one coordinate at a time from univariate polynomials:
    in radicals (``sympy.solve_poly_system``) when every one of them is
    solvable so, otherwise as algebraic numbers over extensions of Q (the
    Gianni-Kalkbrenner algorithm, ``sympy.solve_triangulated``) [1]_.  A
    zero is kept when every coordinate is real (decided exactly by sympy
    where it can, else at 60 digits) and no denominator d_i vanishes there
    (tested at 60 digits).

    References
    ----------
    .. [1] P. Gianni and T. Mora, "Algebraic solution of systems of
       polynomial equations using Groebner bases", AAECC-5, LNCS 356,
       pp. 247-257, 1989.

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
    numerators, denominators = rational_residual(system)
    xs = system.symbols
    basis = sp.groebner(numerators, *xs, order="lex")
    if list(basis.exprs) == [1]:
        return np.empty((0, system.dim))
    if not basis.is_zero_dimensional:
        raise ValueError(
            f"the fixed points of {system.name} are not isolated: the residual vanishes on a "
            f"set of positive dimension (a curve or surface), so there are infinitely many"
        )
    try:  # in radicals where sympy can (fast), else as algebraic numbers
        zeros = sp.solve_poly_system(list(basis.exprs), *xs, strict=True)
    except UnsolvableFactorError:
        zeros = sp.solve_triangulated(list(basis.exprs), *xs, extension=True)
    rows = [
        [_to_float(c) for c in zero]
        for zero in zeros
        if all(_is_real(c) for c in zero) and not _vanishes_somewhere(denominators, dict(zip(xs, zero)))
    ]
    points = np.array(rows, dtype=float).reshape(len(rows), system.dim)
    return points[np.lexsort(points.T[::-1])]


def rational_residual(system: System) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """Numerators and denominators of the residual F_i = p_i / d_i in lowest terms.

    Parameters and floating-point constants are replaced by exact rationals
    (see :func:`solve_exact`).

    Raises
    ------
    ValueError
        If the system has no formulas or a residual is not a rational
        function of the states.
    """
    if system.exprs is None or system.symbols is None:
        raise ValueError(
            f"the exact method needs a system built from formulas (System.from_sympy or "
            f"System.from_strings); {system.name} was built from a callable"
        )
    xs = system.symbols
    values = {s: _rational(v) for s, v in zip(system.param_symbols or (), system.params.values())}
    numerators, denominators = [], []
    for x, e in zip(xs, system.exprs):
        F = e.xreplace(values) - (x if system.kind == "map" else 0)
        p, d = sp.fraction(sp.cancel(sp.together(F)))
        if not (p.is_polynomial(*xs) and d.is_polynomial(*xs)):
            raise ValueError(
                f"the exact method needs rational functions of the states, but the residual for "
                f"{x} in {system.name} is {F}"
            )
        numerators.append(_with_rational_coefficients(p, xs))
        denominators.append(_with_rational_coefficients(d, xs))
    return numerators, denominators


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


def _is_real(c: Any) -> bool:
    """Whether an algebraic number is real: exactly when sympy can tell, else at 60 digits."""
    if c.is_real is not None:
        return bool(c.is_real)
    re, im = c.evalf(60).as_real_imag()
    return abs(im) <= sp.Float(10) ** -50 * (1 + abs(re))


def _vanishes_somewhere(denominators: list[sp.Expr], point: dict[sp.Symbol, Any]) -> bool:
    """Whether some denominator is zero at ``point`` (tested at 60 digits)."""
    for d in denominators:
        if d.is_number:
            continue
        value = sp.Abs(d.xreplace(point).evalf(60))
        if value <= sp.Float(10) ** -50:
            return True
    return False


def _to_float(c: Any) -> float:
    """The float64 nearest to a real algebraic number, via a 30-digit value."""
    return float(sp.re(c.evalf(DIGITS)))
