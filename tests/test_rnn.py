"""Tests of the RNN adapter (dynsys.rnn).

Conformance to PyTorch is checked against ``tests/fixtures/torch_reference.npz``
(PyTorch's own outputs, made by ``tests/fixtures/make_torch_reference.py``),
so torch is not needed here.  Jacobians are checked against central
differences computed in this file, fixed points against plain forward
iteration of contracting networks, and the continuous cell against its
formula written out in numpy.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import traced_peak
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dynsys import rnn
from dynsys.rnn import CELLS, GRU, LSTM, ContinuousRNN, VanillaRNN, from_state_dict, load

FIXTURE = Path(__file__).parent / "fixtures" / "torch_reference.npz"
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4, "continuous": 1}


def random_state_dict(cell: str, H: int, I: int, rng: np.random.Generator, scale: float = 1.0, O: int = 2) -> dict:
    G = GATES[cell]
    return {
        "weight_ih_l0": rng.uniform(-1, 1, (G * H, I)),
        "weight_hh_l0": scale * rng.standard_normal((G * H, H)) / np.sqrt(H),
        "bias_ih_l0": rng.uniform(-1, 1, G * H),
        "bias_hh_l0": rng.uniform(-1, 1, G * H),
        "readout.weight": rng.standard_normal((O, H)),
        "readout.bias": rng.standard_normal(O),
    }


def random_cell(cell: str, H: int, I: int, rng: np.random.Generator, scale: float = 1.0) -> rnn.RNNCell:
    return from_state_dict(random_state_dict(cell, H, I, rng, scale), cell, tau=0.7, dt=0.05)


cell_cases = st.tuples(
    st.sampled_from(CELLS),
    st.integers(2, 6),  # H
    st.integers(1, 3),  # I
    st.integers(0, 2**32 - 1),  # seed
    st.floats(0.3, 2.5),  # recurrent weight scale
)


def central_difference_jacobian(f, X: np.ndarray, h: float = 1e-6) -> np.ndarray:
    n = X.shape[1]
    cols = [(f(X + h * e) - f(X - h * e)) / (2 * h) for e in np.eye(n)]
    return np.stack(cols, axis=2)  # (B, i, j)


# ------------------------------------------------------------- PyTorch conformance
def fixture_case(case: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(case + "/")}


@pytest.mark.parametrize("case", ["rnn_tanh", "rnn_relu", "gru", "gru_nobias", "lstm"])
def test_step_and_run_match_pytorch(case):
    ref = fixture_case(case)
    weights = {k: v for k, v in ref.items() if k.startswith(("weight_", "bias_"))}  # not the inputs and outputs
    cell = from_state_dict(weights, "gru" if case == "gru_nobias" else case)
    H = cell.hidden_size
    assert (cell.hidden_size, cell.input_size) == (5, 3)
    h0 = np.concatenate([ref["h0"], ref["c0"]], axis=1) if case == "lstm" else ref["h0"]
    states = cell.run(ref["input"], h0)
    np.testing.assert_allclose(states[..., :H], ref["output"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(states[:, -1, :H], ref["h_n"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(cell.step(h0, ref["input"][:, 0])[:, :H], ref["output"][:, 0], atol=1e-6, rtol=0)
    if case == "lstm":
        np.testing.assert_allclose(states[:, -1, H:], ref["c_n"], atol=1e-6, rtol=0)
    if case == "gru_nobias":
        assert "bias_ih_l0" not in ref and np.all(cell.bias_ih == 0) and np.all(cell.bias_hh == 0)


def test_fixture_records_torch_version():
    with np.load(FIXTURE, allow_pickle=False) as data:
        assert str(data["torch_version"]).split(".")[0].isdigit()
    assert FIXTURE.stat().st_size < 100_000


# ------------------------------------------------------------- Jacobians
@given(cell_cases)
def test_jacobian_matches_central_differences(case):
    cell_name, H, I, seed, scale = case
    rng = np.random.default_rng(seed)
    cell = random_cell(cell_name, H, I, rng, scale)
    u = rng.uniform(-1, 1, I)
    X = rng.uniform(-2, 2, (3, cell.state_dim))
    if cell_name == "rnn_relu":  # central differences need a margin from the kinks of relu
        s = X @ cell.weight_hh.T + cell.weight_ih @ u + cell.bias_ih + cell.bias_hh
        assume(np.min(np.abs(s)) > 1e-3)
    system = cell.system(u)
    J = system.jacobian(X)
    assert J.shape == (3, cell.state_dim, cell.state_dim)
    np.testing.assert_allclose(J, central_difference_jacobian(system.rhs, X), atol=1e-6, rtol=1e-6)


def case_system(case):
    """The random cell of a ``cell_cases`` example, its system at a random input, and the generator."""
    cell_name, H, I, seed, scale = case
    rng = np.random.default_rng(seed)
    cell = random_cell(cell_name, H, I, rng, scale)
    return cell, cell.system(rng.uniform(-1, 1, I)), rng


@given(cell_cases)
def test_products_are_those_with_the_dense_jacobian(case):
    """jvp and vjp (analytic, GEMM-based) against the dense analytic Jacobian, a separate formula."""
    cell, system, rng = case_system(case)
    assert system.matrix_free
    X = rng.uniform(-2, 2, (4, cell.state_dim))
    U, V = rng.standard_normal(X.shape), rng.standard_normal(X.shape)
    J = system.jacobian(X)
    np.testing.assert_allclose(system.jvp(X, V), np.einsum("bij,bj->bi", J, V), atol=1e-12)
    np.testing.assert_allclose(system.vjp(X, U), np.einsum("bji,bj->bi", J, U), atol=1e-12)
    # the adjoint identity <u, Dg v> = <Dgᵀ u, v>
    np.testing.assert_allclose(np.sum(U * system.jvp(X, V), 1), np.sum(system.vjp(X, U) * V, 1), atol=1e-11)
    # residual products: Dg - I for the discrete cells (maps), Df for the continuous one (a flow)
    DF = J - np.eye(cell.state_dim) if cell.kind == "map" else J
    np.testing.assert_allclose(system.residual_vjp(X, U), np.einsum("bji,bj->bi", DF, U), atol=1e-12)
    np.testing.assert_allclose(system.residual_jvp(X, V), np.einsum("bij,bj->bi", DF, V), atol=1e-12)


@pytest.mark.parametrize("cell_name", CELLS)
def test_products_never_form_the_jacobians(cell_name):
    """jvp and vjp of a batch allocate O(B n) memory, far below one (B, n, n) array."""
    rng = np.random.default_rng(3)
    cell = random_cell(cell_name, 256, 2, rng)
    system = cell.system(rng.uniform(-1, 1, 2))
    X = rng.uniform(-1, 1, (64, cell.state_dim))
    V = rng.standard_normal(X.shape)
    dense = X.shape[0] * cell.state_dim**2 * X.itemsize  # bytes of the (B, n, n) Jacobians: 32 MiB or more
    peak = traced_peak(lambda: system.jvp(X, V), lambda: system.vjp(X, V), lambda: system.residual_vjp(X, V))
    assert peak < dense / 8


@given(cell_cases)
def test_residual_operator_is_the_dense_residual_jacobian(case):
    """The cached operator's products against DF from the dense analytic Jacobian, for all rows and a subset."""
    cell, system, rng = case_system(case)
    X = rng.uniform(-2, 2, (5, cell.state_dim))
    U, V = rng.standard_normal(X.shape), rng.standard_normal(X.shape)
    J = system.jacobian(X)
    DF = J - np.eye(cell.state_dim) if cell.kind == "map" else J
    op = system.residual_operator(X)
    assert op.cached
    np.testing.assert_allclose(op.jvp(V), np.einsum("bij,bj->bi", DF, V), atol=1e-12)
    np.testing.assert_allclose(op.vjp(U), np.einsum("bji,bj->bi", DF, U), atol=1e-12)
    rows = rng.integers(0, 5, size=3)
    np.testing.assert_allclose(op.jvp(V[:3], rows), np.einsum("bij,bj->bi", DF[rows], V[:3]), atol=1e-12)
    np.testing.assert_allclose(op.vjp(U[:3], rows), np.einsum("bji,bj->bi", DF[rows], U[:3]), atol=1e-12)
    if cell.kind == "flow":  # reversed time: -Df
        back = system.reverse_time().residual_operator(X)
        np.testing.assert_allclose(back.vjp(U[:3], rows), -np.einsum("bji,bj->bi", J[rows], U[:3]), atol=1e-12)


