"""Tests of dynsys.plot: pictures that are drawn, of the right size, and right.

Every PNG is read back with matplotlib.image.imread and checked for its pixel
size and for not being blank; what a picture shows (basins, manifolds,
projections, eigenvalues, node positions) is checked against independent
computations: scipy's solve_ivp, hand-derived eigenvectors, numpy's
covariance eigenvectors and numpy's eigvals.
"""
from __future__ import annotations

import itertools

import matplotlib.image as mpimg
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from scipy.integrate import solve_ivp

from dynsys import find_fixed_points, models, periodic_orbit
from dynsys.graph import attractor_graph, transition_graph
from dynsys.linearize import linearize_matrix
from dynsys import bifurcation_diagram
from dynsys.plot import (
    GREY,
    KINDS,
    TRAJECTORY,
    draw_graph,
    phase_portrait,
    plot_bifurcation_diagram,
    plot_cycle_period,
    plot_spectrum,
    plot_state_space,
    plot_trials,
    point_style,
    principal_components,
)
from dynsys.simulate import simulate
from dynsys.systems import System

DELTA = 0.3  # damping of models.duffing()'s default


def duffing_rhs(t: float, y: np.ndarray) -> np.ndarray:
    """x' = v, v' = -delta v + x - x^3, written out independently of dynsys."""
    return np.array([y[1], -DELTA * y[1] + y[0] - y[0] ** 3])


@pytest.fixture(scope="module")
def duffing():
    system = models.duffing()
    return system, find_fixed_points(system, method="exact")


def check_png(fig: Figure, path, width_in: float, height_in: float, dpi: int) -> np.ndarray:
    """Save at a requested size; the PNG must have that many pixels and not be blank."""
    fig.set_size_inches(width_in, height_in)
    fig.savefig(path, dpi=dpi)
    image = mpimg.imread(path)
    assert image.shape[:2] == (round(height_in * dpi), round(width_in * dpi))
    grey = image[..., :3].mean(axis=2)
    assert grey.var() > 1e-3, "the picture is (nearly) blank"
    return image


# ------------------------------------------------------------------- PCA
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 6))
def test_principal_components_are_the_covariance_eigenvectors(seed, n):
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 1.0, n)  # well separated variances
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    X = (rng.normal(size=(40, 30, n)) * scales) @ Q.T + rng.normal(size=n)
    X[0, 0] = np.nan  # ignored
    mean, P = principal_components(X, k=3)
    Z = X.reshape(-1, n)
    Z = Z[np.isfinite(Z).all(axis=1)]
    w, V = np.linalg.eigh(np.cov(Z, rowvar=False))
    top = V[:, np.argsort(w)[::-1][: min(3, n)]].T
    assert P.shape == (min(3, n), n)
    np.testing.assert_allclose(mean, Z.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(P * top, axis=1)), 1.0, atol=1e-8)  # same directions up to sign
    np.testing.assert_allclose(P @ P.T, np.eye(len(P)), atol=1e-12)
    assert np.all(P[np.arange(len(P)), np.argmax(np.abs(P), axis=1)] > 0)  # the sign convention


def test_principal_components_rejects_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        principal_components(np.ones((5, 3)), k=0)
    with pytest.raises(ValueError, match="finite state"):
        principal_components(np.full((5, 3), np.nan))


# ------------------------------------------------------------------ trials
def test_plot_trials_draws_bits_by_trials(tmp_path):
    rng = np.random.default_rng(0)
    inputs = np.where(rng.random((5, 40, 2)) < 0.1, rng.choice([-1.0, 1.0], (5, 40, 2)), 0.0)
    targets = np.sign(np.cumsum(inputs, axis=1))
    outputs = targets + 0.1 * rng.normal(size=targets.shape)
    fig = plot_trials(inputs, targets, outputs, trials=3)
    assert len(fig.axes) == 2 * 3
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), outputs[0, :, 0])  # lines: target, output, 0
    check_png(fig, tmp_path / "trials.png", 6, 3, 50)
    with pytest.raises(ValueError, match="outputs has"):
        plot_trials(inputs, targets, outputs[:, :, :1])


# --------------------------------------------------------- phase portraits
def test_duffing_basins_agree_with_independent_simulation(duffing, tmp_path):
    system, points = duffing
    fig = phase_portrait(system, fixed_points=points, basins=True, resolution=40)
    ax = fig.axes[0]
    labels = ax.images[0].get_array()
    (x0, x1), (y0, y1) = system.bounds
    attractor_x = points.stable().x[:, 0]
    assert sorted(np.sign(attractor_x)) == [-1, 1]
    assert labels.count() > 0.99 * labels.size  # the damped wells catch (almost) everything
    rng = np.random.default_rng(3)
    for i, j in rng.integers(0, 40, size=(6, 2)):
        if labels.mask is not np.ma.nomask and labels.mask[i, j]:
            continue
        start = [x0 + (x1 - x0) * j / 39, y0 + (y1 - y0) * i / 39]  # row i is the second state (origin lower)
        end = solve_ivp(duffing_rhs, (0, 150), start, rtol=1e-10, atol=1e-12).y[:, -1]
        assert np.sign(end[0]) == np.sign(attractor_x[labels[i, j]]), (start, end)
    check_png(fig, tmp_path / "duffing.png", 5, 4, 60)


