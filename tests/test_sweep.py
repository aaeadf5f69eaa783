"""dynsys.sweep: items and grids, the tasks, and sweeps on a Dask LocalCluster against the serial sweep and
direct calls.

The cluster (2 single-threaded worker processes) is started once for the module; without dask's
``distributed`` installed, the tests that need it are skipped and the serial ones run.  Items that travel to the
workers are files (networks saved with :meth:`dynsys.rnn.RNNCell.save`) and built-in model names, loaded there;
the tests with Systems built here run once Systems pickle (skipped until then).
"""
from __future__ import annotations

import builtins
import functools
import itertools
import json
import math
import pickle
import re
import sys
import threading
import warnings
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import attractor_graph, bifurcation_diagram, find_fixed_points, models, rnn, transition_graph
from dynsys.sweep import (
    Continuation, FixedPoints, FunctionTask, Item, SweepResult, TransitionGraph, as_items, grid, sweep,
)
from dynsys.sweep.items import slug
from dynsys.targets import load_target

FP_OPTIONS = {"n_starts": 16, "seed": 3}
N_VARIANTS = 5
RHO = [0.5, 2.0, 28.0]


def _systems_pickle() -> bool:
    try:
        pickle.dumps(models.lorenz())
    except Exception:
        return False
    return True


needs_pickled_systems = pytest.mark.skipif(not _systems_pickle(), reason="Systems do not pickle yet")


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 worker processes (the tests that need it are skipped without dask's distributed)."""
    distributed = pytest.importorskip("distributed")
    cloudpickle = pytest.importorskip("cloudpickle")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        cloudpickle.register_pickle_by_value(sys.modules[__name__])  # this module's functions travel by value
        yield c
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def networks(tmp_path_factory) -> list[str]:
    """The bundled flip-flop and five variants: its recurrent weights plus seeded perturbations, each a file."""
    folder = tmp_path_factory.mktemp("networks")
    net = rnn.load_flipflop()
    weights = net.state_dict()
    paths = [str(net.save(folder / "flipflop.npz"))]
    for seed in range(1, N_VARIANTS + 1):
        W = weights["weight_hh_l0"]
        perturbed = W + 0.004 * seed * np.random.default_rng(seed).standard_normal(W.shape)
        variant = rnn.from_state_dict({**weights, "weight_hh_l0": perturbed}, "rnn_tanh")
        paths.append(str(variant.save(folder / f"variant{seed}.npz")))
    return paths


def _without_run_facts(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("time_s", "worker")} for row in rows]


def _kind_counts(points) -> dict[str, int]:
    counts = Counter(points.kinds.tolist())
    return {"n_attractors": counts["attractor"], "n_saddles": counts["saddle"], "n_repellers": counts["repeller"]}


# ---------------------------------------------------------------- six networks, Dask against serial
@pytest.fixture(scope="module")
def network_sweep(client, networks, tmp_path_factory) -> tuple[SweepResult, SweepResult, Path]:
    """The six networks' fixed points, swept serially and on the cluster, each into its folder."""
    folder = tmp_path_factory.mktemp("network_sweep")
    task = FixedPoints(**FP_OPTIONS)
    serial = sweep(task, networks, client="serial", out=folder / "serial", progress=False)
    return serial, sweep(task, networks, client=client, out=folder / "dask", progress=False), folder


def test_six_networks_on_a_local_cluster_give_the_serial_results_item_by_item(client, network_sweep):
    serial, on_dask, tmp_path = network_sweep
    assert len(on_dask) == len(serial) == 6
    assert {row["worker"] for row in serial.rows} == {"serial"}
    assert {row["worker"] for row in on_dask.rows} <= set(client.scheduler_info()["workers"])
    assert _without_run_facts(on_dask.rows) == _without_run_facts(serial.rows)
    assert [row["status"] for row in on_dask.rows] == ["ok"] * 6
    for key in serial.keys:
        with np.load(tmp_path / "serial" / "items" / key / "points.npz") as a, \
                np.load(tmp_path / "dask" / "items" / key / "points.npz") as b:
            assert sorted(a.files) == sorted(b.files)
            for name in set(a.files) - {"meta"}:
                assert np.array_equal(a[name], b[name]), (key, name)
            assert _untimed(a["meta"]) == _untimed(b["meta"])


def _untimed(meta: np.ndarray) -> dict:
    """A points.npz's meta without the search's clock readings (stats time_s, time_search_s, ...)."""
    fields = json.loads(str(meta))
    fields["stats"] = {k: v for k, v in fields["stats"].items() if not k.startswith("time")}
    return fields


