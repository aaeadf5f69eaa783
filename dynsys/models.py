"""Models: classic dynamical systems with literature parameters, and model files.

Every model returns a :class:`~dynsys.System` with an exact Jacobian (from
sympy, or analytic for :func:`hopfield`), a ``name`` and a ``bounds`` box that
holds the fixed points of interest at the default parameters.  Change
parameters with ``System.with_params``; the box stays as it is.
:func:`hopfield` also has analytic Jacobian-vector and vector-Jacobian
products (it is ``matrix_free``), for large n.

:data:`MODELS` maps the names used by the command line to the constructors;
:func:`get_model` builds one by name.

A model of your own is a TOML file of formulas, read by :func:`load_system`
(also ``dynsys.load_system``); the formulas are in the language of
:mod:`dynsys.parse`.  A model file has at most :data:`MAX_FILE_BYTES` bytes,
nesting of arrays and inline tables of at most :data:`MAX_TOML_DEPTH` levels
and dotted keys of at most :data:`MAX_TOML_DEPTH` parts.
"""
from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sympy as sp

from ._validate import check_count
from .parse import FormulaError, check_name, parse_constant
from .systems import Kind, System, check_kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_FILE_BYTES = 2**20
MAX_TOML_DEPTH = 32


def _symbols(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, real=True)


def lorenz(sigma: float = 10.0, rho: float = 28.0, beta: float = 8 / 3) -> System:
    """Lorenz's convection model (Lorenz 1963).

    x' = σ (y − x),   y' = x (ρ − z) − y,   z' = x y − β z

    with σ = 10, ρ = 28, β = 8/3.  Fixed points: the origin and, for ρ > 1,
    C± = (±√(β(ρ−1)), ±√(β(ρ−1)), ρ − 1).  At the defaults the origin is a
    saddle of index 1 and C± are saddle-foci of index 2; for ρ < 1 the origin
    is the only fixed point and is stable.  Bounds: x, y ∈ [−25, 25],
    z ∈ [−5, 55].

    References
    ----------
    E. N. Lorenz, "Deterministic nonperiodic flow", J. Atmos. Sci. 20 (1963).

    Examples
    --------
    >>> system = lorenz()
    >>> system
    System('lorenz', kind='flow', dim=3, params={sigma=10, rho=28, beta=2.66667})
    >>> c = np.sqrt(8 / 3 * 27)  # C+ = (c, c, rho - 1)
    >>> bool(np.allclose(system.rhs([c, c, 27.0]), 0))
    True
    """
    x, y, z, s, r, b = _symbols("x y z sigma rho beta")
    return System.from_sympy(
        [s * (y - x), x * (r - z) - y, x * y - b * z],
        [x, y, z],
        {s: sigma, r: rho, b: beta},
        name="lorenz",
        bounds=[(-25, 25), (-25, 25), (-5, 55)],
    )


def duffing(delta: float = 0.3, alpha: float = -1.0, beta: float = 1.0) -> System:
    """The unforced Duffing oscillator x'' + δ x' + α x + β x³ = 0 as a flow.

    x' = v,   v' = −δ v − α x − β x³

    With δ = 0.3, α = −1, β = 1 (the double well): stable foci at
    (±1, 0) (±√(−α/β) in general) and a saddle at the origin, whose unstable
    branches fall into the two wells.  Bounds: [−2, 2]².

    References
    ----------
    G. Duffing, "Erzwungene Schwingungen bei veränderlicher Eigenfrequenz"
    (1918); I. Kovacic & M. J. Brennan (eds.), "The Duffing Equation" (2011).

    Examples
    --------
    >>> duffing().rhs([[1.0, 0.0], [0.0, 1.0]])  # (1, 0) is a fixed point
    array([[ 0. ,  0. ],
           [ 1. , -0.3]])
    """
    x, v, d, a, b = _symbols("x v delta alpha beta")
    return System.from_sympy(
        [v, -d * v - a * x - b * x**3],
        [x, v],
        {d: delta, a: alpha, b: beta},
        name="duffing",
        bounds=[(-2, 2), (-2, 2)],
    )


