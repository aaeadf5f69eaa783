"""The System type: batching, Jacobians, parameters, iterates, bad input."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dynsys import System

x, y, z = sp.symbols("x y z", real=True)
sigma, rho, beta = sp.symbols("sigma rho beta", real=True)


def lorenz_numpy(X, s=10.0, r=28.0, b=8 / 3):
    """Lorenz's vector field written independently in numpy."""
    return np.stack([s * (X[:, 1] - X[:, 0]), X[:, 0] * (r - X[:, 2]) - X[:, 1], X[:, 0] * X[:, 1] - b * X[:, 2]], 1)


def lorenz_jacobian_numpy(X, s=10.0, r=28.0, b=8 / 3):
    B = len(X)
    J = np.zeros((B, 3, 3))
    J[:, 0, 0], J[:, 0, 1] = -s, s
    J[:, 1, 0], J[:, 1, 1], J[:, 1, 2] = r - X[:, 2], -1, -X[:, 0]
    J[:, 2, 0], J[:, 2, 1], J[:, 2, 2] = X[:, 1], X[:, 0], -b
    return J


@pytest.fixture
def lorenz():
    return System.from_sympy(
        [sigma * (y - x), x * (rho - z) - y, x * y - beta * z], [x, y, z], {sigma: 10, rho: 28, beta: 8 / 3}
    )


@pytest.fixture
def points():
    return np.random.default_rng(1).uniform(-20, 20, size=(50, 3))


def test_from_sympy_matches_independent_formulas(lorenz, points):
    np.testing.assert_allclose(lorenz.rhs(points), lorenz_numpy(points), rtol=1e-13)
    np.testing.assert_allclose(lorenz.jacobian(points), lorenz_jacobian_numpy(points), rtol=1e-13)
    np.testing.assert_allclose(lorenz.residual(points), lorenz_numpy(points), rtol=1e-13)
    V = np.random.default_rng(2).standard_normal(points.shape)
    np.testing.assert_allclose(
        lorenz.jvp(points, V), np.einsum("bij,bj->bi", lorenz_jacobian_numpy(points), V), rtol=1e-12, atol=1e-12
    )
    # a single state gives unbatched results
    assert lorenz.rhs(points[0]).shape == (3,)
    assert lorenz.jacobian(points[0]).shape == (3, 3)


def test_constant_entries_broadcast_over_the_batch():
    s = System.from_sympy([sp.Integer(1), x], [x, y])
    X = np.ones((4, 2))
    np.testing.assert_array_equal(s.rhs(X), [[1, 1]] * 4)
    np.testing.assert_array_equal(s.jacobian(X), [[[0, 0], [1, 0]]] * 4)


@pytest.mark.parametrize("vectorized", [True, False, None])
def test_from_callable_finite_differences(points, vectorized):
    if vectorized is False:
        f = lambda v, sigma, rho, beta: lorenz_numpy(v[None], sigma, rho, beta)[0]  # noqa: E731
    else:
        f = lambda X, sigma, rho, beta: lorenz_numpy(np.atleast_2d(X), sigma, rho, beta)  # noqa: E731
    s = System.from_callable(f, 3, params={"sigma": 10, "rho": 28, "beta": 8 / 3}, vectorized=vectorized)
    np.testing.assert_allclose(s.rhs(points), lorenz_numpy(points), rtol=1e-13)
    np.testing.assert_allclose(s.jacobian(points), lorenz_jacobian_numpy(points), atol=1e-6)
    V = np.random.default_rng(3).standard_normal(points.shape)
    np.testing.assert_allclose(s.jvp(points, V), np.einsum("bij,bj->bi", lorenz_jacobian_numpy(points), V), atol=1e-5)
    s2 = s.with_params(rho=10)
    np.testing.assert_allclose(s2.rhs(points), lorenz_numpy(points, r=10), rtol=1e-13)


def test_from_callable_with_analytic_jacobian(points):
    s = System.from_callable(lorenz_numpy, 3, jacobian=lorenz_jacobian_numpy, vectorized=True)
    np.testing.assert_array_equal(s.jacobian(points), lorenz_jacobian_numpy(points))


def test_with_params_does_not_touch_the_original(lorenz, points):
    low = lorenz.with_params(rho=0.5)
    np.testing.assert_allclose(low.rhs(points), lorenz_numpy(points, r=0.5), rtol=1e-13)
    np.testing.assert_allclose(lorenz.rhs(points), lorenz_numpy(points), rtol=1e-13)
    assert lorenz.params["rho"] == 28 and low.params["rho"] == 0.5


