"""Every query of the project: writes for the writer thread, reads for ``ls`` and the TUI.

Writers call these inside a transaction they opened with :func:`begin`. Readers use one
autocommit connection and never leave a read transaction or an unfinished cursor open: every
query is fetched whole, and :func:`read_changes` takes one short snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .metric_defs import from_json as metric_defs_from_json
from .models import Bucket, Changes, MetricSummary, Point, RunRecord, nan_if_none
from .read_errors import loads_json, names_the_file
from .schema import SEQ_BITS
from .status import derive_status
from .store_lifecycle import has_lifecycle, read_events

_SEQ_MASK = (1 << SEQ_BITS) - 1

# --- writing -----------------------------------------------------------------------------------


def begin(conn: sqlite3.Connection) -> int:
    """Open a write transaction and return the version number its changes will carry."""
    conn.execute("BEGIN IMMEDIATE")
    row = conn.execute("UPDATE state SET version = version + 1 WHERE id = 1 RETURNING version")
    return int(row.fetchone()[0])


def commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def insert_run(conn: sqlite3.Connection, row: Mapping[str, Any], version: int) -> None:
    conn.execute(
        "INSERT INTO runs (id, project, name, status, created_at, updated_at, host, pid, pid_start,"
        " tags, config, summary, version) VALUES"
        " (:id, :project, :name, 'running', :created_at, :created_at, :host, :pid, :pid_start,"
        " :tags, :config, :summary, :version)",
        {**row, "version": version},
    )


def ensure_series(
    conn: sqlite3.Connection, run_id: str, keys: Iterable[str], version: int
) -> dict[str, tuple[int, int, float | None, float | None, int]]:
    """Create missing series rows; return ``key -> (id, count, min, max, nonfinite)``."""
    out: dict[str, tuple[int, int, float | None, float | None, int]] = {}
    for key in keys:
        conn.execute(
            "INSERT INTO series (run_id, key, version) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id, key) DO NOTHING",
            (run_id, key, version),
        )
        row = conn.execute(
            "SELECT id, count, min, max, nonfinite FROM series WHERE run_id = ? AND key = ?",
            (run_id, key),
        ).fetchone()
        out[key] = (int(row[0]), int(row[1]), row[2], row[3], int(row[4]))
    return out


def point_id(series: int, seq: int) -> int:
    """The key of a point: its series in the high bits, its sequence number in the low 32."""
    return (series << SEQ_BITS) | seq


def insert_points(conn: sqlite3.Connection, rows: Iterable[tuple[int, int, float, int]]) -> None:
    """Append points ``(point_id, step, value, t_ms)``; a re-sent batch is not doubled."""
    conn.executemany("INSERT OR IGNORE INTO points (id, step, value, t) VALUES (?, ?, ?, ?)", rows)


def update_series(
    conn: sqlite3.Connection,
    rows: Iterable[tuple[int, float | None, int, int, float | None, float | None, int, int, int]],
) -> None:
    """Rows of ``(count, last, last_step, last_t, min, max, nonfinite, version, id)``."""
    conn.executemany(
        "UPDATE series SET count = ?, last = ?, last_step = ?, last_t = ?, min = ?, max = ?,"
        " nonfinite = ?, version = ? WHERE id = ?",
        rows,
    )


def update_run_progress(
    conn: sqlite3.Connection, run_id: str, step: int | None, now: float, version: int
) -> None:
    conn.execute(
        "UPDATE runs SET step = coalesce(?, step), updated_at = ?, version = ? WHERE id = ?",
        (step, now, version, run_id),
    )


def update_run_json(
    conn: sqlite3.Connection, run_id: str, column: str, text: str, version: int
) -> None:
    if column not in ("config", "summary", "tags", "metric_defs"):
        raise ValueError(f"not a JSON column of runs: {column}")
    conn.execute(f"UPDATE runs SET {column} = ?, version = ? WHERE id = ?", (text, version, run_id))


def rename_run(conn: sqlite3.Connection, run_id: str, name: str, version: int) -> None:
    conn.execute("UPDATE runs SET name = ?, version = ? WHERE id = ?", (name, version, run_id))


def heartbeat(conn: sqlite3.Connection, run_ids: Sequence[str], now: float, version: int) -> None:
    """A live run's sign of life; readers see it as a change, so durations and stale checks move."""
    conn.executemany(
        "UPDATE runs SET updated_at = ?, version = ? WHERE id = ?",
        [(now, version, r) for r in run_ids],
    )