def van_der_pol(mu: float = 1.0) -> System:
    """The van der Pol oscillator (van der Pol 1926).

    x' = y,   y' = μ (1 − x²) y − x

    with μ = 1: one fixed point, the origin, an unstable focus (node for
    μ ≥ 2), surrounded by a stable limit cycle of amplitude about 2.
    Bounds: [−3, 3] × [−4, 4].

    References
    ----------
    B. van der Pol, "On relaxation-oscillations", Phil. Mag. 2 (1926).

    Examples
    --------
    >>> van_der_pol().jacobian([0.0, 0.0])  # trace μ = 1 > 0: the origin repels
    array([[ 0.,  1.],
           [-1.,  1.]])
    """
    x, y, m = _symbols("x y mu")
    return System.from_sympy(
        [y, m * (1 - x**2) * y - x], [x, y], {m: mu}, name="van_der_pol", bounds=[(-3, 3), (-4, 4)]
    )


def brusselator(A: float = 1.0, B: float = 3.0) -> System:
    """The Brusselator, a model of an autocatalytic reaction (Prigogine & Lefever 1968).

    x' = A − (B + 1) x + x² y,   y' = B x − x² y

    One fixed point (A, B / A), with trace B − 1 − A² and determinant A²:
    a stable focus for B < 1 + A², losing stability at the supercritical
    Hopf point B = 1 + A² (frequency A), where a stable limit cycle is born.
    With A = 1, B = 3: an unstable focus inside a stable cycle of period
    about 7.16.  Bounds: [0, 5] × [0, 6].

    References
    ----------
    I. Prigogine and R. Lefever, "Symmetry breaking instabilities in
    dissipative systems. II", J. Chem. Phys. 48, 1695 (1968).

    Examples
    --------
    >>> brusselator().jacobian([1.0, 3.0])  # trace B - 1 - A^2 = 1 > 0: the fixed point repels
    array([[ 2.,  1.],
           [-3., -1.]])
    """
    x, y, a, b = _symbols("x y A B")
    return System.from_sympy(
        [a - (b + 1) * x + x**2 * y, b * x - x**2 * y], [x, y], {a: A, b: B}, name="brusselator",
        bounds=[(0, 5), (0, 6)],
    )


def toggle_switch(alpha1: float = 10.0, alpha2: float = 10.0, beta: float = 2.0, gamma: float = 2.0) -> System:
    """The genetic toggle switch of Gardner, Cantor & Collins (2000).

    u' = α₁ / (1 + v^β) − u,   v' = α₂ / (1 + u^γ) − v

    With α₁ = α₂ = 10, β = γ = 2 it is bistable: two stable nodes, one with
    u high and v low and its mirror image, and a saddle on the diagonal at
    u = v = 2 (the real root of u³ + u − 10 = 0).  Bounds: [0, 12]².

    References
    ----------
    T. S. Gardner, C. R. Cantor, J. J. Collins, "Construction of a genetic
    toggle switch in Escherichia coli", Nature 403 (2000).

    Examples
    --------
    >>> toggle_switch().rhs([2.0, 2.0])  # the saddle on the diagonal
    array([0., 0.])
    """
    u, v, a1, a2, b, g = _symbols("u v alpha1 alpha2 beta gamma")
    return System.from_sympy(
        [a1 / (1 + v**b) - u, a2 / (1 + u**g) - v],
        [u, v],
        {a1: alpha1, a2: alpha2, b: beta, g: gamma},
        name="toggle_switch",
        bounds=[(0, 12), (0, 12)],
    )


def fitzhugh_nagumo(a: float = 0.7, b: float = 0.8, tau: float = 12.5, I: float = 0.5) -> System:  # noqa: E741
    """The FitzHugh–Nagumo model of an excitable neuron (FitzHugh 1961).

    v' = v − v³/3 − w + I,   w' = (v + a − b w) / τ

    with a = 0.7, b = 0.8, τ = 12.5, I = 0.5: one fixed point, where
    v³/3 + (1/b − 1) v + a/b − I = 0 and w = (v + a)/b (v ≈ −0.80); it is an
    unstable focus surrounded by a stable limit cycle (tonic spiking).
    Bounds: v ∈ [−2.5, 2.5], w ∈ [−1, 2.5].

    References
    ----------
    R. FitzHugh, "Impulses and physiological states in theoretical models of
    nerve membrane", Biophys. J. 1 (1961); J. Nagumo, S. Arimoto,
    S. Yoshizawa, Proc. IRE 50 (1962).

    Examples
    --------
    >>> np.round(fitzhugh_nagumo().rhs([0.0, 0.0]), 6)  # (I, a/τ)
    array([0.5  , 0.056])
    """
    v, w, a_, b_, t, i = _symbols("v w a b tau I")
    return System.from_sympy(
        [v - v**3 / 3 - w + i, (v + a_ - b_ * w) / t],
        [v, w],
        {a_: a, b_: b, t: tau, i: I},
        name="fitzhugh_nagumo",
        bounds=[(-2.5, 2.5), (-1, 2.5)],
    )


