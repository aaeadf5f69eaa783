"""Targets: a built-in model's name, a TOML model file or a network file, turned into a System.

What ``dynsys analyze``, ``dynsys continue`` and the sweeps (:mod:`dynsys.sweep`, whose
workers load their items from names and files) accept as "the system to analyse":

- the name of a built-in model (:data:`dynsys.models.MODELS`, ``"lorenz"``);
- a network file (``.npz``, ``.pt``, ``.pth``: :func:`dynsys.rnn.load_network`), analysed
  with its input at zero (:meth:`dynsys.rnn.RNNCell.system`);
- any other file: a system declared in TOML (:func:`dynsys.models.load_system`).
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from . import rnn
from .models import MODELS, get_model, load_system
from .systems import System

NETWORK_SUFFIXES = (".npz", ".pt", ".pth")
"""The suffixes of network files (an ``.npz`` of a state_dict, a PyTorch checkpoint)."""


class UnknownTargetError(ValueError):
    """A target that is neither a built-in model nor an existing file; the message names the closest model.

    Examples
    --------
    >>> try:
    ...     load_target("lorentz")
    ... except UnknownTargetError as err:
    ...     print(str(err)[:62])
    'lorentz' is neither a built-in model nor a TOML or network fi
    """


def is_network_file(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a network file (.npz, .pt, .pth) rather than a built-in model or TOML file.

    Examples
    --------
    >>> is_network_file("net.pt"), is_network_file("lorenz"), is_network_file("model.toml")
    (True, False, False)
    """
    return os.fspath(target) not in MODELS and Path(target).suffix.lower() in NETWORK_SUFFIXES


def check_target(target: str | os.PathLike[str]) -> None:
    """Refuse a target that names neither a built-in model nor an existing file (a TOML file may be missing:
    :func:`dynsys.models.load_system` says so when it is read).

    Raises
    ------
    UnknownTargetError
        With the closest model's name and the list of models.

    Examples
    --------
    >>> check_target("duffing")
    >>> check_target("dufing")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynsys.targets.UnknownTargetError: 'dufing' is neither ... file; did you mean duffing? built-in models: ...
    """
    name = os.fspath(target)
    path = Path(name)
    if name in MODELS or is_network_file(name) or path.suffix.lower() == ".toml" or path.exists():
        return
    close = difflib.get_close_matches(name.lower(), list(MODELS), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UnknownTargetError(
        f"{name!r} is neither a built-in model nor a TOML or network file; {hint}"
        f"built-in models: {', '.join(sorted(MODELS))} (see dynsys models)"
    )


def load_target(target: str | os.PathLike[str], *, cell: str | None = None) -> System:
    """The System a target names: a built-in model, a network file at input zero, or a TOML model file.

    Parameters
    ----------
    target : str or path-like
        A name of :data:`dynsys.models.MODELS` (with its default
        parameters), a network file (``.npz``, ``.pt``, ``.pth``), or a
        TOML model file.
    cell : str, optional
        A network file's cell, when its weights cannot tell
        (:func:`dynsys.rnn.load_network`); only for network files.

    Returns
    -------
    System
        A network is loaded without its readout (the dynamics need none)
        and returned as ``network.system()``: its map (or flow) with the
        inputs held at zero.

    Raises
    ------
    UnknownTargetError
        For a name that is neither a model nor a file.
    ValueError
        ``cell`` given for a model or TOML file; a file that is not what
        its suffix says (the loaders' messages).

    Examples
    --------
    >>> load_target("duffing")
    System('duffing', kind='flow', dim=2, params={delta=0.3, alpha=-1, beta=1})
    >>> import tempfile
    >>> path = rnn.load_flipflop().save(Path(tempfile.mkdtemp()) / "flipflop.npz")
    >>> load_target(path)
    System('rnn_tanh(H=64)', kind='map', dim=64, params={})
    """
    check_target(target)
    if is_network_file(target):
        return rnn.load_network(target, cell=cell, readout=False).system()
    if cell is not None:
        raise ValueError(f"cell: only for a network file ({', '.join(NETWORK_SUFFIXES)}), not {os.fspath(target)!r}")
    name = os.fspath(target)
    return get_model(name) if name in MODELS else load_system(name)
