"""The writer thread: the only code that writes to the database while runs are live.

``Run.log()`` appends a record to :attr:`Writer.queue` (a deque: no lock, no I/O). Every
``interval`` seconds, when the queue passes :data:`WAKE_AT_RECORDS`, or on :meth:`Writer.flush`,
this thread drains the queue and writes each database's batch in one ``BEGIN IMMEDIATE``
transaction: new series rows, the points, the updated series summaries and run progress. A
failed write (disk full, read-only file, lock held for too long) is warned about once per
cause, kept in a bounded buffer and retried with backoff; nothing is raised to the caller.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store
from .errors import DatabaseError, warn_once
from .schema import open_for_writing

FLUSH_INTERVAL_S = 0.1
WAKE_AT_RECORDS = 20_000
MAX_PENDING_POINTS = 2_000_000
HEARTBEAT_INTERVAL_S = 5.0
_MAX_BACKOFF_S = 10.0


@dataclass(slots=True)
class SeriesState:
    id: int
    count: int
    min: float | None
    max: float | None
    nonfinite: int


@dataclass(eq=False, slots=True)
class RunHandle:
    """The writer's view of one run. Fields below ``t0`` are touched by the writer thread only."""

    run_id: str
    db_path: Path
    t0: float
    config: dict[str, Any]
    summary: dict[str, Any]
    series: dict[str, SeriesState] = field(default_factory=dict)
    dropped: int = 0
    finished: bool = False
    last_write: float = 0.0


# A metrics record: (handle, step, unix time, {key: number}).
# A control record: (kind, handle, payload) with kind a str: "json" (payload: column name) or
# "finish" (payload: (status, exit_code, error)).
Record = tuple[Any, ...]


@dataclass(slots=True)
class _Database:
    path: Path
    conn: sqlite3.Connection | None
    pending: list[Record] = field(default_factory=list)
    pending_points: int = 0
    failures: int = 0
    retry_at: float = 0.0
    failing_cause: str | None = None


_DISK = "disk full or write error"
_LOCKED = "database locked by another process"


def classify(exc: BaseException) -> str:
    """Group storage errors by cause, so each cause is reported once."""
    text = str(exc).lower()
    if "full" in text or "disk i/o" in text or "no space" in text or "file too large" in text:
        return _DISK
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "database not writable"
    if "locked" in text or "busy" in text:
        return _LOCKED
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return "database corrupt"
    return type(exc).__name__