def test_each_networks_summary_and_points_are_those_of_a_direct_call(networks, network_sweep):
    result = network_sweep[1]  # on the cluster, read back from its files
    assert [row["label"] for row in result.rows] == ["flipflop"] + [f"variant{s}" for s in range(1, 6)]
    fixed_counts = set()
    for path, row, key in zip(networks, result.rows, result.keys):
        direct = find_fixed_points(rnn.load(path).system(), **FP_OPTIONS)
        fixed = direct.is_fixed
        assert row["n_points"] == len(direct.x) and row["n_fixed"] == int(fixed.sum())
        assert row["n_slow"] == int(direct.is_slow.sum())
        assert {k: row[k] for k in ("n_attractors", "n_saddles", "n_repellers")} == _kind_counts(direct)
        for k, count in Counter(direct.index[fixed].tolist()).items():
            assert row[f"n_index_{k}"] == count
        net = rnn.load(path)  # h -> tanh(W h + b) with the input off: |F| = |tanh(W x + b) - x| at its points
        speeds = np.linalg.norm(np.tanh(direct.x[fixed] @ net.weight_hh.T + net.bias_hh + net.bias_ih)
                                - direct.x[fixed], axis=1)
        assert row["max_abs_F"] == pytest.approx(float(speeds.max()), abs=1e-13)
        loaded = result.load(key)
        assert np.array_equal(loaded.x, direct.x) and loaded.kinds.tolist() == direct.kinds.tolist()
        fixed_counts.add(row["n_fixed"])
    assert len(fixed_counts) > 1  # the variants differ: the comparison is not vacuous


def test_the_flipflop_sweeps_read_back_from_their_files(networks, tmp_path):
    result = sweep(FixedPoints(**FP_OPTIONS), networks[:2], client="serial", out=tmp_path, progress=False)
    direct = find_fixed_points(load_target(networks[1]), **FP_OPTIONS)
    assert np.array_equal(result.load("0001-variant1").x, direct.x)
    with open(tmp_path / "summary.csv") as f:
        header, *lines = f.read().splitlines()
    assert header.split(",")[:6] == ["key", "label", "status", "error", "time_s", "worker"]
    assert [line.split(",")[0] for line in lines] == result.keys
    record = json.loads((tmp_path / "sweep.json").read_text())
    assert record["task"] == repr(FixedPoints(**FP_OPTIONS)) and len(record["items"]) == 2
    assert record["items"][1]["source"] == str(Path(networks[1]).absolute())


def _wl_hash(graph) -> str:
    with warnings.catch_warnings():  # networkx >= 3.5 notes that its hashes without attributes changed
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(graph)


def test_transition_graphs_give_the_known_attractor_graphs_and_the_direct_calls_graphs(client, networks, tmp_path):
    task = TransitionGraph(fixed_points={"n_starts": 64, "seed": 0}, graph={"cycles": False})
    result = sweep(task, [networks[0], "duffing", "toggle_switch"], client=client, out=tmp_path, progress=False)
    # the 3-bit flip-flop's attractor graph is the 3-cube; a bistable system's is one edge
    known = [nx.hypercube_graph(3), nx.path_graph(2), nx.path_graph(2)]
    for row, key, graph, system in zip(result.rows, result.keys, known, [load_target(networks[0]),
                                                                     models.duffing(), models.toggle_switch()]):
        assert (row["n_graph_nodes"], row["n_graph_edges"]) == (graph.number_of_nodes(), graph.number_of_edges())
        assert row["graph_hash"] == _wl_hash(graph)
        points = find_fixed_points(system, n_starts=64, seed=0)
        direct = transition_graph(system, points, cycles=False)
        loaded = result.load(key)
        assert np.array_equal(loaded.points.x, points.x)
        assert sorted(loaded.graph.nodes) == sorted(direct.nodes)
        assert sorted(loaded.graph.edges(keys=True)) == sorted(direct.edges(keys=True))
        assert nx.is_isomorphic(nx.Graph(attractor_graph(loaded.graph)), graph)


# ---------------------------------------------------------------- Lorenz grids
def _check_lorenz_grid(result: SweepResult) -> None:
    assert [row["label"] for row in result.rows] == ["rho=0.5", "rho=2", "rho=28"]
    for rho, row in zip(RHO, result.rows):
        direct = find_fixed_points(models.lorenz(rho=rho), **FP_OPTIONS)
        assert row["param_rho"] == rho
        assert row["n_fixed"] == len(direct.x) == (1 if rho < 1 else 3)  # the origin; C+- exist for rho > 1
        assert {k: row[k] for k in ("n_attractors", "n_saddles", "n_repellers")} == _kind_counts(direct)
        assert result.load(row["key"]).kinds.tolist() == direct.kinds.tolist()
    assert result.rows[0]["n_attractors"] == 1  # rho < 1: the origin is stable
    assert result.rows[2]["n_index_1"] == 1 and result.rows[2]["n_index_2"] == 2  # rho = 28: saddle, saddle-foci


