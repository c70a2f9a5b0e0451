"""``tracktui 2>err.log``: the UI draws on the terminal (stdout), the file gets no screen."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import tracker

from .helpers import ROOT


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_a_redirected_stderr_gets_no_screen(db_path: Path, tmp_path: Path) -> None:
    run = tracker.init(name="streams", db=db_path, quiet=True, console=False)
    run.log({"loss": 1.0})
    run.finish()
    err = tmp_path / "err.log"
    main, secondary = pty.openpty()
    with err.open("wb") as err_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "--db", str(db_path)],
            stdin=secondary, stdout=secondary, stderr=err_file, close_fds=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
                 "COLUMNS": "100", "LINES": "30"},
        )  # fmt: skip
    os.close(secondary)
    try:
        screen = _read_until(main, b"streams", timeout=60)
        assert b"streams" in screen, "the UI drew on the terminal"
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            os.write(main, b"q")
            # keep reading: a terminal nobody reads fills up, and the app blocks writing to it
            _read_until(main, b"\x00", timeout=0.5)
        assert child.poll() is not None, "q quits"
    finally:
        if child.poll() is None:
            child.kill()
        os.close(main)
    assert child.returncode == 0
    written = err.read_bytes()
    assert b"\x1b[" not in written and b"streams" not in written, written[:200]


def test_with_no_terminal_at_all_it_refuses_instead_of_writing_screens(
    db_path: Path, tmp_path: Path
) -> None:
    """``tracktui >out 2>err`` with no controlling terminal (cron, a pipeline): one line on
    stderr saying why, exit status 2, and no screen written into either file."""
    run = tracker.init(name="r", db=db_path, quiet=True, system_metrics=False)
    run.finish()
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "--db", str(db_path)],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
            timeout=60,
        )
    assert done.returncode == 2
    assert out.read_text() == ""
    message = err.read_text()
    assert "needs a terminal" in message and "\x1b" not in message
