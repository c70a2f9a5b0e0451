"""A braille canvas: each terminal cell holds 2×4 dots, each cell one colour (the last drawn).

Lines are drawn dot by dot (Bresenham), so a plot costs a few hundred dot writes rather than a
figure library's full layout pass; rows come out as runs of (text, colour) ready for a widget.
Pure: no widgets, no terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

_BASE = 0x2800
# Dot bit for (x in the cell 0..1, y in the cell 0..3), braille's own numbering.
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))

Run = tuple[str, str | None]  # text, colour name (None: blank)


class BrailleCanvas:
    """``width`` × ``height`` cells: ``2 * width`` × ``4 * height`` dots, y = 0 at the top."""

    __slots__ = ("_bits", "_chars", "_colors", "height", "width")

    def __init__(self, width: int, height: int) -> None:
        self.width = max(0, width)
        self.height = max(0, height)
        size = self.width * self.height
        self._bits = [0] * size
        self._colors: list[str | None] = [None] * size
        self._chars: dict[int, str] = {}  # cells showing a character instead of dots

    @property
    def dots_wide(self) -> int:
        return 2 * self.width

    @property
    def dots_high(self) -> int:
        return 4 * self.height

    def dot(self, x: int, y: int, color: str | None) -> None:
        if 0 <= x < 2 * self.width and 0 <= y < 4 * self.height:
            cell = (y >> 2) * self.width + (x >> 1)
            self._bits[cell] |= _BITS[x & 1][y & 3]
            self._colors[cell] = color

    def vertical(self, x: int, y0: int, y1: int, color: str | None) -> None:
        if not 0 <= x < 2 * self.width:
            return
        low, high = (y0, y1) if y0 <= y1 else (y1, y0)
        low, high = max(0, low), min(4 * self.height - 1, high)
        column, bits, colors, width = x >> 1, _BITS[x & 1], self._colors, self.width
        for y in range(low, high + 1):
            cell = (y >> 2) * width + column
            self._bits[cell] |= bits[y & 3]
            colors[cell] = color

    def line(self, x0: int, y0: int, x1: int, y1: int, color: str | None) -> None:
        """Every dot from (x0, y0) to (x1, y1), ends included."""
        if x0 == x1:
            self.vertical(x0, y0, y1, color)
            return
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        dot = self.dot
        while True:
            dot(x0, y0, color)
            if x0 == x1 and y0 == y1:
                return
            twice = 2 * error
            if twice >= dy:
                error += dy
                x0 += sx
            if twice <= dx:
                error += dx
                y0 += sy

    def polyline(self, points: Sequence[tuple[int, int]], color: str | None) -> None:
        """``points`` joined, as :meth:`dot` then :meth:`line` from each to the next would
        draw them (the same dots, the same colours), in one loop: a plot's few hundred
        points cost a third of what a call per segment and per dot did."""
        if not points:
            return
        width, bits, colors = self.width, self._bits, self._colors
        wide, high = 2 * width, 4 * self.height
        x0, y0 = points[0]
        if 0 <= x0 < wide and 0 <= y0 < high:
            cell = (y0 >> 2) * width + (x0 >> 1)
            bits[cell] |= _BITS[x0 & 1][y0 & 3]
            colors[cell] = color
        for x1, y1 in points[1:]:
            if x0 == x1:
                if 0 <= x0 < wide:
                    low, top = (y0, y1) if y0 <= y1 else (y1, y0)
                    column, column_bits = x0 >> 1, _BITS[x0 & 1]
                    for y in range(max(0, low), min(high - 1, top) + 1):
                        cell = (y >> 2) * width + column
                        bits[cell] |= column_bits[y & 3]
                        colors[cell] = color
            else:
                x, y = x0, y0
                dx, dy = abs(x1 - x), -abs(y1 - y)
                sx, sy = (1 if x < x1 else -1), (1 if y < y1 else -1)
                error = dx + dy
                while True:
                    if 0 <= x < wide and 0 <= y < high:
                        cell = (y >> 2) * width + (x >> 1)
                        bits[cell] |= _BITS[x & 1][y & 3]
                        colors[cell] = color
                    if x == x1 and y == y1:
                        break
                    twice = 2 * error
                    if twice >= dy:
                        error += dy
                        x += sx
                    if twice <= dx:
                        error += dx
                        y += sy
            x0, y0 = x1, y1

    def char(self, column: int, row: int, text: str, color: str | None) -> None:
        """Show one character in a cell (a marker) in place of its dots."""
        if 0 <= column < self.width and 0 <= row < self.height:
            cell = row * self.width + column
            self._chars[cell] = text[:1]
            self._colors[cell] = color

    def rows(self) -> list[list[Run]]:
        """Each row as runs of equal colour; blank cells are spaces with no colour."""
        out: list[list[Run]] = []
        bits, colors, chars, width = self._bits, self._colors, self._chars, self.width
        for row in range(self.height):
            runs: list[Run] = []
            text: list[str] = []
            current: str | None = None
            start = row * width
            for cell in range(start, start + width):
                char = chars.get(cell)
                value = bits[cell]
                if char is None and not value:
                    color, glyph = None, " "
                else:
                    color, glyph = colors[cell], char or chr(_BASE + value)
                if color != current and text:
                    runs.append(("".join(text), current))
                    text = []
                current = color
                text.append(glyph)
            if text:
                runs.append(("".join(text), current))
            out.append(runs)
        return out
