"""Tests of dynsys.manifolds against linear saddles, whose manifolds are their eigenvector lines.

For dx/dt = J (x - c) (or the map x -> c + J (x - c)) with J = V diag(lambda) V^-1,
W^u(c) is the line c + s v_u and W^s(c) the line c + s v_s, v the columns
of V; a flip saddle's map (lambda_u < 0) alternates sides, so its W^u is
traced with g∘g, which keeps each branch on its side.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import linearize, models
from dynsys.manifolds import FUNDAMENTAL_POINTS, stable_manifold, unstable_manifold
from dynsys.systems import System


def linear_saddle(seed: int, lam_u: float, lam_s: float, kind: str) -> tuple[System, np.ndarray, np.ndarray]:
    """The linear saddle about a random centre c with random (non-orthogonal) eigenvectors V."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((2, 2)) + 2 * np.eye(2)  # well conditioned
    V /= np.linalg.norm(V, axis=0)
    c = rng.uniform(-2, 2, 2)
    J = V @ np.diag([lam_u, lam_s]) @ np.linalg.inv(V)
    xs = sp.symbols("x0:2", real=True)
    d = sp.Matrix(xs) - sp.Matrix(c)
    exprs = list(sp.Matrix(J) * d) if kind == "flow" else list(sp.Matrix(c) + sp.Matrix(J) * d)
    return System.from_sympy(exprs, xs, kind=kind), c, V


def off_line(W: np.ndarray, c: np.ndarray, v: np.ndarray) -> float:
    """The largest distance of the finite states W (..., 2) from the line c + s v, relative to |x - c|."""
    Y = W.reshape(-1, 2) - c
    Y = Y[np.isfinite(Y).all(axis=1)]
    perp = Y - np.outer(Y @ v, v)
    return float(np.max(np.linalg.norm(perp, axis=1) / np.linalg.norm(Y, axis=1)))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), lam_u=st.floats(0.2, 3.0), lam_s=st.floats(-3.0, -0.2))
def test_flow_manifolds_are_the_eigenvector_lines(seed, lam_u, lam_s):
    system, c, V = linear_saddle(seed, lam_u, lam_s, "flow")
    point = linearize(system, c)
    Wu = unstable_manifold(system, point, 1e-3, 4.0 / lam_u, n_points=40)
    Ws = stable_manifold(system, point, 1e-3, 4.0 / -lam_s, n_points=40)
    assert Wu.shape == Ws.shape == (2, 40, 2)
    assert off_line(Wu, c, V[:, 0]) < 1e-6 and off_line(Ws, c, V[:, 1]) < 1e-6
    # each pair of branches leaves c on opposite sides, and grows by about e^4 along the line
    for W in (Wu, Ws):
        ends = W[:, -1] - c
        assert ends[0] @ ends[1] < 0
        np.testing.assert_allclose(np.linalg.norm(ends, axis=1), 1e-3 * np.exp(4.0), rtol=1e-3)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), lam_u=st.sampled_from([-3.0, -1.5, 1.5, 3.0]), lam_s=st.floats(-0.8, 0.8))
def test_map_unstable_manifold_is_the_eigenvector_line_on_each_side(seed, lam_u, lam_s):
    system, c, V = linear_saddle(seed, lam_u, lam_s, "map")
    Wu = unstable_manifold(system, linearize(system, c), 1e-4, 3)
    m = 2 if lam_u < 0 else 1  # g∘g for a flip saddle
    assert Wu.shape == (2, FUNDAMENTAL_POINTS * (3 + 1), 2)
    assert off_line(Wu, c, V[:, 0]) < 1e-6
    side = (Wu - c) @ np.linalg.inv(V).T[:, 0]  # the coordinate along v_u
    assert np.all(side[0] > 0) != np.all(side[0] < 0) and np.all(side[0] * side[1] < 0)
    np.testing.assert_allclose(np.abs(side).max(axis=1), 1e-4 * abs(lam_u) ** (m * 4), rtol=1e-6)


def test_manifolds_that_do_not_exist_are_refused():
    duffing = models.duffing()
    with pytest.raises(ValueError, match="no unstable direction"):
        unstable_manifold(duffing, linearize(duffing, [1.0, 0.0]), 1e-3, 1.0)
    system, c, _ = linear_saddle(0, 2.0, 0.5, "map")
    with pytest.raises(ValueError, match="inverse"):
        stable_manifold(system, linearize(system, c), 1e-3, 1.0)
