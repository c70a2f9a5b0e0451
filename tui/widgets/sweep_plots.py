"""The sweep views' canvas: one widget that shows the picture of whichever view is on (group
curves, scatter, parallel coordinates), drawn by :mod:`tui.view.sweep_draw`.

As :class:`tui.widgets.plot.MetricPlot` does, it draws only when what it shows changed (its
size, or the key the screen gives with the data), and then repaints only the rows whose text
or colours differ: a live sweep that logs without moving any point costs no repaint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ..view.braille import Run
from ..view.chart import ChartImage

Draw = Callable[[int, int], ChartImage]  # (width, height) -> the picture

_STYLES: dict[str | None, Style] = {}


def _style(color: str | None) -> Style:
    style = _STYLES.get(color)
    if style is None:
        style = _STYLES[color] = Style.parse(color) if color else Style()
    return style


def _strip(runs: Sequence[Run], width: int) -> Strip:
    return Strip([Segment(text, _style(color)) for text, color in runs]).adjust_cell_length(width)


def _blank(width: int, height: int) -> ChartImage:
    return ChartImage([[("", None)] for _ in range(height)])


class SweepCanvas(Widget):
    """Call :meth:`show` with a draw function and the key of what it draws."""

    DEFAULT_CSS = """
    SweepCanvas { height: 1fr; min-height: 6; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._draw: Draw = _blank
        self._key: object = None
        self._drawn_key: object = None
        self._image = ChartImage()
        self._strips: list[Strip] = []
        self._width = 0
        self.renders = 0  # pictures drawn, for tests and the benchmark

    def show(self, draw: Draw, key: object) -> bool:
        """Show what ``draw`` draws; nothing is drawn when ``key`` (with the size) is the key
        of the picture shown. True when it was drawn again."""
        self._draw, self._key = draw, key
        if self.is_mounted and self.size.area:
            return self._redraw(repaint=True)
        self.refresh()
        return False

    def on_resize(self) -> None:
        self._redraw(repaint=True)

    def _redraw(self, repaint: bool) -> bool:
        width, height = self.size.width, self.size.height
        key = (width, height, self._key)
        if key == self._drawn_key:
            return False
        self._drawn_key = key
        old = self._image.rows
        self._image = self._draw(width, height)
        self.renders += 1
        rows = self._image.rows[:height]
        if len(rows) != len(self._strips) or width != self._width:
            self._strips = [_strip(row, width) for row in rows]
            self._width = width
            if repaint:
                self.refresh()
            return True
        changed = [y for y, row in enumerate(rows) if y >= len(old) or row != old[y]]
        for y in changed:
            self._strips[y] = _strip(rows[y], width)
        if repaint and changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))
        return True

    def render_line(self, y: int) -> Strip:
        if self.size.area:
            self._redraw(repaint=False)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width)

    @property
    def plain(self) -> str:
        """What the canvas shows, as text (for tests)."""
        if self.size.area:
            self._redraw(repaint=False)
        return self._image.plain
