"""Tests of pickling systems (dynsys.systems: ``System.__reduce__``, ``with_recipe``).

A system is pickled as its recipe (how it was built) and rebuilt on loading,
so every test compares the loaded system with the original, which it is not
(its compiled functions are new ones): the formulas, products and
attributes must be equal exactly, on seeded random states.  The values
themselves are checked against closed forms written out here (Lorenz, the
tanh network) where a round trip could agree with a wrong original.  One
formula model and one network also go through a fresh Python process (with
another hash seed), where nothing of this process's closures survives.
"""
from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, models, rnn
from dynsys.rnn import CELLS, from_state_dict
from dynsys.testing import conjugate

ROOT = Path(__file__).resolve().parents[1]
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4, "continuous": 1}
HOW = ("pickle", "cloudpickle")  # cloudpickle (what Dask uses) comes with the optional extra "sweep"


def dumps(how: str) -> Callable[[Any], bytes]:
    """pickle.dumps, or cloudpickle.dumps (the test skipped where it is not installed)."""
    return pytest.importorskip("cloudpickle").dumps if how == "cloudpickle" else pickle.dumps


def installed() -> list[str]:
    """The picklers of HOW that are installed."""
    try:
        import cloudpickle  # noqa: F401
    except ImportError:
        return ["pickle"]
    return list(HOW)


def round_trip(system: System, how: str) -> System:
    loaded = pickle.loads(dumps(how)(system))
    assert isinstance(loaded, System) and loaded is not system
    return loaded


def same(u: np.ndarray, v: np.ndarray) -> bool:
    """Equal exactly, NaN where the other is NaN (a formula's log outside its domain)."""
    return np.array_equal(u, v, equal_nan=np.asarray(u).dtype.kind == "f")


def assert_same(a: System, b: System, seed: int = 0, B: int = 7) -> None:
    """b equals a: attributes, and every evaluation exactly, at B seeded random states."""
    assert (b.kind, b.dim, b.state_names, b.name) == (a.kind, a.dim, a.state_names, a.name)
    assert b.params == a.params and list(b.params) == list(a.params)
    assert (a.bounds is None) == (b.bounds is None) and (a.bounds is None or np.array_equal(a.bounds, b.bounds))
    assert b.exprs == a.exprs and b.symbols == a.symbols and b.param_symbols == a.param_symbols
    assert b.matrix_free == a.matrix_free
    assert b._rhs is not a._rhs  # rebuilt, not shared
    rng = np.random.default_rng(seed)
    X, V = rng.uniform(-1.5, 1.5, (2, B, a.dim))
    for method in ("rhs", "residual", "jacobian", "residual_jacobian", "singular"):
        assert same(getattr(a, method)(X), getattr(b, method)(X)), method
    for method in ("jvp", "vjp", "residual_jvp", "residual_vjp"):
        assert same(getattr(a, method)(X, V), getattr(b, method)(X, V)), method
    for name in a.params:
        assert same(a.param_derivative(X, name), b.param_derivative(X, name)), name
    op_a, op_b = a.residual_operator(X), b.residual_operator(X)
    assert op_b.cached == op_a.cached
    assert same(op_a.jvp(V), op_b.jvp(V)) and same(op_a.vjp(V), op_b.vjp(V))


def small_cell(cell: str, seed: int = 0, H: int = 4, I: int = 2) -> rnn.RNNCell:
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    state_dict = {
        "weight_ih_l0": rng.uniform(-1, 1, (G * H, I)),
        "weight_hh_l0": rng.standard_normal((G * H, H)) / np.sqrt(H),
        "bias_ih_l0": rng.uniform(-1, 1, G * H),
        "bias_hh_l0": rng.uniform(-1, 1, G * H),
        "readout.weight": rng.standard_normal((2, H)),
        "readout.bias": rng.standard_normal(2),
    }
    return from_state_dict(state_dict, cell, tau=0.7, dt=0.05)


