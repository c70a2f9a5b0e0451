"""What keeps the viewer cheap while runs log, as behaviour (the CPU itself is measured by
benchmarks/bench_viewer_cpu.py): frames paced, reads paced, the watch paused while the file
streams, no full-screen repaint or relayout per frame, and rows off screen left until seen."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual._compositor import Compositor
from textual.screen import Screen

import tracker
from tui.app import TrackTuiApp
from tui.timings import Timings
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .helpers import start_python
from .tui_helpers import wait_until

STREAMER = """
import sys, time, tracker
runs = [tracker.init(project="p", name=f"r{i}", db=sys.argv[1], reinit="create_new", quiet=True)
        for i in range(int(sys.argv[2]))]
step = 0
deadline = time.time() + float(sys.argv[3])
while time.time() < deadline:
    for run in runs:
        run.log({"train/loss": 1.0 / (step + 1), "train/grad_norm": 0.5}, step=step)
    step += 1
    time.sleep(0.01)
for run in runs:
    run.finish()
"""


@contextmanager
def _writing(code: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A process logging while the block runs, killed at its end."""
    child = start_python(code, *args)
    try:
        yield child
    finally:
        child.kill()
        child.wait(timeout=30)


PACED = Timings(poll_s=0.2, frame_s=0.25, extras_start_s=0.0, stream_quiet_s=0.6)


