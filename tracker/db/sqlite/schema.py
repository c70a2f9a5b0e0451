"""The database schema: the only DDL in the project, its version, and how a file is opened.

A tracktui database carries ``PRAGMA application_id = APPLICATION_ID`` so that any other SQLite
file is refused, and ``PRAGMA user_version = SCHEMA_VERSION``. Creation and migrations run inside
``BEGIN IMMEDIATE`` with a re-check under the lock, so any number of processes may open a fresh
file at the same instant.

Tables:
- ``state``: one row; ``version`` counts write transactions. Every row of ``runs`` and ``series``
  written by a transaction carries that number, so a reader asks "what changed since N".
- ``runs``: one row per run with its metadata, config, summary and heartbeat (``updated_at``).
- ``series``: one row per (run, metric key) with the running summary of that metric (count,
  last, min, max, last step), updated in the same transaction as the points.
- ``points``: one row per logged value. Its integer key is ``series << 32 | seq`` (``seq`` counts
  a series' points from 1), so a series' history is one contiguous range of the table's own
  B-tree: no second index, ~27 bytes per point. ``value`` NULL means NaN (SQLite cannot store
  NaN); ±inf are stored as they are. ``t`` is milliseconds since the run's ``created_at``.
  The view ``point_values`` shows the key split into ``series`` and ``seq`` for people using
  ``sqlite3`` or ``sqlite-utils`` on the file.
- ``media`` (schema 2): one row per logged image, text table, histogram or confusion matrix:
  its run, key, step, time, kind, a small JSON ``meta`` (caption, sizes, columns, ...) and the
  encoded ``data`` (PNG/JPEG bytes or JSON). Media live in the database, not in a folder beside
  it, so that one file holds a whole experiment: copying it, or opening it over SSH, keeps every
  image, and a killed writer leaves no half-written file behind.
- ``console`` (schema 2): the run's captured stdout/stderr in chunks, oldest first.
- ``runs.metric_defs`` (schema 3): the run's ``define_metric`` calls as a JSON list (which step
  metric each metric is plotted against, its goal), in the order they were made.
- ``events`` (schema 3): things that happened to a run at a step: a resume after a crash, an
  alert from the script. ``version`` as in ``runs``, so readers ask for what is new.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...errors import (
    DatabaseUnavailable,
    NewerSchemaError,
    NoDatabaseYet,
    NotATrackerDatabase,
    warn_once,
)
from ...paths import ensure_private_file, is_network_filesystem
from .errors import SQLITE_CORRUPT, is_busy, is_corrupt, primary_code
from .read_errors import (
    check_structure,
    damaged,
    is_access_error,
    os_error_reason,
    reading,
    sqlite_error,
)

APPLICATION_ID = 0x54724B74  # "TrKt"
PAGE_SIZE = 16384
SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 15_000
WAL_SIZE_LIMIT = 32 * 1024 * 1024
_WAL_HEADER = 32  # bytes before the first frame of a -wal file
_WAL_FRAME_HEADER = 24  # bytes before each page in a -wal frame

TABLES_BY_VERSION = {
    1: ("state", "runs", "series", "points"),
    2: ("state", "runs", "series", "points", "media", "console"),
    3: ("state", "runs", "series", "points", "media", "console", "events"),
}
TABLES = TABLES_BY_VERSION[SCHEMA_VERSION]

_SCHEMA_V1 = """
CREATE TABLE state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO state (id, version) VALUES (1, 0);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start REAL,
    step INTEGER,
    tags TEXT NOT NULL DEFAULT '[]',
    config TEXT NOT NULL DEFAULT '{}',
    summary TEXT NOT NULL DEFAULT '{}',
    exit_code INTEGER,
    error TEXT,
    dropped INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_by_version ON runs (version);
CREATE INDEX runs_by_project ON runs (project, created_at);

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    last REAL,
    last_step INTEGER,
    last_t INTEGER,
    min REAL,
    max REAL,
    nonfinite INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    UNIQUE (run_id, key)
) STRICT;
CREATE INDEX series_by_version ON series (version);

CREATE TABLE points (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    value REAL,
    t INTEGER NOT NULL
) STRICT;

CREATE VIEW point_values AS
    SELECT id >> 32 AS series, id & 4294967295 AS seq, step, value, t FROM points;
"""

_SCHEMA_V2 = """
CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    meta TEXT NOT NULL,
    data BLOB NOT NULL
) STRICT;
CREATE INDEX media_by_run ON media (run_id, key, step);

