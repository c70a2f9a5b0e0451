"""The PostgreSQL store's writes: run rows, series, point chunks (``COPY``), media, console,
events, tags.

Writers do not wait for each other: every row a transaction changes carries its transaction
id (``pg_current_xact_id()``) as its version, and a reader asks "what changed since my last
snapshot" (rows whose id that snapshot did not see; see ``reads.py``), which never misses a
commit that was still in flight. The ``version`` arguments of the Store interface are unused
here. The one-row ``state`` counter is bumped as a transaction's last statement, for the cheap
"anything new?" question, and each transaction sends a ``NOTIFY`` that wakes viewers.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..base import ConsoleRow, EventRow, MediaRow, PointChunk, SeriesState, SeriesUpdate
from ..rows import COPIED_RUN_COLUMNS
from .schema import NOTIFY_CHANNEL

JSON_COLUMNS = ("config", "summary", "tags", "metric_defs")
# Staged chunks move in without the points the series already holds: a batch sent again after
# a lost acknowledgement (its commit went through) may come back longer, with new points after
# the old ones, so the already stored head of a chunk is cut off rather than the chunk dropped.
_MOVE_IN = (
    "INSERT INTO points (series_id, first_seq, last_seq, steps, vals, ts)"
    " SELECT i.series_id, i.first_seq + s.skip, i.last_seq, i.steps[s.skip + 1:],"
    " i.vals[s.skip + 1:], i.ts[s.skip + 1:] FROM incoming_points i CROSS JOIN LATERAL"
    " (SELECT greatest(0, coalesce((SELECT p.last_seq FROM points p"
    " WHERE p.series_id = i.series_id ORDER BY p.first_seq DESC LIMIT 1), 0)"
    " - i.first_seq + 1) AS skip) s"
    " WHERE i.first_seq + s.skip <= i.last_seq"
    " ON CONFLICT (series_id, first_seq) DO NOTHING"
)
APPEND_UP_TO = 64  # points a row grows to by appending (~1.5 KB: stays on its page)
STAGING = "CREATE TEMP TABLE IF NOT EXISTS incoming_points (LIKE points INCLUDING DEFAULTS)"


_INT8, _FLOAT8 = 20, 701  # element type oids
_TEXT_OF_RUN = ("id", "project", "name", "host", "error")


def _text(value: Any) -> Any:
    """PostgreSQL's text cannot hold NUL (SQLite's can): it becomes U+FFFD, so the record is
    kept rather than refused. JSON columns escape it already (``\\u0000``)."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


def _run_texts(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _text(v) if k in _TEXT_OF_RUN else v for k, v in row.items()}


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


def _array(oid: int, code: str, values: Sequence[float] | Sequence[int]) -> bytes:
    """A one-dimensional array in COPY's binary format, packed in C: a header, then each
    element as its length and its big-endian bytes (``nan`` and ``inf`` included)."""
    n = len(values)
    sized = itertools.chain.from_iterable(zip(itertools.repeat(8, n), values, strict=True))
    body = struct.pack(f">iiiii{('i' + code) * n}", 1, 0, oid, n, 1, *sized)
    return struct.pack(">i", len(body)) + body


def _chunk_row(sid: int, seq: int, steps: Sequence[int], values: Sequence[float],
               times: Sequence[int]) -> bytes:  # fmt: skip
    return b"".join(
        (
            struct.pack(">hiiiqiq", 6, 4, sid, 8, seq, 8, seq + len(values) - 1),
            _array(_INT8, "q", steps),
            _array(_FLOAT8, "d", values),
            _array(_INT8, "q", times),
        )
    )


