"""The Hénon map's two saddles, its 2-cycle, and an unstable manifold.

g(x, y) = (1 - a x^2 + y, b x), a = 1.4, b = 0.3 (Hénon 1976), has two saddles with a negative
eigenvalue (flip) and a 2-cycle; the unstable manifold of one saddle traces the strange attractor.
Run:  python examples/henon_saddles.py [--quick] [--out DIR]   (writes henon_spectrum.png)
"""
import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.spatial import cKDTree

from dynsys import find_fixed_points, models
from dynsys.plot import plot_spectrum

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="folder for the picture")
parser.add_argument("--quick", action="store_true", help="a shorter manifold (for the tests)")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

henon = models.henon()                          # a = 1.4, b = 0.3; bounds [-2, 2] x [-0.6, 0.6]
a, b = henon.params["a"], henon.params["b"]
points = find_fixed_points(henon, seed=0)
print(points.table())
for p, lin in zip(points, points.linearizations):  # eigenvalues of Dg = [[-2 a x, 1], [b, 0]]
    print(f"{p.x.round(4)}: {lin.label}, eigenvalues {lin.eigenvalues.real.round(4)}, flip {lin.flip}")

# Period 2: fixed points of g∘g are the two fixed points and the 2-cycle (x1, bx2), (x2, bx1),
# where x1 + x2 = (1 - b)/a and x1 x2 = ((1 - b)^2 - a)/a^2, from (1 - b) x1 = 1 - a x2^2 and its twin.
two = find_fixed_points(henon.iterate(2), seed=0)
print(two.table())
print("2-cycle from the formula: x =", np.roots([a**2, -a * (1 - b), (1 - b) ** 2 - a]).round(4))

# The unstable manifold of the saddle on the attractor: a tiny segment along E^u through the
# saddle, iterated; each step stretches it by about |lambda_u| and folds it.  W^u is the union.
saddle = points[int(np.argmin(np.abs(points.x[:, 0] - 0.631)))]
lam_u, e_u = saddle.eigenvalues[0].real, saddle.linearization.Eu[:, 0]
n_points, n_steps = (2000, 25) if args.quick else (5000, 30)
segment = saddle.x + np.linspace(-1e-5, 1e-5, n_points)[:, None] * e_u
manifold = np.concatenate([segment := henon.rhs(segment) for _ in range(n_steps)])  # all points at once
print(f"W^u of {saddle.x.round(4)} (lambda_u = {lam_u:.4f}): {len(manifold)} points, "
      f"x in [{manifold[:, 0].min():.3f}, {manifold[:, 0].max():.3f}]")

# Its closure is the attractor: a long orbit (after 200 steps of transient) stays close to it.
orbit = np.array([[0.1, 0.1]])
visits = np.concatenate([orbit := henon.rhs(orbit) for _ in range(2200)][200:])
gap, _ = cKDTree(manifold).query(visits)
print(f"orbit to W^u: median distance {np.median(gap):.1e}, largest {gap.max():.1e}")

# Eigenvalues of g at its fixed points and of g∘g at the period-2 points, with the unit circle.
fig = Figure(figsize=(10, 4.5))                 # no pyplot: nothing opens a window
left, right = fig.subplots(1, 2)
for ax, found, title in ((left, points, "fixed points of g"), (right, two, "fixed points of g∘g")):
    plot_spectrum(found, ax=ax)
    ax.set_title(title)
fig.savefig(args.out / "henon_spectrum.png", dpi=100)
print("wrote", args.out / "henon_spectrum.png")
