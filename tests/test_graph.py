"""Tests of the transition graph against independently known structures."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, find_fixed_points, models, rnn, sample_states
from dynsys.graph import (
    attractor_graph,
    compare_graphs,
    connection_graph,
    graph_cycles,
    graph_points,
    transition_graph,
)
from dynsys.testing import conjugate


def cubic(d: int, kind: str = "flow", h: float = 0.5) -> System:
    """x_i' = x_i - x_i^3 (flow) or x_i -> x_i + h (x_i - x_i^3) (map), i = 1..d."""
    xs = sp.symbols(f"x1:{d + 1}")
    exprs = [x - x**3 for x in xs] if kind == "flow" else [x + h * (x - x**3) for x in xs]
    return System.from_sympy(exprs, list(xs), kind=kind)


def grid_starts(d: int, rng: np.random.Generator) -> np.ndarray:
    """The 3^d points of {-1, 0, 1}^d perturbed, and a uniform sample of the box."""
    grid = np.array(list(itertools.product([-1.0, 0.0, 1.0], repeat=d)))
    return np.concatenate([grid + 0.05 * rng.standard_normal(grid.shape), rng.uniform(-1.5, 1.5, (64, d))])


def orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def check_cube(G: nx.MultiDiGraph, d: int, M: np.ndarray, b: np.ndarray) -> None:
    """The structure of x_i' = x_i - x_i^3 in the coordinates y = M x + b:
    points M c + b for c in {-1, 0, 1}^d, of index (number of zeros of c),
    attractors at the corners, attractor graph the d-cube with each edge
    between corners that differ in one coordinate."""
    points = [v for v in G if G.nodes[v]["type"] == "fixed"]
    assert len(points) == 3**d
    C = np.array([np.linalg.solve(M, G.nodes[v]["x"] - b) for v in points])
    np.testing.assert_allclose(C, np.round(C), atol=1e-8)
    for v, c in zip(points, np.round(C)):
        assert G.nodes[v]["index"] == int(np.sum(c == 0))
        assert G.nodes[v]["attractor"] == bool(np.all(c != 0))
    assert sorted({G.nodes[v]["index"] for v in points}) == list(range(d + 1))
    A = attractor_graph(G)
    assert len(A) == 2**d
    assert nx.is_isomorphic(nx.Graph(A), nx.hypercube_graph(d))
    corner = {v: np.round(np.linalg.solve(M, G.nodes[v]["x"] - b)) for v in A}
    for u, w, s in A.edges(data="saddle"):
        assert np.sum(corner[u] != corner[w]) == 1
        # the saddle is the midpoint of the edge: zero where the corners differ
        saddle = np.round(np.linalg.solve(M, G.nodes[s]["x"] - b))
        np.testing.assert_array_equal(saddle, np.where(corner[u] == corner[w], corner[u], 0.0))
    assert not [e for e in G.edges(data=True) if not e[2]["resolved"]]


# -------------------------------------------------------------- known cases
def test_duffing_two_wells_one_saddle() -> None:
    system = models.duffing()
    G = transition_graph(system, find_fixed_points(system, n_starts=64, seed=0))
    attractors = sorted(tuple(np.round(G.nodes[v]["x"], 9) + 0.0) for v in G if G.nodes[v]["attractor"])
    assert attractors == [(-1.0, 0.0), (1.0, 0.0)]
    A = attractor_graph(G)
    assert A.number_of_edges() == 1
    (u, w, s), = A.edges(data="saddle")
    np.testing.assert_allclose(G.nodes[s]["x"], [0.0, 0.0], atol=1e-9)
    assert {tuple(np.round(G.nodes[v]["x"])) for v in (u, w)} == {(-1.0, 0.0), (1.0, 0.0)}
    # both branches of the saddle, along the unstable eigenvector of [[0, 1], [1, -delta]]
    edges = list(G.out_edges(s, data=True))
    assert sorted(e["branch"] for _, _, e in edges) == [0, 1]
    lam = (-0.3 + np.sqrt(0.3**2 + 4)) / 2
    v = np.array([1.0, lam]) / np.hypot(1.0, lam)
    for _, _, e in edges:
        assert e["resolved"] and e["time"] > 0 and e["length"] > 0.9  # at least |(±1, 0) - 0| - radius
        assert abs(abs(e["direction"] @ v) - 1.0) < 1e-9


