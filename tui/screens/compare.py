"""Selected runs side by side: their curves overlaid on shared plots, the config keys that
differ (``d`` shows every key), summaries with each metric's best value, and (``3``) their media
side by side on one step cursor: the same image or table of every run at the same step, and a
prompt's outputs across runs and steps (``v``).

Values are never cut: each run's column is as wide as its widest number, the side pane widens
for many runs while the plots keep room, and the runs that still do not fit are shown a page
at a time (``]``/``[``, the tables' titles say which)."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from tracker.compare import MISSING, config_table
from tracker.models import RunRecord
from tracker.ranking import best_stat, best_value, has_better_direction, metric_direction

from ..formatting import format_number
from ..live_screen import LiveScreen
from ..messages import Changed, FollowSeries, UnfollowMedia
from ..model import main_metrics
from ..plot_lines import plot_data, show_plot
from ..sanitize import safe_text
from ..widgets.footer import KeyFooter
from ..widgets.media_pane import MediaPane
from ..widgets.plot import MetricPlot, distinct_colors
from ..widgets.text_view import TextView

MAX_PLOTS = 12
SIDE_WIDTH = 60  # the side pane's width, at least (app.tcss)
PLOTS_WIDTH = 50  # what the side pane leaves the plots, at least, when it widens
KEY_WIDTH = 24  # the key column, at most (keys longer are cut with …)
TEXT_WIDTH = 16  # a text value wider than this wraps in its column (numbers never do)
NAME_WIDTH = 8  # a column as wide as its values, but this much for the run's name
# the cells around each column: its padding (1 + 1) and the rule before it; plus the side
# pane's border, padding and scrollbar and a spare cell
COLUMN_GAP = 3
SIDE_FRAME = 1 + 2 + 2 + 1


def _value_text(value: Any) -> Text:
    if value is MISSING:
        return Text("—", style="dim")
    if isinstance(value, float):
        return Text(format_number(value))
    if isinstance(value, str):
        return Text(safe_text(value, 30))
    return Text(safe_text(json.dumps(value, ensure_ascii=False), 30))


class CompareScreen(LiveScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("d", "toggle_diff", "diff only / all"),
        Binding("3", "toggle_media", "media"),
        Binding("right_square_bracket", "page(1)", "more runs", show=False),
        Binding("left_square_bracket", "page(-1)", "previous runs", show=False),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.only_differences = True
        self.plots: dict[str, MetricPlot] = {}
        self._shown: dict[str, object] = {}  # what the config and summary tables show
        self.run_colors = distinct_colors(run_ids)
        self.config_keys: list[str] = []  # the config rows shown
        self.summary_keys: list[str] = []
        self.page = 0  # which of the runs the tables show side by side (see _layout)
        self.per_page = len(run_ids)

    @property
    def runs(self) -> list[RunRecord]:
        return [self.tapp.model.runs[r] for r in self.run_ids if r in self.tapp.model.runs]

    def plotted_runs(self) -> list[RunRecord]:
        return self.runs

    def compose(self) -> ComposeResult:
        yield TextView(id="header")
        with Horizontal(id="compare-body"):
            yield VerticalScroll(id="compare-plots")
            with VerticalScroll(id="compare-side"):
                yield Static(id="compare-config")
                yield Static(id="compare-summary")
        yield MediaPane(id="compare-media", classes="hidden")
        yield KeyFooter()

    def metric_keys(self) -> list[str]:
        keys: list[str] = []
        for run in self.runs:
            for key in main_metrics(run, 50):
                if key not in keys:
                    keys.append(key)
        return keys[:MAX_PLOTS]

    def on_mount(self) -> None:
        keys = self.metric_keys()
        container = self.query_one("#compare-plots", VerticalScroll)
        for key in keys:
            self.plots[key] = MetricPlot(key)
        container.mount_all(self.plots.values())
        self.app.post_message(
            FollowSeries(
                run.metrics[k].series_id for run in self.runs for k in keys if k in run.metrics
            )
        )
        self.data_changed(Changed(runs=set(self.run_ids)))

    def on_unmount(self) -> None:
        self.app.post_message(UnfollowMedia(self.run_ids))

    def action_toggle_media(self) -> None:
        pane = self.query_one("#compare-media", MediaPane)
        showing = pane.has_class("hidden")
        pane.set_class(not showing, "hidden")
        if showing:
            pane.show_runs((run.id, run.name) for run in self.runs)
            pane.query_one("#media-keys").focus()

    def action_toggle_diff(self) -> None:
        self.only_differences = not self.only_differences
        self._update_tables()

    def options_changed(self) -> None:
        self._update_plots()

    def data_changed(self, changed: Changed) -> None:
        header = Text.assemble((" compare ", "bold reverse"), "  ")
        for run in self.runs:
            header.append(
                f"━ {safe_text(run.name, 28)}  ", style=f"bold {self.run_colors[run.id][1]}"
            )
        self.query_one("#header", TextView).show(header)
        if changed.reset or changed.runs & set(self.run_ids):
            self._update_tables()
        media = self.query_one("#compare-media", MediaPane)
        if not media.has_class("hidden") and (changed.reset or changed.media & set(self.run_ids)):
            media.refresh_media()
        if changed.reset or changed.series or changed.runs & set(self.run_ids):
            self._update_plots()

    def _update_plots(self) -> None:
        """Every run on one x-axis per plot (see tui.axis); a run lacking it is named in the
        plot's title."""
        runs = [(run, self.run_colors[run.id][0]) for run in self.runs]
        series = self.tapp.model.series
        options = self.tapp.options
        follow: list[int] = []
        for key, plot in self.plots.items():
            data = plot_data(key, runs, series, options.x)
            follow += data.follow
            show_plot(plot, data, options)
        self.app.post_message(FollowSeries(follow))

    def on_resize(self, event: Any) -> None:
        self._update_tables()

    def action_page(self, direction: int) -> None:
        pages = max(1, -(-len(self.runs) // max(1, self.per_page)))
        self.page = (self.page + direction) % pages
        self._update_tables()

    def _layout(self, runs: list[RunRecord], rows: list[list[Text]]) -> tuple[int, int, int]:
        """The key column's width, each run column's and how many runs fit side by side, with
        the side pane widened for them as far as the plots allow. ``rows``: a key cell and a
        cell per run."""
        key_width = min(KEY_WIDTH, max((row[0].cell_len for row in rows), default=3))
        column = NAME_WIDTH
        for row in rows:
            for cell in row[1:]:
                text = cell.plain
                number = bool(text) and not any(c.isalpha() for c in text.replace("e", ""))
                column = max(column, cell.cell_len if number else min(cell.cell_len, TEXT_WIDTH))
        screen = self.app.size.width
        wanted = key_width + 2 + len(runs) * (column + COLUMN_GAP) + SIDE_FRAME
        widest = max(SIDE_WIDTH, screen - PLOTS_WIDTH)
        side = min(max(SIDE_WIDTH, wanted), widest)
        self.query_one("#compare-side").styles.width = side  # a no-op when unchanged
        room = side - SIDE_FRAME - key_width - 2
        return key_width, column, max(1, min(len(runs), room // (column + COLUMN_GAP)))

    def _paged(self, runs: list[RunRecord]) -> tuple[slice, str]:
        """The runs of the page shown, and the title's note of it (when not all fit)."""
        per = max(1, self.per_page)
        if per >= len(runs):
            self.page = 0
            return slice(0, len(runs)), ""
        pages = -(-len(runs) // per)
        self.page = min(self.page, pages - 1)
        start = self.page * per
        end = min(len(runs), start + per)
        return slice(start, end), f"  runs {start + 1}–{end} of {len(runs)} (] [ more)"

    def _runs_table(self, title: str, runs: list[RunRecord], key: int, column: int) -> Table:
        table = Table(
            title=title, title_justify="left", title_style="bold", expand=False, show_edge=False
        )
        table.add_column("key", style="cyan", no_wrap=True, width=key, overflow="ellipsis")
        for run in runs:
            table.add_column(  # the run's name wraps in its column: whole, as its values
                Text(safe_text(run.name, 40), style=f"bold {self.run_colors[run.id][1]}"),
                width=column,
                overflow="fold",  # only text wider than the column: numbers always fit
            )
        return table

    def _update_tables(self) -> None:
        all_runs = self.runs
        config_rows = config_table(all_runs, self.only_differences)
        summary_rows: list[list[Text]] = []
        signature: list[object] = []
        for key in self.metric_keys():
            # the runs' define_metric goal, else the name's: the runs table's and b's directions
            mode = metric_direction(key, all_runs)
            values = [best_value(run, key, mode) for run in all_runs]
            finite = [v for v in values if v is not None]
            ranked = has_better_direction(key, all_runs)  # no winner by epoch or lr: their max
            winner = (min if mode == "min" else max)(finite) if finite and ranked else None
            signature.append((key, mode, tuple(values), winner))
            summary_rows.append(
                [
                    Text(f"{safe_text(key, 24)} {best_stat(key, mode)}"),
                    *(
                        Text(
                            format_number(v),
                            style="bold green" if v is not None and v == winner else "",
                        )
                        if v is not None
                        else Text("—", style="dim")
                        for v in values
                    ),
                ]
            )
        keys = sorted({k for run in all_runs for k in run.summary})
        self.summary_keys = keys
        signature.append([run.summary for run in all_runs])
        for key in keys:
            summary_rows.append(
                [
                    Text(safe_text(key, 30)),
                    *(_value_text(run.summary.get(key, MISSING)) for run in all_runs),
                ]
            )
        config_cells = [
            [Text(safe_text(key, 30)), *(_value_text(v) for v in values)]
            for key, values in config_rows
        ]
        key_width, column, self.per_page = self._layout(all_runs, config_cells + summary_rows)
        page, note = self._paged(all_runs)
        layout = (key_width, column, page.start, page.stop, note)
        self._render_config(all_runs[page], config_rows, config_cells, page, layout)
        summary = self._runs_table(
            f"summary and best values{note}", all_runs[page], key_width, column
        )
        for row in summary_rows:
            summary.add_row(row[0], *row[1:][page])
        if (signature, layout) != self._shown.get("summary"):
            self._shown["summary"] = (signature, layout)
            self.query_one("#compare-summary", Static).update(summary)

    def _render_config(
        self,
        runs: list[RunRecord],
        rows: list[tuple[str, list[Any]]],
        cells: list[list[Text]],
        page: slice,
        layout: tuple[object, ...],
    ) -> None:
        self.config_keys = [key for key, _ in rows]
        title = (
            "config: keys that differ (d: all)"
            if self.only_differences
            else "config: every key (d: differences only)"
        )
        key_width, column = layout[0], layout[1]
        assert isinstance(key_width, int) and isinstance(column, int)
        config = self._runs_table(f"{title}{layout[-1]}", runs, key_width, column)
        for row in cells:
            config.add_row(row[0], *row[1:][page])
        if not rows:
            config.add_row(Text("(the configs are identical)", style="dim"), *("" for _ in runs))
        shown = ("config", self.only_differences, tuple(rows), layout)
        if shown != self._shown.get("config"):  # Static.update lays the screen out again
            self._shown["config"] = shown
            self.query_one("#compare-config", Static).update(config)
