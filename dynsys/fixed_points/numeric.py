"""The numeric method: minimise q(x) = ½|F(x)|² from many starts, then classify and merge.

Following Sussillo & Barak (2013), the search minimises the "kinetic energy"
q(x) = ½|F(x)|², grad q(x) = DF(x)^T F(x), from many starts at once.  Its
minima with q = 0 are the fixed points; the local minima with q > 0 are
*slow points*.  :func:`find` (``method="numeric"`` of
:func:`dynsys.find_fixed_points`) runs

1. a batched Levenberg-Marquardt minimisation of q for all starts together
   (:mod:`.levenberg_marquardt`, a damped Gauss-Newton method that behaves
   like gradient descent far from a minimum and like Newton's method close
   to a zero), with the linear algebra of a Jacobian model
   (:mod:`.jacobians`: dense or matrix-free, ``solver``);
2. plain Newton steps on F = 0 to polish the points that look like zeros to
   machine precision;
3. the classification of every start as fixed, saturated, slow,
   unconverged, diverged or escaped, and the merging of duplicates.

*Starts, rounds and chunks.*  The starts are the given ones or, per round,
``n_starts`` points of a Latin hypercube in the box (``bounds`` or
``system.bounds``), or states of trajectories from standard normal initial
states (over ``t_span``, default DEFAULT_T_SPAN, for a flow; DEFAULT_MAP_STEPS
iterations of a map; a span that :func:`dynsys.simulate.simulate` cannot
cover is shortened SPAN_SHRINK times, SPAN_RETRIES times at most, and then
the initial states are the starts).  After a round of generated starts that
found new fixed points, another is drawn while some fixed point has been
reached by a single start only (Good-Turing), up to MAX_ROUNDS rounds.  The
starts of each round are sorted (lexicographically) before the search, so
the result does not depend on their order, to the last bit (except with
``noise``, which is drawn in the order given), and processed in as many
equal chunks as ``max_memory`` requires.  The zeros found so far serve
early merging (:mod:`.levenberg_marquardt`) in the later chunks and rounds.

*Newton restarts.*  A start that ends saturated, unconverged or escaped
takes plain Newton steps from where it started, x <- x + a delta with
J delta = -F and a = 1, 1/2, ... (at most RESTART_BACKTRACKS halvings)
until |F| decreases, at most RESTART_MAX_ITER steps; it is fixed when it
reaches a zero (as in the classification) inside the trust region
(``n_restarted``, ``n_restart_zeros``).  Only with the dense Jacobian model
(whose Levenberg-Marquardt loop tries the Newton step only under heavy
damping; the matrix-free loop tries it at every iteration) and before the
deadline.  And where some start of a chunk ended saturated (a gated
network), the starts whose minimisation converged take the same Newton
steps from where they started too (the Newton sweep): a zero it reaches
that lies farther than the merge radius from every zero known is reported
as a fixed point of its own (``n_sweep_zeros``; it takes no start's
place).  Minimising q, Levenberg-Marquardt
follows q downhill into the flat regions of saturated gates, where q tends
to zero without a zero; Newton's affine-invariant step is not drawn there
and reaches the saddles between the attractors from many of those starts.

*Newton polishing.*  Points with |F| <= sqrt(tol) then take Newton steps
x <- x - J^{-1} F (``numpy.linalg.solve``, or the pseudo-inverse when some
J is singular; matrix-free: CGLS to relative residual 1e-6) while |F|
decreases, keeping the best iterate; a polished point that does not reach
a zero (as in the classification) is restored.  These points are first
clustered at the merge radius and each cluster is polished once.

*Classification.*  With L the length scale of the search, max(1, max
|bound|) of ``bounds`` (or ``system.bounds``) and otherwise max(1, the
lower median of |start|_inf), so that outlying starts do not set it, a
start ends

- fixed when |F(x)| <= tol, or when |F(x)| <= 8 times the rounding noise
  of F measured at x (:func:`.criteria.is_zero`): a stiff system or large
  cancelling terms can make |F| <= tol unreachable in float64;
- saturated when not fixed and F is flat to first and second order along
  the flattest direction of DF (:func:`.criteria.saturated`: the smallest
  singular value of DF below a tenth of |F| / L, the curvature of F along
  its singular vector below a tenth of the scale of DF over L; dense
  Jacobian model only): a region where a gate saturates, towards which q
  decreases without a zero, not a slow point; such starts are counted
  (``n_saturated``) and not reported (the Levenberg-Marquardt loop stops
  them as soon as it sees them, see :mod:`.levenberg_marquardt`);
- slow when not fixed nor saturated but stationary direction by direction
  (:func:`.criteria.stationary`): the part of F that J could remove is
  negligible, sum_k (u_k . F)² s_k² / (s_k² + c²) <= slow_gtol² |F|²,
  c = |F| / L; and q <= max_slow_q (default SLOW_Q_FRACTION times the
  median q over SLOW_Q_SAMPLES states of a fixed reference sample, seeded
  with SLOW_Q_SEED).  After merging, each distinct slow point must also be
  a local minimum of q: the Hessian of q may have no eigenvalue below
  -1e-6 times its largest in modulus (a start placed exactly on a maximum
  or saddle of q, e.g. x = 0 for dx/dt = x² - 1, stays there; such points
  are dropped and counted as ``n_not_minima``);
- diverged when F, q = ½|F|² or J becomes non-finite (e.g. log of a
  negative number, or a start so far out that q overflows);
- escaped when it leaves the trust region (``max_drift``; with None the
  box of ±DIVERGENCE_FACTOR L);
- unconverged otherwise.

A distinct point where F is not defined (:meth:`System.singular` with the
point's merge radius r, below: a zero of a denominator as written within r
of it, such as x = 1 of (x² - 2x + 1)/(x - 1), which the search approaches
because F -> 0 there) is not reported; it is counted as ``n_undefined``.

Since ``tol`` is absolute, a residual that merely tends to zero far away
(dx/dt = e^x as x -> -inf) yields points with |F| <= tol there; scale F or
lower ``tol`` for such systems.

*Merging.*  Each point has its own radius, from the box and the points
found, never from the starts: r = merge_tol max(L, |x|_inf) for a fixed
point, widened to 4 |J^{-1} F| (how well a zero to rounding is located,
e.g. along the slow direction of a stiff system), and sqrt(merge_tol)
max(L, |x|_inf) for a slow point (q is flat there: starts stop up to
~sqrt(slow_gtol) L apart).  Points closer than the larger of their radii
are joined (single linkage, :func:`.common.cluster`; points up to 6 times
that apart may be joined too); each cluster is represented by a fixed
point if it has one, then by its lowest q.

References
----------
D. Sussillo and O. Barak, "Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks", Neural Computation 25(3),
pp. 626-649, 2013.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import qmc

from .._validate import check_count, check_real, check_real_array
from ..simulate import Trajectories, advance, sample_states
from ..systems import System
from .base import MethodResult, SearchOptions
from .common import cluster, inside, row_dot, row_norm
from .criteria import is_zero, saturated, stationary
from .jacobians import SOLVERS, DenseJacobian, JacobianModel
from .levenberg_marquardt import LMResult, levenberg_marquardt

DEFAULT_T_SPAN = (0.0, 10.0)  # flows: trajectories that give the starts
DEFAULT_MAP_STEPS = 100  # maps: iterations that give the starts
MAX_TRAJECTORIES = 100  # trajectories simulated for trajectory starts
SPAN_SHRINK = 100.0  # a span simulate cannot cover in max_steps is retried this many times shorter ...
SPAN_RETRIES = 3  # ... this many times at most; then the initial states are the starts

# "auto" goes matrix-free above this dimension (when it can).  Measured (bench_gated.py --solver, and ad hoc
# while other jobs ran): a random LSTM with 64 units (128 states) was 8x faster matrix-free, but the trained
# GRU with 128 units took 536 s matrix-free and missed 8 of its 18 points, where the dense model (exact damped
# steps, the saturation test, Newton restarts) finds all 18 in 29 s (bench_gated.py, quiet machine); at 64
# states the dense model reached more of a tanh network's points.  Above 128 states the dense model's
# (B, n, n) Jacobians cost too much.
DENSE_MAX_DIM = 128
# bytes of working memory of the search: larger chunks do not pay, the kernel zeroes the fresh pages of their
# (B, n, n) temporaries (64-unit flip-flop network, B = 4096, ad hoc while other jobs ran: 2.9 s CPU at 1 GiB,
# 1.6 s at 128 MiB, same points)
DEFAULT_MAX_MEMORY = 2**27
DIVERGENCE_FACTOR = 1e8  # |x|_inf > DIVERGENCE_FACTOR * L means diverged
MAX_ROUNDS = 8  # generated starts: at most MAX_ROUNDS rounds of n_starts each
SLOW_Q_FRACTION = 1e-3  # default max_slow_q: this fraction of the median q over a reference sample ...
SLOW_Q_SAMPLES = 512  # ... of this many states (see _default_max_slow_q) ...
SLOW_Q_SEED = 0  # ... drawn with this seed, whatever the seed of the starts
MAX_BOUND = 1e150  # |bounds| above this are refused: q = ½|F|² overflows near |x| ~ 1e154
NEWTON_MAX_ITER = 20  # Newton polishing steps at most
RESTART_MAX_ITER = 30  # Newton restarts of failed starts: steps at most ...
RESTART_BACKTRACKS = 8  # ... each halved at most this many times

# Outcome of a start.
FIXED, SLOW, UNCONVERGED, DIVERGED, ESCAPED, SATURATED = 0, 1, 2, 3, 4, 5


def find(system: System, options: SearchOptions) -> MethodResult:
    """The distinct fixed and slow points that the numeric search reaches (this module's docstring).

    Parameters
    ----------
    system : System
    options : SearchOptions
        The starts and the numeric options (``starts``, ``n_starts``,
        ``noise``, ``seed``, ``t_span``, ``max_drift``, ``solver``,
        ``max_memory``) are checked here.

    Returns
    -------
    MethodResult
        The distinct points inside ``options.region`` (fixed points first
        in no particular order) and the statistics of the search: counts
        of the starts' outcomes (``n_diverged``, ``n_escaped``,
        ``n_unconverged``, ``n_saturated``), ``n_rounds``, ``max_slow_q``,
        ``n_not_minima``, ``n_undefined``, ``n_outside``, ``iterations``,
        ``solver``, ``n_chunks``, ``n_merged_early``, ``n_restarted``,
        ``n_restart_zeros``, ``n_sweep_zeros``, ``stopped``.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import models
    >>> from dynsys.fixed_points.base import SearchOptions
    >>> options = SearchOptions(
    ...     starts=None, n_starts=32, region=None, noise=0.0, tol=1e-10, max_iter=200, merge_tol=1e-6,
    ...     slow_gtol=1e-8, max_slow_q=None, seed=0, t_span=None, max_drift=1.0, solver="auto",
    ...     max_memory=2**30, deadline=None,
    ... )
    >>> found = find(models.duffing(), options)
    >>> np.unique(found.x.round(8) + 0.0, axis=0)
    array([[-1.,  0.],
           [ 0.,  0.],
           [ 1.,  0.]])
    >>> found.stats["solver"], found.stats["n_diverged"]
    ('dense', 0)
    """
    starts, region, tol, merge_tol = options.starts, options.region, options.tol, options.merge_tol
    rng = np.random.default_rng(options.seed)
    box = region if region is not None else system.bounds
    draw = _start_sampler(system, starts, options.n_starts, region, options.noise, rng, options.t_span)
    X0 = draw()
    L = _length_scale(X0, box)
    radius = merge_tol * L
    trust = _trust_region(X0, L, options.max_drift)
    model, n_chunks = _jacobian_model(system, len(X0), options.solver, options.max_memory)
    search = _Search(model, tol=tol, gtol=options.slow_gtol, max_iter=options.max_iter, length=L, trust=trust,
                     radius=radius, deadline=options.deadline)
    search.run(X0, n_chunks)
    while starts is None and search.rounds < MAX_ROUNDS and not search.stopped and search.unseen():  # rounds
        search.run(draw(), n_chunks)
    n_swept = len(search.sweep_zeros[0])
    X, F = np.concatenate([search.X, search.sweep_zeros[0]]), np.concatenate([search.F, search.sweep_zeros[1]])
    outcome = np.concatenate([search.outcome, np.full(n_swept, FIXED)])
    with np.errstate(over="ignore"):
        q = 0.5 * row_dot(F, F)
    max_slow_q = options.max_slow_q
    if max_slow_q is None:
        max_slow_q = _default_max_slow_q(system, box, None if starts is None else X0)
    too_slow = (outcome == SLOW) & (q > max_slow_q)
    found = np.flatnonzero(((outcome == FIXED) | (outcome == SLOW)) & ~too_slow)
    radii = _merge_radii(X[found], outcome[found] == FIXED, merge_tol, L)
    rep = np.unique(cluster(X[found], q[found], outcome[found] == FIXED, radii))
    distinct, radii = found[rep], radii[rep]
    zero = outcome[distinct] == FIXED
    radii[zero] = _uncertainty_radii(model, X[distinct[zero]], F[distinct[zero]], radii[zero])
    rep = np.unique(cluster(X[distinct], q[distinct], outcome[distinct] == FIXED, radii))
    distinct, radii = distinct[rep], radii[rep]
    slow = outcome[distinct] == SLOW
    minimum = np.ones(len(distinct), dtype=bool)
    minimum[slow] = model.is_local_minimum(X[distinct[slow]])
    undefined = system.singular(X[distinct], radii)  # F is not defined there (a zero of a denominator within r)
    within = inside(X[distinct], region, radii[:, None]) & minimum & ~undefined
    kept = distinct[within]
    stats = {
        "n_starts": len(X) - n_swept,
        "n_rounds": search.rounds,
        "n_diverged": int(np.sum(outcome == DIVERGED)),
        "n_escaped": int(np.sum(outcome == ESCAPED)),
        "n_unconverged": int(np.sum(outcome == UNCONVERGED)),
        "n_saturated": int(np.sum(outcome == SATURATED)),
        "n_above_max_slow_q": int(np.sum(too_slow)),
        "max_slow_q": float(max_slow_q),
        "n_not_minima": int(np.sum(~minimum)),
        "n_undefined": int(np.sum(minimum & undefined)),
        "n_outside": int(np.sum(minimum & ~undefined & ~within)),
        "iterations": search.iterations,
        "solver": model.name,
        "n_chunks": n_chunks,
        "n_merged_early": search.n_merged,
        "n_restarted": search.n_restarted,
        "n_restart_zeros": search.n_restart_zeros,
        "n_sweep_zeros": n_swept,
        "stopped": search.stopped,
    }
    return MethodResult(X[kept], F[kept], outcome[kept] == FIXED, radius, stats)


class _Search:
    """The numeric search over one or more rounds of starts (this module's
    docstring): each round's starts, sorted, in
    memory-sized chunks; the zeros found so far serve early merging."""

    def __init__(
        self, model: JacobianModel, *, tol: float, gtol: float, max_iter: int, length: float, trust: np.ndarray,
        radius: float, deadline: float | None = None,
    ) -> None:
        self.model, self.tol, self.gtol, self.max_iter = model, tol, gtol, max_iter
        self.length, self.trust, self.radius, self.deadline = length, trust, radius, deadline
        self.stopped: str | None = None  # "time budget" when the deadline cut the search short
        n = model.system.dim
        self.X, self.F = np.zeros((0, n)), np.zeros((0, n))
        self.outcome = np.zeros(0, dtype=int)
        self.zeros = (np.zeros((0, n)), np.zeros((0, n)))  # the distinct zeros found so far
        self.rounds = self.iterations = self.n_merged = self.n_restarted = self.n_restart_zeros = 0
        self.n_new = 0  # distinct zeros that the last round added
        self.sweep_zeros = (np.zeros((0, n)), np.zeros((0, n)))  # zeros only the Newton sweep reached

    def run(self, X0: np.ndarray, n_chunks: int) -> None:
        """Search from the starts X0 (sorted first: results do not depend on their order)."""
        X0 = X0[np.lexsort(X0.T[::-1])]
        X, F = X0.copy(), np.full_like(X0, np.inf)  # starts of chunks never begun (time budget) keep these
        outcome = np.full(len(X0), UNCONVERGED)
        known = len(self.zeros[0])
        for chunk in np.array_split(np.arange(len(X0)), n_chunks):  # a loop over memory-sized chunks
            if self.deadline is not None and time.perf_counter() >= self.deadline:
                self.stopped = "time budget"
                break
            lm = levenberg_marquardt(
                self.model, X0[chunk], tol=self.tol, gtol=self.gtol, max_iter=self.max_iter, length=self.length,
                trust=self.trust, merge_radius=self.radius, zeros=self.zeros, deadline=self.deadline,
            )
            if lm.timed_out:
                self.stopped = "time budget"
            Xc, Fc, aux = _finish(self.model, lm, self.tol, self.radius)
            oc = _classify(self.model, Xc, Fc, aux, tol=self.tol, gtol=self.gtol, length=self.length, trust=self.trust)
            converged = oc == FIXED
            self._restart(X0[chunk], Xc, Fc, aux, oc)
            if np.any(oc == SATURATED):
                self._sweep(X0[chunk][converged], np.concatenate([self.zeros[0], Xc[oc == FIXED]]))
            outcome[chunk] = oc
            X[chunk], F[chunk] = Xc, Fc
            self.iterations = max(self.iterations, lm.iterations)
            self.n_merged += int(lm.merged.sum())
            zx = np.concatenate([self.zeros[0], Xc[outcome[chunk] == FIXED]])
            zf = np.concatenate([self.zeros[1], Fc[outcome[chunk] == FIXED]])
            distinct = np.unique(cluster(zx, 0.5 * row_dot(zf, zf), np.ones(len(zx), bool), self.radius))
            self.zeros = (zx[distinct], zf[distinct])
        self.n_new = len(self.zeros[0]) - known
        self.X, self.F = np.concatenate([self.X, X]), np.concatenate([self.F, F])
        self.outcome = np.concatenate([self.outcome, outcome])
        self.rounds += 1

    def _sweep(self, X0: np.ndarray, known: np.ndarray) -> None:
        """The Newton sweep (module docstring) from the starts X0 whose minimisation converged: the zeros it
        reaches that lie farther than the merge radius from ``known`` become known zeros of their own
        (``sweep_zeros``, reported as fixed points, not counted as starts)."""
        _, X, F, _ = self._newton_zeros(X0)
        if len(known) and len(X):
            new = cKDTree(known).query(X, distance_upper_bound=self.radius)[0] > self.radius
            X, F = X[new], F[new]
        if len(X):
            distinct = np.unique(cluster(X, 0.5 * row_dot(F, F), np.ones(len(X), bool), self.radius))
            self.sweep_zeros = (np.concatenate([self.sweep_zeros[0], X[distinct]]),
                                np.concatenate([self.sweep_zeros[1], F[distinct]]))

    def _restart(self, X0: np.ndarray, X: np.ndarray, F: np.ndarray, aux: np.ndarray, outcome: np.ndarray) -> None:
        """Newton restarts (module docstring) of the saturated, unconverged and escaped rows from their
        starts X0; the rows that reach a zero take it (X, F, aux and ``outcome`` in place)."""
        rows = np.flatnonzero(np.isin(outcome, (SATURATED, UNCONVERGED, ESCAPED)))
        if not self._newton_allowed():
            return
        self.n_restarted += rows.size
        reached, Xr, Fr, auxr = self._newton_zeros(X0[rows])
        rows = rows[reached]
        X[rows], F[rows], aux[rows] = Xr, Fr, auxr
        outcome[rows] = FIXED
        self.n_restart_zeros += rows.size

    def _newton_allowed(self) -> bool:
        """Restarts and the sweep run with the dense model only (the matrix-free loop tries Newton steps at
        every iteration) and before the deadline."""
        return self.model.newton_probe and (self.deadline is None or time.perf_counter() < self.deadline)

    def _newton_zeros(self, X0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Plain Newton steps with backtracking (:func:`_newton`) from the starts X0: the indices into X0 of
        those that reach a zero inside the trust region, and those zeros' X, F and model state (none when
        :meth:`_newton_allowed` says no)."""
        n = self.model.system.dim
        if not len(X0) or not self._newton_allowed():
            return np.zeros(0, dtype=int), np.zeros((0, n)), np.zeros((0, n)), self.model.evaluate(np.zeros((0, n)))
        X = X0.copy()
        with np.errstate(all="ignore"):
            F = self.model.system.residual(X)
        aux = self.model.evaluate(X)
        rows = np.flatnonzero(np.isfinite(row_dot(F, F)) & self.model.finite(aux))
        X, F, aux = X[rows], F[rows], aux[rows]
        _newton(self.model, X, F, aux, RESTART_MAX_ITER, RESTART_BACKTRACKS)
        zero = is_zero(self.model, X, F, aux, self.tol) & inside(X, self.trust)
        return rows[zero], X[zero], F[zero], aux[zero]

    def unseen(self) -> bool:
        """Whether another round of starts may find new fixed points: the
        last round found new ones and some fixed point has been reached by a
        single start so far (Good-Turing: the chance that a new start finds
        an unseen point is about the fraction of starts whose point no other
        start found)."""
        fixed = np.flatnonzero(self.outcome == FIXED)
        if not self.n_new or not fixed.size:
            return False
        zf = self.F[fixed]
        rep = cluster(self.X[fixed], 0.5 * row_dot(zf, zf), np.ones(len(fixed), bool), self.radius)
        return bool(np.any(np.unique(rep, return_counts=True)[1] == 1))