def lotka_volterra(alpha: float = 2 / 3, beta: float = 4 / 3, gamma: float = 1.0, delta: float = 1.0) -> System:
    """The Lotka–Volterra predator–prey model.

    x' = α x − β x y   (prey),   y' = δ x y − γ y   (predators)

    with α = 2/3, β = 4/3, γ = δ = 1.  Fixed points: the origin, a saddle,
    and (γ/δ, α/β) = (1, 1/2), a centre (eigenvalues ±i√(αγ)) surrounded by
    closed orbits.  Bounds: [0, 3]².

    References
    ----------
    A. J. Lotka, "Elements of Physical Biology" (1925); V. Volterra,
    "Variazioni e fluttuazioni del numero d'individui in specie animali
    conviventi" (1926).

    Examples
    --------
    >>> lotka_volterra().rhs([1.0, 0.5])  # the centre (γ/δ, α/β)
    array([0., 0.])
    """
    x, y, a, b, g, d = _symbols("x y alpha beta gamma delta")
    return System.from_sympy(
        [a * x - b * x * y, d * x * y - g * y],
        [x, y],
        {a: alpha, b: beta, g: gamma, d: delta},
        name="lotka_volterra",
        bounds=[(0, 3), (0, 3)],
    )


def pendulum(g: float = 9.81, length: float = 1.0, damping: float = 0.0) -> System:
    """The (damped) pendulum.

    θ' = ω,   ω' = −(g / L) sin θ − c ω

    with g = 9.81, L = 1, c = 0.  Fixed points (kπ, 0): k even are centres
    (stable when c > 0: foci for c² < 4g/L, nodes above), k odd saddles.  Bounds: θ ∈ [−4, 4] (holding
    −π, 0, π), ω ∈ [−5, 5].

    Examples
    --------
    >>> np.round(pendulum(damping=0.5).jacobian([np.pi, 0.0]), 6)  # the inverted pendulum: a saddle
    array([[ 0.  ,  1.  ],
           [ 9.81, -0.5 ]])
    """
    theta, omega, g_, L, c = _symbols("theta omega g length damping")
    return System.from_sympy(
        [omega, -(g_ / L) * sp.sin(theta) - c * omega],
        [theta, omega],
        {g_: g, L: length, c: damping},
        name="pendulum",
        bounds=[(-4, 4), (-5, 5)],
    )


def logistic(r: float = 3.7) -> System:
    """The logistic map x ↦ r x (1 − x) (May 1976).

    Fixed points 0 and 1 − 1/r, with multipliers r and 2 − r: the origin
    loses stability at r = 1, the other point at r = 3 (period doubling);
    r = 3.7 is in the chaotic regime.  Bounds: [0, 1].

    References
    ----------
    R. M. May, "Simple mathematical models with very complicated dynamics",
    Nature 261 (1976).

    Examples
    --------
    >>> system = logistic(r=3.0)
    >>> system.kind, round(float(system.rhs([2 / 3])[0]), 12)  # 1 - 1/r is fixed
    ('map', 0.666666666667)
    """
    x, r_ = _symbols("x r")
    return System.from_sympy([r_ * x * (1 - x)], [x], {r_: r}, kind="map", name="logistic", bounds=[(0, 1)])


