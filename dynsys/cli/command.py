"""The dynsys command line: the parser, the dispatch to the jobs, the exit statuses.

    dynsys analyze MODEL_OR_FILE [--param k=v ...] [--bounds=LO:HI,...] [--json OUT] [--graph OUT] [--out DIR]
                   [--no-cycles] [--cycle-time SECONDS] [--certify | --all-in-box [--max-boxes N]]
    dynsys analyze NETWORK.npz|NETWORK.pt [--cell CELL] [--readout NAME] [--input U1,U2,...] ...
    dynsys flipflop [--model FILE.npz|FILE.pt [--cell CELL] [--readout NAME]] [--train] [--input U1,...] ...
    dynsys continue MODEL_OR_FILE --param NAME --span=LO:HI [--x0 X1,X2,... | --from-point K] [--cycles] [--out DIR]
    dynsys sweep MODELS_OR_FILES... | --grid MODEL --param NAME=LO:HI:N ... [--task TASK] [--serial | --scheduler ADDRESS]
                 [--workers N] --out DIR
    dynsys models

``analyze`` finds and classifies the fixed and slow points of a built-in
model (see ``dynsys models``), of a system declared in a TOML file or of a
recurrent network (see dynsys.rnn.load_network) at a constant input, and
the attracting cycles of a flow, prints them as tables and optionally writes
them as JSON, the transition graph and a report (:mod:`dynsys.cli.analyze`).
``continue`` follows the fixed points in a parameter (and with ``--cycles``
the cycles born at the Hopf points) and prints their special points, or
writes the bifurcation diagram (:mod:`dynsys.cli.continue_`).  ``sweep`` runs
one of these analyses over many models, files or a parameter grid on Dask and
compares the items (:mod:`dynsys.cli.sweep`).  ``flipflop`` opens a
recurrent network trained on the n-bit flip-flop (the bundled one by
default; see :mod:`dynsys.cli.flipflop`).  Exit status: 0 when done (a result
cut short by ``--max-time`` says so on stderr), 2 for bad input, 1 for a
computation that cannot finish within its limits; every error is one line
on stderr.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__
from . import analyze, continue_, flipflop, models, sweep
from .inputs import UsageError

JOBS = {"analyze": analyze, "continue": continue_, "flipflop": flipflop, "sweep": sweep, "models": models}
"""The jobs by command name: each module has ``HELP``, ``DESCRIPTION``, ``add_arguments`` and ``run``."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynsys",
        description="Fixed points, slow points, their stability and the saddles between attractors, for "
        "dynamical systems and trained recurrent networks.",
        epilog="Bad input exits with status 2 and a one-line message. Run 'dynsys COMMAND --help' for a command's "
        "options.",
    )
    parser.add_argument("--version", action="version", version=f"dynsys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, job in JOBS.items():
        job.add_arguments(sub.add_parser(name, help=job.HELP, description=job.DESCRIPTION))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynsys`` console script; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``dynsys``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 when done (a result cut short by ``--max-time`` says so on
        stderr), 2 for bad input (:class:`~dynsys.cli.inputs.UsageError`,
        ``ValueError``, ``OSError``), 1 for a computation that cannot finish
        within its limits (``RuntimeError``); every error is one line on
        stderr.  ``--help`` and ``--version`` exit through ``SystemExit``,
        as argparse does.

    Examples
    --------
    >>> main(["analyze", "duffing", "--n-starts", "0"])  # one line on stderr
    2
    >>> try:
    ...     main(["--version"])
    ... except SystemExit as done:
    ...     print("exit status", done.code)  # doctest: +ELLIPSIS
    dynsys ...
    exit status 0
    """
    args = _build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return JOBS[args.command].run(args)
    except (UsageError, ValueError, OSError) as exc:  # bad input: the usage status
        print(f"dynsys: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a computation that cannot finish within its limits (e.g. simulate's max_steps)
        print(f"dynsys: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
