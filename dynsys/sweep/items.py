"""What a sweep runs over: items, each one System to analyse, and parameter grids.

An :class:`Item` names its system in one of two ways:

- a *target* (a string): a built-in model's name or the absolute path of a
  network or TOML model file, loaded where the item runs (on a Dask worker:
  only the name travels) by :func:`dynsys.targets.load_target`;
- a :class:`~dynsys.System` itself, which must then be picklable to travel to
  a worker.

and the parameter values to set on it (:meth:`dynsys.System.with_params`).
:func:`as_items` turns what a user passes into a list of items with stable
keys ``"0003-rho=28"``: the position, then the label made safe for a file
name, so that every item's files have their own folder.
"""
from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..models import MODELS
from ..systems import System
from ..targets import check_target, load_target

SLUG_LENGTH = 60
"""Longest slug of a label in an item's key (the rest is cut)."""

ITEM_HELP = ("network or TOML model files, built-in model names, Systems, (system, params) pairs or Items "
             "(grid(system, rho=[...]) makes a grid)")


@dataclass(frozen=True)
class Item:
    """One system of a sweep: a target or System, the parameter values set on it, a label and a key.

    Attributes
    ----------
    label : str
        What the item is called in tables and figures: a grid point's
        parameters ``"rho=28,beta=2.66667"``, a file's name without its
        suffix, a model's or System's name.
    system : System or str
        The System, or a target: a built-in model's name or a file's
        absolute path, loaded by :func:`dynsys.targets.load_target` where
        the item runs.
    params : dict of str to float
        Parameter values set on the system (:meth:`dynsys.System.with_params`);
        a grid item's coordinates.
    key : str
        ``f"{i:04d}-{slug(label)}"``, ``i`` the item's position in its sweep;
        set by :func:`as_items` (empty before).

    Examples
    --------
    >>> from dynsys import models
    >>> item = Item("rho=0.5", "lorenz", {"rho": 0.5})
    >>> item.load().params["rho"]
    0.5
    >>> as_items([item, models.duffing()])[1].key
    '0001-duffing'
    """

    label: str
    system: System | str
    params: dict[str, float] = field(default_factory=dict)
    key: str = ""

    @property
    def source(self) -> str:
        """The system as text: the target itself, or the System's repr.

        Examples
        --------
        >>> Item("a", "lorenz").source
        'lorenz'
        """
        return self.system if isinstance(self.system, str) else repr(self.system)

    def load(self) -> System:
        """The item's System: its target loaded (or its System), with :attr:`params` set.

        Raises
        ------
        ValueError
            From the loaders (a file that is not a model) or
            :meth:`dynsys.System.with_params` (a parameter the system lacks).

        Examples
        --------
        >>> Item("rho=2", "lorenz", {"rho": 2.0}).load()
        System('lorenz', kind='flow', dim=3, params={sigma=10, rho=2, beta=2.66667})
        """
        system = load_target(self.system) if isinstance(self.system, str) else self.system
        return system.with_params(**self.params) if self.params else system

    def describe(self) -> dict[str, Any]:
        """The item as a JSON-able dict: key, label, source, params (for ``sweep.json``).

        Examples
        --------
        >>> Item("rho=2", "lorenz", {"rho": 2.0}, "0000-rho=2").describe()
        {'key': '0000-rho=2', 'label': 'rho=2', 'source': 'lorenz', 'params': {'rho': 2.0}}
        """
        return {"key": self.key, "label": self.label, "source": self.source, "params": dict(self.params)}


def slug(label: str) -> str:
    """``label`` made safe for a file name: runs of characters other than letters, digits, ``. = + -`` become
    ``_``, at most :data:`SLUG_LENGTH` characters, never empty or starting with a dot.

    Examples
    --------
    >>> slug("rho=28,beta=2.66667")
    'rho=28_beta=2.66667'
    >>> slug("../net 1"), slug("")
    ('net_1', 'item')
    """
    text = re.sub(r"[^A-Za-z0-9.=+-]+", "_", label).lstrip("._")[:SLUG_LENGTH]
    return text or "item"


