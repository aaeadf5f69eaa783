"""Continuation of periodic orbits (limit cycles) of flows in a parameter, and the cycle bifurcations on the way.

A branch of cycles is a curve y(s) = (z(s), p(s)) of solutions of the
periodic boundary-value problem discretised by orthogonal collocation
(:class:`dynsys.periodic_orbits.collocation.Collocation`: z holds the
profile u at the N = ntst · ncol + 1 mesh nodes of the rescaled period
τ ∈ [0, 1] and the period T):

    G(z, p) = ( u'(ζ) − T f(u(ζ), p) at the Gauss points ζ,  u(0) − u(1),  ∫₀¹ ⟨u, v'⟩ dτ ) = 0,

with the integral phase condition against a reference profile v: the
predicted point of each step (the previous cycle moved along the secant),
as in AUTO-07p (E. J. Doedel et al., *AUTO-07p* manual, ch. 6; Doedel,
Keller and Kernévez, Int. J. Bifurcation and Chaos 1, 1991).  It is traced
by the pseudo-arclength machinery of :mod:`dynsys.arclength` — Newton's
method on the bordered system [[G_z, G_p], [dᵀ]], sparse, solved by
``scipy.sparse.linalg.splu`` — in the scaled unknowns y = (z_u / √N, T, p),
so that the arclength measures the profile by its root mean square over the
period (AUTO's L² norm) rather than by the number of nodes.

The mesh adapts along the branch, as AUTO's does: when the collocation
error estimate h_j ρ_j (:meth:`Collocation.error_density`) of a new cycle is
no longer equidistributed over the intervals (its maximum above twice its
mean), the last cycle is moved onto a mesh that equidistributes it
(:meth:`Collocation.adapt`, the same number of intervals), corrected there,
and the branch goes on from it (:meth:`dynsys.arclength.Problem.resume`).
Special points between cycles on two meshes are located on the newer one.
For the van der Pol oscillator at μ = 4 this keeps the period to 1e-10,
where the uniform mesh of 60 intervals is off by 4e-7.

The Floquet multipliers of every point come from its monodromy matrix
(:func:`dynsys.periodic_orbits.floquet.floquet_multipliers`); the trivial
one (1) is kept apart.  Special points are sign changes of test functions
between two consecutive points (Yu. A. Kuznetsov, *Elements of Applied
Bifurcation Theory*, 3rd ed., Springer 2004, ch. 10; the MatCont and
AUTO-07p manuals), located by the Illinois method
(:func:`dynsys.arclength.locate_zero`) to the Newton tolerance:

=======================  ====================================================
kind                     test function
=======================  ====================================================
``"fold_cycle"``         τ_p, the parameter component of the tangent (a
                         second multiplier through +1; stability changes)
``"period_doubling"``    μ + 1 of the real non-trivial multiplier nearest −1
``"neimark_sacker"``     |μ| − 1 of the non-real multiplier pair nearest the
                         unit circle (detected when the number of non-real
                         multipliers with |μ| > 1 changes)
=======================  ====================================================

**From a Hopf point** (Kuznetsov 2004, section 3.5 and 10.2.2): with q the
unit critical eigenvector of Df(x_H) for iω, l₁ the first Lyapunov
coefficient in Kuznetsov's normalisation and μ' = d Re λ / dp along the
branch of equilibria, the cycles near the Hopf point are

    x(t) ≈ x_H + ε Re(q e^{iωt}),   T ≈ 2π/ω,   (ε/2)² = −μ' (p − p_H) / (ω l₁),

on the side of p_H where μ'(p − p_H)/l₁ < 0.  The first cycle, predicted
with ε = ds, is corrected in the hyperplane normal to the direction from
the Hopf point (amplitude 0, period 2π/ω) to the prediction, and the branch
is traced from there away from the Hopf point.  A branch that comes back
to a Hopf point stops there (``stop_reason`` ``"hopf"``): where the cycle's
deviation from its mean turns over (the step crossed amplitude 0) or
shrinks to 10⁻³ of the previous one.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from ._io import SavedResult
from ._validate import check_count, check_real
from .arclength import (
    CROSSING_TOL,
    Bifurcation,
    NoConvergence,
    Point,
    Problem,
    TestFn,
    check_steps,
    format_rows,
    increasing,
    last_unit,
    locate_zero,
    nearest_pair,
    on_the_boundary,
    real_nearest_minus_one,
    trace_branch,
    unit_circle_pair,
)
from .periodic_orbits import Collocation, PeriodicOrbit
from .systems import System, check_system

FORMAT = "dynsys.CycleBranch"
FORMAT_VERSION = 1
DIRECTIONS = ("both", "forward", "backward")
ARRAYS = ("p", "period", "x", "multipliers", "trivial", "index", "stable", "s", "residual")  # CycleBranch's arrays
TURNED = 1e-3  # a step whose cycle deviates from its mean by less than this times the last one reached a Hopf point
HOPF_TOL = 1e-6  # a Hopf start must be an equilibrium with an eigenvalue iω to this relative accuracy
REMESH = 2.0  # remesh when max h_j ρ_j > this times its mean (the error then differs by 2^(ncol+1) = 32)
REMESH_AGAIN = 1.5  # ... or, after a remesh that left it at e, when it exceeds this times e
COLLAPSED = 1e-6  # a corrected start whose profile varies by less than this (relative) is an equilibrium
BORDER_SEED = 0  # the fixed random row of the first tangent's bordered system


# ---------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class CycleBranch(SavedResult):
    """A branch of periodic orbits (cycles) of a flow, traced by :func:`cycle_continuation`.

    Attributes
    ----------
    p : ndarray of shape (m,)
        The parameter along the branch.
    period : ndarray of shape (m,)
        The cycles' periods T.
    x : ndarray of shape (m, M, n)
        Each cycle at the M uniform times k T / M, k = 0, ..., M − 1 (as
        :attr:`PeriodicOrbit.x`).
    multipliers : ndarray of shape (m, n), complex
        The Floquet multipliers of each cycle, by decreasing modulus, the
        trivial one included.
    trivial : ndarray of shape (m,), int
        The index of the trivial multiplier in each row.
    index : ndarray of shape (m,), int
        The number of non-trivial multipliers outside the unit circle.
    stable : ndarray of shape (m,), bool
        Every non-trivial multiplier inside the unit circle.
    s : ndarray of shape (m,)
        The arclength in the scaled unknowns (see :mod:`dynsys.cycle_continuation`)
        from the starting cycle (s = 0; negative on the part traced
        backwards), increasing along the arrays.
    residual : ndarray of shape (m,)
        max |G| of the collocation equations where Newton's method stopped.
    bifurcations : tuple of Bifurcation
        ``"fold_cycle"``, ``"period_doubling"`` and ``"neimark_sacker"``
        points ordered by ``s``; their ``x`` is the cycle's state at phase
        0, ``eigenvalues`` its multipliers, ``period`` its period,
        ``frequency`` (Neimark–Sacker) the angle arg μ ∈ (0, π).
    system : System
        The flow (its other parameters fixed at their values).
    param : str
        The parameter varied.
    stop_reason : (str, str)
        Why each end stopped, the end at ``s[0]`` first: ``"p_span"``,
        ``"closed"``, ``"max_steps"``, ``"dsmin"`` (as for
        :class:`~dynsys.continuation.Branch`), ``"hopf"`` (the branch
        starts at a Hopf point, or came back to one: its next step crossed
        amplitude 0, so that it ends within one step of the Hopf point) or
        ``"start"`` (that direction was not traced).

    Examples
    --------
    The Hopf normal form x' = μx − y − x r², y' = x + μy − y r² has the
    cycles r = √μ, period 2π, non-trivial multiplier exp(−4πμ):

    >>> from dynsys import System, continuation
    >>> hopf = System.from_strings({"x": "mu*x - y - x*(x**2 + y**2)", "y": "x + mu*y - y*(x**2 + y**2)"},
    ...                            {"mu": -0.1})
    >>> point = continuation(hopf, "mu", [0.0, 0.0], p_span=(-0.1, 0.5)).bifurcations[0]
    >>> cycles = continuation(hopf, "mu", point, p_span=(-0.1, 0.5), ntst=20, tol=1e-12)
    >>> cycles.stop_reason, bool(np.allclose(cycles.amplitude, np.sqrt(cycles.p), atol=1e-8))
    (('hopf', 'p_span'), True)
    >>> bool(np.allclose(cycles.multipliers[:, 1], np.exp(-4 * np.pi * cycles.p), atol=1e-8))
    True
    >>> cycles.orbit(-1).label
    'stable cycle'
    """

    p: np.ndarray
    period: np.ndarray
    x: np.ndarray
    multipliers: np.ndarray
    trivial: np.ndarray
    index: np.ndarray
    stable: np.ndarray
    s: np.ndarray
    residual: np.ndarray
    bifurcations: tuple[Bifurcation, ...]
    system: System
    param: str
    stop_reason: tuple[str, str]

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION
    check_target = staticmethod(check_system)

    def __post_init__(self) -> None:
        check_system(self.system)
        for name, dtype in zip(ARRAYS, (float, float, float, complex, int, int, bool, float, float)):
            arr = np.array(getattr(self, name), dtype=dtype)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        m, n = len(self.p), self.system.dim
        if self.x.ndim != 3 or self.x.shape[0] != m or self.x.shape[2] != n or self.x.shape[1] < 2:
            raise ValueError(f"x must have shape ({m}, M, {n}) with M >= 2 for {m} cycles of dimension {n}, "
                             f"got {self.x.shape}")
        shapes = {"period": (m,), "multipliers": (m, n), "trivial": (m,), "index": (m,), "stable": (m,),
                  "s": (m,), "residual": (m,)}
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must have shape {shape} for {m} cycles of dimension {n}, "
                                 f"got {getattr(self, name).shape}")
        if self.param not in self.system.params:
            raise ValueError(f"param {self.param!r} is not a parameter of {self.system.name}: "
                             f"{list(self.system.params)}")
        object.__setattr__(self, "bifurcations", tuple(self.bifurcations))
        object.__setattr__(self, "stop_reason", tuple(self.stop_reason))

    def __len__(self) -> int:
        return len(self.p)

    def __repr__(self) -> str:
        kinds = ", ".join(b.kind for b in self.bifurcations)
        return (f"CycleBranch({self.system.name!r} in {self.param}, {len(self)} cycles, "
                f"{self.p.min():.6g} <= {self.param} <= {self.p.max():.6g}, bifurcations=[{kinds}])")

    @property
    def amplitude(self) -> np.ndarray:
        """max_t |x(t) − x̄| of each cycle (as :attr:`PeriodicOrbit.amplitude`): shape (m,).

        Examples
        --------
        See :class:`CycleBranch`.
        """
        mean = self.x.mean(axis=1, keepdims=True)
        return np.max(np.linalg.norm(self.x - mean, axis=2), axis=1)

    def orbit(self, k: int) -> PeriodicOrbit:
        """The k-th cycle as a :class:`PeriodicOrbit` (its system at p[k]).

        Examples
        --------
        See :class:`CycleBranch`.
        """
        k = range(len(self))[k]
        return PeriodicOrbit(self.system.with_params(**{self.param: float(self.p[k])}), float(self.period[k]),
                             self.x[k], self.multipliers[k], trivial=int(self.trivial[k]),
                             residual=float(self.residual[k]), method="collocation")

    def table(self, max_coordinates: int = 4) -> str:
        """The special points as a text table: kind, parameter, period, state at phase 0, multiplier angle.

        Examples
        --------
        See :func:`cycle_continuation`.
        """
        names = self.system.state_names[:max_coordinates]
        head = (f"{self.system.name}: cycle branch in {self.param}, {self.p.min():.6g} <= {self.param} <= "
                f"{self.p.max():.6g}, {len(self)} cycles, periods {self.period.min():.6g} to "
                f"{self.period.max():.6g}, stopped by {self.stop_reason[0]} / {self.stop_reason[1]}")
        if not self.bifurcations:
            return head + "\n  (no special points)"
        rows = [["kind", self.param, "period", ", ".join(names), "frequency"]]
        for b in self.bifurcations:
            rows.append([b.kind, f"{b.p:.10g}", f"{b.period:.8g}", ", ".join(f"{v:.6g}" for v in b.x[:max_coordinates]),
                         "" if b.frequency is None else f"{b.frequency:.8g}"])
        return "\n".join([head, *format_rows(rows)])

    # ---------------------------------------------------------- round trips (SavedResult)
    def _parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        meta = {
            "system_name": self.system.name,
            "param": self.param,
            "params": self.system.params,
            "stop_reason": list(self.stop_reason),
            "bifurcations": [b._record() for b in self.bifurcations],
        }
        return {name: getattr(self, name) for name in ARRAYS}, meta

    @classmethod
    def _from_parts(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any], system: System) -> CycleBranch:
        if system.kind != "flow" or meta["param"] not in system.params:
            raise ValueError(f"it is a cycle branch of a flow in {meta['param']!r}, but the system given is a "
                             f"{system.kind} with parameters {list(system.params)}")
        params = meta["params"]
        return cls(
            **{name: arrays[name] for name in ARRAYS},
            bifurcations=tuple(Bifurcation._from_record(d) for d in meta["bifurcations"]),
            system=system.with_params(**params) if set(params) <= set(system.params) else system,
            param=meta["param"], stop_reason=tuple(meta["stop_reason"]),
        )


# ---------------------------------------------------------------- the problem
class _CycleProblem(Problem):
    """G(y) = the collocation equations of the cycle z at p, y = (scaled z, p): sparse linear algebra."""

    def __init__(self, system: System, param: str, tol: float, col: Collocation) -> None:
        super().__init__(tol)
        self.system, self.param, self.col = system, param, col
        self.weight = np.append(np.full(col.nodes * col.n, 1 / np.sqrt(col.nodes)), 1.0)  # y[:-1] = weight · z
        self.inverse = sparse.diags(1 / self.weight)
        self.reference = np.zeros((col.nodes, col.n))
        c = np.random.default_rng(BORDER_SEED).standard_normal(col.size + 1)
        self.c = c / np.linalg.norm(c)
        self.remesh_above = REMESH  # the imbalance of the error that makes the next step remesh

    def at(self, p: float) -> System:
        """The system at ``param`` = p."""
        return self.system.with_params(**{self.param: float(p)})

    def unknowns(self, z: np.ndarray, p: float) -> np.ndarray:
        """y of the collocation unknowns z at p."""
        return np.append(self.weight * z, p)

    def z_of(self, y: np.ndarray) -> np.ndarray:
        """The collocation unknowns z of y."""
        return y[:-1] / self.weight

    def profile(self, y: np.ndarray) -> np.ndarray:
        """The cycle's values at the N nodes, u(1) = u(0) dropped: shape (N − 1, n)."""
        return self.col.unpack(self.z_of(y))[0][:-1]

    def correct(self, y: np.ndarray, c: np.ndarray) -> Point:
        """Newton's method (:meth:`Problem.correct`) with the phase condition against the profile of y."""
        self.reference = self.col.unpack(self.z_of(y))[0]
        return super().correct(y, c)

    def evaluate(self, y: np.ndarray) -> Point:
        s, z = self.at(y[-1]), self.z_of(y)
        if not z[-1] > 0:
            raise NoConvergence(f"the period went to {z[-1]:.3g}")
        F = self.col.residual(s, z, self.reference)
        Gp = self.col.param_derivative(s, z, self.param)
        A = sparse.hstack([self.col.jacobian(s, z, self.reference) @ self.inverse, Gp[:, None]], format="csr")
        return Point(y=y, F=F, Fp=Gp, A=A, op=self.col)  # op: the point's mesh

    def bordered_solve(self, point: Point, c: np.ndarray, r: np.ndarray, rtol: float) -> np.ndarray:
        """[[G_y], [cᵀ]]⁻¹ r by a sparse LU factorisation (``rtol`` is for iterative solvers: unused)."""
        M = sparse.vstack([point.A, sparse.csr_matrix(c[None, :])], format="csc")
        try:
            return splu(M).solve(r)
        except RuntimeError as exc:  # exactly singular
            raise NoConvergence(str(exc)) from None

    def first_tangent(self, point: Point) -> np.ndarray:
        """The null vector of G_y: [[G_y], [cᵀ]] t = e_(N+1) with a fixed random c, p increasing."""
        t = self.bordered_solve(point, self.c, last_unit(len(point.y)), self.tangent_rtol)
        return increasing(t / np.linalg.norm(t))

    def begin(self, start: Point) -> None:
        """Back to the mesh of ``start`` (the other direction may have adapted it), and the first threshold."""
        self.col = start.op
        self.remesh_above = REMESH

    def stop(self, current: Point, new: Point) -> str | None:
        """``"hopf"`` where the step from ``current`` to ``new`` crossed a Hopf point (amplitude 0); ``"remesh"``
        where the collocation error of ``new`` is no longer equidistributed over the mesh intervals."""
        a, b = (u - u.mean(axis=0) for u in (self.profile(current.y), self.profile(new.y)))
        if np.sum(a * b) <= 0 or np.linalg.norm(b) < TURNED * np.linalg.norm(a):
            return "hopf"
        return "remesh" if self.imbalance(new) > self.remesh_above else None

    def imbalance(self, point: Point) -> float:
        """max_j / mean_j of h_j ρ_j (ρ the error density of :meth:`Collocation.error_density`): 1 when the
        collocation error, about (h_j ρ_j)^(ncol+1) per interval, is equidistributed."""
        e = np.diff(point.op.mesh) * point.op.error_density(self.z_of(point.y))
        return float(e.max() / max(e.mean(), np.finfo(float).tiny))

    def resume(self, point: Point, reason: str) -> Point | None:
        """After ``"remesh"``: ``point`` on a mesh that equidistributes its error (AUTO's adaptation,
        :meth:`Collocation.adapt`), corrected there, with its tangent."""
        if reason != "remesh":
            return None
        self.col, z = point.op.adapt(self.z_of(point.y))
        direction = self.recast(point.tangent, point.op, self.col)
        try:
            again = self.correct(self.unknowns(z, point.y[-1]), direction)
            again.tangent = self.tangent(again, direction)
        except NoConvergence:
            return None
        self.remesh_above = max(REMESH, REMESH_AGAIN * self.imbalance(again))  # adapt again only if it got worse
        return again

    def recast(self, v: np.ndarray, old: Collocation, new: Collocation) -> np.ndarray:
        """The vector v = (scaled z, p) of the mesh ``old`` on the mesh ``new`` (its polynomials at the new nodes)."""
        if old is new:
            return v
        z = v[:-1] / self.weight
        profile = old.evaluate(z, new.times)
        return np.append(self.weight * np.append(profile.ravel(), z[-1]), v[-1])

    def on_mesh(self, point: Point, col: Collocation) -> Point:
        """``point`` on the mesh ``col`` (corrected there, with its tangent); ``point`` itself when it is on it."""
        if point.op is col:
            return point
        self.col = col
        direction = self.recast(point.tangent, point.op, col)
        moved = self.correct(self.recast(point.y, point.op, col), direction)
        moved.tangent = self.tangent(moved, direction)
        return moved

    def orbit(self, point: Point) -> PeriodicOrbit:
        """The cycle of ``point`` on a uniform grid, with its multipliers (computed once)."""
        if point.lin is None:
            point.lin = point.op.orbit(self.at(point.y[-1]), self.z_of(point.y),
                                       residual=float(np.abs(point.F).max()))
        return point.lin