@pytest.fixture
def counted_paints(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    counts = {"full": 0, "layout": 0}
    full = Compositor.render_full_update
    layout = Screen._refresh_layout

    def render_full_update(self: Compositor, *args: object, **kwargs: object) -> object:
        counts["full"] += 1
        return full(self, *args, **kwargs)  # type: ignore[arg-type]

    def refresh_layout(self: Screen[object], *args: object, **kwargs: object) -> None:
        counts["layout"] += 1
        layout(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Compositor, "render_full_update", render_full_update)
    monkeypatch.setattr(Screen, "_refresh_layout", refresh_layout)
    yield counts


async def test_streaming_runs_are_drawn_once_a_frame_without_full_repaints(
    tmp_path: Path, counted_paints: dict[str, int]
) -> None:
    """100 commits a second from 3 runs become at most one read and one frame per frame
    time, none of them a full-screen repaint or a new layout (the header says the same thing
    every frame; the app's empty default screen is never sent a frame)."""
    db = tmp_path / "live.db"
    # Once the stream stops, the runs turn crashed (their process was killed) and their trends
    # are worked out again (within extras_every_s): both are news, settled before the quiet
    # is counted.
    app = TrackTuiApp(db, timings=replace(PACED, status_every_s=0.2))
    async with app.run_test(size=(120, 36)) as pilot:
        with _writing(STREAMER, str(db), "3", "30"):
            await wait_until(pilot, lambda: len(app.model.runs) == 3, timeout=30, what="runs")
            preview = app.screen.query_one("#preview-0")
            await wait_until(pilot, lambda: bool(getattr(preview, "lines", None)), timeout=30)
            await pilot.pause(0.5)  # the first screenful is laid out
            frames, reads, started = app.frames, app.reader.reads, time.monotonic()
            counted_paints.update(full=0, layout=0)
            await pilot.pause(2.0)
            elapsed = time.monotonic() - started
            drawn, read = app.frames - frames, app.reader.reads - reads
            assert 2 <= drawn <= elapsed / PACED.frame_s + 2, (drawn, elapsed)
            assert read <= elapsed / PACED.frame_s + 2, (read, elapsed)
            assert counted_paints == {"full": 0, "layout": 0}
            assert app.watcher is None or app.watcher.paused  # the poll reads every frame
        # Quiet again: the watch resumes, and the reader waits for events (no frame at all).
        await wait_until(
            pilot, lambda: app.watcher is None or not app.watcher.paused, timeout=10, what="resumed"
        )
        # A plot whose newest points waited for its slower pace draws them once: that frame
        # belongs to the stream, not to the quiet that follows.
        await wait_until(
            pilot,
            lambda: not any(plot.behind for plot in app.screen.query(MetricPlot)),
            timeout=10,
            what="plots caught up",
        )
        await wait_until(
            pilot,
            lambda: (
                not any(run.is_live for run in app.model.runs.values())
                and not app.reader.extras_owed()
            ),
            timeout=10,
            what="the killed runs marked and their trends read",
        )
        await pilot.pause()
        frames = app.frames
        await pilot.pause(1.0)
        assert app.frames - frames <= 1


async def test_a_row_changed_off_screen_is_right_once_scrolled_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty live runs write the rows on screen each frame, not all fifty; a row that changed
    meanwhile is brought up to date as it scrolls into view."""
    from tracker import writer

    monkeypatch.setattr(writer, "HEARTBEAT_INTERVAL_S", 3600.0)  # no other change comes in
    db = tmp_path / "many.db"
    runs = [
        tracker.init(project="p", name=f"run-{i:03d}", db=db, reinit="create_new", quiet=True)
        for i in range(120)
    ]
    for run in runs:
        run.log({"loss": 1.0}, step=0)
        run.flush()
    oldest = runs[0]  # newest first: the oldest run is the last row
    # No trends recomputed meanwhile: nothing but the scroll may bring the row up to date.
    app = TrackTuiApp(db, timings=replace(PACED, extras_every_s=600.0))
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.complete and table.row_count == 120, what="rows")
        oldest.log({"loss": 0.25}, step=1)
        oldest.flush()
        await wait_until(
            pilot,
            lambda: app.model.runs[oldest.id].metrics["loss"].last == 0.25,
            what="the change read",
        )
        await pilot.pause(0.3)
        column = table.column_ids.index("last:loss")
        row = table.get_row_index(oldest.id)
        assert table.get_row_at(row)[column].plain == "1"  # not written while off screen
        table.scroll_end(animate=False)  # as a mouse wheel does: the cursor stays put
        await wait_until(
            pilot,
            lambda: table.get_row_at(row)[column].plain == "0.25",
            what="the row up to date once on screen",
        )
    for run in runs:
        run.finish()


MANY_METRICS = """
import sys, time, tracker
run = tracker.init(project="p", name="wide", db=sys.argv[1], quiet=True)
step = 0
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    run.log({f"train/m{i:02d}": step * (i + 1) for i in range(24)}, step=step)
    step += 1
    time.sleep(0.02)
run.finish()
"""


async def test_a_runs_plots_off_screen_are_not_drawn_while_it_logs(tmp_path: Path) -> None:
    """A run's view holds a plot per metric; while the run logs, only the plots in the
    window are drawn again (the outsider measured 15% of a core for this view before)."""
    from tui.screens.run_detail import RunDetailScreen
    from tui.widgets.plot import MetricPlot

    db = tmp_path / "wide.db"
    app = TrackTuiApp(db, timings=PACED)
    async with app.run_test(size=(120, 36)) as pilot:
        with _writing(MANY_METRICS, str(db), "30"):
            await wait_until(pilot, lambda: len(app.model.runs) == 1, timeout=30, what="the run")
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            plots = list(app.screen.query(MetricPlot))
            await wait_until(pilot, lambda: len(list(app.screen.query(MetricPlot))) >= 20)
            plots = list(app.screen.query(MetricPlot))
            await pilot.pause(1.0)  # laid out, first pictures drawn
            before = {plot: plot.renders for plot in plots}
            await pilot.pause(1.5)
            redrawn = [plot for plot in plots if plot.renders > before[plot]]
            shown = [plot for plot in plots if plot.in_view()]
            assert shown and redrawn, (len(shown), len(redrawn))
            assert set(redrawn) <= set(shown), [p.title for p in redrawn if p not in shown]


async def test_the_runs_screen_under_a_run_view_waits_then_catches_up(tmp_path: Path) -> None:
    """Drawing the screen under the one on top repainted the whole terminal every frame (the
    run view cost 15% of a core); it is left as it is, and brought up to date when it is back
    on top."""
    from tui.screens.run_detail import RunDetailScreen

    db = tmp_path / "live.db"
    app = TrackTuiApp(db, timings=PACED)
    async with app.run_test(size=(120, 36)) as pilot:
        with _writing(STREAMER, str(db), "1", "30"):
            await wait_until(pilot, lambda: len(app.model.runs) == 1, timeout=30, what="the run")
            table = app.screen.query_one(RunsTable)
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            updated = table.cells_updated
            frames = app.frames
            await wait_until(pilot, lambda: app.frames >= frames + 4, what="frames meanwhile")
            assert table.cells_updated == updated  # not drawn while under the run view
            await pilot.press("escape")
            run_id = next(iter(app.model.runs))
            column = table.column_ids.index("step")

            def shown_step() -> str:
                return str(table.get_row_at(table.get_row_index(run_id))[column].plain)

            await wait_until(pilot, lambda: shown_step() != "" and table.cells_updated > updated)


async def test_a_read_is_painted_at_once_and_plots_keep_a_slower_pace(tmp_path: Path) -> None:
    """While a run streams, each read is painted as it arrives (paints held back to a frame
    after the last one had drifted up to a frame behind the reads: 130 ms of latency), the
    table every frame, the plot only every ``plot_frame_s``; once the run stops, the plot
    catches up with its last points."""
    from tui.widgets.plot import MetricPlot

    db = tmp_path / "live.db"
    app = TrackTuiApp(db, timings=replace(PACED, plot_frame_s=1.0))
    read_at: list[float] = []
    delays: list[float] = []
    on_read_done, draw_frame = app.on_read_done, app._draw_frame

    def noted_read(message: object) -> None:
        read_at.append(time.monotonic())
        on_read_done(message)  # type: ignore[arg-type]

    def noted_frame() -> None:
        if read_at:
            delays.append(time.monotonic() - read_at[-1])
        draw_frame()

    app.on_read_done = noted_read  # type: ignore[method-assign]
    app._draw_frame = noted_frame  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        with _writing(STREAMER, str(db), "1", "30"):
            await wait_until(pilot, lambda: len(app.model.runs) == 1, timeout=30, what="the run")
            preview = app.screen.query_one("#preview-0", MetricPlot)
            await wait_until(pilot, lambda: bool(preview.lines), timeout=30, what="the plot")
            await pilot.pause(0.5)
            frames, renders, delays[:] = app.frames, preview.renders, []
            await pilot.pause(2.0)
            assert app.frames - frames >= 5
            assert preview.renders - renders <= 3, preview.renders - renders  # 2 s / 1 s, +1
            assert delays and sorted(delays)[len(delays) // 2] < 0.05, delays
        # The picture comes to hold the last points, with no redraw left waiting.
        await wait_until(
            pilot,
            lambda: not preview.behind and preview._cache_key == preview._key(),
            timeout=10,
            what="the plot's catch-up",
        )


def test_costly_frames_are_spaced_out_to_keep_the_cpu_share(tmp_path: Path) -> None:
    """A streaming frame that costs more than ``cpu_share`` of ``frame_s`` (fifty live runs:
    9 ms against 6) spaces the next ones out, never past ``max_frame_s``; cheap ones keep
    ``frame_s``, and quiet spells forget what frames cost."""
    from tui.feed import ReaderFeed
    from tui.reader import DatabaseReader

    timings = Timings(frame_s=0.2, cpu_share=0.03, max_frame_s=1.0)
    feed = ReaderFeed(DatabaseReader(tmp_path / "none.db", timings=timings), timings, False)
    assert feed._frame_gap(0.2, 0.003) == 0.2
    assert feed._frame_gap(0.2, 0.009) == pytest.approx(0.3)
    assert feed._frame_gap(0.2, 0.5) == 1.0
    assert ReaderFeed(feed.reader, replace(timings, cpu_share=0.0), False)._frame_gap(0.2, 1) == 0.2
    time.process_time()
    feed._frame_cost = 0.01
    assert feed._measure_frame(streaming=False) == 0.0
    spent = feed._measure_frame(streaming=True)
    assert 0.0 <= spent <= 0.25 * 0.02  # one sample moves the average a quarter of the way


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=4),
    st.lists(
        st.tuples(st.integers(min_value=-6, max_value=20), st.integers(min_value=-6, max_value=24)),
        max_size=30,
    ),
)
def test_a_polyline_draws_what_a_dot_and_a_line_per_segment_drew(
    width: int, height: int, points: list[tuple[int, int]]
) -> None:
    """A plot's points are drawn in one loop (a third of a plot's cost was a call per dot
    and per segment); the same dots and colours, off-canvas points clipped the same way."""
    from tui.view.braille import BrailleCanvas

    one, each = BrailleCanvas(width, height), BrailleCanvas(width, height)
    one.polyline(points, "red")
    one.polyline(points[::-1], "green")
    for color, path in (("red", points), ("green", points[::-1])):
        for index, (x, y) in enumerate(path):
            if index == 0:
                each.dot(x, y, color)
            else:
                each.line(*path[index - 1], x, y, color)
    assert one.rows() == each.rows()


WIDE_STREAMER = """
import sys, time, tracker
run = tracker.init(project="p", name="wide", db=sys.argv[1], quiet=True, system_metrics=False)
step = 0
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    run.log({f"m/{i:03d}": (i + 1) / (step + 1) for i in range(300)}, step=step)
    step += 1
    time.sleep(0.05)
