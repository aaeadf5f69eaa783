"""Tests of dynsys.normal_forms against closed forms derived by hand.

Expected values:

- Hopf normal form x' = mu x - w y + a x r^2, y' = w x + mu y + a y r^2 at
  mu = 0: the unit eigenvector q = (1, -i)/sqrt 2 gives C(q, q, q̄) = 4 a q,
  B = 0, so l1 = 2 a / w in Kuznetsov's normalisation <q, q> = <p, q> = 1.
- Brusselator at B = 1 + A^2, x* = (A, B/A), omega = A: written in the real
  basis (a, b) with q = (a - i b)/sqrt 2 its linear part is the rotation
  [[0, -A], [A, 0]], and the two-dimensional formula of Guckenheimer and
  Holmes (Nonlinear Oscillations, 1983, eq. (3.4.11)) for the normal-form
  coefficient a_GH of r' = a_GH r^3 in those coordinates gives, with
  l1 = 2 a_GH / omega as for the normal form,
  l1 = -(A^2 + 2) / (2 A (2 A^2 + 1)) (derived with sympy, a route that shares
  nothing with the module's n-dimensional formula).  The often quoted
  -(2 + A^2) / (2 A (1 + A^2)) is the same coefficient for another length of q.
  A simulation measures it independently: the cycle at B = B_H + eps has the
  mean square distance -eps / (omega l1) from x* to first order in eps
  (|z|^2 = -Re lambda / Re c1 with Re lambda = eps / 2, Re c1 = omega l1, and
  |x - x*|^2 = 2 |z|^2 on average for |q| = 1).
- Lorenz (sigma = 10, beta = 8/3) at rho_H = 470/19: the Hopf pair of C+- is
  +-i sqrt(beta (sigma + rho_H)) (the characteristic polynomial
  l^3 + (sigma + beta + 1) l^2 + beta (sigma + rho) l + 2 beta sigma (rho - 1)
  has a pair +-i omega exactly when the product of the first two coefficients
  equals the third); subcritical, l1 > 0, and C+ and C- have the same l1
  (the symmetry (x, y, z) -> (-x, -y, z) is orthogonal).
- A map x -> -x + alpha x^2 + beta x^3 (with a decoupled contracting
  direction y -> y/2): flip coefficient c = g''^2/4 + g'''/6 = alpha^2 + beta;
  the logistic map at r = 3, x* = 2/3: g'' = -6, g''' = 0, c = 9; the
  Hénon map at its flip, c = 9 (1 - b)^3 / (16 (1 + b) (1 + b^2)), from the
  size of its exactly known period-two cycle.
- Neimark-Sacker: the map x -> R(theta) (x + c |x|^2 x), i.e.
  z -> e^(i theta) (z + c z |z|^2), has d = 2 c (as l1 = 2 a / w above); the
  delayed logistic map (x, y) -> (r x (1 - y), x) at r = 2 has d = -1 by
  Kuznetsov's two-dimensional formula (sympy, with |q| = 1), and iterating it
  at r = 2 + eps measures d from the invariant circle.
- Folds x' = mu - x^2 and x -> x + mu - x^2 at 0: a = -1 (q = p = 1); with
  +x^2: a = +1.
- Changes of coordinates y = M x + b: the unit vector q becomes M q / |M q|,
  so l1_y |M q|^2 = l1_x, c_y |M q|^2 = c_x and |a_y| |M q| = |a_x|.
"""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from dynsys import System
from dynsys.models import henon, logistic, lorenz
from dynsys.normal_forms import (
    DifferencedDerivatives,
    ExactDerivatives,
    derivatives,
    first_lyapunov_coefficient,
    flip_coefficient,
    fold_coefficient,
    neimark_sacker_coefficient,
)
from dynsys.rnn import ContinuousRNN
from dynsys.testing import affine_maps, conjugate


