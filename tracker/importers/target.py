"""Writing one imported run into a destination store, incrementally and idempotently.

A reader hands over a :class:`SourceRun`: the run's metadata and everything it holds, each
series, the media and the console in the source's own order. :func:`write_run` asks the
destination how far it already is (each series' point count, the run's media rows and console
chunks) and appends only what lies beyond, the way :mod:`tracker.sync` copies between stores
and through the same Store primitives: importing twice adds nothing, and a source that kept
logging since gets just its new points. The run's row goes last, so a run interrupted halfway
is not shown as complete.

Each series is written in step order (equal steps: by wall time, then the source's order), so
its stored ``last`` is the value at the highest step, as TensorBoard, MLflow and ``history()``
show it. Which points are new is told by content (step, time, value), not by position: a
source that later gained points at lower steps (a TensorBoard writer restarted from a
checkpoint re-logs old steps) gets just those appended after the stored ones, and the
series' ``last`` stays the point at the highest step. (Those late points then sit after
higher steps in the stored order; ``history()`` orders by step, ``tracktui sync`` copies the
stored order.)

Points keep the source's wall times (stored, as every point, in milliseconds since the run's
``created_at``); NaN and ±inf are stored as the tracker stores them (NaN as NULL, counted in
``nonfinite``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..db import Store, transaction
from ..jsonable import dumps
from ..media.base import Encoded
from ..models import Point
from ..values import MAX_KEY_LENGTH, MAX_NAME_LENGTH

PAGE_POINTS = 50_000  # points per transaction (as tracker.sync)
PAGE_ROWS = 200  # media rows or console chunks per transaction
STATUSES = ("finished", "failed", "crashed")
Tick = Callable[[int], None] | None
"""Told how many more records were read or points written, for a progress line."""
READ_TICK = 10_000  # records read between two ticks
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(slots=True)
class Series:
    """One metric's points in the source's order: steps, values and wall times (epoch s)."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)

    def add(self, step: int, value: float, wall: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.walls.append(wall)


@dataclass(slots=True)
class SourceRun:
    """A run as a reader found it. ``status`` is one of :data:`STATUSES`."""

    id: str
    name: str
    project: str
    created_at: float
    status: str = "finished"
    finished_at: float | None = None
    host: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    error: str | None = None
    series: dict[str, Series] = field(default_factory=dict)
    media: list[tuple[str, int, float, Encoded]] = field(default_factory=list)  # key, step, t
    console: list[tuple[int, float, str]] = field(default_factory=list)  # stream, t, text
    problems: list[str] = field(default_factory=list)  # what could not be read, for the user
    # Other start times this run may have been imported with: each part of a resumed run
    # starts anew, and one part imported alone took its own start.
    starts: list[float] = field(default_factory=list)
    # The id says the run's content (TensorBoard: its event files), not where it was found:
    # a stored run with the id and start is this one whatever project it was imported into,
    # and it keeps that project and name.
    content_id: bool = False

    def point(self, key: str, step: int, value: float, wall: float) -> None:
        """Add one scalar to the series ``key`` (cleaned into a key the tracker takes)."""
        name = clean_key(key)
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series()
        series.add(step, value, wall)

    def last_wall(self) -> float:
        walls = [max(s.walls) for s in self.series.values() if s.walls]
        walls += [m[2] for m in self.media[-1:]] + [c[1] for c in self.console[-1:]]
        return max(walls, default=self.created_at)


@dataclass(slots=True)
class RunResult:
    """What :func:`write_run` added for one run."""

    id: str
    name: str
    points: int = 0
    media: int = 0
    console: int = 0
    row_changed: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not (self.points or self.media or self.console or self.row_changed)


def clean_key(key: str) -> str:
    """A metric key the tracker accepts, the text otherwise kept as data: control characters
    become visible ``\\xNN`` escapes, an empty key ``_``, and a long one is cut."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", key)
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate
    return text[:MAX_KEY_LENGTH] or "_"


def clean_name(text: str, fallback: str) -> str:
    """A run name or project as stored: stripped, at most the tracker's length, never empty."""
    value = text.encode("utf-8", "replace").decode("utf-8").strip()
    return value[:MAX_NAME_LENGTH] or fallback


def write_run(
    store: Store, run: SourceRun, progress: Callable[[int], None] | None = None
) -> RunResult:
    """Append to ``store`` what it lacks of ``run``; ``progress(points)`` after each page."""
    result = RunResult(run.id, run.name, problems=list(run.problems))
    before = store.run_row(run.id)
    if before is not None and not _same_run(before, run):
        raise ImportConflict(
            f"the database already has another run {run.id} ({before['name']}, project "
            f"{before['project']}); not merged (import into another database, or give the "
            "--project it was imported with)"
        )
    if before is not None and run.content_id:
        if (before["project"], before["name"]) != (run.project, run.name):
            result.problems.append(
                f"the same run as {before['name']} (project {before['project']}), imported "
                "before by another path: kept there"
            )
        run.project, run.name = str(before["project"]), str(before["name"])
    created = float(before["created_at"]) if before is not None else run.created_at
    for key, series in run.series.items():
        result.points += _write_series(store, run.id, key, series, created, progress)
    have = store.row_counts(run.id) if store.has_media else {"media": 0, "console": 0}
    if store.has_media:
        result.media = _write_media(store, run, have["media"])
        result.console = _write_console(store, run, have["console"])
    row = _run_row(run, created, before)
    result.row_changed = before != row
    if result.row_changed or result.points or result.media or result.console:
        with transaction(store) as version:  # readers see the run as changed
            store.copy_run(row, version)
    return result


class ImportConflict(ValueError):
    """The destination holds another run (or this one under another project) with the id."""


def _same_run(row: dict[str, Any], run: SourceRun) -> bool:
    """This run imported before: its start and project are the source's (a run logged here, or
    another tool's, that happens to share the id is not)."""
    stored = float(row["created_at"])
    if not any(abs(stored - start) < 1e-3 for start in (run.created_at, *run.starts)):
        return False
    return run.content_id or row["project"] == run.project


def _write_series(
    store: Store,
    run_id: str,
    key: str,
    series: Series,
    created: float,
    progress: Callable[[int], None] | None,
) -> int:
    """Append the source's points the destination lacks, in step order, and keep the series'
    ``last`` the value at its highest step (ties: the latest wall time, then the one written
    last), as the source tools and ``history()`` show it, whatever order they were logged in."""
    wanted = len(series.values)
    with transaction(store) as version:
        sid, have, *_ = store.ensure_series(run_id, [key], version)[key]
    if have >= wanted:
        return 0
    times = [round((w - created) * 1000.0) for w in series.walls]
    points = list(zip(series.steps, times, series.values, strict=True))
    points.sort(key=lambda p: (p[0], p[1]))  # stable: equal steps and times keep source order
    stored = [_point(p) for p in store.history(sid)] if have else []
    if stored == points[:have]:  # the common case: new points only at higher steps
        fresh = points[have:]
    else:
        # Which points are new is told by content, not by position: a source whose new points
        # sort between the stored ones (a restarted TensorBoard writer re-logging old steps),
        # or one changed after an import was cut short, still gets each point exactly once.
        missing = Counter(_key(p) for p in points)
        missing.subtract(_key(p) for p in stored)
        # The stored copies are the first of equal points, the new ones the last: a point
        # re-logged at a step and time that tie is the source's last there, and must be the
        # series' ``last`` too (taken from the front, an older equal value came last).
        fresh = [p for p in reversed(points) if _take(missing, _key(p))][::-1]
    last_point: tuple[int, int, float] | None = None
    for point in stored:
        if last_point is None or point[:2] >= last_point[:2]:
            last_point = point
    written = 0
    for start in range(0, len(fresh), PAGE_POINTS):
        page = fresh[start : start + PAGE_POINTS]
        with transaction(store) as version:
            sid, have, low, high, nonfinite = store.ensure_series(run_id, [key], version)[key]
            steps = [p[0] for p in page]
            page_times = [p[1] for p in page]
            values = [p[2] for p in page]
            store.insert_points([(sid, have + 1, steps, values, page_times)])
            finite = [v for v in values if v - v == 0.0]
            if finite:
                low = min(finite) if low is None else min(low, *finite)
                high = max(finite) if high is None else max(high, *finite)
            if last_point is None or (page[-1][0], page[-1][1]) >= last_point[:2]:
                last_point = page[-1]  # the page is sorted: its end is its highest point
            step, t, last = last_point
            store.update_series(
                [
                    (have + len(page), None if math.isnan(last) else last, step, t, low, high,
                     nonfinite + len(values) - len(finite), version, sid)
                ]
            )  # fmt: skip
        written += len(values)
        if progress is not None:
            progress(len(values))
    return written


def _point(point: Point) -> tuple[int, int, float]:
    """A stored point as the source's ``(step, t ms, value)`` it was written from."""
    return point.step, round(point.t * 1000.0), point.value


def _key(point: tuple[int, int, float]) -> tuple[int, int, float, bool]:
    """A point as a dictionary key: NaN never equals itself (nor hashes alike), so a NaN
    point is matched on its step and time alone."""
    step, t, value = point
    return (step, t, 0.0, True) if math.isnan(value) else (step, t, value, False)


def _take(
    missing: Counter[tuple[int, int, float, bool]], key: tuple[int, int, float, bool]
) -> bool:
    """Whether the point ``key`` is one the destination lacks (counting it off if so)."""
    if missing[key] > 0:
        missing[key] -= 1
        return True
    return False


def _new_rows(source: list[Any], have: int, stored: Callable[[], list[Any]]) -> list[int]:
    """The positions in ``source`` (rows as comparable keys) the destination lacks. Usually
    the ones past the ``have`` it holds; told by content where the stored rows are not the
    source's first ones (a resumed run's later part imported before its earlier one)."""
    if have == 0 or have >= len(source):
        return list(range(have, len(source)))
    rows = stored()
    if rows == source[:have]:
        return list(range(have, len(source)))
    missing = Counter(source)
    missing.subtract(rows)
    fresh = []
    for index, row in enumerate(source):
        if missing[row] > 0:
            missing[row] -= 1
            fresh.append(index)
    return fresh


def _write_media(store: Store, run: SourceRun, have: int) -> int:
    keys = [(key, step, round(wall, 6), item.kind) for key, step, wall, item in run.media]
    picked = _new_rows(
        keys,
        have,
        lambda: [
            (k, s, round(t, 6), kind) for _i, k, s, t, kind, _m in store.read_media_index(run.id)
        ],
    )
    rows = [run.media[i] for i in picked]
    for start in range(0, len(rows), PAGE_ROWS):
        page = rows[start : start + PAGE_ROWS]
        with transaction(store):
            store.insert_media(
                [
                    (run.id, key, step, wall, item.kind, dumps(item.meta), item.data)
                    for key, step, wall, item in page
                ]
            )
    return len(rows)


def _write_console(store: Store, run: SourceRun, have: int) -> int:
    keys = [(stream, round(wall, 6), text) for stream, wall, text in run.console]
    picked = _new_rows(
        keys,
        have,
        lambda: [(stream, round(t, 6), text) for _i, stream, t, text in store.read_console(run.id)],
    )
    chunks = [run.console[i] for i in picked]
    for start in range(0, len(chunks), PAGE_ROWS):
        with transaction(store):
            store.insert_console([(run.id, *chunk) for chunk in chunks[start : start + PAGE_ROWS]])
    return len(chunks)


def _run_row(run: SourceRun, created: float, before: dict[str, Any] | None) -> dict[str, Any]:
    """The run's stored row. A source that says crashed is stored ``failed`` with an error
    that says so: an imported run has no process the viewer could watch, so it is never
    stored ``running``."""
    if run.status not in STATUSES:
        raise ValueError(f"status {run.status!r} is not one of {STATUSES}")
    error = run.error
    if run.status == "crashed":
        error = "crashed: " + (error or "the source has no record of the run ending")
    last = run.last_wall()
    finished = run.finished_at if run.finished_at is not None else last
    steps = [max(s.steps) for s in run.series.values() if s.steps]
    steps += [m[1] for m in run.media]
    step = max(steps) if steps else None
    if before is not None and before.get("step") is not None and step is not None:
        step = max(step, int(before["step"]))
    return {
        "id": run.id,
        "project": run.project,
        "name": run.name,
        "status": "finished" if run.status == "finished" else "failed",
        "created_at": created,
        "updated_at": max(finished, last),
        "finished_at": finished,
        "host": run.host or "imported",
        "pid": 0,
        "pid_start": None,
        "step": step,
        "tags": dumps(run.tags),
        "config": dumps(run.config),
        "summary": dumps(run.summary),
        "exit_code": run.exit_code,
        "error": error,
        "dropped": 0,
        "metric_defs": before["metric_defs"] if before is not None else "[]",
    }
