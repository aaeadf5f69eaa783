"""File helpers: atomic writing, size-checked reading of ``.npz`` archives, and strict JSON.

* :func:`atomic_write`: a reader never sees a half-written file.
* :func:`read_npz`: the one ``.npz`` reader of every loader.  It reads each
  member's ``.npy`` header before allocating anything and refuses, with a
  ValueError naming the file, archives that are not what they claim or that
  would need more memory than :data:`MAX_NPZ_BYTES` (or expand more than
  :data:`MAX_EXPANSION`-fold from their compressed size: a zip bomb).
* :func:`loads_json`: ``json.loads`` with a nesting limit
  (:data:`MAX_JSON_DEPTH`), checked before parsing.
* :class:`SavedResult`, :func:`save_npz`, :func:`load_npz`: exact round trips of
  results (branches, periodic orbits) through JSON and ``.npz``.
* :func:`encode_array` / :func:`decode_array`: exact JSON of arrays;
  :func:`finite_json` / :func:`restore_nonfinite` spell non-finite floats
  as ``{"$float": "nan" | "inf" | "-inf"}`` so the text is standard JSON
  (``json.dumps(..., allow_nan=False)`` accepts it).
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

#: Most bytes the arrays of one ``.npz`` may take in memory, all members together.
#: 1 GiB holds a float64 LSTM of 5,000 hidden units (4 x 5000^2 x 8 bytes = 0.8 GB).
MAX_NPZ_BYTES = 2**30
#: Most a member larger than :data:`EXPANSION_SLACK` may grow from its
#: compressed size: arrays of numbers deflate 1-10 fold, a zip bomb of
#: zeros about 1000 fold.
MAX_EXPANSION = 100
EXPANSION_SLACK = 2**24
#: Deepest nesting of lists and objects :func:`loads_json` accepts.
MAX_JSON_DEPTH = 100
#: The dtype kinds an array read from a file may have: bool, integers, floats, complex, unicode.
ARRAY_KINDS = "biufcU"
NONFINITE_KEY = "$float"

_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)', re.S)  # an unclosed string runs to the end: linear time


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
    """The array that :func:`encode_array` encoded (dtypes of :data:`ARRAY_KINDS` only).

    Raises
    ------
    ValueError
        ``d`` is not such an encoding (missing keys, a bad dtype or shape,
        data that do not fit them).
    """
    if not isinstance(d, dict) or not {"dtype", "shape", "data"} <= set(d):
        raise ValueError(f"an encoded array is an object with dtype, shape and data, got {type(d).__name__}")
    if not isinstance(d["data"], list) or not isinstance(d["shape"], list):
        raise ValueError("an encoded array's data and shape must be lists")
    if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in d["shape"]):
        raise ValueError(f"shape {d['shape']!r} is not a list of sizes")
    if not isinstance(d["dtype"], str):
        raise ValueError(f"dtype must be a string, got {d['dtype']!r}")
    dtype = check_dtype(d["dtype"])
    if dtype.kind == "c":
        pairs = checked_array(d["data"], np.finfo(dtype).dtype).reshape(-1, 2)
        data = np.empty(len(pairs), dtype=dtype)
        data.real, data.imag = pairs[:, 0], pairs[:, 1]
    else:
        data = checked_array(d["data"], dtype)
    if data.size != math.prod(d["shape"]):
        raise ValueError(f"{data.size} values for shape {tuple(d['shape'])}")
    return data.reshape(d["shape"])


def _size(n: int) -> str:
    """A byte count for messages: "74.5 GiB"."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def read_npz(path: str | os.PathLike[str], max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive, read without pickles and with sizes checked first.

    Parameters
    ----------
    path : path-like
    max_bytes : int, optional
        Most bytes all arrays together may take; :data:`MAX_NPZ_BYTES` when
        not given.

    Returns
    -------
    dict of str to ndarray
        One array per ``NAME.npy`` member, under ``NAME``.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    ValueError
        Naming the file and the problem: empty, a single ``.npy`` array, not
        a zip archive, truncated or corrupt (CRC), a member that is not an
        ``.npy`` array, an array of objects or another dtype outside
        :data:`ARRAY_KINDS`, a header claiming more data than its member
        holds, or members larger than ``max_bytes`` or expanding more than
        :data:`MAX_EXPANSION`-fold.  Every size is checked from the zip
        directory and the ``.npy`` headers before an array is allocated.
    """
    path = Path(path)
    limit = MAX_NPZ_BYTES if max_bytes is None else max_bytes
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    with path.open("rb") as fh:
        head = fh.read(len(_NPY_MAGIC))
    if not head:
        raise ValueError(f"{str(path)!r} is empty, not an .npz file")
    if head == _NPY_MAGIC:
        raise ValueError(f"{str(path)!r} is a single .npy array, not an .npz file of named arrays")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > limit:
                raise ValueError(f"its arrays take {_size(total)}, more than the limit of {_size(limit)}")
            return {_member_name(m): _read_member(archive, m) for m in members}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as err:
        raise ValueError(f"{str(path)!r} is not an .npz file (unreadable or corrupt): {err}") from None
    except ValueError as err:
        raise ValueError(f"{str(path)!r} is not an .npz file of arrays: {err}") from None


def _member_name(member: zipfile.ZipInfo) -> str:
    if not member.filename.endswith(".npy"):
        raise ValueError(f"member {member.filename!r} is not an .npy array")
    return member.filename[: -len(".npy")]


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member: header first, then exactly the bytes it announces, into a fresh array."""
    name = member.filename
    if member.file_size > EXPANSION_SLACK and member.file_size > MAX_EXPANSION * member.compress_size:
        raise ValueError(
            f"member {name!r} expands from {_size(member.compress_size)} to {_size(member.file_size)}, "
            f"more than {MAX_EXPANSION}-fold"
        )
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version not in _NPY_HEADERS:
            raise ValueError(f"member {name!r} has .npy format version {version}, not 1.0 or 2.0")
        shape, fortran_order, dtype = _NPY_HEADERS[version](f)
        try:
            check_dtype(dtype)
        except ValueError:
            raise ValueError(f"member {name!r} holds an array of dtype {dtype}; only numbers and text are read") from None
        count = math.prod(shape)
        need, holds = count * dtype.itemsize, member.file_size - f.tell()
        if need > holds:
            raise ValueError(
                f"member {name!r} claims an array of shape {shape} ({dtype}, {_size(need)}) "
                f"but holds {_size(max(holds, 0))}"
            )
        arr = np.empty(count, dtype=dtype)
        view, done = memoryview(arr.view(np.uint8)), 0
        while done < need:
            got = f.readinto(view[done:])
            if not got:
                raise ValueError(f"member {name!r} is truncated")
            done += got
    return arr.reshape(shape, order="F" if fortran_order else "C")


