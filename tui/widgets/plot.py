"""A metric plot in braille: one line per run, spikes kept, NaN/inf marked, resumes drawn.

The picture is drawn by :mod:`tui.view.chart` (our own braille canvas). plotext drew it until
its layout pass (about 6 ms a plot, two thirds of the viewer's CPU while following live runs)
and its tick placement (labels off their rows, ``2.0 … 166.2`` for steps) were measured to be
the problem. The widget uses Textual's line API: it keeps one strip per row, is re-drawn only
when something it shows changed (size, data versions, options, title), only while it is on
screen, and then repaints only the rows whose strips differ.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from ..axis import TIME, XAxis
from ..sanitize import safe_text
from ..series import Column, SeriesBuffer, StepAxis, bucket_columns, ema
from ..view.braille import Run
from ..view.chart import ChartImage, ChartLine, ChartSpec, draw_chart
from ..view.ticks import nice_step

# (colour name, its Rich style): ANSI palette entries, so plots, legends and tables agree.
PALETTE = (
    ("cyan", "color(6)"), ("orange", "color(3)"), ("green", "color(2)"), ("magenta", "color(5)"),
    ("blue+", "color(12)"), ("red", "color(1)"), ("cyan+", "color(14)"), ("green+", "color(10)"),
    ("magenta+", "color(13)"), ("orange+", "color(11)"),
)  # fmt: skip
FAINT = "gray"
HEADROOM = 0.15  # a live plot's x-axis, when its data outgrows it: this share of it to spare
_STYLES = {name: style for name, style in PALETTE} | {
    FAINT: "color(8)",
    "red": "color(9)",
    "yellow": "color(11)",
}


def _palette_index(run_id: str) -> int:
    return zlib.crc32(run_id.encode()) % len(PALETTE)


def run_color(run_id: str) -> str:
    """A stable colour name per run (the same in every plot and every session)."""
    return PALETTE[_palette_index(run_id)][0]


def run_style(run_id: str) -> str:
    """The Rich style of :func:`run_color`, for legends and table headers."""
    return PALETTE[_palette_index(run_id)][1]


def distinct_colors(run_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(colour name, Rich style) for runs shown together: each run's own colour unless an
    earlier run has it, then the next free one (distinct for up to ten runs)."""
    taken: set[int] = set()
    out: dict[str, tuple[str, str]] = {}
    for run_id in run_ids:
        index = _palette_index(run_id)
        for step in range(len(PALETTE)):
            candidate = (index + step) % len(PALETTE)
            if candidate not in taken:
                index = candidate
                break
        taken.add(index)
        out[run_id] = PALETTE[index]
    return out


@dataclass(frozen=True, slots=True)
class PlotLine:
    label: str
    color: str
    buffer: SeriesBuffer
    x_buffer: SeriesBuffer | None = None  # the metric x is (None: step or time)
    markers: tuple[tuple[int, float], ...] = ()  # (step, seconds since start): resumes
    events: tuple[tuple[int, float, str], ...] = ()  # (step, seconds, colour): health, alerts


@dataclass(frozen=True, slots=True)
class PlotOptions:
    x: XAxis = field(default_factory=XAxis)
    log_y: bool = False
    smoothing: float | None = None  # EMA weight, None = raw only

    @property
    def use_time(self) -> bool:
        return self.x.kind == TIME


def _segments(
    columns: Sequence[Column], values: Sequence[float | None]
) -> list[tuple[list[float], list[float]]]:
    """Split at gaps (no finite value), so NaN/inf are drawn as breaks in the line."""
    segments: list[tuple[list[float], list[float]]] = []
    xs: list[float] = []
    ys: list[float] = []
    for column, value in zip(columns, values, strict=True):
        if value is None or not math.isfinite(value):
            if xs:
                segments.append((xs, ys))
                xs, ys = [], []
            continue
        xs.append(column.x)
        ys.append(value)
    if xs:
        segments.append((xs, ys))
    return segments


def _envelope(columns: Sequence[Column]) -> tuple[list[Column], list[float | None]]:
    """Each column as its min then its max, so a one-point spike stays visible."""
    out_columns: list[Column] = []
    values: list[float | None] = []
    for column in columns:
        if column.min is None:
            out_columns.append(column)
            values.append(None)
            continue
        out_columns.append(column)
        values.append(column.min)
        if column.max != column.min:
            out_columns.append(column)
            values.append(column.max)
    return out_columns, values


