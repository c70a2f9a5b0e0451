"""``tracktui import tensorboard|wandb|mlflow SRC``: bring history logged with another tool into
a tracktui database (the readers and the writing are :mod:`tracker.importers`').

Prints one line per run (what was added), what could not be read, and a total; on a terminal
a progress line follows a big import. Exit status 0; 1 when the source cannot be read at all
or when any run could not be imported (the others are imported all the same). Every text from
the source passes :func:`emit`'s sanitizer on its way out.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .cli import _db_path, emit
from .sanitize import safe_text

KINDS = ("tensorboard", "wandb", "mlflow")
_PROGRESS_EVERY_S = 0.5


def add_parser(sub: Any) -> None:
    """The ``import`` subcommand's parser, on ``build_parser``'s subparsers."""
    parser = sub.add_parser(
        "import", help="import runs from TensorBoard logs, wandb offline runs or MLflow",
        description="Import history logged with another tool: a TensorBoard log directory "
        "(scalars, images, histograms, hparams), a wandb run folder (wandb/offline-run-*, or "
        "the wandb/ folder holding them: config, summary, history, console) or an MLflow "
        "tracking store (sqlite:///mlflow.db, an mlruns folder: runs, params, metrics, "
        "tags). Importing again adds only what is new.",
    )  # fmt: skip
    parser.add_argument("kind", choices=KINDS, help="the format of SRC")
    parser.add_argument("source", metavar="SRC", help="log directory, run folder or store URI")
    parser.add_argument(
        "--db", dest="sub_db", action="append",
        help="database to import into (default: $TRACKTUI_DB or ./.tracktui/runs.db)",
    )  # fmt: skip
    parser.add_argument("--project", help="project of the imported runs (default: the source's)")


def run(args: argparse.Namespace) -> int:
    from tracker.db import open_store
    from tracker.errors import DatabaseError
    from tracker.importers import ImportSourceError, RunResult, import_runs, read_source

    if args.sub_db and len(args.sub_db) > 1:
        emit("tracktui import: one destination database (--db once)", error=True)
        return 2
    meter = _Progress()
    try:
        runs = read_source(args.kind, args.source, args.project, meter.read)
    except ImportSourceError as exc:
        emit(f"tracktui import {args.kind}: {safe_text(str(exc))}", error=True)
        return 1
    try:
        store = open_store(_db_path(args), write=True)
    except DatabaseError as exc:
        emit(f"tracktui import: {safe_text(str(exc))}", error=True)
        return 1

    def on_run(result: RunResult) -> None:
        meter.clear()
        name = safe_text(f"{result.name} ({result.id})")
        if result.up_to_date:
            emit(f"{name}: up to date")
        else:
            emit(
                f"{name}: {result.points:,} points, {result.media:,} media, "
                f"{result.console:,} console chunks"
            )
        for problem in result.problems:
            emit(f"  {safe_text(problem)}", error=True)

    def on_error(message: str) -> None:
        meter.clear()
        emit(f"tracktui import: {safe_text(message)}", error=True)

    try:
        report = import_runs(runs, store, on_run, on_error, meter.wrote)
    except ImportSourceError as exc:
        meter.clear()
        emit(f"tracktui import {args.kind}: {safe_text(str(exc))}", error=True)
        return 1
    finally:
        store.close()
    meter.clear()
    emit(f"{report.line()} into {safe_text(str(store.target))} in {meter.elapsed():.1f} s")
    return 1 if report.failed else 0


class _Progress:
    """A ``\\r`` line on stderr while the source is read and points are written, only on a
    terminal (a log file or a pipe gets the per-run lines alone)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.records = 0
        self.points = 0
        self.shown = 0.0
        self.tty = sys.stderr.isatty()
        self.drawn = False

    def read(self, records: int) -> None:
        self.records += records
        self._draw()

    def wrote(self, points: int) -> None:
        self.points += points
        self._draw()

    def _draw(self) -> None:
        now = time.monotonic()
        if self.tty and now - self.shown >= _PROGRESS_EVERY_S:
            self.shown = now
            sys.stderr.write(
                f"\r  read {self.records:,} records, wrote {self.points:,} points "
                f"({now - self.start:.0f} s)\x1b[K"
            )
            sys.stderr.flush()
            self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.drawn = False

    def elapsed(self) -> float:
        return time.monotonic() - self.start
