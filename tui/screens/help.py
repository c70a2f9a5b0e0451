"""The help screen: every key of the screen below it, from its bindings. ``escape`` closes it."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..widgets.footer import KeyFooter


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "close"),
    ]

    def __init__(self, title: str, keys: Iterable[tuple[str, str]], notes: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.keys = list(keys)
        self.notes = notes

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in self.keys:
            table.add_row(Text(key), Text(description))
        with VerticalScroll():
            yield Static(Text(self.title_text, style="bold"))
            yield Static(table)
            if self.notes:
                yield Static(Text(self.notes, style="dim"))
            yield Static(Text("escape closes this help", style="dim"))
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
