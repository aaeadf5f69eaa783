"""Smoke test of benchmarks/bench_linearize.py --quick (no timing asserted)."""
import importlib
import json
from pathlib import Path

import pytest

from dynsys.linearize import LABELS

ROOT = Path(__file__).resolve().parents[1]


def test_linearize_benchmark_quick_compares_two_checkouts(monkeypatch, tmp_path):
    """The quick mode, with this checkout as its own --before: both workers must report the
    same labels, dimensions and eigenvalues (the same code on the same points)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    bench = importlib.import_module("bench_linearize")
    records = bench.main(["--quick", "--before", str(ROOT), "--out-dir", str(tmp_path)])
    report = json.loads((tmp_path / "linearize_quick.json").read_text())
    assert {"benchmark", "quick", "machine", "cases", "targets", "command"} <= set(report)
    (record,) = records
    assert record["n"] == 64 and record["points"] == len(record["labels"]) == len(record["dims"]) > 0
    assert all(label.removesuffix(" (flip)") in LABELS for label in record["labels"])
    assert all(sum(dims) == 64 for dims in record["dims"])
    assert record["same_labels_and_dims"] and record["max_eigenvalue_difference"] == 0.0
    assert set(record["cpu_ms_per_point"]) == {"before", "after"}
    assert record["speedup"] == pytest.approx(record["cpu_ms_per_point"]["before"] / record["cpu_ms_per_point"]["after"])
    assert [t["status"] for t in report["targets"]] == ["PASS"]


def test_linearize_benchmark_spectra_quick(monkeypatch, tmp_path):
    """--spectra --quick: full and leading on the same Jacobians agree on every point's class."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    bench = importlib.import_module("bench_linearize")
    records = bench.main(["--spectra", "--quick", "--out-dir", str(tmp_path)])
    report = json.loads((tmp_path / "linearize_spectra_quick.json").read_text())
    assert [(r["n"], r["kind"]) for r in records] == [(64, "map"), (64, "flow")]
    assert all(r["same_index_dims_label_flip"] and len(r["cpu_s"]["leading"]) == r["points"] == 2 for r in records)
    assert [t["status"] for t in report["targets"]] == ["PASS", "PASS"]
