"""The analyses a sweep runs on each item: picklable tasks with ``run``, ``summary``, ``write`` and ``read``.

A task is a small object holding an analysis's options; a sweep ships it to
its workers, which call ``run(system)`` for each item.  What happens to the
result depends only on its type (:func:`summarize`, :func:`write_result`,
:func:`read_result`):

- a :class:`~dynsys.FixedPointSet`: ``points.npz`` (:meth:`~dynsys.FixedPointSet.save`);
  summary: counts by kind and index, max |F| (:func:`points_summary`);
- a :class:`GraphResult`: ``points.npz`` and ``graph.graphml``
  (:func:`dynsys.write_graph`); summary: the points' and the attractor
  graph's (:func:`graph_summary`: nodes, edges, Weisfeiler-Lehman hash);
- a networkx graph: ``graph.graphml``; summary: its nodes and edges;
- a :class:`~dynsys.BifurcationDiagram`: ``diagram.json``
  (:meth:`~dynsys.BifurcationDiagram.save`); summary: branches and special
  points by kind (:func:`diagram_summary`);
- a JSON-able value: ``result.json``; summary: a scalar as ``value``, a
  dict's scalar entries as ``value_<name>``;
- anything else: ``result.pkl`` (pickle); no summary beyond the common keys.

Every file is written atomically.  A JSON result comes back as JSON gives it
(tuples as lists); ``result.pkl`` is read with :mod:`pickle`, so read back
only sweeps you wrote.

The tasks: :class:`FixedPoints` (:func:`dynsys.find_fixed_points`),
:class:`TransitionGraph` (:func:`dynsys.transition_graph` on the points
found), :class:`Continuation` (:func:`dynsys.bifurcation_diagram`) and
:class:`FunctionTask` (any picklable function of one System).  A task's
``repr`` is its fingerprint for resumed sweeps: the same options give the
same text.
"""
from __future__ import annotations

import functools
import inspect
import json
import pickle
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import networkx as nx
import numpy as np

from .._io import atomic_write, atomic_write_text
from .._validate import check_interval
from ..bifurcation_diagram import BifurcationDiagram, bifurcation_diagram
from ..fixed_points import FixedPointSet, find_fixed_points
from ..graph import attractor_graph, transition_graph
from ..graph_export import read_graph, write_graph
from ..systems import System

POINTS_FILE = "points.npz"
GRAPH_FILE = "graph.graphml"
DIAGRAM_FILE = "diagram.json"
JSON_FILE = "result.json"
PICKLE_FILE = "result.pkl"


@dataclass(frozen=True)
class GraphResult:
    """The fixed points of a system and its transition graph (:class:`TransitionGraph`'s result).

    Attributes
    ----------
    points : FixedPointSet
    graph : networkx.MultiDiGraph
        From :func:`dynsys.transition_graph`; :func:`dynsys.attractor_graph`
        gives the attractors and the saddles between them.

    Examples
    --------
    >>> from dynsys import models
    >>> result = TransitionGraph(fixed_points={"n_starts": 32}).run(models.duffing())
    >>> len(result.points), sorted(attractor_graph(result.graph).edges())
    (3, [('P0', 'P1')])
    """

    points: FixedPointSet
    graph: nx.MultiDiGraph


class Task:
    """An analysis of one System: the base of the sweep's tasks.

    A subclass defines :meth:`run` (and ``__repr__``, which must show every
    option: it is the task's fingerprint for resumed sweeps); the summary and
    the files follow from the result's type (the module's table).

    Examples
    --------
    >>> from dynsys import models
    >>> task = FixedPoints(n_starts=32)
    >>> points = task.run(models.duffing())
    >>> task.summary(points)["n_attractors"]
    2
    """

    def run(self, system: System) -> Any:
        """The analysis of ``system``.

        Examples
        --------
        >>> from dynsys import models
        >>> FunctionTask(lambda s: s.dim).run(models.lorenz())
        3
        """
        raise NotImplementedError(f"{type(self).__name__} does not define run(system)")

    def summary(self, result: Any) -> dict[str, Any]:
        """The result's flat, JSON-able summary (:func:`summarize`).

        Examples
        --------
        >>> FunctionTask(len).summary(3)
        {'value': 3}
        """
        return summarize(result)

    def write(self, result: Any, directory: str | Path) -> list[str]:
        """Write the result's files into ``directory`` (:func:`write_result`); their names.

        Examples
        --------
        >>> import tempfile
        >>> FunctionTask(len).write({"a": 1.5}, tempfile.mkdtemp())
        ['result.json']
        """
        return write_result(result, directory)

    def read(self, directory: str | Path, system: Callable[[], System]) -> Any:
        """The result that :meth:`write` wrote into ``directory`` (:func:`read_result`).

        Examples
        --------
        >>> import tempfile
        >>> from dynsys import models
        >>> folder = tempfile.mkdtemp()
        >>> task = FunctionTask(len)
        >>> _ = task.write([1, 2], folder)
        >>> task.read(folder, models.lorenz)
        [1, 2]
        """
        return read_result(directory, system)


