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

What a folder or several files leave out (a damaged file, another program's, a run whose id
another file has) is never silent: each is warned about once (:class:`LeftOutWarning`) and
kept in :attr:`Api.left_out`, the reasons :class:`~tracker.db.multi.MultiStore` found, as
``tracktui ls`` prints them.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, SupportsIndex, overload

from ..db import Store, Target, open_store, parse_target
from ..db.base import SeriesColumns
from ..db.target import several
from ..errors import DatabaseError, NoDatabaseYet, NotATrackerDatabase
from ..filters import filter_runs, sort_key_getter, sort_runs
from ..models import RunRecord
from ..sanitize import safe_text
from .frames import Columns, check_format, require_pandas, require_polars, stacked, to_frame
from .media import MediaFile
from .run import Run, close_hint, select_keys, x_name
from .table import summary_columns, uniform

__all__ = ["Api", "LeftOut", "LeftOutWarning", "MediaFile", "Run", "Runs"]

Db = str | os.PathLike[str] | Target | Sequence[str | os.PathLike[str]] | None

# The stores word a foreign file for writers ("refusing to change it"); a read says why
# there is nothing to read instead.
_WRITE_WORDING = re.compile(r"\s*\(refusing to change\s+it\)(;[^)]*\([^)]*\))?")
_READ_WORDING = " (no tracktui runs in it to read)"


def read_wording(reason: str) -> str:
    """A store's reason for refusing a file, worded for a read."""
    return _WRITE_WORDING.sub(_READ_WORDING, reason)


