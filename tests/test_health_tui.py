"""Health events and alerts in the viewer: the runs table's health column, markers on the plots,
the run view's event list, the bottleneck view and its diagnosis, the bell. Real runs in a real
database, the app driven headless; the diagnosis and the glyphs also tested as pure functions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

import tracker
from tracker.batch import RunHandle, write_batch
from tracker.db import open_store, parse_target
from tracker.models import RunEvent
from tracker.status import this_host
from tui.app import TrackTuiApp
from tui.diagnosis import Signals, diagnose
from tui.health import DETECTOR_GLYPHS, health_summary, new_notable
from tui.screens.run_detail import RunDetailScreen
from tui.series import SeriesBuffer, span_of_point
from tui.view.run_text import describe_events
from tui.widgets.plot import MetricPlot, PlotLine, PlotOptions, render_plot
from tui.widgets.runs_table import RunsTable

from .tui_helpers import TIMINGS, wait_until

# --- pure: glyphs, episodes ------------------------------------------------------------------


def event(
    id: int,
    detector: str,
    key: str = "train/loss",
    level: str = "WARN",
    resolved: bool = False,
    step: int = 10,
    kind: str = "health",
    title: str = "t",
) -> RunEvent:
    detail: dict[str, Any] = {"detector": detector}
    if resolved:
        detail["resolved"] = True
    return RunEvent(id, "r", 100.0 + id, step, kind, key, level, title, detail)


def test_every_glyph_is_one_cell_and_distinct() -> None:
    assert all(cell_len(glyph) == 1 for glyph in DETECTOR_GLYPHS.values())
    assert len(set(DETECTOR_GLYPHS.values())) == len(DETECTOR_GLYPHS)


def test_open_episodes_and_count() -> None:
    events = [
        event(1, "loss_spike"),
        event(2, "nonfinite", level="ERROR"),
        event(3, "nonfinite", resolved=True),
        event(4, "stalled", key="step"),
        event(5, "", kind="alert"),
    ]
    summary = health_summary(events)
    assert summary.open == (("loss_spike", "WARN"), ("stalled", "WARN"))
    assert summary.count == 4  # three opening health events and an alert; not the resolution
    assert summary.worst == "WARN"
    assert health_summary([event(1, "gpu_memory", level="ERROR")]).worst == "ERROR"
    assert health_summary([]).count == 0


def test_new_notable_counts_only_unseen_health_events_and_alerts() -> None:
    from types import SimpleNamespace

    before: Any = SimpleNamespace(events=[event(1, "loss_spike")])
    after: Any = SimpleNamespace(
        events=[event(1, "loss_spike"), event(2, "stalled"), event(3, "", kind="resumed")]
    )
    assert new_notable(before, after) == 1
    assert new_notable(None, after) == 2


# --- pure: the diagnosis ---------------------------------------------------------------------


def series(
    values: list[float], every: float = 10.0, start: float = 0.0
) -> list[tuple[float, float]]:
    return [(start + i * every, v) for i, v in enumerate(values)]


def test_diagnosis_without_data() -> None:
    assert diagnose(Signals()) == "no data yet: nothing to diagnose"


def test_diagnosis_of_a_short_run() -> None:
    text = diagnose(Signals(throughput=series([5.0] * 4), gpu_util=series([10.0] * 4)))
    assert text.startswith("too early to tell: 30 s of data")


def test_diagnosis_near_oom_comes_first() -> None:
    signals = Signals(gpu_util=series([10.0] * 30), gpu_mem=series([90.0] * 29 + [97.4]))
    assert diagnose(signals) == "GPU memory at 97%: near OOM"


def test_diagnosis_input_bound() -> None:
    util = [95.0, 5.0] * 40  # idle half the time
    signals = Signals(
        gpu_util=series(util), gpu_mem=series([50.0] * 80), proc_cpu=series([100.0] * 80)
    )
    assert diagnose(signals) == (
        "GPU idle 50% of the last 10 min while the process uses 100% CPU: input-bound"
    )


def test_diagnosis_gpu_idle_without_a_busy_cpu() -> None:
    signals = Signals(gpu_util=series([5.0] * 20), proc_cpu=series([20.0] * 20))
    assert diagnose(signals) == (
        "GPU idle 100% of the last 3 min: waiting on data loading, I/O or sync, not on the GPU"
    )


def test_diagnosis_throughput_fell_at_a_step_while_eval_ran() -> None:
    rates = [10.0] * 30 + [6.0] * 20
    steps = [(i * 10.0, float(i * 100)) for i in range(50)]
    signals = Signals(
        throughput=series(rates),
        steps=steps,
        gpu_util=series([97.0] * 50),
        evals=[301.0],
    )
    assert diagnose(signals) == "throughput fell 40% at step 3,000 while eval ran"
    no_eval = Signals(throughput=series(rates), steps=steps, gpu_util=series([97.0] * 50))
    assert diagnose(no_eval) == "throughput fell 40% at step 3,000"
    no_steps = Signals(throughput=series(rates))
    assert diagnose(no_steps) == "throughput fell 40% at 300 s"


def test_diagnosis_a_dip_that_recovered_is_no_fall() -> None:
    rates = [10.0] * 20 + [3.0] * 5 + [10.0] * 25
    signals = Signals(throughput=series(rates), gpu_util=series([96.0] * 50))
    assert diagnose(signals) == "no bottleneck seen: GPU busy 96%"


def test_diagnosis_without_a_gpu() -> None:
    busy = Signals(throughput=series([5.0] * 20), proc_cpu=series([180.0] * 20))
    assert diagnose(busy) == "no GPU; the process uses 180% CPU: CPU-bound"
    calm = Signals(proc_cpu=series([40.0] * 20))
    assert diagnose(calm) == "no GPU; the process uses 40% CPU: no bottleneck seen"
    bare = Signals(throughput=series([12.5] * 20))
    assert diagnose(bare) == "no hardware readings: throughput 12.5 steps/s, steady"


def test_diagnosis_uses_only_the_last_ten_minutes() -> None:
    util = [0.0] * 100 + [96.0] * 60  # idle long ago, busy for the last 10 min
    assert diagnose(Signals(gpu_util=series(util))) == "no bottleneck seen: GPU busy 96%"


# --- pure: a marker at its step ---------------------------------------------------------------


def test_an_event_marker_sits_under_its_step() -> None:
    from tracker.models import Point

    buffer = SeriesBuffer()
    buffer.load([span_of_point(Point(i + 1, i, float(i), float(i))) for i in range(101)], 101, 101)
    line = PlotLine("run", "cyan", buffer, events=((50, 50.0, "red"),))
    image = render_plot("train/loss", "", [line], PlotOptions(), 60, 14)
    assert "▲ 1 event" in image.rows[0][0][0]
    border = next(row for row in image.rows if row[0][0].lstrip().startswith("└"))
    text = "".join(t for t, _ in border)
    assert text.count("▲") == 1
    assert ("▲", "red") in border
    left = text.index("└")
    right = text.index("┘")
    at = text.index("▲") - left - 1
    inner = right - left - 1
    assert abs(at - inner / 2) <= 1  # step 50 of 0..100: the middle


# --- the app -------------------------------------------------------------------------------------


def make_app(path: Path) -> TrackTuiApp:
    return TrackTuiApp(path, timings=TIMINGS)


def add_event(
    run: Any, step: int, kind: str, key: str | None, level: str, title: str, **detail: Any
) -> None:
    run._queue.append(("event", run._handle, (time.time(), step, kind, key, level, title, detail)))
    run.flush()


HOSTILE = "[bold]spike[/bold] \x1b[31mred\x1b[0m [@click=app.quit]"


@pytest.fixture
def sick_db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    run = tracker.init(project="p", name="sick", db=path)
    for step in range(0, 101):
        run.log({"train/loss": 3.0 - step / 100, "train/grad_norm": 1.0}, step=step)
    run.flush()
    add_event(run, 40, "health", "train/loss", "WARN", HOSTILE, detector="loss_spike")
    add_event(run, 60, "health", "train/loss", "ERROR", "loss is nan", detector="nonfinite")
    add_event(
        run,
        70,
        "health",
        "train/loss",
        "WARN",
        "values finite again",
        detector="nonfinite",
        resolved=True,
    )
    add_event(run, 80, "health", "step", "WARN", "no new step for 5 min", detector="stalled")
    add_event(run, 90, "alert", None, "ERROR", "script says stop", text="body")
    run.finish()
    healthy = tracker.init(project="p", name="healthy", db=path)
    healthy.log({"train/loss": 1.0}, step=1)
    healthy.finish()
    return path


def health_cell(app: TrackTuiApp, name: str) -> str:
    table = app.screen.query_one(RunsTable)
    index = table.column_ids.index("health")
    names = table.column_ids.index("name")
    for row in range(table.row_count):
        cells = table.get_row_at(row)
        if isinstance(cells[names], Text) and cells[names].plain == name:
            value = cells[index]
            assert isinstance(value, Text)
            return value.plain
    raise AssertionError(name)


async def open_run(pilot: Any, app: TrackTuiApp, run_id: str) -> RunDetailScreen:
    app.push_screen(RunDetailScreen(run_id))
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, RunDetailScreen) and bool(app.screen.query("#detail-side")),
        what="the run view",
    )
    assert isinstance(app.screen, RunDetailScreen)
    return app.screen


def has_rows(app: TrackTuiApp, count: int) -> bool:
    tables = app.screen.query(RunsTable)
    return bool(tables) and tables.first().row_count == count


async def test_the_health_column_shows_a_count_and_open_episodes(sick_db: Path) -> None:
    app = make_app(sick_db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: has_rows(app, 2), what="two rows")
        # spike, nan and stalled open events and one alert; the resolution is not counted and
        # closes the NaN episode
        assert health_cell(app, "sick") == "⚠4 ↑∥"
        assert health_cell(app, "healthy") == ""


async def test_plots_mark_health_events_of_their_key_and_alerts(sick_db: Path) -> None:
    app = make_app(sick_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: has_rows(app, 2), what="two rows")
        run_id = next(r.id for r in app.model.runs.values() if r.name == "sick")
        screen = await open_run(pilot, app, run_id)

        def plot(key: str) -> MetricPlot:
            return screen.plots[key]

        await wait_until(
            pilot,
            lambda: "train/loss" in screen.plots and "▲" in plot("train/loss").plain,
            what="markers on the loss plot",
        )
        # spike (40), nan (60) and the alert (90); the resolution (70) and stalled (another key) not
        loss = plot("train/loss").plain
        assert "▲ 3 events" in loss
        border = next(line for line in loss.splitlines() if "└" in line)
        assert border.count("▲") == 3
        await wait_until(pilot, lambda: "▲" in plot("train/grad_norm").plain, what="the alert")
        grad = plot("train/grad_norm").plain
        assert "▲ 1 event" in grad  # only the alert: the health events are about the loss
        # the markers sit at their steps: 40 of 0..100 at 40% of the axis
        left, right = border.index("└"), border.index("┘")
        at = [i - left - 1 for i, c in enumerate(border) if c == "▲"]
        inner = right - left - 1
        for found, step in zip(at, (40, 60, 90), strict=True):
            assert abs(found - inner * step / 100) <= 1.5


async def test_the_event_list_shows_health_events_literally(sick_db: Path) -> None:
    app = make_app(sick_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: has_rows(app, 2), what="two rows")
        run = next(r for r in app.model.runs.values() if r.name == "sick")
        await open_run(pilot, app, run.id)
        events = app.screen.query_one("#detail-events", Static)
        await wait_until(pilot, lambda: not events.has_class("hidden"), what="events shown")
        text = describe_events(run.events, run.created_at)
        plain = text.plain
        assert "↑ WARN loss spike train/loss (step 40, at " in plain
        assert "[bold]spike[/bold] \\x1b[31mred\\x1b[0m [@click=app.quit]" in plain
        assert "\x1b" not in plain
        assert "∅ ERROR NaN/inf values train/loss (step 60" in plain
        assert "✓ resolved NaN/inf values train/loss (step 70" in plain
        assert "∥ WARN stalled (no new steps) step (step 80" in plain
        assert plain.index("loss spike") < plain.index("stalled") < plain.index("script says stop")
        styles = {str(span.style) for span in text.spans}
        assert "bold red" in styles and "yellow" in styles and "bold green" in styles


GIB = 1024**3


def write_timed_run(path: Path, minutes: int, gpu: bool, cpu: float, util: float) -> str:
    """A run with hardware readings every 10 s for ``minutes`` (chosen times, not the clock's)."""
    store = open_store(path, write=True)
    target = parse_target(path)
    created = time.time() - minutes * 60 - 5
    run_id = "timed001"
    try:
        version = store.begin()
        store.insert_run(
            {
                "id": run_id, "project": "p", "name": "timed", "created_at": created,
                "host": this_host(), "pid": 1, "pid_start": None, "tags": "[]",
                "config": "{}", "summary": "{}",
            },
            version,
        )  # fmt: skip
        store.commit()
        handle = RunHandle(run_id, target, created, {}, {})
        records: list[tuple[object, ...]] = []
        for index in range(minutes * 6):
            at = created + index * 10.0
            step = index * 20
            values: dict[str, float] = {"train/loss": 2.0 - index / 1000, "sys/proc/cpu": cpu}
            if gpu:
                values |= {
                    "sys/gpu/0/util": util if index % 2 else 95.0,
                    "sys/gpu/0/mem_used": 40 * GIB,
                    "sys/gpu/0/mem_total": 80 * GIB,
                }
            records.append((handle, step, at, values))
        records.append(("finish", handle, ("finished", 0, None)))
        write_batch(store, records, now=created + minutes * 60)
    finally:
        store.close()
    return run_id


def diagnosis_text(app: TrackTuiApp) -> str:
    screen = app.screen
    return screen.diagnosis if isinstance(screen, RunDetailScreen) else ""


async def test_the_bottleneck_view_plots_the_hardware_and_says_input_bound(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    run_id = write_timed_run(path, minutes=8, gpu=True, cpu=100.0, util=4.0)
    app = make_app(path)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_until(pilot, lambda: has_rows(app, 1), what="the run")
        await open_run(pilot, app, run_id)
        await pilot.press("6")
        await wait_until(pilot, lambda: "input-bound" in diagnosis_text(app), what="a diagnosis")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        assert screen.diagnosis == (
            "GPU idle 50% of the last 8 min while the process uses 100% CPU: input-bound"
        )
        titles = list(screen.bottleneck_plots)
        assert titles[:3] == ["throughput: steps/s", "GPU utilisation", "GPU memory"]
        assert any(title.startswith("CPU") for title in titles)
        throughput = screen.bottleneck_plots["throughput: steps/s"][1]
        await wait_until(pilot, lambda: "time (s)" in throughput.plain, what="a throughput plot")
        shown = app.screen.query_one("#bottleneck-diagnosis", Static)
        assert "input-bound" in str(shown.render())
        await pilot.press("6")
        assert app.screen.query_one("#detail-bottleneck").has_class("hidden")


async def test_the_bottleneck_view_of_a_run_without_a_gpu(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    run_id = write_timed_run(path, minutes=3, gpu=False, cpu=30.0, util=0.0)
    app = make_app(path)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(pilot, lambda: has_rows(app, 1), what="the run")
        await open_run(pilot, app, run_id)
        await pilot.press("6")
        await wait_until(pilot, lambda: "no GPU" in diagnosis_text(app), what="a diagnosis")
        assert diagnosis_text(app) == "no GPU; the process uses 30% CPU: no bottleneck seen"


async def test_the_bell_rings_for_new_events_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "runs.db"
    run = tracker.init(project="p", name="live", db=path)
    run.log({"train/loss": 1.0}, step=1)
    add_event(run, 1, "health", "train/loss", "WARN", "old news", detector="loss_spike")
    monkeypatch.setenv("TRACKTUI_NOTIFY", "1")
    app = make_app(path)
    rung: list[None] = []
    monkeypatch.setattr(app, "bell", lambda: rung.append(None))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            assert app.ring_on_events
            await wait_until(pilot, lambda: has_rows(app, 1), what="the run")
            run.log({"train/loss": 0.9}, step=2)
            run.flush()
            await wait_until(
                pilot,
                lambda: any(r.own_step == 2 for r in app.model.runs.values()),
                what="step 2",
            )
            assert rung == []  # the event there at start and new points: no bell
            add_event(run, 3, "health", "train/loss", "ERROR", "loss is nan", detector="nonfinite")
            await wait_until(pilot, lambda: len(rung) == 1, what="a bell")
            await pilot.press("n")  # off
            assert not app.ring_on_events
            add_event(run, 4, "alert", None, "WARN", "from the script")
            await wait_until(
                pilot,
                lambda: any(len(r.events) == 3 for r in app.model.runs.values()),
                what="the alert read",
            )
            assert len(rung) == 1
            await pilot.press("n")  # on again
            add_event(run, 5, "alert", None, "WARN", "again")
            await wait_until(pilot, lambda: len(rung) == 2, what="a second bell")
            assert app.bells == 2
    finally:
        run.finish()


async def test_the_bell_is_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKTUI_NOTIFY", raising=False)
    app = make_app(tmp_path / "none.db")
    assert not app.ring_on_events


def test_diagnosis_names_a_stall_open_first_and_a_past_one_before_all_clear() -> None:
    busy = dict(throughput=series([10.0] * 30), gpu_util=series([96.0] * 30))
    assert diagnose(Signals(**busy, stall=(500, 61.0, True))) == (  # type: ignore[arg-type]
        "stalled after step 500: no new step for 61 s+ while the process lives "
        "(a hung data loader, I/O or collective?)"
    )
    assert diagnose(Signals(stall=(500, 61.0, True))).startswith("stalled after step 500")
    assert diagnose(Signals(**busy, stall=(500, 101.0, False))) == (  # type: ignore[arg-type]
        "stalled 101 s at step 500, running again since"
    )
