"""The PostgreSQL store's media and console reads: a run's media list, their encoded data,
per-key counts for the runs table, and console chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PostgresMedia:
    conn: Any

    def read_media_index(
        self, run_id: str, after_id: int = 0
    ) -> list[tuple[int, str, int, float, str, str]]:
        """``(id, key, step, t, kind, meta_json)`` of a run's media newer than ``after_id``."""
        rows = self.conn.execute(
            "SELECT id, key, step, t, kind, meta FROM media WHERE run_id = %s AND id > %s"
            " ORDER BY id",
            (run_id, after_id),
        ).fetchall()
        return [tuple(row) for row in rows]

    def read_media_data(self, media_ids: Sequence[int]) -> dict[int, bytes]:
        """The encoded data of these media rows (PNG/JPEG bytes or JSON)."""
        rows = self.conn.execute(
            "SELECT id, data FROM media WHERE id = ANY(%s)", (list(media_ids),)
        ).fetchall()
        return {int(row[0]): bytes(row[1]) for row in rows}

    def media_counts(self) -> dict[str, dict[str, tuple[str, int, int]]]:
        """Per run, per media key: ``(kind, count, last step)``."""
        out: dict[str, dict[str, tuple[str, int, int]]] = {}
        for run_id, key, kind, count, step in self.conn.execute(
            "SELECT run_id, key, max(kind), count(*), max(step) FROM media GROUP BY run_id, key"
        ).fetchall():
            out.setdefault(run_id, {})[key] = (kind, int(count), int(step))
        return out

    def row_counts(self, run_id: str) -> dict[str, int]:
        """How many media rows, console chunks and events a run has."""
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM media WHERE run_id = %(r)s),"
            " (SELECT count(*) FROM console WHERE run_id = %(r)s),"
            " (SELECT count(*) FROM events WHERE run_id = %(r)s)",
            {"r": run_id},
        ).fetchone()
        return {"media": int(row[0]), "console": int(row[1]), "events": int(row[2])}

    def read_console(
        self, run_id: str, after_id: int = 0, last: int | None = None
    ) -> list[tuple[int, int, float, str]]:
        """``(id, stream, t, text)`` chunks of a run's console after ``after_id``, oldest
        first; ``last`` keeps only the newest chunks (a first look at a long log)."""
        if last is None:
            rows = self.conn.execute(
                "SELECT id, stream, t, text FROM console WHERE run_id = %s AND id > %s ORDER BY id",
                (run_id, after_id),
            ).fetchall()
            return [tuple(row) for row in rows]
        rows = self.conn.execute(
            "SELECT id, stream, t, text FROM console WHERE run_id = %s AND id > %s"
            " ORDER BY id DESC LIMIT %s",
            (run_id, after_id, last),
        ).fetchall()
        return [tuple(row) for row in reversed(rows)]
