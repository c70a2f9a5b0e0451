"""Several SQLite files shown as one read-only store: ``tracktui a.db b.db sweeps/``.

A sweep that wrote one file per job is shown as one table. :class:`MultiStore` opens every
file named, and every ``*.db``, ``*.sqlite`` and ``*.sqlite3`` file directly in each folder
named, with :meth:`SqliteStore.for_reading`, and answers the read side of the
:class:`~tracker.db.base.Store` interface by routing each question to the file that holds
the answer, or by merging every file's answer. It holds no SQL of its own.

- Ids: series ids and media, console and event row ids count from 1 in every file, so every id
  handed out is global, ``(local id << 16) | file index``, and every id received is decoded
  back (the file index of a path is fixed for the store's life). Run ids are random and
  assumed unique across files; when two files hold the same run, the first one seen keeps it
  and the clash is remembered in :attr:`MultiStore.clashes`.
- Versions: each file has its own; :meth:`read_changes` returns a counter of its own and keeps
  each file's version at that counter, so a caller that passes the counter back continues
  from there (0 starts over). A file whose change token did not move is not read at all.
- Files that come and go: a file that is not a tracktui database (another program's SQLite
  file, a damaged one, a newer schema) is skipped and its reason kept in :attr:`skipped`; a
  file that is empty or not there yet waits (:attr:`waiting`) and is opened, under its index,
  once it changes. The folders are listed again at most once a second; when the set of files
  changed (a sweep started another job), :meth:`replaced` says so and the reader reopens.
- Writes are refused: several files are shown read-only.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from ..errors import DatabaseError, DatabaseUnavailable, NoDatabaseYet
from ..models import Bucket, Changes, MetricSummary, Point, RunEvent, RunRecord
from .base import Listener, SeriesColumns
from .sqlite import errors as sqlite_errors
from .sqlite.store import SqliteStore
from .target import Target

SUFFIXES = (".db", ".sqlite", ".sqlite3")
INDEX_BITS = 16
INDEX_MASK = (1 << INDEX_BITS) - 1
RESCAN_S = 1.0  # the folders are listed at most this often
READ_ONLY = "several files are shown read-only"
_Stat = tuple[tuple[int, int, int] | None, ...]
Refusal = Callable[..., NoReturn]


def global_id(local: int, index: int) -> int:
    """The id a :class:`MultiStore` hands out for row ``local`` of file ``index``."""
    return (local << INDEX_BITS) | index


def split_id(gid: int) -> tuple[int, int]:
    """``(local id, file index)`` of a global id."""
    return gid >> INDEX_BITS, gid & INDEX_MASK


def expand(paths: Iterable[Path]) -> tuple[list[Path], dict[Path, str]]:
    """The files named and those directly in the folders named (sorted by name, each once),
    and the folders that cannot be listed, with why."""
    found: dict[str, Path] = {}
    unlisted: dict[Path, str] = {}
    for path in paths:
        try:
            with os.scandir(path) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(SUFFIXES) and e.is_file())
        except (NotADirectoryError, FileNotFoundError):
            found.setdefault(os.path.abspath(path), path)  # a file, perhaps not written yet
        except OSError as exc:
            unlisted[path] = f"cannot list the folder: {exc.strerror or exc}"
        else:
            for name in names:
                found.setdefault(os.path.abspath(path / name), path / name)
    return list(found.values()), unlisted


def _stat(path: Path) -> _Stat:
    """What changes when a file (or its WAL, where a fresh file's schema is) is written."""
    out: list[tuple[int, int, int] | None] = []
    for name in (str(path), f"{path}-wal"):
        try:
            st = os.stat(name)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def _summary(m: MetricSummary, index: int) -> MetricSummary:
    return MetricSummary(
        global_id(m.series_id, index), m.key, m.count, m.last, m.min, m.max, m.last_step,
        m.nonfinite,
    )  # fmt: skip


def _event(event: RunEvent, index: int) -> RunEvent:
    return replace(event, id=global_id(event.id, index))


def _run(run: RunRecord, index: int) -> RunRecord:
    """``run`` of file ``index`` with global ids."""
    return replace(
        run,
        metrics={key: _summary(m, index) for key, m in run.metrics.items()},
        events=[_event(e, index) for e in run.events],
    )


class _Refused:
    """A method of the write side: on a :class:`MultiStore` it raises ``DatabaseUnavailable``
    (several files are shown read-only)."""

    def __get__(self, store: MultiStore, owner: type[MultiStore] | None = None) -> Refusal:
        return store._refuse


class MultiStore:
    """The read side of the Store interface over several SQLite files (see the module)."""

    kind = "files"
    cheap_change_token = False  # each answer rescans the folder

    def __init__(self, target: Target) -> None:
        self.target = target
        self.skipped: dict[Path, str] = {}  # not a tracktui database: never retried
        self.waiting: dict[Path, str] = {}  # empty, missing, unreadable: retried on change
        self.clashes: set[tuple[str, Path]] = set()  # (run id, the file it was left out of)
        self._stat: dict[Path, _Stat] = {}
        self._stores: dict[int, SqliteStore] = {}
        self._paths, unlisted = expand(target.paths)
        self.waiting.update(unlisted)
        self._listed = (tuple(self._paths), tuple(unlisted))
        if len(self._paths) > INDEX_MASK + 1:
            raise DatabaseUnavailable(target.shown, f"more than {INDEX_MASK + 1} files")
        self._owner: dict[str, int] = {}  # run id -> its file's index
        self._local: dict[int, dict[str, RunRecord]] = {}  # per file: records as it read them
        self._versions: dict[int, int] = {}
        self._tokens: dict[int, object] = {}
        self._counter = 0
        self._scanned_at = time.monotonic()
        self._replaced = False
        for index, path in enumerate(self._paths):
            self._try_open(index, path)
        self._error_types: tuple[type[BaseException], ...] = (DatabaseError, OSError)
        for store in self._stores.values():
            self._error_types = store.errors()
            break
        self.has_media = any(s.has_media for s in self._stores.values())
        self.has_lifecycle = any(s.has_lifecycle for s in self._stores.values())

    @classmethod
    def open(cls, target: Target) -> MultiStore:
        """Open every file of ``target``; raise when not one of them can be opened."""
        store = cls(target)
        if not store._stores:
            reasons = [f"{p}: {why}" for p, why in {**store.skipped, **store.waiting}.items()]
            folders = ", ".join(str(p) for p in target.paths)
            more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            detail = "; ".join(reasons[:3]) + more
            found = detail or f"no {', '.join('*' + s for s in SUFFIXES)} file in {folders}"
            raise NoDatabaseYet(target.shown, f"no database here yet ({found})")
        return store

    # --- the files ------------------------------------------------------------------------
    def _try_open(self, index: int, path: Path) -> None:
        self._stat[path] = _stat(path)
        try:
            self._stores[index] = SqliteStore.for_reading(path)
        except DatabaseUnavailable as exc:  # empty, not written yet, unreadable: wait
            self.waiting[path] = exc.reason
            return
        except DatabaseError as exc:  # another program's file, damaged, newer: skip
            self.skipped[path] = exc.reason
            return
        self.waiting.pop(path, None)

    def _drop(self, index: int, exc: DatabaseError) -> None:
        """A file that failed a read is left out from now on (the others are still shown);
        the error is raised when it was the last file."""
        store = self._stores.pop(index)
        store.close()
        self._tokens.pop(index, None)  # read it again once it opens again
        path = self._paths[index]
        if isinstance(exc, DatabaseUnavailable):
            self.waiting[path] = exc.reason
            self._stat[path] = _stat(path)
        else:
            self.skipped[path] = exc.reason
        if not self._stores:
            raise exc

    def _rescan(self) -> None:
        """At most once a second: has the set of files changed (then :meth:`replaced`), and
        can a waiting file be opened now?"""
        now = time.monotonic()
        if self._replaced or now - self._scanned_at < RESCAN_S:
            return
        self._scanned_at = now
        paths, unlisted = expand(self.target.paths)
        if (tuple(paths), tuple(unlisted)) != self._listed or any(
            s.replaced() for s in self._stores.values()
        ):
            self._replaced = True
            return
        for index, path in enumerate(self._paths):
            if path in self.waiting and _stat(path) != self._stat.get(path):
                self._try_open(index, path)
                store = self._stores.get(index)
                if store is not None and store.has_media and not self.has_media:
                    self._replaced = True  # the reader reads media only where it saw some
                if store is not None:
                    self.has_lifecycle |= store.has_lifecycle

    def _locate(self, run_id: str) -> tuple[int, SqliteStore] | None:
        """The file that holds ``run_id`` (the first, when two do)."""
        index = self._owner.get(run_id)
        if index is None:
            for i, store in self._stores.items():
                if store.run_row(run_id) is not None:
                    index = self._owner[run_id] = i
                    break
        owner = self._stores.get(index) if index is not None else None
        return None if owner is None or index is None else (index, owner)

    def _series(self, gid: int) -> tuple[int, SqliteStore | None]:
        local, index = split_id(gid)
        return local, self._stores.get(index)

    def _owns(self, run_id: str, index: int) -> bool:
        """Whether file ``index`` is where ``run_id`` is shown from (the first file seen)."""
        if self._owner.setdefault(run_id, index) == index:
            return True
        self.clashes.add((run_id, self._paths[index]))
        return False

    # --- lifecycle and errors -------------------------------------------------------------
    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    def abandon(self) -> None:
        for store in self._stores.values():
            store.abandon()
        self._stores.clear()

    def classify(self, exc: BaseException) -> str:
        return sqlite_errors.classify(exc)

    def is_record_error(self, exc: BaseException) -> bool:
        return sqlite_errors.is_record_error(exc)

    def is_busy(self, exc: BaseException) -> bool:
        return sqlite_errors.is_busy(exc)

    def errors(self) -> tuple[type[BaseException], ...]:
        return self._error_types

    def replaced(self) -> bool:
        """Whether the set of files changed, or one was deleted or replaced: reopen."""
        self._rescan()
        return self._replaced

    def set_wait(self, milliseconds: int) -> None:
        for store in self._stores.values():
            store.set_wait(milliseconds)

    def listen(self, wake: threading.Event) -> Listener | None:
        return None  # the reader polls the change token

    # --- reading --------------------------------------------------------------------------
    def change_token(self) -> object:
        self._rescan()
        return tuple((i, s.change_token()) for i, s in self._stores.items())

    def current_version(self) -> int:
        return self._counter

    def read_runs(self, project: str | None = None, now: float | None = None) -> list[RunRecord]:
        """Every file's runs, newest first."""
        out: list[RunRecord] = []
        for index, store in list(self._stores.items()):
            try:
                runs = store.read_runs(project, now)
            except DatabaseError as exc:
                self._drop(index, exc)
                continue
            out.extend(_run(run, index) for run in runs if self._owns(run.id, index))
        out.sort(key=lambda run: run.created_at, reverse=True)
        return out

    def read_changes(
        self,
        since_version: int,
        follow: Mapping[int, int] | None = None,
        now: float | None = None,
        previous: Mapping[str, RunRecord] | None = None,
    ) -> Changes:
        """What changed in each file since the counter ``since_version`` (0: everything).

        Only files whose change token moved are read. Each gets its own followed series
        and, as ``previous``, its own records of the runs the caller holds (kept here with
        local ids), so a live run's unchanged summaries are not read again."""
        if since_version == 0 or since_version != self._counter:
            self._versions.clear()
            self._tokens.clear()
            self._local.clear()
        routed: dict[int, dict[int, int]] = {}
        for gid, seq in (follow or {}).items():
            local, index = split_id(gid)
            routed.setdefault(index, {})[local] = seq
        held_ids = previous if previous is not None else {}
        runs: list[RunRecord] = []
        points: dict[int, list[Point]] = {}
        read: dict[int, tuple[object, int]] = {}  # file -> its token and version now
        for index, store in list(self._stores.items()):
            token = store.change_token()
            if index in self._tokens and self._tokens[index] == token:
                continue
            mine = self._local.setdefault(index, {})
            held = {rid: run for rid, run in mine.items() if rid in held_ids}
            try:
                changes = store.read_changes(
                    self._versions.get(index, 0), routed.get(index), now, held
                )
            except DatabaseError as exc:
                self._drop(index, exc)
                continue
            read[index] = (token, changes.version)
            for run in changes.runs:
                if self._owns(run.id, index):
                    mine[run.id] = run
                    runs.append(_run(run, index))
            for sid, new in changes.points.items():
                points[global_id(sid, index)] = new
        for index, (token, version) in read.items():  # kept only once every file was read
            self._tokens[index], self._versions[index] = token, version
        if read or since_version != self._counter:
            self._counter += 1
        return Changes(version=self._counter, runs=runs, points=points)

    def read_run(self, run_id: str, now: float | None = None) -> RunRecord | None:
        found = self._locate(run_id)
        run = found[1].read_run(run_id, now) if found else None
        return None if run is None or found is None else _run(run, found[0])

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        found = self._locate(run_id)
        return found[1].run_row(run_id) if found else None

    def series_id(self, run_id: str, key: str) -> int | None:
        found = self._locate(run_id)
        local = found[1].series_id(run_id, key) if found else None
        return None if local is None or found is None else global_id(local, found[0])

    def history(self, series: int, after_seq: int = 0, limit: int | None = None) -> list[Point]:
        local, store = self._series(series)
        return store.history(local, after_seq, limit) if store else []

    def history_columns(self, series: int, after_seq: int = 0) -> SeriesColumns:
        local, store = self._series(series)
        return store.history_columns(local, after_seq) if store else SeriesColumns.empty()

    def history_columns_many(self, series: Sequence[int]) -> dict[int, SeriesColumns]:
        """One snapshot per file (a run lives in one file, so a run's keys share one)."""
        by_file: dict[int, list[int]] = {}
        for gid in series:
            by_file.setdefault(split_id(gid)[1], []).append(gid)
        out = {gid: SeriesColumns.empty() for gid in series}
        for index, gids in by_file.items():
            store = self._stores.get(index)
            if store is not None:
                read = store.history_columns_many([split_id(gid)[0] for gid in gids])
                out.update((gid, read[split_id(gid)[0]]) for gid in gids)
        return out

    def history_buckets(self, series: int, buckets: int) -> list[Bucket]:
        local, store = self._series(series)
        return store.history_buckets(local, buckets) if store else []

    def read_series(self, series: int, buckets: int) -> tuple[int, list[Bucket]]:
        local, store = self._series(series)
        return store.read_series(local, buckets) if store else (0, [])

    def recent_mean(self, series: int, count: int, last: int) -> float | None:
        local, store = self._series(series)
        return store.recent_mean(local, count, last) if store else None

    def read_events(self, run_ids: Sequence[str] | None = None) -> list[RunEvent]:
        """Events of these runs (of every run when None), oldest first."""
        wanted: dict[int, list[str]] = {}
        if run_ids is not None:
            for run_id in run_ids:
                found = self._locate(run_id)
                if found:
                    wanted.setdefault(found[0], []).append(run_id)
        out: list[RunEvent] = []
        for index, store in self._stores.items():
            if run_ids is None or index in wanted:
                events = store.read_events(wanted.get(index))
                out.extend(_event(e, index) for e in events if self._owns(e.run_id, index))
        out.sort(key=lambda event: event.t)
        return out

    def read_media_index(
        self, run_id: str, after_id: int = 0
    ) -> list[tuple[int, str, int, float, str, str]]:
        found = self._locate(run_id)
        if not found or not found[1].has_media:
            return []
        index, store = found
        rows = store.read_media_index(run_id, split_id(after_id)[0])
        return [(global_id(r[0], index), *r[1:]) for r in rows]

    def read_media_data(self, media_ids: Sequence[int]) -> dict[int, bytes]:
        by_file: dict[int, list[int]] = {}
        for gid in media_ids:
            local, index = split_id(gid)
            by_file.setdefault(index, []).append(local)
        out: dict[int, bytes] = {}
        for index, ids in by_file.items():
            store = self._stores.get(index)
            if store is not None and store.has_media:
                out.update((global_id(k, index), v) for k, v in store.read_media_data(ids).items())
        return out

    def media_counts(self) -> dict[str, dict[str, tuple[str, int, int]]]:
        out: dict[str, dict[str, tuple[str, int, int]]] = {}
        for index, store in self._stores.items():
            if store.has_media:
                counts = store.media_counts().items()
                out.update((rid, keys) for rid, keys in counts if self._owns(rid, index))
        return out

    def read_console(
        self, run_id: str, after_id: int = 0, last: int | None = None
    ) -> list[tuple[int, int, float, str]]:
        found = self._locate(run_id)
        if not found or not found[1].has_media:
            return []
        index, store = found
        rows = store.read_console(run_id, split_id(after_id)[0], last)
        return [(global_id(r[0], index), *r[1:]) for r in rows]

    def row_counts(self, run_id: str) -> dict[str, int]:
        found = self._locate(run_id)
        return found[1].row_counts(run_id) if found else {"media": 0, "console": 0, "events": 0}

    # --- writing: refused -----------------------------------------------------------------
    def _refuse(self, *_: Any, **__: Any) -> NoReturn:
        raise DatabaseUnavailable(self.target.shown, READ_ONLY)

    def rollback(self) -> None:
        pass  # nothing was begun

    # Every write, and what resuming and annotating read before they write.
    begin = commit = check_committed = after_disk_full = compact = _Refused()
    insert_run = ensure_series = insert_points = update_series = update_run_progress = _Refused()
    update_run_json = rename_run = heartbeat = finish_run = insert_media = _Refused()
    insert_console = insert_events = copy_run = resume_run = set_tags = _Refused()
    stored_run = newest_resumable = run_tags = _Refused()
