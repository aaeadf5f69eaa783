"""find_fixed_points and FixedPointSet.

Expected points and eigenvalues are closed forms derived by hand (written
beside each check), roots of a resultant computed by numpy, or the exactly
known zeros of ``dynsys.testing.polynomial_systems``; residuals are checked
with ``System.residual``, independently of the search.
"""
import dataclasses
import functools
import json
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System
from dynsys.fixed_points import FixedPoint, FixedPointSet, find_fixed_points, point_kind
from dynsys.fixed_points.jacobians import SOLVERS
from dynsys.linearize import linearize_matrix
from dynsys.models import duffing, henon, logistic, lorenz, toggle_switch, van_der_pol
from dynsys.models import pendulum as pendulum_model
from dynsys.testing import affine_maps, conjugate, polynomial_systems

x, y = sp.symbols("x y", real=True)
TOL = 1e-10


def sort_rows(P):
    """Rows in lexicographic order, ties within 1e-6 broken by the next column."""
    P = np.asarray(P, dtype=float)
    return P[np.lexsort(np.round(P, 6).T[::-1])]


def assert_same_points(found, expected, atol=1e-9):
    assert found.shape == np.shape(expected), (found, expected)
    np.testing.assert_allclose(sort_rows(found), sort_rows(expected), rtol=0, atol=atol)


def at(result, point, atol=1e-9):
    """The FixedPoint of ``result`` at ``point``."""
    hits = [p for p in result if np.allclose(p.x, point, rtol=0, atol=atol)]
    assert len(hits) == 1, (point, result.x)
    return hits[0]


def assert_eigenvalues(point, expected):
    expected = np.sort_complex(np.asarray(expected, dtype=complex))
    np.testing.assert_allclose(np.sort_complex(point.eigenvalues), expected, atol=1e-9)


@pytest.fixture(params=["dense", "matrix-free"])
def find(request):
    """find_fixed_points with each solver (the matrix-free one uses the
    systems' products, analytic or from their dense Jacobians)."""
    return functools.partial(find_fixed_points, solver=request.param)


def assert_truly_fixed(system, result, tol=TOL):
    F = system.residual(result.fixed().x)
    assert np.all(np.linalg.norm(F, axis=1) <= tol)


# ------------------------------------------------------------ known answers
def test_lorenz_three_fixed_points(find):
    s, r, b = 10.0, 28.0, 8 / 3
    system = lorenz(s, r, b)
    result = find(system, n_starts=2000)
    c = np.sqrt(b * (r - 1))  # x = y, x^2 = b (r - 1), z = r - 1
    assert_same_points(result.x, [[0, 0, 0], [c, c, r - 1], [-c, -c, r - 1]])
    assert result.is_fixed.all() and not result.is_slow.any()
    assert_truly_fixed(system, result)
    origin = at(result, [0, 0, 0])
    assert (origin.index, origin.label) == (1, "saddle")
    # at 0 the z-equation decouples (-b); the (x, y) block [[-s, s], [r, -1]] has
    # eigenvalues (-(s + 1) +- sqrt((s + 1)^2 + 4 s (r - 1))) / 2
    disc = np.sqrt((s + 1) ** 2 + 4 * s * (r - 1))
    assert_eigenvalues(origin, [-b, (-(s + 1) + disc) / 2, (-(s + 1) - disc) / 2])
    for sign in (1, -1):
        p = at(result, [sign * c, sign * c, r - 1])
        assert (p.index, p.label) == (2, "saddle-focus")
    # fixed points first, then by index: the origin (index 1) leads
    assert result.index.tolist() == [1, 2, 2]
    assert result.stats["n_fixed"] == 3 and result.stats["n_starts"] == 2000


def test_lorenz_below_rho_one_only_the_stable_origin():
    b = 8 / 3
    result = find_fixed_points(lorenz(rho=0.5), n_starts=500)
    assert_same_points(result.x, [[0, 0, 0]])
    assert result.label.tolist() == ["stable node"]
    # eigenvalues -b and (-11 +- sqrt(121 + 40 (rho - 1))) / 2 = (-11 +- sqrt(101)) / 2
    assert_eigenvalues(result[0], [-b, (-11 + np.sqrt(101)) / 2, (-11 - np.sqrt(101)) / 2])


def test_duffing_two_foci_and_a_saddle(find):
    d = 0.3
    result = find(duffing(delta=d), n_starts=1000)
    assert_same_points(result.x, [[-1, 0], [0, 0], [1, 0]])
    # Jacobian [[0, 1], [1 - 3 x^2, -d]]: at x = +-1, l^2 + d l + 2 = 0; at 0, l^2 + d l - 1 = 0
    for xs in (1, -1):
        p = at(result, [xs, 0])
        assert p.label == "stable focus" and p.index == 0
        assert_eigenvalues(p, np.roots([1, d, 2]))
    saddle = at(result, [0, 0])
    assert (saddle.label, saddle.index) == ("saddle", 1)
    assert_eigenvalues(saddle, np.roots([1, d, -1]))
    assert len(result.stable()) == 2 and len(result.saddles()) == 1


def test_toggle_switch_bistable(find):
    a = 10.0
    # u = a / (1 + v^2), v = a / (1 + u^2); eliminating u:
    # v^5 - a v^4 + 2 v^3 - 2 a v^2 + (1 + a^2) v - a = 0
    v = np.roots([1, -a, 2, -2 * a, 1 + a**2, -a])
    v = v[np.abs(v.imag) < 1e-9].real
    expected = np.stack([a / (1 + v**2), v], axis=1)
    result = find(toggle_switch(), n_starts=1000)
    assert_same_points(result.x, expected)
    assert len(result.stable()) == 2
    assert all(p.label == "stable node" for p in result.stable())
    saddle = result.saddles()
    assert len(saddle) == 1
    np.testing.assert_allclose(saddle.x, [[2.0, 2.0]], atol=1e-12)  # u^3 + u - 10 = 0 on the diagonal


@pytest.mark.parametrize(
    "r, expected",
    [
        # g'(x) = r (1 - 2x): g'(0) = r, g'(1 - 1/r) = 2 - r
        (0.5, {0.0: ("stable node", 0)}),  # 1 - 1/r = -1 lies outside the search box [0, 1]
        (2.0, {0.0: ("unstable node", 1), 0.5: ("stable node", 0)}),
        (3.5, {0.0: ("unstable node", 1), 1 - 1 / 3.5: ("unstable node (flip)", 1)}),
    ],
)
def test_logistic_map(r, expected, find):
    result = find(logistic(r), n_starts=200)
    assert_same_points(result.x, np.array(sorted(expected))[:, None])
    for x0, (label, index) in expected.items():
        p = at(result, [x0])
        assert (p.label, p.index) == (label, index)
        np.testing.assert_allclose(p.eigenvalues.real, [r * (1 - 2 * x0)], atol=1e-12)


def test_logistic_exact_method_finds_the_point_outside_the_box():
    # 1 - 1/r = -1 for r = 1/2, where g'(-1) = 3r = 1.5: unstable; g'(0) = r: stable
    result = find_fixed_points(logistic(0.5), method="exact")
    np.testing.assert_array_equal(result.x, [[0.0], [-1.0]])  # ordered by index
    assert result.label.tolist() == ["stable node", "unstable node"]


def test_henon_two_saddles(find):
    a, b = 1.4, 0.3
    # x = 1 - a x^2 + b x  =>  a x^2 + (1 - b) x - 1 = 0, y = b x
    xs = np.array([(-(1 - b) + s * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a) for s in (-1, 1)])
    result = find(henon(a, b), n_starts=500)
    assert_same_points(result.x, np.stack([xs, b * xs], axis=1))
    for x0 in xs:
        p = at(result, [x0, b * x0])
        assert p.index == 1 and p.linearization.is_saddle
        # Dg = [[-2 a x, 1], [b, 0]]: l^2 + 2 a x l - b = 0
        assert_eigenvalues(p, np.roots([1, 2 * a * x0, -b]))