# ------------------------------------------------------- special points
def _outside(multipliers: np.ndarray, trivial: np.ndarray) -> np.ndarray:
    """Per cycle, the number of non-real multipliers with |μ| > 1 (Neimark–Sacker detection)."""
    nonreal = np.abs(multipliers.imag) > 1e-12 * np.maximum(1.0, np.abs(multipliers))
    outside = nonreal & (np.abs(multipliers) > 1)
    outside[np.arange(len(trivial)), trivial] = False
    return np.sum(outside, axis=1)


def _assemble(problem: _CycleProblem, points: list[Point], reasons: tuple[str, str], origin: int) -> CycleBranch:
    """The CycleBranch of the corrected points, with their multipliers and located special points."""
    Y = np.array([q.y for q in points])
    chords = [np.linalg.norm(b.y - problem.recast(a.y, a.op, b.op)) for a, b in itertools.pairwise(points)]
    s = np.concatenate([[0.0], np.cumsum(chords)])
    s -= s[origin]
    orbits = [problem.orbit(q) for q in points]
    multipliers = np.array([o.multipliers for o in orbits])
    trivial = np.array([o.trivial for o in orbits])
    tests: dict[str, TestFn] = {
        "fold_cycle": lambda q: float(q.tangent[-1]),
        "period_doubling": lambda q: real_nearest_minus_one(problem.orbit(q).nontrivial),
        "neimark_sacker": lambda q: unit_circle_pair(problem.orbit(q).nontrivial),
    }
    counted = np.diff(_outside(multipliers, trivial)) != 0
    found = []
    for kind, test in tests.items():
        if kind == "neimark_sacker":
            changes = np.flatnonzero(counted)
        else:
            values = np.array([test(q) for q in points])
            changes = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
        for k in changes:
            found.append(_locate(problem, kind, test, points[k], points[k + 1], s[k]))
    found = sorted((b for b in found if b is not None), key=lambda b: b.s)
    return CycleBranch(
        p=Y[:, -1], period=[o.period for o in orbits], x=np.array([o.x for o in orbits]), multipliers=multipliers,
        trivial=trivial, index=[o.index for o in orbits], stable=[o.stable for o in orbits], s=s,
        residual=[o.residual for o in orbits], bifurcations=tuple(found), system=problem.system,
        param=problem.param, stop_reason=reasons,
    )


