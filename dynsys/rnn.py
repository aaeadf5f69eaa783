"""Recurrent neural networks as dynamical systems: PyTorch-style cells.

A trained RNN with its input held constant at u is an autonomous dynamical
system: a map h -> h' for the discrete cells (:class:`VanillaRNN`,
:class:`GRU`, :class:`LSTM`) and a flow for :class:`ContinuousRNN`.
``cell.system(u)`` returns it as a :class:`~dynsys.System` with analytic,
batched Jacobians, Jacobian-vector products Dg v and vector-Jacobian products
Dgᵀ v, after which the rest of dynsys (fixed points, linearisation, graphs)
treats it like any other system.  The products cost a few (B, n) @ (n, n)-shaped
matrix products and never form the (B, n, n) Jacobians, so the systems are
``matrix_free``: large networks (n in the thousands, B in the thousands) fit
in memory.  ``System.residual_operator(X)`` computes the gates (and their
derivatives) at X once, after which each product is one matrix product with
W_hh.

Weights follow PyTorch's ``state_dict`` names and layouts for a single-layer
``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``:

=================  ============  =============================================
key                shape         meaning
=================  ============  =============================================
``weight_ih_l0``   (G*H, I)      input weights, gate blocks stacked by rows
``weight_hh_l0``   (G*H, H)      recurrent weights, same stacking
``bias_ih_l0``     (G*H,)        optional (``bias=False``: zeros)
``bias_hh_l0``     (G*H,)        optional (``bias=False``: zeros)
``<name>.weight``  (O, H)        optional linear readout (an ``nn.Linear`` of
``<name>.bias``    (O,)          any name: ``fc``, ``readout``), optional bias
=================  ============  =============================================

with G = 1 (RNN, ContinuousRNN), 3 (GRU: gates r, z, n) or 4 (LSTM: gates
i, f, g, o).  A model file (:meth:`RNNCell.save`, :func:`load`) is an ``.npz``
of these arrays plus ``meta``, a 0-d unicode array holding a JSON object with
at least ``"cell"`` (one of :data:`CELLS`) and, for ``"continuous"``,
``"tau"`` and ``"dt"``.

The RNN keys may carry a module prefix (``rnn.weight_hh_l0``); a cell saved
by dynsys names its readout ``readout``.  :func:`load_network` reads such
``.npz`` files and PyTorch ``.pt`` files (state_dicts and checkpoints).

torch is never needed: :func:`from_state_dict` takes numpy arrays or torch
tensors (anything with ``.detach().cpu().numpy()``), and only
:func:`from_torch` and :func:`load_network` on a ``.pt`` import torch, when
they are called.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

from ._io import atomic_write, loads_json, read_npz
from ._validate import check_real, check_real_array
from .systems import System

CELLS = ("rnn_tanh", "rnn_relu", "gru", "lstm", "continuous")
RNN_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
READOUT_KEYS = ("readout.weight", "readout.bias")
# any recurrent parameter PyTorch names: other layers (_l1), reverse directions, LSTM projections (_hr)
_RNN_PARAMETER = re.compile(r"(weight|bias)_(ih|hh|hr)_l\d+(_reverse)?")
FLIPFLOP_PATH = Path(__file__).parent / "data" / "flipflop_3bit_64.npz"
FLIPFLOP_COMMAND = (
    "python -m dynsys.tasks.train flipflop --bits 3 --hidden 64 --seed 0 --out dynsys/data/flipflop_3bit_64.npz"
)
SINEWAVE_PATH = Path(__file__).parent / "data" / "sinewave_64.npz"
SINEWAVE_COMMAND = (
    "python -m dynsys.tasks.train sinewave --hidden 64 --seed 0 --steps 20,40,70,100 --iters 600 --lr 3e-3 "
    "--out dynsys/data/sinewave_64.npz"
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{-x}), without overflow for large |x|."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# ------------------------------------------------------------ cell equations
# One step of each cell from its input drive a = W_ih u + b_ih, as plain functions of arrays (no checks): the
# cell classes below and the numpy trainer (dynsys.tasks.train, which adds back-propagation through time) both
# call them, so that a trained network and the system analysed are the same equations.


def elman_step(h: np.ndarray, a: np.ndarray, weight_hh: np.ndarray, bias_hh: np.ndarray,
               nonlinearity: str = "tanh") -> np.ndarray:
    """One step of PyTorch's ``nn.RNN``: h' = act(a + W_hh h + b_hh), act = tanh or relu.

    Parameters
    ----------
    h : ndarray of shape (B, H)
        States.
    a : ndarray of shape (B, H) or (H,)
        Input drives W_ih u + b_ih.
    weight_hh : ndarray of shape (H, H)
    bias_hh : ndarray of shape (H,)
    nonlinearity : {"tanh", "relu"}

    Returns
    -------
    ndarray of shape (B, H)

    Examples
    --------
    >>> W = np.array([[0.0, 1.0], [-1.0, 0.0]])
    >>> elman_step(np.array([[1.0, 0.0]]), np.zeros(2), W, np.zeros(2), "relu")
    array([[0., 0.]])
    >>> np.round(elman_step(np.array([[0.0, 2.0]]), np.zeros(2), W, np.zeros(2)), 4)
    array([[0.964, 0.   ]])
    """
    s = a + h @ weight_hh.T + bias_hh
    return np.tanh(s) if nonlinearity == "tanh" else np.maximum(s, 0.0)


def gru_step(
    h: np.ndarray, a: np.ndarray, weight_hh: np.ndarray, bias_hh: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """One step of PyTorch's ``nn.GRU`` (equations in :class:`GRU`), with its gates.

    Parameters
    ----------
    h : ndarray of shape (B, H)
        States.
    a : ndarray of shape (B, 3H) or (3H,)
        Input drives W_ih u + b_ih, gate blocks r, z, n.
    weight_hh : ndarray of shape (3H, H)
    bias_hh : ndarray of shape (3H,)

    Returns
    -------
    h_next : ndarray of shape (B, H)
        h' = (1 − z) ⊙ n + z ⊙ h.
    gates : tuple of four ndarrays of shape (B, H)
        r, z, n and m = W_hn h + b_hn.

    Examples
    --------
    With zero weights r = z = 1/2 and n = tanh(a_n), so h' = (tanh(a_n) + h)/2:

    >>> h_next, (r, z, n, m) = gru_step(np.array([[0.5]]), np.array([0.0, 0.0, 1.0]), np.zeros((3, 1)), np.zeros(3))
    >>> np.round(h_next, 6), z
    (array([[0.630797]]), array([[0.5]]))
    """
    H = h.shape[-1]
    A_h = h @ weight_hh.T + bias_hh  # slices, not np.split: this runs once per step of every orbit
    r = _sigmoid(a[..., :H] + A_h[..., :H])
    z = _sigmoid(a[..., H : 2 * H] + A_h[..., H : 2 * H])
    m = A_h[..., 2 * H :]
    n = np.tanh(a[..., 2 * H :] + r * m)
    return (1.0 - z) * n + z * h, (r, z, n, m)


def continuous_rhs(x: np.ndarray, a: np.ndarray, weight_hh: np.ndarray, bias_hh: np.ndarray,
                   tau: float) -> np.ndarray:
    """The vector field of :class:`ContinuousRNN`: dx/dt = (−x + W_hh tanh(x) + a + b_hh) / τ.

    Parameters
    ----------
    x : ndarray of shape (B, H)
        States.
    a : ndarray of shape (B, H) or (H,)
        Input drives W_ih u + b_ih.
    weight_hh : ndarray of shape (H, H)
    bias_hh : ndarray of shape (H,)
    tau : float
        The time constant τ > 0.

    Returns
    -------
    ndarray of shape (B, H)

    Examples
    --------
    >>> continuous_rhs(np.array([[2.0]]), np.array([1.0]), np.zeros((1, 1)), np.zeros(1), 0.5)
    array([[-2.]])
    """
    return (-x + np.tanh(x) @ weight_hh.T + a + bias_hh) / tau


def continuous_step(x: np.ndarray, a: np.ndarray, weight_hh: np.ndarray, bias_hh: np.ndarray,
                    tau: float, dt: float) -> np.ndarray:
    """One forward-Euler step of length ``dt`` of :func:`continuous_rhs`: x + dt f(x).

    Parameters
    ----------
    x, a, weight_hh, bias_hh, tau
        As for :func:`continuous_rhs`.
    dt : float
        The step length.

    Returns
    -------
    ndarray of shape (B, H)

    Examples
    --------
    >>> continuous_step(np.array([[2.0]]), np.array([1.0]), np.zeros((1, 1)), np.zeros(1), 0.5, 0.25)
    array([[1.5]])
    """
    return x + dt * continuous_rhs(x, a, weight_hh, bias_hh, tau)


def _tensor_to_numpy(value: Any, key: str) -> np.ndarray:
    """A dense CPU copy of a torch tensor (bfloat16 and half upcast exactly), without importing torch."""
    layout = str(getattr(value, "layout", "torch.strided"))
    if layout != "torch.strided":
        raise ValueError(f"{key} is a {layout.removeprefix('torch.')} tensor; dynsys reads dense weights "
                         "(tensor.to_dense())")
    if getattr(value, "is_meta", False):
        raise ValueError(f"{key} is a tensor on the meta device, which holds no values")
    if getattr(value, "is_complex", bool)():
        raise ValueError(f"{key} is a complex tensor ({value.dtype}); weights must be real")
    try:
        if getattr(value, "is_floating_point", bool)():
            value = value.double()  # exact for bfloat16 and float16, which numpy cannot hold
        return value.detach().cpu().numpy()
    except (TypeError, RuntimeError, NotImplementedError) as err:  # quantized tensors ...
        raise ValueError(f"{key}: cannot read this tensor ({getattr(value, 'dtype', '?')}) as numbers: {err}") from None


def _as_float_array(value: Any, key: str) -> np.ndarray:
    """``value`` (numpy array, torch tensor, nested lists) as a float64 array.

    Booleans, integers and real floats are converted; complex numbers (whose
    imaginary part would be dropped), dates, text and objects are refused
    with a ValueError naming ``key``.
    """
    if all(hasattr(value, m) for m in ("detach", "cpu", "numpy")):  # a torch tensor, without importing torch
        value = _tensor_to_numpy(value, key)
    return check_real_array(value, key, finite=False)


def _check_weight(value: Any, key: str, shape: tuple[int, ...], rows: str) -> np.ndarray:
    """A finite float64 array of exactly ``shape``; errors name ``key`` and both shapes."""
    arr = _as_float_array(value, key)
    if arr.shape != shape:
        raise ValueError(f"{key} must have shape {shape} ({rows}), got {arr.shape}")
    return check_real_array(arr, key)


class RNNCell:
    """Common part of every cell: weights, readout, ``step``/``run``, ``system``, ``save``.

    A subclass states its number of gates ``G``, its ``cell`` name, its
    ``kind`` ("map" or "flow") and the equations, as three functions of the
    state batch X (B, n) and the input drive ``a = u W_ihᵀ + b_ih`` (B or 1,
    G*H): ``_evolve`` (the next state for a map, the vector field for a flow),
    ``_evolve_jacobian`` (B, n, n), and ``_tangent``, the state-dependent
    factors of that Jacobian (gate values and derivatives, a tuple of arrays
    with B rows), with the products ``_tangent_jvp`` (Dg v) and
    ``_tangent_vjp`` (Dgᵀ v) that use them and the weights, never forming
    Dg.  ``_evolve_jvp`` and ``_evolve_vjp`` are those products with the
    factors at X; ``system(u).residual_operator(X)`` keeps the factors for
    many products at the same states.

    Parameters
    ----------
    weight_ih : array_like of shape (G*H, I)
        ``weight_ih_l0`` of a PyTorch ``state_dict``.
    weight_hh : array_like of shape (G*H, H)
        ``weight_hh_l0``; its width sets the hidden size H.
    bias_ih, bias_hh : array_like of shape (G*H,), optional
        ``bias_ih_l0``, ``bias_hh_l0``; zeros when not given (``bias=False``).
    W_out : array_like of shape (O, H), optional
        Readout weights (``readout.weight``); no readout when not given.
    b_out : array_like of shape (O,), optional
        Readout bias (``readout.bias``); zeros when not given.
    meta : mapping, optional
        Extra metadata (training command, seed, loss ...), kept in ``meta``
        and written by :meth:`save`.

    Attributes
    ----------
    weight_ih, weight_hh, bias_ih, bias_hh, W_out, b_out : ndarray (float64)
    hidden_size, input_size : int
        H and I.
    state_dim : int
        n, the length of the state vector (H, or 2H for the LSTM).
    meta : dict

    Examples
    --------
    What every cell offers, shown with a tanh network of H = 4 units, I = 2
    inputs and one readout output:

    >>> rng = np.random.default_rng(0)
    >>> net = VanillaRNN(rng.normal(size=(4, 2)), rng.normal(size=(4, 4)), W_out=rng.normal(size=(1, 4)))
    >>> net
    VanillaRNN(cell='rnn_tanh', hidden_size=4, input_size=2, outputs=1)
    >>> net.step(np.zeros((3, 4)), [1.0, 0.0]).shape  # one update of 3 states
    (3, 4)
    >>> states = net.run(rng.normal(size=(3, 5, 2)))  # 3 sequences of 5 steps
    >>> states.shape, net.readout(states).shape
    ((3, 5, 4), (3, 5, 1))
    >>> s = net.system(u=[1.0, 0.0])  # the map h -> h' at constant input u
    >>> s, s.matrix_free
    (System('rnn_tanh(H=4)', kind='map', dim=4, params={}), True)
    >>> s.residual(np.zeros((10, 4))).shape
    (10, 4)
    >>> sorted(net.state_dict())
    ['bias_hh_l0', 'bias_ih_l0', 'readout.bias', 'readout.weight', 'weight_hh_l0', 'weight_ih_l0']
    """

    G: int = 1
    cell: str = ""
    kind: str = "map"
    state_prefixes: tuple[str, ...] = ("h",)

    def __init__(
        self,
        weight_ih: Any,
        weight_hh: Any,
        bias_ih: Any = None,
        bias_hh: Any = None,
        *,
        W_out: Any = None,
        b_out: Any = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        G = self.G
        whh = _as_float_array(weight_hh, "weight_hh (weight_hh_l0)")
        if whh.ndim != 2 or whh.shape[1] == 0 or whh.shape[0] != G * whh.shape[1]:
            raise ValueError(
                f"weight_hh (weight_hh_l0) must have shape ({G}*H, H) for a {self.cell} cell, got {whh.shape}"
            )
        H = whh.shape[1]
        wih = _as_float_array(weight_ih, "weight_ih (weight_ih_l0)")
        if wih.ndim != 2 or wih.shape[1] == 0:
            raise ValueError(f"weight_ih (weight_ih_l0) must have shape ({G * H}, I) with I >= 1, got {wih.shape}")
        I = wih.shape[1]
        rows = f"{G}*hidden_size" if G > 1 else "hidden_size"
        self.hidden_size, self.input_size = H, I
        self.weight_hh = _check_weight(whh, "weight_hh (weight_hh_l0)", (G * H, H), f"{rows}, hidden_size")
        self.weight_ih = _check_weight(wih, "weight_ih (weight_ih_l0)", (G * H, I), f"{rows}, input_size")
        self.bias_ih = _check_weight(
            np.zeros(G * H) if bias_ih is None else bias_ih, "bias_ih (bias_ih_l0)", (G * H,), rows
        )
        self.bias_hh = _check_weight(
            np.zeros(G * H) if bias_hh is None else bias_hh, "bias_hh (bias_hh_l0)", (G * H,), rows
        )
        self._set_readout(W_out, b_out, ("W_out (readout.weight)", "b_out (readout.bias)"))
        self.meta = dict(meta or {})

    def _set_readout(self, W_out: Any, b_out: Any, keys: tuple[str, str]) -> None:
        """Check and keep the readout (O, H) and its bias (O,) (zeros when None); errors name ``keys``."""
        if W_out is None:
            if b_out is not None:
                raise ValueError(f"{keys[1]} given without {keys[0]}")
            self.W_out = self.b_out = None
            return
        W = _as_float_array(W_out, keys[0])
        O = W.shape[0] if W.ndim == 2 else -1
        self.W_out = _check_weight(W, keys[0], (O, self.hidden_size), "outputs, hidden_size")
        self.b_out = _check_weight(np.zeros(O) if b_out is None else b_out, keys[1], (O,), "outputs")

    # ------------------------------------------------------------ equations
    def _evolve(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _evolve_jacobian(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _tangent(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
        """The factors of Dg at X that depend on the states: arrays with one row per state."""
        raise NotImplementedError

    def _tangent_jvp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        """Dg v for the states whose factors are T (rows of ``_tangent``), one product with W_hh."""
        raise NotImplementedError

    def _tangent_vjp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        """Dgᵀ v for the states whose factors are T, one product with W_hh."""
        raise NotImplementedError

    def _evolve_jvp(self, X: np.ndarray, V: np.ndarray, a: np.ndarray) -> np.ndarray:
        return self._tangent_jvp(self._tangent(X, a), V)

    def _evolve_vjp(self, X: np.ndarray, V: np.ndarray, a: np.ndarray) -> np.ndarray:
        return self._tangent_vjp(self._tangent(X, a), V)

    def _readout_features(self, X: np.ndarray) -> np.ndarray:
        """What the readout reads: the h part of the state."""
        return X[..., : self.hidden_size]

    def _gate_blocks(self, M: np.ndarray) -> list[np.ndarray]:
        """Split the last axis (G*H) into the G gate blocks of width H."""
        return np.split(M, self.G, axis=-1)

    def _drive_derivative(self, X: np.ndarray, a: np.ndarray, e: np.ndarray) -> np.ndarray:
        """(∂F/∂a) e at states X (B, n) and drive a: how F moves when the drive moves along e (1, G*H)."""
        raise NotImplementedError

    def _bounds(self, a: np.ndarray) -> np.ndarray | None:
        """A box holding every fixed point at input drive ``a``, or None."""
        return None

    #: Whether :meth:`_bounds` is the same box at every drive (then it bounds a whole branch in the input).
    _bounds_hold_at_every_input = False

    # ------------------------------------------------------------- checking
    @property
    def state_dim(self) -> int:
        return self.hidden_size * len(self.state_prefixes)

    @property
    def output_size(self) -> int | None:
        """O, the number of readout outputs, or None without a readout."""
        return None if self.W_out is None else self.W_out.shape[0]

    def _states(self, X: Any, what: str) -> np.ndarray:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != self.state_dim:
            raise ValueError(f"{what} must have shape (B, {self.state_dim}), got {np.shape(X)}")
        return arr

    def _drive(self, U: Any, what: str = "U") -> np.ndarray:
        """a = U W_ihᵀ + b_ih for inputs of shape (..., I)."""
        arr = np.asarray(U, dtype=float)
        if arr.ndim == 0 or arr.shape[-1] != self.input_size:
            raise ValueError(
                f"{what} must have last axis of length input_size = {self.input_size}, got shape {np.shape(U)}"
            )
        return arr @ self.weight_ih.T + self.bias_ih

    # ------------------------------------------------------------ public API
    def step(self, H: Any, U: Any) -> np.ndarray:
        """One update of a batch of states.

        Parameters
        ----------
        H : array_like of shape (B, n)
            States (n = ``state_dim``).
        U : array_like of shape (B, I) or (I,)
            Inputs, one per state or one for all.

        Returns
        -------
        ndarray of shape (B, n)
            The next states (the cell's equations in its class docstring).
        """
        return self._evolve_step(*self._step_inputs(H, U))

    def _step_inputs(self, H: Any, U: Any) -> tuple[np.ndarray, np.ndarray]:
        """States (B, n) and input drives (B or 1, G*H), checked."""
        X = self._states(H, "H")
        a = self._drive(U)
        if a.ndim != 1 and a.shape[:-1] != (X.shape[0],):
            raise ValueError(
                f"U must have shape ({X.shape[0]}, {self.input_size}) or ({self.input_size},), got {np.shape(U)}"
            )
        return X, np.atleast_2d(a)

    def run(self, U_seq: Any, h0: Any = None) -> np.ndarray:
        """The states along input sequences, as PyTorch computes them.

        Parameters
        ----------
        U_seq : array_like of shape (B, T, I)
            Inputs (batch first).
        h0 : array_like of shape (B, n) or (n,), optional
            Initial states; zeros when not given.  For the LSTM n = 2H and
            h0 = concatenate(h_0, c_0).

        Returns
        -------
        ndarray of shape (B, T, n)
            The states after steps 1..T (PyTorch's ``output`` is the h part;
            the last row is its final state).
        """
        U = np.asarray(U_seq, dtype=float)
        if U.ndim != 3 or U.shape[2] != self.input_size:
            raise ValueError(f"U_seq must have shape (B, T, {self.input_size}), got {np.shape(U_seq)}")
        B, T, _ = U.shape
        n = self.state_dim
        X = np.zeros((B, n)) if h0 is None else np.asarray(h0, dtype=float)
        if X.shape not in ((B, n), (n,)):
            raise ValueError(f"h0 must have shape ({B}, {n}) or ({n},), got {np.shape(h0)}")
        X = np.broadcast_to(X, (B, n))
        A = self._drive(U)  # (B, T, G*H), all input projections at once
        out = np.empty((B, T, n))
        for t in range(T):  # the recurrence: a loop over time, not over the batch
            X = self._evolve_step(X, A[:, t])
            out[:, t] = X
        return out

    def _evolve_step(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        """One discrete-time update (``step``, ``run``): the map itself for the discrete cells."""
        return self._evolve(X, a)

    def readout(self, H: Any) -> np.ndarray:
        """The linear readout y = W_out φ(x) + b_out of states (..., n) -> (..., O).

        φ(x) is the h part of the state (tanh(x) for :class:`ContinuousRNN`).
        """
        if self.W_out is None:
            raise ValueError(f"this {self.cell} cell has no readout (W_out / readout.weight was not given)")
        X = np.asarray(H, dtype=float)
        if X.ndim == 0 or X.shape[-1] != self.state_dim:
            raise ValueError(f"H must have last axis of length {self.state_dim}, got shape {np.shape(H)}")
        return self._readout_features(X) @ self.W_out.T + self.b_out

    def output_frequency(self, u: Any, *, n_steps: int = 2000, transient: int = 500, h0: Any = None,
                         output: int = 0) -> np.ndarray:
        """The angular frequency of the oscillation the network produces at constant input, from simulation.

        The network runs ``n_steps`` steps of :meth:`run` from ``h0`` with the
        input held at each level; the first ``transient`` steps are dropped and
        the readout ``output`` (the first state unit without a readout) of the
        rest, minus its mean, is scanned for its upward zero crossings, each
        placed between its two samples by linear interpolation,
        :math:`t_k = t + y_t / (y_t - y_{t+1})`.  With m of them, the period is
        the mean spacing :math:`(t_m - t_1)/(m - 1)` and the frequency
        :math:`\\omega = 2\\pi (m - 1)/(t_m - t_1)` per step (exact for any
        periodic signal sampled over whole periods with one upward crossing a
        period).  This is the frequency Sussillo & Barak (2013) compare with
        arg(λ) of the leading unstable complex pair of the fixed point at the
        same input.

        Parameters
        ----------
        u : array_like of shape (I,) or (L, I)
            One input level, or L of them (simulated as one batch).
        n_steps : int, default 2000
            Steps simulated (Euler steps of length ``dt`` for :class:`ContinuousRNN`).
        transient : int, default 500
            Leading steps dropped, while the orbit settles; < ``n_steps``.
        h0 : array_like of shape (n,) or (L, n), optional
            Initial states; zeros when not given (how the network was trained).
        output : int, default 0
            Which readout output (or state unit, without a readout) to measure.

        Returns
        -------
        ndarray of shape () or (L,)
            ω in radians per step for the discrete cells (radians per unit
            time, per step divided by ``dt``, for :class:`ContinuousRNN`); NaN
            where fewer than two upward crossings were seen (no oscillation).

        Examples
        --------
        A square wave of period 8: eight saturated tanh units shift a block of
        four +1s and four −1s one place per step (h' = tanh(5 P h), P the cyclic
        shift), so unit 0 has period 8, ω = 2π/8:

        >>> P = np.roll(np.eye(8), 1, axis=0)
        >>> net = VanillaRNN(np.zeros((8, 1)), 5 * P)
        >>> omega = net.output_frequency([0.0], h0=np.repeat([1.0, -1.0], 4), n_steps=200, transient=0)
        >>> float(np.round(omega * 8 / (2 * np.pi), 12))
        1.0
        """
        levels = np.asarray(u, dtype=float)
        single = levels.ndim == 1
        levels = np.atleast_2d(levels)
        if levels.ndim != 2 or levels.shape[1] != self.input_size:
            raise ValueError(f"u must have shape ({self.input_size},) or (L, {self.input_size}), got {np.shape(u)}")
        n_steps = int(n_steps)
        if not 0 <= int(transient) < n_steps - 2:
            raise ValueError(f"transient must be in [0, n_steps - 2), got {transient!r} with n_steps={n_steps!r}")
        width = self.state_dim if self.W_out is None else self.output_size
        if not 0 <= int(output) < width:
            raise ValueError(f"output must be an index in [0, {width}), got {output!r}")
        L = levels.shape[0]
        states = self.run(np.broadcast_to(levels[:, None, :], (L, n_steps, self.input_size)), h0=h0)
        y = (states if self.W_out is None else self.readout(states))[:, int(transient):, int(output)]
        y = y - y.mean(axis=1, keepdims=True)
        up = (y[:, :-1] < 0) & (y[:, 1:] >= 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            times = np.arange(y.shape[1] - 1) + y[:, :-1] / (y[:, :-1] - y[:, 1:])
            count = up.sum(axis=1)
            first = np.where(up, times, np.inf).min(axis=1)
            last = np.where(up, times, -np.inf).max(axis=1)
            omega = np.where(count >= 2, 2 * np.pi * (count - 1) / (last - first), np.nan)
        omega = omega / getattr(self, "dt", 1.0)
        return omega[0] if single else omega

    def system(self, u: Any = None, along: Any = None) -> System:
        """The cell at constant input ``u`` as a :class:`~dynsys.System`, or along the input line u + s·d.

        Parameters
        ----------
        u : array_like of shape (I,), optional
            The constant input; zeros when not given.
        along : array_like of shape (I,), optional
            A direction d in input space (finite, not zero).  The system is
            then the cell at input u + s·d, with one parameter ``"s"``
            (default 0.0, so that it starts as ``system(u)``) and the analytic
            derivative dF/ds of :meth:`~dynsys.System.param_derivative`: the
            input drive is a(s) = W_ih (u + s d) + b_ih, so
            dF/ds = (∂F/∂a) e with e = W_ih d, the product given in each
            cell's docstring ("Derivative in the input").  Continuation in s
            follows a fixed point as the input moves along d.  Without
            ``along`` the system has no parameters.

        Returns
        -------
        System
            A map (discrete cells) or a flow (:class:`ContinuousRNN`) of
            dimension ``state_dim``, with the analytic batched Jacobian and
            the Jacobian-vector and vector-Jacobian products of the class
            docstring (``matrix_free`` is True; ``residual_operator``
            computes the gates once for many products), state names
            h0.. (LSTM: h0.., c0..; continuous: x0..), name like
            ``"gru(H=64)"`` and, where the equations bound them, ``bounds``
            holding every fixed point (with ``along``: only bounds that hold
            at every input, those of the tanh and GRU cells).

        Raises
        ------
        ValueError
            ``u`` or ``along`` not a finite array of shape (I,), or ``along`` zero.

        Examples
        --------
        A tanh network continued along its input: dF/ds = (1 − h'²) ⊙ (W_ih d),
        and ``with_params(s=t)`` is the network at input u + t·d:

        >>> rng = np.random.default_rng(0)
        >>> net = VanillaRNN(rng.normal(size=(3, 2)), rng.normal(size=(3, 3)))
        >>> s = net.system([0.5, 0.0], along=[0.0, 1.0])
        >>> s.params
        {'s': 0.0}
        >>> X = rng.normal(size=(4, 3))
        >>> h = np.tanh(X @ net.weight_hh.T + net.weight_ih @ [0.5, 0.0])
        >>> bool(np.allclose(s.param_derivative(X, "s"), (1 - h**2) * net.weight_ih[:, 1]))
        True
        >>> bool(np.allclose(s.with_params(s=2.0).residual(X), net.system([0.5, 2.0]).residual(X)))
        True
        """
        u = self._input_vector(u, "u")
        a0 = self._drive(u)[None, :]  # (1, G*H), broadcast over every batch
        params: dict[str, float] = {}
        d: np.ndarray | None = None
        if along is None:
            def drive() -> np.ndarray:
                return a0
        else:
            d = self._input_vector(along, "along")
            if not np.any(d):
                raise ValueError(f"along must be a nonzero direction, got {along!r}")
            e = (d @ self.weight_ih.T)[None, :]  # da/ds = W_ih d, (1, G*H)
            params = {"s": 0.0}

            def drive(s: float) -> np.ndarray:  # type: ignore[misc]
                return a0 + s * e

            def param_jacobian(X: np.ndarray, **p: float) -> np.ndarray:
                return self._drive_derivative(X, drive(**p), e)[:, :, None]

        def f(X: np.ndarray, **p: float) -> np.ndarray:
            return self._evolve(X, drive(**p))

        def jacobian(X: np.ndarray, **p: float) -> np.ndarray:
            return self._evolve_jacobian(X, drive(**p))

        def jvp(X: np.ndarray, V: np.ndarray, **p: float) -> np.ndarray:
            return self._evolve_jvp(X, V, drive(**p))

        def vjp(X: np.ndarray, V: np.ndarray, **p: float) -> np.ndarray:
            return self._evolve_vjp(X, V, drive(**p))

        def operator(X: np.ndarray, **p: float) -> tuple[tuple[np.ndarray, ...], Any, Any]:
            return self._tangent(X, drive(**p)), self._tangent_jvp, self._tangent_vjp

        names = [f"{p}{i}" for p in self.state_prefixes for i in range(self.hidden_size)]
        return System.from_callable(
            f,
            self.state_dim,
            jacobian,
            param_jacobian=None if along is None else param_jacobian,
            jvp=jvp,
            vjp=vjp,
            operator=operator,
            kind=self.kind,  # type: ignore[arg-type]
            vectorized=True,
            params=params,
            state_names=names,
            name=f"{self.cell}(H={self.hidden_size})",
            bounds=self._bounds(a0[0]) if along is None or self._bounds_hold_at_every_input else None,
        ).with_recipe(self.system, u, d)  # pickled as the cell and its input

    def _input_vector(self, value: Any, name: str) -> np.ndarray:
        """``value`` as a finite float array of shape (I,) (zeros for None), else a ValueError naming ``name``."""
        arr = np.zeros(self.input_size) if value is None else np.asarray(value, dtype=float)
        if arr.shape != (self.input_size,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be a finite array of shape ({self.input_size},), got {value!r}")
        return arr

    # ---------------------------------------------------------------- files
    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights under PyTorch's ``state_dict`` names (plus ``readout.*``)."""
        d = dict(zip(RNN_KEYS, (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)))
        if self.W_out is not None:
            d.update(zip(READOUT_KEYS, (self.W_out, self.b_out)))
        return d

    def _meta(self) -> dict[str, Any]:
        return {**self.meta, "cell": self.cell, "hidden_size": self.hidden_size, "input_size": self.input_size}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model as an ``.npz`` (state_dict keys plus JSON ``meta``), atomically.

        Returns the path written; :func:`load` reads it back exactly.
        """
        arrays = {**self.state_dict(), "meta": np.array(json.dumps(self._meta()))}
        return atomic_write(path, lambda f: np.savez(f, **arrays))

    def __repr__(self) -> str:
        out = "" if self.W_out is None else f", outputs={self.output_size}"
        sizes = f"hidden_size={self.hidden_size}, input_size={self.input_size}"
        return f"{type(self).__name__}(cell={self.cell!r}, {sizes}{out})"


class VanillaRNN(RNNCell):
    """Elman RNN, PyTorch's ``nn.RNN``: a map.

    h' = act(W_ih u + b_ih + W_hh h + b_hh),   act = tanh or relu.

    Jacobian: Dg(h) = diag(act'(s)) W_hh with s the pre-activation,
    tanh'(s) = 1 − tanh²(s), relu'(s) = 1 for s > 0 and 0 otherwise (the
    kink s = 0 has no derivative; 0 is used there, as autograd does).
    Jacobian-vector product Dg v = act'(s) ⊙ (W_hh v), vector-Jacobian
    product Dgᵀ v = W_hhᵀ (act'(s) ⊙ v); for tanh act'(s) = 1 − g², g = h'.
    For a batch both are one (B, H) @ (H, H) product besides the one for s,
    which ``residual_operator`` computes once.

    Fixed points of the tanh network lie in [−1, 1]^H (the image of tanh),
    which ``system(u).bounds`` states; the relu network has no such bound.

    Derivative in the input (``system(u, along=d)``): the drive
    a = W_ih (u + s d) + b_ih enters the pre-activation s_pre = a + W_hh h + b_hh
    with slope 1, so dh'/ds = act'(s_pre) ⊙ (W_ih d); for tanh
    (1 − h'²) ⊙ (W_ih d).

    Parameters
    ----------
    nonlinearity : {"tanh", "relu"}
        The rest as for :class:`RNNCell`, with G = 1.

    Examples
    --------
    Without biases and at input u = 0 the origin is a fixed point, where
    tanh'(0) = 1 makes the Jacobian W_hh itself:

    >>> rng = np.random.default_rng(0)
    >>> W_ih, W_hh = rng.normal(size=(5, 2)), rng.normal(size=(5, 5))
    >>> s = VanillaRNN(W_ih, W_hh).system()
    >>> s.residual(np.zeros((3, 5))).shape
    (3, 5)
    >>> float(np.abs(s.residual(np.zeros(5))).max())
    0.0
    >>> bool(np.allclose(s.jacobian(np.zeros(5)), W_hh))
    True
    >>> s.bounds[0]  # fixed points lie in the image of tanh
    array([-1.,  1.])
    """

    def __init__(self, weight_ih: Any, weight_hh: Any, bias_ih: Any = None, bias_hh: Any = None, *,
                 nonlinearity: str = "tanh", **kwargs: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.cell = f"rnn_{nonlinearity}"
        super().__init__(weight_ih, weight_hh, bias_ih, bias_hh, **kwargs)

    def _activate(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """act(s) and act'(s) for s = a + W_hh h + b_hh."""
        h = elman_step(X, a, self.weight_hh, self.bias_hh, self.nonlinearity)
        return h, (1.0 - h**2 if self.nonlinearity == "tanh" else (h > 0).astype(float))  # relu'(s) = [relu(s) > 0]

    def _evolve(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        return self._activate(X, a)[0]

    def _tangent(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray]:
        """act'(s), (B, H)."""
        return (self._activate(X, a)[1],)

    def _evolve_jacobian(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        (slope,) = self._tangent(X, a)
        return slope[:, :, None] * self.weight_hh

    def _tangent_jvp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        (slope,) = T
        return slope * (V @ self.weight_hh.T)

    def _tangent_vjp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        (slope,) = T
        return (slope * V) @ self.weight_hh

    def _drive_derivative(self, X: np.ndarray, a: np.ndarray, e: np.ndarray) -> np.ndarray:
        return self._activate(X, a)[1] * e

    def _bounds(self, a: np.ndarray) -> np.ndarray | None:
        return np.tile([-1.0, 1.0], (self.hidden_size, 1)) if self.nonlinearity == "tanh" else None

    _bounds_hold_at_every_input = True  # [-1, 1]^H for tanh, none for relu, whatever the input


class GRU(RNNCell):
    """Gated recurrent unit, PyTorch's ``nn.GRU``: a map.

    With the gate blocks of the weights in PyTorch's order r, z, n::

        r  = σ(W_ir u + b_ir + W_hr h + b_hr)
        z  = σ(W_iz u + b_iz + W_hz h + b_hz)
        m  = W_hn h + b_hn
        n  = tanh(W_in u + b_in + r ⊙ m)
        h' = (1 − z) ⊙ n + z ⊙ h

    Jacobian (product rule; σ' = σ(1 − σ), tanh' = 1 − tanh²)::

        Dg = diag(z) + diag(c_z) W_hz + diag(c_r) W_hr + diag(c_n) W_hn,
        c_z = (h − n) ⊙ z(1 − z)
        c_r = (1 − z) ⊙ (1 − n²) ⊙ m ⊙ r(1 − r)
        c_n = (1 − z) ⊙ (1 − n²) ⊙ r

    and Dg v = z ⊙ v + c_z ⊙ W_hz v + c_r ⊙ W_hr v + c_n ⊙ W_hn v,
    Dgᵀ v = z ⊙ v + W_hzᵀ (c_z ⊙ v) + W_hrᵀ (c_r ⊙ v) + W_hnᵀ (c_n ⊙ v)
          = z ⊙ v + W_hhᵀ (c ⊙ (v, v, v)),   c = (c_r, c_z, c_n),

    each one product with W_hh (3H, H) for the whole batch.

    At a fixed point (1 − z) ⊙ (n − h) = 0 with z < 1, so h = n ∈ (−1, 1)^H:
    ``system(u).bounds`` is [−1, 1]^H.

    Derivative in the input (``system(u, along=d)``): the drive moves by
    e = W_ih d = (e_r, e_z, e_n) per unit of s, and enters r, z and n directly
    (not through r ⊙ m), so::

        dr/ds = r(1 − r) ⊙ e_r,   dz/ds = z(1 − z) ⊙ e_z,
        dn/ds = (1 − n²) ⊙ (e_n + m ⊙ dr/ds),
        dh'/ds = (1 − z) ⊙ dn/ds + (h − n) ⊙ dz/ds
               = c_r ⊙ e_r + c_z ⊙ e_z + (1 − z)(1 − n²) ⊙ e_n,

    the Jacobian's row scalings with c_n / r in place of c_n.

    Examples
    --------
    Without biases and at u = 0 the origin is fixed (n = 0 there) and, with
    r = z = σ(0) = 1/2, the Jacobian is Dg = I/2 + W_hn/4:

    >>> rng = np.random.default_rng(0)
    >>> W_ih, W_hh = rng.normal(size=(3 * 4, 2)), rng.normal(size=(3 * 4, 4))
    >>> net = GRU(W_ih, W_hh)
    >>> net
    GRU(cell='gru', hidden_size=4, input_size=2)
    >>> s = net.system()
    >>> s.residual(np.zeros((6, 4))).shape
    (6, 4)
    >>> W_hn = W_hh[8:]  # the gate blocks r, z, n stacked by rows
    >>> bool(np.allclose(s.jacobian(np.zeros(4)), np.eye(4) / 2 + W_hn / 4))
    True
    """

    G, cell = 3, "gru"

    def _gates(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
        return gru_step(X, a, self.weight_hh, self.bias_hh)[1]

    def _evolve(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        return gru_step(X, a, self.weight_hh, self.bias_hh)[0]

    def _tangent(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """z (B, H) and the row scalings (c_r, c_z, c_n) stacked as (B, 3H), W_hh's row order."""
        r, z, n, m = self._gates(X, a)
        dn = (1.0 - z) * (1.0 - n**2)
        return z, np.concatenate([dn * m * r * (1.0 - r), (X - n) * z * (1.0 - z), dn * r], axis=1)

    def _evolve_jacobian(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        z, c = self._tangent(X, a)
        H = self.hidden_size
        scaled = (c[:, :, None] * self.weight_hh).reshape(-1, 3, H, H)  # diag(c_r) W_hr, diag(c_z) W_hz, diag(c_n) W_hn
        J = scaled.sum(axis=1)
        J[:, np.arange(H), np.arange(H)] += z
        return J

    def _tangent_jvp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        z, c = T
        return z * V + sum(self._gate_blocks(c * (V @ self.weight_hh.T)))

    def _tangent_vjp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        z, c = T
        return z * V + (c * np.tile(V, 3)) @ self.weight_hh

    def _drive_derivative(self, X: np.ndarray, a: np.ndarray, e: np.ndarray) -> np.ndarray:
        r, z, n, m = self._gates(X, a)
        dn = (1.0 - z) * (1.0 - n**2)
        e_r, e_z, e_n = self._gate_blocks(e)
        return dn * m * r * (1.0 - r) * e_r + (X - n) * z * (1.0 - z) * e_z + dn * e_n

    def _bounds(self, a: np.ndarray) -> np.ndarray:
        return np.tile([-1.0, 1.0], (self.hidden_size, 1))

    _bounds_hold_at_every_input = True


class LSTM(RNNCell):
    """Long short-term memory, PyTorch's ``nn.LSTM`` (no projection): a map on (h, c).

    The state is x = concatenate(h, c), of length 2H.  With the gate blocks
    in PyTorch's order i, f, g, o and s_k = W_ik u + b_ik + W_hk h + b_hk::

        i = σ(s_i),  f = σ(s_f),  g = tanh(s_g),  o = σ(s_o)
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')

    Jacobian, in blocks (h' and c' by h and c)::

        ∂c'/∂h = diag(c f(1−f)) W_hf + diag(g i(1−i)) W_hi + diag(i (1−g²)) W_hg
        ∂c'/∂c = diag(f)
        ∂h'/∂h = diag(tanh(c') o(1−o)) W_ho + diag(o (1 − tanh²(c'))) ∂c'/∂h
        ∂h'/∂c = diag(o (1 − tanh²(c')) f)

    and the Jacobian-vector product applies the same chain rule to
    v = (v_h, v_c) with one product W_hh v_h.  The vector-Jacobian product
    of w = (w_h, w_c) is the transposed blocks applied to w; with
    e = o (1 − tanh²(c')) ⊙ w_h + w_c (the co-vector reaching c')::

        (Dgᵀ w)_h = W_hoᵀ (t o(1−o) ⊙ w_h) + W_hiᵀ (g i(1−i) ⊙ e)
                    + W_hfᵀ (c f(1−f) ⊙ e) + W_hgᵀ (i (1−g²) ⊙ e)
        (Dgᵀ w)_c = f ⊙ e,    t = tanh(c'),

    one product of a (B, 4H) batch with W_hh (4H, H).

    Fixed points have h ∈ [−1, 1]^H and c = i g / (1 − f); as |h| ≤ 1,
    |s_k| ≤ M_k = |W_ik u + b_ik + b_hk| + Σ_j |(W_hk)_j|, so
    |c| ≤ σ(M_i) / (1 − σ(M_f)) = σ(M_i)(1 + e^{M_f}), which gives the c part
    of ``system(u).bounds`` (none when that overflows).

    Derivative in the input (``system(u, along=d)``): the drive moves by
    e = W_ih d = (e_i, e_f, e_g, e_o) per unit of s and enters every gate
    where W_hh h does, so dF/ds is the Jacobian-vector product with W_hh v_h
    replaced by e and v_c by 0::

        dc'/ds = c f(1−f) ⊙ e_f + g i(1−i) ⊙ e_i + i (1−g²) ⊙ e_g
        dh'/ds = tanh(c') o(1−o) ⊙ e_o + o (1 − tanh²(c')) ⊙ dc'/ds.

    Examples
    --------
    The state is (h, c), of length 2H.  Without biases and at u = 0 the
    origin is fixed, and there ∂c'/∂c = diag(f) = I/2 (f = σ(0)):

    >>> rng = np.random.default_rng(0)
    >>> net = LSTM(rng.normal(size=(4 * 3, 2)), rng.normal(size=(4 * 3, 3)))
    >>> s = net.system()
    >>> s.dim, s.state_names
    (6, ('h0', 'h1', 'h2', 'c0', 'c1', 'c2'))
    >>> s.residual(np.zeros((5, 6))).shape
    (5, 6)
    >>> s.jacobian(np.zeros(6))[3:, 3:]
    array([[0.5, 0. , 0. ],
           [0. , 0.5, 0. ],
           [0. , 0. , 0.5]])
    """

    G, cell = 4, "lstm"
    state_prefixes = ("h", "c")

    def _gates(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
        H = self.hidden_size
        h, c = X[:, :H], X[:, H:]
        s_i, s_f, s_g, s_o = self._gate_blocks(a + h @ self.weight_hh.T + self.bias_hh)
        i, f, g, o = _sigmoid(s_i), _sigmoid(s_f), np.tanh(s_g), _sigmoid(s_o)
        c_next = f * c + i * g
        return c, i, f, g, o, c_next, np.tanh(c_next)

    def _evolve(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        _, _, _, _, o, c_next, t = self._gates(X, a)
        return np.concatenate([o * t, c_next], axis=1)

    def _tangent(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
        """Row scalings: of W_hh in ∂c'/∂h (gate blocks i, f, g, and 0 for o), of W_ho in ∂h'/∂h,
        then f and o (1 − tanh²(c'))."""
        c, i, f, g, o, _, t = self._gates(X, a)
        dc = np.concatenate([g * i * (1.0 - i), c * f * (1.0 - f), i * (1.0 - g**2), np.zeros_like(o)], axis=1)
        return dc, t * o * (1.0 - o), f, o * (1.0 - t**2)

    def _evolve_jacobian(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        H = self.hidden_size
        dc, do, f, dt = self._tangent(X, a)
        dcdh = (dc[:, :, None] * self.weight_hh).reshape(-1, 4, H, H).sum(axis=1)
        J = np.zeros((X.shape[0], 2 * H, 2 * H))
        diag = np.arange(H)
        J[:, H:, :H] = dcdh
        J[:, H + diag, H + diag] = f
        J[:, :H, :H] = do[:, :, None] * self.weight_hh[3 * H :] + dt[:, :, None] * dcdh
        J[:, diag, H + diag] = dt * f
        return J

    def _tangent_jvp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        H = self.hidden_size
        dc, do, f, dt = T
        P = V[:, :H] @ self.weight_hh.T  # (B, 4H): W_hi v_h, W_hf v_h, W_hg v_h, W_ho v_h
        dc_v = sum(self._gate_blocks(dc * P)) + f * V[:, H:]
        return np.concatenate([do * self._gate_blocks(P)[3] + dt * dc_v, dc_v], axis=1)

    def _tangent_vjp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        H = self.hidden_size
        dc, do, f, dt = T
        e = dt * V[:, :H] + V[:, H:]  # the co-vector of c'
        C = dc * np.tile(e, 4)  # scalings of W_hi, W_hf, W_hg rows (dc's o block is 0)
        C[:, 3 * H :] = do * V[:, :H]  # and of W_ho, from h' = o ⊙ tanh(c')
        return np.concatenate([C @ self.weight_hh, f * e], axis=1)

    def _drive_derivative(self, X: np.ndarray, a: np.ndarray, e: np.ndarray) -> np.ndarray:
        dc, do, _, dt = self._tangent(X, a)
        dc_s = sum(self._gate_blocks(dc * e))
        return np.concatenate([do * self._gate_blocks(e)[3] + dt * dc_s, dc_s], axis=1)

    def _bounds(self, a: np.ndarray) -> np.ndarray | None:
        M = np.abs(a + self.bias_hh) + np.abs(self.weight_hh).sum(axis=1)
        M_i, M_f, _, _ = self._gate_blocks(M)
        with np.errstate(over="ignore"):
            c_max = _sigmoid(M_i) * (1.0 + np.exp(M_f))
        if not np.all(np.isfinite(c_max)):
            return None
        high = np.concatenate([np.ones(self.hidden_size), c_max])
        return np.stack([-high, high], axis=1)


class ContinuousRNN(RNNCell):
    """Continuous-time rate network (Sussillo & Barak 2013): a flow.

    τ dx/dt = −x + W_hh tanh(x) + W_ih u + b,   b = b_ih + b_hh,

    with the readout reading tanh(x).  ``step`` is one forward-Euler step of
    length ``dt`` (the discretisation used in training)::

        x_{k+1} = x_k + (dt/τ) (−x_k + W_hh tanh(x_k) + W_ih u_k + b)

    and ``run`` iterates it; ``system(u)`` is the flow itself, with Jacobian
    (−I + W_hh diag(1 − tanh²(x)))/τ, Jacobian-vector product
    (−v + W_hh ((1 − tanh²(x)) ⊙ v))/τ and vector-Jacobian product
    (−v + (1 − tanh²(x)) ⊙ (W_hhᵀ v))/τ.  Fixed points satisfy
    x = W_hh tanh(x) + W_ih u + b, so |x_k| ≤ Σ_j |W_kj| + |(W_ih u + b)_k|,
    the box ``system(u).bounds``.

    Derivative in the input (``system(u, along=d)``): the drive enters the
    vector field linearly, so dF/ds = (W_ih d)/τ, the same at every state.

    Parameters
    ----------
    tau : float
        τ > 0, the time constant.
    dt : float
        The Euler step of ``step``/``run``, > 0.
        The rest as for :class:`RNNCell`, with G = 1.

    Examples
    --------
    Without biases and at u = 0 the origin is a fixed point of the flow,
    with the Jacobian (W_hh − I)/τ (tanh'(0) = 1):

    >>> rng = np.random.default_rng(0)
    >>> W_ih, W_hh = rng.normal(size=(4, 1)), rng.normal(size=(4, 4))
    >>> net = ContinuousRNN(W_ih, W_hh, tau=2.0)
    >>> s = net.system()
    >>> s.kind, s.residual(np.zeros((3, 4))).shape
    ('flow', (3, 4))
    >>> bool(np.allclose(s.jacobian(np.zeros(4)), (W_hh - np.eye(4)) / 2.0))
    True
    >>> net.run(np.zeros((2, 7, 1))).shape  # Euler steps of length dt
    (2, 7, 4)
    """

    cell, kind = "continuous", "flow"
    state_prefixes = ("x",)

    def __init__(self, weight_ih: Any, weight_hh: Any, bias_ih: Any = None, bias_hh: Any = None, *,
                 tau: float = 1.0, dt: float = 0.25, **kwargs: Any) -> None:
        self.tau = check_real(tau, "tau", positive=True)
        self.dt = check_real(dt, "dt", positive=True)
        super().__init__(weight_ih, weight_hh, bias_ih, bias_hh, **kwargs)

    def rhs(self, X: Any, U: Any) -> np.ndarray:
        """The vector field dx/dt for states (B, H) and inputs (B, I) or (I,)."""
        return self._evolve(*self._step_inputs(X, U))

    def _evolve(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        return continuous_rhs(X, a, self.weight_hh, self.bias_hh, self.tau)

    def _evolve_step(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        return continuous_step(X, a, self.weight_hh, self.bias_hh, self.tau, self.dt)

    def _tangent(self, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray]:
        """tanh'(x) = 1 − tanh²(x), (B, H)."""
        return (1.0 - np.tanh(X) ** 2,)

    def _evolve_jacobian(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        (slope,) = self._tangent(X, a)
        return (slope[:, None, :] * self.weight_hh - np.eye(self.hidden_size)) / self.tau

    def _tangent_jvp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        (slope,) = T
        return (-V + (slope * V) @ self.weight_hh.T) / self.tau

    def _tangent_vjp(self, T: tuple[np.ndarray, ...], V: np.ndarray) -> np.ndarray:
        (slope,) = T
        return (-V + slope * (V @ self.weight_hh)) / self.tau

    def _drive_derivative(self, X: np.ndarray, a: np.ndarray, e: np.ndarray) -> np.ndarray:
        return np.broadcast_to(e / self.tau, X.shape).copy()

    def _readout_features(self, X: np.ndarray) -> np.ndarray:
        return np.tanh(X)

    def _bounds(self, a: np.ndarray) -> np.ndarray:
        radius = np.abs(self.weight_hh).sum(axis=1) + np.abs(a + self.bias_hh)
        high = radius + 0.5  # a margin: the box is a search region, strictly around the fixed points
        return np.stack([-high, high], axis=1)

    def _meta(self) -> dict[str, Any]:
        return {**super()._meta(), "tau": self.tau, "dt": self.dt}


# ------------------------------------------------------------------- loading
def cell_of(system: System) -> tuple[RNNCell, np.ndarray, np.ndarray | None] | None:
    """The cell, input u and input direction d behind a system built by :meth:`RNNCell.system`, else None.

    ``cell.system(u, along=d)`` is the cell at input u + s·d with s the
    parameter ``"s"`` (d is None without ``along``); the weights and u, d
    are the exact floats the system was built from (what interval
    enclosures of the network use, :mod:`dynsys.intervals`).  Systems
    derived from it with ``with_params`` keep their cell; others
    (``iterate``, ``reverse_time``, ``with_exprs``) and systems not built
    from a cell give None.

    Parameters
    ----------
    system : System

    Returns
    -------
    (cell, u, d) or None
        u of shape (I,); d of shape (I,) or None.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> net = VanillaRNN(rng.normal(size=(3, 2)), rng.normal(size=(3, 3)))
    >>> cell, u, d = cell_of(net.system([0.5, 0.0]))
    >>> cell is net, u, d
    (True, array([0.5, 0. ]), None)
    >>> cell_of(net.system().iterate(2)) is None
    True
    """
    recipe = system._recipe
    build = None if recipe is None else recipe.build
    owner = getattr(build, "__self__", None)
    if not isinstance(owner, RNNCell) or getattr(build, "__func__", None) is not RNNCell.system:
        return None
    u, d = recipe.args
    return owner, u, d


class AmbiguousCellError(ValueError):
    """The weights fit more than one cell: ``reason`` says why, ``choices`` names the cells.

    A single-gate layer (``weight_hh_l0`` of shape (H, H)) is a tanh or a
    relu network, and nothing in the weights tells which.

    Examples
    --------
    >>> weights = {"weight_ih_l0": np.zeros((3, 1)), "weight_hh_l0": np.zeros((3, 3))}
    >>> try:
    ...     from_state_dict(weights)
    ... except AmbiguousCellError as err:
    ...     print(err.choices)
    ('rnn_tanh', 'rnn_relu')
    >>> from_state_dict(weights, cell="rnn_relu")
    VanillaRNN(cell='rnn_relu', hidden_size=3, input_size=1)
    """

    def __init__(self, reason: str, choices: tuple[str, ...]) -> None:
        super().__init__(f"{reason}: name the cell, " + " or ".join(f"cell={c!r}" for c in choices))
        self.reason, self.choices = reason, choices


class MissingWeightError(KeyError, ValueError):
    """A required key of a state_dict is missing.

    Both a KeyError (what :func:`from_state_dict` has always raised) and a
    ValueError (what every other bad input raises), with a plain message.

    Examples
    --------
    >>> try:
    ...     from_state_dict({"weight_hh_l0": np.zeros((3, 3))}, cell="rnn_tanh")
    ... except KeyError as err:
    ...     print(type(err).__name__, isinstance(err, ValueError), err)
    MissingWeightError True state_dict has no weight_ih_l0 (keys: weight_hh_l0)
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of an array, a tensor or nested lists; () for what is none of them."""
    if hasattr(value, "shape"):
        return tuple(value.shape)
    if all(hasattr(value, m) for m in ("detach", "cpu", "numpy")):  # tensor-like, without a shape
        return value.detach().cpu().numpy().shape
    try:
        return np.shape(value)
    except ValueError:  # ragged lists
        return ()


def _find_prefix(keys: list[str]) -> str:
    """The module prefix of the RNN keys: "" for ``weight_hh_l0``, "rnn." for ``rnn.weight_hh_l0``."""
    if "weight_hh_l0" in keys:
        return ""
    found = [k[: -len("weight_hh_l0")] for k in keys if k.endswith(".weight_hh_l0")]
    if len(found) != 1:
        what = "no key" if not found else f"{len(found)} keys ({', '.join(f + 'weight_hh_l0' for f in found)})"
        raise MissingWeightError(f"state_dict must hold weight_hh_l0 (optionally as '<module>.weight_hh_l0'), found {what}")
    return found[0]


def _infer_cell(weight_hh: Any, key: str) -> str:
    """"gru" or "lstm" from the 3H or 4H gate rows of ``weight_hh`` (G*H, H); a single gate is ambiguous."""
    shape = _shape(weight_hh)
    gates = shape[0] // shape[1] if len(shape) == 2 and shape[1] and shape[0] % shape[1] == 0 else 0
    if gates == 1:
        raise AmbiguousCellError(
            f"{key} of shape {shape} is a single-gate layer, tanh or relu (the weights cannot tell)",
            ("rnn_tanh", "rnn_relu"),
        )
    if gates not in (3, 4):
        raise ValueError(f"{key} of shape {shape} fits no cell (H, 3H or 4H rows of H columns: RNN, GRU, LSTM)")
    return "gru" if gates == 3 else "lstm"


def _readout_candidates(state_dict: Mapping[str, Any], H: int, taken: set[str]) -> list[str]:
    """Module prefixes P of every ``P.weight`` of shape (O, H), with a ``P.bias`` of shape (O,) or none,
    outside ``taken``: the layers that could be a linear readout of H hidden units."""
    candidates = []
    for key, value in state_dict.items():
        if not str(key).endswith(".weight") or key in taken:
            continue
        prefix, shape = str(key)[: -len(".weight")], _shape(value)
        bias = state_dict.get(f"{prefix}.bias")
        if len(shape) == 2 and shape[1] == H and (bias is None or _shape(bias) == shape[:1]):
            candidates.append(prefix)
    return candidates


def _find_readout(
    state_dict: Mapping[str, Any], H: int, taken: set[str], name: str | Literal[False] | None
) -> str | None:
    """The module prefix of the readout ("fc" for ``fc.weight``), or None without one.

    ``name`` False: no readout wanted (None).  ``name`` given: that prefix,
    which must hold a ``.weight``.  Not given: the only candidate
    (:func:`_readout_candidates`); several are an error, and one not named
    ``readout`` (dynsys's own name) is announced with a warning.
    """
    if name is False:
        return None
    if name is not None:
        if f"{name}.weight" not in state_dict:
            raise ValueError(f"readout {name!r}: state_dict has no {name}.weight (keys: {_some(state_dict)})")
        return name
    candidates = _readout_candidates(state_dict, H, taken)
    if len(candidates) > 1:
        raise ValueError(
            f"state_dict has {len(candidates)} candidate readouts of shape (outputs, {H}): "
            f"{', '.join(c + '.weight' for c in candidates)}; name one: "
            + " or ".join(f"readout={c!r}" for c in candidates)
            + " (--readout NAME on the command line)"
        )
    if not candidates:
        return None
    if candidates[0] != "readout":
        warnings.warn(
            f"readout: {candidates[0]}.weight {_shape(state_dict[candidates[0] + '.weight'])}, the only linear map "
            f"of the {H} hidden units (readout={candidates[0]!r} names it and silences this)",
            UserWarning,
            stacklevel=3,
        )
    return candidates[0]


def _some(keys: Any, limit: int = 12) -> str:
    """The first ``limit`` keys, sorted, for a one-line message."""
    names = sorted(str(k) for k in keys)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def from_state_dict(
    state_dict: Mapping[str, Any],
    cell: str | None = None,
    *,
    readout: str | Literal[False] | None = None,
    tau: float = 1.0,
    dt: float = 0.25,
    meta: Mapping[str, Any] | None = None,
) -> RNNCell:
    """A cell from PyTorch ``state_dict`` arrays (numpy arrays or torch tensors).

    Parameters
    ----------
    state_dict : mapping of str to array_like
        ``weight_ih_l0`` (G*H, I), ``weight_hh_l0`` (G*H, H), optionally
        ``bias_ih_l0``, ``bias_hh_l0`` (G*H,) (zeros when absent, as for
        PyTorch's ``bias=False``), and optionally a linear readout
        ``<name>.weight`` (O, H), ``<name>.bias`` (O,).  The RNN keys may
        carry a module prefix, as in a model's ``state_dict()`` where the
        recurrent module is an attribute: ``rnn.weight_ih_l0``,
        ``model.rnn.weight_ih_l0`` ...  Torch tensors are converted with
        ``.detach().cpu().numpy()``; everything becomes float64.  A key
        that is used neither by the cell nor by the readout is named in a
        ``UserWarning``.
    cell : {"rnn_tanh", "rnn_relu", "gru", "lstm", "continuous"}, optional
        Inferred when not given from the rows of ``weight_hh_l0``: 3H a GRU,
        4H an LSTM.  A single-gate layer (H rows) may be tanh or relu, so
        there ``cell`` must be given.
    readout : str, optional
        Module name of the readout: ``"fc"`` reads ``fc.weight`` and
        ``fc.bias``.  When not given, the only ``*.weight`` of shape (O, H)
        besides the recurrent layer is the readout (a ``UserWarning`` names
        it unless it is called ``readout``); there is no readout when there
        is none.  False: no readout wanted (the layers that could be one
        are left alone, other keys not used are still named), e.g. to
        analyse the dynamics of a network whose head has several candidate
        layers.
    tau, dt : float
        τ and the Euler step of a ``"continuous"`` cell (ignored otherwise).
    meta : mapping, optional
        Metadata kept in the cell's ``meta``.

    Returns
    -------
    RNNCell
        A :class:`VanillaRNN`, :class:`GRU`, :class:`LSTM` or
        :class:`ContinuousRNN`; ``W_out`` is None without a readout.

    Raises
    ------
    MissingWeightError
        A required key is missing (a KeyError and a ValueError).
    AmbiguousCellError
        ``cell`` not given for a single-gate layer (a ValueError whose
        ``choices`` are "rnn_tanh" and "rnn_relu").
    ValueError
        Unknown ``cell``; keys of a layout dynsys does not model (several
        layers, bidirectional, LSTM projections); several readout
        candidates and no ``readout``; a named ``readout`` that is not
        there; a weight of the wrong shape (the message names the key, the
        expected and the actual shape), with NaN/inf entries, complex, or
        not numbers (dates, text); a sparse, complex or meta-device tensor.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys import rnn
    >>> rng = np.random.default_rng(0)
    >>> weights = {"rnn.weight_ih_l0": rng.normal(size=(12, 2)), "rnn.weight_hh_l0": rng.normal(size=(12, 4)),
    ...            "fc.weight": rng.normal(size=(1, 4)), "fc.bias": np.zeros(1)}
    >>> rnn.from_state_dict(weights, readout="fc")  # 12 = 3 x 4 rows: a GRU
    GRU(cell='gru', hidden_size=4, input_size=2, outputs=1)
    """
    keys = [str(k) for k in state_dict]
    prefix = _find_prefix(keys)
    if cell is None:
        cell = _infer_cell(state_dict[prefix + "weight_hh_l0"], prefix + "weight_hh_l0")
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    unsupported = [k for k in keys if _RNN_PARAMETER.fullmatch(k[len(prefix):]) and k[len(prefix):] not in RNN_KEYS]
    if unsupported:
        raise ValueError(
            f"state_dict has keys a single-layer, unidirectional {cell} cell does not have: {sorted(unsupported)}; "
            f"dynsys reads {', '.join(prefix + k for k in RNN_KEYS)} and a readout <name>.weight, <name>.bias"
        )
    if prefix + "weight_ih_l0" not in state_dict:
        raise MissingWeightError(f"state_dict has no {prefix}weight_ih_l0 (keys: {_some(keys)})")
    rnn_keys = [prefix + k for k in RNN_KEYS]
    weights = [state_dict.get(k) for k in rnn_keys]
    if cell in ("rnn_tanh", "rnn_relu"):
        net: RNNCell = VanillaRNN(*weights, nonlinearity=cell[4:], meta=meta)
    elif cell == "continuous":
        net = ContinuousRNN(*weights, tau=tau, dt=dt, meta=meta)
    else:
        net = (GRU if cell == "gru" else LSTM)(*weights, meta=meta)
    name = _find_readout(state_dict, net.hidden_size, set(rnn_keys), readout)
    readout_keys = () if name is None else (f"{name}.weight", f"{name}.bias")
    if readout_keys:
        net._set_readout(state_dict[readout_keys[0]], state_dict.get(readout_keys[1]), readout_keys)
    unused = set(keys) - set(rnn_keys) - set(readout_keys)
    if readout is False:  # readout layers were not wanted, hence not "unused" by mistake
        unused -= {f"{c}.{part}" for c in _readout_candidates(state_dict, net.hidden_size, set(rnn_keys))
                   for part in ("weight", "bias")}
    if unused:
        warnings.warn(f"state_dict keys not used (not part of the {cell} cell or its readout): {_some(unused)}",
                      UserWarning, stacklevel=2)
    return net


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """The arrays of an ``.npz`` (:func:`dynsys._io.read_npz`) and its JSON ``meta``, None when it has none."""
    arrays = read_npz(path)
    if "meta" not in arrays:
        return arrays, None
    text = arrays.pop("meta")
    try:
        if text.dtype.kind != "U" or text.shape != ():
            raise ValueError(f"it is an array of dtype {text.dtype} and shape {text.shape}, not a 0-d string")
        meta = loads_json(str(text[()]))
    except ValueError as err:
        raise ValueError(f"'meta' of {str(path)!r} is not JSON text: {err}") from None
    if not isinstance(meta, dict) or "cell" not in meta:
        raise ValueError(f"'meta' of {str(path)!r} must be a JSON object with a 'cell' key, got {_short(meta)}")
    return arrays, meta


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_torch(path: Path) -> Mapping[str, Any]:
    """The state_dict in a ``.pt`` file, read with ``weights_only=True``; a checkpoint dict is unwrapped."""
    if not path.is_file():
        raise FileNotFoundError(f"no network file at {str(path)!r}")
    try:
        import torch
    except ImportError:
        raise ValueError(
            f"reading {str(path)!r} needs PyTorch (pip install torch), or save the state_dict as .npz: "
            "numpy.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})"
        ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"{str(path)!r} is not a file of tensors: torch.load(weights_only=True) refused it, as it does a whole "
            "module saved by torch.save(model) (unpickling that could run any code); save the weights instead "
            "with torch.save(model.state_dict(), path)"
        ) from None
    except Exception as err:  # torch raises RuntimeError, EOFError ... for files it cannot read
        raise ValueError(f"cannot read {str(path)!r} as a PyTorch file: {str(err).splitlines()[0]}") from None
    return _unwrap_checkpoint(obj, path)


def _holds_rnn(obj: Any) -> bool:
    return isinstance(obj, Mapping) and any(str(k).endswith("weight_hh_l0") for k in obj)


def _unwrap_checkpoint(obj: Any, path: Path) -> Mapping[str, Any]:
    """``obj`` when it is a state_dict, else its one entry that is (``{"model": state_dict, "epoch": 3}``)."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"{str(path)!r} holds a {type(obj).__name__}, not a state_dict (names -> tensors)")
    if _holds_rnn(obj):
        return obj
    inner = [k for k, v in obj.items() if _holds_rnn(v)]
    if not inner:
        raise ValueError(f"{str(path)!r} holds no recurrent layer (no key ending in weight_hh_l0); keys: {_some(obj)}")
    if len(inner) > 1:
        raise ValueError(
            f"{str(path)!r} holds {len(inner)} state_dicts with a recurrent layer ({_some(inner)}); "
            "save the one to analyse on its own"
        )
    others = [k for k in obj if k != inner[0]]
    warnings.warn(
        f"{path.name} is a checkpoint: the state_dict is its entry {inner[0]!r}"
        + (f" (not used: {_some(others)})" if others else ""),
        UserWarning,
        stacklevel=3,
    )
    return obj[inner[0]]


def _from_file(
    path: Path, state_dict: Mapping[str, Any], meta: Mapping[str, Any] | None, cell: str | None,
    readout: str | Literal[False] | None,
) -> RNNCell:
    """:func:`from_state_dict` on a file's weights, its errors (but an ambiguous cell) as ValueErrors naming ``path``.

    ``meta`` (of a dynsys model file) names the cell, and ``cell`` must agree with it.
    """
    extra: dict[str, Any] = {}
    if meta is not None:
        if cell is not None and cell != meta["cell"]:
            raise ValueError(f"{str(path)!r} holds a {meta['cell']} network (its meta says so), not {cell}")
        cell = str(meta["cell"])
        extra = {"meta": meta, **{k: meta[k] for k in ("tau", "dt") if k in meta}}  # tau, dt: continuous cells
    try:
        return from_state_dict(state_dict, cell, readout=readout, **extra)
    except AmbiguousCellError:
        raise
    except ValueError as err:
        raise ValueError(f"{str(path)!r}: {err}") from None


def load(path: str | os.PathLike[str]) -> RNNCell:
    """Read a model written by :meth:`RNNCell.save` (or by ``dynsys.tasks.train``).

    The ``.npz`` holds state_dict arrays and ``meta``, a JSON object naming
    the ``"cell"`` (and ``"tau"``, ``"dt"`` for a continuous one); every key of
    ``meta`` is kept in the cell's ``meta``.  Read with ``allow_pickle=False``.
    :func:`load_network` reads other people's files too.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not an ``.npz`` model: unreadable, no ``meta``, ``meta``
        not a JSON object with a known ``"cell"``, or bad weights.

    Examples
    --------
    >>> import tempfile
    >>> net = load_flipflop()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     again = load(net.save(Path(folder) / "flipflop.npz"))
    >>> again
    VanillaRNN(cell='rnn_tanh', hidden_size=64, input_size=3, outputs=3)
    >>> bool(np.array_equal(again.weight_hh, net.weight_hh)), again.meta["seed"]
    (True, 0)
    """
    path = Path(path)
    arrays, meta = _read_npz(path)
    if meta is None:
        raise ValueError(f"{str(path)!r} has no 'meta' entry (a JSON object naming the cell); keys: {sorted(arrays)}")
    return _from_file(path, arrays, meta, None, None)


def load_network(
    path: str | os.PathLike[str], *, cell: str | None = None, readout: str | Literal[False] | None = None
) -> RNNCell:
    """A trained network from a file: an ``.npz`` of its state_dict, or a PyTorch ``.pt``/``.pth``.

    Parameters
    ----------
    path : path-like
        * ``.npz``: a model of :meth:`RNNCell.save` (its ``meta`` names the
          cell), or the arrays of a state_dict under PyTorch's keys
          (``numpy.savez(path, **{k: v.numpy() for k, v in sd.items()})``).
        * ``.pt`` / ``.pth``: ``torch.save(model.state_dict(), path)``, or a
          checkpoint dict holding one state_dict (``{"model": sd, "epoch":
          3}``, ``{"state_dict": sd}``: a ``UserWarning`` names the entry
          used).  Read with ``torch.load(..., weights_only=True)`` (needs
          torch), so a file never runs code; a whole pickled module
          (``torch.save(model)``) is refused.
    cell : {"rnn_tanh", "rnn_relu", "gru", "lstm", "continuous"}, optional
        Needed for a single-gate layer (tanh or relu); otherwise inferred
        (see :func:`from_state_dict`).  It must agree with the ``meta`` of a
        dynsys model file.
    readout : str, optional
        Module name of the readout (``"fc"`` for ``fc.weight``/``fc.bias``),
        needed when several layers could be it; False for none (see
        :func:`from_state_dict`).

    Returns
    -------
    RNNCell

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    AmbiguousCellError
        A single-gate layer and no ``cell``.
    ValueError
        Every other problem, in one line: not a file of arrays or tensors, a
        pickled module, torch missing for a ``.pt``, several or no
        state_dicts in a checkpoint, missing keys, bad weights, an unknown
        or contradicting ``cell``, an ambiguous or missing ``readout``.

    Examples
    --------
    A PyTorch model whose recurrent layer is ``self.rnn`` and readout
    ``self.fc``, saved as ``.npz``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from dynsys import rnn
    >>> net = rnn.load_flipflop()
    >>> sd = {"rnn." + k: v for k, v in net.state_dict().items() if not k.startswith("readout")}
    >>> sd.update({"fc.weight": net.W_out, "fc.bias": net.b_out})
    >>> path = Path(tempfile.mkdtemp()) / "model.npz"
    >>> np.savez(path, **sd)
    >>> rnn.load_network(path, cell="rnn_tanh", readout="fc")
    VanillaRNN(cell='rnn_tanh', hidden_size=64, input_size=3, outputs=3)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays, meta = _read_npz(path)
        return _from_file(path, arrays, meta, cell, readout)
    if suffix in (".pt", ".pth"):
        return _from_file(path, _read_torch(path), None, cell, readout)
    raise ValueError(f"{str(path)!r}: a network file must be an .npz or a PyTorch .pt/.pth")


def from_torch(module: Any, readout: Any = None) -> RNNCell:
    """A cell from a PyTorch module (imports torch only now).

    Parameters
    ----------
    module : torch.nn.RNN, torch.nn.GRU or torch.nn.LSTM
        Single layer, unidirectional, without LSTM projections; batch_first
        either way (it does not change the weights).
    readout : torch.nn.Linear, optional
        The readout from h, shape (O, H).

    Raises
    ------
    TypeError
        ``module`` or ``readout`` is not of a supported type.
    ValueError
        Several layers, bidirectional, ``proj_size`` > 0, or bad weights.

    Examples
    --------
    The cell computes what the module computes (needs torch; skipped in the
    doctests where it is not installed):

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> gru, fc = torch.nn.GRU(input_size=2, hidden_size=8, batch_first=True), torch.nn.Linear(8, 1)
    >>> net = from_torch(gru, readout=fc)
    >>> net
    GRU(cell='gru', hidden_size=8, input_size=2, outputs=1)
    >>> U = torch.randn(3, 5, 2)  # 3 sequences of 5 steps
    >>> with torch.no_grad():
    ...     H, _ = gru(U)
    >>> bool(np.allclose(net.run(U.numpy()), H.numpy(), atol=1e-6))
    True
    >>> net.system().residual(np.zeros((4, 8))).shape
    (4, 8)

    The same weights saved by ``torch.save`` as a ``.pt`` file, read by
    :func:`load_network`:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     torch.save(gru.state_dict(), Path(folder) / "gru.pt")
    ...     again = load_network(Path(folder) / "gru.pt")
    >>> again, bool(np.array_equal(again.weight_hh, net.weight_hh))
    (GRU(cell='gru', hidden_size=8, input_size=2), True)
    """
    import torch

    nn = torch.nn
    if isinstance(module, nn.RNN):
        cell = f"rnn_{module.nonlinearity}"
    elif isinstance(module, nn.GRU):
        cell = "gru"
    elif isinstance(module, nn.LSTM):
        cell = "lstm"
    else:
        raise TypeError(f"module must be a torch.nn.RNN, GRU or LSTM, got {type(module).__name__}")
    if module.num_layers != 1 or module.bidirectional or getattr(module, "proj_size", 0):
        raise ValueError(
            f"only single-layer, unidirectional modules without projections are supported, got num_layers="
            f"{module.num_layers}, bidirectional={module.bidirectional}, proj_size={getattr(module, 'proj_size', 0)}"
        )
    weights = dict(module.state_dict())
    if readout is not None:
        if not isinstance(readout, nn.Linear):
            raise TypeError(f"readout must be a torch.nn.Linear or None, got {type(readout).__name__}")
        weights.update({f"readout.{k}": v for k, v in readout.state_dict().items()})
    return from_state_dict(weights, cell)


def load_flipflop() -> RNNCell:
    """The bundled 3-bit flip-flop network: 64 tanh units, readout of 3 outputs.

    Trained by ``python -m dynsys.tasks.train flipflop --bits 3 --hidden 64 --seed 0``
    (the command, seed, loss and accuracy are in its ``meta``); see
    ``dynsys/data/flipflop_3bit_64.npz``.

    Examples
    --------
    >>> net = load_flipflop()
    >>> net
    VanillaRNN(cell='rnn_tanh', hidden_size=64, input_size=3, outputs=3)
    >>> net.meta["bits"], net.meta["seed"]
    (3, 0)
    >>> s = net.system(u=np.zeros(3))  # the network with its inputs off: where the bits are held
    >>> s
    System('rnn_tanh(H=64)', kind='map', dim=64, params={})
    >>> s.residual(np.zeros((10, 64))).shape
    (10, 64)
    """
    return _load_bundled(FLIPFLOP_PATH, FLIPFLOP_COMMAND, "flip-flop")


def load_sinewave() -> RNNCell:
    """The bundled sine-wave generator (Sussillo & Barak 2013): 64 tanh units, 1 input, 1 output.

    Its static input u in [0.25, 1.25] selects the frequency of the sine wave
    it produces, omega(u) = 0.2 + 0.4 (u - 0.25) rad per step (see
    :mod:`dynsys.tasks.sinewave`).  Trained by ``python -m dynsys.tasks.train
    sinewave --hidden 64 --seed 0 --steps 20,40,70,100 --iters 600 --lr 3e-3``
    (a curriculum of trials of 20 to 100 steps; the command, seed, loss and
    variance explained are in its ``meta``); see ``dynsys/data/sinewave_64.npz``.

    Examples
    --------
    >>> net = load_sinewave()
    >>> net
    VanillaRNN(cell='rnn_tanh', hidden_size=64, input_size=1, outputs=1)
    >>> net.meta["task"], net.meta["levels"]
    ('sinewave', 21)
    >>> omega = net.output_frequency([[0.25], [1.25]])  # rad per step; the targets are 0.2 and 0.6
    >>> bool(np.all(np.abs(omega - [0.2, 0.6]) < 0.02))
    True
    """
    return _load_bundled(SINEWAVE_PATH, SINEWAVE_COMMAND, "sine-wave")


def _load_bundled(path: Path, command: str, what: str) -> RNNCell:
    """:func:`load` of a network shipped in ``dynsys/data``; a missing file names the command that trains it."""
    if not path.is_file():
        raise FileNotFoundError(f"the bundled {what} model {str(path)!r} is missing; train it with: {command}")
    return load(path)
