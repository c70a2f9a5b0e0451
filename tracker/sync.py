"""``tracktui sync SRC DST``: push runs logged into one database (a local SQLite file on an
offline node, say) into another (the team's PostgreSQL server), through the Store interface.

Runs are matched by id. For each run the destination is asked how far it already is (each
series' point count; how many media rows, console chunks and events the run has) and only
what lies beyond that is copied, in transactions of at most :data:`PAGE_POINTS` points that
also move the series' summary: an interrupted sync leaves every series consistent, and the
next one carries on where it stopped. Running it twice copies nothing the second time.
Points keep their step, value, time and order; media keep their encoded bytes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .db import Store, transaction
from .jsonable import dumps
from .models import RunRecord

PAGE_POINTS = 50_000  # points per transaction
PAGE_ROWS = 200  # media rows or console chunks per transaction


@dataclass(slots=True)
class SyncReport:
    runs: int = 0
    up_to_date: int = 0
    points: int = 0
    media: int = 0
    console: int = 0
    events: int = 0
    per_run: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)  # runs left out: another run's id

    def line(self) -> str:
        changed = self.runs - self.up_to_date
        return (
            f"{self.runs} run(s): {changed} updated, {self.up_to_date} already up to date; "
            f"copied {self.points:,} points, {self.media:,} media, {self.console:,} console "
            f"chunks, {self.events:,} events"
            + (
                f"; {len(self.conflicts)} left out (another run has the id)"
                if self.conflicts
                else ""
            )
        )


def sync(
    source: Store,
    destination: Store,
    project: str | None = None,
    progress: Callable[[str], None] | None = None,
    page_points: int = PAGE_POINTS,
) -> SyncReport:
    """Copy what ``destination`` lacks of ``source``'s runs (of ``project``, if given), at
    most ``page_points`` points a transaction."""
    report = SyncReport()
    for run in reversed(source.read_runs(project=project)):  # oldest first
        try:
            copied = _sync_run(source, destination, run, page_points)
        except SyncConflict as exc:
            report.conflicts.append(str(exc))
            if progress is not None:
                progress(f"left out: {exc}")
            continue
        report.runs += 1
        report.points += copied[0]
        report.media += copied[1]
        report.console += copied[2]
        report.events += copied[3]
        if not any(copied[:4]) and not copied[4]:
            report.up_to_date += 1
        report.per_run[run.id] = copied[0]
        if progress is not None and any(copied):
            progress(f"{run.name} ({run.id}): {copied[0]:,} points")
    return report


def _sync_run(
    source: Store, destination: Store, run: RunRecord, page_points: int
) -> tuple[int, int, int, int, bool]:
    row = source.run_row(run.id)
    if row is None:  # deleted meanwhile
        return 0, 0, 0, 0, False
    before = destination.run_row(run.id)
    if before is not None and not _same_run(before, row):
        raise SyncConflict(
            f"run {run.id} ({row['name']}, started {_when(row)} on {row['host']}) is another "
            f"run than the destination's {run.id} ({before['name']}, started {_when(before)} "
            f"on {before['host']}); not merged"
        )
    points = sum(_sync_series(source, destination, run, key, page_points) for key in run.metrics)
    have = destination.row_counts(run.id)
    media = _sync_media(source, destination, run.id, have["media"])
    console = _sync_console(source, destination, run.id, have["console"])
    events = _sync_events(source, destination, run.id, have["events"])
    # The run's row goes last: a sync stopped halfway shows no new run as complete (its
    # points are there, the run is not listed yet), and an updated one keeps its old row.
    row_changed = before != row
    if row_changed or points or media or console or events:
        with transaction(destination) as version:  # readers see the run as changed
            destination.copy_run(row, version)
    return points, media, console, events, row_changed


class SyncConflict(ValueError):
    """Two different runs share an id: one in the source, one in the destination."""


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same run (resumed or not) keeps its start time and project; another run that
    happens to share its id (a launcher's id reused) does not."""
    same_start = abs(float(a["created_at"]) - float(b["created_at"])) < 1e-3
    return same_start and a["project"] == b["project"]


def _when(row: dict[str, Any]) -> str:
    stamp = datetime.datetime.fromtimestamp(float(row["created_at"]), datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def _sync_series(
    source: Store, destination: Store, run: RunRecord, key: str, page_points: int
) -> int:
    wanted = run.metrics[key].count
    copied = 0
    while True:
        with transaction(destination) as version:
            sid, have, low, high, nonfinite = destination.ensure_series(run.id, [key], version)[key]
            if have >= wanted:
                return copied
            page = source.history(run.metrics[key].series_id, have, limit=page_points)
            if not page:
                return copied
            steps = [p.step for p in page]
            values = [p.value for p in page]
            times = [round(p.t * 1000.0) for p in page]
            destination.insert_points([(sid, have + 1, steps, values, times)])
            finite = [v for v in values if v - v == 0.0]
            if finite:
                low = min(finite) if low is None else min(low, *finite)
                high = max(finite) if high is None else max(high, *finite)
            last = values[-1]
            destination.update_series(
                [
                    (have + len(page), None if last != last else last, steps[-1], times[-1],
                     low, high, nonfinite + len(values) - len(finite), version, sid)
                ]
            )  # fmt: skip
        copied += len(page)


def _sync_media(source: Store, destination: Store, run_id: str, have: int) -> int:
    if not source.has_media:
        return 0
    rows = source.read_media_index(run_id)[have:]
    for start in range(0, len(rows), PAGE_ROWS):
        page = rows[start : start + PAGE_ROWS]
        data = source.read_media_data([r[0] for r in page])
        with transaction(destination):
            destination.insert_media([(run_id, *r[1:], data[r[0]]) for r in page])
    return len(rows)


def _sync_console(source: Store, destination: Store, run_id: str, have: int) -> int:
    if not source.has_media:
        return 0
    chunks = source.read_console(run_id)[have:]
    for start in range(0, len(chunks), PAGE_ROWS):
        page = chunks[start : start + PAGE_ROWS]
        with transaction(destination):
            destination.insert_console([(run_id, *c[1:]) for c in page])
    return len(chunks)


def _sync_events(source: Store, destination: Store, run_id: str, have: int) -> int:
    events = source.read_events([run_id])[have:]
    if events:
        with transaction(destination) as version:
            destination.insert_events(
                [
                    (run_id, e.t, e.step, e.kind, e.key, e.level, e.title, dumps(e.detail))
                    for e in events
                ],
                version,
            )
    return len(events)
