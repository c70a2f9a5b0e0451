"""A hostile database: terminal escapes (titles, OSC 52 clipboard writes, screen clears, C1
CSI), bidi overrides, NUL and carriage returns in every text field. None of them may reach the
terminal raw: not from ``tracktui ls`` (table, CSV, Markdown, LaTeX, JSON), not from
``tracktui best``, not from any view of the TUI. ``--json`` keeps the strings exact."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual._compositor import LayoutUpdate

import tracker
from tracker.sanitize import UNSAFE_PATTERN, is_safe, safe_json, safe_text
from tui.app import TrackTuiApp
from tui.cli import main
from tui.demo_db import NOW
from tui.export import render
from tui.screens.compare import CompareScreen
from tui.screens.pick_best import PickBestScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.console_pane import ConsolePane
from tui.widgets.media_pane import MediaPane
from tui.widgets.runs_table import RunsTable
from tui.widgets.samples_table import SamplesTable

from .tui_helpers import TIMINGS, wait_until

RAW = re.compile(UNSAFE_PATTERN)
EVIL = "\x1b]0;pwned\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b2J\u202e\u2066\x00\r"
EVIL_ID = f"id{EVIL}1"
EVIL_NAME = f"é 日本 name{EVIL}"
EVIL_KEY = f"eval/acc{EVIL}"
EVIL_CONFIG = {f"lr{EVIL}": f"v{EVIL}", "opt": {f"nest{EVIL}": 1}, "plain": 1}
EVIL_SUMMARY = {f"best{EVIL}": f"s{EVIL}", "n": 2}


def assert_clean(text: str, where: str) -> None:
    found = RAW.search(text)
    if found is not None:
        start = max(0, found.start() - 30)
        raise AssertionError(f"raw {found.group()!r} in {where}: {text[start : start + 60]!r}")


def _rewrite(db: Path, old_id: str, new_id: str, name: str) -> None:
    """Put the escapes into every text column, behind the tracker's back."""
    conn = sqlite3.connect(db)
    with conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            if "run_id" in columns:
                conn.execute(f"UPDATE {table} SET run_id = ? WHERE run_id = ?", (new_id, old_id))
        conn.execute(
            "UPDATE runs SET id = ?, name = ?, project = ?, tags = ?, host = ?, error = ?,"
            " config = ?, summary = ? WHERE id = ?",
            (new_id, name, f"proj{EVIL}", json.dumps([f"tag{EVIL}"]), f"host{EVIL}",
             f"boom{EVIL}", json.dumps(EVIL_CONFIG), json.dumps(EVIL_SUMMARY), old_id),
        )  # fmt: skip
        conn.execute(
            "UPDATE series SET key = ? WHERE key = 'eval/acc' AND run_id = ?", (EVIL_KEY, new_id)
        )
        for media_id, kind, meta in conn.execute(
            "SELECT id, kind, meta FROM media WHERE run_id = ?", (new_id,)
        ).fetchall():
            fields = json.loads(meta)
            if kind == "image":
                fields["caption"] = f"cap{EVIL}"
            if kind == "histogram":
                fields["nonfinite"] = f"nf{EVIL}"
            if kind == "table":
                fields["columns"] = [f"col{EVIL}", "b"]
                data = json.dumps({"columns": [f"col{EVIL}", "b"], "rows": [[f"cell{EVIL}", 1]]})
                conn.execute("UPDATE media SET data = ? WHERE id = ?", (data.encode(), media_id))
            conn.execute(
                "UPDATE media SET meta = ?, key = key || ? WHERE id = ?",
                (json.dumps(fields), EVIL, media_id),
            )
        conn.execute(
            "INSERT INTO console (run_id, stream, t, text) VALUES (?, 1, ?, ?), (?, 2, ?, ?)",
            (new_id, NOW - 50, f"out{EVIL}\n\x1b[31mred\x1b[0m\n", new_id, NOW - 49, f"err{EVIL}\n"),
        )  # fmt: skip
    conn.close()


def _one_run(db: Path, label: str) -> str:
    run = tracker.init(
        db=db, project="p", name=label, config={"lr": 0.1}, quiet=True, console=False
    )
    for step in range(5):
        run.log({"train/loss": 1.0 / (step + 1), "eval/acc": 0.1 * step}, step=step)
    run.log(
        {
            "img": tracker.Image(np.zeros((4, 4), np.uint8), caption="c"),
            "samples": tracker.Table(columns=["a", "b"], rows=[["x", 1]]),
            "weights": tracker.Histogram([0.1, 0.2, 0.3, 0.3]),
        },
        step=5,
    )
    run.finish()
    return run.id


