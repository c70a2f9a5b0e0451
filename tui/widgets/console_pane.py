"""The console pane: a run's stdout and stderr as the terminal showed them, tailing live.

It follows the end while the view is at the bottom (scrolling up stops following, ``end``
resumes). ``f`` searches (a case-insensitive substring; ``n``/``N`` next/previous match,
matches highlighted); stderr lines are tinted. A line longer than the pane wraps onto the
rows below it: each line is wrapped once, when written, and everything again only when the
pane's width changes (the log keeps a stable scrollbar gutter, so a scrollbar appearing never
changes it).
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Any, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, RichLog, Static

from ..console_log import MAX_LINES, ConsoleLine, ConsoleLog
from ..messages import FollowConsole
from ..model import HoldsModel, RunsModel
from .text_field import TextField

STDERR = 2


def elapsed(seconds: float) -> str:
    """Time since the run started: ``m:ss``, or ``h:mm:ss`` past an hour."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:2d}:{secs:02d}"


def line_text(line: ConsoleLine, query: str = "", started: float = 0.0) -> Text:
    text = Text(f"{elapsed(line.t - started):>7} ", style="dim")
    body = Text(line.text, style="yellow" if line.stream == STDERR else "")
    if query:
        body.highlight_words([query], style="black on yellow", case_sensitive=False)
    text.append_text(body)
    return text


