"""A metric's history as the TUI holds it: a bounded list of min/max buckets.

The first load comes from SQL already bucketed (``store.history_buckets``); live points append
as one-point buckets; past :data:`MAX_BUCKETS` neighbours merge pairwise. So memory and redraw
cost stay bounded for a series of any length, and spikes survive every merge (min and max are
kept, never averaged away). Columns for a plot of width W are a second min/max pass.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter

from tracker.models import Bucket, Point

MAX_BUCKETS = 8192


@dataclass(slots=True)
class Span:
    """Consecutive points: their step and time range, min/max/mean of the finite values."""

    first_step: int
    last_step: int
    first_t: float
    last_t: float
    min: float | None
    max: float | None
    total: float  # sum of finite values
    finite: int
    nonfinite: int

    @property
    def mean(self) -> float | None:
        return _mean(self.total, self.finite, self.min, self.max)

    def merge(self, other: Span) -> Span:
        low = [v for v in (self.min, other.min) if v is not None]
        high = [v for v in (self.max, other.max) if v is not None]
        return Span(
            self.first_step, other.last_step, self.first_t, other.last_t,
            min(low) if low else None, max(high) if high else None,
            self.total + other.total, self.finite + other.finite, self.nonfinite + other.nonfinite,
        )  # fmt: skip


def _mean(total: float, count: int, low: float | None, high: float | None) -> float | None:
    """``total / count``; where the total overflowed (values near the largest float, as a
    diverged run logs), the middle of the range instead of inf."""
    if not count:
        return None
    mean = total / count
    if not math.isfinite(mean) and low is not None and high is not None:
        return low / 2 + high / 2
    return mean


def span_of_point(point: Point) -> Span:
    value = point.value
    if math.isfinite(value):
        return Span(point.step, point.step, point.t, point.t, value, value, value, 1, 0)
    return Span(point.step, point.step, point.t, point.t, None, None, 0.0, 0, 1)


def span_of_bucket(bucket: Bucket) -> Span:
    finite = bucket.count - bucket.nonfinite
    total = (bucket.mean or 0.0) * finite
    return Span(
        bucket.first_step, bucket.last_step, bucket.first_t, bucket.last_t,
        bucket.min, bucket.max, total, finite, bucket.nonfinite,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    x: float
    min: float | None
    max: float | None
    mean: float | None
    nonfinite: int


class StepAxis:
    """A metric used as an x-axis: step -> its last value logged at or before that step
    (wandb's ``step_sync``), from the metric's spans. Exact for one-point spans; inside a merged
    span of a monotone metric (a counter such as ``iter``), linear between the span's first and
    last value (its min and max); inside a merged span of a metric that goes both ways, the
    span's mean."""

    __slots__ = ("first", "last", "x_first", "x_last")

    def __init__(self, spans: Sequence[Span]) -> None:
        kept = [(s, s.min, s.max) for s in spans if s.min is not None and s.max is not None]
        rising = all(a[2] <= b[1] for a, b in pairwise(kept))
        falling = not rising and all(a[1] >= b[2] for a, b in pairwise(kept))
        self.first = [s.first_step for s, _, _ in kept]
        self.last = [s.last_step for s, _, _ in kept]
        self.x_first: list[float] = []
        self.x_last: list[float] = []
        for s, low, high in kept:
            if rising:
                self.x_first.append(low)
                self.x_last.append(high)
            elif falling:
                self.x_first.append(high)
                self.x_last.append(low)
            else:
                mean = s.mean if s.mean is not None else (low + high) / 2
                self.x_first.append(mean)
                self.x_last.append(mean)

    def __len__(self) -> int:
        return len(self.first)

    def at(self, step: float) -> float | None:
        """The x of a point at ``step``; None before the metric's first finite value."""
        index = bisect_right(self.first, step) - 1
        if index < 0:
            return None
        first, last = self.first[index], self.last[index]
        if step >= last or last == first:
            return self.x_last[index]
        start = self.x_first[index]
        return start + (self.x_last[index] - start) * (step - first) / (last - first)


class SeriesBuffer:
    """One followed series. ``seq`` is the last sequence number held (for the next delta)."""

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        self.spans: list[Span] = []
        self.seq = 0
        self.count = 0
        self.max_buckets = max_buckets
        self.version = 0  # bumped on every change, so widgets redraw only what changed
        self.generation = 0  # bumped when spans are replaced or merged, not when appended
        self._axis: tuple[int, StepAxis] | None = None
        self._xs: dict[bool, list[float]] = {}  # use_time -> x of each span so far
        self._binned: dict[tuple[int, bool, tuple[float, float]], _Binned] = {}

    def step_axis(self) -> StepAxis:
        """This series as an x-axis for others (rebuilt only when it changed)."""
        if self._axis is None or self._axis[0] != self.version:
            self._axis = (self.version, StepAxis(self.spans))
        return self._axis[1]

    def load(self, spans: Iterable[Span], seq: int, count: int) -> None:
        self.spans = list(spans)
        self.seq = seq
        self.count = count
        self._coarsen()
        self._replaced()
        self.version += 1

    def _replaced(self) -> None:
        """Spans were replaced or merged: what was worked out from the old ones is stale."""
        self.generation += 1
        self._xs.clear()
        self._binned.clear()

    def extend(self, points: Sequence[Point]) -> None:
        fresh = [p for p in points if p.seq > self.seq]
        if not fresh:
            return
        self.spans.extend(span_of_point(p) for p in fresh)
        self.seq = fresh[-1].seq
        self.count += len(fresh)
        self._coarsen()
        self.version += 1

    def _coarsen(self) -> None:
        spans = self.spans
        if len(spans) <= self.max_buckets:
            return
        while len(spans) > self.max_buckets:
            merged = [spans[i].merge(spans[i + 1]) for i in range(0, len(spans) - 1, 2)]
            if len(spans) % 2:
                merged.append(spans[-1])
            spans = merged
        self.spans = spans
        self._replaced()

    def x_values(
        self, use_time: bool = False, axis: StepAxis | None = None
    ) -> tuple[list[Span], list[float]]:
        """The spans that have an x, and their x: the step, the time (``use_time``) or another
        metric's value at the span's steps (``axis``; spans before that metric's first value are
        left out, the rest in x order)."""
        spans = self.spans
        if axis is not None:
            return _against(spans, axis)
        xs = self._xs.setdefault(use_time, [])  # spans are only appended between merges
        if len(xs) < len(spans):
            fresh = spans[len(xs) :]
            if use_time:
                xs.extend((s.first_t + s.last_t) / 2 for s in fresh)
            else:
                xs.extend((s.first_step + s.last_step) / 2 for s in fresh)
        return spans, xs

    def columns(
        self,
        width: int,
        use_time: bool = False,
        axis: StepAxis | None = None,
        x_range: tuple[float, float] | None = None,
    ) -> list[Column]:
        """Min/max of the spans falling in each of ``width`` equal x-ranges (spikes survive).

        The ranges split the data's own x extent, or ``x_range`` when given: a plot that keeps
        its axis while a live series grows gets the same columns for the old points."""
        if not self.spans or width <= 0:
            return []
        spans, xs = self.x_values(use_time, axis)
        if axis is not None or x_range is None:
            return bucket_columns(spans, xs, width, x_range)
        return self._binned_columns(width, use_time, x_range, xs)

    def _binned_columns(
        self, width: int, use_time: bool, x_range: tuple[float, float], xs: Sequence[float]
    ) -> list[Column]:
        """Columns over a fixed axis, kept from one call to the next: new spans only add to
        the last column or start new ones, so a live series costs its new points, not its
        whole history (a plot redrawn five times a second over 8,192 spans)."""
        key = (width, use_time, x_range)
        binned = self._binned.get(key)
        if binned is None:
            if len(self._binned) >= 8:
                self._binned.clear()
            binned = self._binned[key] = _Binned()
        start = 0
        if binned.starts:  # the last column may grow: it is worked out again
            start = binned.starts.pop()
            binned.columns.pop()
        columns, starts = _contiguous_columns(self.spans, xs, start, width, x_range)
        binned.columns.extend(columns)
        binned.starts.extend(starts)
        return list(binned.columns)


@dataclass(slots=True)
class _Binned:
    columns: list[Column] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # each column's first span


def _contiguous_columns(
    spans: Sequence[Span],
    xs: Sequence[float],
    start: int,
    width: int,
    x_range: tuple[float, float],
) -> tuple[list[Column], list[int]]:
    """Columns for ``spans[start:]`` (x ascending), and the index of each column's first span."""
    low, high = x_range
    scale = (width - 1) / (high - low) if high > low else 0.0
    columns: list[Column] = []
    starts: list[int] = []
    end = len(spans)
    index = start
    while index < end:
        column = int((xs[index] - low) * scale)
        last = index + 1
        while last < end and int((xs[last] - low) * scale) == column:
            last += 1
        starts.append(index)
        columns.append(_merged_column(spans, xs, index, last))
        index = last
    return columns, starts


def _merged_column(spans: Sequence[Span], xs: Sequence[float], first: int, last: int) -> Column:
    if last - first == 1:
        s = spans[first]
        return Column(xs[first], s.min, s.max, s.mean, s.nonfinite)
    chosen = spans[first:last]
    mins = [s.min for s in chosen if s.min is not None]
    maxs = [s.max for s in chosen if s.max is not None]
    finite = sum(s.finite for s in chosen)
    total = sum(s.total for s in chosen)
    low, high = (min(mins), max(maxs)) if mins and maxs else (None, None)
    count = last - first
    return Column(
        x=sum(x / count for x in xs[first:last]),  # (x / count: a sum of 1e308s overflows)
        min=low,
        max=high,
        mean=_mean(total, finite, low, high),
        nonfinite=sum(s.nonfinite for s in chosen),
    )


def bucket_columns(
    spans: Sequence[Span],
    xs: Sequence[float],
    width: int,
    x_range: tuple[float, float] | None = None,
) -> list[Column]:
    """Spans (at ``xs``, ascending) grouped into ``width`` columns of equal x-range."""
    if not spans:
        return []
    low, high = x_range if x_range is not None else (min(xs), max(xs))
    if (len(spans) <= width and x_range is None) or high <= low:
        return [
            Column(x, s.min, s.max, s.mean, s.nonfinite) for x, s in zip(xs, spans, strict=True)
        ]
    return _contiguous_columns(spans, xs, 0, width, (low, high))[0]


def _against(spans: Sequence[Span], axis: StepAxis) -> tuple[list[Span], list[float]]:
    """The spans that have an x on ``axis``, and their x (the mean of the x at their first and
    last step), sorted by x."""
    at = axis.at
    pairs: list[tuple[float, Span]] = []
    for s in spans:
        end = at(s.last_step)
        if end is None:
            continue  # before the x metric's first value
        start = end if s.last_step == s.first_step else at(s.first_step)
        pairs.append((end if start is None else start / 2 + end / 2, s))  # (1e308 + 1e308: inf)
    pairs.sort(key=itemgetter(0))  # already in order for a rising axis (linear time then)
    return [p[1] for p in pairs], [p[0] for p in pairs]


def ema(columns: Sequence[Column], weight: float) -> list[float | None]:
    """Causal exponential moving average of column means: a live tail never rewrites the past.

    ``weight`` in [0, 1) is the share of the previous average kept (0.6 = light smoothing)."""
    out: list[float | None] = []
    average: float | None = None
    for column in columns:
        if column.mean is not None:
            average = (
                column.mean if average is None else weight * average + (1 - weight) * column.mean
            )
        out.append(average if column.mean is not None else None)
    return out
