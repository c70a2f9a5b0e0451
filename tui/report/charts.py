"""Chart geometry for the report's SVG: axes, ticks, one line per run with its min/max band,
NaN/inf and health-event markers; sparklines and histogram bars.

Pure numbers in, frozen geometry out: no markup is written here. The template draws the
geometry (:mod:`.render`), so every label read from the database reaches the SVG through
Jinja's autoescape like the rest of the page. Path data holds only numbers we formatted.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tracker.media.decoded import HistogramData

from .downsample import Span, extent, spans
from .model import Series

WIDTH, HEIGHT = 640.0, 280.0
LEFT, RIGHT, TOP, BOTTOM = 58.0, 12.0, 14.0, 30.0
LOG_DECADES = 2.0  # a positive metric spanning this many decades is drawn on a log scale
# A bucket whose max (or min) stands this far from its mean, in pixels, and this many times
# the line's usual spread, is drawn as a solid stroke: a one-step spike in 100k points must
# read as a spike, not only as a faint band.
SPIKE_PIXELS = 6.0
SPIKE_SPREAD = 4.0


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float  # pixels along the axis
    label: str


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    color: str  # a CSS class suffix: error, warn
    label: str  # raw text; escaped by the template


@dataclass(frozen=True, slots=True)
class Line:
    run_id: str
    color: str
    d: str  # path data of the line (its means)
    bands: tuple[str, ...]  # polygon points of the min/max envelope, one per unbroken stretch
    nonfinite: tuple[tuple[float, float], ...]  # stretches (x from, x to) holding NaN/inf
    points: int
    last: float | None
    spikes: str = ""  # path data: a stroke from the mean to each outlying max or min
    values: tuple[tuple[float, float], ...] = ()  # (x, mean) per bucket, for the hover readout


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    log: bool
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    markers: tuple[Marker, ...]
    empty: str = ""  # why there is nothing to draw, when there is not
    x_label: str = "step"
    note: str = ""  # said under the title (runs on different x-axes drawn against step)
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    top: float = TOP
    right: float = WIDTH - RIGHT
    bottom: float = HEIGHT - BOTTOM
    x_range: tuple[float, float] = (0.0, 1.0)  # the data x at ``left`` and at ``right``


def nice_step(span: float, count: int = 5) -> float:
    """A 1, 2 or 5 times a power of ten step giving about ``count`` ticks over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = nice_step(high / 2 - low / 2, count) * 2  # halves: a span past 1.8e308 still counts
    first = math.ceil(low / step - 1e-9)
    ticks: list[float] = []
    index = first
    while index * step - high <= step * 1e-9 and len(ticks) < 50:
        ticks.append(index * step)  # a multiple, not a running sum: no 0.30000000000000004
        index += 1
    return ticks


