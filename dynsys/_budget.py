"""Wall-clock budgets: one rule for every ``max_seconds`` and ``--max-time``."""
from __future__ import annotations

import math
import time

from ._validate import check_real


class Deadline:
    """A wall-clock budget of ``seconds`` from ``start`` (a ``time.perf_counter()``
    value, default now); None or inf: unbounded.

    Examples
    --------
    >>> Deadline(None).left() is None, Deadline(60.0).passed()
    (True, False)
    """

    def __init__(self, seconds: float | None, name: str = "max_seconds", start: float | None = None) -> None:
        unbounded = seconds is None or (isinstance(seconds, (int, float)) and math.isinf(seconds) and seconds > 0)
        if not unbounded:
            seconds = check_real(seconds, name, positive=True)
        begin = time.perf_counter() if start is None else start
        self.end = math.inf if unbounded else begin + seconds

    def passed(self) -> bool:
        """Whether the budget has run out."""
        return time.perf_counter() >= self.end

    def left(self) -> float | None:
        """Seconds left, at least a millisecond (a spent budget stops the next stage at once);
        None when unbounded."""
        return None if math.isinf(self.end) else max(1e-3, self.end - time.perf_counter())
