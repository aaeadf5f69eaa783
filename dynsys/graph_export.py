"""Writing and reading graphs: GraphML, GEXF, node-link JSON and DOT.

:func:`write_graph` picks the format from the file's extension and writes
attributes that other tools (Gephi, yEd, Graphviz, plain networkx) can lay
out, colour and filter by; :func:`read_graph` reads any of the four back to
the same graph: the same type (Graph, DiGraph, MultiGraph, MultiDiGraph),
node ids, edge keys, and attribute values and types.

What a file holds
-----------------
*Scalars* (str, int, float, bool, and numpy scalars, which become Python
scalars) are written natively wherever every value of an attribute name has
the same one of these types:

- GraphML and GEXF: typed keys ``string``, ``long``, ``double``,
  ``boolean`` (``true``/``false``; NaN and infinities as networkx writes
  them: ``nan``/``inf`` in GraphML, ``NaN``/``INF``/``-INF`` in GEXF);
- node-link JSON: JSON strings, numbers (integers without a decimal point)
  and ``true``/``false``;
- DOT: quoted strings, unquoted numbers (floats always with a decimal point
  and never with an exponent, as DOT numerals must be) and unquoted
  ``true``/``false``; a non-finite float is the quoted word ``"NaN"``,
  ``"INF"`` or ``"-INF"``, as no DOT numeral spells it.

*Structured values* (numpy arrays, lists, tuples, dicts, None, complex) keep
their attribute name and are plain JSON: JSON lists and objects in node-link
JSON, JSON text (``x = "[1.0, -0.5]"``) in the other three formats, so
``json.loads`` gives them back.  Arrays are nested lists, complex numbers
``[re, im]`` pairs (a complex vector: ``[[re, im], ...]``), a dict with
keys other than strings a list of ``[key, value]`` pairs.  A name whose
values mix types (an int here, a float or an array there), or a string
attribute with characters XML cannot hold, is written as JSON text for all
its values in GraphML, GEXF and DOT (``1``, ``1.5``, ``"text"``).  This
JSON is strict: a non-finite float inside it is ``null`` (so is a NaN or
infinite scalar in node-link JSON), the schema says which.

*Exact types* travel in one graph attribute, the schema :data:`SCHEMA`
(JSON text; in GEXF, whose writer keeps no graph attribute but the graph's
``name``, the name is the JSON object of all graph attributes as written,
where Python's ``json`` spells a non-finite float scalar ``NaN``,
``Infinity``).  It records
the graph type and, for every attribute name of the graph, the nodes and the
edges, how its values were written (``"as"``: ``bool``, ``int``, ``float``,
``str``, ``json`` for JSON text, ``plain`` for node-link JSON values) and,
where plain JSON is not the whole answer, a ``spec`` (for all values) or
``specs`` (per node id or edge position): the dtype and shape of an array,
tuple versus list, complex, the infinities or NaN behind a ``null``.  A
plain reader ignores it and loses nothing it can sort or colour by.

Names the format itself uses are given way to:

- GEXF: the node attribute ``label`` is the GEXF node label (Gephi shows
  "P3 (+-+)"), an edge ``label`` the GEXF edge label; other names the GEXF
  writer takes (nodes: ``id``, ``pid``, ``start``, ``end``, ``viz``,
  ``parents``, ``slices``, ``spells``; edges: also ``weight``, ``type``,
  ``key``, ``networkx_key``) are written with ``_`` appended;
- DOT: the Graphviz ``label`` shows the node id, ``kind`` and ``corner``
  (``"P3\\nattractor\\n+-+"``), and the node attribute ``label`` is written
  as ``label_``;
- node-link JSON: node ``id`` and edge ``source``, ``target``, ``key``
  become ``id_`` and so on;
- GraphML: graph attributes ``id``, ``node_default`` and ``edge_default``.

(``_`` is appended again while the name is taken.)  Node ids that are not
all strings (or hold characters XML cannot) are written as ``n0, n1, ...``
with the original in the node attribute ``__id__``; a multigraph's edges
carry their key as ``__key__``.  DOT is written and parsed by this module (no
pygraphviz or pydot).

Cycle nodes of a transition graph (kind ``"cycle"``) are written like the
points, with the scalars ``period``, ``amplitude``, ``trivial`` native and
their arrays as JSON: the representative state ``x`` is the cycle's first
state x(0) (a state on the cycle, where tools place the node), ``mean`` its
time average, ``orbit`` its states over one period and ``multipliers`` the
Floquet multipliers as ``[re, im]`` pairs; :func:`dynsys.graph.graph_cycles`
rebuilds the cycles from a graph read back.

:func:`read_graph` refuses, with a ValueError, a file without the schema
(a graph some other program wrote, or one from dynsys before this format).
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import networkx as nx
import numpy as np

from ._io import atomic_write, atomic_write_text, check_dtype, checked_array, loads_json

FORMATS = (".graphml", ".gexf", ".json", ".dot")
SCHEMA = "__dynsys__"  # graph attribute holding the schema (JSON text)
SCHEMA_VERSION = 2
_TYPES = {"Graph": nx.Graph, "DiGraph": nx.DiGraph, "MultiGraph": nx.MultiGraph, "MultiDiGraph": nx.MultiDiGraph}
_ID, _KEY = "__id__", "__key__"
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# characters XML 1.0 cannot hold, and \r, which XML parsers turn into \n
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")

Spec = Any  # None, a str ("nan", "inf", "-inf") or a one-key dict (see _to_plain)


@dataclass(frozen=True)
class _Format:
    """How one file format holds attributes.

    text: scalars native and structured values as JSON text (else plain JSON
    values); reserved: per scope, names the format's writer or reader takes;
    filled: per scope, names its reader gives every element.
    """

    text: bool
    reserved: dict[str, frozenset[str]] = field(default_factory=dict)
    filled: dict[str, frozenset[str]] = field(default_factory=dict)


_GEXF_TAKEN = frozenset({"id", "pid", "start", "end", "viz", "parents", "slices", "spells"})
_FORMAT = {
    ".graphml": _Format(True, {"graph": frozenset({"id", "node_default", "edge_default"})}),
    ".gexf": _Format(
        True,
        {"node": _GEXF_TAKEN, "edge": _GEXF_TAKEN | {"weight", "type", "key", "networkx_key"}},
        {"node": frozenset({"label"})},
    ),
    ".json": _Format(False, {"node": frozenset({"id"}), "edge": frozenset({"source", "target", "key"})}),
    ".dot": _Format(True, {"node": frozenset({"label"})}),
}
_OWN = {"graph": frozenset({SCHEMA}), "node": frozenset({_ID}), "edge": frozenset({_KEY})}


# ------------------------------------------------------------ plain JSON
def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _to_plain(value: Any) -> tuple[Any, Spec]:
    """Plain JSON data for ``value`` and the spec that :func:`_from_plain` needs to restore it exactly."""
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None, str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value, None
    if isinstance(value, complex):
        (re_, re_spec), (im, im_spec) = _to_plain(value.real), _to_plain(value.imag)
        return [re_, im], {"complex": [re_spec, im_spec]}
    if isinstance(value, np.ndarray):
        return _array_to_plain(value)
    if isinstance(value, (list, tuple)):
        items = [_to_plain(v) for v in value]
        specs = [s for _, s in items]
        if isinstance(value, list) and all(s is None for s in specs):
            return [p for p, _ in items], None
        return [p for p, _ in items], {type(value).__name__: specs}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            pairs = {k: _to_plain(v) for k, v in value.items()}
            specs = {k: s for k, (_, s) in pairs.items() if s is not None}
            return {k: p for k, (p, _) in pairs.items()}, ({"dict": specs} if specs else None)
        items = [(_to_plain(k), _to_plain(v)) for k, v in value.items()]
        return [[k[0], v[0]] for k, v in items], {"items": [[k[1], v[1]] for k, v in items]}
    raise TypeError(f"cannot write an attribute of type {type(value).__name__}: {value!r}")


def _array_to_plain(a: np.ndarray) -> tuple[Any, Spec]:
    """Nested lists (complex entries as [re, im], non-finite floats as None) and the array's spec."""
    if a.dtype.kind not in "biufcU":
        raise TypeError(f"cannot write an array of dtype {a.dtype}")
    spec: dict[str, Any] = {"dtype": a.dtype.str, "shape": list(a.shape)}
    parts = np.stack([a.real, a.imag], axis=-1) if a.dtype.kind == "c" else a
    if parts.dtype.kind == "f" and not np.isfinite(parts).all():
        for name, where in (("inf", parts == np.inf), ("-inf", parts == -np.inf)):
            if where.any():
                spec[name] = np.flatnonzero(where).tolist()
        parts = np.where(np.isfinite(parts), parts, None)  # NaN: None, and None reads back as NaN
    return parts.tolist(), {"ndarray": spec}


