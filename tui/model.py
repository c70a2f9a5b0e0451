"""The UI thread's cache of the database: runs and the series it follows, updated by deltas.

Only :meth:`RunsModel.apply` changes it, with what the reader thread sent; widgets read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.models import RunRecord

from .console_log import ConsoleLog
from .media_model import MediaCache, RunMedia
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
    media: set[str] = field(default_factory=set)  # runs with new media or media data
    console: set[str] = field(default_factory=set)  # runs with new console output

    def merged(self, later: Changed) -> Changed:
        """What changed in this update or the ``later`` one (frames fold several together)."""
        return Changed(
            self.runs | later.runs,
            self.series | later.series,
            self.status or later.status,
            self.reset or later.reset,
            self.media | later.media,
            self.console | later.console,
        )


class RunsModel:
    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}
        self.series: dict[int, SeriesBuffer] = {}
        self.extras: dict[str, RunExtras] = {}
        self.media = MediaCache()
        self.status = DbStatus("missing", "opening…")

    def apply(self, update: Update) -> Changed:
        changed = Changed()
        if update.reset:
            self.runs.clear()
            self.series.clear()
            self.extras.clear()
            self.media.clear()
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
        for run_id, items in update.media.items():
            self.media.runs.setdefault(run_id, RunMedia()).add(items)
            changed.media.add(run_id)
        for media_id, data in update.media_data.items():
            self.media.add_data(media_id, data)
        if update.media_data:
            changed.media.update(self.media.runs)
        for run_id, chunks in update.console.items():
            log = self.media.consoles.setdefault(run_id, ConsoleLog())
            for chunk_id, stream, t, text in chunks:
                if chunk_id > log.last_id:  # a chunk read twice (re-followed) is shown once
                    log.feed(stream, t, text)
                    log.last_id = chunk_id
            changed.console.add(run_id)
        return changed

    def newest_first(self) -> list[RunRecord]:
        return sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)

    def live_count(self) -> int:
        return sum(1 for run in self.runs.values() if run.is_live)