def _marker_x(marker: tuple[int, float], axis: StepAxis | None, use_time: bool) -> float | None:
    step, seconds = marker
    if use_time:
        return seconds
    return axis.at(step) if axis is not None else float(step)


def _drawable(
    columns: Sequence[Column], values: Sequence[float | None], log_y: bool
) -> list[list[tuple[float, float]]]:
    """(x, y) polylines, broken at gaps and (log scale) at values that are not positive."""
    out: list[list[tuple[float, float]]] = []
    for xs, ys in _segments(columns, values):
        current: list[tuple[float, float]] = []
        for x, y in zip(xs, ys, strict=True):
            if log_y and y <= 0:
                if current:
                    out.append(current)
                    current = []
                continue
            current.append((x, y))
        if current:
            out.append(current)
    return out


def render_plot(
    title: str,
    unit: str,
    lines: Sequence[PlotLine],
    options: PlotOptions,
    width: int,
    height: int,
    x_label: str | None = None,
    note: str = "",
    held_range: tuple[float, float] | None = None,
    loading: bool = False,
) -> ChartImage:
    """``x_label`` names the x-axis (step or time by default); ``note`` (already safe text)
    is added to the title: the runs left out of this plot, for one. ``held_range``: the
    x-axis these lines were last drawn on (:func:`live_range`)."""
    flagged = 0
    finite_seen = False  # (all of them at or under zero: no place on a log axis)
    chart_lines: list[ChartLine] = []
    markers: list[float] = []
    events: list[tuple[float, str]] = []
    bad: list[float] = []
    placed = []
    for line in lines:
        axis = line.x_buffer.step_axis() if line.x_buffer is not None else None
        spans, xs = line.buffer.x_values(options.use_time, axis)
        placed.append((line, axis, spans, xs))
    ends = [(xs[0], xs[-1]) for _, _, _, xs in placed if xs]
    x_range = (
        live_range(min(e[0] for e in ends), max(e[1] for e in ends), held_range) if ends else None
    )
    for line, axis, spans, xs in placed:
        columns = (
            line.buffer.columns(2 * width, options.use_time, axis, x_range)
            if axis is None
            else bucket_columns(spans, xs, 2 * width, x_range)
        )
        for marker in line.markers:
            x = _marker_x(marker, axis, options.use_time)
            if x is not None:
                markers.append(x)
        for step, seconds, color in line.events:
            x = _marker_x((step, seconds), axis, options.use_time)
            if x is not None:
                events.append((x, color))
        flagged += sum(1 for c in columns if c.nonfinite)
        bad.extend(c.x for c in columns if c.nonfinite)
        raw_columns, raw_values = _envelope(columns)
        finite_seen = finite_seen or any(v is not None for v in raw_values)
        smoothing = options.smoothing
        raw = _drawable(raw_columns, raw_values, options.log_y)
        if raw:
            chart_lines.append(ChartLine(FAINT if smoothing is not None else line.color, raw))
        if smoothing is not None:
            smooth = _drawable(columns, ema(columns, smoothing), options.log_y)
            if smooth:
                chart_lines.append(ChartLine(line.color, smooth))
    drawn = bool(chart_lines)
    xs = [x for cl in chart_lines for seg in cl.segments for x, _ in seg]
    shown = sorted({x for x in markers if min(xs) <= x <= max(xs)}) if xs else []
    low, high = x_range if x_range is not None else (min(xs), max(xs)) if xs else (0.0, 0.0)
    flags = sorted({(x, c) for x, c in events if low <= x <= high})
    heading = safe_text(title, max(8, width - 12))
    if flagged:
        heading += "  ⚠ nan/inf"
    if shown:
        heading += "  ↻ resumed"
    if flags:
        heading += f"  ▲ {len(flags)} event{'s' if len(flags) > 1 else ''}"
    if note:
        heading += f"  · {note}"
    if not drawn:
        why = (
            "(nothing to draw against this x-axis: x or X chooses another)"
            if note
            else "(loading…)"
            if loading
            else "(no positive values for a log axis: l turns it off)"
            if options.log_y and finite_seen
            else "(no finite values yet)"
        )
        return ChartImage([[(heading, None)], [(why, None)]])
    label = x_label if x_label is not None else "time (s)" if options.use_time else "step"
    spec = ChartSpec(
        title=heading,
        lines=chart_lines,
        x_label=safe_text(label, max(8, width - 4)),
        unit=safe_text(unit, 8),
        log_y=options.log_y,
        x_integer=not options.use_time and all(line.x_buffer is None for line in lines),
        marks=shown,
        events=flags,
        bad=bad,
        x_range=x_range,
    )
    image = draw_chart(spec, width, height)
    image.x_range = x_range
    return image