# ----------------------------------------------------------------- systems
def hopf_normal_form(a: float, w: float) -> System:
    return System.from_strings(
        {"x": "mu*x - w*y + a*x*(x**2 + y**2)", "y": "w*x + mu*y + a*y*(x**2 + y**2)"},
        {"mu": 0.0, "w": w, "a": a},
        name="hopf",
    )


def brusselator(A: float) -> System:
    return System.from_strings(
        {"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": A, "B": 1 + A**2}, name="brusselator"
    )


def brusselator_l1(A: float) -> float:
    return -(A**2 + 2) / (2 * A * (2 * A**2 + 1))


def flip_map(alpha: float, beta: float) -> System:
    return System.from_strings(
        {"x": "-x + alpha*x**2 + beta*x**3", "y": "y/2"}, {"alpha": alpha, "beta": beta}, kind="map"
    )


RHO_H = 470 / 19


def lorenz_hopf_points() -> tuple[System, np.ndarray, np.ndarray]:
    c = np.sqrt(8 / 3 * (RHO_H - 1))
    return lorenz(rho=RHO_H), np.array([c, c, RHO_H - 1]), np.array([-c, -c, RHO_H - 1])


def without_formulas(system: System) -> System:
    """The same system as a plain callable, with neither formulas nor Jacobian: the differenced path."""
    return System.from_callable(system.rhs, system.dim, kind=system.kind, vectorized=True)


def conjugate_formulas(system: System, M: np.ndarray, b: np.ndarray) -> System:
    """``system`` in the coordinates y = M x + b, by sympy substitution (formulas kept, parameters frozen)."""
    n = system.dim
    ys = sp.symbols(f"y0:{n}", real=True)
    Mi = sp.Matrix(np.linalg.inv(M))
    x_of_y = Mi * (sp.Matrix(ys) - sp.Matrix(b))
    values = dict(zip(system.param_symbols, system.params.values()))
    f = sp.Matrix([e.subs(values) for e in system.exprs]).subs(dict(zip(system.symbols, x_of_y)), simultaneous=True)
    g = sp.Matrix(M) * f + (sp.Matrix(b) if system.kind == "map" else sp.zeros(n, 1))
    return System.from_sympy(list(g), ys, kind=system.kind)


# ------------------------------------------------------------------- Hopf
@pytest.mark.parametrize("a", [-2.0, -0.5, 0.25, 3.0])
@pytest.mark.parametrize("w", [0.5, 1.0, 4.0])
def test_hopf_normal_form_has_l1_2a_over_w(a, w):
    assert first_lyapunov_coefficient(hopf_normal_form(a, w), [0.0, 0.0]) == pytest.approx(2 * a / w, rel=1e-13)


@pytest.mark.parametrize("a, w", [(-1.0, 1.0), (0.5, 3.0)])
def test_hopf_normal_form_by_differences(a, w):
    plain = without_formulas(hopf_normal_form(a, w))
    assert first_lyapunov_coefficient(plain, [0.0, 0.0]) == pytest.approx(2 * a / w, rel=1e-6)


@settings(max_examples=15, deadline=None)
@given(affine_maps(2), st.sampled_from([-1.0, 0.5]), st.sampled_from([0.5, 2.0]))
def test_l1_of_conjugate_normal_forms_scales_with_the_length_of_M_q(change, a, w):
    M, b = change
    q = np.array([1.0, -1.0j]) / np.sqrt(2)
    expected = 2 * a / w / np.linalg.norm(M @ q) ** 2
    system = hopf_normal_form(a, w)
    exact = first_lyapunov_coefficient(conjugate_formulas(system, M, b), b)
    assert exact == pytest.approx(expected, rel=1e-10)
    assert first_lyapunov_coefficient(conjugate(system, M, b), b) == pytest.approx(expected, rel=1e-8)


