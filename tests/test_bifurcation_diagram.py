"""Bifurcation diagrams and their pictures, against closed forms.

The branches of the normal forms (Kuznetsov, *Elements of Applied
Bifurcation Theory*, 3rd ed., 2004, ch. 3), of the logistic map (May 1976)
and of Lorenz (C± = (±√(β(ρ−1)), ±√(β(ρ−1)), ρ−1), Hopf at
ρ_H = σ(σ+β+3)/(σ−β−1) = 470/19) are known in closed form: every point of
every branch must lie on one of them, every closed-form curve must be
covered, and the special points must be where the closed forms put them.
The pictures are checked against the branches they draw.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from matplotlib.collections import PathCollection

from dynsys import BifurcationDiagram, System, bifurcation_diagram, continuation, models
from dynsys.continuation import switch_branch
from dynsys.plot import BIFURCATION_LABELS, plot_bifurcation_diagram, stability_runs
from dynsys.testing import affine_maps, conjugate


def close(p, exact):
    return abs(p - exact) <= 1e-8 * (1 + abs(exact))


def one_d(rhs):
    return System.from_strings({"x": rhs}, {"mu": 0.0})


def covers(diagram, curve, p):
    """Whether at every p of the grid some branch that runs along x = curve(p) (within 1e-12) spans p."""
    along = [b for b in diagram.branches if np.allclose(b.x[:, 0], curve(b.p), atol=1e-12)]
    return all(any(b.p.min() <= q <= b.p.max() for b in along) for q in p)


def test_pitchfork_three_branches_and_one_branch_point():
    diagram = bifurcation_diagram(one_d("mu*x - x**3"), "mu", (-1.0, 1.0))
    assert len(diagram.branches) == 3
    bp, = diagram.bifurcations
    assert bp.kind == "branch_point" and close(bp.p, 0.0) and abs(bp.x[0]) < 1e-12
    zero, up, down = diagram.branches
    assert np.abs(zero.x).max() < 1e-12 and zero.p[[0, -1]].tolist() == [-1.0, 1.0]
    for branch, sign in ((up, 1), (down, -1)):  # x = ±sqrt(mu), stable
        assert np.all(branch.p > 0) and np.allclose(branch.x[:, 0], sign * np.sqrt(branch.p), atol=1e-10)
        assert branch.stable.all() and branch.p.max() == 1.0
    assert np.array_equal(zero.stable, zero.p < 0)


def test_saddle_node_one_branch_with_a_fold_at_zero():
    diagram = bifurcation_diagram(one_d("mu - x**2"), "mu", (-1.0, 1.0))
    branch, = diagram.branches
    fold, = diagram.bifurcations
    assert fold.kind == "fold" and close(fold.p, 0.0)
    assert np.allclose(branch.p, branch.x[:, 0] ** 2, atol=1e-12)
    assert sorted(branch.x[[0, -1], 0]) == pytest.approx([-1.0, 1.0], abs=1e-10)


def test_transcritical_exchanges_stability_at_zero():
    diagram = bifurcation_diagram(one_d("mu*x - x**2"), "mu", (-1.0, 1.0))
    bp, = diagram.bifurcations
    assert bp.kind == "branch_point" and close(bp.p, 0.0)
    for branch in diagram.branches:
        on_zero = np.allclose(branch.x[:, 0], 0.0, atol=1e-12)
        assert on_zero or np.allclose(branch.x[:, 0], branch.p, atol=1e-12)
        # x = 0 is stable for mu < 0, x = mu for mu > 0 (eigenvalues mu and -mu)
        assert np.array_equal(branch.stable, branch.p < 0 if on_zero else branch.p > 0)
    grid = np.linspace(-0.9, 0.9, 6)  # switched branches start h = 1e-3 (span) from the branch point
    assert covers(diagram, np.zeros_like, grid) and covers(diagram, lambda p: p, grid)


def test_logistic_map_flip_at_three():
    diagram = bifurcation_diagram(models.logistic(), "r", (2.5, 3.4))
    flip, = diagram.bifurcations
    assert flip.kind == "flip" and close(flip.p, 3.0) and flip.x[0] == pytest.approx(2 / 3)
    assert len(diagram.branches) == 2
    for branch in diagram.branches:
        x = branch.x[:, 0]
        assert np.allclose(x, 0.0, atol=1e-12) or np.allclose(x, 1 - 1 / branch.p, atol=1e-12)


def test_lorenz_branch_point_at_one_and_hopf_of_both_c_at_470_over_19():
    sigma, beta = 10.0, 8 / 3
    diagram = bifurcation_diagram(models.lorenz(), "rho", (0.5, 30.0))
    kinds = [b.kind for b in diagram.bifurcations]
    assert kinds == ["branch_point", "hopf", "hopf"]
    bp, *hopfs = diagram.bifurcations
    assert close(bp.p, 1.0) and np.abs(bp.x).max() < 1e-12
    rho_h = sigma * (sigma + beta + 3) / (sigma - beta - 1)
    for hopf in hopfs:
        c = np.sqrt(beta * (rho_h - 1))
        assert close(hopf.p, 470 / 19) and np.allclose(np.abs(hopf.x), [c, c, rho_h - 1], atol=1e-8)
        assert hopf.frequency == pytest.approx(np.sqrt(beta * (sigma + rho_h)), rel=1e-8)
    assert sorted(np.sign(h.x[0]) for h in hopfs) == [-1, 1]  # one on C-, one on C+
    for branch in diagram.branches:  # every point is the origin or on C+-
        k = np.sqrt(beta * np.maximum(branch.p - 1, 0))
        origin = np.abs(branch.x).max() < 1e-12
        assert origin or np.allclose(np.abs(branch.x), np.stack([k, k, branch.p - 1], axis=1), atol=1e-9)


def test_starts_on_a_traced_branch_are_skipped():
    # the saddle-node's two fixed points at every mu > 0 lie on the one branch traced from the first
    diagram = bifurcation_diagram(one_d("mu - x**2"), "mu", (-1.0, 1.0), n_interior=7)
    assert len(diagram.branches) == 1


def test_switch_branch_lands_on_the_other_branch():
    system = one_d("mu*x - x**2").with_params(mu=-1.0)
    bp = continuation(system, "mu", [0.0], p_span=(-1, 1)).bifurcations[0]
    for h in (1e-3, -1e-3):
        x, p, direction = switch_branch(system, bp, "mu", h)
        assert x[0] == pytest.approx(p, abs=1e-14) and abs(p) == pytest.approx(abs(h) / np.sqrt(2), rel=1e-12)
        assert direction == ("forward" if p > 0 else "backward")  # away from the branch point
    with pytest.raises(ValueError, match="h must be"):
        switch_branch(system, bp, "mu", 0.0)


def test_round_trips_are_exact(tmp_path):
    diagram = bifurcation_diagram(models.lorenz(), "rho", (0.5, 30.0))
    json.loads(diagram.to_json())
    for again in (BifurcationDiagram.from_json(diagram.to_json(), models.lorenz()),
                  BifurcationDiagram.load(diagram.save(tmp_path / "d.json"), models.lorenz())):
        assert again.param == "rho" and again.p_span == diagram.p_span and len(again.branches) == 3
        for a, b in zip(again.branches, diagram.branches):
            for name in ("p", "x", "eigenvalues", "index", "stable", "s"):
                assert np.array_equal(getattr(a, name), getattr(b, name))
        for a, b in zip(again.bifurcations, diagram.bifurcations):
            assert (a.kind, a.p, a.frequency) == (b.kind, b.p, b.frequency) and np.array_equal(a.x, b.x)
        assert again.table() == diagram.table()
    with pytest.raises(ValueError, match="is not a dynsys.BifurcationDiagram"):
        BifurcationDiagram.from_json(json.dumps({"format": "x"}), models.lorenz())


def test_bad_arguments_are_named():
    system = one_d("mu - x**2")
    with pytest.raises(ValueError, match="'nu' is not a parameter"):
        bifurcation_diagram(system, "nu", (0, 1))
    with pytest.raises(ValueError, match="p_span must be"):
        bifurcation_diagram(system, "mu", (1, 0))
    with pytest.raises(ValueError, match="n_interior must be"):
        bifurcation_diagram(system, "mu", (0, 1), n_interior=-1)


# ---------------------------------------------------------------- pictures
def lines_by_style(ax):
    """The drawn lines (with data) by line style."""
    drawn = [line for line in ax.get_lines() if len(line.get_xdata())]
    return {style: [line for line in drawn if line.get_linestyle() == style] for style in ("-", "--")}


@pytest.mark.parametrize("case", ["lorenz", "pitchfork", "logistic"])
def test_picture_lines_and_markers_match_the_branches(case):
    system, param, span = {
        "lorenz": (models.lorenz(), "rho", (0.5, 30.0)),
        "pitchfork": (one_d("mu*x - x**3"), "mu", (-1.0, 1.0)),
        "logistic": (models.logistic(), "r", (2.5, 3.4)),
    }[case]
    diagram = bifurcation_diagram(system, param, span)
    fig = plot_bifurcation_diagram(diagram, y="x")
    ax = fig.axes[0]
    runs = [(branch, a) for branch in diagram.branches for a, _ in stability_runs(branch)]
    styles = lines_by_style(ax)
    assert len(styles["-"]) == sum(bool(b.stable[a]) for b, a in runs)
    assert len(styles["--"]) == sum(not b.stable[a] for b, a in runs)
    # every drawn vertex is a point of a branch or a special point
    known = np.vstack([np.column_stack([b.p, b.x[:, 0]]) for b in diagram.branches]
                      + [[[s.p, s.x[0]] for s in diagram.bifurcations]])
    for line in styles["-"] + styles["--"]:
        for v in np.column_stack([line.get_xdata(), line.get_ydata()]):
            assert np.min(np.linalg.norm(known - v, axis=1)) == 0.0
    markers = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    expected = np.array([[b.p, b.x[0]] for b in diagram.bifurcations])
    assert sorted(map(tuple, markers)) == sorted(map(tuple, expected))
    assert sorted(t.get_text() for t in ax.texts) == sorted(BIFURCATION_LABELS[b.kind] for b in diagram.bifurcations)
    assert (ax.get_xlabel(), ax.get_ylabel()) == (param, "x")
    labels = ax.get_legend_handles_labels()[1]
    assert ("stable" in labels) == any(b.stable.any() for b in diagram.branches)
    assert {f"{BIFURCATION_LABELS[b.kind]}:" for b in diagram.bifurcations} <= {lab.split()[0] for lab in labels}


def test_picture_y_as_norm_callable_and_branch():
    branch = continuation(models.lorenz(rho=0.5), "rho", [0.0, 0.0, 0.0], p_span=(0.0, 2.0))
    for y, label in (("norm", "|x, y, z|"), (2, "z"), (lambda X: X.sum(axis=1), "y(x)")):
        ax = plot_bifurcation_diagram(branch, y).axes[0]
        assert ax.get_ylabel() == label
        bp = branch.bifurcations[0]
        marker, = [c.get_offsets()[0] for c in ax.collections if isinstance(c, PathCollection)]
        assert marker[0] == bp.p and marker[1] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="y must be"):
        plot_bifurcation_diagram(branch, "w")
    with pytest.raises(TypeError, match="diagram must be"):
        plot_bifurcation_diagram([branch])


@settings(max_examples=6, deadline=None)
@given(affine_maps(2))
def test_pitchfork_diagram_is_invariant_under_affine_conjugation(change):
    # x' = mu x - x^3, y' = -y moved by x -> M x + b: still one branch point at mu = 0 and three branches
    M, b = change
    system = conjugate(System.from_strings({"x": "mu*x - x**3", "y": "-y"}, {"mu": 0.0}), M, b)
    diagram = bifurcation_diagram(system, "mu", (-1.0, 1.0))
    assert [k.kind for k in diagram.bifurcations] == ["branch_point"] and close(diagram.bifurcations[0].p, 0.0)
    assert len(diagram.branches) == 3
    for branch in diagram.branches:  # back in the normal form's coordinates: x = 0 or x^2 = mu (to |F| ~ tol), y = 0
        u = np.linalg.solve(M, (branch.x - b).T).T
        assert np.allclose(u[:, 1], 0, atol=1e-9)
        assert np.allclose(u[:, 0], 0, atol=1e-9) or np.allclose(u[:, 0] * (u[:, 0] ** 2 - branch.p), 0, atol=1e-9)
        assert np.allclose(u[:, 0], 0, atol=1e-9) or (branch.p > 0).all()
