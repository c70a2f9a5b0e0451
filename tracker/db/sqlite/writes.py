"""The SQLite store's writes: run rows, series, points, media, console, events, tags.

Called inside a transaction opened with :meth:`SqliteWrites.begin` (``BEGIN IMMEDIATE``: one
writer at a time, the others wait out ``busy_timeout``), by the writer thread, ``init()`` and
the few commands that change runs after the fact.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..base import (
    ConsoleRow,
    EventRow,
    MediaRow,
    PointChunk,
    SeriesState,
    SeriesUpdate,
    point_id,
)
from ..rows import COPIED_RUN_COLUMNS

JSON_COLUMNS = ("config", "summary", "tags", "metric_defs")


class SqliteWrites:
    conn: sqlite3.Connection

    def begin(self) -> int:
        """Open a write transaction and return the version number its changes will carry."""
        self.conn.execute("BEGIN IMMEDIATE")
        row = self.conn.execute(
            "UPDATE state SET version = version + 1 WHERE id = 1 RETURNING version"
        )
        return int(row.fetchone()[0])

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def insert_run(self, row: Mapping[str, Any], version: int) -> None:
        self.conn.execute(
            "INSERT INTO runs (id, project, name, status, created_at, updated_at, host, pid,"
            " pid_start, tags, config, summary, version) VALUES"
            " (:id, :project, :name, 'running', :created_at, :created_at, :host, :pid,"
            " :pid_start, :tags, :config, :summary, :version)",
            {**row, "version": version},
        )

    def ensure_series(
        self, run_id: str, keys: Iterable[str], version: int
    ) -> dict[str, SeriesState]:
        """Create missing series rows; return ``key -> (id, count, min, max, nonfinite)``."""
        out: dict[str, SeriesState] = {}
        for key in keys:
            self.conn.execute(
                "INSERT INTO series (run_id, key, version) VALUES (?, ?, ?)"
                " ON CONFLICT (run_id, key) DO NOTHING",
                (run_id, key, version),
            )
            row = self.conn.execute(
                "SELECT id, count, min, max, nonfinite FROM series WHERE run_id = ? AND key = ?",
                (run_id, key),
            ).fetchone()
            out[key] = (int(row[0]), int(row[1]), row[2], row[3], int(row[4]))
        return out

    def insert_points(self, chunks: Sequence[PointChunk]) -> None:
        """Append each chunk's points, keyed ``series << 32 | seq``; a re-sent batch is not
        doubled. Rows are zipped at C speed: the Python cost is per chunk, not per point."""
        rows = itertools.chain.from_iterable(
            zip(range(point_id(sid, seq), point_id(sid, seq) + len(v)), s, v, t, strict=True)
            for sid, seq, s, v, t in chunks
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO points (id, step, value, t) VALUES (?, ?, ?, ?)", rows
        )

    def update_series(self, rows: Iterable[SeriesUpdate]) -> None:
        """Rows of ``(count, last, last_step, last_t, min, max, nonfinite, version, id)``."""
        self.conn.executemany(
            "UPDATE series SET count = ?, last = ?, last_step = ?, last_t = ?, min = ?, max = ?,"
            " nonfinite = ?, version = ? WHERE id = ?",
            rows,
        )

    def update_run_progress(self, run_id: str, step: int | None, now: float, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET step = coalesce(?, step), updated_at = ?, version = ? WHERE id = ?",
            (step, now, version, run_id),
        )

    def update_run_json(self, run_id: str, column: str, text: str, version: int) -> None:
        if column not in JSON_COLUMNS:
            raise ValueError(f"not a JSON column of runs: {column}")
        self.conn.execute(
            f"UPDATE runs SET {column} = ?, version = ? WHERE id = ?", (text, version, run_id)
        )

    def rename_run(self, run_id: str, name: str, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET name = ?, version = ? WHERE id = ?", (name, version, run_id)
        )

    def heartbeat(self, run_ids: Sequence[str], now: float, version: int) -> None:
        """A live run's sign of life; readers see it as a change, so durations and stale
        checks move."""
        self.conn.executemany(
            "UPDATE runs SET updated_at = ?, version = ? WHERE id = ?",
            [(now, version, r) for r in run_ids],
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
            "UPDATE runs SET status = ?, finished_at = ?, updated_at = ?, exit_code = ?,"
            " error = ?, dropped = ?, version = ? WHERE id = ?",
            (status, now, now, exit_code, error, dropped, version, run_id),
        )

    def insert_media(self, rows: Iterable[MediaRow]) -> None:
        """Rows of ``(run_id, key, step, t, kind, meta_json, data)``."""
        self.conn.executemany(
            "INSERT INTO media (run_id, key, step, t, kind, meta, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def insert_console(self, rows: Iterable[ConsoleRow]) -> None:
        """Rows of ``(run_id, stream, t, text)`` in the order they were written."""
        self.conn.executemany(
            "INSERT INTO console (run_id, stream, t, text) VALUES (?, ?, ?, ?)", rows
        )

    def insert_events(self, rows: Iterable[EventRow], version: int) -> None:
        """Store events; their runs' rows carry ``version`` too, so a reader sees them."""
        rows = list(rows)
        self.conn.executemany(
            "INSERT INTO events (run_id, t, step, kind, key, level, title, detail, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, version) for row in rows],
        )
        self.conn.executemany(
            "UPDATE runs SET version = ? WHERE id = ?",
            [(version, r) for r in {r[0] for r in rows}],
        )

    def copy_run(self, row: Mapping[str, Any], version: int) -> None:
        """Insert a run copied from another database, or bring its stored copy up to date."""
        names = ", ".join(COPIED_RUN_COLUMNS)
        marks = ", ".join(f":{name}" for name in COPIED_RUN_COLUMNS)
        updates = ", ".join(f"{name} = excluded.{name}" for name in COPIED_RUN_COLUMNS[1:])
        self.conn.execute(
            f"INSERT INTO runs ({names}, version) VALUES ({marks}, :version)"
            f" ON CONFLICT (id) DO UPDATE SET {updates}, version = excluded.version",
            {**row, "version": version},
        )

    def set_tags(self, tags: dict[str, list[str]], version: int) -> None:
        self.conn.executemany(
            "UPDATE runs SET tags = ?, version = ? WHERE id = ?",
            [
                (json.dumps(values, ensure_ascii=False), version, run_id)
                for run_id, values in tags.items()
            ],
        )
