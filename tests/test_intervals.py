"""Tests of dynsys.intervals: every enclosure contains the exact value, computed independently here.

References: exact rational arithmetic (fractions.Fraction) for + - * / ** and matrix products, where the
exact range over a box is known in closed form (attained at corners); mpmath at 50 digits for the math
library functions, for formula systems (sympy's expressions evaluated by mpmath) and for the network cells
(their equations written out here in mpmath, Jacobians by central differences at 50 digits with h = 1e-20,
accurate to ~1e-30).
"""
from __future__ import annotations

import importlib
import itertools
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, models, rnn
from dynsys.intervals import (
    LIBM_ULPS,
    Interval,
    acos,
    asin,
    atan,
    cos,
    cosh,
    exp,
    expm1,
    log,
    log1p,
    power,
    residual_enclosure,
    residual_jacobian_enclosure,
    sigmoid,
    sin,
    sinh,
    sqrt,
    tanh,
)

mp = mpmath.mp
mp.dps = 50
SLACK = mpmath.mpf("1e-25")  # for values known to ~1e-30 (central differences); exact ones use no slack

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def interval_pairs(elements=finite, size=6):
    return st.lists(st.tuples(elements, elements), min_size=size, max_size=size).map(
        lambda pairs: (np.array([min(p) for p in pairs]), np.array([max(p) for p in pairs]))
    )


def at_most(bound, exact):
    """bound <= exact for a float bound (possibly -inf) and an exact Fraction."""
    return bound == -np.inf or Fraction(float(bound)) <= exact


def inside(v, lo, hi, slack=0):
    return mpmath.mpf(float(lo)) - slack <= v <= mpmath.mpf(float(hi)) + slack


# ------------------------------------------------------------------ arithmetic (exact, by fractions)
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


@settings(max_examples=20, deadline=None)
@given(interval_pairs(), interval_pairs(), st.sampled_from(sorted(OPS)))
def test_arithmetic_encloses_the_exact_range_to_one_ulp(x, y, op):
    X, Y = Interval(*x), Interval(*y)
    Z = OPS[op](X, Y)
    for i in range(len(x[0])):
        if op == "/" and y[0][i] <= 0.0 <= y[1][i]:
            assert Z.lo[i] == -np.inf and Z.hi[i] == np.inf
            continue
        corners = [OPS[op](Fraction(a), Fraction(b)) for a in (x[0][i], x[1][i]) for b in (y[0][i], y[1][i])]
        low, high = min(corners), max(corners)  # the exact range of + - * / over a box is attained at corners
        assert at_most(Z.lo[i], low) and at_most(-Z.hi[i], -high)
        if not np.isfinite([Z.lo[i], Z.hi[i]]).all():
            continue  # overflow
        # at most one float beyond the nearest one outside (two where a product underflows)
        assert Fraction(np.nextafter(np.nextafter(Z.lo[i], np.inf), np.inf)) > low or Z.lo[i] == low
        assert Fraction(np.nextafter(np.nextafter(Z.hi[i], -np.inf), -np.inf)) < high or Z.hi[i] == high


def test_exact_results_stay_points_and_numbers_mix_in():
    assert (Interval(0.5) + 0.25).width == 0.0 and (Interval(3.0) * 0.5).width == 0.0
    z = 1.0 - Interval([0.0, 1.0], [1.0, 2.0]) * 2.0
    np.testing.assert_array_equal(z.lo, [-1.0, -3.0])
    np.testing.assert_array_equal(z.hi, [1.0, -1.0])
    third = Interval(1.0) / 3.0
    assert Fraction(float(third.lo)) < Fraction(1, 3) < Fraction(float(third.hi))


