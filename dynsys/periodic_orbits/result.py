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

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._io import SavedResult
from ..systems import System, check_system

FORMAT = "dynsys.PeriodicOrbit"
FORMAT_VERSION = 1
# A non-trivial multiplier with ||mu| - 1| below this is on the unit circle (non-hyperbolic).  Not smaller: a
# neutral cycle of a family (a conservative system's) has a double multiplier 1, a Jordan block, whose computed
# eigenvalues split by about the square root of the monodromy's error (the undamped pendulum's cycles came out
# 1 - 3e-6 at tol = 1e-10 and read "stable cycle" with 1e-6).  Not larger: a supercritical Hopf branch's first cycle,
# 6e-6 past the Hopf point of the Brusselator, has 1 - mu = 4e-5.
MULTIPLIER_TOL = 1e-5
METHODS = ("collocation", "shooting")


@dataclass(frozen=True, eq=False)
class PeriodicOrbit(SavedResult):
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
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "cycle.npz")
    >>> np.array_equal(PeriodicOrbit.load(orbit.save(path), hopf).multipliers, orbit.multipliers)
    True
    """

    system: System
    period: float
    x: np.ndarray
    multipliers: np.ndarray
    trivial: int = 0
    residual: float = 0.0
    method: str = "collocation"

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION
    check_target = staticmethod(check_system)

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
        pair of small modulus is not real); multipliers with |μ| below
        ``MULTIPLIER_TOL`` do not count (their sign is below the accuracy of
        the monodromy matrix, and their directions contract to nothing in a
        turn).

        Examples
        --------
        >>> from dynsys import System
        >>> s = System.from_strings({"x": "-y", "y": "x", "z": "-z", "w": "-w"})
        >>> x = [[1, 0, 0, 0], [0, 1, 0, 0], [-1, 0, 0, 0]]
        >>> PeriodicOrbit(s, 2 * np.pi, x, [1, -1e-7 + 2e-7j, -1e-7 - 2e-7j, 0.5]).flip
        False
        >>> PeriodicOrbit(s, 2 * np.pi, x, [1, -0.3, 0.2, 0.1]).flip
        True
        >>> PeriodicOrbit(s, 2 * np.pi, x, [1, 0.5, -4e-9, 0.1]).flip
        False
        """
        mu = self.nontrivial
        real = np.abs(mu.imag) <= MULTIPLIER_TOL * np.abs(mu)
        return bool(np.any(real & (mu.real < -MULTIPLIER_TOL)))

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

    # ---------------------------------------------------------- round trips (SavedResult)
    def _parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"x": self.x, "multipliers": self.multipliers}
        meta = {
            "system_name": self.system.name,
            "params": self.system.params,
            "period": self.period,
            "trivial": self.trivial,
            "residual": self.residual,
            "method": self.method,
        }
        return arrays, meta

    @classmethod
    def _from_parts(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any], system: System) -> PeriodicOrbit:
        params = meta["params"]
        return cls(
            system=system.with_params(**params) if set(params) <= set(system.params) else system,
            period=meta["period"], x=arrays["x"], multipliers=arrays["multipliers"], trivial=meta["trivial"],
            residual=meta["residual"], method=meta["method"],
        )
