"""Load a PyTorch-style GRU state_dict without torch, and find its fixed points.

dynsys.rnn reads the keys and layouts of torch.nn.GRU's state_dict (gates r, z, n stacked
by rows) plus an nn.Linear named `readout`.  Here the weights are random numpy arrays; with
torch installed, a trained model is loaded the same way (see the end).
Run:  python examples/load_state_dict.py [--quick] [--out DIR]   (writes gru.npz into DIR)
"""
import argparse
from pathlib import Path

import numpy as np

from dynsys import find_fixed_points, rnn, sample_states

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("."), help="folder for the saved model")
parser.add_argument("--quick", action="store_true", help="fewer starts (for the tests)")
args = parser.parse_args()

H, I, O = 16, 2, 1                                  # hidden units, inputs, outputs
rng = np.random.default_rng(2)
k = 1 / np.sqrt(H)                                  # PyTorch's init is U(-k, k); a gain of 4 on W_hh
state_dict = {                                      # makes this one bistable, with a saddle between
    "rnn.weight_ih_l0": rng.uniform(-k, k, (3 * H, I)),  # [W_ir; W_iz; W_in]
    "rnn.weight_hh_l0": 4 * rng.uniform(-k, k, (3 * H, H)),
    "rnn.bias_ih_l0": rng.uniform(-k, k, 3 * H),
    "rnn.bias_hh_l0": rng.uniform(-k, k, 3 * H),
    "readout.weight": rng.uniform(-k, k, (O, H)),
    "readout.bias": np.zeros(O),
}
cell = rnn.from_state_dict(state_dict, cell="gru")  # the "rnn." prefix of model.state_dict() is found
print(cell)

# One step by PyTorch's documented equations, in numpy, against cell.step.
h, u = rng.standard_normal((5, H)), rng.standard_normal((5, I))
gi = u @ state_dict["rnn.weight_ih_l0"].T + state_dict["rnn.bias_ih_l0"]   # input part of the 3 gates
gh = h @ state_dict["rnn.weight_hh_l0"].T + state_dict["rnn.bias_hh_l0"]   # recurrent part
r, z = (1 / (1 + np.exp(-(gi[:, s] + gh[:, s]))) for s in (slice(0, H), slice(H, 2 * H)))
n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
print("step vs PyTorch's equations:", np.abs(cell.step(h, u) - ((1 - z) * n + z * h)).max())

# Run random input sequences, then find the fixed points of the map h -> GRU(h, u = 0).
states = cell.run(rng.standard_normal((32, 100, I)))          # (32, 100, 16)
starts = sample_states(states, 128 if args.quick else 1024, noise=0.1, seed=0)
points = find_fixed_points(cell.system(), starts, seed=0)
print(points.table())                               # two stable points, the saddle between, a slow point
print("readout at the stable points:", cell.readout(points.stable().x).ravel().round(3))

# Save and load: an .npz of the same keys plus a JSON `meta`; the round trip is exact.
args.out.mkdir(parents=True, exist_ok=True)
path = cell.save(args.out / "gru.npz")
again = rnn.load(path)                              # reads with allow_pickle=False
assert all(np.array_equal(again.state_dict()[key], value) for key, value in cell.state_dict().items())
print("reloaded", again, "from", path, "- the same weights, bit for bit")

# With torch, a trained model (model.rnn an nn.GRU, model.readout an nn.Linear) is read the same way:
#   cell = rnn.from_state_dict(model.state_dict(), cell="gru")       # tensors are converted to float64
#   cell = rnn.from_torch(model.rnn, readout=model.readout)          # or from the modules themselves
# A flip-flop network saved by torch.save(model.state_dict(), "model.pt"):  dynsys flipflop --model model.pt
