"""Tests of dynsys.saddles: the saddle between two attractors by edge tracking.

Every expected point is derived by hand: the fixed points of ẋ_i = x_i - x_i³
are the points with coordinates in {-1, 0, 1}, with Df = diag(1 - 3 x_i²), so
a point's index is its number of zero coordinates; the basins of the corners
are the open orthants.  Duffing's saddle is the origin; the toggle switch's
saddle is (2, 2) (u³ + u - 10 = 0) and its stable nodes are the other real
roots of u⁵ - 10u⁴ + 2u³ - 20u² + 101u - 10 = 0 (u = 10/(1 + v²),
v = 10/(1 + u²) eliminated by hand).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, models
from dynsys.saddles import find_saddles_between


def cubic(d: int, kind: str = "flow", h: float = 0.5) -> System:
    """ẋ_i = x_i - x_i³ (flow), or x_i -> x_i + h (x_i - x_i³) (map)."""
    xs = sp.symbols(f"x0:{d}", real=True)
    exprs = [x - x**3 for x in xs] if kind == "flow" else [x + h * (x - x**3) for x in xs]
    return System.from_sympy(exprs, xs, kind=kind)


def test_duffing_saddle_is_the_origin():
    saddle = find_saddles_between(models.duffing(), [-1.0, 0.0], [1.0, 0.0])
    np.testing.assert_allclose(saddle, [0.0, 0.0], atol=1e-8)


def test_neighbouring_corners_meet_at_the_index_1_saddle():
    saddle = find_saddles_between(cubic(2), [1.0, 1.0], [1.0, -1.0])
    np.testing.assert_allclose(saddle, [1.0, 0.0], atol=1e-8)
    assert np.sum(1 - 3 * saddle**2 > 0) == 1  # index 1 from Df = diag(1 - 3x²)


def test_opposite_corners_meet_only_at_the_source():
    # The basins of (1, 1) and (-1, -1) are the open quadrants x, y > 0 and
    # x, y < 0: their closures share only the origin, the index-2 source, so
    # that is the edge state; the index-1 saddles (±1, 0), (0, ±1) border one
    # of the two basins each, not both.
    saddle = find_saddles_between(cubic(2), [1.0, 1.0], [-1.0, -1.0])
    np.testing.assert_allclose(saddle, [0.0, 0.0], atol=1e-8)


def test_toggle_switch_symmetric_saddle():
    roots = np.roots([1, -10, 2, -20, 101, -10])
    u = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    assert u.shape == (3,) and abs(u[1] - 2) < 1e-9
    u = u[[0, 2]]
    v = 10 / (1 + u**2)
    saddle = find_saddles_between(models.toggle_switch(), [u[0], v[0]], [u[1], v[1]])
    np.testing.assert_allclose(saddle, [2.0, 2.0], atol=1e-8)


def test_map_gives_the_saddle_of_the_flow():
    # x -> x + h (x - x³) has the fixed points of the flow, with multipliers
    # 1 + h (1 - 3x²): 0 at the corners (superstable), 1.5 and 0 at (1, 0).
    saddle = find_saddles_between(cubic(2, "map"), [1.0, 1.0], [1.0, -1.0])
    np.testing.assert_allclose(saddle, [1.0, 0.0], atol=1e-8)


def test_map_in_one_dimension():
    saddle = find_saddles_between(cubic(1, "map"), [-1.0], [1.0])
    np.testing.assert_allclose(saddle, [0.0], atol=1e-8)


@settings(max_examples=10)
@given(
    d=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    corner=st.lists(st.sampled_from([-1.0, 1.0]), min_size=3, max_size=3),
    flip=st.integers(0, 2),
)
def test_rotated_and_shifted_cube(d, seed, corner, flip):
    # y = Q x + c with Q orthogonal: dy/dt = Q f(Q^T (y - c)); the saddle
    # between the images of two neighbouring corners is the image of the
    # corner with the flipped coordinate set to 0.
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    c = rng.uniform(-3, 3, d)

    def f(Y):
        X = (Y - c) @ Q
        return (X - X**3) @ Q.T

    def jac(Y):
        X = (Y - c) @ Q
        return Q[None] * (1 - 3 * X**2)[:, None, :] @ Q.T

    system = System.from_callable(f, d, jac, vectorized=True)
    a = np.array(corner[:d])
    i = flip % d
    b, expected = a.copy(), a.copy()
    b[i], expected[i] = -a[i], 0.0
    saddle = find_saddles_between(system, Q @ a + c, Q @ b + c)
    np.testing.assert_allclose(saddle, Q @ expected + c, atol=1e-8)


def test_basins_that_do_not_meet_give_none():
    # dx/dt = -sin(pi x): attractors at the even integers, basins (2k-1, 2k+1);
    # the basins of 0 and 4 are separated by the basin of 2.
    x = sp.Symbol("x", real=True)
    system = System.from_sympy([-sp.sin(sp.pi * x)], [x])
    assert find_saddles_between(system, [0.0], [4.0]) is None
    np.testing.assert_allclose(find_saddles_between(system, [0.0], [2.0]), [1.0], atol=1e-8)


@pytest.mark.parametrize(
    "a, b, match",
    [
        ([1.0, 1.0], [1.0, 1.0], "distinct"),
        ([1.0, 1.0, 1.0], [1.0, -1.0], "a must have shape"),
        ([1.0, 1.0], [[1.0, -1.0]], "b must have shape"),
        ([1.0, np.nan], [1.0, -1.0], "a must be finite"),
        ([1.0, 0.0], [1.0, -1.0], "a = .* is not an attractor"),
    ],
)
def test_bad_endpoints(a, b, match):
    with pytest.raises(ValueError, match=match):
        find_saddles_between(cubic(2), a, b)


@pytest.mark.parametrize(
    "option, match", [({"capture": 0.5}, "capture"), ({"n_bisect": 0}, "n_bisect"), ({"t_max": -1.0}, "t_max")]
)
def test_bad_options(option, match):
    with pytest.raises(ValueError, match=match):
        find_saddles_between(cubic(2), [1.0, 1.0], [1.0, -1.0], **option)


def test_not_a_system():
    with pytest.raises(TypeError, match="System"):
        find_saddles_between(lambda x: x, [1.0], [-1.0])
