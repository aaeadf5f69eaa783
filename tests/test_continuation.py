"""Continuation of fixed points and their bifurcations, against closed forms.

Every located value is checked against its closed form (Kuznetsov,
*Elements of Applied Bifurcation Theory*, 3rd ed., 2004, for the normal
forms, the Brusselator and Lorenz; May 1976 for the logistic map; Hénon
1976), to |p - p*| <= 1e-8 (1 + |p*|).  Every branch is also checked for
two properties: |F(x(s), p(s))| <= tol at every point, and the index
changes exactly where a special point was located.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import Bifurcation, Branch, System, continuation, models
from dynsys.testing import affine_maps, conjugate

TOL = 1e-10
W = 2.0  # the Hopf normal form's frequency


def close(p, exact):
    return abs(p - exact) <= 1e-8 * (1 + abs(exact))


def check_branch(branch, tol=TOL):
    """The two properties every branch has: it solves F = 0, and its index changes exactly at special points."""
    system = branch.system
    for x, p in zip(branch.x, branch.p):
        F = system.with_params(**{branch.param: p}).residual(x)
        assert np.abs(F).max() <= tol, (p, x, F)
    assert np.all(np.diff(branch.s) > 0)
    eps = 1e-9 * (1 + np.abs(branch.s).max())
    for k in np.flatnonzero(np.diff(branch.index) != 0):
        lo, hi = branch.s[k] - eps, branch.s[k + 1] + eps
        assert any(lo <= b.s <= hi for b in branch.bifurcations), f"index changes between s={lo} and s={hi}"
    for b in branch.bifurcations:
        before, after = branch.index[branch.s < b.s - eps], branch.index[branch.s > b.s + eps]
        if len(before) and len(after):
            assert before[-1] != after[0], f"{b} without an index change"
    return branch


def kinds(branch):
    return [b.kind for b in branch.bifurcations]


def only(branch, kind):
    found = [b for b in branch.bifurcations if b.kind == kind]
    assert len(found) == 1, branch.table()
    return found[0]


# ------------------------------------------------------------ normal forms
def saddle_node(mu=1.0):
    return System.from_strings({"x": "mu - x**2"}, {"mu": mu}, name="saddle-node")


def hopf_normal_form(mu=-1.0, w=W):
    r2 = "(x**2 + y**2)"
    return System.from_strings({"x": f"mu*x - w*y - x*{r2}", "y": f"w*x + mu*y - y*{r2}"}, {"mu": mu, "w": w},
                               name="hopf")


def test_saddle_node_fold_at_zero():
    branch = check_branch(continuation(saddle_node(), "mu", [1.0], p_span=(-1, 2)))
    fold = only(branch, "fold")
    assert kinds(branch) == ["fold"]
    assert close(fold.p, 0.0) and abs(fold.x[0]) < 1e-6  # p = x^2 is flat there: x to sqrt of p's accuracy
    assert np.allclose(branch.p, branch.x[:, 0] ** 2, atol=1e-12)
    assert branch.stop_reason == ("p_span", "p_span")
    assert sorted(branch.x[[0, -1], 0]) == pytest.approx([-np.sqrt(2), np.sqrt(2)], abs=1e-10)
    assert np.array_equal(branch.stable, branch.x[:, 0] > 0)  # the eigenvalue is -2x


def test_transcritical_branch_point_with_the_other_branch():
    system = System.from_strings({"x": "mu*x - x**2"}, {"mu": -1.0})
    branch = check_branch(continuation(system, "mu", [0.0], p_span=(-1, 1)))
    bp = only(branch, "branch_point")
    assert close(bp.p, 0.0) and abs(bp.x[0]) < 1e-12
    assert np.allclose(np.abs(bp.tangent), [np.sqrt(0.5), np.sqrt(0.5)])  # the branch x = mu
    other = check_branch(continuation(system.with_params(mu=1.0), "mu", [1.0], p_span=(-1, 1)))
    assert close(only(other, "branch_point").p, 0.0)
    assert np.allclose(other.x[:, 0], other.p, atol=1e-12)


def test_pitchfork_branch_point_and_tangent():
    system = System.from_strings({"x": "mu*x - x**3"}, {"mu": -1.0})
    branch = check_branch(continuation(system, "mu", [0.2], p_span=(-1, 1)))
    bp = only(branch, "branch_point")
    assert close(bp.p, 0.0) and np.allclose(np.abs(bp.tangent), [1.0, 0.0])
    assert branch.index.tolist() == [0 if p < 0 else 1 for p in branch.p]


def test_hopf_normal_form():
    branch = check_branch(continuation(hopf_normal_form(), "mu", [0.1, -0.1], p_span=(-1, 1)))
    hopf = only(branch, "hopf")
    assert kinds(branch) == ["hopf"]
    assert close(hopf.p, 0.0) and np.abs(hopf.x).max() < 1e-12
    assert hopf.frequency == pytest.approx(W, rel=1e-10)
    assert np.allclose(hopf.eigenvalues, [W * 1j, -W * 1j], atol=1e-9)
    # cubic coefficient a = -1: l1 = 2a/w in Kuznetsov's normalisation <q, q> = <p, q> = 1 (|q| = 1 where
    # z = x + iy has |q| = 1/sqrt(2): a factor 2; time rescaled to unit frequency: 1/w); supercritical
    assert hopf.lyapunov == pytest.approx(-2 / W, rel=1e-8) and hopf.tangent is None
    assert set(branch.index[branch.p < -1e-9]) == {0} and set(branch.index[branch.p > 1e-9]) == {2}


@pytest.mark.parametrize("A", [1.0, 1.5, 2.5])
def test_brusselator_hopf_at_one_plus_a_squared(A):
    brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": A, "B": 1.0},
                                      name="brusselator")
    branch = check_branch(continuation(brusselator, "B", [A, 1 / A], p_span=(0.5, 2 + A * A)))
    hopf = only(branch, "hopf")
    assert close(hopf.p, 1 + A * A) and hopf.frequency == pytest.approx(A, rel=1e-8)
    assert np.allclose(branch.x, np.stack([np.full(len(branch), A), branch.p / A], axis=1))  # (A, B/A)
    # supercritical: l1 = -(A^2 + 2) / (2A(2A^2 + 1)) with |q| = 1 (derived by hand in the rotation basis of
    # Guckenheimer & Holmes' 2-D formula; tests/test_normal_forms.py checks it against the limit cycle's size)
    assert hopf.lyapunov == pytest.approx(-(A * A + 2) / (2 * A * (2 * A * A + 1)), rel=1e-7)


def test_neutral_saddle_is_not_hopf():
    # x' = mu x + y, y' = x + mu y: eigenvalues mu +- 1, whose sum 2 mu crosses 0 at mu = 0
    system = System.from_strings({"x": "mu*x + y + x**3", "y": "x + mu*y"}, {"mu": -0.5})
    branch = check_branch(continuation(system, "mu", [0.0, 0.0], p_span=(-0.5, 0.5)))
    assert branch.bifurcations == () and set(branch.index) == {1}


def test_isola_closes_with_two_folds():
    circle = System.from_strings({"x": "x**2 + mu**2 - 1"}, {"mu": 0.0})
    branch = check_branch(continuation(circle, "mu", [1.0], p_span=(-2, 2), ds=0.05))
    assert branch.stop_reason == ("closed", "closed")
    folds = sorted(b.p for b in branch.bifurcations if b.kind == "fold")
    assert len(folds) == 2 and close(folds[0], -1.0) and close(folds[1], 1.0)
    assert np.allclose(branch.x[:, 0] ** 2 + branch.p**2, 1.0, atol=1e-10)
    closing = np.linalg.norm([branch.x[-1, 0] - branch.x[0, 0], branch.p[-1] - branch.p[0]])
    assert branch.s[-1] + closing == pytest.approx(2 * np.pi, rel=0.01)  # once round the unit circle (chords)


# ------------------------------------------------------------------ maps
def test_logistic_map_transcritical_and_flip():
    branch = check_branch(continuation(models.logistic(r=2.5), "r", [0.6], p_span=(0.5, 3.5)))
    assert kinds(branch) == ["branch_point", "flip"]
    assert close(only(branch, "branch_point").p, 1.0) and close(only(branch, "flip").p, 3.0)
    assert np.allclose(branch.x[:, 0], 1 - 1 / branch.p, atol=1e-12)
    assert np.allclose(branch.eigenvalues[:, 0], 2 - branch.p)  # the multiplier


def test_logistic_two_cycle_flips_at_one_plus_sqrt_six():
    r = 3.2
    start = min(np.roots([r * r, -r * (r + 1), r + 1]).real)  # the 2-cycle: r^2 x^2 - r(r+1) x + r + 1 = 0
    branch = check_branch(continuation(models.logistic(r=r).iterate(2), "r", [start], p_span=(3.1, 3.5)))
    assert kinds(branch) == ["flip"] and close(branch.bifurcations[0].p, 1 + np.sqrt(6))


def test_henon_fold_and_flip():
    b = 0.3
    henon = models.henon(a=0.5, b=b)
    x = (-(1 - b) + np.sqrt((1 - b) ** 2 + 2.0)) / 1.0  # a x^2 + (1 - b) x - 1 = 0 at a = 0.5
    branch = check_branch(continuation(henon, "a", [x, b * x], p_span=(-0.5, 1.0), max_steps=150))
    assert close(only(branch, "fold").p, -((1 - b) ** 2) / 4)
    assert close(only(branch, "flip").p, 3 * (1 - b) ** 2 / 4)
    fold = only(branch, "fold")
    assert np.allclose(fold.x, [2 / (1 - b), 2 * b / (1 - b)], atol=1e-6)  # the double root -(1-b)/(2a)


def test_neimark_sacker_of_a_rotating_map():
    theta = 0.9
    c, s = np.cos(theta), np.sin(theta)
    system = System.from_strings({"x": f"(1 + mu)*({c}*x - {s}*y) + x*y", "y": f"(1 + mu)*({s}*x + {c}*y) - x**2"},
                                 {"mu": -0.3}, kind="map")
    branch = check_branch(continuation(system, "mu", [0.0, 0.0], p_span=(-0.3, 0.3)))
    ns = only(branch, "neimark_sacker")
    assert kinds(branch) == ["neimark_sacker"] and close(ns.p, 0.0)
    assert ns.frequency == pytest.approx(theta, rel=1e-10)


# ---------------------------------------------------------------- Lorenz
def test_lorenz_branch_point_at_rho_one_and_hopf_of_c_plus():
    sigma, beta = 10.0, 8 / 3
    origin = check_branch(continuation(models.lorenz(rho=0.5), "rho", [0.1, 0.1, 0.1], p_span=(0, 30)))
    assert kinds(origin) == ["branch_point"] and close(origin.bifurcations[0].p, 1.0)
    assert np.abs(origin.x).max() < 1e-12
    # C+- leave the origin along x = y
    assert np.allclose(np.abs(origin.bifurcations[0].tangent), [np.sqrt(0.5), np.sqrt(0.5), 0, 0])
    rho_h = 470 / 19  # sigma (sigma + beta + 3) / (sigma - beta - 1) at sigma = 10, beta = 8/3
    c = np.sqrt(beta * 27)
    c_plus = check_branch(continuation(models.lorenz(), "rho", [c, c, 27.0], p_span=(1.5, 30)))
    hopf = only(c_plus, "hopf")
    assert close(hopf.p, 470 / 19)
    assert hopf.frequency == pytest.approx(np.sqrt(beta * (sigma + rho_h)), rel=1e-8)  # lambda = +-i omega
    assert hopf.lyapunov > 0  # subcritical (Sparrow 1982): the unstable cycles shrink onto C+ as rho rises to rho_H
    k = np.sqrt(beta * (c_plus.p - 1))
    assert np.allclose(c_plus.x, np.stack([k, k, c_plus.p - 1], axis=1), atol=1e-9)


# ------------------------------------------------------------ invariance
NORMAL_FORMS = {
    "fold": (System.from_strings({"x": "mu - x**2", "y": "-y"}, {"mu": 1.0}), [1.0, 0.0], (-1.0, 2.0), 0.0),
    "branch_point": (System.from_strings({"x": "mu*x - x**3", "y": "-2*y"}, {"mu": -1.0}), [0.0, 0.0], (-1.0, 1.0),
                     0.0),
    "hopf": (hopf_normal_form(), [0.0, 0.0], (-1.0, 1.0), 0.0),
}


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(sorted(NORMAL_FORMS)), affine_maps(2))
def test_bifurcation_values_are_invariant_under_affine_conjugation(kind, change):
    system, x0, span, exact = NORMAL_FORMS[kind]
    M, b = change
    moved = conjugate(system, M, b)
    branch = check_branch(continuation(moved, "mu", M @ x0 + b, p_span=span))
    assert kinds(branch) == [kind]
    assert close(branch.bifurcations[0].p, exact)
    if kind == "hopf":
        assert branch.bifurcations[0].frequency == pytest.approx(W, rel=1e-8)


# ------------------------------------------------------------ round trips
def test_json_and_npz_round_trips_are_exact(tmp_path):
    branch = continuation(models.lorenz(rho=0.5), "rho", [0.0, 0.0, 0.0], p_span=(0, 2))
    again = Branch.from_json(branch.to_json(), models.lorenz())
    loaded = Branch.load(branch.save(tmp_path / "branch.npz"), models.lorenz())
    json.loads(branch.to_json())  # standard JSON
    for copy in (again, loaded):
        for name in ("p", "x", "eigenvalues", "index", "stable", "s"):
            assert np.array_equal(getattr(copy, name), getattr(branch, name)), name
            assert getattr(copy, name).dtype == getattr(branch, name).dtype
        assert copy.param == "rho" and copy.stop_reason == branch.stop_reason
        assert copy.system.params == branch.system.params
        for a, b in zip(copy.bifurcations, branch.bifurcations):
            assert (a.kind, a.p, a.s, a.frequency) == (b.kind, b.p, b.s, b.frequency)
            assert np.array_equal(a.x, b.x) and np.array_equal(a.eigenvalues, b.eigenvalues)
            assert np.array_equal(a.tangent, b.tangent)
    with pytest.raises(ValueError, match="branch of a flow in 'rho'"):
        Branch.from_json(branch.to_json(), models.henon())
    with pytest.raises(ValueError, match="is not a dynsys.Branch"):
        Branch.from_json(json.dumps({"format": "other", "arrays": {}}), models.lorenz())


# ------------------------------------------------------------------ errors
def test_bad_arguments_are_named():
    system = saddle_node()
    with pytest.raises(ValueError, match=r"'nu' is not a parameter .* \['mu'\]"):
        continuation(system, "nu", [1.0], p_span=(0, 2))
    with pytest.raises(ValueError, match="p_span must be"):
        continuation(system, "mu", [1.0], p_span=(2, 3))
    with pytest.raises(ValueError, match="direction must be"):
        continuation(system, "mu", [1.0], p_span=(0, 2), direction="up")
    with pytest.raises(ValueError, match=r"x0 must have shape"):
        continuation(system, "mu", [1.0, 2.0], p_span=(0, 2))
    with pytest.raises(ValueError, match=r"no fixed point near x0 = \[0.5\] at mu = -1.0: .*\|F\(x0\)\| = 1.25"):
        continuation(saddle_node(-1.0), "mu", [0.5], p_span=(-2, 2))


def test_one_direction_and_max_steps():
    forward = continuation(saddle_node(), "mu", [1.0], p_span=(-1, 2), direction="forward")
    assert forward.stop_reason == ("start", "p_span") and forward.p[0] == 1.0 and forward.p[-1] == 2.0
    short = continuation(saddle_node(), "mu", [1.0], p_span=(-1, 2), max_steps=3, direction="backward")
    assert short.stop_reason == ("max_steps", "start") and len(short) == 4 and short.p[-1] == 1.0


def test_param_jacobian_of_a_callable_is_what_continuation_uses():
    # x' = s - x^2 as a callable with its own d/ds: the fold at s = 0 all the same
    system = System.from_callable(lambda X, s: s - X**2, 1, params={"s": 1.0}, vectorized=True,
                                  param_jacobian=lambda X, s: np.ones((len(X), 1, 1)))
    assert close(only(continuation(system, "s", [1.0], p_span=(-1, 2)), "fold").p, 0.0)


def test_bifurcation_checks_its_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        Bifurcation(kind="cusp", p=0.0, x=[0.0], eigenvalues=[0.0], s=0.0)


def test_a_far_start_is_brought_in_by_the_search():
    # x' = mu - x^2 at mu = 1 from x0 = 1000: Newton halves the distance per step (more than MAX_NEWTON
    # steps); the search's Levenberg-Marquardt iteration brings it to x = sqrt(mu) = 1, where the branch starts
    branch = check_branch(continuation(saddle_node(1.0), "mu", [1000.0], p_span=(0.5, 2.0)))
    assert np.allclose(branch.x[:, 0], np.sqrt(branch.p), rtol=1e-9)
    assert branch.p.min() == pytest.approx(0.5) and branch.p.max() == pytest.approx(2.0)


def test_a_pair_turning_real_outside_the_unit_circle_is_no_neimark_sacker_point():
    # g = (1.5 x - p y, x + 1.5 y, 0.1 (u - v), 0.1 (u + v)): multipliers 1.5 +- sqrt(-p) and the fixed pair
    # 0.1 (1 +- i), |.| = 0.14.  For p > 0 the first pair is complex of modulus sqrt(2.25 + p) > 1; for
    # -0.2 < p < 0 it is real, in (1.05, 1.95): it leaves the complex plane at p = 0 without crossing
    # |mu| = 1 (the pair nearest the circle switches to the inner one), and the origin keeps index 2
    system = System.from_strings({"x": "1.5*x - p*y", "y": "x + 1.5*y", "u": "0.1*(u - v)", "v": "0.1*(u + v)"},
                                 {"p": 0.3}, kind="map")
    branch = check_branch(continuation(system, "p", [0.0] * 4, p_span=(-0.2, 0.5)))
    assert branch.bifurcations == () and set(branch.index) == {2}


# ------------------------------------------------------------------ the cusp
@settings(max_examples=10, deadline=None)
@given(beta2=st.floats(0.1, 3.0))
def test_cusp_folds_lie_on_the_fold_curve(beta2):
    # x' = beta1 + beta2 x - x^3 in beta1 at fixed beta2 > 0: F = F_x = 0 gives x^2 = beta2/3 and
    # beta1 = x^3 - beta2 x = -+2 (beta2/3)^{3/2}, the fold curve 27 beta1^2 = 4 beta2^3 (Kuznetsov §8.2)
    system = System.from_strings({"x": "b1 + b2*x - x**3"}, {"b1": 0.0, "b2": beta2}, name="cusp")
    b1_star = 2 * (beta2 / 3) ** 1.5
    # x = sqrt(beta2) at beta1 = 0; with the default dsmax (span/10 = 0.8 at beta2 = 3) a step once landed on
    # the lower sheet across both folds; a corrector that moves the prediction by more than ds/2 now halves ds
    span = (-2 * b1_star, 2 * b1_star)
    branch = check_branch(continuation(system, "b1", [np.sqrt(beta2)], p_span=span))
    assert kinds(branch) == ["fold", "fold"]
    for fold in branch.bifurcations:
        assert close(abs(fold.p), b1_star) and close(27 * fold.p**2, 4 * beta2**3)
        assert abs(fold.x[0] ** 2 - beta2 / 3) < 1e-6   # p is quadratic in x there: x to sqrt of p's accuracy
    assert sorted(b.p for b in branch.bifurcations) == pytest.approx([-b1_star, b1_star], rel=1e-8)


@pytest.mark.parametrize("beta2", [-1.0, -0.1, 0.0])
def test_cusp_without_folds_for_nonpositive_beta2(beta2):
    # for beta2 <= 0, F_x = beta2 - 3x^2 < 0 except at x = 0 when beta2 = 0 (the cusp point itself, where F_xx = 0
    # too and x(beta1) = beta1^{1/3} is monotone): one stable equilibrium for every beta1, no fold
    system = System.from_strings({"x": "b1 + b2*x - x**3"}, {"b1": 0.0, "b2": beta2}, name="cusp")
    branch = check_branch(continuation(system, "b1", [0.0], p_span=(-2.0, 2.0)))
    assert kinds(branch) == [] and branch.stop_reason == ("p_span", "p_span")
    assert np.all(np.diff(branch.p) > 0) and branch.stable[branch.x[:, 0] != 0].all()  # x = 0, beta2 = 0: lambda = 0
    assert np.allclose(branch.p, branch.x[:, 0] ** 3 - beta2 * branch.x[:, 0], atol=1e-9)


# ------------------------------------------------------------ a trained network
def test_flipflop_memory_vanishes_at_folds_and_the_branch_holds_every_fixed_point_it_passes():
    """Continuing the flip-flop network along input bit 0 from the memory (-1, +1, +1).

    Independent checks: (a) at sampled input levels s_k, ``find_fixed_points`` from random starts
    finds exactly as many fixed points on the branch as the branch's polyline crosses p = s_k, each
    at the linear interpolation of the polyline there; (b) simulating the network from the memory
    with the input held just below / just above the fold where it vanishes keeps / loses the bit.
    """
    from dynsys import find_fixed_points, rnn

    cell = rnn.load_flipflop()
    found = find_fixed_points(cell.system(np.zeros(3)), seed=0)
    memories = found.stable()
    signs = np.sign(cell.readout(memories.x))
    x0 = memories.x[np.flatnonzero((signs == [-1, 1, 1]).all(axis=1))[0]]
    system = cell.system(np.zeros(3), along=np.eye(3)[0])
    branch = check_branch(continuation(system, "s", x0, p_span=(-1.5, 1.5)), tol=1e-9)

    # the stable segment through the memory (s = 0) ends at folds on both sides: where the memory vanishes
    k0 = int(np.argmin(np.abs(branch.s)))
    assert branch.p[k0] == 0.0 and branch.stable[k0]
    ends = [max((b for b in branch.bifurcations if b.s < 0), key=lambda b: b.s),
            min((b for b in branch.bifurcations if b.s > 0), key=lambda b: b.s)]
    assert [b.kind for b in ends] == ["fold", "fold"]
    lo, hi = sorted(b.p for b in ends)
    assert lo < 0 < hi and branch.stable[(branch.s > ends[0].s) & (branch.s < ends[1].s)].all()

    # (b) at the fold s = hi pushing bit 0 up erases its -1: just below it the memory is held, just above it
    # the network (run from the memory for 3000 steps with the input held) ends with bit 0 flipped to +1
    U = np.array([hi - 0.005, hi + 0.005])[:, None, None] * np.eye(3)[0] + np.zeros((2, 3000, 3))
    held, lost = np.sign(cell.readout(cell.run(U, h0=x0)[:, -1]))
    assert np.array_equal(held, [-1, 1, 1]) and lost[0] == 1

    # (a) the branch against the search at input levels where all 27 fixed points of the 3-bit memory exist
    for s_k in (-0.02, 0.01, 0.03):
        points = find_fixed_points(system.with_params(s=s_k), seed=0).x
        d = branch.p - s_k
        cross = np.flatnonzero(d[:-1] * d[1:] < 0)
        w = (s_k - branch.p[cross]) / (branch.p[cross + 1] - branch.p[cross])
        on_branch = branch.x[cross] + w[:, None] * (branch.x[cross + 1] - branch.x[cross])
        dist = np.linalg.norm(points[:, None] - on_branch[None], axis=2)     # (found, crossings)
        near = dist.min(axis=1) < 0.05                                      # 0.05: polyline's chord error
        assert near.sum() == len(cross), (s_k, np.sort(dist.min(axis=1))[: len(cross) + 2])
        assert np.all(dist.min(axis=1)[~near] > 0.5)                        # the rest are other branches
        assert len(set(dist[near].argmin(axis=1))) == len(cross)            # one found point per crossing
