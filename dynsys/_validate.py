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


def check_real_array(value: Any, name: str, *, finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array of real numbers, else ValueError naming ``name``.

    Booleans, integers and real floats are converted.  Complex numbers are
    refused (converting would drop the imaginary part), and so are dates,
    text and objects; with ``finite``, NaN and infinities too (the message
    counts them and gives the first index).

    Examples
    --------
    >>> check_real_array([1, 2.5], "starts")
    array([1. , 2.5])
    >>> check_real_array([1 + 2j], "starts")
    Traceback (most recent call last):
    ...
    ValueError: starts must be real, got complex values (complex128); pass the real part (.real) if that is meant
    """
    try:
        arr = np.asarray(value)
        if arr.dtype.kind == "O":  # Python ints beyond int64, or ragged lists
            arr = np.array(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an array of real numbers, got {type(value).__name__}") from None
    if arr.dtype.kind == "c":
        raise ValueError(
            f"{name} must be real, got complex values ({arr.dtype}); pass the real part (.real) if that is meant"
        )
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(float)
    if finite:
        bad = ~np.isfinite(arr)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name} has {int(bad.sum())} non-finite entries (NaN or inf), the first at index {first}")
    return arr


def check_interval(pair: Any, name: str, ends: tuple[str, str] = ("lo", "hi")) -> tuple[float, float]:
    """``pair`` as finite floats (a, b) with a < b, else a ValueError naming ``name`` and its ends."""
    a, b = ends
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair ({a}, {b}) of numbers, got {pair!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with {a} < {b}, got {pair!r}")
    return lo, hi
