"""tracker: record training metrics, config and hardware into one SQLite file.

import tracker
run = tracker.init(project="llm-twin", config={"lr": 3e-4})
run.log({"train/loss": 1.23}, step=10)
run.finish()
"""

from __future__ import annotations

from typing import Any

from .errors import (
    DatabaseError,
    DatabaseUnavailable,
    FilterError,
    NewerSchemaError,
    NotATrackerDatabase,
    TrackerError,
)
from .recorder import Run, current_run, finish, init, log

__version__ = "0.1.0"

__all__ = [
    "DatabaseError",
    "DatabaseUnavailable",
    "FilterError",
    "NewerSchemaError",
    "NotATrackerDatabase",
    "Run",
    "TrackerError",
    "__version__",
    "finish",
    "init",
    "log",
]


def __getattr__(name: str) -> Any:
    if name == "run":  # wandb-style ``tracker.run``: the current run or None
        return current_run()
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
