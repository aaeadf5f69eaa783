"""Lorenz's three fixed points and their stable/unstable subspaces.

At rho = 28 the origin is a saddle with a one-dimensional unstable subspace
E^u, and the two symmetric points C+ and C- are saddle-foci with a
two-dimensional E^u (a weakly unstable spiral) and a one-dimensional E^s.
Run:  python examples/lorenz_subspaces.py
"""
import numpy as np

from dynsys import find_fixed_points, models

lorenz = models.lorenz()                       # sigma=10, rho=28, beta=8/3
points = find_fixed_points(lorenz, n_starts=500, seed=0)
print(points.table())

for p in points:
    lin = p.linearization
    print(f"\nx* = {np.array2string(p.x, precision=4)}  {lin.label}, index {lin.index}, |F| = {p.speed:.1e}")
    print("  eigenvalues:", np.array2string(lin.eigenvalues, precision=4))
    print("  E^u basis (columns):\n", np.array2string(lin.Eu, precision=4))

# The exact path (sympy) gives the same three points.
exact = find_fixed_points(lorenz, method="exact")
print("\nlargest distance to the exact points:", np.abs(np.sort(exact.x, 0) - np.sort(points.fixed().x, 0)).max())
