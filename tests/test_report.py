"""Progress lines, CSV tables and the HTML report."""
import csv
import io
import re
import time

import numpy as np
import pytest

from dynsys.cli.report import Progress, write_html_report, write_points_csv


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_plain_lines_off_a_terminal():
    stream = io.StringIO()
    p = Progress(2, stream)
    p.step("first")
    p.step("second")
    p.done()
    lines = stream.getvalue().splitlines()
    assert [re.sub(r"\(.*\)", "()", line) for line in lines[:2]] == ["[1/2] first ()", "[2/2] second ()"]
    assert lines[2].startswith("done in")
    assert "\r" not in stream.getvalue()


def test_progress_bar_on_a_terminal():
    stream = FakeTerminal()
    p = Progress(4, stream)
    p.step("one")
    p.step("two")
    p.done()
    text = stream.getvalue()
    assert "\r\x1b[2K[" in text and "1/4 one ..." in text and "2/4 two ..." in text
    assert "[1/4] one (" in text and text.rstrip().splitlines()[-1].startswith("done in")


def test_progress_notes_redraw_the_step_on_a_terminal():
    stream = FakeTerminal()
    p = Progress(1, stream)
    p.step("graph")
    p.note("branches: 3 of 8 ended")
    assert stream.getvalue().endswith("1/1 graph: branches: 3 of 8 ended")


def test_progress_notes_off_a_terminal_are_lines_at_most_one_per_interval():
    stream = io.StringIO()
    p = Progress(1, stream, interval=0.0)
    p.step("graph")
    p.note("pair 1 of 2")
    p.note("pair 2 of 2")
    notes = [line.strip() for line in stream.getvalue().splitlines()]
    assert [re.sub(r" \(.*\)", "", line) for line in notes] == ["graph: pair 1 of 2", "graph: pair 2 of 2"]
    quiet = io.StringIO()
    p = Progress(1, quiet, interval=3600.0)
    p.step("graph")
    p.note("pair 1 of 2")
    assert quiet.getvalue() == ""


def test_progress_done_counts_from_the_given_start():
    stream = io.StringIO()
    Progress(1, stream, start=time.perf_counter() - 100.0).done()
    assert float(re.match(r"done in ([\d.]+) s", stream.getvalue()).group(1)) >= 100.0


def test_csv_rows(tmp_path):
    rows = [{"#": 0, "label": "saddle", "readout": [0.5, -1.0]}, {"#": 1, "label": "stable node", "readout": [1, 2]}]
    path = write_points_csv(rows, tmp_path / "p.csv")
    back = list(csv.DictReader(path.open()))
    assert back == [{"#": "0", "label": "saddle", "readout": "0.5;-1.0"}, {"#": "1", "label": "stable node", "readout": "1;2"}]


def test_html_references_only_existing_files_and_escapes(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    (tmp_path / "d.json").write_text("{}")
    page = write_html_report(
        tmp_path / "report.html",
        title="<script>x</script> & co",
        summary="8 stable < 9",
        figures={"A picture": "a.png"},
        table=[{"#": 0, "q": 1e-32, "label": "saddle"}],
        links={"data": "d.json"},
    )
    text = page.read_text()
    assert "<script>x" not in text and "&lt;script&gt;" in text and "8 stable &lt; 9" in text
    for ref in re.findall(r'(?:src|href)="([^"]+)"', text):
        assert (tmp_path / ref).is_file(), ref
    assert "1e-32" in text
    with pytest.raises(FileNotFoundError, match="missing.png"):
        write_html_report(tmp_path / "r2.html", title="t", summary="", figures={"x": "missing.png"}, table=[])
    assert not (tmp_path / "r2.html").exists()


def test_html_header_links_and_numbers(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    (tmp_path / "b.png").write_bytes(b"png")
    long_line = "x" * 500
    page = write_html_report(
        tmp_path / "report.html", title="t", summary=long_line, figures={"A": "a.png", "B": "b.png"},
        table=[{"real": 0.5 + 0j, "text": "(0.5+0j)", "numpy": np.complex128(0.5), "pair": 0.5 - 0.25j,
                "label": "stable node"}],
        command="dynsys analyze duffing --out /tmp/d", version="1.2.3", when="2024-05-01T12:00:00",
    )
    text = page.read_text()
    header = text[text.index("<header>"): text.index("</header>")]
    assert "dynsys analyze duffing --out /tmp/d" in header and "1.2.3" in header and "2024-05-01T12:00:00" in header
    for name in ("a.png", "b.png"):  # each picture inside a link to its own file
        assert re.search(rf'<a href="{name}"><img src="{name}"', text)
    cells = re.findall(r"<td>([^<]*)</td>", text)
    assert cells == ["0.5", "0.5", "0.5", "0.5-0.25j", "stable node"]
    assert "0j" not in text
    assert "white-space:pre-wrap" in text and long_line in text


def test_csv_prints_real_eigenvalues_as_real_numbers(tmp_path):
    path = write_points_csv([{"lead": 0.5 + 0j, "pair": [1 + 2j, 1 - 2j], "text": "(2+0j)"}], tmp_path / "p.csv")
    assert list(csv.DictReader(path.open())) == [{"lead": "0.5", "pair": "1.0+2.0j;1.0-2.0j", "text": "2.0"}]


def test_html_more_tables_follow_the_first_and_say_none_when_empty(tmp_path):
    page = write_html_report(tmp_path / "r.html", title="t", summary="s", figures={}, table=[{"id": "P0"}],
                             more_tables={"Attracting cycles": [{"id": "C0", "period": 6.6632868593 + 0j}],
                                          "Cycle branches": []})
    text = page.read_text()
    first, cycles, none = (text.index(h) for h in ("<h2>Fixed and slow points</h2>", "<h2>Attracting cycles</h2>",
                                                   "<h2>Cycle branches</h2><p>none</p>"))
    assert first < cycles < none
    assert "<td>C0</td><td>6.663</td>" in text  # numbers formatted as in the first table
