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
from dataclasses import dataclass

import plotext as plt
from rich.text import Text
from textual.widget import Widget

from ..sanitize import safe_text
from ..series import Column, SeriesBuffer, ema

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


@dataclass(frozen=True, slots=True)
class PlotOptions:
    use_time: bool = False
    log_y: bool = False
    smoothing: float | None = None  # EMA weight, None = raw only


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


def render_plot(
    title: str, unit: str, lines: Sequence[PlotLine], options: PlotOptions, width: int, height: int
) -> Text:
    if width < 12 or height < 4:
        return Text(safe_text(title, max(1, width)), no_wrap=True)
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    flagged = 0
    top: float | None = None
    drawn = 0
    for line in lines:
        columns = line.buffer.columns(2 * width, options.use_time)
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
    if options.log_y and drawn:
        plt.yscale("log")
    heading = safe_text(title, max(8, width - 12))
    if flagged:
        heading += "  ⚠ nan/inf"
    plt.title(heading)
    plt.xlabel("time (s)" if options.use_time else "step")
    if unit:
        plt.ylabel(unit)
    if not drawn:
        return Text(f"{heading}\n(no finite values yet)", no_wrap=True)
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
        self._cache_key: tuple[object, ...] | None = None
        self._cache: Text = Text()
        self.renders = 0  # plotext builds, for tests: redraw only what changed

    def show(self, lines: Sequence[PlotLine], options: PlotOptions) -> None:
        self.lines = list(lines)
        self.options = options
        if self._key() != self._cache_key:
            self.refresh()

    def _key(self) -> tuple[object, ...]:
        return (
            self.size.width,
            self.size.height,
            self.options,
            tuple(
                (line.label, line.color, id(line.buffer), line.buffer.version)
                for line in self.lines
            ),
        )

    def render(self) -> Text:
        key = self._key()
        if key != self._cache_key:
            self._cache_key = key
            self._cache = render_plot(
                self.title, self.unit, self.lines, self.options, self.size.width, self.size.height
            )
            self.renders += 1
        return self._cache
