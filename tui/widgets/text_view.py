"""A line or two of text that is laid out again only when it changes.

``Static.update`` asks for a new layout of the whole screen, which made every live frame a
full repaint while the header said the same thing; :meth:`TextView.show` compares first.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TextView(Static):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: tuple[object, ...] | None = None
        self._lines = 0

    def show(self, text: Text, height: int | None = None) -> bool:
        """Show ``text`` (``height`` lines tall, if given); False when it was shown already."""
        key = (text.plain, str(text.style), tuple(text.spans), text.justify, height)
        if key == self._shown:
            return False
        lines = text.plain.count("\n") + 1
        # A new layout only when the size may change: a live run's header changes its step
        # every frame, and a layout each time repainted the whole screen.
        relayout = self._shown is None or lines != self._lines or height != self._shown[-1]
        self._shown, self._lines = key, lines
        if height is not None:
            self.styles.height = height  # a no-op when unchanged
        self.update(text, layout=relayout)
        return True
