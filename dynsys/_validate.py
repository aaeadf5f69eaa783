"""Argument checks shared by every stage, with messages that name the argument."""
from __future__ import annotations

from typing import Any

import numpy as np


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int, which must be an integer (not a bool) >= ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(value: Any, name: str, *, positive: bool = False, finite: bool = True) -> float:
    """``value`` as a float, which must be >= 0 (> 0 when ``positive``) and
    finite unless ``finite`` is False (then +inf is allowed)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if np.isnan(v) or v < 0 or (positive and v == 0) or (finite and not np.isfinite(v)):
        what = ("finite " if finite else "") + ("number > 0" if positive else "number >= 0")
        raise ValueError(f"{name} must be a {what}, got {value!r}")
    return v


def check_system(system: Any) -> None:
    """Raise TypeError unless ``system`` is a :class:`dynsys.System`."""
    from .systems import System

    if not isinstance(system, System):
        raise TypeError(f"system must be a dynsys.System, got {type(system).__name__}")