CREATE TABLE console (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    stream INTEGER NOT NULL,
    t REAL NOT NULL,
    text TEXT NOT NULL
) STRICT;
CREATE INDEX console_by_run ON console (run_id, id);
"""

_SCHEMA_V3 = """
ALTER TABLE runs ADD COLUMN metric_defs TEXT NOT NULL DEFAULT '[]';

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    t REAL NOT NULL,
    step INTEGER,
    kind TEXT NOT NULL,
    key TEXT,
    level TEXT,
    title TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_run ON events (run_id, id);
CREATE INDEX events_by_version ON events (version);
"""

# MIGRATIONS[n] turns a version n-1 database into version n.
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}


def _header(conn: sqlite3.Connection) -> tuple[int, int]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(app_id), int(version)


def _object_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])


def truncation(conn: sqlite3.Connection, path: Path) -> str | None:
    """Why the file looks cut short (it promises more pages than the file and its WAL hold),
    or None.

    Asked through SQLite (``page_count`` includes pages that live only in the WAL, as after a
    disk-full episode) and ``os.stat``: this process never opens the database file itself,
    because closing any descriptor of it would drop every POSIX lock SQLite holds on it here,
    and the next connection to close anywhere would then delete a WAL still in use. A full
    ``quick_check`` costs seconds on big files; this costs two pragmas.
    """
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    try:
        wal_bytes = os.stat(f"{path}-wal").st_size
    except OSError:
        wal_bytes = 0
    wal_pages = max(0, wal_bytes - _WAL_HEADER) // (page_size + _WAL_FRAME_HEADER)
    promised = pages * page_size
    if promised > size + wal_pages * page_size:
        return f"truncated: the database promises {promised:,} bytes, the file has {size:,}"
    return None


def check_header(conn: sqlite3.Connection, path: str) -> tuple[int, int]:
    """Raise the right error if ``conn`` is not a usable tracktui database; return the header.

    A fresh file (no tables, ids 0) passes with ``(0, 0)``.
    """
    own_snapshot = not conn.in_transaction
    try:
        if own_snapshot:  # one snapshot: another process may create the schema meanwhile
            conn.execute("BEGIN")
        try:
            app_id, version = _header(conn)
            objects = _object_count(conn)
        finally:
            if own_snapshot and conn.in_transaction:
                conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise
        if is_access_error(exc) or primary_code(exc) == SQLITE_CORRUPT:
            raise sqlite_error(Path(path), exc) from None  # permissions or damage: say which
        raise NotATrackerDatabase(path, f"not a SQLite database ({exc})") from None
    except UnicodeDecodeError as exc:  # SQLite's message quotes schema text that is not UTF-8
        raise damaged(path, f"schema text that is not UTF-8: {exc.reason}") from None
    if app_id == 0 and version == 0:
        if objects:
            raise NotATrackerDatabase(
                path, "a SQLite database written by another program (refusing to change it)"
            )
        return app_id, version
    if app_id != APPLICATION_ID:
        raise NotATrackerDatabase(
            path, f"a SQLite database of another application (application_id {app_id:#x})"
        )
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            path,
            f"written by a newer tracktui (schema {version}; this version knows {SCHEMA_VERSION}); "
            "upgrade tracktui to use it",
        )
    return app_id, version


def _set_wal(conn: sqlite3.Connection, path: str, busy_timeout_ms: int) -> None:
    """Switch to WAL. This is the one step that fails at once under contention: retry it."""
    delay = 0.005
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise DatabaseUnavailable(path, f"cannot enable WAL mode: {exc}") from None
            if time.monotonic() > deadline:
                raise DatabaseUnavailable(
                    path, f"cannot enable WAL mode: {exc}", busy=True
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
            continue
        if str(mode).lower() != "wal":
            raise DatabaseUnavailable(path, f"cannot enable WAL mode (journal mode is {mode})")
        return


def _apply_schema(conn: sqlite3.Connection, path: str) -> None:
    """Create or migrate the schema under ``BEGIN IMMEDIATE``, re-checking inside the lock."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _app_id, version = check_header(conn, path)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _split_statements(MIGRATIONS[target]):
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _split_statements(script: str) -> list[str]:
    """Split DDL into statements so they run inside our transaction (executescript commits)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def _configure(conn: sqlite3.Connection, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    set_busy_timeout(conn, busy_timeout_ms)
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA cell_size_check = ON")


def _connect(target: str, shown: str, uri: bool = False) -> sqlite3.Connection:
    if not uri and target.startswith("file:"):
        # SQLite reads a name that starts with "file:" as a URI (file:x.db is x.db): this
        # file is the one ensure_private_file made and readers open.
        target = os.path.join(".", target)
    try:
        return sqlite3.connect(
            target,
            uri=uri,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(shown, f"cannot open the database: {exc}") from None


@contextmanager
def _closed_on_error(conn: sqlite3.Connection, shown: str) -> Iterator[None]:
    """Close ``conn`` on any failure, turning SQLite errors into errors that name the file."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_corrupt(exc):
            raise NotATrackerDatabase(shown, f"damaged database ({exc})") from None
        raise DatabaseUnavailable(shown, _explain(exc), busy=is_busy(exc)) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_busy(exc):
            raise DatabaseUnavailable(shown, _explain(exc), busy=True) from None
        raise NotATrackerDatabase(shown, f"unreadable ({exc})") from None
    except BaseException:
        conn.close()
        raise


