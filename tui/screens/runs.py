"""The main screen: every run (newest first, live) and the highlighted run's plots and hardware.

A missing, empty, foreign, damaged or newer-schema database shows a message here instead of
the table, and the app keeps watching: the table appears as soon as there is something to show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tracker.models import RunRecord
from tracker.system.keys import describe

from ..model import Changed, main_metrics
from ..sanitize import safe_text
from ..widgets.hardware import HardwarePanel
from ..widgets.plot import MetricPlot, PlotLine, run_color
from ..widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from ..app import TrackTuiApp

PREVIEW_PLOTS = 2
STATE_MESSAGES = {
    "missing": "No database here yet: {reason}\n\n"
    "Start a run with tracker.init(db=...) and it appears here.",
    "empty": "No runs yet in this database.\n\n"
    "Start a run with tracker.init() and it appears here.",
    "error": "This file cannot be shown:\n{reason}\n\n"
    "Waiting: this screen recovers by itself once the file is fixed or replaced.",
}


def sys_values(run: RunRecord) -> dict[str, float]:
    """A run's last hardware readings (its ``sys/`` metrics' last finite values)."""
    return {
        key: summary.last
        for key, summary in run.metrics.items()
        if key.startswith("sys/") and summary.last is not None and summary.last == summary.last
    }


class RunsScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "open_run", "open", show=True),
    ]
    metric_columns = 3

    @property
    def tapp(self) -> TrackTuiApp:
        return cast("TrackTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Static(id="message")
        with Vertical(id="body", classes="hidden"):
            yield RunsTable(clock=self.tapp.clock)
            with Horizontal(id="preview"):
                with Vertical(id="preview-plots"):
                    for index in range(PREVIEW_PLOTS):
                        yield MetricPlot("", id=f"preview-{index}")
                yield HardwarePanel(compact=True, changes_only=True, id="preview-hardware")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(10.0, self._refresh_ages)
        self._fit(self.app.size.width, self.app.size.height)
        self.data_changed(Changed(status=True))

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Narrow panes keep the table and one plot; hardware and the second plot need room."""
        self.query_one("#preview-hardware").set_class(width < 100, "hidden")
        self.query_one("#preview-1").set_class(height < 30, "hidden")
        self.metric_columns = 2 if width < 90 else 3
        if self.tapp.model.status.state == "ok":
            self.data_changed(Changed())

    def _refresh_ages(self) -> None:
        self.query_one(RunsTable).refresh_ages(list(self.tapp.model.runs.values()))

    def data_changed(self, changed: Changed) -> None:
        model = self.tapp.model
        self._update_header()
        ok = model.status.state == "ok"
        self.query_one("#message").set_class(ok, "hidden")
        self.query_one("#body").set_class(not ok, "hidden")
        if not ok:
            template = STATE_MESSAGES.get(model.status.state, "{reason}")
            self.query_one("#message", Static).update(
                Text(template.format(reason=safe_text(model.status.reason)))
            )
            return
        table = self.query_one(RunsTable)
        runs = model.newest_first()
        keys: list[str] = []
        for run in runs:
            for key in main_metrics(run):
                if key not in keys:
                    keys.append(key)
        table.set_metric_columns(keys[: self.metric_columns])
        table.show_runs(runs, changed.runs if not changed.reset else None)
        self._update_preview(changed)

    def _update_header(self) -> None:
        model = self.tapp.model
        parts = [
            Text(" tracktui ", style="bold reverse"),
            Text(f"  {safe_text(self.tapp.db_path)}"),
        ]
        if model.status.state == "ok":
            parts.append(Text(f"   {len(model.runs)} runs, {model.live_count()} live"))
        o = self.tapp.options
        flags = [
            "time" if o.use_time else "step",
            "log-y" if o.log_y else "",
            f"EMA {o.smoothing:g}" if o.smoothing is not None else "",
        ]
        parts.append(Text(f"   x: {' · '.join(f for f in flags if f)}", style="dim"))
        parts.append(Text("   ? keys  q quit", style="dim"))
        self.query_one("#header", Static).update(Text.assemble(*parts))

    def selected_run(self) -> RunRecord | None:
        run_id = self.query_one(RunsTable).selected_run_id()
        return self.tapp.model.runs.get(run_id) if run_id else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_preview(None)

    def options_changed(self) -> None:
        self._update_header()
        self._update_preview(None)

    def _update_preview(self, changed: Changed | None) -> None:
        run = self.selected_run()
        plots = [self.query_one(f"#preview-{i}", MetricPlot) for i in range(PREVIEW_PLOTS)]
        hardware = self.query_one("#preview-hardware", HardwarePanel)
        if run is None:
            for plot in plots:
                plot.title = "no run selected"
                plot.show([], self.tapp.options)
            hardware.clear_values()
            return
        keys = main_metrics(run, PREVIEW_PLOTS)
        wanted = [run.metrics[k].series_id for k in keys]
        self.tapp.follow(wanted)
        for index, plot in enumerate(plots):
            if index >= len(keys):
                plot.title = ""
                plot.show([], self.tapp.options)
                continue
            key = keys[index]
            buffer = self.tapp.model.series.get(run.metrics[key].series_id)
            plot.title = f"{safe_text(run.name, 30)} · {key}"
            info = describe(key)
            plot.unit = info.unit if info else ""
            lines = [PlotLine(run.name, run_color(run.id), buffer)] if buffer is not None else []
            plot.show(lines, self.tapp.options)
        if changed is None or run.id in changed.runs or changed.reset:
            if changed is None:
                hardware.clear_values()
            hardware.update_values(sys_values(run))

    def action_open_run(self) -> None:
        run = self.selected_run()
        if run is not None:
            from .run_detail import RunDetailScreen

            self.app.push_screen(RunDetailScreen(run.id))

    def on_data_table_row_selected(self, event: Any) -> None:
        self.action_open_run()
