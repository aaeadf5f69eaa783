"""Phase portraits of two bistable flows, with saddle manifolds and basins.

The double-well Duffing oscillator x'' + 0.3 x' - x + x^3 = 0 has stable foci
at (+-1, 0) and a saddle at the origin; the genetic toggle switch of Gardner
et al. (2000) has two stable nodes and a saddle at u = v = 2.  In both, the
saddle's stable manifold is the boundary between the two basins, and its
unstable manifold runs into the two attractors.
Run:  python examples/duffing_and_toggle_phase_portraits.py [--quick] [--out DIR]
Writes duffing.png and toggle_switch.png (needs dynsys.plot, i.e. matplotlib).
"""
import argparse
from pathlib import Path

from dynsys import find_fixed_points, models
from dynsys.plot import phase_portrait

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="folder for the pictures")
parser.add_argument("--quick", action="store_true", help="a coarser grid (for the tests)")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)
resolution = 60 if args.quick else 150        # grid points per axis (stream lines, nullclines, basins)

for filename, system in (("duffing.png", models.duffing()), ("toggle_switch.png", models.toggle_switch())):
    points = find_fixed_points(system, seed=0)  # starts in system.bounds, the box the portrait shows
    print(f"{system.name} {system.params}:")
    print(points.table())
    for p in points.saddles():
        lin = p.linearization                   # E^s is the basin boundary, E^u points at the attractors
        print(f"  saddle at {p.x.round(4)}: eigenvalues {lin.eigenvalues.real.round(4)}, "
              f"E^s {lin.Es[:, 0].round(3)}, E^u {lin.Eu[:, 0].round(3)}")
    # Stream lines, nullclines, fixed points by kind, the saddle's manifolds, basins coloured by attractor.
    fig = phase_portrait(system, fixed_points=points, resolution=resolution, manifolds=True, basins=True)
    fig.savefig(args.out / filename, dpi=100)
    print("  wrote", args.out / filename)
