"""Models defined in TOML files: Lorenz from examples/lorenz.toml, and a Brusselator.

A model file names the kind (flow or map), the states with their formulas, the
parameters and a search box.  Formulas are parsed against a whitelist, never
eval'ed; the result is an ordinary System with exact (sympy) Jacobians.
Run:  python examples/model_from_toml.py [--quick] [--out DIR]   (writes no files; --out is unused)
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np

from dynsys import find_fixed_points, load_system

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="unused: this example writes no pictures")
parser.add_argument("--quick", action="store_true", help="fewer starts (for the tests)")
args = parser.parse_args()
n_starts = 128 if args.quick else 1000

lorenz = load_system(Path(__file__).parent / "lorenz.toml")
print(lorenz, "\n", dict(zip(lorenz.state_names, lorenz.exprs)))
print(find_fixed_points(lorenz, n_starts=n_starts, seed=0).table())

# A parameter changed without rebuilding: below rho = 1 the origin is the only fixed point, and stable.
# The exact path (sympy) solves the polynomial system: all real solutions, not only those found.
print(find_fixed_points(lorenz.with_params(rho=0.5), n_starts=n_starts, seed=0).table())
exact = find_fixed_points(lorenz.with_params(rho=0.5), method="exact")
print("exact, rho = 0.5:", exact.x.tolist(), exact.label.tolist())
exact = find_fixed_points(lorenz, method="exact")   # C+- = (+-sqrt(beta (rho - 1)), same, rho - 1)
print("exact, rho = 28:", exact.x.round(6).tolist(), f"expected C+- = +-{np.sqrt(8 / 3 * 27):.6f}, z = 27")

# The Brusselator (Prigogine & Lefever 1968) from a TOML string: one fixed point (a, b/a),
# with trace b - 1 - a^2 and determinant a^2: a stable focus for b < 1 + a^2, unstable beyond.
BRUSSELATOR = """
kind = "flow"
name = "brusselator"
[states]
x = "a - (b + 1)*x + x**2*y"
y = "b*x - x**2*y"
[params]
a = 1
b = 3
[bounds]
x = [0, 4]
y = [0, 6]
"""
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "brusselator.toml"
    path.write_text(BRUSSELATOR)
    brusselator = load_system(path)
for b in (1.5, 3.0):
    points = find_fixed_points(brusselator.with_params(b=b), n_starts=n_starts, seed=0)
    expected = np.roots([1, -(b - 2), 1])             # lambda^2 - (b - 1 - a^2) lambda + a^2, a = 1
    print(f"b = {b}: expected (1, {b}) with eigenvalues {np.sort_complex(expected).round(4)}\n{points.table()}")
    print("  exact:", find_fixed_points(brusselator.with_params(b=b), method="exact").x.tolist())
