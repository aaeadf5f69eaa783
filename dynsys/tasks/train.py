"""Train recurrent networks on a task with backpropagation through time in numpy.

Three cells, each with PyTorch's update equations and ``state_dict`` layout
(``weight_ih_l0`` (G*H, I), ``weight_hh_l0`` (G*H, H), ``bias_ih_l0``,
``bias_hh_l0`` (G*H,)), so that a trained model loads into
``dynsys.rnn.from_state_dict`` or into ``torch.nn.RNN``/``nn.GRU`` as it is.  Their forward
steps are those of :mod:`dynsys.rnn` (:func:`~dynsys.rnn.elman_step`, :func:`~dynsys.rnn.gru_step`,
:func:`~dynsys.rnn.continuous_step`), so the network trained is the system analysed; the trainer adds
what back-propagation needs, the intermediates kept from the forward pass and the backward pass
(:meth:`Cell.backward`).  Build a cell with :func:`make_cell`:

* ``"rnn_tanh"`` (G = 1): :math:`h_{t} = \\tanh(W_{ih} u_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`.
* ``"gru"`` (G = 3, rows stacked r, z, n):

  .. math::

      r &= \\sigma(W_{ir} u + b_{ir} + W_{hr} h + b_{hr}), \\quad
      z = \\sigma(W_{iz} u + b_{iz} + W_{hz} h + b_{hz}), \\\\
      n &= \\tanh(W_{in} u + b_{in} + r \\odot (W_{hn} h + b_{hn})), \\quad
      h' = (1 - z) \\odot n + z \\odot h.

* ``"continuous"`` (G = 1): :math:`\\tau \\dot x = -x + W_{hh} \\tanh(x) + W_{ih} u + b`
  with :math:`b = b_{ih} + b_{hh}`, discretised by Euler with step ``dt``:
  :math:`x_{t} = x_{t-1} + (dt/\\tau)(-x_{t-1} + W_{hh}\\tanh(x_{t-1}) + W_{ih} u_t + b)`.

The state starts at 0, and the output at step t is a linear readout of the
state *after* it consumed :math:`u_t` (PyTorch's convention):
:math:`y_t = W_{out} h_t + b_{out}`, or :math:`W_{out}\\tanh(x_t) + b_{out}` for
the continuous cell (parameters ``readout.weight`` (O, H), ``readout.bias``
(O,)).  The loss is the mean squared error over the entries where the task's
mask is True.  Gradients are exact (reverse-mode through the time loop); they
are checked against finite differences in ``tests/test_tasks.py``.

Optimisation: Adam (Kingma & Ba 2015) on the gradient after clipping its
global norm (over all parameters) to ``clip``.  Initialisation follows
PyTorch's defaults: every weight and bias uniform on
:math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`, the readout's on the same interval
(:math:`1/\\sqrt{\\text{fan-in}} = 1/\\sqrt{H}`).

Command line::

    python -m dynsys.tasks.train flipflop --bits 3 --hidden 64 --seed 0 --out model.npz

trains a tanh network on the n-bit flip-flop (:mod:`dynsys.tasks.flipflop`) until the
sign of its output matches the target on >= 99.5 % of the masked steps of
fresh validation trials at two consecutive checks, then reports the accuracy
on fresh test trials and saves the model (see :func:`save_model`).

::

    python -m dynsys.tasks.train sinewave --hidden 64 --seed 0 --steps 20,40,70,100 --iters 600 --lr 3e-3 --out model.npz

trains one on the sine-wave generator (:mod:`dynsys.tasks.sinewave`) on a
curriculum of trials of 20, 40, 70, then 100 steps (up to 600 steps each, or
until the variance explained reaches 0.99 twice in a row), the network of
:func:`dynsys.rnn.load_sinewave`.  ``TASKS`` names the tasks of the command
line, each with its batch source, its :class:`Score` and its own options.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, NamedTuple, Protocol, Sequence

import numpy as np

from .. import rnn
from .._io import atomic_write
from .._validate import check_count, check_real

from . import flipflop, sinewave

__all__ = [
    "CELLS",
    "Cell",
    "make_cell",
    "init_params",
    "outputs",
    "loss_and_gradients",
    "masked_mse",
    "sign_accuracy",
    "variance_explained",
    "Score",
    "ACCURACY",
    "VARIANCE_EXPLAINED",
    "clip_by_global_norm",
    "Adam",
    "train",
    "task_batches",
    "flipflop_batches",
    "sinewave_batches",
    "TASKS",
    "save_model",
    "main",
]

CELLS = ("rnn_tanh", "gru", "continuous")  # the cells this trainer trains: a subset of dynsys.rnn.CELLS
RECURRENT_KEYS = rnn.RNN_KEYS  # the arrays of a model file, as dynsys.rnn.load reads them
READOUT_KEYS = rnn.READOUT_KEYS

Params = dict[str, np.ndarray]


class Batch(Protocol):
    """What a task yields: arrays of shape (B, T, I), (B, T, O), (B, T, O).

    Examples
    --------
    :class:`dynsys.tasks.flipflop.FlipFlopBatch` is one:

    >>> batch: Batch = flipflop.generate(n_trials=2, n_steps=10, bits=3, seed=0)
    >>> batch.inputs.shape, batch.targets.shape, batch.mask.shape
    ((2, 10, 3), (2, 10, 3), (2, 10, 3))
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


