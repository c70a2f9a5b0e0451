"""The start of a run: its row inserted, waiting out other writers that hold the lock.

Many processes may call ``init()`` at the same instant (a sweep, the ranks of a job). Each
attempt waits at most SQLite's busy timeout; a busy database is tried again with jittered
backoff until ``$TRACKTUI_INIT_TIMEOUT``, then refused with an error that says how long it
waited. The open connection is handed to the writer thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import store
from .errors import DatabaseUnavailable
from .schema import BUSY_TIMEOUT_MS, open_for_writing, set_busy_timeout
from .settings import init_timeout
from .sqlite_errors import is_busy, retry_while_busy


def record_run(db_path: Path, row: Mapping[str, Any]) -> sqlite3.Connection:
    """Open (creating if needed) the database and insert ``row`` into ``runs``."""

    def attempt(seconds_left: float) -> sqlite3.Connection:
        wait_ms = int(min(seconds_left, BUSY_TIMEOUT_MS / 1000) * 1000)
        conn = open_for_writing(db_path, busy_timeout_ms=max(wait_ms, 50))
        try:
            version = store.begin(conn)
            store.insert_run(conn, row, version)
            store.commit(conn)
        except sqlite3.Error as exc:
            store.rollback(conn)
            conn.close()
            if is_busy(exc):
                raise
            raise DatabaseUnavailable(str(db_path), f"cannot record the run: {exc}") from None
        except BaseException:
            store.rollback(conn)
            conn.close()
            raise
        set_busy_timeout(conn)
        return conn

    return retry_while_busy(attempt, init_timeout(), str(db_path), "cannot start the run")