def _from_plain(data: Any, spec: Spec) -> Any:
    """The value that :func:`_to_plain` turned into ``data`` and ``spec``."""
    if spec is None:
        return data
    if isinstance(spec, str):
        return _NONFINITE[spec]
    (tag, body), = spec.items()
    if tag == "complex":
        return complex(_from_plain(data[0], body[0]), _from_plain(data[1], body[1]))
    if tag == "ndarray":
        return _array_from_plain(data, body)
    if tag in ("list", "tuple"):
        items = [_from_plain(v, s) for v, s in zip(data, body, strict=True)]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict":
        return {k: _from_plain(v, body.get(k)) for k, v in data.items()}
    if tag == "items":
        return {_from_plain(k, ks): _from_plain(v, vs) for (k, v), (ks, vs) in zip(data, body, strict=True)}
    raise ValueError(f"unknown spec {tag!r} in the schema")


def _array_from_plain(data: Any, spec: dict[str, Any]) -> np.ndarray:
    """The array of a spec (dtype and shape checked before allocating: :func:`dynsys._io.checked_array`)."""
    dtype = check_dtype(spec["dtype"])
    shape = list(spec["shape"])
    complex_ = dtype.kind == "c"
    parts = checked_array(data, np.finfo(dtype).dtype if complex_ else dtype).reshape(shape + [2] * complex_)
    parts.flat[spec.get("inf", [])] = np.inf
    parts.flat[spec.get("-inf", [])] = -np.inf
    if not complex_:
        return parts
    a = np.empty(shape, dtype=dtype)
    a.real, a.imag = parts[..., 0], parts[..., 1]
    return a