class LeftOutWarning(UserWarning):
    """tracker.Api left a file or a run out of what it reads (see :attr:`Api.left_out`)."""


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A file left out (``run_id`` None: damaged, another program's, newer schema) or one
    run of a file left out (another file holds a run with its id; the first file seen wins)."""

    path: str
    reason: str
    run_id: str | None = None

    def __str__(self) -> str:
        if self.run_id is None:
            return f"{self.path}: {self.reason}"
        return f"run {self.run_id} of {self.path}: {self.reason}"


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
        lacks a key has NaN there). Runs that lack a metric ``x`` are left out; KeyError when
        none has it."""
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
        x = x_name(x)
        available = list(dict.fromkeys(k for run in self for k in run.metrics))
        chosen = select_keys(available, keys, system)
        chosen = [k for k in chosen if k != x]
        chosen_runs = [
            run for run in self if x in ("step", "time", "timestamp") or x in run.metrics
        ]
        if self and not chosen_runs:  # a typo, not runs that happen to lack it
            raise KeyError(
                f"none of the {len(self)} runs has a metric {x!r} to use as x (x is step, "
                f"time, timestamp or a logged metric){close_hint(x, available)}"
            )
        rows = sum(
            min(
                samples or sys.maxsize,
                max((run.metrics[k].count for k in chosen if k in run.metrics), default=0),
            )
            for run in chosen_runs
        )  # the rows of runs whose keys are logged together; grown where they are not
        per_run = (
            (run.id, run.name, run.columns(chosen, x, samples, system, exact=True)[0])
            for run in chosen_runs
        )
        return stacked(per_run, chosen, rows, x), chosen


class Api:
    """Read runs from ``db`` (see the module): a SQLite path, a folder of files, a list of
    files, or a PostgreSQL URL; None: ``$TRACKTUI_DB`` or ``./.tracktui/runs.db``.
    ``project`` is the default for :meth:`runs`. A file that does not exist raises
    ``DatabaseError`` (an empty one has no runs). Use it from one thread at a time, or
    ``close()`` it (``with tracker.Api(...) as api:``).

    ``left_out``: the files and runs of a folder or several files that are not read, with
    why (each also warned about once, as a :class:`LeftOutWarning`)."""

    def __init__(self, db: Db = None, project: str | None = None) -> None:
        self.target = target_of(db)
        self.project = project
        self.left_out: list[LeftOut] = []
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
                raise NoDatabaseYet(self.target.shown, self._nothing_here(exc.reason)) from None
            return None  # an empty file: no runs yet; opened again on the next read
        except NotATrackerDatabase as exc:
            raise type(exc)(exc.path, read_wording(exc.reason)) from None
        self._report(self._store)
        return self._store

    def _nothing_here(self, reason: str) -> str:
        if self.target.kind == "files":
            folders = ", ".join(str(p) for p in self.target.paths)
            detail = reason.removeprefix("no database here yet (").removesuffix(")")
            detail = detail.removesuffix(f" in {folders}")  # said once is enough
            return f"no tracktui database in {folders} ({read_wording(detail)})"
        if self.target.kind == "postgresql":
            return reason
        return "no database here (no such file)"

    def _report(self, store: Store) -> None:
        """Warn once about each file and run the store left out (a folder, several files)."""
        found = [
            LeftOut(str(path), read_wording(reason))
            for path, reason in sorted(getattr(store, "skipped", {}).items())
        ]
        found += [
            LeftOut(str(path), "another file has its id", run_id)
            for run_id, path in sorted(getattr(store, "clashes", ()))
        ]
        for item in found:
            if item in self.left_out:
                continue
            self.left_out.append(item)
            warnings.warn(f"tracker.Api left out {safe_text(str(item))}", LeftOutWarning, 4)

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
        per_page: int | None = None,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> Runs:
        """The runs (of ``project``, default the Api's) matching ``filter``, newest first or
        sorted by ``sort`` (a field of the filter language; ``-metrics.eval/loss`` or
        ``desc=True`` for descending). ``order`` is wandb's spelling of ``sort``. A bad
        expression raises ``tracker.FilterError`` saying where.

        wandb's forms work: ``project`` may be an ``entity/project`` path (the last part is
        the project when no project has the whole name); ``per_page``, ``include_sweeps``
        and ``lazy`` are paging hints with nothing to page here: accepted, no effect."""
        if filters is not None:
            raise TypeError(
                "filters= takes wandb's MongoDB queries, which tracktui does not speak: "
                "use filter='cfg.lr<1e-3 status=finished' (the language of tracktui ls)"
            )
        del per_page, include_sweeps, lazy
        key = sort if sort is not None else order
        if key and key[0] in "+-":
            desc, key = key[0] == "-", key[1:]
        if key and key.startswith("summary_metrics."):
            key = "summary." + key.removeprefix("summary_metrics.")
        if key:
            sort_key_getter(key)  # a bad key is an error even when there are no runs
        wanted = project or self.project
        found = self._records(wanted)
        if not found and wanted and "/" in wanted:  # wandb's entity/project
            found = self._records(wanted.rstrip("/").rsplit("/", 1)[-1])
        records = filter_runs(found, filter)
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
            if store is None:
                return []
            try:
                return store.read_runs(project=project)
            finally:
                self._report(store)  # files dropped and run ids clashing during the read

    def _record(self, run_id: str) -> RunRecord:
        with self._lock:
            store = self._open()
            record = None if store is None else store.read_run(run_id)
            if store is not None:
                self._report(store)
        if record is None:
            raise KeyError(f"no run with id {run_id!r} in {self.db}")
        return record

    def _url(self, run_id: str) -> str | None:
        if self.target.kind == "sqlite" and self.target.path is not None:
            return f"{self.target.path.expanduser().absolute().as_uri()}#run={run_id}"
        if self.target.kind == "postgresql":
            return f"{self.target.shown}#run={run_id}"  # the password masked
        return None  # several files: the store does not say which one holds the run

    def _histories(self, series: Sequence[int]) -> dict[int, SeriesColumns]:
        """Several series of one run, from one read snapshot of its database."""
        with self._lock:
            store = self._open()
            if store is None:
                return {sid: SeriesColumns.empty() for sid in series}
            return store.history_columns_many(series)

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
