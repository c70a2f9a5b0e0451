"""Export the table as shown: CSV, Markdown or LaTeX, to a file and to the clipboard (OSC 52,
which works over SSH and inside tmux with ``set-clipboard on``).

In a browser (``tracktui serve``, ``App.is_web``) the person typing is not on this machine, so
nothing is written here: the text goes to their browser as a download, under the typed name's
last part. In a terminal an existing file is replaced only after a second enter."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .. import export
from ..widgets.footer import KeyFooter
from ..widgets.text_field import TextField

EXTENSIONS = {"csv": ".csv", "md": ".md", "tex": ".tex"}
MIME_TYPES = {"csv": "text/csv", "md": "text/markdown", "tex": "text/x-tex"}
ExportTable = tuple[list[str], list[list[str]]]  # headers, rows
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")  # a download's name goes into an HTTP header


def download_name(typed: str, kind: str) -> str:
    """The browser download's file name for what was typed: its last part, in safe letters."""
    name = _UNSAFE_NAME.sub("_", Path(typed.strip().replace("\\", "/")).name).strip("._")
    return name or f"runs{EXTENSIONS[kind]}"


class ExportScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("f1", "format('csv')", "CSV"),
        Binding("f2", "format('md')", "Markdown"),
        Binding("f3", "format('tex')", "LaTeX"),
    ]

    def __init__(self, shown: ExportTable, data: ExportTable | None = None) -> None:
        """``shown``: the cells as the table shows them (Markdown, LaTeX); ``data``: as data,
        for CSV (:data:`tui.export.DATA_FORMATS`)."""
        super().__init__(classes="modal")
        self.shown = shown
        self.data = data if data is not None else shown
        self.kind = "csv"
        self.confirmed: Path | None = None  # an existing file the user chose to replace

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="export-title")
            yield TextField(value="runs.csv", id="export-path", submit="write")
            enter = "enter downloads and copies" if self.app.is_web else "enter writes and copies"
            yield Static(
                Text(f"F1 CSV · F2 Markdown · F3 LaTeX · {enter} · escape cancels", style="dim")
            )
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def on_mount(self) -> None:
        self._show_title()
        self.query_one(Input).focus()

    @property
    def headers(self) -> list[str]:
        return (self.data if self.kind in export.DATA_FORMATS else self.shown)[0]

    @property
    def rows(self) -> list[list[str]]:
        return (self.data if self.kind in export.DATA_FORMATS else self.shown)[1]

    def _show_title(self) -> None:
        self.query_one("#export-title", Static).update(
            Text(
                f"Export {len(self.rows)} run{'' if len(self.rows) == 1 else 's'}"
                f" × {len(self.headers)} column{'' if len(self.headers) == 1 else 's'}"
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
        if self.app.is_web:
            self._download(text, download_name(event.value, self.kind))
            return
        path = Path(event.value.strip() or f"runs{EXTENSIONS[self.kind]}").expanduser()
        if path.exists() and path != self.confirmed:
            self.confirmed = path
            self.notify(f"{path} exists: enter again replaces it", severity="warning", markup=False)
            return
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error")
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"wrote {len(self.rows)} runs to {path} and copied them to the clipboard")
        self.dismiss(str(path))

    def _download(self, text: str, name: str) -> None:
        self.app.deliver_text(
            io.StringIO(text), save_filename=name, mime_type=MIME_TYPES[self.kind]
        )
        self.app.copy_to_clipboard(text)
        self.notify(f"sent {len(self.rows)} runs to the browser as {name} and copied them")
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
