"""GraphML, GEXF, node-link JSON and DOT: exact round trips of dynsys graphs."""
import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynsys.graph_export import FORMATS, read_graph, write_graph


def assert_same_value(a, b, where):
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b), where
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


def assert_same_graph(H, G):
    assert type(H) is type(G)
    assert H.graph.keys() == G.graph.keys()
    for k in G.graph:
        assert_same_value(H.graph[k], G.graph[k], ("graph", k))
    assert list(H.nodes) == list(G.nodes)
    for v, data in G.nodes(data=True):
        assert H.nodes[v].keys() == data.keys(), v
        for k, x in data.items():
            assert_same_value(H.nodes[v][k], x, (v, k))
    edges = (lambda g: g.edges(keys=True, data=True)) if G.is_multigraph() else (lambda g: g.edges(data=True))
    assert sorted(map(repr, (e[:-1] for e in edges(H)))) == sorted(map(repr, (e[:-1] for e in edges(G))))
    for *e, data in edges(G):
        other = H.edges[tuple(e)]
        assert other.keys() == data.keys(), e
        for k, x in data.items():
            assert_same_value(other[k], x, (tuple(e), k))


def transition_like_graph():
    G = nx.MultiDiGraph(system="duffing", tau=0.5, counts={"attractors": 2, "saddles": 1})
    G.add_node("P0", x=np.array([0.1 + 0.2, 1e-32]), eigenvalues=np.array([1 + 2j, -3.5]), label="saddle",
               index=1, q=1e-32, attractor=False, origin="search")
    G.add_node("P1", x=np.array([1.0, 0.0]), eigenvalues=np.array([-0.15 + 1.4j, -0.15 - 1.4j]),
               label="stable focus", index=0, q=0.0, attractor=True, origin="search")
    G.add_edge("P0", "P1", key=0, direction=np.array([0.7, 0.7]), time=3.25, length=1.5, resolved=True)
    G.add_edge("P0", "P1", key=1, direction=np.array([-0.7, -0.7]), time=2, length=None, resolved=False)
    return G


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_of_a_transition_graph_is_exact(tmp_path, suffix):
    G = transition_like_graph()
    path = write_graph(G, tmp_path / f"graph{suffix}")
    assert_same_graph(read_graph(path), G)
    assert [p.name for p in tmp_path.iterdir()] == [f"graph{suffix}"]  # no temporary file left


@pytest.mark.parametrize("suffix", FORMATS)
def test_other_graph_types_and_ids(tmp_path, suffix):
    G = nx.MultiGraph()
    G.add_edge(0, (1, 2), key="a", w=1.5)
    G.add_edge(0, (1, 2), key="b", w=2.5)
    H = nx.Graph(title='quotes " and \\ and\nnew lines, ünïcode')
    H.add_node('a "quoted" id', label='x\ny "z"', value=np.int64(3))
    H.add_edge('a "quoted" id', "b", weight=np.float64(0.5), tags=["s", 1, None])
    for g in (G, H):
        path = write_graph(g, tmp_path / f"g{suffix}")
        assert_same_graph(read_graph(path), _plain_scalars(g))


def _plain_scalars(G):
    """G with numpy scalars as Python scalars (what writing promises)."""
    G = G.copy()
    for data in [d for _, d in G.nodes(data=True)] + [e[-1] for e in G.edges(data=True)]:
        for k, v in data.items():
            if isinstance(v, np.generic):
                data[k] = v.item()
    return G


values = st.one_of(
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.booleans(),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3).map(np.array),
)


@given(
    n=st.integers(1, 5),
    edges=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6),
    node_values=st.lists(st.dictionaries(st.sampled_from(["a", "b", "label"]), values, max_size=3), min_size=5, max_size=5),
    edge_value=values,
    suffix=st.sampled_from(FORMATS),
)
def test_random_graphs_round_trip(tmp_path_factory, n, edges, node_values, edge_value, suffix):
    G = nx.MultiDiGraph()
    for v in range(n):
        G.add_node(f"v{v}", **node_values[v])
    for u, v in edges:
        if u < n and v < n:
            G.add_edge(f"v{u}", f"v{v}", c=edge_value)
    path = write_graph(G, tmp_path_factory.mktemp("g") / f"g{suffix}")
    assert_same_graph(read_graph(path), G)


@pytest.mark.parametrize("suffix, reader", [(".graphml", nx.read_graphml), (".gexf", nx.read_gexf)])
def test_other_tools_read_the_scalars_natively(tmp_path, suffix, reader):
    G = transition_like_graph()
    plain = reader(write_graph(G, tmp_path / f"g{suffix}"))
    assert plain.nodes["P1"]["q"] == 0.0 and plain.nodes["P1"]["index"] == 0
    assert plain.nodes["P1"]["attractor"] is True


def test_a_transition_graph_from_dynsys_round_trips(tmp_path):
    from dynsys import find_fixed_points, models
    from dynsys.graph import transition_graph

    system = models.duffing()
    G = transition_graph(system, find_fixed_points(system, n_starts=64))
    for suffix in FORMATS:
        assert_same_graph(read_graph(write_graph(G, tmp_path / f"t{suffix}")), _plain_scalars(G))


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match=r"\.graphml"):
        write_graph(nx.Graph(), tmp_path / "g.png")
    with pytest.raises(ValueError, match=r"\.graphml"):
        read_graph(tmp_path / "g.txt")
    (tmp_path / "g.dot").write_text("digraph { oops }")
    with pytest.raises(ValueError, match="not a graph written by dynsys"):
        read_graph(tmp_path / "g.dot")
    with pytest.raises(TypeError, match="object"):
        write_graph(nx.Graph(a=object()), tmp_path / "g.json")
