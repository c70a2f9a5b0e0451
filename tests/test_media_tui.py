"""The media and console panes driven headless: every kind of media, step scrubbing, the
prompt-across-steps view, console search, bad stored data, and live updates from a process
that is logging while the app watches."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.widgets import DataTable, OptionList, RichLog, Static

import tracker
from tui.app import TrackTuiApp
from tui.demo_db import NOW, build_demo_database
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.console_pane import ConsolePane
from tui.widgets.image_view import HalfcellImage
from tui.widgets.media_pane import MediaPane, SamplesTable

from .helpers import start_python
from .tui_helpers import TIMINGS, wait_until


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    build_demo_database(path, runs=3, steps=200)
    return path


def make_app(path: Path) -> TrackTuiApp:
    return TrackTuiApp(path, clock=lambda: NOW, timings=TIMINGS)


def rendered(widget: Static) -> str:
    """The text a Static shows, whatever Rich renderable it holds."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, (str, Text)):
        return str(content)
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


async def press_into_media(pilot: Any, app: TrackTuiApp, *keys: str) -> MediaPane:
    """Press ``keys``, then ``3``: the highlighted run's detail opens at its media pane."""
    await pilot.press(*keys, "3")
    await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="detail")
    return app.screen.query_one(MediaPane)


async def open_media(pilot: Any, app: TrackTuiApp) -> MediaPane:
    await wait_until(pilot, lambda: len(app.model.runs) == 3, what="runs")
    pane = await press_into_media(pilot, app, "down")
    await wait_until(pilot, lambda: len(pane._keys) == 4, what="media keys")
    return pane


def header(pane: MediaPane) -> str:
    return rendered(pane.query_one("#media-header", Static))


async def test_every_kind_and_step_scrubbing(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_media(pilot, app)
        assert pane._keys == [
            "eval/confusion",
            "eval/decision_map",
            "eval/generations",
            "grads/layer1",
        ]
        assert pane.query_one(OptionList).has_focus
        await wait_until(pilot, lambda: "accuracy" in _view_text(pane), what="confusion")
        assert "cat" in _view_text(pane) and "recall" in _view_text(pane)
        assert "step 199" in header(pane) and "live" in header(pane)

        await pilot.press("down")
        await wait_until(pilot, lambda: bool(pane.query(HalfcellImage)), what="image")
        assert "predicted class per input" in _view_text(pane)
        await pilot.press("left")
        assert "step 149" in header(pane) and "live" not in header(pane)
        await pilot.press("home")
        assert "step 49" in header(pane) and "(1/4)" in header(pane)
        await pilot.press("right", "right")
        assert "step 149" in header(pane)
        await pilot.press("end")
        assert "step 199" in header(pane) and "live" in header(pane)

        await pilot.press("down")
        await wait_until(pilot, lambda: bool(pane.query(SamplesTable)), what="table")
        grid = pane.query_one(SamplesTable)
        assert grid.row_count == 4
        assert "reference:" in rendered(grid.detail)
        grid.focus()
        await pilot.press("down")
        await wait_until(pilot, lambda: "Summarise" in rendered(grid.detail), what="row detail")
        await pilot.press("v")  # the highlighted prompt across every step
        await wait_until(
            pilot,
            lambda: any(not isinstance(t, SamplesTable) for t in pane.query(DataTable)),
            what="prompt view",
        )
        across = next(t for t in pane.query(DataTable) if not isinstance(t, SamplesTable))
        assert across.row_count == 4  # steps 49, 99, 149, 199
        assert [across.get_row_at(i)[0].plain for i in range(4)] == ["49", "99", "149", "199"]
        await pilot.press("v")
        await wait_until(pilot, lambda: bool(pane.query(SamplesTable)), what="table again")

        pane.query_one(OptionList).focus()
        await pilot.press("down")
        await wait_until(pilot, lambda: "n 2000" in _view_text(pane), what="histogram")
        assert "▀" in _view_text(pane)


def _view_text(pane: MediaPane) -> str:
    out = []
    for widget in pane.query("#media-view Static").results(Static):
        out.append(rendered(widget))
    return "\n".join(out)


async def test_console_pane_tails_and_searches(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 3, what="runs")
        await pilot.press("down", "4")
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="detail")
        pane = app.screen.query_one(ConsolePane)
        log = pane.query_one(RichLog)
        await wait_until(pilot, lambda: len(log.lines) >= 8, what="console lines")
        assert log.has_focus
        text = "\n".join(strip.text for strip in log.lines)
        assert "eval/loss" in text and "train   196/200" in text
        await pilot.press("f", *"accuracy 0.6", "enter")
        assert pane.query_text == "accuracy 0.6"
        assert "search" in rendered(pane.query_one("#console-header", Static))
        await pilot.press("n", "N")
        await pilot.press("escape")  # back to the runs table
        assert not isinstance(app.screen, RunDetailScreen)


