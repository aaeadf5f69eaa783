"""Safe formula parsing, ``--param`` assignments and TOML model files."""
import builtins
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dynsys import System, models
from dynsys.models import load_system
from dynsys.parse import MAX_STATES, FormulaError, check_name, parse_assignment, parse_formula

x, y, z, k = sp.symbols("x y z k", real=True)
SYMBOLS = {"x": x, "y": y, "z": z, "k": k}


# ------------------------------------------------------------------ grammar
@pytest.mark.parametrize(
    "text, expected",
    [
        ("x", x),
        ("2.5*x", sp.Float(2.5) * x),
        ("1/3", sp.Rational(1, 3)),
        ("2**-1", sp.Rational(1, 2)),
        ("2**3**2", sp.Integer(512)),  # ** is right-associative
        ("-x**2", -(x**2)),  # unary minus binds looser than **
        ("x - y - z", x - y - z),  # left-associative
        ("x/y/z", x / (y * z)),
        ("+x - -y", x + y),
        ("k*(y - x)", k * (y - x)),
        ("x*(k - z) - y", x * (k - z) - y),
        ("e**x + pi", sp.exp(x) + sp.pi),
        ("sin(x) + cos(y) + tan(z)", sp.sin(x) + sp.cos(y) + sp.tan(z)),
        ("asin(x) + arcsin(y)", sp.asin(x) + sp.asin(y)),
        ("acos(x) + arccos(y)", sp.acos(x) + sp.acos(y)),
        ("atan(x) + arctan(y) + atan2(y, x) + arctan2(x, y)", sp.atan(x) + sp.atan(y) + sp.atan2(y, x) + sp.atan2(x, y)),
        ("sinh(x) * cosh(y) / tanh(z)", sp.sinh(x) * sp.cosh(y) / sp.tanh(z)),
        ("exp(-x) * log(y)", sp.exp(-x) * sp.log(y)),
        ("sqrt(x) + abs(y)", sp.sqrt(x) + sp.Abs(y)),
        ("sigmoid(k*x)", 1 / (1 + sp.exp(-k * x))),
        ("min(x, y) + max(x, y, z)", sp.Min(x, y) + sp.Max(x, y, z)),
        ("  (x)  ", x),
        ("(x +\n y)", x + y),
    ],
)
def test_formulas_match_hand_built_expressions(text, expected):
    got = parse_formula(text, SYMBOLS)
    assert got == expected or sp.simplify(got - expected) == 0


def test_declared_names_shadow_constants():
    e = sp.Symbol("e", real=True)
    assert parse_formula("e*x", {"e": e, "x": x}) == e * x
    assert parse_formula("e*x", {"x": x}) == sp.E * x


# A random expression spec is rendered twice: as text for the parser and as
# an independent numpy evaluation.  Divisions and exp are kept finite by
# construction (denominators 1 + b², exp of a bounded argument).
UNARY = {
    "neg": ("-({})", np.negative),
    "sin": ("sin({})", np.sin),
    "cos": ("cos({})", np.cos),
    "tanh": ("tanh({})", np.tanh),
    "atan": ("arctan({})", np.arctan),
    "sigmoid": ("sigmoid({})", lambda a: 1 / (1 + np.exp(-a))),
    "abs": ("abs({})", np.abs),
    "expsin": ("exp(sin({}))", lambda a: np.exp(np.sin(a))),
    "logsq": ("log(1 + ({})**2)", lambda a: np.log1p(a**2)),
    "sqrtsq": ("sqrt(1 + ({})**2)", lambda a: np.sqrt(1 + a**2)),
}
BINARY = {
    "add": ("({}) + ({})", np.add),
    "sub": ("({}) - ({})", np.subtract),
    "mul": ("({})*({})", np.multiply),
    "div": ("({})/(1 + ({})**2)", lambda a, b: a / (1 + b**2)),
    "min": ("min({}, {})", np.minimum),
    "max": ("max({}, {})", np.maximum),
}
leaves = st.one_of(
    st.sampled_from(["x", "y", "z", "pi", "e"]).map(lambda n: ("name", n)),
    st.integers(0, 9).map(lambda v: ("num", v)),
    st.floats(0.0, 5.0, allow_nan=False).map(lambda v: ("num", v)),
)
specs = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), kids),
        st.tuples(st.sampled_from(sorted(BINARY)), kids, kids),
        st.tuples(st.just("pow"), kids, st.integers(0, 3)),
    ),
    max_leaves=12,
)
NAME_VALUES = {"pi": np.pi, "e": np.e}


def render(spec):
    tag = spec[0]
    if tag == "name":
        return spec[1]
    if tag == "num":
        return repr(spec[1])
    if tag == "pow":
        return f"({render(spec[1])})**{spec[2]}"
    if tag in UNARY:
        return UNARY[tag][0].format(render(spec[1]))
    return BINARY[tag][0].format(render(spec[1]), render(spec[2]))