def json_depth(text: str) -> int:
    """The deepest nesting of lists and objects in JSON ``text`` (strings skipped), without parsing it."""
    bare = np.frombuffer(_JSON_STRING.sub('""', text).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = np.zeros(len(bare), dtype=np.int8)
    step[(bare == ord("[")) | (bare == ord("{"))] = 1
    step[(bare == ord("]")) | (bare == ord("}"))] = -1
    return int(np.cumsum(step, dtype=np.int32).max(initial=0))


def loads_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(text)``, refusing text nested deeper than ``max_depth`` before parsing it.

    Raises
    ------
    ValueError
        Not JSON (``json.JSONDecodeError`` is a ValueError), or nested too deeply.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    depth = json_depth(text)
    if depth > max_depth:
        raise ValueError(f"JSON nested {depth} levels deep (at most {max_depth})")
    return json.loads(text)


def finite_json(value: Any) -> Any:
    """``value`` (JSON-ready dicts, lists, scalars) with each non-finite float spelled ``{"$float": "inf"}``.

    ``"nan"``, ``"inf"`` or ``"-inf"``: the result is standard JSON, and
    :func:`restore_nonfinite` gives ``value`` back.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return {NONFINITE_KEY: str(value)}
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def restore_nonfinite(value: Any) -> Any:
    """The inverse of :func:`finite_json`."""
    if isinstance(value, dict):
        if len(value) == 1 and NONFINITE_KEY in value:
            spelled = value[NONFINITE_KEY]
            if spelled not in ("nan", "inf", "-inf"):
                raise ValueError(f"{{{NONFINITE_KEY!r}: {spelled!r}}} is not nan, inf or -inf")
            return float(spelled)
        return {k: restore_nonfinite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_nonfinite(v) for v in value]
    return value


def loads_arrays_json(text: str | bytes, format_name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the other fields of a result's JSON: an object whose ``"arrays"`` maps names to
    :func:`encode_array` objects (non-finite floats as strings, :func:`finite_json`).

    Raises ValueError "text is not the JSON of a ``format_name``: ..." for anything else.

    Examples
    --------
    >>> arrays, meta = loads_arrays_json('{"arrays": {"p": ' + json.dumps(encode_array(np.arange(2.0))) + '}, "n": 1}', "demo")
    >>> arrays["p"], meta
    (array([0., 1.]), {'n': 1})
    >>> loads_arrays_json("[]", "demo")
    Traceback (most recent call last):
    ...
    ValueError: text is not the JSON of a demo: expected a JSON object with an 'arrays' object
    """
    try:
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"expected str or bytes, got {type(text).__name__}")
        meta = restore_nonfinite(loads_json(text))
        if not isinstance(meta, dict) or not isinstance(meta.get("arrays"), dict):
            raise TypeError("expected a JSON object with an 'arrays' object")
        arrays = {name: decode_array(d) for name, d in meta.pop("arrays").items()}
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"text is not the JSON of a {format_name}: {exc}") from None
    return arrays, meta