def _locate(problem: _CycleProblem, kind: str, test: TestFn, a: Point, b: Point, s_a: float) -> Bifurcation | None:
    """The cycle bifurcation where ``test`` vanishes between a and b; None where the change was not a crossing
    (a complex pair became real, or the real multiplier nearest −1 jumped)."""
    if not np.isfinite(test(a) * test(b)) or test(a) * test(b) >= 0:
        return None
    try:
        a = problem.on_mesh(a, b.op)  # a step that remeshed: the bracket on one mesh
    except NoConvergence:
        return None
    problem.col = b.op
    found = locate_zero(problem, test, a, b)
    if found is None:
        return None
    sigma, at, value = found
    orbit = problem.orbit(at)
    frequency = None
    if kind == "period_doubling" and not abs(value) <= CROSSING_TOL:
        return None
    if kind == "neimark_sacker":
        mu = orbit.nontrivial
        k = nearest_pair(mu, np.abs(mu) - 1)
        if k is None or not on_the_boundary(mu[k], float(np.abs(mu[k]) - 1)):
            return None
        frequency = float(np.angle(mu[k]))
    return Bifurcation(kind=kind, p=float(at.y[-1]), x=orbit.x[0], eigenvalues=orbit.multipliers,
                       s=float(s_a + sigma), frequency=frequency, period=orbit.period)