def test_duffing_manifolds_are_computed(duffing):
    system, points = duffing
    fig = phase_portrait(system, fixed_points=points, resolution=30, nullclines=False)
    ax = fig.axes[0]
    saddle_color = point_style("saddle", 1)["color"]
    leaving = [
        line.get_xydata() for line in ax.lines
        if line.get_color() == saddle_color and len(line.get_xydata()) > 1
        and np.linalg.norm(line.get_xydata()[0]) < 1e-3
    ]
    solid = [line.get_xydata() for line in ax.lines if line.get_color() == saddle_color
             and line.get_linestyle() == "-" and len(line.get_xydata()) > 1]
    dashed = [line.get_xydata() for line in ax.lines if line.get_color() == saddle_color
              and line.get_linestyle() == "--" and len(line.get_xydata()) > 1]
    assert len(solid) == 2 and len(dashed) == 2 and len(leaving) == 4
    # W^u: both branches leave the origin along (1, lambda_u) and end at the two foci (+-1, 0)
    lam_u = (-DELTA + np.sqrt(DELTA**2 + 4)) / 2  # eigenvalues of [[0, 1], [1, -delta]]
    lam_s = (-DELTA - np.sqrt(DELTA**2 + 4)) / 2
    ends = []
    for xy in solid:
        finite = xy[np.isfinite(xy).all(axis=1)]
        step = finite[5] - finite[0]
        assert abs(step[1] / step[0] - lam_u) < 1e-3
        ends.append(finite[-1])
    ends = np.array(sorted(ends, key=lambda e: e[0]))
    np.testing.assert_allclose(ends, [[-1, 0], [1, 0]], atol=0.05)
    # W^s: leaves (backwards in time) along (1, lambda_s)
    for xy in dashed:
        finite = xy[np.isfinite(xy).all(axis=1)]
        step = finite[5] - finite[0]
        assert abs(step[1] / step[0] - lam_s) < 1e-3


def test_toggle_switch_portrait(tmp_path):
    system = models.toggle_switch()
    points = find_fixed_points(system, seed=0)
    fig = phase_portrait(system, fixed_points=points, resolution=40, basins=True)
    ax = fig.axes[0]
    drawn = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    # the saddle on the diagonal u = v = 2 (u^3 + u - 10 = 0) is drawn
    assert np.min(np.linalg.norm(drawn - [2.0, 2.0], axis=1)) < 1e-6
    assert set(np.unique(ax.images[0].get_array().compressed())) == {0, 1}
    check_png(fig, tmp_path / "toggle.png", 4, 4, 50)


def test_henon_map_portrait_draws_the_unstable_manifold(tmp_path):
    system = models.henon()
    fig = phase_portrait(system, resolution=30)
    ax = fig.axes[0]
    dots = [line.get_xydata() for line in ax.lines if line.get_marker() == "."]
    assert dots
    W = np.concatenate(dots)
    W = W[np.isfinite(W).all(axis=1) & (np.abs(W[:, 0]) < 2) & (np.abs(W[:, 1]) < 0.6)]
    # W^u of the saddle x = (-(1-b) + sqrt((1-b)^2 + 4a)) / (2a) carries the attractor:
    # its points come close to the saddle's own position and spread over the attractor's width
    x_star = (-(1 - 0.3) + np.sqrt((1 - 0.3) ** 2 + 4 * 1.4)) / (2 * 1.4)
    assert np.min(np.linalg.norm(W - [x_star, 0.3 * x_star], axis=1)) < 1e-3
    assert np.ptp(W[:, 0]) > 2.0
    check_png(fig, tmp_path / "henon.png", 4, 3, 50)


def test_phase_portrait_rejects_3d_systems():
    with pytest.raises(ValueError, match="2-D system.*dim 3"):
        phase_portrait(models.lorenz())


