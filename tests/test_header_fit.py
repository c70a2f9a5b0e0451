"""Text fitted to the terminal, never cut silently: the runs screen's header keeps the best-run
note whole, a failed run's error is shown whole on lines of its own (a very long one ends with
``…``), the hardware panel leaves out a bar or sparkline before a value's unit, and the config
list keeps keys whole on one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

import tracker
from tui.app import TrackTuiApp
from tui.formatting import cut_cells, cut_cells_left, fit_parts, wrap_cells
from tui.screens.pick_best import PickBestScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.runs_table import RunsTable

from .tui_helpers import wait_until

SIZE = (80, 24)
LONG_NAME = "lora-r32-lr0.003-warmup"  # 23 characters: the note's name is cut at 24


def header_lines(app: TrackTuiApp) -> list[str]:
    return str(app.screen.query_one("#header", Static).render()).split("\n")


def test_cut_cells_marks_the_cut() -> None:
    assert cut_cells("abcdef", 6) == "abcdef"
    assert cut_cells("abcdef", 4) == "abc…"
    assert (
        cut_cells("日本語テキスト", 5) == "日本…" and cell_len(cut_cells("日本語テキスト", 5)) <= 5
    )
    assert cut_cells_left("/home/me/runs/demo.db", 10) == "…s/demo.db"


def test_wrap_cells_breaks_at_spaces_and_ends_a_cut_with_an_ellipsis() -> None:
    error = "AttributeError: module 'torch' has no attribute 'compile'"
    assert wrap_cells(error, 30, 3) == [
        "AttributeError: module 'torch'",
        "has no attribute 'compile'",
    ]
    assert " ".join(wrap_cells(error, 30, 3)) == error
    lines = wrap_cells("word " * 50, 20, 2)
    assert len(lines) == 2 and lines[-1].endswith("…") and all(len(x) <= 20 for x in lines)
    assert wrap_cells("x" * 25, 10, 3) == ["x" * 10, "x" * 10, "x" * 5]


def test_fit_parts_moves_a_part_whole_to_the_next_line() -> None:
    parts = [Text(" app "), Text("  path"), Text("   a long note here"), Text("   ? keys")]
    assert [x.plain for x in fit_parts(parts, 80, optional={3})] == [
        " app   path   a long note here   ? keys"
    ]
    assert [x.plain for x in fit_parts(parts, 24, optional={3})] == [
        " app   path",
        "a long note here",
    ]
    cut = fit_parts([Text("x" * 30), Text("   y" * 30)], 20, max_lines=2)
    assert len(cut) == 2 and cut[-1].plain.endswith("…")
    assert all(line.cell_len <= 20 for line in cut)


def _finished_runs(db: Path) -> None:
    for index, name in enumerate(("baseline", LONG_NAME)):
        run = tracker.init(name=name, db=db, quiet=True, system_metrics=False, console=False)
        for step in range(5):
            run.log(
                {"eval/accuracy_top1": 0.1 * step * (index + 1), "train/loss": 1.0 / (step + 1)}
            )
        run.finish()


async def test_the_runs_header_keeps_the_best_run_note_whole(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _finished_runs(db)
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_until(pilot, lambda: runs.query_one(RunsTable).row_count == 2, what="rows")
        assert len(header_lines(app)) == 1
        await pilot.press("b")
        picker = app.screen
        assert isinstance(picker, PickBestScreen)
        for _ in range(picker.metrics.index("eval/accuracy_top1")):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(pilot, lambda: runs.best is not None, what="the best run")
        note = f"★ eval/accuracy_top1 max 0.8: {LONG_NAME}"
        await wait_until(pilot, lambda: note in "\n".join(header_lines(app)), what="the note")
        lines = header_lines(app)
        assert any(note in line for line in lines), lines  # on one line, not broken
        assert all(cell_len(line) <= SIZE[0] - 2 for line in lines), lines
        assert runs.query_one("#header").size.height == len(lines) == 2
        assert lines[0].startswith(" tracktui ") and "runs.db" in lines[0]


ERROR = "AttributeError: module 'torch' has no attribute 'compile_mode_reduce_overhead' (did you mean: 'compile'?)"


def _failed_run(db: Path, message: str) -> None:
    with (
        pytest.raises(AttributeError),
        tracker.init(name="crashes", db=db, quiet=True, system_metrics=False, console=False) as run,
    ):
        run.log({"train/loss": 1.0})
        raise AttributeError(message)


async def _open_run(app: TrackTuiApp, pilot: object) -> RunDetailScreen:
    await wait_until(
        pilot,
        lambda: app.screen.query(RunsTable) and app.screen.query_one(RunsTable).row_count == 1,
    )
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="the run")
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


async def test_a_failed_runs_error_is_shown_whole(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _failed_run(db, ERROR.removeprefix("AttributeError: "))
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_run(app, pilot)
        await wait_until(pilot, lambda: "AttributeError" in "".join(header_lines(app)))
        lines = header_lines(app)
        assert "crashes" in lines[0] and "failed" in lines[0]
        error_lines = [line.strip() for line in lines if "crashes" not in line]
        assert " ".join(error_lines) == ERROR
        assert all(cell_len(line) <= SIZE[0] - 2 for line in lines), lines
        assert detail.query_one("#header").size.height == len(lines)
        await pilot.resize_terminal(160, 30)  # wider: the error fits on one line of its own
        await wait_until(pilot, lambda: len(header_lines(app)) == 2, what="a wider header")
        assert header_lines(app)[1].strip() == ERROR


async def test_a_very_long_error_is_cut_with_an_ellipsis(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    message = "shapes do not match " * 40 + "END"
    _failed_run(db, message)
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await _open_run(app, pilot)
        await wait_until(pilot, lambda: "AttributeError" in "".join(header_lines(app)))
        lines = header_lines(app)
        assert len(lines) == 1 + 3 and lines[-1].endswith("…") and "END" not in lines[-1]
        assert lines[1].strip().startswith("AttributeError: shapes do not match")
        assert all(cell_len(line) <= SIZE[0] - 2 for line in lines), lines
