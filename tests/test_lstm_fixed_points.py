"""Fixed points of LSTMs (state (h, c)) found by ``find_fixed_points``, against independent computations.

A *decoupled bistable* LSTM: unit k's gates i, f, o are constant
(biases b_i, b_f, b_o, no recurrent weight) and its cell input is
g = tanh(w_k h_k), so the units do not interact.  A fixed point has
c = i g / (1 - f) and h = o tanh(c), i.e. h solves the scalar equation

    h = φ(h) = o tanh(a tanh(w h)),   a = i / (1 - f),

odd in h, with slope o a w > 1 at 0 for the weights drawn here: three roots
0, ±h*, found in this file by bracketing (``scipy.optimize.brentq`` on
[1e-9, 1]), and the H-unit network has the 3^H products of them.  Unit k's
2×2 Jacobian block in (h_k, c_k) is

    [[o (1 - t²) p, o (1 - t²) f], [p, f]],   p = i w (1 - g²), t = tanh(c),

of rank 1 (its first row is o (1 - t²) times its second), so its
eigenvalues are 0 and its trace τ = o (1 - t²) p + f: the fixed point's
index is the number of units with τ > 1 (τ > 0 always).

A *coupled* LSTM adds a small random coupling of every gate to every unit;
its fixed points are computed in this file by Newton's method on the LSTM
map written out in numpy (gate order i, f, g, o, PyTorch's) with a
central-difference Jacobian, from each fixed point of the decoupled network,
and their indices from the eigenvalues of that Jacobian.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from dynsys.fixed_points import find_fixed_points
from dynsys.rnn import from_state_dict

H = 3  # units: 27 fixed points, state of dimension 6
MATCH = 1e-6  # a found point within this distance of an expected one


def sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


def decoupled_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per unit: w in [2, 4], b_i, b_o in [1, 3], b_f in [-1, 1] (so o a w >= σ(1)·1·2 > 1.4: bistable)."""
    w = rng.uniform(2.0, 4.0, H)
    b_i, b_f, b_o = rng.uniform(1.0, 3.0, H), rng.uniform(-1.0, 1.0, H), rng.uniform(1.0, 3.0, H)
    W_hh = np.zeros((4 * H, H))
    W_hh[2 * H : 3 * H] = np.diag(w)  # the g block
    return {"weight_ih_l0": np.zeros((4 * H, 1)), "weight_hh_l0": W_hh,
            "bias_ih_l0": np.concatenate([b_i, b_f, np.zeros(H), b_o]), "bias_hh_l0": np.zeros(4 * H)}