@pytest.fixture
def evil_db(tmp_path: Path) -> Path:
    db = tmp_path / "evil.db"
    first = _one_run(db, "a")
    second = _one_run(db, "b")
    _rewrite(db, first, EVIL_ID, EVIL_NAME)
    _rewrite(db, second, EVIL_ID + "2", EVIL_NAME + "2")
    return db


# --- the sanitizer itself -------------------------------------------------------------------


@given(st.text())
def test_safe_text_leaves_no_unsafe_character(text: str) -> None:
    for single_line in (True, False):
        shown = safe_text(text, single_line=single_line)
        assert RAW.search(shown) is None and is_safe(shown)
        assert shown == safe_text(text, single_line=single_line)  # the same every time
        assert safe_text(shown, single_line=single_line) == shown  # applying it twice: no-op
    assert "\n" not in safe_text(text)


@given(st.text().filter(lambda t: RAW.search(t) is None and "\n" not in t and "\t" not in t))
def test_safe_text_leaves_safe_text_alone(text: str) -> None:
    assert safe_text(text) == text and safe_text(text, single_line=False) == text


@given(st.recursive(st.none() | st.floats(allow_nan=False) | st.text(), lambda inner: (
    st.lists(inner) | st.dictionaries(st.text(), inner)
)))  # fmt: skip
def test_safe_json_is_valid_exact_and_has_no_raw_control(value: Any) -> None:
    text = safe_json(value)
    assert RAW.search(text) is None
    assert json.loads(text) == value