def evaluate(spec, env):
    tag = spec[0]
    if tag == "name":
        return env[spec[1]] if spec[1] in env else NAME_VALUES[spec[1]]
    if tag == "num":
        return spec[1]
    if tag == "pow":
        return evaluate(spec[1], env) ** spec[2]
    if tag in UNARY:
        return UNARY[tag][1](evaluate(spec[1], env))
    return BINARY[tag][1](evaluate(spec[1], env), evaluate(spec[2], env))


@given(specs)
def test_random_formulas_evaluate_like_numpy(spec):
    text = render(spec)
    expr = parse_formula(text, SYMBOLS)
    pts = np.random.default_rng(0).uniform(-2, 2, size=(3, 5))
    f = sp.lambdify([x, y, z], expr, modules="numpy")
    got = np.broadcast_to(f(*pts), (5,))
    want = np.broadcast_to(evaluate(spec, dict(zip("xyz", pts))), (5,))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=text)


# ----------------------------------------------------------------- security
def malicious(tmp_path):
    marker = tmp_path / "pwned"
    return marker, [
        (f"__import__('os').system('touch {marker}')", "__import__"),
        (f"open('{marker}', 'w')", "open"),
        (f"exec(\"open('{marker}', 'w')\")", "exec"),
        ("eval('1')", "eval"),
        ("x.__class__", "attribute access 'x.__class__'"),
        ("().__class__.__bases__[0]", "subscript"),
        ("(lambda: 1)()", "call"),
        ("lambda: 1", "lambda"),
        ("[x for x in y]", "comprehension"),
        ("(x for x in y)", "generator"),
        ("sin(x, y)", "sin() takes 1 argument, got 2"),
        ("min(x)", "at least 2"),
        ("sin", "must be called"),
        ("foo(x)", "unknown function 'foo'"),
        ("unknown_name + 1", "declared names are ['k', 'x', 'y', 'z']"),
        ("x(1)", "unknown function 'x'"),
        ("9**9**9", "exponent"),
        ("(10**999)**1000", "overflows"),  # 10**999 alone is beyond a double
        ("x**1e300", "exponent"),
        ("x ^ 2", "write ** for powers"),
        ("x // 2", "'//'"),
        ("x % 2", "'%'"),
        ("~x", "'~'"),
        ("not x", "'not'"),
        ("x < y", "comparison"),
        ("x and y", "boolean"),
        ("x if y else z", "conditional"),
        ("'text'", "not a real number"),
        ("True", "not a real number"),
        ("1j", "not a real number"),
        ("1e999", "not finite"),
        ("1/0", "not finite"),
        ("log(0)", "not finite"),
        ("sqrt(-1)", "not real"),
        ("(-8)**(1/3)", "not real"),
        ("asin(2)", "not real"),
        ('f"{x}"', "f-string"),
        ("(y := 1)", ":="),
        ("sin(*x)", "starred"),
        ("sin(x=1)", "keyword"),
        ("[x]", "list"),
        ("{x: 1}", "dict"),
        ("x, y", "tuple"),
        ("x +", "invalid syntax"),
        ("x = 1", "invalid syntax"),
        ("", "empty"),
        ("x\x00", "null bytes"),
        ("x + " * 25_000 + "x", "characters long"),
        ("-" * 300 + "x", "nested"),
        ("(" * 300 + "x" + ")" * 300, "nested"),
    ]


def test_malicious_or_invalid_formulas_are_rejected(tmp_path):
    marker, cases = malicious(tmp_path)
    for text, needle in cases:
        with pytest.raises(FormulaError) as info:
            parse_formula(text, SYMBOLS)
        assert isinstance(info.value, ValueError)
        assert needle in str(info.value), (text, str(info.value))
        assert "formula" in str(info.value)
    assert not marker.exists()


def test_nothing_is_evaluated_or_sympified(monkeypatch):
    """parse_formula works with eval, exec and sympy's string parser disabled."""

    def forbidden(*args, **kwargs):
        raise AssertionError("called a string evaluator")

    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sympy_parser, "parse_expr", forbidden)
    got = parse_formula("k*sin(x)**2 - y/3 + exp(-z) + 2.5", SYMBOLS)
    assert sp.simplify(got - (k * sp.sin(x) ** 2 - y / 3 + sp.exp(-z) + 2.5)) == 0


def test_long_flat_sums_and_products_parse():
    n = 1500
    assert parse_formula(" + ".join(["x"] * n), SYMBOLS) == n * x
    assert parse_formula("*".join(["x"] * 500), SYMBOLS) == x**500


