"""Choose the plots' x-axis: the step (as the runs define it), the logged step, relative time,
or any metric of the runs shown (points paired by step). ``enter`` picks, ``escape`` cancels."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..axis import METRIC, XAxis
from ..sanitize import safe_text
from ..widgets.footer import KeyFooter


class XAxisScreen(ModalScreen[XAxis | None]):
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        # The list picks on enter itself; bound here too so that the footer says so.
        Binding("enter", "pick", "pick", priority=True),
    ]

    def __init__(self, choices: Sequence[tuple[XAxis, str]], current: XAxis) -> None:
        super().__init__(classes="modal")
        self.choices = list(choices)
        self.current = current

    def _label(self, axis: XAxis, description: str) -> Text:
        name = safe_text(axis.key, 50) if axis.kind == METRIC else axis.name
        text = Text.assemble(("● " if axis == self.current else "  ", "bold green"), (name, "bold"))
        if description:
            text.append(f"   {description}", style="dim")
        return text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("x-axis: enter picks · escape cancels", style="bold"))
            yield OptionList(
                *(Option(self._label(a, d), id=f"x{i}") for i, (a, d) in enumerate(self.choices)),
                id="x-axis-choices",
            )
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        axes = [axis for axis, _ in self.choices]
        if self.current in axes:
            options.highlighted = axes.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index][0])

    def action_pick(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            options.action_select()

    def action_cancel(self) -> None:
        self.dismiss(None)
