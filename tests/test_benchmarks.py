"""Smoke test of the benchmark scripts in benchmarks/: their smallest cases run and report what they should.

Nothing about timing is asserted.  The baseline's fixed points are checked
independently of dynsys: F(h) = tanh(W h) - h is recomputed from the weights.
"""
import importlib
import json
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def scripts(monkeypatch):
    """The benchmark scripts as modules (they import each other as top-level modules)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    names = ("networks", "adam_baseline", "bench_fixed_points", "bench_scaling", "bench_continuation")
    return {name: importlib.import_module(name) for name in names}


def test_baseline_fixed_points_have_small_q(scripts):
    networks, baseline = scripts["networks"], scripts["adam_baseline"]
    network = networks.Network("rnn_tanh", 8, "random")
    prob = networks.problem(network, 32)
    result = baseline.adam_on_q(prob.system, prob.starts)
    tol_q = baseline.DEFAULTS["tol_q"]
    fixed = result["x"][result["q"] <= tol_q]
    assert len(fixed) == result["n_fixed"] > 0
    W = networks.random_cell(network, seed=0).weight_hh  # the same seed as problem's
    F = np.tanh(fixed @ W.T) - fixed  # zero input and zero biases: h' = tanh(W h)
    assert np.all(0.5 * np.sum(F**2, axis=1) <= tol_q)


def test_fixed_points_benchmark_writes_records_summary_and_targets(scripts, monkeypatch, tmp_path):
    bench, networks = scripts["bench_fixed_points"], scripts["networks"]
    tiny = bench.Case("tiny_B16", networks.Network("rnn_tanh", 8, "random"), 16)
    lorenz = bench.Case("lorenz_B64", networks.Network("lorenz", 3, "model"), 64, max_time_s=5, n_fixed=3)
    monkeypatch.setattr(bench, "QUICK_CASES", (tiny, lorenz))
    targets = bench.main(["--quick", "--out-dir", str(tmp_path)])

    summary = json.loads((tmp_path / "fixed_points_quick.json").read_text())
    assert {"benchmark", "quick", "machine", "cases", "targets"} <= set(summary)
    assert [r["case"] for r in summary["cases"]] == ["tiny_B16", "lorenz_B64"]
    for record in summary["cases"]:
        assert {"case", "network", "n_starts", "starts", "find_options", "dynsys", "baseline", "speedup",
                "machine"} <= set(record)
        assert {"time_s", "peak_mb", "n_fixed", "n_slow", "max_abs_F_fixed", "fixed_by_index", "stats"} <= set(
            record["dynsys"])
        base = record["baseline"]
        assert {"time_s", "peak_mb", "iterations", "n_unique", "n_fixed", "max_q_fixed", "max_abs_F_fixed",
                "options", "fingerprint", "reused_from"} <= set(base)
        if base["n_fixed"]:
            assert 0.5 * base["max_abs_F_fixed"] ** 2 <= base["options"]["tol_q"]
        assert base["time_autodiff_s"] == pytest.approx(base["time_s"] - base["redundant_s"])
        assert record["speedup"] == pytest.approx(base["time_autodiff_s"] / record["dynsys"]["time_s"])
    assert [t["status"] for t in summary["targets"]] == [status for status, _ in targets]
    assert {status for status, _ in targets} <= {"PASS", "FAIL", "SKIP"}
    assert any("lorenz_B64: " in what and "fixed points (all 3)" in what for _, what in targets)

    # a second run takes the baseline over from the first one's record: same starts, same fingerprint
    first = json.loads((tmp_path / "fixed_points" / "tiny_B16.json").read_text())
    bench.main(["--quick", "--cases", "tiny_B16", "--reuse-baseline", "--out-dir", str(tmp_path)])
    second = json.loads((tmp_path / "fixed_points" / "tiny_B16.json").read_text())
    assert second["baseline"]["reused_from"] == "tiny_B16"
    assert second["baseline"]["fingerprint"] == first["baseline"]["fingerprint"]
    assert second["baseline"]["time_s"] == first["baseline"]["time_s"]


def test_scaling_benchmark_fits_exponents(scripts, monkeypatch, tmp_path):
    bench, networks = scripts["bench_scaling"], scripts["networks"]
    rows = [{"B": B, "time_s": 3.0 * B**1.5} for B in (2, 8, 32)]
    assert bench.loglog_slope(rows, "B", "time_s") == pytest.approx(1.5)
    assert bench.loglog_slope(rows[:1], "B", "time_s") is None

    sweeps = {"B_network": networks.Network("rnn_tanh", 8, "random"), "Bs": [8, 16, 32], "ns": [4, 8], "n_B": 16}
    monkeypatch.setitem(bench.SWEEPS, True, sweeps)
    bench.main(["--quick", "--no-plot", "--out-dir", str(tmp_path)])
    report = json.loads((tmp_path / "scaling_quick.json").read_text())
    assert {"benchmark", "quick", "machine", "find_options", "against_B", "against_n", "targets"} <= set(report)
    against_B, against_n = report["against_B"], report["against_n"]
    assert [p["B"] for p in against_B["points"]] == [8, 16, 32]
    assert [p["n"] for p in against_n["points"]] == [4, 8]
    for key in ("time_exponent", "memory_exponent", "saturated_from_B", "time_per_start_ms_saturated"):
        assert np.isfinite(against_B[key])
    assert np.isfinite(against_n["time_exponent"]) and np.isfinite(against_n["memory_exponent"])
    for point in against_B["points"] + against_n["points"]:
        assert {"B", "n", "time_s", "peak_mb", "time_per_start_ms", "n_fixed", "n_slow", "iterations", "solver",
                "n_chunks"} <= set(point)
    assert report["targets"][0]["status"] in ("PASS", "FAIL", "SKIP")


def test_scaling_benchmark_times_the_reference_alongside(scripts, monkeypatch, tmp_path):
    """--reference: the FixedPointFinder-equivalent's CPU time at each point up to REFERENCE_MAX_N (needs torch)."""
    pytest.importorskip("torch")
    bench, networks = scripts["bench_scaling"], scripts["networks"]
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sweeps = {"B_network": networks.Network("rnn_tanh", 8, "random"), "Bs": [8, 16], "ns": [4, 8], "n_B": 8}
    monkeypatch.setitem(bench.SWEEPS, True, sweeps)
    monkeypatch.setattr(bench, "REFERENCE_MAX_N", 4)  # n = 8 is then above it: dynsys alone there
    report = bench.main(["--quick", "--no-plot", "--reference", "--out-dir", str(tmp_path)])
    against_B, against_n = report["against_B"], report["against_n"]
    assert all(p["reference_cpu_s"] is None and p["speedup_cpu"] is None for p in against_B["points"])
    assert against_B["reference_time_exponent"] is None
    small, large = against_n["points"]
    assert small["reference_cpu_s"] > 0 and small["speedup_cpu"] == small["reference_cpu_s"] / small["cpu_s"]
    assert large["reference_cpu_s"] is None
    assert against_n["reference_time_exponent"] is None  # one point only: no slope


