"""A DataTable that repaints what changed: the row of a changed cell, nothing else.

Textual's DataTable keys every cache (cells, rows, lines) on one table-wide update counter,
so a single changed cell makes it lay out every visible cell again, and it looks up CSS
component styles for every row it assembles. With runs logging that was most of the viewer's
CPU. Here:
- :meth:`FastDataTable.set_cell` changes a cell without that counter's table-wide refresh:
  the cell and its row get a version of their own and only its row is repainted;
- the caches are keyed on those versions and on a layout version that moves with everything
  else (rows added, widths, sorting, clearing, resizing), so nothing stale is ever shown;
- a one-line text cell is laid out directly (the segments Rich would make, a tenth the time),
  rows are assembled here with the component styles looked up once per paint.
The table is used with row cursors, no row labels and no fixed columns.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual._types import SegmentLines
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

_NOWHERE = Coordinate(-2, -2)  # a cursor on no row, not even the header's (-1)


class _Paint(NamedTuple):
    """What every line of one paint reads of the widget, read once (each of these is a
    reactive or a walk up the DOM: read per line and per cell, they were a quarter of a row's
    cost)."""

    style: Style | None  # the widget's own (DOMNode.rich_style walks every ancestor)
    width: int
    scroll_x: int
    scroll_y: int
    header_rows: int
    cursor: Coordinate
    hover: Coordinate
    cursor_type: str
    show_cursor: bool
    show_hover: bool
    pseudo: object
    zebra: bool
    foreground_css: bool
    background_css: bool


class FastDataTable(DataTable[Text]):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._own_updates = 0  # cell updates that changed no layout
        self._cell_versions: dict[tuple[int, int], int] = {}  # (row, column) -> version
        self._row_versions: dict[int, int] = {}  # row -> its newest cell's version
        self._faked_over: int | None = None  # the real update counter while a key stands in
        self._styles_memo: dict[str, Style] = {}
        self._own_rows: dict[tuple[object, ...], tuple[SegmentLines, SegmentLines]] = {}
        self._rows_changed: set[int] = set()
        self._widths: list[int] = []  # each column's width, worked out once a paint
        # (row, column) -> (what the cell's look depends on, its lines): one dict look-up a
        # cell, where DataTable's keyed caches cost tens of microseconds a hit.
        self._cell_memo: dict[tuple[int, int], tuple[tuple[object, ...], SegmentLines]] = {}
        self._paint: _Paint | None = None  # what a paint reads of the widget, once
        # The styles of the last paint: an equal new one is replaced by its held twin, so the
        # caches' keys compare by identity (Style.__eq__ was the top Python function).
        self._held_styles: dict[str, Style] = {}
        self._styles_context: tuple[object, ...] = ()
        self._style_memo: dict[
            tuple[int, int], tuple[tuple[object, ...], Style, Style, dict[object, Style | None]]
        ] = {}

    def set_cell(self, row_key: str, column_id: str, cell: Text) -> None:
        """``update_cell`` for a value that fits its column: only its row is repainted, every
        other cached row and cell stays valid."""
        self._data[RowKey(row_key)][ColumnKey(column_id)] = cell
        self._update_count += 1
        self._own_updates += 1
        row = self.get_row_index(row_key)
        version = self._update_count
        self._cell_versions[(row, self.get_column_index(column_id))] = version
        self._row_versions[row] = version
        self._rows_changed.add(row)

    def repaint_changed_rows(self) -> None:
        """Repaint the rows :meth:`set_cell` changed (once each, after a batch of updates).
        Rows are one line high here, so a row's place is its index (DataTable's own lookup
        sums the heights of every row above it)."""
        rows, self._rows_changed = self._rows_changed, set()
        if not rows:
            return
        top = self.header_height if self.show_header else 0
        scroll_y = int(self.scroll_offset.y)
        width, height = self.size.width, self.size.height
        regions = [
            Region(0, top + row - scroll_y, width, 1)
            for row in rows
            if top <= top + row - scroll_y < height
        ]
        if regions:
            self.refresh(*regions)

    def _layout_version(self) -> int:
        """Moves with every change but :meth:`set_cell`'s: then every cached cell is stale."""
        return self._real_count() - self._own_updates

    def _real_count(self) -> int:
        """DataTable's update counter, also while a cache key stands in for it."""
        faked = self._faked_over
        return faked if faked is not None else self._update_count

    def _swap_in(self, key: tuple[int, int]) -> tuple[object, int | None]:
        """DataTable's caches are keyed on ``_update_count``: for the span of one of its
        render calls, ``key`` stands in for it (undone by :meth:`_swap_out`; calls nest)."""
        outer = (self._update_count, self._faked_over)
        if self._faked_over is None:
            self._faked_over = self._update_count
        self._update_count = key  # type: ignore[assignment]  # only ever a cache key there
        return outer

    def _swap_out(self, outer: tuple[object, int | None]) -> None:
        self._update_count, self._faked_over = outer  # type: ignore[assignment]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        """DataTable's row offsets, kept while the layout is (it keys them on every update)."""
        outer = self._swap_in((self._layout_version(), 0))
        try:
            return DataTable._y_offsets.fget(self)  # type: ignore[attr-defined,no-any-return]
        finally:
            self._swap_out(outer)

    # --- painting ------------------------------------------------------------------------------

    def _clear_caches(self) -> None:
        super()._clear_caches()
        memo = getattr(self, "_cell_memo", None)  # None: called from DataTable.__init__
        if memo is not None:
            memo.clear()
            self._style_memo.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._widths = [column.get_render_width(self) for column in self.ordered_columns]
        if len(self._own_rows) > 4096:
            self._own_rows.clear()
        if len(self._cell_memo) > 65536:
            self._cell_memo.clear()
        paint = self._paint = self._read_paint(self._held("", self.rich_style))
        # Component styles (each look-up builds two Styles objects) hold while the CSS, the
        # pseudo-classes and the widget's own style do.
        context = (self.app._css_update_count, self.get_pseudo_class_state(), paint.style)
        if context != self._styles_context:
            self._styles_context = context
            self._styles_memo = {}
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def _read_paint(self, style: Style | None = None) -> _Paint:
        scroll_x, scroll_y = self.scroll_offset
        return _Paint(
            style=style,
            width=self.size.width,
            scroll_x=scroll_x,
            scroll_y=scroll_y,
            header_rows=self.get_row_height(self._header_row_key) if self.show_header else 0,
            cursor=self.cursor_coordinate,
            hover=self.hover_coordinate,
            cursor_type=self.cursor_type,
            show_cursor=self.show_cursor,
            show_hover=self._show_hover_cursor,
            pseudo=self._pseudo_class_state,
            zebra=self.zebra_stripes,
            foreground_css=self.cursor_foreground_priority == "css",
            background_css=self.cursor_background_priority == "css",
        )

    def _painting(self) -> _Paint:
        return self._paint if self._paint is not None else self._read_paint()

    def render_line(self, y: int) -> Strip:
        """DataTable's, with the widget's style looked up once a paint (no fixed rows here)."""
        paint = self._paint
        if paint is None or paint.style is None or self.fixed_rows:
            return super().render_line(y)
        if y >= paint.header_rows:
            y += paint.scroll_y
        return self._render_line(y, paint.scroll_x, paint.scroll_x + paint.width, paint.style)

    def _held(self, name: str, style: Style) -> Style:
        held = self._held_styles.get(name)
        if held is not None and held == style:
            return held
        self._held_styles[name] = style
        return style

    def _component(self, name: str) -> Style:
        style = self._styles_memo.get(name)
        if style is None:
            style = self._held(name, self.get_component_styles(name).rich_style)
            self._styles_memo[name] = style
        return style

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable's line cache, keyed on the line's row version like the rows; the line
        is assembled here (no fixed columns: DataTable's sums over them cost more than the
        rest of a cached line)."""
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        found = self._row_locations.get(row_key)
        version = self._row_versions.get(-1 if found is None else found, 0)
        if self.fixed_columns:
            outer = self._swap_in((self._layout_version(), version))
            try:
                return super()._render_line(y, x1, x2, base_style)
            finally:
                self._swap_out(outer)
        paint = self._painting()
        width, cursor, hover = paint.width, paint.cursor, paint.hover
        key = (
            y, x1, x2, width, cursor, hover, base_style, paint.cursor_type,
            paint.show_hover, (self._layout_version(), version), paint.pseudo,
        )  # fmt: skip
        # DataTable's own line cache: its update counter's place holds the versions here.
        cache: Any = self._line_cache
        hit: Strip | None = cache.get(key)
        if hit is not None:
            return hit
        _, cells = self._render_line_in_row(
            row_key, line_no, base_style, cursor_location=cursor, hover_location=hover
        )
        segments = list(
            Segment.simplify(line_crop(list(chain.from_iterable(cells)), x1, x2, width))
        )
        strip = Strip(segments, line_cells(segments)).adjust_cell_length(width, base_style)
        cache[key] = strip
        return strip

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """One line of a row: its cells side by side, then its style to the widget's edge.
        Cached per row version: a row none of whose cells changed is not assembled again."""
        found = self._row_locations.get(row_key)
        row = -1 if found is None else found
        cursor = row == cursor_location.row
        hover = row == hover_location.row
        paint = self._painting()
        show = paint.show_cursor
        key = (
            self._layout_version(), self._row_versions.get(row, 0), row, line_no, base_style,
            cursor, hover, show, paint.show_hover, paint.pseudo, paint.width,
        )  # fmt: skip
        cached = self._own_rows.get(key)
        if cached is not None:
            return cached
        if row == -1:
            row_style = self._component("datatable--header")
        elif paint.zebra:
            row_style = self._component("datatable--odd-row" if row % 2 else "datatable--even-row")
        else:
            row_style = base_style
        cursor_here = cursor and paint.cursor_type == "row"
        hover_here = hover and paint.cursor_type == "row"
        cells: list[list[Segment]] = []
        table_width = 0
        widths = self._widths
        if len(widths) != len(self.columns):
            widths = self._widths = [c.get_render_width(self) for c in self.ordered_columns]
        for column_index, width in enumerate(widths):
            table_width += width
            lines = self._render_cell(row, column_index, row_style, width, cursor_here, hover_here)
            cells.append(lines[line_no])
        extend, _ = self._get_styles_to_render_cell(
            row == -1, False, False, hover_here, cursor_here, show, paint.show_hover,
            False, False,
        )  # fmt: skip
        extend = (
            row_style + extend + Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})
        )
        cells.append([Segment(" " * max(0, paint.width - table_width), extend)])
        result: tuple[SegmentLines, SegmentLines] = ([], cells)
        self._own_rows[key] = result
        return result

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """DataTable's own, cached on this cell's version and the layout version; a one-line
        text cell is laid out directly."""
        place = (row_index, column_index)
        key = (self._layout_version(), self._cell_versions.get(place, 0))
        paint = self._painting()
        state = (key, base_style, width, cursor, hover, paint.show_hover, paint.pseudo)
        memo = self._cell_memo.get(place)
        if memo is not None and memo[0] == state:
            return memo[1]
        outer = self._swap_in(key)
        try:
            lines: SegmentLines | None = None
            if row_index >= 0 and column_index >= 0:
                lines = self._fast_cell(row_index, column_index, base_style, width, cursor, hover)
            if lines is None:
                lines = super()._render_cell(
                    row_index, column_index, base_style, width, cursor, hover
                )
        finally:
            self._swap_out(outer)
        self._cell_memo[place] = (state, lines)
        return lines

    def _fast_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> SegmentLines | None:
        """Called when the cell's memo is stale (its text or look changed)."""
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return None
        if self.rows[row_key].height != 1:
            return None
        cell = self._data[row_key].get(column_key)
        if not isinstance(cell, Text) or "\n" in cell.plain or cell.overflow == "ellipsis":
            return None
        style, post, sums = self._cell_styles(row_index, column_index, base_style, cursor, hover)
        return [_cell_line(self.app.console, cell, width, self.cell_padding, style, post, sums)]

    def _cell_styles(
        self, row_index: int, column_index: int, base_style: Style, cursor: bool, hover: bool
    ) -> tuple[Style, Style, dict[object, Style | None]]:
        """The styles around a cell's text, the same objects while its look holds, and the
        sums already made with them (by the text's own style): a new value then costs no
        style arithmetic, where each cell made new styles with pickled meta."""
        paint = self._painting()
        look = (
            base_style, cursor, hover, paint.show_cursor, paint.show_hover,
            paint.foreground_css, paint.background_css, paint.pseudo,
        )  # fmt: skip
        place = (row_index, column_index)
        held = self._style_memo.get(place)
        if held is not None and held[0] == look:
            return held[1], held[2], held[3]
        component, post = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, paint.show_cursor, paint.show_hover,
            paint.foreground_css, paint.background_css,
        )  # fmt: skip
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index})
        style = pre + component
        sums: dict[object, Style | None] = {}
        self._style_memo[place] = (look, style, post, sums)
        return style, post, sums