# ------------------------------------------------------------ encoding
def _encode_values(elements: list[str], values: list[Any], text: bool) -> tuple[dict[str, Any], list[Any]]:
    """The schema entry of one attribute name and its values as written.

    ``elements`` names the node or edge of each value (for per-value specs).
    """
    values = [_plain(v) for v in values]
    types = {type(v) for v in values}
    if text and len(types) == 1:
        (t,) = types
        if t in _SCALARS and not (t is str and any(_NOT_XML.search(v) for v in values)):
            return {"as": _SCALARS[t]}, values
    pairs = [_to_plain(v) for v in values]
    entry: dict[str, Any] = {"as": "json" if text else "plain"}
    specs = [s for _, s in pairs]
    if any(s is not None for s in specs):
        if all(s == specs[0] for s in specs):
            entry["spec"] = specs[0]
        else:
            entry["specs"] = {e: s for e, s in zip(elements, specs) if s is not None}
    written = [json.dumps(p, allow_nan=False) if text else p for p, _ in pairs]
    return entry, written


def _encode_scope(
    records: list[tuple[str, dict[str, Any]]], fmt: _Format, scope: str
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The attributes of the elements of one scope ("graph", "node", "edge")
    as written (one dict per record) and the scope's schema, by written name."""
    names = list(dict.fromkeys(k for _, data in records for k in data))
    reserved = fmt.reserved.get(scope, frozenset()) | _OWN[scope]
    filled = fmt.filled.get(scope, frozenset())
    taken = set(names) | reserved
    written: list[dict[str, Any]] = [{} for _ in records]
    schema: dict[str, dict[str, Any]] = {}
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"attribute names must be strings, got {name!r}")
        key = name
        if name in reserved:
            while key in taken:
                key += "_"
            taken.add(key)
        where = [i for i, (_, data) in enumerate(records) if name in data]
        entry, values = _encode_values([records[i][0] for i in where], [records[i][1][name] for i in where], fmt.text)
        if key != name:
            entry["name"] = name
        if name in filled and len(where) < len(records):
            entry["absent"] = [e for e, data in records if name not in data]
        schema[key] = entry
        for i, v in zip(where, values):
            written[i][key] = v
    return written, schema


