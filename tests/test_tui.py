"""The live TUI driven headless with Pilot: navigation, every binding, bad databases, injection,
live updates from another process, and that idle means idle."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.text import Text

import tracker
from tracker import store
from tracker.schema import SCHEMA_VERSION, open_for_writing
from tui.app import TrackTuiApp
from tui.demo_db import NOW, build_demo_database
from tui.screens.help import HelpScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .helpers import start_python
from .tui_helpers import wait_until


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    build_demo_database(path, runs=6, steps=300)
    return path


def make_app(path: Path, **options: object) -> TrackTuiApp:
    return TrackTuiApp(path, clock=lambda: NOW, poll_interval=0.2, **options)  # type: ignore[arg-type]


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
        await pilot.pause(0.1)
        assert "time (s)" in preview.plain


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
    app = make_app(demo_db)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6)
        await pilot.press("enter")
        await pilot.pause(0.3)
        for width, height in ((200, 60), (20, 6), size):
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.1)
        await pilot.press("escape", "q")


def _write_raw_run(path: Path, name: str, project: str) -> None:
    """A hostile file: names with markup and terminal escapes, written past the tracker's checks."""
    conn = open_for_writing(path)
    version = store.begin(conn)
    store.insert_run(
        conn,
        {"id": "evil0001", "project": project, "name": name, "created_at": NOW - 60, "host": "elsewhere",
         "pid": 1, "pid_start": None, "tags": '["[red]tag"]', "config": '{"[b]k": "\\u001b[2J"}', "summary": "{}"},
        version,
    )  # fmt: skip
    store.commit(conn)
    conn.close()


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
        await pilot.pause(0.3)
        assert app.is_running  # neither the click nor the markup quit the app
        config = str(app.screen.query_one("#detail-config-text").render())
        assert "[b]k" in config and "\x1b" not in config


@pytest.mark.parametrize(
    "prepare, expected",
    [
        ("missing", "No database here yet"),
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
        open_for_writing(db).close()
    elif prepare == "text":
        db.write_text("hello, not a database")
    elif prepare == "foreign":
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE experiments (id)")
        conn.commit()
        conn.close()
    elif prepare == "newer":
        open_for_writing(db).close()
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


LOGGER = """
import sys, time, tracker
run = tracker.init(name="live-one", db=sys.argv[1], quiet=True)
for step in range(400):
    run.log({"train/loss": 1.0 / (step + 1), "train/grad_norm": 0.5}, step=step)
    time.sleep(0.01)
run.finish()
"""


@pytest.mark.parametrize("watch", [True, False], ids=["watchdog", "poll-only"])
async def test_live_points_from_another_process_reach_the_plot(tmp_path: Path, watch: bool) -> None:
    db = tmp_path / "live.db"
    app = TrackTuiApp(db, poll_interval=0.25 if not watch else 5.0, watch=watch)
    async with app.run_test(size=(120, 36)) as pilot:
        child = start_python(LOGGER, str(db))
        try:
            await wait_until(
                pilot, lambda: table(app).row_count == 1, timeout=20, what="the live run"
            )
            preview = app.screen.query_one("#preview-0", MetricPlot)
            await wait_until(
                pilot, lambda: bool(preview.lines), timeout=20, what="the followed series"
            )
            buffer = preview.lines[0].buffer
            first = buffer.count
            await wait_until(
                pilot, lambda: buffer.count > first + 50, timeout=20, what="new points"
            )
            assert app.watcher is not None if watch else app.watcher is None
            if watch:
                assert app.watcher is not None and app.watcher.handler.events > 0
            child.wait(timeout=60)
            await wait_until(pilot, lambda: buffer.count == 400, timeout=20, what="every point")
            await wait_until(
                pilot, lambda: cell_text(app, 0, 0) == "✓", timeout=20, what="finished mark"
            )
        finally:
            child.kill()


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
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1 and cell_text(app, 0, 0) == "●")
        child.kill()
        child.wait()
        await wait_until(
            pilot, lambda: cell_text(app, 0, 0) == "†", timeout=10, what="crashed mark"
        )


async def test_idle_means_no_reads_and_no_redraws(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 6)
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines))
        await pilot.pause(0.5)
        reads, renders = app.reader.reads, preview.renders
        await pilot.pause(1.5)  # about 7 polls
        assert app.reader.reads == reads  # data_version unchanged: no query read anything
        assert preview.renders == renders  # nothing changed: the plot was not rebuilt
        assert not app.reader.conn.in_transaction  # type: ignore[union-attr]