# ---------------------------------------------------------- state spaces
def test_lorenz_state_space_in_3d(tmp_path):
    system = models.lorenz()
    points = find_fixed_points(system, n_starts=128, seed=0)
    rng = np.random.default_rng(1)
    states = simulate(system, rng.uniform(-10, 10, (4, 3)) + [0, 0, 25], (0, 5), method="rk4", n_points=300).X
    fig = plot_state_space(states, points, system=system, n_trajectories=3)
    ax = fig.axes[0]
    assert ax.name == "3d" and (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("x", "y", "z")
    drawn = np.concatenate([np.column_stack(c._offsets3d) for c in ax.collections])
    r = np.sqrt(8 / 3 * 27)  # C+- = (+-sqrt(beta (rho - 1)), same, rho - 1)
    expected = np.array([[0, 0, 0], [r, r, 27], [-r, -r, 27]])
    assert drawn.shape == (3, 3)
    assert np.max(np.min(np.linalg.norm(drawn[:, None] - expected[None], axis=2), axis=1)) < 1e-6
    check_png(fig, tmp_path / "lorenz.png", 5, 4, 50)


def test_state_space_projects_on_principal_components():
    rng = np.random.default_rng(2)
    A = -np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    system = models.linear(A)
    points = find_fixed_points(system, bounds=[(-1, 1)] * 5, n_starts=16, seed=0)
    states = rng.normal(size=(6, 50, 5)) * [5.0, 3.0, 1.0, 0.5, 0.2] + 1.0
    fig = plot_state_space(states, points, dims=2)
    Z = states.reshape(-1, 5)
    w, V = np.linalg.eigh(np.cov(Z, rowvar=False))
    expected = np.abs((0.0 - Z.mean(axis=0)) @ V[:, np.argsort(w)[::-1][:2]])  # the origin, up to sign
    np.testing.assert_allclose(np.abs(fig.axes[0].collections[0].get_offsets()[0]), expected, rtol=1e-8)
    assert fig.axes[0].get_xlabel().startswith("PC1")


def test_state_space_draws_the_branches_as_their_paths(duffing):
    system, points = duffing
    G = transition_graph(system, points, keep_paths=True)
    states = simulate(system, [[1.5, 1.0], [-1.5, -1.0]], (0, 10), n_points=100).X
    fig = plot_state_space(states, graph=G, system=system)
    lines = [line.get_xydata() for line in fig.axes[0].lines]
    for s, _, d in G.edges(data=True):
        expected = np.vstack([G.nodes[s]["x"], d["path"]])
        assert any(xy.shape == expected.shape and np.allclose(xy, expected) for xy in lines)


def test_state_space_checks_its_arguments():
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        plot_state_space(np.zeros((2, 5, 4)), dims=4)
    with pytest.raises(ValueError, match="states must have shape"):
        plot_state_space(np.zeros((2, 5, 3, 1)))
    with pytest.raises(ValueError, match="3-D Axes"):
        plot_state_space(np.zeros((2, 5, 4)), ax=Figure().add_subplot())


# ----------------------------------------------------------------- spectra
def test_spectrum_of_a_linear_flow(tmp_path):
    A = np.array([[-1.0, 0, 0], [0, -0.5, 3.0], [0, -3.0, -0.5]])  # eigenvalues -1, -0.5 +- 3i
    fig = plot_spectrum(linearize_matrix(A, "flow"))
    drawn = fig.axes[0].collections[0].get_offsets()
    expected = np.linalg.eigvals(A)
    drawn_c = np.sort_complex(drawn[:, 0] + 1j * drawn[:, 1])
    np.testing.assert_allclose(drawn_c, np.sort_complex(expected), atol=1e-12)
    check_png(fig, tmp_path / "spectrum.png", 4, 3, 50)


def test_spectrum_of_a_map_has_the_unit_circle():
    points = find_fixed_points(models.henon(), seed=0)
    fig = plot_spectrum(points)
    circles = [line.get_xydata() for line in fig.axes[0].lines if len(line.get_xydata()) > 10]
    assert circles and np.allclose(np.linalg.norm(circles[0], axis=1), 1.0)
    assert len(fig.axes[0].collections) == len(points)
    with pytest.raises(ValueError, match="all be of flows or all of maps"):
        plot_spectrum([points, linearize_matrix(np.eye(2) * -1, "flow")])


# ------------------------------------------------------------------ graphs
def test_draw_graph_at_the_points_positions(duffing, tmp_path):
    system, points = duffing
    G = transition_graph(system, points)
    fig = draw_graph(G)
    ax = fig.axes[0]
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    expected = np.array([G.nodes[v]["x"] for v in G])  # a 2-D system: its own coordinates
    assert len(drawn) == len(G)
    assert np.max(np.min(np.linalg.norm(drawn[:, None] - expected[None], axis=2), axis=1)) < 1e-12
    assert len(ax.patches) == G.number_of_edges()
    black = [c for c in ax.collections if np.allclose(c.get_facecolor()[0][:3], 0)]
    assert len(black) == 1 and len(black[0].get_offsets()) == 2  # the two attractors
    check_png(fig, tmp_path / "graph.png", 4, 3, 50)
    fig = draw_graph(attractor_graph(G), edge_labels=True)
    assert [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("P")]


def test_draw_graph_layouts():
    G = nx.path_graph(4)
    fig1, fig2 = draw_graph(G), draw_graph(G)  # seeded spring layout: the same picture twice
    np.testing.assert_array_equal(fig1.axes[0].collections[0].get_offsets(), fig2.axes[0].collections[0].get_offsets())
    positions = {v: (v, v**2) for v in G}
    offsets = draw_graph(G, positions=positions).axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(offsets, [positions[v] for v in G])
    with pytest.raises(ValueError, match="missing"):
        draw_graph(G, positions={0: (0, 0)})


# -------------------------------------------------------------- ax reuse
def test_every_function_draws_on_a_given_ax(duffing):
    system, points = duffing
    fig = Figure()
    axes = fig.subplots(1, 3)
    states = simulate(system, [[1.5, 1.0]], (0, 5), n_points=50).X
    assert phase_portrait(system, fixed_points=points, ax=axes[0], resolution=20, manifolds=False) is fig
    assert plot_spectrum(points, ax=axes[1]) is fig
    assert draw_graph(nx.path_graph(3), ax=axes[2]) is fig
    fig3 = Figure()
    ax3 = fig3.add_subplot(projection="3d")
    assert plot_state_space(np.zeros((1, 5, 4)) + np.arange(4), ax=ax3) is fig3
    assert plot_state_space(states, points, ax=axes[0]) is fig
    assert all(ax.has_data() for ax in axes)


# ------------------------------------------- pictures that do not mislead
@pytest.fixture(scope="module")
def cube():
    """x_i' = x_i - x_i^3: fixed points {-1, 0, 1}^3, attractors at the 8 corners, the
    index of a point the number of its zero coordinates (3: the repeller at the origin)."""
    system = System.from_strings({"x": "x - x**3", "y": "y - y**3", "z": "z - z**3"}, name="cube",
                                 bounds=[(-1.5, 1.5)] * 3)
    grid = np.array(list(itertools.product([-1.0, 0.0, 1.0], repeat=3)))
    points = find_fixed_points(system, grid + 0.01, seed=0)
    G = transition_graph(system, points, keep_paths=True)
    return system, points, G


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def overlapping_pairs(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i, j in itertools.combinations(range(len(boxes)), 2)
            if min(boxes[i].x1, boxes[j].x1) > max(boxes[i].x0, boxes[j].x0)
            and min(boxes[i].y1, boxes[j].y1) > max(boxes[i].y0, boxes[j].y0)]


def test_draw_graph_in_3d_at_the_projected_states(cube, tmp_path):
    _, _, G = cube
    A = attractor_graph(G)
    for v, d in A.nodes(data=True):
        d["label"] = f"{v} (" + "".join("+" if c > 0 else "-" for c in d["x"]) + ")"
    rng = np.random.default_rng(4)
    components, _ = np.linalg.qr(rng.normal(size=(3, 3)))  # an orthonormal basis, independent of any PCA
    mean = rng.normal(size=3)
    fig = draw_graph(A, edge_labels=True, projection=(mean, components.T))
    ax = fig.axes[0]
    assert ax.name == "3d" and (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("PC1", "PC2", "PC3")
    drawn = np.column_stack(ax.collections[0]._offsets3d)
    expected = np.array([(A.nodes[v]["x"] - mean) @ components for v in A])
    np.testing.assert_allclose(drawn, expected, atol=1e-12)
    # the corners of the cube: 12 edges, each edge labelled by the saddle between its ends (the middle of the edge)
    texts = {t.get_text(): t for t in ax.texts}
    assert {A.nodes[v]["label"] for v in A} <= set(texts) and len(A.edges) == 12
    for a, b, d in A.edges(data=True):
        np.testing.assert_allclose(G.nodes[d["saddle"]]["x"], (A.nodes[a]["x"] + A.nodes[b]["x"]) / 2, atol=1e-8)
        assert d["saddle"] in texts
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert overlapping_pairs([t.get_window_extent(renderer) for t in ax.texts]) == []
    assert set(legend_texts(ax)) == {"attractor", "joined through an index-1 saddle"}
    check_png(fig, tmp_path / "cube_graph.png", 6, 5, 60)


def test_draw_graph_labels_of_crowded_nodes_do_not_overlap(tmp_path):
    rng = np.random.default_rng(5)
    G = nx.MultiDiGraph()
    centres = np.array([[0.0, 0.0], [1.0, 0.0]])
    for i in range(12):  # two tight clusters of 6 nodes
        G.add_node(f"P{i}", label=f"P{i} (node {i})", kind="saddle" if i % 3 else "attractor", index=i % 3,
                   x=centres[i % 2] + 0.01 * rng.normal(size=2))
    for i in range(1, 12, 3):
        G.add_edge(f"P{i}", f"P{i - 1}", resolved=True, via=False)
    fig = draw_graph(G)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    assert len(ax.texts) == 12
    assert overlapping_pairs([t.get_window_extent(renderer) for t in ax.texts]) == []
    assert set(legend_texts(ax)) == {"attractor", "index-1 saddle", "index-2 saddle"}
    check_png(fig, tmp_path / "crowded.png", 5, 4, 60)


def test_state_space_legend_has_the_colours_of_the_branches(cube, tmp_path):
    system, points, G = cube
    states = simulate(system, np.random.default_rng(6).uniform(-1.4, 1.4, (5, 3)), (0, 5), n_points=50).X
    fig = plot_state_space(states, points, G, system=system)
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    by_label = dict(zip(labels, handles))
    # the branches leave the points with 1 and 2 zero coordinates and the origin, which is a repeller
    assert {"branches of index-1 saddles", "branches of index-2 saddles", "branches of repellers"} <= set(labels)
    for k in (1, 2):
        assert by_label[f"branches of index-{k} saddles"].get_color() == point_style("saddle", k)["color"]
    assert {"attractor", "index-1 saddle", "index-2 saddle", "repeller"} <= set(labels)
    assert not any("index-3" in label for label in labels)  # a repeller is not an index-3 saddle
    check_png(fig, tmp_path / "cube_state_space.png", 5, 4, 60)


def test_point_styles_tell_the_kinds_apart():
    styles = {k: point_style(k, 1) for k in KINDS}
    looks = {(s["marker"], s["facecolors"], s["edgecolors"]) for s in styles.values()}
    assert len(looks) == len(KINDS)
    assert styles["slow"]["alpha"] == 1.0 and styles["slow"]["facecolors"] != GREY
    assert point_style("nonhyperbolic") == point_style("non-hyperbolic")


def vdp_reference_cycle():
    """Van der Pol's (mu = 1) limit cycle from solve_ivp at rtol 1e-12: states over periods, and the period
    from the times of successive upward crossings of x = 0."""
    def vdp(t, y):  # x' = y, y' = mu (1 - x^2) y - x with mu = 1
        return [y[1], (1 - y[0] ** 2) * y[1] - y[0]]

    def up(t, y):
        return y[0]
    up.direction = 1
    sol = solve_ivp(vdp, (0, 100), [0.5, 0.0], rtol=1e-12, atol=1e-12, dense_output=True, events=up)
    crossings = sol.t_events[0]
    return sol.sol(np.linspace(80, 100, 8000)), float(crossings[-1] - crossings[-2])


def test_van_der_pol_portrait_draws_the_limit_cycle(tmp_path):
    system = models.van_der_pol()
    fig = phase_portrait(system, resolution=30, basins=True)
    ax = fig.axes[0]
    assert ax.get_title() == "van_der_pol: phase portrait"  # no attractor: no basins drawn, none promised
    assert not ax.images
    cycle, period = vdp_reference_cycle()
    assert abs(period - 6.6632868593) < 1e-8  # the classical value
    texts = legend_texts(ax)
    assert f"C0: stable cycle, T = {period:.4g}" in texts and "repeller" in texts
    assert not any("saddle" in t or "manifold" in t for t in texts)
    (drawn,) = [line for line in ax.lines if line.get_label().startswith("C")]  # one cycle, no unstable one
    assert drawn.get_color() == "#000000" and drawn.get_linestyle() == "-"
    xy = drawn.get_xydata()
    assert np.array_equal(xy[0], xy[-1])  # a closed curve
    assert abs(np.max(np.abs(xy[:, 0])) - np.max(np.abs(cycle[0]))) < 1e-3
    assert abs(np.max(np.abs(xy[:, 1])) - np.max(np.abs(cycle[1]))) < 1e-2
    check_png(fig, tmp_path / "vdp.png", 5, 4, 60)


def test_the_hopf_normal_form_portrait_draws_both_cycles_by_stability():
    """r' = r(-1 + 5r^2 - 4r^4) / 4, theta' = 1: cycles at r = 1/2 (repelling) and r = 1 (stable), both of
    period 2 pi.  Found, only the stable one (solid); given, both, the repelling one dashed; cycles=False: none."""
    r2 = "(x**2 + y**2)"
    system = System.from_strings({"x": f"x*(-1 + 5*{r2} - 4*{r2}**2)/4 - y", "y": f"y*(-1 + 5*{r2} - 4*{r2}**2)/4 + x"},
                                 bounds=[(-1.05, 1.05), (-1.05, 1.05)])
    ax = phase_portrait(system, resolution=20, manifolds=False).axes[0]
    (found,) = [line for line in ax.lines if line.get_label().startswith("C")]
    assert found.get_label() == f"C0: stable cycle, T = {2 * np.pi:.4g}" and found.get_linestyle() == "-"
    assert np.allclose(np.hypot(*found.get_xydata().T), 1.0, atol=1e-6)
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    inner = periodic_orbit(system, 0.5 * np.column_stack([np.cos(t), np.sin(t)]), 2 * np.pi)
    outer = periodic_orbit(system, np.column_stack([np.cos(t), np.sin(t)]), 2 * np.pi)
    ax = phase_portrait(system, resolution=20, manifolds=False, cycles=[outer, inner]).axes[0]
    lines = {line.get_label(): line for line in ax.lines if line.get_label().startswith("C")}
    assert sorted(lines) == [f"C0: stable cycle, T = {2 * np.pi:.4g}", f"C1: repelling cycle, T = {2 * np.pi:.4g}"]
    stable, repelling = (lines[k] for k in sorted(lines))
    assert stable.get_linestyle() == "-" and repelling.get_linestyle() == "--"
    assert np.allclose(np.hypot(*stable.get_xydata().T), 1.0, atol=1e-6)
    assert np.allclose(np.hypot(*repelling.get_xydata().T), 0.5, atol=1e-6)
    ax = phase_portrait(system, resolution=20, manifolds=False, cycles=False).axes[0]
    assert not [line for line in ax.lines if line.get_label().startswith("C")]
    with pytest.raises(TypeError, match="cycles"):
        phase_portrait(system, resolution=20, cycles=[np.zeros((4, 2))])


def test_duffing_titles_and_legends_match_the_drawing(duffing):
    system, points = duffing
    fig = phase_portrait(system, fixed_points=points, resolution=30, basins=True)
    ax = fig.axes[0]
    assert ax.get_title() == "duffing: phase portrait and basins"
    handles, labels = ax.get_legend_handles_labels()
    by_label = dict(zip(labels, handles))
    saddle = point_style("saddle", 1)["color"]
    assert by_label["unstable manifold (index-1 saddle)"].get_color() == saddle
    assert by_label["stable manifold (index-1 saddle)"].get_linestyle() == "--"
    assert not any("limit cycle" in label for label in labels)  # the damped wells catch every trajectory
    point_labels = {label for label in labels if label in ("attractor", "index-1 saddle", "repeller")}
    assert point_labels == {"attractor", "index-1 saddle"}
    kinds = list(points.kinds)
    one = points[[kinds.index("saddle"), kinds.index("attractor")]]  # the saddle and one of the two attractors
    fig = phase_portrait(system, fixed_points=one, resolution=20, basins=True, manifolds=False, cycles=False)
    assert fig.axes[0].get_title() == "duffing: phase portrait and basin"


def test_henon_manifold_legend_is_dotted_like_the_manifold():
    fig = phase_portrait(models.henon(), resolution=30)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    manifold = dict(zip(labels, handles))["unstable manifold (index-1 saddle)"]
    assert manifold.get_marker() == "." and manifold.get_color() == point_style("saddle", 1)["color"]


def test_spectrum_counts_the_points_of_each_kind(tmp_path):
    rng = np.random.default_rng(7)
    signs = [(-1, -1, -1)] * 8 + [(1, -1, -1)] * 7 + [(1, 1, -1)] * 3 + [(1, 1, 1)] * 2
    matrices = []
    for sign in signs:
        Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        matrices.append(Q @ np.diag(np.array(sign) * rng.uniform(0.5, 2.0, 3)) @ Q.T)
    lins = [linearize_matrix(J, "flow") for J in matrices]
    expected: dict[str, int] = {}
    for J in matrices:  # the kinds, from numpy's eigenvalues
        k = int(np.sum(np.linalg.eigvals(J).real > 0))
        name = "attractors" if k == 0 else ("repellers" if k == 3 else f"index-{k} saddles")
        expected[name] = expected.get(name, 0) + 1
    for fig in (plot_spectrum(lins), plot_spectrum(lins, ax=Figure().add_subplot())):
        counts = {}
        for ax in fig.axes:
            for text in legend_texts(ax):
                number, name = text.split(" ", 1)
                counts[name] = int(number)
        assert counts == expected
        assert all(c.get_alpha() < 1 for ax in fig.axes for c in ax.collections)
    assert len([ax for ax in plot_spectrum(lins).axes if ax.get_visible()]) == len(expected)
    check_png(plot_spectrum(lins), tmp_path / "spectra.png", 8, 6, 50)


def test_spectrum_says_when_spectra_coincide(duffing):
    system, points = duffing
    # J = [[0, 1], [1 - 3 x^2, -delta]]: the same matrix at x = 1 and x = -1, another one at x = 0
    fig = plot_spectrum(points)
    texts = legend_texts(fig.axes[0])
    assert len(texts) == 2 == len(fig.axes[0].collections)
    same = [t for t in texts if "same eigenvalues" in t]
    assert len(same) == 1 and same[0].count("P") == 2


# ----------------------------------------------------- one-state systems
def test_logistic_cobweb(tmp_path):
    r = 3.7
    system = models.logistic(r)
    fig = phase_portrait(system)
    ax = fig.axes[0]
    assert ax.get_title() == "logistic: cobweb diagram"
    cobwebs = [line.get_xydata() for line in ax.lines if line.get_color() == TRAJECTORY and len(line.get_xydata())]
    assert cobwebs
    for xy in cobwebs:
        corners = xy[1::2]  # (x_k, x_{k+1}): on the graph of x -> r x (1 - x)
        np.testing.assert_allclose(corners[:, 1], r * corners[:, 0] * (1 - corners[:, 0]), atol=1e-12)
    drawn = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    fixed = np.array([0.0, 1 - 1 / r])  # both repellers: |g'(x*)| = r and |2 - r| > 1
    np.testing.assert_allclose(np.sort(drawn[:, 0]), fixed, atol=1e-9)
    np.testing.assert_allclose(drawn[:, 0], drawn[:, 1])
    assert [t for t in legend_texts(ax) if t in KINDS] == ["repeller"]
    check_png(fig, tmp_path / "cobweb.png", 4, 3, 60)


def test_one_state_flow_and_time_series(tmp_path):
    system = System.from_strings({"x": "x - x**3"}, name="bistable", bounds=[(-2, 2)])
    points = find_fixed_points(system, seed=0)
    fig = phase_portrait(system, fixed_points=points)
    ax = fig.axes[0]
    assert ax.get_title() == "bistable: phase line"
    drawn = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    np.testing.assert_allclose(np.sort(drawn[:, 0]), [-1, 0, 1], atol=1e-9)
    assert set(legend_texts(ax)) >= {"attractor", "repeller"}
    check_png(fig, tmp_path / "line.png", 4, 3, 60)
    states = simulate(system, [[0.1], [-0.5], [1.8]], (0, 5), n_points=60).X
    fig = plot_state_space(states, points, system=system, times=np.linspace(0, 5, 60))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), states[0, :, 0])
    check_png(fig, tmp_path / "series.png", 4, 3, 60)


