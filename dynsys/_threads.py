"""BLAS threads: one rule for the batched small-matrix work of every search.

The searches spend their time in many small dense products and solves
(batches of 64 x 64 to 256 x 256 matrices), which a second BLAS thread does
not speed up and which oversubscribe a shared machine (measured in
``benchmarks/bench_vs_fpf.py --blas-threads 1,2``).  :func:`limit_blas_threads` limits the
BLAS libraries that numpy and scipy loaded (OpenBLAS, MKL, BLIS) for the
duration of a ``with`` block, through threadpoolctl.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from ._validate import check_count


@lru_cache(maxsize=1)
def _controller() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded so far (inspected once: 10 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def limit_blas_threads(threads: int | None) -> Iterator[None]:
    """Run the ``with`` block with at most ``threads`` BLAS threads (None: as configured).

    Parameters
    ----------
    threads : int >= 1 or None

    Raises
    ------
    ValueError
        If ``threads`` is not a positive integer or None.

    Examples
    --------
    >>> import numpy as np
    >>> with limit_blas_threads(1):
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    if threads is None:
        yield
        return
    with _controller().limit(limits=check_count(threads, "threads"), user_api="blas"):
        yield