class Writer:
    """One per process. ``queue`` is the only thing the training thread touches."""

    def __init__(self, interval: float = FLUSH_INTERVAL_S) -> None:
        self.queue: deque[Record] = deque()
        self.interval = interval
        self.wake = threading.Event()
        self._cond = threading.Condition(threading.RLock())
        self._requested = 0
        self._completed = 0
        self._databases: dict[Path, _Database] = {}
        self._handles: list[RunHandle] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._pid = os.getpid()
        self._last_heartbeat = time.monotonic()

    # --- called from user threads ------------------------------------------------------------

    def attach(self, handle: RunHandle, conn: sqlite3.Connection | None) -> None:
        """Start following ``handle``; ``conn`` (already open and checked) may be handed over."""
        with self._cond:
            database = self._databases.get(handle.db_path)
            if database is None:
                self._databases[handle.db_path] = _Database(handle.db_path, conn)
            elif conn is not None:
                conn.close()
            self._handles.append(handle)
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._loop, name="tracker-writer", daemon=True
                )
                self._thread.start()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued before this call was written or failed; True if on time."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self.queue
        with self._cond:
            self._requested += 1
            ticket = self._requested
        self.wake.set()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._completed < ticket:
                left = deadline - time.monotonic()
                if left <= 0 or not thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def pending_points(self, handle: RunHandle) -> int:
        with self._cond:
            database = self._databases.get(handle.db_path)
            if database is None:
                return 0
            return sum(len(r[3]) for r in database.pending if r[0] is handle)

    def stop(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._stopping = True
        self.wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=2.0)
        with self._cond:
            for database in self._databases.values():
                if database.conn is not None:
                    try:
                        database.conn.close()
                    except sqlite3.Error:
                        pass
                    database.conn = None

    def abandon_after_fork(self) -> list[sqlite3.Connection]:
        """In a forked child: forget the parent's state; return connections that must not close."""
        kept = [d.conn for d in self._databases.values() if d.conn is not None]
        self._databases.clear()
        self._handles.clear()
        self.queue.clear()
        self._thread = None
        self._cond = threading.Condition(threading.RLock())
        self.wake = threading.Event()
        return kept

    # --- the writer thread -------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            with self._cond:
                ticket = self._requested
            try:
                self._write_all()
                self._heartbeat_if_due()
            except Exception as exc:  # a bug here must not kill the thread
                warn_once(f"writer-bug:{type(exc).__name__}", f"internal writer error: {exc!r}")
            with self._cond:
                self._completed = max(self._completed, ticket)
                self._cond.notify_all()
                if self._stopping and not self.queue:
                    return

    def _drain(self) -> None:
        queue = self.queue
        databases = self._databases
        pop = queue.popleft
        while True:
            try:
                record = pop()
            except IndexError:
                return
            handle = record[0] if type(record[0]) is RunHandle else record[1]
            database = databases.get(handle.db_path)
            if database is None:
                continue
            database.pending.append(record)
            if type(record[0]) is RunHandle:
                database.pending_points += len(record[3])

    def _write_all(self) -> None:
        with self._cond:
            self._drain()
            databases = list(self._databases.values())
        now = time.monotonic()
        for database in databases:
            if not database.pending:
                continue
            if database.failures and now < database.retry_at:
                self._enforce_cap(database)
                continue
            self._write_database(database)

    def _write_database(self, database: _Database) -> None:
        records = database.pending
        try:
            if database.conn is None:
                database.conn = open_for_writing(database.path)
            commits = _write_batch(database.conn, records)
        except (sqlite3.Error, OSError, DatabaseError) as exc:
            self._failed(database, exc)
            return
        for apply in commits:
            apply()
        with self._cond:
            database.pending = database.pending[len(records) :]
            database.pending_points = sum(
                len(r[3]) for r in database.pending if type(r[0]) is RunHandle
            )
        if database.failures:
            warn_once(
                f"recovered:{database.path}:{database.failing_cause}:{time.time():.0f}",
                f"writing to {database.path} again after: {database.failing_cause}",
            )
            database.failures = 0
            database.failing_cause = None

    def _failed(self, database: _Database, exc: BaseException) -> None:
        cause = classify(exc)
        database.failures += 1
        database.failing_cause = cause
        backoff = min(0.5 * 2 ** (database.failures - 1), _MAX_BACKOFF_S)
        database.retry_at = time.monotonic() + backoff
        warn_once(
            f"write:{database.path}:{cause}",
            f"cannot write to {database.path} ({exc}); training continues, up to "
            f"{MAX_PENDING_POINTS:,} points are kept in memory and retried",
        )
        if cause not in (_LOCKED, _DISK) and database.conn is not None:
            # A broken connection (file replaced, permissions changed) is reopened next attempt;
            # it is not closed here because closing may checkpoint into a file that moved.
            _orphans.append(database.conn)
            database.conn = None
        self._enforce_cap(database)

    def _enforce_cap(self, database: _Database) -> None:
        """Drop the oldest metric records once the buffer is over its cap, counting them."""
        if database.pending_points <= MAX_PENDING_POINTS:
            return
        with self._cond:
            kept: list[Record] = []
            excess = database.pending_points - MAX_PENDING_POINTS
            for record in database.pending:
                if excess > 0 and type(record[0]) is RunHandle:
                    excess -= len(record[3])
                    record[0].dropped += len(record[3])
                    database.pending_points -= len(record[3])
                    continue
                kept.append(record)
            database.pending = kept
        warn_once(
            f"dropping:{database.path}",
            f"{database.path} is still not writable; dropping the oldest points beyond "
            f"{MAX_PENDING_POINTS:,} (counted and reported at finish)",
        )

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_INTERVAL_S:
            return
        self._last_heartbeat = now
        wall = time.time()
        with self._cond:
            live = [h for h in self._handles if not h.finished]
            self._handles = live
        by_db: dict[Path, list[str]] = {}
        for handle in live:
            if wall - handle.last_write >= HEARTBEAT_INTERVAL_S:
                by_db.setdefault(handle.db_path, []).append(handle.run_id)
        for path, run_ids in by_db.items():
            database = self._databases.get(path)
            if database is None or database.conn is None or database.failures:
                continue
            try:
                database.conn.execute("BEGIN IMMEDIATE")
                store.heartbeat(database.conn, run_ids, wall)
                store.commit(database.conn)
            except sqlite3.Error as exc:
                store.rollback(database.conn)
                self._failed(database, exc)