def lorenz_points_by_hand(sigma=10.0, rho=28.0, beta=8 / 3):
    a = np.sqrt(beta * (rho - 1))
    return np.array([[0.0, 0.0, 0.0], [a, a, rho - 1], [-a, -a, rho - 1]])


def henon_points_by_hand(a=1.4, b=0.3):
    xs = np.array([(-(1 - b) + s * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a) for s in (-1, 1)])
    return np.stack([xs, b * xs], axis=1)


@pytest.mark.parametrize(
    "make, points_by_hand", [(lorenz, lorenz_points_by_hand), (henon, henon_points_by_hand)], ids=["lorenz", "henon"]
)
@given(data=st.data())
@settings(max_examples=8)
def test_affine_change_of_coordinates_moves_the_points_and_keeps_their_class(make, points_by_hand, data):
    system = make()
    M, b = data.draw(affine_maps(system.dim))
    moved = conjugate(system, M, b)
    starts = np.random.default_rng(0).uniform(system.bounds[:, 0], system.bounds[:, 1], (300, system.dim))
    original = find_fixed_points(system, starts)
    result = find_fixed_points(moved, starts @ M.T + b)
    expected = points_by_hand() @ M.T + b  # y* = M x* + b
    assert_same_points(result.fixed().x, expected, atol=1e-8)
    for p in original:
        q = at(result, M @ p.x + b, atol=1e-8)
        assert (q.label, q.linearization.dims) == (p.label, p.linearization.dims)
        assert_eigenvalues(q, p.eigenvalues)


def test_van_der_pol_unstable_focus(find):
    mu = 1.0
    result = find(van_der_pol(mu), n_starts=300)
    assert_same_points(result.fixed().x, [[0, 0]])
    p = result.fixed()[0]
    assert p.label == "unstable focus" and p.index == 2
    # Jacobian [[0, 1], [-1, mu]] at 0: l = (mu +- sqrt(mu^2 - 4)) / 2
    root = np.sqrt(complex(mu**2 - 4))
    assert_eigenvalues(p, [(mu + root) / 2, (mu - root) / 2])


def test_logistic_period_two_points(find):
    r = 3.5
    # g(g(x)) = x besides 0 and 1 - 1/r: x = (r + 1 +- sqrt((r - 3)(r + 1))) / (2 r)
    cycle = [(r + 1 + s * np.sqrt((r - 3) * (r + 1))) / (2 * r) for s in (-1, 1)]
    result = find(logistic(r).iterate(2), n_starts=400)
    assert_same_points(result.x, np.array([[0.0], [1 - 1 / r], [cycle[0]], [cycle[1]]]))
    # the cycle's multiplier g'(p+) g'(p-) = r^2 (1 - 2p+)(1 - 2p-) = -r^2 + 2r + 4
    for c in cycle:
        np.testing.assert_allclose(at(result, [c]).eigenvalues, [-(r**2) + 2 * r + 4], atol=1e-9)


# ------------------------------------------------------------- slow points
def test_no_zero_but_one_slow_point(find):
    # dx/dt = 1 + x^2 never vanishes; q = (1 + x^2)^2 / 2 has its minimum q = 1/2 at x = 0
    system = System.from_sympy([1 + x**2], [x], bounds=[(-2, 2)])
    result = find(system, n_starts=100, max_slow_q=np.inf)
    assert len(result) == 1 and not result.is_fixed.any() and result.is_slow.all()
    np.testing.assert_allclose(result.x, [[0.0]], atol=1e-7)
    np.testing.assert_allclose(result.q, [0.5], rtol=1e-12)
    np.testing.assert_allclose(result.speed, [1.0], rtol=1e-12)
    assert result.stats["n_fixed"] == 0 and result.stats["n_slow"] == 1
    assert result.stats["n_unconverged"] == 0 and result.stats["n_diverged"] == 0
    assert len(result.slow()) == 1 and len(result.fixed()) == 0


def test_slow_point_where_the_jacobian_does_not_vanish(find):
    # F = (x, 1 + y^2): q = (x^2 + (1 + y^2)^2) / 2, minimum 1/2 at the origin, DF = diag(1, 2y)
    system = System.from_sympy([x, 1 + y**2], [x, y], bounds=[(-2, 2), (-2, 2)])
    result = find(system, n_starts=100, max_slow_q=np.inf)
    assert len(result) == 1 and result.is_slow.all()
    np.testing.assert_allclose(result.x, [[0.0, 0.0]], atol=1e-7)
    np.testing.assert_allclose(result.q, [0.5], rtol=1e-12)


def test_map_with_a_slow_point(find):
    # g(x) = x + c + x^2 has F = g(x) - x = c + x^2 > 0: slow point at 0 with q = c^2 / 2
    c = 0.01
    system = System.from_sympy([x + c + x**2], [x], kind="map", bounds=[(-1, 1)])
    result = find(system, n_starts=100, max_slow_q=np.inf)
    assert len(result) == 1 and result.is_slow.all()
    np.testing.assert_allclose(result.x, [[0.0]], atol=1e-7)
    np.testing.assert_allclose(result.q, [c**2 / 2], rtol=1e-10)


def fixed_and_slow_system():
    # F = (x + 2)(x^2 + 1) = x^3 + 2x^2 + x + 2: one zero, x = -2 (F'(-2) = 5); F' = (3x + 1)(x + 1)
    # vanishes at x = -1 (max of F = 2) and x = -1/3, a local min of F = 50/27 > 0: a slow point
    return System.from_sympy([(x + 2) * (x**2 + 1)], [x], bounds=[(-3, 1)])


def test_fixed_and_slow_points_together(find):
    result = find(fixed_and_slow_system(), n_starts=200, max_slow_q=np.inf)
    assert result.is_fixed.tolist() == [True, False]  # fixed points first
    np.testing.assert_allclose(result.x, [[-2.0], [-1 / 3]], atol=1e-7)
    np.testing.assert_allclose(result.q, [0.0, (50 / 27) ** 2 / 2], atol=1e-12)
    assert result[0].label == "unstable node"
    np.testing.assert_allclose(result[0].eigenvalues, [5.0], atol=1e-9)


def test_maxima_and_saddles_of_q_are_not_slow_points(find):
    # dx/dt = x^2 - 1: q = (x^2 - 1)^2 / 2 is stationary at x = 0 but a maximum (q'' = -2);
    # a start exactly there does not move
    result = find(System.from_sympy([x**2 - 1], [x]), [[0.0], [0.5], [-3.0]], max_slow_q=np.inf)
    assert_same_points(result.x, [[-1.0], [1.0]])
    assert result.is_fixed.all() and result.stats["n_not_minima"] == 1
    # F = (x^2 - 1, y): q = ((x^2 - 1)^2 + y^2) / 2 has a saddle at the origin; starts on
    # the line x = 0 (where dq/dx = 0) descend to it and stop there
    result = find(System.from_sympy([x**2 - 1, y], [x, y]), [[0.0, 1.0], [0.0, -2.0]], max_slow_q=np.inf)
    assert len(result) == 0 and result.stats["n_not_minima"] == 1


def test_max_slow_q_filters_slow_points(find):
    system = System.from_sympy([1 + x**2], [x], bounds=[(-2, 2)])
    result = find(system, n_starts=50, max_slow_q=0.1)
    assert len(result) == 0
    assert result.stats["n_above_max_slow_q"] == 50