@pytest.mark.parametrize("cell_name", CELLS)
def test_residual_operator_computes_the_gates_once(cell_name):
    """Building the operator evaluates the state-dependent factors; its products only multiply by W_hh."""
    rng = np.random.default_rng(4)
    cell = random_cell(cell_name, 256, 2, rng)
    evaluations = []
    tangent = cell._tangent

    def counted(X, a):
        evaluations.append(len(X))
        return tangent(X, a)

    cell._tangent = counted
    system = cell.system(rng.uniform(-1, 1, 2))
    X = rng.uniform(-1, 1, (64, cell.state_dim))
    op = system.residual_operator(X)
    assert evaluations == [64]
    rows = np.arange(0, 64, 4)
    V = rng.standard_normal((16, cell.state_dim))
    op.jvp(V, rows)  # warm up numpy's buffers before measuring
    peak = traced_peak(*[lambda: (op.jvp(V, rows), op.vjp(V, rows))] * 3)
    assert evaluations == [64]
    assert peak < cell.weight_hh.nbytes / 2  # rows of the factors, never a copy of the weights


# ------------------------------------------------------------- along an input direction
along_cases = st.tuples(cell_cases, st.floats(-1.5, 1.5))  # and the value t of s


def along_system(case):
    """A random cell, an input u, a unit direction d, states X and the cell continued along d from u."""
    (cell_name, H, I, seed, scale), _ = case
    rng = np.random.default_rng(seed)
    cell = random_cell(cell_name, H, I, rng, scale)
    u, d = rng.uniform(-1, 1, I), rng.standard_normal(I)
    d /= np.linalg.norm(d)
    X = rng.uniform(-2, 2, (3, cell.state_dim))
    return cell, u, d, X, cell.system(u, along=d)


