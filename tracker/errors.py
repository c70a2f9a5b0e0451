"""Exceptions and warnings that the tracker raises or emits.

Every error raised by ``init()`` about the database names the file and the cause. After
``init()`` succeeds, storage trouble is reported through :func:`warn_once`, never raised.
"""

from __future__ import annotations

import sys
import threading

from .sanitize import safe_text


class TrackerError(Exception):
    """Base class for every error the tracker raises on purpose."""


class DatabaseError(TrackerError):
    """The database file cannot be used; the message names the path and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NotATrackerDatabase(DatabaseError):
    """The file is not a SQLite database, or a SQLite database written by something else."""


class NewerSchemaError(DatabaseError):
    """The file was written by a newer tracktui; this version will not touch it."""


class DatabaseUnavailable(DatabaseError):
    """The file cannot be created, opened or written (permissions, missing disk, corruption).

    ``busy`` says the cause was other processes holding the database's lock (worth waiting)."""

    def __init__(self, path: str, reason: str, *, busy: bool = False) -> None:
        super().__init__(path, reason)
        self.busy = busy


class NoDatabaseYet(DatabaseUnavailable):
    """Nothing to read yet: no file (``empty=False``), or one no run has written to
    (``empty=True``). Readers show it as a state, not as an error."""

    def __init__(self, path: str, reason: str, *, empty: bool = False) -> None:
        super().__init__(path, reason)
        self.empty = empty


class ServerUnreachable(DatabaseUnavailable):
    """The database server cannot be reached (down, restarting, network): worth retrying."""


class StoreLost(DatabaseUnavailable):
    """Nothing this process writes to the database persists any more (its SQLite WAL was
    deleted under it): the writer stops acknowledging and never writes there again."""


class ResumeError(TrackerError, ValueError):
    """``init(id=..., resume=...)`` cannot do what was asked: the run exists and ``resume``
    forbids continuing it, it does not exist and ``resume="must"``, or it is still live."""


class FilterError(TrackerError, ValueError):
    """A filter or sort expression that cannot be parsed; the message points at the problem."""

    def __init__(self, message: str, expression: str = "", position: int | None = None) -> None:
        text = message
        if expression and position is not None:
            text = f"{message}\n  {expression}\n  {' ' * position}^"
        super().__init__(text)
        self.position = position


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(cause: str, message: str) -> bool:
    """Print ``message`` to stderr the first time ``cause`` is seen; return whether it printed."""
    with _warned_lock:
        if cause in _warned:
            return False
        _warned.add(cause)
    try:
        print(f"tracker: {safe_text(message, single_line=False)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return True


def reset_warnings() -> None:
    """Forget which causes were reported (tests, and a new run after a recovered problem)."""
    with _warned_lock:
        _warned.clear()
