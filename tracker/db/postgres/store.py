"""The PostgreSQL store: one psycopg 3 connection to one database, with this package's
writes, reads, media and lifecycle queries, and what the server's failures mean.

Connections are autocommit; transactions are opened explicitly (``begin()`` for writes, a
read-only snapshot for multi-query reads), so no transaction is ever left open between calls.
A lost connection is not repaired in place: the writer drops the store and opens a new one at
its next attempt, with backoff, and the reader reopens it at its next poll.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ...errors import (
    DatabaseUnavailable,
    NewerSchemaError,
    NoDatabaseYet,
    NotATrackerDatabase,
    ServerUnreachable,
)
from ..base import Listener
from ..target import Target, scrub
from . import errors, schema
from .lifecycle import PostgresLifecycle
from .media import PostgresMedia
from .reads import PostgresReads
from .writes import STAGING, PostgresWrites

CONNECT_TIMEOUT_S = 10
DEFAULT_WAIT_MS = 15_000
MIN_SERVER_VERSION = 130000  # xid8 and pg_current_snapshot()


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DatabaseUnavailable(
            "postgresql",
            "PostgreSQL needs the psycopg package: pip install 'tracktui[postgres]'",
        ) from None
    return psycopg


def _connect(target: Target, wait_ms: int) -> Any:
    psycopg = _psycopg()
    try:
        conn = psycopg.connect(
            target.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name="tracktui",
        )
    except psycopg.Error as exc:
        raise ServerUnreachable(
            target.shown, scrub(f"cannot connect: {str(exc).strip()}", target)
        ) from None
    if conn.info.server_version < MIN_SERVER_VERSION:
        shown = conn.info.parameter_status("server_version") or str(conn.info.server_version)
        conn.close()
        raise DatabaseUnavailable(
            target.shown, f"PostgreSQL {shown} is too old: tracktui needs 13 or later"
        )
    try:
        conn.execute(f"SET lock_timeout = {int(wait_ms)}")
    except psycopg.Error as exc:  # the server went away just after letting us in
        conn.close()
        raise ServerUnreachable(
            target.shown, scrub(f"cannot connect: {str(exc).strip()}", target)
        ) from None
    return conn


class PostgresStore(PostgresWrites, PostgresLifecycle, PostgresMedia, PostgresReads):
    kind = "postgresql"
    has_media = True
    cheap_change_token = False  # a query to the server
    has_lifecycle = True

    def __init__(self, conn: Any, target: Target) -> None:
        self.conn = conn
        self.target = target
        self._snapshots: dict[int, str] = {}
        self._tails: dict[int, tuple[int, int]] = {}

    @classmethod
    def connect(
        cls, target: Target, *, write: bool = False, wait_ms: int | None = None
    ) -> PostgresStore:
        """Connect and check the database: a writer creates the schema in an empty database,
        a reader refuses a database with no tracktui schema. Errors name the masked URL."""
        psycopg = _psycopg()
        conn = _connect(target, DEFAULT_WAIT_MS if wait_ms is None else wait_ms)
        try:
            _check_schema(conn, target, write)
            if write:
                conn.execute(STAGING)
        except psycopg.Error as exc:
            conn.close()
            if errors.is_busy(exc):
                raise DatabaseUnavailable(
                    target.shown, "schema creation is busy", busy=True
                ) from None
            raise DatabaseUnavailable(
                target.shown, scrub(f"cannot open: {str(exc).strip()}", target)
            ) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, target)

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # closing a broken connection: nothing left to do
            pass

    def abandon(self) -> None:
        self.close()

    # --- what failures mean -------------------------------------------------------------------
    def errors(self) -> tuple[type[BaseException], ...]:
        return errors.native_errors()

    def classify(self, exc: BaseException) -> str:
        return errors.classify(exc)

    def is_record_error(self, exc: BaseException) -> bool:
        return errors.is_record_error(exc)

    def is_busy(self, exc: BaseException) -> bool:
        return errors.is_busy(exc)

    def set_wait(self, milliseconds: int) -> None:
        self.conn.execute(f"SET lock_timeout = {int(milliseconds)}")

    def check_committed(self) -> None:
        """A commit the server acknowledged is durable (``synchronous_commit`` permitting)."""

    def after_disk_full(self) -> None:
        """The server manages its own storage: nothing to change on this side."""

    def compact(self) -> None:
        """Nothing to checkpoint from a client."""

    def replaced(self) -> bool:
        return bool(self.conn.closed)

    def listen(self, wake: threading.Event) -> Listener | None:
        """Set ``wake`` whenever a writer commits (``LISTEN``), on a connection of its own."""
        listener = _NotifyListener(self.target, wake)
        listener.start()
        return listener


def _check_schema(conn: Any, target: Target, write: bool) -> None:
    cur = conn.cursor()
    version, others = schema.read_header(cur)
    if version == schema.SCHEMA_VERSION:
        return
    if version is not None and version > schema.SCHEMA_VERSION:
        raise NewerSchemaError(
            target.shown,
            f"written by a newer tracktui (schema {version}; this version knows "
            f"{schema.SCHEMA_VERSION}); upgrade tracktui to use it",
        )
    if version == -1 or (version is None and others):
        raise NotATrackerDatabase(
            target.shown,
            "a PostgreSQL database holding another application's tables (refusing to change "
            "it); create an empty database for tracktui (createdb tracking)",
        )
    if not write:
        raise NoDatabaseYet(target.shown, "no database here yet (no runs were logged)")
    cur.execute("BEGIN")
    try:
        schema.lock_schema(cur)
        version, others = schema.read_header(cur)  # again, under the lock
        if version is None and others:
            raise NotATrackerDatabase(target.shown, "tables appeared meanwhile; refusing")
        if version is None or version < schema.SCHEMA_VERSION:
            schema.apply_schema(cur, version or 0)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise


class _NotifyListener:
    """A daemon thread on its own connection: ``LISTEN``, then set the event on each notice.
    It reconnects with backoff when the server goes away (the poll covers the gap)."""

    def __init__(self, target: Target, wake: threading.Event) -> None:
        self.target = target
        self.wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracktui-listen", daemon=True)
        self.notices = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                conn = _connect(self.target, DEFAULT_WAIT_MS)
            except DatabaseUnavailable:
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            try:
                conn.execute(f"LISTEN {schema.NOTIFY_CHANNEL}")
                while not self._stop.is_set():
                    for _notice in conn.notifies(timeout=0.5, stop_after=1):
                        self.notices += 1
                        self.wake.set()
            except Exception:  # the server went away: reconnect
                time.sleep(0)
            finally:
                try:
                    conn.close()
                except Exception:
                    pass
