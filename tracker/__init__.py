"""tracker: record training metrics, config and hardware into one SQLite file.

import tracker
run = tracker.init(project="llm-twin", config={"lr": 3e-4})
run.log({"train/loss": 1.23}, step=10)
run.finish()

Scripts written for wandb run with ``import tracker as wandb``: the names below are wandb's,
with wandb's meaning (README, "wandb-style code", says what is supported and what is not).

The names load lazily (PEP 562): ``import tracker.models`` or ``import tracker.store`` to read
a database does not start the write side (the writer, psutil, NVML); the first use of
``tracker.init``, ``tracker.log``, ``tracker.Image``... imports what it needs. ``tracker.run``
is looked up on every access (the current run, or None before ``init()``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypy and IDEs see; at run time __getattr__ loads each on first use
    from . import plot as plot
    from . import util as util
    from .api import Api
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
        unwatch,
        watch,
    )
    from .current import unsupported as unsupported
    from .errors import (
        DatabaseError,
        DatabaseUnavailable,
        FilterError,
        NewerSchemaError,
        NotATrackerDatabase,
        ResumeError,
        TrackerError,
    )
    from .media import (
        BoundingBoxes2D,
        Classes,
        ConfusionMatrix,
        Histogram,
        Image,
        ImageMask,
        Table,
    )
    from .plot import plot_table
    from .recorder import Run
    from .recorder import current_run as current_run
    from .run_surface import AlertLevel

    run: Run | None
    save: Any
    log_artifact: Any
    use_artifact: Any
    log_code: Any
    log_model: Any
    login: Any
    restore: Any
    setup: Any
    teardown: Any

__version__ = "0.1.0"

# name -> the module (relative to this package) that defines it
_LAZY = {
    **dict.fromkeys(
        (
            "Artifact", "Audio", "Html", "Molecule", "Object3D", "Settings", "Video", "alert",
            "config", "define_metric", "finish", "init", "log", "summary", "unsupported",
            "unwatch", "watch",
        ),
        ".current",
    ),
    **dict.fromkeys(
        (
            "DatabaseError", "DatabaseUnavailable", "FilterError", "NewerSchemaError",
            "NotATrackerDatabase", "ResumeError", "TrackerError",
        ),
        ".errors",
    ),
    **dict.fromkeys(
        ("BoundingBoxes2D", "Classes", "ConfusionMatrix", "Histogram", "Image", "ImageMask",
         "Table"),
        ".media",
    ),
    "plot_table": ".plot",
    "Api": ".api",  # the read API: loads no write side
    "Run": ".recorder",
    "current_run": ".recorder",
    "AlertLevel": ".run_surface",
}  # fmt: skip
_SUBMODULES = ("plot", "util")

# wandb functions that have no meaning here: accepted and ignored (one warning each).
_UNSUPPORTED = {
    "save": "files stay where the script wrote them",
    "log_artifact": "artifacts are not stored",
    "use_artifact": "artifacts are not stored",
    "log_code": "code is not stored",
    "log_model": "models are not stored",
    "login": "tracktui needs no account",
    "restore": "files are not uploaded, so there is nothing to restore",
    "setup": "",
    "teardown": "",
}


def require(*requirements: Any, **options: Any) -> None:
    """wandb's ``require("core")``: a switch for wandb's own internals; nothing to do here."""


__all__ = [
    "AlertLevel",
    "Api",
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
    if name == "run":
        # wandb-style ``tracker.run``: the current run, or None before init(). Never cached: it
        # changes with each init() and finish(). No run exists until the recorder is loaded.
        runs = sys.modules.get(f"{__name__}.process_runs")
        return None if runs is None else runs.current_run()
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _UNSUPPORTED:
        from .current import unsupported

        value = unsupported(name, _UNSUPPORTED[name])
    elif name in _SUBMODULES or (
        not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None
    ):
        # a submodule, as ``tracker.<module>`` was when this file imported everything eagerly
        return importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # loaded once: the same object on every later access
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_LAZY})
