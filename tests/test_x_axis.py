"""The x-axis is the user's: define_metric's step metric, the ``x`` cycle and the ``X`` picker,
one axis shared by compared runs, steps/s in the run's own steps, define_metric's goal in the
best columns, and a resumed run's marker and events (two real processes, the first SIGKILLed)."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

import tracker
from tracker.models import Point
from tui.app import TrackTuiApp
from tui.axis import METRIC, TIME, XAxis
from tui.formatting import format_number
from tui.screens.compare import CompareScreen
from tui.screens.pick_best import PickBestScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.screens.x_axis import XAxisScreen
from tui.series import SeriesBuffer, Span, StepAxis
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .helpers import run_python, start_python
from .tui_helpers import TIMINGS, wait_until

STEPS = 50


def log_run(
    db: Path, name: str, *, define: bool, iter_offset: int = 0, goal: str | None = None
) -> None:
    run = tracker.init(name=name, db=db, quiet=True, system_metrics=False, console=False)
    if define:
        run.define_metric("*", step_metric="iter")
    if goal is not None:
        run.define_metric("train/loss", goal=goal)
    for step in range(STEPS):
        values = {"train/loss": 2.0 / (step + 1), "train/lr": 1e-3 * (step + 1)}
        if define:
            values["iter"] = 100 * step + iter_offset
        run.log(values, step=step)
    run.finish()


@pytest.fixture
def iter_db(tmp_path: Path) -> Path:
    db = tmp_path / "runs.db"
    log_run(db, "no-iter", define=False)
    log_run(db, "iter-b", define=True, iter_offset=50)
    log_run(db, "iter-a", define=True)  # newest: the highlighted row
    return db


def make_app(db: Path) -> TrackTuiApp:
    return TrackTuiApp(db, timings=TIMINGS)


def table(app: TrackTuiApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


def row_of(app: TrackTuiApp, name: str) -> int:
    t = table(app)
    index = t.column_ids.index("name")
    names = [t.get_row_at(row)[index].plain for row in range(t.row_count)]
    return names.index(name)


def cell(app: TrackTuiApp, row: int, column_id: str) -> str:
    t = table(app)
    return str(t.get_row_at(row)[t.column_ids.index(column_id)].plain)


def x_range(plot: MetricPlot, line: int = 0) -> tuple[float, float]:
    chosen = plot.lines[line]
    axis = chosen.x_buffer.step_axis() if chosen.x_buffer is not None else None
    columns = chosen.buffer.columns(200, plot.options.use_time, axis)
    return columns[0].x, columns[-1].x


async def ready(app: TrackTuiApp, pilot: Any, rows: int = 3) -> MetricPlot:
    await wait_until(pilot, lambda: table(app).row_count == rows, what=f"{rows} rows")
    preview = app.screen.query_one("#preview-0", MetricPlot)
    await wait_until(
        pilot,
        lambda: bool(preview.lines) and preview.lines[0].x_buffer is not None,
        what="the preview against iter",
    )
    return preview


# --- the mapping from steps to x ------------------------------------------------------------


def _point(seq: int, step: int, value: float) -> Point:
    return Point(seq, step, value, float(step))


def test_step_axis_is_exact_for_points_and_linear_inside_merged_spans() -> None:
    sparse = SeriesBuffer()
    sparse.extend([_point(1, 0, 0.0), _point(2, 10, 1000.0), _point(3, 20, 2000.0)])
    axis = sparse.step_axis()
    assert axis.at(-1) is None  # before the step metric's first value: no x
    assert axis.at(0) == 0.0 and axis.at(10) == 1000.0
    assert axis.at(15) == 1000.0  # step_sync: the last value at or before the step
    assert axis.at(99) == 2000.0
    assert sparse.step_axis() is axis  # cached until the series changes
    sparse.extend([_point(4, 30, 3000.0)])
    assert sparse.step_axis() is not axis

    merged = SeriesBuffer(max_buckets=4)
    merged.extend([_point(i + 1, i, 100.0 * i) for i in range(64)])
    assert len(merged.spans) <= 4 and merged.spans[0].first_step != merged.spans[0].last_step
    axis = merged.step_axis()
    for step in (0, 7, 13, 40, 63):
        assert axis.at(step) == pytest.approx(100.0 * step)  # linear counter: exact

    # a metric that goes both ways: a merged span's x is its mean, never extrapolated
    wobbly = StepAxis(
        [Span(0, 9, 0, 9, 0.0, 10.0, 45.0, 10, 0), Span(10, 19, 10, 19, 2.0, 4.0, 30.0, 10, 0)]
    )
    assert wobbly.at(5) == 4.5 and wobbly.at(15) == 3.0

    loss = SeriesBuffer()
    loss.extend([_point(i + 1, i, 1.0 / (i + 1)) for i in range(25)])
    columns = loss.columns(100, axis=sparse.step_axis())
    assert [c.x for c in columns][:3] == [0.0, 0.0, 0.0] and columns[-1].x == 2000.0
    assert len(columns) == 25  # every point has an x (step 0 has iter 0)


# --- the TUI --------------------------------------------------------------------------------


async def test_plot_follows_the_step_metric_and_x_cycles_through_it(iter_db: Path) -> None:
    app = make_app(iter_db)
    async with app.run_test(size=(120, 36)) as pilot:
        preview = await ready(app, pilot)
        assert "iter-a" in preview.title
        assert preview.x_label == "iter"
        assert x_range(preview) == (0.0, 100.0 * (STEPS - 1))
        await wait_until(pilot, lambda: "iter" in preview.plain, what="the label")
        assert "x: auto (iter)" in str(app.screen.query_one("#header").render())

        seen = []
        for _ in range(3):
            await pilot.press("x")
            seen.append(app.options.x)
        assert seen == [XAxis(TIME), XAxis(METRIC, "iter"), XAxis()]
        await pilot.press("x")
        await wait_until(pilot, lambda: preview.x_label == "time (s)")
        assert preview.lines[0].x_buffer is None
        renders = preview.renders
        await pilot.press("x")  # iter for every metric
        await wait_until(pilot, lambda: preview.x_label == "iter")
        # the axis is in the render cache's key: the plot is drawn again
        await wait_until(pilot, lambda: preview.renders > renders, what="a new render")
        assert x_range(preview) == (0.0, 100.0 * (STEPS - 1))


async def test_nothing_defined_stays_on_the_step(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    log_run(db, "plain", define=False)
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1)
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines))
        assert preview.x_label == "step" and preview.lines[0].x_buffer is None
        assert x_range(preview) == (0.0, STEPS - 1.0)
        await pilot.press("x", "x")  # no step metric: step, time, step
        assert app.options.x == XAxis()


async def test_a_counter_logged_without_define_metric_is_the_x_axis(tmp_path: Path) -> None:
    """nanoGPT logs ``iter`` with every eval and calls no define_metric: its plots, step
    column and steps/s still count its own iterations, not the log() calls (0..8)."""
    db = tmp_path / "nanogpt.db"
    run = tracker.init(name="nano", db=db, quiet=True, system_metrics=False, console=False)
    for call in range(9):
        run.log({"iter": call * 250, "train/loss": 4.0 - call * 0.3, "lr": 6e-4})
    run.finish()
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        preview = await ready(app, pilot, rows=1)
        assert preview.x_label == "iter"
        assert x_range(preview) == (0.0, 2000.0)
        assert cell(app, 0, "step") == format_number(2000)
        (record,) = app.model.newest_first()
        assert record.steps_per_s == pytest.approx(2000 / record.duration_s)
        assert record.step_metric("iter") is None and record.step_metric("sys/cpu/util") is None


async def test_the_picker_chooses_any_metric(iter_db: Path) -> None:
    app = make_app(iter_db)
    async with app.run_test(size=(120, 36)) as pilot:
        preview = await ready(app, pilot)
        await pilot.press("X")
        assert isinstance(app.screen, XAxisScreen)
        axes = [axis for axis, _ in app.screen.choices]
        assert axes[:3] == [XAxis(), XAxis("step"), XAxis(TIME)]
        assert XAxis(METRIC, "iter") in axes and XAxis(METRIC, "train/loss") in axes
        target = axes.index(XAxis(METRIC, "train/lr"))
        await pilot.press(*(["down"] * target), "enter")
        assert isinstance(app.screen, RunsScreen)
        assert app.options.x == XAxis(METRIC, "train/lr")
        await wait_until(pilot, lambda: preview.x_label == "train/lr")
        low, high = x_range(preview)
        assert low == pytest.approx(1e-3) and high == pytest.approx(1e-3 * STEPS)
        assert "x: train/lr" in str(app.screen.query_one("#header").render())
        await pilot.press("X")
        target = [axis for axis, _ in app.screen.choices].index(XAxis("step"))
        await pilot.press("home", *(["down"] * target), "enter")
        await wait_until(pilot, lambda: preview.x_label == "step")
        assert x_range(preview) == (0.0, STEPS - 1.0)  # the logged step, iter ignored


async def test_compare_shares_the_axis_and_names_the_run_left_out(iter_db: Path) -> None:
    app = make_app(iter_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("space", "space", "space", "c")
        assert isinstance(app.screen, CompareScreen)
        screen = app.screen
        plot = screen.plots["train/loss"]
        await wait_until(pilot, lambda: len(plot.lines) == 2, what="the two runs with iter")
        assert plot.x_label == "iter"
        assert {line.label for line in plot.lines} == {"iter-a", "iter-b"}
        assert all(line.x_buffer is not None for line in plot.lines)
        ranges = {line.label: x_range(plot, i) for i, line in enumerate(plot.lines)}
        assert ranges["iter-b"] == (50.0, 100.0 * (STEPS - 1) + 50)
        assert plot.note == "no iter: no-iter"
        await wait_until(pilot, lambda: "no iter: no-iter" in plot.plain)
        await pilot.press("x")  # time: every run again
        await wait_until(pilot, lambda: len(plot.lines) == 3 and plot.note == "")


async def test_steps_per_s_counts_the_step_metric(iter_db: Path) -> None:
    app = make_app(iter_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        run = next(r for r in app.model.runs.values() if r.name == "iter-a")
        assert run.steps_per_s == pytest.approx(100.0 * (STEPS - 1) / run.duration_s)
        assert cell(app, row_of(app, "iter-a"), "rate") == format_number(run.steps_per_s, 3)
        plain = next(r for r in app.model.runs.values() if r.name == "no-iter")
        assert plain.steps_per_s == pytest.approx(STEPS / plain.duration_s)


async def test_goal_maximize_decides_the_best_columns(tmp_path: Path) -> None:
    db = tmp_path / "goal.db"
    log_run(db, "other", define=False)
    log_run(db, "maximized", define=False, goal="maximize")
    app = make_app(db)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 2)
        t = table(app)
        await wait_until(pilot, lambda: "best:train/loss" in t.column_ids)
        header = t.columns.get("best:train/loss")  # type: ignore[call-overload]
        assert header is not None and "train/loss max" in header.label.plain
        assert cell(app, row_of(app, "maximized"), "best:train/loss") == format_number(2.0)
        await pilot.press("b")
        assert isinstance(app.screen, PickBestScreen)
        assert app.screen.modes["train/loss"] == "max"
        await pilot.press("escape")
        await pilot.press("space", "space", "c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        console = Console(width=200, record=True)
        console.print(screen.query_one("#compare-summary", Static).content)
        assert "train/loss max" in console.export_text()


FIRST = """
import sys, time, tracker
run = tracker.init(id="resume01", name="requeued", db=sys.argv[1], quiet=True,
                   system_metrics=False, console=False)