class Cell(ABC):
    """A recurrent cell: its forward pass over time and the reverse pass.

    Subclasses implement :meth:`forward` and :meth:`backward` for the
    recurrent part only.  ``backward`` returns the gradients of the loss with
    respect to the pre-activations fed by :math:`W_{ih}` and by :math:`W_{hh}`
    at every step, together with the vectors multiplied by :math:`W_{hh}`;
    :func:`_recurrent_gradients` turns them into parameter gradients, the same
    way for every cell.

    Examples
    --------
    >>> cell = make_cell("gru")
    >>> isinstance(cell, Cell), cell.name, cell.gates, cell.meta()
    (True, 'gru', 3, {'cell': 'gru'})
    >>> params = init_params(cell, 1, 4, 1, np.random.default_rng(0))
    >>> R, cache = cell.forward(params, np.zeros((10, 2, 1)))  # T = 10 steps of B = 2 trials
    >>> R.shape, sorted(cache)
    ((10, 2, 4), ['H', 'hn', 'n', 'r', 'z'])
    """

    name: str
    gates: int = 1

    def meta(self) -> dict[str, Any]:
        """The metadata a loader needs to rebuild this cell."""
        return {"cell": self.name}

    @abstractmethod
    def forward(self, params: Params, U: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run the cell from the zero state.

        Parameters
        ----------
        params : dict
            The parameters, in ``state_dict`` layout.
        U : ndarray, shape (T, B, I)
            Inputs, time first.

        Returns
        -------
        R : ndarray, shape (T, B, H)
            What the readout reads at each step (h_t, or tanh(x_t)).
        cache : dict
            Whatever :meth:`backward` needs.
        """

    @abstractmethod
    def backward(
        self, params: Params, cache: dict[str, np.ndarray], dR: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Back-propagate ``dR`` = dL/dR (T, B, H) through time.

        Returns
        -------
        dA_ih, dA_hh : ndarray, shape (T, B, G*H)
            dL/d(W_ih u_t + b_ih) and dL/d(W_hh s_t + b_hh) per step.
        S : ndarray, shape (T, B, H)
            The vectors s_t that W_hh multiplies at each step.
        """


class _TanhRNN(Cell):
    """PyTorch ``nn.RNN(nonlinearity='tanh')``: h_t = tanh(W_ih u_t + b_ih + W_hh h_{t-1} + b_hh).

    The forward step is :func:`dynsys.rnn.elman_step`, that of :class:`dynsys.rnn.VanillaRNN`.
    """

    name = "rnn_tanh"

    def forward(self, params, U):
        W_hh, b_hh = params["weight_hh_l0"], params["bias_hh_l0"]
        A_in = U @ params["weight_ih_l0"].T + params["bias_ih_l0"]
        T, B = U.shape[:2]
        Hs = np.empty((T + 1, B, W_hh.shape[1]))
        Hs[0] = 0.0
        for t in range(T):
            Hs[t + 1] = rnn.elman_step(Hs[t], A_in[t], W_hh, b_hh)
        return Hs[1:], {"H": Hs}

    def backward(self, params, cache, dR):
        W_hh, Hs = params["weight_hh_l0"], cache["H"]
        dA = np.empty_like(dR)
        carry = np.zeros_like(dR[0])
        for t in range(dR.shape[0] - 1, -1, -1):
            dA[t] = (dR[t] + carry) * (1.0 - Hs[t + 1] ** 2)
            carry = dA[t] @ W_hh
        return dA, dA, Hs[:-1]


class _GRU(Cell):
    """PyTorch ``nn.GRU`` (gate rows r, z, n; see the module docstring).

    The forward step is :func:`dynsys.rnn.gru_step`, that of :class:`dynsys.rnn.GRU`; its gates are kept for
    the backward pass.
    """

    name = "gru"
    gates = 3

    def forward(self, params, U):
        W_hh, b_hh = params["weight_hh_l0"], params["bias_hh_l0"]
        H = W_hh.shape[1]
        A_in = U @ params["weight_ih_l0"].T + params["bias_ih_l0"]
        T, B = U.shape[:2]
        Hs = np.empty((T + 1, B, H))
        Hs[0] = 0.0
        r, z, n, hn = (np.empty((T, B, H)) for _ in range(4))
        for t in range(T):
            Hs[t + 1], (r[t], z[t], n[t], hn[t]) = rnn.gru_step(Hs[t], A_in[t], W_hh, b_hh)
        return Hs[1:], {"H": Hs, "r": r, "z": z, "n": n, "hn": hn}

    def backward(self, params, cache, dR):
        W_hh = params["weight_hh_l0"]
        Hs, r, z, n, hn = (cache[k] for k in ("H", "r", "z", "n", "hn"))
        T, B, H = dR.shape
        dA_in = np.empty((T, B, 3 * H))
        dA_h = np.empty((T, B, 3 * H))
        carry = np.zeros((B, H))
        for t in range(T - 1, -1, -1):
            dh = dR[t] + carry
            da_n = dh * (1.0 - z[t]) * (1.0 - n[t] ** 2)
            da_z = dh * (Hs[t] - n[t]) * z[t] * (1.0 - z[t])
            da_r = da_n * hn[t] * r[t] * (1.0 - r[t])
            dA_in[t, :, :H] = dA_h[t, :, :H] = da_r
            dA_in[t, :, H : 2 * H] = dA_h[t, :, H : 2 * H] = da_z
            dA_in[t, :, 2 * H :] = da_n
            dA_h[t, :, 2 * H :] = da_n * r[t]
            carry = dh * z[t] + dA_h[t] @ W_hh
        return dA_in, dA_h, Hs[:-1]


class _ContinuousRNN(Cell):
    """Euler discretisation of tau dx/dt = -x + W_hh tanh(x) + W_ih u + b_ih + b_hh.

    The forward step is :func:`dynsys.rnn.continuous_step`, that of :class:`dynsys.rnn.ContinuousRNN`.

    Parameters
    ----------
    tau : float
        Time constant (> 0).
    dt : float
        Euler step (> 0, at most tau, so that x_t is a convex combination of
        x_{t-1} and the drive).
    """

    name = "continuous"

    def __init__(self, tau: float = 1.0, dt: float = 0.25) -> None:
        self.tau = check_real(tau, "tau", positive=True)
        self.dt = check_real(dt, "dt", positive=True)
        if self.dt > self.tau:
            raise ValueError(f"dt must be <= tau, got dt={dt!r}, tau={tau!r}")
        self.alpha = self.dt / self.tau

    def meta(self):
        return {"cell": self.name, "tau": self.tau, "dt": self.dt}

    def forward(self, params, U):
        W_hh, b_hh = params["weight_hh_l0"], params["bias_hh_l0"]
        A_in = U @ params["weight_ih_l0"].T + params["bias_ih_l0"]
        T, B = U.shape[:2]
        X = np.empty((T + 1, B, W_hh.shape[1]))
        X[0] = 0.0
        Phi = np.tanh(X)  # Phi[t] = tanh(x_t), filled as x_t is computed
        for t in range(T):
            X[t + 1] = rnn.continuous_step(X[t], A_in[t], W_hh, b_hh, self.tau, self.dt)
            Phi[t + 1] = np.tanh(X[t + 1])
        return Phi[1:], {"Phi": Phi}

    def backward(self, params, cache, dR):
        W_hh, Phi, a = params["weight_hh_l0"], cache["Phi"], self.alpha
        dA = np.empty_like(dR)
        carry = np.zeros_like(dR[0])  # dL/dx_{t+1} from the steps after t+1
        for t in range(dR.shape[0] - 1, -1, -1):
            dx = dR[t] * (1.0 - Phi[t + 1] ** 2) + carry
            dA[t] = a * dx
            carry = (1.0 - a) * dx + (dA[t] @ W_hh) * (1.0 - Phi[t] ** 2)
        return dA, dA, Phi[:-1]


def make_cell(name: str, *, tau: float = 1.0, dt: float = 0.25) -> Cell:
    """The cell called ``name`` (one of :data:`CELLS`); ``tau``, ``dt`` only for "continuous".

    Examples
    --------
    >>> make_cell("continuous", tau=2.0, dt=0.5).meta()
    {'cell': 'continuous', 'tau': 2.0, 'dt': 0.5}
    >>> make_cell("lstm")
    Traceback (most recent call last):
    ...
    ValueError: cell must be one of ('rnn_tanh', 'gru', 'continuous'), got 'lstm'
    """
    if name == "rnn_tanh":
        return _TanhRNN()
    if name == "gru":
        return _GRU()
    if name == "continuous":
        return _ContinuousRNN(tau, dt)
    raise ValueError(f"cell must be one of {CELLS}, got {name!r}")


def init_params(cell: Cell, n_inputs: int, hidden: int, n_outputs: int, rng: np.random.Generator) -> Params:
    """PyTorch's default initialisation: every entry uniform on [-1/sqrt(H), 1/sqrt(H)].

    Returns a dict with the keys and shapes of the model file: the four
    recurrent arrays (G*H rows) and ``readout.weight`` (O, H), ``readout.bias`` (O,).

    Examples
    --------
    >>> params = init_params(make_cell("gru"), n_inputs=3, hidden=4, n_outputs=2, rng=np.random.default_rng(0))
    >>> {key: value.shape for key, value in params.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'weight_ih_l0': (12, 3), 'weight_hh_l0': (12, 4), 'bias_ih_l0': (12,), 'bias_hh_l0': (12,),
     'readout.weight': (2, 4), 'readout.bias': (2,)}
    >>> bool(np.all(np.abs(params["weight_hh_l0"]) <= 1 / np.sqrt(4)))
    True
    """
    n_inputs = check_count(n_inputs, "n_inputs")
    hidden = check_count(hidden, "hidden")
    n_outputs = check_count(n_outputs, "n_outputs")
    G, k = cell.gates, 1.0 / np.sqrt(hidden)
    shapes = {
        "weight_ih_l0": (G * hidden, n_inputs),
        "weight_hh_l0": (G * hidden, hidden),
        "bias_ih_l0": (G * hidden,),
        "bias_hh_l0": (G * hidden,),
        "readout.weight": (n_outputs, hidden),
        "readout.bias": (n_outputs,),
    }
    return {key: rng.uniform(-k, k, size=shape) for key, shape in shapes.items()}


def _time_first(a: np.ndarray, name: str, ndim_last: int | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 3 or (ndim_last is not None and a.shape[2] != ndim_last):
        want = f"(B, T, {ndim_last})" if ndim_last is not None else "(B, T, n)"
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    return np.ascontiguousarray(a.transpose(1, 0, 2))


def outputs(params: Params, inputs: np.ndarray, cell: Cell) -> np.ndarray:
    """Readout y of the network from the zero state.

    Parameters
    ----------
    params : dict
        Parameters in ``state_dict`` layout (see :func:`init_params`).
    inputs : ndarray, shape (B, T, I)
    cell : Cell

    Returns
    -------
    ndarray, shape (B, T, O)
        y_t = W_out r_t + b_out with r_t = h_t (or tanh(x_t)) after input u_t.

    Examples
    --------
    >>> cell = make_cell("rnn_tanh")
    >>> params = init_params(cell, 3, 8, 3, np.random.default_rng(0))
    >>> batch = flipflop.generate(2, 10, bits=3, seed=0)
    >>> outputs(params, batch.inputs, cell).shape
    (2, 10, 3)
    """
    U = _time_first(inputs, "inputs", params["weight_ih_l0"].shape[1])
    R, _ = cell.forward(params, U)
    Y = R @ params["readout.weight"].T + params["readout.bias"]
    return Y.transpose(1, 0, 2)


def masked_mse(y: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> float:
    """Mean of (y - target)^2 over the entries where ``mask`` is True (0 if none).

    Examples
    --------
    >>> masked_mse(np.array([1.0, 3.0]), np.array([0.0, 0.0]), np.array([True, False]))
    1.0
    """
    n = max(int(np.count_nonzero(mask)), 1)
    return float(np.sum(np.where(mask, (y - targets) ** 2, 0.0)) / n)


def sign_accuracy(y: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of the masked entries where sign(y) equals the target.

    Examples
    --------
    >>> y, targets = np.array([0.3, -2.0, 0.1]), np.array([1.0, 1.0, -1.0])
    >>> sign_accuracy(y, targets, np.array([True, True, False]))
    0.5
    """
    n = int(np.count_nonzero(mask))
    if n == 0:
        raise ValueError("mask selects no entries: accuracy is undefined")
    return float(np.count_nonzero((np.sign(y) == targets) & mask) / n)


def variance_explained(y: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> float:
    """The fraction of the targets' variance that y explains: 1 − MSE / Var(target), over the masked entries.

    :math:`R^2 = 1 - \\sum_m (y - y^*)^2 / \\sum_m (y^* - \\bar y^*)^2`; 1 − R² is the normalised mean
    squared error, 1 for a network that outputs the targets' mean.

    Examples
    --------
    >>> targets = np.array([1.0, -1.0, 1.0, -1.0])
    >>> variance_explained(0.9 * targets, targets, np.ones(4, bool))  # 1 - 0.01
    0.99
    >>> variance_explained(np.zeros(4), targets, np.ones(4, bool))
    0.0
    """
    mask = np.asarray(mask, dtype=bool)
    if not np.any(mask):
        raise ValueError("mask selects no entries: the variance explained is undefined")
    selected = np.asarray(targets, dtype=float)[mask]
    spread = float(np.sum((selected - selected.mean()) ** 2))
    if spread == 0:
        raise ValueError("the masked targets are constant: the variance explained is undefined")
    return 1.0 - float(np.sum((np.asarray(y, dtype=float)[mask] - selected) ** 2)) / spread


class Score(NamedTuple):
    """How :func:`train` validates: ``function(y, targets, mask)``, higher is better, and the value to reach.

    Examples
    --------
    >>> ACCURACY.name, ACCURACY.function is sign_accuracy, ACCURACY.target
    ('accuracy', True, 0.995)
    >>> VARIANCE_EXPLAINED.function(np.zeros(2), np.array([1.0, -1.0]), np.ones(2, bool))
    0.0
    """

    name: str
    function: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    target: float


#: The flip-flop's score: the sign of the output is the bit held.
ACCURACY = Score("accuracy", sign_accuracy, 0.995)
#: The sine-wave generator's score: R², that is 1 − the normalised MSE.
VARIANCE_EXPLAINED = Score("variance_explained", variance_explained, 0.99)


def _recurrent_gradients(
    U: np.ndarray, dA_in: np.ndarray, dA_h: np.ndarray, S: np.ndarray
) -> Params:
    """Parameter gradients from per-step pre-activation gradients, summed over (T, B)."""
    gh = dA_in.shape[2]
    dA_in2, dA_h2 = dA_in.reshape(-1, gh), dA_h.reshape(-1, gh)
    return {
        "weight_ih_l0": dA_in2.T @ U.reshape(-1, U.shape[2]),
        "weight_hh_l0": dA_h2.T @ S.reshape(-1, S.shape[2]),
        "bias_ih_l0": dA_in2.sum(axis=0),
        "bias_hh_l0": dA_h2.sum(axis=0),
    }


def loss_and_gradients(params: Params, batch: Batch, cell: Cell) -> tuple[float, Params, np.ndarray]:
    """Masked mean squared error and its exact gradient with respect to every parameter.

    Parameters
    ----------
    params : dict
        Parameters in ``state_dict`` layout.
    batch : Batch
        ``inputs`` (B, T, I), ``targets`` (B, T, O), ``mask`` (B, T, O).
    cell : Cell

    Returns
    -------
    loss : float
        :math:`L = \\frac{1}{N}\\sum_{m} (y - y^*)^2` over the N masked entries.
    grads : dict
        dL/dp for every key of ``params``, same shapes.
    y : ndarray, shape (B, T, O)
        The outputs.

    Examples
    --------
    >>> cell = make_cell("gru")
    >>> params = init_params(cell, 1, 4, 1, np.random.default_rng(0))
    >>> batch = flipflop.generate(4, 20, bits=1, seed=0)
    >>> loss, grads, y = loss_and_gradients(params, batch, cell)
    >>> loss == masked_mse(y, batch.targets, batch.mask), sorted(grads) == sorted(params)
    (True, True)

    The gradient is exact; a forward difference agrees to about ``eps``:

    >>> eps = 1e-6
    >>> params["weight_hh_l0"][0, 0] += eps
    >>> slope = (loss_and_gradients(params, batch, cell)[0] - loss) / eps
    >>> bool(abs(slope - grads["weight_hh_l0"][0, 0]) < 1e-4)
    True
    """
    W_out, b_out = params["readout.weight"], params["readout.bias"]
    U = _time_first(batch.inputs, "inputs", params["weight_ih_l0"].shape[1])
    targets = _time_first(batch.targets, "targets", W_out.shape[0])
    mask = np.asarray(batch.mask, dtype=bool).transpose(1, 0, 2)
    if mask.shape != targets.shape:
        raise ValueError(f"mask must have the shape of targets {batch.targets.shape}, got {batch.mask.shape}")
    R, cache = cell.forward(params, U)
    Y = R @ W_out.T + b_out
    n = max(int(np.count_nonzero(mask)), 1)
    err = np.where(mask, Y - targets, 0.0)
    loss = float(np.sum(err**2) / n)
    dY = (2.0 / n) * err
    grads = _recurrent_gradients(U, *cell.backward(params, cache, dY @ W_out))
    grads["readout.weight"] = dY.reshape(-1, dY.shape[2]).T @ R.reshape(-1, R.shape[2])
    grads["readout.bias"] = dY.sum(axis=(0, 1))
    return loss, grads, Y.transpose(1, 0, 2)


def clip_by_global_norm(grads: Params, max_norm: float) -> float:
    """Scale ``grads`` in place so that their joint 2-norm is at most ``max_norm``; return the norm before.

    Examples
    --------
    >>> grads = {"w": np.array([3.0, 0.0]), "b": np.array([4.0])}
    >>> clip_by_global_norm(grads, 1.0)
    5.0
    >>> grads["w"], grads["b"]
    (array([0.6, 0. ]), array([0.8]))
    """
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, updating a dict of arrays in place.

    m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
    p <- p - lr (m / (1-b1^k)) / (sqrt(v / (1-b2^k)) + eps).

    Examples
    --------
    The first step moves each entry by about ``lr`` against the sign of its gradient:

    >>> params = {"w": np.array([1.0, -1.0])}
    >>> adam = Adam(params, lr=0.1)
    >>> adam.step(params, {"w": np.array([2.0, -0.5])})
    >>> np.round(params["w"], 6)
    array([ 0.9, -0.9])
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lr = check_real(lr, "lr", positive=True)
        self.b1, self.b2 = betas
        self.eps = eps
        self.k = 0
        self.m = {key: np.zeros_like(p) for key, p in params.items()}
        self.v = {key: np.zeros_like(p) for key, p in params.items()}

    def step(self, params: Params, grads: Params) -> None:
        """One update of every array of ``params`` from ``grads``."""
        self.k += 1
        c1, c2 = 1.0 - self.b1**self.k, 1.0 - self.b2**self.k
        for key, g in grads.items():
            m, v = self.m[key], self.v[key]
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g**2
            params[key] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


BatchSource = Callable[[np.random.Generator], Batch]


def train(
    batches: BatchSource | Sequence[BatchSource],
    *,
    cell: Cell | str = "rnn_tanh",
    hidden: int = 64,
    seed: int = 0,
    iters: int = 5000,
    lr: float = 5e-3,
    clip: float = 1.0,
    check_every: int = 50,
    score: Score = ACCURACY,
    patience: int = 2,
    n_test_batches: int = 4,
    log: Callable[[str], None] | None = print,
) -> tuple[Params, dict[str, Any]]:
    """Train a network on a task with BPTT, Adam and global-norm clipping.

    Parameters
    ----------
    batches : callable, or a sequence of them
        ``batches(rng)`` returns a fresh training batch (``inputs`` (B, T, I),
        ``targets`` (B, T, O), ``mask`` (B, T, O)) drawn with the Generator
        ``rng``; I and O are read from the first batch.  A sequence is a
        curriculum: training runs through its sources in turn (for example
        trials of growing length), each for up to ``iters`` steps or until its
        validation score reaches the target, with one optimiser throughout;
        the test batches come from the last source.
    cell : Cell or str, default "rnn_tanh"
        The cell, or its name (see :func:`make_cell`).
    hidden : int, default 64
        Number of units H.
    seed : int, default 0
        Seeds the initialisation and three independent data streams
        (training, validation, test) through :class:`numpy.random.SeedSequence`.
    iters : int, default 5000
        Maximum number of Adam steps (per source of a curriculum).
    lr : float, default 5e-3
        Adam's learning rate (betas 0.9, 0.999).
    clip : float, default 1.0
        Maximum global norm of the gradient.
    check_every : int, default 50
        Steps between validation checks (the score on a fresh batch).
    score : Score, default ACCURACY
        The validation score (:data:`ACCURACY`, the sign accuracy, for the
        flip-flop; :data:`VARIANCE_EXPLAINED` for the sine waves): stop once
        it reaches ``score.target`` ``patience`` checks in a row.
    patience : int, default 2
    n_test_batches : int, default 4
        Fresh batches on which the final loss and score are measured.
    log : callable or None, default print
        Receives one progress line per check.

    Returns
    -------
    params : dict
        Trained parameters in ``state_dict`` layout.
    info : dict
        ``final_loss`` and the score under its name (``accuracy`` by
        default; on the test batches), ``train_loss`` (last step),
        ``iterations``, ``train_seconds``, ``history`` (list of (iteration,
        train loss, validation score)) and the cell's metadata.

    Examples
    --------
    >>> batches = flipflop_batches(bits=1, n_trials=8, n_steps=20)
    >>> params, info = train(batches, hidden=4, iters=20, check_every=10, log=None)
    >>> params["weight_hh_l0"].shape, info["iterations"], info["cell"]
    ((4, 4), 20, 'rnn_tanh')
    >>> 0.0 <= info["accuracy"] <= 1.0
    True

    A curriculum of two trial lengths, 10 steps each:

    >>> stages = [flipflop_batches(bits=1, n_trials=8, n_steps=T) for T in (10, 20)]
    >>> params, info = train(stages, hidden=4, iters=10, check_every=5, log=None)
    >>> info["iterations"], [k for k, _, _ in info["history"]]
    (20, [5, 10, 15, 20])
    """
    cell = make_cell(cell) if isinstance(cell, str) else cell
    hidden = check_count(hidden, "hidden")
    iters = check_count(iters, "iters")
    check_every = check_count(check_every, "check_every")
    patience = check_count(patience, "patience")
    n_test_batches = check_count(n_test_batches, "n_test_batches")
    clip = check_real(clip, "clip", positive=True)
    sources = [batches] if callable(batches) else list(batches)
    if not sources or not all(callable(source) for source in sources):
        raise ValueError(f"batches must be a batch source or a non-empty sequence of them, got {batches!r}")
    init_ss, train_ss, val_ss, test_ss = np.random.SeedSequence(check_count(seed, "seed", 0)).spawn(4)
    train_rng, val_rng = np.random.default_rng(train_ss), np.random.default_rng(val_ss)
    batch = sources[0](train_rng)
    params = init_params(
        cell, np.shape(batch.inputs)[2], hidden, np.shape(batch.targets)[2], np.random.default_rng(init_ss)
    )
    adam = Adam(params, lr)
    history: list[tuple[int, float, float]] = []
    k, start = 0, time.perf_counter()
    for number, source in enumerate(sources, start=1):
        stage = f"stage {number}/{len(sources)}  " if len(sources) > 1 else ""
        streak = 0
        for i in range(1, iters + 1):
            k += 1
            if k > 1:
                batch = source(train_rng)
            loss, grads, _ = loss_and_gradients(params, batch, cell)
            if not np.isfinite(loss):
                raise FloatingPointError(f"training diverged at iteration {k} (loss {loss}); lower lr={lr!r}")
            clip_by_global_norm(grads, clip)
            adam.step(params, grads)
            if i % check_every == 0 or i == iters:
                val = source(val_rng)
                value = score.function(outputs(params, val.inputs, cell), val.targets, val.mask)
                history.append((k, loss, value))
                if log is not None:
                    log(f"{stage}iter {k:5d}  loss {loss:.5f}  val {score.name} {value:.4f}  "
                        f"({time.perf_counter() - start:.1f} s)")
                streak = streak + 1 if value >= score.target else 0
                if streak >= patience:
                    break
    seconds = time.perf_counter() - start
    test_rng = np.random.default_rng(test_ss)
    tests = [sources[-1](test_rng) for _ in range(n_test_batches)]
    Y = np.concatenate([outputs(params, b.inputs, cell) for b in tests])
    targets = np.concatenate([b.targets for b in tests])
    mask = np.concatenate([b.mask for b in tests])
    info = {
        **cell.meta(),
        "hidden": hidden,
        "seed": seed,
        "lr": lr,
        "clip": clip,
        "iterations": k,
        "train_seconds": round(seconds, 3),
        "train_loss": loss,
        "final_loss": masked_mse(Y, targets, mask),
        score.name: score.function(Y, targets, mask),
        "history": history,
    }
    return params, info


def save_model(path: str, params: Params, meta: dict[str, Any]) -> None:
    """Write ``params`` and ``meta`` (as a 0-d unicode array of JSON) to an ``.npz``, atomically.

    The file holds exactly the keys of :func:`init_params` plus ``meta``, and
    reads back with ``np.load(path, allow_pickle=False)``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> cell = make_cell("rnn_tanh")
    >>> params = init_params(cell, 2, 3, 2, np.random.default_rng(0))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "model.npz"
    ...     save_model(path, params, cell.meta())
    ...     with np.load(path, allow_pickle=False) as f:
    ...         files, meta = sorted(f.files), json.loads(str(f["meta"]))
    >>> files  # doctest: +NORMALIZE_WHITESPACE
    ['bias_hh_l0', 'bias_ih_l0', 'meta', 'readout.bias', 'readout.weight', 'weight_hh_l0', 'weight_ih_l0']
    >>> meta
    {'cell': 'rnn_tanh'}
    """
    missing = [key for key in (*RECURRENT_KEYS, *READOUT_KEYS) if key not in params]
    if missing:
        raise ValueError(f"params lacks the keys {missing}")
    if "cell" not in meta:
        raise ValueError("meta must name the cell under 'cell'")
    arrays = {key: np.asarray(params[key], dtype=np.float64) for key in (*RECURRENT_KEYS, *READOUT_KEYS)}
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def task_batches(generate: Callable[..., Batch], n_trials: int, n_steps: int, **options: Any) -> BatchSource:
    """A batch source for :func:`train`: ``rng -> generate(n_trials, n_steps, **options, seed=rng)``.

    The arguments are checked now, by one call of ``generate``, not at the first step.

    Examples
    --------
    >>> batches = task_batches(sinewave.generate, 4, 10, n_levels=3)
    >>> batches(np.random.default_rng(0)).inputs.shape
    (4, 10, 1)
    """
    generate(1, 1, **options)

    def batches(rng: np.random.Generator) -> Batch:
        return generate(n_trials, n_steps, **options, seed=rng)

    return batches


def flipflop_batches(bits: int, n_trials: int, n_steps: int, p: float = flipflop.DEFAULT_P) -> BatchSource:
    """A batch source for :func:`train`: ``rng -> flipflop.generate(n_trials, n_steps, bits, p, seed=rng)``.

    Examples
    --------
    >>> batches = flipflop_batches(bits=2, n_trials=4, n_steps=10)
    >>> batches(np.random.default_rng(0)).inputs.shape
    (4, 10, 2)
    """
    return task_batches(flipflop.generate, n_trials, n_steps, bits=bits, p=p)


def sinewave_batches(n_trials: int, n_steps: int, n_levels: int = sinewave.N_LEVELS) -> BatchSource:
    """A batch source for :func:`train`: ``rng -> sinewave.generate(n_trials, n_steps, n_levels, seed=rng)``.

    Examples
    --------
    >>> batches = sinewave_batches(n_trials=4, n_steps=10)
    >>> batches(np.random.default_rng(0)).targets.shape
    (4, 10, 1)
    """
    return task_batches(sinewave.generate, n_trials, n_steps, n_levels=n_levels)


def _flipflop_task(args: argparse.Namespace, n_steps: int) -> BatchSource:
    return flipflop_batches(args.bits, args.batch, n_steps, args.p)


def _sinewave_task(args: argparse.Namespace, n_steps: int) -> BatchSource:
    return sinewave_batches(args.batch, n_steps, args.levels)


#: The tasks of the command line: name -> (batch source from the options and a trial length, the score, the
#: task's own options with their defaults, recorded in the model's ``meta``).
TASKS: dict[str, tuple[Callable[[argparse.Namespace, int], BatchSource], Score, dict[str, Any]]] = {
    "flipflop": (_flipflop_task, ACCURACY, {"bits": 3, "p": flipflop.DEFAULT_P}),
    "sinewave": (_sinewave_task, VARIANCE_EXPLAINED, {"levels": sinewave.N_LEVELS}),
}


def _lengths(text: str) -> list[int]:
    """``--steps``: one trial length, or several separated by commas (a curriculum)."""
    try:
        lengths = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    return lengths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dynsys.tasks.train", description="Train an RNN in numpy (BPTT + Adam) and save it as .npz."
    )
    parser.add_argument("task", choices=sorted(TASKS), help="the task to train on")
    parser.add_argument("--bits", type=int, help="flip-flop channels (flipflop; default 3)")
    parser.add_argument("--p", type=float, help=f"pulse probability per step (flipflop; default {flipflop.DEFAULT_P})")
    parser.add_argument("--levels", type=int, help=f"input levels (sinewave; default {sinewave.N_LEVELS})")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--cell", choices=CELLS, default="rnn_tanh", help="cell type (default rnn_tanh)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")
    parser.add_argument("--out", required=True, help="output .npz")
    parser.add_argument("--iters", type=int, default=5000, help="maximum Adam steps, per trial length (default 5000)")
    parser.add_argument("--batch", type=int, default=64, help="trials per step (default 64)")
    parser.add_argument("--steps", type=_lengths, default=[100], metavar="T[,T...]",
                        help="time steps per trial (default 100); several: a curriculum of growing trials")
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (default 5e-3)")
    parser.add_argument("--clip", type=float, default=1.0, help="gradient global-norm clip (default 1)")
    parser.add_argument("--tau", type=float, default=1.0, help="time constant, continuous cell")
    parser.add_argument("--dt", type=float, default=0.25, help="Euler step, continuous cell")
    return parser


def _task_options(args: argparse.Namespace) -> dict[str, Any]:
    """The task's own options (defaults filled in) after checking that no other task's option was given."""
    own = TASKS[args.task][2]
    for name, (_, _, options) in TASKS.items():
        for option in options:
            if option not in own and getattr(args, option) is not None:
                raise ValueError(f"--{option} applies only to the {name} task, not to {args.task}")
    for option, default in own.items():
        if getattr(args, option) is None:
            setattr(args, option, default)
    return {option: getattr(args, option) for option in own}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:  # doctest: +ELLIPSIS
    ...     status = main(["flipflop", "--bits", "1", "--hidden", "4", "--iters", "5", "--batch", "4",
    ...                    "--steps", "10", "--out", str(pathlib.Path(folder) / "m.npz")])
    iter     5  loss ...
    accuracy ... on fresh trials, loss ..., 5 iterations in ... s; saved .../m.npz

    The sine waves, on a curriculum of trials of 5 then 10 steps:

    >>> with tempfile.TemporaryDirectory() as folder:  # doctest: +ELLIPSIS
    ...     status = main(["sinewave", "--levels", "3", "--hidden", "4", "--iters", "5", "--batch", "4",
    ...                    "--steps", "5,10", "--out", str(pathlib.Path(folder) / "m.npz")])
    stage 1/2  iter     5  loss ...
    stage 2/2  iter    10  loss ...
    variance_explained ... on fresh trials, loss ..., 10 iterations in ... s; saved .../m.npz
    >>> status
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    source, score, _ = TASKS[args.task]
    try:
        options = _task_options(args)
        cell = make_cell(args.cell, tau=args.tau, dt=args.dt)
        stages = [source(args, check_count(n_steps, "steps")) for n_steps in args.steps]
        params, info = train(
            stages, cell=cell, hidden=args.hidden, seed=args.seed, iters=args.iters, lr=args.lr, clip=args.clip,
            score=score,
        )
    except (ValueError, FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    meta = {
        **{key: value for key, value in info.items() if key != "history"},
        "task": args.task,
        **options,
        "batch": args.batch,
        "steps": args.steps[0] if len(args.steps) == 1 else args.steps,
        "command": shlex.join(["python", "-m", "dynsys.tasks.train", *argv]),
        "numpy": np.__version__,
        "torch_free": True,
    }
    save_model(args.out, params, meta)
    print(
        f"{score.name} {info[score.name]:.4f} on fresh trials, loss {info['final_loss']:.5f}, "
        f"{info['iterations']} iterations in {info['train_seconds']:.1f} s; saved {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