@settings(max_examples=30, deadline=None)
@given(along_cases)
def test_derivative_along_the_input_matches_central_differences_in_s(case):
    cell, u, d, X, system = along_system(case)
    t, h = case[1], 1e-6
    if cell.cell == "rnn_relu":  # central differences need a margin from the kinks of relu
        s = X @ cell.weight_hh.T + cell.weight_ih @ (u + t * d) + cell.bias_ih + cell.bias_hh
        assume(np.min(np.abs(s)) > 1e-3)
    assert system.params == {"s": 0.0}
    # the residual at input u + (t ± h) d, from systems without parameters
    fd = (cell.system(u + (t + h) * d).residual(X) - cell.system(u + (t - h) * d).residual(X)) / (2 * h)
    np.testing.assert_allclose(system.with_params(s=t).param_derivative(X, "s"), fd, atol=1e-6, rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(along_cases)
def test_the_system_along_d_at_s_is_the_cell_at_input_u_plus_s_d(case):
    cell, u, d, X, system = along_system(case)
    t = case[1]
    moved, direct = system.with_params(s=t), cell.system(u + t * d)
    np.testing.assert_allclose(moved.residual(X), direct.residual(X), atol=1e-12)
    np.testing.assert_allclose(moved.jacobian(X), direct.jacobian(X), atol=1e-12)
    V = np.random.default_rng(1).standard_normal(X.shape)
    np.testing.assert_allclose(moved.jvp(X, V), direct.jvp(X, V), atol=1e-12)
    np.testing.assert_allclose(moved.vjp(X, V), direct.vjp(X, V), atol=1e-12)
    np.testing.assert_allclose(moved.residual_operator(X).jvp(V), direct.residual_operator(X).jvp(V), atol=1e-12)
    np.testing.assert_allclose(system.residual(X), cell.system(u).residual(X), atol=1e-12)  # s = 0 is u


def test_derivative_along_the_input_closed_forms():
    rng = np.random.default_rng(5)
    # tanh: dh'/ds = (1 - h'^2) (W_ih d)
    net = random_cell("rnn_tanh", 4, 2, rng)
    u, d, X = np.array([0.3, -0.2]), np.array([1.0, 2.0]), rng.uniform(-1, 1, (5, 4))
    h = np.tanh(X @ net.weight_hh.T + net.weight_ih @ u + net.bias_ih + net.bias_hh)
    np.testing.assert_allclose(net.system(u, along=d).param_derivative(X, "s"), (1 - h**2) * (net.weight_ih @ d))
    # continuous: dF/ds = W_ih d / tau at every state
    flow = random_cell("continuous", 3, 2, rng)
    np.testing.assert_allclose(flow.system(u, along=d).param_derivative(rng.normal(size=(4, 3)), "s"),
                               np.tile(flow.weight_ih @ d / flow.tau, (4, 1)))
    # a direction orthogonal to every row of W_ih does not move anything
    W_ih = np.array([[1.0, 1.0], [2.0, 2.0]])
    flat = VanillaRNN(W_ih, rng.normal(size=(2, 2)))
    assert not np.any(flat.system(u, along=[1.0, -1.0]).param_derivative(rng.normal(size=(3, 2)), "s"))


def test_without_along_the_system_has_no_parameters_and_keeps_its_bounds():
    rng = np.random.default_rng(2)
    for name in CELLS:
        cell = random_cell(name, 3, 2, rng)
        plain, along = cell.system([0.1, 0.2]), cell.system([0.1, 0.2], along=[0.0, 1.0])
        assert plain.params == {} and along.params == {"s": 0.0}
        with pytest.raises(ValueError, match="no parameter 's'"):
            plain.param_derivative(np.zeros((1, cell.state_dim)), "s")
        if name in ("rnn_tanh", "gru"):  # the same box at every input
            np.testing.assert_array_equal(along.bounds, plain.bounds)
        else:  # relu: no box; lstm, continuous: a box that depends on the input
            assert along.bounds is None


@pytest.mark.parametrize("along, message", [
    (np.zeros(2), "along must be a nonzero direction"),
    (np.ones(3), r"along must be a finite array of shape \(2,\)"),
    ([np.nan, 1.0], r"along must be a finite array of shape \(2,\)"),
    ([[1.0, 0.0]], r"along must be a finite array of shape \(2,\)"),
])
def test_bad_directions_are_named(along, message):
    cell = random_cell("gru", 3, 2, np.random.default_rng(3))
    with pytest.raises(ValueError, match=message):
        cell.system(np.zeros(2), along=along)


# ------------------------------------------------------------- the frequency a network produces
@settings(max_examples=20, deadline=None)
@given(st.integers(3, 24), st.integers(1, 23), st.integers(0, 23))
def test_output_frequency_of_a_shift_register_is_two_pi_over_its_length(N, ones, start):
    """N saturated tanh units shifting a block of +1s and -1s one place per step: period N, omega = 2 pi / N."""
    assume(ones < N and start < N)
    P = np.roll(np.eye(N), 1, axis=0)  # (P h)_i = h_{i-1}
    net = VanillaRNN(np.zeros((N, 1)), 6 * P, W_out=np.eye(N)[:1])
    h0 = np.roll(np.where(np.arange(N) < ones, 1.0, -1.0), start)
    omega = net.output_frequency([0.0], h0=h0, n_steps=20 * N + 7, transient=3)
    assert omega == pytest.approx(2 * np.pi / N, rel=1e-12)


def test_output_frequency_is_nan_without_oscillation_and_per_unit_time_for_flows():
    rng = np.random.default_rng(0)
    quiet = random_cell("rnn_tanh", 4, 1, rng, scale=0.3)  # contracting: settles on a fixed point
    assert np.all(np.isnan(quiet.output_frequency([[0.2], [0.5]], n_steps=300, transient=100)))
    # the continuous cell's Euler steps: per step / dt.  x' = -x + W tanh x with W = [[2, -3], [3, 2]]: an
    # unstable focus at 0 (eigenvalues 1 +- 3i) inside a limit cycle, whose frequency the FFT measures too
    W = np.array([[2.0, -3.0], [3.0, 2.0]])
    flow = ContinuousRNN(np.zeros((2, 1)), W, W_out=np.array([[1.0, 0.0]]), tau=1.0, dt=0.01)
    per_step = flow.output_frequency([0.0], h0=[0.5, 0.0], n_steps=20000, transient=2000) * flow.dt
    y = flow.readout(flow.run(np.zeros((1, 20000, 1)), h0=[0.5, 0.0]))[0, 2000:, 0]
    spectrum = np.abs(np.fft.rfft((y - y.mean()) * np.hanning(len(y))))
    k = int(np.argmax(spectrum[1:])) + 1
    assert per_step == pytest.approx(2 * np.pi * k / len(y), abs=2 * np.pi / len(y))  # within one FFT bin


def test_output_frequency_checks_its_arguments():
    cell = random_cell("gru", 3, 2, np.random.default_rng(3))
    with pytest.raises(ValueError, match=r"u must have shape \(2,\) or \(L, 2\)"):
        cell.output_frequency([0.0])
    with pytest.raises(ValueError, match="transient"):
        cell.output_frequency([0.0, 0.0], n_steps=10, transient=10)
    with pytest.raises(ValueError, match="output"):
        cell.output_frequency([0.0, 0.0], output=2)


def test_system_attributes():
    rng = np.random.default_rng(0)
    lstm = random_cell("lstm", 3, 2, rng).system()
    assert (lstm.kind, lstm.dim, lstm.name) == ("map", 6, "lstm(H=3)")
    assert lstm.state_names == ("h0", "h1", "h2", "c0", "c1", "c2")
    flow = random_cell("continuous", 4, 2, rng).system()
    assert (flow.kind, flow.dim, flow.name) == ("flow", 4, "continuous(H=4)")
    gru = random_cell("gru", 4, 2, rng).system()
    assert gru.state_names == ("h0", "h1", "h2", "h3") and gru.name == "gru(H=4)"
    np.testing.assert_array_equal(gru.bounds, np.tile([-1.0, 1.0], (4, 1)))


# ------------------------------------------------------------- fixed points
@given(cell_cases)
def test_fixed_points_of_iteration_are_zeros_of_the_residual(case):
    """Forward iteration of a contracting network converges to a fixed point x*
    (found without dynsys's solver); system(u) must have F(x*) = 0 there, and
    its bounds must hold x*."""
    cell_name, H, I, seed, _ = case
    rng = np.random.default_rng(seed)
    cell = random_cell(cell_name, H, I, rng, scale=0.2)  # ‖W_hh‖ small: each cell contracts
    u = rng.uniform(-1, 1, I)
    X = rng.uniform(-1, 1, (3, cell.state_dim))
    for _ in range(2000 if cell_name in ("continuous", "lstm") else 300):  # the forget gate may be near 1
        X_prev, X = X, cell.step(X, u)
    assert np.max(np.abs(X - X_prev)) < 1e-13  # converged
    system = cell.system(u)
    assert np.max(np.abs(system.residual(X))) < 1e-11
    if cell_name == "continuous":  # the residual of a flow is f; x* is a zero of the formula
        np.testing.assert_allclose(system.rhs(X), 0, atol=1e-11)
    else:
        np.testing.assert_allclose(system.rhs(X), X, atol=1e-12)
    if system.bounds is not None:
        assert np.all((system.bounds[:, 0] <= X) & (X <= system.bounds[:, 1]))


# ------------------------------------------------------------- equations
def test_continuous_rnn_follows_its_formula():
    rng = np.random.default_rng(1)
    H, I, tau, dt = 4, 2, 0.7, 0.05
    sd = random_state_dict("continuous", H, I, rng)
    cell = from_state_dict(sd, "continuous", tau=tau, dt=dt)
    W, Wi, b = sd["weight_hh_l0"], sd["weight_ih_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"]
    X, U = rng.standard_normal((5, H)), rng.standard_normal((5, I))
    f = np.stack([(-x + W @ np.tanh(x) + Wi @ v + b) / tau for x, v in zip(X, U)])
    np.testing.assert_allclose(cell.rhs(X, U), f, atol=1e-14)
    np.testing.assert_allclose(cell.step(X, U), X + dt * f, atol=1e-14)
    f_u0 = np.stack([(-x + W @ np.tanh(x) + Wi @ U[0] + b) / tau for x in X])
    np.testing.assert_allclose(cell.system(U[0]).rhs(X), f_u0, atol=1e-14)
    Useq = rng.standard_normal((2, 3, I))
    x = np.zeros((2, H))
    for t in range(3):
        x = x + dt / tau * (-x + np.tanh(x) @ W.T + Useq[:, t] @ Wi.T + b)
    np.testing.assert_allclose(cell.run(Useq)[:, -1], x, atol=1e-14)
    np.testing.assert_allclose(cell.readout(X), np.tanh(X) @ sd["readout.weight"].T + sd["readout.bias"], atol=1e-14)


@pytest.mark.parametrize("cell_name", ["rnn_tanh", "gru", "lstm"])
def test_readout_reads_the_h_part(cell_name):
    rng = np.random.default_rng(2)
    sd = random_state_dict(cell_name, 3, 2, rng, O=4)
    cell = from_state_dict(sd, cell_name)
    X = rng.standard_normal((5, 6, cell.state_dim))  # any leading axes
    expected = X[..., :3] @ sd["readout.weight"].T + sd["readout.bias"]
    np.testing.assert_allclose(cell.readout(X), expected, atol=1e-14)
    assert cell.output_size == 4


def test_input_shape_errors():
    cell = random_cell("gru", 3, 2, np.random.default_rng(3))
    with pytest.raises(ValueError, match=r"H must have shape \(B, 3\)"):
        cell.step(np.zeros((2, 4)), np.zeros(2))
    with pytest.raises(ValueError, match=r"U must have shape \(2, 2\)"):
        cell.step(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(4, 3\) or \(3,\)"):
        cell.run(np.zeros((4, 5, 2)), np.zeros((2, 3)))
    h0 = np.array([0.1, -0.2, 0.3])  # one initial state for the whole batch
    np.testing.assert_array_equal(cell.run(np.zeros((2, 1, 2)), h0)[:, 0], cell.step(np.stack([h0, h0]), np.zeros(2)))
    with pytest.raises(ValueError, match=r"U_seq must have shape \(B, T, 2\)"):
        cell.run(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"u must be a finite array of shape \(2,\)"):
        cell.system(np.zeros(3))
    with pytest.raises(ValueError, match="no readout"):
        GRU(cell.weight_ih, cell.weight_hh).readout(np.zeros((1, 3)))


# ------------------------------------------------------------- files
@pytest.mark.parametrize("cell_name", CELLS)
def test_save_load_round_trip_is_exact(tmp_path, cell_name):
    rng = np.random.default_rng(4)
    cell = random_cell(cell_name, 4, 3, rng)
    cell.meta.update({"seed": 7, "command": "python -m dynsys.tasks.train flipflop", "final_loss": 1.25e-3})
    path = cell.save(tmp_path / "model.npz")
    back = load(path)
    assert type(back) is type(cell) and back.cell == cell_name
    for key, value in cell.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value)
    assert back.meta["seed"] == 7 and back.meta["final_loss"] == 1.25e-3 and back.meta["cell"] == cell_name
    if cell_name == "continuous":
        assert (back.tau, back.dt) == (0.7, 0.05)
    with np.load(path, allow_pickle=False) as data:  # the contract's layout
        assert set(data.files) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                   "readout.weight", "readout.bias", "meta"}
        assert json.loads(str(data["meta"][()]))["cell"] == cell_name
    X = rng.standard_normal((3, cell.state_dim))
    np.testing.assert_array_equal(back.system().rhs(X), cell.system().rhs(X))


