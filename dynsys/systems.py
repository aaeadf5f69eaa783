"""The one currency of dynsys: a dynamical system ``System``.

A ``System`` is either a flow, dx/dt = f(x), or a map, x_{k+1} = g(x), on
R^n.  Every evaluation is vectorised over a batch of states ``X`` of shape
``(B, n)``; a single state of shape ``(n,)`` is accepted too and gives
unbatched results.

Fixed points are the zeros of the residual

    F(x) = f(x)        (flow)
    F(x) = g(x) - x    (map)

so that everything downstream (fixed-point search, linearisation, graphs)
treats both kinds alike through ``residual`` and ``residual_jacobian``.

For large n, where a batch of Jacobians (B, n, n) does not fit in memory,
the products with the Jacobian are available without forming it:
``jvp`` (Df v) and ``vjp`` (Dfᵀ v), and ``residual_jvp``/``residual_vjp``
for DF.  ``System.matrix_free`` says whether both are analytic products
supplied by the system, rather than taken from a dense Jacobian.  Iterative
solvers that apply DF at the same states many times take
``System.residual_operator(X)``, a :class:`ResidualOperator` whose
state-dependent parts (an RNN's gates, a network's slopes) are computed once.

Systems pickle (with ``pickle`` and with cloudpickle, which Dask uses) as
how they were built, which is rebuilt on loading: see
:meth:`System.with_recipe`.  Formulas are differentiated and compiled on
first use, so building or unpickling a system from formulas compiles nothing.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable, Literal, Mapping, NamedTuple, Sequence

import numpy as np
import sympy as sp

from ._validate import check_count, check_real_array
from .parse import check_names, check_symbolic_size, parse_formula

Kind = Literal["flow", "map"]
KINDS = ("flow", "map")

# Internal signatures: every function takes a (B, n) batch and the parameter
# values as a 1-D float array ordered like ``System.params``.
RhsFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # -> (B, n)
JacFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # -> (B, n, n)
ParamJacFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # -> (B, n, P): df/dp for all parameters, in params order
JvpFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (X, V, p) -> Df(x_b) v_b, (B, n)
VjpFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (X, V, p) -> Df(x_b)ᵀ v_b, (B, n)
# The cached products of ``System.residual_operator``: the state-dependent factors of Df at a batch X, a tuple of
# arrays whose first axis runs over the B states, and two products with them, (factors, V) -> Df v or Dfᵀ v, for
# the states whose rows the factors hold.
Factors = tuple[np.ndarray, ...]
FactorProductFn = Callable[[Factors, np.ndarray], np.ndarray]
OperatorFn = Callable[[np.ndarray, np.ndarray], tuple[Factors, FactorProductFn, FactorProductFn]]  # (X, p) -> ...


def check_kind(kind: Any) -> str:
    """``kind`` if it is one of :data:`KINDS` ("flow" or "map"), else ValueError.

    Examples
    --------
    >>> check_kind("map")
    'map'
    >>> check_kind("ode")
    Traceback (most recent call last):
    ...
    ValueError: kind must be 'flow' or 'map', got 'ode'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be 'flow' or 'map', got {kind!r}")
    return kind


def _check_params(params: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in params.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name!r} must be a real number, got {value!r}") from None
        except OverflowError:
            raise ValueError(f"parameter {name!r} must be finite, got an integer too large for a float") from None
        if not np.isfinite(v):
            raise ValueError(f"parameter {name!r} must be finite, got {v}")
        out[str(name)] = v
    return out


def _fd_jacobian(f: RhsFn, X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``f`` for a batch, in one call of ``f``.

    Column j is (f(x + h_j e_j) - f(x - h_j e_j)) / (2 h_j) with
    h_j = eps^(1/3) * max(1, |x_j|), the step that balances truncation and
    rounding error for central differences.
    """
    B, n = X.shape
    h = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(X))  # (B, n)
    E = np.eye(n)
    plus = X[:, None, :] + h[:, :, None] * E  # (B, n_dir, n)
    minus = X[:, None, :] - h[:, :, None] * E
    both = np.concatenate([plus, minus], axis=1).reshape(2 * B * n, n)
    vals = f(both, p).reshape(B, 2, n, n)  # (B, +/-, direction j, component i)
    cols = (vals[:, 0] - vals[:, 1]) / (2.0 * h[:, :, None])  # (B, j, i)
    return np.swapaxes(cols, 1, 2)


def _fd_param_jacobian(f: RhsFn, X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Central-difference derivative of ``f`` in its parameters, (B, n, P).

    Column j is (f(x, p + h_j e_j) - f(x, p - h_j e_j)) / (2 h_j) with
    h_j = eps^(1/3) * max(1, |p_j|), as in :func:`_fd_jacobian`.
    """
    B, n = X.shape
    h = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(p))
    cols = [(f(X, p + h[j] * e) - f(X, p - h[j] * e)) / (2.0 * h[j]) for j, e in enumerate(np.eye(len(p)))]
    return np.stack(cols, axis=2) if cols else np.zeros((B, n, 0))


