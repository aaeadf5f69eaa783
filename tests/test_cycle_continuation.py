"""Continuation of periodic orbits (dynsys.cycle_continuation), against closed forms and solve_ivp.

Every number checked comes from the mathematics of the system (closed-form cycles, periods and
multipliers) or from an integration that the test does itself with solve_ivp at rtol 1e-12.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from dynsys import System, continuation, models
from dynsys.bifurcation_diagram import BifurcationDiagram, bifurcation_diagram
from dynsys.continuation import Bifurcation
from dynsys.cycle_continuation import CycleBranch, hopf_eigenvector
from dynsys.periodic_orbits import PeriodicOrbit, periodic_orbit

TWO_PI = 2 * np.pi


def brusselator(A: float = 1.0, B: float = 1.5) -> System:
    return System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": A, "B": B})


def hopf_point(system: System, param: str, x0, p_span) -> Bifurcation:
    (hopf,) = [b for b in continuation(system, param, x0, p_span=p_span).bifurcations if b.kind == "hopf"]
    return hopf


def circle_orbit(system: System, radius: float, period: float, m: int = 64) -> PeriodicOrbit:
    t = np.linspace(0, TWO_PI, m, endpoint=False)
    x = np.zeros((m, system.dim))
    x[:, 0], x[:, 1] = radius * np.cos(t), radius * np.sin(t)
    return PeriodicOrbit(system, period, x, np.ones(system.dim))


def radii(branch: CycleBranch, spread: float = 1e-7) -> np.ndarray:
    """The mean distance of each cycle's states from the (x, y) origin, shape (m,), checking that they are circles
    (their spread is the interpolation error between the mesh nodes)."""
    r = np.linalg.norm(branch.x[:, :, :2], axis=2)
    assert np.ptp(r, axis=1).max() < spread
    return r.mean(axis=1)


def nontrivial(branch: CycleBranch) -> np.ndarray:
    keep = np.ones(branch.multipliers.shape, dtype=bool)
    keep[np.arange(len(branch)), branch.trivial] = False
    return branch.multipliers[keep].reshape(len(branch), -1)


# ------------------------------------------------------------ the Brusselator
@pytest.fixture(scope="module")
def brusselator_branch():
    system = brusselator(A=1.0)
    hopf = hopf_point(system, "B", [1.0, 1.5], (1.5, 3.0))
    return hopf, continuation(system, "B", hopf, p_span=(1.5, 3.0), ds=0.005)


def test_brusselator_hopf_branch_near_the_hopf_point(brusselator_branch):
    hopf, branch = brusselator_branch
    A = 1.0
    assert hopf.p == pytest.approx(1 + A**2, abs=1e-10) and hopf.frequency == pytest.approx(A, abs=1e-10)
    assert branch.stop_reason == ("hopf", "p_span") and branch.p[-1] == 3.0
    assert np.all(branch.p > 1 + A**2) and np.all(np.diff(branch.p) > 0)  # supercritical: cycles for B > B_H
    assert branch.stable.all() and (branch.index == 0).all()
    near = branch.p - (1 + A**2) < 0.02
    assert near.sum() >= 4
    # T → 2π/ω, amplitude ∝ √(B − B_H) as B → B_H
    assert branch.period[0] == pytest.approx(TWO_PI / A, rel=1e-3)
    assert np.all(np.abs(branch.period[near] - TWO_PI / A) < 0.05)
    slope = np.polyfit(np.log(branch.p[near] - (1 + A**2)), np.log(branch.amplitude[near]), 1)[0]
    assert slope == pytest.approx(0.5, abs=0.03)


def poincare_period(system: System, x0, t_transient: float) -> float:
    """The return time to the section x = A (crossed upwards) after a transient, by solve_ivp at rtol 1e-12."""
    A = system.params["A"]

    def f(_t, u):
        return system.rhs(u[None])[0]

    def section(_t, u):
        return u[0] - A

    section.direction = 1.0
    settled = solve_ivp(f, (0, t_transient), x0, method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    sol = solve_ivp(f, (0, 60.0), settled, method="DOP853", rtol=1e-12, atol=1e-12, events=section)
    crossings = sol.t_events[0]
    return float(np.mean(np.diff(crossings)))


def test_brusselator_period_away_from_the_hopf_point_matches_solve_ivp(brusselator_branch):
    _, branch = brusselator_branch
    system = brusselator(A=1.0, B=3.0)
    reference = poincare_period(system, [1.0, 3.5], 200.0)
    assert branch.period[-1] == pytest.approx(reference, rel=1e-8)  # the default mesh (60 intervals): 2e-9
    assert branch.orbit(-1).system.params["B"] == 3.0


# ------------------------------------------------------------ Bautin: a fold of cycles
def bautin(b2: float) -> System:
    r2 = "(x**2 + y**2)"
    return System.from_strings({"x": f"x*(b1 + b2*{r2} - {r2}**2) - y", "y": f"y*(b1 + b2*{r2} - {r2}**2) + x"},
                               {"b1": -0.3, "b2": b2})


@pytest.mark.parametrize("b2", [1.0, 0.6])
def test_bautin_fold_of_cycles(b2):
    system = bautin(b2)
    hopf = hopf_point(system, "b1", [0.0, 0.0], (-0.3, 0.3))
    assert abs(hopf.p) < 1e-10 and hopf.lyapunov > 0  # subcritical
    branch = continuation(system, "b1", hopf, p_span=(-0.3, 0.3), ntst=20)
    assert branch.stop_reason == ("hopf", "p_span")
    (fold,) = branch.bifurcations
    assert fold.kind == "fold_cycle"
    assert fold.p == pytest.approx(-b2**2 / 4, abs=1e-8)
    assert fold.x @ fold.x == pytest.approx(b2 / 2, abs=1e-8) and fold.period == pytest.approx(TWO_PI, abs=1e-8)
    # every cycle: r² = (β₂ ± √(β₂² + 4β₁)) / 2, the outer stable, the inner unstable
    r2 = radii(branch) ** 2
    root = np.sqrt(np.maximum(b2**2 + 4 * branch.p, 0.0))
    outer, inner = (b2 + root) / 2, (b2 - root) / 2
    on_outer = np.abs(r2 - outer) < np.abs(r2 - inner)
    np.testing.assert_allclose(r2, np.where(on_outer, outer, inner), atol=1e-6)
    assert on_outer[-1] and not on_outer[0]
    away = np.abs(b2 + 4 * branch.p) > 1e-3  # off the fold, where the two roots meet
    np.testing.assert_array_equal(branch.stable[away], on_outer[away])
    np.testing.assert_array_equal(branch.index[away], (~on_outer[away]).astype(int))
    # the non-trivial multiplier exp(T g'(r)) with g(r) = r(β₁ + β₂r² − r⁴) and β₁ = r⁴ − β₂r² on the cycle:
    # g'(r) = β₁ + 3β₂r² − 5r⁴ = 2r²(β₂ − 2r²)
    np.testing.assert_allclose(branch.period, TWO_PI, atol=1e-8)
    expected = np.exp(TWO_PI * 2 * r2 * (b2 - 2 * r2))
    np.testing.assert_allclose(nontrivial(branch)[:, 0].real, expected, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------ period doubling and Neimark–Sacker in closed form
R = "sqrt(x**2 + y**2)"
RHO, COS, SIN = f"({R} - 1)", f"(x/{R})", f"(y/{R})"


def twisted(radial: str, vertical: str, params: dict) -> System:
    """θ' = w on the unit circle of the (x, y) plane, with ρ = r − 1 and z obeying the given equations."""
    return System.from_strings({"x": f"({radial})*{COS} - w*y", "y": f"({radial})*{SIN} + w*x", "z": vertical},
                               params)


