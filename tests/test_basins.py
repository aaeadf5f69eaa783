"""Tests of dynsys.basins: the attractor mapper, its capture test, time scales, basins.

Expected labels come from the mathematics: dx/dt = x - x³ has the
attractors -1 and 1, the repeller 0 and the basins x < 0 and x > 0; so has
the map g(x) = x + (x - x³) / 2 on (-sqrt 3, sqrt 3), which g maps into
[-1, 1] keeping the sign; dx/dt = x² blows up in finite time from x0 > 0.
Cycles: planar flows r' = r g(r²), theta' = 1, whose circles g(R²) = 0 are
cycles with closed-form multipliers and annuli for basins.
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
from dynsys.periodic_orbits import PeriodicOrbit
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


# ------------------------------------------------------------------ cycles
# r' = r g(r^2), theta' = 1 (polar form of the planar flows below): circles r = R with g(R^2) = 0 are cycles of
# period 2 pi, with the non-trivial multiplier exp(2 pi f'(R)), f(r) = r g(r^2), f'(R) = 2 R^2 g'(R^2).
G_CONCENTRIC = "(1 - (x**2 + y**2)) * (4 - (x**2 + y**2)) * (9 - (x**2 + y**2)) / 48"  # f' = -1, 5/2, -15 at 1, 2, 3
CONCENTRIC = System.from_strings({"x": f"x * {G_CONCENTRIC} - y", "y": f"y * {G_CONCENTRIC} + x"})
G_POINT_AND_CYCLE = "-(1 - (x**2 + y**2)) * (4 - (x**2 + y**2)) / 4"  # origin stable (g(0) = -1), r = 1 repels,
POINT_AND_CYCLE = System.from_strings(  # r = 2 attracts: f'(2) = 8 g'(4) = -6
    {"x": f"x * {G_POINT_AND_CYCLE} - y", "y": f"y * {G_POINT_AND_CYCLE} + x"})


def circle(system: System, radius: float, slope: float, m: int = 96) -> PeriodicOrbit:
    """The cycle r = radius of a flow above, built by hand from the closed form."""
    t = np.linspace(0, 2 * np.pi, m, endpoint=False)
    return PeriodicOrbit(system, 2 * np.pi, radius * np.column_stack([np.cos(t), np.sin(t)]),
                         [1.0, np.exp(2 * np.pi * slope)])


def polar(radii, angles) -> np.ndarray:
    r, a = np.asarray(radii), np.asarray(angles)
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


@settings(max_examples=5, deadline=None)
@given(radii=st.lists(st.one_of(st.floats(0.05, 1.9), st.floats(2.1, 3.5)), min_size=1, max_size=30),
       seed=st.integers(0, 2**16))
def test_concentric_cycles_basins_are_the_annuli(radii, seed):
    """r < 2 reaches the cycle r = 1 (label 0), r > 2 the cycle r = 3 (label 1): the repelling cycle r = 2 and the
    repelling focus at the origin bound the basins."""
    cycles = (circle(CONCENTRIC, 1.0, -1.0), circle(CONCENTRIC, 3.0, -15.0))
    points = find_fixed_points(CONCENTRIC, [[0.1, 0.1]]).stable()  # the focus is unstable: no point attractor
    assert len(points) == 0
    angles = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(radii))
    labels = basins_of_attraction(CONCENTRIC, points, polar(radii, angles), cycles=cycles)
    np.testing.assert_array_equal(labels, np.where(np.array(radii) < 2, 0, 1))


def test_cycles_are_labelled_after_the_points():
    """The origin (label 0) attracts r < 1, the cycle r = 2 (label 1) attracts r > 1."""
    points = find_fixed_points(POINT_AND_CYCLE, [[0.1, 0.1]]).stable()
    assert len(points) == 1
    cycle = circle(POINT_AND_CYCLE, 2.0, -6.0)
    states = polar([0.2, 0.9, 1.1, 1.5, 2.5, 3.0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(basins_of_attraction(POINT_AND_CYCLE, points, states, cycles=[cycle]),
                                  [0, 0, 1, 1, 1, 1])
    mapper = AttractorMapper(POINT_AND_CYCLE, points.x, [0.2, 0.2], timescale=1.0, cycles=(cycle,))
    np.testing.assert_array_equal(mapper(states), [0, 0, 1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"cycles\[0\]"):
        AttractorMapper(POINT_AND_CYCLE, points.x, 0.2, timescale=1.0, cycles=(points,))


def test_capture_test_with_tubes():
    """A tube of radius 0.1 around the unit circle (a 96-gon: within 1 - cos(pi/96) ~ 5e-4 of it)."""
    cycle = circle(CONCENTRIC, 1.0, -1.0)
    states = polar([0.0, 0.95, 1.05, 1.2], [0.0, 0.3, 2.0, 1.0])
    inside, D = capture_test(states, [[0.0, 0.0]], [0.5, 0.1], cycles=[cycle])
    np.testing.assert_array_equal(inside, [[True, False], [False, True], [False, True], [False, False]])
    np.testing.assert_allclose(D[:, 1], [1.0, 0.05, 0.05, 0.2], atol=1e-3)
    np.testing.assert_array_equal(nearest_capture(states, [[0.0, 0.0]], [0.5, 0.1], cycles=[cycle]), [0, 1, 1, -1])


def test_slowest_timescale_of_cycles_is_one_over_the_smallest_floquet_exponent():
    """Multiplier mu per period T: transverse perturbations decay like exp(t ln|mu| / T)."""
    rotation = System.from_strings({"x": "-y", "y": "x"})
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = np.column_stack([np.cos(t), np.sin(t)])
    slow = PeriodicOrbit(rotation, 4.0, ring, [1.0, np.exp(-0.5)])  # exponent -0.5 / 4: tau = 8
    fast = PeriodicOrbit(rotation, 2.0, ring, [1.0, 0.0])  # mu = 0 counts as eps: exponent ln(eps) / 2
    neutral = PeriodicOrbit(rotation, 2 * np.pi, ring, [1.0, 1.0])  # not hyperbolic: left out
    assert slowest_timescale([slow]) == pytest.approx(8.0)
    assert slowest_timescale([slow, neutral, linearize_matrix(np.diag([-1.0]), "flow")]) == pytest.approx(8.0)
    assert slowest_timescale([fast]) == pytest.approx(2.0 / -np.log(np.finfo(float).eps))
    assert slowest_timescale([neutral]) == 1.0
