"""Pure renderers of stored media as Rich text: a histogram's history as a heatmap (steps
across, values up), one histogram as a sparkline, and a confusion matrix as a labelled
heatmap. No widget state: easy to test, drawn on the UI thread from data already read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from tracker.media.decoded import ConfusionData, HistogramData

from .formatting import format_number
from .sanitize import safe_text

HEAT = ("#1b1f3a", "#26336b", "#2b5a8a", "#24808c", "#2aa876", "#7cc453", "#d4d93b", "#fde725")
SPARK = " ▁▂▃▄▅▆▇█"


def quantile(hist: HistogramData, q: float) -> float:
    """The value below which a share ``q`` of the histogram's mass lies (linear in a bin)."""
    total = sum(hist.counts)
    if total <= 0:
        return hist.edges[0] if hist.edges else 0.0
    target, seen = q * total, 0.0
    for count, left, right in zip(hist.counts, hist.edges, hist.edges[1:], strict=False):
        if count > 0 and seen + count >= target:
            return left + (right - left) * (target - seen) / count
        seen += count
    return hist.edges[-1]


def value_range(histograms: Sequence[HistogramData], tail: float = 0.005) -> tuple[float, float]:
    """A range that holds all but the extreme ``tail`` of each histogram: a few outliers
    would otherwise squeeze every distribution into one row."""
    low = min(quantile(h, tail) for h in histograms)
    high = max(quantile(h, 1.0 - tail) for h in histograms)
    if high <= low:
        middle = (high + low) / 2
        return middle - 0.5, middle + 0.5
    return low, high


def rebin(hist: HistogramData, low: float, high: float, bins: int) -> list[float]:
    """Counts spread onto ``bins`` equal bins over [low, high] by overlap (mass is kept);
    mass outside the range is added to the first or last bin."""
    out = [0.0] * bins
    width = (high - low) / bins
    if width <= 0:
        return out
    for count, left, right in zip(hist.counts, hist.edges, hist.edges[1:], strict=False):
        if count <= 0 or right <= left:
            continue
        if left < low:
            out[0] += count * (min(right, low) - left) / (right - left)
        if right > high:
            out[-1] += count * (right - max(left, high)) / (right - left)
        density = count / (right - left)
        first = max(0, int((left - low) / width))
        last = min(bins - 1, int((right - low) / width))
        for index in range(first, last + 1):
            lo = max(left, low + index * width)
            hi = min(right, low + (index + 1) * width)
            if hi > lo:
                out[index] += density * (hi - lo)
    return out


