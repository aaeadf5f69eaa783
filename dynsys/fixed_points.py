"""Fixed points and slow points: the zeros and small local minima of q(x) = ½|F(x)|².

The residual F(x) is f(x) for a flow dx/dt = f(x) and g(x) - x for a map
x -> g(x), so fixed points are the zeros of F in both cases.  Following
Sussillo & Barak (2013), the search minimises the "kinetic energy"

    q(x) = ½ |F(x)|²,      grad q(x) = DF(x)^T F(x),

from many starts at once.  Its minima with q = 0 are the fixed points; the
local minima with q > 0 are *slow points*, where the system moves slowly
(speed |F|) and which shape the dynamics of, e.g., trained recurrent
networks like fixed points do.

The numeric search (:func:`find_fixed_points`, ``method="numeric"``) runs

1. a batched Levenberg-Marquardt minimisation of q for all starts together
   (a damped Gauss-Newton method that behaves like gradient descent far from
   a minimum and like Newton's method close to a zero);
2. plain Newton steps on F = 0 to polish the points that look like zeros to
   machine precision;
3. the classification of every start as fixed, slow, unconverged or
   diverged, the merging of duplicates, and the linearisation of the
   distinct points (:func:`dynsys.linearize.linearize_batch`).

``method="exact"`` solves rational systems exactly instead
(:func:`dynsys.symbolic.solve_exact`).  Either way the answer is a
:class:`FixedPointSet`.

References
----------
D. Sussillo and O. Barak, "Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks", Neural Computation 25(3),
pp. 626-649, 2013.

K. Madsen, H. B. Nielsen and O. Tingleff, "Methods for non-linear least
squares problems", 2nd ed., IMM, DTU, 2004 (the Levenberg-Marquardt damping
update used here).
"""
from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from scipy.stats import qmc

from ._io import atomic_write, decode_array, encode_array, finite_json, loads_json, read_npz, restore_nonfinite
from ._validate import check_count, check_real, check_real_array, check_system
from .linearize import Linearization, linearize_batch
from .newton import (
    DenseJacobian,
    JacobianModel,
    LMResult,
    MatrixFreeJacobian,
    cluster,
    inside,
    is_zero,
    levenberg_marquardt,
    polish,
    stationary,
)
from .simulate import Trajectories, sample_states, simulate
from .symbolic import solve_exact
from .systems import KINDS, System, _check_bounds

METHODS = ("numeric", "exact")
FORMAT = "dynsys.FixedPointSet"
FORMAT_VERSION = 1

DEFAULT_T_SPAN = (0.0, 10.0)  # flows: trajectories that give the starts
DEFAULT_MAP_STEPS = 100  # maps: iterations that give the starts
MAX_TRAJECTORIES = 100  # trajectories simulated for trajectory starts
SPAN_SHRINK = 100.0  # a span simulate cannot cover in max_steps is retried this many times shorter ...
SPAN_RETRIES = 3  # ... this many times at most; then the initial states are the starts

SOLVERS = ("auto", "dense", "matrix-free")
DENSE_MAX_DIM = 128  # "auto" goes matrix-free above this dimension (when it can)
DEFAULT_MAX_MEMORY = 2**30  # bytes of working memory of the search
DIVERGENCE_FACTOR = 1e8  # |x|_inf > DIVERGENCE_FACTOR * L means diverged
MAX_ROUNDS = 8  # generated starts: at most MAX_ROUNDS rounds of n_starts each
SLOW_Q_FRACTION = 1e-3  # default max_slow_q: this fraction of the median q over a reference sample ...
SLOW_Q_SAMPLES = 512  # ... of this many states (see _default_max_slow_q) ...
SLOW_Q_SEED = 0  # ... drawn with this seed, whatever the seed of the starts
MAX_BOUND = 1e150  # |bounds| above this are refused: q = ½|F|² overflows near |x| ~ 1e154

# Outcome of a start.
FIXED, SLOW, UNCONVERGED, DIVERGED, ESCAPED = 0, 1, 2, 3, 4


