"""Every loader on garbage: only documented exceptions, bounded memory and time; the CLI in one line.

Each loader (``load_system``, ``rnn.load``, ``rnn.load_network``,
``FixedPointSet.load`` and ``from_json``, ``read_graph``) is fed random bytes,
truncations, byte flips and text mutations of valid files.  It may succeed or
raise ValueError (FileNotFoundError for missing files); anything else, more
than :data:`MAX_PEAK` bytes of allocations or :data:`MAX_SECONDS` seconds is
a bug.  The hypothesis profile of ``conftest.py`` derandomises the examples.
"""
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from conftest import traced_peak
from hypothesis import given
from hypothesis import strategies as st

from dynsys import find_fixed_points, models, rnn
from dynsys.cli import main
from dynsys.fixed_points import FixedPointSet
from dynsys.graph_export import read_graph, write_graph
from dynsys.models import load_system

MAX_PEAK = 64 * 2**20
MAX_SECONDS = 10.0
LORENZ = Path(__file__).resolve().parents[1] / "examples" / "lorenz.toml"


def _valid_files(folder: Path) -> dict[str, bytes]:
    """Valid files of every kind a loader reads, by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    net = rnn.VanillaRNN(rng.normal(size=(4, 2)), rng.normal(size=(4, 4)), W_out=rng.normal(size=(1, 4)))
    net.save(folder / "model.npz")
    points = find_fixed_points(models.duffing(), seed=0, n_starts=32)
    points.save(folder / "points.npz")
    (folder / "points.json").write_text(points.to_json())
    G = nx.MultiDiGraph(system="duffing")
    G.add_node("P0", x=np.array([1.0, -0.5]), kind="attractor", eig=np.array([1 + 2j, np.inf]))
    G.add_edge("P0", "P1", key=3, branch=0, resolved=True, path=[0.5, None])
    for suffix in (".json", ".dot", ".graphml", ".gexf"):
        write_graph(G, folder / f"graph{suffix}")
    (folder / "model.toml").write_bytes(LORENZ.read_bytes())
    return {p.name: p.read_bytes() for p in folder.iterdir()}




@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return _valid_files(tmp_path_factory.mktemp("valid"))


LOADERS = {
    "model.toml": load_system,
    "model.npz": rnn.load,
    "network.npz": lambda p: rnn.load_network(p, cell="rnn_tanh"),
    "points.npz": FixedPointSet.load,
    "points.json": lambda p: FixedPointSet.from_json(Path(p).read_bytes()),
    "graph.json": read_graph,
    "graph.dot": read_graph,
    "graph.graphml": read_graph,
    "graph.gexf": read_graph,
}
SOURCE = {"network.npz": "model.npz"}


def _check(loader, path: Path) -> None:
    """Run ``loader(path)``: a result or a ValueError, within the memory and time bounds."""
    outcome = []

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loader(path)
                outcome.append("ok")
            except ValueError as err:
                assert str(err).strip(), "an empty message"
                outcome.append("ValueError")

    start = time.perf_counter()
    peak = traced_peak(call)
    elapsed = time.perf_counter() - start
    assert outcome, "the loader raised something other than ValueError"
    assert peak < MAX_PEAK, f"{path.name}: peak {peak} bytes"
    assert elapsed < MAX_SECONDS, f"{path.name}: {elapsed:.1f} s"


def _mutations():
    """A function bytes -> bytes that damages a file: truncation, flips, insertions, deletions, repeats."""
    at = st.floats(0, 1)
    truncate = at.map(lambda f: lambda b: b[: int(len(b) * f)])
    flip = st.tuples(at, st.integers(1, 255)).map(
        lambda t: lambda b: b[: int(len(b) * t[0])] + bytes([b[int(len(b) * t[0])] ^ t[1]]) + b[int(len(b) * t[0]) + 1:]
        if b and int(len(b) * t[0]) < len(b) else b
    )
    insert = st.tuples(at, st.sampled_from([b"[", b"{", b"]", b"\"", b"'", b"\x00", b"-1e999", b"NaN", b".a" * 50,
                                            b"[" * 200, b"{a=" * 200, b"\n[states]\n", b"9" * 400, b"\xff\xfe"])).map(
        lambda t: lambda b: b[: int(len(b) * t[0])] + t[1] + b[int(len(b) * t[0]):]
    )
    delete = st.tuples(at, at).map(lambda t: lambda b: b[: int(len(b) * min(t))] + b[int(len(b) * max(t)):])
    replace = st.binary(min_size=0, max_size=300).map(lambda g: lambda b: g)
    return st.lists(st.one_of(truncate, flip, insert, delete, replace), min_size=1, max_size=3)


@pytest.mark.parametrize("name", sorted(LOADERS))
@given(damage=_mutations())
def test_loaders_on_damaged_files_raise_only_value_errors_within_bounds(tmp_path_factory, valid, name, damage):
    data = valid[SOURCE.get(name, name)]
    for step in damage:
        data = step(data)
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    _check(LOADERS[name], path)


@pytest.mark.parametrize("name", sorted(LOADERS))
@given(garbage=st.binary(max_size=4096))
def test_loaders_on_random_bytes_raise_only_value_errors_within_bounds(tmp_path_factory, name, garbage):
    path = tmp_path_factory.mktemp("garbage") / name
    path.write_bytes(garbage)
    _check(LOADERS[name], path)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loaders_read_their_valid_files(tmp_path, valid, name):
    path = tmp_path / name
    path.write_bytes(valid[SOURCE.get(name, name)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LOADERS[name](path)


@pytest.mark.parametrize("name", [n for n in sorted(LOADERS) if n != "points.json"])
def test_missing_files_are_file_not_found_or_named(tmp_path, name):
    try:
        LOADERS[name](tmp_path / name)
    except FileNotFoundError:
        pass
    except ValueError as err:
        assert name in str(err)


# ----------------------------------------------------------- the CLI table
def _bad_inputs(folder: Path) -> dict[str, list[str]]:
    """Command lines that must fail with exit status 2 and one line on stderr."""
    net = rnn.load_flipflop()
    sd = net.state_dict()
    cases: dict[str, list[str]] = {}

    def file(name: str, data: bytes | str) -> str:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return str(path)

    model = net.save(folder / "good.npz").read_bytes()
    cases["empty npz"] = ["analyze", file("empty.npz", b"")]
    cases["truncated npz"] = ["analyze", file("truncated.npz", model[: len(model) // 2])]
    corrupt = bytearray(model)
    corrupt[len(model) // 3] ^= 0xFF
    cases["corrupt npz"] = ["analyze", file("corrupt.npz", bytes(corrupt))]
    np.save(folder / "a.npy", np.zeros(3))
    cases["npy as npz"] = ["analyze", file("renamed.npz", (folder / "a.npy").read_bytes()), "--cell", "rnn_tanh"]
    np.savez(folder / "deep.npz", meta=np.array("[" * 10_000 + "]" * 10_000), **sd)
    cases["deep meta"] = ["analyze", str(folder / "deep.npz")]
    np.savez(folder / "nohh.npz", **{k: v for k, v in sd.items() if k != "weight_hh_l0"})
    cases["no weight_hh_l0"] = ["analyze", str(folder / "nohh.npz"), "--cell", "rnn_tanh"]
    np.savez(folder / "complex.npz", **{**sd, "weight_hh_l0": sd["weight_hh_l0"] * (1 + 1j)})
    cases["complex weights"] = ["analyze", str(folder / "complex.npz"), "--cell", "rnn_tanh"]
    np.savez(folder / "dates.npz", **{**sd, "weight_hh_l0": np.zeros((64, 64), dtype="datetime64[s]")})
    cases["datetime weights"] = ["analyze", str(folder / "dates.npz"), "--cell", "rnn_tanh"]
    np.savez(folder / "flat.npz", **{**sd, "weight_hh_l0": np.zeros(64)})
    cases["1-D weight_hh_l0"] = ["flipflop", "--model", str(folder / "flat.npz"), "--cell", "rnn_tanh"]
    for name, text in {
        "overflow": '[states]\nx = "x - 10**400"',
        "exp overflow": '[states]\nx = "exp(9**999)"',
        "constant overflow": '[states]\nx = "x - exp(1000)"',
        "nested arrays": "[states]\nx = " + "[" * 5000 + "]" * 5000,
        "nested tables": "[states]\nx = " + "{a=" * 5000 + "1" + "}" * 5000,
        "dotted key": "[states]\n" + ".".join(["a"] * 100_000) + " = 1",
        "NFKC clash": '[states]\nx = "x"\n"ｘ" = "x"',
        "state named exp": '[states]\nexp = "1"',
        "long product": '[states]\nx = "' + "*".join(f"(x+{i})" for i in range(1, 401)) + ' - x"',
        "1000 states": "[states]\n" + "\n".join(f'x{i} = "-x{i}"' for i in range(1000)),
        "not utf-8": b"[states]\nx = '\xff'",
    }.items():
        cases[f"TOML: {name}"] = ["analyze", file(f"{name.replace(' ', '_')}.toml", text)]
    cases["--param overflow"] = ["analyze", "lorenz", "--param", "rho=10**400"]
    cases["--param unknown"] = ["analyze", "lorenz", "--param", "nu=1"]
    cases["--bounds bad"] = ["analyze", "lorenz", "--bounds", "1:2:3"]
    cases["--input on a model"] = ["analyze", "lorenz", "--input", "1"]
    return cases


CLI_CASES = ["empty npz", "truncated npz", "corrupt npz", "npy as npz", "deep meta", "no weight_hh_l0",
             "complex weights", "datetime weights", "1-D weight_hh_l0"] + [
    f"TOML: {n}" for n in ("overflow", "exp overflow", "constant overflow", "nested arrays", "nested tables",
                            "dotted key", "NFKC clash", "state named exp", "long product", "1000 states", "not utf-8")
] + ["--param overflow", "--param unknown", "--bounds bad", "--input on a model"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    argv = _bad_inputs(tmp_path)[case]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning printed by Python would be a second line
        code = main(argv + ["--n-starts", "8"] if argv[0] == "analyze" else argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (case, err)
    assert len(lines) == 1 and lines[0].startswith("dynsys: error: "), err
    assert time.perf_counter() - start < MAX_SECONDS


def test_an_unclosed_json_string_is_refused_in_linear_time():
    """'"\\"\\"\\"...' with no closing quote: the depth scan took quadratic time (80 kB: 20 s)."""
    import time

    from dynsys._io import json_depth, loads_json

    assert json_depth('{"a": "[[[", "b": [1, [2]]}') == 3  # brackets inside strings do not count
    text = '"' + '\\"' * 200_000  # 400 kB
    start = time.perf_counter()
    with pytest.raises(ValueError):
        loads_json(text)
    assert time.perf_counter() - start < 2.0