run.finish()
"""


async def test_a_run_of_300_metrics_keeps_its_top_plots_drawn(tmp_path: Path) -> None:
    """The viewer follows at most 256 series: the run view asked for all 300 at once and the
    first ones (its top plots) were let go at once, asked for again every frame, and its top
    plot said "(no finite values yet)" every other second (found by an outside tester)."""
    from tui.screens.run_detail import RunDetailScreen

    db = tmp_path / "wide.db"
    app = TrackTuiApp(db, timings=PACED)
    async with app.run_test(size=(120, 36)) as pilot:
        with _writing(WIDE_STREAMER, str(db), "30"):
            await wait_until(pilot, lambda: len(app.model.runs) == 1, timeout=30, what="the run")
            await wait_until(pilot, lambda: len(next(iter(app.model.runs.values())).metrics) == 300)
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, RunDetailScreen)
            await wait_until(pilot, lambda: len(screen.plots) == 300, what="300 plots")
            top = screen.plots["m/000"]
            await wait_until(pilot, lambda: "┤" in top.plain, timeout=15, what="the top plot")
            for _ in range(20):  # 2 s of frames: drawn in every one
                await pilot.pause(0.1)
                assert "┤" in top.plain, top.plain
                # A plot waiting for its series says so in its text; Textual's animated
                # indicator (Widget.loading) repainted each of them 16 times a second.
                assert not any(plot.loading for plot in screen.plots.values())


@asynccontextmanager
async def _run_view(db: Path, plots: int) -> AsyncIterator[tuple[TrackTuiApp, Any, Any]]:
    """The app on ``db``'s one run, its view open with its ``plots`` plots mounted."""
    from tui.screens.run_detail import RunDetailScreen

    app = TrackTuiApp(db, timings=PACED)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 1, what="the run")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        await wait_until(pilot, lambda: len(screen.plots) == plots, what=f"{plots} plots")
        yield app, pilot, screen