def test_load_rejects_files_that_are_not_models(tmp_path):
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not an .npz file"):
        load(tmp_path / "text.npz")
    np.savez(tmp_path / "nometa.npz", weight_hh_l0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no 'meta'"):
        load(tmp_path / "nometa.npz")
    np.savez(tmp_path / "badcell.npz", weight_ih_l0=np.zeros((2, 1)), weight_hh_l0=np.zeros((2, 2)),
             meta=np.array(json.dumps({"cell": "transformer"})))
    with pytest.raises(ValueError, match="cell must be one of"):
        load(tmp_path / "badcell.npz")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


# ------------------------------------------------------------- from_state_dict
def test_state_dict_errors_name_key_and_shapes():
    rng = np.random.default_rng(5)
    sd = random_state_dict("gru", 5, 3, rng)
    with pytest.raises(ValueError, match="cell must be one of.*'elman'"):
        from_state_dict(sd, "elman")
    with pytest.raises(KeyError, match="weight_hh_l0"):
        from_state_dict({k: v for k, v in sd.items() if k != "weight_hh_l0"}, "gru")
    with pytest.raises(KeyError, match="weight_ih_l0"):
        from_state_dict({k: v for k, v in sd.items() if k != "weight_ih_l0"}, "gru")
    with pytest.raises(ValueError, match=r"weight_ih_l0.*shape \(15, 3\).*got \(12, 3\)"):
        from_state_dict({**sd, "weight_ih_l0": np.zeros((12, 3))}, "gru")
    with pytest.raises(ValueError, match=r"bias_hh_l0.*shape \(15,\).*got \(5,\)"):
        from_state_dict({**sd, "bias_hh_l0": np.zeros(5)}, "gru")
    with pytest.raises(ValueError, match=r"weight_hh_l0.*\(4\*H, H\).*got \(15, 5\)"):
        from_state_dict(sd, "lstm")
    with pytest.raises(ValueError, match=r"readout.weight.*shape \(2, 5\).*got \(2, 4\)"):
        from_state_dict({**sd, "readout.weight": np.zeros((2, 4))}, "gru", readout="readout")
    with pytest.warns(UserWarning, match=r"not used.*readout\.weight"):  # not (O, H): no readout, and said so
        assert from_state_dict({**sd, "readout.weight": np.zeros((2, 4))}, "gru").W_out is None
    bad = sd["weight_hh_l0"].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"weight_hh_l0.*1 non-finite.*\(3, 1\)"):
        from_state_dict({**sd, "weight_hh_l0": bad}, "gru")
    with pytest.raises(ValueError, match=r"bias_ih_l0.*non-finite"):
        from_state_dict({**sd, "bias_ih_l0": np.full(15, np.inf)}, "gru")
    with pytest.raises(ValueError, match="weight_hh_l1"):  # a second layer is not silently ignored
        from_state_dict({**sd, "weight_hh_l1": sd["weight_hh_l0"]}, "gru")


