"""What the views cut, shown whole: six runs' values in the compare view (a page of runs at a
time when they do not fit), a failed run's whole error (a traceback's exception in the header,
every line in the side pane) and console lines longer than the pane (wrapped, once per width)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RichLog

import tracker
from tui.app import TrackTuiApp
from tui.formatting import format_number
from tui.screens.compare import CompareScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.console_pane import ConsolePane
from tui.widgets.runs_table import RunsTable

from .helpers import run_python
from .tui_helpers import TIMINGS, screen_lines, wait_until

SIZES = [(120, 36), (80, 24)]


def _app(db: Path) -> TrackTuiApp:
    return TrackTuiApp(db, timings=TIMINGS)


def _tokens(app: Any) -> set[str]:
    text = " ".join(screen_lines(app))
    for rule in "│┃┆╎":
        text = text.replace(rule, " ")
    return set(text.split())


async def _rows(app: TrackTuiApp, pilot: Any, count: int) -> RunsTable:
    def ready() -> bool:
        screen = app.screen
        return isinstance(screen, RunsScreen) and screen.query_one(RunsTable).row_count == count

    await wait_until(pilot, ready, what=f"{count} rows")
    return app.screen.query_one(RunsTable)


# --- 1. the compare view: six runs' values whole -------------------------------------------


@pytest.fixture
def six_runs(tmp_path: Path) -> tuple[Path, list[str]]:
    db = tmp_path / "runs.db"
    values: list[str] = []
    for i in range(6):
        config = {"lr": 0.000123456 * (i + 1), "batch_size": 32 * (i + 1), "seed": 1000 + i}
        run = tracker.init(
            name=f"sweep-{i}", config=config, db=db, quiet=True, system_metrics=False,
            console=False,
        )  # fmt: skip
        loss = 123456.789 + 13_579.1 * i
        for step in range(3):
            run.log(
                {
                    "train/loss": loss - step,
                    "eval/loss": 0.000987654 * (i + 2) - step * 1e-6,
                    "train/grad_norm": 12.3456789 * (i + 1) + step,
                },
                step=step,
            )
        run.finish()
        values += [
            format_number(loss - 2),
            format_number(0.000987654 * (i + 2) - 2e-6),
            format_number(config["lr"]),
        ]
    return db, values


@pytest.mark.parametrize("size", SIZES)
async def test_compare_shows_six_runs_values_whole(
    six_runs: tuple[Path, list[str]], size: tuple[int, int]
) -> None:
    db, values = six_runs
    assert len(set(values)) == len(values)  # each value its own, to be found on the screen
    app = _app(db)
    async with app.run_test(size=size) as pilot:
        await _rows(app, pilot, 6)
        await pilot.press(*["space"] * 6, "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_until(pilot, lambda: bool(_tokens(app) & set(values)), what="the values")
        per_page = screen.per_page
        assert 1 <= per_page < 6  # six do not fit side by side at these sizes
        pages = -(-6 // per_page)
        seen: set[str] = set()
        for page in range(pages):
            lines = screen_lines(app)
            shown = f"runs {page * per_page + 1}–{min(6, (page + 1) * per_page)} of 6"
            await wait_until(pilot, lambda s=shown: s in " ".join(screen_lines(app)), what=shown)
            seen |= _tokens(app) & set(values)
            assert "(] [ more)" in " ".join(lines)
            await pilot.press("right_square_bracket")
        assert seen == set(values)  # every value of every run, each whole, on some page
        # back to the first page after the last
        await wait_until(pilot, lambda: "runs 1–" in " ".join(screen_lines(app)))
        await pilot.press("left_square_bracket")
        last = "of 6 (] [ more)"
        assert last in " ".join(screen_lines(app))


async def test_compare_of_two_runs_has_no_pages(six_runs: tuple[Path, list[str]]) -> None:
    db, values = six_runs
    app = _app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await _rows(app, pilot, 6)
        await pilot.press("space", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_until(pilot, lambda: len(_tokens(app) & set(values)) == 6, what="2 runs' values")
        assert screen.per_page >= 2
        assert "of 2" not in " ".join(screen_lines(app))


# --- 2. a failed run's whole error ---------------------------------------------------------

TRACEBACK = """Traceback (most recent call last):
  File "train.py", line 88, in <module>
    main()
  File "train.py", line 41, in main
    loss = model(batch)
RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"""


def _failed(db: Path, error: str) -> None:
    run = tracker.init(name="crashes", db=db, quiet=True, system_metrics=False, console=False)
    run.log({"train/loss": 1.0})
    run.finish(exit_code=1, error=error)


async def _open(app: TrackTuiApp, pilot: Any) -> RunDetailScreen:
    await _rows(app, pilot, 1)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="the run")
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


def _header(app: TrackTuiApp) -> list[str]:
    return str(app.screen.query_one("#header").render()).split("\n")


@pytest.mark.parametrize("size", SIZES)
async def test_a_traceback_shows_its_exception_in_the_header_and_whole_beside(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    db = tmp_path / "runs.db"
    _failed(db, TRACEBACK)
    app = _app(db)
    async with app.run_test(size=size) as pilot:
        screen = await _open(app, pilot)
        await wait_until(pilot, lambda: "RuntimeError" in " ".join(_header(app)), what="error")
        header = _header(app)
        assert len(header) <= 2 + 3
        assert "Traceback" not in " ".join(header)  # the exception, not the traceback's start
        assert " ".join(line.strip() for line in header[1:]).endswith("2.00 GiB")
        pane = screen.query_one("#detail-error")
        assert pane.display
        words = TRACEBACK.split()
        await wait_until(pilot, lambda: "Traceback" in _tokens(app), what="the side pane")
        # every line of it, wrapped in the side pane (scrolled to where needed)
        config = screen.query_one("#detail-config")
        seen: set[str] = set()
        for _ in range(10):
            seen |= _tokens(app)
            if set(words) <= seen or config.scroll_y >= config.max_scroll_y:
                break
            config.scroll_to(y=config.scroll_y + 3, animate=False)
            await pilot.pause()
        assert set(words) <= seen, set(words) - seen


async def test_a_very_long_error_is_whole_in_the_side_pane(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _failed(db, "ValueError: " + "shapes do not match " * 40 + "END")
    app = _app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await _open(app, pilot)
        await wait_until(pilot, lambda: "ValueError" in " ".join(_header(app)), what="error")
        header = _header(app)
        assert len(header) == 2 + 3 or len(header) == 1 + 3
        assert header[-1].endswith("…") and "END" not in " ".join(header)
        await wait_until(pilot, lambda: "END" in _tokens(app), what="the error's end beside")
        assert " ".join(screen_lines(app)).count("shapes") > 3 * 5


# --- 3. console lines longer than the pane wrap --------------------------------------------

WORDS = [f"w{i:03d}" for i in range(100)]
PRINTS = f"""
import sys
import tracker
run = tracker.init(db=sys.argv[1], name="printer", quiet=True)
for i in range(2000):
    print(f"line {{i}}")
print({" ".join(WORDS)!r}, flush=True)
run.finish()
"""


def _log_words(log: RichLog) -> set[str]:
    """The words of the log's last rows, as written (wrapped: no row wider than the log)."""
    return {word for strip in log.lines[-40:] for word in strip.text.split()}


@pytest.mark.parametrize("size", SIZES)
async def test_long_console_lines_wrap_and_rewrap_only_on_resize(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    db = tmp_path / "runs.db"
    run_python(PRINTS, str(db))
    app = _app(db)
    async with app.run_test(size=size) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("4")
        pane = screen.query_one(ConsolePane)
        log = pane.query_one(RichLog)
        # (under load this caught the log opened at its first line: it was not laid out yet)
        await wait_until(pilot, lambda: set(WORDS) <= _tokens(app), what="the whole long line")
        assert len(log.lines) >= 2001 + 1  # the long line takes rows of its own
        rewrites: list[int] = []
        original = pane._rewrite

        def counted(model: Any) -> None:
            rewrites.append(1)
            original(model)

        pane._rewrite = counted  # type: ignore[method-assign]
        rows = len(log.lines)
        for _ in range(3):  # nothing new: nothing written again
            pane.refresh_console()
        assert rewrites == [] and len(log.lines) == rows
        width = size[0] - 40
        await pilot.resize_terminal(width, size[1])
        await wait_until(pilot, lambda: pane._width == log.scrollable_content_region.width)
        await wait_until(pilot, lambda: set(WORDS) <= _log_words(log), what="rewrapped")
        assert all(strip.cell_length <= log.scrollable_content_region.width for strip in log.lines)
        assert len(rewrites) == 1  # once for the new width
        assert len(log.lines) > rows  # narrower: the long line on more rows
        # a search still scrolls to its match's row
        await pilot.press("home")
        await pilot.press("f", *"line 5", "enter")
        await wait_until(pilot, lambda: "line 5" in " ".join(screen_lines(app)), what="match")