run.define_metric("*", step_metric="iter")
for step in range(30):
    run.log({"train/loss": 1.0 / (step + 1), "iter": 100 * step})
run.flush()
print("ready", flush=True)
time.sleep(120)
"""

SECOND = """
import sys, tracker
run = tracker.init(id="resume01", resume="allow", db=sys.argv[1], quiet=True,
                   system_metrics=False, console=False)
start = run.step  # the next step: one past the last one stored
for step in range(start, start + 30):
    run.log({"train/loss": 0.5 / (step + 1), "iter": 100 * step})
run.alert(title="[red]spike[/red]", text="\\x1b[2Jloss jumped", level="WARN")
run.finish()
"""


async def test_a_resumed_run_shows_its_marker_and_events(tmp_path: Path) -> None:
    db = tmp_path / "resume.db"
    first = start_python(FIRST, str(db))
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        pid = first.pid
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    run_python(SECOND, str(db))
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1)
        await wait_until(pilot, lambda: "↻" in cell(app, 0, "status"), what="the resume mark")
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, RunDetailScreen)
        events = detail.query_one("#detail-events")
        assert not events.has_class("hidden")
        text = str(events.render())
        assert f"resumed at step 29 after crashed (pid {pid}" in text
        assert "[red]spike[/red]" in text and "WARN" in text  # literal, never markup
        assert "\\x1b[2J" in text and "\x1b" not in text
        plot = detail.plots["train/loss"]
        await wait_until(pilot, lambda: bool(plot.lines) and plot.lines[0].x_buffer is not None)
        (marker,) = plot.lines[0].markers
        assert marker[0] == 29
        assert plot.x_label == "iter" and x_range(plot) == (0.0, 5900.0)
        await wait_until(pilot, lambda: "↻ resumed" in plot.plain, what="the marker")
        assert "resumed 1×" in str(detail.query_one("#header").render())
        record = app.model.runs["resume01"]
        assert not math.isnan(record.steps_per_s or math.nan)


def test_with_several_step_metrics_the_finest_is_the_runs_step(tmp_path: Path) -> None:
    """train/* against train/step (every call), eval/* against epoch (every 50 calls, more
    keys): the step column and steps/s follow train/step, the counter logged most."""
    from tracker.db.sqlite.store import SqliteStore

    db = tmp_path / "two.db"
    run = tracker.init(name="two", db=db, quiet=True, system_metrics=False, console=False)
    run.define_metric("train/*", step_metric="train/step")
    run.define_metric("eval/*", step_metric="epoch")
    for call in range(200):
        values: dict[str, float] = {"train/step": 8.0 * call, "train/loss": 1.0 / (call + 1)}
        if call % 50 == 49:
            values.update({"epoch": call // 50, "eval/loss": 0.5, "eval/acc": 0.9, "eval/f1": 1})
        run.log(values)
    run.finish()
    reader = SqliteStore.for_reading(db)
    record = reader.read_run(run.id)
    reader.close()
    assert record is not None and record.main_counter == "train/step"
    assert record.own_step == 8 * 199
    assert record.steps_per_s == pytest.approx(8 * 199 / record.duration_s)


def test_a_step_metric_of_a_few_keys_is_not_the_runs_step(tmp_path: Path) -> None:
    """A loss logged every batch on the run's own step, val/* against epoch: the run's step
    is the batch's (it said 1, the epoch, where wandb says 61)."""
    from tracker.db.sqlite.store import SqliteStore

    db = tmp_path / "scoped.db"
    run = tracker.init(name="scoped", db=db, quiet=True, system_metrics=False, console=False)
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch")
    for batch in range(60):
        run.log({"loss": 1.0 / (batch + 1)})
        if batch % 30 == 29:
            run.log({"epoch": batch // 30, "val/loss": 0.5, "val/acc": 0.9})
    run.finish()
    reader = SqliteStore.for_reading(db)
    record = reader.read_run(run.id)
    reader.close()
    assert record is not None and record.main_counter is None
    assert record.own_step == record.step == 61


async def test_a_column_widens_when_its_values_grow(tmp_path: Path) -> None:
    """A step that grows from 1 to 123,456 digits wide is shown whole, never cut to '1,23'."""
    db = tmp_path / "grow.db"
    run = tracker.init(name="grow", db=db, quiet=True, system_metrics=False, console=False)
    run.log({"loss": 1.0}, step=1)
    assert run.flush(30)
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1)
        run.log({"loss": 0.5}, step=123_456)
        assert run.flush(30)
        await wait_until(pilot, lambda: cell(app, 0, "step") == "123,456", what="the new step")
        t = table(app)
        column = next(c for c in t.columns.values() if str(c.key.value) == "step")
        assert column.get_render_width(t) >= len("123,456") + 2 * t.cell_padding
    run.finish()


async def test_step_counters_are_the_axis_not_columns_or_best_candidates(tmp_path: Path) -> None:
    db = tmp_path / "counters.db"
    run = tracker.init(name="hf", db=db, quiet=True, system_metrics=False, console=False)
    run.define_metric("*", step_metric="train/global_step")
    for call in range(20):
        run.log({"train/global_step": 10 * call, "train/loss": 1.0 / (call + 1)})
    run.finish()
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1)
        assert not [c for c in table(app).column_ids if "global_step" in c]
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, PickBestScreen), what="picker")
        screen = app.screen
        assert isinstance(screen, PickBestScreen)
        assert "train/loss" in screen.metrics and "train/global_step" not in screen.metrics