def period_doubling_flow() -> System:
    """The transverse plane (ρ, z) turns by a half turn per period: in the frame rotated by θ/2 the linear
    dynamics is diag(p, l2), which in fixed coordinates reads u' = (w/2) J u + a u + b R(θ) u with
    a = (p + l2)/2, b = (p − l2)/2, R(θ) = [[cos θ, sin θ], [sin θ, −cos θ]] (the reflection across the line
    at angle θ/2: Q(θ/2) diag(1, −1) Q(−θ/2)).  After one period T = 2π/w the frame has turned by π, so the
    monodromy matrix of (ρ, z) is −Q(θ₀/2) diag(e^{pT}, e^{l2 T}) Q(−θ₀/2): multipliers 1, −e^{pT}, −e^{l2 T}."""
    a, b = "((p + l2)/2)", "((p - l2)/2)"
    radial = f"-(w/2)*z + {a}*{RHO} + {b}*({COS}*{RHO} + {SIN}*z)"
    vertical = f"(w/2)*{RHO} + {a}*z + {b}*({SIN}*{RHO} - {COS}*z)"
    return twisted(radial, vertical, {"p": -0.2, "l2": -1.0, "w": 1.0})


def torus_flow() -> System:
    """(ρ, z) rotates at k·w about the cycle and grows at rate p: multipliers 1, e^{pT} e^{±2πik}, T = 2π/w."""
    return twisted(f"p*{RHO} - k*w*z", f"k*w*{RHO} + p*z", {"p": -0.2, "k": 0.3, "w": 1.0})


