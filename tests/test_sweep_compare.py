"""Tests of dynsys.sweep.compare against closed forms: distances of simple point configurations, isomorphism
classes of graphs built by hand, point counts of models with known fixed points.

The sweep results are a small stand-in of SweepResult (``rows``, ``keys``, ``load``) holding results built
directly (find_fixed_points, transition_graph, or transition-graph-like graphs made from simple graphs).
"""
from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from dynsys import find_fixed_points, models, transition_graph
from dynsys.sweep.compare import (
    compare, geometry_distances, linkage_clusters, shape_distribution, simple_graph, topology_classes,
)


@dataclass
class GraphResult:
    """The shape of the sweep's TransitionGraph result: the points and the transition graph."""

    points: Any
    graph: nx.MultiDiGraph


class FakeSweep:
    """Duck-typed SweepResult: rows with key, label, status; load(key) gives the stored result."""

    def __init__(self, results: dict[str, Any], failed: tuple[str, ...] = ()) -> None:
        self.results = results
        self.keys = [*results, *failed]
        self.rows = [{"key": k, "label": k.split("-", 1)[1], "status": "ok", "param_k": i}
                     for i, k in enumerate(results)]
        self.rows += [{"key": k, "label": k, "status": "error"} for k in failed]

    def load(self, key: str) -> Any:
        return self.results[key]


def orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def transition_graph_of(simple: nx.Graph) -> nx.MultiDiGraph:
    """A transition graph whose attractor graph is ``simple``: an attractor per node, an index-1 saddle per edge
    whose two resolved branches end at the edge's two ends."""
    G = nx.MultiDiGraph()
    G.add_nodes_from((f"A{v}", {"attractor": True, "index": 0, "type": "fixed", **simple.nodes[v]}) for v in simple)
    for k, (u, v) in enumerate(simple.edges()):
        G.add_node(f"S{k}", attractor=False, index=1, type="fixed")
        G.add_edge(f"S{k}", f"A{u}", via=False, resolved=True)
        G.add_edge(f"S{k}", f"A{v}", via=False, resolved=True)
    return G


LINE = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])  # distances 1, 1, 2 (mean 4/3)
TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])  # distances 1, 1, 1
SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # 4 sides 1, 2 diagonals sqrt 2


# ------------------------------------------------------------------ geometry
def test_a_rotated_translated_scaled_copy_is_at_distance_zero():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, 3))
    copy = 3.7 * X @ orthogonal(3, rng) + rng.standard_normal(3)
    mirrored = X * np.array([-1.0, 1.0, 1.0])
    D = geometry_distances([X, copy, mirrored])
    np.testing.assert_allclose(D, 0.0, atol=1e-12)


def test_a_point_set_embedded_in_more_dimensions_is_at_distance_zero():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 2))
    embedded = np.hstack([X, np.zeros((6, 5))]) @ orthogonal(7, rng) + 0.3
    assert geometry_distances([X, embedded])[0, 1] == pytest.approx(0.0, abs=1e-12)


def test_line_against_triangle_and_square_by_hand():
    # line: d/mean = 3/4, 3/4, 3/2; triangle: 1, 1, 1 -> W1 = (1/4 + 1/4 + 1/2) / 3 = 1/3
    np.testing.assert_allclose(shape_distribution(LINE), [0.75, 0.75, 1.5])
    # square: mean m = (4 + 2 sqrt 2) / 6; d/m = 1/m (4 of 6) and sqrt2/m (2 of 6); the triangle is all 1:
    # W1 = (4 |1/m - 1| + 2 |sqrt2/m - 1|) / 6
    m = (4 + 2 * math.sqrt(2)) / 6
    square_triangle = (4 * abs(1 / m - 1) + 2 * abs(math.sqrt(2) / m - 1)) / 6
    # line against square, quantile functions on the common grid of sixths: line 3/4 (t < 2/3), 3/2 (t >= 2/3);
    # square 1/m (t < 4/6), sqrt2/m (t >= 4/6): the steps fall at the same t = 2/3
    line_square = (4 * abs(0.75 - 1 / m) + 2 * abs(1.5 - math.sqrt(2) / m)) / 6
    D = geometry_distances([LINE, TRIANGLE, SQUARE])
    expected = np.array([[0, 1 / 3, line_square], [1 / 3, 0, square_triangle], [line_square, square_triangle, 0]])
    np.testing.assert_allclose(D, expected, rtol=1e-12, atol=1e-15)