def text_cells(text: str) -> int:
    """``rich.cells.cell_len``, without its look-ups for printable ASCII (every new number a
    table shows missed its cache, and measuring a miss was a fifth of a changed row's cost)."""
    return len(text) if text.isascii() and text.isprintable() else cell_len(text)


def line_cells(segments: list[Segment]) -> int:
    """The cells a line of segments takes (Strip's own measure, with :func:`text_cells`)."""
    return sum(text_cells(text) for text, _, control in segments if not control)


def _styled(inner: Style | None, pre: Style, post: Style) -> Style | None:
    """``Segment.apply_style``'s sum for one segment: pre, the segment's own, then post."""
    style = pre + inner if pre else inner
    if post:
        return style + post if style else post
    return style


def _cell_line(
    console: Console,
    cell: Text,
    width: int,
    padding: int,
    pre: Style,
    post: Style,
    sums: dict[object, Style | None] | None = None,
) -> list[Segment]:
    """One line of a text cell as Rich would lay it out: padded, justified, cropped, styled.
    ``sums``: the styles made with ``pre`` and ``post`` so far, by the text's own style."""
    inner = max(0, width - 2 * padding)
    length = text_cells(cell.plain)
    if not cell.spans and length <= inner:
        # The usual cell, one run of text: the three segments the general path makes.
        space = inner - length
        left = space if cell.justify == "right" else space // 2 if cell.justify == "center" else 0
        sums = {} if sums is None else sums
        if None not in sums:
            sums[None] = _styled(None, pre, post)
        around = sums[None]
        lead, trail = " " * (padding + left), " " * (padding + space - left)
        if not cell.style:  # all one style: one segment, as Strip.simplify would make it
            return [Segment(lead + cell.plain + trail, around)]
        if cell.style not in sums:
            sums[cell.style] = _styled(console.get_style(cell.style), pre, post)
        own = sums[cell.style]
        return [Segment(lead, around), Segment(cell.plain, own), Segment(trail, around)]
    segments = list(cell.render(console))
    if cell.style:
        segments = list(Segment.apply_style(segments, console.get_style(cell.style)))
    if length > inner:
        segments = Segment.adjust_line_length(segments, inner)
        length = inner
    space = inner - length
    left = space if cell.justify == "right" else space // 2 if cell.justify == "center" else 0
    line = [Segment(" " * (padding + left)), *segments, Segment(" " * (padding + space - left))]
    return list(Segment.apply_style(line, pre, post))


def same_text(old: object, new: Text) -> bool:
    """Whether a cell holding ``old`` already shows ``new``."""
    return (
        isinstance(old, Text)
        and old.plain == new.plain
        and old.style == new.style
        and old.spans == new.spans
        and old.justify == new.justify
    )
