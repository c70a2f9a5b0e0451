"""The TUI's reading side, run on one thread: one long-lived read-only store, deltas only.

:meth:`DatabaseReader.poll` is cheap when nothing changed (the store's change token: SQLite's
``PRAGMA data_version``, PostgreSQL's version counter); when something did, it reads what is
newer than its cursor (``Store.read_changes``), the first
history of series the UI asked to follow (bucketed in SQL), and re-derives the status of live
runs (a killed process changes nothing in the file). It never leaves a transaction open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from tracker.db import Store, Target, open_store, parse_target
from tracker.db.base import Listener
from tracker.db.target import scrub
from tracker.errors import DatabaseError, NoDatabaseYet
from tracker.media.decoded import MediaItem, parse_meta
from tracker.models import LIVE, Bucket, Point, RunRecord
from tracker.status import derive_status

from .commit_clock import CommitClock
from .media_decode import Decoded, decode_for_display
from .messages import (
    ConsoleRead,
    DbStatus,
    ExtrasRead,
    FileReopened,
    HistoryLoaded,
    MediaRead,
    PointsRead,
    ReaderMessage,
    RunExtras,
    RunsRead,
    StatusRead,
)
from .metrics import main_metrics
from .timings import DEFAULT, Timings

HISTORY_BUCKETS = 640  # a plot draws 2 columns per cell: 320 cells wide is plenty
CONSOLE_FIRST_CHUNKS = 2000  # a first look at a long console log starts near its end
TREND_BUCKETS = 24
RECENT_POINTS = 20
EXTRAS_PER_POLL = 40  # runs per poll, so a big first load never holds the reader up long
# Histories loaded per poll, in the order asked for: a run view of 300 metrics waited for all
# 256 it follows (a second) before its top plots, asked for first, were drawn.
SERIES_PER_POLL = 24


__all__ = ["DatabaseReader", "DbStatus", "RunExtras", "Update"]


@dataclass(slots=True)
class Update:
    """What one poll found (the reader thread's own; the app posts :meth:`messages`)."""

    status: DbStatus | None = None
    reset: bool = False  # forget everything held: the file was (re)opened
    runs: list[RunRecord] = field(default_factory=list)
    points: dict[int, list[Point]] = field(default_factory=dict)
    loaded: dict[int, tuple[int, list[Bucket]]] = field(default_factory=dict)
    extras: dict[str, RunExtras] = field(default_factory=dict)
    media: dict[str, list[MediaItem]] = field(default_factory=dict)
    media_data: dict[int, Decoded] = field(default_factory=dict)
    console: dict[str, list[tuple[int, int, float, str]]] = field(default_factory=dict)

    def messages(self) -> list[ReaderMessage]:
        """What this poll found, one typed message per kind, in the order the model needs
        them (a reopened file forgets first; runs before their series)."""
        out: list[ReaderMessage] = []
        if self.reset:
            out.append(FileReopened())
        if self.status is not None:
            out.append(StatusRead(self.status))
        if self.runs:
            out.append(RunsRead(self.runs))
        if self.loaded:
            out.append(HistoryLoaded(self.loaded))
        if self.points:
            out.append(PointsRead(self.points))
        if self.extras:
            out.append(ExtrasRead(self.extras))
        if self.media or self.media_data:
            out.append(MediaRead(self.media, self.media_data))
        if self.console:
            out.append(ConsoleRead(self.console))
        return out

    def __bool__(self) -> bool:
        return bool(
            self.status
            or self.reset
            or self.runs
            or self.points
            or self.loaded
            or self.extras
            or self.media
            or self.media_data
            or self.console
        )


class DatabaseReader:
    """Owned by one thread; :meth:`follow` may be called from any thread."""

    def __init__(
        self, db: Path | Target, buckets: int = HISTORY_BUCKETS, timings: Timings = DEFAULT
    ) -> None:
        self.target = parse_target(db)
        self.path = self.target.path if self.target.path is not None else Path(self.target.shown)
        self.wake: threading.Event | None = None  # set by the feed: a server's NOTIFY sets it
        self.store: Store | None = None
        self._listener: Listener | None = None
        self.buckets = buckets
        self.timings = timings
        self.status: DbStatus | None = None
        self.version = 0
        self.data_version: object = None
        self.following: dict[int, int] = {}  # series id -> last seq held
        self._requested: dict[int, None] = {}  # series to load, in the order asked for
        self._lock = threading.Lock()
        self._live: dict[str, RunRecord] = {}
        self.commits = CommitClock()  # when this host's writers commit next
        self._records: dict[str, RunRecord] = {}  # the latest record of each run, as sent
        self._known: set[str] = set()
        self._extras_wanted: dict[str, RunRecord] = {}
        self._extras_next: dict[str, float] = {}
        self._last_extras = time.monotonic()
        self._extras_after = 0.0
        self._last_status_check = 0.0
        self.has_media = False  # schema 2 and later
        self._media_runs: dict[str, int] = {}  # run id -> last media row id held
        self._console_runs: dict[str, int] = {}  # run id -> last console row id held
        self._media_wanted: dict[int, str] = {}  # media id -> kind
        self._media_fresh = False
        self.reads = 0  # full delta reads, for tests and benchmarks
        self.changed = False  # the last poll found the file changed

    def follow(self, series_ids: Iterable[int]) -> None:
        with self._lock:
            self._requested.update((s, None) for s in series_ids if s not in self.following)

    def loading(self) -> bool:
        """Histories asked for are still to be loaded (the next poll should come at once)."""
        with self._lock:
            return bool(self._requested)

    def unfollow(self, series_ids: Iterable[int]) -> None:
        with self._lock:
            for sid in series_ids:
                self.following.pop(sid, None)
                self._requested.pop(sid, None)

    def follow_media(self, run_id: str) -> None:
        """Read this run's media list (and then its new media) from now on."""
        with self._lock:
            if run_id not in self._media_runs:
                self._media_runs[run_id] = 0
                self._media_fresh = True

    def follow_console(self, run_id: str) -> None:
        with self._lock:
            if run_id not in self._console_runs:
                self._console_runs[run_id] = -1  # -1: the first read takes only the tail
                self._media_fresh = True

    def unfollow_media(self, run_id: str) -> None:
        """Stop reading this run's media and console (its pane closed)."""
        with self._lock:
            self._media_runs.pop(run_id, None)
            self._console_runs.pop(run_id, None)

    def want_media_data(self, items: Iterable[MediaItem]) -> None:
        """Read and decode the data of these media (on this thread) at the next poll."""
        with self._lock:
            self._media_wanted.update((item.id, item.kind) for item in items)
            self._media_fresh = True

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def _set_status(self, status: DbStatus, update: Update) -> None:
        if status != self.status:
            self.status = status
            update.status = status

    def change_token(self) -> object | None:
        """The store's "anything committed?" counter when it is cheap to ask every few
        milliseconds (a local file's), else None (a server, a folder of files, no store)."""
        store = self.store
        if store is None or not store.cheap_change_token:
            return None
        try:
            return store.change_token()
        except Exception:  # the next poll reads the failure and reports it
            return None

    def poll(self, force: bool = False) -> Update:
        update = Update()
        self.changed = False
        if self.store is not None and self.store.replaced():
            self.close()  # deleted or replaced under us: start over
        if self.store is None:
            self._open(update)
            if self.store is None:
                return update
            force = True
        try:
            self._read(update, force)
        except Exception as exc:  # the screen says why and this thread keeps watching
            self.close()
            self._set_status(DbStatus("error", self._failure(exc)), update)
        return update

    def _failure(self, exc: Exception) -> str:
        return " ".join(self._describe(exc).split())  # a driver's message spans lines

    def _describe(self, exc: Exception) -> str:
        """One line naming the file and why it cannot be read: damage and permissions by
        their codes, anything else by its type (the reader thread must never die of it)."""
        if isinstance(exc, DatabaseError):
            return scrub(str(exc), self.target)
        if self.target.path is not None:
            from tracker.db.sqlite.read_errors import read_error

            error = read_error(self.target.path, exc)
            if error is not None:
                return str(error)
        text = scrub(f"{type(exc).__name__}: {exc}", self.target)
        return f"{self.target.shown}: cannot be read ({text})"

    def _open(self, update: Update) -> None:
        try:
            store = open_store(self.target)
        except Exception as exc:
            state = "error"
            if isinstance(exc, NoDatabaseYet):
                state = "empty" if exc.empty else "missing"
            self._set_status(DbStatus(state, self._failure(exc)), update)
            return
        self.has_media = store.has_media
        self.store = store
        if self.wake is not None:
            self._listener = store.listen(self.wake)
        with self._lock:
            self._media_runs = dict.fromkeys(self._media_runs, 0)
            self._console_runs = dict.fromkeys(self._console_runs, -1)
        self.version = 0
        self.data_version = None
        with self._lock:
            self._requested.update(dict.fromkeys(self.following))
            self.following.clear()
        self._live.clear()
        self.commits.clear()
        self._records.clear()
        self._known.clear()
        self._extras_wanted.clear()
        self._extras_next.clear()
        self._extras_after = time.monotonic() + self.timings.extras_start_s
        update.reset = True

    def _read(self, update: Update, force: bool) -> None:
        store = self.store
        assert store is not None
        changed = store.change_token()
        self.changed = changed != self.data_version
        with self._lock:
            requested = list(islice(self._requested, SERIES_PER_POLL))
            for sid in requested:
                del self._requested[sid]
        if force or changed != self.data_version:
            self.data_version = changed
            self.reads += 1
            changes = store.read_changes(self.version, dict(self.following), previous=self._records)
            self.version = changes.version
            update.runs.extend(changes.runs)
            self._records.update((run.id, run) for run in changes.runs)
            self.commits.saw(changes.runs)
            for sid, points in changes.points.items():
                if points:
                    self.following[sid] = points[-1].seq
                    update.points[sid] = points
            for run in changes.runs:
                if run.stored_status == LIVE:
                    self._live[run.id] = run
                else:
                    self._live.pop(run.id, None)
        with self._lock:
            media_fresh, self._media_fresh = self._media_fresh, False
        if self.has_media and (media_fresh or force or changed != self._media_version):
            self._media_version = changed
            self._read_media(update)
        for sid in requested:
            count, buckets = store.read_series(sid, self.buckets)
            self.following[sid] = count
            update.loaded[sid] = (count, buckets)
        self._known.update(run.id for run in update.runs)
        for run in update.runs:
            self._extras_wanted[run.id] = run
        # Trends are extras: what the screen waits for (runs, followed series) goes out first.
        now = time.monotonic()
        waited = now - self._last_extras >= self.timings.extras_max_wait_s
        if now >= self._extras_after and not update.loaded and (not update.runs or waited):
            self._last_extras = now
            self._compute_extras(update)
        self._recheck_live(update)
        self._set_status(
            DbStatus("ok") if self._known else DbStatus("empty", "no runs yet"), update
        )

    _media_version: object = None

    def _read_media(self, update: Update) -> None:
        """New media rows and console chunks of the runs on screen, and the data asked for."""
        store = self.store
        assert store is not None
        with self._lock:
            media_runs = dict(self._media_runs)
            console_runs = dict(self._console_runs)
            wanted, self._media_wanted = self._media_wanted, {}
        for run_id, after in media_runs.items():
            rows = store.read_media_index(run_id, after)
            if rows:
                items = [
                    MediaItem(r[0], run_id, r[1], r[2], r[3], r[4], parse_meta(r[5])) for r in rows
                ]
                update.media[run_id] = items
                with self._lock:
                    if run_id in self._media_runs:
                        self._media_runs[run_id] = items[-1].id
        for run_id, after in console_runs.items():
            if after < 0:
                chunks = store.read_console(run_id, 0, last=CONSOLE_FIRST_CHUNKS)
            else:
                chunks = store.read_console(run_id, after)
            if chunks or after < 0:
                update.console[run_id] = chunks
                with self._lock:
                    if run_id in self._console_runs:
                        self._console_runs[run_id] = chunks[-1][0] if chunks else 0
        if wanted:
            for media_id, data in store.read_media_data(sorted(wanted)).items():
                update.media_data[media_id] = decode_for_display(wanted[media_id], data)

    def _compute_extras(self, update: Update) -> None:
        store = self.store
        assert store is not None
        now = time.monotonic()
        done = 0
        for run_id, run in list(self._extras_wanted.items()):
            if done >= EXTRAS_PER_POLL:
                break
            if self._extras_next.get(run_id, 0.0) > now:
                continue
            del self._extras_wanted[run_id]
            self._extras_next[run_id] = now + self.timings.extras_every_s
            keys = main_metrics(run, 3)
            recent = {}
            for key in keys:
                summary = run.metrics[key]
                recent[key] = store.recent_mean(summary.series_id, summary.count, RECENT_POINTS)
            trend: tuple[float | None, ...] = ()
            if keys:
                first = run.metrics[keys[0]]
                if first.count:
                    trend = tuple(
                        b.mean for b in store.history_buckets(first.series_id, TREND_BUCKETS)
                    )
            update.extras[run_id] = RunExtras(keys[0] if keys else None, trend, recent)
            done += 1

    def extras_owed(self) -> bool:
        """Runs whose trends are still to be worked out (now or once they are due)."""
        return bool(self._extras_wanted)

    def pending_extras(self) -> bool:
        """Trends that could be worked out now (a live run waits ``extras_every_s`` between
        two: one read every 20 ms for its sake would be most of the reader's CPU)."""
        now = time.monotonic()
        if not self._extras_wanted or now < self._extras_after:
            return False
        upcoming = self._extras_next
        return any(upcoming.get(run_id, 0.0) <= now for run_id in self._extras_wanted)

    def _recheck_live(self, update: Update) -> None:
        """Runs whose process died without a word: their status changes with no write."""
        now = time.monotonic()
        if now - self._last_status_check < self.timings.status_every_s:
            return
        self._last_status_check = now
        wall = time.time()
        for run_id, run in list(self._live.items()):
            status = derive_status(
                run.stored_status, run.host, run.pid, run.pid_start, run.updated_at, wall
            )
            if status != run.status:
                # A new record: the UI holds the old one and reads it while this thread runs.
                fresh = self._records[run_id] = replace(run, status=status)
                update.runs.append(fresh)
                self._live.pop(run_id)