def test_l1_is_invariant_under_orthogonal_changes_and_translations():
    angle = 0.7
    Q = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.diag([1.0, -1.0])
    moved = conjugate_formulas(hopf_normal_form(-1.5, 2.0), Q, np.array([3.0, -1.0]))
    assert first_lyapunov_coefficient(moved, [3.0, -1.0]) == pytest.approx(-1.5, rel=1e-12)


@pytest.mark.parametrize("A", [0.5, 1.0, 2.0, 3.0])
def test_brusselator_is_supercritical_with_the_closed_form_l1(A):
    s, x = brusselator(A), [A, (1 + A**2) / A]
    assert first_lyapunov_coefficient(s, x) == pytest.approx(brusselator_l1(A), rel=1e-12)
    assert first_lyapunov_coefficient(s, x, omega=A) == pytest.approx(brusselator_l1(A), rel=1e-12)
    assert first_lyapunov_coefficient(without_formulas(s), x) == pytest.approx(brusselator_l1(A), rel=1e-6)


def test_brusselator_cycle_amplitude_measures_l1():
    A, eps = 1.0, 4e-3
    B = 1 + A**2 + eps
    xs = np.array([A, B / A])
    l1 = brusselator_l1(A)
    radius = np.sqrt(-eps / (A * l1))  # start near the cycle: the transient decays like exp(-eps t)

    def f(t, s):
        return [A - (B + 1) * s[0] + s[0] ** 2 * s[1], B * s[0] - s[0] ** 2 * s[1]]

    end, period = 20 / eps, 2 * np.pi / A
    sol = solve_ivp(f, [0, end], xs + [radius, 0], method="DOP853", rtol=1e-10, atol=1e-12, dense_output=True)
    t = np.linspace(end - 10 * period, end, 2001)
    mean_square = np.mean(np.sum((sol.sol(t).T - xs) ** 2, axis=1))
    measured = -eps / (A * mean_square)
    assert measured == pytest.approx(first_lyapunov_coefficient(brusselator(A), [A, (1 + A**2) / A]), rel=2e-3)


def test_lorenz_hopf_of_c_plus_and_c_minus_is_subcritical():
    s, plus, minus = lorenz_hopf_points()
    omega = np.sqrt(8 / 3 * (10 + RHO_H))
    l1 = first_lyapunov_coefficient(s, plus, omega=omega)
    assert l1 > 0
    assert first_lyapunov_coefficient(s, minus) == pytest.approx(l1, rel=1e-12)
    assert first_lyapunov_coefficient(without_formulas(s), plus) == pytest.approx(l1, rel=1e-5)


@settings(max_examples=10, deadline=None)
@given(affine_maps(3))
def test_lorenz_l1_scales_with_the_length_of_M_q(change):
    M, b = change
    s, plus, _ = lorenz_hopf_points()
    w, V = np.linalg.eig(s.jacobian(plus))
    q = V[:, np.argmax(w.imag)]  # unit, from numpy
    l1 = first_lyapunov_coefficient(s, plus)
    moved = first_lyapunov_coefficient(conjugate_formulas(s, M, b), M @ plus + b)
    assert moved * np.linalg.norm(M @ q) ** 2 == pytest.approx(l1, rel=1e-8)


@pytest.mark.parametrize("w, tau", [(1.5, 2.0), (0.7, 1.0)])
def test_hopf_of_a_continuous_rnn(w, tau):
    # tau x' = -x + W tanh(x), W = [[1, -w], [w, 1]]: Df(0) = (W - I)/tau has +-i w/tau; B = 0 and
    # C(u, v, z) = tanh'''(0) W (u * v * z)/tau = -2 W (u * v * z)/tau, so with q = (1, -i)/sqrt 2,
    # q * q * conj(q) = q/2 and W q = (1 + i w) q: <p, C(q, q, q̄)> = -(1 + i w)/tau, l1 = -1/(2 w)
    net = ContinuousRNN(np.zeros((2, 1)), np.array([[1.0, -w], [w, 1.0]]), tau=tau)
    assert first_lyapunov_coefficient(net.system(), [0.0, 0.0]) == pytest.approx(-1 / (2 * w), rel=1e-7)