def henon(a: float = 1.4, b: float = 0.3) -> System:
    """The Hénon map (x, y) ↦ (1 − a x² + y, b x) (Hénon 1976).

    Fixed points: y = b x with a x² + (1 − b) x − 1 = 0, i.e.
    x = (−(1 − b) ± √((1 − b)² + 4a)) / (2a); at a = 1.4, b = 0.3 they are
    x ≈ 0.631 and x ≈ −1.131, both saddles.  Bounds: [−2, 2] × [−0.6, 0.6],
    which also holds the strange attractor.

    References
    ----------
    M. Hénon, "A two-dimensional mapping with a strange attractor",
    Commun. Math. Phys. 50 (1976).

    Examples
    --------
    >>> henon().rhs([0.0, 0.0])
    array([1., 0.])
    """
    x, y, a_, b_ = _symbols("x y a b")
    return System.from_sympy(
        [1 - a_ * x**2 + y, b_ * x], [x, y], {a_: a, b_: b}, kind="map", name="henon", bounds=[(-2, 2), (-0.6, 0.6)]
    )


def hebbian_weights(patterns: Any) -> np.ndarray:
    """W = (1/n) Σ_μ ξ^μ (ξ^μ)ᵀ with zero diagonal, for ±1 patterns ξ^μ (rows, shape (p, n)).

    Examples
    --------
    >>> hebbian_weights([[1, -1, 1]]) * 3
    array([[ 0., -1.,  1.],
           [-1.,  0., -1.],
           [ 1., -1.,  0.]])
    """
    xi = np.asarray(patterns, dtype=float)
    if xi.ndim != 2 or xi.shape[0] < 1 or xi.shape[1] < 1 or not np.all(np.abs(xi) == 1):
        raise ValueError(f"patterns must be a (p, n) array of ±1 with p, n ≥ 1, got shape {np.shape(patterns)}")
    W = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def random_patterns(p: int, n: int, seed: int = 0, max_tries: int = 1000) -> np.ndarray:
    """p random ±1 patterns of length n, shape (p, n), with small overlaps.

    Drawn uniformly with ``numpy.random.default_rng(seed)`` and redrawn until
    every pair overlaps by |ξ^μ · ξ^ν| ≤ max(n/4, 1), so that the Hebbian
    crosstalk is small and each pattern is an attractor of :func:`hopfield`.

    Examples
    --------
    >>> xi = random_patterns(2, 8, seed=0)
    >>> xi.shape, bool(abs(xi[0] @ xi[1]) <= 2)
    ((2, 8), True)
    """
    rng = np.random.default_rng(seed)
    limit = max(n / 4, 1)
    for _ in range(max_tries):
        xi = rng.choice([-1.0, 1.0], size=(p, n))
        if np.all(np.abs(xi @ xi.T)[np.triu_indices(p, 1)] <= limit):
            return xi
    raise ValueError(f"no {p} patterns of length {n} with overlaps <= {limit:g} in {max_tries} draws; pass patterns")


