"""What the jobs share for reading the command line: checks, budgets, network files.

Every check runs before anything is computed and refuses bad input with a
:class:`UsageError`, which :func:`dynsys.cli.main` reports in one line
with exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from .. import rnn
from .._budget import Deadline
from ..systems import System

DEFAULT_MAX_TIME = 600.0  # seconds: the wall-clock budget of the search and the graph of one command

MAX_TIME_HELP = (
    f"wall-clock budget of the run's search and graph (default {DEFAULT_MAX_TIME:g}; inf for none); when it runs out "
    "the points and branches found so far are reported, with a note on stderr"
)
CELL_HELP = "cell of the network: needed for a single-gate layer (tanh or relu); GRU and LSTM are inferred"
READOUT_HELP = "module name of the network's readout (fc: fc.weight, fc.bias) when several layers could be it"
INPUT_HELP = "analyse the network with its input held at these values, one per input (default zeros)"


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2.

    Examples
    --------
    >>> try:
    ...     check_counts(argparse.Namespace(n_starts=0))
    ... except UsageError as err:
    ...     print(err)
    --n-starts must be at least 1, got 0
    """


def check_output_paths(out: str | None = None, files: dict[str, tuple[str | None, Sequence[str]]] | None = None) -> None:
    """Refuse output paths that cannot be written, before anything is computed.

    Parameters
    ----------
    out : str, optional
        The ``--out`` folder: an existing folder we may write into, or a
        path whose nearest existing ancestor is such a folder.
    files : dict, optional
        Option name -> (path or None, allowed suffixes): a file path whose
        suffix is allowed, that is not a folder, and whose folder exists
        and is writable.

    Raises
    ------
    UsageError
        Naming the option and what is wrong with its path.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_output_paths(folder + "/new_run", {"--json": (folder + "/points.json", (".json",))})
    >>> check_output_paths(files={"--json": (folder + "/points.txt", (".json",))})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --json: '.../points.txt' must end in .json
    """
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out: {out!r} is a file, not a folder")
        existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise UsageError(f"--out: cannot write into {str(existing)!r}")
    for option, (name, suffixes) in (files or {}).items():
        if name is None:
            continue
        path = Path(name)
        if path.suffix.lower() not in suffixes:
            raise UsageError(f"{option}: {name!r} must end in {' or '.join(suffixes)}")
        folder = path.absolute().parent
        if not folder.is_dir():
            raise UsageError(f"{option}: the folder {str(folder)!r} of {name!r} does not exist")
        if path.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"{option}: cannot write the file {name!r}")


def check_counts(args: argparse.Namespace) -> None:
    """``--n-starts`` is a positive count, checked before anything is loaded or computed.

    Examples
    --------
    >>> check_counts(argparse.Namespace(n_starts=512))
    >>> check_counts(argparse.Namespace(n_starts=0))
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --n-starts must be at least 1, got 0
    """
    if args.n_starts < 1:
        raise UsageError(f"--n-starts must be at least 1, got {args.n_starts}")


def time_budget(args: argparse.Namespace, start: float) -> Deadline:
    """The ``--max-time`` of a command, counted from ``start`` (a ``time.perf_counter()``).

    Examples
    --------
    >>> import time
    >>> budget = time_budget(argparse.Namespace(max_time=60.0), time.perf_counter())
    >>> 59 < budget.left() <= 60
    True
    """
    return Deadline(args.max_time, "--max-time", start)


def read_network(path: Path, cell: str | None, readout: str | Literal[False] | None) -> rnn.RNNCell:
    """:func:`dynsys.rnn.load_network`, its warnings (readout used, keys not used) printed as notes.

    Raises
    ------
    UsageError
        When the cell of a single-gate layer cannot be told from its
        weights: the message names the ``--cell`` choices.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "net.npz"
    >>> np.savez(path, weight_ih_l0=np.eye(2), weight_hh_l0=2 * np.eye(2))
    >>> read_network(path, "rnn_tanh", None)
    VanillaRNN(cell='rnn_tanh', hidden_size=2, input_size=2)
    >>> read_network(path, None, None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: .../net.npz: ... (the weights cannot tell): --cell rnn_tanh or --cell rnn_relu
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            network = rnn.load_network(path, cell=cell, readout=readout)
        except rnn.AmbiguousCellError as err:
            raise UsageError(f"{path}: {err.reason}: " + " or ".join(f"--cell {c}" for c in err.choices)) from None
    for w in caught:
        print(f"dynsys: note: {w.message}", file=sys.stderr)
    return network


def input_vector(spec: str | None, network: rnn.RNNCell, option: str = "--input") -> np.ndarray | None:
    """The values of ``--input "1,0,0"`` (or of ``option``), one per input of ``network``; None when not given.

    Raises
    ------
    UsageError
        When ``spec`` is not as many finite numbers as ``network`` has inputs.

    Examples
    --------
    >>> from dynsys import rnn
    >>> network = rnn.VanillaRNN(np.eye(3), np.eye(3))
    >>> input_vector("1,0,-0.5", network)
    array([ 1. ,  0. , -0.5])
    >>> input_vector("1,0", network)
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --input: 2 values given; the network has 3 inputs
    """
    if spec is None:
        return None
    try:
        u = np.array([float(v) for v in spec.split(",")])
    except ValueError:
        raise UsageError(f"{option}: cannot read {spec!r}; write numbers separated by commas, e.g. 1,0,0") from None
    if u.shape != (network.input_size,):
        raise UsageError(f"{option}: {u.size} values given; the network has {network.input_size} inputs")
    if not np.all(np.isfinite(u)):
        raise UsageError(f"{option}: every value must be finite, got {spec!r}")
    return u


def network_system(network: rnn.RNNCell, input: str | None, along: str | None) -> System:
    """The network at the input ``--input`` (zeros when None), continued ``--along`` a direction when given
    (:meth:`dynsys.rnn.RNNCell.system`: the one parameter ``s``).

    Raises
    ------
    UsageError
        For values that are not one finite number per input, or a zero direction.

    Examples
    --------
    >>> from dynsys import rnn
    >>> network = rnn.VanillaRNN(np.eye(2), 2 * np.eye(2))
    >>> network_system(network, "0.5,0", "1,0").params
    {'s': 0.0}
    >>> network_system(network, None, "0,0")
    Traceback (most recent call last):
    ...
    dynsys.cli.inputs.UsageError: --along: the direction must not be zero, got '0,0'
    """
    direction = input_vector(along, network, "--along")
    if direction is not None and not np.any(direction):
        raise UsageError(f"--along: the direction must not be zero, got {along!r}")
    return network.system(input_vector(input, network), along=direction)
