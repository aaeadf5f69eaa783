"""Tests of dynsys.basins: the attractor mapper, its capture test, time scales, basins.

Expected labels come from the mathematics: dx/dt = x - x³ has the
attractors -1 and 1, the repeller 0 and the basins x < 0 and x > 0; so has
the map g(x) = x + (x - x³) / 2 on (-sqrt 3, sqrt 3), which g maps into
[-1, 1] keeping the sign; dx/dt = x² blows up in finite time from x0 > 0.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import find_fixed_points, models
from dynsys.basins import (
    AT_REST,
    ESCAPED,
    UNDECIDED,
    AttractorMapper,
    basins_of_attraction,
    capture_test,
    nearest_capture,
    orbits_reaching_no_fixed_point,
    slowest_timescale,
)
from dynsys.linearize import linearize_matrix
from dynsys.systems import System

x = sp.Symbol("x", real=True)
BISTABLE = {
    "flow": System.from_sympy([x - x**3], [x]),
    "map": System.from_sympy([x + sp.Rational(1, 2) * (x - x**3)], [x], kind="map"),
}
WELLS = np.array([[-1.0], [1.0]])


@settings(max_examples=30)
@given(kind=st.sampled_from(["flow", "map"]), starts=st.lists(st.floats(-1.7, 1.7), min_size=1, max_size=20))
def test_bistable_basins_are_the_half_lines(kind, starts):
    # f'(+-1) = -2: tau = 1/2 for the flow; g'(+-1) = 1 - 2h = 0 for the map: margin 1, tau = 1
    X = np.array(starts)[:, None]
    labels = AttractorMapper(BISTABLE[kind], WELLS, 0.5, timescale=0.5 if kind == "flow" else 1.0)(X)
    expected = np.where(X[:, 0] > 0, 1, np.where(X[:, 0] < 0, 0, AT_REST))
    decided = np.abs(X[:, 0]) > 1e-6  # tiny |x0| needs longer than the horizon to leave the repeller
    np.testing.assert_array_equal(labels[decided], expected[decided])


def test_codes_of_states_that_reach_no_ball():
    blow_up = System.from_sympy([x**2], [x])  # x(t) = x0 / (1 - x0 t): infinite at t = 1 / x0
    np.testing.assert_array_equal(AttractorMapper(blow_up, [[0.0]], 0.1, timescale=1.0)([[2.0]]), [ESCAPED])
    slow = AttractorMapper(BISTABLE["flow"], WELLS, 0.1, timescale=0.5, max_time=0.01)  # far too short
    np.testing.assert_array_equal(slow([[0.5], [0.0], [np.nan]]), [UNDECIDED, AT_REST, ESCAPED])


def test_mapper_rejects_bad_balls():
    with pytest.raises(ValueError, match="radii"):
        AttractorMapper(BISTABLE["flow"], WELLS, -1.0, timescale=1.0)
    with pytest.raises(ValueError, match="timescale"):
        AttractorMapper(BISTABLE["flow"], WELLS, 0.5, timescale=0.0)


@given(
    seed=st.integers(0, 2**16),
    m=st.integers(1, 5),
    radius=st.floats(0.05, 2.0),
)
def test_nearest_capture_is_the_nearest_ball_holding_the_state(seed, m, radius):
    rng = np.random.default_rng(seed)
    centres, states = rng.uniform(-3, 3, (m, 2)), rng.uniform(-3, 3, (50, 2))
    inside, D = capture_test(states, centres, radius)
    np.testing.assert_allclose(D, np.linalg.norm(states[:, None] - centres[None], axis=2))
    labels = nearest_capture(states, centres, radius)
    for b in range(len(states)):
        if inside[b].any():
            assert labels[b] == np.argmin(np.where(inside[b], D[b], np.inf))
        else:
            assert labels[b] == UNDECIDED


@given(rates=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=4))
def test_slowest_timescale_is_one_over_the_smallest_margin(rates):
    lins = [linearize_matrix(np.diag([-r, 2 * r]), "flow") for r in rates]  # margin r each
    expected = min(1.0 / min(rates), 1e3 / max(rates))
    assert slowest_timescale(lins) == pytest.approx(expected)


def test_slowest_timescale_leaves_out_non_hyperbolic_points():
    centre = linearize_matrix([[0.0, 1.0], [-1.0, 0.0]], "flow")  # eigenvalues +-i
    assert slowest_timescale([centre]) == 1.0
    assert slowest_timescale([centre, linearize_matrix(np.diag([-4.0, -8.0]), "flow")]) == 0.25
    assert slowest_timescale([linearize_matrix(np.diag([0.5]), "map")]) == 2.0  # map margin 1 - |mu|


def test_duffing_basins_near_the_wells():
    duffing = models.duffing()  # damped wells at (+-1, 0), saddle at the origin
    attractors = find_fixed_points(duffing, seed=0).stable()
    starts = np.array([[-1.2, 0.1], [-0.6, -0.1], [0.6, 0.1], [1.3, -0.1]])
    labels = basins_of_attraction(duffing, attractors, starts)
    np.testing.assert_array_equal(np.sign(attractors.x[labels, 0]), [-1, -1, 1, 1])


def test_orbits_reaching_no_fixed_point():
    vdp, duffing = models.van_der_pol(), models.duffing()
    tails = orbits_reaching_no_fixed_point(vdp, find_fixed_points(vdp, seed=0), vdp.bounds)
    assert len(tails) > 0 and abs(np.max(np.abs(tails[..., 0])) - 2.0086) < 0.02  # the mu = 1 limit cycle
    box = np.array([[-2.0, 2.0], [-2.0, 2.0]])
    assert len(orbits_reaching_no_fixed_point(duffing, find_fixed_points(duffing, seed=0), box)) == 0