def monodromy_by_solve_ivp(system: System, x0, period: float) -> np.ndarray:
    n = system.dim

    def f(_t, u):
        x, Phi = u[:n], u[n:].reshape(n, n)
        return np.concatenate([system.rhs(x[None])[0], (system.jacobian(x[None])[0] @ Phi).ravel()])

    u = solve_ivp(f, (0, period), np.concatenate([x0, np.eye(n).ravel()]), method="DOP853", rtol=1e-12,
                  atol=1e-12).y[:, -1]
    return u[n:].reshape(n, n)


def test_the_period_doubling_flow_has_the_multipliers_derived():
    system = period_doubling_flow().with_params(p=0.1)
    mu = np.linalg.eigvals(monodromy_by_solve_ivp(system, np.array([np.cos(0.4), np.sin(0.4), 0.0]), TWO_PI))
    np.testing.assert_allclose(np.sort(mu.real), np.sort([1.0, -np.exp(0.1 * TWO_PI), -np.exp(-TWO_PI)]), atol=1e-9)
    np.testing.assert_allclose(mu.imag, 0, atol=1e-9)


def test_period_doubling_of_cycles_at_p_0():
    system = period_doubling_flow()
    branch = continuation(system, "p", circle_orbit(system, 1.0, TWO_PI), p_span=(-0.2, 0.2), ntst=10)
    assert branch.stop_reason == ("p_span", "p_span") and branch.p[0] == -0.2 and branch.p[-1] == 0.2
    (pd,) = branch.bifurcations
    assert pd.kind == "period_doubling" and abs(pd.p) < 1e-8 and pd.period == pytest.approx(TWO_PI, abs=1e-8)
    assert np.min(np.abs(pd.eigenvalues + 1)) < 1e-7
    np.testing.assert_allclose(radii(branch, spread=1e-6), 1.0, atol=1e-6)  # a coarse mesh: 10 intervals
    expected = np.sort(np.column_stack([-np.exp(branch.p * TWO_PI), np.full(len(branch), -np.exp(-TWO_PI))]), axis=1)
    np.testing.assert_allclose(np.sort(nontrivial(branch).real, axis=1), expected, atol=1e-7)
    np.testing.assert_array_equal(branch.stable, branch.p < 0)
    assert all(branch.orbit(k).flip for k in range(len(branch)))


def test_neimark_sacker_of_cycles_at_p_0():
    system = torus_flow()
    branch = continuation(system, "p", circle_orbit(system, 1.0, TWO_PI), p_span=(-0.2, 0.2), ntst=10)
    (ns,) = branch.bifurcations
    assert ns.kind == "neimark_sacker" and abs(ns.p) < 1e-8
    assert ns.frequency == pytest.approx(TWO_PI * 0.3, abs=1e-7)  # arg μ = 2πk
    pair = nontrivial(branch)
    np.testing.assert_allclose(np.abs(pair), np.outer(np.exp(branch.p * TWO_PI), [1, 1]), rtol=1e-7)
    np.testing.assert_allclose(np.sort(np.angle(pair), axis=1), [[-0.6 * np.pi, 0.6 * np.pi]] * len(branch),
                               atol=1e-7)
    np.testing.assert_array_equal(branch.index, np.where(branch.p > 0, 2, 0))


# ------------------------------------------------------------ the Hopf normal form: from an orbit, and a family
def hopf_normal_form(w: float = 1.0, a: float = -1.0) -> System:
    r2 = "(x**2 + y**2)"
    return System.from_strings({"x": f"mu*x - w*y + a*x*{r2}", "y": f"w*x + mu*y + a*y*{r2}"},
                               {"mu": 0.25, "w": w, "a": a})


def test_continuation_from_a_periodic_orbit_both_ways():
    system = hopf_normal_form()
    start = circle_orbit(system, 0.45, 6.0)  # r = 0.5, T = 2π is the cycle at μ = 0.25
    branch = continuation(system, "mu", start, p_span=(0.1, 0.6), ntst=16)
    assert branch.stop_reason == ("p_span", "p_span") and (branch.p[0], branch.p[-1]) == (0.1, 0.6)
    assert np.min(np.abs(branch.s)) == 0.0 and np.all(np.diff(branch.s) > 0)
    np.testing.assert_allclose(radii(branch), np.sqrt(branch.p), atol=1e-9)
    np.testing.assert_allclose(branch.period, TWO_PI, atol=1e-9)
    np.testing.assert_allclose(nontrivial(branch)[:, 0], np.exp(-2 * branch.p * TWO_PI), atol=1e-9)
    one_way = continuation(system, "mu", start, p_span=(0.1, 0.6), ntst=16, direction="forward")
    assert one_way.stop_reason == ("start", "p_span") and one_way.p[0] == pytest.approx(0.25, abs=1e-12)