def test_toggle_switch_two_attractors_through_one_saddle() -> None:
    system = models.toggle_switch()
    G = transition_graph(system, find_fixed_points(system, n_starts=64, seed=0))
    A = attractor_graph(G)
    assert len(A) == 2 and A.number_of_edges() == 1
    (u, w, s), = A.edges(data="saddle")
    # the saddle on the diagonal u = v = 2 (u^3 + u - 10 = 0), the attractors mirror images
    np.testing.assert_allclose(G.nodes[s]["x"], [2.0, 2.0], atol=1e-9)
    np.testing.assert_allclose(G.nodes[u]["x"], G.nodes[w]["x"][::-1], atol=1e-9)


@settings(max_examples=12)
@given(d=st.integers(1, 3), kind=st.sampled_from(["flow", "map"]), seed=st.integers(0, 2**16))
def test_product_of_bistable_units_is_the_cube(d: int, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    system = cubic(d, kind)
    G = transition_graph(system, find_fixed_points(system, grid_starts(d, rng)))
    check_cube(G, d, np.eye(d), np.zeros(d))


@settings(max_examples=12)
@given(d=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_cube_after_rotation_and_shift(d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    M, b = orthogonal(d, rng), rng.uniform(-2, 2, d)
    system = conjugate(cubic(d), M, b)
    G = transition_graph(system, find_fixed_points(system, grid_starts(d, rng) @ M.T + b))
    check_cube(G, d, M, b)


def test_four_cube_map() -> None:
    system = cubic(4, "map")
    G = transition_graph(system, find_fixed_points(system, grid_starts(4, np.random.default_rng(4))))
    check_cube(G, 4, np.eye(4), np.zeros(4))


def test_connection_structure_of_the_3_cube() -> None:
    """1 index-3 -> 6 index-2 (the axes) -> 12 index-1 (the faces' edges) -> 8 corners."""
    system = cubic(3)
    G = transition_graph(system, find_fixed_points(system, grid_starts(3, np.random.default_rng(0))))
    C = connection_graph(G)
    assert [C.nodes[v]["index"] for v in C] == sorted(C.nodes[v]["index"] for v in C)
    x = {v: np.round(G.nodes[v]["x"]) for v in C}
    for s, t in C.edges():
        # t lies on the closure of s's cell: t agrees with s where s is non-zero, one zero less
        nz = x[s] != 0
        assert np.array_equal(x[t][nz], x[s][nz]) and np.sum(x[t] == 0) == np.sum(x[s] == 0) - 1
    counts = {k: sum(1 for s, t in C.edges() if C.nodes[s]["index"] == k) for k in (1, 2, 3)}
    assert counts == {3: 6, 2: 6 * 4, 1: 12 * 2}


def hopf_times_bistable() -> System:
    """x, y: the Hopf normal form r' = r (1 - r^2), theta' = 1 (an unstable focus at r = 0, a stable cycle
    r = 1 of period 2 pi); z' = z - z^3.  The planes z = +-1 are invariant and attracting, and in them every
    orbit but the focus winds onto the cycle r = 1: the cycles (cos t, sin t, +-1) attract, with the
    non-trivial multipliers exp(-2 * 2 pi) twice (radial rate f'(1) = -2, vertical rate 1 - 3 z^2 = -2)."""
    x, y, z = sp.symbols("x y z")
    r2 = x**2 + y**2
    return System.from_sympy([x - y - x * r2, x + y - y * r2, z - z**3], [x, y, z])


def test_branch_onto_a_limit_cycle_the_graph_does_not_know_is_unresolved() -> None:
    """Without cycles, the index-2 saddle-foci (0, 0, +-1) have every branch unresolved, ending near the
    cycle r = 1 in their own plane (never forced onto a fixed point)."""
    system = hopf_times_bistable()
    points = find_fixed_points(system, np.array([[0.1, 0.0, 0.0], [0.0, 0.1, 1.1], [0.1, 0.0, -0.9]]))
    assert len(points) == 3 and not points.stable().x.size
    G = transition_graph(system, points, cycles=False)
    assert G.graph["counts"]["cycles"] == 0
    for s in (v for v in G if G.nodes[v]["type"] == "fixed" and G.nodes[v]["index"] == 2):
        z_s = G.nodes[s]["x"][2]
        ends = [(t, e) for _, t, e in G.out_edges(s, data=True)]
        assert len(ends) == 8
        for t, e in ends:
            assert not e["resolved"] and G.nodes[t]["type"] == "unresolved"
            assert abs(np.hypot(*G.nodes[t]["x"][:2]) - 1.0) < 1e-3 and abs(G.nodes[t]["x"][2] - z_s) < 1e-9
            assert e["time"] == G.graph["max_time"]


@pytest.mark.parametrize("given_cycles", [False, True])
def test_branches_onto_the_cycles_of_a_product_system(given_cycles: bool) -> None:
    """With cycles (found, or given by hand from the closed form), every branch of the saddle-foci
    (0, 0, +-1) ends on the attracting cycle in its own plane z = +-1."""
    from dynsys.periodic_orbits import PeriodicOrbit

    system = hopf_times_bistable()
    points = find_fixed_points(system, np.array([[0.1, 0.0, 0.0], [0.0, 0.1, 1.1], [0.1, 0.0, -0.9]]))
    t = np.linspace(0, 2 * np.pi, 128, endpoint=False)
    by_hand = tuple(PeriodicOrbit(system, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t), np.full_like(t, z)]),
                                  [1.0, np.exp(-4 * np.pi), np.exp(-4 * np.pi)]) for z in (-1.0, 1.0))
    G = transition_graph(system, points, cycles=by_hand if given_cycles else "auto")
    cycles = [v for v in G if G.nodes[v]["kind"] == "cycle"]
    assert cycles == ["C0", "C1"] and G.graph["counts"]["cycles"] == 2
    for c in cycles:
        d = G.nodes[c]
        assert d["origin"] == ("given" if given_cycles else "search") and d["attractor"] and d["index"] == 0
        assert abs(d["period"] - 2 * np.pi) < 1e-8
        np.testing.assert_allclose(np.linalg.norm(d["orbit"][:, :2], axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(np.delete(d["multipliers"], d["trivial"]), np.exp(-4 * np.pi), atol=1e-6)
        assert d["lead_re"] == pytest.approx(-2.0, abs=1e-3)  # ln(exp(-4 pi)) / (2 pi)
    for s in (v for v in G if G.nodes[v]["type"] == "fixed" and G.nodes[v]["index"] == 2):
        ends = [t for _, t, e in G.out_edges(s, data=True) if not e["via"]]
        assert len(ends) == 8
        (end,) = set(ends)
        assert G.nodes[end]["kind"] == "cycle"
        assert G.nodes[end]["x"][2] == pytest.approx(G.nodes[s]["x"][2], abs=1e-6)


H_LEVEL = 0.5


def pumped_double_well() -> System:
    """x' = y, y' = x - x^3 - y (H - 1/2), H = y^2/2 - x^2/2 + x^4/4: dH/dt = -y^2 (H - 1/2), so the level
    set H = 1/2 (one loop around the three fixed points) is an attracting cycle and every other orbit but the
    fixed points goes to it: the saddle (0, 0) and the unstable foci (+-1, 0) (H = -1/4 < 1/2) send all their
    branches to it."""
    x, y = sp.symbols("x y")
    H = y**2 / 2 - x**2 / 2 + x**4 / 4
    return System.from_sympy([y, x - x**3 - y * (H - sp.Rational(1, 2))], [x, y], name="pumped_double_well")


def energy(X: np.ndarray) -> np.ndarray:
    X = np.atleast_2d(X)
    return X[:, 1] ** 2 / 2 - X[:, 0] ** 2 / 2 + X[:, 0] ** 4 / 4


def test_saddle_branches_end_on_a_limit_cycle_no_unresolved_edges() -> None:
    from scipy.integrate import quad, solve_ivp

    system = pumped_double_well()
    points = find_fixed_points(system, np.array([[0.1, 0.1], [1.1, 0.0], [-1.1, 0.0]]))
    assert sorted(points.kinds.tolist()) == ["repeller", "repeller", "saddle"]
    # independently: the saddle's unstable branches reach the level set H = 1/2 (solve_ivp at rtol 1e-11)
    saddle = points[points.kinds.tolist().index("saddle")]
    v = saddle.linearization.Eu[:, 0]
    for sign in (1.0, -1.0):
        sol = solve_ivp(lambda t, u: system.rhs(u[None])[0], (0, 60), saddle.x + sign * 1e-3 * v, rtol=1e-11,
                        atol=1e-12, method="DOP853")
        assert abs(energy(sol.y[:, -1])[0] - H_LEVEL) < 1e-8

    G = transition_graph(system, points)
    assert G.graph["counts"]["unresolved"] == 0 and G.graph["counts"]["cycles"] == 1
    assert all(e["resolved"] for _, _, e in G.edges(data=True))
    assert {t for _, t in G.edges()} == {"C0"}
    # the cycle: H = 1/2; period 4 sqrt 2 int_0^{pi/2} d theta / sqrt(a sin^2 + c) with a = 1 + sqrt 3,
    # c = sqrt 3 - 1 (y^2 = (a - x^2)(x^2 + c) / 2, x = sqrt(a) sin theta); multiplier exp(int div f dt) =
    # exp(-int y^2 dt) = exp(-loop integral of y dx) = exp(-4 a int_0^{pi/2} cos^2 sqrt((a sin^2 + c) / 2))
    a, c = 1 + np.sqrt(3), np.sqrt(3) - 1
    period = 4 * np.sqrt(2) * quad(lambda th: 1 / np.sqrt(a * np.sin(th) ** 2 + c), 0, np.pi / 2, epsabs=1e-13)[0]
    area = 4 * a * quad(lambda th: np.cos(th) ** 2 * np.sqrt((a * np.sin(th) ** 2 + c) / 2), 0, np.pi / 2,
                        epsabs=1e-13)[0]
    d = G.nodes["C0"]
    assert d["kind"] == "cycle" and d["stability"] == "stable cycle"
    assert abs(d["period"] - period) < 1e-8
    (mu,) = np.delete(d["multipliers"], d["trivial"])
    assert abs(mu - np.exp(-area)) < 1e-6 * np.exp(-area)
    np.testing.assert_allclose(energy(d["orbit"]), H_LEVEL, atol=1e-7)
    np.testing.assert_allclose(d["x"], d["orbit"][0])
    np.testing.assert_allclose(d["mean"], d["orbit"].mean(0))
    # the saddle joins the cycle to itself; the cycle is an attractor beside the (absent) point attractors
    A = attractor_graph(G)
    assert list(A.nodes) == ["C0"] and list(A.edges(data="saddle")) == [("C0", "C0", "P0")]
    assert list(connection_graph(G).edges()) == [("P0", "C0")]
    # cycles are not points: graph_points gives the three points, graph_cycles the cycle
    assert graph_points(G, system, points).ids == points.ids
    (cycle,) = graph_cycles(G, system)
    assert cycle.period == d["period"] and np.array_equal(cycle.x, d["orbit"]) and cycle.stable


def test_cycle_ids_skip_the_ids_of_points() -> None:
    from dataclasses import replace

    vdp = models.van_der_pol()
    points = replace(find_fixed_points(vdp, seed=0), ids=("C0",))  # the focus, under a cycle-like id
    G = transition_graph(vdp, points)
    assert G.nodes["C0"]["kind"] == "repeller" and G.nodes["C1"]["kind"] == "cycle"
    assert {t for _, t in G.edges()} == {"C1"} and graph_points(G, vdp, points).ids == ("C0",)


def test_bad_cycles_argument() -> None:
    from dynsys.periodic_orbits import PeriodicOrbit

    system = pumped_double_well()
    points = find_fixed_points(system, np.array([[0.1, 0.1]]))
    ring = np.column_stack([np.cos(np.linspace(0, 6, 8)), np.sin(np.linspace(0, 6, 8))])
    unstable = PeriodicOrbit(system, 6.0, ring, [1.0, 2.0])
    with pytest.raises(ValueError, match="cycles"):
        transition_graph(system, points, cycles="sometimes")
    with pytest.raises(ValueError, match=r"cycles\[0\]"):
        transition_graph(system, points, cycles=[unstable])
    with pytest.raises(ValueError, match="map"):
        transition_graph(models.henon(), find_fixed_points(models.henon(), seed=0), cycles=True)


def test_a_cycle_search_that_cannot_be_done_leaves_the_graph_without_cycles(monkeypatch) -> None:
    """The automatic search failing (as simulate's step limit fails it on the Rössler flow) is a warning and a
    graph attribute, and the points' graph is still built; asked for explicitly (cycles=True) it is the error."""
    import dynsys.graph

    def step_limit(*args, **kwargs):
        raise RuntimeError("method 'BDF' needs more than max_steps = 50000 steps")

    monkeypatch.setattr(dynsys.graph, "find_periodic_orbits", step_limit)
    duffing = models.duffing()
    points = find_fixed_points(duffing, seed=0)
    with pytest.warns(RuntimeWarning, match="no cycle search for duffing"):
        G = transition_graph(duffing, points)
    assert G.graph["cycle_search"].startswith("not done: method 'BDF'") and G.graph["counts"]["cycles"] == 0
    assert G.graph["counts"]["unresolved"] == 0 and G.number_of_edges() == 2  # the saddle's branches: both wells
    with pytest.raises(RuntimeError, match="max_steps"):
        transition_graph(duffing, points, cycles=True)


# ----------------------------------------------------------------- flip-flop
@pytest.fixture(scope="module")
def flipflop():
    from dynsys.tasks.flipflop import generate

    cell = rnn.load_flipflop()
    states = cell.run(generate(64, 200, bits=3, seed=1).inputs)
    return cell, states


@pytest.mark.parametrize("seed", [0, 1])
def test_flipflop_attractor_graph_is_the_cube(flipflop, seed: int) -> None:
    cell, states = flipflop
    system = cell.system()
    points = find_fixed_points(system, sample_states(states, 1024, noise=0.5, seed=seed))
    G = transition_graph(system, points)
    A = attractor_graph(G)
    assert nx.is_isomorphic(nx.Graph(A), nx.hypercube_graph(3))
    corner = {v: np.sign(cell.readout(G.nodes[v]["x"][None, :])[0]) for v in A}
    assert len({tuple(c) for c in corner.values()}) == 8
    for u, w in A.edges():
        assert np.sum(corner[u] != corner[w]) == 1


def test_runs_with_other_starts_agree(flipflop) -> None:
    """Two searches from different starts: isomorphic graphs, the same attractors."""
    cell, states = flipflop
    system = cell.system()
    graphs = [
        attractor_graph(transition_graph(system, find_fixed_points(system, sample_states(states, 512, noise=0.5, seed=s))))
        for s in (2, 3)
    ]
    assert compare_graphs(*graphs) == {"isomorphic": True, "edit_distance": 0.0}
    X1, X2 = (np.array(sorted(g.nodes[v]["x"].tolist() for v in g)) for g in graphs)
    np.testing.assert_allclose(X1, X2, atol=1e-8)


# ------------------------------------------------------------------ helpers
def test_compare_graphs_edit_distance() -> None:
    square, path = nx.cycle_graph(4), nx.path_graph(4)
    assert compare_graphs(square, square) == {"isomorphic": True, "edit_distance": 0.0}
    # a 4-cycle minus one edge is a path on 4 nodes
    assert compare_graphs(square, path) == {"isomorphic": False, "edit_distance": 1.0}
    assert compare_graphs(nx.hypercube_graph(4), nx.hypercube_graph(4))["edit_distance"] is None


def test_keep_paths_and_graph_attributes() -> None:
    system = models.duffing()
    points = find_fixed_points(system, n_starts=64, seed=0)
    G = transition_graph(system, points, keep_paths=True)
    for s, t, e in G.edges(data=True):
        path = e["path"]
        np.testing.assert_allclose(path[0], G.nodes[s]["x"], atol=2e-3)
        assert np.linalg.norm(path[-1] - G.nodes[t]["x"]) < 0.2
        assert np.isclose(e["length"], np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1)))
    assert G.graph["system"] == "duffing" and G.graph["kind"] == "flow"
    assert G.graph["counts"]["attractors"] == 2
    assert "path" not in next(iter(transition_graph(system, points).edges(data=True)))[2]