def _check_file(conn: sqlite3.Connection, path: Path, shown: str) -> int:
    """The file's schema version, after refusing foreign, newer and truncated files."""
    _app_id, version = check_header(conn, shown)
    damage = truncation(conn, path) if version else None
    if damage:
        raise NotATrackerDatabase(shown, f"damaged database ({damage})")
    return version


def open_for_writing(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """Open (creating if needed) a tracktui database for writing, or raise a ``DatabaseError``.

    ``busy_timeout_ms`` bounds each wait for another process's lock while opening; the
    connection keeps it (callers that retry set it back with :func:`set_busy_timeout`)."""
    shown = str(path)
    try:
        ensure_private_file(path)
    except OSError as exc:
        raise DatabaseUnavailable(
            shown, f"cannot create the database: {exc.strerror or exc}"
        ) from None
    if path.is_dir():
        raise DatabaseUnavailable(shown, "is a directory, not a database file")
    conn = _connect(shown, shown)
    with _closed_on_error(conn, shown):
        _configure(conn, busy_timeout_ms)
        version = _check_file(conn, path, shown)
        if is_network_filesystem(path):
            warn_once(
                f"network-fs:{shown}",
                f"{shown} is on a network filesystem, where SQLite's WAL mode is unsafe: using "
                "the rollback journal (slower; readers and writers take turns). Keep every writer "
                "on one host, or put the database on a local disk ($TRACKTUI_DB).",
            )
        else:
            if version == 0:
                # Only takes effect on a file with no content yet; 16 KiB pages measured ~15%
                # faster than 4 KiB for the append-heavy points table.
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            _set_wal(conn, shown, busy_timeout_ms)
        conn.execute("PRAGMA synchronous = NORMAL")
        # After a checkpoint the WAL is cut back to this size, so a long run (or a disk-full
        # episode) does not keep a large -wal file on a small disk.
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        if version < SCHEMA_VERSION:
            _apply_schema(conn, shown)
        verify_tables(conn, shown)
    return conn


def open_for_reading(path: Path) -> sqlite3.Connection:
    """Open an existing database read-only (never creates a file), or raise a ``DatabaseError``
    naming the file and the cause: a folder that cannot be entered (even ``Path.exists()``
    raises there), a file that cannot be read, or damage, including damage to ``runs`` and
    ``series`` that SQLite would read past without a word (``read_errors.check_structure``)."""
    shown = str(path)
    try:
        if not path.exists():
            raise NoDatabaseYet(shown, "no database here yet")
        if path.is_dir():
            raise DatabaseUnavailable(shown, "is a directory, not a database file")
        target = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(target, uri=True, isolation_level=None, check_same_thread=False)
    except OSError as exc:
        raise DatabaseUnavailable(shown, os_error_reason(path, exc)) from None
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from None
    with _closed_on_error(conn, shown), reading(path):
        _configure(conn)
        conn.execute("PRAGMA query_only = ON")
        version = _check_file(conn, path, shown)
        if version == 0:
            raise NoDatabaseYet(shown, "empty file: no runs yet", empty=True)
        verify_tables(conn, shown, version)
        check_structure(conn, shown)
    return conn


def verify_tables(conn: sqlite3.Connection, path: str, version: int = SCHEMA_VERSION) -> None:
    """Check that every table of the file's schema version is there (a damaged or half-copied
    file is not). Readers accept older versions: a file written by an older tracktui is shown
    as it is, without its newer tables."""
    present = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    missing = [name for name in TABLES_BY_VERSION[version] if name not in present]
    if missing:
        raise NotATrackerDatabase(path, f"damaged tracktui database: missing tables {missing}")


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "readonly" in text:
        return f"{text} (check that you own the file and its folder and can write to them)"
    if "unable to open" in text:
        return f"{text} (the folder may be missing or not writable)"
    return text


def set_busy_timeout(conn: sqlite3.Connection, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")


def schema_version(conn: sqlite3.Connection) -> int:
    return _header(conn)[1]


def describe(conn: sqlite3.Connection) -> dict[str, Any]:
    """Header facts for diagnostics: application id, schema version, journal mode."""
    app_id, version = _header(conn)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    return {"application_id": app_id, "schema_version": version, "journal_mode": mode}
