"""Built-in models against independent numpy formulas and hand-derived fixed points."""

import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from conftest import traced_peak
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import brentq, root

from dynsys import models
from dynsys.models import MODELS, get_model, hopfield, linear, random_patterns


# ------------------------------------------- independent formulas, by hand
def f_lorenz(X, sigma, rho, beta):
    x, y, z = X.T
    return np.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], 1)


def J_lorenz(X, sigma, rho, beta):
    x, y, z = X.T
    one, zero = np.ones_like(x), np.zeros_like(x)
    return np.stack(
        [np.stack([-sigma * one, sigma * one, zero], -1), np.stack([rho - z, -one, -x], -1), np.stack([y, x, -beta * one], -1)],
        1,
    )


def f_duffing(X, delta, alpha, beta):
    x, v = X.T
    return np.stack([v, -delta * v - alpha * x - beta * x**3], 1)


def J_duffing(X, delta, alpha, beta):
    x, _ = X.T
    return rows([0 * x, 1 + 0 * x], [-alpha - 3 * beta * x**2, -delta + 0 * x])


def f_vdp(X, mu):
    x, y = X.T
    return np.stack([y, mu * (1 - x**2) * y - x], 1)


def J_vdp(X, mu):
    x, y = X.T
    return rows([0 * x, 1 + 0 * x], [-2 * mu * x * y - 1, mu * (1 - x**2)])


def f_toggle(X, alpha1, alpha2, beta, gamma):
    u, v = X.T
    return np.stack([alpha1 / (1 + v**beta) - u, alpha2 / (1 + u**gamma) - v], 1)


def J_toggle(X, alpha1, alpha2, beta, gamma):
    u, v = X.T
    du = -alpha2 * gamma * u ** (gamma - 1) / (1 + u**gamma) ** 2
    dv = -alpha1 * beta * v ** (beta - 1) / (1 + v**beta) ** 2
    return rows([-1 + 0 * u, dv], [du, -1 + 0 * u])


def f_fhn(X, a, b, tau, I):
    v, w = X.T
    return np.stack([v - v**3 / 3 - w + I, (v + a - b * w) / tau], 1)


def J_fhn(X, a, b, tau, I):
    v, _ = X.T
    return rows([1 - v**2, -1 + 0 * v], [1 / tau + 0 * v, -b / tau + 0 * v])


def f_lv(X, alpha, beta, gamma, delta):
    x, y = X.T
    return np.stack([alpha * x - beta * x * y, delta * x * y - gamma * y], 1)


def J_lv(X, alpha, beta, gamma, delta):
    x, y = X.T
    return rows([alpha - beta * y, -beta * x], [delta * y, delta * x - gamma])


def f_pendulum(X, g, length, damping):
    th, om = X.T
    return np.stack([om, -(g / length) * np.sin(th) - damping * om], 1)


def J_pendulum(X, g, length, damping):
    th, _ = X.T
    return rows([0 * th, 1 + 0 * th], [-(g / length) * np.cos(th), -damping + 0 * th])


def f_logistic(X, r):
    return r * X * (1 - X)


def J_logistic(X, r):
    return (r * (1 - 2 * X))[:, :, None]


def f_henon(X, a, b):
    x, y = X.T
    return np.stack([1 - a * x**2 + y, b * x], 1)


def J_henon(X, a, b):
    x, _ = X.T
    return rows([-2 * a * x, 1 + 0 * x], [b + 0 * x, 0 * x])


def rows(*r):
    """A (B, n, n) Jacobian from its rows, each a list of (B,) entries."""
    return np.stack([np.stack(row, -1) for row in r], 1)


def hebbian(P):
    P = np.asarray(P, float)
    W = sum(np.outer(p, p) for p in P) / P.shape[1]
    return W - np.diag(np.diag(W))


def f_hopfield(X, W, gain, tau, bias=0.0):
    return (-X + np.tanh(gain * X) @ W.T + bias) / tau


def J_hopfield(X, W, gain, tau):
    n = W.shape[0]
    return np.stack([(-np.eye(n) + W * (gain / np.cosh(gain * x) ** 2)) / tau for x in X])


def fd_jacobian(f, X, h=1e-6):
    """Central differences of an independent formula, column by column."""
    n = X.shape[1]
    cols = [(f(X + h * e) - f(X - h * e)) / (2 * h) for e in np.eye(n)]
    return np.stack(cols, -1)


def f_bruss(X, A, B):
    x, y = X[:, 0], X[:, 1]
    return np.stack([A - (B + 1) * x + x**2 * y, B * x - x**2 * y], 1)


