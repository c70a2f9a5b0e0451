"""The ``Store`` interface every backend implements, and what is written once above them.

A store is one connection to one database (a SQLite file or a PostgreSQL database), owned by
one thread at a time. The writer thread, ``init()``, the TUI's reader and the command line
use only the methods below; each backend keeps its SQL in its own modules
(``tracker.db.sqlite``, ``tracker.db.postgres``).

Writes happen inside :func:`transaction` (or ``begin()``/``commit()``): ``begin()`` returns
the version number the transaction's rows carry, and versions increase in commit order, so a
reader asks for "what changed since version N" and never misses a commit.

:class:`SharedReads` assembles records from a backend's primitive queries: which runs and
series changed, their rows, events, followed points. Both backends answer the same questions
the same way; only the SQL differs.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..models import Bucket, Changes, Point, RunEvent, RunRecord
from .rows import COPIED_RUN_COLUMNS, RUN_COLUMNS, attach_metrics, run_from_row
from .target import Target

if TYPE_CHECKING:  # numpy is imported by the readers that build columns, not by every writer
    import numpy as np
    import numpy.typing as npt

PointChunk = tuple[int, int, Sequence[int], Sequence[float], Sequence[int]]
"""Consecutive points of one series: ``(series id, first seq, steps, values, t ms)``."""
SeriesUpdate = tuple[int, float | None, int, int, float | None, float | None, int, int, int]
MediaRow = tuple[str, str, int, float, str, str, bytes]  # run, key, step, t, kind, meta, data
ConsoleRow = tuple[str, int, float, str]  # run, stream, t, text
EventRow = tuple[str, float, int | None, str, str | None, str | None, str, str]
"""``(run_id, t, step, kind, key, level, title, detail_json)``"""
SeriesState = tuple[int, int, float | None, float | None, int]  # id, count, min, max, nonfinite

CHUNK = 500  # ids per IN (...) list
SEQ_BITS = 32  # a point's key: its series in the high bits, its sequence number in the low 32
SEQ_MASK = (1 << SEQ_BITS) - 1


@dataclass(frozen=True, slots=True)
class SeriesColumns:
    """A series' points as numpy columns, in logging order: what :meth:`Store.history` holds,
    without a Python object per point. ``value`` has NaN and ±inf where they were logged."""

    seq: npt.NDArray[np.int64]
    step: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    t: npt.NDArray[np.float64]  # seconds since the run started

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def empty(cls) -> SeriesColumns:
        import numpy as np

        ints = np.empty(0, np.int64)
        return cls(ints, ints.copy(), np.empty(0, np.float64), np.empty(0, np.float64))

    @classmethod
    def of_points(cls, points: Sequence[Point]) -> SeriesColumns:
        """The columns of points read as tuples (a backend's slow path, and tests')."""
        import numpy as np

        n = len(points)
        return cls(
            np.fromiter((p[0] for p in points), np.int64, n),
            np.fromiter((p[1] for p in points), np.int64, n),
            np.fromiter((p[2] for p in points), np.float64, n),
            np.fromiter((p[3] for p in points), np.float64, n),
        )


def point_id(series: int, seq: int) -> int:
    """The key of a point in every backend: ``series << 32 | seq`` (``seq`` counts from 1),
    so a series' history is one contiguous range of the points table's primary key."""
    return (series << SEQ_BITS) | seq


class Listener(Protocol):
    """Something that sets an event when the database changes (a server's NOTIFY)."""

    def stop(self) -> None: ...


class Store(Protocol):
    """One open database. Methods raise the backend's own errors; :meth:`classify` and
    :meth:`is_record_error` say what they mean (never by message text)."""

    target: Target
    kind: str
    has_media: bool
    # Whether change_token() is cheap enough to ask every few milliseconds (a local file's
    # counter in shared memory, not a query to a server or a rescan of a folder).
    cheap_change_token: bool

    # --- lifecycle and errors ------------------------------------------------------------------
    def close(self) -> None: ...
    def abandon(self) -> None: ...
    def classify(self, exc: BaseException) -> str: ...
    def is_record_error(self, exc: BaseException) -> bool: ...
    def is_busy(self, exc: BaseException) -> bool: ...
    def errors(self) -> tuple[type[BaseException], ...]: ...
    def check_committed(self) -> None: ...
    def after_disk_full(self) -> None: ...
    def compact(self) -> None: ...
    def replaced(self) -> bool: ...
    def set_wait(self, milliseconds: int) -> None: ...

    # --- writing ------------------------------------------------------------------------------
    def begin(self) -> int: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def insert_run(self, row: Mapping[str, Any], version: int) -> None: ...
    def ensure_series(
        self, run_id: str, keys: Iterable[str], version: int
    ) -> dict[str, SeriesState]: ...
    def insert_points(self, chunks: Sequence[PointChunk]) -> None: ...
    def update_series(self, rows: Iterable[SeriesUpdate]) -> None: ...
    def update_run_progress(
        self, run_id: str, step: int | None, now: float, version: int
    ) -> None: ...
    def update_run_json(self, run_id: str, column: str, text: str, version: int) -> None: ...
    def rename_run(self, run_id: str, name: str, version: int) -> None: ...
    def heartbeat(self, run_ids: Sequence[str], now: float, version: int) -> None: ...
    def finish_run(
        self,
        run_id: str,
        status: str,
        now: float,
        exit_code: int | None,
        error: str | None,
        dropped: int,
        version: int,
    ) -> None: ...
    def insert_media(self, rows: Iterable[MediaRow]) -> None: ...
    def insert_console(self, rows: Iterable[ConsoleRow]) -> None: ...
    def insert_events(self, rows: Iterable[EventRow], version: int) -> None: ...
    def copy_run(self, row: Mapping[str, Any], version: int) -> None: ...
    def stored_run(self, run_id: str) -> dict[str, Any] | None: ...
    def newest_resumable(
        self, project: str, host: str, name: str | None
    ) -> list[dict[str, Any]]: ...
    def resume_run(self, row: Mapping[str, Any], version: int) -> None: ...
    def run_tags(self, run_ids: Sequence[str]) -> dict[str, list[str]]: ...
    def set_tags(self, tags: dict[str, list[str]], version: int) -> None: ...

    # --- reading ------------------------------------------------------------------------------
    def change_token(self) -> object: ...
    def current_version(self) -> int: ...
    def read_runs(
        self, project: str | None = None, now: float | None = None
    ) -> list[RunRecord]: ...
    def read_run(self, run_id: str, now: float | None = None) -> RunRecord | None: ...
    def series_id(self, run_id: str, key: str) -> int | None: ...
    def history(self, series: int, after_seq: int = 0, limit: int | None = None) -> list[Point]: ...
    def history_columns(self, series: int, after_seq: int = 0) -> SeriesColumns:
        """The points :meth:`history` returns (after ``after_seq``), as numpy columns."""
        ...

    def history_columns_many(self, series: Sequence[int]) -> dict[int, SeriesColumns]:
        """:meth:`history_columns` of several series read in one snapshot, so that points
        logged in one ``log()`` call come back together or not at all."""
        ...

    def history_buckets(self, series: int, buckets: int) -> list[Bucket]: ...
    def read_series(self, series: int, buckets: int) -> tuple[int, list[Bucket]]: ...
    def read_changes(
        self,
        since_version: int,
        follow: Mapping[int, int] | None = None,
        now: float | None = None,
        previous: Mapping[str, RunRecord] | None = None,
    ) -> Changes: ...
    def recent_mean(self, series: int, count: int, last: int) -> float | None: ...
    def read_events(self, run_ids: Sequence[str] | None = None) -> list[RunEvent]: ...
    def run_row(self, run_id: str) -> dict[str, Any] | None: ...
    def row_counts(self, run_id: str) -> dict[str, int]: ...
    def read_media_index(
        self, run_id: str, after_id: int = 0
    ) -> list[tuple[int, str, int, float, str, str]]: ...
    def read_media_data(self, media_ids: Sequence[int]) -> dict[int, bytes]: ...
    def media_counts(self) -> dict[str, dict[str, tuple[str, int, int]]]: ...
    def read_console(
        self, run_id: str, after_id: int = 0, last: int | None = None
    ) -> list[tuple[int, int, float, str]]: ...
    def listen(self, wake: threading.Event) -> Listener | None: ...


@contextmanager
def transaction(store: Store) -> Iterator[int]:
    """``with transaction(store) as version:``: one write transaction, rolled back on error."""
    version = store.begin()
    try:
        yield version
        store.commit()
    except BaseException:
        store.rollback()
        raise


class SharedLifecycle(ABC):
    """What resuming asks, written once: the newest runs still stored as running."""

    @abstractmethod
    def stored_run(self, run_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def _resumable_ids(self, project: str, host: str, name: str | None) -> list[str]:
        """Ids of ``project``'s runs on ``host`` stored as running (of ``name``), newest first."""

    def newest_resumable(self, project: str, host: str, name: str | None) -> list[dict[str, Any]]:
        """Runs of ``project`` recorded on ``host`` that are still stored as running (crashed
        ones among them), newest first: what ``resume="auto"`` without an id may continue."""
        rows = (self.stored_run(run_id) for run_id in self._resumable_ids(project, host, name))
        return [row for row in rows if row is not None]


class SharedReads(ABC):
    """Reads written once for every backend, on top of its primitive queries."""

    has_media: bool = True
    has_lifecycle: bool = True

    # --- primitives each backend implements -------------------------------------------------
    @abstractmethod
    def _snapshot(self) -> AbstractContextManager[None]:
        """One read transaction: everything read inside sees the same commits."""

    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """Turn the backend's errors inside into ``DatabaseError`` naming the database."""

    @abstractmethod
    def current_version(self) -> int: ...

    @abstractmethod
    def _run_rows(
        self, run_ids: Sequence[str] | None = None, project: str | None = None
    ) -> list[Sequence[Any]]:
        """Rows of :data:`~tracker.db.rows.RUN_COLUMNS`: these runs, or all (of ``project``),
        newest first."""

    @abstractmethod
    def _series_rows(
        self, run_ids: Sequence[str] | None = None, project: str | None = None
    ) -> list[Sequence[Any]]:
        """Rows of :data:`~tracker.db.rows.SERIES_COLUMNS` of these runs (or all)."""

    @abstractmethod
    def _changed_since(self, version: int) -> tuple[list[Sequence[Any]], set[str]]:
        """Series rows written after ``version``, and the ids of runs written after it."""

    @abstractmethod
    def _series_count(self, series: int) -> int: ...

    @abstractmethod
    def read_events(self, run_ids: Sequence[str] | None = None) -> list[RunEvent]: ...

    @abstractmethod
    def media_counts(self) -> dict[str, dict[str, tuple[str, int, int]]]: ...

    @abstractmethod
    def history(self, series: int, after_seq: int = 0, limit: int | None = None) -> list[Point]: ...

    @abstractmethod
    def history_columns(self, series: int, after_seq: int = 0) -> SeriesColumns: ...

    @abstractmethod
    def history_buckets(self, series: int, buckets: int) -> list[Bucket]: ...

    # --- written once ---------------------------------------------------------------------
    def history_columns_many(self, series: Sequence[int]) -> dict[int, SeriesColumns]:
        """Each series' points as columns, all from one read transaction: a live run's keys
        logged together are read up to the same commit (read one by one, a key read later
        was 500-1,500 steps ahead of those read before it)."""
        with self._errors(), self._snapshot():
            return {sid: self.history_columns(sid) for sid in dict.fromkeys(series)}

    def _attach_events(self, runs: dict[str, RunRecord]) -> None:
        if runs and self.has_lifecycle:
            for event in self.read_events(None if len(runs) > CHUNK else list(runs)):
                run = runs.get(event.run_id)
                if run is not None:
                    run.events.append(event)

    def read_runs(self, project: str | None = None, now: float | None = None) -> list[RunRecord]:
        """Every run (newest first) with its metric summaries; reads no points."""
        with self._errors(), self._snapshot():
            runs = {row[0]: run_from_row(row, now) for row in self._run_rows(project=project)}
            attach_metrics(runs, self._series_rows(project=project))
            self._attach_events(runs)
            if self.has_media:
                for run_id, keys in self.media_counts().items():
                    run = runs.get(run_id)
                    if run is not None:
                        run.media.update(
                            (key, {"kind": kind, "count": count, "step": step})
                            for key, (kind, count, step) in keys.items()
                        )
        return list(runs.values())

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        """The stored columns of one run (:data:`~tracker.db.rows.COPIED_RUN_COLUMNS`)."""
        with self._errors():
            rows = self._run_rows([run_id])
        if not rows:
            return None
        values = dict(zip(RUN_COLUMNS.split(", "), rows[0], strict=False))
        values.setdefault("metric_defs", "[]")  # a file older than schema 3
        return {name: values[name] for name in COPIED_RUN_COLUMNS}

    def read_run(self, run_id: str, now: float | None = None) -> RunRecord | None:
        with self._errors(), self._snapshot():
            rows = self._run_rows([run_id])
            if not rows:
                return None
            run = run_from_row(rows[0], now)
            self._attach_events({run.id: run})
            attach_metrics({run.id: run}, self._series_rows([run_id]))
        return run

    def read_series(self, series: int, buckets: int) -> tuple[int, list[Bucket]]:
        """A series' point count and its history in at most ``buckets`` buckets, from one
        snapshot (so that following it from ``seq = count`` on neither skips nor repeats)."""
        with self._errors(), self._snapshot():
            count = self._series_count(series)
            return count, self.history_buckets(series, buckets) if count else []

    def read_changes(
        self,
        since_version: int,
        follow: Mapping[int, int] | None = None,
        now: float | None = None,
        previous: Mapping[str, RunRecord] | None = None,
    ) -> Changes:
        """Runs changed after ``since_version`` (with summaries), and the new points of
        followed series.

        ``follow`` maps series id -> the last seq the caller holds. ``previous``: the records
        the caller holds, read at ``since_version``; a run among them gets its unchanged
        summaries from there and only its changed series are read (a live run's thirty system
        series are not parsed again for every step). One short read transaction, so the
        returned version matches exactly what was read; it is the next ``since_version``.
        """
        held = previous or {}
        with self._errors(), self._snapshot():
            version = self.current_version()
            changed_series, run_ids = self._changed_since(since_version)
            run_ids.update(row[0] for row in changed_series)
            runs: dict[str, RunRecord] = {}
            ordered = sorted(run_ids)
            for start in range(0, len(ordered), CHUNK):
                chunk = ordered[start : start + CHUNK]
                for row in self._run_rows(chunk):
                    runs[row[0]] = run_from_row(row, now)
                for run_id in chunk:
                    if run_id in held and run_id in runs:
                        runs[run_id].metrics.update(held[run_id].metrics)
                fresh = [run_id for run_id in chunk if run_id not in held]
                if fresh:
                    attach_metrics(runs, self._series_rows(fresh))
            attach_metrics(
                {run_id: run for run_id, run in runs.items() if run_id in held}, changed_series
            )
            self._attach_events(runs)
            points: dict[int, list[Point]] = {}
            if follow:
                newest = {int(row[1]): int(row[3]) for row in changed_series}
                for sid, after in follow.items():
                    count = newest.get(sid)
                    if count is not None and count > after:
                        points[sid] = self.history(sid, after)
        return Changes(version=version, runs=list(runs.values()), points=points)
