"""Waiting out other writers and a server that is not there yet: many processes may start at
the same instant (a sweep, the ranks of a job), each attempt waits a bounded time for the
database's lock and is tried again; a server that refuses connections (restarting, a network
blip) is tried again the same way."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import DatabaseUnavailable, ServerUnreachable, warn_once

T = TypeVar("T")


def retry_while_busy(attempt: Callable[[float], T], deadline_s: float, shown: str, what: str) -> T:
    """Call ``attempt(seconds_left)`` until it does not fail with a busy database (a
    ``DatabaseUnavailable`` with ``busy`` set) or an unreachable server.

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
            unreachable = isinstance(exc, ServerUnreachable)
            if not exc.busy and not unreachable:
                raise
            left = deadline_s - (time.monotonic() - start)
            if left <= 0:
                if unreachable:
                    raise ServerUnreachable(
                        shown,
                        f"{what}: the server could not be reached for {deadline_s:g} s "
                        f"({exc.reason}; raise $TRACKTUI_INIT_TIMEOUT to wait longer)",
                    ) from None
                raise DatabaseUnavailable(
                    shown,
                    f"{what}: the database stayed locked by other processes for "
                    f"{deadline_s:g} s (raise $TRACKTUI_INIT_TIMEOUT to wait longer)",
                    busy=True,
                ) from None
            if unreachable and delay >= 0.5:
                warn_once(f"unreachable:{shown}", f"{shown}: {exc.reason}; trying again")
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 1.0)
