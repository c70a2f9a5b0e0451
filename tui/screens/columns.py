"""Choose, hide and reorder the table's columns. ``space`` shows/hides, ``shift+up``/``shift+down``
(or ``K``/``J``) move a column, ``enter`` applies, ``r`` goes back to the defaults."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..columns import column_for
from ..widgets.footer import KeyFooter


class ColumnsScreen(ModalScreen[list[str] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("space", "toggle_shown", "show/hide"),
        Binding("shift+up,K", "move(-1)", "move up"),
        Binding("shift+down,J", "move(1)", "move down"),
        Binding("enter", "apply", "apply", priority=True),
        Binding("r", "defaults", "defaults"),
    ]

    def __init__(
        self,
        available: list[str],
        shown: list[str],
        direction: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(classes="modal")
        self.direction = direction  # min/max of best columns, as the table shows them
        self.order = [c for c in shown if c in available or c == "marks"] + [
            c for c in available if c not in shown
        ]
        self.shown = set(shown)

    def _label(self, column_id: str) -> Text:
        mark = "[x]" if column_id in self.shown else "[ ]"
        title = column_for(column_id, self.direction).title
        title = title or "marks (pinned ^, selected ■, best ★)"
        return Text.assemble(
            (mark, "bold green" if column_id in self.shown else "dim"),
            f" {title}",
            (f"   {column_id}", "dim"),
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(
                    "Columns: space show/hide · shift+up/down move · enter apply · r defaults",
                    style="bold",
                )
            )
            yield OptionList(*(Option(self._label(c), id=c) for c in self.order), id="column-list")
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def _redraw(self, highlight: int) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(self._label(c), id=c) for c in self.order])
        options.highlighted = highlight

    def action_toggle_shown(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None:
            return
        column_id = self.order[index]
        self.shown.symmetric_difference_update({column_id})
        options.replace_option_prompt_at_index(index, self._label(column_id))

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None:
            return
        target = max(0, min(len(self.order) - 1, index + step))
        self.order.insert(target, self.order.pop(index))
        self._redraw(target)

    def action_apply(self) -> None:
        self.dismiss([c for c in self.order if c in self.shown])

    def action_defaults(self) -> None:
        self.dismiss([])

    def action_cancel(self) -> None:
        self.dismiss(None)
