"""Tests of dynsys.certificates: Krawczyk certificates of points and every fixed point in a box.

Every expected zero comes from a closed form (Duffing, Lorenz, Hénon, the toggle
switch, the logistic map's 2-cycle, x' = (x - a)(x - a - d)) or from the exact
rational roots of dynsys.testing's polynomial systems, never from the code
under test.  A certificate is a proof, so the tests check soundness: every
certified radius reaches the known zero, every uniqueness box excludes the
other known zeros, and ``complete`` never holds with a known zero missing.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, find_fixed_points, models, rnn
from dynsys.certificates import Certificates, all_fixed_points, certify
from dynsys.testing import polynomial_systems


def matched(found: np.ndarray, radius: np.ndarray, exact: np.ndarray) -> bool:
    """Each exact zero within the certified radius (max-norm, plus a float's rounding) of exactly one point found."""
    if len(found) != len(exact):
        return False
    d = np.max(np.abs(found[:, None, :] - exact[None, :, :]), axis=2)  # (found, exact)
    hit = d <= radius[:, None] + 1e-14 * np.maximum(1.0, np.abs(exact).max())
    return bool(np.all(hit.sum(axis=0) == 1) and np.all(hit.sum(axis=1) == 1))


# -- certify -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flipflop():
    system = rnn.load_flipflop().system(u=np.zeros(3))
    return system, find_fixed_points(system, n_starts=256, seed=0)


def test_every_fixed_point_of_the_bundled_flipflop_network_is_certified(flipflop):
    system, points = flipflop
    assert len(points) == 27
    cert = certify(system, points)
    assert cert.certified.all()
    assert cert.ids == points.ids
    assert np.all(cert.radius <= 1e-6)
    assert np.all(cert.unique_radius >= cert.radius)
    # the uniqueness boxes hold no other point found (they are capped at half the distance)
    d = np.max(np.abs(points.x[:, None] - points.x[None]), axis=2) + np.diag(np.full(len(points), np.inf))
    assert np.all(cert.unique_radius < d.min(axis=1))


def test_the_flipflop_fixed_points_are_certified_as_fixed_points_of_the_second_iterate(flipflop):
    system, points = flipflop
    cert = certify(system.iterate(2), points.x)
    assert cert.certified.all() and np.all(cert.radius <= 1e-6)


def test_a_flipflop_point_moved_by_1e_3_is_not_certified(flipflop):
    system, points = flipflop
    rng = np.random.default_rng(0)
    direction = rng.normal(size=(len(points), system.dim))
    moved = points.x + 1e-3 * direction / np.max(np.abs(direction), axis=1, keepdims=True)
    # no box smaller than the distance to the zero can hold it: never certified
    assert not certify(system, moved, radius=5e-4).certified.any()
    # with radii of its own choosing, a certificate reaches the true zero (within 1e-3 of the point)
    cert = certify(system, moved)
    assert cert.certified.any()  # else the next line holds vacuously
    assert np.all(cert.radius[cert.certified] >= 1e-3 - 1e-9)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "gru", "lstm", "continuous"])
def test_the_fixed_points_of_every_cell_are_certified(cell):
    """Random cells (n = 6, seeded) whose points find_fixed_points found independently; each is certified."""
    n, gates = 6, {"gru": 3, "lstm": 4}.get(cell, 1)
    rng = np.random.default_rng(1)
    weights = {"weight_ih_l0": rng.normal(size=(gates * n, 2)), "weight_hh_l0": 1.5 * rng.normal(size=(gates * n, n)) / np.sqrt(n),
               "bias_ih_l0": 0.3 * rng.normal(size=gates * n)}
    system = rnn.from_state_dict(weights, cell).system(u=np.zeros(2))
    points = find_fixed_points(system, n_starts=64, seed=0).fixed()
    assert len(points) >= 1
    cert = certify(system, points)
    assert cert.certified.all()
    assert np.all(cert.radius <= 1e-6)


def close_roots(a: float, d: float) -> System:
    return System.from_strings({"x": f"(x - {a!r})*(x - {a + d!r})"})


def test_two_zeros_closer_than_the_radius_are_not_certified_as_unique():
    a, d = 0.3, 1e-4
    system = close_roots(a, d)
    cert = certify(system, [[a]], radius=1e-3)  # the box [a - 1e-3, a + 1e-3] holds both zeros
    assert not cert.certified[0] and not cert.unique[0]
    cert = certify(system, [[a], [a + d]])
    assert cert.certified.all()
    assert np.all(cert.unique_radius < d)  # no box proven unique may hold the other zero
    alone = certify(system, [[a]])
    assert alone.certified[0] and alone.unique_radius[0] < d


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2), st.lists(st.floats(-1e-7, 1e-7), min_size=2, max_size=2))
def test_certified_radii_reach_the_closed_form_zeros_of_duffing(which, offset):
    exact = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])[which]
    cert = certify(models.duffing(), [exact + np.array(offset)])
    assert cert.certified[0]
    assert np.max(np.abs(offset)) <= cert.radius[0]
    assert cert.unique_radius[0] < 1.0  # the nearest other zero is 1 away


