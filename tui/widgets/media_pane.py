"""The media pane: every image, text table, chart, histogram and confusion matrix a run
logged.

Keys on the left (up/down choose); the chosen key at the scrubbed step on the right, one tile
per run (several runs in the comparison view share one step cursor). ``left``/``right`` step
through the logged steps, ``home``/``end`` jump to the first/last; at the last step the pane
follows new media live. ``v`` on a text table shows the highlighted row's first cell (the
prompt) across every step (and run); ``t`` shows a chart's table instead of the chart (and
back); ``r`` switches the image renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from tracker.media.decoded import ChartData, HistogramData, MediaItem, TableData

from ..formatting import format_number
from ..media_chart import chart_text
from ..media_decode import Decoded, Unreadable
from ..media_model import MediaCache, pick_at, sample
from ..media_render import confusion_table, histogram_heatmap, histogram_line, histogram_stats
from ..messages import FollowMedia, WantMediaData
from ..model import HoldsModel, RunsModel
from ..sanitize import safe_text
from .image_view import DETECTED, image_widget, next_renderer, renderer_name
from .samples_table import SamplesTable, prompt_table

KIND_MARKS = {"image": "▣", "table": "≡", "chart": "∿", "histogram": "▥", "confusion": "▦"}
HISTORY_ITEMS = 160  # histogram steps drawn in the heatmap (evenly spaced, newest kept)
COMPARE_ITEMS = 100  # table steps searched for the same prompt


class MediaPane(Vertical):
    BINDINGS = [
        Binding("left,h", "step(-1)", "earlier", show=False),
        Binding("right", "step(1)", "later", show=False),
        Binding("pageup", "step(-10)", "-10 steps", show=False),
        Binding("pagedown", "step(10)", "+10 steps", show=False),
        Binding("home", "first", "first step", show=False, priority=True),
        Binding("end", "last", "last step", show=False, priority=True),
        Binding("v", "compare_prompt", "prompt across steps", show=False),
        Binding("r", "renderer", "image renderer", show=False),
        Binding("t", "chart_table", "chart / its table", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_ids: list[str] = []
        self.run_names: dict[str, str] = {}
        self.key: str | None = None
        self.cursor: int | None = None  # None: the newest step, following live
        self.compare_prompt = False
        self.chart_as_table = False
        self.prompt: str | None = None
        self.renderer: type[Widget] = DETECTED
        self._keys: list[str] = []
        self._shown: object = None
        self._shown_key: str | None = None

    @property
    def model(self) -> RunsModel:
        """The app's model (attributes down: this widget reads it, never changes it)."""
        return cast(HoldsModel, self.app).model

    @property
    def cache(self) -> MediaCache:
        return self.model.media

    def compose(self) -> ComposeResult:
        yield Static(id="media-header")
        with Horizontal(id="media-body"):
            yield OptionList(id="media-keys")
            yield VerticalScroll(id="media-view")

    def on_resize(self, event: object) -> None:
        self.query_one("#media-keys").styles.width = 30 if self.size.width >= 100 else 22
        if self.key is not None:
            self._draw()

    def show_runs(self, runs: Iterable[tuple[str, str]]) -> None:
        """Follow the media of these ``(run id, name)`` runs."""
        pairs = list(runs)
        self.run_ids = [run_id for run_id, _ in pairs]
        self.run_names = dict(pairs)
        for run_id in self.run_ids:
            self.app.post_message(FollowMedia(run_id))
        self.refresh_media()

    # --- data ------------------------------------------------------------------------------

    def _items(self, run_id: str, key: str) -> list[MediaItem]:
        media = self.cache.runs.get(run_id)
        return media.by_key.get(key, []) if media else []

    def _all_keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for run_id in self.run_ids:
            media = self.cache.runs.get(run_id)
            if media:
                seen.update(dict.fromkeys(media.keys()))
        return list(seen)

    def _steps(self) -> list[int]:
        if self.key is None:
            return []
        return sorted({i.step for r in self.run_ids for i in self._items(r, self.key)})

    def _data(self, items: Iterable[MediaItem]) -> dict[int, Decoded] | None:
        """The decoded ``items``, or None after asking the reader for what is missing."""
        out: dict[int, Decoded] = {}
        missing = []
        for item in items:
            value = self.cache.data(item.id)
            if value is None:
                missing.append(item)
            else:
                out[item.id] = value
        if missing:
            self.app.post_message(WantMediaData(missing))
            return None
        return out

    # --- drawing ---------------------------------------------------------------------------

    def refresh_media(self) -> None:
        keys = self._all_keys()
        options = self.query_one("#media-keys", OptionList)
        if keys != self._keys:
            highlighted = self.key
            self._keys = keys
            options.clear_options()
            options.add_options(
                [Option(self._key_label(k), id=f"k{i}") for i, k in enumerate(keys)]
            )
            if keys:
                index = keys.index(highlighted) if highlighted in keys else 0
                options.highlighted = index
                self.key = keys[index]
        else:
            for index, key in enumerate(keys):  # counts grow while the run logs
                options.replace_option_prompt_at_index(index, self._key_label(key))
        self._draw()

    def _key_label(self, key: str) -> Text:
        kind = next((shown_kind(i) for r in self.run_ids for i in self._items(r, key)), "")
        count = f" {sum(len(self._items(r, key)) for r in self.run_ids)}"
        room = (30 if self.size.width >= 100 or not self.size.width else 22) - 7 - len(count)
        label = Text.assemble(
            (KIND_MARKS.get(kind, "?") + " ", "cyan"), safe_text(key, room), (count, "dim")
        )
        label.no_wrap = True
        return label

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self._keys) and self._keys[index] != self.key:
            self.key = self._keys[index]
            self.compare_prompt = False
            self._draw()

    def _draw(self) -> None:
        header = self.query_one("#media-header", Static)
        if not self._keys or self.key is None:
            header.update(Text(" no media logged yet (tracker.Image, Table, Histogram, "
                               "ConfusionMatrix)", style="dim"))  # fmt: skip
            self._replace([], ("empty",))
            return
        steps = self._steps()
        step = self.cursor if self.cursor is not None else (steps[-1] if steps else None)
        picked = [(r, pick_at(self._items(r, self.key), step)) for r in self.run_ids]
        kind = next((item.kind for _, item in picked if item is not None), "")
        mark = next((shown_kind(item) for _, item in picked if item is not None), "")
        position = steps.index(step) + 1 if step in steps else len(steps)
        live = "  ● live" if self.cursor is None else ""
        header.update(
            Text.assemble(
                (f" {KIND_MARKS.get(mark, '?')} {safe_text(self.key, 50)}", "bold"),
                f"  step {format_number(step) if step is not None else '-'}",
                (f"  ({position}/{len(steps)})", "dim"),
                (live, "green"),
                ("   ←/→ step  home/end", "dim"),
                (f"  v prompt across {self._across()}" if mark == "table" else "", "dim"),
                (self._chart_hint() if mark == "chart" else "", "dim"),
                (f"  r renderer: {renderer_name(self.renderer)}" if kind == "image" else "", "dim"),
            )
        )
        builder = {
            "image": self._image_tiles,
            "table": self._table_tiles,
            "histogram": self._histogram_tiles,
            "confusion": self._confusion_tiles,
        }.get(kind)
        if builder is None:
            self._replace(
                [Static(Text(f"cannot show media of kind {safe_text(repr(kind))}"))], ("?", kind)
            )
            return
        builder(picked, step)

    def _chart_hint(self) -> str:
        return f"  t {'chart' if self.chart_as_table else 'table'}"

    def _replace(self, widgets: list[Widget], signature: object) -> None:
        if signature == self._shown:
            return
        self._shown = signature
        self._shown_key = self.key
        view = self.query_one("#media-view", VerticalScroll)
        view.remove_children()
        if widgets:
            view.mount_all(widgets)

    def _title(self, run_id: str, item: MediaItem | None) -> Text:
        name = self.run_names.get(run_id, run_id)
        text = Text(safe_text(name, 30), style="bold") if len(self.run_ids) > 1 else Text()
        if item is None:
            text.append(" nothing logged yet at this step", style="dim")
            return text
        text.append(f" step {format_number(item.step)}", style="dim")
        if item.caption:
            text.append(f"  {safe_text(item.caption, 120)}")
        chart = item.meta.get("chart")
        if item.kind == "table" and isinstance(chart, str):
            text.append(f"  {safe_text(chart, 20)} chart", style="cyan")
            if self.chart_as_table:
                text.append(" (its table; t: the chart)", style="dim")
        not_drawn = item.meta.get("not_drawn")
        if item.kind == "image" and isinstance(not_drawn, list) and not_drawn:
            names = " and ".join(safe_text(n, 20) for n in not_drawn[:3])
            text.append(f"  ({names} not drawn)", style="dim")
        return text

    def _loading(self, signature: object) -> None:
        """Keep what is on screen for this key until the newer data arrives (no flicker while
        following a live run); a key shown for the first time says it is loading."""
        if self._shown_key == self.key and self._shown not in (None, ("empty",)):
            return
        self._replace([Static(Text("loading…", style="dim"))], ("loading", signature))

    def _item_tiles(
        self,
        picked: list[tuple[str, MediaItem | None]],
        signature: object,
        build: Callable[[Any, MediaItem], Widget],
    ) -> None:
        """One tile per run: its title and ``build(value, item)`` of its item (or why it
        cannot be shown)."""
        data = self._data(item for _, item in picked if item is not None)
        if data is None:
            self._loading(signature)
            return
        tiles: list[Widget] = []
        for run_id, item in picked:
            parts: list[Widget] = [Static(self._title(run_id, item), classes="media-title")]
            value = data[item.id] if item is not None else None
            if isinstance(value, Unreadable):
                parts.append(Static(Text(safe_text(value.reason, 300), style="red")))
            elif value is not None and item is not None:
                parts.append(build(value, item))
            tiles.append(Vertical(*parts, classes="media-tile"))
        self._replace([Horizontal(*tiles, classes="media-tiles")], signature)

    def _image_tiles(self, picked: list[tuple[str, MediaItem | None]], step: int | None) -> None:
        height = self.query_one("#media-view").size.height

        def picture(value: PILImage.Image, item: MediaItem) -> Widget:
            widget = image_widget(value, self.renderer)
            # fit the pane's height; the width follows the picture's aspect ratio
            widget.styles.height = max(4, height - 2)
            widget.styles.width = "auto"
            return widget

        ids = tuple(i.id if i else 0 for _, i in picked)
        self._item_tiles(picked, ("image", ids, self.renderer, height), picture)

    def _table_tiles(self, picked: list[tuple[str, MediaItem | None]], step: int | None) -> None:
        if self.compare_prompt:
            self._prompt_across(picked)
            return
        items = [item for _, item in picked if item is not None]
        data = self._data(items)
        height = self.query_one("#media-view").size.height
        ids = tuple(i.id if i else 0 for _, i in picked)
        signature: tuple[object, ...] = ("table", ids, self.chart_as_table)
        if data is None:
            self._loading(signature)
            return
        if not self.chart_as_table and any(isinstance(v, ChartData) for v in data.values()):
            self._chart_tiles(picked, (*signature, height), height)
            return
        tiles: list[Widget] = []
        for run_id, item in picked:
            tiles.append(Static(self._title(run_id, item), classes="media-title"))
            if item is None:
                continue
            table = data[item.id]
            if isinstance(table, ChartData):
                table = table.table
            if not isinstance(table, TableData):
                reason = table.reason if isinstance(table, Unreadable) else "not a table"
                tiles.append(Static(Text(safe_text(reason, 300), style="red")))
                continue
            grid = SamplesTable(table.columns, table.rows)
            tiles.append(grid)
            tiles.append(grid.detail)
        self._replace(tiles, signature)

    def _chart_tiles(
        self,
        picked: list[tuple[str, MediaItem | None]],
        signature: object,
        height: int,
    ) -> None:
        """Charts side by side (one per run), each drawn to the pane's height; a plain table
        logged under the same key by another run is shown as its table."""

        def build(value: Any, item: MediaItem) -> Widget:
            if isinstance(value, ChartData):
                view = ChartView(value)
                view.styles.height = max(8, height - 2)
                return view
            if isinstance(value, TableData):
                return SamplesTable(value.columns, value.rows)
            return Static(Text("not a table", style="red"))

        self._item_tiles(picked, signature, build)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        grid = event.data_table
        if isinstance(grid, SamplesTable):
            grid.show_row(event.cursor_row)

    def _prompt_across(self, picked: list[tuple[str, MediaItem | None]]) -> None:
        prompt = self.prompt
        everything = {
            run_id: sample(self._items(run_id, self.key or ""), COMPARE_ITEMS)
            for run_id in self.run_ids
        }
        items = [item for run_items in everything.values() for item in run_items]
        signature = ("prompt", prompt, tuple(i.id for i in items))
        data = self._data(items)
        if data is None:
            self._loading(signature)
            return
        tables = []
        for run_id, run_items in everything.items():
            for item in run_items:
                table = data[item.id]
                if isinstance(table, ChartData):
                    table = table.table
                if isinstance(table, TableData):
                    tables.append((self.run_names.get(run_id, run_id), item.step, table))
        grid = prompt_table(tables, prompt, with_runs=len(self.run_ids) > 1)
        title = Text.assemble(
            (f"same prompt across {self._across()}: ", "dim"),
            safe_text(prompt or "(no row highlighted)", 100),
            ("   v: back to the table", "dim"),
        )
        self._replace([Static(title, classes="media-title"), grid], signature)

    def _across(self) -> str:
        return "steps and runs" if len(self.run_ids) > 1 else "steps"

    def _histogram_tiles(
        self, picked: list[tuple[str, MediaItem | None]], step: int | None
    ) -> None:
        everything = {
            run_id: sample(self._items(run_id, self.key or ""), HISTORY_ITEMS)
            for run_id in self.run_ids
        }
        items = [item for run_items in everything.values() for item in run_items]
        width = max(30, self.query_one("#media-view").size.width - 3) // max(1, len(self.run_ids))
        height = max(8, self.query_one("#media-view").size.height - 4)
        signature = ("histogram", tuple(i.id for i in items), step, width, height)
        data = self._data(items)
        if data is None:
            self._loading(signature)
            return
        tiles: list[Widget] = []
        for run_id, item in picked:
            history = []
            for entry in everything[run_id]:
                value = data[entry.id]
                if isinstance(value, HistogramData):
                    history.append((entry.step, value))
            text = self._title(run_id, item)
            text.append("\n")
            text.append_text(histogram_heatmap(history, width, height, step))
            if item is not None:
                text.append("\n")
                text.append_text(histogram_stats(item.meta))
                shown = data.get(item.id)
                if isinstance(shown, Unreadable):  # why this step's histogram is not drawn
                    text.append("\n")
                    text.append(safe_text(shown.reason, 300), style="red")
                current = dict(history).get(item.step)
                if current is not None:
                    text.append("\n")
                    text.append_text(histogram_line(current, width - 2))
            text.no_wrap = True  # a heatmap row must never wrap onto the next
            text.overflow = "crop"
            tiles.append(Static(text, classes="media-tile"))
        self._replace([Horizontal(*tiles, classes="media-tiles")], signature)

    def _confusion_tiles(
        self, picked: list[tuple[str, MediaItem | None]], step: int | None
    ) -> None:
        ids = tuple(i.id if i else 0 for _, i in picked)

        def matrix(value: Any, item: MediaItem) -> Widget:
            title = item.meta.get("title")
            return Static(confusion_table(value, safe_text(title, 100) if title else ""))

        self._item_tiles(picked, ("confusion", ids), matrix)

    # --- actions ---------------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        steps = self._steps()
        if not steps:
            return
        current = self.cursor if self.cursor is not None else steps[-1]
        index = max((i for i, s in enumerate(steps) if s <= current), default=0)
        index = max(0, min(len(steps) - 1, index + delta))
        self.cursor = None if index == len(steps) - 1 else steps[index]
        self._draw()

    def action_first(self) -> None:
        steps = self._steps()
        if steps:
            self.cursor = steps[0] if len(steps) > 1 else None
            self._draw()

    def action_last(self) -> None:
        self.cursor = None
        self._draw()

    def action_compare_prompt(self) -> None:
        if self.compare_prompt:
            self.compare_prompt = False
        else:
            grids = self.query(".media-table").results(DataTable)
            grid = next(iter(grids), None)
            if grid is None or grid.row_count == 0:
                self.app.bell()
                return
            row = grid.get_row_at(grid.cursor_row)
            self.prompt = row[0].plain if isinstance(row[0], Text) else str(row[0])
            self.compare_prompt = True
        self._shown = None
        self._draw()

    def action_chart_table(self) -> None:
        """A chart's data as the table it was logged as, and back."""
        self.chart_as_table = not self.chart_as_table
        self._draw()

    def action_renderer(self) -> None:
        """Half cells work everywhere; Sixel and Kitty graphics only where the terminal (and
        tmux, if any) passes them through: the choice is the user's."""
        self.renderer = next_renderer(self.renderer)
        self.app.notify(f"images: {renderer_name(self.renderer)}")
        self._draw()


def shown_kind(item: MediaItem) -> str:
    """The kind a media item is shown as: a table that holds a chart is a chart."""
    if item.kind == "table" and isinstance(item.meta.get("chart"), str):
        return "chart"
    return item.kind


class ChartView(Widget):
    """A chart of a logged table, drawn at the widget's size (and again when it changes)."""

    DEFAULT_CSS = """
    ChartView { width: 1fr; height: 16; }
    """

    def __init__(self, chart: ChartData) -> None:
        super().__init__(classes="media-chart")
        self.chart = chart
        self._key: tuple[int, int] | None = None
        self._text = Text()

    def render(self) -> Text:
        key = (self.size.width, self.size.height)
        if key != self._key:
            self._key = key
            self._text = drawn_chart(self.chart, *key)
        return self._text


def drawn_chart(chart: ChartData, width: int, height: int) -> Text:
    """The chart as text, or why it cannot be drawn (never an exception on the UI thread)."""
    try:
        return chart_text(chart, width, height)
    except ValueError as exc:
        return Text(safe_text(exc, 300) + "\n(t shows its table)", style="red")
    except Exception as exc:  # plotext on data it cannot place: a message, not a crash
        return Text(f"chart cannot be drawn ({type(exc).__name__}); t shows its table", style="red")
