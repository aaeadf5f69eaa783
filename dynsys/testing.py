"""Hypothesis strategies for systems with known answers.

Property-test your own analyses (or dynsys itself) on systems whose fixed
points, spectra and invariant subspaces are known by construction:

- :func:`spectra` draws a spectrum with a chosen mix of stable, unstable and
  centre eigenvalues, real or in complex-conjugate pairs, and states the
  subspace dimensions, index and label it dictates;
- :func:`linear_systems` draws a linear flow dx/dt = A x or map x -> A x
  with such a spectrum, A = P D P^-1 for a well-conditioned P;
- :func:`affine_maps` draws changes of coordinates y = M x + b, and
  :func:`conjugate` rewrites a system in them;
- :func:`polynomial_systems` draws polynomial systems whose real zeros are
  known exactly.

This module needs hypothesis (the ``test`` extra); ``import dynsys`` does not
import it.  The expected labels follow the rules in the module docstring of
:mod:`dynsys.linearize`, written out here independently of its code.

Examples
--------
A property test, run here on a fixed set of 10 draws (``derandomize``; leave
the settings out for hypothesis's random search):

>>> from hypothesis import given, settings
>>> from dynsys.linearize import linearize
>>> @settings(max_examples=10, derandomize=True, deadline=None)
... @given(linear_systems("flow", dims=(2, 4)))
... def test_index(case):
...     lin = linearize(case.system, np.zeros(case.system.dim))
...     assert lin.index == case.spectrum.index
>>> test_index()
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np
import sympy as sp
from hypothesis import strategies as st

from ._validate import check_count
from .systems import Kind, System, check_kind

GROUPS = ("stable", "unstable", "centre")

_SEEDS = st.integers(0, 2**32 - 1)

TIE = 1e-12
"""Scores closer than this count as equal when :class:`Spectrum` picks its leading blocks."""


# ----------------------------------------------------------------- spectra
@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of a real n x n matrix, in blocks, with their drawn stability.

    Attributes
    ----------
    kind : {"flow", "map"}
    blocks : tuple of complex
        One entry per real eigenvalue (imaginary part 0) or per conjugate
        pair a +- ib, stored as a + ib with b > 0.
    groups : tuple of str
        "stable", "unstable" or "centre" for each block, as it was drawn.

    Examples
    --------
    A stable eigenvalue −1 and an unstable pair 2 ± 3i:

    >>> spectrum = Spectrum("flow", (-1 + 0j, 2 + 3j), ("stable", "unstable"))
    >>> spectrum.eigenvalues
    array([-1.+0.j,  2.+3.j,  2.-3.j])
    >>> spectrum.dims, spectrum.index, spectrum.label
    ((1, 2, 0), 2, 'saddle-focus')
    >>> spectrum.matrix()
    array([[-1.,  0.,  0.],
           [ 0.,  2.,  3.],
           [ 0., -3.,  2.]])
    """

    kind: Kind
    blocks: tuple[complex, ...]
    groups: tuple[str, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        """1 for a real eigenvalue, 2 for a pair."""
        return tuple(1 if z.imag == 0 else 2 for z in self.blocks)

    @property
    def n(self) -> int:
        return sum(self.sizes)

    @property
    def eigenvalues(self) -> np.ndarray:
        """All n eigenvalues (pairs expanded to a + ib, a - ib), complex (n,)."""
        out = [[z] if z.imag == 0 else [z, z.conjugate()] for z in self.blocks]
        return np.array(list(itertools.chain.from_iterable(out)), dtype=complex)

    def count(self, group: str) -> int:
        """How many eigenvalues (with multiplicity) are in ``group``."""
        return sum(k for k, g in zip(self.sizes, self.groups) if g == group)

    @property
    def dims(self) -> tuple[int, int, int]:
        """Expected (dim E^s, dim E^u, dim E^c)."""
        return self.count("stable"), self.count("unstable"), self.count("centre")

    @property
    def index(self) -> int:
        """Expected index, dim E^u."""
        return self.count("unstable")

    def score(self, z: complex) -> float:
        """s(z): Re z (flow) or |z| - 1 (map), the distance past the stability boundary."""
        return z.real if self.kind == "flow" else abs(z) - 1.0

    @property
    def leading(self) -> tuple[int, ...]:
        """Indices of the blocks whose eigenvalues decide the label.

        With a centre block: all blocks.  Otherwise every unstable block and
        the stable blocks of largest score, or, with no stable block, the
        unstable blocks of smallest score; scores within ``TIE`` of each
        other count as equal (a real eigenvalue r and a pair of modulus r
        have the same score, up to rounding in the pair's modulus).
        """
        everything = tuple(range(len(self.blocks)))
        if "centre" in self.groups:
            return everything
        scores = [self.score(z) for z in self.blocks]
        stable = [j for j in everything if self.groups[j] == "stable"]
        if stable:
            weakest = max(scores[j] for j in stable)
            return tuple(j for j in everything if j not in stable or scores[j] >= weakest - TIE)
        return tuple(j for j in everything if scores[j] <= min(scores) + TIE)

    @property
    def flip(self) -> bool:
        """A map with a real negative eigenvalue in a :attr:`leading` block."""
        return self.kind == "map" and any(
            self.blocks[j].imag == 0 and self.blocks[j].real < 0 for j in self.leading
        )

    @property
    def label(self) -> str:
        """The label :mod:`dynsys.linearize` gives this spectrum, node/focus and flip read from :attr:`leading`.

        With centre eigenvalues: "centre" if all of them are (non-real)
        pairs, "non-hyperbolic" otherwise.  Without: a point all of whose
        directions are stable (unstable) is a stable (unstable) node, or
        focus when a :attr:`leading` block is a pair; with both kinds of
        directions it is a saddle, or saddle-focus when a leading block (any
        unstable one or a weakest stable one) is a pair.  A map with a real
        negative leading eigenvalue has " (flip)" appended.
        """
        has_pair = any(self.sizes[j] == 2 for j in self.leading)
        if "centre" in self.groups:
            pure_rotation = all(g == "centre" and k == 2 for g, k in zip(self.groups, self.sizes))
            base = "centre" if pure_rotation else "non-hyperbolic"
        elif set(self.groups) == {"stable", "unstable"}:
            base = "saddle-focus" if has_pair else "saddle"
        else:
            base = f"{self.groups[0]} {'focus' if has_pair else 'node'}"
        return base + (" (flip)" if self.flip else "")

    @property
    def margin(self) -> float:
        """min |Re lambda| (flow) or min ||lambda| - 1| (map) over the eigenvalues."""
        return min(abs(self.score(z)) for z in self.blocks)

    def matrix(self) -> np.ndarray:
        """The real block-diagonal D with this spectrum: (lambda) for a real
        eigenvalue, [[a, b], [-b, a]] for a pair a +- ib."""
        D = np.zeros((self.n, self.n))
        i = 0
        for z, k in zip(self.blocks, self.sizes):
            D[i : i + k, i : i + k] = [[z.real]] if k == 1 else [[z.real, z.imag], [-z.imag, z.real]]
            i += k
        return D

    def columns(self, group: str) -> np.ndarray:
        """Indices of the columns of D (or of P) spanning ``group``'s subspace."""
        starts = np.cumsum((0, *self.sizes))
        cols = [range(starts[j], starts[j + 1]) for j, g in enumerate(self.groups) if g == group]
        return np.array(list(itertools.chain.from_iterable(cols)), dtype=int)


def spectra(
    kind: Kind = "flow",
    dims: tuple[int, int] = (1, 6),
    *,
    groups: Sequence[str] = ("stable", "unstable"),
    complex_pairs: bool = True,
    margin: float = 0.1,
    max_modulus: float = 3.0,
) -> st.SearchStrategy[Spectrum]:
    """Spectra of real n x n matrices with a chosen mix of stability groups.

    Parameters
    ----------
    kind : {"flow", "map"}
    dims : (int, int)
        Smallest and largest n, inclusive.
    groups : sequence of {"stable", "unstable", "centre"}
        The groups each eigenvalue (or pair) is drawn from.
    complex_pairs : bool
        Whether conjugate pairs may be drawn, besides real eigenvalues.
    margin : float in (0, 0.45]
        Distance kept from the classification threshold by every stable or
        unstable eigenvalue, and lower bound of |Im| of a flow's pair.
    max_modulus : float
        Upper bound of |Re lambda| and |Im lambda| (flow) or |lambda| (map).

    Returns
    -------
    strategy of Spectrum

    Notes
    -----
    Flow: stable Re lambda in [-max_modulus, -margin], unstable in
    [margin, max_modulus], centre exactly Re lambda = 0 (real: lambda = 0);
    a pair has Im lambda in [margin, max_modulus].  Map: stable
    |lambda| in [margin, 1 - margin], unstable in [1 + margin, max_modulus],
    centre exactly |lambda| = 1 (real: +-1); a real eigenvalue has either
    sign, a pair the argument theta in [margin, pi - margin].

    Examples
    --------
    Every drawn spectrum of an attracting map lies inside the unit circle,
    by at least ``margin``:

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, derandomize=True, deadline=None)
    ... @given(spectra("map", dims=(1, 4), groups=("stable",), margin=0.1))
    ... def test_attracting(spectrum):
    ...     assert np.all(np.abs(spectrum.eigenvalues) <= 0.9 + 1e-12)
    ...     assert spectrum.index == 0 and spectrum.label.startswith("stable")
    >>> test_attracting()
    """
    check_kind(kind)
    lo, hi = _check_dims(dims)
    groups = tuple(groups)
    if not groups or not set(groups) <= set(GROUPS):
        raise ValueError(f"groups must be a non-empty subset of {GROUPS}, got {groups!r}")
    if not 0 < margin <= 0.45:
        raise ValueError(f"margin must be in (0, 0.45], got {margin!r}")
    if not max_modulus >= 1 + 2 * margin:
        raise ValueError(f"max_modulus must be at least 1 + 2 * margin = {1 + 2 * margin}, got {max_modulus!r}")
    return _spectra(kind, lo, hi, groups, complex_pairs, margin, max_modulus)


@st.composite
def _spectra(
    draw: Any, kind: Kind, lo: int, hi: int, groups: tuple[str, ...], pairs: bool, margin: float, top: float
) -> Spectrum:
    n = draw(st.integers(lo, hi))
    blocks: list[complex] = []
    drawn: list[str] = []
    size = 0
    while size < n:
        group = draw(st.sampled_from(groups))
        pair = pairs and n - size >= 2 and draw(st.booleans())
        blocks.append(draw(_eigenvalue(kind, group, pair, margin, top)))
        drawn.append(group)
        size += 2 if pair else 1
    return Spectrum(kind, tuple(blocks), tuple(drawn))


def _eigenvalue(kind: Kind, group: str, pair: bool, margin: float, top: float) -> st.SearchStrategy[complex]:
    """One real eigenvalue, or the upper member a + ib (b > 0) of a pair."""
    if kind == "flow":
        re = {
            "stable": st.floats(-top, -margin),
            "unstable": st.floats(margin, top),
            "centre": st.just(0.0),
        }[group]
        im = st.floats(margin, top) if pair else st.just(0.0)
        return st.builds(complex, re, im)
    modulus = {
        "stable": st.floats(margin, 1.0 - margin),
        "unstable": st.floats(1.0 + margin, top),
        "centre": st.just(1.0),
    }[group]
    if pair:
        return st.builds(lambda r, t: complex(r * np.cos(t), r * np.sin(t)), modulus, st.floats(margin, np.pi - margin))
    return st.builds(lambda r, s: complex(s * r, 0.0), modulus, st.sampled_from((1.0, -1.0)))


# ----------------------------------------------------------- linear systems
class LinearSystem(NamedTuple):
    """A linear flow dx/dt = A x or map x -> A x with A = P D P^-1.

    Attributes
    ----------
    system : System
        With the exact Jacobian A; its only fixed point is the origin
        (unless A, or A - I for a map, is singular).
    spectrum : Spectrum
        The spectrum of A, with D = ``spectrum.matrix()``.
    A : ndarray (n, n)
    P : ndarray (n, n)
        Its columns ``spectrum.columns(group)`` span the invariant subspace
        of that group (see :meth:`subspace`).

    Examples
    --------
    Drawn by :func:`linear_systems`; A maps each subspace into itself:

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, derandomize=True, deadline=None)
    ... @given(linear_systems("flow", dims=(2, 4)))
    ... def test_invariant(case):
    ...     E = case.subspace("stable")
    ...     assert np.linalg.matrix_rank(np.hstack([E, case.A @ E]), tol=1e-8) == E.shape[1]
    ...     assert np.allclose(case.system.jacobian(np.zeros(case.spectrum.n)), case.A)
    >>> test_invariant()
    """

    system: System
    spectrum: Spectrum
    A: np.ndarray
    P: np.ndarray

    def subspace(self, group: str) -> np.ndarray:
        """A basis (not orthonormal) of E^s, E^u or E^c of A: (n, k)."""
        return self.P[:, self.spectrum.columns(group)]


def linear_systems(
    kind: Kind = "flow", dims: tuple[int, int] = (1, 6), **spectrum_options: Any
) -> st.SearchStrategy[LinearSystem]:
    """Linear systems with a known spectrum and known invariant subspaces.

    A = P D P^-1, where D is the block-diagonal matrix of a spectrum drawn
    by :func:`spectra` (``spectrum_options`` are passed to it) and
    P = Q1 diag(sigma) Q2 with random orthogonal Q1, Q2 and singular values
    sigma in [0.5, 2], so that cond(P) <= 4 and eigenvalues move by at most
    about 4 eps ||A|| under rounding.

    Returns
    -------
    strategy of LinearSystem

    Examples
    --------
    :func:`dynsys.linearize.linearize` finds the drawn spectrum at the origin:

    >>> from hypothesis import given, settings
    >>> from dynsys.linearize import linearize
    >>> @settings(max_examples=10, derandomize=True, deadline=None)
    ... @given(linear_systems("map", dims=(1, 4), groups=("stable", "unstable")))
    ... def test_classification(case):
    ...     lin = linearize(case.system, np.zeros(case.spectrum.n))
    ...     assert (lin.dims, lin.label) == (case.spectrum.dims, case.spectrum.label)
    >>> test_classification()
    """
    return st.builds(_linear_system, spectra(kind, dims, **spectrum_options), _SEEDS)


def _linear_system(spectrum: Spectrum, seed: int) -> LinearSystem:
    P = _well_conditioned(np.random.default_rng(seed), spectrum.n)
    A = P @ spectrum.matrix() @ np.linalg.inv(P)
    n = spectrum.n
    system = System.from_callable(
        lambda X: X @ A.T,
        n,
        jacobian=lambda X: np.repeat(A[None], len(X), axis=0),
        kind=spectrum.kind,
        vectorized=True,
        name="linear",
    )
    return LinearSystem(system, spectrum, A, P)


def _well_conditioned(rng: np.random.Generator, n: int) -> np.ndarray:
    """Q1 diag(sigma) Q2 with Haar-like orthogonal Q1, Q2 and sigma in [0.5, 2]."""

    def orthogonal() -> np.ndarray:
        Q, R = np.linalg.qr(rng.standard_normal((n, n)))
        return Q * np.where(np.diag(R) < 0, -1.0, 1.0)

    return orthogonal() @ np.diag(rng.uniform(0.5, 2.0, n)) @ orthogonal()


# --------------------------------------------------- changes of coordinates
def affine_maps(n: int, *, offset: float = 2.0) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """Changes of coordinates y = M x + b on R^n.

    M is well-conditioned (singular values in [0.5, 2], as P in
    :func:`linear_systems`) and b has entries in [-offset, offset].

    Returns
    -------
    strategy of (M (n, n), b (n,))

    Examples
    --------
    The stable node (1, 0) of x' = x − x³, y' = −y (eigenvalues −2, −1)
    moves to M (1, 0) + b and keeps its eigenvalues, whatever the change of
    coordinates:

    >>> from hypothesis import given, settings
    >>> s = System.from_strings({"x": "x - x**3", "y": "-y"})
    >>> @settings(max_examples=10, derandomize=True, deadline=None)
    ... @given(affine_maps(2))
    ... def test_node_moves(change):
    ...     M, b = change
    ...     moved, y = conjugate(s, M, b), M @ [1.0, 0.0] + b
    ...     assert np.allclose(moved.residual(y), 0.0, atol=1e-12)
    ...     assert np.allclose(np.sort(np.linalg.eigvals(moved.jacobian(y)).real), [-2.0, -1.0])
    >>> test_node_moves()
    """
    n = check_count(n, "n")

    def build(seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        return _well_conditioned(rng, n), rng.uniform(-offset, offset, n)

    return _SEEDS.map(build)


def conjugate(system: System, M: Any, b: Any) -> System:
    """``system`` in the coordinates y = M x + b.

    A flow becomes dy/dt = M f(M^-1 (y - b)), a map
    y -> M g(M^-1 (y - b)) + b, both with the Jacobian M J M^-1 at y.
    Fixed points move to M x* + b; eigenvalues, dimensions, index and label
    stay, and the invariant subspaces become M E.  The parameters carry
    over, with the derivative M ∂f/∂p (:meth:`System.param_derivative`), so
    that bifurcation values are those of ``system``.

    Parameters
    ----------
    system : System
    M : array_like (n, n), invertible
    b : array_like (n,)

    Returns
    -------
    System (vectorised, exact Jacobian if ``system`` has one)

    Examples
    --------
    x' = x − x³, y' = −y in the coordinates y = 2x + (1, 1): the fixed points
    (0, 0), (±1, 0) move to (1, 1), (3, 1), (−1, 1), with the same Jacobians
    (M is a multiple of the identity here):

    >>> s = System.from_strings({"x": "x - x**3", "y": "-y"})
    >>> moved = conjugate(s, 2 * np.eye(2), [1.0, 1.0])
    >>> moved
    System('system (conjugated)', kind='flow', dim=2, params={})
    >>> fixed = np.array([[1.0, 1.0], [3.0, 1.0], [-1.0, 1.0]])
    >>> float(np.abs(moved.residual(fixed)).max())
    0.0
    >>> moved.jacobian([3.0, 1.0])
    array([[-2.,  0.],
           [ 0., -1.]])
    """
    if not isinstance(system, System):
        raise TypeError(f"system must be a dynsys.System, got {type(system).__name__}")
    n = system.dim
    M = np.asarray(M, dtype=float)
    b = np.asarray(b, dtype=float)
    if M.shape != (n, n) or not np.isfinite(M).all():
        raise ValueError(f"M must be a finite ({n}, {n}) matrix, got shape {M.shape}")
    if b.shape != (n,) or not np.isfinite(b).all():
        raise ValueError(f"b must be a finite vector of shape ({n},), got shape {b.shape}")
    if np.linalg.cond(M) > 1e12:
        raise ValueError(f"M must be invertible, its condition number is {np.linalg.cond(M):.3g}")
    M_inv = np.linalg.inv(M)
    shift = b if system.kind == "map" else np.zeros(n)

    def at(params: dict[str, float]) -> System:
        return system.with_params(**params) if params else system

    def rhs(Y: np.ndarray, **params: float) -> np.ndarray:
        return at(params).rhs((Y - b) @ M_inv.T) @ M.T + shift

    def jacobian(Y: np.ndarray, **params: float) -> np.ndarray:
        return M @ at(params).jacobian((Y - b) @ M_inv.T) @ M_inv

    def param_jacobian(Y: np.ndarray, **params: float) -> np.ndarray:
        X = (Y - b) @ M_inv.T
        columns = [at(params).param_derivative(X, name) @ M.T for name in params]
        return np.stack(columns, axis=2) if columns else np.zeros((len(Y), n, 0))

    return System.from_callable(
        rhs, n, jacobian=jacobian, param_jacobian=param_jacobian, kind=system.kind, params=system.params,
        vectorized=True, name=f"{system.name} (conjugated)",
    )


# ------------------------------------------------------- polynomial systems
class PolynomialSystem(NamedTuple):
    """A polynomial system F(x) = M p(A x + c) with known real zeros.

    Attributes
    ----------
    system : System
        Built with :meth:`System.from_sympy` (exact rational coefficients):
        the flow dx/dt = F(x), or the map x -> x + F(x); either way its
        fixed points are the zeros of F.  ``bounds`` is a box around them.
    roots : ndarray (m, n)
        All the zeros of F, sorted lexicographically; there are no other
        zeros, real or complex, and each is simple (DF invertible there).
    exact_roots : tuple of tuple of sympy.Rational
        The same zeros, exactly.

    Examples
    --------
    Drawn by :func:`polynomial_systems`; every root is a fixed point inside
    ``bounds``:

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, derandomize=True, deadline=None)
    ... @given(polynomial_systems("flow", dims=(1, 2)))
    ... def test_roots(case):
    ...     assert np.allclose(case.system.residual(case.roots), 0.0)
    ...     low, high = case.system.bounds.T
    ...     assert np.all((low < case.roots) & (case.roots < high))
    ...     assert len(case.roots) == len(case.exact_roots)
    >>> test_roots()
    """

    system: System
    roots: np.ndarray
    exact_roots: tuple[tuple[sp.Rational, ...], ...]


def polynomial_systems(
    kind: Kind = "flow",
    dims: tuple[int, int] = (1, 3),
    roots_per_state: tuple[int, int] = (1, 3),
    *,
    max_roots: int = 12,
) -> st.SearchStrategy[PolynomialSystem]:
    """Polynomial systems whose zeros are known exactly.

    F(x) = M p(A x + c) with p_i(y) = prod_k (y_i - r_ik): distinct
    half-integer roots r_ik in [-3, 3] (``roots_per_state`` of them per
    coordinate), c with integer entries in [-2, 2], and M, A integer
    matrices with determinant +-1 (products of triangular factors with
    entries in [-2, 2]).  Since M is invertible, F(x) = 0 exactly when every
    y_i = (A x + c)_i is one of the r_ik, so the zeros are
    x = A^-1 (r - c) for the m = prod_i m_i choices r, computed in exact
    rational arithmetic independently of any solver.  Each F_i has degree
    at most 3 and n <= 3, and the number of zeros m is capped by
    ``max_roots``, so exact solvers stay fast (``sympy.solve`` takes ~0.3 s
    for 12 zeros in 3 variables but up to ~20 s for 27).

    Parameters
    ----------
    kind : {"flow", "map"}
        A map is x -> x + F(x).
    dims : (int, int)
        Smallest and largest n, inclusive, within [1, 3].
    roots_per_state : (int, int)
        Smallest and largest number of roots per coordinate, within [1, 3].
    max_roots : int, default 12
        Upper bound of m, the number of zeros; a coordinate gets fewer roots
        than drawn when needed (never fewer than ``roots_per_state[0]``).

    Returns
    -------
    strategy of PolynomialSystem

    Examples
    --------
    Every zero is simple (DF invertible there), for maps x -> x + F(x) too:

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, derandomize=True, deadline=None)
    ... @given(polynomial_systems("map", dims=(1, 2), max_roots=4))
    ... def test_simple_zeros(case):
    ...     assert len(case.roots) <= 4
    ...     DF = case.system.residual_jacobian(case.roots)
    ...     assert np.all(np.abs(np.linalg.det(DF)) > 1e-9)
    >>> test_simple_zeros()
    """
    check_kind(kind)
    lo, hi = _check_dims(dims)
    rlo, rhi = _check_dims(roots_per_state, "roots_per_state")
    if hi > 3 or rhi > 3:
        raise ValueError(f"dims and roots_per_state must lie within [1, 3], got {dims!r} and {roots_per_state!r}")
    if not isinstance(max_roots, int) or max_roots < rlo**hi:
        raise ValueError(f"max_roots must be an integer >= roots_per_state[0]**dims[1] = {rlo**hi}, got {max_roots!r}")
    return _polynomial_systems(kind, lo, hi, rlo, rhi, max_roots)


@st.composite
def _polynomial_systems(
    draw: Any, kind: Kind, lo: int, hi: int, rlo: int, rhi: int, max_roots: int
) -> PolynomialSystem:
    n = draw(st.integers(lo, hi))
    half_integers = st.integers(-6, 6).map(lambda k: sp.Rational(k, 2))
    roots: list[list[sp.Rational]] = []
    for i in range(n):  # room left for this coordinate, keeping rlo for the others
        room = max_roots // (int(np.prod([len(r) for r in roots])) * rlo ** (n - i - 1))
        roots.append(draw(st.lists(half_integers, min_size=rlo, max_size=min(rhi, room), unique=True)))
    A, M = draw(_unimodular(n)), draw(_unimodular(n))
    c = sp.Matrix(draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n)))
    x = sp.symbols(f"x0:{n}", real=True)
    y = A * sp.Matrix(x) + c
    p = sp.Matrix([sp.prod([y[i] - r for r in roots[i]]) for i in range(n)])
    F = [sp.expand(e) for e in M * p]
    exprs = F if kind == "flow" else [xi + fi for xi, fi in zip(x, F)]
    A_inv = A.inv()
    exact = sorted(tuple(A_inv * (sp.Matrix(r) - c)) for r in itertools.product(*roots))
    floats = np.array([[float(v) for v in root] for root in exact])
    bounds = np.stack([floats.min(axis=0) - 1.0, floats.max(axis=0) + 1.0], axis=1)
    system = System.from_sympy(exprs, x, kind=kind, name="polynomial", bounds=bounds)
    return PolynomialSystem(system, floats, tuple(exact))


@st.composite
def _unimodular(draw: Any, n: int) -> sp.Matrix:
    """L U with L unit lower triangular, U upper triangular with +-1 on the
    diagonal, off-diagonal entries in [-2, 2]: an integer matrix of det +-1."""
    entries = st.integers(-2, 2)
    L, U = sp.eye(n), sp.eye(n)
    for i, j in itertools.combinations(range(n), 2):
        L[j, i] = draw(entries)
        U[i, j] = draw(entries)
    for i in range(n):
        U[i, i] = draw(st.sampled_from((1, -1)))
    return L * U


def _check_dims(dims: Any, name: str = "dims") -> tuple[int, int]:
    try:
        lo, hi = (int(d) for d in dims)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of integers (low, high), got {dims!r}") from None
    if not 1 <= lo <= hi:
        raise ValueError(f"{name} must satisfy 1 <= low <= high, got {dims!r}")
    return lo, hi
