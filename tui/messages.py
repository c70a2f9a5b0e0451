"""The viewer's messages: one typed message per kind of change, and per kind of request.

Data flows one way. The reader thread posts what a read found (:class:`StatusRead`,
:class:`RunsRead`, :class:`HistoryLoaded`, :class:`PointsRead`, :class:`ExtrasRead`,
:class:`MediaRead`, :class:`ConsoleRead`); the app applies each to the model (the model
changes only that way) and, once a frame, tells the screens what changed
(:class:`DataChanged`, and :class:`OptionsChanged` for the plot options). Widgets and screens
ask for data by posting requests (:class:`FollowSeries`, :class:`FollowMedia`, ...) to the
app; they never call it. (Posted to the app itself: Textual stops a bubbling message at the
parent that was active when it was made, as a screen is while it mounts its panes.)

Every payload is read-only from the moment it is posted: tuples and frozen records that the
reader replaces rather than changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType

from textual.message import Message

from tracker.media.decoded import MediaItem
from tracker.models import Bucket, Point, RunRecord

from .media_decode import Decoded

# --- what the reader found (reader thread -> app) --------------------------------------------


@dataclass(frozen=True, slots=True)
class DbStatus:
    state: str  # "ok", "missing", "empty", "error"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RunExtras:
    """What the comparison table shows beyond the summaries: a trend and smoothed values."""

    trend_key: str | None
    trend: tuple[float | None, ...]  # bucket means of the trend metric, oldest first
    recent: Mapping[str, float | None] = field(default_factory=dict)  # key -> recent mean


class ReaderMessage(Message, bubble=False):
    """A change the reader thread found in the file."""


class FileReopened(ReaderMessage):
    """The file was (re)opened: forget everything held; what it holds comes next."""


class StatusRead(ReaderMessage):
    def __init__(self, status: DbStatus) -> None:
        super().__init__()
        self.status = status


class RunsRead(ReaderMessage):
    """Runs that are new or changed (whole records, replacing the ones held)."""

    def __init__(self, runs: Iterable[RunRecord]) -> None:
        super().__init__()
        self.runs = tuple(runs)


class HistoryLoaded(ReaderMessage):
    """The first history of followed series: series id -> (points in all, buckets)."""

    def __init__(self, loaded: Mapping[int, tuple[int, list[Bucket]]]) -> None:
        super().__init__()
        self.loaded: Mapping[int, tuple[int, tuple[Bucket, ...]]] = MappingProxyType(
            {sid: (count, tuple(buckets)) for sid, (count, buckets) in loaded.items()}
        )


class PointsRead(ReaderMessage):
    """New points of followed series: series id -> points, oldest first."""

    def __init__(self, points: Mapping[int, list[Point]]) -> None:
        super().__init__()
        self.points: Mapping[int, tuple[Point, ...]] = MappingProxyType(
            {sid: tuple(values) for sid, values in points.items()}
        )


class ExtrasRead(ReaderMessage):
    def __init__(self, extras: Mapping[str, RunExtras]) -> None:
        super().__init__()
        self.extras: Mapping[str, RunExtras] = MappingProxyType(dict(extras))


class MediaRead(ReaderMessage):
    """New media rows of followed runs, and media data that was asked for (decoded)."""

    def __init__(self, media: Mapping[str, list[MediaItem]], data: Mapping[int, Decoded]) -> None:
        super().__init__()
        self.media: Mapping[str, tuple[MediaItem, ...]] = MappingProxyType(
            {run_id: tuple(items) for run_id, items in media.items()}
        )
        self.data: Mapping[int, Decoded] = MappingProxyType(dict(data))


ConsoleChunk = tuple[int, int, float, str]  # id, stream, seconds, text


class Dropped(ReaderMessage):
    """Series and runs the app stopped following: their data leaves the model too."""

    def __init__(self, series_ids: Iterable[int] = (), run_ids: Iterable[str] = ()) -> None:
        super().__init__()
        self.series_ids = tuple(series_ids)
        self.run_ids = tuple(run_ids)


class ConsoleRead(ReaderMessage):
    def __init__(self, console: Mapping[str, list[ConsoleChunk]]) -> None:
        super().__init__()
        self.console: Mapping[str, tuple[ConsoleChunk, ...]] = MappingProxyType(
            {run_id: tuple(chunks) for run_id, chunks in console.items()}
        )


class ReadDone(ReaderMessage):
    """After the messages of one read: a frame may be drawn now."""


class ReadBatch(ReaderMessage):
    """One read's messages in order, then its end (:class:`ReadDone`): posted as one, since
    each post from the reader thread wakes the UI thread's loop on its own."""

    def __init__(self, messages: Iterable[ReaderMessage]) -> None:
        super().__init__()
        self.messages = tuple(messages)


# --- what changed, once a frame (app -> screens) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Changed:
    runs: AbstractSet[str] = frozenset()
    series: AbstractSet[int] = frozenset()
    status: bool = False
    reset: bool = False
    media: AbstractSet[str] = frozenset()  # runs with new media or media data
    console: AbstractSet[str] = frozenset()  # runs with new console output

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


class DataChanged(Message, bubble=False):
    """Sent to each screen at a frame: what the model applied since the last one."""

    def __init__(self, changed: Changed) -> None:
        super().__init__()
        self.changed = changed


class OptionsChanged(Message, bubble=False):
    """Sent to each screen when the plot options (x-axis, log-y, smoothing) changed."""


# --- requests (widgets and screens -> app) ---------------------------------------------------


class FollowSeries(Message):
    """Read the history and then the new points of these series."""

    def __init__(self, series_ids: Iterable[int]) -> None:
        super().__init__()
        self.series_ids = tuple(series_ids)


class FollowMedia(Message):
    """Read this run's media list, then its new media as they come."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


class FollowConsole(Message):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


class UnfollowMedia(Message):
    """Stop following these runs' media and console, and forget what was read of them."""

    def __init__(self, run_ids: Iterable[str]) -> None:
        super().__init__()
        self.run_ids = tuple(run_ids)


class WantMediaData(Message):
    """Read and decode these media (images, tables...) on the reader's thread."""

    def __init__(self, items: Iterable[MediaItem]) -> None:
        super().__init__()
        self.items = tuple(items)