def test_escapes_are_visible_and_ordinary_unicode_stays() -> None:
    assert safe_text("a\x1b]0;t\x07\x9b\u202e\x00\rb") == "a\\x1b]0;t\\x07\\x9b\\u202e\\x00\\x0db"
    assert safe_text("é 日本 ✓") == "é 日本 ✓"
    assert safe_json(["é\u202e\x9b"], indent=None) == '["é\\u202e\\u009b"]'


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "csv", "md", "tex"])
def test_ls_prints_no_raw_control(
    evil_db: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", "--db", str(evil_db), "--format", fmt]) == 0
    out, err = capsys.readouterr()
    assert_clean(out + err, f"ls --format {fmt}")
    shown = "x1b\\]0;pwned" if fmt == "md" else "x1b]0;pwned"  # Markdown escapes its ']'
    assert shown in out and "u202e" in out and "é 日本" in out  # visible, not dropped


def test_ls_json_escapes_controls_and_round_trips(
    evil_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", "--db", str(evil_db), "--json"]) == 0
    out = capsys.readouterr().out
    assert_clean(out, "ls --json")
    assert "é 日本" in out and "\\u009b" in out and "\\u202e" in out
    runs = {run["id"]: run for run in json.loads(out)}
    run = runs[EVIL_ID]
    assert run["name"] == EVIL_NAME and run["project"] == f"proj{EVIL}"
    assert run["tags"] == [f"tag{EVIL}"] and run["host"] == f"host{EVIL}"
    assert run["config"] == EVIL_CONFIG and run["summary"] == EVIL_SUMMARY
    assert EVIL_KEY in run["metrics"]


def test_best_prints_no_raw_control(evil_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["best", "--metric", "train/loss", "--db", str(evil_db)]) == 0
    out, err = capsys.readouterr()
    assert_clean(out + err, "best")
    assert "\\x1b]52;c;cHduZWQ=" in out
    assert main(["best", "--metric", "train/loss", "--db", str(evil_db), "--json"]) == 0
    out = capsys.readouterr().out
    assert_clean(out, "best --json")
    assert json.loads(out)["id"] in (EVIL_ID, EVIL_ID + "2")
    assert main(["best", "--metric", "missing", "--db", str(evil_db)]) == 1
    out, err = capsys.readouterr()
    assert_clean(out + err, "best with no such metric")  # the hint lists the stored keys


def test_every_export_format_is_safe() -> None:
    for kind in ("csv", "md", "tex"):
        assert_clean(render(kind, [f"h{EVIL}"], [[EVIL], ["ok"]]), kind)


# --- the TUI ---------------------------------------------------------------------------------


def screen_text(app: TrackTuiApp) -> str:
    """The text of every segment the whole screen (toasts and the screens below a modal
    included) would write to the terminal: everything but the sequences Textual makes from
    styles and cursor moves."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    lines = update.strips if isinstance(update, LayoutUpdate) else []
    return "\n".join("".join(s.text for strip in line for s in strip) for line in lines)


async def check_screen(pilot: Any, app: TrackTuiApp, where: str) -> str:
    await pilot.pause()
    text = screen_text(app)
    assert_clean(text, where)
    return text


async def test_no_view_of_the_tui_shows_a_raw_control(evil_db: Path, tmp_path: Path) -> None:
    app = TrackTuiApp(evil_db, clock=lambda: NOW, timings=TIMINGS)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.row_count == 2 and table.complete, what="rows")
        await wait_until(pilot, lambda: "pwned" in screen_text(app), what="the preview")
        await check_screen(pilot, app, "the runs table")

        await pilot.press("b")  # pick the best by the hostile key: its toast names it
        screen = app.screen
        assert isinstance(screen, PickBestScreen)
        await check_screen(pilot, app, "pick best")
        await pilot.press(*(["down"] * screen.metrics.index(EVIL_KEY)), "enter")
        await wait_until(pilot, lambda: "best by" in screen_text(app), what="the toast")
        await check_screen(pilot, app, "the best toast")

        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, RunDetailScreen)
        await wait_until(pilot, lambda: "host" in screen_text(app), what="the run header")
        await wait_until(pilot, lambda: "nest" in screen_text(app), what="config and summary")
        await check_screen(pilot, app, "the run view with config and summary")

        await pilot.press("3")
        media = detail.query_one(MediaPane)
        await wait_until(pilot, lambda: len(media._keys) == 3, what="media keys")
        seen = {"image": "cap", "table": "cell", "histogram": "NaN/inf"}
        for _ in range(3):
            kind = next(i.kind for r in media.run_ids for i in media._items(r, media.key or ""))
            if kind == "table":
                await wait_until(pilot, lambda: bool(media.query(SamplesTable)), what="table")
            marker = seen[kind]
            await wait_until(pilot, lambda: marker in screen_text(app), what=kind)  # noqa: B023
            await check_screen(pilot, app, f"the media pane: {kind}")
            await pilot.press("down")
        await pilot.press("3", "4")
        console = detail.query_one(ConsolePane)
        await wait_until(pilot, lambda: "err" in screen_text(app), what="console lines")
        text = await check_screen(pilot, app, "the console pane")
        assert "out\\x9b2J\\u202e" in text and "red" in text  # ESC sequences dropped, C1 shown
        assert console.run_id is not None

        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("space", "down", "space", "c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        await wait_until(pilot, lambda: "compare" in screen_text(app), what="compare view")
        await wait_until(pilot, lambda: "best" in screen_text(app), what="compare tables")
        await check_screen(pilot, app, "the compare view")
        await pilot.press("escape", "e")
        target = tmp_path / "out.md"
        await pilot.press("f2")
        app.screen.query_one("#export-path").value = str(target)  # type: ignore[attr-defined]
        await check_screen(pilot, app, "the export screen")
        await pilot.press("enter")
        await wait_until(pilot, target.exists, what="the export file")
        assert_clean(target.read_text(encoding="utf-8"), "the exported file")
        assert_clean(app.clipboard, "the clipboard")
        await check_screen(pilot, app, "the export toast")


def test_a_markdown_export_shows_names_as_they_are() -> None:
    """A name with backticks and ``*em*`` came out as code and italics in the Markdown table."""
    import html

    from markdown_it import MarkdownIt

    name = "a*b* `c` x_y [l](u) <s> | \\ ~~d~~ #1"
    rendered = MarkdownIt("commonmark").enable("table").render(render("md", ["name"], [[name]]))
    assert "<em>" not in rendered and "<code>" not in rendered and "<a " not in rendered
    cell = rendered.split("<td>", 1)[1].split("</td>", 1)[0]
    assert html.unescape(cell) == name


def test_a_latex_export_holds_only_what_pdflatex_sets() -> None:
    """The table flags a series with NaN/inf with ``⚠``: pdflatex stops at it."""
    tex = render(
        "tex",
        ["loss", "a_b", "health", "trend"],
        [["0.52 ⚠", "50% & $x^2$ #1 {y} ~", "⚠3 ∅↑", "█▃▁"]],
    )
    assert "⚠" not in tex and "0.52 (!)" in tex
    assert tex.isascii(), "the health glyphs and the trend's blocks stop pdflatex too"
    body = tex.splitlines()[4]
    assert (
        body
        == r"0.52 (!) & 50\% \& \$x\textasciicircum{}2\$ \#1 \{y\} \textasciitilde{} & (!)3 &  \\"
    )
    assert "lr-ü" in render("tex", ["name"], [["lr-ü"]]), "letters are kept"
