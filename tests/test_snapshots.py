"""Snapshot tests of the main views on the deterministic demo database and a fixed clock.

Review a changed snapshot (``pytest --snapshot-update`` writes the new SVG; open it) before
accepting it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tui.app import TrackTuiApp
from tui.demo_db import NOW, build_demo_database
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .tui_helpers import TIMINGS, settle, wait_until


@pytest.fixture
def demo_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo database as ``demo.db`` in the working folder: the header shows the path."""
    monkeypatch.chdir(tmp_path)
    path = Path("demo.db")
    build_demo_database(path)
    return path


def app_for(path: Path) -> TrackTuiApp:
    # No poll during a snapshot (the file does not change); trends start at once (FAST)
    return TrackTuiApp(path, clock=lambda: NOW, timings=replace(TIMINGS, poll_s=60.0), watch=False)


async def settled(pilot: Any) -> None:
    app = pilot.app
    await wait_until(
        pilot,
        lambda: app.screen.query(RunsTable) and app.screen.query_one(RunsTable).row_count == 6,
    )
    preview = app.screen.query_one("#preview-0", MetricPlot)
    await wait_until(pilot, lambda: bool(preview.lines))
    # trends and smoothed values arrive a moment after the first paint: wait for all of them
    await wait_until(pilot, lambda: len(app.model.extras) == 6 and not app.reader.pending_extras())
    await settle(pilot)


def test_runs_view_120x36(snap_compare: Any, demo_path: Path) -> None:
    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=settled)


def test_runs_view_80x24(snap_compare: Any, demo_path: Path) -> None:
    assert snap_compare(app_for(demo_path), terminal_size=(80, 24), run_before=settled)


def test_run_detail_view(snap_compare: Any, demo_path: Path) -> None:
    async def open_finished_run(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("down", "down", "down", "enter")  # lora-r16-lr0.001, finished
        detail = pilot.app.screen
        await wait_until(
            pilot, lambda: detail.plots and all(p.lines for p in detail.plots.values())
        )
        await settle(pilot)

    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=open_finished_run)


def test_smoothed_log_time_axis(snap_compare: Any, demo_path: Path) -> None:
    async def options(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("x", "l", "m")
        await settle(pilot)

    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=options)


def test_help_screen(snap_compare: Any, demo_path: Path) -> None:
    async def show_help(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(app_for(demo_path), terminal_size=(100, 30), run_before=show_help)


def test_compare_view(snap_compare: Any, demo_path: Path) -> None:
    async def compare_three(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("down", "down", "down", "space", "space", "space", "c")
        screen = pilot.app.screen
        await wait_until(
            pilot, lambda: screen.plots and all(len(p.lines) == 3 for p in screen.plots.values())
        )
        await settle(pilot)

    assert snap_compare(app_for(demo_path), terminal_size=(140, 40), run_before=compare_three)


def test_sorted_filtered_best(snap_compare: Any, demo_path: Path) -> None:
    async def sweep_view(pilot: Any) -> None:
        await settled(pilot)
        for key in ("slash", *"NOT status=crashed", "enter", "b"):
            await pilot.press(key)
        metrics = pilot.app.screen.metrics
        await pilot.press(*(["down"] * metrics.index("eval/loss")), "enter")
        table = pilot.app.screen.query_one(RunsTable)
        while table.column_ids[table.sort_cursor] != "best:train/loss":
            await pilot.press("right")
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app_for(demo_path), terminal_size=(140, 36), run_before=sweep_view)


def _media_view(presses: tuple[str, ...], ready: str) -> Any:
    """Open the finished run lora-r16-lr0.001 at its media pane, plots hidden, then press keys."""

    async def run_before(pilot: Any) -> None:
        from tui.widgets.media_pane import MediaPane

        await settled(pilot)
        await pilot.press("down", "down", "down", "3")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query(MediaPane)))
        pane = pilot.app.screen.query_one(MediaPane)
        await wait_until(pilot, lambda: len(pane._keys) == 4)
        await pilot.press("1", *presses)
        await wait_until(pilot, lambda: bool(pane.query(ready)))
        await settle(pilot)

    return run_before


@pytest.mark.parametrize(
    ("name", "presses", "ready"),
    [
        ("confusion", (), ".media-tile Static"),
        ("image", ("down",), "HalfcellImage"),
        ("table", ("down", "down"), "SamplesTable"),
        ("histogram", ("down", "down", "down", "left"), ".media-tile"),
    ],
    ids=["confusion", "image", "table", "histogram"],
)
def test_media_pane(
    snap_compare: Any, demo_path: Path, name: str, presses: tuple[str, ...], ready: str
) -> None:
    assert snap_compare(
        app_for(demo_path), terminal_size=(120, 36), run_before=_media_view(presses, ready)
    )


def test_console_pane(snap_compare: Any, demo_path: Path) -> None:
    async def console(pilot: Any) -> None:
        from textual.widgets import RichLog

        await settled(pilot)
        await pilot.press("down", "down", "down", "4")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query(RichLog)))
        log = pilot.app.screen.query_one(RichLog)
        await wait_until(pilot, lambda: len(log.lines) >= 16)
        await pilot.press("1", "f", *"loss 1.15", "enter")
        await settle(pilot)

    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=console)
