"""The SQLite store's lifecycle queries: which stored run a resumed one continues, taking it
over, and a run's tags read for a change made after the fact."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ..base import SharedLifecycle
from ..rows import STORED_RUN_COLUMNS, loads


class SqliteLifecycle(SharedLifecycle):
    conn: sqlite3.Connection

    def stored_run(self, run_id: str) -> dict[str, Any] | None:
        """The row a resumed run continues from, or None when there is no run ``run_id``."""
        row = self.conn.execute(
            f"SELECT {', '.join(STORED_RUN_COLUMNS)} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        return None if row is None else dict(zip(STORED_RUN_COLUMNS, row, strict=True))

    def _resumable_ids(self, project: str, host: str, name: str | None) -> list[str]:
        query = (
            "SELECT id FROM runs WHERE project = ? AND host = ? AND status = 'running'"
            + (" AND name = ?" if name is not None else "")
            + " ORDER BY created_at DESC LIMIT 20"
        )
        args: tuple[Any, ...] = (project, host) if name is None else (project, host, name)
        return [row[0] for row in self.conn.execute(query, args).fetchall()]

    def resume_run(self, row: Mapping[str, Any], version: int) -> None:
        """Mark a stored run as running again in this process (``row``: id, name, host, pid,
        pid_start, now, tags, config JSON)."""
        self.conn.execute(
            "UPDATE runs SET status = 'running', name = :name, host = :host, pid = :pid,"
            " pid_start = :pid_start, updated_at = :now, finished_at = NULL, exit_code = NULL,"
            " error = NULL, tags = :tags, config = :config, version = :version WHERE id = :id",
            {**row, "version": version},
        )

    def run_tags(self, run_ids: Sequence[str]) -> dict[str, list[str]]:
        marks = ",".join("?" * len(run_ids))
        rows = self.conn.execute(
            f"SELECT id, tags FROM runs WHERE id IN ({marks})", list(run_ids)
        ).fetchall()
        return {row[0]: [str(t) for t in loads(row[1], [])] for row in rows}
