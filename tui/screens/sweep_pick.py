"""The sweep views' choosers: one key or metric of a list (``g``, ``m``, ``x``), and some of
a list (``a`` the parallel coordinates' axes, ``G`` the groups the curves draw), ticked
``[x]`` / ``[ ]``. Text shown is safe text; nothing is parsed as markup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import OptionList, SelectionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist
from textual.widgets.selection_list import Selection

from ..sanitize import safe_text
from ..widgets.footer import KeyFooter


class ChoiceScreen(ModalScreen[str | None]):
    """One of ``choices``: enter picks, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        # The list picks on enter itself; bound here too so that the footer says so.
        Binding("enter", "pick", "pick", priority=True),
    ]

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
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def on_mount(self) -> None:
        if self.current in self.choices:
            self.query_one(OptionList).highlighted = self.choices.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    def action_pick(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            options.action_select()

    def action_cancel(self) -> None:
        self.dismiss(None)


class CheckList(SelectionList[int]):
    """A selection list whose boxes read ``[x]`` ticked and ``[ ]`` not, without colour."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) < 3:
            return strip
        ticked = selection.value in self.selected
        left, inner, right = segments[:3]
        glyphs = [Segment("[", left.style), Segment("x" if ticked else " ", inner.style)]
        return Strip([*glyphs, Segment("]", right.style), *segments[3:]])


class AxesScreen(ModalScreen[list[str] | None]):
    """Some of ``keys`` (the parallel coordinates' config axes, the groups the curves draw):
    space toggles, enter applies, escape cancels. ``shown``: each key's safe text, in place
    of the key."""

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("enter", "apply", "apply", priority=True),
    ]

    def __init__(
        self,
        keys: Sequence[str],
        chosen: Iterable[str],
        title: str = "axes",
        shown: Sequence[str] | None = None,
    ) -> None:
        super().__init__(classes="modal")
        self.keys, self.chosen, self.title_text = list(keys), set(chosen), title
        self.shown = list(shown) if shown is not None else [safe_text(k, 60) for k in keys]

    def compose(self) -> ComposeResult:
        with Vertical():
            hint = f"{self.title_text}: space toggles · enter applies · escape cancels"
            yield Static(Text(hint, style="bold"))
            yield CheckList(
                *(
                    Selection(Text(text), i, k in self.chosen)
                    for i, (k, text) in enumerate(zip(self.keys, self.shown, strict=True))
                ),
                id="sweep-axes",
            )
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def action_apply(self) -> None:
        picked = set(self.query_one(SelectionList).selected)
        self.dismiss([k for i, k in enumerate(self.keys) if i in picked])

    def action_cancel(self) -> None:
        self.dismiss(None)