class FixedPoints(Task):
    """The fixed and slow points of each item: :func:`dynsys.find_fixed_points` with ``options``.

    Parameters
    ----------
    **options
        Keyword arguments of :func:`dynsys.find_fixed_points` (``n_starts``,
        ``bounds``, ``seed``, ``tol``, ...); the default ``seed=0`` makes
        every run of an item give the same points.

    Raises
    ------
    TypeError
        For an option that :func:`dynsys.find_fixed_points` does not take.

    Examples
    --------
    >>> from dynsys import models
    >>> task = FixedPoints(n_starts=32, seed=1)
    >>> task
    FixedPoints(n_starts=32, seed=1)
    >>> summary = task.summary(task.run(models.lorenz()))
    >>> summary["n_fixed"], summary["n_saddles"], summary["n_index_1"], summary["n_index_2"]
    (3, 3, 1, 2)
    """

    def __init__(self, **options: Any) -> None:
        _check_options(find_fixed_points, options, "FixedPoints", ("system",))
        self.options = options

    def run(self, system: System) -> FixedPointSet:
        """:func:`dynsys.find_fixed_points` of ``system``.

        Examples
        --------
        >>> from dynsys import models
        >>> FixedPoints(n_starts=16).run(models.duffing())
        FixedPointSet('duffing', kind='flow', 3 fixed, 0 slow)
        """
        return find_fixed_points(system, **self.options)

    def __repr__(self) -> str:
        return f"FixedPoints({_format_options(self.options)})"


class TransitionGraph(Task):
    """Fixed points and the transition graph of each item: a :class:`GraphResult`.

    Parameters
    ----------
    fixed_points : dict, optional
        Keyword arguments of :func:`dynsys.find_fixed_points`.
    graph : dict, optional
        Keyword arguments of :func:`dynsys.transition_graph` (``n_directions``,
        ``max_time``, ``cycles``, ...).

    Raises
    ------
    TypeError
        For an option that those functions do not take.

    Examples
    --------
    >>> from dynsys import models
    >>> task = TransitionGraph(fixed_points={"n_starts": 32}, graph={"cycles": False})
    >>> task
    TransitionGraph(fixed_points={'n_starts': 32}, graph={'cycles': False})
    >>> summary = task.summary(task.run(models.duffing()))
    >>> summary["n_graph_nodes"], summary["n_graph_edges"]
    (2, 1)
    """

    def __init__(self, fixed_points: dict[str, Any] | None = None, graph: dict[str, Any] | None = None) -> None:
        self.fixed_points = dict(fixed_points or {})
        self.graph = dict(graph or {})
        _check_options(find_fixed_points, self.fixed_points, "TransitionGraph fixed_points", ("system",))
        _check_options(transition_graph, self.graph, "TransitionGraph graph", ("system", "fixed_points", "progress"))

    def run(self, system: System) -> GraphResult:
        """The fixed points of ``system`` and their transition graph.

        Examples
        --------
        >>> from dynsys import models
        >>> TransitionGraph(fixed_points={"n_starts": 32}).run(models.duffing()).graph.number_of_nodes()
        3
        """
        points = find_fixed_points(system, **self.fixed_points)
        return GraphResult(points, transition_graph(system, points, **self.graph))

    def __repr__(self) -> str:
        return f"TransitionGraph(fixed_points={_format_dict(self.fixed_points)}, graph={_format_dict(self.graph)})"


