"""File helpers: atomic writing (a reader never sees a half-written file) and exact JSON encoding of arrays."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it into place.

    The rename (``os.replace``) is atomic on POSIX and Windows, so ``path``
    holds either its old content or the complete new one.  On any error the
    temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def encode_array(a: np.ndarray) -> dict[str, Any]:
    """An array as JSON-ready ``{"dtype", "shape", "data"}`` (complex entries as [re, im]); exact."""
    data = a.ravel()
    values = np.stack([data.real, data.imag], axis=-1).tolist() if np.iscomplexobj(data) else data.tolist()
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": values}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    """The array that :func:`encode_array` encoded (numeric and unicode dtypes only)."""
    dtype = np.dtype(d["dtype"])
    if dtype.kind not in "biufcU":
        raise ValueError(f"arrays of dtype {dtype} are not allowed")
    if dtype.kind == "c":
        pairs = np.array(d["data"], dtype=float).reshape(-1, 2)
        data = np.empty(len(pairs), dtype=dtype)
        data.real, data.imag = pairs[:, 0], pairs[:, 1]
    else:
        data = np.array(d["data"], dtype=dtype)
    return data.reshape(d["shape"])
