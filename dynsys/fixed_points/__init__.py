"""Fixed points and slow points: the zeros and small local minima of q(x) = ½|F(x)|².

The residual F(x) is f(x) for a flow dx/dt = f(x) and g(x) - x for a map
x -> g(x), so fixed points are the zeros of F in both cases.  The local
minima of q with q > 0 are *slow points*, where the system moves slowly
(speed |F|) and which shape the dynamics of, e.g., trained recurrent
networks like fixed points do (Sussillo & Barak 2013).

One entry point, :func:`find_fixed_points`, returns a
:class:`FixedPointSet`.  The package, in the order its modules import
each other:

- ``common``: row-wise products, the box test, clustering;
- ``result``: :class:`FixedPointSet`, :class:`FixedPoint`,
  :func:`point_kind`, their JSON and ``.npz`` round trips;
- ``jacobians``: the :class:`~.jacobians.JacobianModel` protocol, its
  dense and matrix-free implementations (:data:`SOLVERS`);
- ``criteria``: when a point is a zero of F, when it is stationary;
- ``levenberg_marquardt``: the batched minimisation of q;
- ``base``: what a method takes and gives (:class:`~.base.SearchOptions`,
  :class:`~.base.MethodResult`, the :class:`~.base.Method` protocol);
- ``numeric`` and ``exact``: the methods, each documenting its algorithm;
- ``search``: :func:`find_fixed_points` and :data:`METHODS`.

A new method is a new module with a ``find(system, options)`` function and
one entry in :data:`METHODS`; a new way of doing the linear algebra is a
new :class:`~.jacobians.JacobianModel` and one entry in :data:`SOLVERS`.

References
----------
D. Sussillo and O. Barak, "Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks", Neural Computation 25(3),
pp. 626-649, 2013.
"""
from .jacobians import SOLVERS
from .result import FORMAT, FORMAT_VERSION, FixedPoint, FixedPointSet, point_kind
from .search import METHODS, find_fixed_points

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "METHODS",
    "SOLVERS",
    "FixedPoint",
    "FixedPointSet",
    "find_fixed_points",
    "point_kind",
]