def decay(X: np.ndarray, k: float) -> np.ndarray:
    """x' = -k x, batched: a module-level function, pickled by name."""
    return -k * X


def decay_jacobian(X: np.ndarray, k: float) -> np.ndarray:
    return np.broadcast_to(-k * np.eye(X.shape[1]), (X.shape[0], X.shape[1], X.shape[1])).copy()


# ------------------------------------------------------------------ every source of systems
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_built_in_model_round_trips(name, how):
    system = models.MODELS[name]()
    assert_same(system, round_trip(system, how))


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("cell", CELLS)
def test_every_rnn_cell_round_trips_with_and_without_inputs(cell, how):
    net = small_cell(cell)
    for system in (net.system(), net.system([0.3, -0.2]), net.system([0.3, -0.2], along=[1.0, 0.5])):
        loaded = round_trip(system, how)
        assert_same(system, loaded)
        assert_same(system, round_trip(loaded, how))  # again, from what was loaded


@pytest.mark.parametrize("how", HOW)
def test_derived_systems_round_trip(how):
    lorenz = models.lorenz()
    net = small_cell("gru", seed=3).system([0.5, 0.0], along=[0.0, 1.0])
    derived = [
        lorenz.with_params(rho=20.0, beta=2.0),
        lorenz.reverse_time(),
        lorenz.reverse_time().with_params(sigma=3.0),
        models.henon().iterate(2),
        models.logistic(r=3.5).iterate(3).with_params(r=3.2),
        net.iterate(2).with_params(s=0.7),
        models.hopfield(n=6, seed=1).reverse_time(),
        models.linear([[0.0, 1.0], [-2.0, -0.5]], kind="map").iterate(2),
        models.linear([[0.0, 1.0], [-2.0, -0.5]]),
        models.linear(np.diag(np.linspace(-2.0, -1.0, 25))),  # n > 20: no formulas
    ]
    for system in derived:
        assert_same(system, round_trip(system, how))
    assert round_trip(derived[0], how).params == {"sigma": 10.0, "rho": 20.0, "beta": 2.0}
    assert round_trip(derived[2], how).name == "lorenz (reversed)"


@pytest.mark.parametrize("how", HOW)
def test_with_exprs_round_trips_with_its_formulas(how):
    x = sp.Symbol("x0", real=True)
    k = sp.Symbol("k", real=True)
    fast = System.from_callable(decay, 1, decay_jacobian, params={"k": 2.0}, vectorized=True, name="decay")
    exact = fast.with_exprs([-k * x], [x], [k]).with_params(k=0.5)
    loaded = round_trip(exact, how)
    assert loaded.exprs == (-k * x,)
    assert_same(exact, loaded)


@pytest.mark.parametrize("how", HOW)
def test_a_model_file_round_trips(tmp_path, how):
    path = tmp_path / "lorenz.toml"
    path.write_text((ROOT / "examples" / "lorenz.toml").read_text())
    system = models.load_system(path)
    loaded = round_trip(system, how)
    path.unlink()  # the file is not read again
    assert_same(system, loaded)


@pytest.mark.parametrize("how", HOW)
def test_from_callable_with_module_level_functions(how):
    system = System.from_callable(decay, 3, decay_jacobian, params={"k": 1.5}, bounds=(-2, 2), name="decay")
    loaded = round_trip(system, how)
    assert_same(system, loaded)
    X = np.random.default_rng(1).normal(size=(4, 3))
    assert np.array_equal(loaded.rhs(X), -1.5 * X)  # x' = -k x


@pytest.mark.parametrize("how", HOW)
def test_from_callable_with_a_lambda_is_stored_by_value(how):
    pytest.importorskip("cloudpickle")  # stores it, also for pickle
    system = System.from_callable(lambda X, a: a * X - X**3, 2, params={"a": 1.0}, vectorized=True)
    loaded = round_trip(system.with_params(a=2.0), how)
    assert_same(system.with_params(a=2.0), loaded)
    assert np.array_equal(loaded.rhs([1.0, 2.0]), [1.0, -4.0])  # a x - x³ at a = 2


