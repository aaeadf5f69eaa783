"""Reports for people: progress lines, CSV tables of fixed points, an HTML page.

- :class:`Progress` shows the steps of a long job: a bar redrawn in place on a
  terminal, plain lines otherwise (logs, CI, notebooks).
- :func:`write_points_csv` writes one row per fixed or slow point.
- :func:`format_number` prints numbers for people (a real eigenvalue as
  ``0.5``, not ``(0.5+0j)``).
- :func:`write_html_report` writes a self-contained page that shows the
  pictures next to a table of the points and a summary; it refuses to
  reference a picture that does not exist.
"""
from __future__ import annotations

import csv
import html
import io
import numbers
import os
import re
import sys
import time
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

import numpy as np

from .._io import atomic_write_text


class Progress:
    """Steps of a job, ``[k/total] what (seconds)``, and notes while a step runs.

    On a terminal the current step is redrawn in place as a bar, with the
    latest note; elsewhere every step is a plain line, so logs stay
    readable, and notes are plain indented lines, at most one every
    ``interval`` seconds.  ``start`` is when the run began (default: now),
    so :meth:`done` counts the whole run, loading included.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(1, stream=out)
    >>> p.step("counting")
    >>> p.done()
    >>> out.getvalue().splitlines()[0].startswith("[1/1] counting")
    True
    """

    def __init__(
        self, total: int, stream: IO[str] | None = None, width: int = 24, *, interval: float = 2.0,
        start: float | None = None,
    ) -> None:
        self.total, self.k, self.width, self.interval = total, 0, width, interval
        self.stream = sys.stdout if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter() if start is None else start
        self.clock = self.last_note = time.perf_counter()
        self.what = ""

    def step(self, what: str) -> None:
        """Finish the current step (if any) and start the next one, called ``what``."""
        self._finish_current()
        self.k += 1
        self.what = what
        self.last_note = time.perf_counter()
        self._draw("")

    def note(self, text: str) -> None:
        """Say how the current step is going (redrawn on a terminal, rate-limited lines otherwise)."""
        now = time.perf_counter()
        if self.tty:
            self._draw(text)
        elif now - self.last_note >= self.interval:
            self.stream.write(f"      {self.what}: {text} ({now - self.clock:.0f} s)\n")
            self.stream.flush()
        else:
            return
        self.last_note = now

    def _draw(self, text: str) -> None:
        if not self.tty:
            return
        filled = self.width * (self.k - 1) // self.total
        bar = "#" * filled + "-" * (self.width - filled)
        detail = f": {text}" if text else " ..."
        self.stream.write(f"\r\x1b[2K[{bar}] {self.k}/{self.total} {self.what}{detail}")
        self.stream.flush()

    def done(self) -> None:
        """Finish the last step and print the total time."""
        self._finish_current()
        self.what = ""
        self.stream.write(f"done in {time.perf_counter() - self.start:.1f} s\n")
        self.stream.flush()

    def _finish_current(self) -> None:
        if not self.what:
            return
        now = time.perf_counter()
        line = f"[{self.k}/{self.total}] {self.what} ({now - self.clock:.1f} s)"
        self.stream.write(("\r\x1b[2K" + line + "\n") if self.tty else line + "\n")
        self.stream.flush()
        self.clock = now


def plural(n: int, noun: str) -> str:
    """A count and its noun for a person to read.

    Examples
    --------
    >>> plural(1, "edge"), plural(12, "index-1 saddle")
    ('1 edge', '12 index-1 saddles')
    """
    return f"{n} {noun}{'' if n == 1 else 's'}"


