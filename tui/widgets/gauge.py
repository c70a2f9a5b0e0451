"""One hardware gauge: a title, a bar against the metric's range, the value and a sparkline.

It draws what it is given (``update_value``); it never samples anything itself.
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widget import Widget

from ..formatting import format_with_unit
from ..sanitize import safe_text
from ..view.sparkline import sparkline

HISTORY = 120


def level_style(fraction: float) -> str:
    if fraction >= 0.9:
        return "bold red"
    if fraction >= 0.7:
        return "yellow"
    return "green"


class Gauge(Widget):
    """``fraction`` = value / high (or / total for sizes); no bar when there is no known top."""

    DEFAULT_CSS = """
    Gauge { height: 1; width: 1fr; }
    """

    def __init__(
        self, title: str, unit: str, high: float | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title = safe_text(title)
        self.unit = unit
        self.high = high
        self.value: float | None = None
        self.detail = ""
        self.history: deque[float] = deque(maxlen=HISTORY)
        self.relative = False  # the bar is against a recent peak, not a limit: no alarm colours

    def update_value(
        self, value: float | None, high: float | None = None, detail: str = "", record: bool = True
    ) -> None:
        recorded = value is not None and record
        if (
            not recorded
            and (value, detail) == (self.value, self.detail)
            and (high is None or high == self.high)
        ):
            return  # the same reading again (a run's last values, every frame): no repaint
        if high is not None:
            self.high = high
        self.value = value
        self.detail = detail
        if recorded and value is not None:
            self.history.append(value)
        self.refresh()

    def render(self) -> Text:
        width = self.size.width or 80
        narrow = width < 60
        title_width = 12 if narrow else min(18, max(8, width // 5))
        value_text = format_with_unit(self.value, self.unit)
        if self.detail and not narrow:
            value_text = f"{value_text} {self.detail}"
        value_width = max(len(value_text), 9 if narrow else 22)
        spark_width = max(0, min(24, (width - title_width - value_width) // 3))
        bar_width = max(4, width - title_width - value_width - spark_width - 4)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(self.title[:title_width].ljust(title_width), style="bold")
        line.append(" ")
        if self.value is not None and self.high:
            fraction = max(0.0, min(1.0, self.value / self.high))
            filled = round(fraction * bar_width)
            line.append("█" * filled, style="cyan" if self.relative else level_style(fraction))
            line.append("░" * (bar_width - filled), style="grey35")
        else:
            line.append(" " * bar_width)
        line.append(" ")
        line.append(value_text.rjust(value_width))
        if spark_width:
            line.append(" ")
            line.append(sparkline(list(self.history), spark_width), style="cyan")
        return line
