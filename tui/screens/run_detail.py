"""One run: plots of every metric grouped by prefix (losses and gradient norm first, hardware
last), the run's hardware gauges, its config and summary, and (``3``/``4``) its media and
console panes, all live. ``escape`` goes back."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from tracker.models import RunRecord
from tracker.system.keys import describe

from .. import bottleneck
from ..axis import TIME, XAxis
from ..diagnosis import diagnose
from ..formatting import fit_parts, format_duration, format_number, wrap_cells
from ..live_screen import LiveScreen
from ..messages import Changed, FollowSeries, UnfollowMedia
from ..metrics import sys_values
from ..model import ordered_metric_keys
from ..plot_lines import plot_data, show_plot
from ..sanitize import safe_text
from ..series import SeriesBuffer
from ..view.run_text import (
    ERROR_LINES,
    describe_error,
    describe_events,
    describe_mappings,
    error_line,
)
from ..widgets.console_pane import ConsolePane
from ..widgets.footer import KeyFooter
from ..widgets.hardware import HardwarePanel
from ..widgets.media_pane import MediaPane
from ..widgets.plot import MetricPlot, PlotLine, PlotOptions, run_color
from ..widgets.plot_column import PlotColumn
from ..widgets.runs_table import STATUS_MARKS
from ..widgets.text_view import TextView


class RunDetailScreen(LiveScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("1", "toggle_pane('#detail-plots')", "plots"),
        Binding("2", "toggle_pane('#detail-hardware')", "hardware"),
        Binding("3", "toggle_pane('#detail-media')", "media"),
        Binding("4", "toggle_pane('#detail-console')", "console"),
        Binding("5", "toggle_pane('#detail-config')", "config"),
        Binding("6", "toggle_pane('#detail-bottleneck')", "bottleneck", show=False),
    ]

    def __init__(self, run_id: str, show: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.initial_pane = show
        self._events_shown: tuple[int, ...] = ()
        self._error_shown: str | None = None
        self._config_shown: object = None  # (config, summary, width) last laid out
        self.bottleneck_plots: dict[str, tuple[bottleneck.Panel, MetricPlot]] = {}
        self._rate: tuple[int, int, SeriesBuffer] | None = None  # (source id, version, rates)
        self._diagnosis_key: object = None
        self.diagnosis = ""

    def compose(self) -> ComposeResult:
        yield TextView(id="header")
        with Horizontal(id="detail-body"):
            yield PlotColumn(id="detail-plots")
            with Vertical(id="detail-side"):
                yield HardwarePanel(changes_only=True, id="detail-hardware")
                yield VerticalScroll(
                    Static(id="detail-error", classes="hidden"),
                    Static(id="detail-events", classes="hidden"),
                    Static(id="detail-config-text"),
                    id="detail-config",
                )
        yield VerticalScroll(
            Static(id="bottleneck-diagnosis"), id="detail-bottleneck", classes="hidden"
        )
        yield MediaPane(id="detail-media", classes="hidden")
        yield ConsolePane(id="detail-console", classes="hidden")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fit(self.app.size.width)
        self.data_changed(Changed(runs={self.run_id}))
        if self.initial_pane:
            self.action_toggle_pane(f"#detail-{self.initial_pane}")

    def on_unmount(self) -> None:
        self.app.post_message(UnfollowMedia([self.run_id]))

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width)
        run = self.run
        if run is not None:
            self._update_header(run)  # its lines are fitted to the width

    def _fit(self, width: int) -> None:
        """The side pane takes 46 columns when there is room, a third of a narrow terminal,
        and the whole width when the plots are hidden."""
        side = self.query_one("#detail-side")
        if self.query_one("#detail-plots").has_class("hidden"):
            side.styles.width = "1fr"
        else:
            side.styles.width = 46 if width >= 120 else max(24, width // 3)

    @property
    def plots(self) -> dict[str, MetricPlot]:
        """The run's plots mounted so far, by metric (a run of hundreds mounts them in turn)."""
        return self.query_one("#detail-plots", PlotColumn).plots

    @property
    def run(self) -> RunRecord | None:
        return self.tapp.model.runs.get(self.run_id)

    def plotted_runs(self) -> list[RunRecord]:
        run = self.run
        return [run] if run is not None else []

    def action_toggle_pane(self, selector: str) -> None:
        widget = self.query_one(selector)
        showing = widget.has_class("hidden")
        widget.set_class(not showing, "hidden")
        self._fit(self.app.size.width)
        focused = self.focused
        if (
            not showing
            and focused is not None
            and (focused is widget or widget in focused.ancestors)
        ):
            # The keys went to the hidden pane: pgdn, end and the arrows no longer scrolled.
            plots = self.query_one("#detail-plots", PlotColumn)
            self.set_focus(None if plots.has_class("hidden") else plots)
        run = self.run
        if showing and run is not None:
            if isinstance(widget, MediaPane):
                widget.show_runs([(run.id, run.name)])
                widget.query_one("#media-keys").focus()
            elif isinstance(widget, ConsolePane):
                widget.show_run(run.id)
                widget.query_one("#console-log").focus()
            elif widget.id == "detail-bottleneck":
                self._sync_bottleneck(run)
                self._update_bottleneck()

    def options_changed(self) -> None:
        self._update_plots()
        self._update_bottleneck()

    @property
    def bottleneck_shown(self) -> bool:
        return not self.query_one("#detail-bottleneck").has_class("hidden")

    def data_changed(self, changed: Changed) -> None:
        run = self.run
        if run is None:
            self.query_one("#header", TextView).show(
                Text(f" run {safe_text(self.run_id)} is gone from the database", style="bold red"),
                height=1,
            )
            return
        media = self.query_one("#detail-media", MediaPane)
        if not media.has_class("hidden") and (changed.reset or run.id in changed.media):
            media.refresh_media()
        console = self.query_one("#detail-console", ConsolePane)
        if not console.has_class("hidden") and (changed.reset or run.id in changed.console):
            console.refresh_console()
        if changed.reset or run.id in changed.runs:
            self._update_header(run)
            self._sync_plots(run)
            self.query_one("#detail-hardware", HardwarePanel).update_values(sys_values(run))
            shown_config = (run.config, run.summary, self.app.size.width)
            if shown_config != self._config_shown:  # a new layout each frame otherwise
                self._config_shown = shown_config
                config = describe_mappings(("config", run.config), ("summary", run.summary))
                self.query_one("#detail-config-text", Static).update(config)
            if run.error != self._error_shown:  # the whole error: the header holds its last line
                self._error_shown = run.error
                error = self.query_one("#detail-error", Static)
                error.set_class(not run.error, "hidden")
                error.update(describe_error(run.error) if run.error else "")
            shown = tuple(event.id for event in run.events)
            if shown != self._events_shown:  # a live run's row changes often, its events rarely
                self._events_shown = shown
                events = self.query_one("#detail-events", Static)
                events.set_class(not run.events, "hidden")
                events.update(describe_events(run.events, run.created_at))
            if self.bottleneck_shown:
                self._sync_bottleneck(run)
        if changed.reset or run.id in changed.runs or changed.series:
            self._update_plots()  # nothing of this run changed: its plots stay as they are
            if self.bottleneck_shown:
                self._update_bottleneck()

    def _update_header(self, run: RunRecord) -> None:
        """The run's name, status, project, step, time, id and host, each whole (a second line
        holds what the first cannot); a failed run's error on lines of its own, whole (the
        last of ``ERROR_LINES`` cut with ``…`` if it is longer); of an error of several lines (a
        traceback), its last: the exception. The side pane shows the whole error."""
        mark, style = STATUS_MARKS.get(run.status, ("?", ""))
        width = max(20, self.app.size.width - 2)  # the header's padding
        step = format_number(run.own_step) if run.own_step is not None else "-"
        parts = [
            Text.assemble((f" {mark} ", style), (safe_text(run.name, 60), "bold")),
            Text(f"  {safe_text(run.status, 12)}", style=style),
            Text(f"  project {safe_text(run.project, 30)}"),
            Text(f"  step {step}"),
            Text(f"  {format_duration(run.duration_s)}"),
            Text(f"  id {safe_text(run.id, 40)}", style="dim"),
            Text(f"  host {safe_text(run.host, 30)}", style="dim"),
        ]
        resumes = len(run.resumes)
        if resumes:
            parts.append(Text(f"  ↻ resumed {resumes}×", style="yellow"))
        lines = fit_parts(parts, width, max_lines=2)
        if run.error:
            error = wrap_cells(safe_text(error_line(run.error)), width - 1, ERROR_LINES)
            lines += [Text(f" {line}", style="red") for line in error]
        self.query_one("#header", TextView).show(Text("\n").join(lines), height=len(lines))

    def _sync_plots(self, run: RunRecord) -> None:
        keys = ordered_metric_keys(run)
        column = self.query_one("#detail-plots", PlotColumn)
        if keys == column.keys:
            return  # a live frame: the same metrics
        column.show_keys(keys, [info.unit if (info := describe(k)) else "" for k in keys])
        self.app.post_message(FollowSeries(run.metrics[k].series_id for k in keys))

    def on_plot_column_mounted(self, event: PlotColumn.Mounted) -> None:
        event.stop()
        self._update_plots()  # the plots just mounted

    def _update_plots(self) -> None:
        run = self.run
        if run is None:
            return
        runs = [(run, run_color(run.id))]
        series = self.tapp.model.series
        options = self.tapp.options
        in_view: list[int] = []
        others: list[int] = []
        for key, plot in self.plots.items():
            data = plot_data(key, runs, series, options.x)
            (in_view if plot.in_view() else others).extend(data.follow)
            show_plot(plot, data, options)
        self.app.post_message(FollowSeries(in_view + others))  # what is on screen first

    # --- the bottleneck pane (6): throughput and hardware on one time axis, and a diagnosis --

    def _sync_bottleneck(self, run: RunRecord) -> None:
        wanted = bottleneck.panels(run)
        if [panel.title for panel in wanted] == list(self.bottleneck_plots):
            return
        container = self.query_one("#detail-bottleneck", VerticalScroll)
        for _, plot in self.bottleneck_plots.values():
            plot.remove()
        self.bottleneck_plots = {}
        plots = []
        for panel in wanted:
            plot = MetricPlot(panel.title, panel.unit)
            plot.add_class("bottleneck")
            self.bottleneck_plots[panel.title] = (panel, plot)
            plots.append(plot)
        container.mount_all(plots)
        follow = bottleneck.follow_keys(run)
        self.app.post_message(FollowSeries(run.metrics[k].series_id for k in follow))

    def _rate_buffer(self, run: RunRecord, source: str) -> SeriesBuffer | None:
        summary = run.metrics.get(source)
        held = self.tapp.model.series.get(summary.series_id) if summary is not None else None
        if held is None:
            return None
        cached = self._rate
        if cached is None or cached[0] != id(held) or cached[1] != held.version:
            cached = self._rate = (id(held), held.version, bottleneck.rate_buffer(held))
        return cached[2]

    def _update_bottleneck(self) -> None:
        """Redrawn only when shown and a series or the run changed (see data_changed)."""
        run = self.run
        if run is None or not self.bottleneck_shown:
            return
        series = self.tapp.model.series
        options = PlotOptions(x=XAxis(TIME), smoothing=self.tapp.options.smoothing)
        color = run_color(run.id)
        rate: SeriesBuffer | None = None
        palette = (color, "orange", "green", "magenta")
        for panel, plot in self.bottleneck_plots.values():
            lines = []
            for index, key in enumerate(panel.keys):
                if key == bottleneck.RATE and panel.source is not None:
                    buffer = rate = self._rate_buffer(run, panel.source)
                else:
                    summary = run.metrics.get(key)
                    buffer = series.get(summary.series_id) if summary is not None else None
                if buffer is not None:
                    label = safe_text(key.removeprefix("sys/"), 24)
                    lines.append(PlotLine(label, palette[index % len(palette)], buffer))
            plot.show(lines, options, "time (s)")
        if rate is None and bottleneck.throughput_key(run) is None:
            source = next((p.source for p, _ in self.bottleneck_plots.values() if p.source), None)
            rate = self._rate_buffer(run, source) if source else None
        versions = tuple(
            (key, buffer.version)
            for key in bottleneck.follow_keys(run)
            if (buffer := series.get(run.metrics[key].series_id)) is not None
        )
        held = (run.id, versions, id(rate), rate.version if rate is not None else -1)
        if held == self._diagnosis_key:
            return
        self._diagnosis_key = held
        self.diagnosis = diagnose(bottleneck.signals(run, series, rate))
        text = Text.assemble(("diagnosis: ", "bold"), (self.diagnosis, "bold yellow"))
        self.query_one("#bottleneck-diagnosis", Static).update(text)
