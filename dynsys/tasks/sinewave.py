"""The sine-wave generator task of Sussillo & Barak (2013).

A network receives one input channel holding a static level u for the whole
trial, one of ``n_levels`` evenly spaced values in [u_min, u_max].  Its one
output must produce a sine wave whose frequency the level selects, linearly:

.. math::

    \\omega(u) = \\omega_{min} + (\\omega_{max} - \\omega_{min})
    \\frac{u - u_{min}}{u_{max} - u_{min}}, \\qquad
    y^*_t = \\sin(\\omega(u)\\, t), \\quad t = 0, 1, \\dots, T - 1,

with t counted in steps of the discrete network from the trial's start (the
output at step t is read after the network consumed its (t+1)-th input, see
:mod:`dynsys.tasks.train`), so :math:`\\omega` is in radians per step and the
period is :math:`2\\pi/\\omega` steps.  The target is defined everywhere: the
mask is all True.

Defaults (:data:`U_RANGE`, :data:`OMEGA_RANGE`, :data:`N_LEVELS`): u in
[0.25, 1.25] (Sussillo & Barak's levels j/51 + 0.25) on 21 levels (they used
51), frequencies 0.2 to 0.6 rad per step (periods of 31.4 down to 10.5
steps), so that a trial of 100 steps holds 3 to 10 periods and a tanh network
of 64 units learns all of them in a few minutes of numpy training.  Sussillo &
Barak found that a trained network holds, at each input level, a fixed point
whose leading unstable complex pair of eigenvalues rotates at about the
frequency the network produces: the oscillation is organised around it.

References
----------
D. Sussillo and O. Barak, "Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks", Neural Computation 25(3),
626-649 (2013), section 3.3.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_count, check_interval

__all__ = ["SineWaveBatch", "U_RANGE", "OMEGA_RANGE", "N_LEVELS", "levels", "frequency", "generate"]

#: The input levels' interval [u_min, u_max].
U_RANGE = (0.25, 1.25)
#: The target frequencies' interval [omega_min, omega_max], in radians per step.
OMEGA_RANGE = (0.2, 0.6)
#: Number of evenly spaced input levels (Sussillo & Barak used 51).
N_LEVELS = 21


class SineWaveBatch(NamedTuple):
    """A batch of sine-wave trials.

    Attributes
    ----------
    inputs : ndarray, shape (B, T, 1), float64
        The static level u of each trial, repeated over time.
    targets : ndarray, shape (B, T, 1), float64
        sin(omega(u) t), t = 0 .. T-1.
    mask : ndarray, shape (B, T, 1), bool
        All True.
    omega : ndarray, shape (B,), float64
        The frequency of each trial, radians per step.

    Examples
    --------
    >>> inputs, targets, mask, omega = generate(n_trials=2, n_steps=5, seed=0)
    >>> inputs.shape, omega.shape, bool(mask.all())
    ((2, 5, 1), (2,), True)
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    omega: np.ndarray


def levels(n_levels: int = N_LEVELS, u_range: tuple[float, float] = U_RANGE) -> np.ndarray:
    """The ``n_levels`` input levels, evenly spaced from u_min to u_max inclusive.

    Examples
    --------
    >>> levels(5)
    array([0.25, 0.5 , 0.75, 1.  , 1.25])
    >>> levels(1)  # a single level: the middle of the range
    array([0.75])
    """
    n_levels = check_count(n_levels, "n_levels")
    u_min, u_max = check_interval(u_range, "u_range")
    if n_levels == 1:
        return np.array([(u_min + u_max) / 2])
    return np.linspace(u_min, u_max, n_levels)


def frequency(
    u: float | np.ndarray, u_range: tuple[float, float] = U_RANGE, omega_range: tuple[float, float] = OMEGA_RANGE
) -> np.ndarray:
    """The target frequency omega(u) of the level u, radians per step (the linear map of the module docstring).

    Examples
    --------
    >>> frequency([0.25, 0.75, 1.25])
    array([0.2, 0.4, 0.6])
    """
    u_min, u_max = check_interval(u_range, "u_range")
    w_min, w_max = check_interval(omega_range, "omega_range")
    return w_min + (w_max - w_min) * (np.asarray(u, dtype=float) - u_min) / (u_max - u_min)


def generate(
    n_trials: int,
    n_steps: int,
    n_levels: int = N_LEVELS,
    seed: int | np.random.Generator | np.random.SeedSequence | None = None,
    *,
    u_range: tuple[float, float] = U_RANGE,
    omega_range: tuple[float, float] = OMEGA_RANGE,
) -> SineWaveBatch:
    """Draw ``n_trials`` trials of ``n_steps`` steps, each at a level drawn uniformly from :func:`levels`.

    Parameters
    ----------
    n_trials : int
        Batch size B >= 1.
    n_steps : int
        Trial length T >= 1.
    n_levels : int, default 21
        Number of input levels in ``u_range``.
    seed : int, Generator, SeedSequence or None
        Anything :func:`numpy.random.default_rng` accepts.
    u_range : (float, float), default (0.25, 1.25)
        [u_min, u_max].
    omega_range : (float, float), default (0.2, 0.6)
        [omega_min, omega_max], radians per step: the frequencies at u_min and u_max.

    Returns
    -------
    SineWaveBatch
        ``inputs``, ``targets``, ``mask`` of shape (B, T, 1) and ``omega`` (B,).

    Examples
    --------
    >>> batch = generate(n_trials=4, n_steps=100, n_levels=3, seed=0)
    >>> batch.inputs.shape, batch.targets.shape
    ((4, 100, 1), (4, 100, 1))
    >>> bool(np.isin(batch.inputs, [0.25, 0.75, 1.25]).all())  # every level is one of the three
    True
    >>> bool(np.allclose(batch.targets[:, :, 0], np.sin(np.outer(batch.omega, np.arange(100)))))
    True
    """
    n_trials = check_count(n_trials, "n_trials")
    n_steps = check_count(n_steps, "n_steps")
    grid = levels(n_levels, u_range)
    rng = np.random.default_rng(seed)
    u = grid[rng.integers(0, len(grid), n_trials)]
    omega = frequency(u, u_range, omega_range)
    inputs = np.repeat(u[:, None, None], n_steps, axis=1)
    targets = np.sin(omega[:, None] * np.arange(n_steps))[:, :, None]
    return SineWaveBatch(inputs, targets, np.ones_like(targets, dtype=bool), omega)