def J_bruss(X, A, B):
    x, y = X[:, 0], X[:, 1]
    return np.stack([np.stack([-(B + 1) + 2 * x * y, x**2], -1), np.stack([B - 2 * x * y, -(x**2)], -1)], 1)


# model name -> (literature defaults written out here, f, J)
CASES = {
    "lorenz": (dict(sigma=10.0, rho=28.0, beta=8 / 3), f_lorenz, J_lorenz),
    "duffing": (dict(delta=0.3, alpha=-1.0, beta=1.0), f_duffing, J_duffing),
    "van_der_pol": (dict(mu=1.0), f_vdp, J_vdp),
    "brusselator": (dict(A=1.0, B=3.0), f_bruss, J_bruss),
    "toggle_switch": (dict(alpha1=10.0, alpha2=10.0, beta=2.0, gamma=2.0), f_toggle, J_toggle),
    "fitzhugh_nagumo": (dict(a=0.7, b=0.8, tau=12.5, I=0.5), f_fhn, J_fhn),
    "lotka_volterra": (dict(alpha=2 / 3, beta=4 / 3, gamma=1.0, delta=1.0), f_lv, J_lv),
    "pendulum": (dict(g=9.81, length=1.0, damping=0.0), f_pendulum, J_pendulum),
    "logistic": (dict(r=3.7), f_logistic, J_logistic),
    "henon": (dict(a=1.4, b=0.3), f_henon, J_henon),
}


