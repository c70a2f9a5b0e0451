"""The PostgreSQL store's lifecycle queries: which stored run a resumed one continues, taking
it over, and a run's tags read for a change made after the fact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..base import SharedLifecycle
from ..rows import STORED_RUN_COLUMNS, loads


class PostgresLifecycle(SharedLifecycle):
    conn: Any

    def stored_run(self, run_id: str) -> dict[str, Any] | None:
        """The row a resumed run continues from, or None when there is no run ``run_id``."""
        row = self.conn.execute(
            f"SELECT {', '.join(STORED_RUN_COLUMNS)} FROM runs WHERE id = %s FOR UPDATE",
            (run_id,),
        ).fetchone()
        return None if row is None else dict(zip(STORED_RUN_COLUMNS, row, strict=True))

    def _resumable_ids(self, project: str, host: str, name: str | None) -> list[str]:
        query = (
            "SELECT id FROM runs WHERE project = %s AND host = %s AND status = 'running'"
            + (" AND name = %s" if name is not None else "")
            + " ORDER BY created_at DESC LIMIT 20"
        )
        args: tuple[Any, ...] = (project, host) if name is None else (project, host, name)
        return [row[0] for row in self.conn.execute(query, args).fetchall()]

    def resume_run(self, row: Mapping[str, Any], version: int) -> None:
        """Mark a stored run as running again in this process."""
        self.conn.execute(
            "UPDATE runs SET status = 'running', name = %(name)s, host = %(host)s,"
            " pid = %(pid)s, pid_start = %(pid_start)s, updated_at = %(now)s,"
            " finished_at = NULL, exit_code = NULL, error = NULL, tags = %(tags)s,"
            " config = %(config)s, version = pg_current_xact_id() WHERE id = %(id)s",
            dict(row),
        )

    def run_tags(self, run_ids: Sequence[str]) -> dict[str, list[str]]:
        rows = self.conn.execute(
            "SELECT id, tags FROM runs WHERE id = ANY(%s)", (list(run_ids),)
        ).fetchall()
        return {row[0]: [str(t) for t in loads(row[1], [])] for row in rows}