def _encoded_copy(G: nx.Graph, fmt: _Format) -> nx.Graph:
    """A graph of the same type with string node ids, attributes as written, and the schema."""
    nodes = list(G.nodes(data=True))
    string_ids = all(isinstance(v, str) and not _NOT_XML.search(v) for v, _ in nodes)
    names = [v if string_ids else f"n{i}" for i, (v, _) in enumerate(nodes)]
    multi = G.is_multigraph()
    edges = list(G.edges(keys=True, data=True)) if multi else [(u, v, None, d) for u, v, d in G.edges(data=True)]
    positions = [str(i) for i in range(len(edges))]
    node_attrs, node_schema = _encode_scope(list(zip(names, (d for _, d in nodes))), fmt, "node")
    edge_attrs, edge_schema = _encode_scope(list(zip(positions, (e[3] for e in edges))), fmt, "edge")
    (graph_attrs,), graph_schema = _encode_scope([("graph", G.graph)], fmt, "graph")
    schema: dict[str, Any] = {"version": SCHEMA_VERSION, "type": type(G).__name__}
    schema.update(graph=graph_schema, nodes=node_schema, edges=edge_schema)
    if not string_ids:
        schema["ids"], ids = _encode_values(names, [v for v, _ in nodes], fmt.text)
        for data, v in zip(node_attrs, ids):
            data[_ID] = v
    if multi:
        schema["keys"], keys = _encode_values(positions, [e[2] for e in edges], fmt.text)
        for data, k in zip(edge_attrs, keys):
            data[_KEY] = k
    H = type(G)()
    H.graph.update(graph_attrs)
    H.graph[SCHEMA] = json.dumps(schema)
    H.add_nodes_from(zip(names, node_attrs))
    name = dict(zip((v for v, _ in nodes), names))
    for i, ((u, v, _, _), data) in enumerate(zip(edges, edge_attrs)):
        H.add_edges_from([(name[u], name[v], i, data) if multi else (name[u], name[v], data)])
    return H


# ------------------------------------------------------------------ write
def write_graph(G: nx.Graph, path: str | os.PathLike[str]) -> Path:
    """Write ``G`` to ``path`` in the format its extension names, atomically.

    Scalar attributes are written natively (typed GraphML/GEXF keys, JSON
    values, unquoted DOT numbers), structured ones as plain JSON; the module
    docstring gives the schema of each format.

    Parameters
    ----------
    G : networkx graph (any of the four types)
        Attribute names must be strings.
    path : str or path-like ending in .graphml, .gexf, .json or .dot

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        For another extension.
    TypeError
        For an attribute value of a type that cannot be written (arrays of
        numbers or unicode strings, lists, tuples, dicts, None and scalars can).

    Examples
    --------
    >>> import json, tempfile, networkx as nx, numpy as np
    >>> G = nx.DiGraph(system="demo")
    >>> G.add_node("P0", kind="attractor", index=0, stable=True, x=np.array([1.0, -0.5]))
    >>> path = write_graph(G, Path(tempfile.mkdtemp()) / "g.graphml")
    >>> plain = nx.read_graphml(path)
    >>> plain.nodes["P0"]["index"], plain.nodes["P0"]["stable"], json.loads(plain.nodes["P0"]["x"])
    (0, True, [1.0, -0.5])
    >>> read_graph(path).nodes["P0"]["x"]
    array([ 1. , -0.5])
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {', '.join(FORMATS)}")
    H = _encoded_copy(G, _FORMAT[suffix])
    if suffix == ".graphml":
        writer = _GraphMLWriter(encoding="utf-8")
        writer.add_graph_element(H)
        return atomic_write(path, writer.dump)
    if suffix == ".gexf":
        H.graph = {"name": json.dumps(H.graph)}  # the only graph attribute the GEXF writer keeps
        return atomic_write(path, lambda f: nx.write_gexf(H, f))
    if suffix == ".json":
        return atomic_write_text(path, json.dumps(nx.node_link_data(H, edges="edges"), indent=1, allow_nan=False))
    for (_, data), (v, original) in zip(H.nodes(data=True), G.nodes(data=True)):
        data["label"] = _graphviz_label(v, original)
    return atomic_write_text(path, _dot(H))


class _GraphMLWriter(nx.readwrite.graphml.GraphMLWriter):
    """networkx's GraphML writer, with booleans spelled as XML Schema's (``true``, not ``True``)."""

    def add_data(self, name: str, element_type: type, value: str, scope: str = "all", default: Any = None) -> Any:
        return super().add_data(name, element_type, value.lower() if element_type is bool else value, scope, default)


def _graphviz_label(v: Any, data: dict[str, Any]) -> str:
    """What Graphviz shows on a node: its id, then its kind and corner where they are strings."""
    return "\n".join([str(v)] + [data[k] for k in ("kind", "corner") if isinstance(data.get(k), str)])


_DOT_ID = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_DOT_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_value(value: Any) -> str:
    """A DOT ID for a written value: numbers and booleans bare, strings quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return np.format_float_positional(value, unique=True, trim="0")
        return _quote({"nan": "NaN", "inf": "INF", "-inf": "-INF"}[str(value)])
    return _quote(value)