def live_range(
    left: float, right: float, held: tuple[float, float] | None
) -> tuple[float, float] | None:
    """The x-axis for data from ``left`` to ``right`` that was last drawn on ``held``: kept
    while the data stays inside it (and fills half of it at least); once a live series grows
    past its right edge, widened with :data:`HEADROOM` to spare. Without it the axis moved
    every twentieth of growth, and every move redraws the whole plot: a run at step 600
    logging 25 steps a second moved it more often than its plot was drawn."""
    fresh = sticky_range(left, right)
    if held is None or fresh is None:
        return fresh
    low, high = held
    if not (low <= left and 2 * (right - left) >= high - low):
        return fresh
    if right <= high:
        return held
    return sticky_range(left, right + HEADROOM * (right - left)) or fresh


def sticky_range(left: float, right: float) -> tuple[float, float] | None:
    """The x-axis for data from ``left`` to ``right``: widened to a round twentieth of the span,
    so while a run logs, its old points keep their columns and only the tip is repainted (the
    axis moves on every few percent of growth, not on every step)."""
    if not (math.isfinite(left) and math.isfinite(right)) or right <= left:
        return None
    grain = nice_step(right - left, 20)
    # min/max: a multiple of the grain can round past the data (0.99 // 0.0002 * 0.0002 is
    # 0.9900000000000001), which would leave the first point off the axis.
    return min(left, math.floor(left / grain) * grain), max(right, math.ceil(right / grain) * grain)


_STYLE_CACHE: dict[str | None, Style] = {}


def _style(color: str | None) -> Style:
    style = _STYLE_CACHE.get(color)
    if style is None:
        name = _STYLES.get(color, color) if color is not None else None
        style = _STYLE_CACHE[color] = Style.parse(name) if name else Style()
    return style


def _strip(runs: Sequence[Run], width: int) -> Strip:
    return Strip([Segment(text, _style(color)) for text, color in runs]).adjust_cell_length(width)


