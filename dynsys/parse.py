"""The formula language of dynsys: text in, sympy out, nothing evaluated.

A formula such as ``"sigma*(y - x)"`` is parsed with Python's :mod:`ast`
(``mode="eval"``) and the syntax tree is walked against a whitelist; the
sympy expression is built from sympy objects node by node.  Nothing is ever
passed to ``eval``, ``exec``, ``compile`` or ``sympy.sympify`` of a string.

Grammar (everything else raises :class:`FormulaError`)::

    expr := number | name | constant | +expr | -expr
          | expr (+ | - | * | / | **) expr | function(expr, ...) | (expr)

- numbers: int and float literals (``2``, ``0.5``, ``1e-3``), finite, real;
- names: the declared state and parameter names;
- constants: ``pi`` and ``e``, unless a declared name shadows them;
- functions: the keys of :data:`FUNCTIONS`, called by plain name with
  positional arguments.

``^`` is rejected (it is XOR in Python); write ``**``.  To keep parsing
fast and bounded, a formula has at most :data:`MAX_LENGTH` characters and
:data:`MAX_DEPTH` levels of nesting (parentheses, calls, powers; a flat sum
``a + b + ... + z`` is one level however long), a numeric exponent has
modulus at most :data:`MAX_EXPONENT`, and a power of two numbers at most
:data:`MAX_DIGITS` digits, so ``9**9**9`` is refused instead of computed.
Every constant part of a formula (``10**400``, ``1e308*10``,
``exp(1000)``) must be a finite double-precision number.

Limits of a symbolic system (:func:`check_symbolic_size`, used by
:meth:`dynsys.System.from_strings` and so by model files): at most
:data:`MAX_STATES` states, and Jacobians of at most
:data:`MAX_JACOBIAN_SIZE` nodes as differentiated (the product and chain
rules expand ``(x+1)*(x+2)*...*(x+k)`` to k products of k - 1 factors); sympy
differentiates and compiles such systems in about a second.

This module knows nothing of systems (it comes before :mod:`dynsys.systems`
in the pipeline); model files, which declare a system in this language, are
read by :func:`dynsys.models.load_system`.
"""
from __future__ import annotations

import ast
import functools
import io
import keyword
import math
import tokenize
import unicodedata
from typing import Any, Callable, Mapping

import sympy as sp

MAX_LENGTH = 10_000
MAX_DEPTH = 100
MAX_EXPONENT = 1_000
MAX_DIGITS = 10_000
MAX_STATES = 100
MAX_JACOBIAN_SIZE = 50_000


class FormulaError(ValueError):
    """A formula that is not in the accepted grammar, or is not finite and real.

    A :class:`ValueError`, so ``except ValueError`` catches it too.

    Examples
    --------
    >>> parse_formula("x ^ 2", {"x": sp.Symbol("x")})
    Traceback (most recent call last):
    ...
    dynsys.parse.FormulaError: in formula 'x ^ 2' at column 1: operator '^' in 'x ^ 2' is not allowed; write ** for powers
    """


def _sigmoid(x: sp.Expr) -> sp.Expr:
    """The logistic function 1 / (1 + exp(-x))."""
    return 1 / (1 + sp.exp(-x))


#: The functions a formula may call: name -> (sympy function, number of
#: arguments; ``None`` means two or more).
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], int | None]] = {
    "sin": (sp.sin, 1),
    "cos": (sp.cos, 1),
    "tan": (sp.tan, 1),
    "asin": (sp.asin, 1),
    "arcsin": (sp.asin, 1),
    "acos": (sp.acos, 1),
    "arccos": (sp.acos, 1),
    "atan": (sp.atan, 1),
    "arctan": (sp.atan, 1),
    "atan2": (sp.atan2, 2),
    "arctan2": (sp.atan2, 2),
    "sinh": (sp.sinh, 1),
    "cosh": (sp.cosh, 1),
    "tanh": (sp.tanh, 1),
    "exp": (sp.exp, 1),
    "log": (sp.log, 1),
    "sqrt": (sp.sqrt, 1),
    "abs": (sp.Abs, 1),
    "sigmoid": (_sigmoid, 1),
    "min": (sp.Min, None),
    "max": (sp.Max, None),
}

#: Named constants, shadowed by a declared name of the same spelling.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}

_NODE_WORDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.JoinedStr: "f-string",
    ast.NamedExpr: "assignment expression (:=)",
    ast.Starred: "starred argument",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.Await: "await",
}

_OPERATOR_SYMBOLS = {
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}