# ---------------------------------------------------------------- starts
def _hopf_start(problem: _CycleProblem, hopf: Bifurcation, ds: float) -> tuple[Point, np.ndarray]:
    """The first cycle of the branch born at ``hopf`` (the normal-form predictor), and its tangent away from it."""
    system, param, col = problem.system, problem.param, problem.col
    x_H, p_H = hopf.x, float(hopf.p)
    omega, l1 = hopf.frequency, hopf.lyapunov
    if omega is None or not omega > 0:
        raise ValueError(f"the Hopf point {hopf} has no frequency > 0")
    if l1 is None or l1 == 0 or not np.isfinite(l1):
        raise ValueError(f"the Hopf point {hopf} has no nonzero first Lyapunov coefficient (a degenerate Hopf "
                         "point): start from a PeriodicOrbit near it instead")
    at_hopf = problem.at(p_H)
    w = np.linalg.eigvals(at_hopf.jacobian(x_H[None])[0])
    size = max(1.0, float(np.abs(x_H).max()))
    if (np.abs(at_hopf.rhs(x_H[None])[0]).max() > HOPF_TOL * size
            or np.min(np.abs(w - 1j * omega)) > HOPF_TOL * max(1.0, omega)):
        raise ValueError(f"{hopf} is not a Hopf point of {system.name} in {param} (with its other parameters "
                         f"{ {k: v for k, v in system.params.items() if k != param} }): f(x) != 0 or no "
                         f"eigenvalue i*{omega:.6g} there; the eigenvalues are {np.round(w, 6).tolist()}")
    q, rate = hopf_eigenvector(at_hopf, param, x_H, omega)
    if rate == 0:
        raise ValueError(f"the eigenvalues cross the imaginary axis with zero speed at the Hopf point {hopf}: "
                         "start from a PeriodicOrbit near it instead")
    side = -np.sign(rate * l1)  # cycles where μ'(p − p_H) / l₁ < 0
    eps = ds
    p1 = p_H + side * (eps / 2) ** 2 * omega * abs(l1) / abs(rate)
    T = 2 * np.pi / omega
    profile = x_H + eps * np.real(np.outer(np.exp(2j * np.pi * col.times), q))
    y_hopf = problem.unknowns(col.pack(np.tile(x_H, (col.nodes, 1)), T), p_H)
    y_pred = problem.unknowns(col.pack(profile, T), p1)
    d = (y_pred - y_hopf) / np.linalg.norm(y_pred - y_hopf)
    try:
        start = problem.correct(y_pred, d)
    except NoConvergence as why:
        raise ValueError(f"no cycle of {system.name} found near the Hopf point {hopf} at amplitude {eps:.3g} "
                         f"({why}); try a smaller ds") from None
    return start, problem.tangent(start, d)