def test_a_single_point_is_at_distance_one_from_any_set():
    # one point: all distances 0 (the atom at 0); any other distribution has mean 1, so W1 = 1
    D = geometry_distances([[[4.0, 2.0]], LINE, TRIANGLE, np.zeros((0, 3))])
    np.testing.assert_allclose(D[0, 1:3], 1.0)
    assert D[0, 3] == 0.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       dim=st.integers(1, 4))
def test_the_distance_is_symmetric_zero_on_the_diagonal_and_invariant_under_orthogonal_maps(seed, sizes, dim):
    rng = np.random.default_rng(seed)
    sets = [rng.standard_normal((m, dim)) for m in sizes]
    D = geometry_distances(sets)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert (D >= 0).all() and (D <= 2 + 1e-12).all()  # two distributions of mean 1 on [0, inf)
    moved = [X @ orthogonal(dim, rng) for X in sets]
    np.testing.assert_allclose(geometry_distances(moved), D, atol=1e-10)


def test_the_distances_are_scipy_s_wasserstein_distance_pair_by_pair():
    # geometry_distances computes every pair at once from the quantile functions; scipy's W1 of the two
    # distributions (from their distribution functions), one pair at a time, is the independent reference
    rng = np.random.default_rng(7)
    sets = [rng.standard_normal((m, d)) for m, d in zip(rng.integers(0, 9, 40), rng.integers(1, 4, 40))]
    shapes = [shape_distribution(X) for X in sets]
    expected = np.array([[wasserstein_distance(a, b) for b in shapes] for a in shapes])
    np.testing.assert_allclose(geometry_distances(sets), expected, rtol=1e-12, atol=1e-14)


def test_average_linkage_clusters_two_groups_and_the_threshold():
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal(0, 0.01, (3, 2)), rng.normal(5, 0.01, (4, 2))])
    D = np.linalg.norm(points[:, None] - points[None], axis=-1)
    # the larger group (4 items) is cluster 0
    assert linkage_clusters(D, threshold=1.0).tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert linkage_clusters(D, threshold=100.0).tolist() == [0] * 7
    assert linkage_clusters(D, threshold=0.0).tolist() == [0, 1, 2, 3, 4, 5, 6]  # all distances > 0
    with pytest.raises(ValueError, match="threshold"):
        linkage_clusters(D, threshold=-1.0)
    with pytest.raises(ValueError, match="symmetric"):
        linkage_clusters(np.triu(D))


# ------------------------------------------------------------------ topology
def test_relabelled_graphs_share_a_class_and_classes_are_ordered_by_size():
    cube = nx.hypercube_graph(3)
    rng = np.random.default_rng(4)
    relabelled = nx.relabel_nodes(cube, dict(zip(cube, rng.permutation(8).tolist())))
    multi = nx.MultiDiGraph(relabelled)
    multi.add_edges_from([(v, u) for u, v in relabelled.edges()] + [(0, 0)])  # both directions and a self-loop
    assert nx.utils.graphs_equal(simple_graph(multi), nx.Graph(relabelled))
    path = nx.path_graph(8)
    assert topology_classes([path, cube, relabelled, multi]).tolist() == [1, 0, 0, 0]
    # equal sizes: by first item
    assert topology_classes([path, cube]).tolist() == [0, 1]


def test_a_cube_and_a_cube_minus_an_edge_are_two_classes_one_edit_apart():
    cube = nx.hypercube_graph(3)
    minus = cube.copy()
    minus.remove_edge(*next(iter(cube.edges())))
    relabelled = nx.convert_node_labels_to_integers(cube, ordering="sorted")
    nx.set_node_attributes(cube, {v: np.array(v, dtype=float) for v in cube}, "x")  # states: the corners
    points = find_fixed_points(models.duffing(), seed=0)
    sweep = FakeSweep({"0000-cube": GraphResult(points, transition_graph_of(cube)),
                       "0001-minus": GraphResult(points, transition_graph_of(minus)),
                       "0002-relabelled": GraphResult(points, transition_graph_of(relabelled))})
    result = compare(sweep)
    assert result.topology.tolist() == [0, 1, 0]
    assert [c.members for c in result.classes] == [("0000-cube", "0002-relabelled"), ("0001-minus",)]
    assert [c.description for c in result.classes] == ["8 attractors, 12 edges", "8 attractors, 11 edges"]
    np.testing.assert_array_equal(result.class_distances, [[0.0, 1.0], [1.0, 0.0]])
    assert nx.is_isomorphic(result.classes[0].graph, cube)
    assert len(result.figure().axes) == 4  # the matrix, its colour bar, the two classes' graphs


