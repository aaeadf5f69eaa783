"""Sweeps: one analysis over many systems (networks, models, parameter grids), on Dask or serially.

:func:`sweep` runs a task (:class:`FixedPoints`, :class:`TransitionGraph`,
:class:`Continuation`, or any function of one System: :class:`FunctionTask`)
on every item (network or model files, model names, Systems, ``(system,
params)`` pairs, a :func:`grid` of parameter values), on the workers of a
Dask ``distributed`` cluster (a local one by default; the optional extra
``pip install 'dynsys-toolkit[sweep]'``) or serially, writes each item's
files as it completes, and returns a :class:`SweepResult`: one summary row
per item (a table), and each item's result.

One module a stage: :mod:`~dynsys.sweep.items` (what a sweep runs over),
:mod:`~dynsys.sweep.tasks` (the analyses and their files),
:mod:`~dynsys.sweep.engine` (running them).  Dask is imported only when a
sweep runs on it.

Examples
--------
>>> from dynsys import models
>>> from dynsys.sweep import FixedPoints, grid, sweep
>>> result = sweep(FixedPoints(n_starts=16), grid(models.logistic(), r=[2.5, 3.5]), client="serial", progress=False)
>>> [(row["label"], row["n_fixed"], row["n_attractors"]) for row in result.rows]
[('r=2.5', 2, 1), ('r=3.5', 2, 0)]
"""
from .compare import Comparison, compare
from .engine import SweepResult, run_item, sweep
from .items import Item, as_items, grid
from .tasks import Continuation, FixedPoints, FunctionTask, GraphResult, Task, TransitionGraph

__all__ = [
    "sweep",
    "grid",
    "as_items",
    "run_item",
    "SweepResult",
    "Item",
    "Task",
    "FixedPoints",
    "TransitionGraph",
    "Continuation",
    "FunctionTask",
    "GraphResult",
    "compare",
    "Comparison",
]