def test_a_lorenz_grid_by_name_gives_the_direct_calls_summaries(client, tmp_path):
    _check_lorenz_grid(sweep(FixedPoints(**FP_OPTIONS), grid("lorenz", rho=RHO), client=client, out=tmp_path,
                             progress=False))


@needs_pickled_systems
def test_a_lorenz_grid_of_a_system_gives_the_direct_calls_summaries(client):
    _check_lorenz_grid(sweep(FixedPoints(**FP_OPTIONS), grid(models.lorenz(), rho=RHO), client=client,
                             progress=False))


def test_a_lorenz_grid_of_a_system_runs_serially_now(tmp_path):
    _check_lorenz_grid(sweep(FixedPoints(**FP_OPTIONS), grid(models.lorenz(), rho=RHO), client="serial",
                             progress=False))


CONTINUATION = Continuation("rho", (0.5, 2.0), n_starts=16)


def _check_continuations(result: SweepResult, sigmas: list[float]) -> None:
    for sigma, row in zip(sigmas, result.rows):
        direct = bifurcation_diagram(models.lorenz(sigma=sigma), "rho", (0.5, 2.0), n_starts=16)
        loaded = result.load(row["key"])
        assert row["status"] == "ok" and row["param_sigma"] == sigma
        assert row["n_branches"] == len(direct.branches) and row["n_bifurcations"] == len(direct.bifurcations)
        assert [(b.kind, b.p) for b in loaded.bifurcations] == [(b.kind, b.p) for b in direct.bifurcations]
        assert row["n_branch_point"] == 1  # the pitchfork of the origin at rho = 1, whatever sigma
        assert loaded.bifurcations[0].p == pytest.approx(1.0, abs=1e-6)


def test_continuations_over_a_grid_give_the_direct_bifurcation_diagrams(client, tmp_path):
    sigmas = [10.0, 12.0]
    _check_continuations(sweep(CONTINUATION, grid("lorenz", sigma=sigmas), client=client, out=tmp_path,
                               progress=False), sigmas)


@needs_pickled_systems
def test_continuations_kept_in_memory_come_back_from_the_workers(client):
    sigmas = [10.0]
    _check_continuations(sweep(CONTINUATION, grid(models.lorenz(), sigma=sigmas), client=client, progress=False),
                         sigmas)


# ---------------------------------------------------------------- where it runs
def test_without_distributed_the_sweep_runs_serially_and_says_how_to_install(monkeypatch, capsys):
    items = grid("lorenz", rho=RHO)
    expected = sweep(FixedPoints(**FP_OPTIONS), items, client="serial", progress=False)
    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_distributed)
    result = sweep(FixedPoints(**FP_OPTIONS), items, progress=False)
    note = capsys.readouterr().err
    assert "pip install 'dynsys-toolkit[sweep]'" in note and len(note.splitlines()) == 1
    assert _without_run_facts(result.rows) == _without_run_facts(expected.rows)
    with pytest.raises(ImportError, match=r"dynsys-toolkit\[sweep\]"):
        sweep(FixedPoints(), ["lorenz"], client="tcp://127.0.0.1:1", progress=False)


def test_a_scheduler_address_and_progress_lines(client, capsys):
    result = sweep(FunctionTask(len_of_state), ["lorenz", "henon"], client=client.cluster.scheduler_address)
    assert [row["value"] for row in result.rows] == [3, 2]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("sweep: [") for line in lines)
    assert {line.split()[2] for line in lines} == {"0000-lorenz", "0001-henon"}


def len_of_state(system) -> int:
    return system.dim


# ---------------------------------------------------------------- items
def test_grid_is_the_cartesian_product_with_the_first_parameter_slowest():
    items = grid(models.lorenz(), rho=[1, 2, 3], beta=[0.5, 1.0])
    assert [(i.params["rho"], i.params["beta"]) for i in items] == [
        (r, b) for r in (1.0, 2.0, 3.0) for b in (0.5, 1.0)]
    assert [i.key for i in items][:2] == ["0000-rho=1_beta=0.5", "0001-rho=1_beta=1"]
    assert items[5].load().params == {**models.lorenz().params, "rho": 3.0, "beta": 1.0}


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=20, deadline=None)
@given(st.dictionaries(st.sampled_from(["sigma", "rho", "beta"]), st.lists(finite, min_size=1, max_size=3),
                       min_size=1))
def test_a_grid_is_the_product_of_its_axes_in_order_with_distinct_safe_keys(values):
    items = grid("lorenz", **values)
    assert [tuple(i.params.values()) for i in items] == list(itertools.product(*values.values()))
    assert all(list(i.params) == list(values) for i in items)
    keys = [i.key for i in items]
    assert len(set(keys)) == len(keys) == math.prod(len(v) for v in values.values())
    assert all(re.fullmatch(r"\d{4}-[A-Za-z0-9.=+_-]{1,60}", k) for k in keys)


