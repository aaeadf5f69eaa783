"""dynsys.sweep under faults: an item that raises, a worker process killed mid-sweep, resumed sweeps, and
half-written item folders.

Every task here records each run in a log file (one line per start and per end, with the item and the
process), so the tests count what ran where.  The cluster (2 worker processes) is started once for the
module; this module's functions travel to the workers by value.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from dynsys.sweep import FunctionTask, sweep

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

MODELS = ["lorenz", "duffing", "henon", "logistic", "van_der_pol", "toggle_switch"]


@pytest.fixture(scope="module")
def by_value():
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client(by_value):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        yield c


def logged(log: str, sleep: float, fail: str | None, system) -> int:
    """The system's dimension, after ``sleep`` seconds; raises for the system named ``fail``; logs start and end."""
    with open(log, "a") as f:
        f.write(f"start {system.name} {os.getpid()}\n")
    time.sleep(sleep)
    if system.name == fail:
        raise ValueError(f"no {fail}, please")
    with open(log, "a") as f:
        f.write(f"end {system.name} {os.getpid()}\n")
    return system.dim


def task(log: Path, sleep: float = 0.0, fail: str | None = None) -> FunctionTask:
    return FunctionTask(functools.partial(logged, str(log), sleep, fail))


def runs(log: Path) -> list[tuple[str, str, int]]:
    """The log's lines as (event, system name, pid)."""
    if not log.exists():
        return []
    return [(e, name, int(pid)) for e, name, pid in (line.split() for line in log.read_text().splitlines())]


def test_an_item_that_raises_is_recorded_with_its_error_and_the_others_go_on(client, tmp_path):
    log = tmp_path / "log"
    result = sweep(task(log, fail="duffing"), MODELS[:4], client=client, out=tmp_path / "out", progress=False)
    assert [row["status"] for row in result.rows] == ["ok", "error", "ok", "ok"]
    assert result.rows[1]["error"] == "ValueError: no duffing, please"
    assert [row["value"] for i, row in enumerate(result.rows) if i != 1] == [3, 2, 1]  # lorenz, henon, logistic
    assert [row["key"] for row in result.failed()] == ["0001-duffing"]
    with pytest.raises(ValueError, match="item 0001-duffing failed: ValueError: no duffing"):
        result.load("0001-duffing")
    assert sorted(os.listdir(tmp_path / "out" / "items" / "0001-duffing")) == ["item.json", "summary.json"]
    assert result.load(0) == 3
    # a resumed sweep runs only the failed item again
    before = len(runs(log))
    again = sweep(task(log, fail="duffing"), MODELS[:4], client=client, out=tmp_path / "out", progress=False)
    assert [(e, name) for e, name, _ in runs(log)[before:]] == [("start", "duffing")]
    assert [row["status"] for row in again.rows] == ["ok", "error", "ok", "ok"]


def test_a_sweep_resumed_in_the_same_out_runs_nothing_already_written(client, tmp_path):
    log, out = tmp_path / "log", tmp_path / "out"
    first = sweep(task(log), MODELS, client=client, out=out, progress=False)
    assert Counter(name for e, name, _ in runs(log) if e == "end") == Counter(MODELS)
    n_runs = len(runs(log))
    second = sweep(task(log), MODELS, client=client, out=out, progress=False)
    assert len(runs(log)) == n_runs  # nothing ran again
    assert second.rows == first.rows  # the same table, read back from the files (time_s and worker included)
    assert (out / "summary.csv").read_text().splitlines()[1:] == [
        ",".join("" if v is None else str(v) for v in row.values()) for row in first.rows]
    # another task (other options: another fingerprint) runs everything again
    sweep(task(log, sleep=0.001), MODELS[:2], client=client, out=out, progress=False)
    assert len(runs(log)) == n_runs + 4


def test_half_written_item_folders_are_ignored_and_recomputed(client, tmp_path):
    log, out = tmp_path / "log", tmp_path / "out"
    first = sweep(task(log), MODELS, client=client, out=out, progress=False)
    items = out / "items"
    # item 2 was being written when the sweep stopped: only its temporary folder is left, half full
    shutil.copytree(items / "0002-henon", items / ".tmp-0002-henon-x1y2z3")
    (items / ".tmp-0002-henon-x1y2z3" / "summary.json").unlink()
    shutil.rmtree(items / "0002-henon")
    # item 4's folder lost its summary (as a writer that is not atomic leaves it); item 5's has no result file
    (items / "0004-van_der_pol" / "summary.json").unlink()
    (items / "0005-toggle_switch" / "result.json").unlink()
    n_runs = len(runs(log))
    again = sweep(task(log), MODELS, client=client, out=out, progress=False)
    assert sorted(name for e, name, _ in runs(log)[n_runs:] if e == "end") == ["henon", "toggle_switch",
                                                                              "van_der_pol"]
    assert not [p for p in items.iterdir() if p.name.startswith(".")]  # the temporary folder is gone
    assert sorted(p.name for p in items.iterdir()) == again.keys
    untimed = [{k: v for k, v in row.items() if k not in ("time_s", "worker")} for row in again.rows]
    assert untimed == [{k: v for k, v in row.items() if k not in ("time_s", "worker")} for row in first.rows]
    assert [again.load(key) for key in again.keys] == [3, 2, 2, 1, 2, 2]


def test_a_worker_killed_mid_sweep_is_retried_and_nothing_is_lost_or_computed_twice(client, tmp_path):
    log, out = tmp_path / "log", tmp_path / "out"
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.setdefault(
        "result", sweep(task(log, sleep=1.0), MODELS, client=client, out=out, progress=False)))
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [pid for e, _, pid in runs(log) if e == "start" and pid in pids]:
        time.sleep(0.02)
    victim_name, victim = next((name, pid) for e, name, pid in runs(log) if e == "start" and pid in pids)
    os.kill(victim, signal.SIGKILL)  # mid-item: the task sleeps for a second after logging its start
    thread.join(timeout=90)
    assert not thread.is_alive()
    result = outcome["result"]
    assert [row["status"] for row in result.rows] == ["ok"] * len(MODELS)
    assert [row["value"] for row in result.rows] == [3, 2, 2, 1, 2, 2]
    events = runs(log)
    assert ("end", victim_name, victim) not in events  # the killed item never finished there ...
    assert Counter(name for e, name, _ in events if e == "start")[victim_name] == 2  # ... and started once more
    assert Counter(name for e, name, _ in events if e == "end") == Counter(MODELS)  # ... each item ended once
    assert next(row["worker"] for row in result.rows if row["label"] == victim_name)  # it ran again elsewhere
    assert victim not in set(client.run(os.getpid).values())  # the nanny started a new worker process


def exit_on(name: str, system) -> int:
    """Ends the worker process running it when the system is called ``name``; else the system's dimension."""
    if system.name == name:
        os._exit(1)
    return system.dim


def test_an_item_whose_workers_keep_dying_is_an_error_and_the_others_go_on(by_value, tmp_path):
    # the sweep's own local cluster (client=None): one worker, and with retries=0 the first death is final
    result = sweep(FunctionTask(functools.partial(exit_on, "henon")), ["lorenz", "henon", "duffing"], workers=1,
                   retries=0, out=tmp_path, progress=False)
    assert [row["status"] for row in result.rows] == ["ok", "error", "ok"]
    assert result.rows[1]["error"].startswith("KilledWorker")
    assert [result.load(0), result.load(2)] == [3, 2]
    assert json.loads((tmp_path / "items" / "0001-henon" / "summary.json").read_text())["status"] == "error"