def finish_run(
    conn: sqlite3.Connection,
    run_id: str,
    status: str,
    now: float,
    exit_code: int | None,
    error: str | None,
    dropped: int,
    version: int,
) -> None:
    conn.execute(
        "UPDATE runs SET status = ?, finished_at = ?, updated_at = ?, exit_code = ?, error = ?,"
        " dropped = ?, version = ? WHERE id = ?",
        (status, now, now, exit_code, error, dropped, version, run_id),
    )


def insert_media(
    conn: sqlite3.Connection, rows: Iterable[tuple[str, str, int, float, str, str, bytes]]
) -> None:
    """Rows of ``(run_id, key, step, t, kind, meta_json, data)``."""
    conn.executemany(
        "INSERT INTO media (run_id, key, step, t, kind, meta, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def insert_console(conn: sqlite3.Connection, rows: Iterable[tuple[str, int, float, str]]) -> None:
    """Rows of ``(run_id, stream, t, text)`` in the order they were written."""
    conn.executemany("INSERT INTO console (run_id, stream, t, text) VALUES (?, ?, ?, ?)", rows)


# --- reading -----------------------------------------------------------------------------------

_RUN_COLUMNS_V2 = (
    "id, name, project, status, created_at, updated_at, finished_at, host, pid, pid_start, step,"
    " tags, config, summary, exit_code, error, dropped, version"
)
_RUN_COLUMNS_V3 = _RUN_COLUMNS_V2 + ", metric_defs"


def _run_columns(conn: sqlite3.Connection) -> str:
    """The run columns this file has (readers show older files as they are)."""
    return _RUN_COLUMNS_V3 if has_lifecycle(conn) else _RUN_COLUMNS_V2


def _attach_events(conn: sqlite3.Connection, runs: dict[str, RunRecord]) -> None:
    if runs and has_lifecycle(conn):
        for event in read_events(conn, None if len(runs) > 500 else list(runs)):
            run = runs.get(event.run_id)
            if run is not None:
                run.events.append(event)


_SERIES_COLUMNS = "run_id, id, key, count, last, min, max, last_step, nonfinite"


_PARSED: dict[tuple[str, type], Any] = {}  # JSON text -> its value, for the runs read again


def _loads(text: str | None, default: Any) -> Any:
    """Stored JSON, or ``default`` for text that is damaged, of the wrong type or too deep.

    A viewer reads a live run's row again on every frame while its config, tags and summary
    stay the same text: each text is parsed once (records read back are read-only, so the
    parsed value is shared between them)."""
    if text is None:
        return loads_json(text, default)
    key = (text, type(default))
    value = _PARSED.get(key, _MISSING)
    if value is _MISSING:
        if len(_PARSED) >= 4096:
            _PARSED.clear()
        value = _PARSED[key] = loads_json(text, default)
    return value


_MISSING = object()


def _run_from_row(row: Sequence[Any], now: float | None) -> RunRecord:
    tags = _loads(row[11], [])
    return RunRecord(
        id=row[0],
        name=row[1],
        project=row[2],
        status=derive_status(row[3], row[7], row[8], row[9], row[5], now),
        stored_status=row[3],
        created_at=row[4],
        updated_at=row[5],
        finished_at=row[6],
        host=row[7],
        pid=row[8],
        pid_start=row[9],
        step=row[10],
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        config=_loads(row[12], {}),
        summary=_loads(row[13], {}),
        exit_code=row[14],
        error=row[15],
        dropped=row[16],
        version=row[17],
        metric_defs=metric_defs_from_json(_loads(row[18], [])) if len(row) > 18 else [],
    )


def _summary_from_row(row: Sequence[Any]) -> MetricSummary:
    count = int(row[3])
    return MetricSummary(
        series_id=int(row[1]),
        key=row[2],
        count=count,
        last=nan_if_none(row[4], count),
        min=row[5],
        max=row[6],
        last_step=row[7],
        nonfinite=int(row[8]),
    )


def _attach_metrics(runs: dict[str, RunRecord], rows: Iterable[Sequence[Any]]) -> None:
    for row in rows:
        run = runs.get(row[0])
        if run is not None:
            run.metrics[row[2]] = _summary_from_row(row)


@names_the_file
def read_runs(
    conn: sqlite3.Connection, project: str | None = None, now: float | None = None
) -> list[RunRecord]:
    """Every run (newest first) with its metric summaries; reads no points."""
    columns = _run_columns(conn)
    if project is None:
        rows = conn.execute(f"SELECT {columns} FROM runs ORDER BY created_at DESC").fetchall()
        series = conn.execute(f"SELECT {_SERIES_COLUMNS} FROM series").fetchall()
    else:
        rows = conn.execute(
            f"SELECT {columns} FROM runs WHERE project = ? ORDER BY created_at DESC",
            (project,),
        ).fetchall()
        series = conn.execute(
            f"SELECT {_SERIES_COLUMNS} FROM series WHERE run_id IN"
            " (SELECT id FROM runs WHERE project = ?)",
            (project,),
        ).fetchall()
    runs = {row[0]: _run_from_row(row, now) for row in rows}
    _attach_metrics(runs, series)
    _attach_events(conn, runs)
    if _has_media(conn):
        for run_id, keys in media_counts(conn).items():
            run = runs.get(run_id)
            if run is not None:
                run.media.update(
                    (key, {"kind": kind, "count": count, "step": step})
                    for key, (kind, count, step) in keys.items()
                )
    return list(runs.values())


def _has_media(conn: sqlite3.Connection) -> bool:
    return int(conn.execute("PRAGMA user_version").fetchone()[0]) >= 2


@names_the_file
def read_run(conn: sqlite3.Connection, run_id: str, now: float | None = None) -> RunRecord | None:
    columns = _run_columns(conn)
    row = conn.execute(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    run = _run_from_row(row, now)
    _attach_events(conn, {run.id: run})
    _attach_metrics(
        {run.id: run},
        conn.execute(
            f"SELECT {_SERIES_COLUMNS} FROM series WHERE run_id = ?", (run_id,)
        ).fetchall(),
    )
    return run


def series_id(conn: sqlite3.Connection, run_id: str, key: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM series WHERE run_id = ? AND key = ?", (run_id, key)
    ).fetchone()
    return None if row is None else int(row[0])


def history(
    conn: sqlite3.Connection, series: int, after_seq: int = 0, limit: int | None = None
) -> list[Point]:
    """Points of one series in logging order, those after ``after_seq`` only.

    The arithmetic is done by SQLite and rows become ``Point`` tuples in C; only a series that
    holds a NaN takes a second pass (NULL in the file becomes ``nan``).
    """
    sql = (
        "SELECT id & ?, step, value, t / 1000.0 FROM points WHERE id BETWEEN ? AND ? ORDER BY id"
        + (" LIMIT ?" if limit is not None else "")
    )
    params: tuple[int, ...] = (
        _SEQ_MASK,
        point_id(series, after_seq + 1),
        point_id(series, _SEQ_MASK),
    )
    points = list(
        map(Point._make, conn.execute(sql, (*params, limit) if limit is not None else params))
    )
    row = conn.execute("SELECT nonfinite FROM series WHERE id = ?", (series,)).fetchone()
    if row is not None and row[0]:
        nan = float("nan")
        points = [p if p.value is not None else p._replace(value=nan) for p in points]
    return points


_FINITE = "CASE WHEN abs(value) <= 1.7976931348623157e308 THEN value END"


def history_buckets(conn: sqlite3.Connection, series: int, buckets: int) -> list[Bucket]:
    """Min/max downsampling in SQL: consecutive points grouped into at most ``buckets`` buckets.

    NaN points (stored as NULL) are left out of min/max/mean by SQLite; with ±inf they are
    counted in ``nonfinite`` (and inf is left out of the mean).
    """
    if buckets <= 0:
        raise ValueError("buckets must be positive")
    total_row = conn.execute("SELECT count FROM series WHERE id = ?", (series,)).fetchone()
    total = int(total_row[0]) if total_row else 0
    if total == 0:
        return []
    rows = conn.execute(
        f"SELECT min(step), max(step), min({_FINITE}), max({_FINITE}), min(t), max(t), count(*),"
        f" count(*) - count({_FINITE}), avg({_FINITE})"
        " FROM points WHERE id BETWEEN ? AND ? GROUP BY (((id & ?) - 1) * ?) / ? ORDER BY 1",
        (point_id(series, 1), point_id(series, _SEQ_MASK), _SEQ_MASK, buckets, total),
    ).fetchall()
    return [
        Bucket(
            first_step=r[0],
            last_step=r[1],
            min=r[2],
            max=r[3],
            first_t=r[4] / 1000.0,
            last_t=r[5] / 1000.0,
            count=r[6],
            nonfinite=int(r[7] or 0),
            mean=r[8],
        )
        for r in rows
    ]


@names_the_file
def read_series(conn: sqlite3.Connection, series: int, buckets: int) -> tuple[int, list[Bucket]]:
    """A series' point count and its history in at most ``buckets`` buckets, from one snapshot
    (so that following it from ``seq = count`` on neither skips nor repeats a point)."""
    conn.execute("BEGIN")
    try:
        row = conn.execute("SELECT count FROM series WHERE id = ?", (series,)).fetchone()
        count = int(row[0]) if row else 0
        return count, history_buckets(conn, series, buckets) if count else []
    finally:
        conn.execute("COMMIT")


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM state WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits; 4 µs, the cheap "anything new?" probe."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


@names_the_file
def read_changes(
    conn: sqlite3.Connection,
    since_version: int,
    follow: Mapping[int, int] | None = None,
    now: float | None = None,
    previous: Mapping[str, RunRecord] | None = None,
) -> Changes:
    """Runs changed after ``since_version`` (with summaries), and the new points of followed series.

    ``follow`` maps series id -> the last seq the caller holds. ``previous``: the records the
    caller holds, read at ``since_version``; a run among them gets its unchanged summaries from
    there and only its changed series are read (a live run's thirty system series are not
    parsed again for every step). One short read transaction, so the returned version matches
    exactly what was read; it is the next ``since_version``.
    """
    conn.execute("BEGIN")
    try:
        version = current_version(conn)
        changed_series = conn.execute(
            f"SELECT {_SERIES_COLUMNS} FROM series WHERE version > ?", (since_version,)
        ).fetchall()
        run_ids = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM runs WHERE version > ?", (since_version,)
            ).fetchall()
        }
        run_ids.update(row[0] for row in changed_series)
        runs: dict[str, RunRecord] = {}
        columns = _run_columns(conn)
        ordered = sorted(run_ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {columns} FROM runs WHERE id IN ({marks})", chunk
            ).fetchall():
                runs[row[0]] = _run_from_row(row, now)
            held = previous or {}
            fresh = [run_id for run_id in chunk if run_id not in held]
            for run_id in chunk:
                if run_id in held and run_id in runs:
                    runs[run_id].metrics.update(held[run_id].metrics)
            if fresh:
                marks = ",".join("?" * len(fresh))
                _attach_metrics(
                    runs,
                    conn.execute(
                        f"SELECT {_SERIES_COLUMNS} FROM series WHERE run_id IN ({marks})", fresh
                    ).fetchall(),
                )
        _attach_metrics(
            {run_id: run for run_id, run in runs.items() if run_id in (previous or {})},
            changed_series,
        )
        _attach_events(conn, runs)
        points: dict[int, list[Point]] = {}
        if follow:
            newest = {int(row[1]): int(row[3]) for row in changed_series}
            for sid, after in follow.items():
                count = newest.get(sid)
                if count is not None and count > after:
                    points[sid] = history(conn, sid, after)
    finally:
        conn.execute("COMMIT")
    return Changes(version=version, runs=list(runs.values()), points=points)


