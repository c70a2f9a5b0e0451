"""What a PostgreSQL failure means for the tracker, read from its SQLSTATE (never its text).

The same causes as SQLite's (``tracker.db.causes``): busy (a lock we waited for too long),
storage (disk full, read-only role or transaction), a record the server refuses (data
exceptions, constraints: isolated by the writer), and one more, the connection lost (server
restarted, network down): the writer opens a new connection and retries with backoff.
"""

from __future__ import annotations

import struct
from typing import Any

from ..causes import BUSY, CORRUPT, DISK, LOST, READONLY, RECORD

_BUSY_STATES = frozenset({"55P03", "40P01", "40001", "57014"})  # lock timeout, deadlock, ...
_DISK_STATES = frozenset({"53100", "53200", "58030"})  # disk full, out of memory, I/O error
_READONLY_STATES = frozenset({"42501", "25006", "28000", "28P01"})  # privilege, read-only tx
_CORRUPT_STATES = frozenset({"XX001", "XX002"})  # data corrupted, index corrupted
_LOST_CLASSES = ("08", "57P")  # connection exceptions; admin shutdown, crash shutdown


def sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)
    return str(state) if state else None


def is_connection_error(exc: BaseException) -> bool:
    """The connection is gone (or never came): reconnecting may help."""
    import psycopg

    state = sqlstate(exc)
    if state is not None:
        return state.startswith(_LOST_CLASSES)
    return isinstance(exc, psycopg.OperationalError)  # libpq's own: no SQLSTATE


def classify(exc: BaseException) -> str:
    state = sqlstate(exc)
    if state in _BUSY_STATES:
        return BUSY
    if state in _DISK_STATES:
        return DISK
    if state in _READONLY_STATES:
        return READONLY
    if state in _CORRUPT_STATES:
        return CORRUPT
    if is_connection_error(exc):
        return LOST
    if state is not None and state.startswith(("22", "23")):
        return RECORD
    return type(exc).__name__


def is_record_error(exc: BaseException) -> bool:
    """The batch failed because of what one of its records holds (a data exception, a
    constraint, a value psycopg cannot adapt), not because of the server."""
    import psycopg

    state = sqlstate(exc)
    if state is not None:
        return state.startswith(("22", "23"))
    if isinstance(exc, psycopg.Error):
        return isinstance(exc, (psycopg.DataError, psycopg.ProgrammingError)) and not isinstance(
            exc, psycopg.OperationalError
        )
    # struct.error: a value the binary COPY cannot pack (a step beyond 64 bits)
    return isinstance(exc, (ArithmeticError, TypeError, ValueError, struct.error))


def is_busy(exc: BaseException) -> bool:
    return sqlstate(exc) in _BUSY_STATES


def native_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    errors: tuple[Any, ...] = (psycopg.Error, OSError)
    return errors