def _dot(H: nx.Graph) -> str:
    arrow = "->" if H.is_directed() else "--"

    def attr_list(data: dict[str, Any]) -> str:
        keys = [k if _DOT_ID.match(k) and k.lower() not in _DOT_KEYWORDS else _quote(k) for k in data]
        return " [" + ", ".join(f"{k}={_dot_value(v)}" for k, v in zip(keys, data.values())) + "]" if data else ""

    lines = [("digraph" if H.is_directed() else "graph") + " {"]
    lines.append("  graph" + attr_list(H.graph) + ";")
    lines += [f"  {_quote(v)}{attr_list(d)};" for v, d in H.nodes(data=True)]
    lines += [f"  {_quote(u)} {arrow} {_quote(v)}{attr_list(d)};" for u, v, d in H.edges(data=True)]
    return "\n".join(lines + ["}"]) + "\n"


# ------------------------------------------------------------------- read
def read_graph(path: str | os.PathLike[str]) -> nx.Graph:
    """Read a graph written by :func:`write_graph` (format from the extension), exactly.

    Parameters
    ----------
    path : str or path-like ending in .graphml, .gexf, .json or .dot

    Returns
    -------
    networkx graph
        Of the type written, with the same node ids, edge keys and attribute
        values and types (numpy scalars came back as Python scalars).

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    ValueError
        For another extension, or a file that is not such a graph (one
        without the :data:`SCHEMA` graph attribute, e.g. written by another
        program or by dynsys before schema version 2), naming the file: also
        for truncated or malformed files, JSON nested deeper than
        :data:`dynsys._io.MAX_JSON_DEPTH`, and array specs whose dtype or
        shape does not fit their data (checked before allocating).

    Examples
    --------
    >>> import tempfile, networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge("P0", "P1", key=7, branch=0, resolved=True)
    >>> H = read_graph(write_graph(G, Path(tempfile.mkdtemp()) / "g.dot"))
    >>> type(H).__name__, list(H.edges(keys=True, data=True))
    ('MultiDiGraph', [('P0', 'P1', 7, {'branch': 0, 'resolved': True})])
    """
    path = Path(path)
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], nx.Graph]] = {
        ".graphml": lambda p: nx.read_graphml(p, force_multigraph=True),
        ".gexf": _read_gexf,
        ".json": lambda p: nx.node_link_graph(_json_object(loads_json(p.read_bytes())), edges="edges"),
        ".dot": lambda p: _parse_dot(p.read_text(encoding="utf-8")),
    }
    if suffix not in readers:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    try:
        return _decoded(readers[suffix](path))
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, SyntaxError, nx.NetworkXError) as exc:
        raise ValueError(f"{str(path)!r} is not a graph written by dynsys: {exc}") from None


