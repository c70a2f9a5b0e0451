"""Sweep views of the runs the table shows (or of the selected ones): ``1`` each group's mean
curve over its min/max band (the seeds of one configuration, grouped by a config key or by
tag), ``2`` a scatter of a config key against a metric's best or last value, ``3`` parallel
coordinates over chosen config keys and the metric. W&B's sweep panels are the model.

Keys: ``g`` group by, ``G`` the groups the curves draw, ``m`` metric, ``x`` the scatter's
config key, ``a`` the parallel axes, ``l`` best / last value, ``up``/``down`` the highlighted
run (◆, best first), ``L`` log-y of the curves, ``escape`` back. The curves draw at most
:data:`MAX_GROUPS` groups: the best by the mean of their runs' values of the metric (the
highlighted run's group always among them), or those picked with ``G``; the legend says how
many are drawn. They follow at most :data:`MAX_CURVES` runs' series (evenly across groups;
the legend says how many of each group are drawn); the scatter and the parallel coordinates
read only the runs' summaries, so they draw every run (the scatter colours the drawn groups,
the others grey). The choices and the numbers behind them: :mod:`tui.view.sweep_state`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from tracker.models import RunRecord

from ..formatting import format_number
from ..keys_help import SWEEP_KEYS
from ..live_screen import LiveScreen
from ..messages import Changed, FollowSeries
from ..sanitize import safe_text
from ..view import sweep as sv
from ..view import sweep_text as st
from ..view.chart import ChartImage
from ..view.sweep_draw import BandGroup, draw_bands, draw_parallel, draw_scatter
from ..view.sweep_state import SweepChoices
from ..view.sweep_text import Legend
from ..widgets.footer import KeyFooter
from ..widgets.plot import PALETTE, sticky_range
from ..widgets.sweep_plots import SweepCanvas
from ..widgets.text_view import TextView

VIEWS = ("curves", "scatter", "parallel")
TITLES = {"curves": "group curves", "scatter": "scatter", "parallel": "parallel coordinates"}
MAX_CURVES = 120  # runs whose series the curves follow (the app follows 256 series at most)
MAX_GROUPS = len(PALETTE)  # groups drawn (one colour each); the legend counts the rest
OTHER_COLOR = "color(8)"  # the scatter's runs of groups the curves do not draw


class SweepScreen(SweepChoices, LiveScreen):
    DEFAULT_CSS = """
    SweepScreen #sweep-header { height: auto; padding: 0 1; }
    SweepScreen #sweep-legend { height: auto; padding: 0 1; }
    """
    max_groups = MAX_GROUPS
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        # the header's tabs show 1/2/3: the footer keeps its room for the rest at 80 columns
        Binding("1", "view('curves')", "curves", show=False),
        Binding("2", "view('scatter')", "scatter", show=False),
        Binding("3", "view('parallel')", "parallel", show=False),
        Binding("tab", "next_view", "next view", show=False),
        Binding("g", "choose_group", "group"),
        Binding("G", "pick_groups", "groups"),
        Binding("m", "choose_metric", "metric"),
        Binding("x", "choose_x", "x key"),
        Binding("a", "choose_axes", "axes"),
        Binding("l", "toggle_value", "best/last"),
        Binding("L", "app.toggle_log", "log-y", show=False),
        Binding("question_mark", "help", "keys", show=False),  # the header says "? keys"
        Binding("down,j", "move(1)", "next run", show=False),
        Binding("up,k", "move(-1)", "previous run", show=False),
    ]

    def __init__(self, run_ids: Sequence[str] | None = None) -> None:
        """``run_ids``: the runs to show (the table's filtered or selected ones); None: every
        run the app holds, new ones as they come."""
        super().__init__()
        self.run_ids = list(run_ids) if run_ids is not None else None
        self.view = "curves"
        self.init_choices()
        self.followed: set[int] = set()
        self._points: dict[int, tuple[int, list[tuple[float, float]]]] = {}

    # --- what is shown ---------------------------------------------------------------------

    @property
    def runs(self) -> list[RunRecord]:
        held = self.tapp.model.runs
        if self.run_ids is None:
            chosen = list(held.values())
        else:
            chosen = [held[r] for r in self.run_ids if r in held]
        return sorted(chosen, key=lambda r: (r.created_at, r.id))

    def plotted_runs(self) -> list[RunRecord]:
        return self.runs

    def compose(self) -> ComposeResult:
        yield TextView(id="sweep-header")
        yield SweepCanvas(id="sweep-canvas")
        yield TextView(id="sweep-legend")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.redraw()

    def on_resize(self, event: Any) -> None:
        self.redraw()

    def data_changed(self, changed: Changed) -> None:
        ids = set(self.run_ids) if self.run_ids is not None else None
        runs_changed = bool(changed.runs) if ids is None else bool(changed.runs & ids)
        if (
            changed.reset
            or runs_changed
            or (self.view == "curves" and changed.series & self.followed)
        ):
            self.redraw()

    def options_changed(self) -> None:
        self.redraw()

    # --- drawing ---------------------------------------------------------------------------

    def redraw(self) -> None:
        runs = self.runs
        self._settle_choices(runs)
        canvas = self.query_one(SweepCanvas)
        if not runs or self.metric is None:
            self._show_header(runs)
            why = "no runs to show" if not runs else "these runs log no metrics yet"
            canvas.show(lambda w, h: ChartImage([[(why, None)]]), why)
            self._show_legend([])
            return
        ranked = self.ranked(runs)
        if ranked and self.highlight not in {r.id for r in ranked}:
            self.highlight = ranked[0].id
        legend = {"curves": self._curves, "scatter": self._scatter, "parallel": self._parallel}[
            self.view
        ](runs, canvas)
        self._show_header(runs)
        self._show_legend(legend)

    def _curve_points(self, sid: int) -> list[tuple[float, float]] | None:
        buffer = self.tapp.model.series.get(sid)
        if buffer is None:
            return None
        cached = self._points.get(sid)
        if cached is None or cached[0] != buffer.version:
            points = [((s.first_step + s.last_step) / 2, s.mean) for s in buffer.spans]
            cached = self._points[sid] = (
                buffer.version,
                [(x, y) for x, y in points if y is not None],
            )
        return cached[1]

    def _curves(self, runs: Sequence[RunRecord], canvas: SweepCanvas) -> Legend:
        metric = self.metric
        assert metric is not None
        groups = self._groups(runs)
        shown = self._shown_groups(runs)
        per_group = max(1, MAX_CURVES // max(1, len(shown)))
        by_id = {r.id: r for r in runs}
        follow: list[int] = []
        drawn: list[tuple[sv.Group, str, list[list[tuple[float, float]]], int]] = []
        versions: list[object] = []
        for index, group in enumerate(shown):
            color = PALETTE[index % len(PALETTE)][1]
            having = [by_id[r] for r in group.run_ids if metric in by_id[r].metrics]
            curves: list[list[tuple[float, float]]] = []
            for run in having[:per_group]:
                sid = run.metrics[metric].series_id
                follow.append(sid)
                points = self._curve_points(sid)
                versions.append((sid, self._points[sid][0] if points is not None else -1))
                if points:
                    curves.append(points)
            drawn.append((group, color, curves, len(having)))
        self.followed = set(follow)
        self.app.post_message(FollowSeries(follow))
        xs = [p[0] for _, _, curves, _ in drawn for c in curves for p in (c[0], c[-1])]
        x_range = sticky_range(min(xs), max(xs)) if xs else None
        log_y = self.tapp.options.log_y
        title = f"{safe_text(metric, 40)}: mean of each group, band min–max"

        def draw(width: int, height: int) -> ChartImage:
            bands = [
                BandGroup(self._group_name(g), color, sv.band(curves, 2 * width, x_range))
                for g, color, curves, _ in drawn
            ]
            return draw_bands(title, bands, width, height, log_y)

        canvas.show(draw, ("curves", metric, self.group_key, log_y, tuple(versions), x_range))
        legend: Legend = []
        if len(shown) < len(groups):
            how = "picked" if self._picked_here() else "best first"
            note = f"{len(shown)} of {len(groups)} groups drawn ({how}); G: pick groups"
            legend.append([Text(note, style="bold")])
        parts: list[Text] = []
        for group, color, lines, with_metric in drawn:
            count = f"n={with_metric}"  # the runs with a curve to draw, as W&B counts
            if len(lines) < with_metric:
                count += f", {len(lines)} drawn"
            parts.append(Text(f"━ {self._group_name(group)} ({count})  ", style=f"bold {color}"))
        lacking = sum(len(group.run_ids) - with_metric for group, _, _, with_metric in drawn)
        none = next((g for g, *_ in drawn if g.label == sv.NO_VALUE), None)
        return [*legend, parts + st.missing_parts(self.group_key, none, lacking, metric)]

    def _scatter(self, runs: Sequence[RunRecord], canvas: SweepCanvas) -> Legend:
        metric, x_key = self.metric, self.x_key
        assert metric is not None
        if x_key is None:
            why = "the runs' configs do not differ: nothing to put on x"
            canvas.show(lambda w, h: ChartImage([[(why, None)]]), why)
            return []
        mode = self.mode(runs)
        which = self.which
        x_axis, y_axis, points = self._cached(
            runs,
            ("scatter", x_key, metric, which, mode),
            lambda: sv.scatter_points(runs, x_key, metric, which, mode),
        )
        colors = self._run_colors(runs)
        dots = tuple((p.x, p.y, colors.get(p.run_id, "")) for p in points)
        mark = next(((p.x, p.y) for p in points if p.run_id == self.highlight), None)
        title = f"{safe_text(metric, 40)} ({self.which}, {mode} is best) by {safe_text(x_key, 30)}"
        x_label = f"{safe_text(x_key, 40)}" + ("  (log)" if x_axis.kind == "log" else "")
        y_label = "log" if y_axis.kind == "log" else ""

        def draw(width: int, height: int) -> ChartImage:
            return draw_scatter(title, x_axis, y_axis, dots, mark, width, height, x_label, y_label)

        canvas.show(draw, ("scatter", title, x_axis, y_axis, dots, mark))
        first = self._highlight_parts(runs, [x_key], mode)
        left_out = len(runs) - len(points)
        if left_out:
            lack = "1 run lacks" if left_out == 1 else f"{left_out} runs lack"
            first.append(Text(f"   {lack} {safe_text(x_key, 24)} or the metric", style="dim"))
        return [first, self._group_parts(runs)]

    def _parallel(self, runs: Sequence[RunRecord], canvas: SweepCanvas) -> Legend:
        metric = self.metric
        assert metric is not None
        keys = self.axes or []
        mode = self.mode(runs)
        which = self.which
        data = self._cached(
            runs,
            ("parallel", tuple(keys), metric, which, mode),
            lambda: sv.parallel_lines(runs, keys, metric, which, mode),
        )
        names = [safe_text(k, 30) for k in keys] + [f"{safe_text(metric, 30)} {self.which}"]
        names = [
            f"{n} (log)" if a.kind == "log" else n for n, a in zip(names, data.axes, strict=True)
        ]

        def draw(width: int, height: int) -> ChartImage:
            return draw_parallel(names, data, self.highlight, width, height)

        canvas.show(draw, ("parallel", tuple(names), data, self.highlight))
        scale = st.rank_scale(metric, which, mode, data.left_out)
        return [self._highlight_parts(runs, keys, mode), scale]

    def _run_colors(self, runs: Sequence[RunRecord]) -> dict[str, str]:
        """A colour per run: its group's as the curves draw it, grey for the other groups."""
        colors = {r.id: OTHER_COLOR for r in runs}
        for index, group in enumerate(self._shown_groups(runs)):
            colors.update(dict.fromkeys(group.run_ids, PALETTE[index % len(PALETTE)][1]))
        return colors

    def _group_parts(self, runs: Sequence[RunRecord]) -> list[Text]:
        shown = self._shown_groups(runs)
        parts = st.group_parts(
            [
                (self._group_name(g), len(g.run_ids), PALETTE[i % len(PALETTE)][1])
                for i, g in enumerate(shown)
            ]
        )
        others = len(self._groups(runs)) - len(shown)
        if others > 0:  # first, so the width never cuts it off
            parts.insert(1, Text(f"  ● {others} more groups (G picks)", style=OTHER_COLOR))
        return parts

    def _highlight_parts(
        self, runs: Sequence[RunRecord], keys: Sequence[str], mode: str
    ) -> list[Text]:
        if self.metric is None:
            return []
        ranked = self.ranked(runs)
        return st.highlight_parts(ranked, self.highlight, self.metric, self.which, mode, keys)

    def _show_legend(self, legend: Legend) -> None:
        lines = st.fitted(legend, self.app.size.width - 2)
        self.query_one("#sweep-legend", TextView).show(Text("\n").join(lines), height=len(lines))

    def _show_header(self, runs: Sequence[RunRecord]) -> None:
        settings = []
        if self.group_key is not None:
            settings.append(f"group: {safe_text(self.group_key, 24)}")
        if self.metric is not None:
            settings.append(f"metric: {safe_text(self.metric, 30)} {self.which}")
        if self.view == "scatter" and self.x_key is not None:
            settings.append(f"x: {safe_text(self.x_key, 24)}")
        tabs = [(TITLES[view], view == self.view) for view in VIEWS]
        lines = st.header_lines(tabs, len(runs), settings, self.app.size.width - 2)
        self.query_one("#sweep-header", TextView).show(Text("\n").join(lines), height=len(lines))

    # --- actions ---------------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        self.view = view
        self.redraw()

    def action_next_view(self) -> None:
        self.action_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])

    def action_toggle_value(self) -> None:
        self.which = sv.LAST if self.which == sv.BEST else sv.BEST
        self.redraw()

    def action_move(self, step: int) -> None:
        ranked = [r.id for r in self.ranked(self.runs)]
        if not ranked:
            return
        index = ranked.index(self.highlight) if self.highlight in ranked else -step
        self.highlight = ranked[(index + step) % len(ranked)]
        self.redraw()

    def _choose(self, title: str, choices: list[str], current: str | None, attr: str) -> None:
        if not choices:
            self.notify(
                "nothing to choose from: the runs' configs do not differ", severity="warning"
            )
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                setattr(self, attr, value)
                self.redraw()

        from .sweep_pick import ChoiceScreen

        self.app.push_screen(ChoiceScreen(title, choices, current), chosen)

    def action_choose_group(self) -> None:
        self._choose("group by", self.keys(self.runs), self.group_key, "group_key")

    def action_choose_metric(self) -> None:
        self._choose("metric", self.metrics(self.runs), self.metric, "metric")

    def action_choose_x(self) -> None:
        self._choose("scatter x", self.keys(self.runs), self.x_key, "x_key")

    def action_pick_groups(self) -> None:
        runs = self.runs
        if self.group_key is None or self.metric is None:
            self.notify("no groups to pick: the runs' configs do not differ", severity="warning")
            return
        ranked = self._ranked_groups(runs)
        shown = {g.label for g in self._shown_groups(runs)}
        labels = [g.label for g, _ in ranked]
        texts = [
            f"{self._group_name(g)}   {self.which} {format_number(v)}   n={len(g.run_ids)}"
            for g, v in ranked
        ]
        key = self.group_key

        def chosen(value: list[str] | None) -> None:
            if value is None:
                return
            if len(value) > MAX_GROUPS:
                self.notify(f"{len(value)} picked: the best {MAX_GROUPS} of them are drawn")
            self.picked = (key, tuple(value[:MAX_GROUPS])) if value else None
            self.view = "curves"
            self.redraw()

        from .sweep_pick import AxesScreen

        title = f"groups, best first (at most {MAX_GROUPS}; none: the best)"
        self.app.push_screen(AxesScreen(labels, shown, title=title, shown=texts), chosen)

    def action_choose_axes(self) -> None:
        keys = [k for k in self.keys(self.runs) if k != sv.TAG]

        def chosen(value: list[str] | None) -> None:
            if value is not None:
                self.axes = value
                self.view = "parallel"
                self.redraw()

        from .sweep_pick import AxesScreen

        self.app.push_screen(AxesScreen(keys, self.axes or []), chosen)

    def action_help(self) -> None:
        from .help import HelpScreen

        notes = (
            "Curves: each group's mean per step bucket over the band of its runs' min and max"
            " (the seeds of one configuration). Scatter and parallel coordinates: one mark or"
            " line per run; a log axis where a config key's positive values span two decades."
            f" The curves draw at most {MAX_GROUPS} groups, the best by their runs' mean value"
            " of the metric (and the highlighted run's); G picks which."
        )
        self.app.push_screen(HelpScreen("sweep views — keys", SWEEP_KEYS, notes))