@pytest.mark.parametrize(
    "kw, match",
    [({"epsilon": 0.0}, "epsilon"), ({"capture_radius": -1}, "capture_radius"), ({"n_directions": 0}, "n_directions"),
     ({"max_time": float("nan")}, "max_time")],
)
def test_bad_arguments(kw, match) -> None:
    system = models.duffing()
    points = find_fixed_points(system, n_starts=16, seed=0)
    with pytest.raises(ValueError, match=match):
        transition_graph(system, points, **kw)
    with pytest.raises(TypeError, match="fixed_points"):
        transition_graph(system, points.x)


def test_search_saddles_completes_the_cube(flipflop) -> None:
    """Starts close to the trials' states miss index-1 saddles; the boundary search finds them."""
    cell, states = flipflop
    system = cell.system()
    points = find_fixed_points(system, sample_states(states, 1024, noise=0.05, seed=0))
    assert np.sum(points.index == 1) < 12  # the starts missed some (the reason for the search)
    G = transition_graph(system, points, search_saddles=True)
    A = attractor_graph(G)
    assert nx.is_isomorphic(nx.Graph(A), nx.hypercube_graph(3))
    found = [v for v in G if G.nodes[v]["origin"] == "saddle_search"]
    assert len(found) == 12 - np.sum(points.index == 1) and all(G.nodes[v]["index"] == 1 for v in found)


