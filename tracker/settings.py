"""What the environment decides about a run: the ``$TRACKTUI_*`` switches and waits."""

from __future__ import annotations

import os
from pathlib import Path

FINISH_STALL_S = 30.0  # $TRACKTUI_FINISH_TIMEOUT: finish() gives up this long after the last write
INIT_TIMEOUT_S = 120.0  # $TRACKTUI_INIT_TIMEOUT: how long init() waits out other writers
_OFF = ("0", "false", "no", "off")


def _seconds(variable: str, default: float) -> float:
    try:
        return max(0.1, float(os.environ.get(variable, default)))
    except ValueError:
        return default


def finish_timeout() -> float:
    """How long ``finish()`` waits past the last successful write for the buffer to drain."""
    return _seconds("TRACKTUI_FINISH_TIMEOUT", FINISH_STALL_S)


def init_timeout() -> float:
    """How long ``init()`` waits for a database other processes keep locked (seconds)."""
    return _seconds("TRACKTUI_INIT_TIMEOUT", INIT_TIMEOUT_S)


def system_metrics_wanted(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    return os.environ.get("TRACKTUI_SYSTEM_METRICS", "1").strip().lower() not in _OFF


def default_project() -> str:
    return os.environ.get("TRACKTUI_PROJECT") or Path.cwd().name or "default"
