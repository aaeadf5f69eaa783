"""The result of a search: :class:`FixedPointSet`, its points (:class:`FixedPoint`) and their kinds.

A :class:`FixedPointSet` holds the distinct fixed and slow points of a
system with their linearisations and the statistics of the search that
found them; it round-trips exactly through JSON (:meth:`FixedPointSet.to_json`)
and ``.npz`` files (:meth:`FixedPointSet.save`), tagged :data:`FORMAT`,
version :data:`FORMAT_VERSION`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._io import (
    atomic_write,
    encode_array,
    finite_json,
    loads_arrays_json,
    loads_json,
    read_npz,
)
from .._validate import check_real_array
from ..linearize import Linearization
from ..systems import KINDS

FORMAT = "dynsys.FixedPointSet"
FORMAT_VERSION = 1


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
    id : str
        Its id in the set it comes from.

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> point = find_fixed_points(models.duffing(), n_starts=32)[2]
    >>> point
    FixedPoint(P2, fixed, x=[0. 0.], q=0, label='saddle', index=1)
    >>> point.kind
    'saddle'
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
    certified : ndarray of bool, shape (m,), or None
        Whether the existence and uniqueness of a zero of F within
        ``certified_radius`` (in the max-norm) of each point is proven
        (:func:`dynsys.certify`, ``find_fixed_points(..., certify=True)``);
        None when the set was not certified.
    certified_radius : ndarray of shape (m,), or None
        The radius proven (NaN where not certified); None with ``certified``.
    stats : dict
        About the search: ``n_starts``, ``n_diverged``, ``n_escaped``, ``n_unconverged``,
        ``n_saturated``, ``n_restarted``, ``n_restart_zeros`` (numeric method),
        ``n_above_max_slow_q``, ``n_not_minima``, ``n_undefined``, ``n_outside``,
        ``n_fixed`` and ``n_slow`` (distinct points found), ``method``, ``tol``, ``iterations``,
        ``time_s`` (with ``time_search_s`` and ``time_linearize_s``, its two
        parts), ``solver``, ``n_chunks``, ``n_merged_early``; see
        :func:`dynsys.find_fixed_points`.
    eigenvalues : ndarray of shape (m, n), complex
        Each point's eigenvalues (derived from ``linearizations``).
    index : ndarray of int, shape (m,)
        dim E^u of each point.
    label : ndarray of str, shape (m,)
        Each point's stability class.
    kinds : ndarray of str, shape (m,)
        Each point's kind (:func:`point_kind`): "attractor", "saddle",
        "repeller", "non-hyperbolic" or "slow".

    Examples
    --------
    >>> from dynsys import find_fixed_points, models
    >>> points = find_fixed_points(models.duffing(), n_starts=32)
    >>> points
    FixedPointSet('duffing', kind='flow', 3 fixed, 0 slow)
    >>> points.kinds.tolist(), points.stable().ids
    (['attractor', 'attractor', 'saddle'], ('P0', 'P1'))
    >>> FixedPointSet.from_json(points.to_json()).x.tolist() == points.x.tolist()
    True
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
    certified: np.ndarray | None = None
    certified_radius: np.ndarray | None = None
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
            or whose ``index`` is not dim E^u in 0..n; ids not distinct;
            ``certified`` without ``certified_radius`` (or the reverse), or
            a certified point without a finite radius > 0.
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
            "index": np.array([lin.index for lin in lins], dtype=int),
            "label": np.array([lin.label for lin in lins], dtype=str),
            "ids": tuple(str(i) for i in self.ids) if len(self.ids) else tuple(f"P{i}" for i in range(m)),
        }
        if (self.certified is None) != (self.certified_radius is None):
            raise ValueError("certified and certified_radius must be given together (or neither)")
        if self.certified is not None:
            derived["certified"] = _check_flags(self.certified, "certified")
            derived["certified_radius"] = radius = np.asarray(self.certified_radius, dtype=float)
            if radius.shape == derived["certified"].shape and not (
                np.isfinite(radius) & (radius > 0))[derived["certified"]].all():
                raise ValueError("certified_radius must be finite and > 0 at every certified point")
        for name in ("q", "speed", "is_fixed", "is_slow", "certified", "certified_radius"):
            if name in derived and derived[name].shape != (m,):
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

    def __getattr__(self, name: str) -> Any:
        """``eigenvalues`` (m, n), stacked from the linearisations at the first access (a lazy
        linearisation computes its whole spectrum only then); only missing attributes come here."""
        if name != "eigenvalues":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        lins, n = self.__dict__["linearizations"], len(self.__dict__["state_names"])
        value = np.array([lin.eigenvalues for lin in lins], dtype=complex).reshape(len(lins), n)
        object.__setattr__(self, name, value)
        return value

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
            certified=None if self.certified is None else self.certified[idx],
            certified_radius=None if self.certified_radius is None else self.certified_radius[idx],
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
            The union in this order, with this set's metadata and stats;
            certified when both sets are.

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
            **({} if self.certified is None or other.certified is None else {
                "certified": np.concatenate([self.certified, other.certified]),
                "certified_radius": np.concatenate([self.certified_radius, other.certified_radius])}),
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
        real part for a flow, largest modulus for a map); for a certified set
        also the radius proven ("-": not certified)."""
        wide = len(self.state_names) > max_coordinates
        coordinates = ["|x|"] if wide else list(self.state_names)
        header = ["id", *coordinates, "q", "kind", "index", "label", "leading eigenvalue"]
        header += [] if self.certified is None else ["certified radius"]
        rows = [
            [
                self.ids[i],
                *(f"{v:.6g}" for v in ([np.linalg.norm(self.x[i])] if wide else self.x[i])),
                f"{self.q[i]:.3g}",
                str(self.kinds[i]),
                str(self.index[i]),
                str(self.label[i]),
                _format_complex(self.eigenvalues[i, 0]),
                *([] if self.certified is None else
                  [f"{self.certified_radius[i]:.1e}" if self.certified[i] else "-"]),
            ]
            for i in range(len(self))
        ]
        widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows])

    def records(self) -> list[dict[str, Any]]:
        """One plain dict per point (id, x, q, speed, type, kind, index, label,
        eigenvalues as [re, im] pairs, margin; certified and certified_radius
        (None where not certified) for a certified set): a compact JSON-ready
        summary, without the subspaces that :meth:`to_json` stores."""
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
                **({} if self.certified is None else {
                    "certified": bool(self.certified[i]),
                    "certified_radius": float(self.certified_radius[i]) if self.certified[i] else None}),
            }
            for i, p in enumerate(self)
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
        arrays, meta = loads_arrays_json(text, FORMAT)
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
        if self.certified is not None:
            arrays["certified"], arrays["certified_radius"] = self.certified, self.certified_radius
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
                certified=arrays.get("certified"),
                certified_radius=arrays.get("certified_radius"),
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
    if getattr(lin, "is_computed", True):  # a LazyLinearization's own dims and shapes, checked when it was made
        eigenvalues = np.asarray(lin.eigenvalues)
        dims = tuple(np.shape(b)[1] if np.ndim(b) == 2 and np.shape(b)[0] == n else -1 for b in (lin.Es, lin.Eu, lin.Ec))
        if eigenvalues.shape != (n,) or min(dims) < 0 or sum(dims) != n:
            raise ValueError(
                f"{where} does not fit {n} states: {eigenvalues.shape} eigenvalues, subspaces "
                f"{[np.shape(b) for b in (lin.Es, lin.Eu, lin.Ec)]}"
            )
    dims = lin.dims
    if np.shape(lin.jacobian) != (n, n):
        raise ValueError(f"{where} does not fit {n} states: Jacobian of shape {np.shape(lin.jacobian)}")
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
    return "repeller" if lin.index == sum(lin.dims) else "saddle"


def _format_complex(z: complex) -> str:
    return f"{z.real:.6g}" if z.imag == 0 else f"{z.real:.6g}{z.imag:+.6g}j"
