"""The sweep views' choosers: one key or metric of a list (``g``, ``m``, ``x``), and the
parallel coordinates' axes (``a``). Text shown is safe text; nothing is parsed as markup."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from ..sanitize import safe_text


class ChoiceScreen(ModalScreen[str | None]):
    """One of ``choices``: enter picks, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, choices: Sequence[str], current: str | None) -> None:
        super().__init__(classes="modal")
        self.title_text, self.choices, self.current = title, list(choices), current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"{self.title_text}: enter picks · escape cancels", style="bold"))
            yield OptionList(
                *(
                    Option(Text.assemble(("● " if c == self.current else "  "), safe_text(c, 60)))
                    for c in self.choices
                ),
                id="sweep-choices",
            )

    def on_mount(self) -> None:
        if self.current in self.choices:
            self.query_one(OptionList).highlighted = self.choices.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class AxesScreen(ModalScreen[list[str] | None]):
    """The parallel coordinates' config axes: space toggles, enter applies, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("enter", "apply", "apply", priority=True),
    ]

    def __init__(self, keys: Sequence[str], chosen: Sequence[str]) -> None:
        super().__init__(classes="modal")
        self.keys, self.chosen = list(keys), set(chosen)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("axes: space toggles · enter applies · escape cancels", style="bold"))
            yield SelectionList[int](
                *(
                    Selection(Text(safe_text(k, 60)), i, k in self.chosen)
                    for i, k in enumerate(self.keys)
                ),
                id="sweep-axes",
            )

    def action_apply(self) -> None:
        picked = set(self.query_one(SelectionList).selected)
        self.dismiss([k for i, k in enumerate(self.keys) if i in picked])

    def action_cancel(self) -> None:
        self.dismiss(None)
