"""The ``dynsys models`` job: the built-in models (:mod:`dynsys.models`), one line each."""
from __future__ import annotations

import argparse

from ..models import MODELS, get_model

HELP = "list the built-in models"
DESCRIPTION = "List the built-in models with their kind (flow or map), dimension and default parameters."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dynsys models``: none.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="dynsys models")
    >>> add_arguments(parser)
    >>> parser.parse_args([])
    Namespace()
    """


def run(args: argparse.Namespace) -> int:
    """Print each built-in model's name, kind, dimension and parameters; the exit status (0).

    Examples
    --------
    >>> run(argparse.Namespace())  # doctest: +ELLIPSIS
    brusselator      flow n=2   A=1, B=3
    duffing          flow n=2   delta=0.3, alpha=-1, beta=1
    ...
    lorenz           flow n=3   sigma=10, rho=28, beta=2.66667
    ...
    0
    """
    for name in sorted(MODELS):
        system = get_model(name)
        params = ", ".join(f"{k}={v:g}" for k, v in system.params.items())
        print(f"{name:16s} {system.kind:4s} n={system.dim:<3d} {params}")
    return 0
