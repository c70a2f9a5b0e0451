"""The writer thread: the only code that writes to the database while runs are live.

``Run.log()`` appends a record to :attr:`Writer.queue` (a deque: no lock, no I/O). Every
``interval`` seconds, when the queue passes :data:`WAKE_AT_RECORDS`, or on :meth:`Writer.flush`,
this thread drains the queue and writes each database's batch in one ``BEGIN IMMEDIATE``
transaction: new series rows, the points, the updated series summaries and run progress. A
failed write (disk full, read-only file, lock held for too long) is warned about once per
cause, kept in a bounded buffer and retried with backoff; nothing is raised to the caller.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .batch import Record, RunHandle, owner, write_batch
from .db import Store, Target, open_store, transaction
from .db.causes import BUSY, DISK, classify_common
from .errors import DatabaseError, StoreLost, warn_once
from .notify import Webhook, event_json
from .settings import FLUSH_INTERVAL_S
from .status import HEARTBEAT_INTERVAL_S
from .unwritten import Unwritten
from .write_faults import leave_out, without_oldest_heavy, without_oldest_points

WAKE_AT_RECORDS = 20_000
MAX_PENDING_POINTS = 2_000_000
MAX_PENDING_HEAVY_BYTES = 256 * 1024 * 1024  # media and console text kept while unwritable
_MAX_BACKOFF_S = 10.0
_RETRY_WHILE_WAITED_S = 0.25  # how often a failing database is retried while flush() waits
_RECOVERY_STEP = 2_000  # records per transaction while catching up after a disk-full episode


@dataclass(slots=True)
class _Database:
    target: Target
    store: Store | None
    pending: list[Record] = field(default_factory=list)
    failures: int = 0
    retry_at: float = 0.0
    failing_cause: str | None = None
    last_success: float = field(default_factory=time.monotonic)
    last_attempt: float = 0.0
    lost: StoreLost | None = None  # why nothing this process writes there persists any more


class Writer:
    """One per process. ``queue`` is the only thing the training thread touches."""

    def __init__(self, interval: float = FLUSH_INTERVAL_S) -> None:
        self.queue: deque[Record] = deque()
        self.interval = interval
        self.wake = threading.Event()
        self._cond = threading.Condition(threading.RLock())
        self._requested = 0
        self._completed = 0
        self._databases: dict[Target, _Database] = {}
        self._handles: list[RunHandle] = []
        self._health_handles: list[RunHandle] = []  # runs whose detectors run here
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._pid = os.getpid()
        self._last_heartbeat = time.monotonic()
        self._flush_waiters = 0
        self._writing = threading.Lock()  # held while a batch is written (give_up waits for it)

    # --- called from user threads ------------------------------------------------------------

    def attach(self, handle: RunHandle, store: Store | None) -> None:
        """Start following ``handle``; ``store`` (already open and checked) may be handed over."""
        with self._cond:
            database = self._databases.get(handle.db)
            if database is None:
                self._databases[handle.db] = _Database(handle.db, store)
            elif store is not None:
                store.close()
            self._handles.append(handle)
            if handle.health is not None:
                self._health_handles.append(handle)
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._loop, name="tracker-writer", daemon=True
                )
                self._thread.start()

    def flush(
        self, timeout: float = 30.0, handle: RunHandle | None = None, stall: float | None = None
    ) -> bool:
        """Wait until what was queued before this call is committed; True if it was in time.

        Only ``handle``'s records count when it is given. While a database fails, the writer
        retries it every quarter second as long as someone waits here. With ``stall``, the wait
        also lasts as long as commits keep succeeding, giving up only after ``stall`` seconds
        without one (many processes sharing a busy database drain slowly, but they drain).
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self.queue
        start = time.monotonic()
        with self._cond:
            self._flush_waiters += 1
        try:
            while True:
                with self._cond:
                    self._requested += 1
                    ticket = self._requested
                self.wake.set()
                with self._cond:
                    while self._completed < ticket and thread.is_alive():
                        left = self._deadline(start, timeout, stall, handle) - time.monotonic()
                        if left <= 0:
                            return False
                        self._cond.wait(min(left, 0.5))
                    if not self._unwritten_records(handle):
                        return True
                    if not thread.is_alive() or (handle is not None and self.hopeless(handle)):
                        return False
                    left = self._deadline(start, timeout, stall, handle) - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, self.interval))
        finally:
            with self._cond:
                self._flush_waiters -= 1

    def _deadline(
        self, start: float, timeout: float, stall: float | None, handle: RunHandle | None
    ) -> float:
        if stall is None:
            return start + timeout
        databases = [self._databases.get(handle.db)] if handle else self._databases.values()
        latest = max((d.last_success for d in databases if d is not None), default=start)
        return max(start + timeout, latest + stall)

    def _unwritten_records(self, handle: RunHandle | None) -> int:
        with self._cond:
            if handle is None:
                return sum(len(d.pending) for d in self._databases.values())
            database = self._databases.get(handle.db)
            if database is None:
                return 0
            return sum(1 for record in database.pending if owner(record) is handle)

    def give_up(self, handle: RunHandle) -> tuple[Unwritten, str | None]:
        """Drop what ``handle`` still has buffered, except its finish record (which gets one more
        try); return what was dropped and the cause the database fails with."""
        with self._writing, self._cond:  # not while a batch is in flight: it may commit
            database = self._databases.get(handle.db)
            if database is None:
                return Unwritten(), None
            left_out = Unwritten()
            kept: list[Record] = []
            for record in database.pending:
                if owner(record) is handle and record[0] != "finish":
                    left_out.add(record)
                else:
                    kept.append(record)
            database.pending = kept
            handle.dropped += left_out.points
            return left_out, database.failing_cause

    def stop(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._stopping = True
        self.wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=2.0)
        with self._cond:
            for database in self._databases.values():
                if database.store is not None:
                    try:
                        database.store.close()
                    except Exception:  # closing what failed already: nothing left to save
                        pass
                    database.store = None

    def release(self, target: Target) -> None:
        """Close ``target``'s connection once no run of this process logs there any more and
        everything is written. SQLite moves the WAL into the database file when its last
        connection closes (and the checkpoint before closing does it while a viewer still reads),
        so a finished run's file is whole by itself (copied alone, mailed,
        synced); the next ``init()`` on it opens a connection again."""
        with self._writing, self._cond:
            database = self._databases.get(target)
            if database is None or database.store is None or database.pending:
                return
            if any(h.db == target and not h.finished for h in self._handles):
                return
            if any(owner(record).db == target for record in self.queue):
                return
            store, database.store = database.store, None
        try:
            store.compact()  # the file is whole even while a viewer keeps the WAL open
            store.close()
        except Exception:  # closing after everything committed: nothing left to save
            pass

    def abandon_after_fork(self) -> list[Store]:
        """In a forked child: forget the parent's state; return stores that must not close."""
        kept = [d.store for d in self._databases.values() if d.store is not None]
        self._databases.clear()
        self._handles.clear()
        self._health_handles.clear()
        self.queue.clear()
        self._thread = None
        self._cond = threading.Condition(threading.RLock())
        self._writing = threading.Lock()  # the parent's writer thread may have held it
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
                self._health_tick()
            except Exception as exc:  # a bug here must not kill the thread
                warn_once(f"writer-bug:{type(exc).__name__}", f"internal writer error: {exc!r}")
            with self._cond:
                self._completed = max(self._completed, ticket)
                self._cond.notify_all()
                if self._stopping and not self.queue:
                    return

    def _drain(self) -> None:
        queue = self.queue
        count = len(queue)
        if not count:
            return
        pop = queue.popleft
        records = [pop() for _ in range(count)]
        if len(self._databases) == 1:  # the usual case: every run of this process logs here
            (database,) = self._databases.values()
            database.pending.extend(records)
            return
        for record in records:
            target = self._databases.get(owner(record).db)
            if target is not None:
                target.pending.append(record)

    def _write_all(self) -> None:
        with self._cond:
            self._drain()
            databases = list(self._databases.values())
            waited = self._flush_waiters > 0
        now = time.monotonic()
        for database in databases:
            if not database.pending:
                continue
            if database.failures and now < database.retry_at:
                soon = waited and now - database.last_attempt >= _RETRY_WHILE_WAITED_S
                if not soon:
                    self._enforce_cap(database)
                    continue
            with self._writing:
                self._write_database(database)

    def _write_database(self, database: _Database) -> None:
        records = database.pending
        done = [0]  # records resolved so far: committed, or left out as unstorable
        database.last_attempt = time.monotonic()
        try:
            if database.lost is not None:
                raise database.lost
            if database.store is None:
                database.store = open_store(database.target, write=True)
                self._check_runs_still_there(database, database.store)
            store = database.store
            if database.failing_cause == DISK:
                self._commit_in_small_steps(store, records, done)
            else:
                self._commit_isolating(store, records, 0, len(records), done)
        except Exception as exc:
            if not _storage_error(exc, database.store):
                raise
            if isinstance(exc, StoreLost):
                database.lost = exc
            self._resolved(database, done[0])
            self._failed(database, exc)
            return
        self._resolved(database, done[0])
        database.last_success = time.monotonic()
        if database.failures:
            warn_once(
                f"recovered:{database.target}:{database.failing_cause}:{time.time():.0f}",
                f"writing to {database.target} again after: {database.failing_cause}",
            )
            if database.failing_cause == DISK:
                store.compact()
            database.failures = 0
            database.failing_cause = None

    def _check_runs_still_there(self, database: _Database, store: Store) -> None:
        """After opening the database again: are this process's runs still in it? A server
        that came back empty (recreated, restored from an older backup, failed over to a
        fresh instance) would take every later point without anyone ever seeing it."""
        with self._cond:
            runs = {h.run_id for h in self._handles if h.db == database.target and not h.finished}
        missing = sorted(run_id for run_id in runs if store.stored_run(run_id) is None)
        if missing:
            raise StoreLost(
                database.target.shown,
                f"run {', '.join(missing)} is no longer in the database (it was recreated or "
                "restored while the run was logging); nothing more is written there: restart "
                "the run, or resume it (init(id=..., resume='allow')) into the new database",
            )

    def _resolved(self, database: _Database, count: int) -> None:
        if count:
            with self._cond:
                database.pending = database.pending[count:]

    def _commit_in_small_steps(self, store: Store, records: list[Record], done: list[int]) -> None:
        """After a disk-full episode: commit the backlog in small transactions, moving the WAL
        into the database file after each, so that the WAL (a second copy of what it holds)
        never needs more room than one small step."""
        for start in range(0, len(records), _RECOVERY_STEP):
            end = min(start + _RECOVERY_STEP, len(records))
            self._commit_isolating(store, records, start, end, done)
            store.compact()

    def _commit_isolating(
        self,
        store: Store,
        records: list[Record],
        start: int,
        end: int,
        done: list[int],
    ) -> None:
        """Commit ``records[start:end]`` in one transaction; if SQLite refuses it because of
        what a record holds, halve the range until the unstorable records stand alone, leave
        them out (counted, reported once) and commit the rest. Storage errors propagate."""
        try:
            commits = write_batch(store, records[start:end])
            store.check_committed()
        except Exception as exc:
            if not store.is_record_error(exc):
                raise
            if end - start == 1:
                leave_out(records[start], exc)
                done[0] = end
                return
            middle = (start + end) // 2
            self._commit_isolating(store, records, start, middle, done)
            self._commit_isolating(store, records, middle, end, done)
            return
        for apply in commits:
            apply()
        done[0] = end

    def hopeless(self, handle: RunHandle) -> bool:
        """Whether nothing more of ``handle`` can be written by this process."""
        database = self._databases.get(handle.db)
        return database is not None and database.lost is not None

    def _failed(self, database: _Database, exc: BaseException) -> None:
        cause = database.store.classify(exc) if database.store else classify_common(exc)
        database.failures += 1
        database.failing_cause = cause
        if cause == BUSY:
            # The busy timeout already waited its turn: try again at once, and only say so
            # once (another process kept the write lock longer than the busy timeout).
            database.retry_at = time.monotonic()
            warn_once(
                f"write:{database.target}:{cause}",
                f"{database.target} stayed locked by other processes; still retrying "
                "(nothing is lost meanwhile)",
            )
            self._enforce_cap(database)
            return
        backoff = min(0.5 * 2 ** (database.failures - 1), _MAX_BACKOFF_S)
        database.retry_at = time.monotonic() + backoff
        warn_once(
            f"write:{database.target}:{cause}",
            f"cannot write to {database.target} ({exc}); training continues, up to "
            f"{MAX_PENDING_POINTS:,} points are kept in memory and retried",
        )
        if cause == DISK and database.store is not None:
            database.store.after_disk_full()
        elif database.store is not None:
            # A broken connection (file replaced, permissions changed, server gone) is opened
            # again at the next attempt.
            database.store.abandon()
            database.store = None
        self._enforce_cap(database)

    def _enforce_cap(self, database: _Database) -> None:
        """Drop the oldest records once the buffer is over its caps (metric points are counted
        and reported at finish; media and console text are reported once)."""
        with self._cond:
            kept = without_oldest_heavy(database.pending, MAX_PENDING_HEAVY_BYTES)
            if kept is not None:
                database.pending = kept
                warn_once(
                    f"dropping-media:{database.target}",
                    f"{database.target} is still not writable; dropping the oldest media and "
                    f"console output beyond {MAX_PENDING_HEAVY_BYTES // 2**20} MiB",
                )
            kept = without_oldest_points(database.pending, MAX_PENDING_POINTS)
            if kept is not None:
                database.pending = kept
                warn_once(
                    f"dropping:{database.target}",
                    f"{database.target} is still not writable; dropping the oldest points beyond "
                    f"{MAX_PENDING_POINTS:,} (counted and reported at finish)",
                )

    def _health_tick(self) -> None:
        """Let the detectors check what needs the clock (stalled steps), and put the events
        they raised into their database's pending records: written with the next batch, and
        waited for by ``flush()`` like any other record."""
        if not self._health_handles:
            return
        now = time.time()
        raised = False
        with self._cond:
            handles = list(self._health_handles)
        for handle in handles:
            monitor = handle.health
            if monitor is None:
                continue
            database = self._databases.get(handle.db)
            if not handle.finished and database is not None and not database.failures:
                monitor.tick(now)  # not while the database fails: steps are seen late then
            events = monitor.take_events()
            if events and monitor.webhook is not None:
                _tell(monitor.webhook, handle, monitor.run_label, events)
            with self._cond:
                if events and database is not None:
                    database.pending.extend(("event", handle, payload) for payload in events)
                    raised = True
                if handle.finished and not events:
                    self._health_handles = [h for h in self._health_handles if h is not handle]
        if raised:
            self.wake.set()

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_INTERVAL_S:
            return
        self._last_heartbeat = now
        wall = time.time()
        with self._cond:
            live = [h for h in self._handles if not h.finished]
            self._handles = live
        by_db: dict[Target, list[str]] = {}
        for handle in live:
            if wall - handle.last_write >= HEARTBEAT_INTERVAL_S:
                by_db.setdefault(handle.db, []).append(handle.run_id)
        for target, run_ids in by_db.items():
            database = self._databases.get(target)
            store = database.store if database is not None else None
            if database is None or store is None or database.failures:
                continue
            try:
                with self._writing:
                    if database.store is not store:  # released or reopened meanwhile
                        continue
                    with transaction(store) as version:
                        store.heartbeat(run_ids, wall, version)
            except Exception as exc:
                if not _storage_error(exc, store):
                    raise
                self._failed(database, exc)


# Connections that must never be closed by garbage collection (after a fork, or broken ones
# whose close could touch files another process now uses).
_orphans: list[Store] = []


def _tell(webhook: Webhook, handle: RunHandle, label: tuple[str, str], events: list[Any]) -> None:
    """Send the run's new health events to its webhook (queued: never waits, never raises)."""
    name, project = label
    for t, step, kind, key, level, title, detail in events:
        webhook.send(
            event_json(
                run_id=handle.run_id, run_name=handle.name or name, project=project, kind=kind,
                level=level, t=t, step=step, key=key, title=title, detail=detail,
            )
        )  # fmt: skip


def _storage_error(exc: BaseException, store: Store | None) -> bool:
    """Whether ``exc`` is the database's trouble (kept and retried), not a bug."""
    if isinstance(exc, (OSError, DatabaseError)):
        return True
    return store is not None and isinstance(exc, store.errors())