# ------------------------------------------------------------ cycles: branches, periods, graphs, state spaces
def hopf_normal_form() -> System:
    """x' = mu x - y - x r^2, y' = x + mu y - y r^2: for mu > 0 the stable cycle r = sqrt(mu) of period 2 pi."""
    return System.from_strings({"x": "mu*x - y - x*(x**2 + y**2)", "y": "x + mu*y - y*(x**2 + y**2)"}, {"mu": -0.1})


def bautin(b2: float = 1.0) -> System:
    """r' = r(b1 + b2 r^2 - r^4), theta' = 1: cycles at r^2 = (b2 +- sqrt(b2^2 + 4 b1)) / 2, folding at b1 = -b2^2/4."""
    r2 = "(x**2 + y**2)"
    return System.from_strings({"x": f"x*(b1 + b2*{r2} - {r2}**2) - y", "y": f"y*(b1 + b2*{r2} - {r2}**2) + x"},
                               {"b1": -0.3, "b2": b2})


def cycle_lines(ax):
    """The lines of cycle branches (drawn with open circles), by style."""
    return [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]


def test_the_hopf_normal_form_cycle_branch_is_drawn_at_plus_minus_sqrt_mu():
    diagram = bifurcation_diagram(hopf_normal_form(), "mu", (-0.1, 0.5), n_starts=8, cycles=True)
    (cycles,) = diagram.cycle_branches
    ax = plot_bifurcation_diagram(diagram).axes[0]
    assert ax.get_title() == "system: fixed points and cycles against mu"
    lines = cycle_lines(ax)
    assert len(lines) == 2 and all(line.get_linestyle() == "-" and line.get_color() == "#000000" for line in lines)
    M = cycles.x.shape[1]  # the max of x over M uniform phases of a circle of radius r lies in [r cos(pi/M), r]
    top, bottom = sorted(lines, key=lambda line: line.get_ydata().mean())[::-1]
    for line, sign in ((top, 1), (bottom, -1)):
        p, y = line.get_xdata(), sign * line.get_ydata()
        assert np.all(y <= np.sqrt(p) + 1e-6) and np.all(y >= np.sqrt(p) * np.cos(np.pi / M) - 1e-6)
    texts = legend_texts(ax)
    assert texts == ["H: Hopf", "stable", "unstable, index 2", "cycles, stable"]
    period = plot_cycle_period(diagram).axes[0]
    (line,) = cycle_lines(period)
    assert np.allclose(line.get_ydata(), 2 * np.pi, atol=1e-8) and period.get_ylabel() == "period T"
    (hopf,) = period.collections  # the Hopf point at 2 pi / omega, omega = 1
    assert np.allclose(hopf.get_offsets(), [[0.0, 2 * np.pi]], atol=1e-8)


