"""The PostgreSQL store's reads: the primitive queries :class:`~tracker.db.base.SharedReads`
assembles into records, and points unpacked from their chunks in logging order.

A multi-query read is one ``REPEATABLE READ READ ONLY`` transaction (one snapshot); single
queries run in autocommit. "What changed since version N" is asked of snapshots: version N
names the snapshot of an earlier read (kept here), and the changed rows are those whose
transaction id that snapshot did not see, including transactions that were still running
then and committed since (so no lock orders the writers). Points come back as ``Point``
tuples with the same ``seq``, ``step``, ``value`` and ``t`` (seconds) as from SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ...errors import DatabaseUnavailable
from ...models import Bucket, Changes, Point, RunEvent, RunRecord
from ..base import SeriesColumns, SharedReads
from ..rows import EVENT_COLUMNS, RUN_COLUMNS, SERIES_COLUMNS, bucket_from_row, event_from_row
from ..target import Target, scrub
from .errors import native_errors

_FINITE = "CASE WHEN abs(u.value) <= 1.7976931348623157e308 THEN u.value END"
# A series' points after ``after`` (and up to ``upto``), unpacked from the chunks that hold them.
_UNPACKED = (
    "FROM points p, LATERAL unnest(p.steps, p.vals, p.ts) WITH ORDINALITY AS u(step, value, t, i)"
    " WHERE p.series_id = %(series)s AND p.last_seq > %(after)s AND p.first_seq <= %(upto)s"
    " AND p.first_seq + u.i - 1 > %(after)s AND p.first_seq + u.i - 1 <= %(upto)s"
)
# A series' chunks (those holding points after ``after``) with each array in PostgreSQL's binary
# send format: decoded by numpy straight from the bytes, with no Python object per point.
_CHUNKS = (
    "SELECT first_seq, array_send(steps), array_send(vals), array_send(ts) FROM points"
    " WHERE series_id = %s AND last_seq > %s ORDER BY first_seq"
)
_NO_END = (1 << 62) - 1
_KEPT_SNAPSHOTS = 8  # cursors handed out and still accepted

if TYPE_CHECKING:
    import numpy.typing as npt


def _decode(blob: bytes, kind: str) -> npt.NDArray[Any] | None:
    """A one-dimensional ``bigint[]``/``float8[]`` from ``array_send`` (``kind`` ``i``/``f``):
    a header (ndim, has-nulls flag, element type, then length and lower bound), then each
    element as a 4-byte length and 8 big-endian bytes. None for an array holding a NULL (its
    elements are not evenly spaced) or of more dimensions: the caller reads it as rows."""
    import numpy as np

    ndim, has_null = int.from_bytes(blob[0:4], "big"), int.from_bytes(blob[4:8], "big")
    if ndim == 0:
        return np.empty(0, np.int64 if kind == "i" else np.float64)
    if ndim != 1 or has_null:
        return None
    n = int.from_bytes(blob[12:16], "big", signed=True)
    cells = np.frombuffer(
        blob, np.dtype([("size", ">i4"), ("value", f">{kind}8")]), count=n, offset=20
    )
    return cells["value"].astype(np.int64 if kind == "i" else np.float64)


class PostgresReads(SharedReads):
    conn: Any
    target: Target
    _depth: int = 0
    _issued: int = 0
    _snapshots: dict[int, str]

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._end_read()

    def _end_read(self) -> None:
        import psycopg

        try:
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.execute("COMMIT")
        except psycopg.Error:
            pass  # the connection broke: the next read reports it

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except native_errors() as exc:
            raise DatabaseUnavailable(
                self.target.shown, scrub(f"cannot read ({type(exc).__name__}: {exc})", self.target)
            ) from None

    def _rows(self, sql: str, params: Any = None) -> list[Sequence[Any]]:
        return list(self.conn.execute(sql, params).fetchall())

    def current_version(self) -> int:
        """A cursor for this read: its snapshot, kept under a number the caller hands back."""
        row = self.conn.execute("SELECT pg_current_snapshot()::text").fetchone()
        self._issued += 1
        self._snapshots[self._issued] = str(row[0])
        self._snapshots.pop(self._issued - _KEPT_SNAPSHOTS, None)
        return self._issued

    def read_changes(
        self,
        since_version: int,
        follow: Mapping[int, int] | None = None,
        now: float | None = None,
        previous: Mapping[str, RunRecord] | None = None,
    ) -> Changes:
        """As every store's; when nothing changed, the cursor handed back is the one given
        (its snapshot still waits for the transactions that were running then)."""
        changes = super().read_changes(since_version, follow, now, previous)
        if not changes.runs and not changes.points and since_version in self._snapshots:
            self._snapshots.pop(changes.version, None)
            self._issued -= 1
            return replace(changes, version=since_version)
        return changes

    def change_token(self) -> object:
        """The commit counter: one row, the cheap "anything new?" question."""
        row = self.conn.execute("SELECT version FROM state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def _run_rows(
        self, run_ids: Sequence[str] | None = None, project: str | None = None
    ) -> list[Sequence[Any]]:
        if run_ids is not None:
            return self._rows(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ANY(%s)", (list(run_ids),)
            )
        if project is None:
            return self._rows(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC")
        return self._rows(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE project = %s ORDER BY created_at DESC",
            (project,),
        )

    def _series_rows(
        self, run_ids: Sequence[str] | None = None, project: str | None = None
    ) -> list[Sequence[Any]]:
        if run_ids is not None:
            return self._rows(
                f"SELECT {SERIES_COLUMNS} FROM series WHERE run_id = ANY(%s)", (list(run_ids),)
            )
        if project is None:
            return self._rows(f"SELECT {SERIES_COLUMNS} FROM series")
        return self._rows(
            f"SELECT {SERIES_COLUMNS} FROM series WHERE run_id IN"
            " (SELECT id FROM runs WHERE project = %s)",
            (project,),
        )

    def _changed_since(self, version: int) -> tuple[list[Sequence[Any]], set[str]]:
        snapshot = self._snapshots.get(version)
        if snapshot is None:  # a first read (or a cursor this store never gave): everything
            series = self._rows(f"SELECT {SERIES_COLUMNS} FROM series")
            return series, {row[0] for row in self._rows("SELECT id FROM runs")}
        unseen = (
            " WHERE version >= pg_snapshot_xmin(%(s)s::pg_snapshot)"
            " AND NOT pg_visible_in_snapshot(version, %(s)s::pg_snapshot)"
        )
        series = self._rows(f"SELECT {SERIES_COLUMNS} FROM series" + unseen, {"s": snapshot})
        runs = {row[0] for row in self._rows("SELECT id FROM runs" + unseen, {"s": snapshot})}
        return series, runs

    def _series_count(self, series: int) -> int:
        row = self.conn.execute("SELECT count FROM series WHERE id = %s", (series,)).fetchone()
        return int(row[0]) if row else 0

    def series_id(self, run_id: str, key: str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM series WHERE run_id = %s AND key = %s", (run_id, key)
        ).fetchone()
        return None if row is None else int(row[0])

    def history(self, series: int, after_seq: int = 0, limit: int | None = None) -> list[Point]:
        """Points of one series in logging order, those after ``after_seq`` only."""
        upto = _NO_END if limit is None else after_seq + limit
        rows = self.conn.execute(
            "SELECT p.first_seq + u.i - 1, u.step, u.value, u.t::float8 / 1000 "
            + _UNPACKED
            + " ORDER BY 1",
            {"series": series, "after": after_seq, "upto": upto},
        ).fetchall()
        return list(map(Point._make, rows))

    def history_columns(self, series: int, after_seq: int = 0) -> SeriesColumns:
        """:meth:`history`'s points as numpy columns, decoded from the chunks' arrays in
        binary: 19 ms per 100,000 points, against 127 ms unnesting them into rows (148 ms as
        ``Point`` tuples). An array holding a NULL (no writer stores one) is read as rows."""
        import numpy as np

        with self._errors():
            chunks = self.conn.execute(_CHUNKS, (series, after_seq), binary=True).fetchall()
        parts: list[tuple[Any, ...]] = []
        for first, steps, vals, ts in chunks:
            step, value, t = _decode(steps, "i"), _decode(vals, "f"), _decode(ts, "i")
            if step is None or value is None or t is None or not len(step) == len(value) == len(t):
                # never written so: read what history() reads, as it reads it
                return SeriesColumns.of_points(self.history(series, after_seq))
            parts.append((np.arange(first, first + len(step), dtype=np.int64), step, value, t))
        if not parts:
            return SeriesColumns.empty()
        seq, steps_, values, ms = (np.concatenate(column) for column in zip(*parts, strict=True))
        if seq[0] <= after_seq:  # the first chunk began before after_seq
            keep = seq > after_seq
            seq, steps_, values, ms = seq[keep], steps_[keep], values[keep], ms[keep]
        return SeriesColumns(seq, steps_, values, ms / 1000.0)

    def history_buckets(self, series: int, buckets: int) -> list[Bucket]:
        """Min/max downsampling in SQL: consecutive points in at most ``buckets`` buckets."""
        if buckets <= 0:
            raise ValueError("buckets must be positive")
        total = self._series_count(series)
        if total == 0:
            return []
        rows = self.conn.execute(
            f"SELECT min(u.step), max(u.step), min({_FINITE}), max({_FINITE}), min(u.t),"
            f" max(u.t), count(*), count(*) - count({_FINITE}), avg({_FINITE}) "
            + _UNPACKED
            + " GROUP BY ((p.first_seq + u.i - 2) * %(buckets)s) / %(total)s ORDER BY 1",
            {"series": series, "after": 0, "upto": _NO_END, "buckets": buckets, "total": total},
        ).fetchall()
        return [bucket_from_row(r) for r in rows]

    def recent_mean(self, series: int, count: int, last: int) -> float | None:
        """Mean of the finite values among a series' ``last`` points: a smoothed value."""
        if count <= 0:
            return None
        row = self.conn.execute(
            f"SELECT avg({_FINITE}) " + _UNPACKED,
            {"series": series, "after": max(0, count - last), "upto": count},
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def read_events(self, run_ids: Sequence[str] | None = None) -> list[RunEvent]:
        """Events of these runs (every run's when None), oldest first."""
        if run_ids is None:
            rows = self._rows(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id")
        else:
            rows = self._rows(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE run_id = ANY(%s) ORDER BY id",
                (list(run_ids),),
            )
        return [event_from_row(row) for row in rows]
