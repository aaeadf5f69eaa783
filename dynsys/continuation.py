"""Continuation of fixed points in a parameter, and the bifurcations found on the way.

(Of periodic orbits too: :func:`continuation` from a Hopf point or a
:class:`~dynsys.periodic_orbits.PeriodicOrbit` traces a branch of cycles, a
:class:`~dynsys.cycle_continuation.CycleBranch`; the method is in
:mod:`dynsys.cycle_continuation`, the pseudo-arclength machinery that both
share in :mod:`dynsys.arclength`.)

A branch is a curve y(s) = (x(s), p(s)) in R^(n+1) of solutions of
G(y) = F(x, p) = 0, with F the residual of the system (f for a flow, g − x
for a map), parametrised by its arclength s.  :func:`continuation` traces it
by pseudo-arclength continuation (H. B. Keller, "Numerical solution of
bifurcation and nonlinear eigenvalue problems", in *Applications of
Bifurcation Theory*, Academic Press 1977): from a point y_k on the branch a
predictor steps by ds along the direction d (the tangent at the first step,
the secant d = (y_k − y_(k−1)) / |y_k − y_(k−1)| afterwards), and Newton's
method solves the bordered system

    F(x, p) = 0,   dᵀ (y − y_k) = ds,   with the matrix  [[DF, F_p], [dᵀ]],

which stays regular at folds, where DF alone is singular.  The tangent τ at
each point solves [[DF, F_p], [dᵀ]] τ = e_(n+1), normalised: the null vector
of G_y = [DF | F_p], oriented along the branch.

Special points are sign changes of test functions between two consecutive
points of the branch (Yu. A. Kuznetsov, *Elements of Applied Bifurcation
Theory*, 3rd ed., Springer 2004, ch. 10; W. Govaerts, *Numerical Bifurcation
Analysis of Equilibria*, SIAM 2000; the AUTO-07p and MatCont manuals):

========================  ===================================================
kind                      test function
========================  ===================================================
``"fold"``                τ_p, the parameter component of the tangent (a real
                          eigenvalue of DF through 0: a flow's eigenvalue 0,
                          a map's multiplier +1)
``"branch_point"``        det [[DF, F_p], [τᵀ]], which vanishes where G_y
                          loses rank (two branches cross)
``"hopf"`` (flows)        Re λ of the complex pair nearest the imaginary axis
                          (detected when the number of non-real eigenvalues
                          with Re λ > 0 changes; a real pair λ₁ + λ₂ = 0, a
                          neutral saddle, is not a Hopf point)
``"flip"`` (maps)         det(Dg + I) (a real multiplier through −1)
``"neimark_sacker"``      |μ| − 1 of the non-real multiplier pair nearest the
(maps)                    unit circle (detected when the number of non-real
                          multipliers with |μ| > 1 changes)
========================  ===================================================

Each is located by the Illinois method (secant steps that keep it bracketed) on
its test function along the branch between the two points, every trial
point corrected onto the branch by Newton's method with the arclength
constraint, to the Newton tolerance: |p − p*| of order 1e-12 on smooth
problems.  At a branch point the tangent of the other branch comes from the
algebraic branching equation (E. L. Allgower and K. Georg, *Introduction to
Numerical Continuation Methods*, SIAM 2003, section 8.3).

*Two solvers* (``solver=``, chosen as the fixed-point search chooses, see
:func:`continuation`).  ``"dense"`` forms DF (n × n) at every corrector
iteration and solves the bordered systems by LU: O(n³) per iteration, all
n eigenvalues per point.  ``"matrix-free"`` never forms DF, for networks of
thousands of units:

- the bordered systems [[DF, F_p], [cᵀ]] z = r of the corrector and of the
  tangent are solved by restarted GMRES (Y. Saad and M. H. Schultz, SIAM J.
  Sci. Stat. Comput. 7, 1986) on the operator z ↦ (DF z_x + F_p z_p, cᵀ z)
  built from the system's Jacobian-vector products
  (:meth:`~dynsys.System.residual_operator`, its state-dependent factors
  computed once per point) and :meth:`~dynsys.System.param_derivative`: an
  inexact Newton method (relative residual ``GMRES_NEWTON_RTOL`` per
  corrector step, ``GMRES_RTOL`` for the tangent and the test function
  below, restart ``GMRES_RESTART``), O(k n²) per solve for a network with
  k GMRES iterations, O(n) memory per vector;
- folds, as on the dense path, from τ_p;
- branch points from the bordered test function of Govaerts (2000, ch. 3;
  MatCont's and BifurcationKit's device for large problems): with fixed
  random unit vectors b, c ∈ R^(n+1) (seeded, the same along the branch),
  M = [[DF, F_p], [τᵀ]] and γ = cᵀ M⁻¹ b (one GMRES solve),
  g = −1/γ is the last component of the solution of
  [[M, b], [cᵀ, 0]] (w, g) = (0, 1); by Cramer's rule
  g = det M / det [[M, b], [cᵀ, 0]] up to the fixed sign, so g changes sign
  where det M does (the bordered matrix of the extended system is regular
  there for generic b, c).  A sign change of g through a pole (γ = 0, not
  a zero of det M) is told apart by the location: it is kept only where
  |g| at the located point is below its values at the bracket's ends.
  The second branch's tangent is not computed on this path;
- eigenvalues: only the ``LEADING_EIGENVALUES`` (k = 6, or n when n ≤ 2k + 1)
  leading ones of Df or Dg per point, by ARPACK (scipy.sparse.linalg.eigs
  on the Jacobian-vector product, ``which="LR"`` for a flow, ``"LM"`` for a
  map; warm-started from the previous point's leading eigenvector), so that
  :attr:`Branch.eigenvalues` has shape (m, k) and :attr:`Branch.index`
  counts only the unstable eigenvalues among these k (stability, decided
  by the rightmost or largest one, is exact).  Hopf and Neimark–Sacker
  points are detected and located from these leading eigenvalues as on
  the dense path, flips from the real leading multiplier nearest −1 (its
  μ + 1 changes sign) — a flip needs a multiplier −1 among the k of
  largest modulus, i.e. none larger than 1 in modulus hidden behind it.
  The first Lyapunov coefficient at a located Hopf point still forms the
  Jacobian there, once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

from ._io import SavedResult
from ._validate import check_real
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
from .cycle_continuation import CycleBranch, cycle_continuation
from .fixed_points import find_fixed_points
from .linearize import Linearization, linearize_matrix
from .normal_forms import first_lyapunov_coefficient
from .periodic_orbits import PeriodicOrbit
from .systems import System, check_system

FORMAT = "dynsys.Branch"
FORMAT_VERSION = 1

DIRECTIONS = ("both", "forward", "backward")
SOLVERS = ("auto", "dense", "matrix-free")
LEADING_EIGENVALUES = 6  # eigenvalues per point on the matrix-free path
DENSE_MAX_DIM = 128  # "auto" continues matrix-free above this dimension (when it can): the whole spectrum below
GMRES_NEWTON_RTOL = 1e-8  # relative residual of a matrix-free corrector step (inexact Newton)
GMRES_RTOL = 1e-11  # of a matrix-free tangent and branch-point test solve
GMRES_RESTART = 80
GMRES_MAXITER = 20  # restarts at most
EIGS_TOL = 1e-10  # ARPACK's relative accuracy of the leading eigenvalues
BORDER_SEED = 0  # the fixed bordering vectors of the matrix-free branch-point test

Direction = Literal["both", "forward", "backward"]


# ---------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Branch(SavedResult):
    """A branch of fixed points (x(s), p(s)) traced by :func:`continuation`.

    Attributes
    ----------
    p : ndarray of shape (m,)
        The parameter along the branch.
    x : ndarray of shape (m, n)
        The fixed points.
    eigenvalues : ndarray of shape (m, n), or (m, k) on the matrix-free path, complex
        Of Df (flow) or Dg (map) at each point, sorted as
        :func:`dynsys.linearize` sorts them (decreasing Re for a flow,
        decreasing modulus for a map); on the matrix-free path only the k
        leading ones (k = ``LEADING_EIGENVALUES``, see
        :mod:`dynsys.continuation`).
    index : ndarray of shape (m,), int
        dim E^u at each point (on the matrix-free path: the unstable
        eigenvalues among the k leading ones only).
    stable : ndarray of shape (m,), bool
        Whether the point is a hyperbolic attractor (index 0, no centre
        direction).
    s : ndarray of shape (m,)
        Arclength in (x, p) from the starting point (s = 0; negative on the
        part traced backwards), increasing along the arrays.
    bifurcations : tuple of Bifurcation
        The special points, ordered by their ``s``.
    system : System
        The system continued (its other parameters fixed at their values).
    param : str
        The parameter varied.
    stop_reason : (str, str)
        Why each end stopped, the end at ``s[0]`` first: ``"p_span"`` (the
        branch left the span: the last point lies on its boundary),
        ``"closed"`` (the branch returned to its start: an isola),
        ``"max_steps"``, ``"dsmin"`` (Newton failed even at ``dsmin``), or
        ``"start"`` (that direction was not traced).

    Examples
    --------
    The logistic map's fixed point 1 − 1/r loses stability at r = 3 by a
    flip (its multiplier 2 − r passes −1):

    >>> from dynsys import models
    >>> branch = continuation(models.logistic(r=2.5), "r", [0.6], p_span=(2.0, 3.5))
    >>> branch.stop_reason, [b.kind for b in branch.bifurcations]
    (('p_span', 'p_span'), ['flip'])
    >>> bool(np.allclose(branch.x[:, 0], 1 - 1 / branch.p))
    True
    >>> round(branch.bifurcations[0].p, 10)
    3.0
    >>> print(branch.table())  # doctest: +NORMALIZE_WHITESPACE
    logistic: branch in r, 2 <= r <= 3.5, ... points, stopped by p_span / p_span
      kind  r             s  x
      flip  3  ...  0.666667
    """

    p: np.ndarray
    x: np.ndarray
    eigenvalues: np.ndarray
    index: np.ndarray
    stable: np.ndarray
    s: np.ndarray
    bifurcations: tuple[Bifurcation, ...]
    system: System
    param: str
    stop_reason: tuple[str, str]

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION
    check_target = staticmethod(check_system)

    def __post_init__(self) -> None:
        for name, dtype in (("p", float), ("x", float), ("eigenvalues", complex), ("index", int),
                            ("stable", bool), ("s", float)):
            arr = np.array(getattr(self, name), dtype=dtype)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        m, n = len(self.p), self.system.dim
        k = self.eigenvalues.shape[-1] if self.eigenvalues.ndim == 2 and 1 <= self.eigenvalues.shape[-1] <= n else n
        shapes = {"x": (m, n), "eigenvalues": (m, k), "index": (m,), "stable": (m,), "s": (m,)}
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must have shape {shape} for {m} points of dimension {n}, "
                                 f"got {getattr(self, name).shape}")
        if self.param not in self.system.params:
            raise ValueError(
                f"param {self.param!r} is not a parameter of {self.system.name}: {list(self.system.params)}"
            )
        object.__setattr__(self, "bifurcations", tuple(self.bifurcations))
        object.__setattr__(self, "stop_reason", tuple(self.stop_reason))

    def __len__(self) -> int:
        return len(self.p)

    def __repr__(self) -> str:
        kinds = ", ".join(b.kind for b in self.bifurcations)
        return (f"Branch({self.system.name!r} in {self.param}, {len(self)} points, "
                f"{self.p.min():.6g} <= {self.param} <= {self.p.max():.6g}, bifurcations=[{kinds}])")

    def oscillatory_mode(self) -> tuple[np.ndarray, np.ndarray]:
        """The frequency of the leading oscillatory mode at each point, and whether it grows.

        The leading mode is the non-real eigenvalue pair of largest Re λ
        (flow) or |μ| (map) among :attr:`eigenvalues` (for a matrix-free
        branch, among the leading ones kept); its frequency is |Im λ| (flow,
        per unit time) or |arg μ| (map, radians per step).  Sussillo & Barak
        (2013) read a sine-wave generator's output frequency from it.

        Returns
        -------
        frequency : ndarray of shape (m,)
            NaN where every eigenvalue is real.
        unstable : ndarray of bool, shape (m,)
            The mode grows: Re λ > 0 (flow) or |μ| > 1 (map).

        Examples
        --------
        The Brusselator's focus (A, B/A) has eigenvalues with Im λ = ±A at its Hopf point B = 1 + A²:

        >>> from dynsys import System
        >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.5, "B": 3.0})
        >>> branch = continuation(brusselator, "B", [1.5, 2.0], p_span=(3.0, 3.5))
        >>> frequency, unstable = branch.oscillatory_mode()
        >>> k = int(np.argmin(np.abs(branch.p - 3.25)))
        >>> round(float(frequency[k]), 2), bool(unstable[0]), bool(unstable[-1])
        (1.5, False, True)
        """
        w = self.eigenvalues
        size = np.maximum(1.0, np.abs(w))
        nonreal = np.abs(w.imag) > CROSSING_TOL * size
        growth = w.real if self.system.kind == "flow" else np.abs(w) - 1.0
        score = np.where(nonreal, growth, -np.inf)
        k = np.argmax(score, axis=1)
        lead = w[np.arange(len(w)), k]
        found = nonreal[np.arange(len(w)), k]
        frequency = np.abs(lead.imag) if self.system.kind == "flow" else np.abs(np.angle(lead))
        return np.where(found, frequency, np.nan), found & (score[np.arange(len(w)), k] > 0)

    def table(self, max_coordinates: int = 4) -> str:
        """The special points as a text table: kind, parameter, arclength, state, frequency.

        Examples
        --------
        >>> from dynsys import System
        >>> pitchfork = System.from_strings({"x": "mu*x - x**3"}, {"mu": -1.0})
        >>> branch = continuation(pitchfork, "mu", [0.0], p_span=(-1, 1))
        >>> print(branch.table())  # doctest: +NORMALIZE_WHITESPACE
        system: branch in mu, -1 <= mu <= 1, ... points, stopped by p_span / p_span
          kind          mu  s  x
          branch_point  ... ...  0
        """
        names = self.system.state_names[:max_coordinates]
        head = (f"{self.system.name}: branch in {self.param}, {self.p.min():.6g} <= {self.param} <= "
                f"{self.p.max():.6g}, {len(self)} points, stopped by {self.stop_reason[0]} / {self.stop_reason[1]}")
        if not self.bifurcations:
            return head + "\n  (no special points)"
        rows = [["kind", self.param, "s", ", ".join(names), "frequency"]]
        for b in self.bifurcations:
            rows.append([b.kind, f"{b.p:.10g}", f"{b.s:.6g}", ", ".join(f"{v:.6g}" for v in b.x[:max_coordinates]),
                         "" if b.frequency is None else f"{b.frequency:.8g}"])
        return "\n".join([head, *format_rows(rows)])

    # ---------------------------------------------------------- round trips (SavedResult)
    def _parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {name: getattr(self, name) for name in ("p", "x", "eigenvalues", "index", "stable", "s")}
        meta = {
            "system_name": self.system.name,
            "kind": self.system.kind,
            "param": self.param,
            "params": self.system.params,
            "stop_reason": list(self.stop_reason),
            "bifurcations": [b._record() for b in self.bifurcations],
        }
        return arrays, meta

    @classmethod
    def _from_parts(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any], system: System) -> Branch:
        if meta["kind"] != system.kind or meta["param"] not in system.params:
            raise ValueError(f"it is a branch of a {meta['kind']} in {meta['param']!r}, but the system given is a "
                             f"{system.kind} with parameters {list(system.params)}")
        return cls(
            p=arrays["p"], x=arrays["x"], eigenvalues=arrays["eigenvalues"], index=arrays["index"],
            stable=arrays["stable"], s=arrays["s"],
            bifurcations=tuple(Bifurcation._from_record(d) for d in meta["bifurcations"]),
            system=system.with_params(**meta["params"]) if set(meta["params"]) <= set(system.params) else system,
            param=meta["param"],
            stop_reason=tuple(meta["stop_reason"]),
        )


# ---------------------------------------------------------------- the solver
class _Problem(Problem):
    """G(y) = F(x, p) for one system and parameter, with its derivatives: dense linear algebra."""

    newton_rtol = GMRES_NEWTON_RTOL
    tangent_rtol = GMRES_RTOL

    def __init__(self, system: System, param: str, tol: float) -> None:
        super().__init__(tol)
        self.system, self.param, self.n = system, param, system.dim

    def at(self, y: np.ndarray) -> System:
        """The system at p = y[-1]."""
        return self.system.with_params(**{self.param: float(y[-1])})

    def evaluate(self, y: np.ndarray) -> Point:
        s = self.at(y)
        x = y[None, :-1]
        J = s.jacobian(x)[0]
        DF = J - np.eye(self.n) if s.kind == "map" else J
        Fp = s.param_derivative(x, self.param)[0]
        return Point(y=y, F=s.residual(x)[0], Fp=Fp, A=np.concatenate([DF, Fp[:, None]], axis=1), J=J)

    def bordered_solve(self, point: Point, c: np.ndarray, r: np.ndarray, rtol: float) -> np.ndarray:
        """[[DF, F_p], [cᵀ]]⁻¹ r at ``point`` (``rtol`` is for the iterative solver: unused here)."""
        return _solve(np.vstack([point.A, c]), r)

    def first_tangent(self, point: Point) -> np.ndarray:
        """The null vector of G_y = [DF | F_p] (the last right singular vector), with p increasing."""
        return increasing(np.linalg.svd(point.A)[2][-1])

    def linearization(self, point: Point) -> Linearization:
        if point.lin is None:
            point.lin = linearize_matrix(point.J, self.system.kind, x=point.y[:-1])
        return point.lin

    def eigenvalues(self, point: Point) -> np.ndarray:
        """All eigenvalues of Df or Dg at ``point``, sorted as :func:`dynsys.linearize` sorts them."""
        return self.linearization(point).eigenvalues

    def stability(self, point: Point) -> tuple[int, bool]:
        """dim E^u and whether the point is a hyperbolic attractor."""
        lin = self.linearization(point)
        return lin.index, lin.is_attractor

    def branch_test(self, point: Point) -> float:
        return float(np.linalg.det(np.vstack([point.A, point.tangent])))

    def flip_test(self, point: Point) -> float:
        return float(np.linalg.det(point.J + np.eye(self.n)))


class _MatrixFreeProblem(_Problem):
    """G(y) = F(x, p) with matrix-free linear algebra: GMRES, ARPACK and a bordered test function.

    See the module's docstring ("Two solvers").
    """

    def __init__(self, system: System, param: str, tol: float) -> None:
        super().__init__(system, param, tol)
        n = self.n
        rng = np.random.default_rng(BORDER_SEED)
        self.b, self.c = (v / np.linalg.norm(v) for v in rng.standard_normal((2, n + 1)))
        self.k = n if n <= 2 * LEADING_EIGENVALUES + 1 else LEADING_EIGENVALUES
        # ARPACK's start: seeded at the first point (its own random start depends on earlier ARPACK calls in the
        # process, so results would depend on what ran before), then the last leading eigenvector
        self.v0 = rng.standard_normal(n)

    def evaluate(self, y: np.ndarray) -> Point:
        s = self.at(y)
        x = y[None, :-1]
        return Point(y=y, F=s.residual(x)[0], Fp=s.param_derivative(x, self.param)[0], op=s.residual_operator(x))

    def bordered_solve(self, point: Point, c: np.ndarray, r: np.ndarray, rtol: float) -> np.ndarray:
        """[[DF, F_p], [cᵀ]]⁻¹ r by restarted GMRES on the Jacobian-vector products."""
        n = self.n

        def matvec(z: np.ndarray) -> np.ndarray:
            z = np.ravel(z)
            return np.append(point.op.jvp(z[None, :n])[0] + point.Fp * z[n], c @ z)

        return _gmres(matvec, r, rtol, min(GMRES_RESTART, n + 1))

    def first_tangent(self, point: Point) -> np.ndarray:
        """The null vector of G_y: [[DF, F_p], [cᵀ]] t = e_(n+1) with the fixed random c, p increasing."""
        t = self.bordered_solve(point, self.c, last_unit(self.n + 1), GMRES_RTOL)
        return increasing(t / np.linalg.norm(t))

    def eigenvalues(self, point: Point) -> np.ndarray:
        """The k leading eigenvalues of Df or Dg at ``point`` (ARPACK), sorted as :func:`dynsys.linearize` sorts."""
        if point.spectrum is not None:
            return point.spectrum
        n, flow = self.n, self.system.kind == "flow"

        def matvec(v: np.ndarray) -> np.ndarray:  # J v = DF v (flow) or DF v + v (map), v real
            v = np.ravel(v)
            DFv = point.op.jvp(v[None])[0]
            return DFv if flow else DFv + v

        if self.k == n:  # small: all of them, from the matrix the products give
            w = np.linalg.eigvals(np.array([matvec(e) for e in np.eye(n)]).T)
        else:
            J = LinearOperator((n, n), matvec=matvec, dtype=float)
            which = "LR" if flow else "LM"
            try:
                w, V = eigs(J, k=self.k, which=which, tol=EIGS_TOL, v0=self.v0, ncv=min(n, 4 * self.k + 1))
            except ArpackNoConvergence as exc:
                w, V = self._eigs_again(J, which, exc, point)
            lead = int(np.argmax(w.real if flow else np.abs(w)))
            self.v0 = np.real(V[:, lead]) + np.imag(V[:, lead])
        order = np.lexsort((-w.imag, -(w.real if flow else np.abs(w))))
        point.spectrum = w[order][: self.k]
        return point.spectrum

    def _eigs_again(self, J: LinearOperator, which: str, failed: ArpackNoConvergence,
                    point: Point) -> tuple[np.ndarray, np.ndarray]:
        """The leading eigenpairs after a first ARPACK run that did not converge: what it found, when that is
        all k; else a second run with a larger basis and more iterations; RuntimeError if that fails too."""
        if len(failed.eigenvalues) >= self.k:
            return failed.eigenvalues, failed.eigenvectors
        n = self.n
        try:
            return eigs(J, k=self.k, which=which, tol=EIGS_TOL, v0=self.v0, ncv=min(n, 8 * self.k + 1),
                        maxiter=100 * n)
        except ArpackNoConvergence as exc:
            raise RuntimeError(
                f"ARPACK found {len(exc.eigenvalues)} of the {self.k} leading eigenvalues at {self.param} = "
                f"{point.y[-1]:.6g} of {self.system.name}; solver='dense' computes them all"
            ) from None

    def stability(self, point: Point) -> tuple[int, bool]:
        """The unstable eigenvalues among the k leading ones, and whether all of them are stable."""
        w = self.eigenvalues(point)
        score = w.real if self.system.kind == "flow" else np.abs(w) - 1
        margin = 1e-8 * np.maximum(1.0, np.abs(w))
        return int(np.sum(score > margin)), bool(np.all(score < -margin))

    def branch_test(self, point: Point) -> float:
        """g = −1 / cᵀ M⁻¹ b with M = [[DF, F_p], [τᵀ]]: the sign of det M up to a fixed one (Govaerts 2000)."""
        gamma = self.c @ self.bordered_solve(point, point.tangent, self.b, GMRES_RTOL)
        return float(-1.0 / gamma) if gamma != 0 else np.inf

    def flip_test(self, point: Point) -> float:
        """μ + 1 of the real leading multiplier nearest −1 (NaN when none is real)."""
        return real_nearest_minus_one(self.eigenvalues(point))


def _gmres(matvec: Callable[[np.ndarray], np.ndarray], r: np.ndarray, rtol: float, restart: int) -> np.ndarray:
    """M⁻¹ r by restarted GMRES (Saad and Schultz 1986) to |r − M z| <= rtol |r|, M given by ``matvec``.

    The Arnoldi basis is orthogonalised by classical Gram-Schmidt applied
    twice (two products with the whole basis per iteration instead of a
    loop over its vectors), the Hessenberg matrix reduced by Givens rotations
    as it grows, which give the residual norm at each iteration.  At most ``GMRES_MAXITER`` cycles of ``restart``
    iterations, after which the last iterate is returned (an inexact
    Newton step that fails shows in |F|, and the step is halved).
    """
    z = np.zeros_like(r)
    target = rtol * np.linalg.norm(r)
    res, beta = r, float(np.linalg.norm(r))
    for _ in range(GMRES_MAXITER):
        if beta <= target:
            return z
        Q = np.zeros((restart + 1, len(r)))
        R = np.zeros((restart + 1, restart))  # the Hessenberg matrix, rotated to upper triangular
        cs, sn, g = np.zeros(restart), np.zeros(restart), np.zeros(restart + 1)
        g[0] = beta
        Q[0] = res / beta
        for j in range(restart):
            v = matvec(Q[j])
            h = np.zeros(j + 2)
            for _ in range(2):
                c = Q[: j + 1] @ v
                v = v - c @ Q[: j + 1]
                h[: j + 1] += c
            h[j + 1] = np.linalg.norm(v)
            for i in range(j):  # the earlier rotations
                h[i], h[i + 1] = cs[i] * h[i] + sn[i] * h[i + 1], -sn[i] * h[i] + cs[i] * h[i + 1]
            rho = float(np.hypot(h[j], h[j + 1]))
            cs[j], sn[j] = (h[j] / rho, h[j + 1] / rho) if rho > 0 else (1.0, 0.0)
            breakdown = h[j + 1] <= 1e-14 * beta
            if not breakdown:
                Q[j + 1] = v / h[j + 1]
            h[j], h[j + 1] = rho, 0.0
            R[: j + 2, j] = h
            g[j], g[j + 1] = cs[j] * g[j], -sn[j] * g[j]
            if breakdown or abs(g[j + 1]) <= target:
                break
        diag = np.abs(np.diag(R[: j + 1, : j + 1]))
        if not diag.min() > 0:
            break  # the operator is singular on the Krylov space: keep z
        coef = np.linalg.solve(R[: j + 1, : j + 1], g[: j + 1])
        z = z + coef @ Q[: j + 1]
        res = r - matvec(z)
        beta = float(np.linalg.norm(res))
    return z


def _solve(M: np.ndarray, r: np.ndarray) -> np.ndarray:
    """M⁻¹ r, or the least-squares solution where M is exactly singular (at a branch point itself)."""
    try:
        return np.linalg.solve(M, r)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(M, r)[0]


def continuation(
    system: System,
    param: str,
    x0: Any,
    *,
    p_span: tuple[float, float],
    ds: float | None = None,
    dsmin: float | None = None,
    dsmax: float | None = None,
    max_steps: int = 1000,
    direction: Direction = "both",
    tol: float = 1e-10,
    solver: str = "auto",
    ntst: int | None = None,
    ncol: int | None = None,
) -> Branch | CycleBranch:
    """Trace the branch of fixed points through the one near ``x0`` as ``param`` varies; or of cycles.

    Pseudo-arclength continuation (Keller 1977) with a secant predictor and
    Newton's method on the bordered system [[DF, F_p], [dᵀ]] as corrector
    (see :mod:`dynsys.continuation`), detecting and locating folds, branch
    points, Hopf points (flows), flips and Neimark–Sacker points (maps).

    When ``x0`` is a Hopf :class:`Bifurcation` or a
    :class:`~dynsys.periodic_orbits.PeriodicOrbit`, it traces the branch of
    periodic orbits born there or through it instead, and returns a
    :class:`~dynsys.cycle_continuation.CycleBranch`: see
    :func:`dynsys.cycle_continuation.cycle_continuation` (``ntst``,
    ``ncol`` are its collocation mesh; ``solver`` does not apply).

    Parameters
    ----------
    system : System
        A flow or a map; ``system.params[param]`` is where the branch starts.
    param : str
        The parameter to vary, one of ``system.params``.
    x0 : array_like of shape (n,), or Bifurcation, or PeriodicOrbit
        A guess of the fixed point at the starting value; Newton's method at
        fixed p corrects it first (from afar, the search's Levenberg-Marquardt
        iteration, :func:`dynsys.find_fixed_points` from this one start).
        A Hopf point or a cycle: the branch of cycles (see above).
    p_span : (float, float)
        The interval of the parameter, containing the starting value; the
        branch stops where it leaves it, with a last point on its boundary.
    ds : float, optional
        The first step in arclength of (x, p); by default 1/100 of the span's
        width.
    dsmin, dsmax : float, optional
        The smallest and largest steps; by default ds/10⁶ and 1/10 of the
        span's width.  A step grows ×1.5 (up to ``dsmax``) after a corrector
        that converged in at most 3 Newton iterations and halves after one
        that failed; below ``dsmin`` that end of the branch stops.
    max_steps : int, default 1000
        Steps in each direction at most.
    direction : {"both", "forward", "backward"}
        "forward" starts with p increasing, "backward" with p decreasing;
        "both" traces both and joins them into one branch.
    tol : float, default 1e-10
        Newton's tolerance on |F|∞.
    solver : {"auto", "dense", "matrix-free"}, default "auto"
        The linear algebra (see :mod:`dynsys.continuation`, "Two
        solvers"): "auto" is "matrix-free" for a system with analytic
        Jacobian-vector products (``system.matrix_free``) of dimension
        above DENSE_MAX_DIM = 128, and "dense" otherwise.  On the
        matrix-free path the branch holds only the k leading eigenvalues
        per point and branch points carry no second tangent.

    ntst, ncol : int, optional
        Cycles only: the collocation mesh's intervals and degree.

    Returns
    -------
    Branch or CycleBranch
        The points ordered by arclength, with their eigenvalues, index and
        stability (from :func:`dynsys.linearize.linearize_matrix`, on the
        Jacobians the corrector computed) and the special points; a
        CycleBranch from a Hopf point or a PeriodicOrbit.

    Raises
    ------
    ValueError
        A bad argument (naming it), or no fixed point near ``x0``: Newton's
        method at fixed p did not converge (naming x0 and |F| there).

    Notes
    -----
    Dense linear algebra costs O(n³) per Newton iteration and O(n²)
    memory: for small n.  The matrix-free path costs O(k n²) per bordered
    solve for a network (k GMRES iterations) and O(n) memory per vector,
    plus the ARPACK iterations of the leading eigenvalues per point.

    Examples
    --------
    The pitchfork x' = μ x − x³: the branch x = 0 loses stability at μ = 0,
    a branch point, where the branch x = ±√μ crosses it with the tangent
    (x, μ) = (±1, 0):

    >>> from dynsys import System
    >>> pitchfork = System.from_strings({"x": "mu*x - x**3"}, {"mu": -1.0})
    >>> branch = continuation(pitchfork, "mu", [0.1], p_span=(-1.0, 1.0))
    >>> branch.p[[0, -1]], bool(np.abs(branch.x).max() < 1e-12)
    (array([-1.,  1.]), True)
    >>> bp = branch.bifurcations[0]
    >>> bp.kind, abs(bp.p) < 1e-12, np.round(np.abs(bp.tangent), 12)
    ('branch_point', True, array([1., 0.]))
    >>> branch.index[[0, -1]], branch.stable[[0, -1]]
    (array([0, 1]), array([ True, False]))

    A 200-unit tanh network along an input direction goes matrix-free
    ("auto"): 6 leading eigenvalues per point.

    >>> from dynsys.rnn import VanillaRNN
    >>> rng = np.random.default_rng(0)
    >>> W = 0.9 * rng.standard_normal((200, 200)) / np.sqrt(200)
    >>> net = VanillaRNN(rng.standard_normal((200, 1)), W).system([0.0], along=[0.2])
    >>> big = continuation(net, "s", np.zeros(200), p_span=(-1.0, 1.0))
    >>> big.eigenvalues.shape[1], bool(big.stable.all()), big.stop_reason
    (6, True, ('p_span', 'p_span'))

    The Brusselator's supercritical Hopf point at B = 1 + A² = 2 and its
    branch of stable cycles, whose period tends to 2π/A there:

    >>> brusselator = System.from_strings({"x": "A - (B + 1)*x + x**2*y", "y": "B*x - x**2*y"}, {"A": 1.0, "B": 1.5})
    >>> hopf = continuation(brusselator, "B", [1.0, 1.5], p_span=(1.5, 3.0)).bifurcations[0]
    >>> cycles = continuation(brusselator, "B", hopf, p_span=(1.5, 3.0))
    >>> hopf.kind, cycles.stop_reason, bool(cycles.stable.all()), round(float(cycles.period[0]), 3)
    ('hopf', ('hopf', 'p_span'), True, 6.283)
    """
    check_system(system)
    if param not in system.params:
        raise ValueError(
            f"param {param!r} is not a parameter of {system.name}; its parameters are {list(system.params)}"
        )
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if isinstance(x0, (Bifurcation, PeriodicOrbit)):
        return cycle_continuation(system, param, x0, p_span=p_span, ds=ds, dsmin=dsmin, dsmax=dsmax,
                                  max_steps=max_steps, direction=direction, tol=tol, ntst=ntst, ncol=ncol)
    if ntst is not None or ncol is not None:
        raise ValueError("ntst and ncol are the collocation mesh of a cycle branch: x0 must then be a Hopf "
                         f"Bifurcation or a PeriodicOrbit, got {type(x0).__name__}")
    (lo, hi), ds, dsmin, dsmax, max_steps = check_steps(p_span, system.params[param], param, ds, dsmin, dsmax,
                                                        max_steps)
    p0 = system.params[param]
    tol = check_real(tol, "tol", positive=True)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    x0, single = system.as_batch(x0, "x0")
    if not single:
        raise ValueError(f"x0 must be one state of shape ({system.dim},), got shape {x0.shape}")

    if solver == "auto":
        solver = "matrix-free" if system.matrix_free and system.dim > DENSE_MAX_DIM else "dense"
    problem = (_MatrixFreeProblem if solver == "matrix-free" else _Problem)(system, param, tol)
    e_p = last_unit(system.dim + 1)
    y0 = np.append(x0[0], p0)
    try:
        start = problem.correct(y0, e_p)
    except NoConvergence as why:  # x0 is far: the search's damped Newton (Levenberg-Marquardt) from it, then Newton
        found = find_fixed_points(system, starts=x0, tol=tol).fixed()
        try:
            start = problem.correct(np.append(found.x[0], p0), e_p) if len(found) else None
        except NoConvergence:
            start = None
        if start is None:
            F0 = np.linalg.norm(system.residual(x0[0]), np.inf)
            raise ValueError(f"no fixed point near x0 = {x0[0].tolist()} at {param} = {p0}: Newton's method at "
                             f"fixed {param} did not converge from |F(x0)| = {F0:.3g} ({why}), nor "
                             f"Levenberg-Marquardt") from None
    points, reasons, origin = trace_branch(problem, start, problem.first_tangent(start), direction, (lo, hi), ds,
                                           dsmin, dsmax, max_steps)
    return _assemble(problem, points, reasons, origin)


# ------------------------------------------------------- special points


def _fold(point: Point) -> float:
    return float(point.tangent[-1])


def _hopf(w: np.ndarray) -> float:
    k = nearest_pair(w, w.real)
    return np.nan if k is None else float(w[k].real)


def _crossings(w: np.ndarray, kind: str) -> np.ndarray:
    """Per point, the number of non-real eigenvalues outside the stability region (Hopf, Neimark–Sacker detection)."""
    nonreal = np.abs(w.imag) > 1e-12 * np.maximum(1.0, np.abs(w))
    outside = w.real > 0 if kind == "flow" else np.abs(w) > 1
    return np.sum(nonreal & outside, axis=1)


def _assemble(problem: _Problem, points: list[Point], reasons: tuple[str, str], origin: int) -> Branch:
    """The Branch of the corrected points, with their linearisations and located special points."""
    system = problem.system
    Y = np.array([q.y for q in points])
    chords = np.linalg.norm(np.diff(Y, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(chords)])
    s -= s[origin]
    w = np.array([problem.eigenvalues(q) for q in points])
    index, stable = zip(*(problem.stability(q) for q in points))
    tests: dict[str, TestFn] = {"fold": _fold, "branch_point": problem.branch_test}
    if system.kind == "flow":
        tests["hopf"] = lambda q: _hopf(problem.eigenvalues(q))
        counted = {"hopf": _crossings(w, "flow")}
    else:
        tests["flip"] = problem.flip_test
        tests["neimark_sacker"] = lambda q: unit_circle_pair(problem.eigenvalues(q))
        counted = {"neimark_sacker": _crossings(w, "map")}
    found = []
    for kind, test in tests.items():
        if kind in counted:
            changes = np.flatnonzero(np.diff(counted[kind]) != 0)
        else:
            values = np.array([test(q) for q in points])
            changes = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
        for k in changes:
            found.append(_locate(problem, kind, test, points[k], points[k + 1], s[k]))
    found = [b for b in found if b is not None]
    found.sort(key=lambda b: b.s)
    return Branch(
        p=Y[:, -1], x=Y[:, :-1], eigenvalues=w, index=index, stable=stable, s=s, bifurcations=tuple(found),
        system=system, param=problem.param, stop_reason=reasons,
    )


def _locate(problem: _Problem, kind: str, test: TestFn, a: Point, b: Point, s_a: float) -> Bifurcation | None:
    """The special point where ``test`` vanishes between points a and b (:func:`dynsys.arclength.locate_zero`).

    None when the test does not change sign there (the eigenvalue count
    changed otherwise: a complex pair became real, say), or where the
    located point is not the special point the count announced.
    """
    found = locate_zero(problem, test, a, b)
    if found is None:
        return None
    sigma, at, value = found
    if kind == "branch_point" and isinstance(problem, _MatrixFreeProblem) and not abs(value) < min(abs(test(a)), abs(test(b))):
        return None  # the bordered test function changed sign through a pole, not a zero
    w = problem.eigenvalues(at)
    frequency = tangent = None
    lyapunov = None
    if kind in ("hopf", "neimark_sacker"):
        score = w.real if kind == "hopf" else np.abs(w) - 1
        k = nearest_pair(w, score)
        if k is None or not on_the_boundary(w[k], score[k]):
            return None  # the count of unstable pairs changed as a pair became real, not as one crossed
        frequency = float(w[k].imag) if kind == "hopf" else float(np.angle(w[k]))
        if kind == "hopf":
            at_p = problem.system.with_params(**{problem.param: float(at.y[-1])})
            try:
                lyapunov = first_lyapunov_coefficient(at_p, at.y[:-1], frequency, tol=CROSSING_TOL)
            except ValueError:  # e.g. a zero-Hopf point, where Df is singular: no l1 to give
                lyapunov = None
    if kind == "branch_point" and not isinstance(problem, _MatrixFreeProblem):
        own = a.tangent + b.tangent
        tangent = _other_tangent(problem, at, own / np.linalg.norm(own))
    return Bifurcation(kind=kind, p=float(at.y[-1]), x=at.y[:-1], eigenvalues=w, s=float(s_a + sigma),
                       frequency=frequency, lyapunov=lyapunov, tangent=tangent)


def _other_tangent(problem: _Problem, point: Point, own: np.ndarray) -> np.ndarray | None:
    """The unit tangent of the second branch through a branch point (the algebraic branching equation).

    With e₁, e₂ an orthonormal basis of the null space of G_y (2-dimensional
    at a simple branch point) and ψ the left null vector, the tangents
    α e₁ + β e₂ of the two branches solve ψᵀ G_yy[αe₁ + βe₂, αe₁ + βe₂] = 0,
    a quadratic form in (α, β) whose coefficients come from central
    differences of G_y.  Of its two real root directions, the one further
    from ``own`` (the branch's own tangent, interpolated) is returned; None
    when the form has no real roots.
    """
    U, _, Vt = np.linalg.svd(point.A)
    psi, E = U[:, -1], Vt[-2:]  # left null vector; the two right singular vectors of the smallest singular values
    h = np.cbrt(np.finfo(float).eps) * max(1.0, float(np.linalg.norm(point.y)))
    plus = [problem.evaluate(point.y + h * e).A for e in E]
    minus = [problem.evaluate(point.y - h * e).A for e in E]
    B = np.array([[psi @ ((plus[i] - minus[i]) @ E[j]) / (2 * h) for j in range(2)] for i in range(2)])
    lam, R = np.linalg.eigh((B + B.T) / 2)  # the form is l₁ u² + l₂ v² = 0 in the rotated coordinates (u, v)
    if lam[0] * lam[1] > 0:
        return None
    ratio = np.sqrt(-lam[0] / lam[1]) if lam[1] != 0 else np.inf
    uv = [np.array([1.0, r]) if np.isfinite(ratio) else np.array([0.0, 1.0]) for r in (ratio, -ratio)]
    roots = [E.T @ (R @ c) for c in uv]
    roots = [r / np.linalg.norm(r) for r in roots]
    other = min(roots, key=lambda r: abs(r @ own))
    return other if other[np.argmax(np.abs(other))] > 0 else -other


def switch_branch(system: System, bifurcation: Bifurcation, param: str, h: float, *,
                  tol: float = 1e-10) -> tuple[np.ndarray, float, Direction] | None:
    """The first point of the other branch through a branch point, and the direction away from it.

    From the branch point y* with the other branch's unit tangent τ
    (:attr:`Bifurcation.tangent`), the point y* + h τ is corrected by
    Newton's method in the hyperplane normal to τ, as a pseudo-arclength
    step of length h along τ would be (Doedel et al., *AUTO-07p* manual, ch.
    10); h < 0 takes the other side.

    Parameters
    ----------
    system : System
    bifurcation : Bifurcation
        A ``"branch_point"`` with a ``tangent``.
    param : str
        The parameter of the branch it lies on.
    h : float
        The step along τ, nonzero.
    tol : float, default 1e-10
        Newton's tolerance on |F|∞.

    Returns
    -------
    (x, p, direction) or None
        The corrected point and ``"forward"`` or ``"backward"``: the
        ``direction`` of :func:`continuation` from there that leads away
        from y*; None when Newton's method does not converge.

    Examples
    --------
    The pitchfork x' = μx − x³: the branch x = ±√μ leaves the branch point
    (0, 0) along x, towards μ > 0:

    >>> from dynsys import System
    >>> pitchfork = System.from_strings({"x": "mu*x - x**3"}, {"mu": -1.0})
    >>> bp = continuation(pitchfork, "mu", [0.0], p_span=(-1, 1)).bifurcations[0]
    >>> x, p, direction = switch_branch(pitchfork, bp, "mu", -0.01)
    >>> np.round(x, 12), round(p, 12), direction
    (array([-0.01]), 0.0001, 'forward')
    """
    if bifurcation.kind != "branch_point" or bifurcation.tangent is None:
        raise ValueError(f"bifurcation must be a branch point with the other branch's tangent, got {bifurcation}")
    if not np.isfinite(h) or h == 0:
        raise ValueError(f"h must be a nonzero finite number, got {h!r}")
    y_star = np.append(bifurcation.x, bifurcation.p)
    problem = _Problem(system, param, tol)
    try:
        start = problem.correct(y_star + h * bifurcation.tangent, bifurcation.tangent)
    except NoConvergence:
        return None
    away = problem.first_tangent(start) @ (start.y - y_star) > 0
    return start.y[:-1], float(start.y[-1]), "forward" if away else "backward"
