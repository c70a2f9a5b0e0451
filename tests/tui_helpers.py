"""Helpers for driving the TUI headless."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.cells import cell_len
from textual._compositor import LayoutUpdate

from tui.timings import FAST

# The viewer without its deliberate delays (FAST), but with a 20 ms frame: at frame_s=0 the
# reader re-reads without any pause for ``stream_quiet_s`` after each change, keeping a core
# busy (53,000 reads in the first 3 s of an app here, against 37) while the tests share two, and
# Textual's pilot waits after each key until the process looks idle. 20 ms is below the steps
# of wait_until, so no test waits longer for it.
TIMINGS = replace(FAST, frame_s=0.02)


async def wait_until(
    pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    """Return as soon as ``condition()`` holds (checked at once, then every 5 ms growing to
    50 ms); fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    step = 0.005
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(step)
        step = min(0.05, step * 1.5)


def screen_lines(app: Any) -> list[str]:
    """The text of each line of the whole screen as it would be written to the terminal (the
    screens below a modal and toasts included), without the styles."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    lines = update.strips if isinstance(update, LayoutUpdate) else []
    return ["".join(segment.text for strip in line for segment in strip) for line in lines]


def drawn_at(app: Any, width: int, height: int) -> bool:
    """The whole screen is drawn at this size: ``height`` lines of ``width`` cells each."""
    lines = screen_lines(app)
    return len(lines) == height and all(cell_len(line) == width for line in lines)


async def settle(pilot: Any, timeout: float = 10.0) -> None:
    """Wait until the app has nothing left to draw: no data frame pending, and the same screen
    (and frame count) after two idle turns in a row, for a snapshot of a settled view."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    seen: tuple[int, list[str]] | None = None
    while True:
        await pilot.pause()  # until the app is idle: the messages sent so far are handled
        now = (app.frames, screen_lines(app))
        if now == seen and app._pending is None and not app._frame_due:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the screen never settled")
        seen = now
