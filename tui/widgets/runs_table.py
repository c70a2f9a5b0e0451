"""The runs list: one row per run, newest first, updated cell by cell as runs change.

Every cell is a ``rich.text.Text`` made from sanitised text: a run named ``[bold]x`` or carrying
terminal escapes is shown literally (DataTable parses plain ``str`` cells as markup).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from tracker.models import CRASHED, FAILED, FINISHED, LIVE, RunRecord

from ..formatting import format_duration, format_number
from ..sanitize import safe_text

STATUS_MARKS = {
    LIVE: ("●", "bold green"),
    FINISHED: ("✓", "dim"),
    FAILED: ("✗", "bold red"),
    CRASHED: ("†", "bold magenta"),
}
FIXED_COLUMNS = ("st", "name", "project", "step", "age")


def status_cell(status: str) -> Text:
    mark, style = STATUS_MARKS.get(status, ("?", ""))
    return Text(mark, style=style)


def metric_cell(run: RunRecord, key: str) -> Text:
    summary = run.metrics.get(key)
    if summary is None or summary.last is None:
        return Text("-", style="dim", justify="right")
    value = summary.last
    if not math.isfinite(value):
        return Text(f"{format_number(value)} ⚠", style="bold yellow", justify="right")
    text = Text(format_number(value), justify="right")
    if summary.nonfinite:
        text.append(" ⚠", style="yellow")
    return text


class RunsTable(DataTable[Text]):
    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    def __init__(self, clock: Callable[[], float] = time.time, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.clock = clock
        self.metric_keys: list[str] = []
        self.order: list[str] = []

    def set_metric_columns(self, keys: Sequence[str]) -> bool:
        """Choose the metric columns; True if they changed (the table is then rebuilt)."""
        if list(keys) == self.metric_keys and self.columns:
            return False
        self.metric_keys = list(keys)
        self.clear(columns=True)
        for name in FIXED_COLUMNS:
            self.add_column(Text(name, style="bold"), key=name)
        for key in self.metric_keys:
            self.add_column(Text(safe_text(key, 18), style="bold", justify="right"), key=f"m:{key}")
        self.order = []
        return True

    def _cells(self, run: RunRecord) -> list[Text]:
        age = self.clock() - run.created_at
        cells = [
            status_cell(run.status),
            Text(safe_text(run.name, 40)),
            Text(safe_text(run.project, 20), style="dim"),
            Text(format_number(run.step) if run.step is not None else "-", justify="right"),
            Text(format_duration(age), justify="right"),
        ]
        return cells + [metric_cell(run, key) for key in self.metric_keys]

    def show_runs(self, runs: Sequence[RunRecord], changed: Iterable[str] | None = None) -> None:
        """Rows for ``runs`` in this order; only ``changed`` rows are rewritten when the order
        and the set of runs are unchanged (no full rebuild per update)."""
        order = [run.id for run in runs]
        by_id = {run.id: run for run in runs}
        if order != self.order:
            selected = self.selected_run_id()
            self.clear()
            for run in runs:
                self.add_row(*self._cells(run), key=run.id)
            self.order = order
            if selected in by_id:
                self.move_cursor(row=order.index(selected), animate=False)
            return
        for run_id in changed if changed is not None else order:
            record = by_id.get(run_id)
            if record is None:
                continue
            for column, cell in zip(self._column_keys(), self._cells(record), strict=True):
                self.update_cell(run_id, column, cell)

    def refresh_ages(self, runs: Sequence[RunRecord]) -> None:
        for run in runs:
            if run.id in self.rows:
                self.update_cell(
                    run.id,
                    "age",
                    Text(format_duration(self.clock() - run.created_at), justify="right"),
                )

    def _column_keys(self) -> list[str]:
        return [*FIXED_COLUMNS, *(f"m:{key}" for key in self.metric_keys)]

    def selected_run_id(self) -> str | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.order[self.cursor_row]
