"""Importers: history logged with TensorBoard, wandb (offline run folders) or MLflow, brought
into a tracktui database so it shows up beside the runs logged here.

Each reader (:mod:`.tensorboard`, :mod:`.wandb_offline`, :mod:`.mlflow`) turns its source into
:class:`~.target.SourceRun` records, one run at a time, with the format's own library (imported
inside the functions: ``tracker`` loads none of them until an import runs); :mod:`.target`
writes them through the Store interface, adding only what the destination lacks. This module
ties the two together: one run that fails to read or write is reported and the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..db import Store
from .target import RunResult, SourceRun, Tick, write_run

KINDS = ("tensorboard", "wandb", "mlflow")
_EXTRAS = {"tensorboard": "tensorboard", "wandb": "import-wandb", "mlflow": "import-mlflow"}


class ImportSourceError(Exception):
    """The source as a whole cannot be read (missing, unreadable, empty, not that format)."""


class MissingReader(ImportSourceError):
    """The library that reads the format is not installed."""

    def __init__(self, kind: str, module: str) -> None:
        super().__init__(
            f"reading {kind} history needs the {module!r} package: "
            f"pip install 'tracktui[{_EXTRAS[kind]}]'"
        )


@dataclass(slots=True)
class ImportReport:
    runs: list[RunResult] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # runs that could not be imported: why

    @property
    def points(self) -> int:
        return sum(r.points for r in self.runs)

    @property
    def media(self) -> int:
        return sum(r.media for r in self.runs)

    def line(self) -> str:
        fresh = sum(1 for r in self.runs if not r.up_to_date)
        return (
            f"{len(self.runs)} run(s): {fresh} imported or updated, "
            f"{len(self.runs) - fresh} already up to date; {self.points:,} points, "
            f"{self.media:,} media, {sum(r.console for r in self.runs):,} console chunks"
            + (f"; {len(self.failed)} run(s) failed" if self.failed else "")
        )


RunSource = Iterator["SourceRun | ImportSourceError"]
"""What a reader yields: each run, or the error of one run it could not read."""


def read_source(
    kind: str, source: str, project: str | None = None, on_read: Tick = None
) -> RunSource:
    """The runs of ``source`` read by the ``kind`` reader (one of :data:`KINDS`). Raises
    :class:`ImportSourceError` at once when the source as a whole cannot be read.
    ``on_read(n)``: n more records (events, points) read, for a progress line."""
    if kind == "tensorboard":
        from .tensorboard import read_logdir

        return read_logdir(os.fspath(source), project, on_read)
    if kind == "wandb":
        from .wandb_offline import read_wandb

        return read_wandb(os.fspath(source), project, on_read)
    if kind == "mlflow":
        from .mlflow import read_mlflow

        return read_mlflow(source, project, on_read)
    raise ValueError(f"unknown source kind {kind!r}; one of {', '.join(KINDS)}")


def import_runs(
    runs: RunSource,
    store: Store,
    on_run: Callable[[RunResult], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Write every run ``runs`` yields into ``store``; a run that fails is reported through
    ``on_error`` and left out, the others go on."""
    report = ImportReport()
    for item in runs:
        if isinstance(item, ImportSourceError):
            report.failed.append(str(item))
            if on_error is not None:
                on_error(str(item))
            continue
        caught: tuple[type[BaseException], ...] = (*store.errors(), ValueError)
        try:
            result = write_run(store, item, progress)
        except caught as exc:  # the database's errors; ImportConflict
            message = f"run {item.name} ({item.id}): not written: {exc}"
            report.failed.append(message)
            if on_error is not None:
                on_error(message)
            continue
        report.runs.append(result)
        if on_run is not None:
            on_run(result)
    return report


__all__ = [
    "KINDS",
    "ImportReport",
    "ImportSourceError",
    "MissingReader",
    "RunResult",
    "SourceRun",
    "import_runs",
    "read_source",
]
