"""Pseudo-arclength continuation of a curve G(y) = 0, y ∈ R^(N+1), and the special points on it.

The machinery that :func:`dynsys.continuation` uses for branches of fixed
points (y = (x, p)) and of periodic orbits (y = (collocation unknowns, p)):

- :class:`Problem`, what a curve must provide — ``evaluate(y)`` (G and its
  derivative G_y there, as a :class:`Point`), ``bordered_solve`` (the
  solution of [[G_y], [cᵀ]] v = r), ``first_tangent`` — and what it
  inherits: Newton's method with the arclength constraint
  (:meth:`Problem.correct`) and the unit tangent (:meth:`Problem.tangent`);
- :func:`trace`, the predictor-corrector loop with its step control (H. B.
  Keller 1977; E. L. Allgower and K. Georg, *Introduction to Numerical
  Continuation Methods*, SIAM 2003, ch. 2): a secant predictor of length
  ds, Newton's method on

      G(y) = 0,   dᵀ (y − y_k) = ds,   with the matrix  [[G_y], [dᵀ]],

  which stays regular at folds; ds halves when Newton fails or moves the
  prediction by more than ``MAX_CORRECTION`` ds and grows ×``GROWTH`` after a
  quick convergence;
- :func:`locate_zero`, the Illinois method (regula falsi that keeps the
  zero bracketed) on a test function along the curve between two points,
  each trial point corrected onto the curve;
- :class:`Bifurcation`, the special point that the continuations report.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._io import (
    decode_array,
    encode_array,
)
from ._validate import check_count, check_real, check_real_array

FLOW_KINDS = ("fold", "branch_point", "hopf")
MAP_KINDS = ("fold", "branch_point", "flip", "neimark_sacker")
CYCLE_KINDS = ("fold_cycle", "period_doubling", "neimark_sacker")
MAX_NEWTON = 8  # Newton iterations per step before it counts as failed
MAX_CORRECTION = 0.5  # a step is refused when the corrector moves the predicted point by more than this times ds
QUICK_NEWTON = 3  # a step that converged in at most this many iterations grows ds
GROWTH = 1.5
CROSSING_TOL = 1e-6  # a located Hopf/Neimark-Sacker pair: |Re w| or ||w| - 1| within this times max(1, |w|), |Im w| beyond it


# ---------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Bifurcation:
    """A special point on a branch of fixed points or of periodic orbits.

    Attributes
    ----------
    kind : str
        Fixed points: ``"fold"``, ``"branch_point"``, ``"hopf"`` (flows),
        ``"flip"`` or ``"neimark_sacker"`` (maps); periodic orbits:
        ``"fold_cycle"`` (a second multiplier through +1),
        ``"period_doubling"`` (a multiplier through −1) or
        ``"neimark_sacker"`` (a complex pair through the unit circle); see
        :mod:`dynsys.continuation`.
    p : float
        The parameter's value there.
    x : ndarray of shape (n,)
        The fixed point there; for a cycle, its state at phase 0.
    eigenvalues : ndarray of shape (n,), complex
        Of Df (flow) or Dg (map) there, sorted as :func:`dynsys.linearize`
        sorts them; for a cycle, its Floquet multipliers (the trivial one
        included, by decreasing modulus).
    s : float
        Its arclength position on the branch.
    frequency : float or None
        Hopf: ω = Im λ of the pair on the imaginary axis (the period of the
        small cycles born there is about 2π/ω); Neimark–Sacker (of a map's
        fixed point or of a cycle): the angle θ = arg μ ∈ (0, π) of the
        multiplier pair on the unit circle.  None for other kinds.
    lyapunov : float or None
        Hopf: the first Lyapunov coefficient l₁ (< 0 supercritical, > 0
        subcritical) in Kuznetsov's normalisation
        (:func:`dynsys.normal_forms.first_lyapunov_coefficient`); None for
        other kinds, or at a zero-Hopf point.
    tangent : ndarray of shape (n + 1,) or None
        Branch point: the unit tangent (x, p) of the other branch through
        the point, from the algebraic branching equation; None for other
        kinds or when the equation has no second real root.
    period : float or None
        A cycle's special point: the period T of the cycle there (the cycle
        itself is :meth:`CycleBranch.orbit` near ``s``); None for fixed points.

    Examples
    --------
    The fold of x' = μ − x² at μ = 0, x = 0, where the eigenvalue −2x is 0:

    >>> from dynsys import System, continuation
    >>> saddle_node = System.from_strings({"x": "mu - x**2"}, {"mu": 1.0})
    >>> fold = continuation(saddle_node, "mu", [1.0], p_span=(-1, 2)).bifurcations[0]
    >>> fold.kind, abs(fold.p) < 1e-12, bool(abs(fold.x[0]) < 1e-6)
    ('fold', True, True)
    """

    kind: str
    p: float
    x: np.ndarray
    eigenvalues: np.ndarray
    s: float
    frequency: float | None = None
    lyapunov: float | None = None
    tangent: np.ndarray | None = None
    period: float | None = None

    def __post_init__(self) -> None:
        kinds = sorted(set(FLOW_KINDS + MAP_KINDS + CYCLE_KINDS))
        if self.kind not in kinds:
            raise ValueError(f"kind must be one of {kinds}, got {self.kind!r}")
        object.__setattr__(self, "x", np.array(self.x, dtype=float))
        object.__setattr__(self, "eigenvalues", np.array(self.eigenvalues, dtype=complex))
        if self.tangent is not None:
            object.__setattr__(self, "tangent", np.array(self.tangent, dtype=float))

    def __repr__(self) -> str:
        extra = "" if self.frequency is None else f", frequency={self.frequency:.6g}"
        extra += "" if self.period is None else f", period={self.period:.10g}"
        return f"Bifurcation({self.kind!r}, p={self.p:.10g}, x={np.round(self.x, 6).tolist()}{extra})"

    def _record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "p": self.p,
            "s": self.s,
            "x": encode_array(self.x),
            "eigenvalues": encode_array(self.eigenvalues),
            "frequency": self.frequency,
            "lyapunov": self.lyapunov,
            "tangent": None if self.tangent is None else encode_array(self.tangent),
            "period": self.period,
        }

    @classmethod
    def _from_record(cls, d: dict[str, Any]) -> Bifurcation:
        return cls(
            kind=d["kind"],
            p=float(d["p"]),
            s=float(d["s"]),
            x=decode_array(d["x"]),
            eigenvalues=decode_array(d["eigenvalues"]),
            frequency=d["frequency"],
            lyapunov=d["lyapunov"],
            tangent=None if d["tangent"] is None else decode_array(d["tangent"]),
            period=d.get("period"),
        )


# ---------------------------------------------------------------- the solver
@dataclass
class Point:
    """A corrected point y of the curve, with what the test functions need there.

    Attributes
    ----------
    y : ndarray of shape (N + 1,)
        The unknowns, the parameter last.
    F : ndarray of shape (N,)
        G(y).
    Fp : ndarray of shape (N,)
        ∂G/∂p.
    A : ndarray or scipy.sparse matrix of shape (N, N + 1), or None
        G_y (None where the problem never forms it: matrix-free).
    J : ndarray of shape (n, n), or None
        A fixed point's Df or Dg (dense path).
    op : Any
        A fixed point's :class:`~dynsys.ResidualOperator` (matrix-free path).
    tangent : ndarray of shape (N + 1,)
        The unit tangent, oriented along the branch (empty until computed).
    newton : int
        Newton iterations that the corrector took.
    spectrum : ndarray or None
        Eigenvalues (or a cycle's Floquet multipliers), once computed.
    lin : Any
        A fixed point's :class:`~dynsys.Linearization`, or a cycle's
        :class:`~dynsys.periodic_orbits.PeriodicOrbit`, once computed.

    Examples
    --------
    >>> Point(y=np.array([0.6, 0.8]), F=np.zeros(1), Fp=np.array([1.6])).newton
    0
    """

    y: np.ndarray
    F: np.ndarray
    Fp: np.ndarray
    A: Any = None
    J: np.ndarray | None = None
    op: Any = None
    tangent: np.ndarray = field(default_factory=lambda: np.zeros(0))
    newton: int = 0
    spectrum: np.ndarray | None = None
    lin: Any = None


class NoConvergence(Exception):
    """Newton's method did not converge (or a bracket collapsed): the caller shortens its step.

    Examples
    --------
    >>> str(NoConvergence("|F| grew to 1e+04"))
    '|F| grew to 1e+04'
    """


class Problem:
    """A curve G(y) = 0 in R^(N+1): what :func:`trace` and :func:`locate_zero` need of it.

    A subclass provides :meth:`evaluate`, :meth:`bordered_solve` and
    :meth:`first_tangent`; it inherits Newton's corrector and the tangent.
    ``tol`` is Newton's tolerance on |G|∞; ``newton_rtol`` and
    ``tangent_rtol`` are passed to :meth:`bordered_solve` for the corrector's
    and the tangent's solves (an iterative solver's relative residual).

    Examples
    --------
    The unit circle G(x, p) = x² + p² − 1, traced from (1, 0) with p increasing:

    >>> class Circle(Problem):
    ...     def evaluate(self, y):
    ...         return Point(y=y, F=np.array([y @ y - 1]), Fp=np.array([2 * y[1]]), A=2 * y[None, :])
    ...     def bordered_solve(self, point, c, r, rtol):
    ...         return np.linalg.solve(np.vstack([point.A, c]), r)
    ...     def first_tangent(self, point):
    ...         return increasing(np.array([-point.y[1], point.y[0]]) / np.linalg.norm(point.y))
    >>> circle = Circle(tol=1e-12)
    >>> start = circle.correct(np.array([1.1, 0.0]), np.array([0.0, 1.0]))
    >>> start.y, start.newton <= 5
    (array([1., 0.]), True)
    >>> points, reason = trace(circle, start, circle.first_tangent(start), (-2.0, 0.5), 0.1, 1e-6, 0.2, 100)
    >>> reason, float(points[-1].y[1]), bool(abs(points[-1].y @ points[-1].y - 1) < 1e-12)
    ('p_span', 0.5, True)
    """

    newton_rtol = 1e-8
    tangent_rtol = 1e-11

    def __init__(self, tol: float) -> None:
        self.tol = tol

    def evaluate(self, y: np.ndarray) -> Point:
        """The :class:`Point` at y: G(y), ∂G/∂p and what :meth:`bordered_solve` needs.

        Examples
        --------
        >>> Problem(1e-10).evaluate(np.zeros(2))
        Traceback (most recent call last):
        ...
        NotImplementedError: a Problem defines evaluate
        """
        raise NotImplementedError("a Problem defines evaluate")

    def bordered_solve(self, point: Point, c: np.ndarray, r: np.ndarray, rtol: float) -> np.ndarray:
        """[[G_y], [cᵀ]]⁻¹ r at ``point`` (an iterative solver to relative residual ``rtol``).

        Examples
        --------
        >>> Problem(1e-10).bordered_solve(None, np.ones(2), np.ones(2), 1e-8)
        Traceback (most recent call last):
        ...
        NotImplementedError: a Problem defines bordered_solve
        """
        raise NotImplementedError("a Problem defines bordered_solve")

    def first_tangent(self, point: Point) -> np.ndarray:
        """A unit null vector of G_y at ``point``, with p increasing (see :func:`increasing`).

        Examples
        --------
        >>> Problem(1e-10).first_tangent(None)
        Traceback (most recent call last):
        ...
        NotImplementedError: a Problem defines first_tangent
        """
        raise NotImplementedError("a Problem defines first_tangent")

    def begin(self, start: Point) -> None:
        """Called by :func:`trace` before it steps from ``start`` (a problem whose discretisation changes along
        the branch returns to the start's); the default does nothing.

        Examples
        --------
        >>> Problem(1e-10).begin(None) is None
        True
        """

    def stop(self, current: Point, new: Point) -> str | None:
        """Why the branch ends at ``current`` instead of stepping on to ``new``, or None (the default: never).

        Examples
        --------
        >>> Problem(1e-10).stop(None, None) is None
        True
        """
        return None

    def resume(self, point: Point, reason: str) -> Point | None:
        """The point to carry on from, in place of ``point``, after :meth:`stop` gave ``reason``; None (the
        default) ends the branch at ``point``.  Its tangent must be set, oriented along the branch.

        Examples
        --------
        >>> Problem(1e-10).resume(None, "hopf") is None
        True
        """
        return None

    def correct(self, y: np.ndarray, c: np.ndarray) -> Point:
        """Newton's method on G(z) = 0, cᵀ (z − y) = 0 from z = y (c a unit vector).

        It stops when |G|∞ <= ``tol`` or the step is at rounding level;
        :class:`NoConvergence` after ``MAX_NEWTON`` iterations, or when |G|
        grows beyond 10³ times its first value.

        Examples
        --------
        See :class:`Problem`.
        """
        z = np.array(y, dtype=float)
        point = self.evaluate(z)
        first = np.linalg.norm(point.F)
        for it in range(1, MAX_NEWTON + 1):
            step = self.bordered_solve(point, c, np.append(point.F, c @ (z - y)), self.newton_rtol)
            z = z - step
            if not np.isfinite(z).all():
                raise NoConvergence("non-finite iterate")
            point = self.evaluate(z)
            size = np.linalg.norm(point.F, np.inf)
            if not np.isfinite(size) or size > 1e3 * max(first, self.tol):
                raise NoConvergence(f"|F| grew to {size:.3g}")
            if size <= self.tol or np.linalg.norm(step) <= 8 * np.finfo(float).eps * (1 + np.linalg.norm(z)):
                point.newton = it
                return point
        raise NoConvergence(f"|F| = {np.linalg.norm(point.F, np.inf):.3g} after {MAX_NEWTON} Newton steps")

    def tangent(self, point: Point, d: np.ndarray) -> np.ndarray:
        """The unit null vector of G_y at ``point``, oriented along ``d``: [[G_y], [dᵀ]] t = e_(N+1), normalised.

        Examples
        --------
        See :class:`Problem`.
        """
        t = self.bordered_solve(point, d, last_unit(len(point.y)), self.tangent_rtol)
        return t / np.linalg.norm(t)


def check_steps(p_span: Any, p0: float, param: str, ds: float | None, dsmin: float | None, dsmax: float | None,
                max_steps: int) -> tuple[tuple[float, float], float, float, float, int]:
    """The checked span and steps of a continuation, with their defaults (see :func:`dynsys.continuation`).

    Returns ``((lo, hi), ds, dsmin, dsmax, max_steps)``: ds defaults to 1/100
    of the span's width, dsmax to 1/10, dsmin to ds/10⁶.

    Raises
    ------
    ValueError
        Naming the bad argument: ``p_span`` not a pair (low, high) around
        ``p0``, steps not positive or not ordered, ``max_steps`` not a count.

    Examples
    --------
    >>> check_steps((0, 2), 1.0, "mu", None, None, None, 100)
    ((0.0, 2.0), 0.02, 2e-08, 0.2, 100)
    >>> check_steps((0, 2), 3.0, "mu", None, None, None, 100)
    Traceback (most recent call last):
    ...
    ValueError: p_span must be (low, high) with low < high around mu = 3.0, got (0, 2)
    """
    try:
        lo, hi = (float(v) for v in check_real_array(p_span, "p_span"))
    except (TypeError, ValueError):
        raise ValueError(f"p_span must be a pair of finite numbers (low, high), got {p_span!r}") from None
    if not lo < hi or not lo <= p0 <= hi:
        raise ValueError(f"p_span must be (low, high) with low < high around {param} = {p0}, got {p_span!r}")
    width = hi - lo
    ds = check_real(width / 100 if ds is None else ds, "ds", positive=True)
    dsmax = check_real(width / 10 if dsmax is None else dsmax, "dsmax", positive=True)
    dsmin = check_real(ds * 1e-6 if dsmin is None else dsmin, "dsmin", positive=True)
    if not dsmin <= ds <= dsmax:
        raise ValueError(f"the steps must satisfy dsmin <= ds <= dsmax, got {dsmin}, {ds}, {dsmax}")
    return (lo, hi), ds, dsmin, dsmax, check_count(max_steps, "max_steps")


def trace(problem: Problem, start: Point, t0: np.ndarray, span: tuple[float, float], ds: float,
          dsmin: float, dsmax: float, max_steps: int) -> tuple[list[Point], str]:
    """One direction of the branch from ``start`` along ``t0``: its points (``start`` first) and why it stopped.

    Each point carries its unit tangent oriented along the way traced.  The
    reasons: ``"p_span"`` (the parameter, the last unknown, left ``span``:
    the last point lies on its boundary), ``"closed"`` (back at the start),
    ``"max_steps"``, ``"dsmin"`` (Newton failed even at ``dsmin``), or what
    :meth:`Problem.stop` said.

    Examples
    --------
    Up the unit circle of :class:`Problem`'s example from (1, 0) until p = y[1] leaves [−0.5, 0.5]:

    >>> class Circle(Problem):
    ...     def evaluate(self, y):
    ...         return Point(y=y, F=np.array([y @ y - 1]), Fp=np.array([2 * y[1]]), A=2 * y[None, :])
    ...     def bordered_solve(self, point, c, r, rtol):
    ...         return np.linalg.solve(np.vstack([point.A, c]), r)
    >>> circle = Circle(tol=1e-12)
    >>> start = circle.evaluate(np.array([1.0, 0.0]))
    >>> start.tangent = np.array([0.0, 1.0])
    >>> points, reason = trace(circle, start, start.tangent, (-0.5, 0.5), 0.1, 1e-6, 0.2, 100)
    >>> reason, float(points[-1].y[1]), bool(np.allclose([p.y @ p.y for p in points], 1.0, atol=1e-12))
    ('p_span', 0.5, True)
    """
    lo, hi = span
    current = dataclasses.replace(start, tangent=t0)
    problem.begin(current)
    points = [current]
    d, travelled = t0, 0.0
    for _ in range(max_steps):
        while True:
            try:
                new = problem.correct(current.y + ds * d, d)
                if np.linalg.norm(new.y - current.y - ds * d) <= MAX_CORRECTION * ds:
                    break
            except NoConvergence:
                pass
            ds /= 2  # no convergence, or a corrector that went far: the step outran the branch's curvature
            if ds < dsmin:
                return points, "dsmin"
            d = current.tangent if current.tangent @ d > 0 else -current.tangent  # retry along the tangent
        new.tangent = problem.tangent(new, d)
        reason = problem.stop(current, new)
        if reason is not None:
            resumed = problem.resume(current, reason)
            if resumed is None:
                return points, reason
            points[-1] = current = resumed  # the same point, recast (a cycle on a new mesh): step again from it
            d = resumed.tangent
            continue
        p = new.y[-1]
        if not lo <= p <= hi:
            edge = hi if p > hi else lo
            frac = (edge - current.y[-1]) / (p - current.y[-1])
            if frac <= 0:  # already on the boundary
                return points, "p_span"
            try:
                last = problem.correct(current.y + frac * (new.y - current.y), last_unit(len(d)))
                last.y[-1] = edge
                last.tangent = problem.tangent(last, d)
                points.append(last)
            except NoConvergence:
                pass
            return points, "p_span"
        points.append(new)
        step = new.y - current.y
        travelled += np.linalg.norm(step)
        if travelled > 3 * ds and np.linalg.norm(new.y - start.y) < ds and new.tangent @ t0 > 0:
            return points, "closed"
        d = step / np.linalg.norm(step)  # the secant predictor
        if new.newton <= QUICK_NEWTON:
            ds = min(GROWTH * ds, dsmax)
        current = new
    return points, "max_steps"


def trace_branch(problem: Problem, start: Point, t: np.ndarray, direction: str, span: tuple[float, float],
                 ds: float, dsmin: float, dsmax: float, max_steps: int) -> tuple[list[Point], tuple[str, str], int]:
    """The branch through ``start``: :func:`trace` along t ("forward"), −t ("backward") or both, joined.

    Returns
    -------
    points : list of Point
        Ordered along t, each with its tangent oriented that way.
    reasons : (str, str)
        Why each end stopped (see :func:`trace`), the end opposite to t
        first; ``"start"`` for a direction not traced; both ``"closed"``
        when the forward run returned to the start (an isola: the backward
        run is then not traced).
    origin : int
        The index of ``start`` in ``points``.

    Examples
    --------
    The unit circle of :class:`Problem`'s example, both ways from (1, 0) within −0.5 <= p <= 0.5:

    >>> class Circle(Problem):
    ...     def evaluate(self, y):
    ...         return Point(y=y, F=np.array([y @ y - 1]), Fp=np.array([2 * y[1]]), A=2 * y[None, :])
    ...     def bordered_solve(self, point, c, r, rtol):
    ...         return np.linalg.solve(np.vstack([point.A, c]), r)
    >>> circle = Circle(tol=1e-12)
    >>> start = circle.evaluate(np.array([1.0, 0.0]))
    >>> points, reasons, origin = trace_branch(circle, start, np.array([0.0, 1.0]), "both", (-0.5, 0.5),
    ...                                        0.1, 1e-6, 0.2, 100)
    >>> reasons, float(points[0].y[1]), float(points[-1].y[1]), points[origin] is not start
    (('p_span', 'p_span'), -0.5, 0.5, True)
    """
    runs = {"forward": t, "backward": -t}
    wanted = ("backward", "forward") if direction == "both" else (direction,)
    traced: dict[str, tuple[list[Point], str]] = {}
    for way in ("forward", "backward"):
        if way in wanted and not (traced and traced["forward"][1] == "closed"):
            traced[way] = trace(problem, start, runs[way], span, ds, dsmin, dsmax, max_steps)
    back, back_reason = traced.get("backward", ([dataclasses.replace(start, tangent=-t)], "start"))
    ahead, ahead_reason = traced.get("forward", ([dataclasses.replace(start, tangent=t)], "start"))
    if ahead_reason == "closed":
        back_reason = "closed"
    for q in back:
        q.tangent = -q.tangent  # oriented along t
    return back[::-1] + ahead[1:], (back_reason, ahead_reason), len(back) - 1


TestFn = Callable[[Point], float]


def locate_zero(problem: Problem, test: TestFn, a: Point, b: Point) -> tuple[float, Point, float] | None:
    """The zero of ``test`` on the branch between points a and b, by the Illinois method in the arclength.

    The Illinois method is regula falsi (secant steps that keep the zero
    bracketed) with the stale end's value halved when one end stays twice.
    A trial point between the two current ends of the bracket is predicted
    on the cubic Hermite curve through them with their tangents
    (:func:`between`) and corrected in the hyperplane normal to that curve.
    Should the corrector fail (close to a branch point, where the bordered
    matrix is nearly singular), the best point so far is the answer.

    Returns
    -------
    (sigma, point, value) or None
        The point where |test| is least, its chord distance ``sigma`` from
        a along the bracket, and the test's value there; None when the test
        does not change sign (or is not finite) between a and b.

    Examples
    --------
    Where the unit circle of :class:`Problem`'s example crosses x = p:

    >>> class Circle(Problem):
    ...     def evaluate(self, y):
    ...         return Point(y=y, F=np.array([y @ y - 1]), Fp=np.array([2 * y[1]]), A=2 * y[None, :])
    ...     def bordered_solve(self, point, c, r, rtol):
    ...         return np.linalg.solve(np.vstack([point.A, c]), r)
    >>> circle = Circle(tol=1e-13)
    >>> a, b = circle.evaluate(np.array([1.0, 0.0])), circle.evaluate(np.array([0.0, 1.0]))
    >>> a.tangent, b.tangent = np.array([0.0, 1.0]), np.array([-1.0, 0.0])
    >>> sigma, at, value = locate_zero(circle, lambda q: q.y[0] - q.y[1], a, b)
    >>> bool(np.allclose(at.y, np.sqrt(0.5), atol=1e-12)), bool(abs(value) < 1e-12)
    (True, True)
    """
    fa, fb = test(a), test(b)
    if not (np.isfinite(fa) and np.isfinite(fb) and fa * fb < 0):
        return None
    lo, hi = (0.0, a, fa), (float(np.linalg.norm(b.y - a.y)), b, fb)  # (σ, point, value used for the secant)
    xtol = 1e-14 * max(1.0, hi[0])
    best = min((lo, hi), key=lambda e: abs(e[2]))
    side = 0
    for _ in range(100):
        if hi[0] - lo[0] <= xtol:
            break
        u = lo[2] / (lo[2] - hi[2])
        try:
            q = between(problem, lo[1], hi[1], u)
        except NoConvergence:
            break
        f = test(q)
        trial = (lo[0] + u * (hi[0] - lo[0]), q, f)
        if abs(f) < abs(best[2]) or not np.isfinite(best[2]):
            best = trial
        if f == 0 or not np.isfinite(f):
            break
        if f * hi[2] > 0:
            hi = trial
            if side == 1:
                lo = (lo[0], lo[1], lo[2] / 2)
            side = 1
        else:
            lo = trial
            if side == -1:
                hi = (hi[0], hi[1], hi[2] / 2)
            side = -1
    return best


def between(problem: Problem, a: Point, b: Point, u: float) -> Point:
    """The branch point at the fraction u ∈ (0, 1) of the way from a to b, with its tangent.

    Predicted on the cubic Hermite curve through a and b with their
    tangents (within O(L⁴) of the branch for a bracket of length L; the
    chord, O(L²) off, can reach another branch near a branch point) and
    corrected in the hyperplane normal to that curve.

    Examples
    --------
    Half way round the quarter of the unit circle from (1, 0) to (0, 1):

    >>> class Circle(Problem):
    ...     def evaluate(self, y):
    ...         return Point(y=y, F=np.array([y @ y - 1]), Fp=np.array([2 * y[1]]), A=2 * y[None, :])
    ...     def bordered_solve(self, point, c, r, rtol):
    ...         return np.linalg.solve(np.vstack([point.A, c]), r)
    >>> circle = Circle(tol=1e-13)
    >>> a, b = circle.evaluate(np.array([1.0, 0.0])), circle.evaluate(np.array([0.0, 1.0]))
    >>> a.tangent, b.tangent = np.array([0.0, 1.0]), np.array([-1.0, 0.0])
    >>> bool(np.allclose(between(circle, a, b, 0.5).y, np.sqrt(0.5), atol=1e-12))
    True
    """
    L = float(np.linalg.norm(b.y - a.y))
    if L == 0:
        raise NoConvergence("the bracket is one point")
    ta, tb = L * a.tangent, L * b.tangent
    guess = ((2 * u**3 - 3 * u**2 + 1) * a.y + (u**3 - 2 * u**2 + u) * ta
             + (3 * u**2 - 2 * u**3) * b.y + (u**3 - u**2) * tb)
    d = (6 * u**2 - 6 * u) * (a.y - b.y) + (3 * u**2 - 4 * u + 1) * ta + (3 * u**2 - 2 * u) * tb
    d /= np.linalg.norm(d)
    q = problem.correct(guess, d)
    q.tangent = problem.tangent(q, d)
    return q


def increasing(t: np.ndarray) -> np.ndarray:
    """The unit tangent t or −t, the one with p (the last component) increasing, or its largest component
    positive where p' = 0.

    Examples
    --------
    >>> increasing(np.array([0.6, -0.8])), increasing(np.array([-1.0, 0.5]))
    (array([-0.6,  0.8]), array([-1. ,  0.5]))
    """
    return t if t[-1] > 0 or (t[-1] == 0 and t[np.argmax(np.abs(t))] > 0) else -t


def nearest_pair(w: np.ndarray, score: np.ndarray) -> int | None:
    """Index of the eigenvalue with Im > 0 whose score is nearest 0, or None when all are real.

    Examples
    --------
    >>> w = np.array([-1.0, 0.1 + 2j, 0.1 - 2j, -0.5 + 1j, -0.5 - 1j])
    >>> nearest_pair(w, w.real), nearest_pair(np.array([1.0, 2.0]), np.zeros(2)) is None
    (1, True)
    """
    upper = np.flatnonzero(w.imag > 1e-12 * np.maximum(1.0, np.abs(w)))
    return None if len(upper) == 0 else int(upper[np.argmin(np.abs(score[upper]))])


def real_nearest_minus_one(w: np.ndarray) -> float:
    """μ + 1 of the real entry of ``w`` nearest −1 (NaN when none is real): a flip / period-doubling test.

    Examples
    --------
    >>> round(real_nearest_minus_one(np.array([0.5, -0.9, 0.2 + 1j, 0.2 - 1j])), 12)
    0.1
    >>> bool(np.isnan(real_nearest_minus_one(np.array([1j, -1j]))))
    True
    """
    real = w.real[np.abs(w.imag) <= 1e-12 * np.maximum(1.0, np.abs(w))]
    return np.nan if len(real) == 0 else float(real[np.argmin(np.abs(real + 1))] + 1)


def unit_circle_pair(w: np.ndarray) -> float:
    """|μ| − 1 of the non-real pair of ``w`` nearest the unit circle (NaN when all are real): a Neimark–Sacker test.

    Examples
    --------
    >>> round(unit_circle_pair(np.array([0.5, 0.6 + 0.9j, 0.6 - 0.9j])), 12)  # sqrt(0.36 + 0.81) - 1
    0.081665382639
    """
    k = nearest_pair(w, np.abs(w) - 1)
    return np.nan if k is None else float(np.abs(w[k]) - 1)


def on_the_boundary(w: complex, score: float) -> bool:
    """Whether the eigenvalue w of a located point is a genuine crossing pair: on the boundary of stability
    (``score`` = Re w or |w| − 1 within ``CROSSING_TOL`` max(1, |w|)) and not real.

    Examples
    --------
    >>> on_the_boundary(1e-9 + 2j, 1e-9), on_the_boundary(1e-9, 1e-9)
    (True, False)
    """
    size = max(1.0, abs(w))
    return abs(score) <= CROSSING_TOL * size and abs(w.imag) > CROSSING_TOL * size


def format_rows(rows: list[list[str]]) -> list[str]:
    """The rows of a text table, columns left-aligned, each line indented by two spaces; a last column
    that is empty below the header is dropped.

    Examples
    --------
    >>> print("\\n".join(format_rows([["kind", "p", "frequency"], ["fold", "0.5", ""], ["branch_point", "1", ""]])))
      kind          p
      fold          0.5
      branch_point  1
    """
    if all(r[-1] == "" for r in rows[1:]):
        rows = [r[:-1] for r in rows]
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def last_unit(size: int) -> np.ndarray:
    """e_size, the unit vector along the last unknown (the parameter): shape (size,).

    Examples
    --------
    >>> last_unit(3)
    array([0., 0., 1.])
    """
    e = np.zeros(size)
    e[-1] = 1.0
    return e