class PostgresWrites:
    conn: Any  # psycopg.Connection, autocommit: transactions are opened explicitly
    _tails: dict[int, tuple[int, int]]  # series -> (first, last seq) of a short row written
    _unproven = True  # no commit of this connection has come back yet

    def begin(self) -> int:
        """Open a write transaction (its rows carry its transaction id: 0 is returned)."""
        self.conn.execute(f"BEGIN; NOTIFY {NOTIFY_CHANNEL}")
        return 0

    def commit(self) -> None:
        """Bump the change counter and commit: its row is locked only for the commit."""
        self.conn.execute("UPDATE state SET version = version + 1 WHERE id = 1; COMMIT")
        self._unproven = False

    def rollback(self) -> None:
        import psycopg

        try:
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.execute("ROLLBACK")
        except psycopg.Error:
            pass  # a broken connection: the server rolled back already

    def insert_run(self, row: Mapping[str, Any], version: int) -> None:
        self.conn.execute(
            "INSERT INTO runs (id, project, name, status, created_at, updated_at, host, pid,"
            " pid_start, tags, config, summary, version) VALUES"
            " (%(id)s, %(project)s, %(name)s, 'running', %(created_at)s, %(created_at)s,"
            " %(host)s, %(pid)s, %(pid_start)s, %(tags)s, %(config)s, %(summary)s,"
            " pg_current_xact_id())",
            _run_texts(row),
        )

    def ensure_series(
        self, run_id: str, keys: Iterable[str], version: int
    ) -> dict[str, SeriesState]:
        """Create missing series rows; return ``key -> (id, count, min, max, nonfinite)``."""
        wanted = list(keys)
        if not wanted:
            return {}
        cur = self.conn.cursor()
        cur.execute(
            "INSERT INTO series (run_id, key, version)"
            " SELECT %s, k, pg_current_xact_id() FROM unnest(%s::text[]) k"
            " ON CONFLICT (run_id, key) DO NOTHING",
            (run_id, wanted),
        )
        cur.execute(
            "SELECT key, id, count, min, max, nonfinite FROM series"
            " WHERE run_id = %s AND key = ANY(%s)",
            (run_id, wanted),
        )
        return {
            row[0]: (int(row[1]), int(row[2]), row[3], row[4], int(row[5]))
            for row in cur.fetchall()
        }

    def insert_points(self, chunks: Sequence[PointChunk]) -> None:
        """One row per chunk, through a binary ``COPY`` (packed by ``struct``: no Python
        per value) into the session's staging table (made when the connection opened:
        :data:`STAGING`), then moved in without the points already stored (:data:`_MOVE_IN`):
        a batch sent again after a lost acknowledgement is never doubled, even when it comes
        back longer.

        A slow loop commits a point or two per series per batch, and a row per point would
        cost ~230 bytes: a small chunk is instead appended to the series' last row while that
        row holds fewer than :data:`APPEND_UP_TO` points (an update in place, on the same
        page, of a row this connection wrote), guarded by its ``last_seq`` so that a batch
        sent twice is never appended twice."""
        cur = self.conn.cursor()
        chunks = self._appended(cur, chunks)
        if not chunks:
            return
        for sid, seq, _steps, values, _times in chunks:
            if len(values) < APPEND_UP_TO:
                self._tails[sid] = (seq, seq + len(values) - 1)
        data = b"".join([_COPY_HEADER, *(_chunk_row(*chunk) for chunk in chunks), _COPY_TRAILER])
        # Only a connection's first batch can repeat a committed one (the writer opens a new
        # connection after any failure that may have hidden a commit): it goes through the
        # staging table; later batches are copied straight in.
        table = "incoming_points" if self._unproven else "points"
        with cur.copy(
            f"COPY {table} (series_id, first_seq, last_seq, steps, vals, ts)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(data)
        if self._unproven:
            cur.execute(_MOVE_IN)
        cur.execute("TRUNCATE incoming_points")

    def _appended(self, cur: Any, chunks: Sequence[PointChunk]) -> list[PointChunk]:
        """Append the small chunks that continue a short last row; return the others."""
        tails = self._tails
        picked = [
            index
            for index, (sid, seq, _steps, values, _times) in enumerate(chunks)
            if (tail := tails.get(sid)) is not None
            and tail[1] == seq - 1
            and tail[1] - tail[0] + 1 + len(values) <= APPEND_UP_TO
        ]
        if not picked:
            return list(chunks)
        cur.executemany(
            "UPDATE points SET last_seq = %s, steps = steps || %s::int8[],"
            " vals = vals || %s::float8[], ts = ts || %s::int8[]"
            " WHERE series_id = %s AND first_seq = %s AND last_seq = %s RETURNING series_id",
            [
                (seq + len(values) - 1, list(steps), list(values), list(times), sid,
                 tails[sid][0], seq - 1)
                for sid, seq, steps, values, times in (chunks[i] for i in picked)
            ],
            returning=True,
        )  # fmt: skip
        done: set[int] = set()
        while True:
            done.update(row[0] for row in cur.fetchall())
            if not cur.nextset():
                break
        appended = set()
        for index in picked:
            sid, seq, _steps, values, _times = chunks[index]
            if sid in done:
                tails[sid] = (tails[sid][0], seq + len(values) - 1)
                appended.add(index)
        return [chunk for index, chunk in enumerate(chunks) if index not in appended]

    def update_series(self, rows: Iterable[SeriesUpdate]) -> None:
        """Rows of ``(count, last, last_step, last_t, min, max, nonfinite, version, id)``."""
        rows = list(rows)
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        del columns[7]  # the version: the transaction's id instead
        self.conn.execute(
            "UPDATE series s SET count = u.count, last = u.last, last_step = u.last_step,"
            " last_t = u.last_t, min = u.min, max = u.max, nonfinite = u.nonfinite,"
            " version = pg_current_xact_id() FROM unnest(%s::bigint[], %s::float8[],"
            " %s::bigint[], %s::bigint[], %s::float8[], %s::float8[], %s::bigint[],"
            " %s::integer[]) AS u(count, last, last_step, last_t, min, max, nonfinite, id)"
            " WHERE s.id = u.id",
            [list(column) for column in columns],
        )

    def update_run_progress(self, run_id: str, step: int | None, now: float, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET step = coalesce(%s, step), updated_at = %s,"
            " version = pg_current_xact_id() WHERE id = %s",
            (step, now, run_id),
        )

    def update_run_json(self, run_id: str, column: str, text: str, version: int) -> None:
        if column not in JSON_COLUMNS:
            raise ValueError(f"not a JSON column of runs: {column}")
        self.conn.execute(
            f"UPDATE runs SET {column} = %s, version = pg_current_xact_id() WHERE id = %s",
            (text, run_id),
        )

    def rename_run(self, run_id: str, name: str, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET name = %s, version = pg_current_xact_id() WHERE id = %s",
            (_text(name), run_id),
        )

    def heartbeat(self, run_ids: Sequence[str], now: float, version: int) -> None:
        """A live run's sign of life: runs on other hosts are crashed when it goes stale."""
        self.conn.execute(
            "UPDATE runs SET updated_at = %s, version = pg_current_xact_id() WHERE id = ANY(%s)",
            (now, list(run_ids)),
        )

    def finish_run(
        self,
        run_id: str,
        status: str,
        now: float,
        exit_code: int | None,
        error: str | None,
        dropped: int,
        version: int,
    ) -> None:
        self.conn.execute(
            "UPDATE runs SET status = %s, finished_at = %s, updated_at = %s, exit_code = %s,"
            " error = %s, dropped = %s, version = pg_current_xact_id() WHERE id = %s",
            (status, now, now, exit_code, _text(error), dropped, run_id),
        )

    def insert_media(self, rows: Iterable[MediaRow]) -> None:
        """Rows of ``(run_id, key, step, t, kind, meta_json, data)``."""
        self.conn.cursor().executemany(
            "INSERT INTO media (run_id, key, step, t, kind, meta, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(*map(_text, row[:6]), row[6]) for row in rows],
        )

    def insert_console(self, rows: Iterable[ConsoleRow]) -> None:
        """Rows of ``(run_id, stream, t, text)`` in the order they were written."""
        self.conn.cursor().executemany(
            "INSERT INTO console (run_id, stream, t, text) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            [(row[0], row[1], row[2], _text(row[3])) for row in rows],
        )

    def insert_events(self, rows: Iterable[EventRow], version: int) -> None:
        """Store events; their runs' rows carry ``version`` too, so a reader sees them."""
        rows = list(rows)
        if not rows:
            return
        cur = self.conn.cursor()
        cur.executemany(
            "INSERT INTO events (run_id, t, step, kind, key, level, title, detail, version)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, pg_current_xact_id())"
            " ON CONFLICT DO NOTHING",
            [tuple(map(_text, row)) for row in rows],
        )
        cur.execute(
            "UPDATE runs SET version = pg_current_xact_id() WHERE id = ANY(%s)",
            (sorted({r[0] for r in rows}),),
        )

    def copy_run(self, row: Mapping[str, Any], version: int) -> None:
        """Insert a run copied from another database, or bring its stored copy up to date."""
        names = ", ".join(COPIED_RUN_COLUMNS)
        marks = ", ".join(f"%({name})s" for name in COPIED_RUN_COLUMNS)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in COPIED_RUN_COLUMNS[1:])
        self.conn.execute(
            f"INSERT INTO runs ({names}, version) VALUES ({marks}, pg_current_xact_id())"
            f" ON CONFLICT (id) DO UPDATE SET {updates}, version = EXCLUDED.version",
            _run_texts(row),
        )

    def set_tags(self, tags: dict[str, list[str]], version: int) -> None:
        if not tags:
            return
        self.conn.cursor().executemany(
            "UPDATE runs SET tags = %s, version = pg_current_xact_id() WHERE id = %s",
            [(json.dumps(values, ensure_ascii=False), run_id) for run_id, values in tags.items()],
        )