def test_rejected_through_from_strings_and_load_system(tmp_path):
    marker, cases = malicious(tmp_path)
    for text, _ in cases[:12]:
        with pytest.raises(FormulaError, match="formula"):
            System.from_strings({"x": text, "y": "x"}, {"k": 1.0})
        path = tmp_path / "bad.toml"
        path.write_text(f"[states]\nx = {json.dumps(text)}\ny = 'x'\n")
        with pytest.raises(ValueError, match=str(path)):
            load_system(path)
    assert not marker.exists()


# --------------------------------------------------------------- assignments
@pytest.mark.parametrize(
    "text, expected",
    [("rho=0.5", ("rho", 0.5)), (" beta = 8/3 ", ("beta", 8 / 3)), ("k=-2e-3", ("k", -2e-3)), ("t=pi/4", ("t", math.pi / 4))],
)
def test_parse_assignment(text, expected):
    name, value = parse_assignment(text)
    assert name == expected[0]
    assert value == pytest.approx(expected[1], rel=1e-15)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("rho", "NAME=VALUE"),
        ("rho=nan", "rho"),
        ("rho=", "rho"),
        ("rho=10**400", "finite"),
        ("rho=sqrt(-1)", "rho"),
        ("rho=x", "unknown name 'x'"),
        ("=3", "identifier"),
        ("2x=3", "identifier"),
        ("_x=3", "'_'"),
        ("sin=3", "clashes"),
        ("rho=__import__('os')", "__import__"),
    ],
)
def test_parse_assignment_rejects(text, needle):
    with pytest.raises(ValueError) as info:
        parse_assignment(text)
    assert needle in str(info.value)


@pytest.mark.parametrize("name", ["sin", "pi", "e", "_hidden", "lambda", "1x", "a-b", "", 3])
def test_check_name_rejects(name):
    with pytest.raises(ValueError):
        check_name(name)


# --------------------------------------------------------------- TOML files
LORENZ_FILE = Path(__file__).resolve().parents[1] / "examples" / "lorenz.toml"


