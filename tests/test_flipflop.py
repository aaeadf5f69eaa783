"""The flip-flop job on the bundled network and on a network whose memories are cycles.

Expected answers come from the task's mathematics (2^n memories at the
corners of {-1, 1}^n, joined along the edges of the n-cube) and from numpy
computations written here from the weights, not from the code under test.
"""
import csv
import itertools
import json
import re

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import brentq

from dynsys.cli import main
from dynsys.fixed_points import FixedPointSet
from dynsys.cli.flipflop import analyze_flipflop
from dynsys.graph import attractor_graph
from dynsys.graph_export import read_graph
from dynsys.rnn import VanillaRNN, load_flipflop


@pytest.fixture(scope="module")
def bundled():
    cell = load_flipflop()
    return cell, analyze_flipflop(cell, n_starts=1024)


def step_numpy(cell, H):
    """h' = tanh(W_hh h + b_hh + b_ih) at zero input, from the weights."""
    return np.tanh(H @ cell.weight_hh.T + cell.bias_hh + cell.bias_ih)


def settle(cell, H, steps=3000):
    for _ in range(steps):
        H = step_numpy(cell, H)
    return H


def test_bundled_network_holds_three_bits_at_the_corners_of_a_cube(bundled):
    cell, analysis = bundled
    assert analysis.accuracy >= 0.99
    fixed = analysis.fixed_points.fixed()
    # every fixed point is a zero of g(h) - h, checked with numpy from the weights
    assert np.abs(step_numpy(cell, fixed.x) - fixed.x).max() <= 1e-10
    stable = fixed.stable()
    assert len(stable) == 8
    corners = {tuple(c) for c in np.sign(stable.x @ cell.W_out.T + cell.b_out).astype(int).tolist()}
    assert corners == set(itertools.product([-1, 1], repeat=3))
    # the job's corners agree, and the memories are fixed points, not cycles
    assert {tuple(c) for c in analysis.corners.tolist()} == corners
    assert analysis.cycle_period == 1 and analysis.cycle_points is None
    assert set(analysis.period.tolist()) == {1}
    assert not np.any(analysis.fixed_points.is_fixed & analysis.fixed_points.is_slow)
    assert analysis.is_cube


def test_index_one_saddles_join_neighbouring_corners(bundled):
    """Leave each index-1 saddle along both branches of its unstable direction
    (iterating the map in numpy) and read the corners the branches reach: the
    12 edges of the cube, each joining corners that differ in one bit."""
    cell, analysis = bundled
    saddles = analysis.fixed_points.fixed().saddles()
    saddles = saddles[saddles.index == 1]
    edges = set()
    for p in saddles:
        v = p.linearization.Eu[:, 0]
        ends = settle(cell, np.stack([p.x + 1e-3 * v, p.x - 1e-3 * v]))
        a, b = (tuple(c) for c in np.sign(ends @ cell.W_out.T + cell.b_out).astype(int).tolist())
        assert sum(x != y for x, y in zip(a, b)) == 1, (a, b)
        edges.add(frozenset([a, b]))
    cube_edges = {
        frozenset([a, b])
        for a, b in itertools.combinations(itertools.product([-1, 1], repeat=3), 2)
        if sum(x != y for x, y in zip(a, b)) == 1
    }
    assert edges == cube_edges


def test_memories_held_as_two_cycles_are_found_as_cycles():
    # h' = tanh(-2 h) per unit: 0 is an unstable (flip) fixed point and every
    # other orbit falls onto the 2-cycle {c, -c}, c = tanh(2 c) > 0, in each coordinate
    bits = 3
    cell = VanillaRNN(np.eye(bits), -2.0 * np.eye(bits), W_out=np.eye(bits), b_out=np.zeros(bits))
    analysis = analyze_flipflop(cell, n_trials=32, n_steps=50, n_starts=256)
    c = brentq(lambda s: s - np.tanh(2 * s), 0.5, 1.0)
    assert analysis.cycle_period == 2
    assert len(analysis.fixed_points.stable()) == 0  # no stable fixed point at all
    expected = np.array(list(itertools.product([-c, c], repeat=bits)))
    found = analysis.attractors.x
    assert len(found) == 8
    assert max(np.min(np.linalg.norm(found - e, axis=1)) for e in expected) < 1e-9
    assert "2-cycles" in analysis.summary()