def _json_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object (what node-link JSON is), else ValueError."""
    if not isinstance(value, dict):
        raise ValueError(f"it holds a JSON {type(value).__name__}, not the object of a node-link graph")
    return value


def _read_gexf(path: Path) -> nx.Graph:
    H = nx.read_gexf(path)
    H.graph = _json_object(loads_json(H.graph.get("name") or "{}"))
    return H


def _decode_value(value: Any, entry: dict[str, Any], element: str) -> Any:
    """A value as written (from a file reader: typed, or text in DOT and GEXF labels) back to the original."""
    codec = entry["as"]
    if codec in ("json", "plain"):
        spec = entry["spec"] if "spec" in entry else entry.get("specs", {}).get(element)
        return _from_plain(loads_json(value) if codec == "json" else value, spec)
    if codec == "bool":
        return value if isinstance(value, bool) else {"true": True, "false": False}[value.lower()]
    return {"int": int, "float": float, "str": str}[codec](value)


def _decode_scope(data: dict[str, Any], schema: dict[str, dict[str, Any]], element: str) -> dict[str, Any]:
    """The original attributes of one element; names not in the schema (the format's own) are dropped."""
    out = {}
    for key, value in data.items():
        entry = schema.get(key)
        if entry is not None and element not in entry.get("absent", ()):
            out[entry.get("name", key)] = _decode_value(value, entry, element)
    return out


def _decoded(H: nx.Graph) -> nx.Graph:
    """The original graph from a file's graph, its attributes as written."""
    text = H.graph.get(SCHEMA)
    if not isinstance(text, str):
        raise ValueError(f"it has no {SCHEMA} schema")
    if text.startswith("@dynsys:"):
        raise ValueError("it was written by an older dynsys (schema 1); write it again")
    schema = _json_object(loads_json(text))
    if schema.get("version") != SCHEMA_VERSION:
        raise ValueError(f"schema version {schema.get('version')!r} is not {SCHEMA_VERSION}")
    G = _TYPES[schema["type"]]()
    G.graph.update(_decode_scope(H.graph, schema["graph"], "graph"))
    ids = {}
    for v, data in H.nodes(data=True):
        ids[v] = _decode_value(data[_ID], schema["ids"], v) if "ids" in schema else v
        G.add_nodes_from([(ids[v], _decode_scope(data, schema["nodes"], v))])
    for i, (u, v, data) in enumerate(H.edges(data=True)):
        attrs = _decode_scope(data, schema["edges"], str(i))
        key = [_decode_value(data[_KEY], schema["keys"], str(i))] if G.is_multigraph() else []
        G.add_edges_from([(ids[u], ids[v], *key, attrs)])
    return G


_DOT_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?(?:\.\d+|\d+(?:\.\d*)?))'
    r"|(?P<sym>->|--|[{}\[\]=,;])|(?P<word>[A-Za-z_]\w*))"
)


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
    """Parse the DOT that :func:`_dot` writes: values stay text (the schema types them)."""
    toks = _tokens(text)
    i = 0
    ID = ("str", "num", "word")

    def take(kinds: tuple[str, ...] = ID, value: str | None = None) -> str:
        nonlocal i
        if i >= len(toks) or toks[i][0] not in kinds or (value and toks[i][1] != value):
            got = toks[i] if i < len(toks) else "the end"
            raise ValueError(f"DOT: expected {value or ' or '.join(kinds)} at token {i}, got {got}")
        i += 1
        return toks[i - 1][1]

    def attrs() -> dict[str, str]:
        out: dict[str, str] = {}
        if i < len(toks) and toks[i][1] == "[":
            take(("sym",), "[")
            while toks[i][1] != "]":
                key = take(("str", "word"))
                take(("sym",), "=")
                out[key] = take()
                if toks[i][1] == ",":
                    take(("sym",), ",")
            take(("sym",), "]")
        return out

    directed = take(("word",)) == "digraph"
    take(("sym",), "{")
    H: nx.Graph = nx.MultiDiGraph() if directed else nx.MultiGraph()
    while toks[i][1] != "}":
        if toks[i] == ("word", "graph"):
            take(("word",))
            H.graph.update(attrs())
        else:
            u = take()
            if toks[i][1] in ("->", "--"):
                take(("sym",))
                H.add_edges_from([(u, take(), attrs())])
            else:
                H.add_nodes_from([(u, attrs())])
        take(("sym",), ";")
    take(("sym",), "}")
    return H
