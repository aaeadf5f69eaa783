"""What every search method takes and gives: :class:`SearchOptions` in, :class:`MethodResult` out.

A method is a function ``(system, options) -> MethodResult`` (the
:class:`Method` protocol) in a module of its own (:mod:`.numeric`,
:mod:`.exact`), named in :data:`dynsys.fixed_points.METHODS`.  It returns
the distinct points it found with F there; :func:`dynsys.find_fixed_points`
linearises them, orders them and wraps them in a
:class:`~dynsys.fixed_points.FixedPointSet` with the method's statistics.
A new method is a new module with such a function and one entry in
``METHODS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..systems import System


@dataclass(frozen=True)
class SearchOptions:
    """The arguments of :func:`dynsys.find_fixed_points` that a method may use.

    ``region``, ``tol``, ``merge_tol``, ``slow_gtol``, ``max_slow_q`` and
    ``max_iter`` are checked before a method runs and ``deadline`` is the
    ``time.perf_counter()`` value at which ``max_seconds`` runs out (None:
    no budget); a method checks the options only it uses (the numeric
    method: ``starts``, ``n_starts``, ``noise``, ``t_span``, ``max_drift``,
    ``solver``, ``max_memory``), so that another method ignores them.  See
    :func:`dynsys.find_fixed_points` for each (and for the defaults, which
    are there only).

    Examples
    --------
    >>> options = SearchOptions(
    ...     starts=None, n_starts=8, region=None, noise=0.0, tol=1e-10, max_iter=200, merge_tol=1e-6,
    ...     slow_gtol=1e-8, max_slow_q=None, seed=0, t_span=None, max_drift=1.0, solver="auto",
    ...     max_memory=2**30, deadline=None,
    ... )
    >>> options.tol
    1e-10
    """

    starts: Any
    n_starts: int
    region: np.ndarray | None
    noise: float
    tol: float
    max_iter: int
    merge_tol: float
    slow_gtol: float
    max_slow_q: float | None
    seed: int | np.random.Generator | None
    t_span: tuple[float, float] | None
    max_drift: float | None
    solver: str
    max_memory: float
    deadline: float | None


@dataclass(frozen=True)
class MethodResult:
    """The distinct points a method found, before linearisation.

    Attributes
    ----------
    x, F : ndarray of shape (m, n)
        The points and the residual F there.
    is_fixed : ndarray of bool, shape (m,)
        Fixed (true) or slow point.
    spacing : float
        The grid on which coordinates are rounded to order the points
        (one for all points; the merge radius of the search).
    stats : dict
        The method's statistics (see ``FixedPointSet.stats``), in the order
        they are reported.

    Examples
    --------
    >>> import numpy as np
    >>> found = MethodResult(np.zeros((1, 2)), np.zeros((1, 2)), np.ones(1, dtype=bool), 1e-6, {})
    >>> len(found.x), found.is_fixed.tolist()
    (1, [True])
    """

    x: np.ndarray
    F: np.ndarray
    is_fixed: np.ndarray
    spacing: float
    stats: dict[str, Any]


class Method(Protocol):
    """A search method: the distinct fixed and slow points of ``system``.

    Examples
    --------
    A method that finds the origin when it is a fixed point:

    >>> import numpy as np
    >>> from dynsys import models
    >>> def origin(system: System, options: SearchOptions) -> MethodResult:
    ...     x = np.zeros((1, system.dim))
    ...     F = system.residual(x)
    ...     zero = np.linalg.norm(F, axis=1) <= options.tol
    ...     return MethodResult(x[zero], F[zero], np.ones(int(zero.sum()), dtype=bool), options.merge_tol, {})
    >>> options = SearchOptions(
    ...     starts=None, n_starts=8, region=None, noise=0.0, tol=1e-10, max_iter=200, merge_tol=1e-6,
    ...     slow_gtol=1e-8, max_slow_q=None, seed=0, t_span=None, max_drift=1.0, solver="auto",
    ...     max_memory=2**30, deadline=None,
    ... )
    >>> origin(models.duffing(), options).x
    array([[0., 0.]])
    """

    def __call__(self, system: System, options: SearchOptions) -> MethodResult:
        """The points found in ``system`` with ``options``."""
