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
