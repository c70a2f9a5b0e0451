"""tracker: record training metrics, config and hardware into one SQLite file.

import tracker
run = tracker.init(project="llm-twin", config={"lr": 3e-4})
run.log({"train/loss": 1.23}, step=10)
run.finish()

Scripts written for wandb run with ``import tracker as wandb``: the names below are wandb's,
with wandb's meaning (README, "wandb-style code", says what is supported and what is not).
"""

from __future__ import annotations

from typing import Any

from . import plot, util
from .current import (
    Artifact,
    Audio,
    Html,
    Molecule,
    Object3D,
    Settings,
    Video,
    alert,
    config,
    define_metric,
    finish,
    init,
    log,
    summary,
    unsupported,
    unwatch,
    watch,
)
from .errors import (
    DatabaseError,
    DatabaseUnavailable,
    FilterError,
    NewerSchemaError,
    NotATrackerDatabase,
    ResumeError,
    TrackerError,
)
from .media import BoundingBoxes2D, Classes, ConfusionMatrix, Histogram, Image, ImageMask, Table
from .recorder import Run, current_run
from .run_surface import AlertLevel

__version__ = "0.1.0"

# wandb functions that have no meaning here: accepted and ignored (one warning each).
save = unsupported("save", "files stay where the script wrote them")
log_artifact = unsupported("log_artifact", "artifacts are not stored")
use_artifact = unsupported("use_artifact", "artifacts are not stored")
log_code = unsupported("log_code", "code is not stored")
log_model = unsupported("log_model", "models are not stored")
login = unsupported("login", "tracktui needs no account")
plot_table = plot.plot_table
restore = unsupported("restore", "files are not uploaded, so there is nothing to restore")
setup = unsupported("setup")


def require(*requirements: Any, **options: Any) -> None:
    """wandb's ``require("core")``: a switch for wandb's own internals; nothing to do here."""


teardown = unsupported("teardown")

__all__ = [
    "AlertLevel",
    "Artifact",
    "Audio",
    "BoundingBoxes2D",
    "Classes",
    "ConfusionMatrix",
    "DatabaseError",
    "DatabaseUnavailable",
    "FilterError",
    "Histogram",
    "Html",
    "Image",
    "ImageMask",
    "Molecule",
    "NewerSchemaError",
    "NotATrackerDatabase",
    "Object3D",
    "ResumeError",
    "Run",
    "Settings",
    "Table",
    "TrackerError",
    "Video",
    "__version__",
    "alert",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "log_code",
    "log_model",
    "login",
    "plot",
    "plot_table",
    "require",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "teardown",
    "unwatch",
    "use_artifact",
    "util",
    "watch",
]


def __getattr__(name: str) -> Any:
    # wandb-style ``tracker.run``: the current run, or None before init()
    if name == "run":
        return current_run()
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
