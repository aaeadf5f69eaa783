"""Tests of ``dynsys sweep``: the files it writes, its summaries against direct calls and known fixed points, its
one-line refusals of bad input, and a run on a local Dask cluster of 2 workers."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from dynsys import find_fixed_points, models, rnn
from dynsys.cli import main
from dynsys.fixed_points import FixedPointSet


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_a_serial_grid_of_lorenz_writes_every_file_and_matches_direct_calls(capsys, tmp_path):
    out = tmp_path / "run"
    code, printed, err = run(capsys, "sweep", "--grid", "lorenz", "--param", "rho=0.5:28.5:3", "--task",
                             "fixed-points", "--n-starts", "64", "--serial", "--out", str(out))
    assert code == 0, err
    assert printed.splitlines()[0] == "3 items: 3 ok, 0 failed"
    assert err.count("sweep: [") == 3  # progress on stderr, a line per item
    for name in ("summary.csv", "comparison.csv", "comparison.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    rows = read_csv(out / "summary.csv")
    assert [float(r["param_rho"]) for r in rows] == [0.5, 14.5, 28.5]
    lorenz = models.lorenz()
    for row, rho in zip(rows, (0.5, 14.5, 28.5)):
        direct = find_fixed_points(lorenz.with_params(rho=rho), n_starts=64, seed=0)
        saved = FixedPointSet.load(out / "items" / row["key"] / "points.npz")
        np.testing.assert_allclose(saved.x, direct.x, atol=1e-12)
        assert int(row["n_fixed"]) == len(direct.fixed())
        assert int(row["n_attractors"]) == int((direct.kinds == "attractor").sum())
        assert json.loads((out / "items" / row["key"] / "summary.json").read_text())["status"] == "ok"
    # known answers: rho < 1 the origin alone, stable; 1 < rho < 24.74 C+- stable and the origin an index-1
    # saddle; rho = 28.5 all three saddles (C+- of index 2)
    assert [int(r["n_fixed"]) for r in rows] == [1, 3, 3]
    assert [int(r["n_attractors"]) for r in rows] == [1, 2, 0]
    compared = read_csv(out / "comparison.csv")
    assert [r["topology"] for r in compared] == [
        "1 attractor", "2 attractors, 1 saddle of index 1", "1 saddle of index 1, 2 saddles of index 2"]
    page = (out / "report.html").read_text()
    assert "comparison.png" in page and "dynsys sweep --grid lorenz" in page and "Topology classes" in page
    # a second run with the same --out runs nothing again (each item's files are kept as they are)
    before = {p: p.stat().st_mtime_ns for p in (out / "items").rglob("points.npz")}
    code, _, _ = run(capsys, "sweep", "--grid", "lorenz", "--param", "rho=0.5:28.5:3", "--task", "fixed-points",
                     "--n-starts", "64", "--serial", "--out", str(out))
    assert code == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "items").rglob("points.npz")} == before


def test_a_sweep_of_continuations_finds_lorenz_s_branch_point_and_hopf_points(capsys, tmp_path):
    out = tmp_path / "run"
    code, printed, err = run(capsys, "sweep", "--grid", "lorenz", "--param", "beta=1,2", "--task", "continuation",
                             "--continue-param", "rho", "--span", "0.5:40", "--n-starts", "32", "--serial",
                             "--out", str(out))
    assert code == 0, err
    rows = read_csv(out / "summary.csv")
    # the branch point of the origin at rho = 1, and the Hopf points of C+ and C- at rho = s (s + b + 3) / (s - b - 1)
    # (s = 10): 17.5 for b = 1, 22.86 for b = 2, both inside the span
    assert [(int(r["n_branch_point"]), int(r["n_hopf"])) for r in rows] == [(1, 2), (1, 2)]
    for row, beta in zip(rows, (1.0, 2.0)):  # each item's diagram, written as it completed
        special = json.loads((out / "items" / row["key"] / "diagram.json").read_text())["bifurcations"]
        hopf = sorted(b["p"] for b in special if b["kind"] == "hopf")
        np.testing.assert_allclose(hopf, [10 * (13 + beta) / (9 - beta)] * 2, rtol=1e-6)
        assert [b["p"] for b in special if b["kind"] == "branch_point"] == pytest.approx([1.0], rel=1e-6)
    assert (out / "report.html").is_file()
    assert not (out / "comparison.csv").exists()  # continuations are not compared


@pytest.mark.parametrize("argv, message", [
    (["--grid", "lorenz", "--param", "rho"], "--param: cannot read 'rho'"),
    (["--grid", "lorenz", "--param", "rho=0:30"], "--param: cannot read 'rho=0:30'"),
    (["--grid", "lorenz", "--param", "rho=a:b:3"], "--param: cannot read 'rho=a:b:3'"),
    (["--grid", "lorenz", "--param", "rho=0:30:0"], "N must be a whole number >= 1, got '0'"),
    (["--grid", "lorenz", "--param", "rho=0:30:2.5"], "N must be a whole number >= 1, got '2.5'"),
    (["--grid", "lorenz", "--param", "rho=1,nan"], "must be finite"),
    (["--grid", "lorenz", "--param", "=1,2"], "--param: cannot read '=1,2'"),
    (["--grid", "lorenz", "--param", "rh=1,2"], "'rh' not a parameter of lorenz; its parameters are sigma, rho, beta"),
    (["--grid", "lorenz", "--param", "rho=1", "--param", "rho=2"], "each parameter once"),
    (["--grid", "lorenz"], "--grid: give the values with --param"),
    (["lorenz", "--param", "rho=1,2"], "--param: only with --grid"),
    (["lorenz", "--grid", "lorenz", "--param", "rho=1"], "not both"),
    ([], "nothing to sweep"),
    (["lorentz"], "did you mean lorenz?"),
    (["lorenz", "--task", "continuation"], "needs --continue-param NAME and --span LO:HI"),
    (["lorenz", "--span", "0:1"], "only with --task continuation"),
    (["lorenz", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["lorenz", "--serial", "--workers", "2"], "--workers: only for the local cluster"),
    (["lorenz", "--threshold", "-1"], "--threshold must be a finite number >= 0"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, tmp_path, argv, message):
    out = tmp_path / "run"
    code, printed, err = run(capsys, "sweep", *argv, "--serial" if "--workers" not in argv else "--n-starts=8",
                             "--out", str(out))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dynsys: error:"), err
    assert message in err
    assert not out.exists()


def bistable_network(path: Path, gains: tuple[float, float]) -> Path:
    """h -> tanh(diag(gains) h): per unit, tanh(a h) = h has the roots 0 and +-r (r > 0) when a > 1, only 0 else."""
    rnn.from_state_dict({"weight_ih_l0": np.zeros((2, 1)), "weight_hh_l0": np.diag(gains)}, "rnn_tanh").save(path)
    return path


def test_two_local_workers_sweep_two_network_files_like_the_serial_run(capsys, tmp_path):
    square = bistable_network(tmp_path / "square.npz", (1.5, 1.5))  # 4 corners, 4 index-1 saddles, the origin
    pair = bistable_network(tmp_path / "pair.npz", (1.5, 0.5))  # 2 attractors, 1 saddle between them
    summaries = {}
    for where in (["--workers", "2"], ["--serial"]):
        out = tmp_path / where[0].strip("-")
        code, printed, err = run(capsys, "sweep", str(square), str(pair), "--n-starts", "64", *where, "--out", str(out))
        assert code == 0, err
        summaries[where[0]] = read_csv(out / "summary.csv")
        assert (out / "report.html").is_file() and (out / "comparison.png").is_file()
    workers, serial = summaries["--workers"], summaries["--serial"]
    columns = ("key", "status", "n_fixed", "n_attractors", "n_graph_nodes", "n_graph_edges", "graph_hash")
    assert [[r[c] for c in columns] for r in workers] == [[r[c] for c in columns] for r in serial]
    assert [(int(r["n_fixed"]), int(r["n_attractors"]), int(r["n_graph_edges"])) for r in workers] == [
        (9, 4, 4), (3, 2, 1)]  # the attractor graphs: a 4-cycle (square) and one edge
    compared = read_csv(tmp_path / "workers" / "comparison.csv")
    assert [(r["topology_class"], r["topology"]) for r in compared] == [
        ("0", "4 attractors, 4 edges"), ("1", "2 attractors, 1 edge")]


def test_failed_items_are_reported_and_a_sweep_where_none_finished_exits_1(capsys, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an archive")
    out = tmp_path / "run"
    code, printed, err = run(capsys, "sweep", str(broken), "duffing", "--n-starts", "32", "--serial", "--out", str(out))
    assert code == 0, err  # one item finished
    rows = read_csv(out / "summary.csv")
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert "dynsys: note: item 0000-broken failed: ValueError" in err
    assert [r["key"] for r in read_csv(out / "comparison.csv")] == [rows[1]["key"]]  # the failed item left out
    code, printed, err = run(capsys, "sweep", str(broken), "--serial", "--out", str(tmp_path / "none"))
    assert code == 1
    assert err.strip().splitlines()[-1] == "dynsys: error: no item finished; see the errors in summary.csv"
    assert (tmp_path / "none" / "summary.csv").is_file() and (tmp_path / "none" / "report.html").is_file()
    assert not (tmp_path / "none" / "comparison.png").exists()


def test_a_running_scheduler_takes_the_sweep_and_a_dead_address_is_bad_input(capsys, tmp_path):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    pair = bistable_network(tmp_path / "pair.npz", (1.5, 0.5))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        code, printed, err = run(capsys, "sweep", str(pair), "--n-starts", "32", "--scheduler",
                                 cluster.scheduler_address, "--out", str(tmp_path / "run"))
        worker = next(iter(cluster.workers.values())).worker_address
    assert code == 0, err
    row, = read_csv(tmp_path / "run" / "summary.csv")
    assert (row["worker"], int(row["n_attractors"]), int(row["n_graph_edges"])) == (worker, 2, 1)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, printed, err = run(capsys, "sweep", str(pair), "--scheduler", "tcp://127.0.0.1:9",
                                 "--out", str(tmp_path / "dead"))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dynsys: error: --scheduler: cannot connect to 'tcp://127.0.0.1:9'")
    assert not (tmp_path / "dead").exists()
