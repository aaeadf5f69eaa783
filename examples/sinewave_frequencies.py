"""The sine-wave generator's oscillation against the fixed point it circles (Sussillo & Barak 2013, sec. 4).

The bundled network (``rnn.load_sinewave()``, 64 tanh units, one input) produces a sine wave whose
frequency is set by its static input u in [0.25, 1.25], target omega(u) = 0.2 + 0.4 (u - 0.25) rad per
step.  Sussillo & Barak's finding: at each input level the oscillation circles an unstable fixed point
whose leading complex pair of multipliers lambda rotates by roughly the produced frequency per step,
arg(lambda) ~ omega.  Here the fixed point is continued along the input (``continuation`` in s, the
input u0 + s) and, level by level, arg(lambda) is compared with the frequency the network produces
(``cell.output_frequency``, from simulation) and the target.
Run:  python examples/sinewave_frequencies.py [--quick] [--out DIR]   (writes sinewave_frequencies.png)
"""
import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dynsys import continuation, find_fixed_points, rnn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="folder for the picture")
parser.add_argument("--quick", action="store_true", help="fewer input levels (for the tests)")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

cell = rnn.load_sinewave()
U_MIN, U_MAX, U0 = 0.25, 1.25, 0.75


def target(u):
    return 0.2 + 0.4 * (u - U_MIN)          # dynsys.tasks.sinewave


def leading_rotation(eigenvalues):
    """arg(lambda) of the unstable complex multiplier of largest modulus, per row; NaN where there is none."""
    lam = np.where((np.abs(eigenvalues) > 1) & (np.abs(eigenvalues.imag) > 1e-9), eigenvalues, 0)
    best = lam[np.arange(len(lam)), np.abs(lam).argmax(axis=1)]
    return np.where(best != 0, np.abs(np.angle(best)), np.nan)


# The fixed point the oscillation circles at u0: the search seeded, as in the paper, from states on the
# network's own orbit; of the fixed points it finds, the one nearest the orbit's mean.
orbit = cell.run(np.full((1, 2000, 1), U0))[0, 500:]
system = cell.system(np.array([U0]), along=np.array([1.0]))       # the network at input u0 + s
found = find_fixed_points(system, starts=orbit[::15], seed=0).fixed()
centre = found.x[np.argmin(np.linalg.norm(found.x - orbit.mean(axis=0), axis=1))]
print(f"at u = {U0}: {len(found)} fixed point(s) found from the orbit; continuing the one nearest its mean "
      f"(distance {np.linalg.norm(centre - orbit.mean(axis=0)):.2f}; the orbit's radius about it "
      f"{np.linalg.norm(orbit - centre, axis=1).mean():.2f})")

branch = continuation(system, "s", centre, p_span=(U_MIN - U0, U_MAX - U0))
print(branch.table())
u_branch, rot_branch = U0 + branch.p, leading_rotation(branch.eigenvalues)

# Level by level: the branch's point at u (its polyline interpolated, Newton-polished by the search from
# there), its leading unstable complex pair, and the frequency the network produces (simulated).  The same
# search, seeded also from the orbit at u, counts the fixed points there and tells whether the branch's
# point is still the one nearest the orbit's mean (the one the oscillation circles).
levels = np.linspace(U_MIN, U_MAX, 6 if args.quick else 21)
orbits = cell.run(np.zeros((len(levels), 2000, 1)) + levels[:, None, None])[:, 500:]
order = np.argsort(branch.p)
rotation, at_centre = np.empty(len(levels)), np.empty(len(levels))
count, circled = np.empty(len(levels), int), np.empty(len(levels), bool)
for i, u in enumerate(levels):
    guess = np.array([np.interp(u - U0, branch.p[order], branch.x[order, j]) for j in range(branch.x.shape[1])])
    points = find_fixed_points(cell.system(np.array([u])), starts=np.vstack([guess, orbits[i, ::15]]), seed=0).fixed()
    k = int(np.argmin(np.linalg.norm(points.x - guess, axis=1)))
    rotation[i] = leading_rotation(points.eigenvalues[k:k + 1])[0]
    count[i] = len(points)
    centre_k = int(np.argmin(np.linalg.norm(points.x - orbits[i].mean(axis=0), axis=1)))
    circled[i], at_centre[i] = k == centre_k, leading_rotation(points.eigenvalues[centre_k:centre_k + 1])[0]
produced = cell.output_frequency(levels[:, None])

print(f"{'u':>6} {'target':>8} {'produced':>9} {'arg(lam)':>9} {'arg/produced':>13} {'fixed pts':>10} {'circled':>8} "
      f"{'arg(lam) of the circled':>24}")
for u, w, p, r, c, o, a in zip(levels, target(levels), produced, rotation, count, circled, at_centre):
    print(f"{u:6.3f} {w:8.4f} {p:9.4f} {r:9.4f} {r / p:13.3f} {c:10d} {'yes' if o else 'no':>8} {a:24.4f}")
print("circled: the branch's point is the fixed point nearest the orbit's mean; where not, the last column is "
      "arg(lambda) of the one that is (NaN: no unstable complex pair)")
ok = ~np.isnan(rotation)
ratio = rotation[ok] / produced[ok]
corr = np.corrcoef(rotation[ok], produced[ok])[0, 1]
print(f"arg(lambda) / produced frequency: {ratio.min():.2f} to {ratio.max():.2f} (median {np.median(ratio):.2f}); "
      f"correlation {corr:.3f}; no unstable complex pair at u = {', '.join(f'{u:.3f}' for u in levels[~ok]) or '-'}")

fig = Figure(figsize=(7, 4.5))                                      # no pyplot: nothing opens a window
ax = fig.subplots()
ax.plot(levels, target(levels), "k--", label="target 0.2 + 0.4 (u - 0.25)")
ax.plot(levels, produced, "o-", label="produced by the network (simulated)")
ax.plot(u_branch, rot_branch, "-", label="arg(λ) along the continued branch (leading unstable complex pair)")
ax.plot(levels, rotation, "s", color="C2", label="arg(λ) at the fixed point polished at each level")
ax.set_xlabel("input u")
ax.set_ylabel("frequency (rad / step)")
ax.set_title(f"sine-wave generator: arg(λ) tracks the produced frequency only roughly\n"
             f"arg λ / produced = {ratio.min():.2f} to {ratio.max():.2f}; both rise with u;\n"
             f"at {(~circled).sum()} of {len(levels)} levels another fixed point is nearer the orbit's mean",
             fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(args.out / "sinewave_frequencies.png", dpi=100)
print("wrote", args.out / "sinewave_frequencies.png")