@settings(max_examples=20, deadline=None)
@given(interval_pairs(st.floats(-3, 3)), st.integers(-5, 9))
def test_integer_powers_enclose_the_exact_range(x, n):
    Z = power(Interval(*x), n)
    for a, b, lo, hi in zip(*x, Z.lo, Z.hi):
        if n < 0 and a <= 0.0 <= b:
            assert lo == -np.inf and hi == np.inf
            continue
        candidates = [Fraction(a) ** n, Fraction(b) ** n] + ([Fraction(0)] if a <= 0.0 <= b and n > 0 else [])
        assert at_most(lo, min(candidates)) and at_most(-hi, -max(candidates))
        if n % 2 == 0 and n > 0:
            assert lo >= 0.0


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_matrix_products_enclose_the_exact_range(m, n, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, n)) * 10.0 ** rng.integers(-3, 4, size=(m, n))
    c = rng.normal(size=(2, n))
    r = np.abs(rng.normal(size=(2, n))) * 10.0 ** rng.integers(-12, 1, size=(2, n))
    X = Interval(c - r, c + r)
    out = W @ X[:, :, None]  # (2, m, 1): W x for each of two boxes
    left = X @ W.T  # (2, m): the same as rows
    for b in range(2):
        for i in range(m):
            # the exact range of sum_j W_ij x_j over a box: the sum of the ranges of its terms
            terms = [sorted(Fraction(W[i, j]) * Fraction(v) for v in (X.lo[b, j], X.hi[b, j])) for j in range(n)]
            low, high = sum(t[0] for t in terms), sum(t[1] for t in terms)
            for Z in (out[b, i, 0], left[b, i]):
                assert Fraction(Z.lo[()]) <= low and high <= Fraction(Z.hi[()])
                # midpoint-radius is exact up to the rounding bound: width within ~n ulps of the true one
                scale = np.abs(W[i]) @ (np.abs(c[b]) + r[b])
                assert float(Z.hi - Z.lo) <= float(high - low) + 4 * (n + 2) * 2.0**-52 * scale


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_interval_matrix_products_hold_every_product_of_members(n, seed):
    rng = np.random.default_rng(seed)
    A = Interval(*np.sort(rng.normal(size=(2, 3, n)), axis=0))
    x = Interval(*np.sort(rng.normal(size=(2, n)), axis=0))
    Z = A @ x
    for _ in range(20):
        a = A.lo + rng.random(A.shape) * (A.hi - A.lo)
        v = x.lo + rng.random(n) * (x.hi - x.lo)
        for i in range(3):
            exact = sum(Fraction(a[i, j]) * Fraction(v[j]) for j in range(n))
            assert Fraction(Z.lo[i]) <= exact <= Fraction(Z.hi[i])


