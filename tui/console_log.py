"""A run's console as lines, rebuilt from stored chunks the way a terminal would show them.

``\\r`` returns to the start of the line (the next text replaces it: progress bars), ``\\n``
ends it, ANSI escape sequences are dropped and other control characters made visible. The
last line may be unfinished (a progress bar in flight) and is shown as it stands. At most
:data:`MAX_LINES` lines are kept: the oldest go first.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from .sanitize import safe_text

MAX_LINES = 20_000
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_BREAKS = re.compile(r"(\r\n|\r|\n)")


@dataclass(slots=True)
class ConsoleLine:
    text: str
    stream: int  # 1 stdout, 2 stderr
    t: float


class ConsoleLog:
    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.lines: deque[ConsoleLine] = deque(maxlen=max_lines)
        self.partial: ConsoleLine | None = None  # the line being written (no newline yet)
        self.total = 0  # lines ever finished, so widgets know how many are new
        self.last_id = 0  # the newest stored chunk fed
        self._return = False

    def feed(self, stream: int, t: float, text: str) -> None:
        for piece in _BREAKS.split(_ANSI.sub("", text)):
            if piece in ("\n", "\r\n"):
                line = self.partial or ConsoleLine("", stream, t)
                self.lines.append(ConsoleLine(safe_text(line.text, 4000), line.stream, line.t))
                self.total += 1
                self.partial = None
                self._return = False
            elif piece == "\r":
                self._return = True
            elif piece:
                if self.partial is None or self._return:
                    self.partial = ConsoleLine(piece, stream, t)
                else:
                    self.partial.text += piece
                    self.partial.stream = max(self.partial.stream, stream)
                self._return = False

    def shown(self) -> list[ConsoleLine]:
        """Every line, the unfinished one last (with its control characters made visible)."""
        out = list(self.lines)
        if self.partial is not None and self.partial.text:
            p = self.partial
            out.append(ConsoleLine(safe_text(p.text, 4000), p.stream, p.t))
        return out
