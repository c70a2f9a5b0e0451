"""A line chart laid out in terminal cells: title, framed braille canvas, labelled ticks.

Each y label sits on the row whose dots hold its value (``┤`` marks it); x ticks are round
numbers (whole ones for steps) under a ``┬`` at their column. The y range is widened to half a
tick step, so a live series that creeps down moves the picture only now and then, and the
widget can repaint just the rows that changed. Pure: no widgets, no terminal.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from .braille import BrailleCanvas, Run
from .ticks import decade_ticks, label_value, nice_step, tick_labels, ticks

Segment = Sequence[tuple[float, float]]  # (x, y) points drawn joined


@dataclass(frozen=True, slots=True)
class ChartLine:
    color: str | None
    segments: Sequence[Segment]  # each drawn as one polyline; gaps between them


@dataclass(slots=True)
class ChartSpec:
    title: str  # safe text already
    lines: Sequence[ChartLine]
    x_label: str = ""
    unit: str = ""
    log_y: bool = False
    x_integer: bool = True  # whole-number x ticks (steps)
    marks: Sequence[float] = ()  # x of vertical markers (resumes)
    bad: Sequence[float] = ()  # x of non-finite values, marked on the top row
    events: Sequence[tuple[float, str | None]] = ()  # (x, colour): ▲ on the bottom border
    x_range: tuple[float, float] | None = None  # the axis; None: the data's own extent
    mark_color: str | None = "yellow"
    bad_color: str | None = "red"


@dataclass(slots=True)
class ChartImage:
    rows: list[list[Run]] = field(default_factory=list)
    x_range: tuple[float, float] | None = None  # the x-axis drawn (None: no axis)

    @property
    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in row) for row in self.rows)


def _text_row(text: str, width: int) -> list[Run]:
    return [(text[:width].ljust(width), None)]


def _centered(text: str, width: int) -> str:
    text = text[:width]
    pad = (width - len(text)) // 2
    return (" " * pad + text).ljust(width)


# Beyond these, the range's arithmetic overflows (a diverged run logs 1e308 and then -1e308; a
# row's share of a span of subnormals is past the largest float): such values are drawn scaled
# by a power of ten, and labelled with their own.
_HUGE = 1e300
_TINY = 1e-290


def _scale_for(magnitude: float) -> float:
    """What values up to ``magnitude`` are multiplied by to be drawn (1: as they are)."""
    if magnitude > _HUGE:
        return 1 / _HUGE
    if 0 < magnitude < _TINY:
        return 1 / _TINY
    return 1.0


def _pow10(exponent: float) -> float:
    """10 ** exponent, the largest float where that overflows (a log axis's edges)."""
    try:
        return float(10.0**exponent)
    except OverflowError:
        return sys.float_info.max if exponent > 0 else 0.0


def _y_range(values: Sequence[float], count: int) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    half = nice_step(high - low, count) / 2
    return math.floor(low / half) * half, math.ceil(high / half) * half


def draw_chart(spec: ChartSpec, width: int, height: int) -> ChartImage:
    """The chart in ``width`` × ``height`` cells (rows of (text, colour) runs)."""
    title_row = height >= 6
    label_row = height >= 7 and bool(spec.x_label)
    plot_rows = height - 3 - title_row - label_row
    if width < 12 or plot_rows < 1:
        return ChartImage([_text_row(spec.title, max(1, width))])
    # (a point with no place, inf or NaN, is left out: the callers mark those on their own)
    lines = [
        (
            line.color,
            [
                [p for p in seg if math.isfinite(p[0]) and math.isfinite(p[1])]
                for seg in line.segments
            ],
        )
        for line in spec.lines
    ]
    ys = [y for _, segments in lines for seg in segments for _, y in seg]
    xs = [x for _, segments in lines for seg in segments for x, _ in seg]
    if not ys:
        return ChartImage([_text_row(spec.title, width)])
    y_scale_by = 1.0
    if spec.log_y:
        ys = [math.log10(y) for y in ys]
    else:
        y_scale_by = _scale_for(max(max(ys), -min(ys)))
        ys = [y * y_scale_by for y in ys]
    y_count = max(2, min(6, plot_rows // 2 + 1))
    bottom, top = _y_range(ys, y_count)
    labels = _y_labels(bottom, top, plot_rows, y_count, spec.log_y, y_scale_by)
    gutter = max((len(t) for t in labels.values()), default=1)
    inner = width - gutter - 2
    if inner < 4:
        return ChartImage([_text_row(spec.title, width)])
    canvas = BrailleCanvas(inner, plot_rows)
    dots_x, dots_y = canvas.dots_wide - 1, canvas.dots_high - 1
    left, right = spec.x_range if spec.x_range is not None else (min(xs), max(xs))
    x_by = _scale_for(max(-left, right, left, -right))  # an x-axis metric can reach 1e308
    left, right = left * x_by, right * x_by
    only_x = left if left == right else None  # one x (one step): one tick, that x
    if left == right:
        left, right = left - 1, right + 1
        if left == right:  # 1e20 - 1 is 1e20
            left, right = left - abs(left) * 0.05, right + abs(right) * 0.05
    x_scale = dots_x / (right - left)
    y_scale = dots_y / (top - bottom)

    for mark in spec.marks:
        if left <= (mark := mark * x_by) <= right:
            canvas.vertical(round((mark - left) * x_scale), 0, dots_y, spec.mark_color)
    for color, segments in lines:
        for segment in segments:
            if spec.log_y:
                dots = [
                    (round((x * x_by - left) * x_scale), round((top - math.log10(y)) * y_scale))
                    for x, y in segment
                ]
            else:
                dots = [
                    (round((x * x_by - left) * x_scale), round((top - y * y_scale_by) * y_scale))
                    for x, y in segment
                ]
            canvas.polyline(dots, color)
    for x in spec.bad:
        if left <= (x := x * x_by) <= right:
            canvas.char(round((x - left) * x_scale) // 2, 0, "x", spec.bad_color)

    rows: list[list[Run]] = []
    if title_row:
        heading = _centered(spec.title, inner)
        unit = spec.unit[:gutter].rjust(gutter) if spec.unit else " " * gutter
        rows.append([(f"{unit}  {heading}", None)])
    rows.append([(" " * gutter + "┌" + "─" * inner + "┐", None)])
    for index, cells in enumerate(canvas.rows()):
        label = labels.get(index)
        gutter_text = label.rjust(gutter) + "┤" if label is not None else " " * gutter + "│"
        rows.append([(gutter_text, None), *cells, ("│", None)])
    tick_marks, tick_text = _x_ticks(left, right, inner, spec.x_integer, x_by, only_x)
    border = ["─"] * inner
    for column in tick_marks:
        border[column] = "┬"
    if spec.events:
        rows.append(_event_border(spec, border, gutter, left, x_scale, x_by))
    else:
        rows.append([(" " * gutter + "└" + "".join(border) + "┘", None)])
    rows.append([(" " * (gutter + 1) + tick_text, None)])
    if label_row:
        rows.append([(" " * (gutter + 1) + _centered(spec.x_label, inner), None)])
    return ChartImage(rows)


def _event_border(
    spec: ChartSpec, border: list[str], gutter: int, left: float, x_scale: float, x_by: float
) -> list[Run]:
    """The bottom border with a ``▲`` in its colour under each event's x."""
    colors: dict[int, str | None] = {}
    for x, color in spec.events:
        column = round((x * x_by - left) * x_scale) // 2
        if 0 <= column < len(border) and colors.get(column) != "red":
            colors[column] = color
    runs: list[Run] = [(" " * gutter + "└", None)]
    start = 0
    for column in sorted(colors):
        if column > start:
            runs.append(("".join(border[start:column]), None))
        runs.append(("▲", colors[column]))
        start = column + 1
    runs.append(("".join(border[start:]) + "┘", None))
    return runs


def _y_labels(
    bottom: float, top: float, rows: int, count: int, log_y: bool, scaled_by: float = 1.0
) -> dict[int, str]:
    """Row -> label: round values, each on the row whose dots hold it (``bottom``/``top`` are
    log10 of the range on a log axis, labelled in values: 0.1, 1, 10 or 1, 2, 5 and so on;
    ``scaled_by``: what the values were multiplied by to be drawn)."""
    scale = (4 * rows - 1) / (top - bottom)
    if log_y:
        values = _log_ticks(bottom, top, count)
        texts = [label_value(v) for v in values]  # each a round value of its own decade
        places = [math.log10(v) for v in values]
    else:
        places = ticks(bottom, top, count)
        if scaled_by != 1.0:  # labelled with the values drawn (those that are floats)
            places = [p for p in places if math.isfinite(p / scaled_by)]
        values = [p / scaled_by for p in places]
        texts = tick_labels(values) if len(values) > 1 else [label_value(v) for v in values]
    labels: dict[int, str] = {}
    for place, text in zip(places, texts, strict=True):
        row = round((top - place) * scale) // 4
        if 0 <= row < rows and row not in labels:
            labels[row] = text
    if not log_y and len(set(labels.values())) < len(labels):
        # Values apart on screen but alike in text (subnormals: 5e-324 is the only float
        # near 1e-324): each text once, on the row of the value it says.
        labels = {}
        for text in dict.fromkeys(texts):
            row = round((top - float(text.replace(",", "")) * scaled_by) * scale) // 4
            if 0 <= row < rows and row not in labels:
                labels[row] = text
        if labels:
            return labels
    if len(labels) < 2 and rows >= 2:
        # Too few rows for two round ticks: the top and bottom rows say where they start.
        edges = (
            [_pow10(bottom), _pow10(top)]
            if log_y
            else [max(-sys.float_info.max, min(sys.float_info.max, e / scaled_by))
                  for e in (bottom, top)]
        )  # fmt: skip
        low_text, high_text = tick_labels(edges)
        if max(len(low_text), len(high_text)) > 9:  # a narrow window: 4 digits say enough
            low_text, high_text = f"{edges[0]:.4g}", f"{edges[1]:.4g}"
        if low_text == high_text:
            return {rows // 2: low_text}
        labels = {0: high_text, rows - 1: low_text}
    return labels


def _log_ticks(bottom: float, top: float, count: int) -> list[float]:
    """Round values between 10**bottom and 10**top: powers of ten if there are two, else
    1-2-5 steps, else evenly spaced round values."""
    return decade_ticks(bottom, top, count) or [
        v for v in ticks(_pow10(bottom), _pow10(top), count) if v > 0
    ]


def _x_ticks(
    left: float,
    right: float,
    inner: int,
    integer: bool,
    scaled_by: float = 1.0,
    only: float | None = None,
) -> tuple[list[int], str]:
    """Tick columns and the label line under them; labels never overlap or leave the axis
    (``scaled_by``: what the x values were multiplied by to be drawn; ``only``: the one x
    there is, the only tick)."""
    if only is not None:
        values, texts = [only], [label_value(only / scaled_by)]
    elif scaled_by != 1.0:
        values = [
            v for v in ticks(left, right, max(2, inner // 14)) if math.isfinite(v / scaled_by)
        ]
        texts = tick_labels([v / scaled_by for v in values])
    else:
        values = ticks(left, right, max(2, inner // 14), integer=integer)
        texts = tick_labels(values, integer=integer)
    line = [" "] * inner
    columns: list[int] = []
    free_from = 0
    scale = (2 * inner - 1) / (right - left)  # in dots, as the canvas draws them
    for value, text in zip(values, texts, strict=True):
        column = round((value - left) * scale) // 2
        start = min(max(0, column - len(text) // 2), inner - len(text))
        if start < free_from or start < 0:
            continue
        line[start : start + len(text)] = text
        columns.append(column)
        free_from = start + len(text) + 1
    return columns, "".join(line)