def test_graph_points_are_the_graph_nodes_under_the_same_ids() -> None:
    """From the attractors of x_i' = x_i - x_i^3 alone, the saddle search and the branches add the
    saddles; graph_points lists the given points first, then the added ones, under the nodes' ids."""
    system = cubic(2)
    attractors = find_fixed_points(system, grid_starts(2, np.random.default_rng(0))).stable()
    assert len(attractors) == 4
    G = transition_graph(system, attractors, search_saddles=True)
    points = graph_points(G, system, attractors)
    assert points.ids[:4] == attractors.ids
    assert set(points.ids) == {v for v, d in G.nodes(data=True) if d["kind"] != "unresolved"}
    for v, x, kind, index in zip(points.ids, points.x, points.kinds, points.index):
        assert G.nodes[v]["kind"] == kind and G.nodes[v]["index"] == index
        np.testing.assert_array_equal(G.nodes[v]["x"], x)
    # the points of x_i' = x_i - x_i^3: {-1, 0, 1}^2, the kind from the number of zero coordinates
    np.testing.assert_allclose(points.x, np.round(points.x), atol=1e-9)
    zeros = np.sum(np.round(points.x) == 0, axis=1)
    assert points.kinds.tolist() == [{0: "attractor", 1: "saddle", 2: "repeller"}[z] for z in zeros]
    assert len(points) == 9


def test_node_attributes_are_plain_scalars_named_for_tools() -> None:
    system = models.duffing()
    points = find_fixed_points(system, seed=0)
    G = transition_graph(system, points)
    for v, d in G.nodes(data=True):
        if d["kind"] == "unresolved":
            continue
        p = points[points.ids.index(v)]
        lead = p.eigenvalues[np.argmax(p.eigenvalues.real)]
        assert d["label"] == v and d["stability"] == p.label and d["stable"] == (p.kind == "attractor")
        assert (d["lead_re"], d["lead_im"]) == (lead.real, lead.imag)
        assert type(d["index"]) is int and type(d["stable"]) is bool and type(d["q"]) is float
    assert all(d["saddle"] == s for s, _, d in G.edges(data=True))