def test_the_bautin_fold_of_cycles_is_labelled_lpc_where_b2_squared_plus_4_b1_vanishes():
    b2 = 1.0
    diagram = bifurcation_diagram(bautin(b2), "b1", (-0.3, 0.3), n_starts=8, cycles=True)
    ax = plot_bifurcation_diagram(diagram).axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["H", "LPC"]  # the fold once, on the max line
    (fold,) = [c for c in ax.collections if c.get_label() == "LPC: fold of cycles"]
    # at the fold r^2 = b2 / 2: the max and min of x are +- sqrt(b2 / 2) (to the grid, as above)
    M = diagram.cycle_branches[0].x.shape[1]
    offsets = fold.get_offsets()
    assert np.allclose(offsets[:, 0], -b2**2 / 4, atol=1e-8)
    assert np.all(np.abs(np.abs(offsets[:, 1]) - np.sqrt(b2 / 2) * (1 + np.cos(np.pi / M)) / 2) < 1e-3)
    stable = [line for line in cycle_lines(ax) if line.get_linestyle() == "-"]
    unstable = [line for line in cycle_lines(ax) if line.get_linestyle() == "--"]
    assert len(stable) == len(unstable) == 2  # max and min, each way of the fold
    assert all(line.get_color() == point_style("saddle", 1)["color"] for line in unstable)
    for lines, sign in ((stable, 1), (unstable, -1)):  # outer stable, inner unstable
        for line in lines:  # each line ends where the next run begins (here the fold, r^2 = b2/2): left out
            p, y = line.get_xdata()[:-1], np.abs(line.get_ydata()[:-1])
            r = np.sqrt((b2 + sign * np.sqrt(np.maximum(b2**2 + 4 * p, 0))) / 2)
            away = np.abs(b2**2 + 4 * p) > 1e-3
            assert np.all(y[away] <= r[away] + 1e-6) and np.all(y[away] >= r[away] * np.cos(np.pi / M) - 1e-6)
    assert {"cycles, stable", "cycles, unstable, index 1", "LPC: fold of cycles"} <= set(legend_texts(ax))


