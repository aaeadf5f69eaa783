"""Reports for people: progress lines, CSV tables of fixed points, an HTML page.

- :class:`Progress` shows the steps of a long job: a bar redrawn in place on a
  terminal, plain lines otherwise (logs, CI, notebooks).
- :func:`write_points_csv` writes one row per fixed or slow point.
- :func:`write_html_report` writes a self-contained page that shows the
  pictures next to a table of the points and a summary; it refuses to
  reference a picture that does not exist.
"""
from __future__ import annotations

import csv
import html
import io
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

from ._io import atomic_write_text


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


def write_points_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write dict rows (same keys in each) as CSV, atomically; lists become ``a;b;c``."""
    if not rows:
        return atomic_write_text(path, "")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ";".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in row.items()})
    return atomic_write_text(path, out.getvalue())


def write_html_report(
    path: str | os.PathLike[str],
    *,
    title: str,
    summary: str,
    figures: Mapping[str, str],
    table: Sequence[Mapping[str, Any]],
    links: Mapping[str, str] | None = None,
) -> Path:
    """A self-contained HTML page: title, summary, pictures, table, links.

    Parameters
    ----------
    path : where the page goes; pictures and links are relative to its folder
    title : str
    summary : str
        Preformatted text (shown as is).
    figures : mapping of caption -> file name (relative to the page)
    table : rows (dicts with the same keys) for the table of points
    links : mapping of text -> file name (data files to download)

    Raises
    ------
    FileNotFoundError
        If a picture or linked file does not exist next to the page.
    """
    path = Path(path)
    folder = path.parent
    for name in [*figures.values(), *(links or {}).values()]:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"the report would reference {name}, which is not in {folder}")
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}img{max-width:520px}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "pre{background:#f6f6f6;padding:1em}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<pre>{e(summary)}</pre>",
    ]
    parts += [
        f'<figure><img src="{e(name)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>'
        for caption, name in figures.items()
    ]
    if table:
        keys = list(table[0])
        parts.append("<h2>Fixed and slow points</h2><table><tr>" + "".join(f"<th>{e(k)}</th>" for k in keys) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(_cell(row[k]))}</td>" for k in keys) + "</tr>" for row in table]
        parts.append("</table>")
    if links:
        parts.append("<h2>Data</h2><ul>" + "".join(f'<li><a href="{e(f)}">{e(t)}</a></li>' for t, f in links.items()))
        parts.append("</ul>")
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return " ".join(_cell(v) for v in value)
    return str(value)