def states_in(bounds, rng, size=30):
    """Points inside the open box (kept off its faces: the toggle's u^β needs u > 0)."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    return lo + (hi - lo) * rng.uniform(0.01, 0.99, size=(size, len(lo)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_matches_independent_formulas(name):
    params, f, J = CASES[name]
    system = MODELS[name]()
    assert system.name == name
    assert system.params == pytest.approx(params, rel=1e-15)
    assert system.bounds.shape == (system.dim, 2)
    assert system.exprs is not None  # built from sympy: exact solving possible
    X = states_in(system.bounds, np.random.default_rng(0))
    np.testing.assert_allclose(system.rhs(X), f(X, **params), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(system.jacobian(X), J(X, **params), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(system.jacobian(X), fd_jacobian(lambda Y: f(Y, **params), X), rtol=1e-6, atol=1e-6)
    residual = f(X, **params) - (X if system.kind == "map" else 0)
    np.testing.assert_allclose(system.residual(X), residual, rtol=1e-12, atol=1e-12)
    # small n: vector-Jacobian products from the dense exact Jacobian, not matrix-free
    assert not system.matrix_free
    U = np.random.default_rng(1).standard_normal(X.shape)
    np.testing.assert_allclose(system.vjp(X, U), np.einsum("bji,bj->bi", J(X, **params), U), rtol=1e-12, atol=1e-12)


BUILT = {name: MODELS[name]() for name in CASES}


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_with_params_matches_independent_formulas(name, data):
    defaults, f, J = CASES[name]
    params = {k: data.draw(st.floats(0.2, 5.0), label=k) for k in defaults}
    system = BUILT[name].with_params(**params)
    X = states_in(system.bounds, np.random.default_rng(1), size=8)
    np.testing.assert_allclose(system.rhs(X), f(X, **params), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(system.jacobian(X), J(X, **params), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_constructor_arguments_are_the_parameters(name):
    defaults, f, _ = CASES[name]
    params = {k: 1.5 + i for i, k in enumerate(defaults)}
    X = states_in(BUILT[name].bounds, np.random.default_rng(8), size=8)
    np.testing.assert_allclose(MODELS[name](**params).rhs(X), f(X, **params), rtol=1e-12, atol=1e-12)


# ----------------------------------------------- fixed points from algebra
def toggle_points(alpha1=10.0, alpha2=10.0):
    """u solves u = α1/(1 + v²) with v = α2/(1 + u²): sign changes on a grid, then Brent."""
    h = lambda u: u - alpha1 / (1 + (alpha2 / (1 + u**2)) ** 2)  # noqa: E731
    grid = np.linspace(1e-6, 12, 4001)
    us = [brentq(h, a, b, xtol=1e-14) for a, b in zip(grid[:-1], grid[1:]) if h(a) * h(b) < 0]
    return np.array([[u, alpha2 / (1 + u**2)] for u in us])


def fhn_point(a=0.7, b=0.8, I=0.5):
    roots = np.roots([1 / 3, 0, 1 / b - 1, a / b - I])
    v = roots[np.abs(roots.imag) < 1e-12].real
    return np.stack([v, (v + a) / b], 1)


def henon_points(a=1.4, b=0.3):
    x = (-(1 - b) + np.array([1, -1]) * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    return np.stack([x, b * x], 1)


def lorenz_points(sigma=10.0, rho=28.0, beta=8 / 3):
    c = np.sqrt(beta * (rho - 1))
    return np.array([[0, 0, 0], [c, c, rho - 1], [-c, -c, rho - 1]])


FIXED_POINTS = {
    "lorenz": lorenz_points(),
    "duffing": np.array([[-1.0, 0], [0, 0], [1, 0]]),
    "van_der_pol": np.zeros((1, 2)),
    "brusselator": np.array([[1.0, 3.0]]),  # (A, B / A)
    "toggle_switch": toggle_points(),
    "fitzhugh_nagumo": fhn_point(),
    "lotka_volterra": np.array([[0, 0], [1.0, 0.5]]),
    "pendulum": np.array([[-np.pi, 0], [0, 0], [np.pi, 0]]),
    "logistic": np.array([[0.0], [1 - 1 / 3.7]]),
    "henon": henon_points(),
}


@pytest.mark.parametrize("name", sorted(FIXED_POINTS))
def test_known_fixed_points_are_zeros_inside_the_bounds(name):
    system, points = MODELS[name](), FIXED_POINTS[name]
    np.testing.assert_allclose(system.residual(points), 0, atol=1e-12)
    assert np.all((points >= system.bounds[:, 0]) & (points <= system.bounds[:, 1]))


def spectrum(system, x):
    return np.sort_complex(np.linalg.eigvals(system.jacobian(x)))


def test_documented_stability():
    lz = models.lorenz()
    s, r, b = 10.0, 28.0, 8 / 3
    disc = np.sqrt((s + 1) ** 2 + 4 * s * (r - 1))
    np.testing.assert_allclose(spectrum(lz, np.zeros(3)), np.sort([-b, (-(s + 1) - disc) / 2, (-(s + 1) + disc) / 2]))
    for c in lorenz_points()[1:]:  # saddle-foci of index 2
        ev = spectrum(lz, c)
        assert np.sum(ev.real > 0) == 2 and np.any(ev.imag != 0)

    toggle = models.toggle_switch()
    points = toggle_points()
    assert len(points) == 3
    np.testing.assert_allclose(points[1], [2, 2], atol=1e-12)  # u³ + u − 10 = 0
    np.testing.assert_allclose(spectrum(toggle, points[1]), [-2.6, 0.6], atol=1e-12)  # −1 ± 1.6
    for p in points[[0, 2]]:
        assert np.all(spectrum(toggle, p) < 0)  # stable nodes: real negative

    np.testing.assert_allclose(spectrum(models.lotka_volterra(), [1, 0.5]), [-1j * np.sqrt(2 / 3), 1j * np.sqrt(2 / 3)])
    assert np.all(spectrum(models.fitzhugh_nagumo(), fhn_point()[0]).real > 0)  # unstable focus
    assert np.all(spectrum(models.van_der_pol(), np.zeros(2)).real > 0)
    logistic = models.logistic()
    np.testing.assert_allclose(logistic.jacobian([[0.0], [1 - 1 / 3.7]])[:, 0, 0], [3.7, 2 - 3.7])
    for p in henon_points():  # both saddles
        mods = np.sort(np.abs(spectrum(models.henon(), p)))
        assert mods[0] < 1 < mods[1]


# -------------------------------------------------------------- Hopfield
def test_hopfield_orthogonal_patterns_give_the_derived_fixed_points():
    H = scipy.linalg.hadamard(8).astype(float)
    P = H[[1, 2, 5]]  # mutually orthogonal ±1 patterns, p = 3, n = 8
    gain, tau, lam = 3.0, 2.0, 1 - 3 / 8
    system = hopfield(patterns=P, gain=gain, tau=tau)
    W = hebbian(P)
    X = np.random.default_rng(2).uniform(-2, 2, size=(10, 8))
    np.testing.assert_allclose(system.rhs(X), f_hopfield(X, W, gain, tau), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(system.jacobian(X), J_hopfield(X, W, gain, tau), rtol=1e-12, atol=1e-12)
    V = np.random.default_rng(3).standard_normal(X.shape)
    np.testing.assert_allclose(system.jvp(X, V), np.einsum("bij,bj->bi", J_hopfield(X, W, gain, tau), V), atol=1e-12)
    c = brentq(lambda c: c - lam * np.tanh(gain * c), 1e-3, 2.0, xtol=1e-15)
    slope = gain / np.cosh(gain * c) ** 2
    expected = np.sort(np.r_[[(-1 + slope * lam) / tau] * 3, [(-1 - slope * 3 / 8) / tau] * 5])
    for xi in np.r_[P, -P]:
        np.testing.assert_allclose(system.residual(c * xi), 0, atol=1e-13)
        np.testing.assert_allclose(np.sort(np.linalg.eigvals(system.jacobian(c * xi)).real), expected, atol=1e-12)
        assert np.all(np.abs(c * xi) <= system.bounds[:, 1])
    assert expected.max() < 0  # g λ > 1: the patterns are attractors


def test_default_hopfield_stores_its_random_patterns():
    system = hopfield()
    P = random_patterns(2, 8, seed=0)
    assert set(np.unique(P)) == {-1.0, 1.0} and abs(P[0] @ P[1]) <= 2
    W = hebbian(P)
    assert system.dim == 8 and system.params == {"gain": 4.0, "tau": 1.0} and system.exprs is None
    X = np.random.default_rng(4).uniform(-2, 2, size=(10, 8))
    np.testing.assert_allclose(system.rhs(X), f_hopfield(X, W, 4.0, 1.0), atol=1e-12)
    for xi in np.r_[P, -P]:  # each ±pattern: a stable fixed point with its signs, found independently
        sol = root(lambda x: f_hopfield(x[None], W, 4.0, 1.0)[0], 0.7 * xi, jac=lambda x: J_hopfield(x[None], W, 4.0, 1.0)[0])
        assert sol.success and np.all(np.sign(sol.x) == xi)
        assert np.all(np.linalg.eigvals(J_hopfield(sol.x[None], W, 4.0, 1.0)[0]).real < 0)
        np.testing.assert_allclose(system.residual(sol.x), 0, atol=1e-10)


def test_hopfield_bias_and_params():
    P = random_patterns(3, 12, seed=5)
    bias = np.linspace(-0.5, 0.5, 12)
    system = hopfield(patterns=P, bias=bias).with_params(gain=1.5, tau=0.5)
    X = np.random.default_rng(6).uniform(-2, 2, size=(6, 12))
    np.testing.assert_allclose(system.rhs(X), f_hopfield(X, hebbian(P), 1.5, 0.5, bias), atol=1e-12)


@given(
    gain=st.floats(0.1, 8.0),
    tau=st.floats(0.2, 5.0),
    seed=st.integers(0, 2**32 - 1),
    p=st.integers(1, 3),
)
def test_hopfield_products_are_those_with_the_independent_jacobian(gain, tau, seed, p):
    P = np.random.default_rng(seed).choice([-1.0, 1.0], size=(p, 10))
    system = hopfield(patterns=P, bias=np.linspace(-1, 1, 10)).with_params(gain=gain, tau=tau)
    assert system.matrix_free
    rng = np.random.default_rng(seed + 1)
    X = rng.uniform(-2, 2, size=(5, 10))
    U, V = rng.standard_normal(X.shape), rng.standard_normal(X.shape)
    J = J_hopfield(X, hebbian(P), gain, tau)
    np.testing.assert_allclose(system.vjp(X, U), np.einsum("bji,bj->bi", J, U), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(system.jvp(X, V), np.einsum("bij,bj->bi", J, V), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sum(U * system.jvp(X, V), 1), np.sum(system.vjp(X, U) * V, 1), atol=1e-11)
    np.testing.assert_array_equal(system.residual_vjp(X, U), system.vjp(X, U))  # a flow: DF = Df


@given(gain=st.floats(0.1, 8.0), tau=st.floats(0.2, 5.0), seed=st.integers(0, 2**32 - 1))
def test_hopfield_residual_operator_is_the_independent_jacobian(gain, tau, seed):
    P = np.random.default_rng(seed).choice([-1.0, 1.0], size=(2, 10))
    system = hopfield(patterns=P).with_params(gain=gain, tau=tau)
    rng = np.random.default_rng(seed + 1)
    X = rng.uniform(-2, 2, size=(5, 10))
    U, V = rng.standard_normal(X.shape), rng.standard_normal(X.shape)
    J = J_hopfield(X, hebbian(P), gain, tau)  # a flow: DF = Df
    op = system.residual_operator(X)
    assert op.cached
    np.testing.assert_allclose(op.jvp(V), np.einsum("bij,bj->bi", J, V), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.vjp(U), np.einsum("bji,bj->bi", J, U), rtol=1e-12, atol=1e-12)
    rows = rng.integers(0, 5, size=3)
    np.testing.assert_allclose(op.jvp(V[:3], rows), np.einsum("bij,bj->bi", J[rows], V[:3]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.vjp(U[:3], rows), np.einsum("bji,bj->bi", J[rows], U[:3]), rtol=1e-12, atol=1e-12)
    back = system.reverse_time().residual_operator(X)
    np.testing.assert_allclose(back.jvp(V[:3], rows), -np.einsum("bij,bj->bi", J[rows], V[:3]), rtol=1e-12, atol=1e-12)


def test_hopfield_products_never_form_the_jacobians():
    system = hopfield(n=400)
    rng = np.random.default_rng(7)
    X, V = rng.uniform(-1, 1, size=(50, 400)), rng.standard_normal((50, 400))
    dense = X.size * 400 * X.itemsize  # bytes of the (B, n, n) Jacobians: 64 MB
    assert traced_peak(lambda: system.jvp(X, V), lambda: system.vjp(X, V)) < dense / 16


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(n=0), "n must be"),
        (dict(n=2.5), "n must be"),
        (dict(patterns=[[1, 0, 1]]), "±1"),
        (dict(patterns=[1, -1, 1]), "±1"),
        (dict(n=4, patterns=[[1, -1, 1]]), "width 3"),
        (dict(n=3, bias=[1.0, 2.0]), "bias"),
        (dict(n=3, bias=[np.nan, 0, 0]), "bias"),
        (dict(n=2, n_patterns=3), "overlaps"),
    ],
)
def test_hopfield_rejects_bad_input(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        hopfield(**kwargs)


# ---------------------------------------------------------------- linear
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4)).map(lambda t: (t[0], t[0])), elements=st.floats(-5, 5)),
    st.sampled_from(["flow", "map"]),
)
def test_linear_is_A_x_with_jacobian_A(A, kind):
    system = linear(A, kind=kind)
    n = len(A)
    X = np.random.default_rng(7).standard_normal((5, n))
    np.testing.assert_allclose(system.rhs(X), np.einsum("ij,bj->bi", A, X), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(system.jacobian(X), np.broadcast_to(A, (5, n, n)))
    np.testing.assert_array_equal(system.residual_jacobian(X[0]), A - np.eye(n) * (kind == "map"))
    np.testing.assert_array_equal(system.residual(np.zeros(n)), np.zeros(n))
    # the exact formulas agree with the numbers
    f = sp.lambdify(system.symbols, list(system.exprs), "numpy")
    np.testing.assert_allclose(np.array([np.broadcast_to(v, 5) for v in f(*X.T)]).T, system.rhs(X), rtol=1e-13, atol=1e-13)


def test_linear_exprs_are_exact_and_skipped_for_large_n():
    system = linear([[0.1, -2], [0, 1.5]])
    x0, x1 = system.symbols
    assert system.exprs == (sp.Rational(1, 10) * x0 - 2 * x1, sp.Rational(3, 2) * x1)
    big = linear(np.eye(30))
    assert big.exprs is None
    np.testing.assert_array_equal(big.rhs(np.arange(30.0)), np.arange(30.0))


@pytest.mark.parametrize(
    "A, needle",
    [
        ([1.0, 2.0], "square"),
        ([[1.0, 2.0]], "square"),
        (np.zeros((0, 0)), "square"),
        ([[1.0, np.nan], [0, 1]], "finite"),
        ([[1.0, np.inf], [0, 1]], "finite"),
        ([[1j, 0], [0, 1]], "real"),
        ([["a", "b"], ["c", "d"]], "real"),
        ([[1.0, 2.0], [3.0]], "ragged"),
    ],
)
def test_linear_rejects_bad_matrices(A, needle):
    with pytest.raises(ValueError, match=needle):
        linear(A)


def test_linear_rejects_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        linear(np.eye(2), kind="ode")


# -------------------------------------------------------------- registry
def test_registry_and_get_model():
    assert set(MODELS) == set(CASES) | {"hopfield"}
    assert get_model("lorenz", rho=0.5).params["rho"] == 0.5
    assert get_model("hopfield", n=5).dim == 5
    with pytest.raises(ValueError, match="known models are") as info:
        get_model("lorentz")
    assert "lorenz" in str(info.value)
    with pytest.raises(ValueError, match="kappa"):
        get_model("lorenz", kappa=1.0)
