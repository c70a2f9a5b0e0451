"""The PostgreSQL store's writes: run rows, series, point chunks (``COPY``), media, console,
events, tags.

Every write transaction starts by taking the next version from the one-row ``state`` table;
that row stays locked until the transaction ends, so versions are handed out in commit order
and a reader asking "what changed since N" never misses a commit that was still in flight.
Each transaction also sends a ``NOTIFY``, delivered when it commits, that wakes viewers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..base import ConsoleRow, EventRow, MediaRow, PointChunk, SeriesState, SeriesUpdate
from ..rows import COPIED_RUN_COLUMNS
from .schema import NOTIFY_CHANNEL

JSON_COLUMNS = ("config", "summary", "tags", "metric_defs")
STAGING = "CREATE TEMP TABLE IF NOT EXISTS incoming_points (LIKE points INCLUDING DEFAULTS)"


class PostgresWrites:
    conn: Any  # psycopg.Connection, autocommit: transactions are opened explicitly

    def begin(self) -> int:
        """Open a write transaction and return the version number its changes will carry."""
        cur = self.conn.cursor()
        cur.execute("BEGIN")
        cur.execute("UPDATE state SET version = version + 1 WHERE id = 1 RETURNING version")
        version = int(cur.fetchone()[0])
        cur.execute(f"NOTIFY {NOTIFY_CHANNEL}")
        return version

    def commit(self) -> None:
        self.conn.execute("COMMIT")

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
            " %(host)s, %(pid)s, %(pid_start)s, %(tags)s, %(config)s, %(summary)s, %(version)s)",
            {**row, "version": version},
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
            "INSERT INTO series (run_id, key, version) SELECT %s, k, %s FROM unnest(%s::text[]) k"
            " ON CONFLICT (run_id, key) DO NOTHING",
            (run_id, version, wanted),
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
        """One row per chunk, through ``COPY`` into the session's staging table (made when the
        connection opened: :data:`STAGING`), then moved in; a chunk
        re-sent after a lost acknowledgement is not doubled (its key exists)."""
        cur = self.conn.cursor()
        with cur.copy(
            "COPY incoming_points (series_id, first_seq, last_seq, steps, vals, ts) FROM STDIN"
        ) as copy:
            for sid, seq, steps, values, times in chunks:
                copy.write_row(
                    (sid, seq, seq + len(values) - 1, list(steps), list(values), list(times))
                )
        cur.execute(
            "INSERT INTO points SELECT * FROM incoming_points"
            " ON CONFLICT (series_id, first_seq) DO NOTHING"
        )
        cur.execute("TRUNCATE incoming_points")

    def update_series(self, rows: Iterable[SeriesUpdate]) -> None:
        """Rows of ``(count, last, last_step, last_t, min, max, nonfinite, version, id)``."""
        rows = list(rows)
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        self.conn.execute(
            "UPDATE series s SET count = u.count, last = u.last, last_step = u.last_step,"
            " last_t = u.last_t, min = u.min, max = u.max, nonfinite = u.nonfinite,"
            " version = u.version FROM unnest(%s::bigint[], %s::float8[], %s::bigint[],"
            " %s::bigint[], %s::float8[], %s::float8[], %s::bigint[], %s::bigint[],"
            " %s::integer[]) AS u(count, last, last_step, last_t, min, max, nonfinite, version,"
            " id) WHERE s.id = u.id",
            [list(column) for column in columns],
        )

    def update_run_progress(self, run_id: str, step: int | None, now: float, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET step = coalesce(%s, step), updated_at = %s, version = %s"
            " WHERE id = %s",
            (step, now, version, run_id),
        )

    def update_run_json(self, run_id: str, column: str, text: str, version: int) -> None:
        if column not in JSON_COLUMNS:
            raise ValueError(f"not a JSON column of runs: {column}")
        self.conn.execute(
            f"UPDATE runs SET {column} = %s, version = %s WHERE id = %s", (text, version, run_id)
        )

    def rename_run(self, run_id: str, name: str, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET name = %s, version = %s WHERE id = %s", (name, version, run_id)
        )

    def heartbeat(self, run_ids: Sequence[str], now: float, version: int) -> None:
        """A live run's sign of life: runs on other hosts are crashed when it goes stale."""
        self.conn.execute(
            "UPDATE runs SET updated_at = %s, version = %s WHERE id = ANY(%s)",
            (now, version, list(run_ids)),
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
            " error = %s, dropped = %s, version = %s WHERE id = %s",
            (status, now, now, exit_code, error, dropped, version, run_id),
        )

    def insert_media(self, rows: Iterable[MediaRow]) -> None:
        """Rows of ``(run_id, key, step, t, kind, meta_json, data)``."""
        with self.conn.cursor().copy(
            "COPY media (run_id, key, step, t, kind, meta, data) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)

    def insert_console(self, rows: Iterable[ConsoleRow]) -> None:
        """Rows of ``(run_id, stream, t, text)`` in the order they were written."""
        with self.conn.cursor().copy("COPY console (run_id, stream, t, text) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert_events(self, rows: Iterable[EventRow], version: int) -> None:
        """Store events; their runs' rows carry ``version`` too, so a reader sees them."""
        rows = list(rows)
        if not rows:
            return
        cur = self.conn.cursor()
        cur.executemany(
            "INSERT INTO events (run_id, t, step, kind, key, level, title, detail, version)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(*row, version) for row in rows],
        )
        cur.execute(
            "UPDATE runs SET version = %s WHERE id = ANY(%s)",
            (version, sorted({r[0] for r in rows})),
        )

    def copy_run(self, row: Mapping[str, Any], version: int) -> None:
        """Insert a run copied from another database, or bring its stored copy up to date."""
        names = ", ".join(COPIED_RUN_COLUMNS)
        marks = ", ".join(f"%({name})s" for name in COPIED_RUN_COLUMNS)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in COPIED_RUN_COLUMNS[1:])
        self.conn.execute(
            f"INSERT INTO runs ({names}, version) VALUES ({marks}, %(version)s)"
            f" ON CONFLICT (id) DO UPDATE SET {updates}, version = EXCLUDED.version",
            {**row, "version": version},
        )

    def set_tags(self, tags: dict[str, list[str]], version: int) -> None:
        if not tags:
            return
        self.conn.cursor().executemany(
            "UPDATE runs SET tags = %s, version = %s WHERE id = %s",
            [
                (json.dumps(values, ensure_ascii=False), version, run_id)
                for run_id, values in tags.items()
            ],
        )
