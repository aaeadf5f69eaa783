"""The 3-bit flip-flop RNN end to end, from Python (Sussillo & Barak 2013).

Load the bundled network (64 tanh units), run it on fresh trials, find its
fixed points (8 attractors on the corners of a cube, saddles between them),
follow each saddle's unstable branches, and draw the two classic figures.
Run:  python examples/flipflop_end_to_end.py [--quick] [--out DIR]
Writes trials.png and state_space.png (needs dynsys.plot, i.e. matplotlib).
"""
import argparse
from pathlib import Path

from dynsys import attractor_graph, rnn, transition_graph
from dynsys.cli.flipflop import analyze_flipflop
from dynsys.plot import plot_state_space, plot_trials
from dynsys.tasks.flipflop import generate

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="folder for the pictures")
parser.add_argument("--quick", action="store_true", help="fewer trials and starts (for the tests)")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

cell = rnn.load_flipflop()                     # PyTorch-style weights, stored as .npz
print(cell, "trained by:", cell.meta.get("command"))

# The task on its own: pulses of +-1 on 3 channels; the target holds the sign of the last pulse.
trials = generate(4, 200, bits=3, seed=7)
states = cell.run(trials.inputs)               # (4, 200, 64) hidden states
print("one trial's states:", states.shape[1:], "-> readout", cell.readout(states[0]).shape)

# The whole analysis: held-out trials, fixed points from noisy trial states, corners, graph.
n_trials, n_starts = (32, 256) if args.quick else (128, 1024)
analysis = analyze_flipflop(cell, n_trials=n_trials, n_starts=n_starts, seed=1234)
print(analysis.summary())
print(analysis.fixed_points.table())

# The transition graph again, keeping each branch's path (for the picture): every saddle's
# unstable branches end on the attractors of the two memories it separates.
graph = transition_graph(analysis.system, analysis.fixed_points, keep_paths=True, search_saddles=True)


def corner(v):                                  # the bits an attractor's readout encodes, e.g. "+-+"
    return "".join("+" if o > 0 else "-" for o in cell.readout(graph.nodes[v]["x"]))


edges = attractor_graph(graph).edges(data="saddle")
print(f"attractor graph, {len(edges)} edges:", ", ".join(f"{corner(a)}~{corner(b)} (via {s})" for a, b, s in edges))

# Inputs, targets and outputs of three trials; the trajectories in their top 3 principal components.
fig = plot_trials(analysis.inputs, analysis.targets, analysis.outputs, trials=3)
fig.savefig(args.out / "trials.png", dpi=100)
fig = plot_state_space(analysis.states, analysis.fixed_points, graph, n_trajectories=20)
fig.savefig(args.out / "state_space.png", dpi=100)
print("wrote", args.out / "trials.png", "and", args.out / "state_space.png")