def test_hopf_of_a_64_unit_network_driven_by_the_oscillating_pair():
    # units 0, 1 as above (tau = 1); units 2..63 follow x_r' = -x_r + K tanh(x_h) + tanh(x_r)/2 and do not feed
    # back.  Then p = (p_h, 0), B = 0 at 0 and <p, C(q, q, q̄)> involves the pair only, while the unit q is
    # (q_h, K q_h / (i w + 1/2)) / norm with q_h = (1, -i)/sqrt 2: l1 = -1/(2 w) / (1 + |K q_h|^2 / (w^2 + 1/4))
    n, w = 64, 1.5
    K = np.random.default_rng(1).normal(size=(n - 2, 2))
    W = np.zeros((n, n))
    W[:2, :2], W[2:, :2], W[2:, 2:] = [[1.0, -w], [w, 1.0]], K, 0.5 * np.eye(n - 2)
    net = ContinuousRNN(np.zeros((n, 1)), W, tau=1.0)
    q_h = np.array([1.0, -1.0j]) / np.sqrt(2)
    expected = -1 / (2 * w) / (1 + np.linalg.norm(K @ q_h) ** 2 / (w**2 + 0.25))
    assert first_lyapunov_coefficient(net.system(), np.zeros(n)) == pytest.approx(expected, rel=1e-9)


def test_hopf_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"not a Hopf point.*eigenvalues are \[-1\. -2\.\]"):
        first_lyapunov_coefficient(System.from_strings({"x": "-x", "y": "-2*y"}), [0.0, 0.0])
    for not_hopf in ({"x": "y", "y": "x + x**2"}, {"x": "y", "y": "x**2"}):  # a neutral saddle, a double zero
        with pytest.raises(ValueError, match="not a Hopf point"):
            first_lyapunov_coefficient(System.from_strings(not_hopf), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"\+-3i"):
        first_lyapunov_coefficient(hopf_normal_form(-1.0, 1.0), [0.0, 0.0], omega=3.0)
    with pytest.raises(ValueError, match="zero eigenvalue"):  # a zero-Hopf point
        first_lyapunov_coefficient(System.from_strings({"x": "-y", "y": "x", "z": "z**2"}), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="needs a flow"):
        first_lyapunov_coefficient(logistic(3.0), [2 / 3])
    with pytest.raises(ValueError, match=r"x must be one finite state of shape \(2,\)"):
        first_lyapunov_coefficient(hopf_normal_form(-1.0, 1.0), [0.0])
    with pytest.raises(TypeError, match="dynsys.System"):
        first_lyapunov_coefficient("x' = -y", [0.0, 0.0])
    with pytest.raises(ValueError, match="tol"):
        first_lyapunov_coefficient(hopf_normal_form(-1.0, 1.0), [0.0, 0.0], tol=-1)


# ------------------------------------------------------------------- flip
def test_logistic_period_doubling_at_r_3_is_supercritical_with_c_9():
    assert flip_coefficient(logistic(3.0), [2 / 3]) == pytest.approx(9.0, rel=1e-13)
    assert flip_coefficient(without_formulas(logistic(3.0)), [2 / 3]) == pytest.approx(9.0, rel=1e-6)


