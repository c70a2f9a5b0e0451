"""Charts of logged tables (``tracker.plot.*``, wandb's ``wandb.plot.*``) drawn as text at the
size of the media pane: lines, scatter points, histograms and PR/ROC curves with plotext
(braille), bars as block characters.

:func:`chart_plan` turns the stored table into what is drawn (numbers per series, labels
made safe); it raises ``ValueError`` with the reason when there is nothing to draw.
:func:`chart_text` draws a plan; plotext keeps one global figure, so it only ever runs on
the UI thread. Every label that reaches plotext (titles, series names, column names) has
passed the sanitizer first: plotext's output is parsed as ANSI, so an escape sequence in a
stored name must never reach it raw.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from tracker.media.decoded import ChartData

from .formatting import format_number
from .sanitize import safe_text

# plotext colour names and the same ANSI colours for Rich (as tui.widgets.plot's palette)
COLORS = (
    ("cyan", "color(6)"), ("orange", "color(3)"), ("green", "color(2)"), ("magenta", "color(5)"),
    ("blue+", "color(12)"), ("red", "color(1)"), ("cyan+", "color(14)"), ("green+", "color(10)"),
    ("magenta+", "color(13)"), ("orange+", "color(11)"),
)  # fmt: skip
MAX_SERIES = len(COLORS)
MAX_POINTS = 2000  # per series: more than a pane has braille dots across
LABEL_CHARS = 24


@dataclass
class Series:
    label: str
    xs: list[float]
    ys: list[float]


@dataclass
class ChartPlan:
    """What is drawn: ``style`` is ``lines``, ``points``, ``bars`` or ``histogram``."""

    style: str
    title: str
    xlabel: str = ""
    ylabel: str = ""
    series: list[Series] = field(default_factory=list)
    bars: list[tuple[str, float | None]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    unit_square: bool = False  # PR/ROC: both axes 0..1
    notes: list[str] = field(default_factory=list)


def number(cell: Any) -> float | None:
    """A cell as a finite float, or None (text, booleans, empty, NaN and ±inf)."""
    if isinstance(cell, bool) or not isinstance(cell, (int, float)):
        return None
    value = float(cell)
    return value if math.isfinite(value) and abs(value) <= 1e300 else None


def label(cell: Any, limit: int = LABEL_CHARS) -> str:
    if isinstance(cell, float):
        return format_number(cell)
    return safe_text("–" if cell is None else cell, limit)


def chart_plan(chart: ChartData) -> ChartPlan:
    fields, strings, kind = chart.fields, chart.strings, chart.type
    title = safe_text(chart.title, 120)
    if kind == "line":
        return _lines(chart, title, fields.get("x"), fields.get("y"), fields.get("stroke"))
    if kind == "line_series":
        plan = _lines(
            chart, title, fields.get("step"), fields.get("lineVal"), fields.get("lineKey")
        )
        plan.xlabel = safe_text(strings.get("xname", "") or plan.xlabel, 40)
        plan.ylabel = ""
        return plan
    if kind == "curve":
        plan = _lines(chart, title, fields.get("x"), fields.get("y"), fields.get("class"))
        plan.xlabel = safe_text(strings.get("x-axis-title", "") or plan.xlabel, 40)
        plan.ylabel = safe_text(strings.get("y-axis-title", "") or plan.ylabel, 40)
        plan.unit_square = all(
            0 <= v <= 1 for s in plan.series for v in (*s.xs, *s.ys)
        )  # fmt: skip
        for series in plan.series:
            series.label = f"{series.label} AUC {format_number(_area(series), 3)}"
        return plan
    if kind == "scatter":
        plan = _lines(chart, title, fields.get("x"), fields.get("y"), None, sort=False)
        plan.style = "points"
        return plan
    if kind == "bar":
        return _bars(chart, title, fields.get("label"), fields.get("value"))
    if kind == "histogram":
        return _histogram(chart, title, fields.get("value"))
    raise ValueError(
        f"custom chart {safe_text(chart.spec, 60)!r} is not drawn here; t shows its table"
    )


def _column(chart: ChartData, name: str | None, role: str) -> int:
    columns = chart.table.columns
    if name is None:
        raise ValueError(f"{chart.type} chart: no column given for {role}")
    if name not in columns:
        shown = ", ".join(safe_text(c, 30) for c in columns[:12])
        raise ValueError(
            f"{chart.type} chart: {role} column {safe_text(name, 40)!r} is not in its table "
            f"(columns: {shown})"
        )
    return columns.index(name)


def _lines(
    chart: ChartData,
    title: str,
    x: str | None,
    y: str | None,
    group: str | None,
    sort: bool = True,
) -> ChartPlan:
    xi, yi = _column(chart, x, "x"), _column(chart, y, "y")
    gi = _column(chart, group, "stroke") if group is not None else None
    groups: dict[str, Series] = {}
    skipped = 0
    for row in chart.table.rows:
        px, py = number(row[xi]), number(row[yi])
        if px is None or py is None:
            skipped += 1
            continue
        name = label(row[gi]) if gi is not None else ""
        series = groups.get(name)
        if series is None:
            series = groups[name] = Series(name, [], [])
        series.xs.append(px)
        series.ys.append(py)
    if not groups:
        raise ValueError(
            f"{chart.type} chart: columns {safe_text(x, 40)!r} and {safe_text(y, 40)!r} "
            "hold no pairs of numbers"
        )
    plan = ChartPlan("lines", title, safe_text(x, 40), safe_text(y, 40))
    for series in list(groups.values())[:MAX_SERIES]:
        if sort:
            pairs = sorted(zip(series.xs, series.ys, strict=True), key=lambda p: p[0])
            series.xs, series.ys = [p[0] for p in pairs], [p[1] for p in pairs]
        if len(series.xs) > MAX_POINTS:
            picks = sorted(
                {round(i * (len(series.xs) - 1) / (MAX_POINTS - 1)) for i in range(MAX_POINTS)}
            )
            series.xs = [series.xs[i] for i in picks]
            series.ys = [series.ys[i] for i in picks]
        plan.series.append(series)
    if len(groups) > MAX_SERIES:
        plan.notes.append(f"{len(groups) - MAX_SERIES} more series not drawn")
    if skipped:
        plan.notes.append(f"{skipped:,} rows without numbers left out")
    return plan


def _area(series: Series) -> float:
    pairs = sorted(zip(series.xs, series.ys, strict=True))
    return sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in itertools.pairwise(pairs))


def _bars(chart: ChartData, title: str, name: str | None, value: str | None) -> ChartPlan:
    li, vi = _column(chart, name, "label"), _column(chart, value, "value")
    plan = ChartPlan("bars", title, safe_text(name, 40), safe_text(value, 40))
    plan.bars = [(label(row[li], 40), number(row[vi])) for row in chart.table.rows]
    if not any(v is not None for _, v in plan.bars):
        raise ValueError(f"bar chart: column {safe_text(value, 40)!r} holds no numbers")
    return plan


def _histogram(chart: ChartData, title: str, value: str | None) -> ChartPlan:
    vi = _column(chart, value, "value")
    plan = ChartPlan("histogram", title, safe_text(value, 40), "count")
    plan.values = [v for v in (number(row[vi]) for row in chart.table.rows) if v is not None]
    if not plan.values:
        raise ValueError(f"histogram chart: column {safe_text(value, 40)!r} holds no numbers")
    skipped = len(chart.table.rows) - len(plan.values)
    if skipped:
        plan.notes.append(f"{skipped:,} rows without numbers left out")
    return plan


def chart_text(chart: ChartData, width: int, height: int) -> Text:
    """The chart at ``width`` × ``height`` cells (UI thread only: plotext is global)."""
    plan = chart_plan(chart)
    notes = Text("  ".join(plan.notes), style="dim") if plan.notes else None
    room = height - (1 if notes is not None else 0)
    if plan.style == "bars":
        text = bar_text(plan, width, room)
    elif width < 16 or room < 5:
        text = Text(f"{plan.title or chart.type} (too small to draw)", style="dim")
    else:
        text = _plotext(plan, width, room)
    if notes is not None:
        text.append("\n")
        text.append_text(notes)
    text.no_wrap = True
    text.overflow = "crop"
    return text


def _plotext(plan: ChartPlan, width: int, height: int) -> Text:
    import plotext as plt

    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    if plan.style == "histogram":
        bins = max(5, min(40, width // 3))
        plt.hist(plan.values, bins=bins, color=COLORS[0][0])
    for index, series in enumerate(plan.series):
        color = COLORS[index % len(COLORS)][0]
        name = series.label or None
        if plan.style == "points":
            plt.scatter(series.xs, series.ys, marker="braille", color=color, label=name)
        else:
            plt.plot(series.xs, series.ys, marker="braille", color=color, label=name)
    if plan.unit_square:
        plt.xlim(0, 1)
        plt.ylim(0, 1)
    if plan.title:
        plt.title(plan.title)
    if plan.xlabel:
        plt.xlabel(plan.xlabel)
    if plan.ylabel:
        plt.ylabel(plan.ylabel)
    return Text.from_ansi(plt.build(), no_wrap=True)


def bar_text(plan: ChartPlan, width: int, height: int) -> Text:
    """One row per bar: its label, a bar as long as its value (from zero, negative values in
    red), the value."""
    text = Text()
    if plan.title:
        text.append(plan.title + "\n", style="bold")
        height -= 1
    shown = plan.bars if len(plan.bars) <= max(1, height) else plan.bars[: max(1, height - 1)]
    values = [abs(v) for _, v in plan.bars if v is not None]
    peak = max(values) or 1.0
    label_width = min(24, max((len(name) for name, _ in shown), default=1))
    room = max(4, width - label_width - 12)
    for index, (name, value) in enumerate(shown):
        text.append(f"{name[:label_width]:>{label_width}} ", style="bold")
        if value is None:
            text.append("–", style="dim")
        else:
            cells = value and max(1, round(abs(value) / peak * room))
            text.append("█" * int(cells), style=COLORS[index % len(COLORS)][1] if value >= 0
                        else "red")  # fmt: skip
            text.append(f" {format_number(value)}")
        text.append("\n")
    if len(shown) < len(plan.bars):
        text.append(f"… {len(plan.bars) - len(shown):,} more bars", style="dim")
    else:
        text.rstrip()
    return text