def test_an_explicit_radius_per_point_and_the_table():
    cert = certify(models.duffing(), [[1.0, 0.0], [0.0, 0.0]], radius=[0.1, 3.0])
    assert cert.certified.tolist() == [True, False]  # [-2, 3] x [-3, 3] holds all three zeros
    assert cert.radius[0] == 0.1 and math.isnan(cert.radius[1])
    assert [r["certified"] for r in cert.rows] == [True, False]
    assert cert.table().splitlines()[0].split() == ["id", "certified", "radius", "unique", "unique_radius"]


def test_certify_accepts_no_points():
    cert = certify(models.duffing(), np.zeros((0, 2)))
    assert isinstance(cert, Certificates) and cert.certified.shape == (0,)


@pytest.mark.parametrize(
    "points, radius, match",
    [([[1.0, 0.0, 0.0]], None, "points"), ([1.0, 0.0], None, "points"), ([[1.0, np.nan]], None, "points"),
     ([[1.0, 0.0]], -1.0, "radius"), ([[1.0, 0.0]], [1e-3, 1e-3], "radius"), ([[1.0, 0.0]], 0.0, "radius")],
)
def test_certify_refuses_bad_arguments(points, radius, match):
    with pytest.raises(ValueError, match=match):
        certify(models.duffing(), points, radius=radius)


def test_a_system_without_formulas_or_cell_has_no_enclosure():
    system = System.from_callable(lambda x: -x, dim=2)
    with pytest.raises(TypeError, match="interval enclosure"):
        certify(system, [[0.0, 0.0]])


# -- all_fixed_points --------------------------------------------------------------------------------


def lorenz_zeros(sigma=10.0, rho=28.0, beta=8 / 3):
    c = math.sqrt(beta * (rho - 1))
    return np.array([[0.0, 0.0, 0.0], [c, c, rho - 1], [-c, -c, rho - 1]])


def henon_zeros(a=1.4, b=0.3):
    # x = 1 - a x^2 + b x: a x^2 + (1 - b) x - 1 = 0, y = b x
    xs = (-(1 - b) + np.array([-1.0, 1.0]) * math.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    return np.stack([xs, b * xs], axis=1)


def toggle_zeros():
    # u (1 + v^2) = 10 = v (1 + u^2) gives (u - v)(1 - u v) = 0: u = v = 2 (u^3 + u = 10), or u v = 1, u + v = 10
    s = math.sqrt(24.0)
    return np.array([[2.0, 2.0], [5 + s, 5 - s], [5 - s, 5 + s]])


@pytest.mark.parametrize(
    "system, bounds, exact",
    [
        (models.lorenz(), [(-30, 30), (-30, 30), (-5, 55)], lorenz_zeros()),  # side 60 around the attractor
        (models.henon(), [(-5, 5), (-5, 5)], henon_zeros()),
        (models.duffing(), [(-3, 3), (-3, 3)], np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])),
        (models.toggle_switch(), None, toggle_zeros()),
    ],
    ids=["lorenz", "henon", "duffing", "toggle_switch"],
)
def test_all_fixed_points_finds_exactly_the_closed_form_zeros(system, bounds, exact):
    points = all_fixed_points(system, bounds)
    assert points.stats["complete"] and points.stats["n_undecided"] == 0
    assert matched(points.x, points.certified_radius, exact)
    assert points.is_fixed.all()


def test_all_fixed_points_of_a_maps_iterate_include_its_two_cycle():
    r = 3.5  # logistic g(x) = r x (1 - x): fixed points 0 and 1 - 1/r, the 2-cycle (r + 1 ± sqrt((r + 1)(r - 3))) / (2 r)
    cycle = (r + 1 + np.array([-1.0, 1.0]) * math.sqrt((r + 1) * (r - 3))) / (2 * r)
    exact = np.sort(np.concatenate([[0.0, 1 - 1 / r], cycle]))[:, None]
    points = all_fixed_points(models.logistic(r).iterate(2), [(-0.25, 1.25)])
    assert points.stats["complete"]
    assert matched(points.x, points.certified_radius, exact)


def test_a_box_without_fixed_points_returns_none_and_is_complete():
    points = all_fixed_points(models.lorenz(), [(1, 5), (1, 5), (30, 40)])
    assert len(points) == 0 and points.stats["complete"] and points.stats["n_excluded"] >= 1