# Left-associative chains flattened into one sympy Add / Mul (so that a sum of
# many terms is one level deep): operator -> how an operand enters.
_ADDITIVE: dict[type, Callable[[sp.Expr], sp.Expr]] = {ast.Add: lambda t: t, ast.Sub: lambda t: -t}
_MULTIPLICATIVE: dict[type, Callable[[sp.Expr], sp.Expr]] = {ast.Mult: lambda t: t, ast.Div: lambda t: sp.Pow(t, -1)}


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Builder:
    """Walks one formula's syntax tree and builds its sympy expression."""

    def __init__(self, text: str, symbols: Mapping[str, sp.Symbol]):
        self.text = text
        self.symbols = {unicodedata.normalize("NFKC", k): v for k, v in symbols.items()}
        self.declared = sorted(symbols)

    def fail(self, node: ast.AST | None, problem: str) -> FormulaError:
        col = getattr(node, "col_offset", None)
        where = "" if col is None else f" at column {col + 1}"
        return FormulaError(f"in formula {_shorten(self.text)!r}{where}: {problem}")

    def piece(self, node: ast.AST | None) -> str:
        """The source text of ``node`` (the whole formula for None), shortened."""
        if node is None:
            return _shorten(self.text, 40)
        return _shorten(ast.get_source_segment(self.text, node) or type(node).__name__, 40)

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested more than {MAX_DEPTH} levels deep")
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _NODE_WORDS.get(type(node), type(node).__name__)
            raise self.fail(node, f"{what} {self.piece(node)!r} is not allowed")
        expr = method(node, depth)
        if expr.is_number:
            self.check_constant(node, expr)
        return expr

    def check_constant(self, node: ast.AST | None, expr: sp.Expr) -> None:
        """Refuse a constant part ``expr`` of the formula (built from ``node``, None: unknown) that is
        not a finite real double (``10**400``, ``exp(1000)``)."""
        if expr.has(sp.zoo, sp.oo, sp.nan):
            raise self.fail(node, f"the constant {self.piece(node)!r} is not finite (division by zero?)")
        try:
            value = float(expr)
        except OverflowError:
            value = math.inf
        except TypeError:  # a complex constant such as sqrt(-1)
            raise self.fail(node, f"the constant {self.piece(node)!r} is not real") from None
        if not math.isfinite(value):
            what = self.piece(node) if node is not None else str(expr)
            raise self.fail(node, f"the constant {_shorten(what, 40)!r} is not a finite double-precision number (it overflows)")

    def _Constant(self, node: ast.Constant, depth: int) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"constant {self.piece(node)!r} is not a real number")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(node, f"number {self.piece(node)!r} is not finite")
            return sp.Float(value)
        return sp.Integer(value)

    def _Name(self, node: ast.Name, depth: int) -> sp.Expr:
        if node.id in self.symbols:
            return self.symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise self.fail(node, f"function {node.id!r} must be called, as in {node.id}(x)")
        raise self.fail(
            node, f"unknown name {node.id!r}; declared names are {self.declared}, constants {sorted(CONSTANTS)}"
        )

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> sp.Expr:
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand, depth + 1)
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand, depth + 1)
        raise self.fail(node, f"operator {_OPERATOR_SYMBOLS[type(node.op)]!r} is not allowed")

    def _BinOp(self, node: ast.BinOp, depth: int) -> sp.Expr:
        op = type(node.op)
        if op in _ADDITIVE:
            return sp.Add(*self.chain(node, _ADDITIVE, depth))
        if op in _MULTIPLICATIVE:
            return sp.Mul(*self.chain(node, _MULTIPLICATIVE, depth))
        if op is ast.Pow:
            return self.power(node, self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        hint = "; write ** for powers" if op is ast.BitXor else ""
        raise self.fail(node, f"operator {_OPERATOR_SYMBOLS[op]!r} in {self.piece(node)!r} is not allowed{hint}")

    def chain(self, node: ast.AST, ops: dict[type, Callable[[sp.Expr], sp.Expr]], depth: int) -> list[sp.Expr]:
        """Operands of a left-associative chain a op b op c ..., each transformed by its operator."""
        tail = []
        while isinstance(node, ast.BinOp) and type(node.op) in ops:
            tail.append((ops[type(node.op)], node.right))
            node = node.left
        return [self.build(node, depth + 1)] + [enter(self.build(r, depth + 1)) for enter, r in reversed(tail)]

    def power(self, node: ast.AST, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            raise self.fail(node, f"exponent in {self.piece(node)!r} is larger than {MAX_EXPONENT} in modulus")
        if base.is_Number and exponent.is_Number and base != 0:
            digits = abs(float(exponent)) * _log10_magnitude(base)
            if digits > MAX_DIGITS:
                raise self.fail(node, f"{self.piece(node)!r} has about {digits:.3g} digits (at most {MAX_DIGITS})")
        return sp.Pow(base, exponent)

    def _Call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, f"call {self.piece(node)!r} is not allowed; only {sorted(FUNCTIONS)} can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(node, f"unknown function {name!r}; known functions are {sorted(FUNCTIONS)}")
        if node.keywords:
            raise self.fail(node, f"keyword arguments in {self.piece(node)!r} are not allowed")
        fn, nargs = FUNCTIONS[name]
        given = len(node.args)
        if (nargs is None and given < 2) or (nargs is not None and given != nargs):
            wanted = "at least 2 arguments" if nargs is None else f"{nargs} argument{'s' * (nargs > 1)}"
            raise self.fail(node, f"{name}() takes {wanted}, got {given} in {self.piece(node)!r}")
        return fn(*(self.build(arg, depth + 1) for arg in node.args))


def _log10_magnitude(number: sp.Number) -> float:
    """|log10 |number||, for a nonzero sympy number of any size."""
    exact = sp.Rational(number)  # exact for Floats too
    return abs(abs(int(exact.p)).bit_length() - int(exact.q).bit_length()) * math.log10(2) + 1


def parse_formula(text: str, symbols: Mapping[str, sp.Symbol]) -> sp.Expr:
    """The sympy expression of a formula, parsed safely against a whitelist.

    Parameters
    ----------
    text : str
        e.g. ``"sigma*(y - x)"``, ``"-d*v - a*x - b*x**3"``,
        ``"alpha/(1 + v**beta) - u"``.  See the module docstring for the
        grammar.
    symbols : mapping of str to sympy.Symbol
        The declared names (states and parameters) and their symbols.

    Returns
    -------
    sympy.Expr
        A finite, real expression in ``symbols`` (no ``zoo``, ``nan``, ``oo``
        or ``I``).

    Raises
    ------
    FormulaError
        For text outside the grammar, with the offending piece, its column and
        the formula in the message; unknown names list the declared ones.

    Examples
    --------
    >>> import sympy as sp
    >>> x, k = sp.symbols("x k", real=True)
    >>> parse_formula("-k*x + sin(x)**2", {"x": x, "k": k})
    -k*x + sin(x)**2
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__} {text!r}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula {_shorten(text)!r} is {len(text)} characters long (at most {MAX_LENGTH})")
    if not text.strip():
        raise FormulaError("empty formula")
    for name, symbol in symbols.items():
        if not isinstance(symbol, sp.Symbol):
            raise FormulaError(f"symbols[{name!r}] must be a sympy Symbol, got {symbol!r}")
    source = text.strip()
    builder = _Builder(source, symbols)
    try:
        expr = builder.build(_parse(source).body, 0)
    except (RecursionError, MemoryError):
        # Python builds the tree of a long flat sum a + b + ... (a left-leaning chain) recursively:
        # parse its terms one by one (their nesting is what MAX_DEPTH bounds).
        terms = _top_level_terms(source)
        if terms is None:
            raise FormulaError(f"formula {_shorten(source)!r} is nested too deeply to parse") from None
        expr = sp.Add(*(sign * builder.build(_parse(source, start, end).body, 1) for sign, start, end in terms))
    for constant in [expr] if expr.is_number else expr.atoms(sp.Number):  # sympy folds 1e308*10*x to 1e309*x
        builder.check_constant(None, constant)
    if expr.has(sp.zoo, sp.oo, sp.nan):
        raise FormulaError(f"formula {_shorten(source)!r} is not finite (division by zero?): {expr}")
    complex_parts = [a for a in expr.atoms(sp.Pow, sp.Function) if a.is_number and a.is_extended_real is False]
    if expr.has(sp.I) or complex_parts:
        raise FormulaError(f"formula {_shorten(source)!r} is not real: {expr}")
    return expr


def _parse(source: str, start: int = 0, end: int | None = None) -> ast.Expression:
    """The syntax tree of ``source[start:end]``, its columns counted in ``source``; FormulaError for bad syntax."""
    piece = source[start:end]
    try:
        # "(" and spaces before the piece keep its nodes' columns those of ``source``
        tree = ast.parse("(" + " " * (start - 1) + piece + ")" if start else piece, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset + (start - 1 if start else 0)}" if exc.offset else ""
        raise FormulaError(f"in formula {_shorten(source)!r}{where}: {exc.msg}") from None
    except ValueError as exc:  # Python 3.10: "source code string cannot contain null bytes"
        raise FormulaError(f"in formula {_shorten(source)!r}: {exc}") from None
    return tree


_LOW_PRECEDENCE = {"|", "^", "&", "<<", ">>", "<", ">", "<=", ">=", "==", "!=", ",", ":", ":=", "=", "if", "else",
                   "lambda", "and", "or", "not", "in", "is", "for"}


def _top_level_terms(source: str) -> list[tuple[int, int, int | None]] | None:
    """The terms of a flat sum ``a + b - c ...`` as (sign, start, end) column ranges of ``source``.

    None when ``source`` is not one line whose outermost operators are binary
    ``+`` and ``-`` (then it is not a flat sum).
    """
    if "\n" in source:
        return None
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError):
        return None
    terms: list[tuple[int, int, int | None]] = []
    sign, start, level, previous = 1, 0, 0, None
    for tok in tokens:
        if tok.string in "([{" and tok.type == tokenize.OP:
            level += 1
        elif tok.string in ")]}" and tok.type == tokenize.OP:
            level -= 1
        elif level == 0 and tok.string in _LOW_PRECEDENCE:
            return None
        elif level == 0 and tok.string in ("+", "-") and previous is not None and (
            previous.type in (tokenize.NAME, tokenize.NUMBER) or previous.string in (")", "]", "}")
        ):
            terms.append((sign, start, tok.start[1]))
            sign, start = (1 if tok.string == "+" else -1), tok.end[1]
        previous = tok
    terms.append((sign, start, None))
    return terms if len(terms) > 1 else None


def check_name(name: Any, what: str = "name") -> str:
    """``name`` if it can name a state or parameter in a formula, else ValueError.

    A name is a Python identifier that is not a keyword, does not start with
    ``_`` and is not one of :data:`FUNCTIONS` or :data:`CONSTANTS`, also
    after NFKC normalisation (which Python applies to the names in a
    formula: ``ｅｘｐ`` is ``exp``).

    Parameters
    ----------
    name : str
    what : str, default "name"
        What the name is, for the message ("state name", "parameter name").

    Returns
    -------
    str
        ``name`` itself.

    Raises
    ------
    ValueError
        Naming ``what``, the name and the problem.

    Examples
    --------
    >>> check_name("sigma")
    'sigma'
    >>> check_name("exp", "state name")
    Traceback (most recent call last):
    ...
    ValueError: state name 'exp' clashes with the built-in function
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{what} {name!r} is not a valid identifier")
    plain = unicodedata.normalize("NFKC", name)
    if keyword.iskeyword(plain):
        raise ValueError(f"{what} {name!r} is not a valid identifier (it reads as the keyword {plain!r})")
    if plain.startswith("_"):
        raise ValueError(f"{what} {name!r} must not start with '_'")
    if plain in FUNCTIONS or plain in CONSTANTS:
        raise ValueError(f"{what} {name!r} clashes with the built-in {'function' if plain in FUNCTIONS else 'constant'}")
    return name


def check_names(states: Any, params: Any) -> None:
    """Check the state and parameter names of a system: valid (:func:`check_name`) and distinct.

    Names that differ but are the same after NFKC normalisation (``x`` and
    the full-width ``ｘ``) are the same identifier in a formula, so they are
    refused too.

    Parameters
    ----------
    states, params : iterable of str
        The state names and the parameter names.

    Raises
    ------
    ValueError
        Naming the bad or clashing names.

    Examples
    --------
    >>> check_names(["x", "y"], ["k"])
    >>> check_names(["x", "y"], ["x"])
    Traceback (most recent call last):
    ...
    ValueError: name 'x' is used both as state and parameter
    """
    seen: dict[str, tuple[str, str]] = {}
    for names, what in ((states, "state"), (params, "parameter")):
        for name in names:
            plain = unicodedata.normalize("NFKC", check_name(name, f"{what} name"))
            if plain in seen:
                first, first_what = seen[plain]
                same = "" if first == name else f" (the same identifier as {first!r} after NFKC normalisation)"
                role = f"used both as {first_what} and {what}" if first_what != what else f"declared twice as a {what}"
                raise ValueError(f"name {name!r} is {role}{same}")
            seen[plain] = (name, what)


def check_symbolic_size(exprs: list[sp.Expr], states: list[sp.Symbol]) -> None:
    """Refuse a symbolic system too large to differentiate and compile in about a second.

    At most :data:`MAX_STATES` states, and at most :data:`MAX_JACOBIAN_SIZE`
    nodes in all the Jacobian's entries as the product and chain rules write
    them before simplification (estimated from the formulas without
    differentiating them).

    Parameters
    ----------
    exprs : list of sympy.Expr
        The formulas f_i.
    states : list of sympy.Symbol
        The state symbols, in which the Jacobian is taken.

    Raises
    ------
    ValueError
        Saying which limit and what to use instead.

    Examples
    --------
    >>> x = sp.symbols("x0:3", real=True)
    >>> check_symbolic_size([x[1], x[2], x[0] * x[1]], list(x))  # small: passes
    >>> big = sp.Mul(*(x[0] + k for k in range(400)), evaluate=False)
    >>> check_symbolic_size([big, x[2], x[0]], list(x))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the Jacobian would have about ... terms (at most 50000): ...
    """
    if len(states) > MAX_STATES:
        raise ValueError(
            f"{len(states)} states: symbolic systems have at most {MAX_STATES} (sympy differentiates and "
            "compiles n^2 Jacobian entries); for larger ones use System.from_callable with a vectorised f and jvp"
        )
    variables = frozenset(states)
    total = sum(len(e.free_symbols & variables) * _derivative_size(e, variables) for e in exprs)
    if total > MAX_JACOBIAN_SIZE:
        raise ValueError(
            f"the Jacobian would have about {total} terms (at most {MAX_JACOBIAN_SIZE}): expand or simplify the "
            "formulas (long products of sums grow quadratically when differentiated), or use System.from_callable"
        )


@functools.lru_cache(maxsize=4096)
def _size(expr: sp.Expr) -> int:
    """Number of nodes of an expression tree."""
    return 1 + sum(_size(a) for a in expr.args)


@functools.lru_cache(maxsize=4096)
def _derivative_size(expr: sp.Expr, variables: frozenset[sp.Symbol]) -> int:
    """Nodes of the derivative of ``expr`` in one of ``variables`` as the product and chain rules write it."""
    if not expr.free_symbols & variables:
        return 0
    if not expr.args:
        return 1
    parts = [_derivative_size(a, variables) for a in expr.args]
    if isinstance(expr, sp.Add):
        return 1 + sum(parts)
    if isinstance(expr, sp.Mul):  # sum over factors of (derivative of the factor) * (the other factors)
        sizes = [_size(a) for a in expr.args]
        return 1 + sum(d + sum(sizes) - s + 1 for d, s in zip(parts, sizes) if d)
    return 1 + _size(expr) + sum(parts)  # chain rule: f'(args) * (derivatives of the args)


def parse_constant(value: Any, what: str = "value") -> float:
    """A finite real number from a number or a constant formula such as ``"8/3"``.

    Parameters
    ----------
    value : int, float or str
        A number, or a formula without names (``"8/3"``, ``"pi/4"``,
        ``"sqrt(2)"``), parsed by :func:`parse_formula`.
    what : str, default "value"
        What the value is, for the message.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming ``what`` and the value: not a number or constant formula
        (booleans are refused), or not finite.

    Examples
    --------
    >>> parse_constant("8/3")
    2.6666666666666665
    >>> parse_constant(2)
    2.0
    >>> parse_constant("1e308*10", "beta")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: beta must be a finite real number, got '1e308*10' (...)
    """
    if isinstance(value, str):
        try:
            number = float(parse_formula(value, {}))
        except (FormulaError, TypeError) as exc:
            raise ValueError(f"{what} must be a finite real number, got {value!r} ({exc})") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < 2**1024 else math.inf
    else:
        raise ValueError(f"{what} must be a finite real number, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


def parse_assignment(text: str) -> tuple[str, float]:
    """``(name, value)`` from ``"name=value"``, as given to ``--param``.

    The value is a number or a constant formula (``"rho=0.5"``,
    ``"beta=8/3"``, ``"theta=pi/4"``; see :func:`parse_constant`); it must be
    finite and real, and the name valid (:func:`check_name`).

    Raises
    ------
    ValueError
        Without ``=``, for a bad name or a value that is not a finite real
        number.

    Examples
    --------
    >>> parse_assignment("rho=0.5")
    ('rho', 0.5)
    >>> parse_assignment("theta = pi/2")
    ('theta', 1.5707963267948966)
    """
    name, sep, value = str(text).partition("=")
    if not sep:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    name = check_name(name.strip(), "parameter name")
    return name, parse_constant(value.strip(), f"value of {name!r}")
