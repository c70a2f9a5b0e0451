"""Stores: where runs are kept. :func:`open_store` opens a SQLite file or a PostgreSQL
database behind the one :class:`~tracker.db.base.Store` interface."""

from __future__ import annotations

import os

from ..errors import DatabaseUnavailable
from .base import Store, transaction
from .target import Target, parse_target

__all__ = ["Store", "Target", "open_store", "parse_target", "transaction"]


def open_store(
    db: str | os.PathLike[str] | Target | None = None,
    *,
    write: bool = False,
    wait_ms: int | None = None,
) -> Store:
    """Open ``db`` (a path, a URL, a :class:`Target`; None: ``$TRACKTUI_DB`` or the default).

    ``write=False`` never creates anything and refuses what is not a tracktui database;
    ``write=True`` creates the database or its schema when missing. ``wait_ms`` bounds each
    wait for another writer's lock while opening. Errors are ``DatabaseError`` naming it."""
    target = parse_target(db)
    if target.kind == "files":
        if write:
            raise DatabaseUnavailable(
                target.shown,
                "is a directory, not a database file: runs are logged into one file "
                "(db='folder/runs.db'); folders and several files are shown read-only",
            )
        from .multi import MultiStore

        return MultiStore.open(target)
    if target.kind == "postgresql":
        from .postgres.store import PostgresStore

        return PostgresStore.connect(target, write=write, wait_ms=wait_ms)
    from .sqlite.store import SqliteStore

    path = target.sqlite_path()
    if write:
        if wait_ms is None:
            return SqliteStore.for_writing(path, target=target)
        return SqliteStore.for_writing(path, wait_ms, target=target)
    return SqliteStore.for_reading(path, target=target)