# ------------------------------------------------- divergence, bad regions
def test_starts_in_a_nan_region_are_dropped_and_counted(find):
    # log x is NaN for x < 0 and -inf at 0: the 31 starts x <= 0 diverge; x > 0 converge to x = 1
    system = System.from_sympy([sp.log(x)], [x])
    starts = np.linspace(-3, 3, 61)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = find(system, starts)
    np.testing.assert_allclose(result.x, [[1.0]], atol=1e-12)
    assert result.label.tolist() == ["unstable node"]  # f'(1) = 1
    assert result.stats["n_diverged"] == 31
    assert result.stats["n_starts"] == 61


def test_starts_running_off_to_infinity_are_counted(find):
    # dx/dt = 1/x has no zero, and q = 1 / (2 x^2) decreases towards |x| = inf
    system = System.from_sympy([1 / x], [x])
    starts = np.array([[-3.0], [-0.5], [0.5], [2.0], [3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = find(system, starts)
    assert len(result) == 0
    assert result.stats["n_escaped"] == 5  # they leave the trust region on their way out
    unbounded = find(system, starts, max_drift=None)
    assert len(unbounded) == 0
    assert unbounded.stats["n_diverged"] + unbounded.stats["n_escaped"] == 5


def test_a_saturating_valley_is_not_reported_as_fixed_points(find):
    # dx/dt = 1/(1 + x^2) has no zero but |F| < 1e-10 for |x| > 1e5, as a GRU
    # whose gates are pinned barely moves far from its states: the trust region stops the drift
    system = System.from_sympy([1 / (1 + x**2)], [x])
    starts = np.linspace(-1, 1, 20)[:, None]  # not x = 0, the maximum of q
    result = find(system, starts)
    assert len(result) == 0
    assert result.stats["n_escaped"] == 20


def test_starts_escaping_along_a_valley_are_counted(find):
    # van der Pol: on the curve x = mu (1 - x^2) y the second component vanishes and
    # q = y^2 / 2 = x^2 / (2 mu^2 (1 - x^2)^2) -> 0 as |x| -> inf, a valley without a zero
    result = find(van_der_pol(), n_starts=200, max_iter=50)
    assert result.stats["n_diverged"] + result.stats["n_escaped"] + result.stats["n_unconverged"] > 0
    assert_same_points(result.x, [[0, 0]])


# --------------------------------------------------------------- properties
def rounding_level(case):
    """An upper bound of the rounding error of F near the zeros: 64 eps times
    the largest sum of the absolute terms of f_i (or g_i and x_i for a map)."""
    system, worst = case.system, 0.0
    for i, e in enumerate(system.exprs):
        poly = sp.Poly(e, *system.symbols)
        for root in case.roots:
            size = sum(abs(float(c)) * np.prod(np.abs(root) ** np.array(m)) for m, c in poly.terms())
            worst = max(worst, size + (abs(root[i]) if system.kind == "map" else 0.0))
    return 64 * np.finfo(float).eps * worst


def assert_finds_every_root(case, n_starts=4000):
    # an absolute tol cannot be below the rounding error of F (terms of size ~1e6 give ~1e-10)
    tol = max(TOL, rounding_level(case))
    # some zeros have small basins of attraction: many starts (~0.2 s here)
    result = find_fixed_points(case.system, n_starts=n_starts, tol=tol)
    fixed = result.fixed()
    assert_same_points(fixed.x, case.roots, atol=1e-7)
    # every reported fixed point has |F| <= tol, by the system's own residual
    assert_truly_fixed(case.system, result, tol)
    assert np.all(fixed.speed <= tol)


@settings(max_examples=15)
@given(data=st.data(), kind=st.sampled_from(["flow", "map"]))
def test_numeric_search_finds_every_root_of_polynomial_systems(data, kind):
    assert_finds_every_root(data.draw(polynomial_systems(kind, max_roots=8)))


@settings(max_examples=80)
@given(case=polynomial_systems("map", dims=(1, 3)))
def test_numeric_search_finds_every_root_of_polynomial_maps(case):
    # up to 12 roots (three of the first 80 examples lost roots to early merging below the rounding floor)
    assert_finds_every_root(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(data=st.data(), kind=st.sampled_from(["flow", "map"]))
def test_numeric_search_finds_every_root_of_polynomial_systems_heavy(data, kind):
    assert_finds_every_root(data.draw(polynomial_systems(kind, dims=(1, 3))))


@settings(max_examples=10)
@given(data=st.data())
def test_exact_and_numeric_agree_on_polynomial_systems(data):
    case = data.draw(polynomial_systems("flow", max_roots=6))
    exact = find_fixed_points(case.system, method="exact")
    numeric = find_fixed_points(case.system, n_starts=4000, tol=max(TOL, rounding_level(case)))
    assert len(exact) == len(numeric.fixed())
    np.testing.assert_allclose(numeric.fixed().x, exact.x, atol=1e-8)
    # (labels node/focus are ill-conditioned at repeated eigenvalues; the index is not)
    assert numeric.fixed().index.tolist() == exact.index.tolist()
    eigenvalues = np.sort_complex(numeric.fixed().eigenvalues)
    np.testing.assert_allclose(eigenvalues, np.sort_complex(exact.eigenvalues), atol=1e-6)
    assert exact.stats["method"] == "exact" and exact.is_fixed.all()


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1))
def test_result_does_not_depend_on_the_order_of_the_starts(seed):
    # the starts are sorted before the search: the same bits in any order
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, 12, size=(300, 2))
    a = find_fixed_points(toggle_switch(), starts)
    b = find_fixed_points(toggle_switch(), starts[rng.permutation(len(starts))])
    assert np.array_equal(a.x, b.x) and np.array_equal(a.q, b.q)
    assert a.label.tolist() == b.label.tolist()
    assert a.is_fixed.tolist() == b.is_fixed.tolist()


def test_order_independence_on_a_continuum_of_equilibria():
    # F = (x + y - 1)(x - y) (-1, -2): every point of the lines x + y = 1 and x = y is fixed
    # (the points differed by up to 6e-12 when the starts were permuted)
    system = System.from_sympy([-(x + y - 1) * (x - y), -2 * (x + y - 1) * (x - y)], [x, y])
    starts = np.random.default_rng(5).uniform(-3, 3, (2000, 2))
    a = find_fixed_points(system, starts)
    b = find_fixed_points(system, starts[np.random.default_rng(9).permutation(len(starts))])
    assert len(a) > 1 and np.array_equal(a.x, b.x) and np.array_equal(a.q, b.q)
    on_a_line = np.minimum(np.abs(a.x.sum(axis=1) - 1), np.abs(a.x[:, 0] - a.x[:, 1]))
    np.testing.assert_allclose(on_a_line, 0.0, atol=1e-9)


def test_points_come_out_fixed_first_then_by_index_then_by_coordinates():
    # x' = (x - 1.5)(x - 1.2), y' = (y - 0.1)(y - 0.2): the four products of the roots; the
    # derivatives -0.3 at 1.2, +0.3 at 1.5, -0.1 at 0.1, +0.1 at 0.2 give the indices 0, 1, 1, 2.
    # L = 1 (starts within [0, 1.7] x [0, 0.3]): the points' merge radii grow with |x|_inf, which
    # per-point rounding turned into (1.5, 0.1) before (1.2, 0.2)
    system = System.from_sympy([(x - 1.5) * (x - 1.2), (y - 0.1) * (y - 0.2)], [x, y])
    starts = np.array(np.meshgrid(np.linspace(0, 1.7, 18), np.linspace(0, 0.3, 7))).reshape(2, -1).T
    result = find_fixed_points(system, starts=starts)
    assert result.is_fixed.all()
    np.testing.assert_allclose(result.x, [[1.2, 0.1], [1.2, 0.2], [1.5, 0.1], [1.5, 0.2]], rtol=0, atol=1e-12)
    assert result.index.tolist() == [0, 1, 1, 2]


def test_many_starts_merge_into_few_points(find):
    result = find(duffing(), n_starts=5000)
    assert len(result) == 3
    assert result.stats["n_fixed"] == 3 and result.stats["n_starts"] == 5000


# -------------------------------------------------------------- the starts
def test_starts_from_trajectories_when_there_is_no_box():
    r, b = 28.0, 8 / 3
    c = np.sqrt(b * (r - 1))
    system = dataclasses.replace(lorenz(), bounds=None)
    result = find_fixed_points(system, n_starts=300)
    assert_same_points(result.x, [[0, 0, 0], [c, c, r - 1], [-c, -c, r - 1]])


def test_trajectory_starts_of_a_fast_rotation_beyond_max_steps():
    # x' = w y, y' = -w x - 0.01 y, w = 3e4: over (0, 10) the trajectories need more than simulate's
    # max_steps (RuntimeError); a shorter span gives the starts.  One zero, the origin, with
    # eigenvalues of [[0, w], [-w, -0.01]]: -0.005 +- i sqrt(w^2 - 0.005^2), a stable focus
    w = 3e4
    result = find_fixed_points(System.from_strings({"x": "w*y", "y": "-w*x - 0.01*y"}, {"w": w}))
    assert len(result) == 1 and result.is_fixed.all()
    np.testing.assert_allclose(result.x[0], [0.0, 0.0], rtol=0, atol=1e-12)
    assert result[0].label == "stable focus"
    im = np.sqrt(w**2 - 0.005**2)
    np.testing.assert_allclose(np.sort_complex(result[0].eigenvalues), [-0.005 - 1j * im, -0.005 + 1j * im],
                               rtol=1e-9)


def test_starts_from_orbits_of_a_map_when_there_is_no_box():
    a, bb = 1.4, 0.3
    xs = np.array([(-(1 - bb) + s * np.sqrt((1 - bb) ** 2 + 4 * a)) / (2 * a) for s in (-1, 1)])
    system = dataclasses.replace(henon(), bounds=None)
    result = find_fixed_points(system, n_starts=300)
    assert_same_points(result.x, np.stack([xs, bb * xs], axis=1))


def test_noise_spreads_the_starts():
    # all starts on the saddle of the Duffing system: without noise nothing else is found
    starts = np.zeros((50, 2))
    assert_same_points(find_fixed_points(duffing(), starts).x, [[0, 0]])
    noisy = find_fixed_points(duffing(), starts, noise=1.0, seed=3)
    assert_same_points(noisy.x, [[-1, 0], [0, 0], [1, 0]])


def test_a_single_start_and_explicit_bounds():
    result = find_fixed_points(duffing(), [0.9, 0.1])
    assert_same_points(result.x, [[1, 0]])
    boxed = find_fixed_points(duffing(), n_starts=200, bounds=[(0.5, 2), (-0.5, 0.5)])
    assert_same_points(boxed.x, [[1, 0]])  # only the point inside the box is reported


def test_bounds_are_the_region_searched():
    # the pendulum has fixed points (k pi, 0) for every integer k; in |theta| <= 4 those with k = -1, 0, 1
    pendulum = pendulum_model(damping=0.5)
    box = [(-4.0, 4.0), (-3.0, 3.0)]
    starts = np.random.default_rng(0).uniform([-4, -3], [4, 3], size=(300, 2))
    result = find_fixed_points(pendulum, starts, bounds=box)
    assert_same_points(result.x, [[-np.pi, 0], [0, 0], [np.pi, 0]])
    everywhere = find_fixed_points(pendulum, starts)  # the same starts, no region
    assert len(everywhere) > 3  # Newton's steps leave the box from near the maxima of cos
    assert result.stats["n_outside"] == len(everywhere) - 3
    exact = find_fixed_points(duffing(), method="exact", bounds=[(0.5, 2), (-1, 1)])
    np.testing.assert_array_equal(exact.x, [[1.0, 0.0]])
    assert exact.stats["n_outside"] == 2


def test_seed_reproducible():
    a = find_fixed_points(van_der_pol(), n_starts=100, seed=7)
    b = find_fixed_points(van_der_pol(), n_starts=100, seed=7)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.stats["n_unconverged"] == b.stats["n_unconverged"]


# ---------------------------------------------------------- exact method
def test_exact_method_lorenz():
    r, b = 28.0, 8 / 3
    c = np.sqrt(b * (r - 1))
    result = find_fixed_points(lorenz(), method="exact")
    np.testing.assert_allclose(result.x, [[0, 0, 0], [-c, -c, r - 1], [c, c, r - 1]], rtol=1e-15)
    assert result.index.tolist() == [1, 2, 2]
    assert result.is_fixed.all() and np.all(result.speed <= 1e-12)


def test_exact_method_refuses_callables():
    system = System.from_callable(lambda X: -X, 2, vectorized=True)
    with pytest.raises(ValueError, match="built from formulas"):
        find_fixed_points(system, method="exact")


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"starts": np.zeros((4, 3))}, "starts must have shape"),
        ({"starts": np.zeros((0, 2))}, "starts must have shape"),
        ({"starts": [[0.0, np.nan]]}, "starts must be finite"),
        ({"bounds": [(0, 1)] * 3}, "bounds must have shape"),
        ({"bounds": [(1, 0), (0, 1)]}, "bounds need low < high"),
        ({"bounds": [(0, np.inf), (0, 1)]}, "bounds must be finite"),
        ({"tol": 0.0}, "tol must be"),
        ({"tol": "small"}, "tol must be a number"),
        ({"merge_tol": -1.0}, "merge_tol must be"),
        ({"slow_gtol": np.nan}, "slow_gtol must be"),
        ({"max_slow_q": -1.0}, "max_slow_q must be"),
        ({"method": "newton"}, "method must be one of"),
        ({"n_starts": 0}, "n_starts must be an integer >= 1"),
        ({"n_starts": 2.5}, "n_starts must be an integer >= 1"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1"),
        ({"noise": -0.1}, "noise must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_fixed_points(duffing(), **kwargs)


def test_t_span_is_for_flows_and_system_must_be_a_system():
    with pytest.raises(ValueError, match="t_span applies to flows only"):
        find_fixed_points(dataclasses.replace(henon(), bounds=None), t_span=(0, 5))
    with pytest.raises(TypeError, match="system must be a dynsys.System"):
        find_fixed_points(lambda v: v)


# ------------------------------------------------------ the result type
@pytest.fixture(scope="module")
def lorenz_result():
    return find_fixed_points(lorenz(), n_starts=500)


def test_indexing_iteration_and_subsets(lorenz_result):
    res = lorenz_result
    assert len(res) == 3 and len(list(res)) == 3
    p = res[0]
    assert isinstance(p, FixedPoint)
    assert p.index == res.index[0] and p.label == res.label[0]
    np.testing.assert_array_equal(p.eigenvalues, res.eigenvalues[0])
    np.testing.assert_array_equal(res[-1].x, res.x[2])
    with pytest.raises(IndexError):
        res[3]
    sub = res[1:]
    assert isinstance(sub, FixedPointSet) and len(sub) == 2
    np.testing.assert_array_equal(sub.x, res.x[1:])
    masked = res[res.index == 2]
    assert masked.index.tolist() == [2, 2]
    picked = res[np.array([2, 0])]
    np.testing.assert_array_equal(picked.x, res.x[[2, 0]])
    assert picked.linearizations[1] is res.linearizations[0]
    assert len(res.fixed()) == 3 and len(res.slow()) == 0
    assert len(res.stable()) == 0 and len(res.saddles()) == 3
    assert res.eigenvalues.shape == (3, 3) and res.eigenvalues.dtype == complex


def test_table_and_repr(lorenz_result):
    table = lorenz_result.table()
    lines = table.splitlines()
    assert len(lines) == 4
    for name in ("x", "y", "z", "q", "index", "label"):
        assert name in lines[0].split()
    assert "saddle-focus" in table and "saddle" in lines[1]
    assert "lorenz" in repr(lorenz_result) and "3 fixed" in repr(lorenz_result)
    assert table in str(lorenz_result)
    narrow = lorenz_result.table(max_coordinates=2).splitlines()
    assert narrow[0].split()[:2] == ["id", "|x|"]
    norms = [float(line.split()[1]) for line in narrow[1:]]
    np.testing.assert_allclose(sorted(norms), sorted(np.linalg.norm(lorenz_result.x, axis=1)), rtol=1e-5)


def test_records_are_plain_json(lorenz_result):
    records = json.loads(json.dumps(lorenz_result.records()))
    assert [r["label"] for r in records] == lorenz_result.label.tolist()
    for r, p in zip(records, lorenz_result):
        np.testing.assert_array_equal(r["x"], p.x)
        np.testing.assert_array_equal(np.array(r["eigenvalues"]) @ [1, 1j], p.eigenvalues)
        assert (r["q"], r["index"], r["type"]) == (p.q, p.index, "fixed")


def assert_identical(a: FixedPointSet, b: FixedPointSet):
    for name in ("x", "q", "speed", "is_fixed", "is_slow", "eigenvalues", "index", "label"):
        va, vb = getattr(a, name), getattr(b, name)
        assert va.dtype == vb.dtype and va.shape == vb.shape, name
        np.testing.assert_array_equal(va, vb)
    assert (a.kind, a.state_names, a.system_name, a.params, a.stats) == (
        b.kind,
        b.state_names,
        b.system_name,
        b.params,
        b.stats,
    )
    assert len(a.linearizations) == len(b.linearizations)
    for la, lb in zip(a.linearizations, b.linearizations):
        for f in dataclasses.fields(la):
            va, vb = getattr(la, f.name), getattr(lb, f.name)
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype and va.shape == vb.shape, f.name
                np.testing.assert_array_equal(va, vb)
            else:
                assert va == vb and type(va) is type(vb), f.name


@pytest.fixture(scope="module")
def round_trip_cases():
    slow = find_fixed_points(System.from_sympy([1 + x**2], [x], bounds=[(-2, 2)]), n_starts=20)
    return {
        "lorenz": find_fixed_points(lorenz(), n_starts=200),
        "henon": find_fixed_points(henon(), n_starts=200),
        "slow": slow,
        "mixed": find_fixed_points(fixed_and_slow_system(), n_starts=50, max_slow_q=np.inf),
        "empty": slow.fixed(),
    }


@pytest.mark.parametrize("name", ["lorenz", "henon", "slow", "mixed", "empty"])
def test_json_and_npz_round_trips_are_exact(name, round_trip_cases, tmp_path):
    result = round_trip_cases[name]
    text = result.to_json()
    json.loads(text)  # valid JSON
    assert_identical(FixedPointSet.from_json(text), result)
    path = tmp_path / "points.npz"
    result.save(path)
    assert_identical(FixedPointSet.load(path), result)
    assert [p.name for p in tmp_path.iterdir()] == ["points.npz"]  # no temporary file left


def test_load_refuses_other_files(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a dynsys.FixedPointSet"):
        FixedPointSet.load(other)
    text_file = tmp_path / "notes.npz"
    text_file.write_text("hello")
    with pytest.raises(ValueError, match="not a dynsys.FixedPointSet"):
        FixedPointSet.load(text_file)
    with pytest.raises(ValueError, match="not the JSON"):
        FixedPointSet.from_json("[1, 2")
    with pytest.raises(ValueError, match="not a dynsys.FixedPointSet"):
        FixedPointSet.from_json(json.dumps({"format": "something else", "arrays": {}}))


# --------------------------------------------------- solvers, memory, merging
def shifted_quadratics(n, slow):
    """F_1 = x_1^2 - 1 (or 1 + x_1^2 when ``slow``), F_i = x_i for i > 1, with
    analytic jvp and vjp (DF = diag(2 x_1, 1, ..., 1)): zeros (+-1, 0, ..., 0),
    or one slow point at the origin (q = 1/2, Hessian diag(2, 1, ..., 1))."""
    c = 1.0 if slow else -1.0

    def f(X):
        return np.concatenate([X[:, :1] ** 2 + c, X[:, 1:]], axis=1)

    def jvp(X, V):
        return np.concatenate([2 * X[:, :1] * V[:, :1], V[:, 1:]], axis=1)

    return System.from_callable(f, n, vectorized=True, jvp=jvp, vjp=jvp)  # DF is symmetric


@pytest.mark.parametrize("n", [3, 70])  # 70: the Lanczos test of slow points
def test_matrix_free_solver_on_known_zeros_and_slow_points(n):
    rng = np.random.default_rng(n)
    system = shifted_quadratics(n, slow=False)
    assert system.matrix_free
    result = find_fixed_points(system, rng.uniform(-2, 2, (64, n)), solver="matrix-free")
    expected = np.zeros((2, n))
    expected[:, 0] = [-1.0, 1.0]
    assert_same_points(result.x, expected)
    # DF = diag(+-2, 1, ..., 1): n - 1 unstable directions at x_1 = -1, n at x_1 = 1
    assert result.stats["solver"] == "matrix-free" and result.index.tolist() == [n - 1, n]
    slow = find_fixed_points(
        shifted_quadratics(n, slow=True), rng.uniform(-2, 2, (64, n)), solver="matrix-free", max_slow_q=np.inf
    )
    assert len(slow) == 1 and slow.is_slow.all()
    np.testing.assert_allclose(slow.x, np.zeros((1, n)), atol=1e-7)
    np.testing.assert_allclose(slow.q, [0.5], rtol=1e-10)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), kind=st.sampled_from(["flow", "map"]))
def test_matrix_free_solver_finds_the_zero_of_affine_systems(seed, n, kind):
    # F(x) = A x + b (flow) or g(x) - x with g(x) = A x + b + x (map): one zero, x* = -A^-1 b (numpy)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) + 3 * np.eye(n)
    b = rng.standard_normal(n)
    G = A + np.eye(n) if kind == "map" else A
    system = System.from_callable(
        lambda X: X @ G.T + b, n, vectorized=True, kind=kind, jvp=lambda X, V: V @ G.T, vjp=lambda X, V: V @ G
    )
    result = find_fixed_points(system, rng.uniform(-5, 5, (32, n)), solver="matrix-free")
    assert len(result) == 1 and result.is_fixed.all()
    np.testing.assert_allclose(result.x[0], np.linalg.solve(A, -b), atol=1e-9)
    assert_truly_fixed(system, result)


def test_both_solvers_find_the_27_points_of_the_flipflop_network():
    # the bundled network's 3-cube: 8 attractors, 12 / 6 / 1 saddles of index 1 / 2 / 3 (tests/test_flipflop.py
    # checks the cube independently, by following the saddles' branches); starts as the main job draws them
    from dynsys.rnn import load_flipflop
    from dynsys.simulate import sample_states
    from dynsys.tasks.flipflop import generate

    cell = load_flipflop()
    system = cell.system()
    starts = sample_states(cell.run(generate(64, 200, bits=3, seed=7).inputs), 512, noise=0.5, seed=8)
    dense = find_fixed_points(system, starts, solver="dense")
    free = find_fixed_points(system, starts, solver="matrix-free")
    assert dense.stats["solver"] == "dense" and free.stats["solver"] == "matrix-free"
    for result in (dense, free):
        assert np.bincount(result.fixed().index).tolist() == [8, 12, 6, 1]
        assert_truly_fixed(system, result)
        # the default max_slow_q (from a Latin hypercube of the network's box) keeps out its slow points (q ~ 0.38)
        assert len(result.slow()) == 0 and result.stats["max_slow_q"] < 0.38 / 10
    np.testing.assert_allclose(free.fixed().x, dense.fixed().x, atol=1e-9)


def test_auto_solver_is_matrix_free_for_large_networks_with_products():
    rng = np.random.default_rng(0)
    large = shifted_quadratics(200, slow=False)
    assert find_fixed_points(large, rng.uniform(-2, 2, (8, 200))).stats["solver"] == "matrix-free"
    assert find_fixed_points(shifted_quadratics(5, slow=False), n_starts=8, bounds=(-2, 2)).stats["solver"] == "dense"
    # formulas have no analytic products: dense whatever the size
    assert find_fixed_points(duffing(), n_starts=8).stats["solver"] == "dense"


@pytest.mark.parametrize("solver", ["dense", "matrix-free"])
def test_chunks_under_a_memory_budget_give_the_same_points(solver):
    system = duffing()
    starts = np.random.default_rng(1).uniform(-2, 2, (300, 2))
    whole = find_fixed_points(system, starts, solver=solver)
    budget = 50 * SOLVERS[solver].bytes_per_start(2)  # 50 starts' working memory
    chunked = find_fixed_points(system, starts, solver=solver, max_memory=budget)
    assert whole.stats["n_chunks"] == 1 and chunked.stats["n_chunks"] == 6
    np.testing.assert_allclose(chunked.x, whole.x, atol=1e-12)
    assert_same_points(chunked.x, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    # starts of later chunks merge early into the points found by the first ones
    assert chunked.stats["n_merged_early"] > 0 and chunked.stats["n_unconverged"] == 0


def test_early_merging_keeps_every_start_accounted_for():
    starts = np.random.default_rng(2).uniform(-2, 2, (500, 2))
    result = find_fixed_points(duffing(), starts)
    s = result.stats
    assert s["n_merged_early"] > 400  # 500 starts, 3 points
    assert s["n_diverged"] + s["n_escaped"] + s["n_unconverged"] == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [({"solver": "qr"}, "solver"), ({"max_memory": 0}, "max_memory"), ({"max_memory": 100.0}, "max_memory")],
)
def test_bad_solver_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_fixed_points(duffing(), n_starts=4, **kwargs)


def test_ids_are_kept_by_subsets_and_round_trips(lorenz_result, tmp_path):
    res = lorenz_result
    assert res.ids == ("P0", "P1", "P2")
    picked = res[np.array([2, 0])]
    assert picked.ids == ("P2", "P0") and picked[0].id == "P2"
    assert res.saddles().ids == res.ids
    assert FixedPointSet.from_json(picked.to_json()).ids == ("P2", "P0")
    picked.save(tmp_path / "p.npz")
    assert FixedPointSet.load(tmp_path / "p.npz").ids == ("P2", "P0")
    assert [r["id"] for r in picked.records()] == ["P2", "P0"]
    assert [line.split()[0] for line in picked.table().splitlines()[1:]] == ["P2", "P0"]


def test_certificates_follow_their_points_through_subsets_round_trips_and_tables(lorenz_result, tmp_path):
    certified, radius = np.array([True, False, True]), np.array([1e-9, np.nan, 3e-9])
    res = dataclasses.replace(lorenz_result, certified=certified, certified_radius=radius)
    picked = res[np.array([2, 1])]
    np.testing.assert_array_equal(picked.certified, [True, False])
    np.testing.assert_array_equal(picked.certified_radius, [3e-9, np.nan])
    picked.save(tmp_path / "c.npz")
    for back in (FixedPointSet.load(tmp_path / "c.npz"), FixedPointSet.from_json(picked.to_json())):
        np.testing.assert_array_equal(back.certified, picked.certified)
        np.testing.assert_array_equal(back.certified_radius, picked.certified_radius)
    assert [r["certified_radius"] for r in picked.records()] == [3e-9, None]
    assert [line.split()[-1] for line in picked.table().splitlines()] == ["radius", "3.0e-09", "-"]
    assert res[:1].concat(res[1:]).certified.tolist() == certified.tolist()
    assert res[:1].concat(lorenz_result[1:]).certified is None  # only one side certified
    assert lorenz_result.certified is None and "certified" not in lorenz_result.records()[0]
    with pytest.raises(ValueError, match="together"):
        dataclasses.replace(lorenz_result, certified=certified)
    with pytest.raises(ValueError, match="finite and > 0"):
        dataclasses.replace(lorenz_result, certified=np.ones(3, bool), certified_radius=radius)


def test_concat_joins_sets_and_refuses_clashing_ids(lorenz_result):
    res = lorenz_result
    joined = res[:1].concat(res[2:])
    assert joined.ids == ("P0", "P2")
    np.testing.assert_array_equal(joined.x, res.x[[0, 2]])
    with pytest.raises(ValueError, match="distinct"):
        res.concat(res)
    with pytest.raises(ValueError, match="cannot join"):
        res.concat(find_fixed_points(henon(), n_starts=50))


@pytest.mark.parametrize(
    "eigenvalues, kind",
    [((-1.0, -2.0), "attractor"), ((1.0, -2.0), "saddle"), ((1.0, 2.0), "repeller"), ((0.0, -1.0), "non-hyperbolic")],
)
def test_point_kind_follows_the_signs_of_the_eigenvalues(eigenvalues, kind):
    lin = linearize_matrix(np.diag(eigenvalues), "flow")
    assert point_kind(True, lin) == kind
    assert point_kind(False, lin) == "slow"
    # the same spectrum as multipliers of a map: |mu| < 1 stable
    assert point_kind(True, linearize_matrix(np.diag(np.exp(eigenvalues)), "map")) == kind


# ------------------------------------------- robustness of the search (issue 11)
def test_one_far_start_does_not_merge_the_lorenz_points():
    # the merge radius comes from the box and the points found, not from the largest start
    system = lorenz()
    unit = np.random.default_rng(1).random((60, 3))
    starts = system.bounds[:, 0] + unit * (system.bounds[:, 1] - system.bounds[:, 0])
    assert_same_points(find_fixed_points(system, starts).fixed().x, lorenz_points_by_hand())
    far = find_fixed_points(system, np.vstack([starts, [1e7, 1e7, 1e7]]))
    assert_same_points(far.fixed().x, lorenz_points_by_hand())


def test_a_start_where_q_overflows_is_diverged_not_slow():
    # x' = -x: at (1e300, 1e300) q = |x|^2 / 2 overflows; the other start finds the origin
    system = System.from_sympy([-x, -y], [x, y])
    result = find_fixed_points(system, [[1e300, 1e300], [1.0, 2.0]])
    assert len(result.slow()) == 0 and result.stats["n_diverged"] == 1
    assert_same_points(result.fixed().x, [[0.0, 0.0]])


@pytest.mark.parametrize("b", [1e200, 1e308])
def test_boxes_beyond_what_q_can_represent_are_refused(b):
    system = System.from_sympy([-x], [x])
    with pytest.raises(ValueError, match=r"bounds \[\[-1e\+(200|308), 1e\+(200|308)\]\] are too large"):
        find_fixed_points(system, bounds=[(-b, b)])


def test_a_huge_but_representable_box_finds_the_origin():
    result = find_fixed_points(System.from_sympy([-x], [x]), bounds=[(-1e100, 1e100)], n_starts=64)
    assert_same_points(result.fixed().x, [[0.0]]) and len(result.slow()) == 0


def test_stiff_diagonal_system_has_its_fixed_point_and_no_slow_points():
    system = System.from_strings({"x": "-1e8*(x - 1)", "y": "-(y - 2)"}, bounds=[(-5, 5)] * 2)
    result = find_fixed_points(system)
    assert len(result.slow()) == 0
    assert_same_points(result.fixed().x, [[1.0, 2.0]], atol=1e-12)


@pytest.mark.parametrize("k", [1e9, 1e10, 1e11, 1e12])
def test_very_stiff_diagonal_systems_have_their_one_stable_node(k):
    # x' = -k (x - 1), y' = -(y - 2): one zero (1, 2), eigenvalues -k and -1 (a stable node).
    # The starting damping ~1e-3 k^2 makes the y-step ~1e-3/k^2 |y - 2|, below rounding: a
    # rejected step there is not a stall until the undamped (Newton) step was tried.
    system = System.from_strings({"x": "-k*(x - 1)", "y": "-(y - 2)"}, {"k": k}, bounds=[(-5, 5)] * 2)
    result = find_fixed_points(system)
    assert len(result) == 1 and result.is_fixed.all()
    np.testing.assert_allclose(result.x[0], [1.0, 2.0], rtol=0, atol=1e-12)
    assert result[0].label == "stable node"


@pytest.mark.parametrize("r", [1e2, 1e4, 1e6, 1e8, 1e10, 1e12])
def test_stiff_linear_systems_in_rotated_coordinates(r):
    # F(x) = Q diag(-1, -r) Q^T (x - c), Q a rotation by 0.7 rad: one zero, c, and no slow point;
    # rounding of F (~ eps r |x|) limits where c can be located to about eps r |c| / 1
    Q = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    A = Q @ np.diag([-1.0, -r]) @ Q.T
    c = np.array([0.5, -1.5])
    F = sp.Matrix(A.tolist()) * (sp.Matrix([x, y]) - sp.Matrix(c.tolist()))
    result = find_fixed_points(System.from_sympy(list(F), [x, y], bounds=[(-3, 3)] * 2))
    assert len(result) == 1 and result.is_fixed.all()
    np.testing.assert_allclose(result.x[0], c, rtol=0, atol=max(1e-9, 1e3 * np.finfo(float).eps * r))


MISSED_MAP = (  # polynomial_systems("map") case whose roots [10, -29, 21] and [12, -34, 25] were missed
    "-3*x0**3 + 15*x0**2*x1 + 24*x0**2*x2 - x0**2/2 - 27*x0*x1**2 - 84*x0*x1*x2 - 19*x0*x1 - 66*x0*x2**2"
    " - 18*x0*x2 - 37*x0 + 17*x1**3 + 78*x1**2*x2 + 59*x1**2/2 + 120*x1*x2**2 + 78*x1*x2 + 71*x1/2 + 62*x2**3"
    " + 48*x2**2 + 145*x2/2 - 91/2",
    "-2*x0**3 + 9*x0**2*x1 + 15*x0**2*x2 - 11*x0**2/2 - 15*x0*x1**2 - 48*x0*x1*x2 + x0*x1 - 39*x0*x2**2"
    " + 12*x0*x2 - 145*x0/4 + 9*x1**3 + 42*x1**2*x2 + 19*x1**2/2 + 66*x1*x2**2 + 18*x1*x2 + 37*x1 + 35*x2**3"
    " + 3*x2**2 + 289*x2/4 - 173/4",
    "-6*x0**3 + 30*x0**2*x1 + 48*x0**2*x2 - x0**2 - 54*x0*x1**2 - 168*x0*x1*x2 - 38*x0*x1 - 132*x0*x2**2"
    " - 36*x0*x2 - 74*x0 + 34*x1**3 + 156*x1**2*x2 + 59*x1**2 + 240*x1*x2**2 + 156*x1*x2 + 71*x1 + 124*x2**3"
    " + 96*x2**2 + 145*x2 - 90",
)
MISSED_MAP_ROOTS = [
    [4.5, -12.5, 10.0], [5.5, -15.5, 12.0], [5.5, -15.0, 12.0], [6.5, -18.0, 14.0], [6.5, -17.5, 14.0],
    [7.5, -20.5, 16.0], [10.0, -29.0, 21.0], [11.0, -31.5, 23.0], [12.0, -34.0, 25.0],
]


@pytest.mark.parametrize("n_starts", [512, 2048, 8192])
def test_roots_below_the_rounding_floor_of_tol_are_found_with_any_number_of_starts(n_starts):
    # |F| cannot get below ~2e-10 at [10, -29, 21] (terms ~1e6 round at ~1e-10) while tol = 1e-10:
    # only a lucky start reached tol, and early merging (one start per cluster goes on) made
    # luck rarer with more starts.  A zero to rounding (measured) is now a zero.
    system = System.from_strings(
        dict(zip(("x0", "x1", "x2"), MISSED_MAP)), kind="map", bounds=[[3.5, 13.0], [-35.0, -11.5], [9.0, 26.0]]
    )
    result = find_fixed_points(system, n_starts=n_starts)
    assert_same_points(result.fixed().x, MISSED_MAP_ROOTS, atol=1e-7)
    assert result.stats["n_unconverged"] == 0


def test_slow_points_are_not_reported_above_the_default_max_slow_q():
    # dx/dt = 1 + x^2 in [-2, 2]: the minimum speed 1 is not slow against the speeds ~2.5 around it
    # (q = 1/2 against the median q over a sample of the box, ~2); with max_slow_q=inf it is reported
    system = System.from_sympy([1 + x**2], [x], bounds=[(-2, 2)])
    result = find_fixed_points(system, n_starts=100)
    assert len(result) == 0 and result.stats["n_above_max_slow_q"] == 100
    assert 1e-3 * 1.0 < result.stats["max_slow_q"] < 1e-3 * 4.5  # 1e-3 x the median q: q(1)=2 +- sampling


def test_default_max_slow_q_keeps_slow_points_where_the_starts_cluster():
    # x' = 1.02 - cos x, y' = -y: no zero; q = (1.02 - cos x)^2 / 2 + y^2 / 2 has its minima, slow points
    # with q = 0.02^2 / 2 = 2e-4, at x = 2 pi k, y = 0.  The trajectory starts all crawl towards them, and
    # 1e-3 x their median q (~5e-6) dropped them; the reference is now standard normal states (q ~ 0.3)
    result = find_fixed_points(System.from_strings({"x": "1.02 - cos(x)", "y": "-y"}))
    assert result.is_slow.all() and len(result) == 3
    np.testing.assert_allclose(result.x, [[-2 * np.pi, 0], [0, 0], [2 * np.pi, 0]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.q, 2e-4, rtol=1e-6)
    # x' = 0.01 + x^2 from x = 0.3 alone: the slow point x = 0 (q = 0.01^2 / 2 = 5e-5) against a
    # reference cloud 0.3 + N(0, 1) (median q ~ 0.1), not against the start's own q (5e-3)
    result = find_fixed_points(System.from_strings({"x": "0.01 + x**2"}), starts=[[0.3]])
    assert len(result) == 1 and result.is_slow.all()
    np.testing.assert_allclose(result.x, [[0.0]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.q, [5e-5], rtol=1e-6)


def test_a_flat_slow_point_is_reported_once():
    # dx/dt = 1 + x^4: q is flat to fourth order at its minimum x = 0, where starts stop up
    # to ~1e-3 apart; they are one slow point (q = 1/2)
    result = find_fixed_points(System.from_sympy([1 + x**4], [x], bounds=[(-2, 2)]), n_starts=200, max_slow_q=np.inf)
    assert len(result) == 1 and result.is_slow.all()
    np.testing.assert_allclose(result.x, [[0.0]], atol=3e-3)
    np.testing.assert_allclose(result.q, [0.5], rtol=1e-10)


def test_more_rounds_of_starts_while_new_fixed_points_appear():
    # g = (T4(x0), T4(x1), T4(x2)), T4 = T2 o T2 the Chebyshev polynomial: T4(cos t) = cos 4t, so its
    # fixed points in [-1, 1] are cos t with 4t = +-t (mod 2 pi): 1, -1/2, cos(2 pi/5), cos(4 pi/5);
    # the product map has their 4^3 = 64 combinations, all repelling (|T4'| up to 16)
    x0, x1, x2 = sp.symbols("x0:3", real=True)
    T4 = lambda u: 8 * u**4 - 8 * u**2 + 1  # noqa: E731
    system = System.from_sympy([T4(x0), T4(x1), T4(x2)], [x0, x1, x2], kind="map", bounds=[(-1, 1)] * 3)
    c = [1.0, -0.5, np.cos(2 * np.pi / 5), np.cos(4 * np.pi / 5)]
    expected = np.array(np.meshgrid(c, c, c, indexing="ij")).reshape(3, -1).T
    result = find_fixed_points(system, n_starts=512)
    assert_same_points(result.fixed().x, expected)
    assert result.stats["n_rounds"] >= 2 and result.stats["n_starts"] == 512 * result.stats["n_rounds"]


# ------------------------------------------ contradictory and hostile sets
@pytest.fixture(scope="module")
def duffing_points():
    return find_fixed_points(duffing(), seed=0)


def _fields(points, **changes):
    fields_ = dict(x=points.x, q=points.q, speed=points.speed, is_fixed=points.is_fixed, is_slow=points.is_slow,
                   linearizations=points.linearizations, kind=points.kind, state_names=points.state_names)
    return {**fields_, **changes}


@pytest.mark.parametrize("change, needle", [
    (lambda p: dict(is_slow=np.ones(len(p), bool)), "both fixed and slow"),
    (lambda p: dict(is_fixed=np.zeros(len(p), bool)), "neither fixed nor slow"),
    (lambda p: dict(kind="neither"), "kind must be 'flow' or 'map'"),
    (lambda p: dict(linearizations=(dataclasses.replace(p.linearizations[0], index=99),) + p.linearizations[1:]),
     r"linearizations\[0\]\.index"),
    (lambda p: dict(q=-np.ones(len(p))), "q must be >= 0"),
    (lambda p: dict(q=np.full(len(p), np.inf)), "q has"),
    (lambda p: dict(speed=np.full(len(p), np.nan)), "speed has"),
    (lambda p: dict(x=p.x * np.nan), "x has"),
    (lambda p: dict(x=p.x * 1j), "x must be real"),
    (lambda p: dict(is_fixed=np.full(len(p), 2)), "is_fixed must be booleans"),
])
def test_contradictory_sets_are_refused_naming_the_field(tmp_path, duffing_points, change, needle):
    fields_ = _fields(duffing_points, **change(duffing_points))
    with pytest.raises(ValueError, match=needle):
        FixedPointSet(**fields_)
    # the same set in a file (written around the constructor's checks) is refused when loaded
    bad = object.__new__(FixedPointSet)
    for name, value in {**fields_, "system_name": "s", "params": {}, "stats": {}, "ids": duffing_points.ids}.items():
        object.__setattr__(bad, name, value)
    if np.iscomplexobj(fields_["x"]):
        return  # a complex x cannot be written by save (its npz is real), only given
    path = tmp_path / "bad.npz"
    FixedPointSet.save(bad, path)
    with pytest.raises(ValueError, match=needle) as info:
        FixedPointSet.load(path)
    assert str(path) in str(info.value)


def test_to_json_is_standard_json_and_round_trips_non_finite_values(duffing_points):
    points = dataclasses.replace(duffing_points, stats={**duffing_points.stats, "max_slow_q": np.inf, "worst": np.nan})
    text = points.to_json()
    data = json.loads(text)
    json.dumps(data, allow_nan=False)  # no NaN or Infinity tokens
    assert "NaN" not in text and "Infinity" not in text
    back = FixedPointSet.from_json(text)
    assert back.stats["max_slow_q"] == np.inf and np.isnan(back.stats["worst"])
    margins = [lin.margin for lin in back.linearizations]
    assert margins == [lin.margin for lin in points.linearizations]


@pytest.mark.parametrize("text", ["[1]", "1", "null", "[" * 100_000 + "]" * 100_000, '{"arrays": []}',
                                  '{"arrays": {"x": {"dtype": "<U100000000", "shape": [1], "data": ["a"]}}}',
                                  '{"arrays": {"x": {"dtype": "O", "shape": [1], "data": [1]}}}',
                                  '{"arrays": {"x": {"dtype": "<f8", "shape": [10000000000], "data": [1]}}}'])
def test_from_json_refuses_what_it_did_not_write(text):
    with pytest.raises(ValueError, match="not the JSON of a dynsys.FixedPointSet|not a dynsys.FixedPointSet"):
        FixedPointSet.from_json(text)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04", b"\x93NUMPY"])
def test_load_refuses_empty_and_truncated_files(tmp_path, content):
    path = tmp_path / "points.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a dynsys.FixedPointSet") as info:
        FixedPointSet.load(path)
    assert str(path) in str(info.value)


def test_a_point_where_f_is_undefined_is_not_reported():
    # (x^2 - 2x + 1)/(x - 1) = x - 1 for x != 1 and undefined at x = 1: no fixed point at all;
    # the search approaches x = 1 (F -> 0 there), and reports it as undefined, not as a fixed point
    system = System.from_strings({"x": "(x**2 - 2*x + 1)/(x - 1)"}, bounds=[(-3, 3)])
    points = find_fixed_points(system, seed=0)
    assert len(points) == 0 and points.stats["n_undefined"] >= 1
    # the same system with the factor cancelled has its fixed point at 1, eigenvalue 1 (unstable)
    cancelled = find_fixed_points(System.from_strings({"x": "x - 1"}, bounds=[(-3, 3)]), seed=0)
    np.testing.assert_allclose(cancelled.x, [[1.0]], atol=1e-12)
    np.testing.assert_allclose(cancelled.eigenvalues, [[1.0]])


def test_the_exact_method_counts_the_zeros_where_f_is_undefined():
    # (x^2 - 2x + 1)/(x - 1): the numerator x - 1 (in lowest terms) has the one zero x = 1, where the
    # denominator as written vanishes: no fixed point, one rejected zero
    points = find_fixed_points(System.from_strings({"x": "(x**2 - 2*x + 1)/(x - 1)"}), method="exact")
    assert len(points) == 0 and points.stats["n_undefined"] == 1
    # x' = (x^2 - 1)/(x - 1) - 3 = x - 2 away from x = 1: the zero x = 2 is defined, none rejected
    points = find_fixed_points(System.from_strings({"x": "(x**2 - 1)/(x - 1) - 3"}), method="exact")
    np.testing.assert_array_equal(points.x, [[2.0]])
    assert points.stats["n_undefined"] == 0


def test_fixed_points_where_a_denominator_cancels_but_does_not_vanish():
    # 1/(x^2 - 2 a x + a^2) - 1 = 1/(x - a)^2 - 1, a = 1e4: zeros at a +- 1, where d = 1 (its terms
    # ~1e8 cancel in floating point); F' = -2/(x - a)^3 is -2 at a + 1 (stable), +2 at a - 1
    a = 1e4
    system = System.from_strings({"x": "1/(x**2 - 2*a*x + a**2) - 1"}, {"a": a}, bounds=[(a - 3, a + 3)])
    points = find_fixed_points(system)
    assert points.stats["n_undefined"] == 0
    np.testing.assert_allclose(points.x, [[a + 1], [a - 1]], rtol=0, atol=1e-6)  # d is rounded at ~1e-8
    np.testing.assert_allclose(points.eigenvalues, [[-2.0], [2.0]], rtol=1e-6)


def test_complex_starts_are_refused():
    with pytest.raises(ValueError, match="starts must be real"):
        find_fixed_points(duffing(), starts=[[1 + 1j, 0.0]])