# --------------------------------------------------- the math library's functions (mpmath, 50 digits)
FUNCTIONS = {  # ours, mpmath's, where to draw the ends (extreme arguments included)
    "exp": (exp, mpmath.exp, st.floats(-745.0, 709.0)),
    "expm1": (expm1, mpmath.expm1, st.floats(-40.0, 709.0)),
    "log": (log, mpmath.log, st.floats(1e-300, 1e300)),
    "log1p": (log1p, mpmath.log1p, st.floats(-1.0 + 1e-15, 1e300)),
    "sqrt": (sqrt, mpmath.sqrt, st.floats(0.0, 1e300)),
    "tanh": (tanh, mpmath.tanh, st.floats(-30.0, 30.0) | st.floats(-1e-300, 1e-300)),
    "sinh": (sinh, mpmath.sinh, st.floats(-700.0, 700.0)),
    "cosh": (cosh, mpmath.cosh, st.floats(-700.0, 700.0)),
    "atan": (atan, mpmath.atan, st.floats(-1e300, 1e300)),
    "asin": (asin, mpmath.asin, st.floats(-1.0, 1.0)),
    "acos": (acos, mpmath.acos, st.floats(-1.0, 1.0)),
    "sin": (sin, mpmath.sin, st.floats(-1e6, 1e6) | st.floats(-10.0, 10.0)),
    "cos": (cos, mpmath.cos, st.floats(-1e6, 1e6) | st.floats(-10.0, 10.0)),
    "x**1.5": (lambda x: power(x, 1.5), lambda v: v ** mpmath.mpf(1.5), st.floats(0.0, 1e200)),
    "x**-0.7": (lambda x: power(x, -0.7), lambda v: v ** mpmath.mpf(-0.7), st.floats(1e-300, 1e300)),
    "sigmoid": (sigmoid, lambda v: 1 / (1 + mpmath.exp(-v)), st.floats(-800.0, 800.0) | st.floats(-40.0, 40.0)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_functions_enclose_mpmath_values_over_the_interval(name, data):
    ours, reference, ends = FUNCTIONS[name]
    x = data.draw(interval_pairs(ends, size=4))
    Y = ours(Interval(*x))
    for a, b, lo, hi in zip(*x, Y.lo, Y.hi):
        points = [a, b] + [a + t * (b - a) for t in (0.1, 0.5, 0.9)] + ([np.nextafter(a, b)] if a < b else [])
        for v in points:
            assert inside(reference(mpmath.mpf(float(v))), lo, hi), (name, a, b, v, lo, hi)
    if name in ("sin", "cos"):  # an extremum inside the interval is reached: ±1 in the enclosure
        shift = mpmath.pi / 2 if name == "sin" else 0
        for a, b, lo, hi in zip(*x, Y.lo, Y.hi):
            k = mpmath.ceil((mpmath.mpf(float(a)) - shift) / mpmath.pi)  # first extremum shift + kπ >= a
            if shift + k * mpmath.pi <= b:
                assert (hi == 1.0) if int(k) % 2 == 0 else (lo == -1.0)


def test_functions_clamp_to_their_ranges_and_leave_domains_wide():
    assert float(tanh(Interval(-np.inf, np.inf)).lo) == -1.0 and float(sigmoid(Interval(1e308)).hi) <= 1.0
    assert float(exp(Interval(-1000.0)).lo) == 0.0 and float(cosh(Interval(0.0)).lo) == 1.0
    for f, x in ((log, (-1.0, 1.0)), (sqrt, (-1.0, 4.0)), (asin, (0.0, 2.0)), (power, (-1.0, 1.0))):
        y = f(Interval(*x), 0.5) if f is power else f(Interval(*x))
        assert float(y.lo) == -np.inf and float(y.hi) == np.inf  # never a false exclusion


@pytest.mark.parametrize("f", [exp, log, tanh, sin, cos, sigmoid, sqrt, atan])
def test_widths_shrink_to_a_few_ulps_at_a_point(f):
    x = np.array([0.3, 1.7, 2.9])
    for r in (1e-2, 1e-6, 1e-10):  # |f'| <= e^2.91 < 20 here: width about 2 r |f'|
        assert np.all(f(Interval(x - r, x + r)).width <= 40 * r)
    Y = f(Interval(np.append(x, 1e-8)))
    assert np.all(Y.width <= 2 * (LIBM_ULPS + 2) * np.maximum(np.spacing(np.abs(Y.hi)), np.finfo(float).tiny))


def test_constructor_rejects_nan_and_reversed_ends():
    with pytest.raises(ValueError, match="NaN"):
        Interval(np.nan, 1.0)
    with pytest.raises(ValueError, match="lo must be <= hi"):
        Interval([0.0, 2.0], [1.0, 1.0])


# ------------------------------------------------------------------------------- formula systems
def formula_systems():
    every = System.from_strings(
        {"x": "exp(-x)*sin(y) + sqrt(1 + x**2) - log(2 + y**2) + x**(3/2) + a*cos(x)**3/(2 + sin(y))",
         "y": "tanh(x*y) + atan(x) - abs(y)**1.5 + sigmoid(x) + cosh(y)/10 + sinh(x)/7 + max(x, y) - x**-2"},
        {"a": 0.3}, name="every function")
    return {"lorenz": models.lorenz(), "lorenz rho=99.5": models.lorenz().with_params(rho=99.5),
            "henon": models.henon(), "duffing": models.duffing(),
            "toggle": models.toggle_switch(), "every": every, "henon^2": models.henon().iterate(2)}


FORMULAS = formula_systems()


def mp_formulas(system):
    """F and DF as mpmath functions, from sympy's expressions (independent of the interval evaluation)."""
    args = list(system.symbols) + list(system.param_symbols or ())
    exprs = [e - x if system.kind == "map" else e for e, x in zip(system.exprs, system.symbols)]
    F = sp.lambdify(args, exprs, modules="mpmath")
    J = sp.lambdify(args, sp.Matrix(exprs).jacobian(list(system.symbols)).tolist(), modules="mpmath")
    p = [mpmath.mpf(system.params[str(symbol)]) for symbol in system.param_symbols or ()]  # by name
    return (lambda x: F(*x, *p)), (lambda x: J(*x, *p))


def boxes_and_points(rng, n, B, center_scale, positive_first=False):
    """B boxes of varied radii around random centres; points: the corners and random points inside
    (with ``positive_first``, boxes in x0 >= 0.1)."""
    c = rng.normal(size=(B, n)) * center_scale
    r = np.abs(rng.normal(size=(B, n))) * 10.0 ** rng.choice([-12, -6, -2, -1], size=(B, 1))
    if positive_first:
        r[:, 0] = np.minimum(r[:, 0], 0.4)
        c[:, 0] = np.abs(c[:, 0]) + 0.5
    r[0] = 0.0  # one point box
    lo, hi = c - r, c + r
    corners = [np.where(np.array(s), hi, lo) for s in itertools.product([0, 1], repeat=n)][: 2**3]
    inner = [lo + rng.random((B, n)) * (hi - lo) for _ in range(3)]
    return lo, hi, corners + inner


@pytest.mark.parametrize("name", sorted(FORMULAS))
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_formula_enclosures_hold_the_residual_and_jacobian_at_every_point(name, seed):
    system = FORMULAS[name]
    rng = np.random.default_rng(seed)
    scale = 1.0 if name in ("henon", "henon^2", "every") else 5.0
    lo, hi, points = boxes_and_points(rng, system.dim, 4, scale, positive_first=name == "every")  # x**-2 ...
    Flo, Fhi = residual_enclosure(system, lo, hi)
    Jlo, Jhi = residual_jacobian_enclosure(system, lo, hi)
    F_mp, J_mp = mp_formulas(system)
    for X in points:
        F, J = system.residual(X), system.residual_jacobian(X)
        tol = 1e-9 * (1 + np.abs(F))
        assert np.all((Flo - tol <= F) & (F <= Fhi + tol))  # float64 values, to their rounding
        assert np.all((Jlo - 1e-9 * (1 + np.abs(J)) <= J) & (J <= Jhi + 1e-9 * (1 + np.abs(J))))
        for b in range(len(X)):
            x = [mpmath.mpf(float(v)) for v in X[b]]
            assert all(inside(v, l, h) for v, l, h in zip(F_mp(x), Flo[b], Fhi[b]))
            assert all(inside(v, l, h) for row, lr, hr in zip(J_mp(x), Jlo[b], Jhi[b]) for v, l, h in zip(row, lr, hr))


def test_formula_enclosures_shrink_with_the_box():
    system = FORMULAS["lorenz"]
    x = np.array([[1.0, -2.0, 20.0]])
    widths = []
    for r in (1e-1, 1e-4, 1e-8, 0.0):
        Flo, Fhi = residual_enclosure(system, x - r, x + r)
        widths.append(np.max(Fhi - Flo))
    assert widths[0] > widths[1] > widths[2] > widths[3] and widths[3] <= 1e-12 and widths[2] <= 1e-5


def test_unsupported_nodes_and_systems_raise_clear_errors():
    with pytest.raises(TypeError, match="sympy node tan"):
        residual_enclosure(System.from_strings({"x": "tan(x)"}), [0.0], [1.0])
    plain = System.from_callable(lambda X: -X, 2, name="plain")
    with pytest.raises(TypeError, match="plain has no interval enclosure"):
        residual_enclosure(plain, [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="no interval enclosure"):
        residual_enclosure(System.from_callable(lambda X: X / 2, 1, kind="map").iterate(2), [0.0], [1.0])
    continuous = random_cell("continuous", 2, 1, np.random.default_rng(0)).system()
    with pytest.raises(TypeError, match="no interval enclosure"):
        residual_enclosure(continuous.reverse_time(), [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="lo <= hi"):
        residual_enclosure(FORMULAS["lorenz"], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="lo must have shape"):
        residual_enclosure(FORMULAS["lorenz"], [[1.0, 0.0]], [[1.0, 0.0]])


# ------------------------------------------------------------------------------ network cells
def random_cell(cell, H, I, rng):
    G = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4, "continuous": 1}[cell]
    w = {"weight_ih": rng.normal(size=(G * H, I)), "weight_hh": rng.normal(size=(G * H, H)) * 0.8,
         "bias_ih": rng.normal(size=G * H) * 0.3, "bias_hh": rng.normal(size=G * H) * 0.3}
    if cell.startswith("rnn_"):
        return rnn.VanillaRNN(**w, nonlinearity=cell[4:])
    return {"gru": rnn.GRU, "lstm": rnn.LSTM, "continuous": lambda **k: rnn.ContinuousRNN(**k, tau=0.7)}[cell](**w)


def mp_cell_residual(net, u, x):
    """F(x) of the network at input u in mpmath, from the equations of PyTorch's documentation."""
    M = lambda A: mpmath.matrix([[mpmath.mpf(float(v)) for v in row] for row in np.atleast_2d(A)])
    V = lambda a: mpmath.matrix([mpmath.mpf(float(v)) if not isinstance(v, mpmath.mpf) else v for v in a])
    sig = lambda v: 1 / (1 + mpmath.exp(-v))
    H = net.hidden_size
    a = M(net.weight_ih) * V(u) + V(net.bias_ih)
    xv = V(x)
    if net.cell == "continuous":
        t = V([mpmath.tanh(xv[i]) for i in range(H)])
        f = (-xv + M(net.weight_hh) * t + a + V(net.bias_hh)) / mpmath.mpf(net.tau)
        return [f[i] for i in range(H)]
    h = V([xv[i] for i in range(H)])
    s = M(net.weight_hh) * h + V(net.bias_hh)
    if net.cell in ("rnn_tanh", "rnn_relu"):
        act = mpmath.tanh if net.cell == "rnn_tanh" else (lambda v: max(v, 0))
        return [act(a[i] + s[i]) - h[i] for i in range(H)]
    if net.cell == "gru":
        out = []
        for i in range(H):
            r, z = sig(a[i] + s[i]), sig(a[H + i] + s[H + i])
            n = mpmath.tanh(a[2 * H + i] + r * s[2 * H + i])
            out.append((1 - z) * n + z * h[i] - h[i])
        return out
    c = [xv[H + i] for i in range(H)]
    hs, cs = [], []
    for i in range(H):
        ig, fg = sig(a[i] + s[i]), sig(a[H + i] + s[H + i])
        g, o = mpmath.tanh(a[2 * H + i] + s[2 * H + i]), sig(a[3 * H + i] + s[3 * H + i])
        c1 = fg * c[i] + ig * g
        hs.append(o * mpmath.tanh(c1) - h[i])
        cs.append(c1 - c[i])
    return hs + cs


def mp_jacobian(F, x):
    h = mpmath.mpf("1e-20")
    x = [mpmath.mpf(float(v)) for v in x]
    cols = []
    for j in range(len(x)):
        up, down = list(x), list(x)
        up[j] += h
        down[j] -= h
        cols.append([(p - m) / (2 * h) for p, m in zip(F(up), F(down))])
    return [[cols[j][i] for j in range(len(x))] for i in range(len(x))]


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "gru", "lstm", "continuous"])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), along=st.booleans())
def test_cell_enclosures_hold_the_residual_and_jacobian_at_every_point(cell, seed, along):
    rng = np.random.default_rng(seed)
    net = random_cell(cell, 3, 2, rng)
    u, d, s_value = rng.normal(size=2), rng.normal(size=2), 0.7
    system = net.system(u, along=d).with_params(s=s_value) if along else net.system(u)
    u_eff = [mpmath.mpf(float(a)) + s_value * mpmath.mpf(float(b)) for a, b in zip(u, d)] if along else u
    lo, hi, points = boxes_and_points(rng, system.dim, 3, 0.7)
    Flo, Fhi = residual_enclosure(system, lo, hi)
    Jlo, Jhi = residual_jacobian_enclosure(system, lo, hi)
    for X in points[:4] + points[-2:]:
        J_float = system.residual_jacobian(X)
        assert np.all((Jlo - 1e-9 <= J_float) & (J_float <= Jhi + 1e-9))
        for b in range(len(X)):
            F = lambda x: mp_cell_residual(net, u_eff, x)
            assert all(inside(v, l, h) for v, l, h in zip(F(X[b]), Flo[b], Fhi[b]))
            J = mp_jacobian(F, X[b])
            assert all(inside(v, l, h, SLACK) for row, lr, hr in zip(J, Jlo[b], Jhi[b]) for v, l, h in zip(row, lr, hr))


