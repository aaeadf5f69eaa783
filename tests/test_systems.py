"""The System type: batching, Jacobians, parameters, iterates, bad input."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
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



# ------------------------------------------------- vector-Jacobian products
def lorenz_jvp_numpy(X, V, rho=28.0, s=10.0, b=8 / 3):
    """Df(x) v for Lorenz, the rows of the Jacobian written out."""
    x_, y_, z_ = X.T
    v0, v1, v2 = V.T
    return np.stack([s * (v1 - v0), (rho - z_) * v0 - v1 - x_ * v2, y_ * v0 + x_ * v1 - b * v2], 1)


def lorenz_vjp_numpy(X, V, rho=28.0, s=10.0, b=8 / 3):
    """Df(x)ᵀ v for Lorenz, the columns of the Jacobian written out."""
    x_, y_, z_ = X.T
    v0, v1, v2 = V.T
    return np.stack([-s * v0 + (rho - z_) * v1 + y_ * v2, s * v0 - v1 + x_ * v2, -x_ * v1 - b * v2], 1)


def transposed_product(J, V):
    return np.einsum("bji,bj->bi", J, V)


def lorenz_with(**products):
    f = lambda X, rho: lorenz_numpy(X, r=rho)  # noqa: E731
    return System.from_callable(f, 3, params={"rho": 28}, vectorized=True, **products)


LORENZ_SYSTEMS = {  # name -> (system, whether matrix-free, absolute tolerance of its products)
    "jvp+vjp": (lambda: lorenz_with(jvp=lorenz_jvp_numpy, vjp=lorenz_vjp_numpy), True, 0),
    "vjp only": (lambda: lorenz_with(vjp=lorenz_vjp_numpy), False, 1e-5),  # jvp by central differences
    "jvp only": (lambda: lorenz_with(jvp=lorenz_jvp_numpy), False, 1e-5),  # vjp by the FD Jacobian
    "jacobian": (lambda: lorenz_with(jacobian=lambda X, rho: lorenz_jacobian_numpy(X, r=rho)), False, 0),
    "sympy": (
        lambda: System.from_sympy(
            [sigma * (y - x), x * (rho - z) - y, x * y - beta * z], [x, y, z], {rho: 28, sigma: 10, beta: 8 / 3}
        ),
        False,
        0,
    ),
}


@pytest.mark.parametrize("which", list(LORENZ_SYSTEMS))
def test_vjp_is_the_transposed_jacobian_product(points, which):
    make, matrix_free, atol = LORENZ_SYSTEMS[which]
    s = make().with_params(rho=5.0)
    assert s.matrix_free is matrix_free
    rng = np.random.default_rng(5)
    U, V = rng.standard_normal(points.shape), rng.standard_normal(points.shape)
    J = lorenz_jacobian_numpy(points, r=5.0)
    np.testing.assert_allclose(s.vjp(points, U), transposed_product(J, U), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(s.jvp(points, V), np.einsum("bij,bj->bi", J, V), rtol=1e-12, atol=atol)
    # the adjoint identity <u, Df v> = <Dfᵀ u, v>, row by row
    scale = np.linalg.norm(U, axis=1) * np.linalg.norm(V, axis=1) * np.linalg.norm(J, axis=(1, 2))
    gap = np.sum(U * s.jvp(points, V), 1) - np.sum(s.vjp(points, U) * V, 1)
    assert np.all(np.abs(gap) <= (1e-13 if atol == 0 else 1e-6) * scale)
    assert s.vjp(points[0], U[0]).shape == (3,)
    np.testing.assert_allclose(s.vjp(points[0], U[0]), transposed_product(J[:1], U[:1])[0], rtol=1e-12, atol=atol)
    # a flow's residual is f itself
    np.testing.assert_array_equal(s.residual_vjp(points, U), s.vjp(points, U))
    np.testing.assert_array_equal(s.residual_jvp(points, V), s.jvp(points, V))
    # reversed time: -Dfᵀ u, analytic where the forward products are
    back = s.reverse_time()
    assert back.matrix_free is matrix_free
    np.testing.assert_allclose(back.vjp(points, U), -transposed_product(J, U), rtol=1e-12, atol=atol)


def henon_numpy(X, a=1.4, b=0.3):
    return np.stack([1 - a * X[:, 0] ** 2 + X[:, 1], b * X[:, 0]], 1)


def henon_jacobian_numpy(X, a=1.4, b=0.3):
    J = np.zeros((len(X), 2, 2))
    J[:, 0, 0], J[:, 0, 1], J[:, 1, 0] = -2 * a * X[:, 0], 1.0, b
    return J


def henon_jvp_numpy(X, V, a=1.4, b=0.3):
    return np.stack([-2 * a * X[:, 0] * V[:, 0] + V[:, 1], b * V[:, 0]], 1)


def henon_vjp_numpy(X, V, a=1.4, b=0.3):
    return np.stack([-2 * a * X[:, 0] * V[:, 0] + b * V[:, 1], V[:, 0]], 1)


def henon_with(**products):
    return System.from_callable(henon_numpy, 2, kind="map", vectorized=True, **products)


HENON_MAPS = {  # name -> (map, whether matrix-free)
    "jvp+vjp": (lambda: henon_with(jvp=henon_jvp_numpy, vjp=henon_vjp_numpy), True),
    "vjp only": (lambda: henon_with(jacobian=henon_jacobian_numpy, vjp=henon_vjp_numpy), False),
    "sympy": (
        lambda: System.from_sympy([1 - sp.Rational(7, 5) * x**2 + y, sp.Rational(3, 10) * x], [x, y], kind="map"),
        False,
    ),
}


@given(k=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), which=st.sampled_from(sorted(HENON_MAPS)))
def test_iterate_vjp_is_the_transposed_chain_rule_product(k, seed, which):
    make, matrix_free = HENON_MAPS[which]
    hk = make().iterate(k)
    assert hk.matrix_free is matrix_free
    rng = np.random.default_rng(seed)
    X = rng.uniform(-0.5, 0.5, size=(6, 2))
    U, V = rng.standard_normal(X.shape), rng.standard_normal(X.shape)
    J, orbit = np.broadcast_to(np.eye(2), (6, 2, 2)), X
    for _ in range(k):  # D(g^k)(x) = Dg(x_{k-1}) ... Dg(x_0), from the formulas of this file
        J = henon_jacobian_numpy(orbit) @ J
        orbit = henon_numpy(orbit)
    np.testing.assert_allclose(hk.vjp(X, U), transposed_product(J, U), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hk.jvp(X, V), np.einsum("bij,bj->bi", J, V), rtol=1e-12, atol=1e-12)
    # the residual g^k(x) - x of a map: products with D(g^k) - I
    np.testing.assert_allclose(hk.residual_vjp(X, U), transposed_product(J, U) - U, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hk.residual_jvp(X, V), np.einsum("bij,bj->bi", J, V) - V, rtol=1e-12, atol=1e-12)
    gap = np.sum(U * hk.jvp(X, V), 1) - np.sum(hk.vjp(X, U) * V, 1)
    assert np.all(np.abs(gap) <= 1e-12 * (1 + np.abs(J).max()) ** 2)


def test_residual_vjp_of_the_residual_is_the_gradient_of_q():
    henon = HENON_MAPS["jvp+vjp"][0]()
    X = np.random.default_rng(6).uniform(-1, 1, size=(7, 2))
    F = henon_numpy(X) - X
    DF = henon_jacobian_numpy(X) - np.eye(2)  # q = ½|F|², grad q = DFᵀ F
    gradient = henon.residual_vjp(X, henon.residual(X))
    np.testing.assert_allclose(gradient, transposed_product(DF, F), rtol=1e-13, atol=1e-14)
    assert henon.residual_jvp(X[0], F[0]).shape == (2,)


def test_matrix_free_survives_with_params_and_is_read_only():
    s = lorenz_with(jvp=lorenz_jvp_numpy, vjp=lorenz_vjp_numpy)
    assert s.with_params(rho=2.0).matrix_free and s.reverse_time().matrix_free
    with pytest.raises(AttributeError):
        s.matrix_free = False


@pytest.mark.parametrize("method", ["jvp", "vjp", "residual_jvp", "residual_vjp"])
def test_products_reject_bad_shapes(lorenz, method):
    product = getattr(lorenz, method)
    with pytest.raises(ValueError, match=r"V must have the shape of X \(4, 3\)"):
        product(np.zeros((4, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"V must have shape \(n,\) or \(B, n\) with n = 3"):
        product(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"X must have shape"):
        product(np.zeros((4, 2)), np.zeros((4, 2)))


def test_from_callable_checks_the_vjp(points):
    bad = System.from_callable(lorenz_numpy, 3, vjp=lambda X, V: V[:, :2], vectorized=True)
    with pytest.raises(ValueError, match="vjp returned shape"):
        bad.vjp(points, points)
    with pytest.raises(TypeError, match="vjp must be callable"):
        System.from_callable(lorenz_numpy, 3, vjp="Df.T @ v", vectorized=True)


# ------------------------------------------------- residual operators (DF at fixed states)
def lorenz_operator(X, rho, s=10.0, b=8 / 3):
    """The entries of the Lorenz Jacobian that vary with x (rho - z, x, y) and the products with them."""

    def jvp(F, V):
        c, x_, y_ = F
        v0, v1, v2 = V.T
        return np.stack([s * (v1 - v0), c * v0 - v1 - x_ * v2, y_ * v0 + x_ * v1 - b * v2], 1)

    def vjp(F, V):
        c, x_, y_ = F
        v0, v1, v2 = V.T
        return np.stack([-s * v0 + c * v1 + y_ * v2, s * v0 - v1 + x_ * v2, -x_ * v1 - b * v2], 1)

    return (rho - X[:, 2], X[:, 0], X[:, 1]), jvp, vjp


def henon_operator(X):
    """∂g_0/∂x = -2 a x, the one varying entry of the Hénon Jacobian (a = 1.4, b = 0.3)."""

    def jvp(F, V):
        return np.stack([F[0] * V[:, 0] + V[:, 1], 0.3 * V[:, 0]], 1)

    def vjp(F, V):
        return np.stack([F[0] * V[:, 0] + 0.3 * V[:, 1], V[:, 0]], 1)

    return (-2 * 1.4 * X[:, 0],), jvp, vjp


OPERATOR_FLOWS = {  # name -> (system, whether it caches factors, absolute tolerance of its products)
    **{name: (make, False, atol) for name, (make, _, atol) in LORENZ_SYSTEMS.items()},
    "operator": (lambda: lorenz_with(jvp=lorenz_jvp_numpy, vjp=lorenz_vjp_numpy, operator=lorenz_operator), True, 0),
}
OPERATOR_MAPS = {  # name -> (map, whether it caches factors)
    **{name: (make, False) for name, (make, _) in HENON_MAPS.items()},
    "operator": (lambda: henon_with(jvp=henon_jvp_numpy, vjp=henon_vjp_numpy, operator=henon_operator), True),
}


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("which", list(OPERATOR_FLOWS))
def test_residual_operator_of_a_flow_is_the_dense_jacobian(points, which, reverse):
    make, cached, atol = OPERATOR_FLOWS[which]
    s = make().with_params(rho=5.0)  # the operator sees the new parameters
    s, sign = (s.reverse_time(), -1.0) if reverse else (s, 1.0)
    J = sign * lorenz_jacobian_numpy(points, r=5.0)  # DF = Df for a flow, -Df reversed
    op = s.residual_operator(points)
    assert op.cached is cached and op.states.shape == points.shape
    rng = np.random.default_rng(8)
    U, V = rng.standard_normal(points.shape), rng.standard_normal(points.shape)
    np.testing.assert_allclose(op.jvp(V), np.einsum("bij,bj->bi", J, V), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(op.vjp(U), transposed_product(J, U), rtol=1e-12, atol=atol)
    rows = np.array([7, 0, 7, 49])  # out of order, with a repeat
    np.testing.assert_allclose(op.jvp(V[:4], rows), np.einsum("bij,bj->bi", J[rows], V[:4]), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(op.vjp(U[:4], rows), transposed_product(J[rows], U[:4]), rtol=1e-12, atol=atol)
    assert op.jvp(np.empty((0, 3)), np.array([], dtype=int)).shape == (0, 3)


@given(k=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), which=st.sampled_from(sorted(OPERATOR_MAPS)))
def test_residual_operator_of_a_map_is_dg_minus_identity(k, seed, which):
    make, cached = OPERATOR_MAPS[which]
    henon = make()
    rng = np.random.default_rng(seed)
    X = rng.uniform(-0.5, 0.5, size=(6, 2))
    U, V = rng.standard_normal(X.shape), rng.standard_normal(X.shape)
    rows = rng.integers(0, 6, size=4)
    DF = henon_jacobian_numpy(X) - np.eye(2)
    op = henon.residual_operator(X)
    assert op.cached is cached
    np.testing.assert_allclose(op.jvp(V), np.einsum("bij,bj->bi", DF, V), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.vjp(U[:4], rows), transposed_product(DF[rows], U[:4]), rtol=1e-12, atol=1e-12)
    # g^k: D(g^k) - I, through the products of the iterate (no cached factors)
    J, orbit = np.broadcast_to(np.eye(2), (6, 2, 2)), X
    for _ in range(k):
        J = henon_jacobian_numpy(orbit) @ J
        orbit = henon_numpy(orbit)
    DF = J - np.eye(2)
    op = henon.iterate(k).residual_operator(X)
    assert not op.cached
    np.testing.assert_allclose(op.jvp(V[:4], rows), np.einsum("bij,bj->bi", DF[rows], V[:4]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.vjp(U), transposed_product(DF, U), rtol=1e-12, atol=1e-12)


def test_residual_operator_computes_the_factors_once(points):
    calls = []

    def counted(X, rho):
        calls.append(len(X))
        return lorenz_operator(X, rho)

    s = lorenz_with(jvp=lorenz_jvp_numpy, vjp=lorenz_vjp_numpy, operator=counted)
    op = s.residual_operator(points)
    V = np.ones_like(points)
    for rows in (None, np.arange(5), np.array([3])):
        for _ in range(3):
            op.jvp(V if rows is None else V[rows], rows)
            op.vjp(V if rows is None else V[rows], rows)
    assert calls == [len(points)]
    before = points.copy()
    points += 1.0  # the operator keeps its own copy of the states
    np.testing.assert_array_equal(op.states, before)


def test_residual_operator_rejects_bad_input(lorenz, points):
    op = lorenz.residual_operator(points)
    with pytest.raises(ValueError, match=r"V must have shape \(50, 3\), one row per state, got \(49, 3\)"):
        op.jvp(np.zeros((49, 3)))
    with pytest.raises(ValueError, match=r"V must have shape \(2, 3\), one row per entry of rows, got \(50, 3\)"):
        op.vjp(np.zeros((50, 3)), [1, 2])
    with pytest.raises(ValueError, match=r"V must have shape \(50, 3\)"):
        op.jvp(np.zeros(3))
    with pytest.raises(ValueError, match=r"rows must be a 1-D array of integer indices"):
        op.jvp(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"rows must be a 1-D array of integer indices"):
        op.jvp(np.zeros((2, 3)), np.array([[0], [1]]))
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 50\)"):
        op.vjp(np.zeros((2, 3)), [0, 50])
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 50\)"):
        op.vjp(np.zeros((1, 3)), [-1])
    with pytest.raises(ValueError, match=r"X must have shape \(B, n\) with n = 3"):
        lorenz.residual_operator(points[0])
    with pytest.raises(ValueError, match=r"X must have shape \(B, n\) with n = 3"):
        lorenz.residual_operator(points[:, :2])


def test_from_callable_checks_the_operator(points):
    with pytest.raises(TypeError, match="operator must be callable"):
        lorenz_with(operator="Df at X")
    shifted = lorenz_with(operator=lambda X, rho: ((X[1:],), lorenz_jvp_numpy, lorenz_vjp_numpy))
    with pytest.raises(ValueError, match=r"factors must each have first axis 50, got shapes \[\(49, 3\)\]"):
        shifted.residual_operator(points)
    with pytest.raises(ValueError, match=r"operator must return a tuple \(factors, jvp, vjp\)"):
        lorenz_with(operator=lambda X, rho: (X,)).residual_operator(points)
    narrow = lorenz_with(operator=lambda X, rho: ((X,), lambda F, V: V[:, :2], lorenz_vjp_numpy))
    with pytest.raises(ValueError, match="operator's jvp returned shape"):
        narrow.residual_operator(points).jvp(points)


# ------------------------------------------------------- where F is undefined (issue 11)
def test_singular_at_a_removable_singularity():
    # (x^2 - 2x + 1) / (x - 1): d = x - 1, |grad d| = 1; singular where |x - 1| <= radius
    s = System.from_strings({"x": "(x**2 - 2*x + 1)/(x - 1)"}, bounds=[(-3, 3)])
    X = np.array([[1.0], [1.0 + 4.9e-10], [1.0 + 2e-8], [1.0 + 1e-7], [0.0], [-3.0]])
    np.testing.assert_array_equal(s.singular(X, 3e-6), [True, True, True, True, False, False])
    np.testing.assert_array_equal(s.singular(X, 1e-8), [True, True, False, False, False, False])
    np.testing.assert_array_equal(s.singular(X), [True, False, False, False, False, False])  # radius 0: d = 0
    # one radius per state: x = 0 is 1 from the zero
    radii = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(s.singular(X, radii), [True, False, False, False, True, False])
    assert s.singular([1.0]) is True and s.singular(X[:0]).shape == (0,)
    for bad in (-1.0, np.nan, [1.0, 2.0], [[1.0]]):
        with pytest.raises(ValueError, match="radius must be"):
            s.singular(X, bad)


def test_singular_is_a_distance_not_a_size_of_the_denominator():
    # 1/(x^2 - 2 a x + a^2) - 1, a = 1e4: d = (x - a)^2 has its zero at a, |grad d| = 2 |x - a|; at
    # x = a +- 1, d = 1 (its terms ~1e8 cancel) and the first-order distance d/|grad d| = 1/2
    a = 1e4
    s = System.from_strings({"x": "1/(x**2 - 2*a*x + a**2) - 1"}, {"a": a})
    X = np.array([[a - 1], [a + 1], [a + 1e-3], [a]])
    assert s.singular(X, 1e-2).tolist() == [False, False, True, True]
    assert s.singular(X, 0.6).tolist() == [True, True, True, True]


def test_singular_follows_denominators_through_maps_and_iterates():
    # g(x, y) = (1 / x, y / 2): undefined on x = 0, and so is g^2, although sympy writes 1 / (1 / x) as x
    g = System.from_strings({"x": "1/x", "y": "y/2"}, kind="map")
    X = np.array([[0.0, 1.0], [2.0, 0.0], [1e-320, 0.0]])
    assert g.singular(X).tolist() == [True, False, True]  # 1 / 1e-320 overflows: F not finite
    assert g.iterate(2).exprs[0] == g.symbols[0]
    assert g.iterate(2).singular(X).tolist() == [True, False, True]
    # h(x) = 1 / (x - 1): h^2 is undefined at x = 1 and where h(x) = 1, at x = 2; within 1e-6 of
    # them too (x = 2 + 1e-7: h(x) - 1 = -1e-7 / (1 + 1e-7), |h'| ~ 1), not at 2.1 (h(x) - 1 ~ -0.09)
    h = System.from_strings({"x": "1/(x - 1)"}, kind="map")
    assert h.iterate(2).singular([[1.0], [2.0], [0.0]]).tolist() == [True, True, False]
    assert h.iterate(2).singular([[1.0 + 1e-7], [2.0 + 1e-7], [2.1]], 1e-6).tolist() == [True, True, False]
    assert not System.from_strings({"x": "x - 1"}).singular([[1.0]], 1.0).any()  # no denominator


def test_singular_for_callables_is_where_f_is_not_finite():
    s = System.from_callable(lambda X: np.log(X), 1, vectorized=True)
    assert s.singular([[0.0], [1.0], [-1.0]]).tolist() == [True, False, True]


# ------------------------------------------------------------ input checks
@pytest.mark.parametrize("formulas, needle", [
    ({"exp": "1"}, "clashes with the built-in function"),
    ({"sin": "1"}, "clashes with the built-in function"),
    ({"ｅｘｐ": "1"}, "clashes with the built-in function"),
    ({"": "1"}, "not a valid identifier"),
    ({"1": "1"}, "not a valid identifier"),
    ({"a b": "1"}, "not a valid identifier"),
    ({"lambda": "1"}, "not a valid identifier"),
    ({"x": "x", "ｘ": "x"}, "NFKC"),
    ({}, "non-empty"),
])
def test_from_strings_checks_names_as_model_files_do(formulas, needle):
    with pytest.raises(ValueError, match=needle):
        System.from_strings(formulas)


def test_a_parameter_name_is_checked_too():
    with pytest.raises(ValueError, match="used both as state and parameter"):
        System.from_strings({"x": "-x"}, {"ｘ": 1.0})
    with pytest.raises(ValueError, match="'pi' clashes with the built-in constant"):
        System.from_strings({"x": "-x"}, {"pi": 1.0})


def test_with_params_refuses_a_value_beyond_a_double():
    s = System.from_strings({"x": "-rho*x"}, {"rho": 1.0})
    with pytest.raises(ValueError, match="'rho' must be finite"):
        s.with_params(rho=10**400)


def test_from_callable_refuses_complex_output():
    s = System.from_callable(lambda x: x * 1j, 2)
    with pytest.raises(ValueError, match="must be real, got complex"):
        s.rhs(np.ones((1, 2)))


# ------------------------------------------------------------ param_derivative
def test_param_derivative_closed_forms(lorenz, points):
    a = sp.Symbol("a", real=True)
    pitchfork = System.from_sympy([a * x - x**3], [x], {a: 0.5})
    X = np.linspace(-2, 2, 7)[:, None]
    assert np.array_equal(pitchfork.param_derivative(X, "a"), X)  # d(a x - x^3)/da = x
    assert pitchfork.param_derivative([1.5], "a").shape == (1,)
    X, Y, Z = points.T
    zero = np.zeros_like(X)
    np.testing.assert_allclose(lorenz.param_derivative(points, "sigma"), np.stack([Y - X, zero, zero], 1))
    np.testing.assert_allclose(lorenz.param_derivative(points, "rho"), np.stack([zero, X, zero], 1))
    np.testing.assert_allclose(lorenz.param_derivative(points, "beta"), np.stack([zero, zero, -Z], 1))


def test_param_derivative_of_maps_iterates_and_reversed_flows():
    logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 3.3}, kind="map")
    X = np.linspace(0.05, 0.95, 9)[:, None]
    r, u = 3.3, X[:, 0]
    g = r * u * (1 - u)
    # g^2 = r g (1 - g): d/dr = g (1 - g) + r (1 - 2 g) dg/dr, dg/dr = x (1 - x)
    expected = g * (1 - g) + r * (1 - 2 * g) * u * (1 - u)
    np.testing.assert_allclose(logistic.iterate(2).param_derivative(X, "r")[:, 0], expected, rtol=1e-13)
    np.testing.assert_allclose(logistic.param_derivative(X, "r")[:, 0], u * (1 - u), rtol=1e-14)  # not - x
    flow = System.from_strings({"x": "a*x - x**3", "y": "b*y**2"}, {"a": 1.0, "b": 2.0})
    P = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_allclose(flow.reverse_time().param_derivative(P, "b"), -flow.param_derivative(P, "b"))
    moved = flow.with_params(a=-3.0)
    np.testing.assert_allclose(moved.param_derivative(P, "b")[:, 1], P[:, 1] ** 2)


def test_param_derivative_of_callables_by_differences_or_given():
    def f(X, a, s):
        return np.stack([a * X[:, 0] - X[:, 0] ** 3 + s, np.sin(s * X[:, 1])], axis=1)

    def param_jacobian(X, a, s):  # (B, n, P) in the order of params: a, s
        return np.stack([np.stack([X[:, 0], np.ones(len(X))], 1),
                         np.stack([np.zeros(len(X)), X[:, 1] * np.cos(s * X[:, 1])], 1)], axis=1)

    params = {"a": 0.7, "s": 1.3}
    by_differences = System.from_callable(f, 2, params=params, vectorized=True)
    exact = System.from_callable(f, 2, params=params, vectorized=True, param_jacobian=param_jacobian)
    X = np.random.default_rng(2).normal(size=(6, 2))
    for name in params:
        np.testing.assert_allclose(by_differences.param_derivative(X, name), exact.param_derivative(X, name),
                                   rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(exact.param_derivative(X, "s")[:, 1], X[:, 1] * np.cos(1.3 * X[:, 1]))
    rnn_like = System.from_callable(lambda X, s: np.tanh(X + s), 2, kind="map", params={"s": 0.1},
                                    vectorized=True, param_jacobian=lambda X, s: (1 - np.tanh(X + s) ** 2)[:, :, None])
    np.testing.assert_allclose(rnn_like.iterate(3).param_derivative(X, "s"),
                               System.from_callable(lambda X, s: np.tanh(np.tanh(np.tanh(X + s) + s) + s), 2,
                                                    kind="map", params={"s": 0.1}, vectorized=True)
                               .param_derivative(X, "s"), rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="param_jacobian returned shape"):
        System.from_callable(f, 2, params=params, vectorized=True,
                             param_jacobian=lambda X, a, s: np.zeros((len(X), 2))).param_derivative(X, "a")
    with pytest.raises(ValueError, match=r"no parameter 'b'; its parameters are \['a', 's'\]"):
        exact.param_derivative(X, "b")


@st.composite
def parametrised_polynomials(draw):
    """f_i = sum of c x^e p^d over a few monomials in n <= 3 states and P <= 2 parameters."""
    n, P = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    xs, ps = sp.symbols(f"x0:{n}", real=True), sp.symbols(f"p0:{P}", real=True)
    exprs = []
    for _ in range(n):
        terms = draw(st.lists(st.tuples(st.integers(-3, 3), st.lists(st.integers(0, 2), min_size=n + P,
                                                                      max_size=n + P)), min_size=1, max_size=4))
        exprs.append(sum((c * sp.prod([v**e for v, e in zip((*xs, *ps), es)]) for c, es in terms), sp.Integer(0)))
    values = draw(st.lists(st.floats(-2, 2), min_size=P, max_size=P))
    return System.from_sympy(exprs, xs, dict(zip(ps, values)), kind=draw(st.sampled_from(["flow", "map"])))


@settings(max_examples=30, deadline=None)
@given(parametrised_polynomials(), st.integers(0, 2**32 - 1))
def test_param_derivative_matches_central_differences(system, seed):
    X = np.random.default_rng(seed).uniform(-2, 2, size=(4, system.dim))
    h = 1e-5
    for name, value in system.params.items():
        up, down = system.with_params(**{name: value + h}), system.with_params(**{name: value - h})
        expected = (up.residual(X) - down.residual(X)) / (2 * h)  # exact up to rounding: degree <= 2 in p
        np.testing.assert_allclose(system.param_derivative(X, name), expected, rtol=1e-6, atol=1e-6)