# ------------------------------------------------------------------ results
@dataclass(frozen=True, eq=False)
class FixedPoint:
    """One fixed or slow point of a :class:`FixedPointSet`.

    Attributes
    ----------
    x : ndarray of shape (n,)
    q : float
        ½|F(x)|².
    speed : float
        |F(x)|.
    is_fixed, is_slow : bool
    linearization : Linearization
    """

    x: np.ndarray
    q: float
    speed: float
    is_fixed: bool
    is_slow: bool
    linearization: Linearization
    id: str = ""

    @property
    def kind(self) -> str:
        """"attractor", "saddle", "repeller", "non-hyperbolic" or "slow" (see :func:`point_kind`)."""
        return point_kind(self.is_fixed, self.linearization)

    @property
    def index(self) -> int:
        """dim E^u."""
        return self.linearization.index

    @property
    def label(self) -> str:
        """Stability class, e.g. "saddle" (see :mod:`dynsys.linearize`)."""
        return self.linearization.label

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of Df (flow) or Dg (map), sorted as in :class:`Linearization`."""
        return self.linearization.eigenvalues

    def __repr__(self) -> str:
        what = "fixed" if self.is_fixed else "slow"
        x = np.array2string(self.x, precision=6, threshold=8)
        return f"FixedPoint({self.id + ', ' if self.id else ''}{what}, x={x}, q={self.q:.3g}, label={self.label!r}, index={self.index})"


@dataclass(frozen=True, eq=False)
class FixedPointSet:
    """The distinct fixed and slow points of a system, with their linearisations.

    Points are ordered: fixed points first, then slow points; within each
    group by index, then lexicographically by coordinates.  Each point has
    an id, ``"P{i}"`` by default, which subsets (:meth:`fixed`,
    :meth:`stable`, ...), files and the transition graph keep, so the same
    point has the same id in every output of a run.

    Attributes
    ----------
    x : ndarray of shape (m, n)
    q : ndarray of shape (m,)
        q(x) = ½|F(x)|².
    speed : ndarray of shape (m,)
        |F(x)|, the speed of the flow (or the step length g(x) - x of a map).
    is_fixed, is_slow : ndarray of bool, shape (m,)
        Exactly one of them is true for each point.
    linearizations : tuple of Linearization, length m
    kind : {"flow", "map"}
    state_names : tuple of str
    system_name : str
    params : dict of str to float
    ids : tuple of str, length m
        The points' ids (default ``("P0", "P1", ...)``), distinct.
    stats : dict
        About the search: ``n_starts``, ``n_diverged``, ``n_escaped``, ``n_unconverged``,
        ``n_above_max_slow_q``, ``n_not_minima``, ``n_undefined``, ``n_outside``, ``n_fixed`` and ``n_slow``
        (distinct points found), ``method``, ``tol``, ``iterations``,
        ``time_s`` (with ``time_search_s`` and ``time_linearize_s``, its two
        parts), ``solver``, ``n_chunks``, ``n_merged_early``; see
        :func:`find_fixed_points`.
    eigenvalues : ndarray of shape (m, n), complex
        Each point's eigenvalues (derived from ``linearizations``).
    index : ndarray of int, shape (m,)
        dim E^u of each point.
    label : ndarray of str, shape (m,)
        Each point's stability class.
    kinds : ndarray of str, shape (m,)
        Each point's kind (:func:`point_kind`): "attractor", "saddle",
        "repeller", "non-hyperbolic" or "slow".
    """

    x: np.ndarray
    q: np.ndarray
    speed: np.ndarray
    is_fixed: np.ndarray
    is_slow: np.ndarray
    linearizations: tuple[Linearization, ...]
    kind: str
    state_names: tuple[str, ...]
    system_name: str = "system"
    params: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    ids: tuple[str, ...] = ()
    eigenvalues: np.ndarray = field(init=False, repr=False)
    index: np.ndarray = field(init=False, repr=False)
    label: np.ndarray = field(init=False, repr=False)
    kinds: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check every field (a contradictory set is refused, naming the field) and derive the others.

        Raises
        ------
        ValueError
            ``kind`` not "flow" or "map"; no states; ``x`` not real, finite
            and of m rows of n; ``q`` or ``speed`` not finite and >= 0;
            ``is_fixed``/``is_slow`` not booleans, or not exactly one of
            them true for a point; a linearisation of another kind or size,
            or whose ``index`` is not dim E^u in 0..n; ids not distinct.
        """
        if self.kind not in KINDS:
            raise ValueError(f"kind must be 'flow' or 'map', got {self.kind!r}")
        names = tuple(self.state_names)
        n = len(names)
        if n == 0 or not all(isinstance(s, str) for s in names):
            raise ValueError(f"state_names must be one or more strings, got {names!r}")
        x = check_real_array(self.x, "x")
        if x.size % n:
            raise ValueError(f"x must have shape (m, {n}) for the {n} states, got {x.shape}")
        x = x.reshape(-1, n)
        m = len(x)
        lins = tuple(self.linearizations)
        if len(lins) != m:
            raise ValueError(f"{m} points but {len(lins)} linearizations")
        for i, lin in enumerate(lins):
            _check_linearization(lin, i, self.kind, n)
        derived = {
            "x": x,
            "q": _check_nonnegative(self.q, "q"),
            "speed": _check_nonnegative(self.speed, "speed"),
            "is_fixed": _check_flags(self.is_fixed, "is_fixed"),
            "is_slow": _check_flags(self.is_slow, "is_slow"),
            "linearizations": lins,
            "state_names": tuple(self.state_names),
            "eigenvalues": np.array([lin.eigenvalues for lin in lins], dtype=complex).reshape(m, n),
            "index": np.array([lin.index for lin in lins], dtype=int),
            "label": np.array([lin.label for lin in lins], dtype=str),
            "ids": tuple(str(i) for i in self.ids) if len(self.ids) else tuple(f"P{i}" for i in range(m)),
        }
        for name in ("q", "speed", "is_fixed", "is_slow"):
            if derived[name].shape != (m,):
                raise ValueError(f"{name} must have shape ({m},), got {derived[name].shape}")
        if len(derived["ids"]) != m or len(set(derived["ids"])) != m:
            raise ValueError(f"ids must be {m} distinct strings, got {self.ids!r}")
        both = derived["is_fixed"] == derived["is_slow"]
        if both.any():
            i = int(np.flatnonzero(both)[0])
            what = "both fixed and slow" if derived["is_fixed"][i] else "neither fixed nor slow"
            raise ValueError(
                f"is_fixed, is_slow: exactly one must be true for each point; {int(both.sum())} point(s) are not, "
                f"the first {derived['ids'][i]} is {what}"
            )
        derived["kinds"] = np.array(
            [point_kind(f, lin) for f, lin in zip(derived["is_fixed"], lins)], dtype=str
        ).reshape(m)
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    # -------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self.x)

    def __iter__(self) -> Iterator[FixedPoint]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, key: Any) -> FixedPoint | FixedPointSet:
        """An int gives a :class:`FixedPoint`; a slice, boolean mask or integer
        array gives the :class:`FixedPointSet` of those points."""
        if isinstance(key, (bool, np.bool_)):
            raise TypeError("index a FixedPointSet with an int, a slice, a boolean mask or an integer array")
        if isinstance(key, (int, np.integer)):
            i = range(len(self))[key]  # raises IndexError when out of range
            return FixedPoint(
                x=self.x[i],
                q=float(self.q[i]),
                speed=float(self.speed[i]),
                is_fixed=bool(self.is_fixed[i]),
                is_slow=bool(self.is_slow[i]),
                linearization=self.linearizations[i],
                id=self.ids[i],
            )
        idx = np.arange(len(self))[key]
        return FixedPointSet(
            x=self.x[idx],
            q=self.q[idx],
            speed=self.speed[idx],
            is_fixed=self.is_fixed[idx],
            is_slow=self.is_slow[idx],
            linearizations=tuple(self.linearizations[i] for i in idx),
            kind=self.kind,
            state_names=self.state_names,
            system_name=self.system_name,
            params=dict(self.params),
            stats=dict(self.stats),
            ids=tuple(self.ids[i] for i in idx),
        )

    def concat(self, other: FixedPointSet) -> FixedPointSet:
        """This set followed by the points of ``other`` (same system), ids kept.

        Parameters
        ----------
        other : FixedPointSet
            Points of the same system whose ids differ from this set's.

        Returns
        -------
        FixedPointSet
            The union in this order, with this set's metadata and stats.

        Examples
        --------
        >>> from dynsys import find_fixed_points, models
        >>> pts = find_fixed_points(models.duffing(), seed=0)
        >>> pts[:1].concat(pts[2:]).ids
        ('P0', 'P2')
        """
        if not isinstance(other, FixedPointSet):
            raise TypeError(f"other must be a FixedPointSet, got {type(other).__name__}")
        if other.x.shape[1:] != self.x.shape[1:] or other.kind != self.kind:
            raise ValueError(
                f"cannot join points of a {other.kind} in R^{other.x.shape[1]} to those of a {self.kind} "
                f"in R^{self.x.shape[1]}"
            )
        return FixedPointSet(
            x=np.concatenate([self.x, other.x]),
            q=np.concatenate([self.q, other.q]),
            speed=np.concatenate([self.speed, other.speed]),
            is_fixed=np.concatenate([self.is_fixed, other.is_fixed]),
            is_slow=np.concatenate([self.is_slow, other.is_slow]),
            linearizations=self.linearizations + other.linearizations,
            kind=self.kind,
            state_names=self.state_names,
            system_name=self.system_name,
            params=dict(self.params),
            stats=dict(self.stats),
            ids=self.ids + other.ids,
        )

    def fixed(self) -> FixedPointSet:
        """The fixed points (|F| <= tol)."""
        return self[self.is_fixed]

    def slow(self) -> FixedPointSet:
        """The slow points (local minima of q with q > 0)."""
        return self[self.is_slow]

    def stable(self) -> FixedPointSet:
        """The fixed points that are attractors (hyperbolic, index 0)."""
        return self[self.is_fixed & np.array([lin.is_attractor for lin in self.linearizations], dtype=bool)]

    def saddles(self) -> FixedPointSet:
        """The fixed points that are hyperbolic saddles (stable and unstable directions)."""
        return self[self.is_fixed & np.array([lin.is_saddle for lin in self.linearizations], dtype=bool)]

    # ------------------------------------------------------------- display
    def table(self, max_coordinates: int = 6) -> str:
        """An aligned text table: one row per point with its id, coordinates
        (or, beyond ``max_coordinates`` states, its norm |x|), q, kind
        (:func:`point_kind`), index, label and leading eigenvalue (largest
        real part for a flow, largest modulus for a map)."""
        wide = len(self.state_names) > max_coordinates
        coordinates = ["|x|"] if wide else list(self.state_names)
        header = ["id", *coordinates, "q", "kind", "index", "label", "leading eigenvalue"]
        rows = [
            [
                self.ids[i],
                *(f"{v:.6g}" for v in ([np.linalg.norm(self.x[i])] if wide else self.x[i])),
                f"{self.q[i]:.3g}",
                str(self.kinds[i]),
                str(self.index[i]),
                str(self.label[i]),
                _format_complex(self.eigenvalues[i, 0]),
            ]
            for i in range(len(self))
        ]
        widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows])

    def records(self) -> list[dict[str, Any]]:
        """One plain dict per point (id, x, q, speed, type, kind, index, label,
        eigenvalues as [re, im] pairs, margin): a compact JSON-ready summary,
        without the subspaces that :meth:`to_json` stores."""
        return [
            {
                "id": p.id,
                "x": p.x.tolist(),
                "q": p.q,
                "speed": p.speed,
                "type": "fixed" if p.is_fixed else "slow",
                "kind": p.kind,
                "index": p.index,
                "label": p.label,
                "eigenvalues": np.stack([p.eigenvalues.real, p.eigenvalues.imag], axis=1).tolist(),
                "margin": p.linearization.margin,
            }
            for p in self
        ]

    def __repr__(self) -> str:
        return (
            f"FixedPointSet({self.system_name!r}, kind={self.kind!r}, "
            f"{int(self.is_fixed.sum())} fixed, {int(self.is_slow.sum())} slow)"
        )

    def __str__(self) -> str:
        return f"{self!r}\n{self.table()}" if len(self) else repr(self)

    # ---------------------------------------------------------- round trips
    def to_json(self) -> str:
        """The set as standard JSON text; :meth:`from_json` restores it exactly.

        Arrays are stored as ``{"dtype", "shape", "data"}`` with the data
        flattened; floats are written by ``repr`` (shortest round-trip
        form), complex numbers as ``[re, im]``, and a NaN or infinite float
        (in arrays, stats, parameters) as ``{"$float": "nan"}``, ``"inf"``
        or ``"-inf"``, so that the text has no ``NaN``/``Infinity`` tokens
        (``json.dumps(..., allow_nan=False)`` holds) and any JSON reader
        takes it.
        """
        arrays, meta = self._parts()
        meta["arrays"] = {name: encode_array(a) for name, a in arrays.items()}
        return json.dumps(finite_json(meta), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> FixedPointSet:
        """The set written by :meth:`to_json`.

        Raises
        ------
        ValueError
            ``text`` is not such JSON (not JSON, nested more than
            :data:`dynsys._io.MAX_JSON_DEPTH` levels, missing or malformed
            fields, a contradictory set: see the class's checks).
        """
        try:
            if not isinstance(text, (str, bytes)):
                raise TypeError(f"expected str or bytes, got {type(text).__name__}")
            meta = restore_nonfinite(loads_json(text))
            if not isinstance(meta, dict) or not isinstance(meta.get("arrays"), dict):
                raise TypeError("expected a JSON object with an 'arrays' object")
            arrays = {name: decode_array(d) for name, d in meta.pop("arrays").items()}
        except (TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"text is not the JSON of a {FORMAT}: {exc}") from None
        return cls._from_parts(arrays, meta, "text")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the set to ``path`` as an ``.npz`` archive (no pickle), atomically.

        The archive holds the arrays and, under ``"meta"``, the other fields
        as a JSON string; the file is written exactly at ``path`` (no suffix
        is added); returns the path.  :meth:`load` restores the set exactly.
        """
        arrays, meta = self._parts()
        return atomic_write(path, lambda f: np.savez(f, meta=np.array(json.dumps(meta)), **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FixedPointSet:
        """The set written by :meth:`save` to ``path``.

        Read by :func:`dynsys._io.read_npz` (no pickles, sizes checked
        before anything is allocated).

        Raises
        ------
        FileNotFoundError
            ``path`` is not a file.
        ValueError
            Naming the file: not an ``.npz`` (empty, truncated, corrupt), too
            large, no JSON ``meta``, or not a valid set (see the class's checks).
        """
        source = repr(os.fspath(path))
        try:
            arrays = read_npz(path)
        except ValueError as exc:
            raise ValueError(f"{source} is not a {FORMAT} .npz file: {exc}") from None
        try:
            text = arrays.pop("meta")
            if text.dtype.kind != "U" or text.shape != ():
                raise ValueError(f"'meta' is an array of dtype {text.dtype} and shape {text.shape}, not JSON text")
            meta = loads_json(str(text[()]))
        except (KeyError, ValueError) as exc:
            why = "no 'meta' entry" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{source} is not a {FORMAT} .npz file: {why}") from None
        return cls._from_parts(arrays, meta, source)

    def _parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The arrays, and everything else as JSON-ready metadata.

        Each linearisation's array fields go to arrays named
        ``"lin{i}.{field}"``, its other fields to ``meta["linearizations"][i]``.
        """
        arrays = {
            "x": self.x,
            "q": self.q,
            "speed": self.speed,
            "is_fixed": self.is_fixed,
            "is_slow": self.is_slow,
        }
        scalars = []
        for i, lin in enumerate(self.linearizations):
            rest = {}
            for f in fields(lin):
                value = getattr(lin, f.name)
                if isinstance(value, np.ndarray):
                    arrays[f"lin{i}.{f.name}"] = value
                else:
                    rest[f.name] = value.item() if isinstance(value, np.generic) else value
            scalars.append(rest)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "state_names": list(self.state_names),
            "system_name": self.system_name,
            "params": self.params,
            "stats": self.stats,
            "ids": list(self.ids),
            "linearizations": scalars,
        }
        return arrays, meta

    @classmethod
    def _from_parts(cls, arrays: dict[str, np.ndarray], meta: Any, source: str) -> FixedPointSet:
        """The set from :meth:`_parts`'s arrays and metadata, read from ``source``; ValueError naming it."""
        if not isinstance(meta, dict):
            raise ValueError(f"{source} is not a {FORMAT}: its metadata is a {type(meta).__name__}, not an object")
        if meta.get("format") != FORMAT:
            raise ValueError(f"{source} is not a {FORMAT} (format {meta.get('format')!r})")
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{source} has {FORMAT} version {meta.get('version')!r}; this dynsys reads {FORMAT_VERSION}"
            )
        try:
            if not isinstance(meta["linearizations"], list) or not all(
                isinstance(rest, dict) for rest in meta["linearizations"]
            ):
                raise TypeError("'linearizations' must be a list of objects")
            lins = tuple(
                Linearization(**rest, **{k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"lin{i}.")})
                for i, rest in enumerate(meta["linearizations"])
            )
            return cls(
                x=arrays["x"],
                q=arrays["q"],
                speed=arrays["speed"],
                is_fixed=arrays["is_fixed"],
                is_slow=arrays["is_slow"],
                linearizations=lins,
                kind=meta["kind"],
                state_names=tuple(meta["state_names"]),
                system_name=meta["system_name"],
                params=meta["params"],
                stats=meta["stats"],
                ids=tuple(meta.get("ids", ())),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{source} is not a valid {FORMAT}: {exc!r}") from None


def _check_nonnegative(value: Any, name: str) -> np.ndarray:
    """A real, finite array >= 0 (q, speed), else ValueError naming the field."""
    arr = check_real_array(value, name)
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got {float(arr[arr < 0][0])!r} at index {int(np.flatnonzero(arr < 0)[0])}")
    return arr


def _check_flags(value: Any, name: str) -> np.ndarray:
    """A boolean array (booleans, or integers 0 and 1), else ValueError naming the field."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biu" or not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must be booleans, got {_short_repr(arr)}")
    return arr.astype(bool)


def _check_linearization(lin: Any, i: int, kind: str, n: int) -> None:
    """Raise ValueError unless ``lin`` is the linearisation of a point of a ``kind`` in R^n."""
    where = f"linearizations[{i}]"
    if not isinstance(lin, Linearization):
        raise ValueError(f"{where} must be a Linearization, got {type(lin).__name__}")
    if lin.kind != kind:
        raise ValueError(f"{where} is of a {lin.kind!r}, the set of a {kind!r}")
    eigenvalues = np.asarray(lin.eigenvalues)
    dims = tuple(np.shape(b)[1] if np.ndim(b) == 2 and np.shape(b)[0] == n else -1 for b in (lin.Es, lin.Eu, lin.Ec))
    if eigenvalues.shape != (n,) or min(dims) < 0 or sum(dims) != n:
        raise ValueError(
            f"{where} does not fit {n} states: {eigenvalues.shape} eigenvalues, subspaces "
            f"{[np.shape(b) for b in (lin.Es, lin.Eu, lin.Ec)]}"
        )
    index = lin.index
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index != dims[1]:
        raise ValueError(f"{where}.index must be dim E^u = {dims[1]} (0 to {n}), got {index!r}")


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def point_kind(is_fixed: bool, lin: Linearization) -> str:
    """The kind of a point, the word tables, legends and graph files use.

    "slow" for a slow point; for a fixed point "attractor" (hyperbolic,
    index 0), "repeller" (hyperbolic, every direction unstable), "saddle"
    (hyperbolic, both stable and unstable directions) or "non-hyperbolic"
    (some centre direction).

    Examples
    --------
    >>> from dynsys import linearize, models
    >>> point_kind(True, linearize(models.duffing(), [0.0, 0.0]))
    'saddle'
    """
    if not is_fixed:
        return "slow"
    if not lin.is_hyperbolic:
        return "non-hyperbolic"
    if lin.index == 0:
        return "attractor"
    return "repeller" if lin.index == len(lin.eigenvalues) else "saddle"


def _format_complex(z: complex) -> str:
    return f"{z.real:.6g}" if z.imag == 0 else f"{z.real:.6g}{z.imag:+.6g}j"


# --------------------------------------------------------------- the search
def find_fixed_points(
    system: System,
    starts: Any = None,
    *,
    n_starts: int = 512,
    bounds: Any = None,
    noise: float = 0.0,
    method: str = "numeric",
    tol: float = 1e-10,
    max_iter: int = 200,
    merge_tol: float = 1e-6,
    slow_gtol: float = 1e-8,
    max_slow_q: float | None = None,
    linearize_tol: float = 1e-8,
    seed: int | np.random.Generator | None = 0,
    t_span: tuple[float, float] | None = None,
    max_drift: float | None = 1.0,
    solver: str = "auto",
    max_memory: float = DEFAULT_MAX_MEMORY,
    max_seconds: float | None = None,
) -> FixedPointSet:
    """Find the fixed points and slow points of a flow or map.

    Parameters
    ----------
    system : System
    starts : array_like of shape (B, n) or (n,), optional
        Initial guesses.  By default ``n_starts`` points of a Latin hypercube
        in ``bounds`` (or ``system.bounds``); when there is no box either,
        states visited by trajectories of the system from standard normal
        initial states (over ``t_span`` for a flow, 100 iterations for a
        map), as Sussillo & Barak do.
    n_starts : int, default 512
        Number of starts to generate per round (unused when ``starts`` is
        given).  Generated starts come in rounds: after a round that found
        new fixed points, another round of ``n_starts`` is drawn while some
        fixed point has been reached by a single start only (by the
        Good-Turing estimate, then, a new start still has a fair chance of
        finding an unseen point), up to MAX_ROUNDS = 8 rounds
        (``stats["n_rounds"]``; a continuum of equilibria, where every start
        ends on a point of its own, takes all of them).
    bounds : array_like of shape (n, 2) or (2,), optional
        The region to search (low, high per state): starts are drawn in it
        and only the points inside it (to within the merge radius) are
        reported, with the others counted as ``n_outside``; also applies to
        ``method="exact"``.  Without it, starts are drawn in
        ``system.bounds`` (a box of interest) and every point found is
        reported, wherever it lies.  Boxes beyond ±MAX_BOUND = 1e150 are
        refused (ValueError naming them): there q = ½|F|² of a system with
        |F| ~ |x| overflows float64.
    noise : float, default 0
        Standard deviation of Gaussian noise added to every start coordinate
        (absolute units).
    method : {"numeric", "exact"}
        "numeric" minimises q from the starts (see Notes); "exact" solves a
        system of rational formulas exactly with
        :func:`dynsys.symbolic.solve_exact` and returns all its real fixed
        points (starts, bounds and the other search options are not used).
    tol : float, default 1e-10
        A point is fixed when |F(x)| <= tol (absolute, in the units of F;
        equivalently q <= tol² / 2), or when F vanishes to within its own
        rounding error there (see Notes).
    max_iter : int, default 200
        Levenberg-Marquardt iterations at most.
    merge_tol : float, default 1e-6
        Fixed points closer than ``merge_tol * max(L, |x|_inf)`` are one
        point, slow points at ``sqrt(merge_tol)`` times that (L is defined
        in the Notes).
    slow_gtol : float, default 1e-8
        A non-fixed point is a slow point when the gradient of q is this
        small relative to its natural scale (see Notes).
    max_slow_q : float or None, default None
        Slow points with q above this are not reported.  None:
        SLOW_Q_FRACTION = 1e-3 times the median q over a fixed reference
        sample of the region searched, so that a slow point moves at most
        ~3 % of the typical speed there (``stats["max_slow_q"]`` gives the
        value used); ``np.inf`` reports every local minimum of q.  The
        sample is SLOW_Q_SAMPLES = 512 states, never the starts (which
        may cluster near the slow points and make q look small
        everywhere): a Latin hypercube of ``bounds`` (or
        ``system.bounds``); without a box, standard normal states (where
        trajectory starts begin), centred on the middle of the given
        ``starts``' bounding box and scaled by its half-widths (1 at
        least) when starts are given.
    linearize_tol : float, default 1e-8
        ``tol`` of :func:`dynsys.linearize.linearize_batch`.
    seed : int, numpy.random.Generator or None, default 0
        Seeds the generated starts (Latin hypercube or trajectories) and the
        noise.
    t_span : (t0, t1), optional, flows only
        Time span of the trajectories that give the starts; default (0, 10).
        A span that :func:`dynsys.simulate.simulate` cannot cover within
        its ``max_steps`` (a fast rotation, a stiff system) is shortened
        SPAN_SHRINK = 100 times, up to SPAN_RETRIES = 3 times; then the
        standard normal initial states themselves are the starts.
    max_drift : float or None, default 1
        The trust region: a start stops as *escaped* (dropped and counted)
        when it leaves the box of all starts widened on every side by
        ``max_drift * w``, w = max(widest side of that box, L).  It keeps
        the search where the dynamics live: q of a saturating system (a GRU
        whose gates are pinned, dx/dt = 1/(1 + x²)) decreases towards
        infinity, where |F| falls below any tolerance without a fixed point.
        None allows any finite excursion below 1e8 L.
    solver : {"auto", "dense", "matrix-free"}, default "auto"
        How the linear algebra of each step is done (see Notes): "dense"
        forms the (B, n, n) Jacobians; "matrix-free" only applies them
        through ``system.residual_jvp`` and ``residual_vjp``.  "auto" is
        matrix-free when the system has analytic products
        (``system.matrix_free``, e.g. every :mod:`dynsys.rnn` cell) and
        n > 128 or one start's dense Jacobians would not fit in
        ``max_memory``; dense otherwise.
    max_memory : float, default 2**30
        Budget in bytes for the working memory of the search: the starts are
        processed in as many equal chunks as it takes to stay below it
        (``stats["n_chunks"]``).
    max_seconds : float > 0 or None, default None
        Wall-clock budget of the numeric search in seconds (None:
        unbounded).  It is checked before each chunk and at every
        Levenberg-Marquardt iteration; when it runs out, the starts still
        iterating stop where they are and are classified as usual (the
        fixed and slow points reached so far are reported, the others
        count as unconverged, and starts of chunks not begun stay
        unconverged), and ``stats["stopped"]`` is ``"time budget"`` (None
        otherwise).  Generating the starts and linearising are not
        interrupted.

    Returns
    -------
    FixedPointSet
        The distinct fixed points, then the distinct slow points; within each
        group ordered by index, then lexicographically by coordinates
        (rounded to the merge radius), so that the result does not depend on
        the order of the starts.  ``stats`` counts the starts that diverged
        (``n_diverged``), left the trust region (``n_escaped``) or did not
        converge (``n_unconverged``) and the
        slow-point starts above ``max_slow_q`` (``n_above_max_slow_q``);
        ``n_outside`` the distinct points outside ``bounds``;
        ``n_not_minima`` counts the distinct stationary points of q that are
        not minima.

    Raises
    ------
    ValueError
        Bad arguments (named in the message); for ``method="exact"``, see
        :func:`dynsys.symbolic.solve_exact`.
    TypeError
        If ``system`` is not a :class:`System`.

    Notes
    -----
    *Levenberg-Marquardt.*  For every start at once, with J = DF(x) and
    g = J^T F = grad q, the trial step solves

        (J^T J + mu I) delta = -g

    (one batched ``numpy.linalg.solve`` over the active starts).  Where mu
    is above its starting level, the undamped Newton step J delta = -F is
    tried as well and taken when it gives the lower q: the damping mu I
    shortens the steps along the directions of small singular values of J,
    so that plain LM crawls along curved valleys of q, where Newton's
    affine-invariant step goes straight to the zero.  A step is
    accepted when q(x + delta) < q(x); the damping mu of each start then
    shrinks by max(1/3, 1 - (2 rho - 1)^3), where rho is the ratio of the
    actual to the predicted decrease ½ delta^T (mu delta - g), and otherwise
    grows by nu (nu doubling on every rejection in a row; a Newton step
    counts as rho = 1), starting from
    mu = 1e-3 max diag(J^T J) (Madsen, Nielsen & Tingleff 2004).  Near a
    slow point q cannot decrease below its rounding error, so a step that
    leaves q unchanged to within 4 eps q is accepted when it decreases
    |grad q| instead (without changing mu).  A start stops at a zero
    (|F| <= tol, or, after a rejected step, zero to rounding: below), when
    it is stationary (below), when its step is below rounding (|delta| <= eps (|x| + eps L)) and rejected, or after
    ``max_iter`` iterations; the Jacobian is evaluated only at accepted
    points.

    *Matrix-free steps.*  Without the Jacobians, the step minimises
    |J delta + F|² + mu |delta|² by CGLS (conjugate gradients on the least
    squares problem, one ``residual_jvp`` and one ``residual_vjp`` per
    iteration, at most min(2n, 100) iterations), stopped at the relative
    residual eta = min(0.1, sqrt(|F| / |F_0|)) of the normal equations
    (F_0 at the start): an inexact Levenberg-Marquardt method that becomes
    an inexact Newton-Krylov method as mu falls, with superlinear
    convergence near a regular zero.  The gain ratio uses the decrease
    -g.delta - ½|J delta|² of the quadratic model; ||J||_F is estimated
    with Hutchinson's estimator (two random sign vectors); there is no
    separate Newton probe.  Memory per start is O(n) instead of O(n²).

    *Early merging.*  A start that is converging to a zero (|F| <= sqrt(tol))
    stops as soon as it lies within min(1e-3 L, r + 4 |delta|) (delta its
    last step, r = merge_tol L) of a zero already found (in this
    chunk or an earlier one), or of another converging start, whose result
    it then takes; so the last, most expensive iterations and the Newton
    polish run once per distinct point (``stats["n_merged_early"]`` counts
    such starts).

    *Newton polishing.*  Points with |F| <= sqrt(tol) then take Newton
    steps x <- x - J^{-1} F (``numpy.linalg.solve``, or the pseudo-inverse
    when some J is singular; matrix-free: CGLS to relative residual 1e-6)
    while |F| decreases, keeping the best iterate; a polished point that
    does not reach a zero (as in the classification) is restored.  These points are first
    clustered at the merge radius and each cluster is polished once.

    *Classification.*  With L the length scale of the search, max(1,
    max |bound|) of ``bounds`` (or ``system.bounds``) and otherwise
    max(1, the lower median of |start|_inf), so that outlying starts do not
    set it, a start ends

    - fixed when |F(x)| <= tol, or when |F(x)| <= 8 times the rounding noise
      of F measured at x (F(x + h) - F(x) - J h for two probes h of 16 ulps
      of every coordinate): a stiff system or large cancelling terms can
      make |F| <= tol unreachable in float64;
    - slow when not fixed but stationary direction by direction,
      sum_k (u_k . F)² s_k² / (s_k² + c²) <= slow_gtol² |F|², c = |F| / L,
      with J = sum_k s_k u_k v_k^T (the SVD; matrix-free: the quadratic form
      g^T (J^T J + c² I)^{-1} g by CGLS): the part of F that J could remove
      is negligible, counting each direction where J acts (s_k >> c) fully
      and those where it vanishes (s_k << c, as at the slow point x = 0 of
      dx/dt = 1 + x²) not at all, so that a large rate in one direction
      (a stiff system) does not make the others look stationary; and
      q <= max_slow_q.  After
      merging, each distinct slow point must also be a local minimum of q:
      the Hessian of q, by central differences of J^T F, may have no
      eigenvalue below -1e-6 times its largest in modulus (a start placed
      exactly on a maximum or saddle of q, e.g. x = 0 for dx/dt = x² - 1,
      stays there; such points are dropped and counted as
      ``n_not_minima``);
    - diverged when F, q = ½|F|² or J becomes non-finite (e.g. log of a
      negative number, or a start so far out that q overflows);
    - escaped when it leaves the trust region (``max_drift``);
    - unconverged otherwise.

    A distinct point where F is not defined (:meth:`System.singular` with
    the point's merge radius r, below: a zero of a denominator as written
    within r of it, such as x = 1 of (x² - 2x + 1)/(x - 1), which the
    search approaches because F -> 0 there) is not reported; it is counted
    as ``n_undefined``.

    Since ``tol`` is absolute, a residual that merely tends to zero far
    away (dx/dt = e^x as x -> -inf) yields points with |F| <= tol there;
    scale F or lower ``tol`` for such systems.

    *Merging.*  Each point has its own radius, from the box and the points
    found, never from the starts: r = merge_tol max(L, |x|_inf) for a fixed
    point, widened to 4 |J^{-1} F| (how well a zero to rounding is located,
    e.g. along the slow direction of a stiff system), and sqrt(merge_tol)
    max(L, |x|_inf) for a slow point (q is flat there: starts stop up to
    ~sqrt(slow_gtol) L apart).  Points closer than the larger of their radii
    are joined (single linkage, :func:`dynsys.newton.cluster`, never a B x B
    distance matrix; points up to 6 times that apart may be joined too);
    each cluster is represented by a fixed point if it has one, then by its
    lowest q.

    *Order.*  The starts of each round are sorted (lexicographically) before
    the search, so the result does not depend on their order, to the last
    bit (except with ``noise``, which is drawn in the order given).

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> duffing = System.from_sympy([y, x - x**3 - y / 5], [x, y], bounds=[[-2, 2], [-2, 2]])
    >>> fps = find_fixed_points(duffing, n_starts=64)
    >>> fps.x.round(12) + 0.0
    array([[-1.,  0.],
           [ 1.,  0.],
           [ 0.,  0.]])
    >>> fps.label.tolist()
    ['stable focus', 'stable focus', 'saddle']
    """
    check_system(system)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    tol = check_real(tol, "tol", positive=True)
    merge_tol = check_real(merge_tol, "merge_tol", positive=True)
    slow_gtol = check_real(slow_gtol, "slow_gtol")
    if max_slow_q is not None:
        max_slow_q = check_real(max_slow_q, "max_slow_q", finite=False)
    max_iter = check_count(max_iter, "max_iter")
    clock = time.perf_counter()
    deadline = None if max_seconds is None else clock + check_real(max_seconds, "max_seconds", positive=True)
    region = None if bounds is None else _check_bounds(bounds, system.dim)
    if method == "exact":
        X, n_undefined = solve_exact(system, return_undefined=True)
        radius = merge_tol * max(1.0, float(np.max(np.abs(X), initial=0.0)))
        within = inside(X, region, radius)
        X = X[within]
        with np.errstate(all="ignore"):
            F = system.residual(X)
        stats = {"n_starts": 0, "n_diverged": 0, "n_escaped": 0, "n_unconverged": 0}
        stats.update(n_above_max_slow_q=0, n_not_minima=0, n_undefined=n_undefined)
        stats.update(n_outside=int(np.sum(~within)), iterations=0, stopped=None)
        points = _assemble(system, X, F, np.ones(len(X), bool), radius, linearize_tol)
        return _with_stats(points, stats, method, tol, clock)

    rng = np.random.default_rng(seed)
    box = region if region is not None else system.bounds
    draw = _start_sampler(system, starts, n_starts, region, noise, rng, t_span)
    X0 = draw()
    L = _length_scale(X0, box)
    radius = merge_tol * L
    trust = _trust_region(X0, L, max_drift)
    model, n_chunks = _jacobian_model(system, len(X0), solver, max_memory)
    search = _Search(model, tol=tol, gtol=slow_gtol, max_iter=max_iter, length=L, trust=trust, radius=radius,
                     deadline=deadline)
    search.run(X0, n_chunks)
    while starts is None and search.rounds < MAX_ROUNDS and not search.stopped and search.unseen():  # rounds
        search.run(draw(), n_chunks)
    X, F, outcome = search.X, search.F, search.outcome
    with np.errstate(over="ignore"):
        q = 0.5 * np.einsum("bi,bi->b", F, F)
    if max_slow_q is None:
        max_slow_q = _default_max_slow_q(system, box, None if starts is None else X0)
    too_slow = (outcome == SLOW) & (q > max_slow_q)
    found = np.flatnonzero(((outcome == FIXED) | (outcome == SLOW)) & ~too_slow)
    radii = _merge_radii(X[found], outcome[found] == FIXED, merge_tol, L)
    rep = np.unique(cluster(X[found], q[found], outcome[found] == FIXED, radii))
    distinct, radii = found[rep], radii[rep]
    zero = outcome[distinct] == FIXED
    radii[zero] = _uncertainty_radii(model, X[distinct[zero]], F[distinct[zero]], radii[zero])
    rep = np.unique(cluster(X[distinct], q[distinct], outcome[distinct] == FIXED, radii))
    distinct, radii = distinct[rep], radii[rep]
    slow = outcome[distinct] == SLOW
    minimum = np.ones(len(distinct), dtype=bool)
    minimum[slow] = model.is_local_minimum(X[distinct[slow]])
    undefined = system.singular(X[distinct], radii)  # F is not defined there (a zero of a denominator within r)
    within = inside(X[distinct], region, radii[:, None]) & minimum & ~undefined
    search_s = time.perf_counter() - clock
    points = _assemble(
        system, X[distinct[within]], F[distinct[within]], outcome[distinct[within]] == FIXED, radius, linearize_tol
    )
    stats = {
        "time_search_s": search_s,
        "time_linearize_s": time.perf_counter() - clock - search_s,
        "n_starts": len(X),
        "n_rounds": search.rounds,
        "n_diverged": int(np.sum(outcome == DIVERGED)),
        "n_escaped": int(np.sum(outcome == ESCAPED)),
        "n_unconverged": int(np.sum(outcome == UNCONVERGED)),
        "n_above_max_slow_q": int(np.sum(too_slow)),
        "max_slow_q": float(max_slow_q),
        "n_not_minima": int(np.sum(~minimum)),
        "n_undefined": int(np.sum(minimum & undefined)),
        "n_outside": int(np.sum(minimum & ~undefined & ~within)),
        "iterations": search.iterations,
        "solver": model.name,
        "n_chunks": n_chunks,
        "n_merged_early": search.n_merged,
        "stopped": search.stopped,
    }
    return _with_stats(points, stats, method, tol, clock)


class _Search:
    """The numeric search over one or more rounds of starts (Notes of
    :func:`find_fixed_points`): each round's starts, sorted, in
    memory-sized chunks; the zeros found so far serve early merging."""

    def __init__(
        self, model: JacobianModel, *, tol: float, gtol: float, max_iter: int, length: float, trust: np.ndarray,
        radius: float, deadline: float | None = None,
    ) -> None:
        self.model, self.tol, self.gtol, self.max_iter = model, tol, gtol, max_iter
        self.length, self.trust, self.radius, self.deadline = length, trust, radius, deadline
        self.stopped: str | None = None  # "time budget" when the deadline cut the search short
        n = model.system.dim
        self.X, self.F = np.zeros((0, n)), np.zeros((0, n))
        self.outcome = np.zeros(0, dtype=int)
        self.zeros = (np.zeros((0, n)), np.zeros((0, n)))  # the distinct zeros found so far
        self.rounds = self.iterations = self.n_merged = 0
        self.n_new = 0  # distinct zeros that the last round added

    def run(self, X0: np.ndarray, n_chunks: int) -> None:
        """Search from the starts X0 (sorted first: results do not depend on their order)."""
        X0 = X0[np.lexsort(X0.T[::-1])]
        X, F = X0.copy(), np.full_like(X0, np.inf)  # starts of chunks never begun (time budget) keep these
        outcome = np.full(len(X0), UNCONVERGED)
        known = len(self.zeros[0])
        for chunk in np.array_split(np.arange(len(X0)), n_chunks):  # a loop over memory-sized chunks
            if self.deadline is not None and time.perf_counter() >= self.deadline:
                self.stopped = "time budget"
                break
            lm = levenberg_marquardt(
                self.model, X0[chunk], tol=self.tol, gtol=self.gtol, max_iter=self.max_iter, length=self.length,
                trust=self.trust, merge_radius=self.radius, zeros=self.zeros, deadline=self.deadline,
            )
            if lm.timed_out:
                self.stopped = "time budget"
            Xc, Fc, aux = _finish(self.model, lm, self.tol, self.radius)
            outcome[chunk] = _classify(
                self.model, Xc, Fc, aux, tol=self.tol, gtol=self.gtol, length=self.length, trust=self.trust
            )
            X[chunk], F[chunk] = Xc, Fc
            self.iterations = max(self.iterations, lm.iterations)
            self.n_merged += int(lm.merged.sum())
            zx = np.concatenate([self.zeros[0], Xc[outcome[chunk] == FIXED]])
            zf = np.concatenate([self.zeros[1], Fc[outcome[chunk] == FIXED]])
            distinct = np.unique(cluster(zx, 0.5 * np.einsum("bi,bi->b", zf, zf), np.ones(len(zx), bool), self.radius))
            self.zeros = (zx[distinct], zf[distinct])
        self.n_new = len(self.zeros[0]) - known
        self.X, self.F = np.concatenate([self.X, X]), np.concatenate([self.F, F])
        self.outcome = np.concatenate([self.outcome, outcome])
        self.rounds += 1

    def unseen(self) -> bool:
        """Whether another round of starts may find new fixed points: the
        last round found new ones and some fixed point has been reached by a
        single start so far (Good-Turing: the chance that a new start finds
        an unseen point is about the fraction of starts whose point no other
        start found)."""
        fixed = np.flatnonzero(self.outcome == FIXED)
        if not self.n_new or not fixed.size:
            return False
        zf = self.F[fixed]
        rep = cluster(self.X[fixed], 0.5 * np.einsum("bi,bi->b", zf, zf), np.ones(len(fixed), bool), self.radius)
        return bool(np.any(np.unique(rep, return_counts=True)[1] == 1))


def _length_scale(X0: np.ndarray, box: np.ndarray | None) -> float:
    """L, the length scale of the search: max(1, max |bound|) of the box,
    or without one max(1, the lower median of |start|_inf), so that a few
    outlying starts do not set it."""
    if box is not None:
        return max(1.0, float(np.max(np.abs(box))))
    return max(1.0, float(np.percentile(np.max(np.abs(X0), axis=1), 50, method="lower")))


def _merge_radii(X: np.ndarray, is_fixed: np.ndarray, merge_tol: float, length: float) -> np.ndarray:
    """Each point's merge radius: merge_tol max(L, |x|_inf) for a fixed
    point, sqrt(merge_tol) times that for a slow point (q is flat there, so
    starts stop up to about sqrt(slow_gtol) L apart)."""
    scale = np.maximum(length, np.max(np.abs(X), axis=1, initial=0.0))
    return np.where(is_fixed, merge_tol, np.sqrt(merge_tol)) * scale


def _uncertainty_radii(model: JacobianModel, X: np.ndarray, F: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """The merge radii widened to 4 |DF(x)^-1 F(x)| (the Newton correction,
    least squares where DF is singular): a zero to rounding (a stiff system)
    is located only that well, along its slow directions."""
    with np.errstate(all="ignore"):
        step = np.linalg.norm(model.newton_step(X, F, model.evaluate(X)), axis=1)
    return np.maximum(radii, np.where(np.isfinite(step), 4.0 * step, 0.0))


def _default_max_slow_q(system: System, box: np.ndarray | None, starts: np.ndarray | None) -> float:
    """SLOW_Q_FRACTION times the median q (finite values) over the reference
    sample of ``max_slow_q`` (see find_fixed_points): a Latin hypercube of
    ``box``, else standard normal states z, or c + s z for given ``starts``
    (c the middle of their bounding box, s its half-widths raised to 1)."""
    sampler = np.random.default_rng(SLOW_Q_SEED)
    n = system.dim
    if box is not None:
        X = qmc.scale(qmc.LatinHypercube(d=n, rng=sampler).random(SLOW_Q_SAMPLES), box[:, 0], box[:, 1])
    else:
        X = sampler.standard_normal((SLOW_Q_SAMPLES, n))
        if starts is not None:
            low, high = starts.min(axis=0), starts.max(axis=0)
            X = 0.5 * (low + high) + np.maximum(1.0, 0.5 * (high - low)) * X
    with np.errstate(all="ignore"):
        F = system.residual(X)
        q = 0.5 * np.einsum("bi,bi->b", F, F)
    q = q[np.isfinite(q)]
    return SLOW_Q_FRACTION * float(np.median(q)) if q.size else 0.0


def _with_stats(points: FixedPointSet, stats: dict[str, Any], method: str, tol: float, clock: float) -> FixedPointSet:
    points.stats.update(
        stats,
        n_fixed=int(points.is_fixed.sum()),
        n_slow=int(points.is_slow.sum()),
        method=method,
        tol=tol,
        time_s=time.perf_counter() - clock,
    )
    return points


def _assemble(
    system: System, X: np.ndarray, F: np.ndarray, is_fixed: np.ndarray, radius: float, linearize_tol: float,
) -> FixedPointSet:
    """The FixedPointSet of distinct points, in the canonical order: fixed
    first, then by index, then lexicographically by coordinates rounded to
    the grid of spacing ``radius`` (one for all points: per-point spacings
    would not preserve the order of the coordinates)."""
    lins = linearize_batch(system, X, tol=linearize_tol)
    index = np.array([lin.index for lin in lins], dtype=int)
    grid = np.round(X / radius)
    order = np.lexsort((*grid.T[::-1], index, ~is_fixed))
    lins = [lins[i] for i in order]
    X, F, is_fixed = X[order], F[order], is_fixed[order]
    speed = np.linalg.norm(F, axis=1)
    return FixedPointSet(
        x=X,
        q=0.5 * speed**2,
        speed=speed,
        is_fixed=is_fixed,
        is_slow=~is_fixed,
        linearizations=tuple(lins),
        kind=system.kind,
        state_names=system.state_names,
        system_name=system.name,
        params=dict(system.params),
        stats={},
    )


# ------------------------------------------------------------------- starts
def _start_sampler(
    system: System,
    starts: Any,
    n_starts: int,
    bounds: Any,
    noise: float,
    rng: np.random.Generator,
    t_span: tuple[float, float] | None,
) -> Callable[[], np.ndarray]:
    """A function that draws one round of (B, n) starts: the given ones, a
    Latin hypercube in a box, or states of trajectories (simulated once, at
    the first draw, and sampled afresh for each round), plus noise."""
    n = system.dim
    noise = check_real(noise, "noise")
    if t_span is not None and system.kind == "map":
        raise ValueError(f"t_span applies to flows only; {system.name} is a map")
    if starts is not None:
        X0 = np.array(check_real_array(starts, "starts", finite=False), dtype=float)  # a copy, real
        if X0.ndim == 1:
            X0 = X0[None, :]
        if X0.ndim != 2 or X0.shape[1] != n or X0.shape[0] == 0:
            raise ValueError(
                f"starts must have shape (B, {n}) or ({n},) with B >= 1 for {system.name}, got shape {np.shape(starts)}"
            )
        if not np.isfinite(X0).all():
            rows = np.flatnonzero(~np.isfinite(X0).all(axis=1))
            raise ValueError(f"starts must be finite; rows {rows[:10].tolist()} are not")

        def draw() -> np.ndarray:
            return X0.copy()
    else:
        n_starts = check_count(n_starts, "n_starts")
        box = bounds if bounds is not None else system.bounds
        if box is not None and np.max(np.abs(box)) > MAX_BOUND:
            raise ValueError(
                f"bounds {box.tolist()} are too large to search: q = ½|F|² overflows float64 for |F| above "
                f"~1e154; keep them within ±{MAX_BOUND:g} (rescale the system's coordinates)"
            )
        trajectories = functools.cache(lambda: _trajectories(system, n_starts, rng, t_span))

        def draw() -> np.ndarray:
            if box is not None:
                return qmc.scale(qmc.LatinHypercube(d=n, rng=rng).random(n_starts), box[:, 0], box[:, 1])
            return sample_states(trajectories(), n_starts, seed=rng)

    def noisy() -> np.ndarray:
        X = draw()
        return X + noise * rng.standard_normal(X.shape) if noise else X

    return noisy


def _trajectories(
    system: System, n_starts: int, rng: np.random.Generator, t_span: tuple[float, float] | None
) -> Trajectories | np.ndarray:
    """Trajectories from standard normal initial states, whose states serve as starts.

    A flow's span that needs more than simulate's ``max_steps``
    (RuntimeError) is retried SPAN_SHRINK times shorter, SPAN_RETRIES times
    at most; then the initial states themselves, shape (B, n), are returned.
    """
    x0 = rng.standard_normal((min(n_starts, MAX_TRAJECTORIES), system.dim))
    if system.kind == "map":
        return simulate(system, x0, steps=DEFAULT_MAP_STEPS)
    t0, t1 = DEFAULT_T_SPAN if t_span is None else t_span
    for k in range(SPAN_RETRIES + 1):
        end = t0 + (t1 - t0) / SPAN_SHRINK**k
        if not end > t0:  # shorter than t0 can resolve
            break
        try:
            return simulate(system, x0, (t0, end))
        except RuntimeError:
            continue
    return x0


def _jacobian_model(system: System, n_starts: int, solver: str, max_memory: float) -> tuple[JacobianModel, int]:
    """The Jacobian model for ``solver`` and the number of chunks the starts
    are split into so that each fits in ``max_memory`` bytes.

    "auto" takes the matrix-free model when the system supplies analytic
    Jacobian-vector products (``system.matrix_free``) and either n > DENSE_MAX_DIM
    or one start's dense working memory exceeds the budget; the dense model otherwise.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    max_memory = check_real(max_memory, "max_memory", positive=True)
    n = system.dim
    if solver == "auto":
        large = n > DENSE_MAX_DIM or DenseJacobian.bytes_per_start(n) > max_memory
        solver = "matrix-free" if system.matrix_free and large else "dense"
    model = DenseJacobian(system) if solver == "dense" else MatrixFreeJacobian(system)
    per_start = model.bytes_per_start(n)
    if per_start > max_memory:
        raise ValueError(
            f"max_memory = {max_memory:.4g} bytes is below the {per_start} bytes one start needs with the "
            f"{solver} solver in {n} dimensions"
        )
    return model, max(1, -(-n_starts * per_start // int(max_memory)))


def _finish(model: JacobianModel, lm: LMResult, tol: float, radius: float) -> tuple[np.ndarray, ...]:
    """The final (X, F, aux) of a batch after :func:`levenberg_marquardt`.

    Rows that merged early take their leader's result; the rows near a zero
    (|F| <= sqrt(tol)) are clustered (radius ``radius``), Newton polishing
    runs once per cluster, on its representative, and every row of the
    cluster takes the polished result.
    """
    X, F, aux = lm.X, lm.F, lm.aux
    follows = np.flatnonzero(lm.leader >= 0)
    X[follows], F[follows], aux[follows] = X[lm.leader[follows]], F[lm.leader[follows]], aux[lm.leader[follows]]
    with np.errstate(over="ignore"):
        fnorm = np.linalg.norm(F, axis=1)
    near = np.flatnonzero(fnorm <= np.sqrt(tol))
    rep_of = near[cluster(X[near], 0.5 * fnorm[near] ** 2, fnorm[near] <= tol, radius)]
    polish(model, X, F, aux, tol, np.unique(rep_of))
    X[near], F[near], aux[near] = X[rep_of], F[rep_of], aux[rep_of]
    return X, F, aux


def _trust_region(X0: np.ndarray, length: float, max_drift: float | None) -> np.ndarray:
    """The (n, 2) box a start may not leave (see ``max_drift``)."""
    if max_drift is None:
        return np.tile([-DIVERGENCE_FACTOR * length, DIVERGENCE_FACTOR * length], (X0.shape[1], 1))
    with np.errstate(over="ignore"):  # far-out starts may widen it to inf: no limit then
        drift = check_real(max_drift, "max_drift") * max(float(np.ptp(X0, axis=0).max()), length)
        return np.stack([X0.min(axis=0) - drift, X0.max(axis=0) + drift], axis=1)


def _classify(
    model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, *, tol: float, gtol: float, length: float,
    trust: np.ndarray,
) -> np.ndarray:
    """FIXED, SLOW, UNCONVERGED, DIVERGED or ESCAPED for every row.

    A row whose q = ½|F|² is not finite (F overflows it) is diverged."""
    with np.errstate(over="ignore"):
        finite = np.isfinite(np.einsum("bi,bi->b", F, F)) & model.finite(aux)
    outcome = np.full(len(X), UNCONVERGED)
    outcome[finite] = np.where(is_zero(model, X[finite], F[finite], aux[finite], tol), FIXED, UNCONVERGED)
    rest = np.flatnonzero(finite & (outcome != FIXED))
    if rest.size:
        g = model.gradient(X[rest], F[rest], aux[rest])
        finite[rest] = np.isfinite(g).all(axis=1)
        outcome[rest[stationary(model, X[rest], F[rest], aux[rest], g, gtol, length)]] = SLOW
    return np.where(finite, np.where(inside(X, trust), outcome, ESCAPED), DIVERGED)
