"""Train an LSTM on the n-bit flip-flop in PyTorch and save it as a :mod:`dynsys.rnn` model (``.npz``).

dynsys's own trainer (``python -m dynsys.tasks.train``) trains the tanh,
GRU and continuous cells only; the benchmarks' LSTMs are trained here, with
the same task and the same stopping rule:

- data: :func:`dynsys.tasks.flipflop.generate`, 64 trials of 100 steps a
  step (pulse probability 0.05), from the training, validation and test
  streams of ``numpy.random.SeedSequence(seed).spawn(4)`` (the first seeds
  the initialisation), as ``dynsys.tasks.train.train`` draws them;
- model: ``torch.nn.LSTM(bits, H)`` (gates i, f, g, o) and a linear readout
  y_t = W_out h_t + b_out, every weight and bias drawn U(-1/√H, 1/√H)
  (PyTorch's default, drawn by numpy so that the seed fixes it); the state
  starts at zero;
- loss: the mean squared error over the masked entries
  (:func:`dynsys.tasks.train.masked_mse`); Adam (lr 5e-3, betas 0.9, 0.999)
  on the gradient clipped to global norm 1;
- stop when the sign accuracy (:func:`dynsys.tasks.train.sign_accuracy`) on
  a fresh validation batch reaches 0.995 (``dynsys.tasks.train.ACCURACY``) at
  two consecutive checks (every 50 steps), or after ``--iters`` steps; the
  loss and accuracy on 4 fresh test batches go into the model's ``meta``.

The weights are copied into :func:`dynsys.rnn.from_state_dict` (PyTorch's
``state_dict`` layout: ``weight_ih_l0`` (4H, I), ``weight_hh_l0`` (4H, H),
biases (4H,), gate blocks i, f, g, o, which is :class:`dynsys.rnn.LSTM`'s), and
the saved cell must reproduce the module's states (h, c) on the test trials
to 1e-6 in float64, else nothing is saved.  One torch thread; float32 in
training::

    python benchmarks/train_torch.py --bits 3 --hidden 64 --seed 0 --out benchmarks/cache/flipflop_lstm_64.npz

``networks.flipflop_cell`` runs it for a missing ("lstm", n, bits) network.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy and torch are imported

import argparse
import shlex
import sys
import time
from typing import Any

import numpy as np
import torch

from dynsys import rnn
from dynsys.tasks import flipflop
from dynsys.tasks.train import ACCURACY, masked_mse

BATCH, STEPS, CHECK_EVERY, PATIENCE, TEST_BATCHES = 64, 100, 50, 2, 4
REPRODUCE_TOL = 1e-6  # the saved cell's states against the module's, float64


class FlipFlopLSTM(torch.nn.Module):
    """``nn.LSTM`` (batch first) and a linear readout of h."""

    def __init__(self, bits: int, hidden: int) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(bits, hidden, batch_first=True)
        self.readout = torch.nn.Linear(hidden, bits)

    def forward(self, U: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The outputs (B, T, bits) and the hidden states h (B, T, H)."""
        H, _ = self.lstm(U)
        return self.readout(H), H


