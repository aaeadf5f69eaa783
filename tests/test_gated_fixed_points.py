"""find_fixed_points on gated networks: saturated regions and fixed points behind nearly closed gates.

Expected points come from closed forms: the GRU below is built by hand with
diagonal weights and constant gates, so its fixed points solve scalar
equations h = tanh(w h + c) (roots by ``scipy.optimize.brentq``) and its
Jacobian is diagonal with the entries z + (1 - z)(1 - n²) r w; the saturated
region of F = (a e^-y, b - y/2) has no zero because a e^-y > 0.
"""
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from dynsys import System, rnn
from dynsys.fixed_points import find_fixed_points, numeric
from dynsys.fixed_points.criteria import saturated
from dynsys.fixed_points.jacobians import DenseJacobian

MEMORY_GAIN = 4.0  # W_hn of the two memory units; with r = 1/2, h = tanh(2 h): 0 and +-h*
SLOW_GATE_BIAS = 13.0  # update-gate bias of the other units: 1 - z = sigma(-13) ~ 2.3e-6
SLOW_BIASES = np.linspace(-1.0, 1.0, 6)  # their candidates n_k = tanh(c_k + h_k / 2)


def hand_built_gru():
    """A GRU with 8 units and no input: units 0, 1 bistable (z = r = 1/2, W_hn = 4), units 2..7
    behind nearly closed update gates (z = sigma(13)) with n_k = tanh(c_k + h_k / 2)."""
    n = 8
    W_hh, b_ih = np.zeros((3 * n, n)), np.zeros(3 * n)
    W_hh[2 * n, 0] = W_hh[2 * n + 1, 1] = MEMORY_GAIN  # n-block rows of units 0, 1
    W_hh[2 * n + np.arange(2, n), np.arange(2, n)] = 1.0
    b_ih[n + 2 : 2 * n] = SLOW_GATE_BIAS  # z-block
    b_ih[2 * n + 2 :] = SLOW_BIASES  # n-block
    weights = {"weight_ih_l0": np.zeros((3 * n, 1)), "weight_hh_l0": W_hh, "bias_ih_l0": b_ih,
               "bias_hh_l0": np.zeros(3 * n)}
    return rnn.from_state_dict(weights, "gru")


def closed_form_fixed_points():
    """The 9 fixed points: h0, h1 in {-h*, 0, h*} (h* > 0 the root of h = tanh(2h)), h_k the root of
    h = tanh(c_k + h/2); and the number of unstable memory units (the index) of each."""
    h_star = brentq(lambda h: h - np.tanh(2.0 * h), 0.5, 1.0)
    slow = [brentq(lambda h, c=c: h - np.tanh(c + 0.5 * h), -1.0, 1.0) for c in SLOW_BIASES]
    memory = np.array([(a, b) for a in (-h_star, 0.0, h_star) for b in (-h_star, 0.0, h_star)])
    X = np.hstack([memory, np.tile(slow, (9, 1))])
    return X, np.sum(memory == 0.0, axis=1)