def run_tags(conn: sqlite3.Connection, run_ids: Sequence[str]) -> dict[str, list[str]]:
    marks = ",".join("?" * len(run_ids))
    rows = conn.execute(
        f"SELECT id, tags FROM runs WHERE id IN ({marks})", list(run_ids)
    ).fetchall()
    return {row[0]: [str(t) for t in _loads(row[1], [])] for row in rows}


def set_tags(conn: sqlite3.Connection, tags: dict[str, list[str]], version: int) -> None:
    conn.executemany(
        "UPDATE runs SET tags = ?, version = ? WHERE id = ?",
        [
            (json.dumps(values, ensure_ascii=False), version, run_id)
            for run_id, values in tags.items()
        ],
    )


def recent_mean(conn: sqlite3.Connection, series: int, count: int, last: int) -> float | None:
    """Mean of the finite values among a series' ``last`` points: a smoothed current value."""
    if count <= 0:
        return None
    row = conn.execute(
        f"SELECT avg({_FINITE}) FROM points WHERE id BETWEEN ? AND ?",
        (point_id(series, max(1, count - last + 1)), point_id(series, count)),
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


# --- media and console (schema 2) -------------------------------------------------------------


def read_media_index(
    conn: sqlite3.Connection, run_id: str, after_id: int = 0
) -> list[tuple[int, str, int, float, str, str]]:
    """``(id, key, step, t, kind, meta_json)`` of a run's media newer than ``after_id``."""
    return conn.execute(
        "SELECT id, key, step, t, kind, meta FROM media WHERE run_id = ? AND id > ? ORDER BY id",
        (run_id, after_id),
    ).fetchall()


def read_media_data(conn: sqlite3.Connection, media_ids: Sequence[int]) -> dict[int, bytes]:
    """The encoded data of these media rows (PNG/JPEG bytes or JSON)."""
    out: dict[int, bytes] = {}
    ids = list(media_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT id, data FROM media WHERE id IN ({marks})", chunk):
            out[int(row[0])] = bytes(row[1])
    return out


def media_counts(conn: sqlite3.Connection) -> dict[str, dict[str, tuple[str, int, int]]]:
    """Per run, per media key: ``(kind, count, last step)``."""
    out: dict[str, dict[str, tuple[str, int, int]]] = {}
    for run_id, key, kind, count, step in conn.execute(
        "SELECT run_id, key, max(kind), count(*), max(step) FROM media GROUP BY run_id, key"
    ):
        out.setdefault(run_id, {})[key] = (kind, int(count), int(step))
    return out


def read_console(
    conn: sqlite3.Connection, run_id: str, after_id: int = 0, last: int | None = None
) -> list[tuple[int, int, float, str]]:
    """``(id, stream, t, text)`` chunks of a run's console after ``after_id``, oldest first;
    ``last`` keeps only the newest chunks (a first look at a long log)."""
    if last is None:
        return conn.execute(
            "SELECT id, stream, t, text FROM console WHERE run_id = ? AND id > ? ORDER BY id",
            (run_id, after_id),
        ).fetchall()
    rows = conn.execute(
        "SELECT id, stream, t, text FROM console WHERE run_id = ? AND id > ?"
        " ORDER BY id DESC LIMIT ?",
        (run_id, after_id, last),
    ).fetchall()
    rows.reverse()
    return rows
