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
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
import sympy as sp

from ._validate import check_count

Kind = Literal["flow", "map"]
KINDS = ("flow", "map")

# Internal signatures: every function takes a (B, n) batch and the parameter
# values as a 1-D float array ordered like ``System.params``.
RhsFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # -> (B, n)
JacFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # -> (B, n, n)
JvpFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # -> (B, n)


def _check_kind(kind: str) -> str:
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


def _fd_jvp(f: RhsFn, X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Central-difference directional derivative (f(x + h v) - f(x - h v)) / 2h."""
    vnorm = np.linalg.norm(V, axis=1, keepdims=True)
    xnorm = np.linalg.norm(X, axis=1, keepdims=True)
    h = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, xnorm) / np.where(vnorm > 0, vnorm, 1.0)
    B = X.shape[0]
    vals = f(np.concatenate([X + h * V, X - h * V]), p)
    return (vals[:B] - vals[B:]) / (2.0 * h)


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
    """

    kind: Kind
    dim: int
    state_names: tuple[str, ...]
    params: dict[str, float]
    _rhs: RhsFn = field(repr=False)
    _jac: JacFn | None = field(default=None, repr=False)
    _jvp: JvpFn | None = field(default=None, repr=False)
    name: str = "system"
    bounds: np.ndarray | None = field(default=None, repr=False)
    _exprs: tuple[sp.Expr, ...] | Callable[[], tuple[sp.Expr, ...]] | None = field(default=None, repr=False)
    symbols: tuple[sp.Symbol, ...] | None = field(default=None, repr=False)
    param_symbols: tuple[sp.Symbol, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if len(self.state_names) != self.dim:
            raise ValueError(f"{self.dim} states but {len(self.state_names)} state names")
        if len(set(self.state_names)) != self.dim:
            raise ValueError(f"state names must be distinct, got {self.state_names}")
        object.__setattr__(self, "params", _check_params(self.params))
        if self.bounds is not None:
            object.__setattr__(self, "bounds", _check_bounds(self.bounds, self.dim))

    # ------------------------------------------------------------------ batches
    def _batch(self, X: Any, what: str = "X") -> tuple[np.ndarray, bool]:
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
        """f(X) for a flow, g(X) for a map; shape like ``X``."""
        Xb, single = self._batch(X)
        out = self._rhs(Xb, self._p)
        return out[0] if single else out

    def residual(self, X: Any) -> np.ndarray:
        """F(X) = f(X) (flow) or g(X) - X (map): zero exactly at fixed points."""
        Xb, single = self._batch(X)
        out = self._rhs(Xb, self._p)
        if self.kind == "map":
            out = out - Xb
        return out[0] if single else out

    def jacobian(self, X: Any) -> np.ndarray:
        """Df(X) or Dg(X): shape (B, n, n), or (n, n) for a single state.

        Exact for systems built from formulas or with an analytic Jacobian,
        central finite differences otherwise.
        """
        Xb, single = self._batch(X)
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

    def residual_jacobian(self, X: Any) -> np.ndarray:
        """DF(X): the Jacobian of :meth:`residual` (Dg - I for a map)."""
        J = self.jacobian(X)
        return J - np.eye(self.dim) if self.kind == "map" else J

    def jvp(self, X: Any, V: Any) -> np.ndarray:
        """Jacobian-vector products Df(x_b) v_b for a batch, without forming Df.

        ``X`` and ``V`` have the same shape, (n,) or (B, n).
        """
        Xb, single = self._batch(X)
        Vb, _ = self._batch(V, "V")
        if Vb.shape != Xb.shape:
            raise ValueError(f"V must have the shape of X {Xb.shape}, got {Vb.shape}")
        out = self._jvp_at(Xb, Vb, self._p)
        return out[0] if single else out

    # ------------------------------------------------------------ derived systems
    def with_params(self, **values: float) -> "System":
        """The same system with some parameters changed, without rebuilding it."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for {self.name}; "
                f"its parameters are {sorted(self.params)}"
            )
        return replace(self, params={**self.params, **_check_params(values)})

    def iterate(self, k: int) -> "System":
        """The k-th iterate g^k of a map, whose fixed points have period k.

        Its Jacobian is the chain rule product
        D(g^k)(x) = Dg(x_{k-1}) ... Dg(x_1) Dg(x_0),  x_{i+1} = g(x_i).
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

        def jvp(X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
            for _ in range(k):
                V = base._jvp_at(X, V, p)
                X = base._rhs(X, p)
            return V

        def compose() -> tuple[sp.Expr, ...]:  # g^k as formulas, for exact solving
            composed = base.exprs
            for _ in range(k - 1):
                composed = tuple(e.xreplace(dict(zip(base.symbols, composed))) for e in base.exprs)
            return composed

        exprs = None if self._exprs is None or self.symbols is None else compose
        return replace(self, _rhs=rhs, _jac=jac, _jvp=jvp, name=f"{self.name}^{k}", _exprs=exprs)

    def reverse_time(self) -> "System":
        """The flow dx/dt = -f(x): same orbits, run backwards (E^s and E^u swap)."""
        if self.kind != "flow":
            raise ValueError(f"reverse_time() needs a flow, {self.name} is a {self.kind}")
        f, J, jv = self._rhs, self._jac, self._jvp
        exprs = None if self._exprs is None else (lambda: tuple(-e for e in self.exprs))
        return replace(
            self,
            _rhs=lambda X, p: -f(X, p),
            _jac=None if J is None else (lambda X, p: -J(X, p)),
            _jvp=None if jv is None else (lambda X, V, p: -jv(X, V, p)),
            name=f"{self.name} (reversed)",
            _exprs=exprs,
        )

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"System({self.name!r}, kind={self.kind!r}, dim={self.dim}, params={{{ps}}})"

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
        batch at once.
        """
        _check_kind(kind)
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
        # powsimp turns sympy's b*v**b/v into b*v**(b - 1), finite at v = 0
        jac_exprs = sp.Matrix(fs).jacobian(sp.Matrix(xs)).applyfunc(sp.powsimp)
        rhs = _lambdify_batch(list(fs), xs, ps, (len(xs),))
        jac = _lambdify_batch(list(jac_exprs), xs, ps, (len(xs), len(xs)))
        return cls(
            kind=kind,
            dim=len(xs),
            state_names=tuple(str(x) for x in xs),
            params=pvals,
            _rhs=rhs,
            _jac=jac,
            name=name,
            bounds=bounds,
            _exprs=fs,
            symbols=xs,
            param_symbols=ps,
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
        """
        from .parse import parse_formula

        params = dict(params or {})
        names = list(formulas)
        symbols = {n: sp.Symbol(n, real=True) for n in [*names, *params]}
        exprs = [parse_formula(formulas[n], symbols) for n in names]
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
        jvp: Callable[..., Any] | None = None,
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
        jvp : callable, optional
            ``jvp(X, V, **params)`` returning the products Df(x_b) v_b for
            batches X, V of shape (B, n), without forming Df: the fast path
            for large n.  Always batched.  By default products with
            ``jacobian``, or central differences of f.
        vectorized : bool, optional
            Whether ``f`` (and ``jacobian``) accept batches.  Detected by a
            trial call on a batch of two states when not given.
        """
        _check_kind(kind)
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

        jv = None
        if jvp is not None:
            def jv(X: np.ndarray, V: np.ndarray, p: np.ndarray) -> np.ndarray:
                return _shaped(jvp(X, V, **kw(p)), X.shape, "jvp")

        names = tuple(state_names) if state_names is not None else tuple(f"x{i}" for i in range(dim))
        return cls(
            kind=kind,
            dim=dim,
            state_names=names,
            params=dict(params or {}),
            _rhs=rhs,
            _jac=jac,
            _jvp=jv,
            name=name,
            bounds=bounds,
        )


# ---------------------------------------------------------------------- helpers
def _check_bounds(bounds: Any, dim: int) -> np.ndarray:
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


def _shaped(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
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
            out = np.asarray(f(X, **kws), dtype=float)
            if out.shape != (2, dim):
                return False
            rows = np.concatenate([np.asarray(f(X[i : i + 1], **kws), dtype=float).reshape(1, dim) for i in range(2)])
    except Exception:
        return False
    return bool(np.allclose(out, rows, equal_nan=True))