def _fd_jvp(f: RhsFn, X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Central-difference directional derivative (f(x + h v) - f(x - h v)) / 2h."""
    vnorm = np.linalg.norm(V, axis=1, keepdims=True)
    xnorm = np.linalg.norm(X, axis=1, keepdims=True)
    h = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, xnorm) / np.where(vnorm > 0, vnorm, 1.0)
    B = X.shape[0]
    vals = f(np.concatenate([X + h * V, X - h * V]), p)
    return (vals[:B] - vals[B:]) / (2.0 * h)


class ResidualOperator:
    """DF(x_b), the Jacobian of the residual, at a fixed batch of states, for repeated products.

    Built by :meth:`System.residual_operator`.  DF = Dg − I for a map and
    Df for a flow.  The parts of DF that depend on the states (an RNN's gate
    values and derivatives, a network's slopes act'(s)) are computed once,
    when the operator is built, so that each product afterwards costs only
    the product itself: one (m, n) @ (n, n) matrix product for the RNN cells
    and :func:`dynsys.models.hopfield`.  For systems without such factors
    every product evaluates the system's own (see :meth:`System.residual_jvp`).

    Attributes
    ----------
    states : ndarray of shape (B, n)
        The states x_b (a copy of those given).
    cached : bool
        Whether the system supplied its state-dependent factors, so that
        the products do not recompute them.

    Examples
    --------
    The map (x, y) -> (x/2, 2y) has Dg = diag(1/2, 2), so DF = Dg − I = diag(−1/2, 1):

    >>> s = System.from_strings({"x": "x/2", "y": "2*y"}, kind="map")
    >>> op = s.residual_operator([[0.0, 0.0], [1.0, 1.0]])
    >>> op
    ResidualOperator(B=2, n=2, cached=False)
    >>> op.jvp([[1.0, 1.0], [2.0, 2.0]])
    array([[-0.5,  1. ],
           [-1. ,  2. ]])
    >>> op.vjp([[4.0, 4.0]], rows=[1])  # only the state of row 1
    array([[-2.,  4.]])
    """

    def __init__(self, states: np.ndarray, factors: Factors, jvp: FactorProductFn, vjp: FactorProductFn,
                 minus_identity: bool, cached: bool) -> None:
        self.states = states
        self.cached = cached
        self._factors, self._jvp, self._vjp, self._minus_identity = factors, jvp, vjp, minus_identity

    def jvp(self, V: Any, rows: Any = None) -> np.ndarray:
        """DF(x_r) v_r for the states x_r, r in ``rows``.

        Parameters
        ----------
        V : array_like of shape (m, n)
            Directions, one per row of ``rows`` (m = len(rows)), or one per
            state (m = B) when ``rows`` is None.
        rows : array_like of int, shape (m,), optional
            Indices into ``states`` (0 <= r < B, repeats allowed); all
            states, in order, when None.

        Returns
        -------
        ndarray of shape (m, n)
            Row i is DF(x_{rows[i]}) v_i: Dg v − v for a map, Df v for a flow.
        """
        return self._apply(self._jvp, V, rows)

    def vjp(self, V: Any, rows: Any = None) -> np.ndarray:
        """DF(x_r)ᵀ v_r for the states x_r, r in ``rows`` (the adjoint of :meth:`jvp`).

        Parameters
        ----------
        V : array_like of shape (m, n)
            Co-vectors, one per row of ``rows``, or one per state when
            ``rows`` is None.
        rows : array_like of int, shape (m,), optional
            As for :meth:`jvp`.

        Returns
        -------
        ndarray of shape (m, n)
            Row i is DF(x_{rows[i]})ᵀ v_i: Dgᵀ v − v for a map, Dfᵀ v for a
            flow, so that <u, DF w> = <DFᵀ u, w>.
        """
        return self._apply(self._vjp, V, rows)

    def _apply(self, product: FactorProductFn, V: Any, rows: Any) -> np.ndarray:
        """``product`` with the factors of the chosen rows, minus V for a map."""
        B, n = self.states.shape
        if rows is None:
            factors, m = self._factors, B
        else:
            index = _check_rows(rows, B)
            factors, m = tuple(f[index] for f in self._factors), len(index)
        Vb = np.asarray(V, dtype=float)
        if Vb.shape != (m, n):
            per = "state" if rows is None else "entry of rows"
            raise ValueError(f"V must have shape ({m}, {n}), one row per {per}, got {np.shape(V)}")
        out = product(factors, Vb)
        return out - Vb if self._minus_identity else out

    def __repr__(self) -> str:
        B, n = self.states.shape
        return f"ResidualOperator(B={B}, n={n}, cached={self.cached})"


def _check_rows(rows: Any, B: int) -> np.ndarray:
    """``rows`` as a 1-D integer index array into B states."""
    index = np.asarray(rows)
    if index.ndim != 1 or not (np.issubdtype(index.dtype, np.integer) or index.size == 0):
        raise ValueError(f"rows must be a 1-D array of integer indices, got shape {index.shape}, dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= B):
        raise ValueError(f"rows must lie in [0, {B}) for {B} states, got indices from {index.min()} to {index.max()}")
    return index.astype(np.intp, copy=False)


class _Recipe(NamedTuple):
    """How a system is built: ``build(*args, **kwargs)``; pickle stores this in place of its compiled functions."""

    build: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def _rebuild(recipe: _Recipe, params: dict[str, float], name: str, bounds: np.ndarray | None) -> "System":
    """Unpickle a system: build it again from ``recipe``, with the params, name and bounds it had."""
    system = recipe.build(*recipe.args, **recipe.kwargs)
    if list(system.params) != list(params):
        raise pickle.UnpicklingError(
            f"the recipe of {name!r} builds a system with parameters {list(system.params)}, not {list(params)}"
        )
    return replace(system, params=params, name=name, bounds=bounds, _recipe=recipe)


class _UserCallables:
    """The functions a system was built from, by role (``f``, ``jacobian`` ...), pickled together.

    They are stored with cloudpickle where it is installed (by name where
    pickle can import them, by value otherwise: lambdas, local functions,
    functions of ``__main__``), else with pickle (by name only).  One that
    neither can store gives a PicklingError naming it.
    """

    def __init__(self, functions: dict[str, Any], system: str) -> None:
        self.functions, self.system = functions, system

    def __reduce__(self) -> tuple[Callable[..., "_UserCallables"], tuple[bytes, str]]:
        try:
            import cloudpickle

            dumps, hint = cloudpickle.dumps, ""
        except ImportError:
            dumps = pickle.dumps
            hint = "; pickle stores functions by name only: define it at module level, or install cloudpickle"
        try:
            return _load_callables, (dumps(self.functions), self.system)
        except Exception as error:
            role, fn, cause = next(
                ((role, fn, e) for role, fn in self.functions.items() for e in _pickling_error(dumps, fn)),
                ("functions", self.functions, error),
            )
            raise pickle.PicklingError(
                f"system {self.system!r} cannot be pickled: its {role} {fn!r} cannot be ({type(cause).__name__}: "
                f"{cause}){hint}"
            ) from cause


def _pickling_error(dumps: Callable[[Any], bytes], value: Any) -> list[Exception]:
    """[the exception raised by ``dumps(value)``], or [] when it succeeds."""
    try:
        dumps(value)
    except Exception as error:
        return [error]
    return []


def _load_callables(data: bytes, system: str) -> _UserCallables:
    return _UserCallables(pickle.loads(data), system)


def _from_sympy(exprs: tuple[sp.Expr, ...], states: tuple[sp.Symbol, ...], params: dict[sp.Symbol, float],
                kind: Kind) -> "System":
    """:meth:`System.from_sympy`, the recipe of such systems (a function, which cloudpickle stores by name)."""
    return System.from_sympy(exprs, states, params, kind=kind)


def _from_callables(callables: _UserCallables, dim: int, **options: Any) -> "System":
    """:meth:`System.from_callable` with the functions of ``callables``: the recipe of such systems."""
    return System.from_callable(dim=dim, **callables.functions, **options)


@dataclass(frozen=True, eq=False)
class System:
    """A flow dx/dt = f(x) or a map x -> g(x) on R^n, vectorised over batches.

    Build one with :meth:`from_sympy`, :meth:`from_strings` or
    :meth:`from_callable` (or take one from :mod:`dynsys.models`); the
    constructor itself is internal.

    Attributes
    ----------
    kind : {"flow", "map"}
    dim : int
        n, the dimension of the state space.
    state_names : tuple of str
    params : dict of str to float
        Current parameter values; change them with :meth:`with_params`.
    name : str
    bounds : ndarray of shape (n, 2) or None
        A box of interest (low, high per state) used as the default search
        region by :func:`dynsys.find_fixed_points`.
    exprs : tuple of sympy.Expr or None
        f (flow) or g (map) as formulas in ``symbols`` and ``param_symbols``,
        when the system was built from formulas; enables exact solving.
    matrix_free : bool
        Whether :meth:`jvp` and :meth:`vjp` are analytic products that never
        form a Jacobian (RNN cells, :func:`dynsys.models.hopfield`, callables
        given both ``jvp`` and ``vjp``).

    Examples
    --------
    The flow x' = x − x³, y' = −y has the fixed points (0, 0) and (±1, 0),
    where the residual vanishes; its Jacobian is diag(1 − 3x², −1):

    >>> import numpy as np
    >>> s = System.from_strings({"x": "x - x**3", "y": "-y"}, name="bistable")
    >>> s
    System('bistable', kind='flow', dim=2, params={})
    >>> s.state_names, s.exprs
    (('x', 'y'), (-x**3 + x, -y))
    >>> fixed = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    >>> float(np.abs(s.residual(fixed)).max())
    0.0
    >>> s.jacobian([0.0, 0.0])  # a saddle: eigenvalues 1 and -1
    array([[ 1.,  0.],
           [ 0., -1.]])
    >>> s.jacobian(fixed).shape  # a batch of B = 3 Jacobians
    (3, 2, 2)
    """

    kind: Kind
    dim: int
    state_names: tuple[str, ...]
    params: dict[str, float]
    _rhs: RhsFn = field(repr=False)
    _jac: JacFn | None = field(default=None, repr=False)
    _param_jac: ParamJacFn | None = field(default=None, repr=False)  # df/dp, see param_derivative
    _jvp: JvpFn | None = field(default=None, repr=False)
    _vjp: VjpFn | None = field(default=None, repr=False)
    _operator: OperatorFn | None = field(default=None, repr=False)  # cached factors of Df, see residual_operator
    name: str = "system"
    bounds: np.ndarray | None = field(default=None, repr=False)
    _exprs: tuple[sp.Expr, ...] | Callable[[], tuple[sp.Expr, ...]] | None = field(default=None, repr=False)
    symbols: tuple[sp.Symbol, ...] | None = field(default=None, repr=False)
    param_symbols: tuple[sp.Symbol, ...] | None = field(default=None, repr=False)
    _singular: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    _recipe: _Recipe | None = field(default=None, repr=False)  # how to build it again: what pickle stores

    def __post_init__(self) -> None:
        check_kind(self.kind)
        if len(self.state_names) != self.dim:
            raise ValueError(f"{self.dim} states but {len(self.state_names)} state names")
        if len(set(self.state_names)) != self.dim:
            raise ValueError(f"state names must be distinct, got {self.state_names}")
        object.__setattr__(self, "params", _check_params(self.params))
        if self.bounds is not None:
            object.__setattr__(self, "bounds", check_bounds(self.bounds, self.dim))

    # ------------------------------------------------------------------ batches
    def as_batch(self, X: Any, what: str = "X") -> tuple[np.ndarray, bool]:
        """States as a float batch ``(B, n)``, and whether ``X`` was one state ``(n,)``.

        Every evaluation of a system accepts either; a caller that wants one
        code path for both takes the batch and, when the flag is set, returns
        the first row of its result.

        Parameters
        ----------
        X : array_like of shape (B, n) or (n,)
        what : str, default "X"
            The argument's name, for the message.

        Returns
        -------
        batch : ndarray of shape (B, n)
        single : bool
            Whether ``X`` was one state.

        Raises
        ------
        ValueError
            For another shape, naming ``what``, n and the state names.

        Examples
        --------
        >>> system = System.from_strings({"x": "-x", "y": "x - y"})
        >>> system.as_batch([1.0, 2.0])
        (array([[1., 2.]]), True)
        >>> system.as_batch([[1.0, 2.0, 3.0]], "x0")
        Traceback (most recent call last):
        ...
        ValueError: x0 must have shape (n,) or (B, n) with n = 2 (x, y), got shape (1, 3)
        """
        arr = np.asarray(X, dtype=float)
        single = arr.ndim == 1
        if single:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(
                f"{what} must have shape (n,) or (B, n) with n = {self.dim} "
                f"({', '.join(self.state_names)}), got shape {np.shape(X)}"
            )
        return arr, single

    @property
    def exprs(self) -> tuple[sp.Expr, ...] | None:
        """The formulas of f (flow) or g (map), or None; built on first use
        where they are costly (the composed formulas of :meth:`iterate`)."""
        if callable(self._exprs):
            object.__setattr__(self, "_exprs", self._exprs())
        return self._exprs

    @property
    def _p(self) -> np.ndarray:
        return np.fromiter(self.params.values(), dtype=float, count=len(self.params))

    # --------------------------------------------------------------- evaluation
    def rhs(self, X: Any) -> np.ndarray:
        """f(X) for a flow, g(X) for a map; shape like ``X``.

        Examples
        --------
        The logistic map g(x) = r x (1 − x) at r = 7/2 sends 3/7 to 6/7 and back:

        >>> logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 3.5}, kind="map")
        >>> np.round(logistic.rhs([[3 / 7], [6 / 7]]) * 7, 12)
        array([[6.],
               [3.]])
        """
        Xb, single = self.as_batch(X)
        out = self._rhs(Xb, self._p)
        return out[0] if single else out

    def residual(self, X: Any) -> np.ndarray:
        """F(X) = f(X) (flow) or g(X) - X (map): zero exactly at fixed points.

        Examples
        --------
        >>> s = System.from_strings({"x": "x - x**3", "y": "-y"})
        >>> s.residual([0.5, 1.0])  # f(x, y) = (x - x³, -y)
        array([ 0.375, -1.   ])
        >>> logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 2.0}, kind="map")
        >>> logistic.residual([[0.5], [0.25]])  # g(x) - x: zero at the fixed point 1 - 1/r
        array([[0.   ],
               [0.125]])
        """
        Xb, single = self.as_batch(X)
        out = self._rhs(Xb, self._p)
        if self.kind == "map":
            out = out - Xb
        return out[0] if single else out

    def singular(self, X: Any, radius: Any = 0.0) -> np.ndarray:
        """Where F is undefined: near a zero of a denominator, or not finite.

        Parameters
        ----------
        X : array_like of shape (B, n) or (n,)
        radius : float or array_like of shape (B,), default 0
            Distance (>= 0, one for all states or one per state) within
            which a zero of a denominator makes a state singular (see Notes).

        Returns
        -------
        ndarray of bool, shape (B,), or a bool for a single state
            True where F(x) is not finite, or (for a system built from
            formulas) where some denominator d of f or g, as written, has a
            zero within ``radius`` of x to first order:
            |d(x)| <= radius |∇d(x)| (with radius 0: d(x) = 0).

        Notes
        -----
        The denominators are the bases of the negative powers in the
        formulas as given, before any cancellation: (x² − 2x + 1)/(x − 1)
        is undefined at x = 1 although it equals x − 1 elsewhere, so x = 1
        is not a zero of it.  |d(x)| / |∇d(x)| is the Newton estimate of the
        distance from x to the zero set of d.  A point located only to
        within ``radius`` (a numerical fixed point, whose merge radius is
        given by :func:`dynsys.fixed_points.find_fixed_points`) cannot be
        told apart from such a zero, where F is undefined.  The test is on
        the distance only, not on the size of d: 1/(x² − 2ax + a²) has
        d = 1 at x = a ± 1 whatever the cancellation in evaluating it.
        The denominators and their gradients are found once per set of
        formulas and compiled with ``sympy.lambdify`` (cached).  Systems
        without formulas (callables, RNNs) are singular only where F is
        not finite.

        Examples
        --------
        >>> s = System.from_strings({"x": "(x**2 - 2*x + 1)/(x - 1)"})
        >>> s.singular([[1.0], [1.0 + 1e-12], [1.5]], radius=1e-9)
        array([ True,  True, False])
        """
        Xb, single = self.as_batch(X)
        r = np.asarray(radius, dtype=float)
        if r.ndim > 1 or (r.ndim == 1 and r.shape != (len(Xb),)) or not np.all(r >= 0):
            raise ValueError(f"radius must be a number >= 0 or {len(Xb)} of them, got {radius!r}")
        out = self._singular_at(Xb, self._p, np.broadcast_to(r, (len(Xb),)))
        return bool(out[0]) if single else out

    def _singular_at(self, X: np.ndarray, p: np.ndarray, radius: np.ndarray) -> np.ndarray:
        if self._singular is not None:
            return self._singular(X, p, radius)
        with np.errstate(all="ignore"):
            out = ~np.isfinite(self._rhs(X, p)).all(axis=1)
        if self.exprs is not None and self.symbols is not None:
            test = _denominator_test(self.exprs, self.symbols, self.param_symbols or ())
            if test is not None:
                values, gradients = test(X, p)
                slope = np.linalg.norm(gradients, axis=2)
                out |= np.any(~(np.abs(values) > radius[:, None] * slope), axis=1)  # also NaN
        return out

    def jacobian(self, X: Any) -> np.ndarray:
        """Df(X) or Dg(X): shape (B, n, n), or (n, n) for a single state.

        Exact for systems built from formulas or with an analytic Jacobian,
        central finite differences otherwise.

        Examples
        --------
        x' = x − x³, y' = −y has the Jacobian diag(1 − 3x², −1): a saddle at
        the origin and stable nodes at (±1, 0).

        >>> s = System.from_strings({"x": "x - x**3", "y": "-y"})
        >>> s.jacobian([0.0, 0.0])
        array([[ 1.,  0.],
               [ 0., -1.]])
        >>> s.jacobian([[1.0, 0.0], [-1.0, 0.0]])[:, 0, 0]  # one (n, n) block per state
        array([-2., -2.])
        """
        Xb, single = self.as_batch(X)
        J = self._jacobian_at(Xb, self._p)
        return J[0] if single else J

    def _jacobian_at(self, X: np.ndarray, p: np.ndarray) -> np.ndarray:
        return self._jac(X, p) if self._jac is not None else _fd_jacobian(self._rhs, X, p)

    def _jvp_at(self, X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
        if self._jvp is not None:
            return self._jvp(X, V, p)
        if self._jac is not None:
            return np.einsum("bij,bj->bi", self._jac(X, p), V)
        return _fd_jvp(self._rhs, X, V, p)

    def _vjp_at(self, X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
        if self._vjp is not None:
            return self._vjp(X, V, p)
        return np.einsum("bji,bj->bi", self._jacobian_at(X, p), V)

    def residual_jacobian(self, X: Any) -> np.ndarray:
        """DF(X): the Jacobian of :meth:`residual` (Dg - I for a map).

        Examples
        --------
        >>> s = System.from_strings({"x": "x/2", "y": "2*y"}, kind="map")
        >>> s.residual_jacobian([0.0, 0.0])  # diag(1/2, 2) - I
        array([[-0.5,  0. ],
               [ 0. ,  1. ]])
        """
        J = self.jacobian(X)  # a fresh array on every construction path: subtracting I in place is safe
        if self.kind == "map":
            diagonal = np.arange(self.dim)
            J[..., diagonal, diagonal] -= 1.0
        return J

    def param_derivative(self, X: Any, name: str) -> np.ndarray:
        """dF/dp(X): the derivative of :meth:`residual` in the parameter ``name``.

        It equals df/dp (flow) or dg/dp (map), since the − x of a map's
        residual does not depend on p.  Exact for systems built from formulas
        (differentiated by sympy) or given a ``param_jacobian``; central
        differences in p otherwise, with the step eps^(1/3) max(1, |p|).
        Continuation borders DF with this column.

        Parameters
        ----------
        X : array_like of shape (B, n) or (n,)
        name : str
            One of :attr:`params`.

        Returns
        -------
        ndarray of shape (B, n), or (n,) for a single state

        Raises
        ------
        ValueError
            For a name that is not a parameter, naming the parameters.

        Examples
        --------
        x' = a x − x³ has dF/da = x; the logistic map r x (1 − x) has
        dF/dr = x (1 − x):

        >>> s = System.from_strings({"x": "a*x - x**3"}, {"a": 1.0})
        >>> s.param_derivative([[2.0], [-0.5]], "a")
        array([[ 2. ],
               [-0.5]])
        >>> logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 3.0}, kind="map")
        >>> logistic.param_derivative([0.5], "r")
        array([0.25])
        >>> s.param_derivative([1.0], "b")
        Traceback (most recent call last):
        ...
        ValueError: system has no parameter 'b'; its parameters are ['a']
        """
        if name not in self.params:
            raise ValueError(f"{self.name} has no parameter {name!r}; its parameters are {list(self.params)}")
        Xb, single = self.as_batch(X)
        out = self._param_jacobian_at(Xb, self._p)[:, :, list(self.params).index(name)]
        return out[0] if single else out

    def _param_jacobian_at(self, X: np.ndarray, p: np.ndarray) -> np.ndarray:
        return self._param_jac(X, p) if self._param_jac is not None else _fd_param_jacobian(self._rhs, X, p)

    @property
    def matrix_free(self) -> bool:
        """Whether :meth:`jvp` and :meth:`vjp` are both analytic products supplied by the system.

        Then neither forms a Jacobian, and memory stays O(B n) for a batch
        of B states: the path for large n.  False when either product is
        taken from the dense Jacobian (B, n, n), analytic or by finite
        differences, or is a finite difference itself.
        """
        return self._jvp is not None and self._vjp is not None

    def jvp(self, X: Any, V: Any) -> np.ndarray:
        """Jacobian-vector products Df(x_b) v_b for a batch.

        Parameters
        ----------
        X, V : array_like of the same shape, (n,) or (B, n)
            States x_b and directions v_b.

        Returns
        -------
        ndarray, shaped like ``X``
            The analytic product where the system supplies one (see
            :attr:`matrix_free`), else Df(x_b) @ v_b with the dense Jacobian,
            or a central difference (f(x + h v) - f(x - h v)) / 2h.

        Examples
        --------
        >>> s = System.from_strings({"x": "x*y", "y": "-y"})  # Df = [[y, x], [0, -1]]
        >>> s.jvp([2.0, 3.0], [1.0, 1.0])
        array([ 5., -1.])
        """
        return self._product(self._jvp_at, X, V)

    def vjp(self, X: Any, V: Any) -> np.ndarray:
        """Vector-Jacobian products Df(x_b)ᵀ v_b for a batch (the adjoint of :meth:`jvp`).

        Parameters
        ----------
        X, V : array_like of the same shape, (n,) or (B, n)
            States x_b and co-vectors v_b.

        Returns
        -------
        ndarray, shaped like ``X``
            Row b is Df(x_b)ᵀ v_b, i.e. (v_bᵀ Df(x_b))ᵀ, so that
            <u, Df(x) w> = <Df(x)ᵀ u, w> for all u, w.  The analytic product
            where the system supplies one (see :attr:`matrix_free`), else
            Σ_j Df(x_b)_ji v_bj with the dense Jacobian, analytic or by
            central differences.

        Examples
        --------
        >>> s = System.from_strings({"x": "x*y", "y": "-y"})  # Dfᵀ = [[y, 0], [x, -1]]
        >>> s.vjp([2.0, 3.0], [1.0, 1.0])
        array([3., 1.])
        """
        return self._product(self._vjp_at, X, V)

    def residual_jvp(self, X: Any, V: Any) -> np.ndarray:
        """DF(x_b) v_b: :meth:`jvp` for the residual, (Dg - I) v = Dg v - v for a map, Df v for a flow."""
        return self._product(self._jvp_at, X, V, residual=True)

    def residual_vjp(self, X: Any, V: Any) -> np.ndarray:
        """DF(x_b)ᵀ v_b: :meth:`vjp` for the residual, (Dg - I)ᵀ v = Dgᵀ v - v for a map, Dfᵀ v for a flow.

        The gradient of q(x) = ½|F(x)|² is DF(x)ᵀ F(x) = ``residual_vjp(X, residual(X))``.
        """
        return self._product(self._vjp_at, X, V, residual=True)

    def residual_operator(self, X: Any) -> ResidualOperator:
        """DF at a fixed batch of states, for many products at the same states.

        Parameters
        ----------
        X : array_like of shape (B, n)
            The states x_b (copied).

        Returns
        -------
        ResidualOperator
            ``op.jvp(V, rows)`` = DF(x_r) v_r and ``op.vjp(V, rows)`` =
            DF(x_r)ᵀ v_r for the states of the rows ``rows`` (all when None),
            equal to ``residual_jvp(X[rows], V)`` and
            ``residual_vjp(X[rows], V)``.  Where the system supplies them
            (RNN cells, :func:`dynsys.models.hopfield`, ``operator=`` of
            :meth:`from_callable`), the state-dependent factors of Df are
            computed here, once, and each product is only the product with
            them; otherwise (``op.cached`` is False) every product calls the
            system's own, as :meth:`residual_jvp` does.

        Notes
        -----
        The matrix-free Gauss–Newton solver applies DF and DFᵀ tens to
        hundreds of times at the same states (CGLS iterations); for an RNN
        cell each product with the cache is one matrix product with W_hh,
        where :meth:`residual_jvp` first recomputes the pre-activations
        W_hh h + a (another such product) and the gates.
        """
        Xb = np.array(X, dtype=float)  # a copy: the factors stay those of these states
        if Xb.ndim != 2 or Xb.shape[1] != self.dim:
            raise ValueError(f"X must have shape (B, n) with n = {self.dim}, got shape {np.shape(X)}")
        p, minus_identity = self._p, self.kind == "map"
        if self._operator is None:
            factors: Factors = (Xb,)
            return ResidualOperator(
                Xb,
                factors,
                lambda F, V: self._jvp_at(F[0], V, p),
                lambda F, V: self._vjp_at(F[0], V, p),
                minus_identity,
                cached=False,
            )
        factors, jvp, vjp = self._operator(Xb, p)
        return ResidualOperator(Xb, factors, jvp, vjp, minus_identity, cached=True)

    def _product(self, at: JvpFn, X: Any, V: Any, residual: bool = False) -> np.ndarray:
        """``at(X, V, p)`` for checked batches, minus V for the residual of a map; unbatched for a single state."""
        Xb, single = self.as_batch(X)
        Vb, _ = self.as_batch(V, "V")
        if Vb.shape != Xb.shape:
            raise ValueError(f"V must have the shape of X {Xb.shape}, got {Vb.shape}")
        out = at(Xb, Vb, self._p)
        if residual and self.kind == "map":
            out = out - Vb
        return out[0] if single else out

    # ------------------------------------------------------------ derived systems
    def with_params(self, **values: float) -> "System":
        """The same system with some parameters changed, without rebuilding it.

        Examples
        --------
        The fixed point 1 − 1/r of the logistic map moves with r:

        >>> logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 2.0}, kind="map")
        >>> faster = logistic.with_params(r=4.0)
        >>> faster.params, logistic.params
        ({'r': 4.0}, {'r': 2.0})
        >>> faster.residual([0.75])
        array([0.])
        """
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for {self.name}; "
                f"its parameters are {sorted(self.params)}"
            )
        return replace(self, params={**self.params, **_check_params(values)})

    def with_exprs(
        self, exprs: Sequence[sp.Expr], symbols: Sequence[sp.Symbol], param_symbols: Sequence[sp.Symbol] = ()
    ) -> "System":
        """The same system, carrying formulas of f (flow) or g (map) for exact solving.

        For a system evaluated by fast numerical code (batched matrix
        products, say) whose formulas are known too: ``exprs`` become
        :attr:`exprs`, so that exact methods (:mod:`dynsys.fixed_points.exact`) can use
        them, while :meth:`rhs` and the Jacobian stay those of ``self``.  The
        formulas must equal f; that is not checked.

        Parameters
        ----------
        exprs : sequence of sympy.Expr, length n
            f_i or g_i in ``symbols`` and ``param_symbols``.
        symbols : sequence of sympy.Symbol, length n
            The states, in order.
        param_symbols : sequence of sympy.Symbol, default ()
            The parameters, in the order of :attr:`params`.

        Raises
        ------
        TypeError
            For formulas that are not sympy expressions.
        ValueError
            For lengths that do not match the system, or a formula with other
            free symbols.

        Examples
        --------
        >>> import numpy as np, sympy as sp
        >>> fast = System.from_callable(lambda X: -2 * X, 1, vectorized=True, name="decay")
        >>> x = sp.Symbol("x0", real=True)
        >>> exact = fast.with_exprs([-2 * x], [x])
        >>> exact.exprs, exact.rhs([1.5])
        ((-2*x0,), array([-3.]))
        """
        exprs, symbols, param_symbols = tuple(exprs), tuple(symbols), tuple(param_symbols)
        if len(exprs) != self.dim or len(symbols) != self.dim or len(param_symbols) != len(self.params):
            raise ValueError(
                f"{self.name} has {self.dim} states and {len(self.params)} parameters; got {len(exprs)} formulas, "
                f"{len(symbols)} state symbols and {len(param_symbols)} parameter symbols"
            )
        if not all(isinstance(e, sp.Expr) for e in exprs):
            raise TypeError("with_exprs takes sympy expressions; give formulas as text to System.from_strings")
        unknown = set().union(*(e.free_symbols for e in exprs)) - set(symbols) - set(param_symbols)
        if unknown:
            raise ValueError(f"the formulas use undeclared symbol(s) {sorted(map(str, unknown))}")
        recipe = _Recipe(self.with_exprs, (exprs, symbols, param_symbols), {})
        return replace(self, _exprs=exprs, symbols=symbols, param_symbols=param_symbols, _recipe=recipe)

    def iterate(self, k: int) -> "System":
        """The k-th iterate g^k of a map, whose fixed points have period k.

        A point is :meth:`singular` for g^k when one of x_0, ..., x_{k-1} on
        its orbit is for g (composed formulas may have lost the
        denominators: 1/(1/x) is x to sympy).

        Its Jacobian is the chain rule product
        D(g^k)(x) = Dg(x_{k-1}) ... Dg(x_1) Dg(x_0),  x_0 = x, x_{i+1} = g(x_i),

        so D(g^k) v applies Dg(x_0), ..., Dg(x_{k-1}) to v in that order, and
        D(g^k)ᵀ v = Dg(x_0)ᵀ ... Dg(x_{k-1})ᵀ v applies the transposes in
        reverse: a forward pass stores x_0, ..., x_{k-1} (k states of (B, n)),
        then v <- Dg(x_i)ᵀ v for i = k-1, ..., 0.  Both products are analytic
        exactly when the map's are, so ``matrix_free`` carries over.

        Examples
        --------
        At r = 7/2 the logistic map g(x) = r x (1 − x) has the period-2 orbit
        3/7 -> 6/7 -> 3/7: fixed points of g², with the multiplier
        g'(3/7) g'(6/7) = (1/2)(−5/2) = −5/4.

        >>> logistic = System.from_strings({"x": "r*x*(1 - x)"}, {"r": 3.5}, kind="map")
        >>> g2 = logistic.iterate(2)
        >>> g2
        System('system^2', kind='map', dim=1, params={r=3.5})
        >>> orbit = np.array([[3 / 7], [6 / 7]])
        >>> bool(np.allclose(g2.rhs(orbit), orbit))
        True
        >>> np.round(g2.jacobian([3 / 7]), 12)
        array([[-1.25]])
        """
        if self.kind != "map":
            raise ValueError(f"iterate() needs a map, {self.name} is a {self.kind}")
        k = check_count(k, "k")
        base = self

        def rhs(X: np.ndarray, p: np.ndarray) -> np.ndarray:
            for _ in range(k):
                X = base._rhs(X, p)
            return X

        def jac(X: np.ndarray, p: np.ndarray) -> np.ndarray:
            J = np.broadcast_to(np.eye(base.dim), (X.shape[0], base.dim, base.dim))
            for _ in range(k):
                J = base._jacobian_at(X, p) @ J
                X = base._rhs(X, p)
            return J

        def param_jac(X: np.ndarray, p: np.ndarray) -> np.ndarray:  # d g^j/dp = Dg(x_{j-1}) d g^{j-1}/dp + g_p(x_{j-1})
            D = np.zeros((X.shape[0], base.dim, len(p)))
            for _ in range(k):
                D = base._jacobian_at(X, p) @ D + base._param_jacobian_at(X, p)
                X = base._rhs(X, p)
            return D

        def jvp(X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
            for _ in range(k):
                V = base._jvp_at(X, V, p)
                X = base._rhs(X, p)
            return V

        def vjp(X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
            orbit = []
            for _ in range(k):
                orbit.append(X)
                X = base._rhs(X, p)
            for Xi in reversed(orbit):
                V = base._vjp_at(Xi, V, p)
            return V

        def singular(X: np.ndarray, p: np.ndarray, radius: np.ndarray) -> np.ndarray:
            out = np.zeros(len(X), dtype=bool)
            for _ in range(k):
                out |= base._singular_at(X, p, radius)
                with np.errstate(all="ignore"):
                    X = base._rhs(X, p)
            return out

        def compose() -> tuple[sp.Expr, ...]:  # g^k as formulas, for exact solving
            composed = base.exprs
            for _ in range(k - 1):
                composed = tuple(e.xreplace(dict(zip(base.symbols, composed))) for e in base.exprs)
            return composed

        exprs = None if self._exprs is None or self.symbols is None else compose
        return replace(
            self,
            _rhs=rhs,
            _jac=jac,
            _param_jac=param_jac,
            _jvp=None if base._jvp is None else jvp,  # None: products from the composed Jacobian
            _vjp=None if base._vjp is None else vjp,
            _operator=None,  # residual_operator of g^k: the products above, the orbit recomputed for each
            _singular=singular,
            name=f"{self.name}^{k}",
            _exprs=exprs,
            _recipe=_Recipe(self.iterate, (k,), {}),
        )

    def reverse_time(self) -> "System":
        """The flow dx/dt = -f(x): same orbits, run backwards (E^s and E^u swap).

        Jacobian -Df, products -Df v and -Dfᵀ v, analytic where those of f are,
        and cached in :meth:`residual_operator` where those of f are.

        Examples
        --------
        The stable node (1, 0) of x' = x − x³, y' = −y (eigenvalues −2, −1)
        is an unstable node of the reversed flow:

        >>> s = System.from_strings({"x": "x - x**3", "y": "-y"}, name="bistable")
        >>> back = s.reverse_time()
        >>> back
        System('bistable (reversed)', kind='flow', dim=2, params={})
        >>> back.jacobian([1.0, 0.0]).diagonal()
        array([2., 1.])
        """
        if self.kind != "flow":
            raise ValueError(f"reverse_time() needs a flow, {self.name} is a {self.kind}")
        f, J, Jp, jv, vj, op = self._rhs, self._jac, self._param_jac, self._jvp, self._vjp, self._operator
        exprs = None if self._exprs is None else (lambda: tuple(-e for e in self.exprs))

        def operator(X: np.ndarray, p: np.ndarray) -> tuple[Factors, FactorProductFn, FactorProductFn]:
            factors, jvp, vjp = op(X, p)
            return factors, lambda F, V: -jvp(F, V), lambda F, V: -vjp(F, V)

        return replace(
            self,
            _rhs=lambda X, p: -f(X, p),
            _jac=None if J is None else (lambda X, p: -J(X, p)),
            _param_jac=None if Jp is None else (lambda X, p: -Jp(X, p)),
            _jvp=None if jv is None else (lambda X, V, p: -jv(X, V, p)),
            _vjp=None if vj is None else (lambda X, V, p: -vj(X, V, p)),
            _operator=None if op is None else operator,
            name=f"{self.name} (reversed)",
            _exprs=exprs,
            _recipe=_Recipe(self.reverse_time, (), {}),
        )

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"System({self.name!r}, kind={self.kind!r}, dim={self.dim}, params={{{ps}}})"

    # ------------------------------------------------------------------ pickling
    def with_recipe(self, build: Callable[..., "System"], /, *args: Any, **kwargs: Any) -> "System":
        """The same system, pickled as the call ``build(*args, **kwargs)`` that builds it again.

        A system holds compiled functions (lambdified formulas, closures over
        weights) that pickle cannot store, so it is pickled as how it was
        built, its recipe, together with its :attr:`params`, :attr:`name`
        and :attr:`bounds`; unpickling calls the recipe and gives the result
        those three.  Every constructor records its recipe (:meth:`from_sympy`:
        the formulas; :meth:`from_callable`: the functions; :meth:`iterate`,
        :meth:`reverse_time`, :meth:`with_exprs`: the system they derive
        from), and :meth:`with_params` keeps it.  A function that builds a
        system from closures records itself here, so that the pickle holds
        only its arguments; dynsys's models and RNN cells do.

        Parameters
        ----------
        build : callable
            Returns the system (the same functions; its params, name and
            bounds may differ, they are replaced), and can be pickled: a
            module-level function or a method of a picklable object (a
            classmethod works too, but cloudpickle stores it by value).
        *args, **kwargs
            Its arguments, picklable.

        Returns
        -------
        System
            ``self`` with this recipe.

        Examples
        --------
        Pickled as the text of its formula, not as sympy expressions:

        >>> import pickle
        >>> s = System.from_strings({"x": "-k*x"}, {"k": 2.0}).with_recipe(
        ...     System.from_strings, {"x": "-k*x"}, {"k": 2.0})
        >>> back = pickle.loads(pickle.dumps(s.with_params(k=3.0)))
        >>> back.params, back.rhs([1.0])
        ({'k': 3.0}, array([-3.]))
        """
        if not callable(build):
            raise TypeError(f"build must be callable, got {type(build).__name__}")
        return replace(self, _recipe=_Recipe(build, args, kwargs))

    def __reduce__(self) -> tuple[Callable[..., "System"], tuple[Any, ...]]:
        """Pickle as the recipe with the current params, name and bounds (see :meth:`with_recipe`)."""
        if self._recipe is None:
            raise pickle.PicklingError(
                f"{self!r} was made by the System constructor, which records no recipe to rebuild it from; "
                "build it with from_sympy, from_strings or from_callable, or give it one with with_recipe"
            )
        return _rebuild, (self._recipe, self.params, self.name, self.bounds)

    # ------------------------------------------------------------- constructors
    @classmethod
    def from_sympy(
        cls,
        exprs: Sequence[Any],
        states: Sequence[Any],
        params: Mapping[Any, float] | None = None,
        *,
        kind: Kind = "flow",
        name: str = "system",
        bounds: Any = None,
    ) -> "System":
        """A system from sympy expressions, with the exact Jacobian.

        Parameters
        ----------
        exprs : sequence of sympy expressions, length n
            f_i (flow) or g_i (map) in the state and parameter symbols.
        states : sequence of sympy.Symbol or str, length n
        params : mapping of sympy.Symbol or str to float, optional
            Parameter values; every free symbol of ``exprs`` must be a state
            or a parameter.
        kind : {"flow", "map"}
        name : str
        bounds : array_like of shape (n, 2), optional

        Notes
        -----
        The Jacobian d f_i / d x_j is differentiated by sympy and both are
        compiled with ``sympy.lambdify`` to numpy, evaluated for the whole
        batch at once; so are the parameter derivatives d f_i / d p_k of
        :meth:`param_derivative`, compiled on first use.

        Examples
        --------
        x' = a x − x³, y' = −y: fixed points (0, 0) and (±√a, 0).

        >>> import sympy as sp
        >>> x, y, a = sp.symbols("x y a")
        >>> s = System.from_sympy([a * x - x**3, -y], [x, y], {a: 4.0}, name="pitchfork")
        >>> s
        System('pitchfork', kind='flow', dim=2, params={a=4})
        >>> s.jacobian([2.0, 0.0])  # exact: a - 3x² = -8 at x = √a = 2
        array([[-8.,  0.],
               [ 0., -1.]])
        """
        check_kind(kind)
        params = dict(params or {})
        xs = tuple(_as_symbol(s, "state") for s in states)
        ps = tuple(_as_symbol(s, "parameter") for s in params)
        pvals = {str(s): v for s, v in zip(ps, params.values())}
        if any(isinstance(e, str) for e in exprs):  # sympify would eval the text
            raise TypeError("from_sympy takes sympy expressions; give formulas as text to System.from_strings")
        fs = tuple(sp.sympify(e, strict=True) for e in exprs)
        if len(fs) != len(xs):
            raise ValueError(f"{len(fs)} expressions for {len(xs)} states")
        if set(xs) & set(ps):
            raise ValueError(f"names used both as state and parameter: {sorted(map(str, set(xs) & set(ps)))}")
        known = set(xs) | set(ps)
        for s, e in zip(xs, fs):
            free = e.free_symbols - known
            if free:
                raise ValueError(
                    f"the formula for {s} uses undeclared name(s) {sorted(map(str, free))}; "
                    f"states are {[str(x) for x in xs]}, parameters {sorted(pvals)}"
                )
        n, P = len(xs), len(ps)
        return cls(
            kind=kind,
            dim=n,
            state_names=tuple(str(x) for x in xs),
            params=pvals,
            _rhs=_lazy_lambdify(lambda: list(fs), xs, ps, (n,)),
            _jac=_lazy_lambdify(lambda: _derivatives(fs, xs), xs, ps, (n, n)),
            _param_jac=_lazy_lambdify(lambda: _derivatives(fs, ps), xs, ps, (n, P)),
            name=name,
            bounds=bounds,
            _exprs=fs,
            symbols=xs,
            param_symbols=ps,
            _recipe=_Recipe(_from_sympy, (fs, xs, dict.fromkeys(ps, 0.0)), {"kind": kind}),  # params set on loading
        )

    @classmethod
    def from_strings(
        cls,
        formulas: Mapping[str, str],
        params: Mapping[str, float] | None = None,
        *,
        kind: Kind = "flow",
        name: str = "system",
        bounds: Any = None,
    ) -> "System":
        """A system from formulas as text, parsed safely (never ``eval``ed).

        Parameters
        ----------
        formulas : mapping of state name to formula
            e.g. ``{"x": "sigma*(y - x)", "y": "x*(rho - z) - y", ...}``;
            the keys, in order, are the states.
        params : mapping of name to value, optional

        See :func:`dynsys.parse.parse_formula` for the accepted grammar.

        Raises
        ------
        ValueError
            No states; a name that is not an identifier, a keyword, starts
            with ``_``, is a function or constant of the grammar (``exp``,
            ``pi``), or is declared twice (also as the same identifier after
            NFKC normalisation: ``x`` and ``ｘ``); a parameter that is not a
            finite real number; more than :data:`dynsys.parse.MAX_STATES`
            states or too large a Jacobian
            (:func:`dynsys.parse.check_symbolic_size`).
        FormulaError
            A formula outside the grammar (a ValueError).

        Examples
        --------
        >>> s = System.from_strings({"x": "x - x**3", "y": "-y"}, name="bistable")
        >>> s.exprs
        (-x**3 + x, -y)
        >>> s.jacobian([0.0, 0.0])  # exact, from the formulas
        array([[ 1.,  0.],
               [ 0., -1.]])

        A map with a parameter, and what the parser refuses:

        >>> System.from_strings({"x": "r*x*(1 - x)"}, {"r": 3.5}, kind="map")
        System('system', kind='map', dim=1, params={r=3.5})
        >>> System.from_strings({"x": "x + z"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        dynsys.parse.FormulaError: in formula 'x + z' at column 5: unknown name 'z'; declared names are ['x'], ...
        """
        if not isinstance(formulas, Mapping) or not formulas:
            raise ValueError(f"formulas must be a non-empty mapping of state name to formula, got {formulas!r}")
        params = dict(params or {})
        names = list(formulas)
        check_names(names, params)
        _check_params(params)
        symbols = {n: sp.Symbol(n, real=True) for n in [*names, *params]}
        exprs = [parse_formula(formulas[n], symbols) for n in names]
        check_symbolic_size(exprs, [symbols[n] for n in names])
        return cls.from_sympy(
            exprs,
            [symbols[n] for n in names],
            {symbols[p]: v for p, v in params.items()},
            kind=kind,
            name=name,
            bounds=bounds,
        )

    @classmethod
    def from_callable(
        cls,
        f: Callable[..., Any],
        dim: int,
        jacobian: Callable[..., Any] | None = None,
        *,
        param_jacobian: Callable[..., Any] | None = None,
        jvp: Callable[..., Any] | None = None,
        vjp: Callable[..., Any] | None = None,
        operator: Callable[..., Any] | None = None,
        kind: Kind = "flow",
        params: Mapping[str, float] | None = None,
        vectorized: bool | None = None,
        state_names: Sequence[str] | None = None,
        name: str = "system",
        bounds: Any = None,
    ) -> "System":
        """A system from a Python function.

        Parameters
        ----------
        f : callable
            ``f(x, **params)`` returning f(x) (flow) or g(x) (map).  When
            ``vectorized`` it takes a batch (B, n) and returns (B, n);
            otherwise one state (n,) at a time.
        dim : int
        jacobian : callable, optional
            ``jacobian(x, **params)`` returning (n, n), or (B, n, n) for a
            batch when ``vectorized``.  Central finite differences are used
            when it is not given.
        param_jacobian : callable, optional
            ``param_jacobian(X, **params)`` returning df/dp for a batch X
            (B, n): shape (B, n, P), column k the derivative in the k-th
            parameter of ``params`` (in its order).  Always batched.  Used by
            :meth:`param_derivative` (and so by continuation); central
            differences in p when not given.
        jvp : callable, optional
            ``jvp(X, V, **params)`` returning the products Df(x_b) v_b for
            batches X, V of shape (B, n), without forming Df: the fast path
            for large n.  Always batched.  By default products with
            ``jacobian``, or central differences of f.
        vjp : callable, optional
            ``vjp(X, V, **params)`` returning the products Df(x_b)ᵀ v_b
            (i.e. Σ_i v_bi ∂f_i/∂x_j (x_b) in column j), batched like ``jvp``.
            By default products with ``jacobian``, or with the
            finite-difference Jacobian.  Give both ``jvp`` and ``vjp`` for a
            :attr:`matrix_free` system, which never forms a (B, n, n) array.
        operator : callable, optional
            ``operator(X, **params)`` returning ``(factors, jvp_f, vjp_f)``
            for a batch X (B, n): ``factors``, a tuple of arrays whose first
            axis has length B, the state-dependent parts of Df at X (e.g.
            act'(s) for a network h -> act(W h + b)); ``jvp_f(F, V)`` and
            ``vjp_f(F, V)``, the products Df v and Dfᵀ v for the states whose
            factors are ``F`` (the factors of some rows of X, each array
            indexed along its first axis) and V of shape (len(F[0]), n).
            :meth:`residual_operator` computes the factors once and each
            product with them, the fast path of iterative solvers.  The
            products must agree with ``jvp`` and ``vjp``.  Without it
            :meth:`residual_operator` calls those products each time.
        vectorized : bool, optional
            Whether ``f`` (and ``jacobian``) accept batches.  Detected by a
            trial call on a batch of two states when not given.

        Notes
        -----
        The system is pickled as these functions (see :meth:`with_recipe`),
        stored with cloudpickle where it is installed (by name where they
        can be imported, by value otherwise: lambdas, local functions,
        functions of ``__main__``), else by name with pickle.  One that
        cannot be stored gives a ``pickle.PicklingError`` naming it.

        Examples
        --------
        x' = a x − x³, y' = −y written for one state at a time; the Jacobian
        comes from central differences:

        >>> def f(state, a):
        ...     x, y = state
        ...     return [a * x - x**3, -y]
        >>> s = System.from_callable(f, 2, params={"a": 1.0}, vectorized=False, state_names=("x", "y"))
        >>> s
        System('system', kind='flow', dim=2, params={a=1})
        >>> np.round(s.jacobian([1.0, 0.0]), 6)
        array([[-2.,  0.],
               [ 0., -1.]])

        Written for a batch (B, n), with its analytic Jacobian (B, n, n):

        >>> def f_batch(X):
        ...     return np.stack([X[:, 0] - X[:, 0] ** 3, -X[:, 1]], axis=1)
        >>> def jacobian(X):
        ...     J = np.zeros((len(X), 2, 2))
        ...     J[:, 0, 0], J[:, 1, 1] = 1 - 3 * X[:, 0] ** 2, -1.0
        ...     return J
        >>> s = System.from_callable(f_batch, 2, jacobian, vectorized=True)
        >>> s.jacobian([[0.0, 0.0], [1.0, 0.0]])
        array([[[ 1.,  0.],
                [ 0., -1.]],
        <BLANKLINE>
               [[-2.,  0.],
                [ 0., -1.]]])
        """
        check_kind(kind)
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        dim = check_count(dim, "dim")
        pnames = list(dict(params or {}))

        def kw(p: np.ndarray) -> dict[str, float]:
            return dict(zip(pnames, p.tolist()))

        if vectorized is None:
            vectorized = _accepts_batches(f, dim, kw(np.asarray(list(_check_params(params or {}).values()), float)))

        if vectorized:
            def rhs(X: np.ndarray, p: np.ndarray) -> np.ndarray:
                return _shaped(f(X, **kw(p)), (X.shape[0], dim), "f")
        else:
            def rhs(X: np.ndarray, p: np.ndarray) -> np.ndarray:
                kws = kw(p)
                return np.stack([_shaped(f(x, **kws), (dim,), "f") for x in X]).reshape(X.shape[0], dim)

        jac = None
        if jacobian is not None:
            if vectorized:
                def jac(X: np.ndarray, p: np.ndarray) -> np.ndarray:
                    return _shaped(jacobian(X, **kw(p)), (X.shape[0], dim, dim), "jacobian")
            else:
                def jac(X: np.ndarray, p: np.ndarray) -> np.ndarray:
                    kws = kw(p)
                    return np.stack([_shaped(jacobian(x, **kws), (dim, dim), "jacobian") for x in X]).reshape(
                        X.shape[0], dim, dim
                    )

        param_jac = None
        if param_jacobian is not None:
            if not callable(param_jacobian):
                raise TypeError(f"param_jacobian must be callable or None, got {type(param_jacobian).__name__}")

            def param_jac(X: np.ndarray, p: np.ndarray) -> np.ndarray:
                return _shaped(param_jacobian(X, **kw(p)), (X.shape[0], dim, len(pnames)), "param_jacobian")

        def product(fn: Callable[..., Any] | None, what: str) -> JvpFn | None:
            """``fn`` with the internal signature (X, V, p), its result checked to be (B, n)."""
            if fn is None:
                return None
            if not callable(fn):
                raise TypeError(f"{what} must be callable or None, got {type(fn).__name__}")

            def evaluate(X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
                return _shaped(fn(X, V, **kw(p)), X.shape, what)

            return evaluate

        def cached(fn: Callable[..., Any] | None) -> OperatorFn | None:
            """``operator`` with the internal signature (X, p), its factors and products checked."""
            if fn is None:
                return None
            if not callable(fn):
                raise TypeError(f"operator must be callable or None, got {type(fn).__name__}")

            def build(X: np.ndarray, p: np.ndarray) -> tuple[Factors, FactorProductFn, FactorProductFn]:
                out = fn(X, **kw(p))
                if not (isinstance(out, tuple) and len(out) == 3 and callable(out[1]) and callable(out[2])):
                    raise ValueError("operator must return a tuple (factors, jvp, vjp) with callable jvp and vjp")
                factors = tuple(np.asarray(a) for a in out[0])
                if any(a.ndim == 0 or a.shape[0] != X.shape[0] for a in factors):
                    shapes = [a.shape for a in factors]
                    raise ValueError(f"operator's factors must each have first axis {X.shape[0]}, got shapes {shapes}")

                def checked(product: Callable[..., Any], what: str) -> FactorProductFn:
                    return lambda F, V: _shaped(product(F, V), V.shape, what)

                return factors, checked(out[1], "operator's jvp"), checked(out[2], "operator's vjp")

            return build

        names = tuple(state_names) if state_names is not None else tuple(f"x{i}" for i in range(dim))
        functions = {"f": f, "jacobian": jacobian, "param_jacobian": param_jacobian, "jvp": jvp, "vjp": vjp,
                     "operator": operator}
        options = {"kind": kind, "params": dict.fromkeys(pnames, 0.0), "vectorized": vectorized, "state_names": names}
        return cls(
            kind=kind,
            dim=dim,
            state_names=names,
            params=dict(params or {}),
            _rhs=rhs,
            _jac=jac,
            _param_jac=param_jac,
            _jvp=product(jvp, "jvp"),
            _vjp=product(vjp, "vjp"),
            _operator=cached(operator),
            name=name,
            bounds=bounds,
            _recipe=_Recipe(_from_callables, (_UserCallables(functions, name), dim), options),  # params set on loading
        )


# ---------------------------------------------------------------------- helpers
def denominators(exprs: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The distinct denominators of formulas as written: the bases b of every
    power b**e with e < 0 in them, before any cancellation, in a fixed order.

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> denominators([(x**2 - 2*x + 1) / (x - 1), 1 / y**2 + x])
    [y, x - 1]
    """
    found = {
        node.base
        for e in exprs
        for node in sp.preorder_traversal(e)
        if isinstance(node, sp.Pow) and node.exp.is_negative and not node.base.is_number
    }
    return sorted(found, key=sp.default_sort_key)


@lru_cache(maxsize=64)
def _denominator_test(
    exprs: tuple[sp.Expr, ...], xs: tuple[sp.Symbol, ...], ps: tuple[sp.Symbol, ...]
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """(X, p) -> (d_k(x_b) (B, m), ∇d_k(x_b) (B, m, n)) for the m denominators
    of ``exprs``; None when there are none.  Compiled once per set of formulas."""
    ds = denominators(exprs)
    if not ds:
        return None
    both = _lambdify_batch([e for d in ds for e in (d, *(sp.diff(d, x) for x in xs))], xs, ps, (len(ds), 1 + len(xs)))

    def evaluate(X: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = both(X, p)
        return out[:, :, 0], out[:, :, 1:]

    return evaluate


def check_system(system: Any) -> None:
    """Raise TypeError unless ``system`` is a :class:`System`.

    Examples
    --------
    >>> check_system(System.from_strings({"x": "-x"}))
    >>> check_system("x' = -x")
    Traceback (most recent call last):
    ...
    TypeError: system must be a dynsys.System, got str
    """
    if not isinstance(system, System):
        raise TypeError(f"system must be a dynsys.System, got {type(system).__name__}")


def check_bounds(bounds: Any, dim: int) -> np.ndarray:
    """A box of ``dim`` rows (low, high) from ``bounds``, checked.

    Parameters
    ----------
    bounds : array_like of shape (2,) or (dim, 2)
        One (low, high) pair for every direction, or one per state.
    dim : int
        n, the number of states.

    Returns
    -------
    ndarray of shape (dim, 2)

    Raises
    ------
    ValueError
        For another shape, non-finite entries or a row with low >= high.

    Examples
    --------
    >>> check_bounds((-1, 1), 2)
    array([[-1.,  1.],
           [-1.,  1.]])
    >>> check_bounds([[0, 1], [2, 2]], 2)
    Traceback (most recent call last):
    ...
    ValueError: bounds need low < high in every row, got [[0.0, 1.0], [2.0, 2.0]]
    """
    b = np.asarray(bounds, dtype=float)
    if b.shape == (2,):
        b = np.tile(b, (dim, 1))
    if b.shape != (dim, 2):
        raise ValueError(f"bounds must have shape (2,) or ({dim}, 2), got {np.shape(bounds)}")
    if not np.all(np.isfinite(b)):
        raise ValueError(f"bounds must be finite, got {b.tolist()}")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError(f"bounds need low < high in every row, got {b.tolist()}")
    return b


def _as_symbol(s: Any, what: str) -> sp.Symbol:
    if isinstance(s, sp.Symbol):
        return s
    if isinstance(s, str) and s.isidentifier():
        return sp.Symbol(s, real=True)
    raise ValueError(f"{what} must be a sympy Symbol or an identifier string, got {s!r}")


def _lambdify_batch(
    exprs: list[sp.Expr], xs: tuple[sp.Symbol, ...], ps: tuple[sp.Symbol, ...], shape: tuple[int, ...]
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Compile expressions to one numpy function of (X (B, n), p) -> (B, *shape).

    Constant entries (which lambdify returns as scalars) are broadcast over
    the batch.
    """
    fn = sp.lambdify([*xs, *ps], exprs, modules="numpy", cse=True)

    def evaluate(X: np.ndarray, p: np.ndarray) -> np.ndarray:
        B = X.shape[0]
        with np.errstate(all="ignore"):
            vals = fn(*X.T, *p)
        out = np.empty((B, len(exprs)))
        for i, v in enumerate(vals):  # loop over formulas, not over the batch
            out[:, i] = v
        return out.reshape((B, *shape))

    return evaluate


def _lazy_lambdify(
    exprs: Callable[[], list[sp.Expr]], xs: tuple[sp.Symbol, ...], ps: tuple[sp.Symbol, ...], shape: tuple[int, ...]
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """:func:`_lambdify_batch` of the expressions ``exprs()``, formed and compiled on the first call.

    Building (and unpickling) a system from formulas thus costs no
    compilation until it is evaluated.
    """

    @lru_cache(maxsize=1)
    def compiled() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        return _lambdify_batch(exprs(), xs, ps, shape)

    def evaluate(X: np.ndarray, p: np.ndarray) -> np.ndarray:
        return compiled()(X, p)

    return evaluate


def _derivatives(fs: tuple[sp.Expr, ...], wrt: tuple[sp.Symbol, ...]) -> list[sp.Expr]:
    """d f_i / d w_j, row by row; powsimp turns sympy's b*v**b/v into b*v**(b - 1), finite at v = 0."""
    return list(sp.Matrix(fs).jacobian(sp.Matrix(wrt)).applyfunc(sp.powsimp)) if wrt else []


def _shaped(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """What a user's function returned, as a real array of ``shape`` (complex or non-numeric output refused)."""
    arr = check_real_array(value, f"the output of {what}", finite=False)
    if arr.shape != shape:
        if arr.size == int(np.prod(shape)) and len(shape) == 1:
            return arr.reshape(shape)
        raise ValueError(f"{what} returned shape {arr.shape}, expected {shape}")
    return arr


def _accepts_batches(f: Callable[..., Any], dim: int, kws: dict[str, float]) -> bool:
    """Whether f maps a (2, n) batch to a (2, n) array row by row.

    The rows are checked against calls on batches of one row each, so that a
    function written for single states (which may misread a batch without
    failing) is not taken for a vectorised one.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, dim))
    try:
        with np.errstate(all="ignore"):
            out = check_real_array(f(X, **kws), "f", finite=False)
            if out.shape != (2, dim):
                return False
            rows = np.concatenate([check_real_array(f(X[i : i + 1], **kws), "f", finite=False).reshape(1, dim)
                                   for i in range(2)])
    except Exception:
        return False
    return bool(np.allclose(out, rows, equal_nan=True))