def histogram_heatmap(
    history: Sequence[tuple[int, HistogramData]], width: int, height: int, cursor: int | None
) -> Text:
    """Steps left to right (the newest at the right), values bottom to top; each column
    scaled to its own peak so the shape of every step shows. ``cursor`` marks a step."""
    shown = [(step, h) for step, h in history if h.counts]
    text = Text()
    if not shown:
        return Text("no finite values in this histogram", style="dim")
    label_width = 9
    columns = max(4, width - label_width - 1)
    rows = max(3, height - 3)
    if len(shown) > columns:  # keep evenly spaced steps, always the newest
        picks = [round(i * (len(shown) - 1) / (columns - 1)) for i in range(columns)]
        shown = [shown[i] for i in sorted(set(picks))]
    low, high = value_range([h for _, h in shown])
    per_step = max(1, columns // len(shown))
    cursor_index = _cursor_index([s for s, _ in shown], cursor)
    marker = Text(" " * (label_width + 1))
    for index in range(len(shown)):
        marker.append(("▼" if index == cursor_index else " ") * per_step, style="bold yellow")
    text.append_text(marker)
    text.append("\n")
    # two value bins per text row: "▀" in the upper bin's colour on the lower bin's colour
    grids = [rebin(h, low, high, 2 * rows) for _, h in shown]
    peaks = [max(grid) or 1.0 for grid in grids]
    for row in range(rows - 1, -1, -1):
        value = low + (row + 0.5) * (high - low) / rows
        label = format_number(value) if row in (0, rows - 1, rows // 2) else ""
        text.append(f"{label:>{label_width}} ", style="dim")
        for grid, peak in zip(grids, peaks, strict=True):
            upper = _shade(grid[2 * row + 1] / peak)
            lower = _shade(grid[2 * row] / peak)
            text.append("▀" * per_step, style=f"{upper} on {lower}")
        text.append("\n")
    first, last = shown[0][0], shown[-1][0]
    axis = f"step {format_number(first)}"
    end = format_number(last)
    pad = max(1, per_step * len(shown) - len(axis) - len(end))
    text.append(" " * (label_width + 1) + axis + " " * pad + end, style="dim")
    text.no_wrap = True
    text.overflow = "crop"
    return text


def _shade(level: float) -> str:
    return HEAT[min(len(HEAT) - 1, int(level * (len(HEAT) - 1) + 0.5))]


def _cursor_index(steps: Sequence[int], cursor: int | None) -> int:
    if cursor is None:
        return len(steps) - 1
    best = 0
    for index, step in enumerate(steps):
        if step <= cursor:
            best = index
    return best


def histogram_line(hist: HistogramData, width: int) -> Text:
    """One histogram as a row of block characters, low values at the left, its extreme
    tails folded into the end cells."""
    if not hist.counts:
        return Text("(empty)", style="dim")
    low, high = value_range([hist])
    grid = rebin(hist, low, high, max(4, width))
    peak = max(grid) or 1.0
    bars = "".join(SPARK[min(8, int(v / peak * 8 + 0.999))] if v > 0 else " " for v in grid)
    return Text(bars, style="cyan")


def confusion_table(data: ConfusionData, title: str = "") -> Table:
    """Counts with the row's share as the cell colour (green on the diagonal, red off it), the
    recall of every true class, and the accuracy in the title."""
    total = sum(map(sum, data.matrix))
    correct = sum(data.matrix[i][i] for i in range(len(data.labels)))
    accuracy = f"accuracy {correct / total:.1%}" if total else "no samples"
    table = Table(
        title=Text(f"{title}  {accuracy}".strip()),
        caption=Text("rows: true class · columns: predicted", style="dim"),
        show_lines=False,
        padding=(0, 1),
        expand=False,
    )
    table.add_column(Text("true \\ pred", style="dim"), no_wrap=True)
    for label in data.labels:
        table.add_column(Text(safe_text(label, 12)), justify="right", no_wrap=True)
    table.add_column(Text("recall", style="dim"), justify="right", no_wrap=True)
    for i, (label, row) in enumerate(zip(data.labels, data.matrix, strict=True)):
        row_total = sum(row)
        cells = [Text(safe_text(label, 16), style="bold")]
        for j, count in enumerate(row):
            share = count / row_total if row_total else 0.0
            cells.append(Text(str(count), style=_confusion_style(share, i == j)))
        recall = f"{row[i] / row_total:.0%}" if row_total else "–"
        cells.append(Text(recall, style="dim"))
        table.add_row(*cells)
    return table


def _confusion_style(share: float, diagonal: bool) -> str:
    if share <= 0:
        return "dim"
    level = min(1.0, share)
    if diagonal:
        green = int(60 + 140 * level)
        return f"bold #ffffff on #10{green:02x}30"
    red = int(60 + 160 * level)
    return f"bold #ffffff on #{red:02x}1818"


def histogram_stats(meta: dict[str, Any]) -> Text:
    """A histogram's count, mean, spread and range, and how many NaN/inf were left out."""
    parts = []
    for name in ("total", "mean", "std", "min", "max"):
        value = meta.get(name)
        if isinstance(value, (int, float)):
            parts.append(f"{'n' if name == 'total' else name} {format_number(value)}")
    text = Text("  ".join(parts), style="dim")
    nonfinite = meta.get("nonfinite")
    if nonfinite:
        text.append(f"  ⚠ {safe_text(nonfinite, 20)} NaN/inf left out", style="bold red")
    return text
