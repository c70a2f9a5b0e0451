"""The sweep views' pictures in terminal cells, on the braille canvas: groups' mean curves over
their min/max bands (through :func:`tui.view.chart.draw_chart`), a scatter of a config key
against a metric, and parallel coordinates. Colours are Rich style strings; text handed in
(titles, labels) must be safe text already. Pure: no widgets, no terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .braille import BrailleCanvas, Run
from .chart import ChartImage, ChartLine, ChartSpec, draw_chart
from .sweep import Axis, BandPoint, Parallel
from .ticks import decade_ticks, label_value, share, tick_labels, ticks

HIGHLIGHT = "bold color(11)"
AXIS_COLOR = "color(8)"
# Parallel lines from the best quarter of the metric's range to the worst.
RANK_COLORS = ("color(2)", "color(6)", "color(3)", "color(1)")
MARK = "◆"
POINT = "●"
INSET = 0.04  # of a scatter axis left free at each end


@dataclass(frozen=True, slots=True)
class BandGroup:
    label: str  # safe text
    color: str
    points: Sequence[BandPoint]


def draw_bands(
    title: str, groups: Sequence[BandGroup], width: int, height: int, log_y: bool = False
) -> ChartImage:
    """Each group's band (its runs' min to max, per bucket) faint, then its mean line on top."""
    bands: list[ChartLine] = []
    means: list[ChartLine] = []
    for group in groups:
        points = [p for p in group.points if not log_y or p.low > 0]
        if not points:
            continue
        spread = [[(p.x, p.low), (p.x, p.high)] for p in points if p.high > p.low]
        if spread:
            bands.append(ChartLine(f"{group.color} dim", spread))
        means.append(ChartLine(group.color, [[(p.x, p.mean) for p in points]]))
    if not means:
        return ChartImage([[(title, None)], [("(no finite values yet)", None)]])
    spec = ChartSpec(title=title, lines=[*bands, *means], x_label="step", log_y=log_y)
    return draw_chart(spec, width, height)


def _inset(position: float) -> float:
    return INSET + position * (1.0 - 2 * INSET)


def _short(value: float) -> str:
    """A tick or axis end: four significant digits at most (whole numbers whole), so the
    two ends of one axis read alike."""
    return label_value(value)


def axis_ticks(axis: Axis, count: int) -> list[tuple[float, str]]:
    """(position in [0, 1], label) of round values along ``axis``: about ``count`` on a
    linear one, powers of ten (or 1-2-5 steps) on a log one, every category on a category
    axis."""
    if axis.kind == "category":
        n = len(axis.categories)
        return [(0.5 if n == 1 else i / (n - 1), c) for i, c in enumerate(axis.categories)]
    if axis.high == axis.low:
        return [(0.5, label_value(axis.value_at(0.0)))]
    if axis.kind == "log":
        rounds = decade_ticks(axis.low, axis.high, count, (1.0, 2.0, 3.0, 5.0, 7.0), slack=1e-9)
        if rounds:
            return [(axis.position(v) or 0.0, _short(v)) for v in rounds]
    values = ticks(axis.low, axis.high, count)
    if axis.kind == "log":
        values = [v for v in values if v < 308.25]  # 10 ** v is a float
        return [(axis.position(10.0**v) or 0.0, _short(10.0**v)) for v in values]
    labels = tick_labels(values)
    return [(share(v, axis.low, axis.high), t) for v, t in zip(values, labels, strict=True)]


def _place_labels(marks: Sequence[tuple[int, str]], width: int) -> tuple[list[int], str]:
    """A line of labels centred under their columns, none overlapping or leaving the line;
    the columns of the labels kept."""
    line = [" "] * width
    kept: list[int] = []
    free_from = 0
    for column, text in marks:
        text = text[:width]
        start = min(max(0, column - len(text) // 2), width - len(text))
        if start < free_from:
            continue
        line[start : start + len(text)] = text
        kept.append(column)
        free_from = start + len(text) + 1
    return kept, "".join(line)


def _centered(text: str, width: int) -> str:
    text = text[:width]
    pad = (width - len(text)) // 2
    return (" " * pad + text).ljust(width)


def draw_scatter(
    title: str,
    x_axis: Axis,
    y_axis: Axis,
    points: Sequence[tuple[float, float, str]],
    highlight: tuple[float, float] | None,
    width: int,
    height: int,
    x_label: str,
    y_label: str,
) -> ChartImage:
    """``points``: (x, y, colour) in [0, 1]²; ``highlight``: the marked run's point, drawn as
    a ◆ on top. ``title`` and the labels: safe text."""
    plot_rows = height - 5
    if width < 16 or plot_rows < 2:
        return ChartImage([[(title[:width], None)]])
    y_ticks = axis_ticks(y_axis, max(2, min(6, plot_rows // 3 + 1)))
    gutter = max([len(t) for _, t in y_ticks] + [len(y_label[:10]), 1])
    inner = width - gutter - 2
    canvas = BrailleCanvas(inner, plot_rows)
    dots_x, dots_y = canvas.dots_wide - 1, canvas.dots_high - 1

    def at(x: float, y: float) -> tuple[int, int]:
        """Dots of a point, inset so the points at an axis's ends clear the frame."""
        return round(_inset(x) * dots_x), round((1.0 - _inset(y)) * dots_y)

    for x, y, color in points:  # a glyph per run: one braille dot is too faint to find
        dx, dy = at(x, y)
        canvas.char(dx // 2, dy // 4, POINT, color)
    if highlight is not None:
        dx, dy = at(*highlight)
        canvas.char(dx // 2, dy // 4, MARK, HIGHLIGHT)
    labels: dict[int, str] = {}
    for position, text in y_ticks:
        row = round((1.0 - _inset(position)) * dots_y) // 4
        labels.setdefault(row, text)
    rows: list[list[Run]] = [
        [(f"{y_label[:gutter].rjust(gutter)}  {_centered(title, inner)}", None)]
    ]
    rows.append([(" " * gutter + "┌" + "─" * inner + "┐", None)])
    for index, cells in enumerate(canvas.rows()):
        label = labels.get(index)
        left = label.rjust(gutter) + "┤" if label is not None else " " * gutter + "│"
        rows.append([(left, None), *cells, ("│", None)])
    x_ticks = axis_ticks(x_axis, max(2, inner // 12))
    marks = [(round(_inset(p) * dots_x) // 2, t) for p, t in x_ticks]
    kept, tick_text = _place_labels(marks, inner)
    border = ["─"] * inner
    for column in kept:
        border[min(column, inner - 1)] = "┬"
    rows.append([(" " * gutter + "└" + "".join(border) + "┘", None)])
    rows.append([(" " * (gutter + 1) + tick_text, None)])
    rows.append([(" " * (gutter + 1) + _centered(x_label, inner), None)])
    return ChartImage(rows[:height])


def axis_end_label(axis: Axis, position: float) -> str:
    if axis.kind == "category":
        if not axis.categories:
            return ""
        index = 0 if position <= 0 else len(axis.categories) - 1
        return axis.categories[index]
    return _short(axis.value_at(position))


def draw_parallel(
    names: Sequence[str],
    data: Parallel,
    highlight: str | None,
    width: int,
    height: int,
) -> ChartImage:
    """An axis per config key (and the metric last), a line per run coloured by its rank
    (green: the best quarter of the metric's range, red: the worst), the highlighted run's
    line on top with a ◆ on every axis. ``names``: each axis's safe name."""
    axes = data.axes
    plot_rows = height - 3
    if width < 16 or plot_rows < 2 or len(axes) < 2:
        return ChartImage([[("(parallel coordinates need an axis and a metric)"[:width], None)]])
    canvas = BrailleCanvas(width, plot_rows)
    dots_x, dots_y = canvas.dots_wide - 1, canvas.dots_high - 1
    last = len(axes) - 1
    slot = max(3, width // len(axes))
    # Each axis in the middle of its own slot, so every label centres under its axis whole.
    columns = [min(dots_x, 2 * (i * slot + slot // 2)) for i in range(len(axes))]
    for x in columns:
        canvas.vertical(x, 0, dots_y, AXIS_COLOR)

    def y_of(position: float) -> int:
        return round((1.0 - position) * dots_y)

    # A category axis's labels sit right of it, in a gutter its lines cross level (each at
    # its category's row, where the label is): the labels are drawn over nothing but their
    # own lines' start, and the lines leave the gutter's end for the next axis.
    labelled = [
        axis.kind == "category" and 0 < len(axis.categories) <= plot_rows and i < last
        for i, axis in enumerate(axes)
    ]
    gutters = [
        min(max(len(c) for c in axis.categories) + 1, max(0, slot // 2 - 1)) if shown else 0
        for axis, shown in zip(axes, labelled, strict=True)
    ]
    starts = [min(dots_x, x + 2 * g) for x, g in zip(columns, gutters, strict=True)]

    def polyline(ys: Sequence[int], color: str) -> None:
        for i in range(last):
            if starts[i] > columns[i]:
                canvas.line(columns[i], ys[i], starts[i], ys[i], color)
            canvas.line(starts[i], ys[i], columns[i + 1], ys[i + 1], color)

    marked = None
    # Runs that share config values share segments (a sweep's seeds share all but the last):
    # each segment is drawn once, in the colour of the last run drawn over it (the best).
    segments: dict[tuple[int, int, int], str] = {}
    for line in data.lines:
        if line.run_id == highlight:
            marked = line
            continue
        color = RANK_COLORS[min(len(RANK_COLORS) - 1, int(line.rank * len(RANK_COLORS)))]
        ys = [y_of(p) for p in line.positions]
        for i in range(last):
            segment = (i, ys[i], ys[i + 1])
            segments.pop(segment, None)
            segments[segment] = color
    for (i, y0, y1), color in segments.items():
        if starts[i] > columns[i]:
            canvas.line(columns[i], y0, starts[i], y0, color)
        canvas.line(starts[i], y0, columns[i + 1], y1, color)
    marks: list[int] = []
    if marked is not None:
        marks = [y_of(p) for p in marked.positions]
        polyline(marks, HIGHLIGHT)
    for i, axis in enumerate(axes):
        if not labelled[i] or gutters[i] < 2:
            continue
        for position, text in axis_ticks(axis, plot_rows):
            row = y_of(position) // 4
            shown = text if len(text) < gutters[i] else text[: gutters[i] - 2] + "…"
            for offset, char in enumerate(shown):
                canvas.char(columns[i] // 2 + 1 + offset, row, char, "italic")
    for x, y in zip(columns, marks, strict=False):
        canvas.char(x // 2, y // 4, MARK, HIGHLIGHT)
    cells = [x // 2 for x in columns]

    def label_row(texts: Sequence[str]) -> list[Run]:
        """Each text centred on its axis where there is room, the last one pushed left of the
        edge rather than cut; a text cut only where its neighbours leave too little."""
        line = [" "] * width
        free_from = 0
        for index, (column, text) in enumerate(zip(cells, texts, strict=True)):
            room = width - free_from if index == last else max(1, slot - 1)
            if len(text) > room:
                text = text[: max(0, room - 1)] + "…"
            start = max(column - len(text) // 2, free_from, 0)
            start = max(free_from, min(start, width - len(text)))
            if not text or start + len(text) > width:
                continue
            line[start : start + len(text)] = text
            free_from = start + len(text) + 1
        return [("".join(line), None)]

    rows: list[list[Run]] = [label_row(list(names))]
    rows.append(label_row([axis_end_label(a, 1.0) for a in axes]))
    rows.extend(canvas.rows())
    rows.append(label_row([axis_end_label(a, 0.0) for a in axes]))
    return ChartImage(rows[:height])
