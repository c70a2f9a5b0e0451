"""The report's data: frozen records of everything the HTML shows, read once from the store.

:mod:`.gather` fills them (the only module that talks to the store); :mod:`.render` turns
them into HTML. Text read from the database is kept raw here: it is made safe at the boundary,
by :mod:`.render` (the sanitizer for controls, Jinja's autoescape for markup).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tracker.models import Bucket, RunEvent, RunRecord

if TYPE_CHECKING:
    from tracker.media.decoded import ChartData, ConfusionData, HistogramData, TableData


@dataclass(frozen=True, slots=True)
class Series:
    """One metric of one run, downsampled: at most ``buckets`` min/max/mean buckets of
    ``count`` points (every point was read by the store's own bucketing, none skipped).

    ``x_name`` is what it is plotted against: the logged ``step``, or the run's step metric
    (``define_metric(step_metric=...)`` or a counter it logs, as the TUI plots it), whose
    values at logged steps ``x_anchors`` holds (``(step, value)``, steps increasing)."""

    run_id: str
    key: str
    count: int
    buckets: tuple[Bucket, ...]
    x_name: str = "step"
    x_anchors: tuple[tuple[float, float], ...] = ()

    def x_at(self, step: float) -> float:
        """The x of a logged step: the step itself, or the step metric's value there
        (interpolated between the anchors, held flat past either end)."""
        anchors = self.x_anchors
        if not anchors:
            return step
        import bisect

        index = bisect.bisect_left(anchors, (step, -math.inf))
        if index <= 0:
            return anchors[0][1]
        if index >= len(anchors):
            return anchors[-1][1]
        (s0, v0), (s1, v1) = anchors[index - 1], anchors[index]
        return v0 if s1 == s0 else v0 + (v1 - v0) * (step - s0) / (s1 - s0)


@dataclass(frozen=True, slots=True)
class Picture:
    """An image, ready to embed: its (validated, possibly re-encoded) bytes and type."""

    mime: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class MediaEntry:
    """The latest media object of one key of one run, decoded (or why it cannot be)."""

    run_id: str
    key: str
    step: int
    kind: str
    caption: str
    count: int  # how many of this key the run logged
    picture: Picture | None = None
    table: TableData | None = None
    chart: ChartData | None = None
    histogram: HistogramData | None = None
    confusion: ConfusionData | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    """When and from what the report was made."""

    made_at: float
    version: str
    source: str  # the database as shown (URLs masked)
    filter: str
    run_ids: tuple[str, ...]  # the ids asked for with --runs (empty: all that matched)
    metrics: tuple[str, ...]  # as asked for with --metrics (empty: the defaults)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one report shows; ``runs`` in the table's order."""

    title: str
    runs: tuple[RunRecord, ...]
    metrics: tuple[str, ...]  # the charted metrics, in order
    series: dict[tuple[str, str], Series]  # (run id, key) -> series
    hardware: dict[tuple[str, str], Series]  # (run id, sys key) -> series, for sparklines
    media: tuple[MediaEntry, ...]
    events: tuple[tuple[RunRecord, RunEvent], ...]  # health events and alerts, oldest first
    provenance: Provenance
    notes: tuple[str, ...] = field(default_factory=tuple)  # what was left out, and why
