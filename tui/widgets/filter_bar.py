"""The filter field under the runs table: the count of matches as you type, mistakes explained
inline (never applied), ``enter`` applies (``FilterBar.Applied`` goes up)."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from tracker.errors import FilterError
from tracker.filters import Predicate, compile_filter

PLACEHOLDER = "filter: status=finished cfg.lr<1e-3 metrics.eval/loss<2 NOT tag=debug"


class FilterBar(Vertical):
    class Applied(Message):
        def __init__(self, expression: str) -> None:
            super().__init__()
            self.expression = expression

    def __init__(
        self, count: Callable[[Predicate], tuple[int, int]], *, id: str | None = None
    ) -> None:
        """``count(predicate)`` returns (matching runs, all runs): attributes down."""
        super().__init__(id=id, classes="hidden")
        self.count = count

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input")
        yield Static(id="filter-error")

    def open(self, expression: str) -> None:
        self.remove_class("hidden")
        field = self.query_one(Input)
        field.value = expression
        field.focus()

    def close(self) -> None:
        self.add_class("hidden")

    @property
    def is_open(self) -> bool:
        return not self.has_class("hidden")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        message = self.query_one("#filter-error", Static)
        try:
            predicate = compile_filter(event.value)
        except FilterError as exc:
            message.update(Text(str(exc), style="red"))
            return
        matches, total = self.count(predicate)
        message.update(
            Text(f"{matches} of {total} runs match · enter applies, escape clears", style="dim")
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            compile_filter(event.value)
        except FilterError:
            return  # the explanation stays on screen; nothing is applied
        self.post_message(self.Applied(event.value.strip()))
