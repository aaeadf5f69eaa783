"""Bounded work (issue 11): time budgets, stiff and absurd spans, circles of equilibria,
output paths checked first, atomic pictures, no warnings on stderr."""
import os
import signal
from contextlib import contextmanager

import numpy as np
import pytest
import sympy as sp

from dynsys import System, find_fixed_points, models, simulate, transition_graph
from dynsys.cli.outputs import save_figures
from dynsys.cli import main

ROBERTSON = {"y1": "-k1*y1 + k3*y2*y3", "y2": "k1*y1 - k2*y2**2 - k3*y2*y3", "y3": "k2*y2**2"}
ROBERTSON_PARAMS = {"k1": 0.04, "k2": 3e7, "k3": 1e4}
# Robertson at t = 40 from (1, 0, 0) (Hairer & Wanner, Solving ODEs II, reference solution)
ROBERTSON_AT_40 = [0.7158270687, 9.185534764e-6, 0.2841637457]


@contextmanager
def within(seconds):
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def robertson():
    return System.from_strings(ROBERTSON, ROBERTSON_PARAMS, name="robertson")


def circle():
    """dx/dt = x (1 - r^2), dy/dt = y (1 - r^2): the origin (a repeller) and the unit circle of equilibria."""
    x, y = sp.symbols("x y")
    return System.from_sympy([x * (1 - x**2 - y**2), y * (1 - x**2 - y**2)], [x, y], bounds=[[-2, 2], [-2, 2]])


# ------------------------------------------------------------------ simulate
def test_auto_switches_to_a_stiff_method_on_robertson():
    with within(20):
        tr = simulate(robertson(), [1.0, 0.0, 0.0], (0.0, 40.0))
    assert tr.method == "DOP853->BDF"
    np.testing.assert_allclose(tr.final[0], ROBERTSON_AT_40, rtol=1e-4)
    np.testing.assert_allclose(tr.X[0].sum(axis=1), 1.0, atol=1e-6)  # y1 + y2 + y3 is conserved


def test_stiff_from_the_start_goes_implicit_and_blow_ups_are_frozen():
    starts = np.random.default_rng(0).standard_normal((20, 3))  # negative y2 blows up in finite time
    with within(30):
        tr = simulate(robertson(), starts, (0.0, 10.0))
    assert tr.method == "BDF"
    assert tr.diverged.any() and np.isfinite(tr.final[~tr.diverged]).all()


def test_an_absurd_span_finishes_or_is_refused():
    x = sp.Symbol("x")
    decay = System.from_sympy([-x], [x])
    with within(20):
        tr = simulate(decay, [1.0], (0.0, 1e300))  # exp(-t) -> 0, reached by the implicit method's growing steps
        assert tr.final[0, 0] == pytest.approx(0.0, abs=1e-9) and tr.X[0, 0, 0] == 1.0
        with pytest.raises(ValueError, match="max_steps"):
            simulate(decay, [1.0], (0.0, 1e300), method="rk4")
        with pytest.raises(RuntimeError, match="max_steps = 2000"):
            simulate(models.lorenz(), [1.0, 1.0, 1.0], (0.0, 1e300), max_steps=2000)


# -------------------------------------------------------- fixed points, graph
def test_robertson_search_returns_its_line_of_equilibria_promptly():
    with within(60):
        points = find_fixed_points(robertson(), seed=0)
    fixed = points.fixed()
    assert len(fixed) > 0
    # y1 = y2 = 0, any y3; |F| <= tol = 1e-10 only bounds the distance to that line: |F3| = k2 y2^2 <= tol
    # gives |y2| <= sqrt(tol / k2), and |F1| = |k1 y1 - k3 y2 y3| <= tol gives |y1| <= (tol + k3 |y2 y3|) / k1
    tol, k1, k2, k3 = 1e-10, 0.04, 3e7, 1e4
    y1, y2, y3 = np.abs(fixed.x.T)
    assert np.all(y2 <= np.sqrt(tol / k2) * (1 + 1e-9))
    assert np.all(y1 <= (tol + k3 * y2 * y3) / k1 * (1 + 1e-9))
    assert np.ptp(fixed.x[:, 2]) > 0.1
    assert set(fixed.kinds) == {"non-hyperbolic"}


def test_circle_of_equilibria_graph_is_bounded():
    system = circle()
    points = find_fixed_points(system, n_starts=256, seed=0)
    r = np.linalg.norm(points.x, axis=1)
    origin = np.flatnonzero(r < 1e-8)
    assert origin.size == 1 and points.kinds[origin[0]] == "repeller"
    np.testing.assert_allclose(np.delete(r, origin), 1.0, atol=1e-8)
    assert set(np.delete(points.kinds, origin)) == {"non-hyperbolic"}
    with within(60):
        G = transition_graph(system, points, search_saddles=True)
    assert G.graph["tau"] == pytest.approx(1.0)  # the repeller's eigenvalues are 1, 1
    sources = {s for s, _ in G.edges()}
    assert sources == {points.ids[origin[0]]}  # non-hyperbolic points are not followed
    ends = [G.nodes[t] for _, t, d in G.edges(data=True) if not d["via"]]
    assert len(ends) == 8 and all(np.linalg.norm(e["x"]) == pytest.approx(1.0, abs=1e-6) for e in ends)


