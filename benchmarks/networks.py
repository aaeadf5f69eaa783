"""Networks, starts and measurements shared by the benchmark scripts.

Networks (a :class:`Network` names one; :func:`problem` builds it with its starts):

- trained: a tanh RNN (n = 64, 256) or a GRU (n = 128) trained on the
  3-bit flip-flop, or a GRU (n = 64) trained on the 4-bit flip-flop, by
  ``dynsys.tasks.train``, or an LSTM (H = 64, state (h, c) of 2H = 128)
  trained on the 3-bit or the 4-bit flip-flop by ``train_torch.py`` (PyTorch;
  dynsys's trainer has no LSTM), each with seed 0 (:data:`TRAINED`).  n = 64 tanh is the bundled
  :func:`dynsys.rnn.load_flipflop`; the others are cached in
  ``benchmarks/cache/flipflop_<cell>_<n>.npz`` (3 bits) or
  ``flipflop_<cell>_<n>_<bits>bit.npz`` (git-ignored) and trained
  there by a subprocess when missing.  Starts: states of the network (an
  LSTM's (h, c)) on 128 held-out flip-flop trials of 200 steps, as ``dynsys flipflop``
  samples them, plus N(0, 0.5²) noise per coordinate (the noise of
  FixedPointFinder's flip-flop example).
- random:

  * a GRU or LSTM with PyTorch's initialisation, every weight and bias
    U(-1/√n, 1/√n), 3 inputs;
  * a tanh RNN h' = tanh(W h) and a continuous-time RNN
    τ dx/dt = -x + W tanh(x) with a planted 3-bit memory,
    W = (β/n) Ξ Ξᵀ + (g/√n) G, β = 2, g = 0.5, G_ij ~ N(0, 1) and the
    rows of Ξ (n, 3) running through the 8 sign patterns of {-1, 1}³: its
    fixed points (about a dozen) hardly change with n, which makes it the
    network of the cost-against-n sweep and a stand-in for trained networks
    too large to train here (a plain random network with g > 1 has a number
    of fixed points that grows exponentially with n, most of them reached
    by neither method from a thousand starts).

  Starts: states of 64 trajectories from N(0, I) initial states
  (:func:`dynsys.simulate`: 100 steps of a map, t in [0, 10] for a flow),
  drawn by :func:`dynsys.sample_states`, plus N(0, 0.5²) noise.
- model: the Lorenz system, starts a Latin hypercube in ``lorenz().bounds``.

Every draw is seeded.  Measurements: :func:`peak_memory` (tracemalloc, to
which numpy reports its allocations) and :func:`wall_time`; :func:`machine`
describes the computer for the JSON reports.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy
from scipy.stats import qmc

from dynsys import rnn
from dynsys.models import lorenz
from dynsys.simulate import sample_states, simulate
from dynsys.systems import System
from dynsys.tasks.flipflop import generate

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "cache"
RESULTS_DIR = BENCH_DIR / "results"
BITS = 3  # flip-flop channels of a Network unless it names others
NOISE = 0.5  # per coordinate, as in FixedPointFinder's flip-flop example
# the trained networks (cell, n, bits), with the options of their ``dynsys.tasks.train`` command beyond the
# cell, size, bits and seed (an LSTM's n is its hidden units H)
TRAINED = {("rnn_tanh", 64, 3): [], ("rnn_tanh", 256, 3): [], ("gru", 128, 3): [], ("gru", 64, 4): [],
           ("lstm", 64, 3): [], ("lstm", 64, 4): []}
TORCH_TRAINED = ("lstm",)  # cells trained by train_torch.py, not by dynsys.tasks.train
RANDOM_CELLS = ("rnn_tanh", "gru", "lstm", "continuous")
MB = 1e6


@dataclass(frozen=True)
class Network:
    """Which system: ``cell`` of :mod:`dynsys.rnn` with ``n`` units, trained or random, or ``cell="lorenz"``.

    Attributes
    ----------
    cell : {"rnn_tanh", "gru", "lstm", "continuous", "lorenz"}
    n : int
        Hidden units (3 for Lorenz; an LSTM's state has 2n coordinates, h and c).
    origin : {"trained", "random", "model"}
        "trained": on the ``bits``-bit flip-flop by ``dynsys.tasks.train`` (an LSTM by ``train_torch.py``)
        (only the triples (cell, n, bits) in :data:`TRAINED`); "random": as
        the module docstring says; "model": Lorenz.
    bits : int
        Flip-flop channels (default :data:`BITS`): of the task a trained
        network learnt, the inputs of a random GRU or LSTM, the planted
        memory of a random tanh or continuous network.
    """

    cell: str
    n: int
    origin: str
    bits: int = BITS

    def __post_init__(self) -> None:
        if self.origin == "trained" and (self.cell, self.n, self.bits) not in TRAINED:
            raise ValueError(f"no trained {self.cell} network with n = {self.n} on {self.bits} bits; "
                             f"trained ones (cell, n, bits): {sorted(TRAINED)}")
        if self.origin == "random" and self.cell not in RANDOM_CELLS:
            raise ValueError(f"no random {self.cell!r} network; random cells: {RANDOM_CELLS}")
        if (self.origin == "model") != (self.cell == "lorenz") or self.origin not in ("trained", "random", "model"):
            raise ValueError(f"origin must be 'trained' or 'random' for a cell, 'model' for lorenz, got {self!r}")

    @property
    def family(self) -> str:
        """What kind of network this is and where it comes from, without its size."""
        if self.origin == "model":
            return "Lorenz system (sigma 10, rho 28, beta 8/3)"
        if self.origin == "trained":
            trainer = "train_torch.py" if self.cell in TORCH_TRAINED else "dynsys.tasks.train"
            return f"{self.cell} trained on the {self.bits}-bit flip-flop ({trainer}, seed 0)"
        return {
            "rnn_tanh": f"random tanh RNN, planted {self.bits}-bit memory (beta 2) + N(0, 0.25/n) bulk",
            "gru": "random GRU, PyTorch init U(-1/sqrt(n), 1/sqrt(n))",
            "lstm": "random LSTM, PyTorch init U(-1/sqrt(n), 1/sqrt(n))",
            "continuous": f"random continuous-time RNN, planted {self.bits}-bit memory (beta 2) + N(0, 0.25/n) bulk",
        }[self.cell]

    def describe(self) -> str:
        """One line: :attr:`family` and the number of units."""
        return self.family if self.origin == "model" else f"{self.family}, n = {self.n}"


@dataclass(frozen=True, eq=False)
class Problem:
    """A system and the starts to search it from.

    Attributes
    ----------
    network : Network
    system : System
    starts : ndarray of shape (B, dim)
    how : str
        How the starts were drawn.
    fingerprint : str
        sha256 of the system's weights (or parameters) and the starts: two
        problems with the same fingerprint are the same search.
    """

    network: Network
    system: System
    starts: np.ndarray
    how: str
    fingerprint: str


def problem(network: Network, n_starts: int, seed: int = 0) -> Problem:
    """``network`` built, with ``n_starts`` starts drawn as the module docstring says (seeded by ``seed``)."""
    if network.origin == "model":
        system = lorenz()
        box = system.bounds
        starts = qmc.scale(qmc.LatinHypercube(d=3, rng=np.random.default_rng(seed)).random(n_starts), *box.T)
        return Problem(network, system, starts, "Latin hypercube in lorenz().bounds",
                       _fingerprint(system.params, starts))
    cell = flipflop_cell(network.cell, network.n, network.bits) if network.origin == "trained" \
        else random_cell(network, seed)
    system = cell.system()
    if network.origin == "trained":
        trials = generate(128, 200, bits=network.bits, seed=1234 + seed)  # held-out trials, as the flip-flop job's
        states = cell.run(trials.inputs)
        how = f"hidden states on 128 flip-flop trials of 200 steps + N(0, {NOISE}^2) noise"
    else:
        x0 = np.random.default_rng(seed).standard_normal((64, system.dim))
        states = simulate(system, x0, steps=100) if system.kind == "map" else simulate(system, x0, (0.0, 10.0))
        how = f"states of 64 trajectories from N(0, I) + N(0, {NOISE}^2) noise"
    starts = sample_states(states, n_starts, noise=NOISE, seed=seed + 1)
    return Problem(network, system, starts, how, _fingerprint(cell.state_dict(), starts))


def cache_path(cell: str, n: int, bits: int = BITS) -> Path:
    """Where the trained network (cell, n, bits) is cached: ``flipflop_<cell>_<n>.npz`` for 3 bits,
    ``flipflop_<cell>_<n>_<bits>bit.npz`` otherwise."""
    return CACHE_DIR / (f"flipflop_{cell}_{n}.npz" if bits == 3 else f"flipflop_{cell}_{n}_{bits}bit.npz")


def flipflop_cell(cell: str, n: int, bits: int = BITS) -> rnn.RNNCell:
    """The network trained on the ``bits``-bit flip-flop: bundled (tanh, 64, 3) or cached, trained now when missing
    (an LSTM by ``train_torch.py``, the others by ``dynsys.tasks.train``)."""
    if (cell, n, bits) == ("rnn_tanh", 64, 3):
        return rnn.load_flipflop()
    path = cache_path(cell, n, bits)
    if not path.is_file():
        trainer = [str(BENCH_DIR / "train_torch.py")] if cell in TORCH_TRAINED else \
            ["-m", "dynsys.tasks.train", "flipflop", "--cell", cell]
        command = [sys.executable, *trainer, "--bits", str(bits), "--hidden", str(n), "--seed", "0",
                   *TRAINED[cell, n, bits], "--out", str(path)]
        print(f"{path} is missing: training it with {' '.join(command[1:])}", flush=True)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(command, cwd=BENCH_DIR.parent, check=True)
    return rnn.load(path)


def random_cell(network: Network, seed: int) -> rnn.RNNCell:
    """The random network of ``network`` (see the module docstring), seeded."""
    n, bits, rng = network.n, network.bits, np.random.default_rng(seed)
    if network.cell in ("continuous", "rnn_tanh"):
        patterns = np.resize(np.array(list(itertools.product((-1.0, 1.0), repeat=bits))), (n, bits))
        W = 2.0 / n * patterns @ patterns.T + 0.5 / np.sqrt(n) * rng.standard_normal((n, n))
        return rnn.from_state_dict({"weight_ih_l0": np.zeros((n, bits)), "weight_hh_l0": W}, network.cell)
    G, k = {"gru": 3, "lstm": 4}[network.cell], 1.0 / np.sqrt(n)
    shapes = {"weight_ih_l0": (G * n, bits), "weight_hh_l0": (G * n, n), "bias_ih_l0": (G * n,), "bias_hh_l0": (G * n,)}
    return rnn.from_state_dict({key: rng.uniform(-k, k, shape) for key, shape in shapes.items()}, network.cell)


def _fingerprint(weights: dict[str, Any], starts: np.ndarray) -> str:
    digest = hashlib.sha256()
    for key in sorted(weights):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(weights[key], dtype=float).tobytes())
    digest.update(np.ascontiguousarray(starts, dtype=float).tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------------ measurements
def wall_time(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and its wall time in seconds."""
    clock = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - clock


def cpu_median(fn: Callable[[], Any], repeat: int, warm_up: bool = True) -> tuple[Any, float]:
    """The result of ``fn()`` and the median CPU time (``time.process_time``, seconds) of ``repeat`` calls,
    after one untimed call when ``warm_up``."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
    return result, statistics.median(times)


def peak_memory(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and the peak of the memory it allocated, in MB (10^6 bytes).

    Measured by tracemalloc (numpy reports its array allocations to it): the
    peak of the traced memory during the call, minus what was allocated
    before it.  tracemalloc slows allocation-heavy code down, so time the
    call in a separate, untraced run (:func:`wall_time`).
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        result = fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()
    return result, peak / MB


def machine() -> dict[str, Any]:
    """The computer and the library versions, for the reports."""
    cpu = platform.processor() or platform.machine()
    memory_gb = None
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as f:
            memory_gb = round(int(f.readline().split()[1]) * 1024 / 1e9, 1)  # MemTotal, in kB
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version', '')}".strip()
    except (KeyError, TypeError):
        blas = "unknown"
    return {
        "cpu": cpu,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": memory_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": blas,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS"),
    }


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (numpy scalars and arrays converted), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=_plain) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def format_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table, columns right-aligned to their widest cell."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def report(benchmark: str, quick: bool, out_dir: Path, headers: list[str], rows: list[list[Any]],
           records: list[dict[str, Any]], targets: list[tuple[str, str]], argv: list[str] | None) -> Path:
    """Print a benchmark's table and its PASS/FAIL targets; write them with the machine and the command to
    ``out_dir / "<benchmark>[_quick].json"``."""
    print(format_table(headers, rows))
    for status, what in targets:
        print(f"{status}: {what}")
    return write_json(out_dir / (f"{benchmark}_quick.json" if quick else f"{benchmark}.json"), {
        "benchmark": benchmark, "quick": quick, "machine": machine(), "cases": records,
        "targets": [{"status": s, "what": w} for s, w in targets],
        "command": " ".join(["python", f"benchmarks/bench_{benchmark}.py", *(argv or sys.argv[1:])]),
    })
