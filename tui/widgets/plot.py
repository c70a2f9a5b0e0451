"""A metric plot drawn with plotext (braille): one line per run, spikes kept, NaN/inf marked.

Our own small widget rather than textual-plotext: that package needs plotext < 6 too, but it
redraws on every refresh and hides plotext's global figure behind a per-widget object that we
would still have to feed column by column. Here the rendered text is cached on (size, data
versions, options), so a redraw happens only when something the plot shows changed.
plotext keeps one global figure: it is only ever used on the UI thread.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import plotext as plt
from rich.text import Text
from textual.widget import Widget

from ..axis import TIME, XAxis
from ..sanitize import safe_text
from ..series import Column, SeriesBuffer, StepAxis, ema

# (plotext colour name, the same colour for Rich): ANSI palette entries, so both agree.
PALETTE = (
    ("cyan", "color(6)"), ("orange", "color(3)"), ("green", "color(2)"), ("magenta", "color(5)"),
    ("blue+", "color(12)"), ("red", "color(1)"), ("cyan+", "color(14)"), ("green+", "color(10)"),
    ("magenta+", "color(13)"), ("orange+", "color(11)"),
)  # fmt: skip
FAINT = "gray"


def _palette_index(run_id: str) -> int:
    return zlib.crc32(run_id.encode()) % len(PALETTE)


def run_color(run_id: str) -> str:
    """A stable plotext colour per run (the same in every plot and every session)."""
    return PALETTE[_palette_index(run_id)][0]


def run_style(run_id: str) -> str:
    """The Rich style of :func:`run_color`, for legends and table headers."""
    return PALETTE[_palette_index(run_id)][1]


def distinct_colors(run_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(plotext, Rich) colours for runs shown together: each run's own colour unless an
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


def render_plot(
    title: str,
    unit: str,
    lines: Sequence[PlotLine],
    options: PlotOptions,
    width: int,
    height: int,
    x_label: str | None = None,
    note: str = "",
) -> Text:
    """``x_label`` names the x-axis (step or time by default); ``note`` (already safe text)
    is added to the title: the runs left out of this plot, for one."""
    if width < 12 or height < 4:
        return Text(safe_text(title, max(1, width)), no_wrap=True)
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    flagged = 0
    top: float | None = None
    drawn = 0
    left: float | None = None
    right: float | None = None
    markers: list[float] = []
    for line in lines:
        axis = line.x_buffer.step_axis() if line.x_buffer is not None else None
        columns = line.buffer.columns(2 * width, options.use_time, axis)
        if columns:
            x_low, x_high = min(c.x for c in columns), max(c.x for c in columns)
            left = x_low if left is None else min(left, x_low)
            right = x_high if right is None else max(right, x_high)
        for marker in line.markers:
            x = _marker_x(marker, axis, options.use_time)
            if x is not None:
                markers.append(x)
        flagged += sum(1 for c in columns if c.nonfinite)
        raw_columns, raw_values = _envelope(columns)
        smoothing = options.smoothing
        raw_color = FAINT if smoothing is not None else line.color
        for xs, ys in _segments(raw_columns, raw_values):
            pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if not options.log_y or y > 0]
            if pairs:
                plt.plot(
                    [p[0] for p in pairs], [p[1] for p in pairs], marker="braille", color=raw_color
                )
                drawn += 1
                high = max(p[1] for p in pairs)
                top = high if top is None else max(top, high)
        if smoothing is not None:
            for xs, ys in _segments(columns, ema(columns, smoothing)):
                pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if not options.log_y or y > 0]
                if pairs:
                    plt.plot(
                        [p[0] for p in pairs],
                        [p[1] for p in pairs],
                        marker="braille",
                        color=line.color,
                    )
                    drawn += 1
        bad = [c.x for c in columns if c.nonfinite]
        if bad and top is not None:
            plt.scatter(bad, [top] * len(bad), marker="x", color="red")
    # A resume marker only inside the data's x range (plotext widens the axis to a vline).
    shown = (
        sorted({x for x in markers if left <= x <= right})
        if drawn and left is not None and right is not None
        else []
    )
    for x in shown:
        plt.vline(x, "yellow")
    if options.log_y and drawn:
        plt.yscale("log")
    heading = safe_text(title, max(8, width - 12))
    if flagged:
        heading += "  ⚠ nan/inf"
    if shown:
        heading += "  ↻ resumed"
    if note:
        heading += f"  · {note}"
    plt.title(heading)
    label = x_label if x_label is not None else "time (s)" if options.use_time else "step"
    plt.xlabel(safe_text(label, max(8, width - 4)))
    if unit:
        plt.ylabel(unit)
    if not drawn:
        why = (
            "(nothing to draw against this x-axis: x or X chooses another)"
            if note
            else ("(no finite values yet)")
        )
        return Text(f"{heading}\n{why}", no_wrap=True)
    return Text.from_ansi(plt.build(), no_wrap=True)


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
        self._cache_key: tuple[object, ...] | None = None
        self._cache: Text = Text()
        self.renders = 0  # plotext builds, for tests: redraw only what changed

    def show(
        self,
        lines: Sequence[PlotLine],
        options: PlotOptions,
        x_label: str | None = None,
        note: str = "",
    ) -> None:
        self.lines = list(lines)
        self.options = options
        self.x_label = x_label
        self.note = note
        if self._key() != self._cache_key:
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
            tuple(
                (
                    line.label,
                    line.color,
                    id(line.buffer),
                    line.buffer.version,
                    id(line.x_buffer),
                    line.x_buffer.version if line.x_buffer is not None else -1,
                    line.markers,
                )
                for line in self.lines
            ),
        )

    def render(self) -> Text:
        key = self._key()
        if key != self._cache_key:
            self._cache_key = key
            self._cache = render_plot(
                self.title, self.unit, self.lines, self.options, self.size.width,
                self.size.height, self.x_label, self.note,
            )  # fmt: skip
            self.renders += 1
        return self._cache