@pytest.mark.parametrize("how", HOW)
def test_a_conjugated_system_round_trips(how):
    """dynsys.testing.conjugate builds from closures over another system: stored by value, that system by its recipe."""
    pytest.importorskip("cloudpickle")  # stores the closures, also for pickle
    system = conjugate(models.duffing(), [[2.0, 1.0], [1.0, 1.0]], [0.5, -1.0])
    assert_same(system, round_trip(system, how))


def test_copy_and_deepcopy_rebuild_the_system():
    system = models.hopfield(n=5, seed=2).with_params(gain=2.0)
    assert_same(system, copy.copy(system))
    assert_same(system, copy.deepcopy(system))


def test_pickle_protocols():
    system = models.logistic(r=3.5).iterate(2)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert_same(system, pickle.loads(pickle.dumps(system, protocol=protocol)))


# ------------------------------------------------------------------ values, not only agreement
@settings(max_examples=20, deadline=None)
@given(
    sigma=st.floats(0.1, 30.0), rho=st.floats(-5.0, 60.0), beta=st.floats(0.1, 10.0), seed=st.integers(0, 2**32 - 1)
)
def test_lorenz_with_any_parameters_round_trips_to_its_formula(sigma, rho, beta, seed):
    system = models.lorenz().with_params(sigma=sigma, rho=rho, beta=beta)
    X = np.random.default_rng(seed).uniform(-20, 20, (5, 3))
    x, y, z = X.T
    expected = np.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], axis=1)
    for how in installed():
        loaded = round_trip(system, how)
        assert loaded.params == {"sigma": sigma, "rho": rho, "beta": beta}
        assert np.allclose(loaded.rhs(X), expected, rtol=1e-12, atol=1e-9)
        assert_same(system, loaded, seed=seed)


@settings(max_examples=20, deadline=None)
@given(cell=st.sampled_from(CELLS), s=st.floats(-3.0, 3.0), gain=st.floats(0.5, 8.0), tau=st.floats(0.2, 5.0),
       seed=st.integers(0, 2**32 - 1))
def test_systems_with_any_parameter_values_round_trip(cell, s, gain, tau, seed):
    net = small_cell(cell, seed=seed % 1000).system([0.2, 0.1], along=[1.0, -1.0]).with_params(s=s)
    hopfield = models.hopfield(n=6, seed=seed % 1000).with_params(gain=gain, tau=tau)
    for system in (net, hopfield):
        for how in installed():
            assert_same(system, round_trip(system, how), seed=seed)


def test_the_loaded_tanh_network_follows_its_equation():
    net = small_cell("rnn_tanh", seed=5)
    u, d, s = np.array([0.4, -0.1]), np.array([1.0, 2.0]), 0.3
    loaded = round_trip(net.system(u, along=d).with_params(s=s), "pickle")
    X = np.random.default_rng(2).normal(size=(6, 4))
    expected = np.tanh(X @ net.weight_hh.T + net.bias_hh + net.weight_ih @ (u + s * d) + net.bias_ih)
    assert np.allclose(loaded.rhs(X), expected, rtol=1e-13, atol=1e-14)


# ------------------------------------------------------------------ another process
CHILD = """
import pickle, sys
import numpy as np
with open(sys.argv[1], "rb") as fh:
    system, X, V = pickle.load(fh)
out = {"rhs": system.rhs(X), "jacobian": system.jacobian(X), "residual_jacobian": system.residual_jacobian(X),
       "jvp": system.jvp(X, V), "vjp": system.vjp(X, V), "params": system.params, "name": system.name,
       "bounds": system.bounds, "state_names": system.state_names, "exprs": system.exprs}
out.update({"d_" + p: system.param_derivative(X, p) for p in system.params})
with open(sys.argv[2], "wb") as fh:
    pickle.dump(out, fh)
"""