def decoupled_fixed_points(weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The 3^H fixed points (h, c) of the decoupled network and their indices, by the module docstring."""
    b = weights["bias_ih_l0"]
    i, f, o = sigmoid(b[:H]), sigmoid(b[H : 2 * H]), sigmoid(b[3 * H :])
    w = np.diag(weights["weight_hh_l0"][2 * H : 3 * H])
    a = i / (1.0 - f)
    roots = []
    for k in range(H):
        phi = lambda h, k=k: h - o[k] * np.tanh(a[k] * np.tanh(w[k] * h))
        top = brentq(phi, 1e-9, 1.0, xtol=1e-15, rtol=1e-15)
        roots.append([-top, 0.0, top])
    h = np.array(list(itertools.product(*roots)))
    g = np.tanh(w * h)
    c = i * g / (1.0 - f)
    t = np.tanh(c)
    trace = o * (1.0 - t**2) * i * w * (1.0 - g**2) + f
    return np.concatenate([h, c], axis=1), np.sum(trace > 1.0, axis=1)


def lstm_map(weights: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The LSTM map (h, c) -> (h', c') at u = 0, gate blocks i, f, g, o (PyTorch's nn.LSTM)."""
    h, c = X[:, :H], X[:, H:]
    s = h @ weights["weight_hh_l0"].T + weights["bias_ih_l0"] + weights["bias_hh_l0"]
    i, f, g, o = sigmoid(s[:, :H]), sigmoid(s[:, H : 2 * H]), np.tanh(s[:, 2 * H : 3 * H]), sigmoid(s[:, 3 * H :])
    c_next = f * c + i * g
    return np.concatenate([o * np.tanh(c_next), c_next], axis=1)


def difference_jacobian(weights: dict[str, np.ndarray], X: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of :func:`lstm_map`, (B, 2H, 2H)."""
    columns = [(lstm_map(weights, X + step * e) - lstm_map(weights, X - step * e)) / (2 * step)
               for e in np.eye(2 * H)]
    return np.stack(columns, axis=2)


def newton_fixed_points(weights: dict[str, np.ndarray], X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton on g(x) - x = 0 from each row of X (20 steps; central-difference Jacobian), the zeros and their
    indices #{|λ(Dg)| > 1}."""
    X = X.copy()
    for _ in range(20):
        J = difference_jacobian(weights, X) - np.eye(2 * H)
        X -= np.linalg.solve(J, (lstm_map(weights, X) - X)[:, :, None])[:, :, 0]
    assert np.max(np.abs(lstm_map(weights, X) - X)) < 1e-12
    moduli = np.abs(np.linalg.eigvals(difference_jacobian(weights, X)))
    return X, np.sum(moduli > 1.0, axis=1)


def starts(rng: np.random.Generator, near: np.ndarray, n: int = 128, noise: float = 0.05) -> np.ndarray:
    """``n`` states with h uniform in (-1, 1)^H and c uniform in (-4, 4)^H, and 4 states near each row of
    ``near`` (N(0, noise²) added): from random starts alone the saddles of highest index, whose basins under
    the search are small, are reached by no start for some draws."""
    spread = np.concatenate([rng.uniform(-1.0, 1.0, (n, H)), rng.uniform(-4.0, 4.0, (n, H))], axis=1)
    return np.concatenate([spread, np.repeat(near, 4, axis=0) + noise * rng.standard_normal((4 * len(near), 2 * H))])


def assert_same_points(points, expected: np.ndarray, index: np.ndarray) -> None:
    """dynsys's fixed points are exactly ``expected`` (each within MATCH, one to one) with the indices ``index``."""
    found = points.fixed()
    assert len(found.x) == len(expected)
    distance = np.linalg.norm(found.x[:, None, :] - expected[None, :, :], axis=2)
    nearest = np.argmin(distance, axis=1)
    assert np.max(distance[np.arange(len(found.x)), nearest]) < MATCH
    assert sorted(nearest.tolist()) == list(range(len(expected)))
    assert found.index.tolist() == index[nearest].tolist()


@pytest.mark.parametrize("solver", ["dense", "matrix-free"])
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_decoupled_bistable_lstm_has_the_3_to_the_H_products(solver: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = decoupled_weights(rng)
    expected, index = decoupled_fixed_points(weights)
    assert np.bincount(index).tolist() == [8, 12, 6, 1]  # the 3-cube: 8 attractors, saddles of index 1, 2, 3
    system = from_state_dict(weights, "lstm").system()
    assert_same_points(find_fixed_points(system, starts(rng, expected), solver=solver), expected, index)


@pytest.mark.parametrize("solver", ["dense", "matrix-free"])
def test_coupled_lstm_matches_independent_newton(solver: str) -> None:
    rng = np.random.default_rng(7)
    weights = decoupled_weights(rng)
    decoupled, _ = decoupled_fixed_points(weights)
    weights["weight_hh_l0"] = weights["weight_hh_l0"] + 0.05 * rng.standard_normal((4 * H, H))
    expected, index = newton_fixed_points(weights, decoupled)
    assert np.min(np.linalg.norm(expected[:, None] - expected[None], axis=2) + np.eye(len(expected))) > 0.1
    system = from_state_dict(weights, "lstm").system()
    assert_same_points(find_fixed_points(system, starts(rng, decoupled), solver=solver), expected, index)


def test_gated_benchmark_truth_rule_for_lstm_states():
    # bench_gated.genuine: an LSTM zero counts when h is in (-1, 1)^H and c is placed by |F_c| / (1 - f)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_gated
        from networks import Network
    finally:
        sys.path.pop(0)
    network = Network("lstm", H, "random")
    weights = decoupled_weights(np.random.default_rng(3))
    expected, _ = decoupled_fixed_points(weights)
    system = from_state_dict(weights, "lstm").system()
    assert bench_gated.genuine(network, system, expected).all()  # the closed-form points, some with |c| > 1
    assert np.max(np.abs(expected[:, H:])) > 1.0
    # unit 0's forget gate rounds to f = 1 and its input gate to i = 0 in float64 (σ(±40)): every c_0 is a
    # float64 zero of F_c0 = i g, and such "zeros" do not count, nor does h_0 = 1 (the range of o tanh(c) is open)
    weights["bias_ih_l0"][[0, H]] = -40.0, 40.0
    saturated = from_state_dict(weights, "lstm").system()
    o_0 = sigmoid(weights["bias_ih_l0"][3 * H])
    for c_0 in (0.0, 7.0):
        X = expected.copy()
        X[:, 0], X[:, H] = o_0 * np.tanh(c_0), c_0
        assert np.max(np.abs(saturated.residual(X))) <= 1e-10  # zeros of F in float64
        assert not bench_gated.genuine(network, saturated, X).any()
    assert not bench_gated.genuine(network, system, np.where(np.arange(2 * H) == 0, 1.0, expected)).any()
