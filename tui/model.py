"""The UI thread's cache of the database: runs and the series it follows, updated by deltas.

Only :meth:`RunsModel.apply` changes it, with what the reader thread sent; widgets read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.models import RunRecord

from .metrics import main_metrics, ordered_metric_keys, section_of
from .reader import DbStatus, RunExtras, Update
from .series import SeriesBuffer, span_of_bucket

__all__ = ["Changed", "RunsModel", "main_metrics", "ordered_metric_keys", "section_of"]


@dataclass(slots=True)
class Changed:
    runs: set[str] = field(default_factory=set)
    series: set[int] = field(default_factory=set)
    status: bool = False
    reset: bool = False


class RunsModel:
    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}
        self.series: dict[int, SeriesBuffer] = {}
        self.extras: dict[str, RunExtras] = {}
        self.status = DbStatus("missing", "opening…")

    def apply(self, update: Update) -> Changed:
        changed = Changed()
        if update.reset:
            self.runs.clear()
            self.series.clear()
            self.extras.clear()
            changed.reset = True
        if update.status is not None:
            self.status = update.status
            changed.status = True
        for run in update.runs:
            self.runs[run.id] = run
            changed.runs.add(run.id)
        for run_id, extras in update.extras.items():
            self.extras[run_id] = extras
            changed.runs.add(run_id)
        for sid, (count, buckets) in update.loaded.items():
            buffer = self.series.setdefault(sid, SeriesBuffer())
            buffer.load((span_of_bucket(b) for b in buckets), count, count)
            changed.series.add(sid)
        for sid, points in update.points.items():
            followed = self.series.get(sid)
            if followed is not None:
                followed.extend(points)
                changed.series.add(sid)
        return changed

    def newest_first(self) -> list[RunRecord]:
        return sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)

    def live_count(self) -> int:
        return sum(1 for run in self.runs.values() if run.is_live)