def test_second_period_doubling_of_the_logistic_map():
    # g o g at r = 1 + sqrt 6, at the points x+- = (r + 1 +- sqrt((r + 1)(r - 3))) / (2 r) of the 2-cycle (multiplier
    # -1): c = (g2'')^2/4 + g2'''/6 with g2 = g o g, by sympy: 140 + 70 sqrt 2 + 40 sqrt 3 + 40 sqrt 6 at x+ and
    # 140 - 70 sqrt 2 - 40 sqrt 3 + 40 sqrt 6 at x-; both > 0 (supercritical), and different, since g carries one
    # point to the other with the derivative g'(x+) (c_y |M q|^2 = c_x)
    r = 1 + np.sqrt(6)
    root = np.sqrt((r + 1) * (r - 3))
    twice = logistic(r).iterate(2)
    s2, s3, s6 = np.sqrt([2.0, 3.0, 6.0])
    c_plus, c_minus = 140 + 70 * s2 + 40 * s3 + 40 * s6, 140 - 70 * s2 - 40 * s3 + 40 * s6
    assert flip_coefficient(twice, [(r + 1 + root) / (2 * r)]) == pytest.approx(c_plus, rel=1e-10)
    assert flip_coefficient(twice, [(r + 1 - root) / (2 * r)]) == pytest.approx(c_minus, rel=1e-10)