class Continuation(Task):
    """Every branch of fixed points of each item in ``span`` of ``param``: :func:`dynsys.bifurcation_diagram`.

    Parameters
    ----------
    param : str
        The parameter to vary (each item's other parameters stay as they are).
    span : (float, float)
        The interval, low < high.
    **options
        Keyword arguments of :func:`dynsys.bifurcation_diagram` (``n_starts``,
        ``ds``, ``max_steps``, ``cycles``, ...).

    Raises
    ------
    ValueError
        ``span`` not two finite numbers, low < high.
    TypeError
        For an option that :func:`dynsys.bifurcation_diagram` does not take.

    Examples
    --------
    >>> from dynsys import models
    >>> task = Continuation("r", (2.5, 3.4))
    >>> task
    Continuation('r', (2.5, 3.4))
    >>> summary = task.summary(task.run(models.logistic()))
    >>> summary["n_branches"], summary["n_flip"]
    (2, 1)
    """

    def __init__(self, param: str, span: tuple[float, float], **options: Any) -> None:
        if not isinstance(param, str):
            raise TypeError(f"Continuation: param must be a parameter's name, got {param!r}")
        lo, hi = check_interval(span, "Continuation: span", ("low", "high"))
        _check_options(bifurcation_diagram, options, "Continuation", ("system", "param", "p_span"))
        self.param, self.span, self.options = param, (lo, hi), options

    def run(self, system: System) -> BifurcationDiagram:
        """:func:`dynsys.bifurcation_diagram` of ``system`` in ``param`` over ``span``.

        Examples
        --------
        >>> from dynsys import models
        >>> Continuation("r", (2.5, 3.4)).run(models.logistic()).bifurcations[0].p
        3.0
        """
        return bifurcation_diagram(system, self.param, self.span, **self.options)

    def __repr__(self) -> str:
        options = _format_options(self.options)
        return f"Continuation({self.param!r}, {self.span!r}{', ' + options if options else ''})"