def hopfield(
    n: int | None = None,
    patterns: Any = None,
    gain: float = 4.0,
    tau: float = 1.0,
    bias: Any = None,
    seed: int = 0,
    n_patterns: int = 2,
) -> System:
    """A continuous Hopfield network with Hebbian weights (Hopfield 1984).

    τ x' = −x + W tanh(g x) + b

    with W = (1/n) Σ_μ ξ^μ (ξ^μ)ᵀ, diagonal set to zero, for the stored
    ±1 patterns ξ^μ, gain g = 4 and τ = 1.

    Parameters
    ----------
    n : int, optional
        Number of units; 8 when ``patterns`` is not given, else its width.
    patterns : array_like of shape (p, n), optional
        The stored ±1 patterns; ``n_patterns`` random ones with small
        overlaps (:func:`random_patterns`) drawn with ``seed`` when not given.
    gain, tau : float
        g and τ, the system's parameters.
    bias : array_like of shape (n,), optional
        b, zero when not given.
    seed, n_patterns : int
        For the random patterns.

    Notes
    -----
    For mutually orthogonal patterns and b = 0, W ξ = λ ξ with λ = 1 − p/n,
    so x = c ξ is a fixed point exactly when c = λ tanh(g c); a nonzero root
    exists iff g λ > 1, and it is stable, since there the Jacobian
    (−I + g sech²(g c) W)/τ has eigenvalues (−1 + g sech²(g c) μ)/τ, μ ∈ {λ, −p/n},
    and g sech²(g c) λ < 1 (the slope of λ tanh(g c) at the crossing).  With
    n = 8, p = 2, λ = 3/4 any g > 4/3 stores the patterns; g = 4 does so with
    margin, also for the random patterns of :func:`random_patterns`.

    The system is built from analytic, batched formulas (no sympy), so large
    n is cheap: f(x) = (−x + W tanh(g x) + b)/τ, Jacobian
    (−I + W diag(g sech²(g x)))/τ, Jacobian–vector product
    (−v + W (g sech²(g x) ⊙ v))/τ and vector–Jacobian product
    (−v + g sech²(g x) ⊙ (Wᵀ v))/τ, the last two one (B, n) @ (n, n)
    product each, without forming the (B, n, n) Jacobians (the system is
    ``matrix_free``); ``residual_operator(X)`` computes the slopes
    g sech²(g x) once for many products at the same states.  Every fixed point has
    |x_i| ≤ Σ_j |W_ij| + |b_i|, which gives the bounds for all g and τ.

    References
    ----------
    J. J. Hopfield, "Neurons with graded response have collective
    computational properties like those of two-state neurons", PNAS 81 (1984).

    Examples
    --------
    >>> system = hopfield(n=8, seed=0)
    >>> system, system.matrix_free
    (System('hopfield', kind='flow', dim=8, params={gain=4, tau=1}), True)
    >>> bool(np.allclose(system.rhs(np.zeros(8)), 0))  # the origin is a fixed point when b = 0
    True
    """
    if patterns is None:
        n = 8 if n is None else n
        patterns = random_patterns(n_patterns, check_count(n, "n"), seed)
    W = hebbian_weights(patterns)
    if n is not None and n != W.shape[0]:
        raise ValueError(f"n = {n!r} does not match the patterns' width {W.shape[0]}")
    n = W.shape[0]
    b = np.zeros(n) if bias is None else np.asarray(bias, dtype=float)
    if b.shape != (n,) or not np.all(np.isfinite(b)):
        raise ValueError(f"bias must be a finite array of shape ({n},), got {np.shape(bias)}")

    def f(X: np.ndarray, gain: float, tau: float) -> np.ndarray:
        return (-X + np.tanh(gain * X) @ W.T + b) / tau

    def slope(X: np.ndarray, gain: float) -> np.ndarray:
        return gain / np.cosh(gain * X) ** 2  # g sech²(g x), (B, n)

    def jacobian(X: np.ndarray, gain: float, tau: float) -> np.ndarray:
        return (W * slope(X, gain)[:, None, :] - np.eye(n)) / tau

    def operator(X: np.ndarray, gain: float, tau: float) -> tuple[tuple[np.ndarray], Any, Any]:
        """The slopes at X, and the products with them: one (B, n) @ (n, n) product each."""

        def jvp_with(T: tuple[np.ndarray], V: np.ndarray) -> np.ndarray:
            return (-V + (T[0] * V) @ W.T) / tau

        def vjp_with(T: tuple[np.ndarray], V: np.ndarray) -> np.ndarray:
            return (-V + T[0] * (V @ W)) / tau

        return (slope(X, gain),), jvp_with, vjp_with

    def jvp(X: np.ndarray, V: np.ndarray, gain: float, tau: float) -> np.ndarray:
        factors, product, _ = operator(X, gain, tau)
        return product(factors, V)

    def vjp(X: np.ndarray, V: np.ndarray, gain: float, tau: float) -> np.ndarray:
        factors, _, product = operator(X, gain, tau)
        return product(factors, V)

    radius = np.max(np.abs(W).sum(axis=1) + np.abs(b)) + 0.5
    return System.from_callable(
        f,
        n,
        jacobian,
        jvp=jvp,
        vjp=vjp,
        operator=operator,
        params={"gain": gain, "tau": tau},
        vectorized=True,
        name="hopfield",
        bounds=(-radius, radius),
    ).with_recipe(hopfield, patterns=np.asarray(patterns, dtype=float), bias=b)  # pickled as its patterns


_LINEAR_EXACT_MAX_DIM = 20