@settings(max_examples=6, deadline=None)
@given(w=st.floats(0.5, 2.0), a=st.floats(0.5, 2.0), sign=st.sampled_from([-1.0, 1.0]))
def test_hopf_normal_form_branches_from_the_hopf_point(w, a, sign):
    """r' = r(μ + a r²), θ' = w: cycles r² = −μ/a on the side μ a < 0, period 2π/w, multiplier exp(−2μ 2π/w)."""
    a = sign * a
    system = hopf_normal_form(w=w, a=a).with_params(mu=-0.2)
    hopf = hopf_point(system, "mu", [0.0, 0.0], (-0.2, 0.2))
    branch = continuation(system, "mu", hopf, p_span=(-0.2, 0.2), ntst=12, tol=1e-12)
    assert branch.stop_reason[0] == "hopf" and branch.p[-1] == (0.2 if a < 0 else -0.2)
    assert np.all(branch.p * a < 0)
    # near the Hopf point the radius is ill-conditioned (the residual's r-derivative is 2r³): 1e-8 in r²
    np.testing.assert_allclose(radii(branch) ** 2, -branch.p / a, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(branch.period, TWO_PI / w, rtol=1e-9)
    np.testing.assert_allclose(nontrivial(branch)[:, 0].real, np.exp(-2 * branch.p * TWO_PI / w), rtol=1e-6)
    np.testing.assert_array_equal(branch.stable, a < 0)


def test_hopf_eigenvector_and_the_crossing_speed():
    # the Brusselator's Jacobian at (A, B/A): trace B − 1 − A², so d Re λ / dB = 1/2 at the Hopf point
    q, rate = hopf_eigenvector(brusselator(A=2.0, B=5.0), "B", [2.0, 2.5], 2.0)
    J = np.array([[5.0 - 1, 4.0], [-5.0, -4.0]])
    np.testing.assert_allclose(J @ q, 2j * q, atol=1e-12)
    assert rate == pytest.approx(0.5, abs=1e-8)


def test_van_der_pol_from_a_refined_orbit():
    """The classical period 6.6632868593 at μ = 1, and at μ = 4 the return time measured by solve_ivp."""
    system = models.van_der_pol().with_params(mu=1.0)
    start = periodic_orbit(system, [2.0, 0.0])
    branch = continuation(system, "mu", start, p_span=(1.0, 4.0), direction="forward")
    assert branch.stop_reason == ("start", "p_span") and branch.stable.all()
    assert branch.p[0] == 1.0 and branch.period[0] == pytest.approx(6.6632868593, abs=1e-9)
    assert np.all(np.diff(branch.period) > 0)  # towards the relaxation oscillation, T ~ (3 − 2 ln 2) μ

    def f(_t, u):
        return system.with_params(mu=4.0).rhs(u[None])[0]

    def section(_t, u):
        return u[1]

    section.direction = -1.0
    settled = solve_ivp(f, (0, 60.0), [2.0, 0.0], method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    crossings = solve_ivp(f, (0, 25.0), settled, method="DOP853", rtol=1e-12, atol=1e-12, events=section).t_events[0]
    # the mesh adapted along the branch (a uniform one of 60 intervals is off by 4e-7 here)
    assert branch.p[-1] == 4.0 and branch.period[-1] == pytest.approx(np.mean(np.diff(crossings)), rel=1e-9)


def test_both_ways_from_a_refined_brusselator_cycle_down_to_its_hopf_point():
    """The branch through the cycle at B = 3 ends at the Hopf point B = 2 one way (the mesh adapted on the
    other way first must not leak into this one) and reaches the span's end the other way."""
    system = brusselator(A=1.0, B=3.0)
    branch = continuation(system, "B", periodic_orbit(system, [1.0, 3.5]), p_span=(1.0, 3.5))
    assert branch.stop_reason == ("hopf", "p_span") and branch.p[-1] == 3.5
    assert branch.p[0] - 2.0 < 0.05 and branch.amplitude[0] < 0.4 and branch.stable.all()  # within a step
    k = int(np.argmin(np.abs(branch.s)))
    assert branch.s[k] == 0.0 and branch.p[k] == pytest.approx(3.0, abs=1e-7)  # the start, remeshed at once


# ------------------------------------------------------------ round trips
def test_round_trips_are_exact(tmp_path):
    system = bautin(1.0)
    hopf = hopf_point(system, "b1", [0.0, 0.0], (-0.3, 0.3))
    branch = continuation(system, "b1", hopf, p_span=(-0.3, 0.3), ntst=12)
    names = ("p", "period", "x", "multipliers", "trivial", "index", "stable", "s", "residual")
    for again in (CycleBranch.from_json(branch.to_json(), system),
                  CycleBranch.load(branch.save(tmp_path / "cycles.npz"), system)):
        for name in names:
            np.testing.assert_array_equal(getattr(again, name), getattr(branch, name))
            assert getattr(again, name).dtype == getattr(branch, name).dtype
        assert again.stop_reason == branch.stop_reason and again.param == "b1"
        assert [b._record() for b in again.bifurcations] == [b._record() for b in branch.bifurcations]
    orbit = branch.orbit(3)
    assert orbit.period == branch.period[3] and orbit.system.params["b1"] == branch.p[3]
    np.testing.assert_array_equal(orbit.multipliers, branch.multipliers[3])
    assert "fold_cycle" in branch.table() and "b1" in repr(branch)
    with pytest.raises(ValueError, match="not a valid dynsys.CycleBranch"):
        CycleBranch.from_json(branch.to_json(), models.logistic())
    with pytest.raises(ValueError, match="not a dynsys.CycleBranch"):
        CycleBranch.load(continuation(system, "b1", [0.0, 0.0], p_span=(-0.3, 0.3)).save(tmp_path / "b.npz"), system)


# ------------------------------------------------------------ errors
def test_errors_name_the_bad_argument():
    system = hopf_normal_form()
    hopf = Bifurcation("hopf", p=0.0, x=[0.0, 0.0], eigenvalues=[1j, -1j], s=0.0, frequency=1.0, lyapunov=-2.0)
    fold = Bifurcation("fold", p=0.0, x=[0.0, 0.0], eigenvalues=[0.0, -1.0], s=0.0)
    with pytest.raises(ValueError, match="needs a flow"):
        continuation(models.logistic(), "r", hopf, p_span=(-1, 1))
    with pytest.raises(ValueError, match="must be a Hopf point"):
        continuation(system, "mu", fold, p_span=(-1, 1))
    with pytest.raises(ValueError, match="p_span must be"):
        continuation(system, "mu", hopf, p_span=(0.5, 1.0))
    with pytest.raises(ValueError, match="p_span must be"):
        continuation(system, "mu", circle_orbit(system, 0.5, TWO_PI), p_span=(0.5, 1.0))
    with pytest.raises(ValueError, match="outside p_span"):
        continuation(system, "mu", hopf, p_span=(-1.0, 0.0))  # supercritical: the cycles lie at μ > 0
    with pytest.raises(ValueError, match="ntst and ncol"):
        continuation(system, "mu", [0.0, 0.0], p_span=(-1, 1), ntst=10)
    degenerate = Bifurcation("hopf", p=0.0, x=[0.0, 0.0], eigenvalues=[1j, -1j], s=0.0, frequency=1.0)
    with pytest.raises(ValueError, match="Lyapunov"):
        continuation(system, "mu", degenerate, p_span=(-1, 1))
    with pytest.raises(ValueError, match="is not a Hopf point of"):  # a Hopf point of another system, or param
        continuation(system.with_params(w=2.0), "mu", hopf, p_span=(-1, 1))
    with pytest.raises(ValueError, match="no cycle"):
        continuation(system, "mu", circle_orbit(system, 1e-9, 20.0), p_span=(0.0, 1.0), ntst=8)


# ------------------------------------------------------------ the diagram
def test_bifurcation_diagram_continues_the_cycles_of_its_hopf_points(tmp_path):
    system = brusselator(A=1.0, B=2.5)
    diagram = bifurcation_diagram(system, "B", (1.0, 2.5), n_starts=8, cycles=True)
    (cycles,) = diagram.cycle_branches
    assert cycles.stop_reason == ("hopf", "p_span") and cycles.p[-1] == 2.5 and cycles.stable.all()
    assert cycles.period[0] == pytest.approx(TWO_PI, rel=1e-3)
    again = BifurcationDiagram.from_json(diagram.to_json(), system)
    np.testing.assert_array_equal(again.cycle_branches[0].x, cycles.x)
    assert again.table() == diagram.table() and "1 cycle branch" in diagram.table()
    assert len(bifurcation_diagram(system, "B", (1.0, 2.5), n_starts=8).cycle_branches) == 0