@pytest.mark.parametrize("how", HOW)
def test_a_fresh_process_loads_and_evaluates_the_same_systems(tmp_path, how):
    systems = {
        "lorenz": models.lorenz().with_params(rho=13.5),
        "gru": small_cell("gru", seed=7).system([0.1, 0.2], along=[0.0, 1.0]).with_params(s=-0.4),
    }
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    for key, system in systems.items():
        rng = np.random.default_rng(11)
        X, V = rng.uniform(-1.0, 1.0, (2, 5, system.dim))
        (tmp_path / "in.pkl").write_bytes(dumps(how)((system, X, V)))
        subprocess.run([sys.executable, str(script), str(tmp_path / "in.pkl"), str(tmp_path / "out.pkl")],
                       check=True, env=env, cwd=tmp_path, timeout=120)
        out = pickle.loads((tmp_path / "out.pkl").read_bytes())
        for method in ("rhs", "jacobian", "residual_jacobian"):
            assert np.array_equal(out[method], getattr(system, method)(X)), (key, method)
        for method in ("jvp", "vjp"):
            assert np.array_equal(out[method], getattr(system, method)(X, V)), (key, method)
        for p in system.params:
            assert np.array_equal(out["d_" + p], system.param_derivative(X, p)), (key, p)
        assert (out["params"], out["name"], out["state_names"], out["exprs"]) == (
            system.params, system.name, system.state_names, system.exprs)
        assert np.array_equal(out["bounds"], system.bounds)


# ------------------------------------------------------------------ what cannot be pickled
def test_a_function_that_cannot_be_pickled_is_named():
    lock = threading.Lock()

    def locked_rhs(X):
        with lock:
            return -X

    system = System.from_callable(locked_rhs, 2, vectorized=True, name="locked")
    for how in installed():
        with pytest.raises(pickle.PicklingError, match=r"system 'locked' cannot be pickled: its f <function .*locked_rhs"):
            dumps(how)(system)


def test_without_cloudpickle_a_lambda_is_named_with_the_remedy(monkeypatch):
    system = System.from_callable(lambda X: -X, 2, vectorized=True, name="anonymous")
    monkeypatch.setitem(sys.modules, "cloudpickle", None)  # import cloudpickle raises ImportError
    with pytest.raises(pickle.PicklingError, match=r"its f <function .*<lambda>.*define it at module level"):
        pickle.dumps(system)
    pickle.dumps(System.from_callable(decay, 2, params={"k": 1.0}))  # by name: no cloudpickle needed


def test_a_system_without_a_recipe_says_so():
    bare = System(kind="flow", dim=1, state_names=("x",), params={}, _rhs=decay_jacobian)
    with pytest.raises(pickle.PicklingError, match="records no recipe"):
        pickle.dumps(bare)


def test_with_recipe_checks_its_builder_and_the_rebuilt_parameters():
    with pytest.raises(TypeError, match="build must be callable"):
        models.lorenz().with_recipe("lorenz")
    wrong = models.lorenz().with_recipe(models.logistic)  # builds a system with other parameters
    with pytest.raises(pickle.UnpicklingError, match=r"parameters \['r'\], not \['sigma', 'rho', 'beta'\]"):
        pickle.loads(pickle.dumps(wrong))


def test_the_bundled_network_pickles_as_its_weights():
    net = rnn.load_flipflop()
    system = net.system()
    size = len(pickle.dumps(system))
    weights = sum(a.nbytes for a in net.state_dict().values())
    assert weights < size < weights + 4096  # the weights and little else
    for how in installed():  # formulas, not compiled code (nor the constructor's code, by value)
        assert len(dumps(how)(models.lorenz())) < 2048