def test_cycle_pictures_refuse_what_they_cannot_draw():
    branch = bifurcation_diagram(models.logistic(), "r", (2.5, 3.4))
    with pytest.raises(ValueError, match="no cycle branches"):
        plot_cycle_period(branch)
    with pytest.raises(TypeError, match="diagram must be"):
        plot_cycle_period("diagram")
    with pytest.raises(TypeError, match="cycles"):
        plot_state_space(np.zeros((2, 5, 2)), cycles=np.zeros((4, 2)))


def test_a_graph_with_a_cycle_node_is_drawn_with_the_cycle():
    """Van der Pol: a repeller inside a stable cycle; the state space shows the cycle (closed, through the states
    that solve_ivp puts on it), the graph a filled hexagon labelled with the id and the period."""
    vdp = models.van_der_pol()
    G = transition_graph(vdp, find_fixed_points(vdp, seed=0), keep_paths=True)
    reference, period = vdp_reference_cycle()
    states = simulate(vdp, [[0.1, 0.0], [3.0, 3.0]], t_span=(0.0, 20.0), n_points=200).X
    ax = plot_state_space(states, graph=G, system=vdp).axes[0]
    (drawn,) = [line for line in ax.lines if line.get_label().startswith("C0")]
    assert drawn.get_label() == f"C0: stable cycle, T = {period:.4g}" and drawn.get_linestyle() == "-"
    xy = drawn.get_xydata()
    assert np.array_equal(xy[0], xy[-1])
    u = np.linspace(0, 1, 10, endpoint=False)[:, None, None]
    dense = ((1 - u) * xy[None, :-1] + u * xy[None, 1:]).reshape(-1, 2)  # the drawn polyline, 10 points a segment
    gaps = np.min(np.linalg.norm(reference.T[::8, None, :] - dense[None], axis=2), axis=1)
    assert gaps.max() < 0.01  # every reference state lies on the drawn polyline
    kinds = [c.get_label() for c in ax.collections]
    assert "stable cycle" not in kinds and "repeller" in kinds  # the cycle is a curve here, not a marker
    graph_ax = draw_graph(G).axes[0]
    assert sorted(t.get_text() for t in graph_ax.texts) == [f"C0 (T = {period:.4g})", "P0"]
    (hexagon,) = [c for c in graph_ax.collections if c.get_label() == "stable cycle"]
    assert np.allclose(hexagon.get_offsets(), [G.nodes["C0"]["x"]])


@settings(max_examples=5, deadline=None)
@given(omega=st.floats(0.5, 3.0))
def test_the_period_panel_of_hopf_normal_forms_shows_two_pi_over_omega(omega):
    """x' = mu x - omega y - x r^2, y' = omega x + mu y - y r^2: every cycle r = sqrt(mu) has the period 2 pi / omega,
    and so has the Hopf point's mark."""
    system = System.from_strings({"x": f"mu*x - {omega!r}*y - x*(x**2 + y**2)",
                                  "y": f"{omega!r}*x + mu*y - y*(x**2 + y**2)"}, {"mu": -0.1})
    diagram = bifurcation_diagram(system, "mu", (-0.1, 0.3), n_starts=4, cycles=True)
    ax = plot_cycle_period(diagram).axes[0]
    (line,) = cycle_lines(ax)
    assert np.allclose(line.get_ydata(), 2 * np.pi / omega, rtol=1e-8)
    assert np.allclose(ax.collections[0].get_offsets(), [[0.0, 2 * np.pi / omega]], atol=1e-8)