def check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a numpy dtype of a kind in :data:`ARRAY_KINDS` (not structured), else ValueError."""
    try:
        dtype = np.dtype(dtype)
    except (TypeError, ValueError, SyntaxError) as err:
        raise ValueError(f"{dtype!r} is not a dtype: {err}") from None
    if dtype.hasobject or dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"arrays of dtype {dtype} are not allowed")
    return dtype


def checked_array(data: Any, dtype: Any) -> np.ndarray:
    """``np.array(data, dtype=dtype)`` for data read from a file, the dtype checked before allocating.

    The dtype must be of a kind in :data:`ARRAY_KINDS`; a unicode dtype may
    be no wider than the longest string of ``data`` (so ``<U100000000`` in a
    small file cannot allocate gigabytes).

    Raises
    ------
    ValueError
        A bad dtype, or data that does not fit it.
    """
    dtype = check_dtype(dtype)
    if dtype.kind == "U":
        inferred = np.array(data, dtype=str)
        if dtype.itemsize > max(inferred.dtype.itemsize, 4):
            raise ValueError(f"dtype {dtype} is wider than the strings it holds ({inferred.dtype})")
        return inferred.astype(dtype)
    try:
        return np.array(data, dtype=dtype)
    except (TypeError, OverflowError) as err:
        raise ValueError(f"data do not fit dtype {dtype}: {err}") from None


def save_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write a result's ``arrays`` and its other fields ``meta`` (as JSON under ``"meta"``) to an ``.npz``, atomically.

    Examples
    --------
    >>> import tempfile
    >>> path = save_npz(os.path.join(tempfile.mkdtemp(), "b.npz"), {"p": np.arange(3.0)}, {"format": "demo"})
    >>> load_npz(path, "demo")
    ({'p': array([0., 1., 2.])}, {'format': 'demo'})
    """
    return atomic_write(path, lambda f: np.savez(f, meta=np.array(json.dumps(finite_json(meta))), **arrays))


def load_npz(path: str | os.PathLike[str], format_name: str) -> tuple[dict[str, np.ndarray], Any]:
    """The arrays and the fields written by :func:`save_npz` to ``path``.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    ValueError
        Naming the file and ``format_name``: no JSON ``"meta"`` entry, or not an ``.npz``.

    Examples
    --------
    >>> load_npz("no/such/branch.npz", "demo")
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...
    """
    source = repr(os.fspath(path))
    try:
        arrays = read_npz(path)
        text = arrays.pop("meta")
        if text.dtype.kind != "U" or text.shape != ():
            raise ValueError(f"'meta' is an array of dtype {text.dtype} and shape {text.shape}, not JSON text")
        return arrays, restore_nonfinite(loads_json(str(text[()])))
    except (KeyError, ValueError) as exc:
        why = "no 'meta' entry" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{source} is not a {format_name} .npz file: {why}") from None