class FunctionTask(Task):
    """Any picklable function of one System as a task; its result is summarised and saved by its type.

    Parameters
    ----------
    fn : callable
        ``fn(system) -> result``.  It must be picklable to run on Dask
        workers (cloudpickle sends functions of ``__main__`` and lambdas by
        value; for functions of other modules that the workers cannot
        import, see ``cloudpickle.register_pickle_by_value``).  Its name
        (module and qualified name; for a :func:`functools.partial`, the
        function and its arguments) is the task's fingerprint for resumed
        sweeps, so give different functions different names.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import models
    >>> task = FunctionTask(np.linalg.norm)
    >>> task
    FunctionTask(numpy.linalg.norm)
    >>> task = FunctionTask(lambda s: {"dim": s.dim, "names": list(s.state_names)})
    >>> task.summary(task.run(models.lorenz()))
    {'value_dim': 3}
    """

    def __init__(self, fn: Callable[[System], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionTask: fn must be a function of one System, got {type(fn).__name__}")
        self.fn = fn

    def run(self, system: System) -> Any:
        """``fn(system)``.

        Examples
        --------
        >>> from dynsys import models
        >>> FunctionTask(lambda s: s.kind).run(models.henon())
        'map'
        """
        return self.fn(system)

    def __repr__(self) -> str:
        return f"FunctionTask({_callable_name(self.fn)})"


def as_task(task: Any) -> Task:
    """``task`` itself, or a plain function wrapped in a :class:`FunctionTask`.

    Raises
    ------
    TypeError
        For anything else.

    Examples
    --------
    >>> as_task(FixedPoints())
    FixedPoints()
    >>> as_task(len)
    FunctionTask(builtins.len)
    >>> as_task("fixed-points")
    Traceback (most recent call last):
    ...
    TypeError: task must be a Task (FixedPoints, TransitionGraph, Continuation, FunctionTask) or a function of one System, got str
    """
    if isinstance(task, Task):
        return task
    if callable(task) and not isinstance(task, type):
        return FunctionTask(task)
    raise TypeError("task must be a Task (FixedPoints, TransitionGraph, Continuation, FunctionTask) or a function "
                    f"of one System, got {type(task).__name__}")


# ---------------------------------------------------------------- summaries
def summarize(result: Any) -> dict[str, Any]:
    """The flat, JSON-able summary of a task's result, by its type (the module's table).

    Examples
    --------
    >>> summarize({"energy": 1.5, "path": [1, 2]}), summarize("done"), summarize(object())
    ({'value_energy': 1.5}, {'value': 'done'}, {})
    """
    if isinstance(result, FixedPointSet):
        return points_summary(result)
    if isinstance(result, GraphResult):
        return {**points_summary(result.points), **graph_summary(result.graph)}
    if isinstance(result, nx.Graph):
        return {"n_nodes": result.number_of_nodes(), "n_edges": result.number_of_edges()}
    if isinstance(result, BifurcationDiagram):
        return diagram_summary(result)
    if _is_scalar(result):
        return {"value": result}
    if isinstance(result, dict):
        return {f"value_{k}": v for k, v in result.items() if isinstance(k, str) and _is_scalar(v)}
    return {}


def points_summary(points: FixedPointSet) -> dict[str, Any]:
    """Counts of a point set: points, fixed, slow, by kind, fixed points by index; max |F| of the fixed points.

    Keys: ``n_points, n_fixed, n_slow, n_attractors, n_saddles, n_repellers,
    n_non_hyperbolic``, ``n_index_k`` for k = 0 .. the largest index of a
    fixed point (the fixed points of index k = dim E^u), and ``max_abs_F``
    (None without fixed points).

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> points_summary(find_fixed_points(models.duffing(), n_starts=32))  # doctest: +ELLIPSIS
    {'n_points': 3, 'n_fixed': 3, 'n_slow': 0, 'n_attractors': 2, 'n_saddles': 1, 'n_repellers': 0, 'n_non_hyperbolic': 0, 'n_index_0': 2, 'n_index_1': 1, 'max_abs_F': ...}
    """
    kinds = Counter(points.kinds.tolist())
    fixed = np.asarray(points.is_fixed, bool)
    index = np.bincount(np.asarray(points.index)[fixed]) if fixed.any() else np.zeros(0, int)
    return {
        "n_points": len(points),
        "n_fixed": int(fixed.sum()),
        "n_slow": int(np.sum(points.is_slow)),
        "n_attractors": kinds["attractor"],
        "n_saddles": kinds["saddle"],
        "n_repellers": kinds["repeller"],
        "n_non_hyperbolic": kinds["non-hyperbolic"],
        **{f"n_index_{k}": int(c) for k, c in enumerate(index)},
        "max_abs_F": float(points.speed[fixed].max()) if fixed.any() else None,
    }


def graph_summary(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """The attractor graph of a transition graph, as a simple graph: its nodes, edges and isomorphism-class hash.

    ``n_graph_nodes`` (attractors), ``n_graph_edges`` (pairs of attractors
    joined by at least one index-1 saddle), ``graph_hash``: the
    Weisfeiler-Lehman hash (:func:`networkx.weisfeiler_lehman_graph_hash`,
    no attributes) of :func:`dynsys.attractor_graph` as a simple graph.
    Isomorphic graphs have equal hashes; equal hashes are a candidate
    isomorphism, for :func:`networkx.is_isomorphic` to confirm.  The hash
    depends on networkx's version (it changed in 3.5): compare hashes made
    by one version.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> duffing = models.duffing()
    >>> summary = graph_summary(transition_graph(duffing, find_fixed_points(duffing, n_starts=32)))
    >>> summary["n_graph_nodes"], summary["n_graph_edges"], summary["graph_hash"] == graph_summary(
    ...     transition_graph(duffing, find_fixed_points(duffing, n_starts=64, seed=3)))["graph_hash"]
    (2, 1, True)
    """
    simple = nx.Graph(attractor_graph(graph))
    with warnings.catch_warnings():  # networkx >= 3.5 notes that its hashes of graphs without attributes changed
        warnings.filterwarnings("ignore", message="The hashes produced", category=UserWarning)
        graph_hash = nx.weisfeiler_lehman_graph_hash(simple)
    return {"n_graph_nodes": simple.number_of_nodes(), "n_graph_edges": simple.number_of_edges(),
            "graph_hash": graph_hash}


def diagram_summary(diagram: BifurcationDiagram) -> dict[str, Any]:
    """Counts of a bifurcation diagram: branches, cycle branches, special points, and ``n_<kind>`` for each kind.

    Examples
    --------
    >>> from dynsys import models
    >>> diagram_summary(bifurcation_diagram(models.logistic(), "r", (2.5, 3.4)))
    {'n_branches': 2, 'n_cycle_branches': 0, 'n_bifurcations': 1, 'n_flip': 1}
    """
    kinds = Counter(b.kind for b in diagram.bifurcations)
    return {
        "n_branches": len(diagram.branches),
        "n_cycle_branches": len(diagram.cycle_branches),
        "n_bifurcations": len(diagram.bifurcations),
        **{f"n_{kind}": kinds[kind] for kind in sorted(kinds)},
    }


# ---------------------------------------------------------------- files
def write_result(result: Any, directory: str | Path) -> list[str]:
    """Write ``result`` into ``directory`` by its type (the module's table), each file atomically; their names.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys import find_fixed_points, models
    >>> write_result(find_fixed_points(models.duffing(), n_starts=32), tempfile.mkdtemp())
    ['points.npz']
    """
    directory = Path(directory)
    if isinstance(result, FixedPointSet):
        result.save(directory / POINTS_FILE)
        return [POINTS_FILE]
    if isinstance(result, GraphResult):
        result.points.save(directory / POINTS_FILE)
        write_graph(result.graph, directory / GRAPH_FILE)
        return [POINTS_FILE, GRAPH_FILE]
    if isinstance(result, nx.Graph):
        write_graph(result, directory / GRAPH_FILE)
        return [GRAPH_FILE]
    if isinstance(result, BifurcationDiagram):
        result.save(directory / DIAGRAM_FILE)
        return [DIAGRAM_FILE]
    try:
        text = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError):
        atomic_write(directory / PICKLE_FILE, lambda f: pickle.dump(result, f))
        return [PICKLE_FILE]
    atomic_write_text(directory / JSON_FILE, text)
    return [JSON_FILE]


def read_result(directory: str | Path, system: Callable[[], System]) -> Any:
    """The result that :func:`write_result` wrote into ``directory``.

    Parameters
    ----------
    directory : path-like
    system : callable
        Returns the item's System; called only for a bifurcation diagram,
        which is attached to its system.

    Raises
    ------
    FileNotFoundError
        ``directory`` holds none of the result files.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys import find_fixed_points, models
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_result(find_fixed_points(models.duffing(), n_starts=32), folder)
    >>> read_result(folder, models.duffing)
    FixedPointSet('duffing', kind='flow', 3 fixed, 0 slow)
    """
    directory = Path(directory)
    if (directory / POINTS_FILE).is_file():
        points = FixedPointSet.load(directory / POINTS_FILE)
        if (directory / GRAPH_FILE).is_file():
            return GraphResult(points, read_graph(directory / GRAPH_FILE))
        return points
    if (directory / GRAPH_FILE).is_file():
        return read_graph(directory / GRAPH_FILE)
    if (directory / DIAGRAM_FILE).is_file():
        return BifurcationDiagram.load(directory / DIAGRAM_FILE, system())
    if (directory / JSON_FILE).is_file():
        return json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
    if (directory / PICKLE_FILE).is_file():
        with open(directory / PICKLE_FILE, "rb") as f:
            return pickle.load(f)
    raise FileNotFoundError(f"{str(directory)!r} holds no result file ({POINTS_FILE}, {GRAPH_FILE}, {DIAGRAM_FILE}, "
                            f"{JSON_FILE} or {PICKLE_FILE})")


# ---------------------------------------------------------------- helpers
def _is_scalar(value: Any) -> bool:
    """A JSON scalar: None, bool, int, float, str (numpy's float64 is a float)."""
    return value is None or isinstance(value, (bool, int, float, str))


def _check_options(fn: Callable[..., Any], options: dict[str, Any], owner: str, taken: tuple[str, ...]) -> None:
    """Refuse options that ``fn`` does not take as keywords (or that the task sets itself)."""
    accepted = set(inspect.signature(fn).parameters) - set(taken)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"{owner}: {fn.__name__} has no option {', '.join(map(repr, unknown))}; its options are "
                        f"{', '.join(sorted(accepted))}")


def _format_value(value: Any) -> str:
    """An option's value in full (numpy arrays as lists, so no part is elided)."""
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()!r})"
    if isinstance(value, dict):
        return _format_dict(value)
    return repr(value)


def _format_options(options: dict[str, Any]) -> str:
    """``name=value, ...`` in the order given."""
    return ", ".join(f"{k}={_format_value(v)}" for k, v in options.items())


def _format_dict(options: dict[str, Any]) -> str:
    """``{'name': value, ...}`` with values in full."""
    return "{" + ", ".join(f"{k!r}: {_format_value(v)}" for k, v in options.items()) + "}"


def _callable_name(fn: Any) -> str:
    """A function's module and qualified name; a partial's function and arguments; else its repr."""
    if isinstance(fn, functools.partial):
        arguments = [_format_value(a) for a in fn.args] + [f"{k}={_format_value(v)}" for k, v in fn.keywords.items()]
        return f"functools.partial({', '.join([_callable_name(fn.func), *arguments])})"
    name = getattr(fn, "__qualname__", None)
    if name is None:
        return repr(fn)
    return f"{getattr(fn, '__module__', None) or '?'}.{name}"
