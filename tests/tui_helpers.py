"""Helpers for driving the TUI headless."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


async def wait_until(
    pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    steps = int(timeout / 0.05)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")
