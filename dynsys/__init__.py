"""dynsys: fixed points, slow points and their stability for any dynamical system.

The public API (this module's ``__all__``) is the contract:

- defining systems: :class:`System` (``from_sympy``, ``from_strings``,
  ``from_callable``), :mod:`dynsys.models` (built-in models, and
  :func:`load_system` for model files);
- trajectories: :func:`simulate`, :func:`advance` (a flow or a map by a
  duration), :func:`sample_states`, :func:`settling_period`;
- recurrent networks: :mod:`dynsys.rnn` (PyTorch-style cells -> System);
- linearisation: :func:`linearize`, :func:`linearize_batch`, :class:`Linearization`;
- fixed and slow points: :func:`find_fixed_points` -> :class:`FixedPointSet`,
  :func:`point_kind`; proofs: :func:`certify` -> :class:`Certificates`
  (Krawczyk's test in interval arithmetic, :mod:`dynsys.intervals`) and
  :func:`all_fixed_points` (every fixed point in a box, by branch and bound);
- periodic orbits of flows: :func:`periodic_orbit` -> :class:`PeriodicOrbit`
  (period, states over one period, Floquet multipliers),
  :func:`find_periodic_orbits` (the attracting cycles reached from starts);
- where orbits go: :class:`AttractorMapper`, :func:`basins_of_attraction`,
  :func:`stable_manifold`, :func:`unstable_manifold`;
- change across a parameter: :func:`continuation` -> :class:`Branch` (fixed
  points) or :class:`CycleBranch` (cycles, from a Hopf point or a
  :class:`PeriodicOrbit`), their special points :class:`Bifurcation`; every branch in an interval: :func:`bifurcation_diagram`
  -> :class:`BifurcationDiagram`;
- many systems at once: :mod:`dynsys.sweep` (``sweep``, ``grid``,
  ``compare``: one analysis over many networks or parameter values, on a
  Dask cluster or serially, with resumable per-item files);
- graphs: :func:`transition_graph`, :func:`attractor_graph`,
  :func:`connection_graph`, :func:`compare_graphs`, :func:`graph_points`, :func:`graph_cycles`,
  :func:`find_saddles_between`, :func:`write_graph`, :func:`read_graph`.

Hypothesis strategies for property tests live in :mod:`dynsys.testing`
(imported on demand, since hypothesis is a test dependency).
"""
from . import models, rnn, sweep
from .basins import AttractorMapper, basins_of_attraction
from .bifurcation_diagram import BifurcationDiagram, bifurcation_diagram
from .certificates import Certificates, all_fixed_points, certify
from .continuation import Bifurcation, Branch, continuation
from .cycle_continuation import CycleBranch
from .fixed_points import FixedPoint, FixedPointSet, find_fixed_points, point_kind
from .graph import attractor_graph, compare_graphs, connection_graph, graph_cycles, graph_points, transition_graph
from .graph_export import read_graph, write_graph
from .linearize import Linearization, linearize, linearize_batch
from .manifolds import stable_manifold, unstable_manifold
from .models import load_system
from .parse import FormulaError
from .periodic_orbits import PeriodicOrbit, find_periodic_orbits, periodic_orbit
from .saddles import find_saddles_between
from .simulate import Trajectories, advance, sample_states, settling_period, simulate
from .systems import System

__all__ = [
    "System",
    "load_system",
    "FormulaError",
    "models",
    "rnn",
    "sweep",
    "simulate",
    "advance",
    "sample_states",
    "settling_period",
    "Trajectories",
    "linearize",
    "linearize_batch",
    "Linearization",
    "find_fixed_points",
    "FixedPointSet",
    "FixedPoint",
    "point_kind",
    "certify",
    "Certificates",
    "all_fixed_points",
    "periodic_orbit",
    "PeriodicOrbit",
    "find_periodic_orbits",
    "AttractorMapper",
    "basins_of_attraction",
    "stable_manifold",
    "unstable_manifold",
    "continuation",
    "Branch",
    "Bifurcation",
    "CycleBranch",
    "bifurcation_diagram",
    "BifurcationDiagram",
    "transition_graph",
    "attractor_graph",
    "connection_graph",
    "compare_graphs",
    "graph_points",
    "graph_cycles",
    "find_saddles_between",
    "write_graph",
    "read_graph",
]
__version__ = "0.1.0"