def test_dynsys_flipflop_writes_its_files(tmp_path, capsys):
    out = tmp_path / "ff"
    assert main(["flipflop", "--n-starts", "256", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 stable" in printed
    report = json.loads((out / "fixed_points.json").read_text())
    assert report["counts"]["stable"] == 8
    assert report["distinct_corners"] == 8
    assert all(abs(p["q"]) <= 0.5e-20 for p in report["points"] if p["type"] == "fixed")
    assert (out / "fixed_points.npz").exists()
    assert report["graph"]["is_cube"] and "the 3-cube" in printed
    G = read_graph(out / "graph.graphml")
    A = attractor_graph(G)
    assert nx.is_isomorphic(nx.Graph(A), nx.hypercube_graph(3))
    assert read_graph(out / "graph.json").number_of_edges() == G.number_of_edges()
    for name in ("trials.png", "state_space.png", "spectrum.png", "graph.png", "fixed_points.csv", "report.html"):
        assert (out / name).is_file(), name
    page = (out / "report.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {"trials.png", "state_space.png", "spectrum.png", "graph.png"} <= set(refs)
    assert all((out / ref).is_file() for ref in refs)
    rows = list(csv.DictReader((out / "fixed_points.csv").open()))
    assert len(rows) == len(report["points"])
    assert sorted(r["corner"] for r in rows if r["kind"] == "attractor") == sorted(
        "".join("+" if c > 0 else "-" for c in corner) for corner in itertools.product([-1, 1], repeat=3)
    )
    assert all(r["corner"] == "" for r in rows if r["kind"] != "attractor")
    assert f"report: {(out / 'report.html').resolve()}" in printed
    assert_one_list_of_points(out, printed)


def assert_one_list_of_points(out, printed):
    """The table printed, fixed_points.csv/.json/.npz, graph.graphml (read by plain networkx) and
    report.html show the same set of point ids."""
    ids = {p["id"] for p in json.loads((out / "fixed_points.json").read_text())["points"]}
    assert ids and ids == set(FixedPointSet.load(out / "fixed_points.npz").ids)
    assert ids == {r["id"] for r in csv.DictReader((out / "fixed_points.csv").open())}
    plain = nx.read_graphml(out / "graph.graphml")
    assert ids == {v for v, d in plain.nodes(data=True) if d["kind"] != "unresolved"}
    assert all(s in ids for s, _, d in plain.edges(data=True))  # every edge leaves a listed point
    gexf = nx.read_gexf(out / "graph.gexf")
    assert ids == {v for v, d in gexf.nodes(data=True) if d["kind"] != "unresolved"}
    assert ids <= set(re.findall(r'^\s*"(P\d+)" \[', (out / "graph.dot").read_text(), flags=re.M))
    table_ids = set(re.findall(r"^(P\d+)\s", printed, flags=re.M))
    assert ids == table_ids
    page = (out / "report.html").read_text()
    assert ids == set(re.findall(r"<td>(P\d+)</td>", page))


def test_dynsys_flipflop_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    assert main(["flipflop", "--model", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_continuous_time_network_with_the_same_weights_has_the_same_memories(bundled):
    # tau dx/dt = -x + W tanh(x) + b vanishes exactly where h = tanh(x) solves h = tanh(W h + b),
    # the fixed points of the discrete network: the same 8 memories, on a flow
    from dynsys.rnn import ContinuousRNN

    cell, discrete = bundled
    flow = ContinuousRNN(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, W_out=cell.W_out,
                         b_out=cell.b_out, tau=1.0, dt=0.25)
    analysis = analyze_flipflop(flow, n_starts=512)
    assert analysis.system.kind == "flow"
    h = np.tanh(analysis.fixed_points.stable().x)
    expected = discrete.fixed_points.stable().x
    assert len(h) == len(expected) == 8
    assert max(np.min(np.linalg.norm(expected - v, axis=1)) for v in h) < 1e-9
    assert analysis.is_cube


def test_a_gru_trained_by_the_job_shows_one_list_of_points(tmp_path, capsys):
    """`dynsys flipflop --train --cell gru`: the ids in the table, CSV, JSON, npz, GraphML and
    report are one set, the graph's added saddles included (about 30 s: training is part of it)."""
    out = tmp_path / "gru"
    assert main(["flipflop", "--train", "--cell", "gru", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert_one_list_of_points(out, printed)


def test_an_untrained_network_encodes_no_corner_and_draws_no_empty_graph(tmp_path):
    """A contracting random network (spectral radius 0.5) has one fixed point, the origin, where
    the readout is 0: it holds no memory, so it encodes no corner, and with one attractor there is
    no attractor graph to draw."""
    from dynsys.cli.flipflop import write_outputs

    rng = np.random.default_rng(0)
    n = 16
    W = rng.standard_normal((n, n))
    W *= 0.5 / np.max(np.abs(np.linalg.eigvals(W)))
    cell = VanillaRNN(0.1 * rng.standard_normal((n, 3)), W, W_out=rng.standard_normal((3, n)), b_out=np.zeros(3))
    analysis = analyze_flipflop(cell, n_trials=16, n_steps=50, n_starts=64)
    assert len(analysis.attractors) == 1 and np.allclose(analysis.attractors.x, 0)
    assert "encoding 0 of the 8 corners" in analysis.summary()
    report = analysis.to_dict()
    assert report["distinct_corners"] == 0 and report["attractors"][0]["corner"] == ""
    written = {p.name for p in write_outputs(analysis, tmp_path)}
    assert "graph.png" not in written and "state_space.png" in written
    assert not (tmp_path / "graph.png").exists()


def test_corners_are_decoded_on_the_scale_the_trials_are_scored(bundled):
    """A readout scaled by 0.4 changes no sign: the trials score the same and the 8 attractors still
    encode the 8 corners (the margin is relative to the trials' median |output|, here 0.4 times
    the original's)."""
    cell, _ = bundled
    small = VanillaRNN(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, W_out=0.4 * cell.W_out,
                       b_out=0.4 * cell.b_out)
    analysis = analyze_flipflop(small, n_starts=256)
    full = analyze_flipflop(cell, n_starts=256)
    assert analysis.accuracy == full.accuracy
    assert analysis.readout_scale == pytest.approx(0.4 * full.readout_scale)
    assert len(analysis.encoded_corners()) == 8 and "encoding 8 of the 8 corners" in analysis.summary()


def test_cycle_memories_have_ids_of_their_own_in_every_output(tmp_path):
    """Memories held as 2-cycles: the table, CSV, JSON and npz list the map's fixed points (P ids),
    the graph and cycle_points.csv/.npz the points of the 2nd iterate (C ids), and no id names
    two different points."""
    from dynsys.cli.flipflop import write_outputs

    bits = 3
    cell = VanillaRNN(np.eye(bits), -2.0 * np.eye(bits), W_out=np.eye(bits), b_out=np.zeros(bits))
    analysis = analyze_flipflop(cell, n_trials=32, n_steps=50, n_starts=256)
    write_outputs(analysis, tmp_path)
    points = FixedPointSet.load(tmp_path / "fixed_points.npz")
    cycle = FixedPointSet.load(tmp_path / "cycle_points.npz")
    assert all(i.startswith("P") for i in points.ids) and all(i.startswith("C") for i in cycle.ids)
    plain = nx.read_graphml(tmp_path / "graph.graphml")
    graph_ids = {v for v, d in plain.nodes(data=True) if d["kind"] != "unresolved"}
    assert graph_ids == set(cycle.ids) == {r["id"] for r in csv.DictReader((tmp_path / "cycle_points.csv").open())}
    assert {r["id"] for r in csv.DictReader((tmp_path / "fixed_points.csv").open())} == set(points.ids)
    for v in cycle.ids:  # the graph's nodes are the iterate's points, at their coordinates
        np.testing.assert_array_equal(json.loads(plain.nodes[v]["x"]), cycle[cycle.ids.index(v)].x)
    assert set(analysis.attractors.ids) <= graph_ids
