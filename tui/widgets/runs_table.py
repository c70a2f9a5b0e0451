"""The comparison table: one row per run, in the order the screen gives, cell by cell updates.

Every cell is a ``rich.text.Text`` made from sanitised text: a run named ``[bold]x`` or carrying
terminal escapes is shown literally (DataTable parses plain ``str`` cells as markup).
``left``/``right`` move the sort cursor between columns (shown reversed in the header).

DataTable keys its cell cache on a table-wide update counter, so one changed cell makes it
render every visible cell again; with runs logging, that was most of the viewer's CPU. Here an
update that changes no width is counted per cell instead (:meth:`_render_cell`), a cell whose
text did not change is not updated at all, and only the rows that changed are repainted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from tracker.models import RunRecord

from ..columns import STATUS_MARKS, Column, TableContext, column_for

__all__ = ["STATUS_MARKS", "RunsTable"]

_NOWHERE = Coordinate(-2, -2)  # a cursor on no row, not even the header's (-1)
FIRST_ROWS = 60
ROWS_PER_SLICE = 150
SLICE_GAP_S = 0.01


class RunsTable(DataTable[Text]):
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
        self._own_updates = 0  # cell updates that changed no layout
        self._cell_versions: dict[tuple[int, int], int] = {}  # (row, column) -> version
        self._row_versions: dict[int, int] = {}  # row -> its newest cell's version
        self._faked_over: int | None = None  # the real update counter while a key stands in
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
        for run_id in changed if changed is not None else order:
            record = by_id.get(run_id)
            if record is None or run_id not in self.rows:
                continue
            for spec in self.specs:
                self._put(run_id, spec.id, spec.cell(record, ctx))

    def _put(self, row_key: str, column_id: str, cell: Text) -> None:
        """Update one cell if its text changed; its column widens when the new value is wider
        (a step grown from '9' to '12,345' is never shown cut), and only then: re-measuring a
        column on every update costs seconds over a thousand rows. Otherwise only its row is
        repainted."""
        current = self.get_cell(row_key, column_id)
        if _same(current, cell):
            return
        column = self.columns.get(column_id)  # type: ignore[call-overload]
        self.cells_updated += 1
        if column is None or cell.cell_len > column.content_width:
            self.update_cell(row_key, column_id, cell, update_width=True)
            return
        # update_cell without its whole-table refresh: the cell's version moves, its row is
        # repainted, every other cached row and cell stays valid.
        self._data[RowKey(row_key)][ColumnKey(column_id)] = cell
        self._update_count += 1
        self._own_updates += 1
        row = self.get_row_index(row_key)
        version = self._update_count
        self._cell_versions[(row, self.get_column_index(column_id))] = version
        self._row_versions[row] = version
        self.refresh_row(row)

    def _layout_version(self) -> int:
        """Moves with every change but this widget's own cell updates (rows added, widths,
        sorting, clearing, resizing): then every cached cell and row is stale."""
        return self._real_count() - self._own_updates

    def _real_count(self) -> int:
        """DataTable's update counter, also while a cache key stands in for it."""
        faked = self._faked_over
        return faked if faked is not None else self._update_count

    @contextmanager
    def _cache_key(self, key: tuple[int, int]) -> Iterator[None]:
        """DataTable's caches are keyed on ``_update_count``; for the span of one of its
        render calls, ``key`` stands in for it (a nested call keeps the real value known)."""
        previous = self._update_count  # the real counter, or an outer call's stand-in
        outer = self._faked_over
        if outer is None:
            self._faked_over = previous
        self._update_count = key  # type: ignore[assignment]  # only ever a cache key there
        try:
            yield
        finally:
            self._update_count = previous
            self._faked_over = outer

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's own, cached on this cell's version and the layout version rather than
        one counter that every cell update moves; a one-line text cell is laid out directly
        (a tenth of the time of a Rich render pass, the same segments)."""
        key = (self._layout_version(), self._cell_versions.get((row_index, column_index), 0))
        with self._cache_key(key):
            if row_index >= 0 and column_index >= 0:
                fast = self._fast_cell(row_index, column_index, base_style, width, cursor, hover)
                if fast is not None:
                    return fast
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)

    def _fast_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> list[list[Segment]] | None:
        cache = self._cell_render_cache
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return None
        cache_key = (
            row_key, column_key, base_style, cursor, hover, self._show_hover_cursor,
            self._update_count, self._pseudo_class_state,
        )  # fmt: skip
        hit = cache.get(cache_key)
        if hit is not None:
            return hit
        if self.rows[row_key].height != 1:
            return None
        cell = self._data[row_key].get(column_key)
        if not isinstance(cell, Text) or "\n" in cell.plain or cell.overflow == "ellipsis":
            return None
        component, post = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
        )  # fmt: skip
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index})
        lines = [
            _cell_line(self.app.console, cell, width, self.cell_padding, pre + component, post)
        ]
        cache[cache_key] = lines
        return lines

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable's line cache, keyed on the line's row version like the rows."""
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        found = self._row_locations.get(row_key)
        version = self._row_versions.get(-1 if found is None else found, 0)
        with self._cache_key((self._layout_version(), version)):
            return super()._render_line(y, x1, x2, base_style)

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """Cached per row version: a row none of whose cells changed is not assembled again.
        The cursor's and hover's rows are keyed on their own (they move; the rest do not)."""
        found = self._row_locations.get(row_key)
        row = -1 if found is None else found
        if row not in (cursor_location.row, hover_location.row):
            cursor_location = hover_location = _NOWHERE
        with self._cache_key((self._layout_version(), self._row_versions.get(row, 0))):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )

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
        for run in runs:
            if run.id in self.rows:
                self._put(run.id, column_id, spec.cell(run, ctx))

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


def _cell_line(
    console: Console, cell: Text, width: int, padding: int, pre: Style, post: Style
) -> list[Segment]:
    """One line of a text cell as Rich would lay it out: padded, justified, cropped, styled."""
    inner = max(0, width - 2 * padding)
    segments = list(cell.render(console))
    if cell.style:
        segments = list(Segment.apply_style(segments, console.get_style(cell.style)))
    length = cell.cell_len
    if length > inner:
        segments = Segment.adjust_line_length(segments, inner)
        length = inner
    space = inner - length
    left = space if cell.justify == "right" else space // 2 if cell.justify == "center" else 0
    line = [Segment(" " * (padding + left)), *segments, Segment(" " * (padding + space - left))]
    return list(Segment.apply_style(line, pre, post))


def _same(old: object, new: Text) -> bool:
    return (
        isinstance(old, Text)
        and old.plain == new.plain
        and old.style == new.style
        and old.spans == new.spans
        and old.justify == new.justify
    )