def test_boxes_left_at_the_budget_are_reported_and_hold_the_zeros_not_found():
    exact = lorenz_zeros()
    points = all_fixed_points(models.lorenz(), [(-30, 30), (-30, 30), (-5, 55)], max_boxes=20)
    assert not points.stats["complete"]
    assert points.stats["n_boxes"] == 20
    boxes = np.array(points.stats["undecided"])  # (m, 2, n)
    assert points.stats["n_undecided"] == len(boxes) > 0
    radius = points.certified_radius
    for z in exact:  # every zero is certified or lies in a box left undecided
        found = np.any(np.max(np.abs(points.x - z), axis=1) <= radius + 1e-12)
        held = np.any(np.all((boxes[:, 0] <= z) & (z <= boxes[:, 1]), axis=1))
        assert found or held


@settings(max_examples=20, deadline=None)
@given(polynomial_systems("flow", dims=(1, 3), max_roots=12), st.integers(1, 2000))
def test_certified_points_of_polynomial_systems_lie_within_their_radius_of_an_exact_root(case, budget):
    """Soundness at any budget: each point within its radius of an exact root; complete only with none missing."""
    points = all_fixed_points(case.system, max_boxes=budget)
    radius = points.certified_radius
    d = np.max(np.abs(points.x[:, None, :] - case.roots[None, :, :]), axis=2)
    assert np.all(np.any(d <= radius[:, None] + 1e-12, axis=1))
    if points.stats["complete"]:
        assert matched(points.x, radius, case.roots)
    else:
        assert points.stats["n_undecided"] > 0


@pytest.mark.parametrize("kind", ["flow", "map"])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_all_fixed_points_of_polynomial_systems_are_exactly_the_exact_roots(kind, data):
    case = data.draw(polynomial_systems(kind, dims=(1, 2), max_roots=6))
    points = all_fixed_points(case.system, max_boxes=1_000_000)
    assert points.stats["complete"]
    assert matched(points.x, points.certified_radius, case.roots)


@settings(max_examples=3, deadline=None, derandomize=True)
@given(polynomial_systems("map", dims=(2, 2), roots_per_state=(3, 3), max_roots=9))
def test_all_fixed_points_of_planar_cubic_maps_with_nine_roots(case):
    """Bezout's bound 3 x 3 = 9 reached with real roots (derandomized: the drawn cases need 1e2 to 5e4 boxes)."""
    points = all_fixed_points(case.system, max_boxes=1_000_000)
    assert len(case.roots) == 9 and points.stats["complete"]
    assert matched(points.x, points.certified_radius, case.roots)


@pytest.mark.parametrize(
    "bounds, max_boxes, match",
    [([(0, 1)], 10, "bounds"), ([(1, 0), (0, 1)], 10, "bounds"), ([(0, 1), (0, 1)], 0, "max_boxes"),
     ([(0, 1), (0, 1)], 2.5, "max_boxes")],
)
def test_all_fixed_points_refuses_bad_arguments(bounds, max_boxes, match):
    with pytest.raises(ValueError, match=match):
        all_fixed_points(models.duffing(), bounds, max_boxes=max_boxes)


def test_all_fixed_points_needs_bounds_when_the_system_has_none():
    with pytest.raises(ValueError, match="bounds"):
        all_fixed_points(close_roots(0.0, 1.0))


# -- find_fixed_points(certify=True) ---------------------------------------------------------------------


def test_find_fixed_points_certifies_its_fixed_points_and_never_its_slow_points():
    """Duffing's three zeros (+-1, 0), (0, 0) in closed form; x' = x^2 + 1/100, y' = -y has no zero and a slow
    point at the origin (q = 1/20000 > 0): searched, reported, not certified."""
    points = find_fixed_points(models.duffing(), n_starts=32, certify=True)
    assert points.certified.all() and matched(points.x, points.certified_radius,
                                              np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))
    assert points.stats["time_certify_s"] > 0 and "radius" in points.table().splitlines()[0]
    slow = System.from_strings({"x": "x**2 + 1/100", "y": "-y"}, bounds=[[-1, 1], [-1, 1]])
    found = find_fixed_points(slow, n_starts=32, certify=True)
    assert found.is_slow.any() and not found.certified[found.is_slow].any()
    assert np.isnan(found.certified_radius[found.is_slow]).all()


def test_find_fixed_points_refuses_to_certify_a_system_without_enclosures_before_searching():
    system = System.from_callable(lambda X: X - X**3, dim=1, bounds=[[-2.0, 2.0]])
    with pytest.raises(TypeError, match="no interval enclosure"):
        find_fixed_points(system, n_starts=8, certify=True)
