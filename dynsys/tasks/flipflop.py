"""The n-bit flip-flop task of Sussillo & Barak (2013).

A network receives ``bits`` input channels.  At every time step each channel
independently carries a pulse with probability ``p``, of sign +1 or -1 with
equal probability, and is 0 otherwise.  Output channel ``c`` must hold the
sign of the most recent pulse on input channel ``c``:

.. math::

    y^*_{t,c} = u_{s,c}, \\qquad s = \\max\\{ s' \\le t : u_{s',c} \\ne 0 \\},

so a pulse of the sign already held is ignored and a pulse of the other sign
flips the bit.  Before the first pulse on a channel the target is undefined;
it is reported as 0 and excluded by ``mask``.  A network that solves the task
must store :math:`2^{bits}` memories; Sussillo & Barak (2013) found that a
trained network stores them as stable fixed points at the corners of a cube,
joined by index-1 saddles.

References
----------
D. Sussillo and O. Barak, "Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks", Neural Computation 25(3),
626-649 (2013).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_count, check_real

__all__ = ["FlipFlopBatch", "generate"]

#: Default pulse probability per channel per step: with 100 steps a channel
#: receives about 5 pulses, about half of which flip its bit.
DEFAULT_P = 0.05


class FlipFlopBatch(NamedTuple):
    """A batch of flip-flop trials.

    Attributes
    ----------
    inputs : ndarray, shape (B, T, bits), float64
        Pulses: 0, +1 or -1.
    targets : ndarray, shape (B, T, bits), float64
        Sign of the last pulse on each channel up to and including step t;
        0 before the channel's first pulse.
    mask : ndarray, shape (B, T, bits), bool
        True from the channel's first pulse on (the steps where the target is
        defined).

    Examples
    --------
    >>> inputs, targets, mask = generate(n_trials=2, n_steps=5, bits=1, seed=0)
    >>> inputs.shape, mask.dtype
    ((2, 5, 1), dtype('bool'))
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


def generate(
    n_trials: int,
    n_steps: int,
    bits: int = 3,
    p: float = DEFAULT_P,
    seed: int | np.random.Generator | np.random.SeedSequence | None = None,
) -> FlipFlopBatch:
    """Draw ``n_trials`` independent flip-flop trials of ``n_steps`` steps.

    Parameters
    ----------
    n_trials : int
        Batch size B >= 1.
    n_steps : int
        Trial length T >= 1.
    bits : int, default 3
        Number of channels (inputs = outputs).
    p : float, default 0.05
        Probability that a channel carries a pulse at a step, in [0, 1].
    seed : int, Generator, SeedSequence or None
        Anything :func:`numpy.random.default_rng` accepts.

    Returns
    -------
    FlipFlopBatch
        ``inputs``, ``targets`` and ``mask``, each of shape (B, T, bits).

    Notes
    -----
    The targets are computed without a loop over time: with
    :math:`k_{t} = t` where a pulse occurs and :math:`-1` elsewhere, the index
    of the last pulse up to step t is the running maximum
    :math:`\\max_{s \\le t} k_s`, and the target is the input at that index.

    Examples
    --------
    >>> batch = generate(n_trials=8, n_steps=50, bits=3, p=0.1, seed=0)
    >>> batch.inputs.shape
    (8, 50, 3)
    >>> held = batch.targets[batch.mask]  # a sign wherever defined, 0 before the first pulse
    >>> bool(np.all(np.abs(held) == 1)), bool(np.all(batch.targets[~batch.mask] == 0))
    (True, True)

    With a pulse on every step (p = 1) the target is the input itself:

    >>> batch = generate(1, 4, bits=2, p=1.0, seed=0)
    >>> bool(np.array_equal(batch.targets, batch.inputs)), bool(batch.mask.all())
    (True, True)
    """
    n_trials = check_count(n_trials, "n_trials")
    n_steps = check_count(n_steps, "n_steps")
    bits = check_count(bits, "bits")
    p = check_real(p, "p")
    if p > 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    rng = np.random.default_rng(seed)
    pulse = rng.random((n_trials, n_steps, bits)) < p
    sign = np.where(rng.random((n_trials, n_steps, bits)) < 0.5, -1.0, 1.0)
    inputs = np.where(pulse, sign, 0.0)
    steps = np.arange(n_steps).reshape(1, n_steps, 1)
    last = np.maximum.accumulate(np.where(pulse, steps, -1), axis=1)
    mask = last >= 0
    held = np.take_along_axis(inputs, np.maximum(last, 0), axis=1)
    targets = np.where(mask, held, 0.0)
    return FlipFlopBatch(inputs, targets, mask)
