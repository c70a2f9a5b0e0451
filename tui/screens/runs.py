"""The main screen: the comparison table of every run, live, and the highlighted run's plots
and hardware below it.

Sort by any column (``left``/``right`` choose it, ``s`` sorts, again or ``S`` reverses), pin
baselines to the top (``p``), filter with the expression language (``/``), select runs
(``space``) and compare them (``c``), mark the best run by a metric (``b``) and tag it (``t``),
export the table (``e``), choose columns (``o``). A missing, empty, foreign, damaged or
newer-schema database shows a message instead, and the app keeps watching.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from tracker.annotate import tag_exclusively
from tracker.compare import differing_keys
from tracker.filters import sort_runs_by
from tracker.models import RunRecord
from tracker.ranking import Best, best_run, metric_direction
from tracker.system.keys import describe

from ..column_choice import WIDE_PANE, available_columns, default_columns
from ..columns import Column, TableContext, column_for
from ..formatting import format_number
from ..live_screen import LiveScreen
from ..messages import Changed, FollowSeries
from ..metrics import sys_values
from ..model import main_metrics
from ..plot_lines import plot_data, show_plot
from ..run_filter import FilterEvaluated, RunFilter
from ..sanitize import safe_text
from ..view.runs_header import BestNote, HeaderFacts, header_lines
from ..widgets.filter_bar import FilterBar
from ..widgets.footer import KeyFooter
from ..widgets.hardware import HardwarePanel
from ..widgets.plot import MetricPlot, run_color
from ..widgets.runs_table import RunsTable
from ..widgets.text_view import TextView

PREVIEW_PLOTS = 2
STATE_MESSAGES = {
    "missing": "{reason}\n\nStart a run with tracker.init(db=...) and it appears here.",
    "empty": "No runs yet in this database.\n\n"
    "Start a run with tracker.init() and it appears here.",
    "error": "This database cannot be shown:\n{reason}\n\n"
    "Waiting: this screen recovers by itself once the file is fixed or replaced, or the "
    "server is back.",
}


class RunsScreen(LiveScreen):
    BINDINGS = [
        # (not in the footer: the table's own enter, which it replaced, was not either; ? lists it)
        Binding("enter", "open_run", "open", show=False),
        Binding("3", "open_run('media')", "media", show=False),
        Binding("4", "open_run('console')", "console", show=False),
        Binding("space", "select", "select"),
        Binding("c", "compare", "compare"),
        Binding("w", "sweep", "sweep"),
        Binding("s", "sort", "sort"),
        Binding("S", "reverse", "reverse", show=False),
        # Priority: run as the key is read, so the keys read with it in one burst (typed over a
        # slow link, sent by a script) go into the field, not to the table ('s' sorted, 't'
        # wrote a tag).
        Binding("slash", "filter", "filter", priority=True),
        Binding("p", "pin", "pin"),
        Binding("b", "best", "best"),
        Binding("t", "tag_best", "tag best", show=False),
        Binding("e", "export", "export"),
        Binding("o", "columns", "columns"),
        Binding("escape", "clear", "clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.run_filter = RunFilter()  # evaluated off the UI thread when it is costly
        self.pinned: list[str] = []
        self.selected: set[str] = set()
        self.best_choice: tuple[str, str] | None = None  # (metric, mode)
        self.best: Best | None = None
        self.custom_columns: list[str] | None = None
        self.shown_runs: list[RunRecord] = []
        self.width = 120
        self._choices_signature: tuple[tuple[str, int, int, int], ...] | None = None
        self._directions: dict[str, str] = {}  # metric -> min/max among the runs shown
        self.x_label = "step"  # what the preview's x is, for the header
        self._preview_run: str | None = None
        self._choices: tuple[list[str], list[str]] = ([], [])
        self._columns_key: object = None
        self._columns_cache: list[str] = []
        self._narrowed = 0  # columns the defaults of a wide pane add (RunsTable.narrowed)
        self._configured: tuple[list[str], object] | None = None  # what the table was given
        self._header_said: HeaderFacts | None = None  # what the header was built from

    def compose(self) -> ComposeResult:
        yield TextView(id="header")
        yield Static(id="message")
        with Vertical(id="body", classes="hidden"):
            yield RunsTable()
            with Horizontal(id="preview"):
                with Vertical(id="preview-plots"):
                    for index in range(PREVIEW_PLOTS):
                        yield MetricPlot("", id=f"preview-{index}")
                yield HardwarePanel(compact=True, changes_only=True, id="preview-hardware")
        yield FilterBar(lambda: list(self.tapp.model.runs.values()), id="filter-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_interval(10.0, self._refresh_ages)
        self._fit(self.app.size.width, self.app.size.height)
        self.data_changed(Changed(status=True))

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Narrow panes keep the table and one plot; hardware and the second plot need room."""
        self.width = width
        self.query_one("#preview-hardware").set_class(width < 100, "hidden")
        self.query_one("#preview-1").set_class(height < 30, "hidden")
        if self.tapp.model.status.state == "ok":
            self.data_changed(Changed())

    def _refresh_ages(self) -> None:
        self.query_one(RunsTable).rewrite_column("age", self.shown_runs, self.context())

    # --- data ----------------------------------------------------------------------------------

    def context(self) -> TableContext:
        return TableContext(
            now=self.tapp.clock(),
            extras=self.tapp.model.extras,
            pinned=self.pinned,
            selected=self.selected,
            best=self.best.run.id if self.best else None,
        )

    def plotted_runs(self) -> list[RunRecord]:
        """The runs shown: ``x`` offers the step metrics they define, ``X`` their metrics."""
        return self.shown_runs

    def direction(self, key: str) -> str:
        """min/max for ``key``: the shown runs' define_metric(goal=/summary=), else its name;
        worked out once per key until the runs shown or their definitions change."""
        mode = self._directions.get(key)
        if mode is None:
            mode = self._directions[key] = metric_direction(key, self.shown_runs)
        return mode

    def _column(self, column_id: str) -> Column:
        for spec in self.query_one(RunsTable).specs:
            if spec.id == column_id:
                return spec
        return column_for(column_id, self.direction)

    def ordered_runs(self) -> list[RunRecord]:
        """Filtered, then pinned first (in pin order), then sorted (newest first by default)."""
        runs = self.run_filter.shown(self, self.tapp.model.newest_first())
        table = self.query_one(RunsTable)
        if table.sort_column is not None:
            column = self._column(table.sort_column)
            ctx = self.context()
            runs = sort_runs_by(runs, lambda run: column.value(run, ctx), table.descending)
        pinned = [run for pin in self.pinned for run in runs if run.id == pin]
        return pinned + [run for run in runs if run.id not in self.pinned]

    def data_changed(self, changed: Changed) -> None:
        model = self.tapp.model
        ok = model.status.state == "ok"
        self.query_one("#message").set_class(ok, "hidden")
        self.query_one("#body").set_class(not ok, "hidden")
        if not ok:
            self._update_header()
            template = STATE_MESSAGES.get(model.status.state, "{reason}")
            self.query_one("#message", Static).update(
                Text(template.format(reason=safe_text(model.status.reason)))
            )
            return
        self.run_filter.changed(changed.runs, changed.reset)
        self.shown_runs = self.ordered_runs()
        if self.best_choice is not None:
            self.best = best_run(self.shown_runs, *self.best_choice)
        table = self.query_one(RunsTable)
        columns = self._columns()
        configured = self._configured
        # Column specs are made afresh by configure (closures, each best column's direction):
        # only when the columns or what their titles depend on changed, not on every frame.
        if (
            configured is None
            or configured[0] is not columns
            or configured[1] != self._choices_signature
        ):
            rebuilt = table.configure(columns, self.direction, self._narrowed)
            self._configured = (columns, self._choices_signature)
        else:
            rebuilt = False
        table.show_runs(
            self.shown_runs, self.context(), None if (rebuilt or changed.reset) else changed.runs
        )
        self._update_preview(changed)
        self._update_header()

    def _column_choices(self) -> tuple[list[str], list[str]]:
        """(differing config keys, every available column) of the runs shown, recomputed only
        when the runs shown or their sets of config keys and metrics change, not per update."""
        signature = tuple(
            (r.id, len(r.config), len(r.metrics), len(r.metric_defs)) for r in self.shown_runs
        )
        if signature != self._choices_signature:
            self._directions = {}
            differing = differing_keys(self.shown_runs) if len(self.shown_runs) > 1 else []
            self._choices = (differing, available_columns(self.shown_runs, differing))
            self._choices_signature = signature
        return self._choices

    def _columns(self) -> list[str]:
        differing, available = self._column_choices()
        key = (self._choices_signature, self.width, tuple(self.custom_columns or ()))
        if key != self._columns_key:
            wanted = self.custom_columns or default_columns(self.shown_runs, differing, self.width)
            allowed = set(available)
            self._columns_cache = [c for c in wanted if c in allowed]
            self._columns_key = key
            self._narrowed = 0
            if not self.custom_columns:
                wide = default_columns(self.shown_runs, differing, WIDE_PANE)
                shown = set(self._columns_cache)
                self._narrowed = sum(1 for c in wide if c in allowed and c not in shown)
        return self._columns_cache

    def _update_header(self) -> None:
        model = self.tapp.model
        table = self.query_one(RunsTable)
        facts = HeaderFacts(
            width=max(20, self.app.size.width - 2),  # the header's padding
            database=self.tapp.db.shown,
            state=model.status.state,
            runs=len(model.runs),
            live=model.live_count(),
            filter_expression=self.run_filter.expression,
            filtering=self.run_filter.waiting,
            shown=len(self.shown_runs),
            sort_title=self._column(table.sort_column).title if table.sort_column else None,
            descending=table.descending,
            options=self.tapp.options,
            x_label=self.x_label,
            best=BestNote.of(self.best),
        )
        if facts == self._header_said:
            return  # a live frame: the same header
        self._header_said = facts
        lines = header_lines(facts)
        self.query_one("#header", TextView).show(Text("\n").join(lines), height=len(lines))

    def selected_run(self) -> RunRecord | None:
        run_id = self.query_one(RunsTable).selected_run_id()
        return self.tapp.model.runs.get(run_id) if run_id else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_preview(None)

    def on_runs_table_sort_cursor_moved(self, event: RunsTable.SortCursorMoved) -> None:
        self._update_header()

    def options_changed(self) -> None:
        self._update_preview(None)
        self._update_header()

    def _update_preview(self, changed: Changed | None) -> None:
        run = self.selected_run()
        plots = [self.query_one(f"#preview-{i}", MetricPlot) for i in range(PREVIEW_PLOTS)]
        hardware = self.query_one("#preview-hardware", HardwarePanel)
        options = self.tapp.options
        if run is None:
            for plot in plots:
                plot.set_class(False, "unused")
                plot.title = "no run selected"
                plot.show([], options)
            hardware.clear_values()
            return
        same = run.id == self._preview_run
        self._preview_run = run.id
        if (
            same
            and changed is not None
            and not (changed.reset or changed.series or run.id in changed.runs)
        ):
            return  # neither the run nor a series changed: the preview stays as it is
        keys = main_metrics(run, PREVIEW_PLOTS)
        runs = [(run, run_color(run.id))]
        follow: list[int] = []
        label = "step"
        for index, plot in enumerate(plots):
            # A run that logs one metric gets one plot, the width of both (an empty second
            # one only said "no finite values yet" of nothing).
            plot.set_class(index >= max(1, len(keys)), "unused")
            if index >= len(keys):
                plot.title = ""
                plot.show([], options)
                continue
            key = keys[index]
            data = plot_data(key, runs, self.tapp.model.series, options.x)
            follow += data.follow
            if index == 0:
                label = data.label
            plot.title = f"{safe_text(run.name, 30)} · {safe_text(key, 40)}"
            info = describe(key)
            plot.unit = info.unit if info else ""
            show_plot(plot, data, options)
        self.app.post_message(FollowSeries(follow))
        if label != self.x_label:
            self.x_label = label
            self._update_header()
        if changed is None or run.id in changed.runs or changed.reset:
            if changed is None:
                hardware.clear_values()
            hardware.update_values(sys_values(run))

    # --- actions -------------------------------------------------------------------------------

    def action_open_run(self, pane: str | None = None) -> None:
        """Open the highlighted run; ``pane`` ("media", "console") shown from the start."""
        run = self.selected_run()
        if run is not None:
            from .run_detail import RunDetailScreen

            self.app.push_screen(RunDetailScreen(run.id, show=pane))

    def on_data_table_row_selected(self, event: Any) -> None:
        self.action_open_run()

    def action_select(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        self.selected.symmetric_difference_update({run.id})
        self.data_changed(Changed(runs={run.id}))
        table = self.query_one(RunsTable)
        table.follows_top = False  # the user's move
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        # Space moves on to the next row: say which run it marked, so that a space then a down
        # arrow is not taken to have marked the row the cursor is on now.
        done = "selected" if run.id in self.selected else "unselected"
        count = len(self.selected)
        hint = " · c compares them" if count > 1 else ""
        self.notify(
            f"{done} {safe_text(run.name, 40)} ({count} selected){hint}", timeout=3, markup=False
        )

    def action_pin(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        if run.id in self.pinned:
            self.pinned.remove(run.id)
        else:
            self.pinned.append(run.id)
        self.data_changed(Changed(runs={run.id}))

    def action_sort(self) -> None:
        table = self.query_one(RunsTable)
        if not table.specs:
            return
        column = table.specs[table.sort_cursor].id
        if table.sort_column == column:
            table.descending = not table.descending
        else:
            table.sort_column, table.descending = column, False
        table.refresh_headers()
        self.data_changed(Changed())

    def action_reverse(self) -> None:
        table = self.query_one(RunsTable)
        if table.sort_column is None:
            self.action_sort()
            return
        table.descending = not table.descending
        table.refresh_headers()
        self.data_changed(Changed())

    def action_compare(self) -> None:
        chosen = [
            run_id for run_id in (run.id for run in self.shown_runs) if run_id in self.selected
        ]
        if len(chosen) < 2:
            self.notify("select two or more runs with space, then press c", severity="warning")
            return
        from .compare import CompareScreen

        self.app.clear_notifications()  # what each space said: acted on now
        self.app.push_screen(CompareScreen(chosen))

    def action_sweep(self) -> None:
        """The sweep views of the selected runs (two or more), else of the runs shown (the
        filter's), else of every run, new ones included."""
        from .sweep import SweepScreen

        shown = [run.id for run in self.shown_runs]
        chosen = [run_id for run_id in shown if run_id in self.selected]
        if len(chosen) >= 2:
            self.app.push_screen(SweepScreen(chosen))
        elif self.run_filter.expression:
            self.app.push_screen(SweepScreen(shown))
        else:
            self.app.push_screen(SweepScreen(None))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a '/' in the open field is typed (metrics.eval/loss<2)
        return not (action == "filter" and self.query_one(FilterBar).is_open)

    def action_filter(self) -> None:
        if self.app.screen is not self:
            # A dialog above this screen (a priority binding of the screens below runs too):
            # the '/' is its, in the place it was typed.
            target = self.app.focused or self.app.screen
            target.post_message(events.Key("slash", "/"))
            return
        self.query_one(FilterBar).open(self.run_filter.expression)

    def on_filter_bar_applied(self, event: FilterBar.Applied) -> None:
        self.run_filter.apply(event.expression, event.predicate)
        self.query_one(FilterBar).close()
        self.query_one(RunsTable).focus()
        self.data_changed(Changed())

    def action_clear(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.is_open or self.run_filter.expression:
            self.run_filter.apply("", None)
            bar.close()
            self.query_one(RunsTable).focus()
            self.data_changed(Changed())

    def on_filter_evaluated(self, message: FilterEvaluated) -> None:
        if self.run_filter.finished(message):
            self.data_changed(Changed())

    def action_best(self) -> None:
        from .pick_best import PickBestScreen

        keys: list[str] = []
        for run in self.shown_runs:
            for key in main_metrics(run, 50):
                if key not in keys:
                    keys.append(key)
        if not keys:
            self.notify("no metrics to rank by yet", severity="warning")
            return
        self.app.push_screen(
            PickBestScreen(keys, self.best_choice, self.direction), self._best_chosen
        )

    def _best_chosen(self, choice: tuple[str, str] | None) -> None:
        self.best_choice = choice
        self.best = None
        self.data_changed(Changed(runs={run.id for run in self.shown_runs}))
        if choice is not None:
            if self.best is None:
                self.notify(f"no run has a finite {choice[0]}", severity="warning")
            else:
                name, value = safe_text(self.best.run.name), format_number(self.best.value)
                self.notify(
                    f"best by {choice[0]} ({choice[1]}): {name} = {value} · t tags it 'best'"
                )

    def action_tag_best(self) -> None:
        if os.environ.get("TRACKTUI_SERVE") == "read-only":  # set by tui.serve for its apps
            self.notify("tracktui serve is read-only: t tags nothing (--allow-writes)")
            return
        if self.best is None:
            self.notify("mark the best run first (b)", severity="warning")
            return
        self._write_best_tag(self.best.run.id, [run.id for run in self.shown_runs])

    @work(thread=True, exclusive=True, group="tagging")
    def _write_best_tag(self, winner: str, among: list[str]) -> None:
        try:
            tag_exclusively(self.tapp.db, "best", winner, among)
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"could not tag: {exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, "tagged 'best' (tracktui best agrees)")
        self.tapp.wake_reader()

    def action_export(self) -> None:
        from .export import ExportScreen

        table = self.query_one(RunsTable)
        runs, ctx = self.shown_runs, self.context()
        shown = table.export_rows(runs, ctx)
        self.app.push_screen(ExportScreen(shown, table.export_rows(runs, ctx, data=True)))

    def action_columns(self) -> None:
        from .columns import ColumnsScreen

        # Every column asked for, those left out for width too: applying the choice keeps
        # them (the fitted ones alone dropped the config columns a narrow pane had no room for).
        shown = self.query_one(RunsTable).wanted_ids
        self.app.push_screen(
            ColumnsScreen(self._column_choices()[1], shown, self.direction),
            self._columns_chosen,
        )

    def _columns_chosen(self, chosen: list[str] | None) -> None:
        if chosen is None:
            return
        if chosen == self.query_one(RunsTable).wanted_ids:
            return  # nothing changed: the defaults keep following the pane's width and runs
        self.custom_columns = chosen or None  # an empty choice means "the defaults again"
        self.data_changed(Changed())