@pytest.mark.parametrize("cell", ["rnn_tanh", "gru", "lstm", "continuous"])
def test_cell_enclosures_shrink_to_points(cell):
    net = random_cell(cell, 4, 2, np.random.default_rng(1))
    system = net.system([0.3, -0.2])
    x = np.random.default_rng(2).normal(size=(1, system.dim)) * 0.5
    for r, bound in ((1e-8, 1e-6), (0.0, 1e-13)):
        Flo, Fhi = residual_enclosure(system, x - r, x + r)
        Jlo, Jhi = residual_jacobian_enclosure(system, x - r, x + r)
        assert np.max(Fhi - Flo) <= bound and np.max(Jhi - Jlo) <= bound


def test_flipflop_enclosures_hold_mpmath_residuals():
    net = rnn.load_flipflop()
    system = net.system()
    X = np.tanh(np.random.default_rng(0).normal(size=(2, 64)))
    Flo, Fhi = residual_enclosure(system, X - 1e-9, X + 1e-9)
    for b in range(2):
        F = mp_cell_residual(net, np.zeros(net.input_size), X[b])
        assert all(inside(v, l, h) for v, l, h in zip(F, Flo[b], Fhi[b]))
    assert np.max(Fhi - Flo) < 1e-6


def test_gru_enclosure_at_the_steepest_gate_matches_the_closed_form():
    # H = 1, zero input, W_hr = W_hn = 0, z = σ(2h - 2): at h = 1, r = z = 1/2 and σ'(0) = 1/4 (the largest
    # slope of the gate), n = 0, so F(h) = -(1 - z) h = -1/2 and DF(h) = -(1 - z) + 2 h σ'(0) = 0 exactly
    net = rnn.GRU(np.zeros((3, 1)), [[0.0], [2.0], [0.0]], bias_hh=[0.0, -2.0, 0.0])
    system = net.system()
    Flo, Fhi = residual_enclosure(system, [1.0], [1.0])
    Jlo, Jhi = residual_jacobian_enclosure(system, [1.0], [1.0])
    assert Flo[0] <= -0.5 <= Fhi[0] and Fhi[0] - Flo[0] < 1e-14
    assert Jlo[0, 0] <= 0.0 <= Jhi[0, 0] and Jhi[0, 0] - Jlo[0, 0] < 1e-14


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_iterates_of_networks_hold_the_composed_map(cell, seed):
    rng = np.random.default_rng(seed)
    net = random_cell(cell, 3, 2, rng)
    u = rng.normal(size=2)
    system = net.system(u).iterate(3)
    lo, hi, points = boxes_and_points(rng, system.dim, 3, 0.7)
    Flo, Fhi = residual_enclosure(system, lo, hi)
    Jlo, Jhi = residual_jacobian_enclosure(system, lo, hi)

    def F(x):  # g(g(g(x))) - x in mpmath, g(y) = y + (g(y) - y)
        x = [v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v)) for v in x]
        y = x
        for _ in range(3):
            y = [a + b for a, b in zip(y, mp_cell_residual(net, u, y))]
        return [a - b for a, b in zip(y, x)]

    for X in points[:3] + points[-2:]:
        for b in range(len(X)):
            assert all(inside(v, l, h) for v, l, h in zip(F(X[b]), Flo[b], Fhi[b]))
            J = mp_jacobian(F, X[b])
            assert all(inside(v, l, h, SLACK) for row, lr, hr in zip(J, Jlo[b], Jhi[b]) for v, l, h in zip(row, lr, hr))


def test_candidates_benchmark_runs(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    rows = importlib.import_module("bench_intervals").main(["--n", "200", "--repeats", "1"])
    libraries = {library.split()[0] for library, _, _ in rows}
    assert {"numpy", "mpmath.iv"} <= libraries and all(t >= 0.0 for _, _, t in rows)
    assert "64x64 @ box" in capsys.readouterr().out