def write_points_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write dict rows (same keys in each) as CSV, atomically.

    Lists and tuples become ``a;b;c``; complex numbers are written as real
    numbers when their imaginary part is 0 (``0.5``), else as ``0.5+0.2j``
    (:func:`format_number` at full precision).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> print(write_points_csv([{"#": 0, "eigenvalues": [0.5 + 0j, 0.1 - 2j]}], path).read_text().strip())
    #,eigenvalues
    0,0.5;0.1-2.0j
    """
    if not rows:
        return atomic_write_text(path, "")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return atomic_write_text(path, out.getvalue())


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ";".join(map(_csv_cell, value))
    return format_number(value, None) if isinstance(value, (numbers.Number, str)) else value


def format_number(value: Any, digits: int | None = 4) -> str:
    """A number as a person reads it: complex values with imaginary part 0 as real numbers.

    Real numbers (Python, numpy) print with ``digits`` significant digits
    (``repr`` precision when None); complex ones as ``a`` when their
    imaginary part is 0 and as ``a+bj`` / ``a-bj`` otherwise; a string that
    spells a complex number (``"(0.5+0j)"``, ``"0.5-0.2j"``) is read as one.
    Anything else is ``str(value)``.

    Examples
    --------
    >>> format_number(0.5 + 0j), format_number("(0.5+0j)"), format_number(0.5 - 0.25j), format_number(1e-32)
    ('0.5', '0.5', '0.5-0.25j', '1e-32')
    >>> format_number(True), format_number(3), format_number("saddle")
    ('True', '3', 'saddle')
    """
    if isinstance(value, str):
        if not _COMPLEX_TEXT.fullmatch(value.strip()):
            return value
        value = complex(value.strip())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))

    def real(x: float) -> str:
        return repr(float(x)) if digits is None else f"{x:.{digits}g}"

    z = complex(value)
    if z.imag == 0:
        return real(z.real)
    return f"{real(z.real)}{'-' if z.imag < 0 else '+'}{real(abs(z.imag))}j"


_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_COMPLEX_TEXT = re.compile(rf"\(?(?:{_NUMBER})?(?:{_NUMBER}j)\)?")
"""A complex number as Python writes it: ``0.5+0j``, ``(0.5-0.2j)``, ``2j``."""


def write_html_report(
    path: str | os.PathLike[str],
    *,
    title: str,
    summary: str,
    figures: Mapping[str, str],
    table: Sequence[Mapping[str, Any]],
    links: Mapping[str, str] | None = None,
    table_title: str = "Fixed and slow points",
    more_tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    command: str | None = None,
    version: str | None = None,
    when: str | None = None,
) -> Path:
    """A self-contained HTML page: title, how it was made, summary, pictures, table, links.

    Each picture links to its full-size file; the summary keeps its lines
    but wraps long ones; numbers in the table are formatted by
    :func:`format_number` (a real eigenvalue as ``0.5``, not ``(0.5+0j)``).

    Parameters
    ----------
    path : where the page goes; pictures and links are relative to its folder
    title : str
    summary : str
        Preformatted text (shown as is, long lines wrapped).
    figures : mapping of caption -> file name (relative to the page)
    table : rows (dicts with the same keys) for the table of points
    table_title : str, default "Fixed and slow points"
        The table's heading.
    more_tables : mapping of heading -> rows, optional
        Further tables after the first (e.g. "Attracting cycles"); a table
        without rows is shown as "none".
    links : mapping of text -> file name (data files to download)
    command : str, optional
        The command line of the run (e.g. ``shlex.join(sys.argv)``), shown
        in the header.
    version : str, optional
        The dynsys version that made the page, shown in the header.
    when : str, optional
        When the run was made (e.g. an ISO 8601 time), shown in the header.

    Raises
    ------
    FileNotFoundError
        If a picture or linked file does not exist next to the page.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> page = write_html_report(folder / "report.html", title="t", summary="s", figures={}, table=[
    ...     {"eigenvalue": 0.5 + 0j}], command="dynsys analyze duffing", version="0.1", when="2024-05-01 12:00")
    >>> text = page.read_text()
    >>> "<td>0.5</td>" in text, "dynsys analyze duffing" in text
    (True, True)
    """
    path = Path(path)
    folder = path.parent
    for name in [*figures.values(), *(links or {}).values()]:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"the report would reference {name}, which is not in {folder}")
    e = html.escape
    made = [(what, text) for what, text in (("command", command), ("dynsys", version), ("run at", when)) if text]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}img{max-width:520px}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "pre{background:#f6f6f6;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}"
        "dl.run{display:grid;grid-template-columns:max-content auto;gap:0 1em;color:#444}"
        "dl.run dd{margin:0;font-family:monospace;overflow-wrap:anywhere}</style></head><body>",
        f"<header><h1>{e(title)}</h1>",
    ]
    if made:
        parts.append('<dl class="run">' + "".join(f"<dt>{e(w)}</dt><dd>{e(t)}</dd>" for w, t in made) + "</dl>")
    parts += ["</header>", f"<pre>{e(summary)}</pre>"]
    parts += [
        f'<figure><a href="{e(name)}"><img src="{e(name)}" alt="{e(caption)}"></a>'
        f"<figcaption>{e(caption)}</figcaption></figure>"
        for caption, name in figures.items()
    ]
    if table:
        parts += _html_table(table_title, table)
    for heading, rows in (more_tables or {}).items():
        parts += _html_table(heading, rows) if rows else [f"<h2>{e(heading)}</h2><p>none</p>"]
    if links:
        parts.append("<h2>Data</h2><ul>" + "".join(f'<li><a href="{e(f)}">{e(t)}</a></li>' for t, f in links.items()))
        parts.append("</ul>")
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts) + "\n")


def _html_table(heading: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """A heading and a table of rows (dicts with the same keys), as HTML lines."""
    e = html.escape
    keys = list(rows[0])
    return [f"<h2>{e(heading)}</h2><table><tr>" + "".join(f"<th>{e(k)}</th>" for k in keys) + "</tr>",
            *("<tr>" + "".join(f"<td>{e(_cell(row[k]))}</td>" for k in keys) + "</tr>" for row in rows),
            "</table>"]


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(_cell(v) for v in value)
    return format_number(value)
