"""The read API for notebooks and scripts: ``tracker.Api(db)``.

    api = tracker.Api("runs.db")                      # a file, a folder of them, several
                                                      # files, or a postgresql:// URL
    runs = api.runs(filter="cfg.lr<1e-3", sort="metrics.eval/loss")
    df = runs[0].history(keys=["train/loss"], x="step")   # pandas; format="polars"
    table = api.summary_table(project="sweep")        # one row per run: config.*, summary.*,
                                                      # metrics.* (the last values)

Names follow ``wandb.Api`` and Trackio's API where they fit (``api.run(id)``,
``api.runs(project)``, ``run.state``, ``run.scan_history``). Filters and sort keys are the
language of ``tracktui ls``. Reading opens the database read-only (SQLite ``mode=ro``,
``query_only``) and never takes a write lock: a training job logging into the file meanwhile
is never made to wait. Each :meth:`Api.runs` reads the runs again, so a live sweep shows its
latest state.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, SupportsIndex, overload

from ..db import Store, Target, open_store, parse_target
from ..db.base import SeriesColumns
from ..db.target import several
from ..errors import DatabaseError, NoDatabaseYet
from ..filters import filter_runs, sort_key_getter, sort_runs
from ..models import RunRecord
from .frames import Columns, check_format, require_pandas, require_polars, stacked, to_frame
from .media import MediaFile
from .run import Run, select_keys
from .table import summary_columns, uniform

__all__ = ["Api", "MediaFile", "Run", "Runs"]

Db = str | os.PathLike[str] | Target | Sequence[str | os.PathLike[str]] | None


def target_of(db: Db) -> Target:
    if isinstance(db, (list, tuple)):
        return several(list(db))
    return parse_target(db)  # type: ignore[arg-type]


class Runs(list[Run]):
    """A list of runs (newest first unless sorted) that can also be tabled as a whole; a
    slice (``runs[:10]``) is one too."""

    def __init__(self, api: Api, runs: Sequence[Run] = ()) -> None:
        super().__init__(runs)
        self._api = api

    @overload
    def __getitem__(self, index: SupportsIndex) -> Run: ...
    @overload
    def __getitem__(self, index: slice) -> Runs: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Run | Runs:
        if isinstance(index, slice):
            return Runs(self._api, super().__getitem__(index))
        return super().__getitem__(index)

    def summary_table(
        self,
        metrics: Sequence[str] | str | None = None,
        stats: Sequence[str] = ("last",),
        format: str = "pandas",
        system: bool = False,
    ) -> Any:
        """One row per run: ``id, name, project, status, created_at, finished_at,
        duration_s, step, host, tags``, then ``config.*``, ``summary.*`` (nested keys
        dotted) and ``metrics.KEY`` per metric (its last value; ``stats=("last", "min")``
        adds ``metrics.KEY.min``, and ``max``, ``count``, ``step``). ``metrics``: names or
        ``*`` patterns (default: all but ``sys/*``)."""
        check_format(format)
        available = list(dict.fromkeys(k for run in self for k in run.metrics))
        chosen = None if metrics is None else select_keys(available, metrics, system)
        columns = summary_columns([r.record for r in self], chosen, stats, system)
        return summary_frame(columns, format)

    def history(
        self,
        keys: Sequence[str] | str | None = None,
        x: str = "step",
        samples: int | None = None,
        format: str = "pandas",
        system: bool = False,
    ) -> Any:
        """Every run's :meth:`Run.history` in one frame, ``run_id`` and ``run_name`` (as
        categories) first: one row per run and step, one column per metric (a run that
        lacks a key has NaN there). Runs that lack a metric ``x`` are left out."""
        check_format(format)
        columns, _ = self.history_columns(keys, x, samples, system)
        return to_frame(columns, format)

    def history_columns(
        self,
        keys: Sequence[str] | str | None = None,
        x: str = "step",
        samples: int | None = None,
        system: bool = False,
    ) -> tuple[Columns, list[str]]:
        available = list(dict.fromkeys(k for run in self for k in run.metrics))
        chosen = select_keys(available, keys, system)
        chosen = [k for k in chosen if k != x]
        chosen_runs = [
            run for run in self if x in ("step", "time", "timestamp") or x in run.metrics
        ]
        rows = sum(
            min(
                samples or sys.maxsize,
                max((run.metrics[k].count for k in chosen if k in run.metrics), default=0),
            )
            for run in chosen_runs
        )  # the rows of runs whose keys are logged together; grown where they are not
        per_run = (
            (run.id, run.name, run.columns(chosen, x, samples, system)[0]) for run in chosen_runs
        )
        return stacked(per_run, chosen, rows, x), chosen


class Api:
    """Read runs from ``db`` (see the module): a SQLite path, a folder of files, a list of
    files, or a PostgreSQL URL; None: ``$TRACKTUI_DB`` or ``./.tracktui/runs.db``.
    ``project`` is the default for :meth:`runs`. A file that does not exist raises
    ``DatabaseError`` (an empty one has no runs). Use it from one thread at a time, or
    ``close()`` it (``with tracker.Api(...) as api:``)."""

    def __init__(self, db: Db = None, project: str | None = None) -> None:
        self.target = target_of(db)
        self.project = project
        self._lock = threading.RLock()
        self._store: Store | None = None
        self._open(first=True)

    @property
    def db(self) -> str:
        """The database as shown (a URL with its password masked)."""
        return self.target.shown

    def __repr__(self) -> str:
        return f"<tracker.Api {self.db}>"

    def _open(self, first: bool = False) -> Store | None:
        if self._store is not None:
            return self._store
        try:
            self._store = open_store(self.target)
        except NoDatabaseYet as exc:
            if not exc.empty:
                raise NoDatabaseYet(self.target.shown, "no database here (no such file)") from None
            return None  # an empty file: no runs yet; opened again on the next read
        return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- runs ----------------------------------------------------------------------------
    def runs(
        self,
        project: str | None = None,
        filter: str = "",
        sort: str | None = None,
        desc: bool = False,
        *,
        order: str | None = None,
        filters: Any = None,
    ) -> Runs:
        """The runs (of ``project``, default the Api's) matching ``filter``, newest first or
        sorted by ``sort`` (a field of the filter language; ``-metrics.eval/loss`` or
        ``desc=True`` for descending). ``order`` is wandb's spelling of ``sort``. A bad
        expression raises ``tracker.FilterError`` saying where."""
        if filters is not None:
            raise TypeError(
                "filters= takes wandb's MongoDB queries, which tracktui does not speak: "
                "use filter='cfg.lr<1e-3 status=finished' (the language of tracktui ls)"
            )
        key = sort if sort is not None else order
        if key and key[0] in "+-":
            desc, key = key[0] == "-", key[1:]
        if key:
            sort_key_getter(key)  # a bad key is an error even when there are no runs
        records = filter_runs(self._records(project or self.project), filter)
        return Runs(self, [Run(self, r) for r in sort_runs(records, key or None, desc)])

    def run(self, run_id: str) -> Run:
        """One run by its id (wandb's ``entity/project/id`` paths work: the last part)."""
        return Run(self, self._record(run_id.rsplit("/", 1)[-1]))

    def projects(self) -> list[str]:
        """The projects with runs, sorted."""
        return sorted({r.project for r in self._records(None)})

    def summary_table(
        self,
        project: str | None = None,
        filter: str = "",
        metrics: Sequence[str] | str | None = None,
        stats: Sequence[str] = ("last",),
        format: str = "pandas",
        system: bool = False,
    ) -> Any:
        """:meth:`Runs.summary_table` of ``runs(project, filter)``: a whole sweep, one row
        per run."""
        return self.runs(project, filter).summary_table(metrics, stats, format, system)

    def history(
        self,
        project: str | None = None,
        filter: str = "",
        keys: Sequence[str] | str | None = None,
        x: str = "step",
        samples: int | None = None,
        format: str = "pandas",
    ) -> Any:
        """:meth:`Runs.history` of ``runs(project, filter)``."""
        return self.runs(project, filter).history(keys, x, samples, format)

    # --- what runs and run objects read through ----------------------------------------------
    def _records(self, project: str | None) -> list[RunRecord]:
        with self._lock:
            store = self._open()
            return [] if store is None else store.read_runs(project=project)

    def _record(self, run_id: str) -> RunRecord:
        with self._lock:
            store = self._open()
            record = None if store is None else store.read_run(run_id)
        if record is None:
            raise KeyError(f"no run with id {run_id!r} in {self.db}")
        return record

    def _history(self, series: int) -> SeriesColumns:
        with self._lock:
            store = self._open()
            return SeriesColumns.empty() if store is None else store.history_columns(series)

    def _media(
        self, run_id: str, key: str | None, step: int | None, kind: str | None
    ) -> list[MediaFile]:
        with self._lock:
            store = self._open()
            if store is None or not store.has_media:
                return []
            rows = store.read_media_index(run_id)
        files = [MediaFile.of_row(run_id, row, self._media_data) for row in rows]
        return [
            f
            for f in files
            if (key is None or f.key == key or fnmatch.fnmatchcase(f.key, key))
            and (step is None or f.step == step)
            and (kind is None or f.kind == kind)
        ]

    def _media_data(self, media_id: int) -> bytes:
        with self._lock:
            store = self._open()
            found = None if store is None else store.read_media_data([media_id]).get(media_id)
        if found is None:
            raise DatabaseError(self.db, f"media row {media_id} is gone")
        return found


def summary_frame(columns: dict[str, list[Any]], format: str) -> Any:
    """:func:`~tracker.api.table.summary_columns` as a DataFrame: times as UTC datetimes."""
    if format == "numpy":
        return columns
    if format == "polars":
        pl = require_polars()
        frame = pl.DataFrame({name: uniform(values) for name, values in columns.items()})
        return frame.with_columns(
            pl.from_epoch((pl.col(name).cast(pl.Float64) * 1e6).cast(pl.Int64), time_unit="us")
            .dt.replace_time_zone("UTC")
            .alias(name)
            for name in ("created_at", "finished_at")
        )
    pd = require_pandas()
    frame = pd.DataFrame(columns)
    for name in ("created_at", "finished_at"):
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    return frame
