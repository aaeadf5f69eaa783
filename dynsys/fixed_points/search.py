"""The entry point of the search: :func:`find_fixed_points`.

It checks the arguments every method shares, runs the method named in
:data:`METHODS` (a module of its own, :mod:`.numeric` or :mod:`.exact`),
linearises the points it found, orders them and returns them as a
:class:`~dynsys.fixed_points.FixedPointSet` with the statistics of the
search.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from .._threads import limit_blas_threads
from .._validate import check_count, check_real
from ..linearize import linearize_batch
from ..systems import System, check_bounds, check_system
from . import exact, numeric
from .base import Method, MethodResult, SearchOptions
from .numeric import DEFAULT_MAX_MEMORY
from .result import FixedPointSet

METHODS: dict[str, Method] = {"numeric": numeric.find, "exact": exact.find}


def find_fixed_points(
    system: System,
    starts: Any = None,
    *,
    n_starts: int = 512,
    bounds: Any = None,
    noise: float = 0.0,
    method: str = "numeric",
    tol: float = 1e-10,
    max_iter: int = 200,
    merge_tol: float = 1e-6,
    slow_gtol: float = 1e-8,
    max_slow_q: float | None = None,
    linearize_tol: float = 1e-8,
    seed: int | np.random.Generator | None = 0,
    t_span: tuple[float, float] | None = None,
    max_drift: float | None = 1.0,
    solver: str = "auto",
    max_memory: float = DEFAULT_MAX_MEMORY,
    max_seconds: float | None = None,
    blas_threads: int | None = 1,
    certify: bool = False,
) -> FixedPointSet:
    """Find the fixed points and slow points of a flow or map.

    Parameters
    ----------
    system : System
    starts : array_like of shape (B, n) or (n,), optional
        Initial guesses.  By default ``n_starts`` points of a Latin hypercube
        in ``bounds`` (or ``system.bounds``); when there is no box either,
        states visited by trajectories of the system from standard normal
        initial states (over ``t_span`` for a flow, 100 iterations for a
        map), as Sussillo & Barak do.
    n_starts : int, default 512
        Number of starts to generate per round (unused when ``starts`` is
        given).  Generated starts come in rounds: after a round that found
        new fixed points, another round of ``n_starts`` is drawn while some
        fixed point has been reached by a single start only (by the
        Good-Turing estimate, then, a new start still has a fair chance of
        finding an unseen point), up to ``numeric.MAX_ROUNDS`` = 8 rounds
        (``stats["n_rounds"]``; a continuum of equilibria, where every start
        ends on a point of its own, takes all of them).
    bounds : array_like of shape (n, 2) or (2,), optional
        The region to search (low, high per state): starts are drawn in it
        and only the points inside it (to within the merge radius) are
        reported, with the others counted as ``n_outside``; also applies to
        ``method="exact"``.  Without it, starts are drawn in
        ``system.bounds`` (a box of interest) and every point found is
        reported, wherever it lies.  Boxes beyond ±MAX_BOUND = 1e150 are
        refused (ValueError naming them): there q = ½|F|² of a system with
        |F| ~ |x| overflows float64.
    noise : float, default 0
        Standard deviation of Gaussian noise added to every start coordinate
        (absolute units).
    method : {"numeric", "exact"}
        The method (:data:`METHODS`): "numeric" minimises q from the starts
        (:mod:`dynsys.fixed_points.numeric`, which gives the algorithm);
        "exact" solves a system of rational formulas exactly with
        :func:`dynsys.fixed_points.exact.solve_exact` and returns all its
        real fixed points (only ``bounds`` and ``merge_tol`` of the search
        options are used).
    tol : float, default 1e-10
        A point is fixed when |F(x)| <= tol (absolute, in the units of F;
        equivalently q <= tol² / 2), or when F vanishes to within its own
        rounding error there (:func:`dynsys.fixed_points.criteria.is_zero`).
    max_iter : int, default 200
        Levenberg-Marquardt iterations at most.
    merge_tol : float, default 1e-6
        Fixed points closer than ``merge_tol * max(L, |x|_inf)`` are one
        point, slow points at ``sqrt(merge_tol)`` times that (L, the length
        scale of the search, and the merging are defined in
        :mod:`dynsys.fixed_points.numeric`).
    slow_gtol : float, default 1e-8
        A non-fixed, non-saturated point is a slow point when the gradient of q is this
        small relative to its natural scale
        (:func:`dynsys.fixed_points.criteria.stationary`).
    max_slow_q : float or None, default None
        Slow points with q above this are not reported.  None:
        SLOW_Q_FRACTION = 1e-3 times the median q over a fixed reference
        sample of the region searched, so that a slow point moves at most
        ~3 % of the typical speed there (``stats["max_slow_q"]`` gives the
        value used); ``np.inf`` reports every local minimum of q.  The
        sample is SLOW_Q_SAMPLES = 512 states, never the starts (which
        may cluster near the slow points and make q look small
        everywhere): a Latin hypercube of ``bounds`` (or
        ``system.bounds``); without a box, standard normal states (where
        trajectory starts begin), centred on the middle of the given
        ``starts``' bounding box and scaled by its half-widths (1 at
        least) when starts are given.
    linearize_tol : float, default 1e-8
        ``tol`` of :func:`dynsys.linearize.linearize_batch`.
    seed : int, numpy.random.Generator or None, default 0
        Seeds the generated starts (Latin hypercube or trajectories) and the
        noise.
    t_span : (t0, t1), optional, flows only
        Time span of the trajectories that give the starts; default (0, 10).
        A span that :func:`dynsys.simulate.simulate` cannot cover within
        its ``max_steps`` (a fast rotation, a stiff system) is shortened
        SPAN_SHRINK = 100 times, up to SPAN_RETRIES = 3 times; then the
        standard normal initial states themselves are the starts.
    max_drift : float or None, default 1
        The trust region: a start stops as *escaped* (dropped and counted)
        when it leaves the box of all starts widened on every side by
        ``max_drift * w``, w = max(widest side of that box, L).  It keeps
        the search where the dynamics live: q of a saturating system (a GRU
        whose gates are pinned, dx/dt = 1/(1 + x²)) decreases towards
        infinity, where |F| falls below any tolerance without a fixed point.
        None allows any finite excursion below 1e8 L.
    solver : {"auto", "dense", "matrix-free"}, default "auto"
        How the linear algebra of each step is done
        (:mod:`dynsys.fixed_points.jacobians`, :data:`dynsys.fixed_points.SOLVERS`): "dense"
        forms the (B, n, n) Jacobians; "matrix-free" only applies them
        through ``system.residual_jvp`` and ``residual_vjp``.  "auto" is
        matrix-free when the system has analytic products
        (``system.matrix_free``, e.g. every :mod:`dynsys.rnn` cell) and
        n > 128 (``numeric.DENSE_MAX_DIM``) or one start's dense Jacobians would not fit in
        ``max_memory``; dense otherwise.
    max_memory : float, default 2**27 (128 MiB)
        Budget in bytes for the working memory of the search: the starts are
        processed in as many equal chunks as it takes to stay below it
        (``stats["n_chunks"]``).
    max_seconds : float > 0 or None, default None
        Wall-clock budget of the numeric search in seconds (None:
        unbounded).  It is checked before each chunk and at every
        Levenberg-Marquardt iteration; when it runs out, the starts still
        iterating stop where they are and are classified as usual (the
        fixed and slow points reached so far are reported, the others
        count as unconverged, and starts of chunks not begun stay
        unconverged), and ``stats["stopped"]`` is ``"time budget"`` (None
        otherwise).  Generating the starts and linearising are not
        interrupted.
    blas_threads : int >= 1 or None, default 1
        BLAS threads for the search and the linearisation (limited with
        threadpoolctl for the duration of the call, :mod:`dynsys._threads`);
        None leaves the BLAS libraries' own setting.  The work is many
        small batched solves and products, which a second thread did not
        speed up in ``benchmarks/bench_vs_fpf.py --blas-threads 1,2`` (README,
        Performance) and which oversubscribe a shared machine.
    certify : bool, default False
        Prove each fixed point with :func:`dynsys.certify` (Krawczyk's test
        in outward-rounded interval arithmetic: exactly one zero of F within
        a radius): the set's ``certified`` and ``certified_radius`` (slow
        points are never certified), and ``stats["time_certify_s"]``.  Needs
        interval enclosures of F (formula systems and RNN cells,
        :mod:`dynsys.intervals`); for another system a TypeError is raised
        before the search.

    Returns
    -------
    FixedPointSet
        The distinct fixed points, then the distinct slow points; within each
        group ordered by index, then lexicographically by coordinates
        (rounded to the merge radius), so that the result does not depend on
        the order of the starts.  ``stats`` counts the starts that diverged
        (``n_diverged``), left the trust region (``n_escaped``), did not
        converge (``n_unconverged``) or ended in a saturated region
        (``n_saturated``: F flat to first and second order along the
        flattest direction of DF, as where a gate of a GRU or LSTM
        saturates, :func:`dynsys.fixed_points.criteria.saturated`; neither
        fixed nor slow points, not reported; dense solver only); the starts
        that ended saturated, unconverged or escaped are restarted by plain
        Newton steps from where they started (``n_restarted``, of which
        ``n_restart_zeros`` reached a zero; dense solver only), and where
        some start ended saturated, the converged starts too, whose other
        zeros are reported as well (``n_sweep_zeros``); and the
        slow-point starts above ``max_slow_q`` (``n_above_max_slow_q``);
        ``n_outside`` the distinct points outside ``bounds``;
        ``n_not_minima`` counts the distinct stationary points of q that are
        not minima.

    Raises
    ------
    ValueError
        Bad arguments (named in the message); for ``method="exact"``, see
        :func:`dynsys.fixed_points.exact.solve_exact`.
    TypeError
        If ``system`` is not a :class:`System`, or ``certify`` is asked of a
        system without interval enclosures.


    Notes
    -----
    ``find_fixed_points`` checks the arguments (a method checks those only
    it uses), runs ``METHODS[method]`` (:class:`~dynsys.fixed_points.base.Method`),
    linearises the distinct points it returns
    (:func:`dynsys.linearize.linearize_batch`) and puts them in the
    canonical order.  Each method documents its algorithm in its module:
    :mod:`dynsys.fixed_points.numeric` (starts, rounds, chunks,
    classification, merging), :mod:`dynsys.fixed_points.levenberg_marquardt`
    (the minimisation of q and early merging),
    :mod:`dynsys.fixed_points.jacobians` (dense and matrix-free steps) and
    :mod:`dynsys.fixed_points.exact`.  ``stats`` gives ``time_s`` and its
    two parts, ``time_search_s`` (the method) and ``time_linearize_s``.

    Examples
    --------
    >>> import sympy as sp
    >>> from dynsys import System
    >>> x, y = sp.symbols("x y")
    >>> duffing = System.from_sympy([y, x - x**3 - y / 5], [x, y], bounds=[[-2, 2], [-2, 2]])
    >>> fps = find_fixed_points(duffing, n_starts=64)
    >>> fps.x.round(12) + 0.0
    array([[-1.,  0.],
           [ 1.,  0.],
           [ 0.,  0.]])
    >>> fps.label.tolist()
    ['stable focus', 'stable focus', 'saddle']
    """
    check_system(system)
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    tol = check_real(tol, "tol", positive=True)
    merge_tol = check_real(merge_tol, "merge_tol", positive=True)
    slow_gtol = check_real(slow_gtol, "slow_gtol")
    if max_slow_q is not None:
        max_slow_q = check_real(max_slow_q, "max_slow_q", finite=False)
    max_iter = check_count(max_iter, "max_iter")
    if blas_threads is not None:
        blas_threads = check_count(blas_threads, "blas_threads")
    if certify:
        from ..intervals import check_enclosure

        check_enclosure(system)  # TypeError now, not after the search
    clock = time.perf_counter()
    deadline = None if max_seconds is None else clock + check_real(max_seconds, "max_seconds", positive=True)
    options = SearchOptions(
        starts=starts, n_starts=n_starts, region=None if bounds is None else check_bounds(bounds, system.dim),
        noise=noise, tol=tol, max_iter=max_iter, merge_tol=merge_tol, slow_gtol=slow_gtol, max_slow_q=max_slow_q,
        seed=seed, t_span=t_span, max_drift=max_drift, solver=solver, max_memory=max_memory, deadline=deadline,
    )
    with limit_blas_threads(blas_threads):
        found = METHODS[method](system, options)
        search_s = time.perf_counter() - clock
        points = _assemble(system, found, linearize_tol)
    stats = {"time_search_s": search_s, "time_linearize_s": time.perf_counter() - clock - search_s, **found.stats}
    points.stats.update(
        stats,
        n_fixed=int(points.is_fixed.sum()),
        n_slow=int(points.is_slow.sum()),
        method=method,
        tol=tol,
        time_s=time.perf_counter() - clock,
    )
    if certify:
        from ..certificates import certify as prove

        started = time.perf_counter()
        fixed = np.flatnonzero(points.is_fixed)
        certified, radius = np.zeros(len(points), dtype=bool), np.full(len(points), np.nan)
        with limit_blas_threads(blas_threads):
            certificates = prove(system, points.x[fixed])
        certified[fixed], radius[fixed] = certificates.certified, certificates.radius
        points = dataclasses.replace(points, certified=certified, certified_radius=radius)
        points.stats.update(time_certify_s=time.perf_counter() - started,
                            time_s=points.stats["time_s"] + time.perf_counter() - started)
    return points


def _assemble(system: System, found: MethodResult, linearize_tol: float) -> FixedPointSet:
    """The FixedPointSet of the distinct points found, in the canonical order:
    fixed first, then by index, then lexicographically by coordinates rounded
    to the grid of spacing ``found.spacing`` (one for all points: per-point
    spacings would not preserve the order of the coordinates)."""
    X, F, is_fixed = found.x, found.F, found.is_fixed
    lins = linearize_batch(system, X, tol=linearize_tol, spectrum="auto")
    index = np.array([lin.index for lin in lins], dtype=int)
    grid = np.round(X / found.spacing)
    order = np.lexsort((*grid.T[::-1], index, ~is_fixed))
    lins = [lins[i] for i in order]
    X, F, is_fixed = X[order], F[order], is_fixed[order]
    speed = np.linalg.norm(F, axis=1)
    return FixedPointSet(
        x=X,
        q=0.5 * speed**2,
        speed=speed,
        is_fixed=is_fixed,
        is_slow=~is_fixed,
        linearizations=tuple(lins),
        kind=system.kind,
        state_names=system.state_names,
        system_name=system.name,
        params=dict(system.params),
        stats={},
    )
