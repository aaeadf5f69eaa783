"""Periodic orbits of flows: limit cycles, their Floquet multipliers, and where to find them.

The package, in the order its modules import each other:

- ``result``: :class:`PeriodicOrbit` (period, states over one period,
  Floquet multipliers, label), its JSON and ``.npz`` round trips.
- ``search``: :func:`find_periodic_orbits` (attracting cycles from the
  recurrence of trajectories, unstable ones from guesses),
  :func:`cycle_distances`, :func:`same_cycle`.
"""
from .result import FORMAT, FORMAT_VERSION, MULTIPLIER_TOL, PeriodicOrbit
from .search import cycle_distances, find_periodic_orbits, same_cycle

__all__ = ["FORMAT", "FORMAT_VERSION", "MULTIPLIER_TOL", "PeriodicOrbit"]
__all__ += ["find_periodic_orbits", "cycle_distances", "same_cycle"]