def _length_scale(X0: np.ndarray, box: np.ndarray | None) -> float:
    """L, the length scale of the search: max(1, max |bound|) of the box,
    or without one max(1, the lower median of |start|_inf), so that a few
    outlying starts do not set it."""
    if box is not None:
        return max(1.0, float(np.max(np.abs(box))))
    return max(1.0, float(np.percentile(np.max(np.abs(X0), axis=1), 50, method="lower")))


def _merge_radii(X: np.ndarray, is_fixed: np.ndarray, merge_tol: float, length: float) -> np.ndarray:
    """Each point's merge radius: merge_tol max(L, |x|_inf) for a fixed
    point, sqrt(merge_tol) times that for a slow point (q is flat there, so
    starts stop up to about sqrt(slow_gtol) L apart)."""
    scale = np.maximum(length, np.max(np.abs(X), axis=1, initial=0.0))
    return np.where(is_fixed, merge_tol, np.sqrt(merge_tol)) * scale


def _uncertainty_radii(model: JacobianModel, X: np.ndarray, F: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """The merge radii widened to 4 |DF(x)^-1 F(x)| (the Newton correction,
    least squares where DF is singular): a zero to rounding (a stiff system)
    is located only that well, along its slow directions."""
    with np.errstate(all="ignore"):
        step = np.linalg.norm(model.newton_step(X, F, model.evaluate(X)), axis=1)
    return np.maximum(radii, np.where(np.isfinite(step), 4.0 * step, 0.0))


def _default_max_slow_q(system: System, box: np.ndarray | None, starts: np.ndarray | None) -> float:
    """SLOW_Q_FRACTION times the median q (finite values) over the reference
    sample of ``max_slow_q`` (see :func:`dynsys.find_fixed_points`): a Latin hypercube of
    ``box``, else standard normal states z, or c + s z for given ``starts``
    (c the middle of their bounding box, s its half-widths raised to 1)."""
    sampler = np.random.default_rng(SLOW_Q_SEED)
    n = system.dim
    if box is not None:
        X = qmc.scale(qmc.LatinHypercube(d=n, rng=sampler).random(SLOW_Q_SAMPLES), box[:, 0], box[:, 1])
    else:
        X = sampler.standard_normal((SLOW_Q_SAMPLES, n))
        if starts is not None:
            low, high = starts.min(axis=0), starts.max(axis=0)
            X = 0.5 * (low + high) + np.maximum(1.0, 0.5 * (high - low)) * X
    with np.errstate(all="ignore"):
        F = system.residual(X)
        q = 0.5 * row_dot(F, F)
    q = q[np.isfinite(q)]
    return SLOW_Q_FRACTION * float(np.median(q)) if q.size else 0.0



def _start_sampler(
    system: System,
    starts: Any,
    n_starts: int,
    bounds: Any,
    noise: float,
    rng: np.random.Generator,
    t_span: tuple[float, float] | None,
) -> Callable[[], np.ndarray]:
    """A function that draws one round of (B, n) starts: the given ones, a
    Latin hypercube in a box, or states of trajectories (simulated once, at
    the first draw, and sampled afresh for each round), plus noise."""
    n = system.dim
    noise = check_real(noise, "noise")
    if t_span is not None and system.kind == "map":
        raise ValueError(f"t_span applies to flows only; {system.name} is a map")
    if starts is not None:
        X0 = np.array(check_real_array(starts, "starts", finite=False), dtype=float)  # a copy, real
        if X0.ndim == 1:
            X0 = X0[None, :]
        if X0.ndim != 2 or X0.shape[1] != n or X0.shape[0] == 0:
            raise ValueError(
                f"starts must have shape (B, {n}) or ({n},) with B >= 1 for {system.name}, got shape {np.shape(starts)}"
            )
        if not np.isfinite(X0).all():
            rows = np.flatnonzero(~np.isfinite(X0).all(axis=1))
            raise ValueError(f"starts must be finite; rows {rows[:10].tolist()} are not")

        def draw() -> np.ndarray:
            return X0.copy()
    else:
        n_starts = check_count(n_starts, "n_starts")
        box = bounds if bounds is not None else system.bounds
        if box is not None and np.max(np.abs(box)) > MAX_BOUND:
            raise ValueError(
                f"bounds {box.tolist()} are too large to search: q = ½|F|² overflows float64 for |F| above "
                f"~1e154; keep them within ±{MAX_BOUND:g} (rescale the system's coordinates)"
            )
        trajectories = functools.cache(lambda: _trajectories(system, n_starts, rng, t_span))

        def draw() -> np.ndarray:
            if box is not None:
                return qmc.scale(qmc.LatinHypercube(d=n, rng=rng).random(n_starts), box[:, 0], box[:, 1])
            return sample_states(trajectories(), n_starts, seed=rng)

    def noisy() -> np.ndarray:
        X = draw()
        return X + noise * rng.standard_normal(X.shape) if noise else X

    return noisy


def _trajectories(
    system: System, n_starts: int, rng: np.random.Generator, t_span: tuple[float, float] | None
) -> Trajectories | np.ndarray:
    """Trajectories from standard normal initial states, whose states serve as starts.

    A flow's span that needs more than simulate's ``max_steps``
    (RuntimeError) is retried SPAN_SHRINK times shorter, SPAN_RETRIES times
    at most; then the initial states themselves, shape (B, n), are returned.
    """
    x0 = rng.standard_normal((min(n_starts, MAX_TRAJECTORIES), system.dim))
    t0, t1 = DEFAULT_T_SPAN if t_span is None else t_span
    duration = DEFAULT_MAP_STEPS if system.kind == "map" else t1 - t0
    for k in range(SPAN_RETRIES + 1):
        try:
            return advance(system, x0, duration / SPAN_SHRINK**k, method="auto")
        except RuntimeError:  # maps never raise: they are iterated exactly
            continue
    return x0


def _jacobian_model(system: System, n_starts: int, solver: str, max_memory: float) -> tuple[JacobianModel, int]:
    """The Jacobian model for ``solver`` and the number of chunks the starts
    are split into so that each fits in ``max_memory`` bytes.

    "auto" takes the matrix-free model when the system supplies analytic
    Jacobian-vector products (``system.matrix_free``) and either n > DENSE_MAX_DIM
    or one start's dense working memory exceeds the budget; the dense model otherwise.
    """
    choices = ("auto", *SOLVERS)
    if solver not in choices:
        raise ValueError(f"solver must be one of {choices}, got {solver!r}")
    max_memory = check_real(max_memory, "max_memory", positive=True)
    n = system.dim
    if solver == "auto":
        large = n > DENSE_MAX_DIM or DenseJacobian.bytes_per_start(n) > max_memory
        solver = "matrix-free" if system.matrix_free and large else "dense"
    model = SOLVERS[solver](system)
    per_start = model.bytes_per_start(n)
    if per_start > max_memory:
        raise ValueError(
            f"max_memory = {max_memory:.4g} bytes is below the {per_start} bytes one start needs with the "
            f"{solver} solver in {n} dimensions"
        )
    return model, max(1, -(-n_starts * per_start // int(max_memory)))


def _finish(model: JacobianModel, lm: LMResult, tol: float, radius: float) -> tuple[np.ndarray, ...]:
    """The final (X, F, aux) of a batch after :func:`levenberg_marquardt`.

    Rows that merged early take their leader's result; the rows near a zero
    (|F| <= sqrt(tol)) are clustered (radius ``radius``), Newton polishing
    runs once per cluster, on its representative, and every row of the
    cluster takes the polished result.
    """
    X, F, aux = lm.X, lm.F, lm.aux
    follows = np.flatnonzero(lm.leader >= 0)
    X[follows], F[follows], aux[follows] = X[lm.leader[follows]], F[lm.leader[follows]], aux[lm.leader[follows]]
    with np.errstate(over="ignore"):
        fnorm = np.linalg.norm(F, axis=1)
    near = np.flatnonzero(fnorm <= np.sqrt(tol))
    rep_of = near[cluster(X[near], 0.5 * fnorm[near] ** 2, fnorm[near] <= tol, radius)]
    _polish(model, X, F, aux, tol, np.unique(rep_of))
    X[near], F[near], aux[near] = X[rep_of], F[rep_of], aux[rep_of]
    return X, F, aux


def _polish(model: JacobianModel, X: np.ndarray, F: np.ndarray, AUX: np.ndarray, tol: float, rows: np.ndarray) -> None:
    """Newton steps on F = 0 from ``rows`` of X (in place), while |F| decreases.

    A row that does not reach a zero (:func:`is_zero`) keeps its input values.
    """
    Xp, Fp, Jp = X[rows], F[rows], AUX[rows]
    _newton(model, Xp, Fp, Jp, NEWTON_MAX_ITER, backtracks=0)
    done = is_zero(model, Xp, Fp, Jp, tol)
    X[rows[done]], F[rows[done]], AUX[rows[done]] = Xp[done], Fp[done], Jp[done]


def _newton(
    model: JacobianModel, X: np.ndarray, F: np.ndarray, AUX: np.ndarray, max_iter: int, backtracks: int
) -> None:
    """At most ``max_iter`` Newton steps x <- x + a delta, J delta = -F, on every row of X (in place).

    The step length a is 1, halved up to ``backtracks`` times until |F|
    decreases; a row whose |F| does not decrease, or vanishes, or whose J is
    not finite, stops.  X, F and AUX (the model's state) hold each row's
    best iterate.
    """
    fp = row_norm(F)
    active = np.flatnonzero(fp > 0)
    for _ in range(max_iter):
        if not active.size:
            break
        with np.errstate(all="ignore"):
            delta = model.newton_step(X[active], F[active], AUX[active])
        moved = np.zeros(active.size, dtype=bool)
        trying, length = np.arange(active.size), 1.0
        for _ in range(backtracks + 1):  # a loop over halvings, each a batched evaluation
            with np.errstate(all="ignore"):
                Xt = X[active[trying]] + length * delta[trying]
                Ft = model.system.residual(Xt)
            ft = row_norm(Ft)
            better = ft < fp[active[trying]]  # False where ft is NaN
            b = active[trying[better]]
            X[b], F[b], fp[b] = Xt[better], Ft[better], ft[better]
            moved[trying[better]] = True
            trying, length = trying[~better], 0.5 * length
            if not trying.size:
                break
        b = active[moved]
        AUX[b] = model.evaluate(X[b])
        active = b[(fp[b] > 0) & model.finite(AUX[b])]


def _trust_region(X0: np.ndarray, length: float, max_drift: float | None) -> np.ndarray:
    """The (n, 2) box a start may not leave (see ``max_drift``)."""
    if max_drift is None:
        return np.tile([-DIVERGENCE_FACTOR * length, DIVERGENCE_FACTOR * length], (X0.shape[1], 1))
    with np.errstate(over="ignore"):  # far-out starts may widen it to inf: no limit then
        drift = check_real(max_drift, "max_drift") * max(float(np.ptp(X0, axis=0).max()), length)
        return np.stack([X0.min(axis=0) - drift, X0.max(axis=0) + drift], axis=1)


def _classify(
    model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, *, tol: float, gtol: float, length: float,
    trust: np.ndarray,
) -> np.ndarray:
    """FIXED, SATURATED, SLOW, UNCONVERGED, DIVERGED or ESCAPED for every row.

    A row whose q = ½|F|² is not finite (F overflows it) is diverged."""
    with np.errstate(over="ignore"):
        finite = np.isfinite(row_dot(F, F)) & model.finite(aux)
    outcome = np.full(len(X), UNCONVERGED)
    outcome[finite] = np.where(is_zero(model, X[finite], F[finite], aux[finite], tol), FIXED, UNCONVERGED)
    rest = np.flatnonzero(finite & (outcome != FIXED))
    if rest.size:
        g = model.gradient(X[rest], F[rest], aux[rest])
        finite[rest] = np.isfinite(g).all(axis=1)
        flat = saturated(model, X[rest], F[rest], aux[rest], length)
        outcome[rest[flat]] = SATURATED
        rest, g = rest[~flat], g[~flat]
        outcome[rest[stationary(model, X[rest], F[rest], aux[rest], g, gtol, length)]] = SLOW
    return np.where(finite, np.where(inside(X, trust), outcome, ESCAPED), DIVERGED)
