"""Tests of dynsys.simulate against exact solutions and hand iteration."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import expm

from dynsys.simulate import (
    IVP_METHODS,
    Trajectories,
    advance,
    sample_states,
    settling_period,
    simulate,
    step_size,
    stepper,
)
from dynsys.systems import System

x = sp.Symbol("x", real=True)
ALL_FLOW_METHODS = ("rk4", *IVP_METHODS)


def linear_flow(A: np.ndarray) -> System:
    """dx/dt = A x, vectorised, with its exact Jacobian A."""
    n = A.shape[0]
    return System.from_callable(
        lambda X: X @ A.T, n, lambda X: np.broadcast_to(A, (len(X), n, n)), vectorized=True, name="linear"
    )


def exact_linear(A: np.ndarray, X0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """x(t_k) = expm(t_k A) x0 for every start, shape (B, T, n)."""
    return np.stack([X0 @ expm(tk * A).T for tk in t], axis=1)


def random_matrix(seed: int, n: int) -> np.ndarray:
    """A random n x n matrix scaled to spectral norm 1."""
    A = np.random.default_rng(seed).standard_normal((n, n))
    return A / np.linalg.norm(A, 2)


# ----------------------------------------------------------------- linear flows
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))
def test_rk4_default_step_matches_matrix_exponential(seed: int, n: int) -> None:
    A = random_matrix(seed, n)
    X0 = np.random.default_rng(seed + 1).standard_normal((5, n))
    tr = simulate(linear_flow(A), X0, (0.0, 2.0), n_points=9, method="rk4")
    exact = exact_linear(A, X0, tr.t)
    # h L <= 0.2 with L >= ||A v|| for the estimate: global error <= t L (h L)^4 / 120 e^{t ||A||} |x0| ~ 2e-4 |x0|
    assert tr.method == "rk4" and tr.X.shape == (5, 9, n) and not tr.diverged.any()
    np.testing.assert_allclose(tr.X, exact, atol=1e-3 * np.abs(X0).max())


@pytest.mark.parametrize("method", ALL_FLOW_METHODS)
def test_every_method_matches_matrix_exponential_for_a_batch(method: str) -> None:
    A = np.array([[-0.5, 2.0, 0.0], [-2.0, -0.5, 0.0], [0.0, 0.0, 0.3]])  # a stable focus and a slow unstable axis
    X0 = np.random.default_rng(0).standard_normal((6, 3))
    t_eval = np.array([0.0, 0.3, 1.0, 2.5])
    tr = simulate(linear_flow(A), X0, (0.0, 2.5), t_eval=t_eval, method=method, dt=0.01 if method == "rk4" else None,
                  rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(tr.t, t_eval)
    np.testing.assert_allclose(tr.X, exact_linear(A, X0, t_eval), rtol=1e-6, atol=1e-7)
    assert tr.kind == "flow" and tr.method == method
    np.testing.assert_array_equal(tr.final, tr.X[:, -1])


def test_rk4_error_is_fourth_order() -> None:
    """Halving the step divides the error of a fourth-order method by 2^4 = 16."""
    A = np.array([[0.0, 1.0], [-4.0, -0.2]])
    X0 = np.array([[1.0, 0.0], [0.3, -2.0]])
    exact = exact_linear(A, X0, np.array([3.0]))[:, 0]
    err = [np.abs(simulate(linear_flow(A), X0, (0.0, 3.0), n_points=2, method="rk4", dt=h).final - exact).max()
           for h in (0.1, 0.05)]
    assert 13 < err[0] / err[1] < 19


def test_auto_is_dop853_unless_a_row_diverges() -> None:
    square = System.from_sympy([x**2], [x])
    t = np.linspace(0.0, 0.9, 4)
    benign = simulate(square, [[-1.0], [0.5]], (0.0, 0.9), t_eval=t)
    assert benign.method == "DOP853"
    np.testing.assert_allclose(benign.X[:, :, 0], [-1.0 / (1.0 + t), 0.5 / (1.0 - 0.5 * t)], rtol=1e-6)
    mixed = simulate(square, [[-1.0], [2.0]], (0.0, 0.9), t_eval=t)  # 2 / (1 - 2t) blows up at t = 0.5
    assert mixed.method == "rk4"
    np.testing.assert_array_equal(mixed.diverged, [False, True])
    np.testing.assert_allclose(mixed.X[0, :, 0], -1.0 / (1.0 + t), rtol=1e-6)
    assert simulate(square, [-1.0], (0.0, 0.9), dt=0.1).method == "rk4"


def test_output_times_start_after_t0() -> None:
    decay = System.from_sympy([-x], [x])
    tr = simulate(decay, [2.0], (0.0, 3.0), t_eval=[1.0, 3.0], method="rk4", dt=0.01)
    np.testing.assert_allclose(tr.X[0, :, 0], 2.0 * np.exp(-np.array([1.0, 3.0])), rtol=1e-8)


# ----------------------------------------------------------------------- maps
def test_map_matches_hand_iteration() -> None:
    r, starts, steps = 3.7, [0.2, 0.5, 0.9], 12
    logistic = System.from_sympy([r * x * (1 - x)], [x], kind="map")
    expected = []
    for x0 in starts:
        row = [x0]
        for _ in range(steps):
            row.append(r * row[-1] * (1 - row[-1]))
        expected.append(row)
    tr = simulate(logistic, np.array(starts)[:, None], steps=steps)
    assert tr.kind == "map" and tr.X.shape == (3, steps + 1, 1)
    np.testing.assert_array_equal(tr.t, np.arange(steps + 1))
    np.testing.assert_allclose(tr.X[:, :, 0], expected, rtol=1e-12)
    assert not tr.diverged.any()


def test_map_divergence_from_the_escaping_step_on() -> None:
    """x -> x^2 from 2 gives 2^(2^k): 2^16 <= 1e6 < 2^32, so row 0 escapes at step 5."""
    square = System.from_sympy([x**2], [x], kind="map")
    tr = simulate(square, [[2.0], [0.5]], steps=8)
    k = np.arange(9)
    np.testing.assert_allclose(tr.X[0, :5, 0], 2.0 ** (2.0**k[:5]))
    assert np.isnan(tr.X[0, 5:]).all()
    np.testing.assert_allclose(tr.X[1, :, 0], 0.5 ** (2.0**k))
    np.testing.assert_array_equal(tr.diverged, [True, False])


def test_map_with_zero_steps_keeps_the_start() -> None:
    tr = simulate(System.from_sympy([x / 2], [x], kind="map"), [3.0], steps=0)
    np.testing.assert_array_equal(tr.X, [[[3.0]]])


# ----------------------------------------------------------------- divergence
@pytest.mark.parametrize("method", ALL_FLOW_METHODS)
def test_blow_up_is_flagged_and_spares_the_benign_row(method: str) -> None:
    """dx/dt = x^2 has x(t) = x0 / (1 - x0 t): from 1 it blows up at t = 1, from -1 it decays."""
    tr = simulate(System.from_sympy([x**2], [x]), [[1.0], [-1.0]], (0.0, 3.0), n_points=13, method=method)
    np.testing.assert_array_equal(tr.diverged, [True, False])
    np.testing.assert_allclose(tr.X[1, :, 0], -1.0 / (1.0 + tr.t), rtol=1e-4)
    before = tr.t <= 0.5
    np.testing.assert_allclose(tr.X[0, before, 0], 1.0 / (1.0 - tr.t[before]), rtol=1e-4)
    assert np.isnan(tr.X[0, tr.t >= 1.5]).all()
    nan = np.isnan(tr.X[0, :, 0])
    assert np.all(nan[np.argmax(nan):])  # NaN from the first NaN on


@pytest.mark.parametrize("method", ("rk4", "RK45", "LSODA", "BDF"))
def test_singularity_below_max_norm_is_flagged(method: str) -> None:
    """dx/dt = exp(x): x(t) = -log(exp(-x0) - t) blows up at t = exp(-x0), where f overflows first."""
    tr = simulate(System.from_sympy([sp.exp(x)], [x]), [[0.0], [-3.0]], (0.0, 3.0), n_points=7, method=method)
    np.testing.assert_array_equal(tr.diverged, [True, False])
    np.testing.assert_allclose(tr.X[1, :, 0], -np.log(np.exp(3.0) - tr.t), rtol=1e-5)


def test_max_norm_bounds_growth() -> None:
    """dx/dt = x from 1 is e^t: it passes 100 at t = log 100 = 4.6."""
    tr = simulate(System.from_sympy([x], [x]), [[1.0], [-1e-3]], (0.0, 6.0), n_points=7, max_norm=100.0)
    np.testing.assert_array_equal(tr.diverged, [True, False])
    np.testing.assert_allclose(tr.X[0, :5, 0], np.exp(tr.t[:5]), rtol=1e-4)
    assert np.isnan(tr.X[0, 5:]).all()


# -------------------------------------------------------------- sample_states
def trajectories_with_nan() -> Trajectories:
    X = np.arange(2 * 4 * 3, dtype=float).reshape(2, 4, 3)
    X[1, 2:] = np.nan
    return Trajectories(t=np.arange(4), X=X, diverged=np.array([False, True]), kind="map", method="iterate")


def test_sample_states_draws_finite_visited_states() -> None:
    tr = trajectories_with_nan()
    finite = {tuple(s) for s in tr.X.reshape(-1, 3) if np.isfinite(s).all()}
    drawn = sample_states(tr, 6, seed=1)
    assert drawn.shape == (6, 3)
    assert {tuple(s) for s in drawn} == finite  # 6 finite states, drawn without replacement
    assert sample_states(tr.X, 20, seed=1).shape == (20, 3)  # with replacement beyond 6
    assert sample_states(tr.X.reshape(-1, 3), 0).shape == (0, 3)
    after = sample_states(tr, 30, burn_in=3, seed=0)
    assert {tuple(s) for s in after} == {tuple(tr.X[0, 3])}


@given(seed=st.integers(0, 2**32 - 1))
def test_sample_states_is_reproducible(seed: int) -> None:
    X = np.random.default_rng(0).standard_normal((5, 7, 2))
    a = sample_states(X, 8, noise=0.1, seed=seed)
    np.testing.assert_array_equal(a, sample_states(X, 8, noise=0.1, seed=np.random.default_rng(seed)))


def test_sample_states_noise_has_the_requested_std() -> None:
    X = np.zeros((1, 1, 3))
    drawn = sample_states(X, 20000, noise=0.25, seed=3)
    # the std estimate of 60000 normal draws has relative standard error 1/sqrt(2 * 60000) = 0.3 %
    assert abs(drawn.std() / 0.25 - 1) < 0.015 and abs(drawn.mean()) < 0.01


def test_sample_states_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no finite states"):
        sample_states(np.full((2, 3, 2), np.nan), 4)
    with pytest.raises(ValueError, match="no finite states"):
        sample_states(trajectories_with_nan(), 4, burn_in=4)
    with pytest.raises(ValueError, match="shape"):
        sample_states(np.zeros(5), 2)
    with pytest.raises(ValueError, match="burn_in"):
        sample_states(np.zeros((5, 2)), 2, burn_in=1)
    with pytest.raises(ValueError, match="noise"):
        sample_states(np.zeros((5, 2)), 2, noise=-1.0)
    with pytest.raises(ValueError, match="n must"):
        sample_states(np.zeros((5, 2)), -1)


# --------------------------------------------------------------- input errors
def test_simulate_rejects_bad_input() -> None:
    flow = System.from_sympy([-x], [x])
    a_map = System.from_sympy([x / 2], [x], kind="map")
    cases = [
        (lambda: simulate(flow, [[1.0, 2.0]], (0, 1)), "x0 must have shape"),
        (lambda: simulate(flow, [np.nan], (0, 1)), "x0 must be finite"),
        (lambda: simulate(flow, [1.0]), "t_span"),
        (lambda: simulate(flow, [1.0], (1, 0)), "t0 < t1"),
        (lambda: simulate(flow, [1.0], (0, np.inf)), "finite"),
        (lambda: simulate(flow, [1.0], (0, 1), steps=3), "steps applies to maps"),
        (lambda: simulate(flow, [1.0], (0, 1), method="euler"), "method must be one of"),
        (lambda: simulate(flow, [1.0], (0, 1), method="RK45", dt=0.1), "dt applies to method='rk4'"),
        (lambda: simulate(flow, [1.0], (0, 1), dt=-0.1), "dt must be"),
        (lambda: simulate(flow, [1.0], (0, 1), n_points=1), "n_points"),
        (lambda: simulate(flow, [1.0], (0, 1), n_points=5, t_eval=[0, 1]), "not both"),
        (lambda: simulate(flow, [1.0], (0, 1), t_eval=[0.5, 0.2]), "t_eval"),
        (lambda: simulate(flow, [1.0], (0, 1), t_eval=[0.5, 2.0]), "t_eval"),
        (lambda: simulate(flow, [1.0], (0, 1), max_norm=0), "max_norm"),
        (lambda: simulate(a_map, [1.0]), "steps must be"),
        (lambda: simulate(a_map, [1.0], steps=2.5), "steps must be"),
        (lambda: simulate(a_map, [1.0], steps=-1), "steps must be"),
        (lambda: simulate(a_map, [1.0], (0, 1), steps=2), "apply to flows only"),
        (lambda: simulate(a_map, [1.0], steps=2, method="rk4"), "apply to flows only"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("method", ("RK45", "DOP853", "BDF", "LSODA"))
def test_batching_does_not_loosen_a_rows_tolerance(method: str) -> None:
    """One moving row among 299 rows resting at the fixed point 0 is solved as if alone.

    The resting rows' errors are zero, so an error norm that is an RMS over all B*n components
    would be sqrt(B) times smaller than the moving row's own, and its steps sqrt(B) times looser.
    """
    A = np.array([[-0.5, 2.0, 0.0], [-2.0, -0.5, 0.0], [0.0, 0.0, 0.3]])
    X0 = np.zeros((300, 3))
    X0[0] = [1.0, -2.0, 0.5]
    batched = simulate(linear_flow(A), X0, (0.0, 2.5), n_points=2, method=method).final
    alone = simulate(linear_flow(A), X0[0], (0.0, 2.5), n_points=2, method=method).final[0]
    exact = exact_linear(A, X0[:1], np.array([2.5]))[0, 0]
    np.testing.assert_array_equal(batched[1:], 0.0)
    error_alone = np.abs(alone - exact).max()
    assert error_alone < 1e-5 and np.abs(batched[0] - exact).max() <= 2 * error_alone


def test_settling_period_of_the_logistic_map():
    # r = 2.8: the fixed point 1 - 1/r attracts; r = 3.2: a 2-cycle; r = 3.5: a 4-cycle;
    # r = 4: chaos (no period <= 8); these are the classical period-doubling windows
    for r, expected in [(2.8, 1), (3.2, 2), (3.5, 4), (4.0, 0)]:
        logistic = System.from_sympy([r * x * (1 - x)], [x], kind="map")
        period, final = settling_period(logistic, np.array([[0.2], [0.3], [0.61]]), steps=2000)
        assert period.tolist() == [expected] * 3, r
        if expected == 1:
            np.testing.assert_allclose(final[:, 0], 1 - 1 / r, rtol=1e-9)
        if expected == 2:  # the 2-cycle solves r^2 x^2 - r(r + 1) x + (r + 1) = 0
            assert np.min(np.abs(final[:, :1] - np.roots([r * r, -r * (r + 1), r + 1])), axis=1).max() < 1e-6


# ------------------------------------------------------------------ advance
@given(rate=st.floats(0.1, 3.0), duration=st.floats(0.1, 3.0), x0=st.floats(-5.0, 5.0))
def test_advance_a_linear_flow_by_a_duration(rate: float, duration: float, x0: float) -> None:
    # dx/dt = -rate x: x(t) = x0 exp(-rate t), at equally spaced stored times.  rk4 with h rate <= 0.2
    # errs by (h rate)^5 / 120 per step, rate t / 0.2 steps: relative error <= 1.4e-5 rate t <= 1.3e-4
    x = sp.Symbol("x")
    tr = advance(System.from_sympy([-rate * x], [x]), [[x0]], duration, n_points=5)
    np.testing.assert_allclose(tr.t, np.linspace(0.0, duration, 5))
    np.testing.assert_allclose(tr.X[0, :, 0], x0 * np.exp(-rate * tr.t), rtol=1.5e-4, atol=1e-12)


@given(duration=st.floats(0.01, 200.0), n_points=st.integers(2, 70))
def test_advance_a_map_by_whole_iterations(duration: float, n_points: int) -> None:
    # x -> x / 2 for m = ceil(duration) iterations; stored: distinct rounded equally spaced iterations
    x = sp.Symbol("x")
    m = int(np.ceil(duration))
    tr = advance(System.from_sympy([x / 2], [x], kind="map"), [[1.0]], duration, n_points=n_points)
    assert tr.t[0] == 0 and tr.t[-1] == m and np.all(np.diff(tr.t) > 0)
    assert len(tr.t) == min(m + 1, n_points)  # spacing m / (n_points - 1) > 1 when fewer: no two merge
    np.testing.assert_array_equal(tr.X[0, :, 0], 0.5 ** tr.t)
    assert len(advance(System.from_sympy([x / 2], [x], kind="map"), [[1.0]], duration).t) == m + 1


def test_advance_rejects_a_bad_duration() -> None:
    x = sp.Symbol("x")
    with pytest.raises(ValueError, match="duration"):
        advance(System.from_sympy([-x], [x]), [[1.0]], 0.0)


def test_stepper_is_one_step_of_either_kind() -> None:
    x = sp.Symbol("x")
    flow, halve = System.from_sympy([-x], [x]), System.from_sympy([x / 2], [x], kind="map")
    h = step_size(flow, [[0.0]], 0.5)  # Df = -1: h = 0.5
    assert h == 0.5 and step_size(halve, [[1.0]]) == 1.0
    np.testing.assert_allclose(stepper(flow, h)(np.array([[1.0]])), [[np.exp(-0.5)]], rtol=1e-3)
    np.testing.assert_array_equal(stepper(halve, 1.0)(np.array([[1.0]])), [[0.5]])