@pytest.mark.parametrize("b", [0.3, 0.5, -0.4])
def test_henon_flip_coefficient_from_its_period_two_cycle(b):
    # Hénon (x, y) -> (1 - a x^2 + y, b x) flips at a_F = 3 (1 - b)^2 / 4, x* = 2 / (3 (1 - b)).  For a = a_F + eps
    # its 2-cycle is known exactly: x+- = ((1 - b) +- sqrt(4 a - 3 (1 - b)^2)) / (2 a), y+- = b x-+, and in the
    # normal form xi -> -(1 + beta) xi + c xi^3 (xi along the unit q, -(1 + beta) the multiplier at a) the cycle
    # has xi^2 = beta / c + O(beta^2) with |p+ - p-| = 2 xi + O(xi^3).  So c = lim beta / (|p+ - p-|^2 / 4), which
    # sympy's series in eps gives as 9 (1 - b)^3 / (16 (1 + b) (1 + b^2)) (3087/22672 at b = 0.3).
    a, x = 3 * (1 - b) ** 2 / 4, 2 / (3 * (1 - b))
    expected = 9 * (1 - b) ** 3 / (16 * (1 + b) * (1 + b**2))
    assert flip_coefficient(henon(a=a, b=b), [x, b * x]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("alpha, beta", [(1.0, 0.5), (0.5, -1.0), (0.0, -2.0), (2.0, -4.0)])
def test_flip_coefficient_of_a_cubic_map(alpha, beta):
    assert flip_coefficient(flip_map(alpha, beta), [0.0, 0.0]) == pytest.approx(alpha**2 + beta, rel=1e-12, abs=1e-12)


@settings(max_examples=10, deadline=None)
@given(affine_maps(2))
def test_flip_coefficient_scales_with_the_length_of_M_q(change):
    M, b = change
    system = flip_map(1.0, -3.0)  # c = -2, q = (1, 0)
    expected = -2.0 / np.linalg.norm(M[:, 0]) ** 2
    assert flip_coefficient(conjugate_formulas(system, M, b), b) == pytest.approx(expected, rel=1e-10)
    assert flip_coefficient(conjugate(system, M, b), b) == pytest.approx(expected, rel=1e-7)


def test_flip_errors_name_the_problem():
    with pytest.raises(ValueError, match="needs a map"):
        flip_coefficient(hopf_normal_form(-1.0, 1.0), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"not a flip point.*eigenvalues are"):
        flip_coefficient(logistic(2.5), [0.6])


# --------------------------------------------------------- Neimark-Sacker
def rotation_map(theta: float, c: float) -> System:
    """x -> R(theta) (x + c |x|^2 x): z -> e^(i theta) (z + c z |z|^2) for z = x1 + i x2."""
    grow = f"(1 + ({c})*(x**2 + y**2))"
    return System.from_strings(
        {"x": f"cos({theta})*x*{grow} - sin({theta})*y*{grow}", "y": f"sin({theta})*x*{grow} + cos({theta})*y*{grow}"},
        kind="map",
    )


DELAYED_LOGISTIC = System.from_strings({"x": "r*x*(1 - y)", "y": "x"}, {"r": 2.0}, kind="map")


@pytest.mark.parametrize("theta", [0.3, 1.0, 2.5])
@pytest.mark.parametrize("c", [-1.0, 0.75])
def test_neimark_sacker_coefficient_of_the_rotation_normal_form_is_2c(theta, c):
    # with q = (1, -i)/sqrt 2, w = z/sqrt 2 maps to e^(i theta) (w + 2 c w |w|^2): c1 = 2 c e^(i theta), d = 2 c
    s = rotation_map(theta, c)
    assert neimark_sacker_coefficient(s, [0.0, 0.0]) == pytest.approx(2 * c, rel=1e-12)
    assert neimark_sacker_coefficient(without_formulas(s), [0.0, 0.0]) == pytest.approx(2 * c, rel=1e-6)


def test_delayed_logistic_map_at_r_2_is_supercritical_with_d_minus_1():
    # (x, y) -> (r x (1 - y), x) at r = 2, x* = (1/2, 1/2): multipliers exp(+-i pi/3); Kuznetsov's
    # two-dimensional formula (section 4.7) a = Re(e^(-i theta) g21)/2 - Re((1 - 2 mu) mu^-2 g20 g11 / (2 (1 - mu)))
    # - |g11|^2/2 - |g02|^2/4 with the Taylor coefficients g_jk of <p, F(w q + w̄ q̄)>, |q| = 1, gives -1
    # exactly (sympy); the iteration below measures it too
    assert neimark_sacker_coefficient(DELAYED_LOGISTIC, [0.5, 0.5]) == pytest.approx(-1.0, rel=1e-12)
    assert neimark_sacker_coefficient(DELAYED_LOGISTIC, [0.5, 0.5], theta=np.pi / 3) == pytest.approx(-1.0, rel=1e-12)
    assert neimark_sacker_coefficient(without_formulas(DELAYED_LOGISTIC), [0.5, 0.5]) == pytest.approx(-1.0, rel=1e-6)


def test_delayed_logistic_invariant_circle_measures_d():
    # at r = 2 + eps the multipliers have modulus 1 + beta = sqrt(r - 1); the invariant circle has |w|^2 = -beta/d
    # and the mean square distance from x* is 2 |w|^2 (|q| = 1; the terms in w^2 average out over the rotation)
    eps = 2e-3
    r, beta = 2 + eps, np.sqrt(1 + eps) - 1
    fixed = 1 - 1 / r
    state = np.array([fixed + np.sqrt(2 * beta), fixed])
    squares = []
    for k in range(int(30 / beta) + 6000):
        state = np.array([r * state[0] * (1 - state[1]), state[0]])
        squares.append(np.sum((state - fixed) ** 2))
    assert -2 * beta / np.mean(squares[-6000:]) == pytest.approx(-1.0, rel=1e-4)


@settings(max_examples=6, deadline=None)
@given(affine_maps(2))
def test_neimark_sacker_coefficient_scales_with_the_length_of_M_q(change):
    M, b = change
    q = np.array([1.0, -1.0j]) / np.sqrt(2)
    expected = -1.0 / np.linalg.norm(M @ q) ** 2
    assert neimark_sacker_coefficient(conjugate_formulas(rotation_map(1.0, -0.5), M, b), b) == pytest.approx(
        expected, rel=1e-10
    )


def test_neimark_sacker_errors_name_the_problem():
    with pytest.raises(ValueError, match="needs a map"):
        neimark_sacker_coefficient(hopf_normal_form(-1.0, 1.0), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"not a Neimark-Sacker point.*multipliers are"):
        neimark_sacker_coefficient(DELAYED_LOGISTIC.with_params(r=1.5), [1 / 3, 1 / 3])
    with pytest.raises(ValueError, match=r"exp\(\+-2i\)"):
        neimark_sacker_coefficient(DELAYED_LOGISTIC, [0.5, 0.5], theta=2.0)


# ------------------------------------------------------------------- fold
@pytest.mark.parametrize("kind, formula, expected", [
    ("flow", "mu - x**2", -1.0),
    ("flow", "mu + x**2", 1.0),
    ("map", "x + mu - x**2", -1.0),
    ("map", "x + mu + 3*x**2", 3.0),
])
def test_fold_coefficient(kind, formula, expected):
    s = System.from_strings({"x": formula}, {"mu": 0.0}, kind=kind)
    assert fold_coefficient(s, [0.0]) == expected
    assert fold_coefficient(without_formulas(s), [0.0]) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("b", [0.3, -0.5])
def test_henon_fold_coefficient(b):
    # at a = -(1 - b)^2 / 4 the fixed point is x* = 2 / (1 - b) and Dg = [[1 - b, 1], [b, 0]]:
    # q = (1, b) / sqrt(1 + b^2), p = (1, 1) sqrt(1 + b^2) / (1 + b), B(q, q) = (-2 a q_1^2, 0), so a_fold = (1 - b)^2 / (4 (1 + b) sqrt(1 + b^2))
    a, x = -((1 - b) ** 2) / 4, 2 / (1 - b)
    expected = (1 - b) ** 2 / (4 * (1 + b) * np.sqrt(1 + b**2))
    assert fold_coefficient(henon(a=a, b=b), [x, b * x]) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=10, deadline=None)