def test_continuation_benchmark_quick(scripts, tmp_path):
    bench = scripts["bench_continuation"]
    assert bench.main(["--quick", "--out-dir", str(tmp_path)]) == []  # the targets are for the full run
    report = json.loads((tmp_path / "continuation_quick.json").read_text())
    assert [(r["n"], r["solver"]) for r in report["cases"]] == [
        (n, solver) for solver in ("matrix-free", "dense") for n in bench.SIZES[True]]
    for record in report["cases"]:
        assert {"time_s", "points", "steps_per_s", "ms_per_point", "peak_rss_mb"} <= set(record)
        assert record["eigenvalues_per_point"] == (6 if record["solver"] == "matrix-free" else record["n"])
        assert record["stop_reason"] == ["p_span", "p_span"]
        assert record["bifurcations"] == []  # spectral radius about 0.9, tanh' <= 1: stable all along


def run_quick(monkeypatch, tmp_path, name, *options):
    """``benchmarks/bench_<name>.py --quick *options --out-dir tmp_path``: what its main returns, and its report."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    returned = importlib.import_module(f"bench_{name}").main(["--quick", *options, "--out-dir", str(tmp_path)])
    report = json.loads((tmp_path / f"{name}_quick.json").read_text())
    assert {"benchmark", "quick", "machine", "cases", "command"} <= set(report)
    return returned, report


def test_vs_fpf_benchmark_quick(monkeypatch, tmp_path):
    """bench_vs_fpf.py --quick: dynsys and the FixedPointFinder-equivalent on one tiny case (needs torch)."""
    pytest.importorskip("torch")
    records, report = run_quick(monkeypatch, tmp_path, "vs_fpf", "--memory", "--solvers", "auto,dense")
    assert [r["case"] for r in records] == [r["case"] for r in report["cases"]] == ["tanh64_B64"]
    record = report["cases"][0]
    assert len(record["rounds"]) == 1 and record["blas_threads"] == 1
    for key in ("auto_cpu_s", "dense_wall_s", "reference_cpu_s", "reference_wall_s", "auto_speedup_cpu"):
        assert record["median"][key] > 0
    assert record["reference"]["iterations"] <= 200
    for solver in ("auto", "dense"):
        assert 0 <= record[solver]["found_by_reference"] <= record[solver]["n_fixed"]
        assert record[solver]["max_q"] <= 0.5e-20  # |F| <= 1e-10
        assert sum(record[solver]["index"]) == record[solver]["n_fixed"]
    assert set(record["peak_rss_mb"]) == {"auto", "dense", "reference"}


def test_floors_benchmark_quick(monkeypatch, tmp_path):
    """bench_floors.py --quick: the primitives' costs and the budget the target leaves (needs torch)."""
    pytest.importorskip("torch")
    records, report = run_quick(monkeypatch, tmp_path, "floors")
    assert [r["case"] for r in records] == [r["case"] for r in report["cases"]] == ["tanh64_B64"]
    record = report["cases"][0]
    assert record["n"] == 64 and record["B"] == 64 and record["target"] == 10.0 and record["K"] >= 1
    for key in ("reference_cpu_s", "F_s", "solve_s", "matvec_s", "eig_s"):
        assert record[key] > 0
    assert record["budget_s"] == pytest.approx(record["reference_cpu_s"] / 10.0)
    assert record["solves_left"] == pytest.approx((record["budget_s"] - record["eig_s"]) / record["solve_s"])


@pytest.mark.parametrize("name, needs", [("sweep", "distributed"), ("certify", None)])
def test_benchmark_targets_pass_quick(monkeypatch, tmp_path, name, needs):
    """bench_sweep.py --quick (the same networks swept serially and on a 2-worker LocalCluster give the same rows)
    and bench_certify.py --quick (the bundled network's points certified, Lorenz's box covered): targets pass."""
    if needs:
        pytest.importorskip(needs)
    targets, report = run_quick(monkeypatch, tmp_path, name)
    assert targets and all(status == "PASS" for status, _ in targets), targets
    assert [t["status"] for t in report["targets"]] == ["PASS"] * len(targets)
