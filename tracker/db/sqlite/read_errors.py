"""What a failed read means, told in one line that names the file and the cause.

Readers (``tracktui ls``/``best``, the TUI) meet three kinds of trouble that are not bugs:

- damage: SQLite reports ``SQLITE_CORRUPT`` or ``SQLITE_NOTADB``, or a query of our fixed
  schema fails, or a value cannot be decoded. Damage SQLite does not notice while reading (a
  page whose cell count was cut, which silently hides rows) is found by
  :func:`check_structure`, a ``PRAGMA quick_check`` limited to the tables every reader reads;
- permissions: a folder that cannot be entered (``Path.exists()`` itself raises), a file that
  cannot be read, or a WAL database in a folder where SQLite cannot create its ``-shm``;
- stored JSON that does not parse, has the wrong type or is nested absurdly deep (which would
  raise ``RecursionError``): :func:`loads_json` falls back to a default.

Everything is classified by SQLite's result code or ``errno``, never by message text. Nothing
here opens the database file: permissions are asked with ``os.access``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import DatabaseError, DatabaseUnavailable, NotATrackerDatabase
from .errors import (
    SQLITE_AUTH,
    SQLITE_CANTOPEN,
    SQLITE_ERROR,
    SQLITE_IOERR,
    SQLITE_PERM,
    SQLITE_READONLY,
    is_busy,
    is_corrupt,
    primary_code,
)

STRUCTURE_CHECKED = ("runs", "series")  # the tables `ls`, `best` and the TUI's table read
SQLITE_READONLY_DIRECTORY = SQLITE_READONLY | (6 << 8)  # extended code, sqlite3.h
_ACCESS_CODES = frozenset({SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH})
_PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM})


def is_access_error(exc: BaseException) -> bool:
    """SQLite could not open or use the file for lack of rights (not for what it holds)."""
    return primary_code(exc) in _ACCESS_CODES


def damaged(path: str, what: object) -> NotATrackerDatabase:
    """The error for a file whose content is damaged: ``<path>: damaged database (<what>)``."""
    return NotATrackerDatabase(path, f"damaged database ({what})")


def check_structure(
    conn: sqlite3.Connection, path: str, tables: tuple[str, ...] = STRUCTURE_CHECKED
) -> None:
    """Raise ``damaged(...)`` unless ``PRAGMA quick_check(T)`` says ok for each of ``tables``.

    Limited to one table and its indexes (SQLite 3.33+), it walks the B-trees of the small
    tables (one row per run, one per run and metric), not the points: a few milliseconds on
    a thousand runs. It finds the damage that reads miss, such as a page whose cell count was
    cut (the rows behind it silently vanish from every query).
    """
    for table in tables:
        rows = conn.execute(f"PRAGMA quick_check({table})").fetchall()
        if rows != [("ok",)]:
            problems = [
                line.strip()
                for row in rows
                for line in str(row[0]).splitlines()
                if line.strip() and not line.startswith("***")
            ]
            first = problems[0] if problems else "structure check failed"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise damaged(path, f"table {table}: {first}{more}")


def permission_cause(path: Path) -> str | None:
    """Why this user cannot reach or read ``path``, asked with ``os.access`` (never ``open``),
    or None when nothing on the way is refused."""
    absolute = Path(os.path.abspath(path))
    for folder in reversed(absolute.parents):
        if not os.access(folder, os.X_OK):
            return f"permission denied: the folder {folder} cannot be entered by this user"
    if os.path.lexists(absolute) and not os.access(absolute, os.R_OK):
        return "permission denied: the file is not readable by this user"
    return None


def os_error_reason(path: Path, exc: OSError) -> str:
    """The reason part of the error for an ``OSError`` met while looking at or opening ``path``."""
    if exc.errno in _PERMISSION_ERRNOS:
        cause = permission_cause(path) or f"permission denied ({exc.strerror or exc})"
        return f"cannot open the database: {cause}"
    return f"cannot open the database: {exc.strerror or exc}"


def sqlite_error(path: Path, exc: sqlite3.Error) -> DatabaseError:
    """The ``DatabaseError`` for a SQLite failure of a read of ``path``, by result code."""
    shown = str(path)
    code = primary_code(exc)
    if is_busy(exc):
        return DatabaseUnavailable(shown, f"cannot read the database: {exc}", busy=True)
    if is_corrupt(exc):
        return damaged(shown, exc)
    if is_access_error(exc):
        return DatabaseUnavailable(shown, f"cannot open the database: {_access_cause(path, exc)}")
    if code == SQLITE_IOERR:
        return DatabaseUnavailable(shown, f"cannot read the database: {exc} (disk I/O error)")
    if code == SQLITE_ERROR or (
        code is None and isinstance(exc, (sqlite3.OperationalError, sqlite3.DataError))
    ):
        # Our queries are fixed: one that fails on this file (a missing column, a value that
        # is not UTF-8 text) means the file's content is not what tracktui wrote.
        return damaged(shown, exc)
    return DatabaseUnavailable(shown, f"cannot read the database: {exc}")


def _access_cause(path: Path, exc: sqlite3.Error) -> str:
    cause = permission_cause(path)
    if cause:
        return f"{cause} ({exc})"
    code = getattr(exc, "sqlite_errorcode", None)
    folder = Path(os.path.abspath(path)).parent
    if code == SQLITE_READONLY_DIRECTORY or not os.access(folder, os.W_OK):
        return (
            f"permission denied: the folder {folder} is not writable by this user, and SQLite "
            f"must create {path.name}-shm there to open a WAL database ({exc})"
        )
    return str(exc)


def read_error(path: Path, exc: BaseException) -> DatabaseError | None:
    """``exc`` as a ``DatabaseError`` naming ``path``, or None for exceptions that are bugs."""
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, sqlite3.Error):
        return sqlite_error(path, exc)
    if isinstance(exc, OSError):
        return DatabaseUnavailable(str(path), os_error_reason(path, exc))
    if isinstance(exc, UnicodeDecodeError):
        # Python could not even decode SQLite's message: it quotes damaged schema text.
        return damaged(str(path), f"text that is not UTF-8: {exc.reason} at byte {exc.start}")
    return None


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn SQLite and OS errors of the reads inside into a ``DatabaseError`` naming ``path``."""
    try:
        yield
    except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:
        error = read_error(path, exc)
        if error is None:  # pragma: no cover - both kinds are always mapped
            raise
        raise error from None