def short_number(value: float) -> str:
    """``20k``, ``1.5M``, ``0.25``, ``3e-05``: an axis label, at most about six characters."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e15:
        return f"{value:.0e}"
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    if magnitude < 1e-3:
        return f"{value:.0e}"
    return f"{value:.3g}"


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _clamped(value: float) -> float:
    return max(-sys.float_info.max, min(sys.float_info.max, value))


class _Scale:
    """Data to pixels on one axis, linear or log10."""

    def __init__(self, low: float, high: float, start: float, end: float, log: bool) -> None:
        self.log = log
        if log:
            low, high = math.log10(low), math.log10(high)
        if high <= low:
            pad = abs(low) * 0.05 or 1.0
            low, high = _clamped(low - pad), _clamped(high + pad)
        self.low, self.high, self.start, self.end = low, high, start, end
        self.span = high / 2 - low / 2  # halved, so that -1e308..1e308 does not overflow

    def __call__(self, value: float) -> float:
        v = math.log10(max(value, 1e-300)) if self.log else value
        return self.start + (v / 2 - self.low / 2) / self.span * (self.end - self.start)


def line_chart(
    key: str,
    series: Sequence[tuple[str, str, Series | None]],
    events: Sequence[tuple[str, int, str, str]] = (),
    note: str = "",
) -> Chart:
    """One chart of ``key``: ``series`` is (run id, colour, series or None) per run, in
    table order; ``events`` (run id, logged step, level class, title) are marked on the top
    edge. Each run's line is at its own x (its step metric's, when it has one)."""
    drawn = [(run_id, color, s, spans(s)) for run_id, color, s in series if s is not None]
    box = extent([group for *_, group in drawn])
    if box is None:
        reason = "no chosen run logged it" if not drawn else "only NaN or inf values"
        return Chart(key, False, (), (), (), (), empty=reason, note=note)
    x0, x1, y0, y1 = box
    log = y0 > 0 and math.log10(y1 / y0) >= LOG_DECADES
    if not log:
        pad = (y1 * 0.04 - y0 * 0.04) or abs(y1) * 0.05 or 1.0
        y0, y1 = _clamped(y0 - pad), _clamped(y1 + pad)
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    xs = _Scale(x0, x1, LEFT, WIDTH - RIGHT, False)
    ys = _Scale(y0, y1, HEIGHT - BOTTOM, TOP, log)
    x_ticks = tuple(Tick(xs(v), short_number(v)) for v in linear_ticks(x0, x1, 6))
    lines = tuple(_line(run_id, color, s, group, xs, ys) for run_id, color, s, group in drawn)
    by_run = {run_id: s for run_id, _, s, _ in drawn}
    markers = tuple(
        Marker(xs(x), level, title)
        for run_id, step, level, title in events
        if run_id in by_run and x0 <= (x := by_run[run_id].x_at(step)) <= x1
    )
    x_label = " · ".join(dict.fromkeys(s.x_name for _, _, s, _ in drawn))
    y_ticks = _y_ticks(ys, y0, y1, log)
    return Chart(
        key, log, x_ticks, y_ticks, lines, markers, x_label=x_label, note=note, x_range=(x0, x1)
    )


def _y_ticks(ys: _Scale, y0: float, y1: float, log: bool) -> tuple[Tick, ...]:
    if not log:
        return tuple(Tick(ys(v), short_number(v)) for v in linear_ticks(y0, y1, 5))
    low, high = math.floor(math.log10(y0)), math.ceil(math.log10(y1))
    every = max(1, math.ceil((high - low) / 6))
    return tuple(
        Tick(ys(10.0**p), short_number(10.0**p))
        for p in range(low, high + 1, every)
        if y0 <= 10.0**p <= y1
    )


def _line(
    run_id: str,
    color: str,
    series: Series,
    group: Sequence[Span],
    xs: Callable[[float], float],
    ys: Callable[[float], float],
) -> Line:
    parts: list[str] = []
    bands: list[str] = []
    stretch: list[Span] = []
    fresh = True
    # A band only where buckets hold more than one point: below that it would be the line.
    banded = any(s.low != s.high for s in group)

    def close_band() -> None:
        if banded and stretch:
            upper = [f"{_num(xs(s.x))},{_num(ys(s.high))}" for s in stretch if s.high is not None]
            lower = [
                f"{_num(xs(s.x))},{_num(ys(s.low))}" for s in reversed(stretch) if s.low is not None
            ]
            bands.append(" ".join(upper + lower))
        stretch.clear()

    for span in group:
        if span.mid is None:
            fresh = True
            close_band()
            continue
        parts.append(("M" if fresh else "") + f"{_num(xs(span.x))},{_num(ys(span.mid))}")
        fresh = False
        stretch.append(span)
    close_band()
    last = next((s.mid for s in reversed(group) if s.mid is not None), None)
    flagged: list[tuple[float, float]] = []
    for span in group:
        if not span.nonfinite:
            continue
        x = xs(span.x)
        if flagged and x - flagged[-1][1] <= 3.0:  # neighbouring buckets: one stretch
            flagged[-1] = (flagged[-1][0], x)
        else:
            flagged.append((x, x))
    spikes = _spikes(group, xs, ys) if banded else ""
    values = tuple((s.x, s.mid) for s in group if s.mid is not None)
    return Line(
        run_id, color, " ".join(parts), tuple(bands), tuple(flagged), series.count, last, spikes,
        values,
    )  # fmt: skip


def _spikes(
    group: Sequence[Span], xs: Callable[[float], float], ys: Callable[[float], float]
) -> str:
    """Path data of a stroke from the mean to the max or min of each bucket whose extreme
    stands out (:data:`SPIKE_PIXELS`, :data:`SPIKE_SPREAD` times the line's median spread)."""
    reach: list[tuple[float, float, float, float]] = []  # x, y of the mean, up, down (pixels)
    for span in group:
        if span.mid is None or span.low is None or span.high is None:
            continue
        y = ys(span.mid)
        reach.append((xs(span.x), y, abs(y - ys(span.high)), abs(ys(span.low) - y)))
    if not reach:
        return ""
    spread = sorted(max(up, down) for *_, up, down in reach)[len(reach) // 2]
    limit = max(SPIKE_PIXELS, SPIKE_SPREAD * spread)
    strokes = []
    for x, y, up, down in reach:
        if up > limit:
            strokes.append(f"M{_num(x)},{_num(y)} {_num(x)},{_num(y - up)}")
        if down > limit:
            strokes.append(f"M{_num(x)},{_num(y)} {_num(x)},{_num(y + down)}")
    return " ".join(strokes)


@dataclass(frozen=True, slots=True)
class Spark:
    d: str
    band: str
    last: float | None
    high: float | None
    width: float = 140.0
    height: float = 30.0


def sparkline(series: Series, width: float = 140.0, height: float = 30.0) -> Spark:
    """A small line with its min/max band, for a hardware card (scaled to its own range)."""
    group = spans(series)
    box = extent([group])
    if box is None:
        return Spark("", "", None, None, width, height)
    x0, x1, y0, y1 = box
    if y0 >= 0 and y1 <= 100 and series.key.endswith("util"):
        y0, y1 = 0.0, 100.0  # a percentage reads against its full range
    xs = _Scale(x0, x1 if x1 > x0 else x0 + 1, 1, width - 1, False)
    ys = _Scale(y0, y1, height - 2, 2, False)
    line = _line(series.run_id, "", series, group, xs, ys)
    return Spark(line.d, " ".join(line.bands), line.last, box[3], width, height)


@dataclass(frozen=True, slots=True)
class Bars:
    rects: tuple[tuple[float, float, float, float], ...]  # x, y, width, height
    low: str
    high: str
    peak: str
    width: float = 320.0
    height: float = 120.0
    density: bool = False  # bins of unequal width: heights are count per unit of x
    bins: tuple[tuple[float, float, float], ...] = ()  # (count, left, right) per bar


def _merged(
    pairs: Sequence[tuple[float, float, float]], least: float
) -> list[tuple[float, float, float]]:
    """Neighbouring bins ``(count, left, right)`` joined until each is ``least`` wide: a
    TensorBoard bucket near 0 is a thousandth of the range, and one sample in it would be a
    density spike far above the bell; joined, the counts and the extents stay exact."""
    out: list[tuple[float, float, float]] = []
    held: tuple[float, float, float] | None = None
    for count, left, right in pairs:
        held = (held[0] + count, held[1], right) if held else (count, left, right)
        if held[2] - held[1] >= least:
            out.append(held)
            held = None
    if held is not None:
        if out and held[2] - held[1] < least:
            last = out.pop()
            held = (last[0] + held[0], last[1], held[2])
        out.append(held)
    return out


def histogram_bars(hist: HistogramData, width: float = 320.0, height: float = 120.0) -> Bars:
    """A histogram's bins as bars at their true x extents. Bins of equal width are drawn by
    count; unequal bins (TensorBoard's grow away from 0) by density, count / bin width, so a
    bar's area is its count (by count, a bin 96 times wider holding the same count would get
    96 times the ink, and a Gaussian's narrow central bins would read as a hole). Unequal
    bins narrower than a 128th of the range are joined first (:func:`_merged`)."""
    if not hist.counts:
        return Bars((), "", "", "0", width, height)
    low, high = hist.edges[0], hist.edges[-1]
    span = (high - low) or 1.0
    pairs = list(zip(hist.counts, hist.edges, hist.edges[1:], strict=False))
    widths = [right - left for _, left, right in pairs]
    widest = max(widths) if widths else 0.0
    density = widest > 0 and min(widths) < widest * (1 - 1e-6)
    if density:
        pairs = _merged(pairs, span / 128)
    heights = [
        (count / (right - left) if right > left else 0.0) if density else count
        for count, left, right in pairs
    ]
    peak = max(heights, default=0.0) or 1.0
    rects = []
    for (_, left, right), value in zip(pairs, heights, strict=True):
        x = (left - low) / span * width
        w = max((right - left) / span * width, 0.5)
        h = value / peak * (height - 2)
        rects.append((round(x, 2), round(height - h, 2), round(w, 3), round(h, 2)))
    return Bars(
        tuple(rects), short_number(low), short_number(high), short_number(peak), width, height,
        density, tuple(pairs),
    )  # fmt: skip
