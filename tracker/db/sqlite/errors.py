"""What a SQLite failure means for the tracker, read from its error code (never its message).

Three kinds matter to the writer: the database is busy (another process holds the write lock:
wait and try again), the storage failed (disk full, read-only, I/O error, damage: keep the
records and retry with backoff), or one of the records cannot be stored (an integer too big,
a value of the wrong type, a constraint: isolate that record and write the others).
"""

from __future__ import annotations

import sqlite3

from ...errors import DatabaseUnavailable
from ..causes import BUSY, CORRUPT, DISK, DISK_ERRNOS, READONLY

# Primary result codes (the low byte of an extended code), from sqlite3.h.
SQLITE_ERROR = 1
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_PROTOCOL = 15
SQLITE_TOOBIG = 18
SQLITE_CONSTRAINT = 19
SQLITE_MISMATCH = 20
SQLITE_AUTH = 23
SQLITE_RANGE = 25
SQLITE_NOTADB = 26

_BUSY_CODES = frozenset({SQLITE_BUSY, SQLITE_LOCKED, SQLITE_PROTOCOL})
_RECORD_CODES = frozenset({SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE})
_CORRUPT_CODES = frozenset({SQLITE_CORRUPT, SQLITE_NOTADB})
_FULL_CODES = frozenset({SQLITE_FULL})
_READONLY_CODES = frozenset({SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_AUTH})

_RECORD_EXCEPTIONS = (
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    ArithmeticError,
    TypeError,
    ValueError,
)


def primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code carried by ``exc``, or None for other exceptions."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_busy(exc: BaseException) -> bool:
    """Another connection holds a lock we need (waiting longer may help)."""
    if isinstance(exc, DatabaseUnavailable):
        return exc.busy
    return primary_code(exc) in _BUSY_CODES


def is_corrupt(exc: BaseException) -> bool:
    return primary_code(exc) in _CORRUPT_CODES


def classify(exc: BaseException) -> str:
    """The cause of a failed write, for reporting each cause once and choosing what to do."""
    code = primary_code(exc)
    if code in _BUSY_CODES or (isinstance(exc, DatabaseUnavailable) and exc.busy):
        return BUSY
    if code in _FULL_CODES or code == SQLITE_IOERR:
        return DISK
    if code in _READONLY_CODES:
        return READONLY
    if code in _CORRUPT_CODES:
        return CORRUPT
    if isinstance(exc, OSError):
        return DISK if exc.errno in DISK_ERRNOS else READONLY
    if isinstance(exc, DatabaseUnavailable):
        return READONLY
    return type(exc).__name__


def is_record_error(exc: BaseException) -> bool:
    """The batch failed because of what one of its records holds, not because of storage.

    Anything that is neither a storage error nor a busy database counts: conversion errors
    (``OverflowError``, ``TypeError``, ``ValueError``), SQLite's binding errors and the record
    codes above. Storage errors are retried whole; record errors are isolated.
    """
    if isinstance(exc, (OSError, DatabaseUnavailable)):
        return False
    code = primary_code(exc)
    if code is None:
        return isinstance(exc, _RECORD_EXCEPTIONS)
    return code in _RECORD_CODES
