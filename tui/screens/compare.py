"""Selected runs side by side: their curves overlaid on shared plots, the config keys that
differ (``d`` shows every key), summaries with each metric's best value, and (``3``) their media
side by side on one step cursor: the same image or table of every run at the same step, and a
prompt's outputs across runs and steps (``v``)."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Static

from tracker.compare import MISSING, config_table
from tracker.models import RunRecord
from tracker.ranking import best_value, has_better_direction, metric_direction

from ..formatting import format_number
from ..live_screen import LiveScreen
from ..messages import Changed, FollowSeries, UnfollowMedia
from ..model import main_metrics
from ..plot_lines import plot_data, show_plot
from ..sanitize import safe_text
from ..widgets.media_pane import MediaPane
from ..widgets.plot import MetricPlot, distinct_colors
from ..widgets.text_view import TextView

MAX_PLOTS = 12


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
        yield Footer()

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

    def _runs_table(self, title: str) -> Table:
        table = Table(
            title=title, title_justify="left", title_style="bold", expand=True, show_edge=False
        )
        table.add_column("key", style="cyan", no_wrap=True)
        for run in self.runs:
            table.add_column(
                Text(safe_text(run.name, 18), style=f"bold {self.run_colors[run.id][1]}"),
                no_wrap=True,
            )
        return table

    def _update_tables(self) -> None:
        runs = self.runs
        rows = config_table(runs, self.only_differences)
        self.config_keys = [key for key, _ in rows]
        title = (
            "config: keys that differ (d: all)"
            if self.only_differences
            else "config: every key (d: differences only)"
        )
        config = self._runs_table(title)
        for key, values in rows:
            config.add_row(Text(safe_text(key, 30)), *(_value_text(v) for v in values))
        if not rows:
            config.add_row(Text("(the configs are identical)", style="dim"), *("" for _ in runs))
        shown = ("config", self.only_differences, tuple(rows))
        if shown != self._shown.get("config"):  # Static.update lays the screen out again
            self._shown["config"] = shown
            self.query_one("#compare-config", Static).update(config)
        summary = self._runs_table("summary and best values")
        signature: list[object] = []
        for key in self.metric_keys():
            # the runs' define_metric goal, else the name's: the runs table's and b's directions
            mode = metric_direction(key, runs)
            values = [best_value(run, key, mode) for run in runs]
            finite = [v for v in values if v is not None]
            ranked = has_better_direction(key, runs)  # no winner by epoch or lr: their max
            winner = (min if mode == "min" else max)(finite) if finite and ranked else None
            signature.append((key, mode, tuple(values), winner))
            summary.add_row(
                Text(f"{safe_text(key, 24)} {mode}"),
                *(
                    Text(
                        format_number(v),
                        style="bold green" if v is not None and v == winner else "",
                    )
                    if v is not None
                    else Text("—", style="dim")
                    for v in values
                ),
            )
        keys = sorted({k for run in runs for k in run.summary})
        self.summary_keys = keys
        signature.append([run.summary for run in runs])
        for key in keys:
            summary.add_row(
                Text(safe_text(key, 30)),
                *(_value_text(run.summary.get(key, MISSING)) for run in runs),
            )
        if signature != self._shown.get("summary"):
            self._shown["summary"] = signature
            self.query_one("#compare-summary", Static).update(summary)
