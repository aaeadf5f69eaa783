"""Periodic orbits against their references: periods, multipliers and cycle bifurcations, with the errors.

Each row is a quantity dynsys computes and its reference, a closed form or a
classical value, or an independent solve_ivp computation done here (never
dynsys's own numbers):

- van der Pol at μ = 1: the period 6.663286859323130 (Andersen & Geer 1982),
  both methods; the non-trivial multiplier against Liouville's formula
  exp(∮ μ(1 − x²) dt) integrated here with solve_ivp along a trajectory;
  the ratio of the period to the relaxation asymptote (3 − 2 ln 2)μ for
  μ = 5, 10, 20 (it tends to 1 from above), and to the asymptote with its
  next term 3α μ^(−1/3), α = 2.3381 the first zero of −Ai (Dorodnicyn 1947);
- the Hopf normal form x' = μx − ωy − x r², y' = ωx + μy − y r² at μ = 0.5,
  ω = 1.3: radius √μ, period 2π/ω, multiplier exp(−2μ · 2π/ω);
- the Brusselator (A = 1): its Hopf point B = 1 + A² = 2 and the cycle
  branch over B ∈ [2, 4]: the period at the first cycle against 2π/A, the
  exponent of amplitude ∝ (B − 2)^(1/2) near the Hopf point, and the period
  at B = 3 and B = 4 against the return time to the section x = A by solve_ivp
  (DOP853, rtol 1e-12);
- the Bautin normal form r' = r(β₁ + β₂r² − r⁴), θ' = 1 (β₂ = 1): the fold of
  cycles at β₁ = −β₂²/4;
- Lorenz's shortest unstable cycle AB (period about 1.5587, Viswanath 2003),
  refined from a close return of a trajectory: its closure by solve_ivp and
  the product of its multipliers against Liouville's exp(−(σ + 1 + β)T);
- the twisted flow of tests/test_cycle_continuation.py (a half turn of the
  transverse plane per period): period doubling at p = 0 exactly.

    python benchmarks/accuracy_periodic_orbits.py
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from typing import Any

import numpy as np
from networks import format_table
from scipy.integrate import solve_ivp

from dynsys import PeriodicOrbit, System, continuation, models, periodic_orbit

VDP_PERIOD = 6.663286859323130  # van der Pol, mu = 1 (Andersen & Geer, SIAM J. Appl. Math. 42, 1982)
TWO_PI = 2 * np.pi
AIRY_ZERO = 2.338107410459767  # -a_1, the first zero of Ai: T = (3 - 2 ln 2) mu + 3 AIRY_ZERO mu^(-1/3) + O(ln mu / mu)


def _ode(system: System) -> Any:
    return lambda _t, u: system.rhs(u[None])[0]


def return_time(system: System, x0: Any, coordinate: int, level: float, transient: float) -> float:
    """The mean time between upward crossings of x_coordinate = level after a transient (solve_ivp, rtol 1e-12)."""
    def section(_t: float, u: np.ndarray) -> float:
        return float(u[coordinate] - level)

    section.direction = 1.0  # type: ignore[attr-defined]
    settled = solve_ivp(_ode(system), (0, transient), x0, method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    sol = solve_ivp(_ode(system), (0, transient), settled, method="DOP853", rtol=1e-12, atol=1e-12,
                    events=section, max_step=0.05)
    return float(np.mean(np.diff(sol.t_events[0][-6:])))


def liouville_multiplier(mu: float, x0: Any, period: float) -> float:
    """exp(∫₀ᵀ div f dt) along van der Pol's cycle from x0 (on it), div f = μ(1 − x²), by solve_ivp."""
    vdp = models.van_der_pol(mu)

    def f(_t: float, u: np.ndarray) -> np.ndarray:
        return np.append(vdp.rhs(u[None, :2])[0], mu * (1 - u[0] ** 2))

    end = solve_ivp(f, (0, period), [*x0, 0.0], method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    return float(np.exp(end[2]))


def row(what: str, value: float, reference: float, source: str) -> list[str]:
    return [what, f"{value:.12g}", f"{reference:.12g}", f"{abs(value - reference):.1e}", source]


def main() -> None:
    rows = []
    vdp = models.van_der_pol(1.0)
    for method in ("collocation", "shooting"):
        orbit = periodic_orbit(vdp, [2.0, 0.0], method=method)
        rows.append(row(f"van der Pol mu=1: period ({method})", orbit.period, VDP_PERIOD, "Andersen & Geer 1982"))
        rows.append(row(f"van der Pol mu=1: multiplier ({method})", orbit.nontrivial[0].real,
                        liouville_multiplier(1.0, orbit.x[0], orbit.period), "Liouville, solve_ivp"))
    for mu in (5.0, 10.0, 20.0):
        T = periodic_orbit(models.van_der_pol(mu), [2.0, 0.0], ntst=100).period
        rows.append(row(f"van der Pol mu={mu:g}: T / ((3 - 2 ln 2) mu)", T / ((3 - 2 * np.log(2)) * mu), 1.0,
                        "relaxation asymptote"))
        rows.append(row(f"van der Pol mu={mu:g}: T / (... + 3 a mu^(-1/3))",
                        T / ((3 - 2 * np.log(2)) * mu + 3 * AIRY_ZERO * mu ** (-1 / 3)), 1.0, "with the next term"))

    mu, w = 0.5, 1.3
    hopf = System.from_strings({"x": "m*x - w*y - x*(x**2 + y**2)", "y": "w*x + m*y - y*(x**2 + y**2)"},
                               {"m": mu, "w": w})
    orbit = periodic_orbit(hopf, [0.5, 0.0])
    rows.append(row("Hopf normal form: radius", float(np.linalg.norm(orbit.x, axis=1).mean()), np.sqrt(mu),
                    "sqrt(mu)"))
    rows.append(row("Hopf normal form: period", orbit.period, TWO_PI / w, "2 pi / omega"))
    rows.append(row("Hopf normal form: multiplier", orbit.nontrivial[0].real, np.exp(-2 * mu * TWO_PI / w),
                    "exp(-2 mu 2 pi / omega)"))

    bruss = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 1.5})
    (h,) = [b for b in continuation(bruss, "B", [1.0, 1.5], p_span=(1.5, 4.0)).bifurcations if b.kind == "hopf"]
    rows.append(row("Brusselator: Hopf point B_H", h.p, 2.0, "1 + A^2"))
    branch = continuation(bruss, "B", h, p_span=(2.0, 4.0), tol=1e-12)
    rows.append(row(f"Brusselator: period at B - B_H = {branch.p[0] - h.p:.1e}", branch.period[0], TWO_PI,
                    "2 pi / A (the limit)"))
    near = (branch.p > 2.0) & (branch.p < 2.05)
    slope = np.polyfit(np.log(branch.p[near] - h.p), np.log(branch.amplitude[near]), 1)[0]
    rows.append(row("Brusselator: d log amplitude / d log(B - B_H)", slope, 0.5, "Hopf normal form"))
    for B in (3.0, 4.0):
        k = int(np.argmin(np.abs(branch.p - B)))
        reference = return_time(bruss.with_params(B=branch.p[k]), [2.0, B], 0, 1.0, 100.0)
        rows.append(row(f"Brusselator: period at B = {branch.p[k]:.6g}", branch.period[k], reference, "solve_ivp"))

    r2 = "(x**2 + y**2)"
    bautin = System.from_strings({"x": f"x*(b1 + b2*{r2} - {r2}**2) - y", "y": f"y*(b1 + b2*{r2} - {r2}**2) + x"},
                                 {"b1": -0.3, "b2": 1.0})
    (h,) = [b for b in continuation(bautin, "b1", [0.0, 0.0], p_span=(-0.3, 0.3)).bifurcations if b.kind == "hopf"]
    (fold,) = [b for b in continuation(bautin, "b1", h, p_span=(-0.3, 0.3), ntst=20).bifurcations
               if b.kind == "fold_cycle"]
    rows.append(row("Bautin: fold of cycles b1", fold.p, -0.25, "-b2^2 / 4"))

    R = "sqrt(x**2 + y**2)"
    rho, cos, sin = f"({R} - 1)", f"(x/{R})", f"(y/{R})"
    a, b = "((p + l2)/2)", "((p - l2)/2)"
    radial = f"-(w/2)*z + {a}*{rho} + {b}*({cos}*{rho} + {sin}*z)"
    vertical = f"(w/2)*{rho} + {a}*z + {b}*({sin}*{rho} - {cos}*z)"
    twisted = System.from_strings({"x": f"({radial})*{cos} - w*y", "y": f"({radial})*{sin} + w*x", "z": vertical},
                                  {"p": -0.2, "l2": -1.0, "w": 1.0})
    t = np.linspace(0, TWO_PI, 64, endpoint=False)
    circle = PeriodicOrbit(twisted, TWO_PI, np.column_stack([np.cos(t), np.sin(t), 0 * t]), np.ones(3))
    (pd,) = continuation(twisted, "p", circle, p_span=(-0.2, 0.2), ntst=10).bifurcations
    rows.append(row(f"twisted flow: {pd.kind} p", pd.p, 0.0, "closed form"))
    lorenz = models.lorenz()
    X = solve_ivp(_ode(lorenz), (0, 160), [1.0, 1.0, 20.0], method="DOP853", rtol=1e-10, atol=1e-10,
                  dense_output=True).sol(np.arange(20, 160, 0.01)).T
    k = int(np.argmin(np.linalg.norm(X[156:] - X[:-156], axis=1)))  # a close return after about 1.56
    ab = periodic_orbit(lorenz, X[k], period=1.56)
    end = solve_ivp(_ode(lorenz), (0, ab.period), ab.x[0], method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    rows.append(row("Lorenz AB (index 1): |phi_T(x0) - x0|", float(np.linalg.norm(end - ab.x[0])), 0.0,
                    f"solve_ivp, T = {ab.period:.10f}"))
    rows.append(row("Lorenz AB: product of the multipliers", float(np.prod(ab.multipliers).real),
                    float(np.exp(-(10 + 1 + 8 / 3) * ab.period)), "Liouville: exp(-(s+1+b) T)"))
    print(format_table(["quantity", "dynsys", "reference", "|error|", "reference from"], rows))


if __name__ == "__main__":
    main()
