"""Export the table as shown: CSV, Markdown or LaTeX, to a file and to the clipboard (OSC 52,
which works over SSH and inside tmux with ``set-clipboard on``)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .. import export

EXTENSIONS = {"csv": ".csv", "md": ".md", "tex": ".tex"}


class ExportScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("f1", "format('csv')", "CSV"),
        Binding("f2", "format('md')", "Markdown"),
        Binding("f3", "format('tex')", "LaTeX"),
    ]

    def __init__(self, headers: list[str], rows: list[list[str]]) -> None:
        super().__init__(classes="modal")
        self.headers = headers
        self.rows = rows
        self.kind = "csv"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="export-title")
            yield Input(value="runs.csv", id="export-path")
            yield Static(
                Text(
                    "F1 CSV · F2 Markdown · F3 LaTeX · enter writes and copies · escape cancels",
                    style="dim",
                )
            )

    def on_mount(self) -> None:
        self._show_title()
        self.query_one(Input).focus()

    def _show_title(self) -> None:
        self.query_one("#export-title", Static).update(
            Text(
                f"Export {len(self.rows)} runs × {len(self.headers)} columns"
                f" as {export.FORMATS[self.kind]}",
                style="bold",
            )
        )

    def action_format(self, kind: str) -> None:
        self.kind = kind
        field = self.query_one(Input)
        path = Path(field.value or "runs")
        field.value = str(path.with_suffix(EXTENSIONS[kind]))
        self._show_title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = export.render(self.kind, self.headers, self.rows)
        path = Path(event.value.strip() or f"runs{EXTENSIONS[self.kind]}").expanduser()
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error")
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"wrote {len(self.rows)} runs to {path} and copied them to the clipboard")
        self.dismiss(str(path))

    def action_cancel(self) -> None:
        self.dismiss(None)