@given(k=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_iterate_is_composition_with_chain_rule_jacobian(k, seed):
    a, b = 1.4, 0.3
    henon = System.from_sympy([1 - a * x**2 + y, b * x], [x, y], kind="map")

    def henon_k(v):  # plain Python floats, independent of the library
        for _ in range(k):
            v = (1 - a * v[0] ** 2 + v[1], b * v[0])
        return v

    X = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(5, 2))
    hk = henon.iterate(k)
    np.testing.assert_allclose(hk.rhs(X), [henon_k(v) for v in X], rtol=1e-12, atol=1e-12)
    # chain rule against central differences of the independent composition
    h = 1e-6
    fd = np.stack(
        [np.stack([(np.array(henon_k(v + h * e)) - np.array(henon_k(v - h * e))) / (2 * h) for e in np.eye(2)], 1) for v in X]
    )
    np.testing.assert_allclose(hk.jacobian(X), fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hk.residual(X), np.array([henon_k(v) for v in X]) - X, atol=1e-12)
    V = np.ones_like(X)
    np.testing.assert_allclose(hk.jvp(X, V), np.einsum("bij,bj->bi", hk.jacobian(X), V), rtol=1e-12, atol=1e-12)
    # the composed formulas (for exact solving) agree with the iteration
    f = sp.lambdify([x, y], hk.exprs)
    np.testing.assert_allclose([f(*v) for v in X], [henon_k(v) for v in X], rtol=1e-12, atol=1e-12)


def test_map_residual_and_its_jacobian():
    logistic = System.from_sympy([3.5 * x * (1 - x)], [x], kind="map")
    X = np.array([[0.2], [0.7]])
    np.testing.assert_allclose(logistic.residual(X), 3.5 * X * (1 - X) - X)
    np.testing.assert_allclose(logistic.residual_jacobian(X)[:, 0, 0], 3.5 * (1 - 2 * X[:, 0]) - 1)


def test_reverse_time_negates_the_field(lorenz, points):
    back = lorenz.reverse_time()
    np.testing.assert_allclose(back.rhs(points), -lorenz_numpy(points), rtol=1e-13)
    np.testing.assert_allclose(back.jacobian(points), -lorenz_jacobian_numpy(points), rtol=1e-13)
    with pytest.raises(ValueError, match="flow"):
        System.from_sympy([x], [x], kind="map").reverse_time()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: System.from_sympy([x], [x], {sigma: float("nan")}), "sigma"),
        (lambda: System.from_sympy([x], [x], {sigma: float("inf")}), "sigma"),
        (lambda: System.from_sympy([x + sigma], [x]), "sigma"),
        (lambda: System.from_sympy([x, y], [x]), "2 expressions"),
        (lambda: System.from_sympy([x], [x], kind="ode"), "kind"),
        (lambda: System.from_sympy([x], [x], bounds=[[1, 0]]), "bounds"),
        (lambda: System.from_sympy([x], [x], bounds=[[0, 1], [0, 1]]), "bounds"),
        (lambda: System.from_callable(lambda v: v, 0), "dim"),
        (lambda: System.from_callable("not callable", 2), "callable"),
    ],
)
def test_bad_construction(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_evaluation(lorenz):
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(B, n\) with n = 3"):
        lorenz.rhs(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="V must have the shape"):
        lorenz.jvp(np.zeros((4, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="unknown parameter"):
        lorenz.with_params(kappa=1)
    with pytest.raises(ValueError, match="rho"):
        lorenz.with_params(rho=float("nan"))
    with pytest.raises(ValueError, match="needs a map"):
        lorenz.iterate(2)
    bad = System.from_callable(lambda X: X[:, :1], 2, vectorized=True)
    with pytest.raises(ValueError, match="returned shape"):
        bad.rhs(np.zeros((3, 2)))


def test_from_sympy_refuses_text_which_sympify_would_eval(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(TypeError, match="from_strings"):
        System.from_sympy([f"__import__('os').system('touch {marker}')"], [x])
    assert not marker.exists()


def test_iterate_builds_its_formulas_only_when_asked():
    logistic = System.from_sympy([sp.Rational(7, 2) * x * (1 - x)], [x], kind="map")
    deep = logistic.iterate(40)  # 2**40 terms if composed eagerly
    np.testing.assert_allclose(deep.rhs(np.array([[0.5]])), [[_logistic_power(0.5, 3.5, 40)]], rtol=1e-12)
    two = logistic.iterate(2).exprs[0]
    assert sp.expand(two - sp.Rational(7, 2) * (7 * x * (1 - x) / 2) * (1 - 7 * x * (1 - x) / 2)) == 0


def _logistic_power(v, r, k):
    for _ in range(k):
        v = r * v * (1 - v)
    return v


def test_from_callable_with_analytic_jvp(points):
    def jvp(X, V, rho):
        return np.einsum("bij,bj->bi", lorenz_jacobian_numpy(X, r=rho), V)

    s = System.from_callable(lambda X, rho: lorenz_numpy(X, r=rho), 3, jvp=jvp, params={"rho": 28}, vectorized=True)
    V = np.random.default_rng(4).standard_normal(points.shape)
    expected = np.einsum("bij,bj->bi", lorenz_jacobian_numpy(points, r=5.0), V)
    np.testing.assert_allclose(s.with_params(rho=5).jvp(points, V), expected, rtol=1e-14)  # exact, not differenced
    bad = System.from_callable(lorenz_numpy, 3, jvp=lambda X, V: V[:, :2], vectorized=True)
    with pytest.raises(ValueError, match="jvp returned shape"):
        bad.jvp(points, V)
