"""The command line: ``dynsys analyze`` on built-in models and TOML files."""
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dynsys.cli import main
from dynsys.fixed_points import FixedPointSet

LORENZ_FILE = Path(__file__).resolve().parents[1] / "examples" / "lorenz.toml"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lorenz_points(sigma=10.0, rho=28.0, beta=8 / 3):
    """Lorenz fixed points by hand: the origin and C± = (±a, ±a, ρ-1), a = sqrt(β(ρ-1))."""
    if rho <= 1:
        return np.zeros((1, 3))
    a = np.sqrt(beta * (rho - 1))
    return np.array([[0, 0, 0], [a, a, rho - 1], [-a, -a, rho - 1]])


def assert_same_points(found, expected, atol=1e-8):
    assert len(found) == len(expected)
    for p in expected:
        assert np.min(np.linalg.norm(found - p, axis=1)) < atol


@pytest.mark.parametrize("target", ["lorenz", "FILE"])
def test_analyze_lorenz_writes_json(capsys, tmp_path, target):
    if target == "FILE":
        target = LORENZ_FILE
    out_json = tmp_path / "fp.json"
    code, out, err = run(capsys, "analyze", str(target), "--n-starts", "200", "--json", str(out_json))
    assert code == 0, err
    assert "saddle" in out
    result = FixedPointSet.from_json(out_json.read_text())
    json.loads(out_json.read_text())  # plain JSON
    assert_same_points(result.x[result.is_fixed], lorenz_points())
    assert sorted(result.index[result.is_fixed].tolist()) == [1, 2, 2]


def test_analyze_param_and_exact(capsys, tmp_path):
    out_json = tmp_path / "fp.json"
    code, out, err = run(capsys, "analyze", "lorenz", "--param", "rho=0.5", "--exact", "--json", str(out_json))
    assert code == 0, err
    result = FixedPointSet.from_json(out_json.read_text())
    assert_same_points(result.x, lorenz_points(rho=0.5))
    assert result.label[0] == "stable node"


def test_analyze_bounds(capsys, tmp_path):
    out_json = tmp_path / "fp.json"
    # a small box around C+
    code, _, err = run(capsys, "analyze", "lorenz", "--bounds=5:11,5:11,20:34", "--json", str(out_json))
    assert code == 0, err
    result = FixedPointSet.from_json(out_json.read_text())
    assert_same_points(result.x, lorenz_points()[1:2])  # only the point in the box