@given(affine_maps(2))
def test_fold_coefficient_scales_with_the_length_of_M_q(change):
    M, b = change
    system = System.from_strings({"x": "-x**2 + x*y", "y": "-y"})  # q = (1, 0), p = (1, 0), a = -1
    expected = 1.0 / np.linalg.norm(M[:, 0])
    assert abs(fold_coefficient(conjugate_formulas(system, M, b), b)) == pytest.approx(expected, rel=1e-10)


def test_fold_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"not a fold point.*eigenvalues are"):
        fold_coefficient(System.from_strings({"x": "-x"}), [0.0])


# ------------------------------------------------------------ derivatives
def test_derivatives_are_exact_for_formulas_and_differenced_otherwise():
    s, plus, _ = lorenz_hopf_points()
    exact, differenced = derivatives(s, plus), derivatives(without_formulas(s), plus)
    assert isinstance(exact, ExactDerivatives) and isinstance(differenced, DifferencedDerivatives)
    rng = np.random.default_rng(0)
    u, v, w = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    # Lorenz: B(u, v) = (0, -(u_x v_z + u_z v_x), u_x v_y + u_y v_x), C = 0
    expected = np.array([0, -(u[0] * v[2] + u[2] * v[0]), u[0] * v[1] + u[1] * v[0]])
    assert_allclose(exact.second(u, v), expected, rtol=1e-14)
    assert_allclose(differenced.second(u, v), expected, atol=1e-7 * np.abs(expected).max())
    assert_allclose(exact.third(u, v, w), 0.0)
    assert_allclose(differenced.third(u, v, w), 0.0, atol=1e-6)


def test_third_derivatives_with_repeated_and_distinct_indices():
    s = System.from_strings({"x": "x**2*y*z + y**3", "y": "x", "z": "x"})
    d = derivatives(s, [1.0, 2.0, 3.0])
    e = np.eye(3)
    # f = x^2 y z + y^3: f_xxy = 2z = 6, f_xyz = 2x = 2, f_yyy = 6, f_xxz = 2y = 4
    assert d.third(e[0], e[0], e[1])[0] == d.third(e[1], e[0], e[0])[0] == 6
    assert d.third(e[0], e[1], e[2])[0] == d.third(e[2], e[1], e[0])[0] == 2
    assert d.third(e[1], e[1], e[1])[0] == 6
    assert d.third(e[0], e[2], e[0])[0] == 4
    assert d.second(e[0], e[1])[0] == 2 * 1 * 3  # f_xy = 2 x z
