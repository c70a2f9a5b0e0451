"""The SQLite store: one connection to one file, with the writes, reads, media and lifecycle
queries of this package, and what SQLite's failures mean (by result code, never by text)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from ..base import Listener
from ..target import Target
from . import errors, faults
from .lifecycle import SqliteLifecycle
from .media import SqliteMedia
from .read_errors import reading
from .reads import SqliteReads
from .schema import BUSY_TIMEOUT_MS, open_for_reading, open_for_writing, schema_version
from .schema import set_busy_timeout as _set_busy_timeout
from .writes import SqliteWrites


class SqliteStore(SqliteWrites, SqliteLifecycle, SqliteMedia, SqliteReads):
    cheap_change_token = True  # PRAGMA data_version: microseconds, no I/O
    kind = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path, target: Target | None = None):
        self.conn = conn
        self.path = path
        self.target = target or Target("sqlite", path=path, shown=str(path))
        self._wal: tuple[int, int] | None = None
        self._wal_seen = False
        self._inode = _inode(path)
        with reading(path):
            version = schema_version(conn)
        self.has_media = version >= 2  # older files are shown as they are
        self.has_lifecycle = version >= 3

    @classmethod
    def for_writing(
        cls, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS, target: Target | None = None
    ) -> SqliteStore:
        """Open (creating if needed) a tracktui database for writing."""
        return cls(open_for_writing(path, busy_timeout_ms), path, target)

    @classmethod
    def for_reading(cls, path: Path, target: Target | None = None) -> SqliteStore:
        """Open an existing database read-only (never creates a file)."""
        return cls(open_for_reading(path), path, target)

    def close(self) -> None:
        self.conn.close()

    def abandon(self) -> None:
        """Give up a broken connection without closing it: closing may checkpoint into a
        file that moved, or drop locks another connection of this process relies on."""
        _orphans.append(self.conn)

    # --- what failures mean -------------------------------------------------------------------
    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error, OSError)

    def classify(self, exc: BaseException) -> str:
        return errors.classify(exc)

    def is_record_error(self, exc: BaseException) -> bool:
        return errors.is_record_error(exc)

    def is_busy(self, exc: BaseException) -> bool:
        return errors.is_busy(exc)

    def set_wait(self, milliseconds: int) -> None:
        _set_busy_timeout(self.conn, milliseconds)

    def check_committed(self) -> None:
        """After a commit, before it counts: is the -wal file we wrote still the file's WAL?

        It can only vanish if this process lost its SQLite locks (something in it opened and
        closed the database file with plain file I/O) and another program then closed the
        file. What this process commits from then on goes to a deleted file, so it must never
        be acknowledged."""
        identity = faults.wal_identity(self.path)
        if not self._wal_seen:
            self._wal, self._wal_seen = identity, True  # None: no WAL (a network filesystem)
            return
        if identity != self._wal:
            raise faults.WalRemoved(self.path)

    def after_disk_full(self) -> None:
        """From now on checkpoint often: on a small disk the WAL's copy is what fills it."""
        faults.set_small_wal(self.conn)
        faults.checkpoint(self.conn)

    def compact(self) -> None:
        faults.checkpoint(self.conn)

    def replaced(self) -> bool:
        """Whether the file was deleted or replaced since this store opened it."""
        return _inode(self.path) != self._inode

    def listen(self, wake: threading.Event) -> Listener | None:
        return None  # the TUI watches the file itself (watchdog), plus the poll


# Connections that must never be closed by garbage collection (broken ones whose close could
# touch files another process now uses).
_orphans: list[sqlite3.Connection] = []


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
