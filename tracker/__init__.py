"""tracker: record training metrics, config and hardware into one SQLite file.

import tracker
run = tracker.init(project="llm-twin", config={"lr": 3e-4})
run.log({"train/loss": 1.23}, step=10)
run.finish()
"""

from __future__ import annotations

from typing import Any

from . import plot
from .errors import (
    DatabaseError,
    DatabaseUnavailable,
    FilterError,
    NewerSchemaError,
    NotATrackerDatabase,
    TrackerError,
)
from .media import ConfusionMatrix, Histogram, Image, Table
from .recorder import Run, current_run, finish, init, log, unsupported

__version__ = "0.1.0"

__all__ = [
    "ConfusionMatrix",
    "DatabaseError",
    "DatabaseUnavailable",
    "FilterError",
    "Histogram",
    "Image",
    "NewerSchemaError",
    "NotATrackerDatabase",
    "Run",
    "Table",
    "TrackerError",
    "__version__",
    "finish",
    "init",
    "log",
    "plot",
]


# wandb functions that have no meaning here: accepted and ignored (one warning each).
watch = unsupported("watch")
unwatch = unsupported("unwatch")
define_metric = unsupported("define_metric")
save = unsupported("save")
alert = unsupported("alert")
log_artifact = unsupported("log_artifact")
use_artifact = unsupported("use_artifact")
login = unsupported("login")


def __getattr__(name: str) -> Any:
    # wandb-style ``tracker.run``, ``tracker.config``, ``tracker.summary`` of the current run
    if name == "run":
        return current_run()
    if name in ("config", "summary"):
        run = current_run()
        if run is None:
            raise AttributeError(f"tracker.{name} exists once tracker.init() has started a run")
        return getattr(run, name)
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
