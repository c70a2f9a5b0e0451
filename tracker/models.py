"""Plain data read back from the database: runs, metric summaries, points and deltas."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .metric_defs import MetricDef

LIVE = "running"
FINISHED = "finished"
FAILED = "failed"
CRASHED = "crashed"
STATUSES = (LIVE, FINISHED, FAILED, CRASHED)


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """What the ``series`` table knows about one metric of one run, without reading its points."""

    series_id: int
    key: str
    count: int
    last: float | None  # None only when nothing was logged; NaN is returned as float('nan')
    min: float | None  # over finite values
    max: float | None
    last_step: int | None
    nonfinite: int

    def as_json(self) -> dict[str, Any]:
        from .jsonable import json_safe_number

        return {
            "last": json_safe_number(self.last),
            "min": json_safe_number(self.min),
            "max": json_safe_number(self.max),
            "step": self.last_step,
            "count": self.count,
        }


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as stored, plus its metric summaries; ``status`` is the derived status."""

    id: str
    name: str
    project: str
    status: str
    stored_status: str
    created_at: float
    updated_at: float
    finished_at: float | None
    host: str
    pid: int
    pid_start: float | None
    step: int | None
    tags: list[str]
    config: dict[str, Any]
    summary: dict[str, Any]
    exit_code: int | None
    error: str | None
    dropped: int
    version: int
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> kind, count, step
    metric_defs: list[MetricDef] = field(default_factory=list)  # define_metric, in order
    events: list[RunEvent] = field(default_factory=list)  # oldest first

    def step_metric(self, key: str) -> str | None:
        """The metric ``key`` is plotted against (``define_metric``, else the counter the run
        logs without defining it: :attr:`guessed_counter`), None for the step."""
        from .metric_defs import step_metric_of

        if self.metric_defs:
            return step_metric_of(self.metric_defs, key)
        return self.counter_for(key)

    def _defined_counter(self) -> str | None:
        """The step metric of the run's most logged metric, or None where that one is on the
        run's own step (``metric_defs.main_step_metric``)."""
        from .metric_defs import main_step_metric

        uses = _step_metric_uses(tuple(self.metric_defs), tuple(self.metrics))
        if not uses:
            return None
        metrics = self.metrics
        return main_step_metric(uses, {key: metrics[key].count for key, _ in uses})

    @property
    def guessed_counter(self) -> str | None:
        """A step counter the run logs as a metric without ``define_metric`` (``iter``,
        ``global_step``, ``step``...: :func:`tracker.metric_defs.guess_step_metric`)."""
        from .metric_defs import guess_step_metric

        return guess_step_metric(self.metrics) if self.metrics else None

    @property
    def own_step(self) -> int | float | None:
        """The step as the run counts it: its main step metric's last value (``iter``,
        ``train/global_step``) when it has one, else the logged step."""
        metric = self.main_counter
        counter = self.metrics.get(metric) if metric is not None else None
        if counter is None or counter.last is None or not math.isfinite(counter.last):
            return self.step
        last = counter.last
        return int(last) if last.is_integer() else last

    def counter_for(self, key: str) -> str | None:
        counter = self.guessed_counter
        if counter is None or key == counter or key.startswith("sys/"):
            return None
        return counter

    def goal(self, key: str) -> str | None:
        """``"min"``/``"max"`` when the run defined which way ``key`` is better."""
        from .metric_defs import goal_of

        return goal_of(self.metric_defs, key) if self.metric_defs else None

    @property
    def resumes(self) -> list[RunEvent]:
        return [event for event in self.events if event.kind == "resumed"]

    @property
    def duration_s(self) -> float:
        """Wall time from start to finish, or to the last heartbeat for a run not finished."""
        end = self.finished_at if self.finished_at is not None else self.updated_at
        return max(0.0, end - self.created_at)

    @property
    def counters(self) -> frozenset[str]:
        """The metrics this run counts its steps with (its step metrics, or the counter it
        logs): an x-axis, not something to rank runs by or give a column of its own."""
        from .metric_defs import step_metrics

        if self.metric_defs:
            return frozenset(step_metrics(self.metric_defs))
        counter = self.guessed_counter
        return frozenset((counter,)) if counter is not None else frozenset()

    @property
    def main_counter(self) -> str | None:
        """The metric the run counts its steps with (defined, else guessed), or None."""
        return self._defined_counter() if self.metric_defs else self.guessed_counter

    @property
    def steps_per_s(self) -> float | None:
        """Training speed, in the run's own steps, since it last started (its creation, or its
        last resume: the time it was down does not count): logged steps per second of wall
        time, scaled by how far its main step metric moves per logged step when it has one
        (``iter``, ``train/global_step``)."""
        if self.step is None:
            return None
        end = self.finished_at if self.finished_at is not None else self.updated_at
        start_t, start_step = self.created_at, -1
        resumes = self.resumes
        if resumes and resumes[-1].step is not None:
            start_t, start_step = resumes[-1].t, resumes[-1].step
        elapsed = end - start_t
        if elapsed <= 0:
            return None
        metric = self.main_counter
        counter = self.metrics.get(metric) if metric is not None else None
        if (
            counter is not None
            and counter.last is not None
            and counter.min is not None
            and math.isfinite(counter.last)
            and self.step > 0
        ):  # the counter's progress, the share of it made since the last start
            share = (self.step - max(start_step, 0)) / self.step
            return (counter.last - counter.min) * share / elapsed
        return (self.step - start_step) / elapsed

    @property
    def is_live(self) -> bool:
        return self.status == LIVE


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Something that happened to a run at a step: ``resumed`` (after a crash or a finish; its
    ``detail`` says what the run was before), ``alert`` (from the script)."""

    id: int
    run_id: str
    t: float
    step: int | None
    kind: str
    key: str | None
    level: str | None
    title: str
    detail: dict[str, Any]

    @property
    def headline(self) -> str:
        """The title as people read it: an alert's text after its title, "(resolved)" on the
        event that ends a health episode."""
        title = self.title
        if self.kind == "alert" and self.detail.get("text"):
            title = f"{title}: {self.detail['text']}"
        if self.detail.get("resolved") is True and "resolved" not in title.lower():
            title = f"{title} (resolved)"
        return title

    def as_json(self) -> dict[str, Any]:
        from .jsonable import to_json_safe

        return {
            "kind": self.kind,
            "time": iso_time(self.t),
            "step": self.step,
            "key": self.key,
            "level": self.level,
            "title": self.title,
            "detail": to_json_safe(self.detail),
        }


@lru_cache(maxsize=4096)
def _step_metric_uses(
    defs: tuple[MetricDef, ...], keys: tuple[str, ...]
) -> tuple[tuple[str, str | None], ...]:
    """``step_metric_uses``, cached: the runs table asks it of every row it draws."""
    from .metric_defs import step_metric_uses

    return tuple(step_metric_uses(defs, keys))


class Point(NamedTuple):
    """One logged value (a tuple: reading 100,000 of them must be cheap)."""

    seq: int
    step: int
    value: float  # NaN for a logged NaN
    t: float  # seconds since the run started


@dataclass(frozen=True, slots=True)
class Bucket:
    """Min/max downsampling of consecutive points: spikes survive, NaN counts are kept."""

    first_step: int
    last_step: int
    min: float | None
    max: float | None
    first_t: float
    last_t: float
    count: int
    nonfinite: int
    mean: float | None = None  # of the finite values


@dataclass(slots=True)
class Changes:
    """What ``Store.read_changes`` returns: everything newer than a cursor."""

    version: int
    runs: list[RunRecord]
    points: dict[int, list[Point]]


def nan_if_none(value: float | None, count: int) -> float | None:
    """SQLite stores NaN as NULL; a NULL last value of a series with points was a NaN."""
    if value is None and count > 0:
        return math.nan
    return value


def iso_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds")


def run_as_json(run: RunRecord) -> dict[str, Any]:
    """The ``tracktui ls --json`` object of a run (valid JSON: non-finite numbers as strings)."""
    from .jsonable import to_json_safe

    return {
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "status": run.status,
        "created_at": iso_time(run.created_at),
        "updated_at": iso_time(run.updated_at),
        "finished_at": iso_time(run.finished_at),
        "duration_s": round(run.duration_s, 3),
        "step": run.step,
        "host": run.host,
        "pid": run.pid,
        "tags": list(run.tags),
        "config": to_json_safe(run.config),
        "summary": to_json_safe(run.summary),
        "metrics": {key: m.as_json() for key, m in sorted(run.metrics.items())},
        "media": dict(sorted(run.media.items())),
        "exit_code": run.exit_code,
        "error": run.error,
        "dropped_points": run.dropped,
        "metric_defs": [d.as_json() for d in run.metric_defs],
        "events": [event.as_json() for event in run.events],
    }
