"""The comparison table: one row per run, in the order the screen gives, cell by cell updates.

Every cell is a ``rich.text.Text`` made from sanitised text: a run named ``[bold]x`` or carrying
terminal escapes is shown literally (DataTable parses plain ``str`` cells as markup).
``left``/``right`` move the sort cursor between columns (shown reversed in the header).
A cell whose text did not change is not updated; one that changed repaints only its row
(:mod:`tui.widgets.fast_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from tracker.models import RunRecord

from ..columns import STATUS_MARKS, Column, TableContext, column_for
from .fast_table import FastDataTable, same_text

__all__ = ["STATUS_MARKS", "RunsTable"]

FIRST_ROWS = 60
ROWS_PER_SLICE = 150
SLICE_GAP_S = 0.01


class RunsTable(FastDataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
        Binding("left", "sort_cursor(-1)", "column", show=False),
        Binding("right", "sort_cursor(1)", "column", show=False),
    ]

    class SortCursorMoved(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.specs: list[Column] = []
        self.order: list[str] = []
        self.sort_cursor = 2
        self.sort_column: str | None = None
        self.descending = False
        self._generation = 0
        self._offscreen: dict[str, RunRecord] = {}  # rows changed while off screen
        self._ctx: TableContext | None = None
        self.cells_updated = 0  # for tests and benchmarks

    @property
    def column_ids(self) -> list[str]:
        return [spec.id for spec in self.specs]

    def configure(
        self, column_ids: Sequence[str], direction: Callable[[str], str] | None = None
    ) -> bool:
        """Use these columns (``direction``: min/max of a best column, see column_for); True if
        they or their titles changed (the table is then rebuilt)."""
        specs = [column_for(cid, direction) for cid in column_ids]
        if (
            self.columns
            and [s.id for s in specs] == self.column_ids
            and [s.title for s in specs] == [s.title for s in self.specs]
        ):
            return False
        current = (
            self.column_ids[self.sort_cursor]
            if self.specs and self.sort_cursor < len(self.specs)
            else None
        )
        self.specs = specs
        if current is not None and current in column_ids:
            self.sort_cursor = list(column_ids).index(current)
        self.sort_cursor = max(0, min(self.sort_cursor, len(self.specs) - 1))
        self.clear(columns=True)
        for index, spec in enumerate(self.specs):
            self.add_column(self._header(spec, index), key=spec.id)
        self.order = []
        return True

    def _header(self, spec: Column, index: int) -> Text:
        title = spec.title
        if spec.id == self.sort_column:
            title += " ▼" if self.descending else " ▲"
        style = "bold reverse" if index == self.sort_cursor else "bold"
        return Text(title, style=style, justify="right" if spec.numeric else "left")

    def refresh_headers(self) -> None:
        for index, spec in enumerate(self.specs):
            column = self.columns.get(spec.id)  # type: ignore[call-overload]
            if column is not None:
                column.label = self._header(spec, index)
        self._update_count += 1  # the header row's cached cells are stale
        self._require_update_dimensions = True
        self.refresh()

    def action_sort_cursor(self, step: int) -> None:
        if not self.specs:
            return
        self.sort_cursor = (self.sort_cursor + step) % len(self.specs)
        self.refresh_headers()
        self.scroll_to_column_if_needed()
        self.post_message(self.SortCursorMoved(self.sort_cursor))

    def scroll_to_column_if_needed(self) -> None:
        x = sum(
            column.get_render_width(self)
            for column in list(self.columns.values())[: self.sort_cursor]
        )
        if x < self.scroll_x or x > self.scroll_x + self.size.width - 8:
            self.scroll_to(x=max(0, x - 8), animate=False)

    def show_runs(
        self, runs: Sequence[RunRecord], ctx: TableContext, changed: Iterable[str] | None = None
    ) -> None:
        """Rows for ``runs`` in this order; only ``changed`` rows are rewritten when the order and
        the set of runs are unchanged (no full rebuild per update)."""
        order = [run.id for run in runs]
        if order != self.order:
            selected = self.selected_run_id()
            self.clear()
            self._offscreen.clear()
            self.order = order
            self._generation += 1
            # A screenful first (DataTable measures every cell it adds); the rest in slices
            # after the screen has painted, so a thousand runs never hold the UI up.
            first = max(FIRST_ROWS, order.index(selected) + 1 if selected in order else 0)
            self._add_rows(runs[:first], ctx)
            if len(runs) > first:
                self._schedule_rest(runs[first:], ctx)
            if selected in order:
                self.move_cursor(row=order.index(selected), animate=False)
            return
        by_id = {run.id: run for run in runs}
        self._ctx = ctx
        low, high = self._visible_rows()
        for run_id in changed if changed is not None else order:
            record = by_id.get(run_id)
            if record is None or run_id not in self.rows:
                continue
            if low <= self.get_row_index(run_id) < high:
                self._write_row(run_id, record, ctx)
            else:
                self._offscreen[run_id] = record  # written when it scrolls into view
        self.repaint_changed_rows()

    def _write_row(self, run_id: str, record: RunRecord, ctx: TableContext) -> None:
        self._offscreen.pop(run_id, None)
        for spec in self.specs:
            self._put(run_id, spec.id, spec.cell(record, ctx))

    def _visible_rows(self) -> tuple[int, int]:
        """The row indices on screen (a row scrolled to is written as it comes into view)."""
        top = int(self.scroll_offset.y)
        return top, top + max(1, self.size.height)

    def write_offscreen_rows(self) -> None:
        """Bring the rows that scrolled into view up to date (they were left as they were
        while off screen: fifty live runs need ten rows written a frame, not fifty)."""
        if not self._offscreen or self._ctx is None:
            return
        low, high = self._visible_rows()
        for run_id, record in list(self._offscreen.items()):
            if run_id not in self.rows:
                del self._offscreen[run_id]
            elif low <= self.get_row_index(run_id) < high:
                self._write_row(run_id, record, self._ctx)
        self.repaint_changed_rows()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.call_later(self.write_offscreen_rows)

    def on_resize(self) -> None:
        self.call_later(self.write_offscreen_rows)

    def _put(self, row_key: str, column_id: str, cell: Text) -> None:
        """Update one cell if its text changed; its column widens when the new value is wider
        (a step grown from '9' to '12,345' is never shown cut), and only then: re-measuring a
        column on every update costs seconds over a thousand rows. Otherwise only its row is
        repainted."""
        if same_text(self.get_cell(row_key, column_id), cell):
            return
        column = self.columns.get(column_id)  # type: ignore[call-overload]
        self.cells_updated += 1
        if column is None or cell.cell_len > column.content_width:
            self.update_cell(row_key, column_id, cell, update_width=True)
            return
        self.set_cell(row_key, column_id, cell)

    def _add_rows(self, runs: Sequence[RunRecord], ctx: TableContext) -> None:
        for run in runs:
            self.add_row(*(spec.cell(run, ctx) for spec in self.specs), key=run.id)

    def _add_rest(self, runs: Sequence[RunRecord], ctx: TableContext, generation: int) -> None:
        if generation != self._generation:
            return  # rebuilt meanwhile: these rows are stale
        self._add_rows(runs[:ROWS_PER_SLICE], ctx)
        if len(runs) > ROWS_PER_SLICE:
            self._schedule_rest(runs[ROWS_PER_SLICE:], ctx)

    def _schedule_rest(self, runs: Sequence[RunRecord], ctx: TableContext) -> None:
        # A timer, not call_after_refresh: messages waiting (new data, key presses) go first.
        generation = self._generation
        self.set_timer(SLICE_GAP_S, lambda: self._add_rest(runs, ctx, generation))

    @property
    def complete(self) -> bool:
        """Every row of the current order is in the table (the slices are done)."""
        return self.row_count == len(self.order)

    def rewrite_column(self, column_id: str, runs: Sequence[RunRecord], ctx: TableContext) -> None:
        """Rewrite one column (the ages, as the clock moves) without touching the others."""
        spec = next((s for s in self.specs if s.id == column_id), None)
        if spec is None:
            return
        low, high = self._visible_rows()
        for run in runs:
            if run.id not in self.rows:
                continue
            if low <= self.get_row_index(run.id) < high:
                self._put(run.id, column_id, spec.cell(run, ctx))
            else:
                self._offscreen.setdefault(run.id, run)
        self.repaint_changed_rows()

    def selected_run_id(self) -> str | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.order[self.cursor_row]

    def export_rows(
        self, runs: Sequence[RunRecord], ctx: TableContext
    ) -> tuple[list[str], list[list[str]]]:
        """The table as plain text: headers and rows, columns and order as shown."""
        specs = [spec for spec in self.specs if spec.id != "marks"]
        headers = [spec.export_title for spec in specs]
        return headers, [[spec.text(run, ctx) for spec in specs] for run in runs]
