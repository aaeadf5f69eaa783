"""Periodic orbits of flows: limit cycles, their Floquet multipliers, and where to find them.

The package, in the order its modules import each other:

- ``result``: :class:`PeriodicOrbit` (period, states over one period,
  Floquet multipliers, label), its JSON and ``.npz`` round trips.
- ``newton``: the unknowns z = (states, T) of a discretised periodic problem
  and the damped Newton method that collocation and shooting share.
- ``floquet``: the monodromy matrix from the variational equations,
  :func:`floquet_multipliers` (the trivial multiplier identified).
- ``collocation``: :class:`Collocation`, orthogonal collocation of the
  periodic boundary-value problem with an integral phase condition
  (residual, sparse Jacobian, parameter derivative, Newton, mesh
  adaptation, the monodromy matrix from the collocation blocks).
- ``shooting``: :class:`MultipleShooting`, the same problem by multiple
  shooting.
- ``recurrence``: first guesses of a cycle from a trajectory (first return
  to a Poincaré section) or from states.
- ``refine``: :func:`periodic_orbit`, the entry point.
- ``search``: :func:`find_periodic_orbits` (attracting cycles from the
  recurrence of trajectories, unstable ones from guesses),
  :func:`cycle_distances`, :func:`same_cycle`.
"""
from .collocation import Collocation
from .floquet import floquet_multipliers, monodromy
from .refine import periodic_orbit
from .result import FORMAT, FORMAT_VERSION, MULTIPLIER_TOL, PeriodicOrbit
from .search import cycle_distances, find_periodic_orbits, same_cycle
from .shooting import MultipleShooting

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MULTIPLIER_TOL",
    "Collocation",
    "MultipleShooting",
    "PeriodicOrbit",
    "floquet_multipliers",
    "monodromy",
    "periodic_orbit",
    "find_periodic_orbits",
    "cycle_distances",
    "same_cycle",
]