async def test_media_and_console_follow_a_live_run(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    # It logs 10 steps and waits for a line on stdin while the panes are opened (keys are
    # pressed while the app is idle: Textual's pilot waits for that after each key), then goes
    # on logging, an image and a console line every 50 ms.
    child = start_python(
        """
        import sys, time
        import numpy as np
        import tracker
        run = tracker.init(db=sys.argv[1], name="live-media", quiet=True)
        for step in range(600):
            if step == 10:
                run.flush()
                sys.__stdout__.write("waiting\\n")
                sys.__stdout__.flush()
                sys.stdin.readline()
            run.log({"loss": 1.0 / (step + 1),
                     "img": tracker.Image(np.full((8, 8), step % 256, np.uint8))}, step=step)
            print(f"line {step}", flush=True)
            time.sleep(0.05)
        run.finish()
        """,
        str(db),
        stdin=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert [child.stdout.readline().strip() for _ in range(11)][-1] == "waiting"
        app = make_app(db)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: len(app.model.runs) == 1, timeout=30, what="run")
            await pilot.press("3", "4")
            await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            pane = app.screen.query_one(MediaPane)
            await wait_until(pilot, lambda: pane._keys == ["img"], timeout=20, what="key")
            await wait_until(pilot, lambda: "step 9" in header(pane), what="the last step")
            first = header(pane)
            child.stdin.write("go\n")
            child.stdin.flush()
            await wait_until(pilot, lambda: header(pane) != first, timeout=20, what="new step")
            assert "live" in header(pane)
            console = app.screen.query_one(ConsolePane)
            log = console.query_one(RichLog)
            await wait_until(pilot, lambda: len(log.lines) >= 2, timeout=20, what="lines")
            seen = len(log.lines)
            await wait_until(pilot, lambda: len(log.lines) > seen, timeout=20, what="more")
    finally:
        child.kill()
        child.wait()


async def test_markup_in_media_is_literal_and_bad_data_is_reported(tmp_path: Path) -> None:
    import numpy as np

    db = tmp_path / "odd.db"
    run = tracker.init(db=db, name="odd", quiet=True, console=False)
    run.log(
        {
            "t": tracker.Table(columns=["[bold]col"], rows=[["[red]x[/red] \x1b[2J"]]),
            "img": tracker.Image(np.zeros((4, 4), np.uint8), caption="[link=x]cap[/link]"),
        }
    )
    run.finish()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE media SET data = x'00ff' WHERE key = 'img'")  # damaged image data
    conn.commit()
    conn.close()
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 1, what="run")
        pane = await press_into_media(pilot, app)
        await wait_until(pilot, lambda: len(pane._keys) == 2, what="keys")
        await wait_until(pilot, lambda: "cannot be decoded" in _view_text(pane), what="error")
        assert "[link=x]cap[/link]" in _view_text(pane)
        await pilot.press("down")
        await wait_until(pilot, lambda: bool(pane.query(SamplesTable)), what="table")
        grid = pane.query_one(SamplesTable)
        cell = grid.get_row_at(0)[0]
        assert isinstance(cell, Text) and cell.plain == "[red]x[/red] \\x1b[2J"


async def test_a_run_without_media_says_so(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    run = tracker.init(db=db, name="plain", quiet=True, console=False)
    run.log({"loss": 1.0})
    run.finish()
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 1, what="run")
        pane = await press_into_media(pilot, app)
        await wait_until(pilot, lambda: "no media logged yet" in header(pane), what="empty")
        await pilot.press("left", "right", "home", "end", "v", "r")  # nothing to do: no crash
        await pilot.press("4")
        console = app.screen.query_one(ConsolePane)
        await wait_until(
            pilot, lambda: "0 lines" in rendered(console.query_one("#console-header", Static))
        )


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, False, "half cells"),
        ({"TERM": "xterm-kitty"}, True, "kitty graphics"),
        ({"KITTY_WINDOW_ID": "1", "TERM": "xterm-256color"}, True, "kitty graphics"),
        ({"TERM_PROGRAM": "WezTerm"}, True, "sixel"),
        ({"KONSOLE_VERSION": "230804"}, True, "sixel"),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, True, "half cells"),
        ({"TERM": "xterm-256color"}, True, "half cells"),
        ({"TRACKTUI_IMAGES": "sixel", "TMUX": "x"}, False, "sixel"),
    ],
)
def test_image_renderer_is_chosen_from_the_environment(
    env: dict[str, str], tty: bool, expected: str
) -> None:
    from tui.widgets.image_view import choose_renderer, renderer_name

    assert renderer_name(choose_renderer(env, tty)) == expected