async def test_a_run_of_300_metrics_shows_its_top_plots_before_the_rest_are_mounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mounting 300 plots was most of what opening such a run cost, and its first paint waited
    for the last of them: now a screenful is mounted first, the rest in chunks after paints."""
    from tui.screens.run_detail import RunDetailScreen
    from tui.widgets.plot_column import FIRST_PLOTS

    db = tmp_path / "wide.db"
    with tracker.init(project="p", name="wide", db=db, quiet=True, system_metrics=False) as run:
        for step in range(20):
            run.log({f"m{i // 20}/{i:03d}": i / (step + 1) for i in range(300)}, step=step)
    seen: list[tuple[int, int]] = []  # (plots mounted, pictures of the top plot) per chunk
    mounted = RunDetailScreen.on_plot_column_mounted

    def record(self: RunDetailScreen, event: object) -> None:
        mounted(self, event)  # type: ignore[arg-type]
        top = self.plots.get("m0/000")
        seen.append((len(self.plots), top.renders if top is not None else 0))

    monkeypatch.setattr(RunDetailScreen, "on_plot_column_mounted", record)
    async with _run_view(db, 300) as (_, pilot, screen):
        top = screen.plots["m0/000"]
        await wait_until(pilot, lambda: "┤" in top.plain, what="the top plot")
    assert seen[0][0] == FIRST_PLOTS, seen
    assert any(count < 300 and drawn for count, drawn in seen), seen  # drawn before the last
    # (a chunk can be mounted before the message of the one before it is handled: counts repeat)
    assert [count for count, _ in seen] == sorted(count for count, _ in seen), seen


def test_histories_are_loaded_a_few_a_poll_in_the_order_asked_for(tmp_path: Path) -> None:
    """A run view of 300 metrics asked for 256 histories, and its top plots (asked for first)
    waited for the last of them: now the reader loads them in order, a batch a poll."""
    from tui.reader import SERIES_PER_POLL, DatabaseReader

    db = tmp_path / "wide.db"
    with tracker.init(project="p", name="wide", db=db, quiet=True, system_metrics=False) as run:
        run.log({f"m/{i:03d}": float(i) for i in range(60)}, step=0)
    reader = DatabaseReader(db)
    try:
        (record,) = reader.poll().runs
        wanted = [record.metrics[f"m/{i:03d}"].series_id for i in reversed(range(60))]
        reader.follow(wanted)
        batches = []
        while reader.loading():
            batches.append(list(reader.poll().loaded))
        assert [sid for batch in batches for sid in batch] == wanted
        assert [len(batch) for batch in batches] == [SERIES_PER_POLL, SERIES_PER_POLL, 12]
    finally:
        reader.close()


async def test_closing_a_pane_gives_the_keys_back_to_the_plots(tmp_path: Path) -> None:
    """After 4 4 (the console pane shown, then hidden) the keys went to the hidden pane:
    pgdn, end and the arrows no longer scrolled the plots (found by an outside tester)."""

    db = tmp_path / "many.db"
    with tracker.init(project="p", name="many", db=db, quiet=True, system_metrics=False) as run:
        for step in range(5):
            run.log({f"m/{i:02d}": i / (step + 1) for i in range(30)}, step=step)
    async with _run_view(db, 30) as (_, pilot, screen):
        column = screen.query_one("#detail-plots")
        await pilot.press("4", "4", "pagedown")
        await wait_until(pilot, lambda: column.scroll_y > 0, what="the plots scrolled")
        assert screen.focused is column
