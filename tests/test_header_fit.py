"""Text fitted to the terminal, never cut silently: the runs screen's header keeps the best-run
note whole, a failed run's error is shown whole on lines of its own (a very long one ends with
``…``), the hardware panel leaves out a bar or sparkline before a value's unit, and the config
list keeps keys whole on one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

import tracker
from tui.app import TrackTuiApp
from tui.formatting import (
    break_word,
    cut_cells,
    cut_cells_left,
    cut_cells_middle,
    fit_parts,
    format_with_unit,
    wrap_cells,
)
from tui.screens.pick_best import PickBestScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.view.run_text import mapping_entries
from tui.widgets.hardware import HardwarePanel, PanelGauge
from tui.widgets.runs_table import RunsTable

from .tui_helpers import wait_until

SIZE = (80, 24)
LONG_NAME = "lora-r32-lr0.003-warmup2000-cosine-seed1234"  # 43: the note cut names at 24


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


def test_a_long_value_breaks_between_its_parts_not_mid_word() -> None:
    """At 80x24 the run view's config pane is about 38 cells wide: a path or a joined name
    longer than that breaks after a separator (an outside tester saw them cut mid-word)."""
    assert break_word("/data/imagenet/train/shards/part-000123.tar", 20) == [
        "/data/imagenet/", "train/shards/part-", "000123.tar",
    ]  # fmt: skip
    assert wrap_cells("meta-llama/Llama-2-7b-chat-hf_finetuned_v2", 24, 5) == [
        "meta-llama/Llama-2-7b-", "chat-hf_finetuned_v2",
    ]  # fmt: skip
    assert break_word("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]  # no separator: at the end


@given(st.text(min_size=1, max_size=80).filter(lambda w: " " not in w), st.integers(2, 30))
def test_break_word_keeps_every_character_within_the_width(word: str, width: int) -> None:
    lines = break_word(word, width)
    assert "".join(lines) == word
    assert all(cell_len(line) <= width for line in lines if len(line) > 1)
    assert all(line for line in lines[:-1])


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


async def _pick_best(app: TrackTuiApp, pilot: Any, metric: str) -> None:
    """Mark the best run by ``metric`` with the picker (`b`)."""
    await pilot.press("b")
    picker = app.screen
    assert isinstance(picker, PickBestScreen)
    for _ in range(picker.metrics.index(metric)):
        await pilot.press("down")
    await pilot.press("enter")


async def test_the_runs_header_keeps_the_best_run_note_whole(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _finished_runs(db)
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_until(pilot, lambda: runs.query_one(RunsTable).row_count == 2, what="rows")
        assert len(header_lines(app)) == 1
        await _pick_best(app, pilot, "eval/accuracy_top1")
        await wait_until(pilot, lambda: runs.best is not None, what="the best run")
        note = f"★ eval/accuracy_top1 max 0.8: {LONG_NAME}"
        await wait_until(pilot, lambda: note in "\n".join(header_lines(app)), what="the note")
        lines = header_lines(app)
        assert any(note in line for line in lines), lines  # on one line, not broken
        assert all(cell_len(line) <= SIZE[0] - 2 for line in lines), lines
        assert runs.query_one("#header").size.height == len(lines) <= 3  # parts whole, on lines
        assert lines[0].startswith(" tracktui ") and "runs.db" in lines[0]


async def test_a_name_too_long_for_the_line_is_cut_in_its_middle(tmp_path: Path) -> None:
    """A 60-character name beside the note is wider than 80 columns: it was cut at its end
    (the seed and learning rate that tell a sweep's runs apart lost); now its middle goes."""
    db = tmp_path / "runs.db"
    long = "sweep-2026-12-02-lora-r32-alpha64-dropout0.05-lr0.003-seed77"
    assert len(long) == 60
    for index, name in enumerate((long, "short")):
        with tracker.init(name=name, db=db, quiet=True, system_metrics=False) as run:
            run.log({"eval/acc": 0.5 + index * 0.1 if name == "short" else 0.9})
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_until(pilot, lambda: runs.query_one(RunsTable).row_count == 2, what="rows")
        await _pick_best(app, pilot, "eval/acc")
        await wait_until(pilot, lambda: "★" in "\n".join(header_lines(app)), what="the note")
        lines = header_lines(app)
        (line,) = [line for line in lines if "★" in line]
        assert cell_len(line) <= SIZE[0] - 2, lines
        name = line.split(": ", 1)[1].strip()
        assert "…" in name and len(name) >= 40, line
        head, tail = name.split("…")
        assert long.startswith(head) and long.endswith(tail) and tail.endswith("seed77"), line


@given(st.text(st.characters(blacklist_characters="…"), max_size=80), st.integers(0, 90))
def test_a_middle_cut_keeps_a_start_and_an_end_in_the_width(text: str, width: int) -> None:
    cut = cut_cells_middle(text, width)
    assert cell_len(cut) <= width or cell_len(text) <= width
    if cut == text:
        assert cell_len(text) <= width
    else:
        head, _, tail = cut.partition("…")
        assert text.startswith(head) and text.endswith(tail)
        assert cell_len(cut) >= width - 2  # a wide character may leave a cell or two spare


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


# --- the run view at 80x24: hardware values keep their units, config keys stay whole ---------

GIB = 2.0**30
HARDWARE = {
    "sys/gpu/0/util": 97.0, "sys/gpu/0/mem_used": 41.5 * GIB, "sys/gpu/0/mem_total": 80 * GIB,
    "sys/gpu/0/run_mem": 39.25 * GIB, "sys/gpu/0/temp": 71.0, "sys/gpu/0/power": 612.0,
    "sys/gpu/0/sm_clock": 1755.0, "sys/cpu/util": 31.0, "sys/cpu/count": 16.0,
    "sys/cpu/load1": 1.71, "sys/proc/cpu": 104.0, "sys/mem/used": 1.3 * GIB,
    "sys/mem/total": 15.5 * GIB, "sys/proc/rss": 688.5 * 2.0**20, "sys/swap/used": 0.0,
    "sys/disk/used": 36.3 * GIB, "sys/disk/write_bps": 10.4e6,
}  # fmt: skip
CONFIG = {
    "lr": 0.003,
    "optimizer": {"name": "adamw", "weight_decay": 0.1, "betas": [0.9, 0.95]},
    "a_really_long_configuration_key_name_here": 3,
    "data_path": "/data/sets/imagenet/train with spaces in it",
}


def test_a_narrow_gauge_leaves_out_its_bar_before_its_unit() -> None:
    gauge = PanelGauge("GPU 0 run mem", "B", 80 * GIB)
    gauge.update_value(688.5 * 2.0**20, 80 * GIB)
    for width in range(10, 40):
        line = gauge.render_fitted(width)
        assert line.cell_len <= width, (width, line.plain)
        assert line.plain.endswith(" 688.5 MiB"), (width, line.plain)
    assert "░" in gauge.render_fitted(30).plain  # room for a bar: it is drawn
    assert "░" not in gauge.render_fitted(20).plain
    assert gauge.render_fitted(24).plain.startswith("GPU 0 run m…")  # cut, and says so


def _hardware_run(db: Path) -> None:
    run = tracker.init(
        name="hw", db=db, config=CONFIG, quiet=True, system_metrics=False, console=False
    )
    for step in range(3):
        run.log({"train/loss": 1.0 / (step + 1), **HARDWARE}, step=step)
    run.finish()


def _screen_lines(widget: Widget) -> list[str]:
    """The widget's lines as drawn on the screen, at its size."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return [strip.text.rstrip() for strip in widget.render_lines(region)]


async def test_the_run_view_at_80x24_keeps_units_and_whole_keys(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _hardware_run(db)
    app = TrackTuiApp(db, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_run(app, pilot)
        panel = detail.query_one("#detail-hardware", HardwarePanel)
        await wait_until(pilot, lambda: len(panel.gauges) >= 10, what="the gauges")
        await pilot.pause()
        for key, gauge in panel.gauges.items():
            assert isinstance(gauge, PanelGauge)
            (line,) = _screen_lines(gauge)
            value = format_with_unit(HARDWARE[key], gauge.unit)
            assert line.endswith(value), (key, line, gauge.size.width)
        (ram,) = _screen_lines(panel.gauges["sys/mem/used"])
        (rss,) = _screen_lines(panel.gauges["sys/proc/rss"])
        assert ram.startswith("RAM") and ram.endswith(" 1.3 GiB")
        assert rss.startswith("Run RSS") and rss.endswith(" 688.5 MiB")

        text = detail.query_one("#detail-config-text", Static)
        width = text.size.width
        assert width < 30  # narrow: a third of the terminal
        shown = _screen_lines(text)
        assert "lr = 0.003" in shown
        if "optimizer.name = adamw" not in shown:  # no room after the key: below it
            assert shown[shown.index("optimizer.name =") + 1] == "  adamw"
        assert all(cell_len(line) <= width for line in shown)
        keys = [k for k, _ in mapping_entries(CONFIG)]
        for line in shown:
            head = line.strip().split(" =")[0]
            if not head or line.startswith("  "):
                continue  # a value's continuation, indented
            assert any(
                k == head or (head.endswith("…") and k.startswith(head[:-1])) for k in keys
            ) or head in ("config", "summary", "(empty)"), (
                f"a key broken across lines: {line!r} in {shown}"
            )
        long_key = next(line for line in shown if line.startswith("a_really"))
        assert long_key.endswith("… =") and cell_len(long_key) <= width
        value_lines = shown[shown.index(next(x for x in shown if x.startswith("data_path"))) + 1 :]
        joined = "".join(x.replace(" ", "") for x in value_lines[:3])
        assert joined == str(CONFIG["data_path"]).replace(" ", "")  # whole, below its key
