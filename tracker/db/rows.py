"""Rows read back from any backend turned into records: runs, metric summaries, buckets.

Both backends select the same columns in the same order (:data:`RUN_COLUMNS`,
:data:`SERIES_COLUMNS`), so decoding a row is written once, here, with no SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..metric_defs import from_json as metric_defs_from_json
from ..models import Bucket, MetricSummary, RunEvent, RunRecord, nan_if_none
from ..status import derive_status
from ..stored_json import loads_json

RUN_COLUMNS_V2 = (
    "id, name, project, status, created_at, updated_at, finished_at, host, pid, pid_start, step,"
    " tags, config, summary, exit_code, error, dropped, version"
)
RUN_COLUMNS = RUN_COLUMNS_V2 + ", metric_defs"
SERIES_COLUMNS = "run_id, id, key, count, last, min, max, last_step, nonfinite"
EVENT_COLUMNS = "id, run_id, t, step, kind, key, level, title, detail"
COPIED_RUN_COLUMNS = (
    "id", "project", "name", "status", "created_at", "updated_at", "finished_at", "host", "pid",
    "pid_start", "step", "tags", "config", "summary", "exit_code", "error", "dropped",
    "metric_defs",
)  # fmt: skip
"""What ``tracktui sync`` copies of a run's row (everything but the version)."""
STORED_RUN_COLUMNS = (
    "id", "project", "name", "status", "created_at", "updated_at", "host", "pid",
    "pid_start", "step", "tags", "config", "summary", "exit_code", "error", "metric_defs",
)  # fmt: skip

_PARSED: dict[tuple[str, type], Any] = {}  # JSON text -> its value, for the runs read again
_MISSING = object()


def loads(text: str | None, default: Any) -> Any:
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


def run_from_row(row: Sequence[Any], now: float | None) -> RunRecord:
    tags = loads(row[11], [])
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
        config=loads(row[12], {}),
        summary=loads(row[13], {}),
        exit_code=row[14],
        error=row[15],
        dropped=row[16],
        version=row[17],
        metric_defs=metric_defs_from_json(loads(row[18], [])) if len(row) > 18 else [],
    )


def summary_from_row(row: Sequence[Any]) -> MetricSummary:
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


def attach_metrics(runs: dict[str, RunRecord], rows: Iterable[Sequence[Any]]) -> None:
    for row in rows:
        run = runs.get(row[0])
        if run is not None:
            run.metrics[row[2]] = summary_from_row(row)


def bucket_from_row(r: Sequence[Any]) -> Bucket:
    """``(first_step, last_step, min, max, first_t_ms, last_t_ms, count, nonfinite, mean)``."""
    return Bucket(
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


def event_from_row(row: Sequence[Any]) -> RunEvent:
    """A row of :data:`EVENT_COLUMNS`."""
    detail = loads(row[8], {})
    return RunEvent(
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
