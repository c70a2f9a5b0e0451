"""Downsampling for the report: how many min/max buckets a chart gets, read through the
store's own bucketing (``Store.read_series``: every point is in a bucket, so a spike or a dip
that lasts one point survives as a bucket's max or min), and the buckets as plot coordinates.

The budget shrinks as runs are added, so a report of a hundred runs stays a few megabytes
while each line still has more buckets than a laptop screen has pixels for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.db.base import Store
from tracker.models import RunRecord

from .model import Series

MAX_BUCKETS = 400  # about one per horizontal pixel of a chart at laptop width
MIN_BUCKETS = 100
TOTAL_BUCKETS = 4000  # per chart, over all its runs


def bucket_budget(runs: int) -> int:
    """Buckets per series for a chart of ``runs`` lines."""
    if runs <= 0:
        return MAX_BUCKETS
    return max(MIN_BUCKETS, min(MAX_BUCKETS, TOTAL_BUCKETS // runs))


def read_downsampled(
    store: Store, run: RunRecord, key: str, buckets: int, follow_step_metric: bool = False
) -> Series | None:
    """``key`` of ``run`` in at most ``buckets`` buckets, or None when the run has no points.
    With ``follow_step_metric``, plotted against the run's step metric when it has one."""
    summary = run.metrics.get(key)
    if summary is None or summary.count == 0:
        return None
    count, read = store.read_series(summary.series_id, buckets)
    if not count:
        return None
    counter = run.step_metric(key) if follow_step_metric else None
    anchors = _anchors(store, run, counter, buckets) if counter else ()
    if not anchors:
        return Series(run.id, key, count, tuple(read))
    return Series(run.id, key, count, tuple(read), str(counter), anchors)


def _anchors(
    store: Store, run: RunRecord, counter: str | None, buckets: int
) -> tuple[tuple[float, float], ...]:
    """The step metric's values at logged steps: each bucket's first step at its minimum and
    last step at its maximum (a counter only grows), steps increasing; () when unusable."""
    summary = run.metrics.get(counter) if counter else None
    if summary is None or summary.count == 0:
        return ()
    _, read = store.read_series(summary.series_id, buckets)
    anchors: list[tuple[float, float]] = []
    for bucket in read:
        low, high = _finite(bucket.min), _finite(bucket.max)
        if low is None or high is None:
            continue
        for step, value in ((bucket.first_step, low), (bucket.last_step, high)):
            if not anchors or step > anchors[-1][0]:
                anchors.append((float(step), value))
    return tuple(anchors)


@dataclass(frozen=True, slots=True)
class Span:
    """One bucket as the chart draws it: x (the middle of its steps), the band's low and high,
    the line's value (its mean), and whether NaN or inf was logged in it."""

    x: float
    low: float | None
    high: float | None
    mid: float | None
    nonfinite: bool


def spans(series: Series) -> list[Span]:
    """A series' buckets as spans, at its x; a bucket of only NaN/inf has no value (the line
    breaks there)."""
    out = []
    for bucket in series.buckets:
        low, high, mean = _finite(bucket.min), _finite(bucket.max), _finite(bucket.mean)
        if low is not None and high is not None:
            if mean is None:
                mean = low / 2 + high / 2  # a backend without means: the band's middle
            mean = min(max(mean, low), high)  # rounding (or a foreign file) never leaves the band
        else:
            low = high = mean = None  # no finite extremes: nothing finite to draw
        x = series.x_at((bucket.first_step + bucket.last_step) / 2)
        out.append(Span(x, low, high, mean, bucket.nonfinite > 0))
    return out


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def extent(all_spans: Sequence[Sequence[Span]]) -> tuple[float, float, float, float] | None:
    """``(x0, x1, y0, y1)`` over every span with a value, or None when none has one."""
    xs = [s.x for group in all_spans for s in group]
    lows = [s.low for group in all_spans for s in group if s.low is not None]
    highs = [s.high for group in all_spans for s in group if s.high is not None]
    if not xs or not lows or not highs:
        return None
    return min(xs), max(xs), min(lows), max(highs)
