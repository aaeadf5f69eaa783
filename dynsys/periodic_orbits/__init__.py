"""Periodic orbits of flows: limit cycles, their Floquet multipliers, and where to find them.

The package, in the order its modules import each other:

- ``result``: :class:`PeriodicOrbit` (period, states over one period,
  Floquet multipliers, label), its JSON and ``.npz`` round trips.
"""
from .result import FORMAT, FORMAT_VERSION, MULTIPLIER_TOL, PeriodicOrbit

__all__ = ["FORMAT", "FORMAT_VERSION", "MULTIPLIER_TOL", "PeriodicOrbit"]