def test_models_lists_the_registry(capsys):
    from dynsys.models import MODELS

    code, out, _ = run(capsys, "models")
    assert code == 0
    assert {line.split()[0] for line in out.strip().splitlines()} == set(MODELS)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["analyze", "no_such_model"], "no_such_model"),
        (["analyze", "lorenz", "--param", "rho=nan"], "rho"),
        (["analyze", "lorenz", "--param", "kappa=1"], "kappa"),
        (["analyze", "lorenz", "--param", "rho"], "rho"),
        (["analyze", "lorenz", "--bounds", "1:2:3"], "bounds"),
        (["analyze", "lorenz", "--bounds=1:2,3:4"], "bounds"),
        (["analyze", "lorenz", "--bounds=2:1"], "bounds"),
        (["analyze", "lorenz", "--graph", "g.png"], "--graph"),
        (["analyze", "lorenz", "--all-in-box", "--exact"], "--exact"),
        (["analyze", "lorenz", "--certify", "--exact"], "--exact"),
        (["analyze", "lorenz", "--all-in-box", "--max-boxes", "0"], "--max-boxes"),
        (["analyze", "hopfield", "--certify"], "interval enclosure"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_malicious_file_runs_nothing(capsys, tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[states]\nx = "__import__(\'os\').system(\'touch {marker}\')"\n')
    code, _, err = run(capsys, "analyze", str(bad))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_analyze_writes_the_transition_graph(capsys, tmp_path):
    import networkx as nx

    from dynsys.graph import attractor_graph
    from dynsys.graph_export import read_graph

    out = tmp_path / "toggle.graphml"
    code, printed, err = run(capsys, "analyze", "toggle_switch", "--graph", str(out))
    assert code == 0, err
    A = attractor_graph(read_graph(out))
    # the toggle switch: two attractors joined through the one saddle (2, 2)
    assert nx.is_isomorphic(nx.Graph(A), nx.path_graph(2))
    (saddle,) = {d["saddle"] for *_, d in A.edges(data=True)}
    np.testing.assert_allclose(read_graph(out).nodes[saddle]["x"], [2.0, 2.0], atol=1e-9)


def test_analyze_out_writes_pictures_data_and_report(capsys, tmp_path):
    import re

    out = tmp_path / "duffing"
    code, printed, err = run(capsys, "analyze", "duffing", "--out", str(out))
    assert code == 0, err
    for name in ("state_space.png", "spectrum.png", "graph.png", "fixed_points.csv", "graph.graphml", "report.html"):
        assert (out / name).is_file(), name
    refs = re.findall(r'(?:src|href)="([^"]+)"', (out / "report.html").read_text())
    assert "state_space.png" in refs and all((out / ref).is_file() for ref in refs)
    result = FixedPointSet.from_json((out / "fixed_points.json").read_text())
    np.testing.assert_allclose(np.sort(result.x[:, 0]), [-1.0, 0.0, 1.0], atol=1e-12)  # Duffing: (±1, 0), (0, 0)


def test_json_and_out_write_the_same_points_under_the_graphs_ids(capsys, tmp_path):
    """--json and --out's fixed_points.json are one schema and one set: the search's points and
    the saddles the graph adds (Duffing from 2 starts, seed 1: the search finds the two wells, the
    saddle search between them adds the saddle at the origin)."""
    import networkx as nx

    out, out_json = tmp_path / "o", tmp_path / "p.json"
    code, printed, err = run(capsys, "analyze", "duffing", "--n-starts", "2", "--seed", "1", "--json",
                             str(out_json), "--out", str(out))
    assert code == 0, err
    searched = int(re.search(r"(\d+) fixed and \d+ slow points from the search", printed).group(1))
    assert searched < 3 and f"{3 - searched} found by the graph" in printed
    assert out_json.read_text() == (out / "fixed_points.json").read_text()
    points = FixedPointSet.from_json(out_json.read_text())
    plain = nx.read_graphml(out / "graph.graphml")
    assert set(points.ids) == {v for v, d in plain.nodes(data=True) if d["kind"] != "unresolved"}
    np.testing.assert_allclose(points.x[np.argsort(points.x[:, 0])], [[-1, 0], [0, 0], [1, 0]], atol=1e-12)
    assert f"wrote {out_json}" in printed and "unresolved branch end" in printed


def test_version_and_help_speak_plain_text(capsys):
    from dynsys import __version__

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"dynsys {__version__}"
    for argv in (["--help"], ["analyze", "--help"], ["flipflop", "--help"], ["models", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "``" not in text and ":func:" not in text and ":mod:" not in text
        assert len(text.split("\n\n")) >= 3  # usage, a description, options


def test_a_near_miss_model_name_gets_a_suggestion(capsys):
    code, _, err = run(capsys, "analyze", "lorenzz")
    assert code == 2 and "did you mean lorenz?" in err


def test_exact_errors_speak_cli(capsys):
    code, _, err = run(capsys, "analyze", "pendulum", "--exact")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "drop --exact" in err and "method=" not in err


def test_nothing_is_created_in_out_before_the_model_loads(capsys, tmp_path):
    out = tmp_path / "never"
    assert run(capsys, "analyze", "no_such_model", "--out", str(out))[0] == 2
    assert run(capsys, "flipflop", "--model", str(tmp_path / "missing.npz"), "--out", str(out))[0] == 2
    assert not out.exists()


def test_a_computation_beyond_its_limits_is_one_line_and_status_1(capsys, monkeypatch):
    import dynsys.cli.analyze

    def beyond(*args, **kwargs):
        raise RuntimeError("simulate: the solver needs more than max_steps = 50000 steps\nto reach t = 1e300")

    monkeypatch.setattr(dynsys.cli.analyze, "find_fixed_points", beyond)
    code, _, err = run(capsys, "analyze", "lorenz")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "max_steps" in err


def test_a_three_state_system_is_shown_on_its_own_axes_everywhere(capsys, tmp_path):
    """state_space.png draws n <= 3 systems in their own coordinates; the CSV, the graph files and
    graph.png use the same axes (coord_<state>), not principal components. x' = x - x^3, y' = -y,
    z' = -2z: attractors (+-1, 0, 0), saddle at the origin."""
    import csv

    import networkx as nx

    model = tmp_path / "bi3.toml"
    model.write_text('kind = "flow"\n[states]\nx = "x - x**3"\ny = "-y"\nz = "-2*z"\n'
                     '[bounds]\nx = [-2, 2]\ny = [-2, 2]\nz = [-2, 2]\n')
    out = tmp_path / "o"
    code, _, err = run(capsys, "analyze", str(model), "--out", str(out))
    assert code == 0, err
    rows = list(csv.DictReader((out / "fixed_points.csv").open()))
    assert {"coord_x", "coord_y", "coord_z"} <= set(rows[0]) and not any(k.startswith("pc") for k in rows[0])
    plain = nx.read_graphml(out / "graph.graphml")
    for r in rows:
        assert plain.nodes[r["id"]]["coord_x"] == pytest.approx(float(r["coord_x"]))
    assert sorted(round(float(r["coord_x"]), 9) for r in rows) == [-1.0, 0.0, 1.0]


# ------------------------------------------------------------ dynsys continue
def special_rows(out):
    """The rows of the special-point table that `dynsys continue` prints: kind and the parameter's value."""
    return [(line.split()[0], float(line.split()[1])) for line in out.splitlines()
            if line.strip().split(" ")[0] in ("fold", "hopf", "branch_point", "flip", "neimark_sacker")]


def test_continue_lorenz_diagram_writes_its_files(capsys, tmp_path):
    sigma, beta = 10.0, 8 / 3
    code, out, err = run(capsys, "continue", "lorenz", "--param", "rho", "--span=0.5:30", "--out", str(tmp_path))
    assert code == 0, err
    rows = special_rows(out)
    rho_h = sigma * (sigma + beta + 3) / (sigma - beta - 1)
    assert [k for k, _ in rows] == ["branch_point", "hopf", "hopf"]
    assert rows[0][1] == pytest.approx(1.0, abs=1e-8) and all(p == pytest.approx(rho_h, rel=1e-8) for _, p in rows[1:])
    for name in ("diagram.png", "branches.json", "branches.csv", "bifurcations.csv", "report.html"):
        assert (tmp_path / name).is_file(), name
    lines = (tmp_path / "branches.csv").read_text().splitlines()
    assert lines[0] == "branch,rho,x,y,z,index,stable,s"
    for line in lines[1:]:  # every point is a Lorenz fixed point
        _, rho, *xyz, _, _, _ = line.split(",")
        assert np.min(np.linalg.norm(lorenz_points(rho=float(rho)) - np.array(xyz, float), axis=1)) < 1e-8
    special = (tmp_path / "bifurcations.csv").read_text().splitlines()
    assert special[0] == "kind,label,rho,x,y,z,frequency,branch" and [r.split(",")[1] for r in special[1:]] == [
        "BP", "H", "H"]
    assert float(special[2].split(",")[6]) == pytest.approx(np.sqrt(beta * (sigma + rho_h)), rel=1e-8)
    from dynsys import BifurcationDiagram, models
    assert len(BifurcationDiagram.load(tmp_path / "branches.json", models.lorenz()).branches) == 3
    assert "Special points" in (tmp_path / "report.html").read_text()
    # C+- are foci (complex eigenvalues): the leading oscillatory mode's frequency is drawn; no readout for a model
    assert (tmp_path / "frequency.png").is_file() and not (tmp_path / "readout.png").exists()
    assert 'src="frequency.png"' in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("start", [["--x0", "0.6"], ["--from-point", "1"]])
def test_continue_one_branch_of_the_logistic_map(capsys, start):
    # fixed points at r = 3.2: 0 (index 1) and 1 - 1/r (index 1, multiplier 2 - r = -1.2); the flip at r = 3
    code, out, err = run(capsys, "continue", "logistic", "--param", "r", "--span=2.5:3.4", "--set", "r=3.2", *start)
    assert code == 0, err
    assert special_rows(out) == [("flip", pytest.approx(3.0, abs=1e-8))]
    assert "1 branch in r" in out


def test_continue_saddle_node_from_a_toml_file(capsys, tmp_path):
    path = tmp_path / "saddle_node.toml"
    path.write_text('name = "saddle-node"\nkind = "flow"\n[states]\nx = "mu - x**2"\n[params]\nmu = 1.0\n')
    code, out, err = run(capsys, "continue", str(path), "--param", "mu", "--span=-1:1")
    assert code == 0, err
    assert special_rows(out) == [("fold", pytest.approx(0.0, abs=1e-8))]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["lorenz", "--param", "nu", "--span=0:1"], "--param: 'nu' is not a parameter of lorenz"),
        (["lorenz", "--param", "rho", "--span=2:1"], "--span"),
        (["lorenz", "--param", "rho", "--span=a:b"], "--span"),
        (["lorenz", "--param", "rho", "--span=0:30", "--x0", "1,2"], "--x0: '1,2' has 2 numbers; lorenz has 3"),
        (["lorenz", "--param", "rho", "--span=0:30", "--from-point", "7"], "--from-point"),
        (["lorenz", "--param", "rho", "--span=0:30", "--max-steps", "0"], "--max-steps"),
        (["lorenzz", "--param", "rho", "--span=0:30"], "did you mean lorenz"),
        (["lorenz", "--span=0:30"], "--param NAME is needed"),
        (["lorenz", "--along", "1,0", "--span=0:1"], "--along: only for a network file"),
    ],
)
def test_continue_bad_input_exits_2_with_one_line(capsys, argv, needle):
    code, out, err = run(capsys, "continue", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err


def two_bistable_units(tmp_path):
    """h' = tanh(2h + u) per unit (W_hh = 2I, W_ih = I): h = tanh(2h + s) has folds where 2(1 - h^2) = 1,
    h = -+1/sqrt(2), s = +-(sqrt(2) - atanh(1/sqrt(2))) = +-0.53283."""
    path = tmp_path / "net.npz"
    np.savez(path, weight_ih_l0=np.eye(2), weight_hh_l0=2 * np.eye(2))
    return path


def test_continue_a_network_along_an_input(capsys, tmp_path):
    path = two_bistable_units(tmp_path)
    fold = np.sqrt(2) - np.arctanh(1 / np.sqrt(2))
    code, out, err = run(capsys, "continue", str(path), "--cell", "rnn_tanh", "--along", "1,0", "--span=-1:1",
                         "--x0", "0.96,0.96")
    assert code == 0, err
    assert special_rows(out) == [("fold", pytest.approx(-fold, abs=1e-8)), ("fold", pytest.approx(fold, abs=1e-8))]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--along", "1,0,0"], "--along: 3 values given; the network has 2 inputs"),
        (["--along", "0,0"], "--along: the direction must not be zero"),
        (["--along", "1,0", "--param", "rho"], "--param: a network continued --along has the one parameter s"),
        (["--along", "1,0", "--input", "1"], "--input: 1 values given"),
    ],
)
def test_continue_a_network_refuses_bad_directions(capsys, tmp_path, argv, needle):
    path = two_bistable_units(tmp_path)
    code, out, err = run(capsys, "continue", str(path), "--cell", "rnn_tanh", "--span=-1:1", "--x0", "0.96,0.96",
                         *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_continue_a_network_with_a_readout_draws_it(capsys, tmp_path):
    # the two bistable units with the readout y = h: readout.png has one panel per output; all eigenvalues are
    # real (a diagonal Jacobian), so there is no oscillatory mode to draw
    path = tmp_path / "net.npz"
    np.savez(path, weight_ih_l0=np.eye(2), weight_hh_l0=2 * np.eye(2), **{"readout.weight": np.eye(2),
                                                                          "readout.bias": np.zeros(2)})
    out = tmp_path / "run"
    code, printed, err = run(capsys, "continue", str(path), "--cell", "rnn_tanh", "--along", "1,0", "--span=-1:1",
                             "--x0", "0.96,0.96", "--out", str(out))
    assert code == 0, err
    assert (out / "readout.png").is_file() and not (out / "frequency.png").exists()
    assert 'src="readout.png"' in (out / "report.html").read_text()


# ------------------------------------------------------------ cycles (issue 14)
def reference_cycle(rhs, x0, t_settle, rtol=1e-12):
    """A flow's attracting cycle by solve_ivp: its period (successive upward crossings of x = x_c, x_c the
    middle of the x range) and the states over the last period with their times."""
    from scipy.integrate import solve_ivp

    settle = solve_ivp(rhs, (0, t_settle), x0, rtol=rtol, atol=1e-12)
    start = settle.y[:, -1]
    probe = solve_ivp(rhs, (0, 60), start, rtol=rtol, atol=1e-12, dense_output=True)
    grid = probe.sol(np.linspace(0, 60, 6000))
    level = 0.5 * (grid[0].min() + grid[0].max())

    def up(t, y):
        return y[0] - level
    up.direction = 1
    sol = solve_ivp(rhs, (0, 60), start, rtol=rtol, atol=1e-12, dense_output=True, events=up)
    t0, t1 = sol.t_events[0][-2:]
    return t1 - t0, sol, (t0, t1)


def test_analyze_van_der_pol_reports_its_cycle_under_one_id_everywhere(capsys, tmp_path):
    """The cycle's period against solve_ivp, its non-trivial multiplier against Liouville's formula
    mu_2 = exp(int_0^T div f dt) = exp(int_0^T (1 - x^2) dt), the same id and period in the table, the CSV,
    the JSON, the graph and the report."""
    from scipy.integrate import quad

    from dynsys import PeriodicOrbit, models
    from dynsys.graph_export import read_graph

    def vdp(t, y):
        return [y[1], (1 - y[0] ** 2) * y[1] - y[0]]

    period, sol, (t0, t1) = reference_cycle(vdp, [0.5, 0.0], 80.0)
    multiplier = np.exp(quad(lambda t: 1 - sol.sol(t)[0] ** 2, t0, t1, limit=200, epsabs=1e-13)[0])
    assert abs(period - 6.6632868593) < 1e-8  # the classical value
    code, out, err = run(capsys, "analyze", "van_der_pol", "--n-starts", "32", "--out", str(tmp_path))
    assert code == 0, err
    (row,) = [line.split() for line in out.splitlines() if line.startswith("C0 ")]
    assert float(row[1]) == pytest.approx(period, rel=1e-6) and " ".join(row[3:5]) == "stable cycle"
    assert float(row[5]) == pytest.approx(multiplier, rel=1e-3)
    (csv_row,) = csv.DictReader((tmp_path / "cycles.csv").read_text().splitlines())
    assert csv_row["id"] == "C0" and float(csv_row["period"]) == pytest.approx(period, rel=1e-8)
    assert float(csv_row["leading multiplier"]) == pytest.approx(multiplier, rel=1e-4)
    (entry,) = json.loads((tmp_path / "cycles.json").read_text())["cycles"]
    orbit = PeriodicOrbit.from_json(json.dumps(entry), models.van_der_pol())
    assert entry["id"] == "C0" and orbit.period == float(csv_row["period"])
    graph = read_graph(tmp_path / "graph.json")
    assert graph.nodes["C0"]["kind"] == "cycle" and graph.nodes["C0"]["period"] == orbit.period
    assert all(t == "C0" for s, t in graph.edges() if s == "P0")  # the repeller's branches end on the cycle
    report = (tmp_path / "report.html").read_text()
    assert "<h2>Attracting cycles</h2>" in report and "<td>C0</td>" in report and f"{period:.4g}" in report
    assert {"cycles.json", "cycles.csv", "state_space.png"} <= {p.name for p in tmp_path.iterdir()}
    code, out, err = run(capsys, "analyze", "van_der_pol", "--n-starts", "32", "--no-cycles",
                         "--graph", str(tmp_path / "plain.json"))
    assert code == 0 and "C0" not in out and "attracting cycles" not in out
    assert not [v for v, d in read_graph(tmp_path / "plain.json").nodes(data=True) if d["kind"] == "cycle"]


BRUSSELATOR = """kind = "flow"
[states]
x = "A - (B + 1)*x + x**2*y"
y = "B*x - x**2*y"
[params]
A = 1
B = 1.5
"""


def test_continue_cycles_of_the_brusselator(capsys, tmp_path):
    """A = 1: the Hopf point B = 1 + A^2 = 2 with frequency A; the cycles born there start at the period
    2 pi / A with amplitude -> 0 as sqrt(B - 2); the period at B = 3 against solve_ivp; the same branch in
    the printed table, branches.csv, bifurcations.csv, branches.json and the report."""
    from dynsys import BifurcationDiagram, load_system

    model = tmp_path / "brusselator.toml"
    model.write_text(BRUSSELATOR)
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "continue", str(model), "--param", "B", "--span=1.5:3", "--cycles", "--out",
                         str(out_dir))
    assert code == 0, err
    assert special_rows(out) == [("hopf", pytest.approx(2.0, abs=1e-8))]
    assert re.search(r"^cycles 0: brusselator: cycle branch in B, 2\.0\d* <= B <= 3, ", out, flags=re.M)
    lines = (out_dir / "branches.csv").read_text().splitlines()
    assert lines[0] == "branch,kind,B,x,y,period,amplitude,index,stable,s"
    cycles = np.array([[float(v) for v in line.split(",")[2:7]] for line in lines[1:] if line.startswith("cycles 0,")])
    B, period, amplitude = cycles[:, 0], cycles[:, 3], cycles[:, 4]
    near = np.argsort(B)[:2]
    assert np.all(np.abs(period[near] - 2 * np.pi) < 1e-2)
    ratio = amplitude[near] / np.sqrt(B[near] - 2)  # amplitude ~ c sqrt(B - B_H): the ratio settles
    assert ratio[0] == pytest.approx(ratio[1], rel=0.05)
    t_ref, _, _ = reference_cycle(lambda t, u: [1 - 4 * u[0] + u[0] ** 2 * u[1], 3 * u[0] - u[0] ** 2 * u[1]],
                                  [1.0, 3.5], 200.0)
    assert period[np.argmax(B)] == pytest.approx(t_ref, rel=1e-6) and B.max() == pytest.approx(3.0)
    special = (out_dir / "bifurcations.csv").read_text().splitlines()
    assert special[0] == "kind,label,B,x,y,frequency,branch,period"
    assert float(special[1].split(",")[-1]) == pytest.approx(2 * np.pi, rel=1e-8)
    diagram = BifurcationDiagram.load(out_dir / "branches.json", load_system(model))
    (loaded,) = diagram.cycle_branches
    assert np.allclose(np.sort(loaded.period), np.sort(period), rtol=1e-12)
    assert {"diagram.png", "period.png"} <= {p.name for p in out_dir.iterdir()}
    report = (out_dir / "report.html").read_text()
    assert 'src="period.png"' in report and "<h2>Cycle branches</h2>" in report and "<td>cycles 0</td>" in report
    code, _, err = run(capsys, "continue", "logistic", "--param", "r", "--span=2.5:3.4", "--cycles")
    assert code == 2 and err.count("\n") == 1 and "--cycles" in err
    # the one branch through the fixed point (A, B/A) = (1, 1.5), and the cycles from its Hopf point
    code, out, err = run(capsys, "continue", str(model), "--param", "B", "--span=1.5:2.5", "--x0", "1,1.5", "--cycles")
    assert code == 0, err
    assert special_rows(out) == [("hopf", pytest.approx(2.0, abs=1e-8))]
    assert re.search(r"^cycles 0: brusselator: cycle branch in B, 2\.0\d* <= B <= 2\.5, ", out, flags=re.M)