class ConsolePane(Vertical):
    DEFAULT_CSS = """
    ConsolePane #console-log { scrollbar-gutter: stable; overflow-x: hidden; }
    """
    BINDINGS = [
        Binding("f", "search", "search", show=False),
        Binding("n", "next_match(1)", "next match", show=False),
        Binding("N", "next_match(-1)", "previous match", show=False),
        Binding("end", "follow", "follow", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id: str | None = None
        self.query_text = ""
        self._written = 0  # finished lines already in the log widget
        self._match = -1
        self._width = 0  # the width the log's lines were wrapped at
        self._starts: deque[int] = deque(maxlen=MAX_LINES)  # each line's first row

    @property
    def model(self) -> RunsModel:
        """The app's model (attributes down: this widget reads it, never changes it)."""
        return cast(HoldsModel, self.app).model

    def compose(self) -> ComposeResult:
        yield Static(id="console-header")
        yield RichLog(
            id="console-log",
            wrap=True,
            markup=False,
            highlight=False,
            max_lines=MAX_LINES * 4,  # rows: a wrapped line takes several
            min_width=1,
        )
        yield Static(id="console-partial", classes="hidden")
        yield TextField(
            placeholder="search the console (enter: find, escape: close)",
            id="console-search",
            classes="hidden",
            submit="find",
        )

    def show_run(self, run_id: str) -> None:
        if run_id != self.run_id:
            self.run_id = run_id
            self._written = 0
            self._starts.clear()
            self.query_one("#console-log", RichLog).clear()
            self.app.post_message(FollowConsole(run_id))
        self.refresh_console()

    @property
    def started(self) -> float:
        run = self.model.runs.get(self.run_id or "")
        return run.created_at if run is not None else 0.0

    @property
    def log_model(self) -> ConsoleLog | None:
        return self.model.media.consoles.get(self.run_id or "")

    def refresh_console(self) -> None:
        model = self.log_model
        header = self.query_one("#console-header", Static)
        widget = self.query_one("#console-log", RichLog)
        partial = self.query_one("#console-partial", Static)
        if model is None:
            header.update(Text(" console: loading…", style="dim"))
            return
        width = widget.scrollable_content_region.width
        if width > 0 and width != self._width:  # shown or resized: wrapped again at its width
            self._rewrite(model)
        elif width > 0:  # (0: not laid out yet; written once its width is known, on_resize)
            follow = widget.scroll_offset.y >= widget.max_scroll_y - 1
            new = min(len(model.lines), model.total - self._written)
            if new > 0:
                for line in list(model.lines)[len(model.lines) - new :]:
                    self._write(widget, line, follow)
            self._written = model.total
        shown = model.shown()
        in_flight = model.partial is not None and bool(model.partial.text)
        partial.set_class(not in_flight, "hidden")
        if in_flight:  # a progress bar being redrawn: shown under the log, replaced in place
            partial.update(line_text(shown[-1], self.query_text, self.started))
        search = f"  search: {self.query_text!r} (n/N)" if self.query_text else ""
        header.update(
            Text.assemble(
                (" console", "bold"), (f"  {model.total:,} lines", "dim"), (search, "yellow"),
                ("   f search  end follow", "dim"),
            )
        )  # fmt: skip

    def _write(self, widget: RichLog, line: ConsoleLine, scroll_end: bool) -> None:
        self._starts.append(widget._start_line + len(widget.lines))
        widget.write(
            line_text(line, self.query_text, self.started), width=self._width, scroll_end=scroll_end
        )

    def _rewrite(self, model: ConsoleLog) -> None:
        """Write every line again, wrapped at the log's width (after the search changed, to
        highlight its matches, or the width changed)."""
        widget = self.query_one("#console-log", RichLog)
        follow = widget.scroll_offset.y >= widget.max_scroll_y - 1
        top = self._row_line(widget.scroll_offset.y)
        self._width = widget.scrollable_content_region.width
        widget.clear()
        self._starts.clear()
        last = len(model.lines) - 1
        for index, line in enumerate(model.lines):
            # The last line's write scrolls to the end: a log not laid out yet keeps the writes
            # for when it is, and a scroll made now (below) is lost then (a console opened at
            # once showed its first lines, not following, under load)
            self._write(widget, line, follow and index == last)
        self._written = model.total
        if follow:
            widget.scroll_end(animate=False, immediate=True)
        elif top is not None and top < len(self._starts):
            widget.scroll_to(y=self._starts[top] - widget._start_line, animate=False)

    def _row_line(self, row: int) -> int | None:
        """The index (in the console's lines) of the line drawn on ``row`` of the log."""
        if not self._starts:
            return None
        absolute = row + self.query_one("#console-log", RichLog)._start_line
        return max(0, bisect.bisect_right(self._starts, absolute) - 1)

    def on_resize(self, event: events.Resize) -> None:
        if self.run_id is not None and not self.has_class("hidden"):
            self.refresh_console()

    def action_search(self) -> None:
        search = self.query_one("#console-search", Input)
        search.remove_class("hidden")
        search.value = self.query_text
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "console-search":
            return
        event.stop()
        self.query_text = event.value.strip()
        event.input.add_class("hidden")
        self.query_one("#console-log", RichLog).focus()
        model = self.log_model
        if model is not None:
            self._rewrite(model)
            self._match = -1
            self.action_next_match(1)
            self.refresh_console()

    def on_key(self, event: events.Key) -> None:
        search = self.query_one("#console-search", Input)
        if event.key == "escape" and search.has_focus:
            event.stop()
            search.add_class("hidden")
            self.query_one("#console-log", RichLog).focus()

    def action_next_match(self, direction: int) -> None:
        model = self.log_model
        if model is None or not self.query_text:
            return
        lines = list(model.lines)
        needle = self.query_text.lower()
        matches = [i for i, line in enumerate(lines) if needle in line.text.lower()]
        if not matches:
            self.app.notify(f"not in the console: {self.query_text}", severity="warning")
            return
        if direction > 0:
            following = [i for i in matches if i > self._match]
            self._match = following[0] if following else matches[0]
        else:
            earlier = [i for i in matches if i < self._match]
            self._match = earlier[-1] if earlier else matches[-1]
        widget = self.query_one("#console-log", RichLog)
        row = (
            self._starts[self._match] - widget._start_line if self._match < len(self._starts) else 0
        )
        widget.scroll_to(y=max(0, row - widget.size.height // 2), animate=False)

    def action_follow(self) -> None:
        self.query_one("#console-log", RichLog).scroll_end(animate=False)
