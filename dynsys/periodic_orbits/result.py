"""A periodic orbit of a flow and its Floquet multipliers: :class:`PeriodicOrbit`.

A T-periodic solution x(t + T) = x(t) of x' = f(x) is stored as m states on
a uniform time grid over one period, x_k = x(k T / m), k = 0, ..., m − 1,
with the multipliers μ of its monodromy matrix M = ∂φ_T/∂x (x_0), the
fundamental matrix of the variational equation Φ' = Df(x(t)) Φ, Φ(0) = I,
after one period.  One multiplier is always 1 (f(x_0) is mapped onto
itself: M f(x_0) = f(x_0)); it is kept in :attr:`PeriodicOrbit.multipliers`
under the index :attr:`PeriodicOrbit.trivial`, and the cycle's stability is
decided by the other n − 1 (Kuznetsov 2004, section 1.5): the cycle
attracts when every non-trivial |μ| < 1, and its index is the number with
|μ| > 1.  A real negative multiplier makes the nearby orbits flip sides
every turn (a Möbius band; the cycle can double its period there).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
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
    restore_nonfinite,
)
from ..systems import System, check_system

FORMAT = "dynsys.PeriodicOrbit"
FORMAT_VERSION = 1
MULTIPLIER_TOL = 1e-6  # a non-trivial multiplier with ||mu| - 1| below this is on the unit circle (non-hyperbolic)
METHODS = ("collocation", "shooting")


@dataclass(frozen=True, eq=False)
class PeriodicOrbit:
    """A periodic orbit (cycle) of a flow, with its Floquet multipliers.

    Attributes
    ----------
    system : System
        The flow, at the parameter values of the cycle.
    period : float
        T > 0.
    x : ndarray of shape (m, n)
        The states x(k T / m), k = 0, ..., m − 1, over one period (x(T) =
        x(0) is not repeated).
    multipliers : ndarray of shape (n,), complex
        The eigenvalues of the monodromy matrix, by decreasing modulus, the
        trivial one included.
    trivial : int
        The index in :attr:`multipliers` of the trivial multiplier (1 up to
        the accuracy of the monodromy matrix).
    residual : float
        The max-norm of the discretised periodic problem where Newton's
        method stopped.
    method : str
        ``"collocation"`` or ``"shooting"``: how it was computed.

    Examples
    --------
    The cycle r = 1 of the Hopf normal form r' = r(1 − r²), θ' = 1, stored
    by hand (period 2π, non-trivial multiplier exp(−2 · 2π)):

    >>> from dynsys import System
    >>> hopf = System.from_strings({"x": "x - y - x*(x**2 + y**2)", "y": "x + y - y*(x**2 + y**2)"})
    >>> t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    >>> orbit = PeriodicOrbit(hopf, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t)]),
    ...                       [1.0, np.exp(-4 * np.pi)], trivial=0)
    >>> orbit.label, orbit.index, orbit.stable, round(orbit.amplitude, 12)
    ('stable cycle', 0, True, 1.0)
    >>> again = PeriodicOrbit.from_json(orbit.to_json(), hopf)
    >>> np.array_equal(again.x, orbit.x) and again.period == orbit.period
    True
    """

    system: System
    period: float
    x: np.ndarray
    multipliers: np.ndarray
    trivial: int = 0
    residual: float = 0.0
    method: str = "collocation"

    def __post_init__(self) -> None:
        check_system(self.system)
        if self.system.kind != "flow":
            raise ValueError(f"a PeriodicOrbit is a cycle of a flow; {self.system.name} is a map "
                             "(its period-k points are fixed points of system.iterate(k))")
        period = float(self.period)
        if not np.isfinite(period) or period <= 0:
            raise ValueError(f"period must be a finite number > 0, got {self.period!r}")
        object.__setattr__(self, "period", period)
        n = self.system.dim
        x = np.array(self.x, dtype=float)
        if x.ndim != 2 or x.shape[1] != n or len(x) < 2 or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be a finite array of shape (m, {n}) with m >= 2, got shape {x.shape}")
        mu = np.array(self.multipliers, dtype=complex).ravel()
        if mu.shape != (n,):
            raise ValueError(f"multipliers must have shape ({n},), got {mu.shape}")
        if not 0 <= int(self.trivial) < n:
            raise ValueError(f"trivial must be an index into the {n} multipliers, got {self.trivial!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name, arr in (("x", x), ("multipliers", mu)):
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "trivial", int(self.trivial))
        object.__setattr__(self, "residual", float(self.residual))

    def __repr__(self) -> str:
        return (f"PeriodicOrbit({self.system.name!r}, period={self.period:.10g}, amplitude={self.amplitude:.6g}, "
                f"{self.label!r})")

    # ------------------------------------------------------------ stability
    @property
    def nontrivial(self) -> np.ndarray:
        """The n − 1 non-trivial multipliers, by decreasing modulus."""
        return np.delete(self.multipliers, self.trivial)

    @property
    def index(self) -> int:
        """The number of non-trivial multipliers outside the unit circle (dim of the cycle's unstable manifold − 1)."""
        return int(np.sum(np.abs(self.nontrivial) > 1 + MULTIPLIER_TOL))

    @property
    def hyperbolic(self) -> bool:
        """No non-trivial multiplier within ``MULTIPLIER_TOL`` of the unit circle."""
        return bool(np.all(np.abs(np.abs(self.nontrivial) - 1) > MULTIPLIER_TOL))

    @property
    def stable(self) -> bool:
        """Every non-trivial multiplier inside the unit circle: the cycle attracts its neighbourhood."""
        return bool(np.all(np.abs(self.nontrivial) < 1 - MULTIPLIER_TOL))

    @property
    def flip(self) -> bool:
        """A real negative non-trivial multiplier: nearby orbits change sides every turn.

        Real means |Im μ| <= ``MULTIPLIER_TOL`` · |μ| (relative: a complex
        pair of small modulus is not real).

        Examples
        --------
        >>> from dynsys import System
        >>> s = System.from_strings({"x": "-y", "y": "x", "z": "-z", "w": "-w"})
        >>> x = [[1, 0, 0, 0], [0, 1, 0, 0], [-1, 0, 0, 0]]
        >>> PeriodicOrbit(s, 2 * np.pi, x, [1, -1e-7 + 2e-7j, -1e-7 - 2e-7j, 0.5]).flip
        False
        >>> PeriodicOrbit(s, 2 * np.pi, x, [1, -0.3, 0.2, 0.1]).flip
        True
        """
        mu = self.nontrivial
        real = np.abs(mu.imag) <= MULTIPLIER_TOL * np.abs(mu)
        return bool(np.any(real & (mu.real < 0)))

    @property
    def label(self) -> str:
        """``"stable cycle"``, ``"saddle cycle of index k"``, ``"repelling cycle"`` or ``"non-hyperbolic cycle"``;
        with ``" (flip)"`` when a real non-trivial multiplier is negative."""
        if not self.hyperbolic:
            name = "non-hyperbolic cycle"
        elif self.index == 0:
            name = "stable cycle"
        elif self.index == self.system.dim - 1:
            name = "repelling cycle"
        else:
            name = f"saddle cycle of index {self.index}"
        return name + (" (flip)" if self.flip else "")

    # ------------------------------------------------------------ geometry
    @property
    def times(self) -> np.ndarray:
        """The times k T / m of the rows of :attr:`x`."""
        return np.arange(len(self.x)) * (self.period / len(self.x))

    @property
    def mean(self) -> np.ndarray:
        """The time average x̄ of the state over one period (the trapezoidal rule on the uniform grid)."""
        return self.x.mean(axis=0)

    @property
    def amplitude(self) -> float:
        """max_t |x(t) − x̄|, the largest distance of the cycle from its time average (on the grid).

        For a circle of radius r it is r; near a Hopf point it grows as √|p − p_H|.
        """
        return float(np.max(np.linalg.norm(self.x - self.mean, axis=1)))

    # ---------------------------------------------------------- round trips
    def to_json(self) -> str:
        """The cycle as standard JSON text (the system itself is not stored); exact round trip by :meth:`from_json`.

        Examples
        --------
        >>> from dynsys import System
        >>> rotation = System.from_strings({"x": "-y", "y": "x"})
        >>> t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        >>> orbit = PeriodicOrbit(rotation, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t)]), [1, 1])
        >>> PeriodicOrbit.from_json(orbit.to_json(), rotation).label
        'non-hyperbolic cycle'
        """
        arrays, meta = self._parts()
        meta["arrays"] = {name: encode_array(a) for name, a in arrays.items()}
        return json.dumps(finite_json(meta), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, system: System) -> PeriodicOrbit:
        """The cycle written by :meth:`to_json`, attached to ``system`` (a flow of its dimension).

        Raises
        ------
        ValueError
            ``text`` is not the JSON of a periodic orbit, or ``system`` does not fit it.
        """
        arrays, meta = loads_arrays_json(text, FORMAT)
        return cls._from_parts(arrays, meta, system, "text")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the cycle to ``path`` as an ``.npz`` archive (no pickle), atomically; returns the path.

        Examples
        --------
        >>> import tempfile
        >>> from dynsys import System
        >>> rotation = System.from_strings({"x": "-y", "y": "x"})
        >>> t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        >>> orbit = PeriodicOrbit(rotation, 2 * np.pi, np.column_stack([np.cos(t), np.sin(t)]), [1, 1])
        >>> path = os.path.join(tempfile.mkdtemp(), "cycle.npz")
        >>> np.array_equal(PeriodicOrbit.load(orbit.save(path), rotation).x, orbit.x)
        True
        """
        arrays, meta = self._parts()
        return atomic_write(path, lambda f: np.savez(f, meta=np.array(json.dumps(finite_json(meta))), **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str], system: System) -> PeriodicOrbit:
        """The cycle written by :meth:`save` to ``path``, attached to ``system``.

        Raises
        ------
        FileNotFoundError
            ``path`` is not a file.
        ValueError
            Naming the file: not a periodic orbit's ``.npz``, or ``system`` does not fit it.
        """
        source = repr(os.fspath(path))
        try:
            arrays = read_npz(path)
            text = arrays.pop("meta")
            if text.dtype.kind != "U" or text.shape != ():
                raise ValueError(f"'meta' is an array of dtype {text.dtype} and shape {text.shape}, not JSON text")
            meta = restore_nonfinite(loads_json(str(text[()])))
        except (KeyError, ValueError) as exc:
            why = "no 'meta' entry" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{source} is not a {FORMAT} .npz file: {why}") from None
        return cls._from_parts(arrays, meta, system, source)

    def _parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"x": self.x, "multipliers": self.multipliers}
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "system_name": self.system.name,
            "params": self.system.params,
            "period": self.period,
            "trivial": self.trivial,
            "residual": self.residual,
            "method": self.method,
        }
        return arrays, meta

    @classmethod
    def _from_parts(cls, arrays: dict[str, np.ndarray], meta: Any, system: System, source: str) -> PeriodicOrbit:
        check_system(system)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{source} is not a {FORMAT}")
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{source} has {FORMAT} version {meta.get('version')!r}; this dynsys reads {FORMAT_VERSION}"
            )
        try:
            params = meta["params"]
            return cls(
                system=system.with_params(**params) if set(params) <= set(system.params) else system,
                period=meta["period"], x=arrays["x"], multipliers=arrays["multipliers"], trivial=meta["trivial"],
                residual=meta["residual"], method=meta["method"],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{source} is not a valid {FORMAT} for {system.name}: {exc}") from None