def _tensors(batch: flipflop.FlipFlopBatch, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    return tuple(torch.as_tensor(np.asarray(a, dtype=float), dtype=dtype) for a in batch)


def states(model: FlipFlopLSTM, U: np.ndarray) -> np.ndarray:
    """The module's states (h, c) after every step, (B, T, 2H), in float64 (a float64 copy of the module)."""
    lstm = torch.nn.LSTM(model.lstm.input_size, model.lstm.hidden_size, batch_first=True).double()
    lstm.load_state_dict(model.lstm.state_dict())
    h = torch.zeros(1, len(U), lstm.hidden_size, dtype=torch.float64)
    c = torch.zeros_like(h)
    out = []
    with torch.no_grad():
        for u in torch.as_tensor(U, dtype=torch.float64).unbind(1):  # one step at a time, to read c
            _, (h, c) = lstm(u[:, None], (h, c))
            out.append(torch.cat([h[0], c[0]], dim=1))
    return torch.stack(out, dim=1).numpy()


def accuracy(model: FlipFlopLSTM, batches: list[flipflop.FlipFlopBatch]) -> tuple[float, float]:
    """The sign accuracy (``dynsys.tasks.train.ACCURACY``) and the masked mean squared error of the model's
    outputs over ``batches``."""
    with torch.no_grad():
        y = np.concatenate([model(_tensors(b)[0])[0].double().numpy() for b in batches])
    targets, mask = np.concatenate([b.targets for b in batches]), np.concatenate([b.mask for b in batches])
    return ACCURACY.function(y, targets, mask), masked_mse(y, targets, mask)


def train(bits: int, hidden: int, seed: int, iters: int, lr: float = 5e-3,
          clip: float = 1.0) -> tuple[FlipFlopLSTM, dict[str, Any]]:
    """Train as the module docstring says; the model and its ``meta`` (scores, iterations, seconds)."""
    torch.set_num_threads(1)
    init_ss, train_ss, val_ss, test_ss = np.random.SeedSequence(seed).spawn(4)
    model = FlipFlopLSTM(bits, hidden)
    init = np.random.default_rng(init_ss)
    bound = 1.0 / np.sqrt(hidden)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.as_tensor(init.uniform(-bound, bound, tuple(p.shape))))
    adam = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    train_rng, val_rng = np.random.default_rng(train_ss), np.random.default_rng(val_ss)
    streak, start = 0, time.perf_counter()
    for k in range(1, iters + 1):
        U, Y, M = _tensors(flipflop.generate(BATCH, STEPS, bits=bits, seed=train_rng))
        out, _ = model(U)
        loss = torch.sum(torch.where(M.bool(), (out - Y) ** 2, 0.0)) / max(int(M.sum()), 1)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged at iteration {k} (loss {loss.item()}); lower lr={lr!r}")
        adam.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        adam.step()
        if k % CHECK_EVERY == 0 or k == iters:
            value = accuracy(model, [flipflop.generate(BATCH, STEPS, bits=bits, seed=val_rng)])[0]
            print(f"iter {k:5d}  loss {loss.item():.5f}  val accuracy {value:.4f}  "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
            streak = streak + 1 if value >= ACCURACY.target else 0
            if streak >= PATIENCE:
                break
    seconds = time.perf_counter() - start
    test_rng = np.random.default_rng(test_ss)
    test_accuracy, test_loss = accuracy(
        model, [flipflop.generate(BATCH, STEPS, bits=bits, seed=test_rng) for _ in range(TEST_BATCHES)])
    meta = {"cell": "lstm", "task": "flipflop", "bits": bits, "p": flipflop.DEFAULT_P, "hidden": hidden,
            "seed": seed, "lr": lr, "clip": clip, "batch": BATCH, "steps": STEPS, "iterations": k,
            "train_seconds": round(seconds, 3), "train_loss": loss.item(), "final_loss": test_loss,
            ACCURACY.name: test_accuracy, "torch": torch.__version__}
    return model, meta


def to_cell(model: FlipFlopLSTM, meta: dict[str, Any], check: np.ndarray) -> rnn.RNNCell:
    """The dynsys cell of ``model``, checked: its states on the inputs ``check`` (B, T, bits) equal the
    module's to REPRODUCE_TOL (float64), else a ValueError."""
    weights = {**model.lstm.state_dict(), **{f"readout.{k}": v for k, v in model.readout.state_dict().items()}}
    cell = rnn.from_state_dict(weights, "lstm", meta=meta)
    error = float(np.max(np.abs(cell.run(check) - states(model, check))))
    if not error <= REPRODUCE_TOL:
        raise ValueError(f"the dynsys cell's states differ from torch's by {error:.3g} > {REPRODUCE_TOL}")
    meta["reproduce_error"] = error
    return cell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=3, help="flip-flop channels (default 3)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units H (default 64; the state is 2H)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")
    parser.add_argument("--iters", type=int, default=5000, help="maximum Adam steps (default 5000)")
    parser.add_argument("--out", required=True, help="output .npz")
    args = parser.parse_args(argv)
    model, meta = train(args.bits, args.hidden, args.seed, args.iters)
    meta["command"] = shlex.join(["python", "benchmarks/train_torch.py", *(sys.argv[1:] if argv is None else argv)])
    check = flipflop.generate(8, 200, bits=args.bits, seed=args.seed + 1).inputs
    cell = to_cell(model, meta, check)
    cell.save(args.out)
    print(f"accuracy {meta['accuracy']:.4f} on fresh trials, loss {meta['final_loss']:.5f}, {meta['iterations']} "
          f"iterations in {meta['train_seconds']:.1f} s; states reproduced to {meta['reproduce_error']:.1e}; "
          f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
