"""periodic_orbit, Collocation, MultipleShooting, floquet_multipliers against closed forms and independent integrations.

Every reference value is a closed form (the Hopf normal form, a planar
cycle with a non-uniform speed, a rotation-invariant saddle cycle), a
classical constant (van der Pol's period at μ = 1; the relaxation
asymptote), or computed here with ``solve_ivp`` at rtol 1e-12 (never by
the code under test).
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from dynsys import PeriodicOrbit, System, periodic_orbit
from dynsys.models import logistic, lorenz, pendulum, van_der_pol
from dynsys.periodic_orbits import Collocation, MultipleShooting, floquet_multipliers
from dynsys.periodic_orbits.recurrence import cycle_guess

METHODS = ("collocation", "shooting")
VDP_PERIOD = 6.6632868593231  # van der Pol, μ = 1 (classical; e.g. Grimshaw; Strogatz ex. 7.5)
AIRY_ZERO = 2.338107410459767  # −a₁, the first zero of Ai, in the relaxation correction 3 α μ^{-1/3}


def hopf(mu: float, omega: float) -> System:
    return System.from_strings({"x": "mu*x - w*y - x*(x**2 + y**2)", "y": "w*x + mu*y - y*(x**2 + y**2)"},
                               {"mu": mu, "w": omega}, name="hopf")


def uneven(eps: float, omega: float, b: float) -> System:
    """r' = ε r (1 − r²), θ' = ω + b r cos θ: the unit circle, period 2π / √(ω² − b²), multiplier exp(−2 ε T).

    The divergence on r = 1 is −2ε − b sin θ, whose integral over a turn
    (dθ / θ') vanishes: Liouville's formula gives the multiplier.
    """
    return System.from_strings(
        {"x": "eps*x*(1 - x**2 - y**2) - y*(w + b*x)", "y": "eps*y*(1 - x**2 - y**2) + x*(w + b*x)"},
        {"eps": eps, "w": omega, "b": b}, name="uneven")


def rotated_saddle(lam: float, seed: int = 0) -> tuple[System, np.ndarray]:
    """x' = x − y − x r², y' = x + y − y r², z' = z (λ + 1 − r²), in coordinates rotated by a random Q.

    The cycle r = 1, z = 0 (period 2π) has the multipliers 1, exp(−4π) and
    exp(2πλ): a saddle cycle for λ > 0.  Returns the system and Q.
    """
    Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))[0]
    u = sp.symbols("u0:3")
    x, y, z = (sp.Matrix(Q).T * sp.Matrix(u))  # original coordinates of the state u = Q (x, y, z)
    r2 = x**2 + y**2
    f = sp.Matrix([x - y - x * r2, x + y - y * r2, z * (lam + 1 - r2)])
    return System.from_sympy(list(sp.Matrix(Q) * f), list(u), name="saddle"), Q


def returns(system: System, orbit: PeriodicOrbit) -> float:
    """max_k |φ_{T/m}(x_k) − x_{k+1}| by solve_ivp (DOP853, rtol 1e-12), the states' consistency with the flow."""
    m, T = len(orbit.x), orbit.period
    X = orbit.x[:: max(1, m // 16)]
    step = T * max(1, m // 16) / m
    sol = solve_ivp(lambda t, y: system.rhs(y.reshape(-1, system.dim)).ravel(), (0, step), X.ravel(),
                    method="DOP853", rtol=1e-12, atol=1e-13)
    return float(np.abs(sol.y[:, -1].reshape(X.shape) - np.roll(orbit.x, -max(1, m // 16), axis=0)[:: max(1, m // 16)]).max())


@settings(max_examples=10, deadline=None)
@given(mu=st.floats(0.1, 2.0), omega=st.floats(0.5, 3.0), method=st.sampled_from(METHODS))
def test_hopf_normal_form(mu: float, omega: float, method: str) -> None:
    system = hopf(mu, omega)
    T = 2 * np.pi / omega
    orbit = periodic_orbit(system, [1.2 * np.sqrt(mu), 0.1], 1.1 * T, method=method)
    assert orbit.method == method and orbit.residual <= 1e-10
    assert orbit.period == pytest.approx(T, rel=1e-9)
    assert np.allclose(np.linalg.norm(orbit.x, axis=1), np.sqrt(mu), atol=1e-8)
    assert abs(orbit.multipliers[orbit.trivial] - 1) < 1e-7
    assert orbit.nontrivial[0] == pytest.approx(np.exp(-2 * mu * T), rel=1e-6, abs=1e-9)
    assert orbit.label == "stable cycle" and orbit.index == 0
    assert orbit.amplitude == pytest.approx(np.sqrt(mu), rel=1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_states_on_a_uniform_grid(method: str) -> None:
    """m states at the times k T / m: on the Hopf cycle, x_k = √μ (cos(ωt_k + φ), sin(ωt_k + φ)) for one phase φ."""
    mu, omega = 0.5, 2.0
    orbit = periodic_orbit(hopf(mu, omega), [0.8, 0.0], 3.0, method=method, m=37)
    assert orbit.x.shape == (37, 2)
    phase = np.unwrap(np.arctan2(orbit.x[:, 1], orbit.x[:, 0])) - omega * orbit.times
    assert np.ptp(phase) < 1e-7


def test_hopf_cycle_from_a_trajectory() -> None:
    """No period given: the trajectory from near the unstable focus finds the cycle and its period."""
    orbit = periodic_orbit(hopf(0.5, 2.0), [0.01, 0.0])
    assert orbit.period == pytest.approx(np.pi, rel=1e-9)
    assert np.allclose(np.linalg.norm(orbit.x, axis=1), np.sqrt(0.5), atol=1e-8)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("eps", "omega", "b"), [(0.1, 1.0, 0.5), (0.3, 2.0, 1.5)])
def test_cycle_with_uneven_speed(method: str, eps: float, omega: float, b: float) -> None:
    system = uneven(eps, omega, b)
    T = 2 * np.pi / np.sqrt(omega**2 - b**2)
    orbit = periodic_orbit(system, [1.1, 0.0], 0.9 * T, method=method, ntst=60)
    assert orbit.period == pytest.approx(T, rel=1e-9)
    assert np.allclose(np.linalg.norm(orbit.x, axis=1), 1.0, atol=1e-8)
    assert orbit.nontrivial[0] == pytest.approx(np.exp(-2 * eps * T), rel=1e-7)
    assert returns(system, orbit) < 1e-7


@pytest.mark.parametrize("method", METHODS)
def test_saddle_cycle_refined_from_a_guess(method: str) -> None:
    """The cycle is unstable in z: forward integration escapes, Newton from a rough guess finds it."""
    lam = 0.4
    system, Q = rotated_saddle(lam)
    start = Q @ [1.2, 0.1, 0.05]
    with pytest.raises(ValueError, match="escapes"):
        periodic_orbit(system, start)
    orbit = periodic_orbit(system, start, 6.0, method=method, segments=6)
    assert orbit.period == pytest.approx(2 * np.pi, rel=1e-9)
    original = orbit.x @ Q  # rows Q^T x
    assert np.allclose(np.linalg.norm(original[:, :2], axis=1), 1, atol=1e-8)
    assert np.abs(original[:, 2]).max() < 1e-8
    expected = sorted([1.0, np.exp(-4 * np.pi), np.exp(2 * np.pi * lam)], reverse=True)
    assert np.allclose(orbit.multipliers.real, expected, rtol=1e-6, atol=1e-9)
    assert orbit.trivial == 1
    assert orbit.index == 1 and orbit.label == "saddle cycle of index 1" and not orbit.stable


@pytest.mark.parametrize("method", METHODS)
def test_van_der_pol_period(method: str) -> None:
    system = van_der_pol(1.0)
    orbit = periodic_orbit(system, [2.0, 0.0], method=method)
    assert orbit.period == pytest.approx(VDP_PERIOD, abs=1e-8)
    assert returns(system, orbit) < (1e-6 if method == "collocation" else 1e-8)  # O(h^{ncol+1}) between mesh points
    # Liouville: the non-trivial multiplier of a planar cycle is exp(∫ div f dt), div f = μ (1 − x²)
    sol = solve_ivp(lambda t, y: np.append(system.rhs(y[None, :2])[0], 1 - y[0] ** 2), (0, orbit.period),
                    np.append(orbit.x[0], 0.0), method="DOP853", rtol=1e-12, atol=1e-13)
    assert orbit.nontrivial[0].real == pytest.approx(np.exp(sol.y[2, -1]), rel=1e-6)


def test_lorenz_shortest_unstable_cycle_from_a_close_return() -> None:
    """Lorenz's chaotic attractor holds unstable cycles; the shortest, AB (once round each wing), has period
    about 1.5587 (Viswanath, Nonlinearity 16, 2003).  Refined from a close return of a trajectory computed here by
    solve_ivp: solve_ivp from the refined state comes back after the refined period (rtol 1e-12), Liouville's
    formula fixes the product of the multipliers to exp(-(sigma + 1 + beta) T), and it is a saddle cycle of
    index 1, which forward integration alone could never settle on."""
    system = lorenz()
    f = lambda _t, u: system.rhs(u[None])[0]  # noqa: E731
    sol = solve_ivp(f, (0, 160), [1.0, 1.0, 20.0], method="DOP853", rtol=1e-10, atol=1e-10, dense_output=True)
    X = sol.sol(np.arange(20, 160, 0.01)).T
    lag = 156  # 1.56 / 0.01
    k = int(np.argmin(np.linalg.norm(X[lag:] - X[:-lag], axis=1)))
    orbit = periodic_orbit(system, X[k], period=1.56)
    assert abs(orbit.period - 1.5587) < 1e-4 and orbit.index == 1 and orbit.label == "saddle cycle of index 1"
    end = solve_ivp(f, (0, orbit.period), orbit.x[0], method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    assert np.linalg.norm(end - orbit.x[0]) < 1e-7 * np.linalg.norm(orbit.x[0])
    product = np.prod(orbit.multipliers).real
    assert product == pytest.approx(np.exp(-(10 + 1 + 8 / 3) * orbit.period), rel=1e-6)


def test_van_der_pol_relaxation_asymptote() -> None:
    """T(μ) / ((3 − 2 ln 2) μ) decreases toward 1; with the correction 3 α μ^{-1/3} the ratio is near 1.

    The next terms of the expansion (Dorodnitsyn 1947) are O(ln μ / μ): the
    ratio's distance from 1 must shrink as μ grows (1.6 % at μ = 10, 0.5 % at 20).
    """
    ratios, corrected = [], []
    for mu in (5.0, 10.0, 20.0):
        leading = (3 - 2 * np.log(2)) * mu
        guess = leading + 3 * AIRY_ZERO * mu ** (-1 / 3)
        orbit = periodic_orbit(van_der_pol(mu), [2.0, 0.0], guess, ntst=100)
        assert orbit.stable and orbit.residual <= 1e-10
        ratios.append(orbit.period / leading)
        corrected.append(abs(orbit.period / guess - 1))
    assert ratios[0] > ratios[1] > ratios[2] > 1 and ratios[2] < 1.08
    assert corrected[0] > corrected[1] > corrected[2] and corrected[1] < 0.02 and corrected[2] < 0.006


def _order(history: list[float]) -> np.ndarray:
    logs = np.log(np.asarray(history))
    return np.diff(logs)[1:] / np.diff(logs)[:-1]


def test_collocation_converges_quadratically() -> None:
    system = hopf(0.5, 1.3)
    col = Collocation(2, ntst=20)
    tau = 2 * np.pi * col.times
    _, history = col.solve(system, col.pack(np.column_stack([0.9 * np.cos(tau) + 0.1, 0.6 * np.sin(tau)]), 5.5),
                           tol=1e-13)
    assert history[-1] <= 1e-13 and len(history) <= 8
    informative = [h for h in history if h > 1e-12]
    assert np.all(_order(informative)[-2:] > 1.7)


def test_shooting_converges_quadratically() -> None:
    system = hopf(0.5, 1.3)
    shooting = MultipleShooting(2, segments=3)
    t = 2 * np.pi * np.arange(3) / 3
    _, history = shooting.solve(system, shooting.pack(np.column_stack([0.9 * np.cos(t) + 0.1, 0.6 * np.sin(t)]), 5.5),
                                tol=1e-12)
    informative = [h for h in history if h > 1e-11]
    assert np.all(_order(informative)[-2:] > 1.7)


def test_collocation_period_converges_at_order_2ncol() -> None:
    """Superconvergence: the period's error falls like h^{2 ncol} on a uniform mesh (ncol = 2: 16× per halving)."""
    system = van_der_pol(1.0)
    orbit = periodic_orbit(system, [2.0, 0.0], VDP_PERIOD)
    errors = []
    for ntst in (16, 32):
        col = Collocation(2, ntst=ntst, ncol=2)
        z, _ = col.solve(system, col.from_orbit(orbit))
        errors.append(abs(col.unpack(z)[1] - VDP_PERIOD))
    assert 12 < errors[0] / errors[1] < 20


def test_jacobian_and_param_derivative_match_differences() -> None:
    system = hopf(0.3, 1.0)
    col = Collocation(2, ntst=4, ncol=3, mesh=[0, 0.1, 0.5, 0.6, 1])
    rng = np.random.default_rng(1)
    z, v = rng.normal(size=col.size), rng.normal(size=(col.nodes, 2))
    J = col.jacobian(system, z, v).toarray()
    eye = 1e-6 * np.eye(col.size)
    fd = np.array([col.residual(system, z + e, v) - col.residual(system, z - e, v) for e in eye]).T / 2e-6
    assert np.abs(J - fd).max() < 1e-6
    dp = (col.residual(system.with_params(mu=0.3 + 1e-6), z, v) - col.residual(system.with_params(mu=0.3 - 1e-6), z, v))
    assert np.allclose(col.param_derivative(system, z, "mu"), dp / 2e-6, atol=1e-6)


def test_from_orbit_and_adapt_keep_the_solution() -> None:
    system = van_der_pol(1.0)
    orbit = periodic_orbit(system, [2.0, 0.0], VDP_PERIOD)
    col = Collocation(2, ntst=50)
    z = col.from_orbit(orbit)
    z, history = col.solve(system, z)
    assert len(history) <= 4
    new, moved = col.adapt(z)
    z2, history2 = new.solve(system, moved)
    assert new.unpack(z2)[1] == pytest.approx(VDP_PERIOD, abs=1e-8) and len(history2) <= 3
    finer, moved = new.adapt(z2, ntst=80)
    z3, _ = finer.solve(system, moved)
    assert finer.ntst == 80 and finer.unpack(z3)[1] == pytest.approx(VDP_PERIOD, abs=1e-10)


@pytest.mark.parametrize(("ncol", "period_tol", "radius_tol"), [(2, 1e-4, 1e-5), (3, 1e-8, 1e-6), (5, 1e-10, 1e-9),
                                                                  (7, 1e-10, 1e-9)])
def test_every_degree_finds_the_hopf_cycle(ncol: int, period_tol: float, radius_tol: float) -> None:
    """Errors O(h^{2 ncol}) in the period, O(h^{ncol + 1}) in the states between mesh points (ntst = 30)."""
    mu, omega = 0.3, 1.5
    orbit = periodic_orbit(hopf(mu, omega), [0.6, 0.0], 4.0, ncol=ncol, ntst=30)
    assert orbit.period == pytest.approx(2 * np.pi / omega, rel=period_tol)
    assert np.allclose(np.linalg.norm(orbit.x, axis=1), np.sqrt(mu), atol=radius_tol)


def test_floquet_multipliers_of_a_rotation() -> None:
    """x' = −y, y' = x: M = I after 2π; both multipliers 1."""
    rotation = System.from_strings({"x": "-y", "y": "x"})
    mu, _ = floquet_multipliers(rotation, [0.0, 2.0], 2 * np.pi)
    assert np.allclose(mu, 1, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(mu=st.floats(0.05, 1.0), omega=st.floats(0.5, 3.0), segments=st.integers(1, 6))
def test_floquet_multipliers_of_the_hopf_cycle(mu: float, omega: float, segments: int) -> None:
    """On the exact cycle x(t) = √μ (cos ωt, sin ωt): multipliers 1 and exp(−4πμ/ω), from one or s states."""
    T = 2 * np.pi / omega
    t = np.arange(segments) * T / segments
    states = np.sqrt(mu) * np.column_stack([np.cos(omega * t), np.sin(omega * t)])
    multipliers, trivial = floquet_multipliers(hopf(mu, omega), states, T)
    assert trivial == 0 and abs(multipliers[0] - 1) < 1e-8
    assert multipliers[1] == pytest.approx(np.exp(-2 * mu * T), rel=1e-7)


def test_floquet_multipliers_of_the_saddle_cycle() -> None:
    lam = 0.4
    system, Q = rotated_saddle(lam)
    t = np.arange(6) * 2 * np.pi / 6
    states = np.column_stack([np.cos(t), np.sin(t), np.zeros(6)]) @ Q.T
    multipliers, trivial = floquet_multipliers(system, states, 2 * np.pi)
    assert trivial == 1
    assert np.allclose(multipliers.real, [np.exp(2 * np.pi * lam), 1, np.exp(-4 * np.pi)], rtol=1e-7, atol=1e-10)


def test_round_trip_through_save_and_load(tmp_path) -> None:
    system = van_der_pol(1.0)
    orbit = periodic_orbit(system, [2.0, 0.0])
    again = PeriodicOrbit.load(orbit.save(tmp_path / "vdp.npz"), system)
    assert np.array_equal(again.x, orbit.x) and again.period == orbit.period
    assert np.array_equal(again.multipliers, orbit.multipliers) and again.trivial == orbit.trivial
    assert again.method == orbit.method and again.residual == orbit.residual
    assert PeriodicOrbit.from_json(orbit.to_json(), system).label == orbit.label
    refined = periodic_orbit(system, again, method="shooting")
    assert refined.period == pytest.approx(orbit.period, abs=1e-9)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="iterate"):
        periodic_orbit(logistic(), [0.5])
    with pytest.raises(ValueError, match="comes to rest at the fixed point"):
        periodic_orbit(hopf(-0.5, 1.0), [0.5, 0.0])
    with pytest.raises(ValueError, match="escapes"):
        periodic_orbit(System.from_strings({"x": "x - y", "y": "x + y"}), [1.0, 0.0])
    with pytest.raises(ValueError, match="did not converge"):
        periodic_orbit(van_der_pol(1.0), [2.0, 0.0], 6.0, max_iter=1)
    with pytest.raises(ValueError, match="method must be one of"):
        periodic_orbit(van_der_pol(1.0), [2.0, 0.0], 6.0, method="magic")
    with pytest.raises(ValueError, match="period"):
        periodic_orbit(van_der_pol(1.0), [2.0, 0.0], -1.0)
    with pytest.raises(ValueError, match="x0"):
        periodic_orbit(van_der_pol(1.0), [2.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="converged to a fixed point"):  # the states hug the focus at the origin
        periodic_orbit(hopf(0.5, 1.0), 1e-9 * np.column_stack([np.cos(np.arange(8.0)), np.sin(np.arange(8.0))]), 6.0)
    with pytest.raises(ValueError, match="without returning to the same point twice"):  # chaos: Lorenz at ρ = 28
        cycle_guess(lorenz(), [1.0, 1.0, 1.0], max_crossings=40)
    with pytest.raises(ValueError, match="Newton's method for a cycle of pendulum"):  # a family: no isolated cycle
        periodic_orbit(pendulum(), [1.0, 0.0], 2.1)
    with pytest.raises(ValueError, match="ncol"):
        Collocation(2, ncol=9)
    with pytest.raises(ValueError, match="mesh"):
        Collocation(2, mesh=[0.0, 0.7, 0.5, 1.0])


def test_benchmark_script_runs(monkeypatch, tmp_path) -> None:
    """Smoke test of benchmarks/bench_periodic_orbits.py --quick (no timing asserted): its record and target."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    bench = importlib.import_module("bench_periodic_orbits")
    targets = bench.main(["--quick", "--out-dir", str(tmp_path)])
    summary = json.loads((tmp_path / "periodic_orbits_quick.json").read_text())
    assert [(r["case"], r["method"]) for r in summary["cases"]] == [("rossler", "collocation"), ("rossler", "shooting")]
    for record in summary["cases"]:
        assert record["residual"] <= 1e-10 and record["label"] == "stable cycle"
        assert record["period"] == pytest.approx(summary["cases"][0]["period"], abs=1e-8)
    assert [t["status"] for t in summary["targets"]] == [status for status, _ in targets]