def linear(A: Any, kind: Kind = "flow") -> System:
    """The linear flow x' = A x or map x ↦ A x.

    Parameters
    ----------
    A : array_like of shape (n, n)
        A real, finite, square matrix.
    kind : {"flow", "map"}

    Returns
    -------
    System
        With states x0, ..., x{n-1} and the exact Jacobian A, evaluated by
        batched matrix products (fast for any n).  ``exprs`` hold the rows of
        A x with the entries as exact rationals of their decimal forms, for
        exact solving.  The origin is a fixed point, the only one when A
        (flow) or A − I (map) is invertible.  Bounds: [−1, 1]^n.
        ``exprs`` are left out (None) for n > 20, where building them costs
        seconds and exact solving is out of reach anyway.

    Examples
    --------
    >>> rotation = linear([[0.0, 1.0], [-1.0, 0.0]])
    >>> rotation.exprs
    (x1, -x0)
    >>> rotation.rhs([1.0, 2.0])
    array([ 2., -1.])
    """
    try:
        arr = np.asarray(A)
    except ValueError:
        raise ValueError(f"A must be a square matrix of shape (n, n), got the ragged {A!r}") from None
    if arr.dtype == object or np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"A must be a real matrix, got dtype {arr.dtype}")
    A = arr.astype(float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise ValueError(f"A must be a square matrix of shape (n, n), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"A must be finite, got {A.tolist()}")
    n = A.shape[0]
    system = System.from_callable(
        lambda X: X @ A.T,
        n,
        lambda X: np.repeat(A[None], X.shape[0], axis=0),
        kind=kind,
        vectorized=True,
        name="linear",
        bounds=(-1, 1),
    )
    if n <= _LINEAR_EXACT_MAX_DIM:
        xs = _symbols(f"x0:{n}")
        M = sp.Matrix(n, n, [sp.Rational(repr(v)) for v in A.ravel().tolist()])
        system = system.with_exprs(tuple(M * sp.Matrix(xs)), xs)
    return system.with_recipe(linear, A, kind)  # pickled as A


MODELS: dict[str, Callable[..., System]] = {
    f.__name__: f
    for f in (
        lorenz,
        duffing,
        van_der_pol,
        brusselator,
        toggle_switch,
        fitzhugh_nagumo,
        lotka_volterra,
        pendulum,
        hopfield,
        logistic,
        henon,
    )
}


def get_model(name: str, **params: Any) -> System:
    """The built-in model ``name`` of :data:`MODELS`, built with ``params``.

    Raises
    ------
    ValueError
        For an unknown model, listing the known ones, or an argument the
        model does not take, listing the ones it does.

    Examples
    --------
    >>> get_model("logistic", r=2.5)
    System('logistic', kind='map', dim=1, params={r=2.5})
    >>> get_model("logistic", mu=2.5)
    Traceback (most recent call last):
    ...
    ValueError: model 'logistic' has no argument(s) ['mu']; it takes ['r']
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models are {sorted(MODELS)}")
    build = MODELS[name]
    accepted = list(inspect.signature(build).parameters)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"model {name!r} has no argument(s) {unknown}; it takes {accepted}")
    return build(**params)


# ------------------------------------------------------------------ model files
_FILE_KEYS = ("kind", "name", "description", "states", "params", "bounds")


def load_system(path: str | os.PathLike[str]) -> System:
    """A :class:`~dynsys.System` declared in a TOML file.

    The file holds::

        kind = "flow"            # or "map"; default "flow"
        name = "lorenz"          # optional; default the file's stem
        description = "..."      # optional, ignored
        [states]                 # name = formula, in the order of the states
        x = "sigma*(y - x)"
        y = "x*(rho - z) - y"
        z = "x*y - beta*z"
        [params]                 # name = number (or a constant formula, "8/3")
        sigma = 10
        rho = 28
        beta = "8/3"
        [bounds]                 # optional: [low, high] for every state ...
        x = [-25, 25]
        y = [-25, 25]
        z = [-5, 55]

    or ``bounds = [low, high]`` (before the tables) for one box in every
    direction.  Formulas are parsed with :func:`dynsys.parse.parse_formula`
    and the system is built by :meth:`dynsys.System.from_strings`.

    Parameters
    ----------
    path : str or path-like
        The ``.toml`` file.

    Returns
    -------
    System

    Raises
    ------
    ValueError
        Naming the file and the problem: a missing or unreadable file, invalid
        TOML, no ``[states]``, a formula that is not a string or not in the
        grammar (:class:`dynsys.FormulaError`), a bad name, a parameter that is
        not a finite number, bounds for unknown or missing states, an unknown
        key.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "decay.toml"
    ...     _ = path.write_text('''
    ... [states]
    ... x = "-k*x"
    ... [params]
    ... k = "1/2"
    ... ''')
    ...     system = load_system(path)
    >>> system
    System('decay', kind='flow', dim=1, params={k=0.5})
    >>> system.rhs([4.0])
    array([-2.])
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read model file ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{path}: a model file has at most {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
        _check_toml_nesting(text)
        table = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ValueError(f"{path}: not a valid TOML file ({why})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        return _system_from_table(table, path.stem)
    except ValueError as exc:
        raise (FormulaError if isinstance(exc, FormulaError) else ValueError)(f"{path}: {exc}") from None


# TOML strings (multi-line first) and comments, which may hold brackets and dots of no meaning
_TOML_STRING_OR_COMMENT = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_TOML_DOTTED_KEY = re.compile(r"(?<![A-Za-z0-9_-])(?:(?:[A-Za-z0-9_-]+|\"\")[ \t]*\.[ \t]*){%d,}" % MAX_TOML_DEPTH)


def _check_toml_nesting(text: str) -> None:
    """Refuse TOML nested deeper than :data:`MAX_TOML_DEPTH` (arrays, inline tables, dotted keys) before parsing it.

    Python's TOML parser recurses into nested arrays and tables (a
    RecursionError) and takes quadratic time on long dotted keys.
    """
    bare = _TOML_STRING_OR_COMMENT.sub(lambda m: "" if m.group().startswith("#") else '""', text)
    if _TOML_DOTTED_KEY.search(bare):
        raise ValueError(f"a dotted key has more than {MAX_TOML_DEPTH} parts")
    level = deepest = 0
    for char in re.findall(r"[\[\]{}]", bare):
        level += 1 if char in "[{" else -1
        deepest = max(deepest, level)
        if deepest > MAX_TOML_DEPTH:
            raise ValueError(f"arrays or inline tables nested more than {MAX_TOML_DEPTH} levels deep")


def _system_from_table(table: dict[str, Any], default_name: str) -> System:
    unknown = sorted(set(table) - set(_FILE_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; a model file has {list(_FILE_KEYS)}")
    kind = check_kind(table.get("kind", "flow"))
    name = table.get("name", default_name)
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {name!r}")
    states = table.get("states")
    if not isinstance(states, dict) or not states:
        raise ValueError("a model file needs a non-empty [states] table of name = formula")
    for state, formula in states.items():
        check_name(state, "state name")
        if not isinstance(formula, str):
            raise ValueError(f"the formula for state {state!r} must be a string, got {formula!r}")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"params must be a table of name = number, got {params!r}")
    values = {check_name(p, "parameter name"): parse_constant(v, f"parameter {p!r}") for p, v in params.items()}
    bounds = _bounds_from_table(table["bounds"], list(states)) if "bounds" in table else None
    return System.from_strings(states, values, kind=kind, name=name, bounds=bounds)


def _bounds_from_table(bounds: Any, states: list[str]) -> list[list[float]]:
    """One [low, high] pair per state from ``[low, high]`` or a table state -> [low, high]."""
    if isinstance(bounds, dict):
        unknown = sorted(set(bounds) - set(states))
        missing = [s for s in states if s not in bounds]
        if unknown or missing:
            raise ValueError(
                f"[bounds] must give [low, high] for exactly the states {states}; "
                f"unknown {unknown}, missing {missing}"
            )
        return [_pair(bounds[s], f"bounds for {s!r}") for s in states]
    return [_pair(bounds, "bounds")] * len(states)


def _pair(value: Any, what: str) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{what} must be [low, high], got {value!r}")
    return [parse_constant(v, what) for v in value]


__all__ = [*MODELS, "linear", "hebbian_weights", "random_patterns", "MODELS", "get_model", "load_system"]
