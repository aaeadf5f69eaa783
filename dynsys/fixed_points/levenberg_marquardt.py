"""Batched Levenberg-Marquardt minimisation of q(x) = ½|F(x)|², with early merging.

For every start at once, with J = DF(x) and g = J^T F = grad q, the trial
step solves

    (J^T J + mu I) delta = -g

(one batched ``numpy.linalg.solve`` over the active starts, or CGLS for
the matrix-free model: :mod:`.jacobians`).  Where mu is above its starting
level, the undamped Newton step J delta = -F is tried as well (a batched LU
solve, or GMRES) and taken when it gives the lower q (the Newton probe; a
Jacobian model without ``newton_probe``, the matrix-free one, tries the
Newton step of every row at every iteration): the damping mu I shortens the steps along the
directions of small singular values of J, so that plain LM crawls along
curved valleys of q, where Newton's affine-invariant step goes straight to
the zero.  A step is accepted when q(x + delta) < q(x); the damping mu of
each start then shrinks by max(1/3, 1 - (2 rho - 1)^3), where rho is the
ratio of the actual to the predicted decrease -g.delta - ½|J delta|² (the
gain ratio), and otherwise grows by nu (nu doubling on every rejection in a
row; a Newton step counts as rho = 1), starting from mu = LM_TAU max
diag(J^T J) (Madsen, Nielsen & Tingleff 2004; the matrix-free model starts
from ||J||_F² / n).  Near a slow point q cannot decrease below its rounding
error, so a step that leaves q unchanged to within 4 eps q is accepted when
it decreases |grad q| instead (without changing mu): the flat floor.  An
inexact (matrix-free) step is solved to the relative residual
eta = min(CG_ETA_MAX, sqrt(min(|F| / |F_0|, |g| / |g_0|))) (the forcing
term; F_0, g_0 at the first iteration), an inexact Newton step to
min(eta, NEWTON_ETA_MAX).

*Newton phase.*  A row converging to a zero, |F| <= NEWTON_PHASE |F_0|,
tries the Newton step alone and the damped step only where the Newton
step does not decrease q: no J^T J is formed for it.  Earlier rows try
both.  (Newton first for every row from the start saved more, but from 16
start sets of the flip-flop network (an ad-hoc run: noise 0.1 to 1, seeds
0 to 3, 512 starts each) it reached 390 of the 432 points against 399:
the damping keeps a start from jumping across the basins of the zeros
where J is nearly singular.)

A start stops at a zero (|F| <= tol, or, after a rejected step, zero to
rounding: :func:`.criteria.is_zero`), when it is stationary
(:func:`.criteria.stationary`), when it is saturated
(:func:`.criteria.saturated`: tested where the stationarity test is, and
every SATURATION_EVERY iterations from SATURATION_AFTER on, on the rows
with |F| > sqrt(tol)), when its step is below rounding
(|delta| <= eps (|x| + eps L)) and rejected after its Newton step was tried,
when F, q or J become non-finite or it leaves the trust region, or after
``max_iter`` iterations; the Jacobian is evaluated only at accepted points.

*Early merging.*  A start that is converging to a zero (|F| <= sqrt(tol))
stops as soon as it lies within min(EARLY_MERGE_CAP L, r + 4 |delta|)
(delta its last step, r the merge radius) of a zero already found (in this
batch or given as ``zeros``), or of another converging start, whose result
it then takes; so the last, most expensive iterations run once per
distinct point.

The loop runs over one working set (:class:`_WorkingSet`, the rows still
iterating in compact arrays that shrink together), one named step after
the other: convergence tests (and early merging), the forcing term, the
trial step (the Newton phase, the damped step and the Newton probe), acceptance and damping, and the test
for stalled rows.

References
----------
K. Madsen, H. B. Nielsen and O. Tingleff, "Methods for non-linear least
squares problems", 2nd ed., IMM, DTU, 2004 (the damping update).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial import cKDTree

from .common import EPS, cluster, inside, row_dot, row_norm
from .criteria import is_zero, saturated, stationary
from .jacobians import JacobianModel

LM_TAU = 1e-3  # initial damping mu = LM_TAU * max diag(J^T J)
CG_ETA_MAX = 0.1  # loosest relative residual of an inexact damped step
NEWTON_ETA_MAX = 1e-2  # loosest relative residual of an inexact Newton step (looser ones reach fewer zeros)
NEWTON_PHASE = 1e-2  # rows with |F| <= NEWTON_PHASE |F_0| try the Newton step first
EARLY_MERGE_CAP = 1e-3  # early merging radius at most EARLY_MERGE_CAP * L
SATURATION_AFTER = 20  # from this iteration on, every SATURATION_EVERY iterations, rows far from a zero ...
SATURATION_EVERY = 10  # ... stop where they are saturated (criteria.saturated)


@dataclass
class LMResult:
    """The final states of a batch (:func:`levenberg_marquardt`).

    Attributes
    ----------
    X, F : ndarray of shape (B, n)
    aux : ndarray
        The Jacobian model's per-row state at X (DF for the dense model).
    iterations : int
    leader : ndarray of int, shape (B,)
        -1, or the row whose final result a row that merged early takes
        (chains resolved: the leader itself has -1).
    merged : ndarray of bool, shape (B,)
        The rows stopped early by merging (into a known zero or a leader).
    timed_out : bool
        Rows were still iterating when the ``deadline`` passed.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import models
    >>> from dynsys.fixed_points.jacobians import DenseJacobian
    >>> result = levenberg_marquardt(
    ...     DenseJacobian(models.duffing()), np.array([[0.9, 0.1]]), tol=1e-10, gtol=1e-8, max_iter=50,
    ...     length=1.0, trust=np.array([[-5.0, 5.0], [-5.0, 5.0]]), merge_radius=1e-6)
    >>> result.X.round(8) + 0.0, result.leader.tolist(), result.timed_out
    (array([[1., 0.]]), [-1], False)
    """

    X: np.ndarray
    F: np.ndarray
    aux: np.ndarray
    iterations: int
    leader: np.ndarray
    merged: np.ndarray
    timed_out: bool = False


def levenberg_marquardt(
    model: JacobianModel,
    X0: np.ndarray,
    *,
    tol: float,
    gtol: float,
    max_iter: int,
    length: float,
    trust: np.ndarray,
    merge_radius: float,
    zeros: tuple[np.ndarray, np.ndarray] | None = None,
    deadline: float | None = None,
) -> LMResult:
    """Minimise q = ½|F|² from every row of X0 at once (the method is in this module's docstring).

    Rows whose F or Jacobian is not finite, or that leave the ``trust`` box,
    stop where that happened (and are classified as diverged or escaped
    later).  The rows still iterating are kept in compact working arrays, so
    each iteration costs one batched step (two for the rows that also try a
    Newton step), one evaluation of F at the trial points and one of the
    Jacobian model at the accepted ones.

    Parameters
    ----------
    model : JacobianModel
    X0 : ndarray of shape (B, n)
        The starts.
    tol : float
        A row stops at a zero, |F| <= tol (or zero to rounding).
    gtol : float
        A row stops where it is stationary (:func:`.criteria.stationary`).
    max_iter : int
        Iterations at most.
    length : float
        L, the length scale of the search.
    trust : ndarray of shape (n, 2)
        The box a row may not leave.
    merge_radius : float
        r of early merging.  A row converging to a zero (|F| <= sqrt(tol))
        stops when it lies within min(EARLY_MERGE_CAP L, r + 4|δ|) (δ its
        last step) of a known zero (``zeros``, or a row of this batch that
        reached |F| <= tol), taking that zero's (x, F); converging rows
        clustered at such a radius (with their median step) follow the one
        with the lowest q (``leader``), so that one of them goes on.
    zeros : (ndarray of shape (k, n), ndarray of shape (k, n)), optional
        Distinct zeros (x, F) found before.
    deadline : float, optional
        A ``time.perf_counter()`` value; the iterations stop when it has
        passed, leaving the rows where they are (``timed_out``).

    Returns
    -------
    LMResult

    Examples
    --------
    Two starts near the same zero of the Duffing oscillator: one of them
    follows the other (its ``leader``).

    >>> import numpy as np
    >>> from dynsys import models
    >>> from dynsys.fixed_points.jacobians import DenseJacobian
    >>> result = levenberg_marquardt(
    ...     DenseJacobian(models.duffing()), np.array([[-1.2, 0.1], [-1.2, 0.1 + 1e-12]]), tol=1e-10,
    ...     gtol=1e-8, max_iter=50, length=1.0, trust=np.array([[-5.0, 5.0], [-5.0, 5.0]]), merge_radius=1e-6)
    >>> result.X[1].round(8) + 0.0, result.merged.tolist(), result.leader.tolist()
    (array([-1.,  0.]), [False, True], [-1, 0])
    """
    X = X0.copy()
    with np.errstate(all="ignore"):
        F = model.system.residual(X)
    batch = LMResult(X, F, model.evaluate(X), 0, np.full(len(X), -1), np.zeros(len(X), dtype=bool))
    known = _KnownZeros(X.shape[1], merge_radius, EARLY_MERGE_CAP * length, zeros)
    work = _WorkingSet.start(model, batch, trust)
    while len(work) and batch.iterations < max_iter:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        batch.iterations += 1
        every = batch.iterations >= SATURATION_AFTER and batch.iterations % SATURATION_EVERY == 0
        _retire_converged_and_merged(model, work, batch, known, tol=tol, gtol=gtol, length=length, saturation=every)
        if not len(work):
            break
        trial = _trial_step(model, work, _forcing_term(work))
        accept = _accept_and_damp(model, work, trial)
        going = _still_going(model, work, trial, accept, length=length, trust=trust)
        if not going.all():
            work.retire(going, batch)
    batch.timed_out = bool(len(work)) and batch.iterations < max_iter
    work.retire(np.zeros(len(work), dtype=bool), batch)
    batch.leader = _resolve_chains(batch.leader)
    return batch


@dataclass
class _WorkingSet:
    """The rows of a batch still iterating, in compact arrays that shrink together (:meth:`keep`).

    Attributes
    ----------
    rows : ndarray of int, shape (m,)
        Their indices in the batch.
    x, f : ndarray of shape (m, n)
        The current iterates and F there.
    aux : ndarray
        The Jacobian model's state at x.
    q : ndarray of shape (m,)
        ½|f|².
    g : ndarray of shape (m, n)
        grad q at x, set by each iteration's convergence tests.
    mu, nu : ndarray of shape (m,)
        The damping and the factor it grows by on the next rejection.
    fnorm0, gnorm0 : ndarray of shape (m,)
        |F| at the start and |grad q| at the first iteration (NaN before),
        the references of the forcing term.
    step : ndarray of shape (m,)
        |δ| of the last accepted step (inf before the first).
    jnorm : ndarray of shape (m,)
        ||DF||_F, cached for the cheap necessary test of stationarity.
    rejected : ndarray of bool, shape (m,)
        The last step was rejected.
    """

    rows: np.ndarray
    x: np.ndarray
    f: np.ndarray
    aux: np.ndarray
    q: np.ndarray
    g: np.ndarray
    mu: np.ndarray
    nu: np.ndarray
    fnorm0: np.ndarray
    gnorm0: np.ndarray
    step: np.ndarray
    jnorm: np.ndarray
    rejected: np.ndarray

    @classmethod
    def start(cls, model: JacobianModel, batch: LMResult, trust: np.ndarray) -> _WorkingSet:
        """The healthy rows of ``batch`` (finite, inside ``trust``), with their starting damping."""
        rows = np.flatnonzero(_healthy(model, batch.X, batch.F, batch.aux, trust))
        x, f, aux = batch.X[rows], batch.F[rows], batch.aux[rows]
        m = len(rows)
        q = 0.5 * row_dot(f, f)
        mu = LM_TAU * model.initial_damping(x, aux)  # before frobenius: the matrix-free model draws its probes in order
        mu[~(mu > 0)] = LM_TAU
        return cls(
            rows=rows, x=x, f=f, aux=aux, q=q, g=np.zeros_like(x), mu=mu, nu=np.full(m, 2.0),
            fnorm0=np.maximum(np.sqrt(2.0 * q), EPS), gnorm0=np.full(m, np.nan), step=np.full(m, np.inf),
            jnorm=model.frobenius(x, aux), rejected=np.zeros(m, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, going: np.ndarray) -> None:
        """Keep only the rows where ``going`` is true, in every array."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[going])

    def retire(self, going: np.ndarray, batch: LMResult) -> None:
        """Write the rows where ``going`` is false back into ``batch`` and :meth:`keep` the others."""
        done = ~going
        batch.X[self.rows[done]], batch.F[self.rows[done]], batch.aux[self.rows[done]] = (
            self.x[done], self.f[done], self.aux[done]
        )
        self.keep(going)


@dataclass
class _Trial:
    """Each row's trial point (the damped step's, or the Newton step's where that is better).

    ``delta`` is the step taken to it, ``jdelta`` J δ of the damped step,
    ``newton`` the rows whose Newton step won, ``probed`` those whose Newton
    step was tried (all of them for a model without ``newton_probe``).
    """

    x: np.ndarray
    f: np.ndarray
    q: np.ndarray
    delta: np.ndarray
    jdelta: np.ndarray
    newton: np.ndarray
    probed: np.ndarray


def _convergence_tests(
    model: JacobianModel, work: _WorkingSet, *, tol: float, gtol: float, length: float, saturation: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that stop, and those of them that are zeros (:func:`.criteria.is_zero`).

    A row stops at a zero (|F| <= tol; or, after a rejected step, zero to
    rounding) or where it is :func:`.criteria.stationary`.  |g| <= gtol |F|
    (||J||_F + |F| / L) is necessary for stationarity and cheap: it is
    checked first, with the cached ``work.jnorm`` (||J||_F per row, times
    10), which is re-evaluated (and updated in place) only for the rows it
    lets pass.  Those rows also stop where they are
    :func:`.criteria.saturated`, and so, when ``saturation`` is true, do
    all rows with |F| > sqrt(tol).
    """
    x, f, aux, g = work.x, work.f, work.aux, work.g
    with np.errstate(all="ignore"):  # huge but finite rows overflow to inf here, harmlessly
        fnorm, gnorm = row_norm(f), row_norm(g)
        zero = fnorm <= tol
        noisy = np.flatnonzero(~zero & work.rejected)
        if noisy.size:
            zero[noisy] = is_zero(model, x[noisy], f[noisy], aux[noisy], tol)
        maybe = np.flatnonzero(~zero & (gnorm <= gtol * fnorm * (10.0 * work.jnorm + fnorm / length)))
        if maybe.size:
            work.jnorm[maybe] = model.frobenius(x[maybe], aux[maybe])
            maybe = maybe[gnorm[maybe] <= gtol * fnorm[maybe] * (work.jnorm[maybe] + fnorm[maybe] / length)]
        done = zero.copy()
        if maybe.size:
            done[maybe] = stationary(model, x[maybe], f[maybe], aux[maybe], g[maybe], gtol, length) | saturated(
                model, x[maybe], f[maybe], aux[maybe], length)
        far = np.flatnonzero(~done & (fnorm > np.sqrt(tol))) if saturation else maybe[:0]
        if far.size:
            done[far] = saturated(model, x[far], f[far], aux[far], length)
        return done, zero


def _retire_converged_and_merged(
    model: JacobianModel, work: _WorkingSet, batch: LMResult, known: _KnownZeros, *, tol: float, gtol: float,
    length: float, saturation: bool = False,
) -> None:
    """The first step of an iteration: grad q, the convergence tests and early merging.

    Rows that converged, whose gradient is not finite, or that merged (into
    a known zero, taking its (x, F), or behind a leader, recorded in
    ``batch``) are retired; the zeros reached become known zeros.
    """
    with np.errstate(all="ignore"):
        work.g = model.gradient(work.x, work.f, work.aux)
    converged, zero = _convergence_tests(model, work, tol=tol, gtol=gtol, length=length, saturation=saturation)
    stop = ~np.isfinite(work.g).all(axis=1) | converged
    known.add(work.x[zero], work.f[zero])
    merged, lead = known.merge(work.x, work.f, work.q, work.step, tol, ~stop)
    batch.merged[work.rows[merged]] = True
    follows = np.flatnonzero(lead >= 0)
    batch.leader[work.rows[follows]] = work.rows[lead[follows]]
    going = ~(stop | merged)
    if not going.all():
        work.retire(going, batch)


def _forcing_term(work: _WorkingSet) -> np.ndarray:
    """eta, the relative accuracy of an inexact step: tighter as |F| (towards
    a zero) or |grad q| (towards a slow point) falls.  Sets ``work.gnorm0`` at
    a row's first iteration."""
    gnorm = row_norm(work.g)
    work.gnorm0 = np.where(np.isnan(work.gnorm0), np.maximum(gnorm, EPS), work.gnorm0)
    return np.minimum(CG_ETA_MAX, np.sqrt(np.minimum(row_norm(work.f) / work.fnorm0, gnorm / work.gnorm0)))


def _newton_probe(model: JacobianModel, work: _WorkingSet, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` that take a damped step also try the undamped Newton step J δ = -F.

    Where the damping is still above its starting level: mu I damps the
    directions of small singular values, along which LM alone crawls in
    curved valleys.  A model without ``newton_probe`` (the matrix-free one)
    tries the Newton step of every row.
    """
    if not model.newton_probe:
        return np.ones(rows.size, dtype=bool)
    return work.mu[rows] > LM_TAU * model.initial_damping(work.x[rows], work.aux[rows])


def _trial_step(model: JacobianModel, work: _WorkingSet, eta: np.ndarray) -> _Trial:
    """Each row's trial point; F at the trial points of a phase in one evaluation.

    Rows converging to a zero (|F| <= NEWTON_PHASE |F_0|) try the Newton
    step alone and the damped one only where it fails to decrease q (no
    J^T J for them); the others try the damped step and the Newton probe
    and keep the trial of lower q.
    """
    m = len(work)
    newton_first = np.flatnonzero(row_norm(work.f) <= NEWTON_PHASE * work.fnorm0)
    newton_eta = np.minimum(eta, NEWTON_ETA_MAX)
    # every row is written below: by its Newton step where that wins, else by _damped_trial
    trial = _Trial(np.empty_like(work.x), np.empty_like(work.f), np.empty(m), np.empty_like(work.x),
                   np.empty_like(work.x), np.zeros(m, dtype=bool), np.zeros(m, dtype=bool))
    with np.errstate(all="ignore"):
        if newton_first.size:
            rows = newton_first
            step = model.newton_step(work.x[rows], work.f[rows], work.aux[rows], newton_eta[rows])
            x = work.x[rows] + step
            f = model.system.residual(x)
            q = 0.5 * row_dot(f, f)
            trial.x[rows], trial.f[rows], trial.q[rows] = x, f, q
            trial.delta[rows], trial.jdelta[rows] = step, -work.f[rows]
            trial.newton[rows] = q < work.q[rows]  # False where NaN
            trial.probed[rows] = True
        damped = np.flatnonzero(~trial.newton)
        if damped.size:
            _damped_trial(model, work, eta, newton_eta, damped, trial)
    return trial


def _damped_trial(
    model: JacobianModel, work: _WorkingSet, eta: np.ndarray, newton_eta: np.ndarray, rows: np.ndarray,
    trial: _Trial,
) -> None:
    """The damped step of ``rows`` (to relative residual ``eta``) and the Newton probe (to ``newton_eta``) of
    those not yet probed; each row keeps the trial of lower q (written into ``trial``)."""
    x, f, aux = work.x[rows], work.f[rows], work.aux[rows]
    step, jstep = model.damped_step(x, f, work.g[rows], aux, work.mu[rows], eta[rows])
    unprobed = np.flatnonzero(~trial.probed[rows])  # the Newton-phase rows tried theirs already
    probe = unprobed[_newton_probe(model, work, rows[unprobed])]
    step_newton = model.newton_step(x[probe], f[probe], aux[probe], newton_eta[rows][probe])
    trials = np.concatenate([x + step, x[probe] + step_newton])
    f_trials = model.system.residual(trials)
    q_trials = 0.5 * row_dot(f_trials, f_trials)
    k = rows.size
    wins = q_trials[k:] < q_trials[probe]  # False where NaN
    pick = np.arange(k)
    pick[probe[wins]] = k + np.flatnonzero(wins)
    step[probe[wins]] = step_newton[wins]
    trial.x[rows], trial.f[rows], trial.q[rows] = trials[pick], f_trials[pick], q_trials[pick]
    trial.delta[rows], trial.jdelta[rows] = step, jstep
    trial.newton[rows[probe[wins]]] = True
    trial.probed[rows[probe]] = True


def _accept_and_damp(model: JacobianModel, work: _WorkingSet, trial: _Trial) -> np.ndarray:
    """Accept the trials that decrease q (or, on the flat floor, |grad q|), move
    there, and update the damping by the gain ratio; returns the accepted rows."""
    # gain ratio: actual decrease of q over the decrease -g.δ - ½|Jδ|²
    # of its quadratic model; a better Newton step counts as perfect
    with np.errstate(all="ignore"):
        predicted = -row_dot(work.g, trial.delta) - 0.5 * row_dot(trial.jdelta, trial.jdelta)
        rho = np.where(trial.newton, 1.0, (work.q - trial.q) / predicted)
    descent = trial.q < work.q  # False where the trial's q is NaN
    # On the rounding floor of q (a slow point), progress is a smaller |grad q|.
    flat = np.flatnonzero(~descent & (trial.q <= work.q * (1.0 + 4.0 * EPS)))
    aux_flat = work.aux[:0]
    if flat.size:
        aux_flat = model.evaluate(trial.x[flat])
        with np.errstate(all="ignore"):
            smaller = row_norm(model.gradient(trial.x[flat], trial.f[flat], aux_flat)) < row_norm(work.g[flat])
        flat, aux_flat = flat[smaller], aux_flat[smaller]
    accept = descent.copy()
    accept[flat] = True
    # Accepted: move, re-evaluate J, relax the damping (kept on the floor).
    if descent.all():  # the common case early on: no copies
        work.x, work.f, work.q, work.aux = trial.x, trial.f, trial.q, model.evaluate(trial.x)
    else:
        work.x[accept], work.f[accept], work.q[accept] = trial.x[accept], trial.f[accept], trial.q[accept]
        work.aux[descent] = model.evaluate(trial.x[descent])
        work.aux[flat] = aux_flat
    work.step[accept] = row_norm(trial.delta[accept])
    work.mu[descent] *= np.fmax(1.0 / 3.0, 1.0 - (2.0 * rho[descent] - 1.0) ** 3)
    work.nu[accept] = 2.0
    # Rejected: stiffen the damping.
    work.mu[~accept] *= work.nu[~accept]
    work.nu[~accept] *= 2.0
    work.rejected = ~accept
    return accept


def _still_going(
    model: JacobianModel, work: _WorkingSet, trial: _Trial, accept: np.ndarray, *, length: float, trust: np.ndarray
) -> np.ndarray:
    """The rows that go on: not those that became unhealthy, nor those whose
    rejected step is below rounding after the Newton step was tried too (under
    a large starting damping, a stiff F, the damped step is below rounding
    long before mu grows past its starting level, where the probe starts)."""
    stalled = ~accept & trial.probed & (row_norm(trial.delta) <= EPS * (row_norm(work.x) + EPS * length))
    going = ~stalled
    going[accept] = _healthy(model, work.x[accept], work.f[accept], work.aux[accept], trust)
    return going


def _healthy(model: JacobianModel, X: np.ndarray, F: np.ndarray, aux: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """Rows with finite F, q = ½|F|² and Jacobian inside the ``trust`` box."""
    with np.errstate(over="ignore"):
        return np.isfinite(row_dot(F, F)) & model.finite(aux) & inside(X, trust)


class _KnownZeros:
    """Distinct zeros (x, F) known so far, for early merging (see levenberg_marquardt)."""

    def __init__(self, n: int, radius: float, cap: float, zeros: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.x, self.f = zeros if zeros is not None else (np.zeros((0, n)), np.zeros((0, n)))
        self.radius, self.cap = radius, cap
        self._tree = cKDTree(self.x)

    def add(self, x: np.ndarray, f: np.ndarray) -> None:
        """Add the zeros that are not within the merge radius of a known one."""
        if len(x) and len(self.x):
            new = self._tree.query(x, distance_upper_bound=self.radius)[0] > self.radius
            x, f = x[new], f[new]
        if len(x):
            distinct = np.unique(cluster(x, row_dot(f, f), np.ones(len(x), dtype=bool), self.radius))
            self.x, self.f = np.concatenate([self.x, x[distinct]]), np.concatenate([self.f, f[distinct]])
            self._tree = cKDTree(self.x)

    def merge(
        self, x: np.ndarray, f: np.ndarray, q: np.ndarray, step: np.ndarray, tol: float, candidate: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which working rows merge, and the row each follows (-1: none).

        Rows that merge into a known zero get its (x, F) written into ``x``
        and ``f`` in place.  Converging rows are clustered with the radius
        min(cap, merge radius + 4 median |δ|) and follow their cluster's
        lowest q.
        """
        m = len(x)
        merged = np.zeros(m, dtype=bool)
        lead = np.full(m, -1)
        near = np.flatnonzero(candidate & (row_norm(f) <= np.sqrt(tol)))
        if not near.size:
            return merged, lead
        if len(self.x):
            d, k = self._tree.query(x[near], distance_upper_bound=self.cap)
            hit = d <= np.minimum(self.cap, self.radius + 4.0 * step[near])
            x[near[hit]], f[near[hit]] = self.x[k[hit]], self.f[k[hit]]
            merged[near[hit]] = True
            near = near[~hit]
        if near.size > 1:
            r = min(self.cap, self.radius + 4.0 * float(np.median(step[near])))
            best = near[cluster(x[near], q[near], np.zeros(near.size, dtype=bool), r)]
            follows = best != near
            merged[near[follows]] = True
            lead[near[follows]] = best[follows]
        return merged, lead


def _resolve_chains(leader: np.ndarray) -> np.ndarray:
    """Follow leader -> leader's leader ... to a row without one (pointer jumping)."""
    while True:
        has = leader >= 0
        nxt = np.where(has, leader[np.where(has, leader, 0)], -1)
        further = has & (nxt >= 0)
        if not further.any():
            return leader
        leader = np.where(further, nxt, leader)