class SavedResult:
    """Exact round trips of a result through JSON text and ``.npz`` archives (the system itself is not stored).

    A subclass (a branch, a periodic orbit) sets ``FORMAT`` (its format's
    name) and ``FORMAT_VERSION``, ``check_target`` (the check of the system
    given to :meth:`from_json` and :meth:`load`, e.g.
    ``staticmethod(check_system)``), and defines ``_parts()`` -> (arrays,
    meta: its other fields as JSON values) and the classmethod
    ``_from_parts(arrays, meta, system)`` -> the result attached to
    ``system``.  Arrays go into JSON as
    :meth:`dynsys.FixedPointSet.to_json` writes them (floats by ``repr``,
    complex numbers as [re, im], non-finite floats as ``{"$float": ...}``),
    into an ``.npz`` as they are, the rest as JSON under ``"meta"``.

    Examples
    --------
    >>> from dynsys import Branch, continuation, models
    >>> branch = continuation(models.logistic(r=2.5), "r", [0.6], p_span=(2.0, 3.5))
    >>> again = Branch.from_json(branch.to_json(), models.logistic())
    >>> np.array_equal(again.x, branch.x), again.bifurcations[0].p == branch.bifurcations[0].p
    (True, True)
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "branch.npz")
    >>> np.array_equal(Branch.load(branch.save(path), models.logistic()).eigenvalues, branch.eigenvalues)
    True
    """

    FORMAT = "dynsys.SavedResult"
    FORMAT_VERSION = 1

    @staticmethod
    def check_target(system: Any) -> None:
        """Raise (TypeError, ValueError) when ``system`` cannot carry such a result; a subclass sets it."""

    def _parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        raise NotImplementedError("a SavedResult defines _parts")

    @classmethod
    def _from_parts(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any], system: Any) -> Any:
        raise NotImplementedError("a SavedResult defines _from_parts")

    def _stamped(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = self._parts()
        return arrays, {"format": self.FORMAT, "version": self.FORMAT_VERSION, **meta}

    def to_json(self) -> str:
        """The result as standard JSON text; exact round trip by :meth:`from_json`.

        Examples
        --------
        See :class:`SavedResult`.
        """
        arrays, meta = self._stamped()
        meta["arrays"] = {name: encode_array(a) for name, a in arrays.items()}
        return json.dumps(finite_json(meta), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, system: Any) -> Any:
        """The result written by :meth:`to_json`, attached to ``system`` (which must fit it).

        Raises
        ------
        ValueError
            ``text`` is not the JSON of such a result, or ``system`` does not fit it.

        Examples
        --------
        >>> from dynsys import Branch, System
        >>> Branch.from_json('{"arrays": {}}', System.from_strings({"x": "-x"}))
        Traceback (most recent call last):
        ...
        ValueError: text is not a dynsys.Branch
        """
        arrays, meta = loads_arrays_json(text, cls.FORMAT)
        return cls._restore(arrays, meta, system, "text")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the result to ``path`` as an ``.npz`` archive (no pickle), atomically; returns the path.

        Examples
        --------
        See :class:`SavedResult`.
        """
        arrays, meta = self._stamped()
        return save_npz(path, arrays, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str], system: Any) -> Any:
        """The result written by :meth:`save` to ``path``, attached to ``system``.

        Raises
        ------
        FileNotFoundError
            ``path`` is not a file.
        ValueError
            Naming the file: not such a result's ``.npz``, or ``system`` does not fit it.

        Examples
        --------
        >>> from dynsys import Branch, System
        >>> Branch.load("no/such/branch.npz", System.from_strings({"x": "-x"}))
        Traceback (most recent call last):
        ...
        FileNotFoundError: ...
        """
        arrays, meta = load_npz(path, cls.FORMAT)
        return cls._restore(arrays, meta, system, repr(os.fspath(path)))

    @classmethod
    def _restore(cls, arrays: dict[str, np.ndarray], meta: Any, system: Any, source: str) -> Any:
        cls.check_target(system)
        if not isinstance(meta, dict) or meta.get("format") != cls.FORMAT:
            raise ValueError(f"{source} is not a {cls.FORMAT}")
        if meta.get("version") != cls.FORMAT_VERSION:
            raise ValueError(f"{source} has {cls.FORMAT} version {meta.get('version')!r}; this dynsys reads "
                             f"{cls.FORMAT_VERSION}")
        try:
            return cls._from_parts(arrays, meta, system)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{source} is not a valid {cls.FORMAT} for {getattr(system, 'name', system)}: {exc}") from None
