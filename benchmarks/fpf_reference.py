"""A FixedPointFinder-equivalent in PyTorch: the reference that dynsys's speed is measured against.

This is an *equivalent* of FixedPointFinder's (Golub & Sussillo 2018, JOSS
3(31) 1003) PyTorch algorithm at its documented defaults and its torch
flip-flop example's hyperparameters, written from that description; it is
not the tool and contains none of its code.  The algorithm:

1. float32 throughout; the states x (B, n) are the optimised parameters.
2. q(x) = ½ |F(x)|² per start, F(x) = cell(x, u) − x, the cell being
   ``torch.nn.RNNCell`` (tanh), ``GRUCell`` or ``LSTMCell`` with the weights
   of the :mod:`dynsys.rnn` cell copied in (the LSTM's state is (h, c)
   concatenated, as dynsys's).
3. ``torch.optim.Adam(lr=1.0)`` on the mean of q over the batch (the scalar
   FixedPointFinder minimises), with ``ReduceLROnPlateau(factor=0.95,
   patience=2)`` stepped on that mean.  Adam's other hyperparameters are
   torch's defaults (betas 0.9, 0.999, eps 1e-8); FixedPointFinder's
   TensorFlow version documents eps = 0.01 (its ``adam_hps``, which
   ``adam_baseline.py`` uses) -- which one its torch version uses was not
   checked here.
4. A start stops (is frozen) once q < tol_q = 1e-12 or |Δq| < tol_dq·lr,
   tol_dq = 1e-20; the loop ends when every start has stopped or after
   max_iters = 10,000 iterations.
5. Unique points at tolerance tol_unique = 1e-3 (greedy: a point is kept
   unless it lies within 1e-3 of one already kept, the one with the smaller
   q first), then distance outliers removed: a point farther than 10× the
   starts' spread (the median distance of the starts to their centroid) from
   that centroid.
6. The Jacobians of the unique points (``torch.func.jacrev``, batched with
   ``vmap``) and their eigendecomposition (``torch.linalg.eig``).

torch is imported lazily (``pip install dynsys-toolkit[bench]``);
:func:`find_fixed_points_reference` sets ``torch.set_num_threads(threads)``
(1 by default: single-thread timings).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

DEFAULTS = {"lr": 1.0, "lr_factor": 0.95, "lr_patience": 2, "tol_q": 1e-12, "tol_dq": 1e-20,
            "max_iters": 10_000, "tol_unique": 1e-3, "outlier_distance_scale": 10.0}


def torch_cell(cell: Any) -> tuple[Any, Any]:
    """The ``torch.nn`` cell with ``cell``'s weights and the map x -> cell(x, u) on (B, dim) float32 states.

    ``cell`` is a :mod:`dynsys.rnn` cell (``rnn_tanh``, ``gru`` or ``lstm``); the input u is zero
    (the input of ``cell.system()``).
    """
    import torch

    name, H, I = cell.cell, cell.hidden_size, cell.input_size
    cls = {"rnn_tanh": lambda: torch.nn.RNNCell(I, H, nonlinearity="tanh"),
           "gru": lambda: torch.nn.GRUCell(I, H), "lstm": lambda: torch.nn.LSTMCell(I, H)}
    if name not in cls:
        raise ValueError(f"cell: the reference handles rnn_tanh, gru and lstm, got {name!r}")
    module = cls[name]()
    with torch.no_grad():
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(module, key).copy_(torch.as_tensor(np.asarray(getattr(cell, key)), dtype=torch.float32))
    module.requires_grad_(False)

    if name == "lstm":
        def step(x: Any) -> Any:
            h, c = module(torch.zeros(x.shape[0], I), (x[:, :H], x[:, H:]))
            return torch.cat([h, c], dim=1)
    else:
        def step(x: Any) -> Any:
            return module(torch.zeros(x.shape[0], I), x)
    return module, step


def find_fixed_points_reference(cell: Any, starts: np.ndarray, threads: int = 1, **options: Any) -> dict[str, Any]:
    """FixedPointFinder's algorithm (module docstring) on ``cell`` from ``starts`` (B, dim), on ``threads``
    torch threads; ``options`` override :data:`DEFAULTS`.

    Returns
    -------
    dict with ``points`` (K, dim) float64 copies of the unique float32 points kept,
    ``q`` (K,), ``counts`` (K,) (starts that ended at each), ``eigenvalues`` (K, dim)
    complex, ``iterations``, ``q_all`` (B,) the final q of every start,
    ``n_stopped`` (starts stopped by a tolerance), ``times`` (seconds of each
    phase: ``optimise``, ``unique``, ``jacobians``, ``eig``) and ``options``.
    """
    import torch

    torch.set_num_threads(threads)
    opts = {**DEFAULTS, **options}
    _, step = torch_cell(cell)
    times: dict[str, float] = {}

    clock = time.perf_counter()
    x0 = torch.as_tensor(np.asarray(starts), dtype=torch.float32)
    x = x0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=opts["lr"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=opts["lr_factor"],
                                                           patience=opts["lr_patience"])
    done = torch.zeros(x.shape[0], dtype=torch.bool)
    q_prev = torch.full((x.shape[0],), float("inf"))
    iterations = 0
    for iterations in range(1, opts["max_iters"] + 1):
        optimizer.zero_grad(set_to_none=False)
        F = step(x) - x
        q = 0.5 * (F * F).sum(dim=1)
        loss = q.mean()
        loss.backward()
        q_now = q.detach()
        lr = optimizer.param_groups[0]["lr"]
        done |= (q_now < opts["tol_q"]) | ((q_prev - q_now).abs() < opts["tol_dq"] * lr)
        if bool(done.all()):
            break
        q_prev = q_now
        frozen = x.detach()[done].clone()
        optimizer.step()
        with torch.no_grad():
            x[done] = frozen
        scheduler.step(loss.detach())
    with torch.no_grad():
        F = step(x) - x
        q_all = (0.5 * (F * F).sum(dim=1)).numpy().astype(float)
    X = x.detach().numpy()
    times["optimise"] = time.perf_counter() - clock

    clock = time.perf_counter()
    points, counts = _unique(X, q_all, opts["tol_unique"])
    centre = np.asarray(starts, dtype=np.float32).mean(axis=0)
    spread = np.median(np.linalg.norm(np.asarray(starts, dtype=np.float32) - centre, axis=1))
    keep = np.linalg.norm(X[points] - centre, axis=1) <= opts["outlier_distance_scale"] * spread
    points, counts = points[keep], counts[keep]
    times["unique"] = time.perf_counter() - clock

    clock = time.perf_counter()
    P = torch.as_tensor(X[points])
    J = torch.func.vmap(torch.func.jacrev(lambda p: step(p[None])[0]))(P) if len(points) else torch.zeros(
        0, X.shape[1], X.shape[1])
    times["jacobians"] = time.perf_counter() - clock

    clock = time.perf_counter()
    # FixedPointFinder decomposes fully: eigenvalues and eigenvectors
    eigenvalues = torch.linalg.eig(J)[0] if len(points) else torch.zeros(0, X.shape[1], dtype=torch.complex64)
    times["eig"] = time.perf_counter() - clock
    return {"points": X[points].astype(float), "q": q_all[points], "counts": counts,
            "eigenvalues": eigenvalues.numpy(), "iterations": iterations, "q_all": q_all,
            "n_stopped": int(done.sum()), "times": times, "options": opts}


def _unique(X: np.ndarray, q: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a greedy set of points of ``X`` at pairwise distance > ``tol`` (smallest q first) and how
    many rows of ``X`` lie within ``tol`` of each (the first kept one that does)."""
    order = np.argsort(q, kind="stable")
    kept: list[int] = []
    counts: list[int] = []
    for i in order:
        if kept:
            d = np.linalg.norm(X[kept] - X[i], axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol:
                counts[j] += 1
                continue
        kept.append(int(i))
        counts.append(1)
    return np.array(kept, dtype=int), np.array(counts, dtype=int)
