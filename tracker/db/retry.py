"""Waiting out other writers: many processes may start at the same instant (a sweep, the ranks
of a job), each attempt waits a bounded time for the database's lock and is tried again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import DatabaseUnavailable

T = TypeVar("T")


def retry_while_busy(attempt: Callable[[float], T], deadline_s: float, shown: str, what: str) -> T:
    """Call ``attempt(seconds_left)`` until it does not fail with a busy database (a
    ``DatabaseUnavailable`` with ``busy`` set).

    Jittered exponential backoff (so that many processes started at the same instant spread
    out) up to ``deadline_s``; past it, a ``DatabaseUnavailable`` that says how long it waited.
    """
    start = time.monotonic()
    delay = 0.02
    while True:
        left = deadline_s - (time.monotonic() - start)
        try:
            return attempt(max(left, 0.05))
        except DatabaseUnavailable as exc:
            if not exc.busy:
                raise
            left = deadline_s - (time.monotonic() - start)
            if left <= 0:
                raise DatabaseUnavailable(
                    shown,
                    f"{what}: the database stayed locked by other processes for "
                    f"{deadline_s:g} s (raise $TRACKTUI_INIT_TIMEOUT to wait longer)",
                    busy=True,
                ) from None
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 1.0)