def test_real_transition_graphs_duffing_toggle_and_a_lone_attractor():
    results = {}
    for key, system in [("0000-duffing", models.duffing()), ("0001-toggle", models.toggle_switch()),
                        ("0002-lorenz", models.lorenz().with_params(rho=0.5))]:
        points = find_fixed_points(system, seed=0)
        results[key] = GraphResult(points, transition_graph(system, points, seed=0))
    result = compare(FakeSweep(results))
    # two attractors joined by their saddle (one edge) twice; Lorenz at rho < 1: the origin alone
    assert result.topology.tolist() == [0, 0, 1]
    assert [c.description for c in result.classes] == ["2 attractors, 1 edge", "1 attractor, 0 edges"]
    # K2 -> K1: delete one node and its edge
    assert result.class_distances[0, 1] == 2.0
    # Duffing's points (+-1, 0), (0, 0) are three equally spaced points on a line; Lorenz has one point: W1 = 1
    assert result.distances[0, 2] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(shape_distribution(results["0000-duffing"].points.x), [0.75, 0.75, 1.5], atol=1e-9)


# ------------------------------------------------------------------ fixed-points sweeps, rows, files, errors
def test_a_fixed_points_sweep_is_classed_by_point_counts(tmp_path):
    lorenz = models.lorenz()
    sweep = FakeSweep({f"000{i}-rho={r:g}": find_fixed_points(lorenz.with_params(rho=r), seed=0)
                       for i, r in enumerate([0.5, 10.0, 15.0, 28.0])}, failed=("0004-broken",))
    result = compare(sweep, figure=tmp_path / "comparison.png")
    # rho < 1: the origin, stable; 1 < rho < 24.74: C+- stable, the origin a saddle of index 1; rho = 28: C+- index 2
    assert result.topology.tolist() == [1, 0, 0, 2]
    assert [c.counts for c in result.classes] == [
        {"attractor": 2, "saddle of index 1": 1}, {"attractor": 1},
        {"saddle of index 1": 1, "saddle of index 2": 2}]
    # points to add or remove: {2 A, 1 S1} vs {1 A}: 1 + 1; vs {1 S1, 2 S2}: 2 + 2; {1 A} vs {1 S1, 2 S2}: 1 + 3
    np.testing.assert_array_equal(result.class_distances, [[0, 2, 4], [2, 0, 4], [4, 4, 0]])
    assert result.skipped == ("0004-broken",)
    # C+- = (+-sqrt(beta (rho - 1)), +-sqrt(beta (rho - 1)), rho - 1) and the origin: their distances grow unlike
    # each other with rho, so rho = 10 and 15 differ in shape; the distance against an independent W1 of 3 values
    beta = 8 / 3

    def lorenz_points(rho):
        a = math.sqrt(beta * (rho - 1))
        return np.array([[0, 0, 0], [a, a, rho - 1], [-a, -a, rho - 1]])

    def w1(x, y):  # 3 equally weighted values each: the mean gap of the sorted values
        return float(np.mean(np.abs(np.sort(x) - np.sort(y))))

    def scaled(X):
        d = np.array([np.linalg.norm(X[i] - X[j]) for i, j in itertools.combinations(range(len(X)), 2)])
        return d / d.mean()

    assert result.distances[1, 2] == pytest.approx(w1(scaled(lorenz_points(10)), scaled(lorenz_points(15))), abs=1e-8)
    assert result.distances[0, 1] == pytest.approx(1.0, abs=1e-9)
    assert (tmp_path / "comparison.png").stat().st_size > 0
    written = list(csv.DictReader(result.to_csv(tmp_path / "comparison.csv").open()))
    assert [(r["label"], r["topology_class"], r["param_k"]) for r in written] == [
        ("rho=0.5", "1", "0"), ("rho=10", "0", "1"), ("rho=15", "0", "2"), ("rho=28", "2", "3")]
    fig = result.figure()
    assert len(fig.axes) == 2 + len(result.classes)  # the matrix, its colour bar, a panel per class
    assert [row["class"] for row in result.class_rows()] == [0, 1, 2]


def test_compare_refuses_what_it_cannot_compare():
    duffing = models.duffing()
    points = find_fixed_points(duffing, seed=0)
    with pytest.raises(ValueError, match="none of its 1 items finished"):
        compare(FakeSweep({}, failed=("0000-x",)))
    with pytest.raises(ValueError, match="item '0001-b' holds a dict"):
        compare(FakeSweep({"0000-a": points, "0001-b": {"branches": []}}))
    with pytest.raises(ValueError, match="some items have transition graphs"):
        compare(FakeSweep({"0000-a": points, "0001-b": GraphResult(points, transition_graph(duffing, points))}))