@settings(max_examples=20, deadline=None)
@given(st.text(max_size=100))
def test_a_slug_is_a_safe_file_name(label):
    name = slug(label)
    assert re.fullmatch(r"[A-Za-z0-9=+-][A-Za-z0-9.=+_-]{0,59}", name)


def test_as_items_takes_files_names_systems_pairs_and_items(networks):
    duffing = models.duffing()
    items = as_items([networks[0], Path(networks[1]), "henon", duffing, (duffing, {"delta": 0.5}),
                      ("lorenz", {"rho": 2}), Item("mine", "logistic", {"r": 2.5})])
    assert [i.label for i in items] == ["flipflop", "variant1", "henon", "duffing", "delta=0.5", "rho=2", "mine"]
    assert [i.key[:5] for i in items] == [f"{k:04d}-" for k in range(7)]
    assert items[0].system == str(Path(networks[0]).absolute()) and items[3].system is duffing
    assert items[4].load().params["delta"] == 0.5 and items[5].load().params["rho"] == 2.0
    assert items[6].load().params["r"] == 2.5
    assert np.array_equal(items[1].load().residual(np.zeros((1, 64))),
                          rnn.load(networks[1]).system().residual(np.zeros((1, 64))))


@pytest.mark.parametrize("items, error, match", [
    ([], ValueError, "items is empty"),
    ([3.0], TypeError, r"items\[0\]: a float is not an item"),
    (["lorenz", {"rho": 1}], TypeError, r"items\[1\]: a dict is not an item"),
    (["lorentz"], ValueError, r"items\[0\]: 'lorentz' is neither .* did you mean lorenz"),
    (["no/such/net.npz"], ValueError, r"items\[0\]: 'no/such/net.npz' is not a file"),
    ([(models.lorenz(), {"r": 1.0})], ValueError, r"'r' is not a parameter of lorenz"),
    ([("lorenz", {"rho": float("nan")})], ValueError, "parameter 'rho' must be finite"),
    ({"lorenz": 1}, TypeError, "items must be a list of items"),
    (42, TypeError, "items must be a list of items"),
])
def test_bad_items_are_refused_naming_the_problem(items, error, match):
    with pytest.raises(error, match=match):
        sweep(FixedPoints(), items, client="serial", progress=False)


@pytest.mark.parametrize("call, error, match", [
    (lambda: grid(models.lorenz()), ValueError, "give the values of at least one parameter"),
    (lambda: grid(models.lorenz(), rho=[]), ValueError, "rho must be a non-empty sequence of finite numbers"),
    (lambda: grid(models.lorenz(), rho=[1, np.inf]), ValueError, "finite numbers"),
    (lambda: grid(models.lorenz(), r=[1]), ValueError, "'r' is not a parameter of lorenz"),
    (lambda: grid(3, rho=[1]), TypeError, "system must be a System"),
    (lambda: FixedPoints(n_start=4), TypeError, "find_fixed_points has no option 'n_start'"),
    (lambda: Continuation("rho", (2, 1)), ValueError, "low < high"),
    (lambda: FunctionTask(3), TypeError, "fn must be a function"),
    (lambda: sweep("fixed points", ["lorenz"]), TypeError, "task must be a Task"),
    (lambda: sweep(FixedPoints(), ["lorenz"], client=3.5), TypeError, "client must be None, 'serial'"),
    (lambda: sweep(FixedPoints(), ["lorenz"], client="serial", retries=-1), ValueError, "retries"),
    (lambda: sweep(FixedPoints(), ["lorenz"], client="serial", workers=0), ValueError, "workers"),
    (lambda: sweep(FixedPoints(), ["lorenz"], client="tcp://127.0.0.1:1", workers=2), ValueError,
     "workers: only for the local cluster"),
])
def test_bad_arguments_are_refused_naming_them(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_an_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        sweep(FixedPoints(), ["lorenz"], client="serial", out=tmp_path / "f")


def _holds_a_lock(lock, system) -> int:
    return system.dim


def test_a_task_that_cannot_be_pickled_is_refused_before_anything_runs(client, tmp_path):
    task = FunctionTask(functools.partial(_holds_a_lock, threading.Lock()))
    with pytest.raises(TypeError, match="cannot be pickled to send it to the Dask workers"):
        sweep(task, ["lorenz"], client=client, out=tmp_path, progress=False)
    assert not list((tmp_path / "items").iterdir())
    assert sweep(task, ["lorenz"], client="serial", progress=False).rows[0]["value"] == 3  # serially it runs
