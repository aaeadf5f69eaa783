"""Limit cycles: van der Pol's cycle refined and its Floquet multipliers, the Brusselator's cycles from its Hopf point.

Van der Pol (mu = 1): periodic_orbit refines the cycle through (2, 0) by orthogonal collocation; its period is
compared with the classical 6.6632868593 and its non-trivial multiplier with Liouville's formula
exp(int_0^T (1 - x^2) dt).  The Brusselator (A = 1): bifurcation_diagram(..., cycles=True) finds the Hopf point
B = 1 + A^2 = 2 and continues the cycles born there; near B = 2 their period tends to 2 pi / A and their size to
0 as sqrt(B - 2).  The figure shows the diagram (the cycles by the max and min of x over each) and the periods.
Run:  python examples/periodic_orbits.py [--quick] [--out DIR]   (writes brusselator_cycles.png)
"""
import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dynsys import System, bifurcation_diagram, models, periodic_orbit
from dynsys.plot import plot_bifurcation_diagram, plot_cycle_period

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="folder for the picture")
parser.add_argument("--quick", action="store_true", help="a shorter parameter interval (for the tests)")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

vdp = models.van_der_pol()
cycle = periodic_orbit(vdp, [2.0, 0.0])
liouville = np.exp(np.mean(1 - cycle.x[:, 0] ** 2) * cycle.period)  # spectrally accurate on the uniform grid
print(f"van der Pol, mu = 1: period {cycle.period:.12g} (classical 6.6632868593), {cycle.label}")
print(f"  multipliers {np.round(cycle.multipliers.real, 10).tolist()} (trivial: #{cycle.trivial}); "
      f"Liouville's exp(int (1 - x^2) dt) = {liouville:.10g}")

A, B_HI = 1.0, 2.5 if args.quick else 3.5
brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": A, "B": 1.5},
                                  name="brusselator")
diagram = bifurcation_diagram(brusselator, "B", (1.5, B_HI), n_starts=8, cycles=True)
(hopf,) = diagram.bifurcations
(cycles,) = diagram.cycle_branches
print(f"Brusselator, A = {A:g}: Hopf point at B = {hopf.p:.10g} (1 + A^2 = {1 + A * A:g}), frequency "
      f"{hopf.frequency:.10g} (A = {A:g})")
print(cycles.table())
first = int(np.argmin(cycles.p))
print(f"  nearest the Hopf point, B = {cycles.p[first]:.6g}: period {cycles.period[first]:.8g} (2 pi / A = "
      f"{2 * np.pi / A:.8g}), amplitude / sqrt(B - 2) = {cycles.amplitude[first] / np.sqrt(cycles.p[first] - 2):.4g}")

fig = Figure(figsize=(12.0, 4.4), layout="constrained")
left, right = fig.subplots(1, 2)
plot_bifurcation_diagram(diagram, ax=left)
plot_cycle_period(diagram, ax=right)
fig.savefig(args.out / "brusselator_cycles.png", dpi=100)
print(f"wrote {args.out / 'brusselator_cycles.png'}")