def test_a_map_is_analysed_without_a_cycle_search(capsys, tmp_path):
    code, out, err = run(capsys, "analyze", "henon", "--n-starts", "32", "--out", str(tmp_path))
    assert code == 0, err
    assert "attracting cycles" not in out and not (tmp_path / "cycles.csv").exists()
    assert "Attracting cycles" not in (tmp_path / "report.html").read_text()


def test_the_cycle_search_stops_at_its_budget_and_says_so(capsys):
    """Lorenz at rho = 28: the chaotic attractor's near-returns give many candidates, none attracting."""
    code, out, err = run(capsys, "analyze", "lorenz", "--n-starts", "16", "--cycle-time", "0.05")
    assert code == 0 and out.splitlines()[-1] == "no attracting cycle found"
    (line,) = err.strip().splitlines()
    assert "time budget of the search for cycles (0.05 s, --cycle-time)" in line and "partial" in line
    code, _, err = run(capsys, "analyze", "lorenz", "--cycle-time", "0")
    assert code == 2 and err.count("\n") == 1 and "--cycle-time" in err


def test_a_cycle_search_that_cannot_finish_is_a_note_and_the_points_are_still_reported(capsys, monkeypatch):
    def beyond_limits(*args, **kwargs):
        raise RuntimeError("rk4 needs 7.6e+05 steps, more than max_steps = 50000")

    monkeypatch.setattr("dynsys.cli.analyze.find_periodic_orbits", beyond_limits)
    code, out, err = run(capsys, "analyze", "van_der_pol", "--n-starts", "16")
    assert code == 0 and "P0" in out and "attracting cycles (van_der_pol)" not in out and "C0" not in out
    (line,) = err.strip().splitlines()
    assert line.startswith("dynsys: note: the search for attracting cycles failed (rk4 needs") and "max_steps" in line


def test_analyze_all_in_box_finds_every_lorenz_point_and_says_whether_it_covered_the_box(capsys, tmp_path):
    """Lorenz's three fixed points in closed form (lorenz_points), each certified, the box covered; with a budget
    of 10 boxes the run says it is incomplete; --certify adds each search point's radius."""
    out_json = tmp_path / "all.json"
    code, out, _ = run(capsys, "analyze", "lorenz", "--all-in-box", "--no-cycles", "--json", str(out_json))
    assert code == 0 and "complete: every box excluded or certified" in out
    points = FixedPointSet.from_json(out_json.read_text())
    assert points.certified.all() and points.stats["complete"]
    assert_same_points(points.x, lorenz_points())
    assert np.all(np.min(np.abs(points.x[:, None] - lorenz_points()[None]).max(axis=2), axis=1)
                  <= points.certified_radius + 1e-12)
    code, out, _ = run(capsys, "analyze", "lorenz", "--all-in-box", "--max-boxes", "10", "--no-cycles")
    assert code == 0 and "INCOMPLETE" in out
    code, out, _ = run(capsys, "analyze", "duffing", "--certify", "--no-cycles")
    assert code == 0 and "certified (Krawczyk): 3 of 3 fixed points" in out and "certified radius" in out
