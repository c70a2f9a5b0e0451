"""Run liveness: a reader derives ``crashed`` from pid and heartbeat; no daemon is needed.

A run stored as ``running`` is crashed when its process is gone on this host (pid absent, or
the pid now belongs to a process started at another time), or when its heartbeat is older than
:data:`STALE_AFTER_S` for a run recorded on another host.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from functools import lru_cache

from .models import CRASHED, LIVE

HEARTBEAT_INTERVAL_S = 5.0
STALE_AFTER_S = 60.0
_START_TIME_TOLERANCE_S = 2.0


@lru_cache(maxsize=1)
def this_host() -> str:
    """The host name runs are recorded with: ``$TRACKTUI_HOST`` when set (a container or job
    whose host name is not what people call the machine; tests that simulate hosts), else
    the system's."""
    return os.environ.get("TRACKTUI_HOST") or socket.gethostname()


def process_start_time(pid: int) -> float | None:
    """The start time of process ``pid`` (epoch seconds), or None if it does not exist."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None  # dead, waiting for its parent to reap it
        return float(process.create_time())
    except psutil.NoSuchProcess:  # ZombieProcess is a subclass: dead as well
        return None
    except psutil.AccessDenied:
        return -1.0  # exists, but we may not look at it


_ALIVE_FOR_S = 0.5  # a viewer asks about every live run on every read: answer from memory
_alive_seen: dict[tuple[int, float | None], tuple[float, bool]] = {}


def process_alive(pid: int, started_at: float | None) -> bool:
    """Whether process ``pid`` (started at ``started_at``) still runs; an answer is reused
    for half a second (psutil reads /proc twice per question)."""
    key = (pid, started_at)
    now = time.monotonic()
    seen = _alive_seen.get(key)
    if seen is not None and now - seen[0] < _ALIVE_FOR_S:
        return seen[1]
    if len(_alive_seen) > 4096:
        _alive_seen.clear()
    alive = _process_alive(pid, started_at)
    _alive_seen[key] = (now, alive)
    return alive


def _process_alive(pid: int, started_at: float | None) -> bool:
    started = process_start_time(pid)
    if started is None:
        return False
    if started < 0 or started_at is None:
        return True
    return abs(started - started_at) <= _START_TIME_TOLERANCE_S


def derive_status(
    stored: str,
    host: str,
    pid: int,
    pid_start: float | None,
    heartbeat: float,
    now: float | None = None,
    alive: Callable[[int, float | None], bool] = process_alive,
) -> str:
    """The status a user should see for a run stored with status ``stored``."""
    if stored != LIVE:
        return stored
    if host == this_host():
        return LIVE if alive(pid, pid_start) else CRASHED
    now = time.time() if now is None else now
    return CRASHED if now - heartbeat > STALE_AFTER_S else LIVE