def params_label(params: Mapping[str, float]) -> str:
    """Parameter values as a label, ``"rho=28,beta=2.66667"`` (each value to 6 significant digits).

    Examples
    --------
    >>> params_label({"rho": 28.0, "beta": 8 / 3})
    'rho=28,beta=2.66667'
    """
    return ",".join(f"{name}={value:g}" for name, value in params.items())


def grid(system: System | str, **values: Sequence[float]) -> list[Item]:
    """The items of a parameter grid: the Cartesian product of each parameter's values.

    Parameters
    ----------
    system : System or str
        The system, or a target (a built-in model's name or a model or
        network file), which is loaded here to check the parameters' names
        and travels to the workers as its name.
    **values : sequence of float
        For each parameter of ``system``, its values (finite; one or more).
        The first parameter varies slowest: ``grid(s, a=[1, 2], b=[3, 4])``
        gives (1, 3), (1, 4), (2, 3), (2, 4).

    Returns
    -------
    list of Item
        ``prod(len(v) for v in values)`` items, with keys, labelled
        ``"a=1,b=3"``.

    Raises
    ------
    ValueError
        No parameters; a name that is not a parameter of ``system``; values
        that are not a non-empty sequence of finite numbers.

    Examples
    --------
    >>> from dynsys import models
    >>> items = grid(models.lorenz(), rho=[0.5, 28], beta=[1, 8 / 3])
    >>> [item.label for item in items]
    ['rho=0.5,beta=1', 'rho=0.5,beta=2.66667', 'rho=28,beta=1', 'rho=28,beta=2.66667']
    >>> items[3].key, items[3].params
    ('0003-rho=28_beta=2.66667', {'rho': 28.0, 'beta': 2.6666666666666665})
    >>> grid("lorenz", r=[1.0])
    Traceback (most recent call last):
    ...
    ValueError: grid: 'r' is not a parameter of lorenz; its parameters are sigma, rho, beta
    """
    if not values:
        raise ValueError("grid: give the values of at least one parameter, e.g. grid(system, rho=[0.5, 28])")
    if isinstance(system, System):
        target: System | str = system
        loaded = system
    elif isinstance(system, (str, os.PathLike)):
        target = _target(system, "grid: system")
        loaded = load_target(target)
    else:
        raise TypeError(f"grid: system must be a System, a model name or a file, got {type(system).__name__}")
    axes = []
    for name, v in values.items():
        if name not in loaded.params:
            raise ValueError(f"grid: {name!r} is not a parameter of {loaded.name}; its parameters are "
                             f"{', '.join(loaded.params) or '(none)'}")
        axes.append(_values(v, name))
    points = [dict(zip(values, map(float, combo))) for combo in itertools.product(*axes)]
    return as_items([Item(params_label(p), target, p) for p in points])


