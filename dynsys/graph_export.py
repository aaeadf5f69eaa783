"""Writing and reading graphs: GraphML, GEXF, node-link JSON and DOT, exactly.

:func:`write_graph` picks the format from the file's extension and
:func:`read_graph` reads any of them back to the same graph: the same type
(Graph, DiGraph, MultiGraph, MultiDiGraph), node ids, edge keys, and
attribute values and types.

GraphML and GEXF hold only scalar attributes of one type per key, and DOT
only strings, so values they cannot hold — numpy arrays (complex ones too),
lists, dicts, None, numbers in DOT, a key whose values mix types — are
written as JSON text tagged with :data:`TAG`, floats by their shortest
round-trip form; a string that happens to begin with the tag is encoded the
same way.  Numpy scalars become Python scalars.  Everything that other tools
read natively (str, int, float, bool attributes of consistent type) stays
native, so Gephi, yEd or Graphviz see the labels, indices and q values.

The graph type and the graph's own attributes travel as a tagged JSON graph
attribute (GEXF: the graph's ``name``, the only one its writer keeps); node
ids that are not strings, and multigraph edge keys, travel as tagged node and
edge attributes ``__id__`` and ``__key__``.  DOT is written and parsed by this
module (no pygraphviz or pydot): quoted ids and values, attributes in
brackets.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import networkx as nx
import numpy as np

from ._io import atomic_write, atomic_write_text, decode_array, encode_array

TAG = "@dynsys:"
FORMATS = (".graphml", ".gexf", ".json", ".dot")
_TYPES = {"Graph": nx.Graph, "DiGraph": nx.DiGraph, "MultiGraph": nx.MultiGraph, "MultiDiGraph": nx.MultiDiGraph}
_META = "__dynsys__"  # graph attribute holding the type and the graph attributes
_ID, _KEY, _LABEL = "__id__", "__key__", "__label__"
# characters XML 1.0 cannot hold, and \r, which XML parsers turn into \n: such strings are encoded
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")


# ----------------------------------------------------------------- encoding
def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _to_json(value: Any) -> Any:
    """A JSON-ready form of any attribute value that :func:`_from_json` inverts."""
    value = _plain(value)
    if isinstance(value, np.ndarray):
        return {"__ndarray__": encode_array(value)}
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, (list, tuple)):
        return {"__list__" if isinstance(value, list) else "__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_to_json(k), _to_json(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"__value__": value}
    raise TypeError(f"cannot write an attribute of type {type(value).__name__}: {value!r}")


def _from_json(obj: Any) -> Any:
    (tag, body), = obj.items()
    if tag == "__ndarray__":
        return decode_array(body)
    if tag == "__complex__":
        return complex(*body)
    if tag == "__list__":
        return [_from_json(v) for v in body]
    if tag == "__tuple__":
        return tuple(_from_json(v) for v in body)
    if tag == "__dict__":
        return {_hashable(_from_json(k)): _from_json(v) for k, v in body}
    if tag == "__value__":
        return body
    raise ValueError(f"unknown tag {tag!r} in an encoded attribute")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def encode(value: Any, *, native: tuple[type, ...] = (bool, int, float, str)) -> Any:
    """``value`` itself when it is of a ``native`` type (and not a string that
    begins with :data:`TAG`), else :data:`TAG` + JSON."""
    value = _plain(value)
    if isinstance(value, native) and not (isinstance(value, str) and (value.startswith(TAG) or _NOT_XML.search(value))):
        return value
    return TAG + json.dumps(_to_json(value))


def decode(value: Any) -> Any:
    """The value that :func:`encode` wrote."""
    if isinstance(value, str) and value.startswith(TAG):
        return _from_json(json.loads(value[len(TAG):]))
    return value


def _mixed_keys(records: Iterable[dict[str, Any]]) -> set[str]:
    """Keys whose values have more than one type (GraphML/GEXF keep one type per key)."""
    seen: dict[str, set[type]] = {}
    for data in records:
        for k, v in data.items():
            seen.setdefault(k, set()).add(type(_plain(v)))
    return {k for k, types in seen.items() if len(types) > 1}


# -------------------------------------------------------------------- write
def _encoded_copy(G: nx.Graph, *, scalars_native: bool) -> nx.Graph:
    """A graph of the same type with string node ids and encoded attributes.

    Node ids become ``n0, n1, ...`` with the original (encoded) in ``__id__``
    unless every id is a string; edge keys of a multigraph go to ``__key__``.
    """
    native: tuple[type, ...] = (bool, int, float, str) if scalars_native else (str,)
    node_mixed = _mixed_keys(d for _, d in G.nodes(data=True)) if scalars_native else set()
    edge_mixed = _mixed_keys(d for *_, d in G.edges(data=True)) if scalars_native else set()

    def attrs(data: dict[str, Any], mixed: set[str]) -> dict[str, Any]:
        return {k: encode(v, native=() if k in mixed else native) for k, v in data.items()}

    string_ids = all(isinstance(v, str) for v in G)
    name = {v: (v if string_ids else f"n{i}") for i, v in enumerate(G)}
    H = type(G)()
    H.graph[_META] = encode({"type": type(G).__name__, "graph": dict(G.graph)}, native=())
    for v, data in G.nodes(data=True):
        H.add_node(name[v], **attrs(data, node_mixed), **({} if string_ids else {_ID: encode(v, native=())}))
    if G.is_multigraph():
        for u, v, k, data in G.edges(keys=True, data=True):
            H.add_edge(name[u], name[v], key=k, **attrs(data, edge_mixed), **{_KEY: encode(k, native=())})
    else:
        for u, v, data in G.edges(data=True):
            H.add_edge(name[u], name[v], **attrs(data, edge_mixed))
    return H


def write_graph(G: nx.Graph, path: str | os.PathLike[str]) -> Path:
    """Write ``G`` to ``path`` in the format its extension names, atomically.

    Parameters
    ----------
    G : networkx graph (any of the four types)
    path : str or path-like ending in .graphml, .gexf, .json or .dot

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        For another extension.
    TypeError
        For an attribute value of a type that cannot be encoded.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {', '.join(FORMATS)}")
    if suffix == ".graphml":
        H = _encoded_copy(G, scalars_native=True)
        return atomic_write(path, lambda f: nx.write_graphml(H, f))
    if suffix == ".gexf":
        return atomic_write(path, lambda f: nx.write_gexf(_for_gexf(G), f))
    if suffix == ".json":
        H = _encoded_copy(G, scalars_native=True)
        return atomic_write_text(path, json.dumps(nx.node_link_data(H, edges="edges"), indent=1))
    return atomic_write_text(path, _dot(_encoded_copy(G, scalars_native=False)))