def test_hand_built_gru_fixed_points_are_found_behind_nearly_closed_gates():
    cell = hand_built_gru()
    system = cell.system()
    X, index = closed_form_fixed_points()
    np.testing.assert_allclose(system.residual(X), 0.0, atol=1e-15)  # the closed forms are zeros
    starts = np.random.default_rng(0).uniform(-1.2, 1.2, (256, 8))
    result = find_fixed_points(system, starts)
    assert len(result) == 9 and result.is_fixed.all()
    order = [int(np.argmin(np.abs(result.x - p).max(axis=1))) for p in X]
    np.testing.assert_allclose(result.x[order], X, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(result.index[order], index)
    # Dg is diagonal: z + (1 - z)(1 - h^2) r w at a fixed point (n = h), r = 1/2
    z = np.r_[0.5, 0.5, np.full(6, 1.0 / (1.0 + np.exp(-SLOW_GATE_BIAS)))]
    w = np.r_[MEMORY_GAIN, MEMORY_GAIN, np.ones(6)]
    expected = np.sort(z + (1.0 - z) * (1.0 - X**2) * 0.5 * w, axis=1)
    np.testing.assert_allclose(np.sort(result.eigenvalues[order].real, axis=1), expected, atol=1e-9)
    assert result.stats["n_slow"] == 0 and result.stats["n_saturated"] == 0


def gate_system(a=1.0, b=10.0):
    """F = (a e^-y, b - y/2): x moves at the speed a e^-y, tiny where the gate e^-y closes (y = 2b)."""
    return System.from_strings({"x": f"{a} * exp(-y)", "y": f"{b} - y / 2"})


def test_saturated_region_is_reported_as_saturated_not_as_slow_points():
    # a e^-y > 0: no fixed point.  LM drives y to 2b = 20, where |F| = a e^-20 ~ 2e-9 > tol and
    # q = a^2 e^-40 / 2 is flat in x (F does not depend on x): without the saturation test these
    # starts stopped as slow points.
    starts = np.column_stack([np.linspace(-2.0, 2.0, 32), np.linspace(15.0, 25.0, 32)])
    result = find_fixed_points(gate_system(), starts, max_slow_q=np.inf)
    assert len(result) == 0
    assert result.stats["n_saturated"] == 32 and result.stats["n_slow"] == 0


@settings(max_examples=20, deadline=None)
@given(a=st.floats(0.1, 10.0), b=st.floats(3.0, 12.0), x=st.floats(-3.0, 3.0))
def test_criterion_flags_a_closed_gate(a, b, x):
    # at y = 2b: F = (a e^-2b, 0) (F_y = 0 up to rounding, ~1e-15 << a e^-24), DF = [[0, -a e^-2b],
    # [0, -1/2]]: F lies along the null direction e_x of DF^T, along which F is constant
    system = gate_system(a, b)
    model, X = DenseJacobian(system), np.array([[x, 2.0 * b]])
    assert saturated(model, X, system.residual(X), model.evaluate(X), length=1.0).tolist() == [True]


@settings(max_examples=20, deadline=None)
@given(c=st.floats(1e-4, 1.0), length=st.floats(0.5, 5.0))
def test_criterion_spares_the_ghost_of_a_saddle_node(c, length):
    # F = (c + x^2, -y) at the origin: DF = diag(0, -1) is singular and F = (c, 0) lies along its
    # null direction, but F curves there: d^2 F_x / dx^2 = 2
    system = System.from_strings({"x": f"{c} + x**2", "y": "-y"})
    model, X = DenseJacobian(system), np.zeros((1, 2))
    assert saturated(model, X, system.residual(X), model.evaluate(X), length=length).tolist() == [False]


@settings(max_examples=20, deadline=None)
@given(k=st.floats(1e2, 1e12), y0=st.floats(-4.0, 4.0))
def test_criterion_spares_a_stiff_system(k, y0):
    # F = (-k (x - 1), -(y - 2)) at x = 1: F = (0, 2 - y0) along the slow direction e_y of
    # DF = diag(-k, -1), which still moves F at the rate 1 >= |F| / L (|y0 - 2| <= 6 < 10 L)
    system = System.from_strings({"x": f"-{k}*(x - 1)", "y": "-(y - 2)"})
    model, X = DenseJacobian(system), np.array([[1.0, y0]])
    assert saturated(model, X, system.residual(X), model.evaluate(X), length=1.0).tolist() == [False]


def test_zeros_are_never_saturated():
    system = gate_system()
    model, X = DenseJacobian(system), np.array([[0.0, 30.0]])
    assert saturated(model, X, np.zeros((1, 2)), model.evaluate(X), length=1.0).tolist() == [False]


def test_gated_benchmark_quick_mode(tmp_path):
    # the benchmark's smoke mode: a random GRU-16, its ground truth and dynsys against it
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_gated
    finally:
        sys.path.pop(0)
    assert bench_gated.main(["--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "gated_quick.json").is_file()
    # the ground truth's Newton iteration reaches the closed-form zeros of the hand-built GRU
    X, _ = closed_form_fixed_points()
    Z, ok = bench_gated.newton(hand_built_gru().system(), X + 0.01)
    assert ok.all()
    np.testing.assert_allclose(Z, X, rtol=0, atol=1e-9)


def test_newton_sweep_runs_where_gates_saturate_and_adds_only_true_zeros(monkeypatch):
    # F_x = s (x^2 - 1) + (1 - s) e^-y, s = 1 / (1 + e^(10 (x - 2))), F_y = 10 - y/2: near |x| = 1 (s ~ 1)
    # the zeros (+-1, 20) (to within e^-30 ~ 1e-13); for x > 2 (s ~ 0) F_x ~ e^-y > 0, the closed gate of
    # gate_system: starts there end saturated, which triggers the Newton sweep from the converged starts.
    # It may add zeros, never a non-zero, and takes no start's place.
    system = System.from_strings({"x": "(x**2 - 1) / (1 + exp(10*(x - 2))) + exp(-y) * (1 - 1 / (1 + exp(10*(x - 2))))",
                                  "y": "10 - y / 2"})
    rng = np.random.default_rng(3)
    near = np.column_stack([rng.choice([-1.0, 1.0], 16) + rng.uniform(-0.05, 0.05, 16), rng.uniform(19, 21, 16)])
    far = np.column_stack([rng.uniform(3.0, 5.0, 16), rng.uniform(19.0, 21.0, 16)])
    swept = []  # the starts handed to each Newton sweep
    sweep = numeric._Search._sweep
    monkeypatch.setattr(numeric._Search, "_sweep", lambda self, X0, known: swept.append(len(X0)) or sweep(self, X0, known))
    result = find_fixed_points(system, np.concatenate([near, far]), max_slow_q=np.inf)
    assert result.stats["n_starts"] == 32 and result.stats["n_saturated"] > 0
    assert swept and sum(swept) > 0  # the saturated starts did trigger a sweep, from the converged ones
    # the only zeros, (+-1, 20), are the near starts' own: the sweep, which adds only zeros farther than the
    # merge radius from those known, has nothing to add
    assert result.stats["n_sweep_zeros"] == 0
    np.testing.assert_allclose(result.fixed().x[np.argsort(result.fixed().x[:, 0])], [[-1.0, 20.0], [1.0, 20.0]],
                               atol=1e-9)
