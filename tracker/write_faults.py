"""What the writer does when writing goes wrong: a buffer over its caps, a full disk, a record
SQLite refuses, a WAL deleted under the process."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .batch import Record, RunHandle, heavy_bytes, metric_points, owner
from .errors import DatabaseUnavailable, warn_once
from .unwritten import describe_left_out

SMALL_WAL_PAGES = 64  # checkpoint every ~1 MiB of WAL once the disk has been full


class WalRemoved(DatabaseUnavailable):
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


def leave_out(record: Record, exc: BaseException) -> None:
    """A record SQLite refuses whatever we do: count it and say so once per cause."""
    handle = owner(record)
    if type(record[0]) is RunHandle:
        handle.dropped += len(record[3])
    handle.refused += 1
    warn_once(
        f"refused:{handle.run_id}:{type(exc).__name__}",
        f"run {handle.run_id}: left out {describe_left_out(record)} that the database refuses "
        f"({type(exc).__name__}: {exc}); every other record is written",
    )


def without_oldest_points(pending: list[Record], cap: int) -> list[Record] | None:
    """``pending`` without its oldest metric records beyond ``cap`` points (counted in each
    run's ``dropped``), or None when it is within the cap."""
    excess = metric_points(pending) - cap
    if excess <= 0:
        return None
    kept: list[Record] = []
    for record in pending:
        if excess > 0 and type(record[0]) is RunHandle:
            excess -= len(record[3])
            record[0].dropped += len(record[3])
            continue
        kept.append(record)
    return kept


def without_oldest_heavy(pending: list[Record], cap: int) -> list[Record] | None:
    """``pending`` without its oldest media and console records beyond ``cap`` bytes, or None
    when it is within the cap."""
    sizes = [heavy_bytes(record) for record in pending]
    excess = sum(sizes) - cap
    if excess <= 0:
        return None
    kept: list[Record] = []
    for record, size in zip(pending, sizes, strict=True):
        if excess > 0 and size:
            excess -= size
            continue
        kept.append(record)
    return kept