def test_state_dict_with_module_prefix_and_tensor_like_values():
    """A model's state_dict ("rnn.weight_ih_l0", "readout.weight") and tensors
    (objects with .detach().cpu().numpy(), here in float32) load as they are."""

    class FakeTensor:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a.astype(np.float32)

    rng = np.random.default_rng(6)
    sd = random_state_dict("rnn_tanh", 3, 2, rng)
    model = {("" if k.startswith("readout") else "rnn.") + k: FakeTensor(v) for k, v in sd.items()}
    model["encoder.weight"] = FakeTensor(np.zeros((2, 2)))
    with pytest.warns(UserWarning, match=r"not used.*: encoder\.weight$"):
        cell = from_state_dict(model, "rnn_tanh")
    assert cell.weight_hh.dtype == np.float64
    np.testing.assert_array_equal(cell.weight_hh, sd["weight_hh_l0"].astype(np.float32))
    np.testing.assert_array_equal(cell.W_out, sd["readout.weight"].astype(np.float32))


def test_biases_default_to_zero():
    rng = np.random.default_rng(7)
    W_ih, W_hh = rng.standard_normal((4, 2)), rng.standard_normal((4, 4))
    cell = from_state_dict({"weight_ih_l0": W_ih, "weight_hh_l0": W_hh}, "rnn_relu")
    assert isinstance(cell, VanillaRNN) and cell.nonlinearity == "relu"
    X, U = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(cell.step(X, U), np.maximum(U @ W_ih.T + X @ W_hh.T, 0), atol=1e-14)