def hopf_eigenvector(system: System, param: str, x: Any, omega: float) -> tuple[np.ndarray, float]:
    """The unit critical eigenvector q of Df(x) for iω at a Hopf point, and μ' = d Re λ / dp along the equilibria.

    With ψ the left eigenvector (ψᴴ Df = iω ψᴴ), dλ/dp = ψᴴ (dDf/dp) q / ψᴴ q,
    where dDf/dp = ∂Df/∂p + D²f[dx/dp] is the derivative of the Jacobian along
    the branch of equilibria x(p), dx/dp = −Df⁻¹ ∂f/∂p (Kuznetsov 2004,
    section 3.4); it is taken by central differences of the Jacobian along
    (dx/dp, 1).

    Parameters
    ----------
    system : System
        A flow, at the Hopf point's parameter values.
    param : str
    x : array_like of shape (n,)
        The equilibrium.
    omega : float
        The frequency: the eigenvalue chosen is the one nearest iω.

    Returns
    -------
    q : ndarray of shape (n,), complex
        |q| = 1.
    rate : float
        μ' = Re dλ/dp.

    Examples
    --------
    The Brusselator's Hopf point (A, B/A) at B = 1 + A²: Re λ = (B − 1 − A²)/2, so μ' = 1/2:

    >>> from dynsys import System
    >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 2.0})
    >>> q, rate = hopf_eigenvector(brusselator, "B", [1.0, 2.0], 1.0)
    >>> round(rate, 8), round(float(np.linalg.norm(q)), 12)
    (0.5, 1.0)
    """
    x = np.asarray(x, dtype=float)
    J = system.jacobian(x[None])[0]
    w, V = np.linalg.eig(J)
    k = int(np.argmin(np.abs(w - 1j * omega)))
    q = V[:, k] / np.linalg.norm(V[:, k])
    wl, U = np.linalg.eig(J.T)
    psi = U[:, int(np.argmin(np.abs(wl - w[k])))]  # ψ̄: Jᵀ ψ̄ = λ ψ̄
    dxdp = -np.linalg.solve(J, system.param_derivative(x[None], param)[0])
    p = system.params[param]
    h = np.cbrt(np.finfo(float).eps) * max(1.0, abs(p))
    plus = system.with_params(**{param: p + h}).jacobian((x + h * dxdp)[None])[0]
    minus = system.with_params(**{param: p - h}).jacobian((x - h * dxdp)[None])[0]
    dlam = psi @ ((plus - minus) / (2 * h)) @ q / (psi @ q)
    return q, float(dlam.real)


