"""Running a task over items: serially, or on Dask's ``distributed`` scheduler, with files, faults and resumes.

:func:`sweep` sends each item to :func:`run_item`, on a Dask worker (a
``LocalCluster`` of single-threaded worker processes by default, or the
user's cluster) or in this process.  :func:`run_item` loads the item's
system, runs and times the task, catches its exceptions, and writes the
item's folder ``out/items/<key>/`` atomically: the files go into a
temporary folder beside it (``.tmp-<key>-...``), renamed into place when
complete, so a folder named by its key is always whole.

Faults and resumes:

- an item whose task raises gets status ``"error"`` and the message
  ``"TypeName: message"``; the others go on;
- a worker that dies (killed, out of memory) has its items rerun by Dask on
  the other workers (the scheduler's ``allowed-failures``: ``retries`` for
  the cluster :func:`sweep` starts); an item whose workers keep dying gets
  status ``"error"`` (``KilledWorker``);
- an item whose folder holds a ``summary.json`` of status ``"ok"`` written
  by the same task (the same :func:`fingerprint`) is not run again: a
  second sweep with the same ``out`` runs only what is missing, failed, or
  was left half-written (temporary folders are removed), and so does a
  worker that Dask asks to rerun an item already written.

The sweep ends by writing ``out/summary.csv`` (one row per item) and
``out/sweep.json`` (the task, the items, the versions), atomically.

The folders' files must be reachable from the workers and this process
alike: a local cluster, or a file system that the cluster's nodes share.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from .._io import atomic_write_text
from .._threads import limit_blas_threads
from .._validate import check_count
from .items import Item, as_items
from .tasks import Task, as_task

INSTALL_HINT = "pip install 'dynsys-toolkit[sweep]'"
"""How to install the optional dependency that runs sweeps on Dask (``dask[distributed]``)."""
SUMMARY_FILE = "summary.json"
ITEM_FILE = "item.json"
TEMP_PREFIX = ".tmp-"
COMMON_KEYS = ("key", "label", "status", "error", "time_s", "worker")
"""The summary keys of every item, first in every row."""


@dataclass
class SweepResult:
    """The outcome of a :func:`sweep`: one summary row per item, and the way back to each item's result.

    Attributes
    ----------
    rows : list of dict
        One flat summary per item, in the items' order: ``key, label,
        status ("ok" | "error"), error, time_s`` (seconds of the task's
        run), ``worker`` (the Dask worker's address, or ``"serial"``), a
        grid item's ``param_<name>``, then the task's summary
        (:func:`dynsys.sweep.tasks.summarize`).  Count columns (``n_...``)
        that an ok item lacks but another has are 0.
    items : list of Item
    task : Task
    out : Path or None
        The sweep's folder (None: the results were kept in memory).

    Examples
    --------
    >>> from dynsys import models
    >>> from dynsys.sweep import FixedPoints
    >>> result = sweep(FixedPoints(n_starts=16), ["duffing", models.lorenz()], client="serial", progress=False)
    >>> len(result), result.keys, [row["n_fixed"] for row in result.rows]
    (2, ['0000-duffing', '0001-lorenz'], [3, 3])
    >>> result.load("0001-lorenz")
    FixedPointSet('lorenz', kind='flow', 3 fixed, 0 slow)
    """

    rows: list[dict[str, Any]]
    items: list[Item]
    task: Task
    out: Path | None = None
    results: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def keys(self) -> list[str]:
        """The items' keys, in order.

        Examples
        --------
        >>> sweep(len, ["duffing"], client="serial", progress=False).keys
        ['0000-duffing']
        """
        return [item.key for item in self.items]

    @property
    def table(self) -> Any:
        """The rows as a pandas DataFrame (indexed by key) when pandas is installed, else :attr:`rows` itself.

        Examples
        --------
        >>> from dynsys.sweep import FunctionTask
        >>> table = sweep(FunctionTask(lambda s: s.dim), ["duffing"], client="serial", progress=False).table
        >>> len(table)
        1
        """
        try:
            import pandas
        except ImportError:
            return self.rows
        return pandas.DataFrame(self.rows, columns=row_columns(self.rows)).set_index("key", drop=False)

    def failed(self) -> list[dict[str, Any]]:
        """The rows of the items whose status is ``"error"``.

        Examples
        --------
        >>> result = sweep(lambda s: 1 / 0, ["duffing"], client="serial", progress=False)
        >>> [row["error"] for row in result.failed()]
        ['ZeroDivisionError: division by zero']
        """
        return [row for row in self.rows if row["status"] != "ok"]

    def load(self, key: str | int) -> Any:
        """The result of the item ``key`` (or of position ``key``): kept in memory, or read back from its files.

        Raises
        ------
        KeyError
            For a key that is not an item's.
        ValueError
            For an item whose task failed (the message has its error).

        Examples
        --------
        >>> from dynsys import models
        >>> from dynsys.sweep import FixedPoints, grid
        >>> result = sweep(FixedPoints(n_starts=16), grid(models.duffing(), delta=[0.3]), client="serial",
        ...                progress=False)
        >>> result.load(0).kinds.tolist()
        ['attractor', 'attractor', 'saddle']
        """
        i = key if isinstance(key, int) else next((i for i, k in enumerate(self.keys) if k == key), None)
        if i is None or not -len(self.items) <= i < len(self.items):
            raise KeyError(f"{key!r} is not an item of this sweep; its keys are {', '.join(self.keys[:5])}"
                           + (", ..." if len(self.items) > 5 else ""))
        item, row = self.items[i], self.rows[i]
        if row["status"] != "ok":
            raise ValueError(f"item {item.key} failed: {row['error']}")
        if self.out is None:
            return self.results[item.key]
        return self.task.read(self.out / "items" / item.key, item.load)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        where = f", out={str(self.out)!r}" if self.out is not None else ""
        return f"SweepResult({self.task!r}, {len(self.rows)} items, {len(self.failed())} failed{where})"


def sweep(
    task: Task | Callable[[Any], Any],
    items: Any,
    *,
    client: Any = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    workers: int | None = None,
    retries: int = 2,
) -> SweepResult:
    """Run ``task`` on every item, on Dask workers or serially; write each item's files as it completes.

    Parameters
    ----------
    task : Task or callable
        :class:`FixedPoints`, :class:`TransitionGraph`, :class:`Continuation`,
        :class:`FunctionTask`, or a function of one System (wrapped in a
        :class:`FunctionTask`).  It must be picklable to run on Dask.
    items : sequence
        What :func:`dynsys.sweep.items.as_items` accepts: network and model
        files, model names, Systems, ``(system, params)`` pairs, Items, a
        :func:`grid`.  Files and names are loaded on the workers; a System
        must be picklable to travel to one.
    client : None, "serial", str or distributed.Client
        Where the items run: None starts a ``LocalCluster`` of ``workers``
        single-threaded worker processes (serially, with a note naming
        ``pip install 'dynsys-toolkit[sweep]'``, when ``distributed`` is not
        installed) and closes it at the end; ``"serial"`` runs in this
        process; any other string is the address of a running scheduler
        (``"tcp://host:8786"``, a ``dask-jobqueue`` cluster's
        ``scheduler_address``); or a ``distributed.Client`` already
        connected.
    out : path-like, optional
        A folder for the items' files (``items/<key>/``), ``summary.csv``
        and ``sweep.json``; an existing one resumes the sweep written
        there.  Without it the results stay in memory
        (:meth:`SweepResult.load`).
    progress : bool, default True
        A line on stderr as each item completes.
    workers : int >= 1, optional
        Worker processes of the local cluster (default ``os.cpu_count()``);
        only with ``client=None``.
    retries : int >= 0, default 2
        Dask reruns an item after an exception outside the task (which
        :func:`run_item` catches) up to ``retries`` times, and, on the local
        cluster, after up to ``retries`` deaths of the workers running it.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        No items, bad items (see :func:`as_items`), ``out`` a file, bad
        ``workers`` or ``retries``.
    TypeError
        A task that is not one, an item of another type, a ``client`` of
        another type; on Dask, a task or item that cannot be pickled.
    ImportError
        A scheduler address or Client given without ``distributed`` installed.

    Notes
    -----
    Each item runs with one BLAS thread (:func:`dynsys._threads.limit_blas_threads`;
    Dask's worker processes also start with ``OMP_NUM_THREADS=1`` and
    its kin), so that the workers, one per core, do not oversubscribe the
    cores.  The results do not depend on where an item runs: the serial and
    the Dask sweep of the same items give the same summaries (but for
    ``time_s`` and ``worker``) and files.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys import models
    >>> from dynsys.sweep import FixedPoints, grid
    >>> folder = tempfile.mkdtemp()
    >>> result = sweep(FixedPoints(n_starts=16), grid(models.lorenz(), rho=[0.5, 28]), client="serial", out=folder,
    ...                progress=False)
    >>> [(row["label"], row["n_fixed"], row["n_attractors"]) for row in result.rows]
    [('rho=0.5', 1, 1), ('rho=28', 3, 0)]
    >>> sorted(os.listdir(folder)), sorted(os.listdir(os.path.join(folder, "items", "0001-rho=28")))
    (['items', 'summary.csv', 'sweep.json'], ['item.json', 'points.npz', 'summary.json'])
    """
    task = as_task(task)
    items = as_items(items)
    retries = check_count(retries, "retries", minimum=0)
    if workers is not None:
        workers = check_count(workers, "workers")
        if client is not None:
            raise ValueError(f"workers: only for the local cluster that sweep starts (client=None), not with "
                             f"client={client!r}")
    if client is not None and not isinstance(client, str) and not hasattr(client, "submit"):
        raise TypeError(f"client must be None, 'serial', a scheduler address or a distributed.Client, got "
                        f"{type(client).__name__}")
    folder = _prepare_out(out)
    report = _Progress(len(items), progress)
    rows: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {}
    todo = []
    for item in items:
        row = finished(folder, task, item) if folder is not None else None
        if row is None:
            todo.append(item)
        else:
            rows[item.key] = row
            report(row, "done before")
    if todo:
        with _runner(client, workers, retries) as run:
            for item, row, result in run(task, todo, None if folder is None else str(folder)):
                rows[item.key] = row
                if folder is None:
                    results[item.key] = result
                report(row)
    ordered = _complete([rows[item.key] for item in items])
    if folder is not None:
        atomic_write_text(folder / "summary.csv", rows_csv(ordered))
        atomic_write_text(folder / "sweep.json", json.dumps(_record(task, items), indent=1))
    return SweepResult(ordered, items, task, folder, results)


def run_item(task: Task, item: Item, out: str | None) -> tuple[dict[str, Any], Any]:
    """Run ``task`` on one item: load, time, catch, write; the item's summary row and (without ``out``) its result.

    Parameters
    ----------
    task : Task
    item : Item
        With its key (:func:`as_items`).
    out : str, optional
        The sweep's folder: the row and the result's files are written to
        ``out/items/<item.key>/`` atomically, and the result is not
        returned (None in its place).  An item already written there by the
        same task is not run again: its row is returned.

    Returns
    -------
    (dict, object)
        The row (``key, label, status, error, time_s, worker``, the grid
        item's ``param_<name>``, the task's summary) and the result (None
        on error or with ``out``).

    Examples
    --------
    >>> from dynsys import models
    >>> from dynsys.sweep import FixedPoints, FunctionTask
    >>> row, points = run_item(FixedPoints(n_starts=16), as_items([models.duffing()])[0], None)
    >>> row["status"], row["n_fixed"], points
    ('ok', 3, FixedPointSet('duffing', kind='flow', 3 fixed, 0 slow))
    >>> row, _ = run_item(FunctionTask(lambda s: 1 / 0), as_items(["duffing"])[0], None)
    >>> row["status"], row["error"]
    ('error', 'ZeroDivisionError: division by zero')
    """
    if out is not None:
        done = finished(Path(out), task, item)
        if done is not None:
            return done, None
    result, summary, error = None, {}, None
    start = time.perf_counter()
    try:
        with limit_blas_threads(1):
            system = item.load()
            result = task.run(system)
            summary = task.summary(result)
    except Exception as exc:
        result, error = None, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - start
    row = _row(item, error, elapsed, _worker_name(), summary)
    if out is None:
        return row, result
    try:
        _write_item(Path(out), task, item, row, result)
    except Exception as exc:  # a result that cannot be written: the item failed, and says why
        row = _row(item, f"{type(exc).__name__} while writing: {exc}", elapsed, row["worker"], {})
        _write_item(Path(out), task, item, row, None)
    return row, None


def fingerprint(task: Task, item: Item) -> str:
    """What identifies an item's result: a SHA-256 of the task's repr, the item's label, source and params.

    Examples
    --------
    >>> from dynsys.sweep import FixedPoints
    >>> a, b = as_items(["duffing", "lorenz"])
    >>> fingerprint(FixedPoints(), a) == fingerprint(FixedPoints(), a) != fingerprint(FixedPoints(seed=1), a)
    True
    """
    text = "\n".join([repr(task), item.label, item.source, json.dumps(item.params, sort_keys=True)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def finished(out: Path, task: Task, item: Item) -> dict[str, Any] | None:
    """The row of an item already done in ``out`` (status "ok", same :func:`fingerprint`, files present), else None.

    Examples
    --------
    >>> import tempfile
    >>> from dynsys.sweep import FixedPoints
    >>> folder = Path(tempfile.mkdtemp())
    >>> item = as_items(["duffing"])[0]
    >>> finished(folder, FixedPoints(n_starts=16), item) is None
    True
    >>> _ = run_item(FixedPoints(n_starts=16), item, str(folder))
    >>> finished(folder, FixedPoints(n_starts=16), item)["n_fixed"], finished(folder, FixedPoints(), item)
    (3, None)
    """
    directory = out / "items" / item.key
    try:
        row = json.loads((directory / SUMMARY_FILE).read_text(encoding="utf-8"))
        record = json.loads((directory / ITEM_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(row, dict) or not isinstance(record, dict) or row.get("status") != "ok"
            or record.get("fingerprint") != fingerprint(task, item)):
        return None
    if not all((directory / name).is_file() for name in record.get("files", [])):
        return None
    return row


# ---------------------------------------------------------------- where items run
@contextmanager
def _runner(client: Any, workers: int | None, retries: int) -> Iterator[Callable[..., Iterator[tuple]]]:
    """A function running items (serially or on Dask) for the ``with`` block; a cluster started here is closed."""
    if isinstance(client, str) and client == "serial":
        yield _serial
        return
    try:
        import distributed
    except ImportError:
        if client is not None:
            raise ImportError(f"client={client!r} needs dask's distributed: {INSTALL_HINT}") from None
        print(f"dynsys: distributed is not installed, so the sweep runs serially; to run it on Dask: {INSTALL_HINT}",
              file=sys.stderr)
        yield _serial
        return
    if client is None:
        import dask

        # an item's retries after its worker died; one item per thread at a time on a worker (no queue there), so
        # that a worker's death counts only against the item it was running; and the workers without the nanny's
        # MALLOC_TRIM_THRESHOLD_ (setting it also fixes glibc's mmap threshold, so that every numpy temporary over
        # 128 KiB is mapped afresh: searches ran ~1.5x slower per CPU second, benchmarks/bench_sweep.py --dask-default)
        with dask.config.set({"distributed.scheduler.allowed-failures": retries,
                              "distributed.scheduler.worker-saturation": 1.0,
                              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                               processes=True, dashboard_address=":0")
        try:
            with distributed.Client(cluster) as own:
                yield _on_dask(own, retries)
        finally:
            cluster.close()
    elif isinstance(client, str):
        with distributed.Client(client) as own:
            yield _on_dask(own, retries)
    elif isinstance(client, distributed.Client):
        yield _on_dask(client, retries)
    else:
        raise TypeError(f"client must be None, 'serial', a scheduler address or a distributed.Client, got "
                        f"{type(client).__name__}")


def _serial(task: Task, items: list[Item], out: str | None) -> Iterator[tuple[Item, dict[str, Any], Any]]:
    """The items run one after the other in this process."""
    for item in items:
        row, result = run_item(task, item, out)
        yield item, row, result


def _on_dask(client: Any, retries: int) -> Callable[..., Iterator[tuple[Item, dict[str, Any], Any]]]:
    """A runner submitting every item to ``client`` and yielding them as they complete."""
    from distributed import as_completed

    def run(task: Task, items: list[Item], out: str | None) -> Iterator[tuple[Item, dict[str, Any], Any]]:
        _check_picklable(task, items)
        futures = {
            client.submit(run_item, task, item, out, key=f"dynsys-sweep-{item.key}-{os.urandom(6).hex()}",
                          pure=False, retries=retries): item
            for item in items
        }
        for future in as_completed(futures):
            item = futures[future]
            try:
                row, result = future.result()
            except Exception as exc:  # KilledWorker, or a failure outside the task (unpickling, ...)
                row, result = _row(item, f"{type(exc).__name__}: {exc}", 0.0, "", {}), None
                if out is not None:  # unless a worker wrote the item before it died, record the failure
                    written = finished(Path(out), task, item)
                    if written is None:
                        _write_item(Path(out), task, item, row, None)
                    else:
                        row = written
            future.release()
            yield item, row, result

    return run


def _check_picklable(task: Task, items: list[Item]) -> None:
    """Refuse a task or System item that cannot travel to a worker, before anything runs."""
    import cloudpickle

    try:
        cloudpickle.dumps(task)
    except Exception as exc:
        raise TypeError(f"task {task!r} cannot be pickled to send it to the Dask workers ({type(exc).__name__}: "
                        f"{exc}); use a picklable task, or client='serial'") from None
    for item in items:
        if isinstance(item.system, str):
            continue
        try:
            cloudpickle.dumps(item)
        except Exception as exc:
            raise TypeError(f"item {item.key}: its System cannot be pickled to send it to the Dask workers "
                            f"({type(exc).__name__}: {exc}); give it as a model name or file, or use "
                            f"client='serial'") from None


def _worker_name() -> str:
    """The Dask worker's address, or "serial" outside a worker."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "serial"


# ---------------------------------------------------------------- files and rows
def _row(item: Item, error: str | None, elapsed: float, worker: str, summary: dict[str, Any]) -> dict[str, Any]:
    """An item's summary row: the common keys, the grid's parameters, the task's summary."""
    return {
        "key": item.key, "label": item.label, "status": "ok" if error is None else "error", "error": error,
        "time_s": elapsed, "worker": worker,
        **{f"param_{name}": value for name, value in item.params.items()},
        **summary,
    }


def _write_item(out: Path, task: Task, item: Item, row: dict[str, Any], result: Any) -> None:
    """Write the item's folder: its files into a temporary folder, renamed into place (replacing an old one)."""
    parent = out / "items"
    parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{item.key}-", dir=parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o777 & ~umask)  # mkdtemp makes 0700; give the folder the usual mode
        files = task.write(result, temp) if row["status"] == "ok" else []
        (temp / ITEM_FILE).write_text(json.dumps({**item.describe(), "task": repr(task), "files": files,
                                                  "fingerprint": fingerprint(task, item)}), encoding="utf-8")
        (temp / SUMMARY_FILE).write_text(json.dumps(row), encoding="utf-8")
        _replace_folder(temp, parent / item.key)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _replace_folder(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``; an old ``target`` is first renamed aside, then removed."""
    if target.exists():
        aside = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}old-{target.name}-", dir=target.parent))
        try:
            os.replace(target, aside / target.name)
        except FileNotFoundError:  # another writer of the same item got there first
            pass
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(new, target)
    except OSError:  # another writer of the same item renamed its (equal) folder into place meanwhile
        if not (target / SUMMARY_FILE).is_file():
            raise


def _prepare_out(out: str | os.PathLike[str] | None) -> Path | None:
    """The sweep's folder, made, with the temporary folders of an interrupted sweep removed."""
    if out is None:
        return None
    folder = Path(out).absolute()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file, not a folder")
    (folder / "items").mkdir(parents=True, exist_ok=True)
    for leftover in (folder / "items").glob(f"{TEMP_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return folder


def _complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose count columns (``n_...``) that an ok row lacks but another row has are set to 0."""
    counts = [c for c in row_columns(rows) if c.startswith("n_")]
    return [{**row, **{c: 0 for c in counts if c not in row}} if row["status"] == "ok" else row for row in rows]


def row_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of the rows, in the order of first appearance.

    Examples
    --------
    >>> row_columns([{"key": "a", "status": "error"}, {"key": "b", "n_points": 3}])
    ['key', 'status', 'n_points']
    """
    return list(dict.fromkeys(key for row in rows for key in row))


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV text: the columns of :func:`row_columns`, a missing value an empty field.

    Examples
    --------
    >>> print(rows_csv([{"key": "a", "n": 1}, {"key": "b"}]), end="")
    key,n
    a,1
    b,
    """
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=row_columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def _record(task: Task, items: list[Item]) -> dict[str, Any]:
    """``sweep.json``: the task, the items, the versions of Python and the packages."""
    versions = {"python": platform.python_version()}
    for package in ("dynsys-toolkit", "numpy", "scipy", "networkx", "dask", "distributed"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"task": repr(task), "items": [item.describe() for item in items], "versions": versions}


class _Progress:
    """One line on stderr per item completed: ``sweep: [3/10] 0002-rho=1 ok 0.41 s (tcp://...)``."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled

    def __call__(self, row: dict[str, Any], note: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        what = row["status"] if row["status"] == "ok" else f"error ({row['error']})"
        where = note or f"{row['time_s']:.2f} s on {row['worker']}"
        print(f"sweep: [{self.done}/{self.total}] {row['key']} {what}, {where}", file=sys.stderr, flush=True)
