"""A run's plots, one per metric, each section under its name: mounted a screenful first.

Mounting is most of what opening a run costs: a run of 300 metrics mounted 300 plots and their
section names before its first paint (1.5 s here, its top plots waiting for the last). The
first :data:`FIRST_PLOTS` are mounted with the column, the rest :data:`PLOTS_PER_MOUNT` at a
time after each paint, so the top of the run shows at once and keys are answered meanwhile;
:class:`PlotColumn.Mounted` tells the screen which plots it can draw now.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ..model import section_of
from ..sanitize import safe_text
from .plot import MetricPlot

FIRST_PLOTS = 12  # more than the tallest terminal shows at once (a plot is 14 rows)
PLOTS_PER_MOUNT = 48


class PlotColumn(VerticalScroll):
    class Mounted(Message):
        """More of the column's plots are mounted (``plots`` holds them)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys: list[str] = []  # every metric the column shows, in order
        self.plots: dict[str, MetricPlot] = {}  # those mounted so far
        self._pending: deque[tuple[str | None, Widget]] = deque()  # (metric or None, widget)
        self._generation = 0  # a newer set of keys drops the chunks of an older one

    def show_keys(self, keys: Sequence[str], units: Sequence[str]) -> None:
        """Plots for ``keys`` (``units``: each one's unit), in place of those shown."""
        self.keys = list(keys)
        self._generation += 1
        self.remove_children()
        self.plots = {}
        pending: deque[tuple[str | None, Widget]] = deque()
        current_section = None
        for key, unit in zip(keys, units, strict=True):
            section = section_of(key)
            if section != current_section:
                pending.append((None, Static(Text(safe_text(section)), classes="section")))
                current_section = section
            pending.append((key, MetricPlot(key, unit)))
        self._pending = pending
        self._mount_next(self._generation, FIRST_PLOTS)

    def _mount_next(self, generation: int, plots: int) -> None:
        if generation != self._generation or not self._pending:
            return
        batch: list[Widget] = []
        while self._pending and plots > 0:
            key, widget = self._pending.popleft()
            batch.append(widget)
            if key is not None and isinstance(widget, MetricPlot):
                self.plots[key] = widget
                plots -= 1
        self.mount_all(batch)
        self.post_message(self.Mounted())
        if self._pending:
            self.call_after_refresh(self._mount_next, generation, PLOTS_PER_MOUNT)