# Connections that must never be closed by garbage collection (after a fork, or broken ones
# whose close could touch files another process now uses).
_orphans: list[sqlite3.Connection] = []


def _write_batch(conn: sqlite3.Connection, records: list[Record]) -> list[Any]:
    """Write ``records`` in one transaction; return the updates to apply once it committed."""
    groups: dict[RunHandle, list[Record]] = {}
    controls: list[Record] = []
    for record in records:
        if type(record[0]) is RunHandle:
            group = groups.get(record[0])
            if group is None:
                groups[record[0]] = [record]
            else:
                group.append(record)
        else:
            controls.append(record)
    after_commit: list[Any] = []
    now = time.time()
    version = store.begin(conn)
    try:
        rows: list[Any] = []
        series_updates: list[tuple[Any, ...]] = []
        for handle, group in groups.items():
            rows_for_run, updates, new_states, last_step = _build_rows(conn, handle, group, version)
            rows.append(rows_for_run)
            series_updates.extend(updates)
            store.update_run_progress(conn, handle.run_id, last_step, now, version)
            after_commit.append(_committer(handle, new_states, now))
        if rows:
            store.insert_points(conn, itertools.chain.from_iterable(rows))
            store.update_series(conn, series_updates)
        for kind, handle, payload in controls:
            if kind == "json":
                source = handle.config if payload == "config" else handle.summary
                from .values import dumps

                store.update_run_json(
                    conn, handle.run_id, payload, _snapshot_json(source, dumps), version
                )
            elif kind == "finish":
                status, exit_code, error = payload
                store.finish_run(
                    conn, handle.run_id, status, now, exit_code, error, handle.dropped, version
                )
        store.commit(conn)
    except BaseException:
        store.rollback(conn)
        raise
    for kind, handle, _payload in controls:
        if kind == "finish":
            after_commit.append(_mark_finished(handle))
    return after_commit


def _snapshot_json(source: dict[str, Any], dumps: Any) -> str:
    for _ in range(5):
        try:
            return str(dumps(dict(source)))
        except RuntimeError:  # mutated by the training thread while we read it
            time.sleep(0)
    return str(dumps(dict(source)))


def _committer(handle: RunHandle, new_states: dict[str, SeriesState], now: float) -> Any:
    def apply() -> None:
        handle.series.update(new_states)
        handle.last_write = now

    return apply


def _mark_finished(handle: RunHandle) -> Any:
    def apply() -> None:
        handle.finished = True

    return apply


def _build_rows(
    conn: sqlite3.Connection, handle: RunHandle, group: list[Record], version: int
) -> tuple[Any, list[tuple[Any, ...]], dict[str, SeriesState], int | None]:
    """Turn one run's records into point rows (grouped by series) and new series summaries."""
    t0 = handle.t0
    columns: dict[str, tuple[list[int], list[Any], list[int]]] = {}
    last_step = None
    for _handle, step, t, data in group:
        t_ms = int((t - t0) * 1000.0)
        for key, value in data.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = ([], [], [])
            column[0].append(step)
            column[1].append(value)
            column[2].append(t_ms)
        last_step = step
    known = handle.series
    new_keys = [k for k in columns if k not in known]
    created = store.ensure_series(conn, handle.run_id, new_keys, version) if new_keys else {}
    iterators = []
    updates: list[tuple[Any, ...]] = []
    states: dict[str, SeriesState] = {}
    for key, (steps, raw_values, times) in columns.items():
        state = known.get(key)
        if state is None:
            sid, count, mn, mx, nonfinite = created[key]
            state = SeriesState(sid, count, mn, mx, nonfinite)
        values = list(map(float, raw_values))
        n = len(values)
        finite = [v for v in values if v - v == 0.0]
        mn, mx = state.min, state.max
        if finite:
            low, high = min(finite), max(finite)
            mn = low if mn is None or low < mn else mn
            mx = high if mx is None or high > mx else mx
        count = state.count + n
        nonfinite = state.nonfinite + n - len(finite)
        iterators.append(
            zip(
                itertools.repeat(state.id, n),
                range(state.count + 1, count + 1),
                steps,
                values,
                times,
                strict=True,
            )
        )
        updates.append(
            (count, values[-1], steps[-1], times[-1], mn, mx, nonfinite, version, state.id)
        )
        states[key] = SeriesState(state.id, count, mn, mx, nonfinite)
    return itertools.chain.from_iterable(iterators), updates, states, last_step