def test_constructors_check_their_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        VanillaRNN(np.zeros((2, 1)), np.zeros((2, 2)), nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="tau"):
        ContinuousRNN(np.zeros((2, 1)), np.zeros((2, 2)), tau=0)
    with pytest.raises(ValueError, match="b_out"):
        LSTM(np.zeros((8, 1)), np.zeros((8, 2)), b_out=np.zeros(1))


# ------------------------------------------------------------- bundled model, torch
def test_load_flipflop(monkeypatch, tmp_path):
    if rnn.FLIPFLOP_PATH.is_file():
        cell = rnn.load_flipflop()
        assert (cell.cell, cell.hidden_size, cell.input_size, cell.output_size) == ("rnn_tanh", 64, 3, 3)
    monkeypatch.setattr(rnn, "FLIPFLOP_PATH", tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match=r"python -m dynsys\.tasks\.train flipflop --bits 3 --hidden 64"):
        rnn.load_flipflop()


def test_load_sinewave(monkeypatch, tmp_path):
    cell = rnn.load_sinewave()
    assert (cell.cell, cell.hidden_size, cell.input_size, cell.output_size) == ("rnn_tanh", 64, 1, 1)
    assert cell.meta["command"] == rnn.SINEWAVE_COMMAND
    monkeypatch.setattr(rnn, "SINEWAVE_PATH", tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match=r"python -m dynsys\.tasks\.train sinewave --hidden 64"):
        rnn.load_sinewave()


def test_from_torch_matches_the_module():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for module in (torch.nn.RNN(3, 4, nonlinearity="relu"), torch.nn.GRU(3, 4, batch_first=True), torch.nn.LSTM(3, 4)):
        module = module.double()
        readout = torch.nn.Linear(4, 2).double()
        cell = rnn.from_torch(module, readout)
        x = torch.randn(2, 5, 3, dtype=torch.float64)
        with torch.no_grad():
            out = module(x if module.batch_first else x.transpose(0, 1))[0]
            out = out if module.batch_first else out.transpose(0, 1)
            y = readout(out)
        states = cell.run(x.numpy())
        np.testing.assert_allclose(states[..., :4], out.numpy(), atol=1e-12)
        np.testing.assert_allclose(cell.readout(states), y.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="num_layers=2"):
        rnn.from_torch(torch.nn.GRU(3, 4, num_layers=2))
    with pytest.raises(TypeError, match="Linear"):
        rnn.from_torch(torch.nn.Linear(3, 4))