def test_lorenz_file_matches_the_model():
    loaded, model = load_system(LORENZ_FILE), models.lorenz()
    assert loaded.name == "lorenz-file" and loaded.kind == "flow"
    assert loaded.state_names == ("x", "y", "z")
    assert loaded.params == pytest.approx({"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}, rel=1e-15)
    np.testing.assert_array_equal(loaded.bounds, [[-25, 25], [-25, 25], [-5, 55]])
    X = np.random.default_rng(3).uniform(-20, 20, size=(40, 3))
    np.testing.assert_allclose(loaded.rhs(X), model.rhs(X), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(loaded.jacobian(X), model.jacobian(X), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(
        loaded.with_params(rho=0.5).rhs(X), model.with_params(rho=0.5).rhs(X), rtol=1e-13, atol=1e-12
    )


def test_map_file_with_one_box_and_default_name(tmp_path):
    path = tmp_path / "my_henon.toml"
    path.write_text('kind = "map"\nbounds = [-2, 2]\n[states]\nx = "1 - a*x**2 + y"\ny = "b*x"\n[params]\na = 1.4\nb = 0.3\n')
    loaded = load_system(str(path))
    assert loaded.name == "my_henon" and loaded.kind == "map"
    np.testing.assert_array_equal(loaded.bounds, [[-2, 2], [-2, 2]])
    X = np.random.default_rng(4).uniform(-2, 2, size=(20, 2))
    np.testing.assert_allclose(loaded.rhs(X), models.henon().rhs(X), rtol=1e-14)
    np.testing.assert_allclose(loaded.residual(X), models.henon().rhs(X) - X, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    "content, needle",
    [
        ("x = [", "not a valid TOML"),
        ("kind = 'flow'\n", "[states]"),
        ("[states]\n", "[states]"),
        ("[states]\nx = 1\n", "must be a string"),
        ("kind = 'ode'\n[states]\nx = 'x'\n", "kind"),
        ("name = 3\n[states]\nx = 'x'\n", "name"),
        ("color = 'red'\n[states]\nx = 'x'\n", "unknown key"),
        ("[states]\nx = 'k*x'\n[params]\nk = nan\n", "'k'"),
        ("[states]\nx = 'k*x'\n[params]\nk = true\n", "'k'"),
        ("[states]\nx = 'k*x'\n[params]\nk = 'y'\n", "'k'"),
        ("[states]\nx = 'k*x'\n[params]\nk = [1, 2]\n", "'k'"),
        ("params = 3\n[states]\nx = 'x'\n", "params"),
        ("[states]\nx = 'x'\n[params]\nx = 1\n", "both"),
        ("[states]\nx = 'k*x'\n", "unknown name 'k'"),
        ("[states]\nsin = 'x'\n", "clashes"),
        ("[states]\n_x = '1'\n", "'_'"),
        ("[states]\nx = 'x ^ 2'\n", "**"),
        ("[states]\nx = 'x'\ny = 'y'\n[bounds]\nx = [0, 1]\n", "missing ['y']"),
        ("[states]\nx = 'x'\n[bounds]\nx = [0, 1]\nw = [0, 1]\n", "unknown ['w']"),
        ("[states]\nx = 'x'\n[bounds]\nx = [1, 0]\n", "low < high"),
        ("[states]\nx = 'x'\n[bounds]\nx = [0, 1, 2]\n", "[low, high]"),
        ("bounds = ['a', 1]\n[states]\nx = 'x'\n", "bounds"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, needle):
    path = tmp_path / "model.toml"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_system(path)
    assert str(path) in str(info.value)
    assert needle in str(info.value), str(info.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_system(tmp_path / "absent.toml")
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a valid TOML"):
        load_system(path)


def test_every_function_compiles_with_a_jacobian():
    """Each whitelisted function goes through System.from_strings; its Jacobian matches differences."""
    system = System.from_strings(
        {
            "x": "max(x, y) + abs(x*y) + sigmoid(x) + atan2(y, x) + arctan2(x, 2) + exp(sin(x)) * cos(y) / (2 + tan(x/9))",
            "y": "min(x, y, 0.5) + sqrt(1 + x**2) + arcsin(tanh(y)) + acos(tanh(x)) + arctan(y) + log(1 + y**2)",
            "z": "sinh(x/2) * cosh(y/2) + asin(tanh(z)) + arccos(tanh(z)) + atan(z)",
        }
    )
    X = np.random.default_rng(5).standard_normal((40, 3))
    h = 1e-6
    fd = np.stack([(system.rhs(X + h * e) - system.rhs(X - h * e)) / (2 * h) for e in np.eye(3)], -1)
    np.testing.assert_allclose(system.jacobian(X), fd, rtol=1e-6, atol=1e-6)


# ------------------------------------------------- limits and bad constants
@pytest.mark.parametrize("text", ["x - 10**400", "exp(9**999)", "x - 1e308*10", "x - exp(1000)", "x*1e308*10",
                                  "10.0**400 + x"])
def test_constants_that_overflow_a_double_are_refused(text):
    with pytest.raises(FormulaError, match="overflows"):
        System.from_strings({"x": text})


@pytest.mark.parametrize("op", ["+", "-"])
def test_a_long_flat_sum_is_not_nested(op):
    """Python builds a 3,000-term sum as a 3,000-deep chain: it is one level of nesting all the same."""
    terms = ["x", "y", "2", "z", "k"] * 600
    text = op.join(terms)
    values = [SYMBOLS.get(t, sp.Integer(2)) for t in terms]
    expected = values[0] + sum(v if op == "+" else -v for v in values[1:])
    assert parse_formula(text, SYMBOLS) == expected


def test_errors_in_a_long_flat_sum_name_the_right_column():
    text = "+".join(["x"] * 3000) + "+foo(x)"
    with pytest.raises(FormulaError, match=f"at column {2 * 3000 + 1}: unknown function 'foo'"):
        parse_formula(text, SYMBOLS)


def test_a_long_product_of_sums_is_refused_quickly():
    k = 400
    text = "*".join(f"(x+{i})" for i in range(1, k + 1)) + " - x"
    start = time.perf_counter()
    with pytest.raises(ValueError, match="the Jacobian would have about"):
        System.from_strings({"x": text})
    assert time.perf_counter() - start < 2


def test_a_thousand_states_are_refused_quickly(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("[states]\n" + "\n".join(f'x{i} = "-x{i} + x{(i + 1) % 1000}"' for i in range(1000)))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"1000 states: symbolic systems have at most {MAX_STATES}"):
        load_system(path)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("content, needle", [
    ("[states]\nx = " + "[" * 5000 + "]" * 5000, "nested more than"),
    ("[states]\nx = " + "{a=" * 5000 + "1" + "}" * 5000, "nested more than"),
    ("[states]\n" + ".".join(["a"] * 100_000) + " = 1", "dotted key"),
    ("[states]\n" + ".".join(['"a"'] * 1000) + " = 1", "dotted key"),
    ("[states]\nx = '" + "a" * (2**20) + "'", "at most"),
    ('[states]\nx = "x"\n"ｘ" = "x"', "NFKC"),
])
def test_hostile_model_files_are_refused_quickly(tmp_path, content, needle):
    path = tmp_path / "model.toml"
    path.write_text(content, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=needle) as info:
        load_system(path)
    assert str(path) in str(info.value)
    assert time.perf_counter() - start < 2


def test_brackets_in_strings_and_comments_are_not_nesting(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text("# " + "[" * 40 + "\ndescription = '" + "[" * 40 + "'\n[states]\nx = \"-x\"  # " + "{" * 40 + "\n")
    assert load_system(path).dim == 1
