"""Bifurcation diagrams: every branch of fixed points in a parameter interval, joined at their branch points.

:func:`bifurcation_diagram` finds the fixed points (:func:`dynsys.find_fixed_points`)
at both ends of the interval and at a few values inside it, continues each
one that no branch traced so far passes through (:func:`dynsys.continuation`),
and switches branches at every branch point it meets: from a branch point y*
whose other branch has the unit tangent τ (:attr:`Bifurcation.tangent`), the
predicted points y* ± h τ are corrected by Newton's method in the hyperplane
normal to τ (:func:`dynsys.continuation.switch_branch`) and continued away
from y*.  This is the procedure of AUTO-07p and
BifurcationKit.jl (E. J. Doedel et al., *AUTO-07p* manual, 2007, ch. 10;
Yu. A. Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed. 2004,
section 10.5).

A point lies on a traced branch when its distance in (x, p) to the
branch's polyline is at most 10⁻⁶ (1 + |y|) plus the polyline's own error
there (the sagitta of the nearest vertices: how far each lies from the chord
joining its neighbours, which bounds how far the curve bends away from a
segment).  A start whose fixed point is degenerate (at a branch point
itself, found only to |F|^(1/3) or so) may lie off the branches through it;
a branch continued from it is dropped when most of its points lie on the
branches already traced.

With ``cycles=True`` (flows), the branch of periodic orbits born at each
Hopf point is continued too, within the same interval
(:func:`dynsys.continuation` from the Hopf point; see
:mod:`dynsys.cycle_continuation`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_write_text, finite_json, loads_json, restore_nonfinite
from ._validate import check_count, check_real_array
from .arclength import format_rows
from .continuation import Bifurcation, Branch, continuation, switch_branch
from .cycle_continuation import CycleBranch
from .fixed_points import find_fixed_points
from .systems import System, check_system

FORMAT = "dynsys.BifurcationDiagram"
FORMAT_VERSION = 1
SWITCH_STEP = 1e-3  # branch switching: h, as a fraction of the span's width
ON_BRANCH = 1e-6  # relative distance below which a point lies on a branch


@dataclass(frozen=True, eq=False)
class BifurcationDiagram:
    """All the branches of fixed points found in a parameter interval, and their special points.

    Attributes
    ----------
    branches : tuple of Branch
        In the order they were traced: from the fixed points at the span's
        low end, each followed by the branches switched onto at its branch
        points, then from the fixed points at the other values that no
        earlier branch passes through.
    bifurcations : tuple of Bifurcation
        The special points of all branches, each once (a branch point lies
        on two branches), sorted by p; their ``s`` is the arclength on the
        first branch that has them.
    system : System
    param : str
    p_span : (float, float)
    cycle_branches : tuple of CycleBranch
        With ``cycles=True``: the branch of cycles born at each Hopf point
        in :attr:`bifurcations` (in their order; a Hopf point whose
        continuation fails, a degenerate one say, has none).  Their own
        special points (folds of cycles, period doublings, Neimark–Sacker
        points) are in each :attr:`CycleBranch.bifurcations`, not in
        :attr:`bifurcations`.

    Examples
    --------
    >>> from dynsys import System
    >>> pitchfork = System.from_strings({"x": "mu*x - x**3"}, {"mu": 0.0})
    >>> diagram = bifurcation_diagram(pitchfork, "mu", (-1.0, 1.0))
    >>> len(diagram.branches), [b.kind for b in diagram.bifurcations]
    (3, ['branch_point'])
    >>> print(diagram.table())  # doctest: +NORMALIZE_WHITESPACE
    system: 3 branches in mu, -1 <= mu <= 1, 1 special point
      kind          mu  x  branch
      branch_point  ...  0  0
    """

    branches: tuple[Branch, ...]
    bifurcations: tuple[Bifurcation, ...]
    system: System
    param: str
    p_span: tuple[float, float]
    cycle_branches: tuple[CycleBranch, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "branches", tuple(self.branches))
        object.__setattr__(self, "cycle_branches", tuple(self.cycle_branches))
        object.__setattr__(self, "bifurcations", tuple(self.bifurcations))
        object.__setattr__(self, "p_span", (float(self.p_span[0]), float(self.p_span[1])))

    def __repr__(self) -> str:
        cycles = f", {len(self.cycle_branches)} cycle branches" if self.cycle_branches else ""
        return (f"BifurcationDiagram({self.system.name!r} in {self.param}, {len(self.branches)} branches{cycles}, "
                f"bifurcations=[{', '.join(b.kind for b in self.bifurcations)}])")

    def branch_of(self, bifurcation: Bifurcation) -> int:
        """The number of the first branch through ``bifurcation`` (the nearest branch to its (x, p)).

        Examples
        --------
        >>> from dynsys import System
        >>> saddle_node = System.from_strings({"x": "mu - x**2"}, {"mu": 0.0})
        >>> diagram = bifurcation_diagram(saddle_node, "mu", (-1.0, 1.0))
        >>> diagram.branch_of(diagram.bifurcations[0])
        0
        """
        y = np.append(bifurcation.x, bifurcation.p)
        return int(np.argmin([_distance(y, _polyline(b))[0] for b in self.branches]))

    def table(self, max_coordinates: int = 4) -> str:
        """The special points as a text table: kind, parameter, state, frequency, branch.

        The special points of the cycle branches (if any) follow, their
        branch named ``cycles k`` (:attr:`cycle_branches` [k]) and their state
        the cycle's at phase 0.

        Examples
        --------
        >>> from dynsys import models
        >>> print(bifurcation_diagram(models.logistic(), "r", (2.5, 3.4)).table())  # doctest: +NORMALIZE_WHITESPACE
        logistic: 2 branches in r, 2.5 <= r <= 3.4, 1 special point
          kind  r  x         branch
          flip  3  0.666667  ...
        """
        lo, hi = self.p_span
        points = [(b, str(self.branch_of(b))) for b in self.bifurcations]
        points += [(b, f"cycles {k}") for k, branch in enumerate(self.cycle_branches) for b in branch.bifurcations]
        n, m = len(points), len(self.cycle_branches)
        head = (f"{self.system.name}: {len(self.branches)} branch{'es' if len(self.branches) != 1 else ''} in "
                f"{self.param}, {lo:.6g} <= {self.param} <= {hi:.6g}, {n} special point{'s' if n != 1 else ''}"
                + (f", {m} cycle branch{'es' if m != 1 else ''}" if m else ""))
        if not n:
            return head + "\n  (no special points)"
        names = ", ".join(self.system.state_names[:max_coordinates])
        rows = [["kind", self.param, names, "branch", "frequency"]]
        for b, where in points:
            rows.append([b.kind, f"{b.p:.10g}", ", ".join(f"{v:.6g}" for v in b.x[:max_coordinates]), where,
                         "" if b.frequency is None else f"{b.frequency:.8g}"])
        return "\n".join([head, *format_rows(rows)])

    # ---------------------------------------------------------- round trips
    def to_json(self) -> str:
        """The diagram as standard JSON (each branch as :meth:`Branch.to_json` writes it); exact round trip.

        Examples
        --------
        >>> from dynsys import models
        >>> diagram = bifurcation_diagram(models.logistic(), "r", (2.5, 3.4))
        >>> again = BifurcationDiagram.from_json(diagram.to_json(), models.logistic())
        >>> np.array_equal(again.branches[0].x, diagram.branches[0].x), again.bifurcations[0].p == 3.0
        (True, True)
        """
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "param": self.param,
            "p_span": list(self.p_span),
            "branches": [json.loads(b.to_json()) for b in self.branches],
            "bifurcations": [b._record() for b in self.bifurcations],
            "cycle_branches": [json.loads(b.to_json()) for b in self.cycle_branches],
        }
        return json.dumps(finite_json(meta), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, system: System) -> BifurcationDiagram:
        """The diagram written by :meth:`to_json`, attached to ``system``.

        Raises
        ------
        ValueError
            ``text`` is not the JSON of a diagram, or ``system`` does not fit it.

        Examples
        --------
        >>> BifurcationDiagram.from_json('{"format": "other"}', System.from_strings({"x": "-x"}))
        Traceback (most recent call last):
        ...
        ValueError: text is not a dynsys.BifurcationDiagram
        """
        return cls._from_meta(text, system, "text")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_json` to ``path`` atomically; returns the path.

        Examples
        --------
        >>> import tempfile, os
        >>> from dynsys import models
        >>> diagram = bifurcation_diagram(models.logistic(), "r", (2.5, 3.4))
        >>> path = diagram.save(os.path.join(tempfile.mkdtemp(), "diagram.json"))
        >>> BifurcationDiagram.load(path, models.logistic()).bifurcations[0].kind
        'flip'
        """
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str], system: System) -> BifurcationDiagram:
        """The diagram written by :meth:`save` to ``path``, attached to ``system``.

        Raises
        ------
        FileNotFoundError
            ``path`` is not a file.
        ValueError
            Naming the file: not a diagram, or ``system`` does not fit it.

        Examples
        --------
        >>> BifurcationDiagram.load("no/such/diagram.json", System.from_strings({"x": "-x"}))
        Traceback (most recent call last):
        ...
        FileNotFoundError: ...
        """
        return cls._from_meta(Path(path).read_bytes(), system, repr(os.fspath(path)))

    @classmethod
    def _from_meta(cls, text: str | bytes, system: System, source: str) -> BifurcationDiagram:
        check_system(system)
        try:
            meta = restore_nonfinite(loads_json(text))
        except (TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{source} is not JSON: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{source} is not a {FORMAT}")
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{source} has {FORMAT} version {meta.get('version')!r}; this dynsys reads "
                             f"{FORMAT_VERSION}")
        try:
            branches = tuple(Branch.from_json(json.dumps(finite_json(b)), system) for b in meta["branches"])
            cycles = tuple(CycleBranch.from_json(json.dumps(finite_json(b)), system)
                           for b in meta.get("cycle_branches", []))
            return cls(
                branches=branches,
                bifurcations=tuple(Bifurcation._from_record(d) for d in meta["bifurcations"]),
                system=branches[0].system if branches else system, param=meta["param"],
                p_span=tuple(meta["p_span"]), cycle_branches=cycles,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{source} is not a valid {FORMAT} for {system.name}: {exc}") from None


def bifurcation_diagram(
    system: System,
    param: str,
    p_span: tuple[float, float],
    *,
    starts: Any = None,
    n_starts: int = 64,
    n_interior: int = 3,
    seed: int = 0,
    bounds: Any = None,
    ds: float | None = None,
    max_steps: int = 1000,
    max_branches: int = 32,
    tol: float = 1e-10,
    cycles: bool = False,
) -> BifurcationDiagram:
    """Every branch of fixed points in ``p_span`` that the fixed points at a few values of ``param`` lead to.

    Parameters
    ----------
    system : System
        A flow or a map; its other parameters stay fixed.
    param : str
        The parameter to vary, one of ``system.params``.
    p_span : (float, float)
        The interval (low, high), low < high.
    starts : array_like of shape (B, n), optional
        Initial guesses for :func:`dynsys.find_fixed_points` at each value
        (by default its own: ``n_starts`` points in ``bounds`` or along
        trajectories).
    n_starts : int, default 64
    n_interior : int, default 3
        The fixed points are sought at the two ends and at this many equally
        spaced values inside the span.
    seed : int, default 0
        Of the starts.
    bounds : array_like of shape (n, 2), optional
        The search box (default ``system.bounds``).
    ds, max_steps, tol
        Passed to :func:`dynsys.continuation` for every branch.
    max_branches : int, default 32
        At most this many branches are traced.
    cycles : bool, default False
        Also continue, within ``p_span``, the branch of periodic orbits born
        at each Hopf point found (flows only): :attr:`BifurcationDiagram.cycle_branches`.

    Returns
    -------
    BifurcationDiagram

    Raises
    ------
    ValueError
        A bad argument, naming it.

    Notes
    -----
    Branches that no fixed point at the sampled values lies on, and that no
    branch point connects to those, are not found (an isola strictly
    between two sampled values, say): pass more ``n_interior`` values, or
    ``starts`` near them.

    Examples
    --------
    The transcritical bifurcation x' = μx − x²: the branches x = 0 and x = μ
    exchange stability at μ = 0 (the second is traced in two halves, each
    switched onto from the branch point):

    >>> from dynsys import System
    >>> transcritical = System.from_strings({"x": "mu*x - x**2"}, {"mu": 0.0})
    >>> diagram = bifurcation_diagram(transcritical, "mu", (-1.0, 1.0))
    >>> bp, = diagram.bifurcations
    >>> bp.kind, abs(bp.p) < 1e-10
    ('branch_point', True)
    >>> all(np.allclose(b.x[:, 0], 0) or np.allclose(b.x[:, 0], b.p) for b in diagram.branches)
    True

    The Brusselator's stable cycles grow out of its Hopf point B = 1 + A²:

    >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 2.0})
    >>> diagram = bifurcation_diagram(brusselator, "B", (1.5, 2.5), n_starts=8, cycles=True)
    >>> (hopf,), (cycles,) = diagram.bifurcations, diagram.cycle_branches
    >>> hopf.kind, round(hopf.p, 10), cycles.stop_reason, bool(cycles.stable.all())
    ('hopf', 2.0, ('hopf', 'p_span'), True)
    """
    check_system(system)
    if param not in system.params:
        raise ValueError(f"param {param!r} is not a parameter of {system.name}; its parameters are "
                         f"{list(system.params)}")
    try:
        lo, hi = check_real_array(p_span, "p_span")
    except (TypeError, ValueError):
        raise ValueError(f"p_span must be a pair of finite numbers (low, high), got {p_span!r}") from None
    if not lo < hi:
        raise ValueError(f"p_span must be (low, high) with low < high, got {p_span!r}")
    if cycles and system.kind != "flow":
        raise ValueError(f"cycles=True continues the periodic orbits of a flow's Hopf points; {system.name} is a map")
    n_interior = check_count(n_interior, "n_interior", minimum=0)
    max_branches = check_count(max_branches, "max_branches")
    options = dict(ds=ds, max_steps=max_steps, tol=tol)
    values = [lo, hi, *np.linspace(lo, hi, n_interior + 2)[1:-1]]
    branches: list[Branch] = []

    def add(branch: Branch) -> None:
        """Add ``branch`` and, depth first, the branches switched onto at its branch points."""
        branches.append(branch)
        for b in branch.bifurcations:
            if b.kind == "branch_point" and b.tangent is not None:
                for sign in (1.0, -1.0):
                    if len(branches) < max_branches:
                        switched = _switch(system, param, b, sign, (lo, hi), branches, options)
                        if switched is not None:
                            add(switched)

    for p in values:
        at_p = system.with_params(**{param: float(p)})
        found = find_fixed_points(at_p, starts, n_starts=n_starts, bounds=bounds, seed=seed, tol=tol).fixed()
        for x in found.x:
            if len(branches) < max_branches and not _on_branches(np.append(x, p), branches):
                try:
                    branch = continuation(at_p, param, x, p_span=(lo, hi), **options)
                except ValueError:  # Newton found no point there (a degenerate point, |F| ~ tol)
                    continue
                if not _retraces(branch, branches):
                    add(branch)
    special = _distinct(branches)
    cycle_branches = []
    if cycles:
        for b in special:
            if b.kind == "hopf":
                try:
                    cycle_branches.append(continuation(system, param, b, p_span=(lo, hi), max_steps=max_steps, tol=tol))
                except ValueError:  # a degenerate Hopf point (l1 = 0), or no cycle found near it
                    continue
    return BifurcationDiagram(branches=tuple(branches), bifurcations=special, system=system, param=param,
                              p_span=(lo, hi), cycle_branches=tuple(cycle_branches))


def _switch(system: System, param: str, bp: Bifurcation, sign: float, span: tuple[float, float],
            branches: list[Branch], options: dict[str, Any]) -> Branch | None:
    """The branch through ``bp`` along ``sign`` × its other tangent, traced away from ``bp``; None if known or lost."""
    lo, hi = span
    start = switch_branch(system, bp, param, sign * SWITCH_STEP * (hi - lo), tol=options["tol"])
    if start is None:
        return None
    x, p, direction = start
    if not lo <= p <= hi or _on_branches(np.append(x, p), branches):
        return None
    return continuation(system.with_params(**{param: p}), param, x, p_span=span, direction=direction, **options)


def _polyline(branch: Branch) -> np.ndarray:
    return np.column_stack([branch.x, branch.p])


def _distance(y: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
    """The distance from y to the polyline through the rows of Y, and the number of its nearest segment."""
    if len(Y) == 1:
        return float(np.linalg.norm(y - Y[0])), 0
    a, d = Y[:-1], np.diff(Y, axis=0)
    u = np.clip(np.einsum("ij,ij->i", y - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300), 0.0, 1.0)
    dist = np.linalg.norm(a + u[:, None] * d - y, axis=1)
    k = int(np.argmin(dist))
    return float(dist[k]), k


def _on_branches(y: np.ndarray, branches: list[Branch]) -> bool:
    """Whether y = (x, p) lies on one of ``branches`` (see the module's docstring for the tolerance)."""
    for branch in branches:
        Y = _polyline(branch)
        dist, k = _distance(y, Y)
        if dist <= ON_BRANCH * (1 + np.linalg.norm(y)) + _sagitta(Y)[k:k + 2].max():
            return True
    return False


def _retraces(branch: Branch, branches: list[Branch]) -> bool:
    """Whether most points of ``branch`` lie on ``branches`` (its start was a degenerate point off them)."""
    on = [_on_branches(y, branches) for y in _polyline(branch)]
    return bool(np.mean(on) > 0.5)


def _sagitta(Y: np.ndarray) -> np.ndarray:
    """At each inner vertex Y[j], its distance to the chord from Y[j-1] to Y[j+1] (0 at the ends), shape (m,).

    It is about κ (L₁ + L₂)² / 8 for a curve of curvature κ and segments of
    lengths L₁, L₂, so it bounds how far the curve strays from each of the two segments.
    """
    out = np.zeros(len(Y))
    if len(Y) > 2:
        a, d = Y[:-2], Y[2:] - Y[:-2]
        u = np.einsum("ij,ij->i", Y[1:-1] - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300)
        out[1:-1] = np.linalg.norm(a + u[:, None] * d - Y[1:-1], axis=1)
    return out


def _distinct(branches: list[Branch]) -> tuple[Bifurcation, ...]:
    """The special points of all branches, each once, sorted by p.

    A fold at a branch point (the turning point in p of a pitchfork's
    symmetric branch, say) is the branch point: only the branch point is kept.
    """
    def same(a: Bifurcation, b: Bifurcation) -> bool:
        ya, yb = np.append(a.x, a.p), np.append(b.x, b.p)
        return bool(np.linalg.norm(ya - yb) <= ON_BRANCH * (1 + np.linalg.norm(ya)))

    found = [b for branch in branches for b in branch.bifurcations]
    points = [b for b in found if b.kind == "branch_point"]
    kept: list[Bifurcation] = []
    for b in found:
        if any(b.kind == k.kind and same(b, k) for k in kept):
            continue
        if b.kind == "fold" and any(same(b, bp) for bp in points):
            continue
        kept.append(b)
    return tuple(sorted(kept, key=lambda b: (b.p, b.kind, tuple(b.x))))
