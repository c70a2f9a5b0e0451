"""Console capture: what a run prints is recorded, and what the user sees does not change."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

import tracker
from tracker.console import ConsoleTee, collapse_carriage_returns
from tui.console_log import ConsoleLog

from .helpers import run_python

SCRIPT = """
import logging, sys, time
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
import tracker
run = tracker.init(db=sys.argv[1], name="printer", quiet=True, **CONSOLE)
print("plain line", flush=True)
print("ünïcödé [bold]markup[/bold] \\x1b[31mred\\x1b[0m")
logging.info("from logging")
for i in range(1, 6):
    sys.stderr.write(f"\\rbar {i * 20}%")
    sys.stderr.flush()
    time.sleep(0.03)
sys.stderr.write("\\n")
sys.stdout.write("no newline at the end")
run.finish()
print("after finish")
"""


def _console(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT stream, text FROM console ORDER BY id").fetchall()
    finally:
        conn.close()


def test_output_is_recorded_and_unchanged(db_path: Path, tmp_path: Path) -> None:
    captured = run_python(SCRIPT.replace("**CONSOLE", ""), str(db_path))
    plain = run_python(SCRIPT.replace("**CONSOLE", "console=False"), str(tmp_path / "other.db"))
    assert captured.stdout == plain.stdout  # byte for byte what the user saw
    assert captured.stderr == plain.stderr
    assert "after finish" in captured.stdout
    rows = _console(db_path)
    log = ConsoleLog()
    for stream, text in rows:
        log.feed(stream, 0.0, text)
    lines = [line.text for line in log.shown()]
    assert lines == [
        "plain line",
        "ünïcödé [bold]markup[/bold] red",
        "INFO from logging",
        "bar 100%",
        "no newline at the end",
    ]
    stderr_lines = {line.text for line in log.shown() if line.stream == 2}
    assert stderr_lines == {"INFO from logging", "bar 100%"}
    assert not any("after finish" in text for _, text in rows)
    assert _console(tmp_path / "other.db") == []


def test_off_by_environment(db_path: Path) -> None:
    run_python(SCRIPT.replace("**CONSOLE", ""), str(db_path), env={"TRACKTUI_CONSOLE": "0"})
    assert _console(db_path) == []


def test_streams_are_restored_and_behave_like_the_originals(db_path: Path) -> None:
    before_out, before_err = sys.stdout, sys.stderr
    run = tracker.init(db=db_path, quiet=True)
    assert isinstance(sys.stdout, ConsoleTee)
    assert sys.stdout.isatty() == before_out.isatty()
    assert sys.stdout.encoding == before_out.encoding
    print("inside", end="")
    run.finish()
    assert sys.stdout is before_out and sys.stderr is before_err
    assert _console(db_path) == [(1, "inside")]


def test_capture_never_breaks_printing(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    assert isinstance(sys.stdout, ConsoleTee)
    sys.stdout._queue = None  # type: ignore[attr-defined, assignment]  # a broken sink
    print("still printed")
    run.finish()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain\n", "plain\n"),
        ("\ra 10%\ra 20%\ra 30%", "\ra 30%"),
        ("a 10%\ra 20%\n", "\ra 20%\n"),
        ("x\ry\nz\rw\n", "\ry\n\rw\n"),
        ("a 10%\r", "\ra 10%\r"),
        ("a 1\ra 2\r", "\ra 2\r"),
    ],
)
def test_collapse_keeps_the_last_state_of_each_bar(text: str, expected: str) -> None:
    assert collapse_carriage_returns(text) == expected


def test_console_log_behaves_like_a_terminal() -> None:
    log = ConsoleLog(max_lines=3)
    log.feed(1, 1.0, "first\r\nsecond\n")
    log.feed(2, 2.0, "\rbar 10%")
    log.feed(2, 3.0, "\rbar 90%")
    assert [line.text for line in log.shown()] == ["first", "second", "bar 90%"]
    log.feed(1, 4.0, "\n\x1b[1mbold\x1b[0m \x07bell\n")
    assert [line.text for line in log.shown()] == ["second", "bar 90%", "bold \\x07bell"]
    assert log.total == 4


def test_a_real_tqdm_bar_is_stored_as_its_states_not_every_redraw(db_path: Path) -> None:
    pytest.importorskip("tqdm")
    result = run_python(
        """
        import sys, time
        import tracker
        from tqdm import tqdm
        run = tracker.init(db=sys.argv[1], quiet=True)
        for _ in tqdm(range(300), desc="epoch 1", mininterval=0, ascii=True):
            time.sleep(0.002)
        print("done")
        run.finish()
        """,
        str(db_path),
    )
    redraws = result.stderr.count("epoch 1:")
    assert redraws >= 300  # tqdm redrew the bar on every step, and the user saw all of it
    rows = _console(db_path)
    stored = sum(text.count("epoch 1:") for _, text in rows)
    assert stored < redraws / 3  # one state per write batch, not one per redraw
    log = ConsoleLog()
    for stream, text in rows:
        log.feed(stream, 0.0, text)
    lines = [line.text for line in log.shown()]
    assert lines[-1] == "done"
    assert lines[-2].startswith("epoch 1: 100%") and "300/300" in lines[-2]