def _orbit_start(problem: _CycleProblem, orbit: PeriodicOrbit, p0: float) -> Point:
    """The cycle near ``orbit`` at p0, corrected by Newton's method at fixed p."""
    y0 = problem.unknowns(problem.col.from_orbit(orbit), p0)
    try:
        start = problem.correct(y0, last_unit(len(y0)))
        u = problem.profile(start.y)
        if np.abs(u - u.mean(axis=0)).max() <= COLLAPSED * (1 + np.abs(u).max()):
            raise NoConvergence("it collapsed onto an equilibrium")
        return start
    except NoConvergence as why:
        raise ValueError(f"no cycle of {problem.system.name} near the orbit of period {orbit.period:.6g} at "
                         f"{problem.param} = {p0}: Newton's method on the collocation equations did not converge "
                         f"({why}); refine it with periodic_orbit first, or use more mesh intervals (ntst)") from None


def cycle_continuation(
    system: System,
    param: str,
    start: Bifurcation | PeriodicOrbit,
    *,
    p_span: tuple[float, float],
    ds: float | None = None,
    dsmin: float | None = None,
    dsmax: float | None = None,
    max_steps: int = 1000,
    direction: str = "both",
    tol: float = 1e-10,
    ntst: int | None = None,
    ncol: int | None = None,
) -> CycleBranch:
    """Trace the branch of cycles born at a Hopf point, or through a periodic orbit, as ``param`` varies.

    :func:`dynsys.continuation` calls it when its start is a Hopf
    :class:`~dynsys.continuation.Bifurcation` or a :class:`PeriodicOrbit`;
    the method is in :mod:`dynsys.cycle_continuation`.

    Parameters
    ----------
    system : System
        A flow; its other parameters stay at their values.
    param : str
        The parameter to vary, one of ``system.params``.
    start : Bifurcation or PeriodicOrbit
        A ``"hopf"`` point of a branch of equilibria in ``param`` (with its
        first Lyapunov coefficient), from which the branch is traced away;
        or a cycle (its ``system.params[param]``, or else ``system``'s, is
        where the branch starts).
    p_span : (float, float)
        The interval of the parameter, containing the start.
    ds, dsmin, dsmax, max_steps, tol
        As for :func:`dynsys.continuation` (the arclength in the scaled
        unknowns; ``tol`` on the collocation equations' |G|∞, whose rows
        are scaled by the mesh intervals).  From a Hopf point, ds is also
        the amplitude ε of the first cycle predicted.  Near a Hopf point
        the amplitude is ill-conditioned (G changes by O(ε³) with it): an
        error ~ tol / (h ε²) there, h the mesh interval; a smaller ``tol``
        (1e-12) sharpens the smallest cycles.
    direction : {"both", "forward", "backward"}
        From a PeriodicOrbit, as for :func:`dynsys.continuation`; from a
        Hopf point the branch is traced away from it whatever it is.
    ntst, ncol : int, optional
        The collocation mesh (uniform): intervals and degree, by default
        :class:`~dynsys.periodic_orbits.Collocation`'s (60 and 4).

    Returns
    -------
    CycleBranch

    Raises
    ------
    ValueError
        A map; a Bifurcation that is not a Hopf point (or a degenerate one,
        l₁ = 0); ``p_span`` not around the start; no cycle found near the
        start; another bad argument, naming it.

    Examples
    --------
    The Bautin normal form r' = r(β₁ + β₂ r² − r⁴), θ' = 1 at β₂ = 1: the
    subcritical Hopf point β₁ = 0 sends a branch of unstable cycles to
    β₁ < 0, where it folds at β₁ = −β₂²/4 onto the stable cycles
    r² = (β₂ + √(β₂² + 4β₁))/2:

    >>> from dynsys import System, continuation
    >>> bautin = System.from_strings({"x": "x*(b1 + b2*(x**2 + y**2) - (x**2 + y**2)**2) - y",
    ...                               "y": "y*(b1 + b2*(x**2 + y**2) - (x**2 + y**2)**2) + x"}, {"b1": 0.0, "b2": 1.0})
    >>> hopf = Bifurcation("hopf", p=0.0, x=[0.0, 0.0], eigenvalues=[1j, -1j], s=0.0, frequency=1.0, lyapunov=2.0)
    >>> cycles = cycle_continuation(bautin, "b1", hopf, p_span=(-0.5, 0.5), ntst=20)
    >>> fold = cycles.bifurcations[0]
    >>> fold.kind, round(fold.p, 8), round(fold.period, 8)
    ('fold_cycle', -0.25, 6.28318531)
    >>> cycles.stable[[0, -1]], cycles.stop_reason
    (array([False,  True]), ('hopf', 'p_span'))
    >>> print(cycles.table())  # doctest: +NORMALIZE_WHITESPACE
    system: cycle branch in b1, ... <= b1 <= 0.5, ... cycles, periods 6.28319 to 6.28319, stopped by hopf / p_span
      kind        b1     period     x, y
      fold_cycle  -0.25  6.2831853  0.707107, ...
    >>> again = CycleBranch.from_json(cycles.to_json(), bautin)
    >>> np.array_equal(again.x, cycles.x), again.bifurcations[0].p == fold.p
    (True, True)
    """
    check_system(system)
    if system.kind != "flow":
        raise ValueError(f"cycle continuation needs a flow; {system.name} is a map (continue the fixed points of "
                         "system.iterate(k) for its period-k points)")
    if param not in system.params:
        raise ValueError(f"param {param!r} is not a parameter of {system.name}; its parameters are "
                         f"{list(system.params)}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if isinstance(start, Bifurcation):
        if start.kind != "hopf":
            raise ValueError(f"start must be a Hopf point (kind 'hopf') or a PeriodicOrbit, got a {start.kind!r} "
                             "Bifurcation")
        if start.x.shape != (system.dim,):
            raise ValueError(f"start is a Hopf point in dimension {start.x.size}, {system.name} has {system.dim}")
        p0 = float(start.p)
    elif isinstance(start, PeriodicOrbit):
        if start.system.dim != system.dim:
            raise ValueError(f"start is a cycle in dimension {start.system.dim}, {system.name} has {system.dim}")
        p0 = float(start.system.params.get(param, system.params[param]))
    else:
        raise TypeError(f"start must be a Hopf Bifurcation or a PeriodicOrbit, got {type(start).__name__}")
    try:
        span, ds, dsmin, dsmax, max_steps = check_steps(p_span, p0, param, ds, dsmin, dsmax, max_steps)
    except ValueError:  # a Hopf point located at an end of the span up to rounding counts as inside
        ends = np.asarray(p_span, dtype=float).ravel() if np.size(p_span) == 2 else np.array([np.inf])
        edge = float(ends[np.argmin(np.abs(ends - p0))])
        if not (isinstance(start, Bifurcation) and abs(edge - p0) <= 1e-9 * max(1.0, abs(edge))):
            raise
        span, ds, dsmin, dsmax, max_steps = check_steps(p_span, edge, param, ds, dsmin, dsmax, max_steps)
    tol = check_real(tol, "tol", positive=True)
    mesh = {name: check_count(v, name) for name, v in (("ntst", ntst), ("ncol", ncol)) if v is not None}
    col = Collocation(system.dim, **mesh)
    problem = _CycleProblem(system, param, tol, col)
    if isinstance(start, Bifurcation):
        first, t = _hopf_start(problem, start, ds)
        if not span[0] <= first.y[-1] <= span[1]:
            raise ValueError(f"the cycles born at the Hopf point {param} = {p0} lie on the side {param} "
                             f"{'<' if first.y[-1] < p0 else '>'} {p0}, outside p_span = {p_span!r}")
        points, (_, reason), origin = trace_branch(problem, first, t, "forward", span, ds, dsmin, dsmax, max_steps)
        return _assemble(problem, points, ("hopf", reason), origin)
    first = _orbit_start(problem, start, p0)
    points, reasons, origin = trace_branch(problem, first, problem.first_tangent(first), direction, span, ds,
                                           dsmin, dsmax, max_steps)
    return _assemble(problem, points, reasons, origin)
