"""The SQLite store's media and console reads (schema 2): a run's media list, their encoded
data, per-key counts for the runs table, and console chunks."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..base import CHUNK


class SqliteMedia:
    conn: sqlite3.Connection
    has_media: bool
    has_lifecycle: bool

    def read_media_index(
        self, run_id: str, after_id: int = 0
    ) -> list[tuple[int, str, int, float, str, str]]:
        """``(id, key, step, t, kind, meta_json)`` of a run's media newer than ``after_id``."""
        return self.conn.execute(
            "SELECT id, key, step, t, kind, meta FROM media WHERE run_id = ? AND id > ?"
            " ORDER BY id",
            (run_id, after_id),
        ).fetchall()

    def read_media_data(self, media_ids: Sequence[int]) -> dict[int, bytes]:
        """The encoded data of these media rows (PNG/JPEG bytes or JSON)."""
        out: dict[int, bytes] = {}
        ids = list(media_ids)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT id, data FROM media WHERE id IN ({marks})", chunk
            ):
                out[int(row[0])] = bytes(row[1])
        return out

    def media_counts(self) -> dict[str, dict[str, tuple[str, int, int]]]:
        """Per run, per media key: ``(kind, count, last step)``."""
        out: dict[str, dict[str, tuple[str, int, int]]] = {}
        for run_id, key, kind, count, step in self.conn.execute(
            "SELECT run_id, key, max(kind), count(*), max(step) FROM media GROUP BY run_id, key"
        ):
            out.setdefault(run_id, {})[key] = (kind, int(count), int(step))
        return out

    def row_counts(self, run_id: str) -> dict[str, int]:
        """How many media rows, console chunks and events a run has."""
        out = {"media": 0, "console": 0, "events": 0}
        tables = (("media", "console") if self.has_media else ()) + (
            ("events",) if self.has_lifecycle else ()
        )
        for table in tables:
            row = self.conn.execute(
                f"SELECT count(*) FROM {table} WHERE run_id = ?", (run_id,)
            ).fetchone()
            out[table] = int(row[0])
        return out

    def read_console(
        self, run_id: str, after_id: int = 0, last: int | None = None
    ) -> list[tuple[int, int, float, str]]:
        """``(id, stream, t, text)`` chunks of a run's console after ``after_id``, oldest
        first; ``last`` keeps only the newest chunks (a first look at a long log)."""
        if last is None:
            return self.conn.execute(
                "SELECT id, stream, t, text FROM console WHERE run_id = ? AND id > ? ORDER BY id",
                (run_id, after_id),
            ).fetchall()
        rows = self.conn.execute(
            "SELECT id, stream, t, text FROM console WHERE run_id = ? AND id > ?"
            " ORDER BY id DESC LIMIT ?",
            (run_id, after_id, last),
        ).fetchall()
        rows.reverse()
        return rows
