"""GraphML, GEXF, node-link JSON and DOT: exact round trips of dynsys graphs, and files other tools read."""
import json
import math
import re
import shutil
import subprocess

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynsys import find_fixed_points, models, transition_graph
from dynsys.graph_export import FORMATS, read_graph, write_graph


def assert_same_value(a, b, where):
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=b.dtype.kind in "fc"), where
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (where, a, b)
        for x, y in zip(a, b):
            assert_same_value(x, y, where)
    elif isinstance(b, dict):
        assert type(a) is dict and list(a) == list(b), (where, a, b)
        for k in b:
            assert_same_value(a[k], b[k], where)
    elif isinstance(b, float) and math.isnan(b):
        assert type(a) is float and math.isnan(a), (where, a)
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


scalars = st.one_of(st.integers(-(2**62), 2**62), st.floats(), st.text(max_size=8), st.booleans(), st.none())
values = st.one_of(
    scalars,
    st.complex_numbers(),
    st.lists(st.floats(), max_size=3).map(np.array),
    st.lists(st.complex_numbers(), max_size=3).map(lambda z: np.array(z, dtype=complex).reshape(-1, 1)),
    st.lists(scalars, max_size=3),
    st.lists(scalars, max_size=3).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), scalars, max_size=3),
)


@given(
    n=st.integers(1, 5),
    edges=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6),
    node_values=st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "label"]), values, max_size=3), min_size=5, max_size=5
    ),
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


@pytest.fixture(scope="module")
def duffing_graphs():
    """Duffing's transition graph with the attributes the jobs add (pc1..3,
    readout1, corner and a corner label on attractors, saddle on edges), and
    one whose branches stop early (unresolved nodes, NaN leading eigenvalues)."""
    system = models.duffing()
    points = find_fixed_points(system, seed=0)
    G = transition_graph(system, points)
    for v, d in G.nodes(data=True):
        d.update(pc1=float(d["x"][0]), pc2=float(d["x"][1]), pc3=0.0, readout1=float(np.tanh(d["x"][0])))
        if d["attractor"]:
            d["corner"] = "+" if d["x"][0] > 0 else "-"
            d["label"] = f"{v} ({d['corner']})"
    for u, _, d in G.edges(data=True):
        d["saddle"] = u
    return _plain_scalars(G), _plain_scalars(transition_graph(system, points, max_time=0.01))


def test_transition_graphs_from_dynsys_round_trip(tmp_path, duffing_graphs):
    for G in duffing_graphs:
        for suffix in FORMATS:
            assert_same_graph(read_graph(write_graph(G, tmp_path / f"t{suffix}")), G)


