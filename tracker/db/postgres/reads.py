"""The PostgreSQL store's reads: the primitive queries :class:`~tracker.db.base.SharedReads`
assembles into records, and points unpacked from their chunks in logging order.

A multi-query read is one ``REPEATABLE READ READ ONLY`` transaction (one snapshot); single
queries run in autocommit. Points come back as ``Point`` tuples with the same ``seq``,
``step``, ``value`` and ``t`` (seconds) as from SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ...errors import DatabaseUnavailable
from ...models import Bucket, Point, RunEvent
from ..base import SharedReads
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
_NO_END = (1 << 62) - 1


class PostgresReads(SharedReads):
    conn: Any
    target: Target
    _depth: int = 0

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
        row = self.conn.execute("SELECT version FROM state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def change_token(self) -> object:
        """The version counter: one indexed row, the cheap "anything new?" question."""
        return self.current_version()

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
        series = self._rows(f"SELECT {SERIES_COLUMNS} FROM series WHERE version > %s", (version,))
        runs = {row[0] for row in self._rows("SELECT id FROM runs WHERE version > %s", (version,))}
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