def as_items(items: Any) -> list[Item]:
    """The items of a sweep, each with its key, from what a user passes.

    Parameters
    ----------
    items : sequence, or one item
        Each one of: a network file (``.npz``, ``.pt``, ``.pth``) or TOML
        model file (str or path; labelled by its name without suffix), a
        built-in model's name (``"lorenz"``), a :class:`~dynsys.System`
        (labelled by its name), a pair ``(system, params)`` of a System or
        target and a dict of parameter values (labelled by the values), or
        an :class:`Item`.

    Returns
    -------
    list of Item
        In the given order; item ``i`` has the key ``f"{i:04d}-{slug(label)}"``.
        Files are named by their absolute paths.

    Raises
    ------
    ValueError
        No items; a name that is neither a model nor a file (naming the
        closest model); parameter values that are not finite numbers, or not
        parameters of a System given with them.
    TypeError
        An item of another type (naming its position and type).

    Examples
    --------
    >>> from dynsys import models
    >>> [i.key for i in as_items(["lorenz", (models.lorenz(), {"rho": 0.5}), models.duffing()])]
    ['0000-lorenz', '0001-rho=0.5', '0002-duffing']
    >>> as_items([])
    Traceback (most recent call last):
    ...
    ValueError: items is empty; give network or TOML model files, built-in model names, Systems, (system, params) pairs or Items (grid(system, rho=[...]) makes a grid)
    >>> as_items([3.0])
    Traceback (most recent call last):
    ...
    TypeError: items[0]: a float is not an item; give network or TOML model files, built-in model names, Systems, (system, params) pairs or Items (grid(system, rho=[...]) makes a grid)
    """
    if isinstance(items, (str, os.PathLike, System, Item)):
        items = [items]
    if isinstance(items, Mapping) or not hasattr(items, "__iter__"):
        raise TypeError(f"items must be a list of items, got {type(items).__name__}; give {ITEM_HELP}")
    items = list(items)
    if not items:
        raise ValueError(f"items is empty; give {ITEM_HELP}")
    made = [_as_item(item, f"items[{i}]") for i, item in enumerate(items)]
    return [replace(item, key=f"{i:04d}-{slug(item.label)}") for i, item in enumerate(made)]


def _as_item(item: Any, where: str) -> Item:
    """One item of :func:`as_items`, without its key."""
    if isinstance(item, Item):
        if not isinstance(item.label, str) or not item.label:
            raise ValueError(f"{where}: an Item's label must be a non-empty string, got {item.label!r}")
        system = item.system if isinstance(item.system, System) else _target(item.system, where)
        return Item(item.label, system, _params(item.params, item.system, where))
    if isinstance(item, System):
        return Item(item.name, item)
    if isinstance(item, (str, os.PathLike)):
        target = _target(item, where)
        return Item(target if target in MODELS else Path(target).stem, target)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
        system, params = item
        if not isinstance(system, (System, str, os.PathLike)):
            raise TypeError(f"{where}: the system of a (system, params) pair must be a System, a model name or a "
                            f"file, got {type(system).__name__}")
        target = system if isinstance(system, System) else _target(system, where)
        params = _params(params, system, where)
        name = system.name if isinstance(system, System) else Path(target).stem
        return Item(params_label(params) or name, target, params)
    raise TypeError(f"{where}: a {type(item).__name__} is not an item; give {ITEM_HELP}")


def _target(target: Any, where: str) -> str:
    """A model's name as it is, a file as its absolute path; refuses anything else, naming ``where``."""
    if not isinstance(target, (str, os.PathLike)):
        raise TypeError(f"{where}: a system must be a System, a model name or a file, got {type(target).__name__}")
    name = os.fspath(target)
    if name in MODELS:
        return name
    try:
        check_target(name)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"{where}: {name!r} is not a file")
    return str(path.absolute())


def _params(params: Any, system: Any, where: str) -> dict[str, float]:
    """Parameter values as a dict of finite floats; for a System, names it has."""
    if not isinstance(params, Mapping):
        raise TypeError(f"{where}: params must be a dict of parameter values, got {type(params).__name__}")
    checked = {}
    for name, value in params.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: parameter {name!r} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{where}: parameter {name!r} must be finite, got {value!r}")
        if isinstance(system, System) and name not in system.params:
            raise ValueError(f"{where}: {name!r} is not a parameter of {system.name}; its parameters are "
                             f"{', '.join(system.params) or '(none)'}")
        checked[str(name)] = number
    return checked


def _values(values: Any, name: str) -> np.ndarray:
    """A grid axis: a non-empty 1-D sequence of finite numbers."""
    try:
        axis = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"grid: {name} must be a sequence of numbers, got {values!r}") from None
    if axis.ndim != 1 or axis.size == 0 or not np.all(np.isfinite(axis)):
        raise ValueError(f"grid: {name} must be a non-empty sequence of finite numbers, got {values!r}")
    return axis
