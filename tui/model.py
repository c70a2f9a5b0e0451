"""The UI thread's cache of the database: runs and the series it follows, updated by deltas.

It changes only by :meth:`RunsModel.apply`, one typed message of the reader's at a time
(:mod:`tui.messages`); widgets and screens read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tracker.models import RunRecord

from .console_log import ConsoleLog
from .media_model import MediaCache, RunMedia
from .messages import (
    Changed,
    ConsoleRead,
    DbStatus,
    Dropped,
    ExtrasRead,
    FileReopened,
    HistoryLoaded,
    MediaRead,
    PointsRead,
    ReaderMessage,
    RunExtras,
    RunsRead,
    StatusRead,
)
from .metrics import main_metrics, ordered_metric_keys, section_of
from .series import SeriesBuffer, span_of_bucket

__all__ = ["Changed", "RunsModel", "main_metrics", "ordered_metric_keys", "section_of"]

NOTHING = Changed()


class HoldsModel(Protocol):
    """What widgets need of the app: its model to read (they import neither app nor screens)."""

    model: RunsModel


class RunsModel:
    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}
        self.series: dict[int, SeriesBuffer] = {}
        self.extras: dict[str, RunExtras] = {}
        self.media = MediaCache()
        self.status = DbStatus("missing", "opening…")
        self._appliers: dict[type[ReaderMessage], Callable[[ReaderMessage], Changed]] = {
            FileReopened: self._reopened,  # type: ignore[dict-item]
            StatusRead: self._status,  # type: ignore[dict-item]
            RunsRead: self._runs,  # type: ignore[dict-item]
            HistoryLoaded: self._history,  # type: ignore[dict-item]
            PointsRead: self._points,  # type: ignore[dict-item]
            ExtrasRead: self._extras,  # type: ignore[dict-item]
            MediaRead: self._media,  # type: ignore[dict-item]
            ConsoleRead: self._console,  # type: ignore[dict-item]
            Dropped: self._dropped,  # type: ignore[dict-item]
        }

    def apply(self, message: ReaderMessage) -> Changed:
        """Apply one message of the reader's; returns what it changed."""
        return self._appliers[type(message)](message)

    def _reopened(self, message: FileReopened) -> Changed:
        self.runs.clear()
        self.series.clear()
        self.extras.clear()
        self.media.clear()
        return Changed(reset=True)

    def _status(self, message: StatusRead) -> Changed:
        self.status = message.status
        return Changed(status=True)

    def _runs(self, message: RunsRead) -> Changed:
        for run in message.runs:
            self.runs[run.id] = run
        return Changed(runs=frozenset(run.id for run in message.runs))

    def _extras(self, message: ExtrasRead) -> Changed:
        self.extras.update(message.extras)
        return Changed(runs=frozenset(message.extras))

    def _history(self, message: HistoryLoaded) -> Changed:
        for sid, (count, buckets) in message.loaded.items():
            buffer = self.series.setdefault(sid, SeriesBuffer())
            buffer.load((span_of_bucket(b) for b in buckets), count, count)
        return Changed(series=frozenset(message.loaded))

    def _points(self, message: PointsRead) -> Changed:
        changed = set()
        for sid, points in message.points.items():
            followed = self.series.get(sid)
            if followed is not None:
                followed.extend(points)
                changed.add(sid)
        return Changed(series=frozenset(changed)) if changed else NOTHING

    def _media(self, message: MediaRead) -> Changed:
        changed = set()
        for run_id, items in message.media.items():
            self.media.runs.setdefault(run_id, RunMedia()).add(items)
            changed.add(run_id)
        for media_id, data in message.data.items():
            self.media.add_data(media_id, data)
        if message.data:
            changed.update(self.media.runs)
        return Changed(media=frozenset(changed))

    def _console(self, message: ConsoleRead) -> Changed:
        for run_id, chunks in message.console.items():
            log = self.media.consoles.setdefault(run_id, ConsoleLog())
            for chunk_id, stream, t, text in chunks:
                if chunk_id > log.last_id:  # a chunk read twice (re-followed) is shown once
                    log.feed(stream, t, text)
                    log.last_id = chunk_id
        return Changed(console=frozenset(message.console))

    def _dropped(self, message: Dropped) -> Changed:
        for sid in message.series_ids:
            self.series.pop(sid, None)
        for run_id in message.run_ids:
            self.media.forget_run(run_id)
        return Changed(
            series=frozenset(message.series_ids),
            media=frozenset(message.run_ids),
            console=frozenset(message.run_ids),
        )

    def newest_first(self) -> list[RunRecord]:
        return sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)

    def live_count(self) -> int:
        return sum(1 for run in self.runs.values() if run.is_live)
