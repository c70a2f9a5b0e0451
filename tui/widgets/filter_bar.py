"""The filter field under the runs table: the count of matches as you type, mistakes explained
inline (never applied), ``enter`` applies (``FilterBar.Applied`` goes up, with the parsed
predicate).

Typing never waits on a filter. An expression of up to :data:`SYNC_LENGTH` characters is
parsed at each keystroke (microseconds: the language is linear and regular expressions are
RE2's), so mistakes show at once; longer ones are parsed on a worker thread. Counting the runs
that match always happens on a worker thread, :data:`DEBOUNCE_S` after the last keystroke, and
its result arrives as a message; a newer keystroke cancels it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tracker.errors import FilterError
from tracker.filters import Predicate, compile_filter
from tracker.models import RunRecord

from ..run_filter import matches
from ..sanitize import safe_text
from .text_field import TextField

PLACEHOLDER = "filter: status=finished cfg.lr<1e-3 metrics.eval/loss<2 NOT tag=debug"
SYNC_LENGTH = 2_000  # characters parsed on the UI thread as you type
DEBOUNCE_S = 0.08


class FilterInput(TextField):
    """The field, whose footer says what enter and escape do (Input's enter is not shown and
    the screen's escape is not either: the footer offered only keys that type into it).
    Not priority bindings: those ran before the keys typed just before them (text and enter
    in one burst applied the text before it)."""

    BINDINGS = [
        Binding("enter", "submit", "apply"),
        Binding("escape", "screen.clear", "clear"),
    ]


class FilterBar(Vertical):
    class Applied(Message):
        def __init__(self, expression: str, predicate: Predicate) -> None:
            super().__init__()
            self.expression = expression
            self.predicate = predicate

    class Parsed(Message):
        """From the worker: the text of keystroke ``serial`` parsed (``error`` when it is not)."""

        def __init__(self, serial: int, predicate: Predicate | None, error: str) -> None:
            super().__init__()
            self.serial = serial
            self.predicate = predicate
            self.error = error

    class Counted(Message):
        """From the worker: how many of the runs the text of keystroke ``serial`` matches."""

        def __init__(self, serial: int, matches: int, total: int) -> None:
            super().__init__()
            self.serial = serial
            self.matches = matches
            self.total = total

    def __init__(self, runs: Callable[[], Sequence[RunRecord]], *, id: str | None = None) -> None:
        """``runs()`` returns the runs to count matches among (called on the UI thread)."""
        super().__init__(id=id, classes="hidden")
        self.runs = runs
        self._serial = 0  # one per keystroke: results for older ones are dropped
        self._text = ""
        self._predicate: Predicate | None = None  # the current text's, once parsed
        self._error = ""  # the current text's mistake, once parsed
        self._apply_when_parsed = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder=PLACEHOLDER, id="filter-input")
        yield Static(id="filter-error")

    def open(self, expression: str) -> None:
        self.remove_class("hidden")
        field = self.query_one(Input)
        if field.value == expression:  # no Input.Changed comes: check it again here
            self._changed(expression)
        field.value = expression
        # At once, not as focus() does it (a callback queued behind the keys already read):
        # keys that came in one burst with the '/' ran as the table's ('t' wrote a tag).
        self.screen.set_focus(field)

    def close(self) -> None:
        self.add_class("hidden")
        self._serial += 1  # whatever is still on its way is for nothing now
        self._apply_when_parsed = False
        self._stop()

    @property
    def is_open(self) -> bool:
        return not self.has_class("hidden")

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.workers.cancel_group(self, "filter-check")

    def _say(self, text: str, style: str) -> None:
        self.query_one("#filter-error", Static).update(
            Text(safe_text(text, single_line=False), style=style)
        )

    def _parsed(self, predicate: Predicate | None, error: str) -> None:
        self._predicate, self._error = predicate, error
        if error:
            self._say(error, "red")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._changed(event.value)

    def _changed(self, text: str) -> None:
        self._serial += 1
        self._text = text
        self._apply_when_parsed = False
        self._stop()
        self._predicate, self._error = None, ""
        if len(text) <= SYNC_LENGTH:
            try:
                self._parsed(compile_filter(text), "")
            except FilterError as exc:
                self._parsed(None, str(exc))
                return
        else:
            self._say("checking…", "dim")
        self._timer = self.set_timer(DEBOUNCE_S, self._start_check)

    def _start_check(self) -> None:
        self._timer = None
        self._check(self._serial, self._text, self._predicate, list(self.runs()))

    def _check(
        self, serial: int, text: str, predicate: Predicate | None, runs: list[RunRecord]
    ) -> None:
        def work() -> None:
            worker = get_current_worker()
            parsed = predicate
            if parsed is None:
                try:
                    parsed = compile_filter(text)
                except FilterError as exc:
                    self.post_message(self.Parsed(serial, None, str(exc)))
                    return
                self.post_message(self.Parsed(serial, parsed, ""))
            count = 0
            for run in runs:
                if worker.is_cancelled:
                    return
                count += matches(parsed, run)
            self.post_message(self.Counted(serial, count, len(runs)))

        self.run_worker(
            work, group="filter-check", exclusive=True, thread=True, exit_on_error=False
        )

    def on_filter_bar_parsed(self, message: Parsed) -> None:
        message.stop()
        if message.serial != self._serial:
            return
        self._parsed(message.predicate, message.error)
        if self._apply_when_parsed and message.predicate is not None:
            self._apply()

    def on_filter_bar_counted(self, message: Counted) -> None:
        message.stop()
        if message.serial == self._serial and not self._error:
            self._say(
                f"{message.matches} of {message.total} runs match · enter applies, escape clears",
                "dim",
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._error:
            return  # the explanation stays on screen; nothing is applied
        if self._predicate is not None:
            self._apply()
            return
        self._apply_when_parsed = True  # a long expression still being parsed
        if self._timer is not None:  # parse now rather than after the pause
            self._timer.stop()
            self._start_check()

    def _apply(self) -> None:
        self._apply_when_parsed = False
        if self._predicate is not None:
            # The count as typed is moot once the filter itself is evaluated: with a costly
            # expression over many runs the two passes shared the CPU (each twice as slow).
            self.workers.cancel_group(self, "filter-check")
            self.post_message(self.Applied(self._text.strip(), self._predicate))
