"""Queries of a run's lifecycle (schema 3): resuming a run, its ``define_metric`` list, and its
events (resume markers, alerts). Writers call them inside :func:`tracker.store.begin`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .models import RunEvent
from .read_errors import loads_json

EventRow = tuple[str, float, int | None, str, str | None, str | None, str, str]
"""``(run_id, t, step, kind, key, level, title, detail_json)``"""


def has_lifecycle(conn: sqlite3.Connection) -> bool:
    """True when the file has schema 3's ``metric_defs`` column and ``events`` table."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0]) >= 3


def stored_run(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    """The row a resumed run continues from, or None when there is no run ``run_id``."""
    row = conn.execute(
        "SELECT id, project, name, status, created_at, updated_at, host, pid, pid_start, step,"
        " tags, config, summary, exit_code, error, metric_defs FROM runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        return None
    names = (
        "id", "project", "name", "status", "created_at", "updated_at", "host", "pid",
        "pid_start", "step", "tags", "config", "summary", "exit_code", "error", "metric_defs",
    )  # fmt: skip
    return dict(zip(names, row, strict=True))


def newest_resumable(
    conn: sqlite3.Connection, project: str, host: str, name: str | None
) -> list[dict[str, Any]]:
    """Runs of ``project`` recorded on ``host`` that are still stored as running (crashed ones
    among them), newest first: what ``resume="auto"`` without an id may continue."""
    query = (
        "SELECT id FROM runs WHERE project = ? AND host = ? AND status = 'running'"
        + (" AND name = ?" if name is not None else "")
        + " ORDER BY created_at DESC LIMIT 20"
    )
    args: tuple[Any, ...] = (project, host) if name is None else (project, host, name)
    out = []
    for (run_id,) in conn.execute(query, args).fetchall():
        row = stored_run(conn, run_id)
        if row is not None:
            out.append(row)
    return out


def resume_run(conn: sqlite3.Connection, row: Mapping[str, Any], version: int) -> None:
    """Mark a stored run as running again in this process (``row``: id, name, host, pid,
    pid_start, now, tags, config JSON)."""
    conn.execute(
        "UPDATE runs SET status = 'running', name = :name, host = :host, pid = :pid,"
        " pid_start = :pid_start, updated_at = :now, finished_at = NULL, exit_code = NULL,"
        " error = NULL, tags = :tags, config = :config, version = :version WHERE id = :id",
        {**row, "version": version},
    )


def insert_events(conn: sqlite3.Connection, rows: Iterable[EventRow], version: int) -> None:
    """Store events; their runs' rows carry ``version`` too, so a reader sees them as changed."""
    rows = list(rows)
    conn.executemany(
        "INSERT INTO events (run_id, t, step, kind, key, level, title, detail, version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, version) for row in rows],
    )
    conn.executemany(
        "UPDATE runs SET version = ? WHERE id = ?", [(version, r) for r in {r[0] for r in rows}]
    )


def read_events(conn: sqlite3.Connection, run_ids: Sequence[str] | None = None) -> list[RunEvent]:
    """Events of these runs (every run's when None), oldest first."""
    columns = "id, run_id, t, step, kind, key, level, title, detail"
    if run_ids is None:
        rows = conn.execute(f"SELECT {columns} FROM events ORDER BY id").fetchall()
    else:
        rows = []
        ids = list(run_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(
                conn.execute(
                    f"SELECT {columns} FROM events WHERE run_id IN ({marks}) ORDER BY id", chunk
                ).fetchall()
            )
    out = []
    for row in rows:
        detail: dict[str, Any] = loads_json(row[8], {})
        out.append(
            RunEvent(
                id=int(row[0]),
                run_id=str(row[1]),
                t=float(row[2]),
                step=row[3],
                kind=str(row[4]),
                key=row[5],
                level=row[6],
                title=str(row[7]),
                detail=detail if isinstance(detail, dict) else {},
            )
        )
    return out
