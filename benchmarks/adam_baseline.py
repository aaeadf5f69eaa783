"""A float64 accuracy reference: Adam on q, as FixedPointFinder runs it, in numpy -- not a speed baseline.

Kept because ``bench_fixed_points.py`` compares the points and residuals it
reaches with dynsys's in float64 (so that accuracy is not about the dtype).
It is about 50x slower than FixedPointFinder itself (float32 PyTorch): never
quote speed-ups against it.  Speed is measured against
``fpf_reference.py`` (a FixedPointFinder-equivalent in PyTorch) by
``bench_vs_fpf.py``.

A re-implementation (not a copy) of the optimisation of Golub & Sussillo's
FixedPointFinder (JOSS 2018) with its published defaults, for comparison on
the same system and the same starts:

- "joint" optimisation: one Adam optimiser on the mean of q over the batch,
  so each point moves along grad q_b / B;
- Adam with beta1 = 0.9, beta2 = 0.999 and epsilon = 0.01 (FixedPointFinder's
  ``adam_hps``), initial learning rate 1.0 (``lr_init``);
- adaptive learning rate: when the loss has not improved for 5 steps
  (``lr_patience``), lr *= 0.95 (``lr_factor``, no cool-down);
- stop when the mean q falls below 1e-12 (``tol_q``), when it changes by
  less than 1e-20 (``tol_dq``), or after 5000 iterations (``max_iters``);
- unique points: points closer than 1e-3 (``tol_unique``) are one.

It runs in float64 here (FixedPointFinder defaults to float32), so that the
comparison of accuracy is not about the dtype.  The gradient of q_b is
DF(x_b)ᵀ F(x_b), one vector-Jacobian product per start
(``System.residual_vjp``, analytic and matrix-free for the networks of
:mod:`dynsys.rnn`, memory O(B n); from the dense Jacobian for systems
without an analytic product), as autodiff gives it to FixedPointFinder.
The gradient comes from ``System.residual_operator``, whose construction
evaluates the state-dependent factors of the Jacobian (for a tanh RNN the
pre-activations: one more (B, n) @ (n, n) product, which autodiff would keep
from the forward pass).  That time is measured and reported apart
(``redundant_s``), and ``time_autodiff_s = time_s - redundant_s`` is what
an implementation with autodiff would take: the benchmark's speed-ups use it.

As FixedPointFinder does by default (``do_compute_jacobians``,
``do_decompose_jacobians``), the Jacobians of the unique points are then
computed and eigendecomposed (``numpy.linalg.eig``), and that time is part
of ``time_s`` (``decompose_s``).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from dynsys.fixed_points.common import cluster
from dynsys.systems import System

DEFAULTS = {
    "lr_init": 1.0,
    "lr_patience": 5,
    "lr_factor": 0.95,
    "tol_q": 1e-12,
    "tol_dq": 1e-20,
    "max_iters": 5000,
    "adam_epsilon": 0.01,
    "tol_unique": 1e-3,
}


def adam_on_q(system: System, starts: np.ndarray, **options: Any) -> dict[str, Any]:
    """Minimise mean(q) over the batch with Adam from ``starts``; returns the points and counts."""
    hp = {**DEFAULTS, **options}
    X = np.array(starts, dtype=float)
    m, v = np.zeros_like(X), np.zeros_like(X)
    lr, best, since_best, previous = hp["lr_init"], np.inf, 0, np.inf
    redundant = 0.0
    clock = time.perf_counter()
    for it in range(1, hp["max_iters"] + 1):
        F = system.residual(X)
        q = 0.5 * np.einsum("bi,bi->b", F, F)
        loss = q.mean()
        if loss < hp["tol_q"] or abs(previous - loss) < hp["tol_dq"]:
            break
        previous = loss
        tick = time.perf_counter()
        operator = system.residual_operator(X)
        redundant += time.perf_counter() - tick
        grad = operator.vjp(F) / len(X)  # d mean(q) / dx_b = DF(x_b)^T F(x_b) / B
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        X = X - lr * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + hp["adam_epsilon"])
        if loss < best:
            best, since_best = loss, 0
        else:
            since_best += 1
            if since_best >= hp["lr_patience"]:
                lr, since_best = lr * hp["lr_factor"], 0
    F = system.residual(X)
    q = 0.5 * np.einsum("bi,bi->b", F, F)
    unique = _unique(X, q, hp["tol_unique"])
    tick = time.perf_counter()
    eigenvalues = _decompose(system, X[unique])
    decompose = time.perf_counter() - tick
    seconds = time.perf_counter() - clock
    fixed = unique[q[unique] <= hp["tol_q"]]
    return {
        "time_s": seconds,
        "time_autodiff_s": seconds - redundant,
        "redundant_s": redundant,
        "decompose_s": decompose,
        "eigenvalues": eigenvalues,
        "iterations": it,
        "x": X[unique],
        "q": q[unique],
        "n_unique": len(unique),
        "n_fixed": len(fixed),
        "max_q_fixed": float(q[fixed].max()) if len(fixed) else None,
    }


def _decompose(system: System, X: np.ndarray, max_bytes: float = 2**28) -> np.ndarray:
    """Eigenvalues (and, discarded, eigenvectors) of the Jacobian at each row
    of X, as FixedPointFinder's ``decompose_jacobians``; in chunks of at most
    ``max_bytes`` of Jacobians."""
    n = X.shape[1]
    chunk = max(1, int(max_bytes // (8 * n * n)))
    return np.concatenate(
        [np.linalg.eig(system.jacobian(X[lo : lo + chunk]))[0] for lo in range(0, len(X), chunk)]
    ) if len(X) else np.zeros((0, n), dtype=complex)


def _unique(X: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray:
    """One index (lowest q) per cluster of points closer than ``tol`` (single
    linkage through bins, as dynsys merges: no list of all close pairs, which
    100,000 starts on three points would make enormous)."""
    return np.unique(cluster(X, q, np.zeros(len(X), dtype=bool), tol))