class MetricPlot(Widget):
    """Shows ``lines`` for metric ``title``; call :meth:`show` with new data or options."""

    DEFAULT_CSS = """
    MetricPlot { height: 14; min-height: 6; width: 1fr; }
    """

    def __init__(self, title: str, unit: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.unit = unit
        self.lines: list[PlotLine] = []
        self.options = PlotOptions()
        self.x_label: str | None = None  # what x is ("iter", "step", "time (s)")
        self.note = ""  # in the title, e.g. the runs left out for lacking the x metric
        # A series is on its way from the reader: said, not "no values". (Not ``loading``:
        # that is Textual's reactive, which covers the widget with an animated indicator.)
        self.awaiting_data = False
        self._cache_key: tuple[object, ...] | None = None
        self._image = ChartImage()
        self._strips: list[Strip] = []
        self._width = 0
        self._stale = True
        self.renders = 0  # pictures drawn, for tests: redraw only what changed
        self._drawn_at = -math.inf  # monotonic time of the last picture
        self._had_data = False  # every line of the last picture had points
        self._catch_up: Timer | None = None  # a deferred redraw of newer points
        # The x-axis last drawn, and what it was drawn for (the same lines on the same x).
        self._held_range: tuple[tuple[object, ...], tuple[float, float] | None] | None = None

    def show(
        self,
        lines: Sequence[PlotLine],
        options: PlotOptions,
        x_label: str | None = None,
        note: str = "",
        loading: bool = False,
    ) -> None:
        self.lines = list(lines)
        self.options = options
        self.x_label = x_label
        self.note = note
        self.awaiting_data = loading
        key = self._key()
        if key == self._cache_key:
            return
        if self.is_mounted and self.display and self.size.area and self.in_view():
            wait = self._drawn_at + self._plot_frame_s() - time.monotonic()
            if wait > 0 and self._had_data and self._only_newer_points(key):
                # Drawn by the first show() after the wait, in the frame that repaints the
                # rest anyway (a paint of its own costs more than the plot); the timer only
                # covers points after which none come.
                if self._catch_up is None:
                    self._catch_up = self.set_timer(1.5 * wait + 0.1, self._draw_newer)
                return
            self._redraw(key)  # now, so that only the rows that changed are repainted
        elif not self._stale:
            self._stale = True
            self.refresh()  # drawn when it is next painted: scrolled into view, or shown

    @property
    def behind(self) -> bool:
        """Newer points than the picture's wait for the next plot frame."""
        return self._catch_up is not None

    def _plot_frame_s(self) -> float:
        timings = getattr(self.app, "timings", None)  # the app's (widgets do not import it)
        return float(getattr(timings, "plot_frame_s", 0.0))

    def _only_newer_points(self, key: tuple[object, ...]) -> bool:
        """Whether ``key`` differs from the picture's only in its series' versions (points
        arrived); anything else (size, options, runs, markers) is drawn at once."""
        old = self._cache_key
        if old is None or old[:-1] != key[:-1] or len(old[-1]) != len(key[-1]):  # type: ignore[arg-type]
            return False
        return all(
            (a[:3], a[4], a[6:]) == (b[:3], b[4], b[6:])
            for a, b in zip(old[-1], key[-1], strict=True)  # type: ignore[call-overload]
        )

    def _draw_newer(self) -> None:
        self._catch_up = None
        key = self._key()
        if key != self._cache_key and self.is_mounted and self.size.area:
            self._redraw(key)

    def in_view(self) -> bool:
        """Whether any of this plot is inside its scrolling container's window (a run's
        twenty plots are live, the three on screen are drawn)."""
        region = self.region
        node = self.parent
        while isinstance(node, Widget):
            if node.is_scrollable:
                return region.overlaps(node.region)
            node = node.parent
        return bool(region.area)

    def on_resize(self) -> None:
        self._stale = True
        self.refresh()

    def _key(self) -> tuple[object, ...]:
        return (
            self.size.width,
            self.size.height,
            self.title,
            self.unit,
            self.options,  # the axis choice among them
            self.x_label,
            self.note,
            self.awaiting_data,
            tuple(
                (
                    line.label,
                    line.color,
                    id(line.buffer),
                    line.buffer.version,
                    id(line.x_buffer),
                    line.x_buffer.version if line.x_buffer is not None else -1,
                    line.markers,
                    line.events,
                )
                for line in self.lines
            ),
        )

    def _redraw(self, key: tuple[object, ...], repaint: bool = True) -> None:
        """Draw the picture for ``key``; make strips of, and repaint, only the rows that differ
        from the last picture (``repaint=False``: while painting, every row is drawn anyway)."""
        self._cache_key = key
        self._stale = False
        if self._catch_up is not None:
            self._catch_up.stop()
            self._catch_up = None
        self._drawn_at = time.monotonic()
        self._had_data = bool(self.lines) and all(line.buffer.spans for line in self.lines)
        width, height = self.size.width, self.size.height
        old_rows = self._image.rows
        lines_key = (self.options.x, tuple((id(ln.buffer), id(ln.x_buffer)) for ln in self.lines))
        held = self._held_range
        self._image = render_plot(
            self.title, self.unit, self.lines, self.options, width, height, self.x_label,
            self.note, held[1] if held is not None and held[0] == lines_key else None,
            self.awaiting_data,
        )  # fmt: skip
        self._held_range = (lines_key, self._image.x_range)
        self.renders += 1
        rows = self._image.rows[:height]
        if len(self._strips) != len(rows) or self._width != width:
            self._strips = [_strip(row, width) for row in rows]
            self._width = width
            if repaint:
                self.refresh()
            return
        changed = [y for y, row in enumerate(rows) if y >= len(old_rows) or row != old_rows[y]]
        for y in changed:
            self._strips[y] = _strip(rows[y], width)
        if repaint and changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    def render_line(self, y: int) -> Strip:
        if self._stale and self.size.area:
            self._redraw(self._key(), repaint=False)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width)

    @property
    def plain(self) -> str:
        """What the plot shows, as text (for tests and exports)."""
        key = self._key()
        if key != self._cache_key and self.size.area:
            self._redraw(key, repaint=False)
        return self._image.plain
