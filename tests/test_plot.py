"""Tests of dynsys.plot: pictures that are drawn, of the right size, and right.

Every PNG is read back with matplotlib.image.imread and checked for its pixel
size and for not being blank; what a picture shows (basins, manifolds,
projections, eigenvalues, node positions) is checked against independent
computations: scipy's solve_ivp, hand-derived eigenvectors, numpy's
covariance eigenvectors and numpy's eigvals.
"""
from __future__ import annotations

import matplotlib.image as mpimg
import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from scipy.integrate import solve_ivp

from dynsys import find_fixed_points, models
from dynsys.graph import attractor_graph, transition_graph
from dynsys.linearize import linearize_matrix
from dynsys.plot import (
    draw_graph,
    phase_portrait,
    plot_spectrum,
    plot_state_space,
    plot_trials,
    point_style,
    principal_components,
)
from dynsys.simulate import simulate

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