async def test_compared_runs_share_one_step_cursor_and_prompt_view(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 3, what="runs")
        await pilot.press("space", "space", "space", "c", "3")
        pane = app.screen.query_one(MediaPane)
        assert len(pane.run_ids) == 3
        await wait_until(pilot, lambda: len(pane._keys) == 4, what="keys")
        await pilot.press("down")
        await wait_until(pilot, lambda: len(pane.query(HalfcellImage)) == 3, what="3 images")
        await pilot.press("home")
        titles = [rendered(t) for t in pane.query(".media-title").results(Static)]
        assert len(titles) == 3 and all("step 49" in t for t in titles)
        await pilot.press("down")
        await wait_until(pilot, lambda: len(pane.query(SamplesTable)) == 3, what="3 tables")
        pane.query_one(SamplesTable).focus()
        await pilot.press("v")
        await wait_until(
            pilot,
            lambda: any(not isinstance(t, SamplesTable) for t in pane.query(DataTable)),
            what="prompt view",
        )
        across = next(t for t in pane.query(DataTable) if not isinstance(t, SamplesTable))
        assert across.row_count == 12  # 3 runs x 4 steps
        runs = {across.get_row_at(i)[0].plain for i in range(12)}
        assert runs == {run.name for run in app.model.runs.values()}


async def test_a_huge_table_shows_its_first_thousand_rows(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    run = tracker.init(db=db, name="big", quiet=True, console=False)
    run.log(
        {"rows": tracker.Table(columns=["i", "text"], rows=[[i, "x" * 50] for i in range(5000)])}
    )
    run.finish()
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 1, what="run")
        pane = await press_into_media(pilot, app)
        await wait_until(pilot, lambda: bool(pane.query(SamplesTable)), what="table")
        grid = pane.query_one(SamplesTable)
        assert grid.row_count == 1001
        assert "4,000 more rows not shown" in grid.get_row_at(1000)[0].plain


async def test_leaving_a_run_stops_following_its_media(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_media(pilot, app)
        run_id = pane.run_ids[0]
        assert run_id in app.reader._media_runs
        await pilot.press("escape")
        assert run_id not in app.reader._media_runs and run_id not in app.model.media.runs
        pane = await press_into_media(pilot, app)  # opening it again reads it all again, once
        await wait_until(pilot, lambda: len(pane._keys) == 4, what="keys again")
        media = app.model.media.runs[run_id]
        assert all(len(items) == 4 for items in media.by_key.values())


async def test_every_image_renderer_draws_without_error(demo_db: Path) -> None:
    """Sixel and Kitty output cannot be seen headless, but building and drawing them must work."""
    from tui.widgets.image_view import SixelImage, TGPImage

    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_media(pilot, app)
        await pilot.press("down")
        await wait_until(pilot, lambda: bool(pane.query(HalfcellImage)), what="half cells")
        for kind, name in ((SixelImage, "sixel"), (TGPImage, "kitty")):
            await pilot.press("r")
            await wait_until(pilot, lambda: bool(pane.query(kind)), what=name)  # noqa: B023
            image = pane.query_one(kind)
            await wait_until(pilot, lambda: image.size.area > 0, what=f"{name} laid out")  # noqa: B023
            # drawn now, here: an error building or drawing the image fails the test
            region = Region(0, 0, image.size.width, image.size.height)
            assert len(image.render_lines(region)) == image.size.height, name
            assert app.is_running
        await pilot.press("r")
        await wait_until(pilot, lambda: bool(pane.query(HalfcellImage)), what="back")
        assert "half cells" in header(pane)


def test_media_are_decoded_for_display_off_the_ui_thread() -> None:
    """What the reader thread hands the UI: pictures cut to a display size, parsed tables, and
    a reason instead of an exception for anything it cannot decode."""
    import io

    from PIL import Image as PILImage

    from tracker.media.decoded import TableData
    from tui.media_decode import MAX_DISPLAY_SIDE, Unreadable, decode_for_display

    buffer = io.BytesIO()
    PILImage.new("L", (4000, 1000), 128).save(buffer, format="PNG")
    picture = decode_for_display("image", buffer.getvalue())
    assert isinstance(picture, PILImage.Image)
    assert picture.size == (MAX_DISPLAY_SIDE, 400) and picture.mode == "RGB"
    table = decode_for_display("table", b'{"columns": ["a"], "rows": [["x"]]}')
    assert table == TableData(["a"], [["x"]])
    assert isinstance(decode_for_display("table", b"{not json"), Unreadable)
    assert isinstance(decode_for_display("histogram", b'{"counts": [1], "edges": [0]}'), Unreadable)
    assert isinstance(decode_for_display("image", b"\x89PNG broken"), Unreadable)
    assert "cannot be shown" in decode_for_display("video", b"").reason  # type: ignore[union-attr]
