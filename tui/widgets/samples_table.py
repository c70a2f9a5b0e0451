"""Logged text tables on screen: one line per row with the highlighted row in full below it,
and the outputs for one prompt (a row's first cell) gathered across steps and runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, Static

from tracker.media.decoded import TableData

from ..formatting import format_number
from ..sanitize import safe_text

CELL_CHARS = 120
MAX_SHOWN_ROWS = 1000  # DataTable measures every cell it adds: a 10,000-row table would stall


def cell_text(value: object) -> Text:
    """A cell as one line: numbers right-aligned, text cut to ``CELL_CHARS``, never markup."""
    if isinstance(value, float):
        return Text(format_number(value), justify="right")
    if isinstance(value, (int, bool)) or value is None:
        return Text(str(value) if value is not None else "–", justify="right")
    return Text(safe_text(value, CELL_CHARS))


class SamplesTable(DataTable[Text]):
    """A logged table, one line per row; the highlighted row is shown in full below it."""

    def __init__(self, columns: list[str], rows: list[list[Any]]) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row", classes="media-table")
        self.column_names = columns
        self.full_rows = rows
        self.detail = Static(classes="media-row")
        self.add_columns(*(Text(safe_text(c, 40), style="bold") for c in columns))
        for row in rows[:MAX_SHOWN_ROWS]:
            self.add_row(*(cell_text(v) for v in row))
        if len(rows) > MAX_SHOWN_ROWS:
            note = Text(f"… {len(rows) - MAX_SHOWN_ROWS:,} more rows not shown", style="dim")
            self.add_row(note, *(Text("") for _ in columns[1:]))
        self.show_row(0)

    def show_row(self, index: int) -> None:
        if not 0 <= index < len(self.full_rows):
            self.detail.update("")
            return
        text = Text()
        for name, value in zip(self.column_names, self.full_rows[index], strict=False):
            text.append(f"{safe_text(name, 40)}: ", style="bold cyan")
            shown = value if isinstance(value, str) else cell_text(value).plain
            text.append(safe_text(shown, 4000, single_line=False) + "\n")
        self.detail.update(text)


def prompt_table(
    tables: Sequence[tuple[str, int, TableData]], prompt: str | None, with_runs: bool
) -> DataTable[Text]:
    """Rows whose first cell is ``prompt``, from ``(run name, step, table)`` in order: one line
    per (run, step) with the other columns of the first table's shape."""
    grid: DataTable[Text] = DataTable(zebra_stripes=True, cursor_type="row", classes="media-table")
    columns: list[str] | None = None
    for run_name, step, table in tables:
        if columns is None:
            columns = table.columns
            labels = (["run"] if with_runs else []) + ["step"] + columns[1:]
            grid.add_columns(*(Text(safe_text(c, 40), style="bold") for c in labels))
        for row in table.rows:
            if row and len(row) == len(columns) and cell_text(row[0]).plain == prompt:
                lead = [Text(safe_text(run_name, 24))] if with_runs else []
                grid.add_row(*lead, Text(format_number(step)), *(cell_text(v) for v in row[1:]))
    return grid
