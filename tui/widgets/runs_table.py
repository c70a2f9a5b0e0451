"""The comparison table: one row per run, in the order the screen gives, cell by cell updates.

Every cell is a ``rich.text.Text`` made from sanitised text: a run named ``[bold]x`` or carrying
terminal escapes is shown literally (DataTable parses plain ``str`` cells as markup).
``left``/``right`` move the sort cursor between columns (shown reversed in the header).
A cell whose text did not change is not updated; one that changed repaints only its row
(:mod:`tui.widgets.fast_table`).

The table fits its width: the name column takes at most :data:`NAME_CELLS` cells (fewer in a
narrow terminal; cut with ``…``, the run view and exports give it whole), and when the columns
asked for are wider than the table the least important are left out whole (:func:`fit_columns`),
never cut mid-value, with a last column ``+N (o)`` saying how many (``o`` chooses columns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Self

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message

from tracker.models import RunRecord

from ..column_choice import fit_columns
from ..columns import STATUS_MARKS, Column, TableContext, column_for
from ..export import data_cell
from ..formatting import cut_cells
from .fast_table import FastDataTable, same_text

__all__ = ["STATUS_MARKS", "RunsTable"]

FIRST_ROWS = 60
ROWS_PER_SLICE = 150
SLICE_GAP_S = 0.01
NAME_CELLS = 38  # the name column's most cells (a quarter of a narrower table's, 16 at least)
_NOTHING = object()  # no cell made yet
MORE = "__more__"  # the key of the hint column that says how many columns were left out


def name_cells(width: int) -> int:
    return NAME_CELLS if width >= 110 else max(16, min(NAME_CELLS, width // 4))


def _hint(count: int) -> str:
    return f"+{count} (o)"


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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # enter goes on to the screen's binding, which opens the run as the key is read: the
        # table's own posted RowSelected reached the screen after the keys typed behind enter
        # (enter, escape in one burst left the run view open). A click still selects a row.
        if action == "select_cursor":
            return False
        return super().check_action(action, parameters)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.specs: list[Column] = []  # the columns shown
        self.wanted: list[Column] = []  # the columns asked for (specs, unless some do not fit)
        self.left_out = 0  # columns asked for but left out for width
        # Columns a wider pane's defaults show that this one's were not given: the hint counts
        # them too, so a narrow pane says that `o` has more (and the count is one at every width).
        self.narrowed = 0
        self._runs: Sequence[RunRecord] = ()
        self._fitted_to = 0  # the width the columns were fitted to
        self._needs_fit = False  # rows were laid out again: fit the columns when measured
        self._needs_check = False  # cells changed: check that no column was pushed off
        self.order: list[str] = []
        self.sort_cursor = 2
        self.sort_column: str | None = None
        self.descending = False
        self._generation = 0
        self._offscreen: dict[str, RunRecord] = {}  # rows changed while off screen
        self._ctx: TableContext | None = None
        self.cells_updated = 0  # for tests and benchmarks
        # run id -> column id -> what its cell was made from (Column.shows), while it holds
        self._shown: dict[str, dict[str, object]] = {}
        self._keep_selected: str | None = None  # the run highlighted before a rebuild's clear
        # Until a key or a click moves the cursor it stays on the first row, whatever runs
        # start above the one it is on: a viewer left alone follows the newest runs (keeping
        # the first run it showed pushed that run, and the screen, below the new ones, out of
        # view). ctrl+home goes back to following.
        self.follows_top = True

    @property
    def fitted(self) -> bool:
        """Whether the columns that do not fit have been left out (done once the rows added
        have been measured, when the table is next idle)."""
        return not self._needs_fit

    @property
    def column_ids(self) -> list[str]:
        return [spec.id for spec in self.specs]

    @property
    def wanted_ids(self) -> list[str]:
        """The columns asked for, those left out for width too."""
        return [spec.id for spec in self.wanted]

    @property
    def hidden(self) -> int:
        """How many columns the ``+N (o)`` hint counts."""
        return self.left_out + self.narrowed

    def configure(
        self,
        column_ids: Sequence[str],
        direction: Callable[[str], str] | None = None,
        narrowed: int = 0,
    ) -> bool:
        """Use these columns (``direction``: min/max of a best column, see column_for;
        ``narrowed``: see the attribute); True if they, their titles or the hint changed (the
        table is then rebuilt)."""
        specs = [column_for(cid, direction) for cid in column_ids]
        if (
            self.columns
            and narrowed == self.narrowed
            and [s.id for s in specs] == [s.id for s in self.wanted]
            and [s.title for s in specs] == [s.title for s in self.wanted]
        ):
            return False
        self.wanted = specs
        self.narrowed = narrowed
        self._forget_order()
        self._set_columns(specs)
        return True

    def _forget_order(self) -> None:
        """Have the next :meth:`show_runs` lay every row out again, the highlighted run still
        highlighted."""
        self._keep_selected = self.selected_run_id()
        self.order = []

    def _current_column(self) -> str | None:
        if self.specs and self.sort_cursor < len(self.specs):
            return self.specs[self.sort_cursor].id
        return None

    def _place_sort_cursor(self, current: str | None) -> None:
        ids = self.column_ids
        if current is not None and current in ids:
            self.sort_cursor = ids.index(current)
        self.sort_cursor = max(0, min(self.sort_cursor, len(self.specs) - 1))

    def _set_columns(self, specs: Sequence[Column]) -> None:
        """Show these columns (every row is cleared)."""
        current = self._current_column()
        self.specs = list(specs)
        self.left_out = 0
        self._place_sort_cursor(current)
        self.clear(columns=True)
        for index, spec in enumerate(self.specs):
            self.add_column(self._header(spec, index), key=spec.id)
        if self.narrowed:
            self._add_hint_column()

    def _add_hint_column(self) -> None:
        if MORE in self.columns:
            self.remove_column(MORE)
        self.add_column(Text(_hint(self.hidden), style="dim"), key=MORE, default=Text(""))

    def _hint_width(self, count: int) -> int:
        """The hint column's cells with ``count`` columns hidden (none: no column)."""
        return len(_hint(count)) + 2 * self.cell_padding if count else 0

    def _budget(self) -> int:
        """The cells the columns may take: the table's width less a vertical scrollbar's."""
        width = self.size.width or self.app.size.width
        return max(1, width - self.styles.scrollbar_size_vertical)

    def _fit(self) -> None:
        """Leave out, whole, the least important columns that do not fit the width (measured
        on the rows added so far), with the ``+N (o)`` hint column last."""
        if not self.specs:
            return
        widths = [
            (spec.id, self.columns[spec.id].get_render_width(self))  # type: ignore[index]
            for spec in self.specs
        ]
        base = self._hint_width(self.narrowed)  # there already, whatever is dropped
        kept = fit_columns(
            widths,
            self._budget() - base,
            lambda n: self._hint_width(n + self.narrowed) - base,
        )
        if len(kept) == len(self.specs):
            return
        current = self._current_column()
        for spec in self.specs:
            if spec.id not in kept:
                self.remove_column(spec.id)
        self.left_out += len(self.specs) - len(kept)
        self.specs = [spec for spec in self.specs if spec.id in kept]
        self._place_sort_cursor(current)
        self._add_hint_column()
        self.refresh_headers()

    def _overflows(self) -> bool:
        """Whether a column grown since (a step from '9' to '12,345') pushes another past the
        edge, so that the columns must be fitted again."""
        widths = [
            (spec.id, self.columns[spec.id].get_render_width(self))  # type: ignore[index]
            for spec in self.specs
            if spec.id in self.columns
        ]
        more = self._hint_width(self.hidden)
        if sum(w for _, w in widths) + more <= self._budget():
            return False
        return len(fit_columns(widths, self._budget() - more, lambda n: 0)) < len(widths)

    def _refit(self) -> None:
        """Lay the columns out again for the width now (after a resize or an overflow)."""
        if self._ctx is not None and self.order:
            self._forget_order()
            self.show_runs(self._runs, self._ctx)

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
        self._runs, self._ctx = runs, ctx
        if order != self.order:
            selected = None if self.follows_top else self.selected_run_id() or self._keep_selected
            self._keep_selected = None
            self._fitted_to = self._budget()
            if self.left_out or not self.specs:
                self._set_columns(self.wanted)  # fitted again from every column asked for
            self.clear()
            self._offscreen.clear()
            self.order = order
            self._generation += 1
            # A screenful first (DataTable measures every cell it adds); the rest in slices
            # after the screen has painted, so a thousand runs never hold the UI up.
            first = max(FIRST_ROWS, order.index(selected) + 1 if selected in order else 0)
            self._add_rows(runs[:first], ctx)
            self._needs_fit = True  # once DataTable has measured the rows (when idle)
            if len(runs) > first:
                self._schedule_rest(runs[first:], ctx)
            if selected in order:
                self.move_cursor(row=order.index(selected), animate=False)
            return
        by_id = {run.id: run for run in runs}
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

    # --- the user's moves (they end following the first row; ctrl+home resumes it) ------------

    def action_cursor_up(self) -> None:
        self.follows_top = False
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        self.follows_top = False
        super().action_cursor_down()

    def action_page_up(self) -> None:
        self.follows_top = False
        super().action_page_up()

    def action_page_down(self) -> None:
        self.follows_top = False
        super().action_page_down()

    def action_scroll_bottom(self) -> None:
        self.follows_top = False
        super().action_scroll_bottom()

    def action_scroll_top(self) -> None:
        self.follows_top = True
        super().action_scroll_top()

    async def _on_click(self, event: events.Click) -> None:
        self.follows_top = False
        await super()._on_click(event)

    async def _on_idle(self, event: events.Idle) -> None:
        await super()._on_idle(event)  # DataTable measures the cells added or changed: then fit
        if self._needs_fit:
            self._needs_fit = False
            self._fit()
        elif self.left_out or self._needs_check:
            self._needs_check = False
            if self._overflows():
                # Leave out more, whole: only columns go, so this settles (a full refit here
                # could bring back a column that overflows again, round and round).
                self._fit()

    def _cell(self, spec: Column, run: RunRecord, ctx: TableContext) -> Text:
        cell = spec.cell(run, ctx)
        if spec.id == "name":
            most = name_cells(self._fitted_to or self._budget())
            if cell.cell_len > most:
                return Text(cut_cells(cell.plain, most), style=cell.style)
        return cell

    def _write_row(self, run_id: str, record: RunRecord, ctx: TableContext) -> None:
        self._offscreen.pop(run_id, None)
        held = self._shown.setdefault(run_id, {})
        budget = self._fitted_to or self._budget()
        for spec in self.specs:
            if spec.shows is not None:
                key = _made_from(spec.shows, record, ctx, budget)
                if held.get(spec.id, _NOTHING) == key:
                    continue  # what the cell shows is what it showed
                held[spec.id] = key
            self._put(run_id, spec.id, self._cell(spec, record, ctx))

    def clear(self, columns: bool = False) -> Self:
        shown = getattr(self, "_shown", None)  # None: DataTable's own __init__ clearing
        if shown is not None:
            shown.clear()
        return super().clear(columns)

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
        self._needs_check = True

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.call_later(self.write_offscreen_rows)

    def on_resize(self) -> None:
        if self.order and self._budget() != self._fitted_to:
            self.call_later(self._refit)
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
        hint = [Text("")] if self.hidden else []
        budget = self._fitted_to or self._budget()
        for run in runs:
            self.add_row(*(self._cell(spec, run, ctx) for spec in self.specs), *hint, key=run.id)
            self._shown[run.id] = {
                spec.id: _made_from(spec.shows, run, ctx, budget)
                for spec in self.specs
                if spec.shows is not None
            }

    def _add_rest(self, runs: Sequence[RunRecord], ctx: TableContext, generation: int) -> None:
        if generation != self._generation:
            return  # rebuilt meanwhile: these rows are stale
        self._add_rows(runs[:ROWS_PER_SLICE], ctx)
        if len(runs) > ROWS_PER_SLICE:
            self._schedule_rest(runs[ROWS_PER_SLICE:], ctx)
        self._needs_check = True

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
                self._put(run.id, column_id, self._cell(spec, run, ctx))
            else:
                self._offscreen.setdefault(run.id, run)
        self.repaint_changed_rows()
        self._needs_check = True

    def selected_run_id(self) -> str | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.order[self.cursor_row]

    def export_rows(
        self, runs: Sequence[RunRecord], ctx: TableContext, data: bool = False
    ) -> tuple[list[str], list[list[str]]]:
        """The table as plain text: headers and rows, columns and order as shown; ``data``:
        each cell's value as data (:func:`tui.export.data_cell`), the run's id first."""
        specs = [spec for spec in self.specs if spec.id != "marks"]
        if not data:
            headers = [spec.export_title for spec in specs]
            return headers, [[spec.text(run, ctx) for spec in specs] for run in runs]
        headers = ["id", *(spec.data_export_title for spec in specs)]
        rows = [[run.id, *(data_cell(spec.datum(run, ctx)) for spec in specs)] for run in runs]
        return headers, rows


def _made_from(
    shows: Callable[[RunRecord, TableContext], object],
    run: RunRecord,
    ctx: TableContext,
    budget: int,
) -> object:
    """What a cell was made from: what its column says it shows, and the table's width (a
    name's cut depends on it)."""
    return (shows(run, ctx), budget)