_DOT_STATEMENT = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"(?:\s*->\s*"((?:[^"\\]|\\.)*)")?\s*\[(.*)\];$', re.M)
_DOT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)')


def _dot_value(text):
    """A DOT value by its spelling: quoted string, true/false, number with a point (float) or without (int)."""
    if text.startswith('"'):
        return json.loads(text)  # the escapes written (\\ \" \n) read as JSON's
    if text in ("true", "false"):
        return text == "true"
    return float(text) if "." in text else int(text)


def _read_dot_plainly(path):
    """Node and edge attributes of a DOT file by a regex on key=value (no dynsys, no graphviz)."""
    nodes, edges = {}, []
    for u, v, attrs in _DOT_STATEMENT.findall(path.read_text()):
        data = {k: _dot_value(x) for k, x in _DOT_PAIR.findall(attrs)}
        if v:
            edges.append((u, v, data))
        else:
            nodes[u] = data
    return nodes, edges


def _read_plainly(path):
    """(nodes: id -> attributes, edges: [(u, v, attributes)]) as a tool that knows nothing of dynsys reads them."""
    if path.suffix == ".dot":
        return _read_dot_plainly(path)
    if path.suffix == ".json":
        def no_nan(token):
            raise AssertionError(f"not strict JSON: {token}")
        G = nx.node_link_graph(json.loads(path.read_text(), parse_constant=no_nan), edges="edges")
    else:
        G = {".graphml": nx.read_graphml, ".gexf": nx.read_gexf}[path.suffix](path)
    return dict(G.nodes(data=True)), list(G.edges(data=True))


def _structured(value, suffix):
    """A vector as plain data: JSON lists in node-link JSON, JSON text elsewhere."""
    if suffix == ".json":
        assert isinstance(value, list)
        return value
    assert isinstance(value, str)
    return json.loads(value)


NODE_TYPES = {"kind": str, "stability": str, "index": int, "q": float, "stable": bool, "attractor": bool,
              "lead_re": float, "lead_im": float, "pc1": float, "pc2": float, "readout1": float, "corner": str}
EDGE_TYPES = {"branch": int, "resolved": bool, "via": bool, "time": float, "length": float, "saddle": str}


@pytest.mark.parametrize("suffix", FORMATS)
def test_other_tools_read_plain_typed_scalars(tmp_path, duffing_graphs, suffix):
    G = duffing_graphs[0]
    nodes, edges = _read_plainly(write_graph(G, tmp_path / f"g{suffix}"))
    assert list(nodes) == list(G)
    for v, d in G.nodes(data=True):
        plain = nodes[v]
        for k, t in NODE_TYPES.items():
            if k in d:
                assert type(plain[k]) is t and plain[k] == d[k], (suffix, v, k, plain.get(k))
        assert _structured(plain["x"], suffix) == d["x"].tolist()
        assert _structured(plain["eigenvalues"], suffix) == [[z.real, z.imag] for z in d["eigenvalues"]]
        shown = {".dot": "\n".join([v, d["kind"]] + ([d["corner"]] if "corner" in d else []))}.get(suffix, d["label"])
        assert plain["label"] == shown  # GEXF: Gephi's node label is ours; DOT: what Graphviz draws
    assert nodes["P1"].get("label_", nodes["P1"]["label"]) == "P1 (+)"  # DOT keeps ours as label_
    assert len(edges) == G.number_of_edges()
    for (u, v, plain), (u0, v0, d) in zip(edges, G.edges(data=True)):
        assert (u, v) == (u0, v0)
        for k, t in EDGE_TYPES.items():
            assert type(plain[k]) is t and plain[k] == d[k], (suffix, u, v, k, plain.get(k))


@pytest.mark.parametrize("suffix", FORMATS)
def test_nan_and_infinity_survive(tmp_path, duffing_graphs, suffix):
    G = duffing_graphs[1].copy()
    G.nodes["P0"].update(big=math.inf, small=-math.inf, v=np.array([[np.nan, np.inf], [-np.inf, 1.0]]),
                         z=np.array([complex(np.nan, -np.inf)]), pair=(math.nan, 1))
    path = write_graph(G, tmp_path / f"g{suffix}")
    assert_same_graph(read_graph(path), G)
    nodes, _ = _read_plainly(path)
    lead = nodes["unresolved:P2:0"]["lead_re"]
    if suffix == ".json":
        assert lead is None and nodes["P0"]["big"] is None  # strict JSON: null (the schema says NaN, inf)
    else:
        assert math.isnan(float(lead)) and float(nodes["P0"]["big"]) == math.inf
        assert float(nodes["P0"]["small"]) == -math.inf
    assert _structured(nodes["P0"]["v"], suffix) == [[None, None], [None, 1.0]]


@pytest.mark.parametrize("suffix", FORMATS)
def test_names_the_formats_use_themselves(tmp_path, suffix):
    G = nx.MultiDiGraph(node_default={"a": 1}, name="g", id="i", __dynsys__="mine")
    G.add_node("a", id=7, label="A", pid="p", viz=1.5, start=0, __id__="mine", label_="taken")
    G.add_node("b")
    G.add_edge("a", "b", key="k", weight="heavy", type="t", key_=1, source="s", target="t", label=2, id=None)
    G.add_edge("b", "a", key=("t", 1), weight=0.5, __key__=3, networkx_key=4)
    assert_same_graph(read_graph(write_graph(G, tmp_path / f"g{suffix}")), G)


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
    with pytest.raises(TypeError, match="dtype object"):
        write_graph(nx.Graph(a=np.array([None])), tmp_path / "g.json")


def test_graphs_other_programs_wrote_are_refused(tmp_path):
    G = nx.path_graph(3)
    nx.write_graphml(G, tmp_path / "plain.graphml")
    with pytest.raises(ValueError, match="not a graph written by dynsys: it has no __dynsys__ schema"):
        read_graph(tmp_path / "plain.graphml")
    nx.write_graphml(nx.Graph(__dynsys__='@dynsys:{"__value__": 1}'), tmp_path / "old.graphml")
    with pytest.raises(ValueError, match="older dynsys"):
        read_graph(tmp_path / "old.graphml")
    with pytest.raises(FileNotFoundError):
        read_graph(tmp_path / "missing.gexf")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_lays_out_the_dot_file(tmp_path):
    """Graphviz itself reads what write_graph writes (run where Graphviz is installed)."""
    system = models.duffing()
    G = transition_graph(system, find_fixed_points(system, seed=0))
    write_graph(G, tmp_path / "g.dot")
    done = subprocess.run(["dot", "-Tsvg", str(tmp_path / "g.dot")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert all(f">{v}<" in done.stdout for v in G if not v.startswith("unresolved"))


# ------------------------------------------------------------ hostile files
@pytest.mark.parametrize("name, content, needle", [
    ("g.json", "[1]", "JSON list"),
    ("g.json", "[" * 100_000 + "]" * 100_000, "nested"),
    ("g.dot", 'digraph { graph [a="b"', "not a graph written by dynsys"),
    ("g.graphml", "<a>" * 100_000 + "</a>" * 100_000, "not a graph written by dynsys"),
    ("g.gexf", "", "not a graph written by dynsys"),
])
def test_broken_graph_files_are_value_errors_naming_the_file(tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=needle) as info:
        read_graph(path)
    assert str(path) in str(info.value)


def test_an_array_spec_cannot_allocate_more_than_its_data(tmp_path):
    """367 bytes of JSON whose spec claims a <U100000000 array: refused before 400 MB are allocated."""
    from conftest import traced_peak

    G = nx.Graph()
    G.add_node("a", x=np.array(["q"]))
    path = write_graph(G, tmp_path / "g.json")
    path.write_text(path.read_text().replace("<U1", "<U100000000"))
    with pytest.raises(ValueError, match="wider than the strings"):
        read_graph(path)
    assert traced_peak(lambda: pytest.raises(ValueError, read_graph, path)) < 2**22


def test_a_missing_graph_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_graph(tmp_path / "none.json")


@pytest.mark.parametrize("suffix", FORMATS)
def test_cycle_nodes_round_trip(tmp_path, suffix):
    """A graph with a cycle node (Van der Pol's limit cycle, kind "cycle"): its period, complex multipliers,
    states over one period, mean and NaN q come back exactly, so graph_cycles rebuilds the same cycle."""
    from dynsys import graph_cycles

    vdp = models.van_der_pol()
    G = _plain_scalars(transition_graph(vdp, find_fixed_points(vdp, seed=0)))
    assert G.nodes["C0"]["kind"] == "cycle" and G.nodes["C0"]["multipliers"].dtype.kind == "c"
    H = read_graph(write_graph(G, tmp_path / f"cycle{suffix}"))
    assert_same_graph(H, G)
    (a,), (b,) = graph_cycles(G, vdp), graph_cycles(H, vdp)
    assert a.period == b.period and np.array_equal(a.x, b.x) and np.array_equal(a.multipliers, b.multipliers)
    assert a.trivial == b.trivial and a.label == b.label
