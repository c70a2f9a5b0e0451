"""The SQLite store's answers to write trouble: a WAL deleted under the process, and WAL
checkpoints that keep a full disk from filling again."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ...errors import StoreLost

SMALL_WAL_PAGES = 64  # checkpoint every ~1 MiB of WAL once the disk has been full


class WalRemoved(StoreLost):
    """The -wal file this process commits to is no longer the database's WAL."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            str(path),
            "its WAL file was deleted while this process was writing to it: something in this "
            "process opened and closed the database file with plain file I/O (open(), "
            "shutil.copy, tar, a hash...), which drops SQLite's locks, and another program then "
            "closed the file. Nothing this process writes to it persists any more; restart "
            "the process (copy a live database with `sqlite3 runs.db '.backup copy.db'`)",
        )


def wal_identity(db_path: Path) -> tuple[int, int] | None:
    """(device, inode) of the database's -wal file, or None when there is none.

    ``os.stat`` only: opening the file would drop this process's SQLite locks."""
    try:
        info = os.stat(f"{db_path}-wal")
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


def checkpoint(conn: sqlite3.Connection) -> None:
    """Move the WAL into the database file and cut the WAL back (``journal_size_limit``), so
    that after a disk-full episode the next writes reuse its space instead of growing it."""
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.Error:
        pass  # still no room, or readers in the way: the next success tries again


def set_small_wal(conn: sqlite3.Connection) -> None:
    """Checkpoint often from now on: on a small disk the WAL's second copy of the data is what
    fills it."""
    try:
        conn.execute(f"PRAGMA wal_autocheckpoint = {SMALL_WAL_PAGES}")
    except sqlite3.Error:
        pass
