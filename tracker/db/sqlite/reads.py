"""The SQLite store's reads: the primitive queries :class:`~tracker.db.base.SharedReads`
assembles into records, points in logging order, min/max buckets, events.

Readers use one autocommit connection and never leave a read transaction or an unfinished
cursor open: every query is fetched whole, and a multi-query read takes one short snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from ...models import Bucket, Point, RunEvent
from ..base import CHUNK, SEQ_MASK, SeriesColumns, SharedReads, point_id
from ..rows import (
    EVENT_COLUMNS,
    RUN_COLUMNS,
    RUN_COLUMNS_V2,
    SERIES_COLUMNS,
    bucket_from_row,
    event_from_row,
)
from .read_errors import read_error

SCAN_FOR_NAN = 1024  # points: up to this many are looked at for a NULL value, past it one query
_VALUE = itemgetter(2)
_FINITE = "CASE WHEN abs(value) <= 1.7976931348623157e308 THEN value END"

# numpy dtypes spelled as strings: numpy is imported only by the reads that build columns
_ROW = [("id", "i8"), ("step", "i8"), ("value", "f8"), ("t", "i8")]
_ROW_NO_ID = _ROW[1:]
_IN_RANGE = "FROM points WHERE id BETWEEN ?1 AND ?2"
# one subquery each: SQLite answers a lone min() or max() of the key from the b-tree's edge
_RANGE = (
    f"SELECT (SELECT min(id) {_IN_RANGE}), (SELECT max(id) {_IN_RANGE}),"
    f" (SELECT count(*) {_IN_RANGE})"
)


class SqliteReads(SharedReads):
    conn: sqlite3.Connection
    path: Path
    _depth: int = 0

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        if self._depth or self.conn.in_transaction:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN")
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            error = read_error(self.path, exc)
            if error is None:  # pragma: no cover - both kinds are always mapped
                raise
            raise error from None

    def _columns(self) -> str:
        """The run columns this file has (readers show older files as they are)."""
        return RUN_COLUMNS if self.has_lifecycle else RUN_COLUMNS_V2

    def current_version(self) -> int:
        row = self.conn.execute("SELECT version FROM state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def change_token(self) -> object:
        """Changes whenever another connection commits; 4 µs, the cheap "anything new?"."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def _of_runs(self, select: str, run_ids: Sequence[str], then: str = "") -> list[Sequence[Any]]:
        """``select ... IN (ids) then`` in chunks of :data:`CHUNK` ids (SQLite's variable
        limit)."""
        rows: list[Sequence[Any]] = []
        for start in range(0, len(run_ids), CHUNK):
            chunk = list(run_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            rows += self.conn.execute(f"{select} ({marks}){then}", chunk).fetchall()
        return rows

    def _run_rows(
        self, run_ids: Sequence[str] | None = None, project: str | None = None
    ) -> list[Sequence[Any]]:
        columns = self._columns()
        if run_ids is not None:
            return self._of_runs(f"SELECT {columns} FROM runs WHERE id IN", run_ids)
        if project is None:
            return self.conn.execute(
                f"SELECT {columns} FROM runs ORDER BY created_at DESC"
            ).fetchall()
        return self.conn.execute(
            f"SELECT {columns} FROM runs WHERE project = ? ORDER BY created_at DESC", (project,)
        ).fetchall()

    def _series_rows(
        self, run_ids: Sequence[str] | None = None, project: str | None = None
    ) -> list[Sequence[Any]]:
        if run_ids is not None:
            return self._of_runs(f"SELECT {SERIES_COLUMNS} FROM series WHERE run_id IN", run_ids)
        if project is None:
            return self.conn.execute(f"SELECT {SERIES_COLUMNS} FROM series").fetchall()
        return self.conn.execute(
            f"SELECT {SERIES_COLUMNS} FROM series WHERE run_id IN"
            " (SELECT id FROM runs WHERE project = ?)",
            (project,),
        ).fetchall()

    def _changed_since(self, version: int) -> tuple[list[Sequence[Any]], set[str]]:
        series = self.conn.execute(
            f"SELECT {SERIES_COLUMNS} FROM series WHERE version > ?", (version,)
        ).fetchall()
        runs = {
            row[0] for row in self.conn.execute("SELECT id FROM runs WHERE version > ?", (version,))
        }
        return series, runs

    def _series_count(self, series: int) -> int:
        row = self.conn.execute("SELECT count FROM series WHERE id = ?", (series,)).fetchone()
        return int(row[0]) if row else 0

    def series_id(self, run_id: str, key: str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM series WHERE run_id = ? AND key = ?", (run_id, key)
        ).fetchone()
        return None if row is None else int(row[0])

    def history(self, series: int, after_seq: int = 0, limit: int | None = None) -> list[Point]:
        """Points of one series in logging order, those after ``after_seq`` only.

        The arithmetic is done by SQLite and rows become ``Point`` tuples in C; only a series
        that holds a NaN takes a second pass (NULL in the file becomes ``nan``).
        """
        sql = (
            "SELECT id & ?, step, value, t / 1000.0 FROM points WHERE id BETWEEN ? AND ?"
            " ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        )
        params: tuple[int, ...] = (
            SEQ_MASK,
            point_id(series, after_seq + 1),
            point_id(series, SEQ_MASK),
        )
        points = list(
            map(
                Point._make,
                self.conn.execute(sql, (*params, limit) if limit is not None else params),
            )
        )
        if len(points) <= SCAN_FOR_NAN:
            # A NULL value is a logged NaN: a few new points are looked at directly (a live
            # viewer reads a handful per series each frame; a query each was a sixth of its SQL).
            has_nan = None in map(_VALUE, points)
        else:
            row = self.conn.execute("SELECT nonfinite FROM series WHERE id = ?", (series,))
            found = row.fetchone()
            has_nan = found is not None and bool(found[0])
        if has_nan:
            nan = float("nan")
            points = [p if p.value is not None else p._replace(value=nan) for p in points]
        return points

    def history_columns(self, series: int, after_seq: int = 0) -> SeriesColumns:
        """:meth:`history`'s points as numpy columns, without a Python object per point.

        The stored columns go straight from the cursor into one structured array (the table is
        STRICT, so each holds one type; a NULL value, a logged NaN, becomes NaN there), and
        numpy does what the SQL of :meth:`history` does (``id & mask``, ``t / 1000``). When the
        seqs are one unbroken range (always, as the writer numbers them) the ids are not read
        at all: a quarter less to convert.
        """
        import numpy as np

        first, last = point_id(series, after_seq + 1), point_id(series, SEQ_MASK)
        with self._errors(), self._snapshot():
            low, high, n = self.conn.execute(_RANGE, (first, last)).fetchone()
            if not n:
                return SeriesColumns.empty()
            unbroken = high - low + 1 == n
            rows = self.conn.execute(
                f"SELECT {'' if unbroken else 'id, '}step, value, t FROM points"
                " WHERE id BETWEEN ? AND ? ORDER BY id",
                (first, last),
            )
            table = np.fromiter(rows, _ROW_NO_ID if unbroken else _ROW, n)  # one allocation
        seq = (
            np.arange(low & SEQ_MASK, (high & SEQ_MASK) + 1, dtype=np.int64)
            if unbroken
            else table["id"] & SEQ_MASK
        )
        return SeriesColumns(
            seq,
            np.ascontiguousarray(table["step"]),
            np.ascontiguousarray(table["value"]),
            table["t"] / 1000.0,  # as SQLite's t / 1000.0: ms stored as integers, exact in f8
        )

    def history_buckets(self, series: int, buckets: int) -> list[Bucket]:
        """Min/max downsampling in SQL: consecutive points grouped into at most ``buckets``.

        NaN points (stored as NULL) are left out of min/max/mean by SQLite; with ±inf they are
        counted in ``nonfinite`` (and inf is left out of the mean).
        """
        if buckets <= 0:
            raise ValueError("buckets must be positive")
        total = self._series_count(series)
        if total == 0:
            return []
        rows = self.conn.execute(
            f"SELECT min(step), max(step), min({_FINITE}), max({_FINITE}), min(t), max(t),"
            f" count(*), count(*) - count({_FINITE}), avg({_FINITE})"
            " FROM points WHERE id BETWEEN ? AND ? GROUP BY (((id & ?) - 1) * ?) / ? ORDER BY 1",
            (point_id(series, 1), point_id(series, SEQ_MASK), SEQ_MASK, buckets, total),
        ).fetchall()
        return [bucket_from_row(r) for r in rows]

    def recent_mean(self, series: int, count: int, last: int) -> float | None:
        """Mean of the finite values among a series' ``last`` points: a smoothed value."""
        if count <= 0:
            return None
        row = self.conn.execute(
            f"SELECT avg({_FINITE}) FROM points WHERE id BETWEEN ? AND ?",
            (point_id(series, max(1, count - last + 1)), point_id(series, count)),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def read_events(self, run_ids: Sequence[str] | None = None) -> list[RunEvent]:
        """Events of these runs (every run's when None), oldest first."""
        if not self.has_lifecycle:
            return []
        if run_ids is None:
            rows = self.conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id").fetchall()
        else:
            rows = self._of_runs(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE run_id IN", list(run_ids), " ORDER BY id"
            )
        return [event_from_row(row) for row in rows]