def _for_gexf(G: nx.Graph) -> nx.Graph:
    """GEXF keeps a node attribute ``label`` of its own and no graph
    attributes but ``name``: our label moves to ``__label__``, the graph
    attributes into the name."""
    H = _encoded_copy(G, scalars_native=True)
    for _, data in H.nodes(data=True):
        if "label" in data:
            data[_LABEL] = data.pop("label")
    meta = H.graph.pop(_META)
    H.graph.clear()
    H.graph["name"] = meta
    return H


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(H: nx.Graph) -> str:
    arrow = "->" if H.is_directed() else "--"

    def attr_list(data: dict[str, Any]) -> str:
        return " [" + ", ".join(f"{_quote(k)}={_quote(v)}" for k, v in data.items()) + "]" if data else ""

    lines = [("digraph" if H.is_directed() else "graph") + " {"]
    lines.append("  graph" + attr_list(H.graph) + ";")
    lines += [f"  {_quote(v)}{attr_list(d)};" for v, d in H.nodes(data=True)]
    lines += [f"  {_quote(u)} {arrow} {_quote(v)}{attr_list(d)};" for u, v, d in H.edges(data=True)]
    return "\n".join(lines + ["}"]) + "\n"


# --------------------------------------------------------------------- read
def read_graph(path: str | os.PathLike[str]) -> nx.Graph:
    """Read a graph written by :func:`write_graph` (format from the extension).

    Raises
    ------
    ValueError
        For another extension, or a file that is not such a graph.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], nx.Graph]] = {
        ".graphml": lambda p: nx.read_graphml(p, force_multigraph=False),
        ".gexf": _read_gexf,
        ".json": lambda p: nx.node_link_graph(json.loads(p.read_text(encoding="utf-8")), edges="edges"),
        ".dot": lambda p: _parse_dot(p.read_text(encoding="utf-8")),
    }
    if suffix not in readers:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {', '.join(FORMATS)}")
    try:
        H = readers[suffix](path)
        return _decoded(H)
    except (KeyError, ValueError, TypeError, SyntaxError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{str(path)!r} is not a graph written by dynsys: {exc}") from None


def _read_gexf(path: Path) -> nx.Graph:
    H = nx.read_gexf(path)
    for _, data in H.nodes(data=True):
        data.pop("label", None)  # GEXF's own label (our label travels as __label__)
        if _LABEL in data:
            data["label"] = data.pop(_LABEL)
    H.graph = {_META: H.graph.get("name")}
    return H


def _decoded(H: nx.Graph) -> nx.Graph:
    """The original graph from an encoded copy read back from a file."""
    meta = decode(H.graph[_META])
    G = _TYPES[meta["type"]]()
    G.graph.update(meta["graph"])
    ids = {}
    for v, data in H.nodes(data=True):
        data = {k: decode(x) for k, x in data.items()}
        ids[v] = data.pop(_ID, v)
        G.add_node(ids[v], **data)
    edges = H.edges(keys=True, data=True) if H.is_multigraph() else ((u, v, None, d) for u, v, d in H.edges(data=True))
    for u, v, _, data in edges:
        data = {k: decode(x) for k, x in data.items() if k != "id"}
        if G.is_multigraph():
            G.add_edge(ids[u], ids[v], key=data.pop(_KEY), **data)
        else:
            G.add_edge(ids[u], ids[v], **data)
    return G


_DOT_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<sym>->|--|[{}\[\]=,;])|(?P<word>[A-Za-z_]\w*))')


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unexpected text in DOT at character {pos}: {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), value[1:-1])
        out.append((kind, value))
        pos = m.end()
    return out


def _parse_dot(text: str) -> nx.Graph:
    """Parse the DOT that :func:`_dot` writes (graph/digraph, quoted ids and values)."""
    toks = _tokens(text)
    i = 0

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal i
        if i >= len(toks) or (kind and toks[i][0] != kind) or (value and toks[i][1] != value):
            got = toks[i] if i < len(toks) else "the end"
            raise ValueError(f"DOT: expected {value or kind} at token {i}, got {got}")
        i += 1
        return toks[i - 1][1]

    def attrs() -> dict[str, str]:
        out: dict[str, str] = {}
        if i < len(toks) and toks[i][1] == "[":
            take("sym", "[")
            while toks[i][1] != "]":
                key = take("str")
                take("sym", "=")
                out[key] = take("str")
                if toks[i][1] == ",":
                    take("sym", ",")
            take("sym", "]")
        return out

    directed = take("word") == "digraph"
    take("sym", "{")
    H: nx.Graph = nx.MultiDiGraph() if directed else nx.MultiGraph()
    while toks[i][1] != "}":
        if toks[i] == ("word", "graph"):
            take("word")
            H.graph.update(attrs())
        else:
            u = take("str")
            if toks[i][1] in ("->", "--"):
                take("sym")
                H.add_edge(u, take("str"), **attrs())
            else:
                H.add_node(u, **attrs())
        take("sym", ";")
    take("sym", "}")
    return H
