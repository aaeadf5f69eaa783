"""Tests of dynsys.periodic_orbits.search: find_periodic_orbits, cycle_distances, same_cycle.

Expected answers are closed forms or classical values:

- Van der Pol x'' - mu (1 - x²) x' + x = 0 at mu = 1: one stable cycle of
  period 6.6632868593 (e.g. Strogatz, Nonlinear Dynamics and Chaos; the
  value AUTO and MatCont quote).
- The Hopf normal form r' = r (mu - r²), theta' = omega: the cycle
  r = sqrt(mu), period 2 pi / omega, non-trivial multiplier
  exp(f'(sqrt mu) 2 pi / omega) = exp(-2 mu 2 pi / omega).
- Concentric cycles: r' = r g(r²), theta' = 1 with g(s) = (1 - s)(4 - s)(9 - s) / 48
  has the cycles r = 1, 2, 3 of period 2 pi; with f(r) = r g(r²),
  f'(R) = 2 R² g'(R²) = -1, 5/2, -15 at R = 1, 2, 3, so r = 1, 3 attract
  and r = 2 repels, with multipliers exp(2 pi f'(R)).
- A gradient-like flow (x' = x - x³, y' = -y) has no cycle; the Lorenz
  attractor at the classical parameters is strange (W. Tucker, C. R. Acad.
  Sci. Paris 328, 1197 (1999)), with no attracting cycle.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, find_fixed_points, find_periodic_orbits, models
from dynsys.periodic_orbits import PeriodicOrbit, cycle_distances, same_cycle

VDP_PERIOD = 6.6632868593  # mu = 1, classical
G_CONCENTRIC = "(1 - (x**2 + y**2)) * (4 - (x**2 + y**2)) * (9 - (x**2 + y**2)) / 48"
CONCENTRIC = System.from_strings({"x": f"x * {G_CONCENTRIC} - y", "y": f"y * {G_CONCENTRIC} + x"},
                                 bounds=[(-3.5, 3.5), (-3.5, 3.5)])
SLOPES = {1.0: -1.0, 2.0: 2.5, 3.0: -15.0}  # f'(R) = 2 R^2 g'(R^2)


def hopf(mu: float, omega: float) -> System:
    return System.from_strings({"x": "mu*x - omega*y - x*(x**2 + y**2)", "y": "omega*x + mu*y - y*(x**2 + y**2)"},
                               params={"mu": mu, "omega": omega})


def circle(system: System, radius: float, period: float, multiplier: float, m: int = 64, phase: float = 0.0):
    t = np.linspace(0, 2 * np.pi, m, endpoint=False) + phase
    return PeriodicOrbit(system, period, radius * np.column_stack([np.cos(t), np.sin(t)]), [1.0, multiplier])


@pytest.mark.parametrize("method", ["collocation", "shooting"])
def test_van_der_pol_one_stable_cycle_of_the_classical_period(method):
    cycles = find_periodic_orbits(models.van_der_pol(), n_starts=32, method=method)
    assert len(cycles) == 1
    (cycle,) = cycles
    assert cycle.stable and cycle.label == "stable cycle" and cycle.method == method
    assert abs(cycle.period - VDP_PERIOD) < 5e-10  # the reference has 10 decimals
    assert abs(cycle.multipliers[cycle.trivial] - 1) < 1e-6
    # every stored state is on the cycle: x(T) = x(0) through the flow (checked with solve_ivp)
    from scipy.integrate import solve_ivp

    vdp = models.van_der_pol()
    sol = solve_ivp(lambda t, y: vdp.rhs(y[None])[0], (0, cycle.period), cycle.x[0], rtol=1e-12, atol=1e-12,
                    method="DOP853")
    np.testing.assert_allclose(sol.y[:, -1], cycle.x[0], atol=1e-7)


@settings(max_examples=6, deadline=None)
@given(mu=st.floats(0.2, 2.0), omega=st.floats(0.5, 2.0))
def test_hopf_normal_form_cycle_is_the_circle_of_radius_sqrt_mu(mu, omega):
    system = hopf(mu, omega)
    starts = np.random.default_rng(1).uniform(-2.0, 2.0, (12, 2))
    (cycle,) = find_periodic_orbits(system, starts=starts)
    np.testing.assert_allclose(np.linalg.norm(cycle.x, axis=1), np.sqrt(mu), rtol=1e-7)
    assert abs(cycle.period - 2 * np.pi / omega) < 1e-8 * cycle.period
    (mu_nt,) = cycle.nontrivial
    assert abs(mu_nt - np.exp(-2 * mu * 2 * np.pi / omega)) < 1e-6 * max(1e-3, np.exp(-4 * np.pi * mu / omega))


def test_concentric_stable_cycles_from_starts_and_the_unstable_one_from_a_guess():
    found = find_periodic_orbits(CONCENTRIC)
    assert [round(c.amplitude, 8) for c in found] == [1.0, 3.0]  # by period (all 2 pi), then amplitude
    guess = circle(CONCENTRIC, 2.1, 6.0, 2.0)  # near r = 2, period and multiplier only roughly right
    with_guess = find_periodic_orbits(CONCENTRIC, guesses=[guess])
    assert [round(c.amplitude, 8) for c in with_guess] == [1.0, 2.0, 3.0]
    for c in with_guess:
        R = round(c.amplitude)
        np.testing.assert_allclose(np.linalg.norm(c.x, axis=1), R, rtol=1e-8)
        assert abs(c.period - 2 * np.pi) < 1e-8
        expected = np.exp(2 * np.pi * SLOPES[R])
        (mu_nt,) = c.nontrivial
        assert abs(mu_nt - expected) <= 1e-7 * expected + 1e-12
        assert c.stable == (R != 2) and c.index == (R == 2)


def test_a_period_doubled_cycle_is_found_with_its_whole_period():
    """Roessler's flow at a = b = 0.2, c = 3.3 lies between the first two period doublings (c ~ 2.83 and ~ 3.84):
    its attracting cycle winds twice around the focus.  Checked with solve_ivp (rtol 1e-12): the flow maps x(0)
    back onto itself after T, the orbit crosses the half-plane y = 0, x < 0 twice per period (two turns, so T is
    not half a period too long), and an orbit from elsewhere ends on the cycle."""
    from scipy.integrate import solve_ivp

    roessler = System.from_strings({"x": "-y - z", "y": "x + a*y", "z": "b + z*(x - c)"},
                                   params={"a": 0.2, "b": 0.2, "c": 3.3}, bounds=[(-6, 6), (-6, 6), (0, 2)])
    (cycle,) = find_periodic_orbits(roessler, n_starts=16)
    assert cycle.stable

    def crossing(t, u):
        return u[1]
    crossing.direction = -1.0  # y decreasing through 0 happens at x < 0 (y' = x + a y)

    def f(t, u):
        return roessler.rhs(u[None])[0]
    sol = solve_ivp(f, (0, cycle.period), cycle.x[0], rtol=1e-12, atol=1e-12, method="DOP853", events=crossing)
    np.testing.assert_allclose(sol.y[:, -1], cycle.x[0], atol=1e-6)
    assert len(sol.t_events[0]) == 2
    far = solve_ivp(f, (0, 300), [4.0, -3.0, 0.5], rtol=1e-10, atol=1e-12, method="DOP853")
    assert cycle_distances(far.y[:, -1:].T, [cycle])[0, 0] < 1e-3 * cycle.amplitude


def test_deterministic_and_one_cycle_up_to_phase():
    a = find_periodic_orbits(CONCENTRIC, seed=3)
    b = find_periodic_orbits(CONCENTRIC, seed=3)
    assert len(a) == len(b) == 2
    for x, y in zip(a, b):
        assert np.array_equal(x.x, y.x) and x.period == y.period
    # starts spread over one cycle's basin all give that one cycle
    angles = np.linspace(0, 2 * np.pi, 9)
    starts = np.column_stack([1.5 * np.cos(angles), 1.5 * np.sin(angles)])
    (only,) = find_periodic_orbits(CONCENTRIC, starts=starts)
    assert abs(only.amplitude - 1.0) < 1e-8


def test_no_cycle_gives_an_empty_tuple():
    gradient = System.from_strings({"x": "x - x**3", "y": "-y"}, bounds=[(-2, 2), (-2, 2)])
    assert find_periodic_orbits(gradient) == ()


def test_a_chaotic_attractor_gives_no_attracting_cycle():
    """Lorenz at sigma = 10, rho = 28, beta = 8/3: the attractor is strange (Tucker 1999), no cycle attracts;
    its tails come back near their ends now and then without repeating a period, and the unstable cycles
    that refining such a near-return can reach are not kept."""
    assert find_periodic_orbits(models.lorenz(), n_starts=16) == ()


def test_a_spent_budget_stops_the_search():
    vdp = models.van_der_pol()
    assert find_periodic_orbits(vdp, n_starts=8, fixed_points=find_fixed_points(vdp, seed=0), max_seconds=1e-9) == ()


def test_bad_arguments():
    with pytest.raises(ValueError, match="map"):
        find_periodic_orbits(models.henon(), starts=[[0.1, 0.1]])
    with pytest.raises(ValueError, match="bounds"):
        find_periodic_orbits(hopf(1.0, 1.0))
    with pytest.raises(ValueError, match=r"guesses\[0\]"):
        find_periodic_orbits(hopf(1.0, 1.0), starts=[[0.5, 0.0]], guesses=[[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="t_span"):
        find_periodic_orbits(hopf(1.0, 1.0), starts=[[0.5, 0.0]], t_span=(1.0, 2.0))
    with pytest.raises(ValueError, match="method"):
        find_periodic_orbits(hopf(1.0, 1.0), starts=[[0.5, 0.0]], method="newton")
    with pytest.raises(TypeError, match="fixed_points"):
        find_periodic_orbits(hopf(1.0, 1.0), starts=[[0.5, 0.0]], fixed_points=[[0.0, 0.0]])


def test_fixed_points_given_are_used_for_the_time_span():
    vdp = models.van_der_pol()
    points = find_fixed_points(vdp, seed=0)
    (cycle,) = find_periodic_orbits(vdp, n_starts=8, fixed_points=points)
    assert abs(cycle.period - VDP_PERIOD) < 5e-10  # the reference has 10 decimals


@settings(max_examples=20, deadline=None)
@given(m=st.integers(3, 40), R=st.floats(0.1, 10.0), phase=st.floats(0, 2 * np.pi))
def test_distance_to_the_inscribed_polygon_of_a_circle(m, R, phase):
    """The regular m-gon inscribed in the circle of radius R: its vertices are at distance 0, its centre at
    the apothem R cos(pi / m), and a point at radius rho >= R outside a vertex at rho - R."""
    cycle = circle(System.from_strings({"x": "-y", "y": "x"}), R, 2 * np.pi, 1.0, m=m, phase=phase)
    D = cycle_distances(np.concatenate([cycle.x, [[0.0, 0.0]], 1.5 * cycle.x[:1]]), [cycle])[:, 0]
    np.testing.assert_allclose(D[:m], 0.0, atol=1e-12 * R)
    assert abs(D[m] - R * np.cos(np.pi / m)) <= 1e-12 * R
    assert abs(D[m + 1] - 0.5 * R) <= 1e-12 * R


def test_same_cycle_up_to_phase_only():
    rotation = System.from_strings({"x": "-y", "y": "x"})
    a = circle(rotation, 1.0, 2 * np.pi, 0.5)
    assert same_cycle(a, circle(rotation, 1.0, 2 * np.pi, 0.5, m=50, phase=0.3))
    assert not same_cycle(a, circle(rotation, 1.1, 2 * np.pi, 0.5))
    assert not same_cycle(a, circle(rotation, 1.0, 2 * np.pi * (1 + 1e-4), 0.5))
    assert np.isinf(cycle_distances([[np.nan, 0.0]], [a])[0, 0])
    with pytest.raises(ValueError, match="cycle 0"):
        cycle_distances([[0.0, 0.0]], [np.zeros((3, 3))])