def test_find_fixed_points_stops_at_its_time_budget():
    duffing = models.duffing()
    assert find_fixed_points(duffing, seed=0).stats["stopped"] is None
    partial = find_fixed_points(duffing, seed=0, max_seconds=1e-9)
    assert partial.stats["stopped"] == "time budget"
    assert partial.stats["n_unconverged"] + partial.stats["n_merged_early"] >= partial.stats["n_starts"] - len(partial)
    with pytest.raises(ValueError, match="max_seconds"):
        find_fixed_points(duffing, max_seconds=0.0)


def test_transition_graph_stops_at_its_time_budget():
    duffing = models.duffing()
    points = find_fixed_points(duffing, seed=0)
    assert transition_graph(duffing, points).graph["stopped"] is None
    G = transition_graph(duffing, points, max_seconds=1e-9)
    assert G.graph["stopped"] == "time budget"
    assert G.graph["counts"]["not_followed"] == 1 and G.number_of_edges() == 0


# ------------------------------------------------------------------------ CLI
def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_max_time_reports_a_partial_result(capsys, tmp_path):
    code, _, err = run(capsys, "analyze", "duffing", "--max-time", "1e-9", "--graph", str(tmp_path / "g.json"))
    assert code == 0
    lines = err.strip().splitlines()
    # one note per stage the budget cut: the fixed points always; the cycles and the graph when a loaded machine
    # lets their own floor of time run out too
    assert 1 <= len(lines) <= 3 and all("time budget" in line and "partial" in line for line in lines)
    assert "search for fixed points" in lines[0]
    assert (tmp_path / "g.json").exists()
    code, _, err = run(capsys, "analyze", "duffing", "--max-time", "0")
    assert code == 2 and "--max-time" in err


def test_flipflop_max_time_reports_a_partial_result(capsys, tmp_path):
    """A budget that has run out before the search: the flip-flop job still writes its (partial)
    outputs, says so on stderr, and exits 0."""
    code, out, err = run(capsys, "flipflop", "--max-time", "1e-9", "--n-starts", "64", "--out", str(tmp_path / "o"))
    assert code == 0
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2 and all("time budget" in line and "partial" in line for line in lines)
    assert (tmp_path / "o" / "report.html").exists()


@pytest.fixture
def nothing_computed(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("computed before the output paths were checked")

    monkeypatch.setattr("dynsys.cli.analyze.find_fixed_points", fail)
    monkeypatch.setattr("dynsys.cli.analyze.load_model_or_file", fail)


@pytest.mark.parametrize(
    "option, path, needle",
    [
        ("--out", "a_file", "is a file"),
        ("--json", "missing/fp.json", "does not exist"),
        ("--json", "fp.txt", ".json"),
        ("--graph", "missing/g.graphml", "does not exist"),
        ("--graph", "g.png", "--graph"),
        ("--json", "a_folder.json", "cannot write"),
        ("--out", "a_file/run", "cannot write"),
    ],
)
def test_cli_output_paths_are_checked_first(capsys, tmp_path, nothing_computed, option, path, needle):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder.json").mkdir()
    code, out, err = run(capsys, "analyze", "duffing", option, str(tmp_path / path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_cli_out_in_an_unwritable_folder_is_refused_first(capsys, tmp_path, nothing_computed):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        code, _, err = run(capsys, "flipflop", "--out", str(locked / "run"))
    finally:
        locked.chmod(0o700)
    assert code == 2 and "cannot write" in err


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("model", ["lorenz", "van_der_pol", "henon", "logistic"])
def test_cli_runs_of_the_models_write_nothing_to_stderr(capsys, tmp_path, model):
    code, _, err = run(capsys, "analyze", model, "--n-starts", "128", "--out", str(tmp_path / "out"))
    assert code == 0 and err == ""


# ------------------------------------------------------------------ pictures
class _CrashingFigure:
    """Writes half a picture, then fails (as a run killed while drawing)."""

    def savefig(self, target, **kwargs):
        if hasattr(target, "write"):
            target.write(b"\x89PNG half")
        else:
            with open(target, "wb") as f:
                f.write(b"\x89PNG half")
        raise KeyboardInterrupt


def test_pictures_are_written_atomically(tmp_path):
    (tmp_path / "old.png").write_bytes(b"old picture")
    with pytest.raises(KeyboardInterrupt):
        save_figures({"new.png": ("caption", _CrashingFigure())}, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        save_figures({"old.png": ("caption", _CrashingFigure())}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]
    assert (tmp_path / "old.png").read_bytes() == b"old picture"
