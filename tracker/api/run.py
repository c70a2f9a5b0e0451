"""One run as the read API shows it: its record's fields (wandb's and Trackio's names where
they fit), its history as a DataFrame or an iterator of rows, and its media.

A :class:`Run` holds the record read when it was listed; :meth:`Run.refresh` reads it again.
Its points are read when asked for, through the :class:`~tracker.db.base.Store` of the
:class:`~tracker.api.Api` that listed it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models import MetricSummary, RunEvent, RunRecord
from .frames import X_BUILTIN, Columns, SeriesArrays, aligned, on_x, sample_rows, to_frame

if TYPE_CHECKING:
    from . import Api
    from .media import MediaFile


# wandb's names of the built-in x columns
X_ALIASES = {"_step": "step", "_runtime": "time", "_timestamp": "timestamp"}


def x_name(x: str) -> str:
    """``x`` as tracktui names it (wandb's ``_step``, ``_runtime``, ``_timestamp`` work)."""
    return X_ALIASES.get(x, x)


def row_dicts(columns: Columns, chosen: Sequence[str], every: bool) -> Iterator[dict[str, Any]]:
    """One dict per row of ``columns``: the x columns, wandb's ``_step`` and ``_runtime``, and
    the keys logged at that row (a key with no point there is absent, as in wandb). ``every``:
    only rows where every chosen key was logged."""
    heads = [c for c in columns.data if c not in chosen]
    head_lists = {name: columns.data[name].tolist() for name in heads}
    value_lists = {k: columns.data[k].tolist() for k in chosen}
    masks = {k: columns.present[k].tolist() for k in chosen}
    for row in range(len(columns)):
        logged = [k for k in chosen if masks[k][row]]
        if every and len(logged) < len(chosen):
            continue
        out: dict[str, Any] = {name: head_lists[name][row] for name in heads}
        out["_step"], out["_runtime"] = out["step"], out["time"]
        out.update((k, value_lists[k][row]) for k in logged)
        yield out


def select_keys(
    available: Sequence[str], keys: Sequence[str] | str | None, system: bool = False
) -> list[str]:
    """The metric keys asked for, in the order asked: exact names, or patterns with ``*``,
    ``?`` or ``[...]`` (``train/*``). A name that is a key is always taken as itself (keys
    such as ``loss[0]`` or ``acc[top1]`` are real); a ``[...]`` with no ``*``/``?`` that
    matches nothing is a name too (a key this run never logged). None: every key but
    ``sys/*`` (those with ``system``)."""
    if keys is None:
        return sorted(k for k in available if system or not k.startswith("sys/"))
    wanted = [keys] if isinstance(keys, str) else list(keys)
    present = set(available)
    chosen: dict[str, None] = {}
    for item in wanted:
        if item in present or not is_pattern(item):
            chosen[item] = None
            continue
        matched = sorted(k for k in available if fnmatch.fnmatchcase(k, item))
        if not matched and "*" not in item and "?" not in item:
            chosen[item] = None
        chosen.update(dict.fromkeys(matched))
    return list(chosen)


def close_hint(name: str, available: Sequence[str]) -> str:
    """``" (close: a, b)"`` naming the keys of ``available`` most like ``name``, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(dict.fromkeys(available)), n=3, cutoff=0.6)
    return f" (close: {', '.join(close)})" if close else ""


def is_pattern(item: str) -> bool:
    """Whether ``item`` has glob characters (it may still be a key's exact name)."""
    return any(c in item for c in "*?[")


def unmatched_keys(available: Sequence[str], keys: Sequence[str] | str) -> list[str]:
    """The names and patterns among ``keys`` that match no key of ``available``."""
    wanted = [keys] if isinstance(keys, str) else list(keys)
    present = set(available)
    return [
        item
        for item in wanted
        if item not in present
        and not (is_pattern(item) and any(fnmatch.fnmatchcase(k, item) for k in available))
    ]


class Run:
    """A run read from the database (see the module). ``run.config``, ``run.summary`` are
    plain dicts, ``run.metrics`` maps each key to its summary (last, min, max, count)."""

    def __init__(self, api: Api, record: RunRecord) -> None:
        self._api = api
        self.record = record

    # --- the record ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def project(self) -> str:
        return self.record.project

    @property
    def status(self) -> str:
        """``running``, ``finished``, ``failed`` or ``crashed``."""
        return self.record.status

    state = status  # wandb's name

    @property
    def tags(self) -> list[str]:
        return list(self.record.tags)

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config

    @property
    def summary(self) -> dict[str, Any]:
        return self.record.summary

    @property
    def summary_metrics(self) -> dict[str, Any]:
        """wandb's summary: each metric's last value (``sys/*`` too), then what the script set
        in the summary (which wins on the same key)."""
        return {**{k: m.last for k, m in self.record.metrics.items()}, **self.record.summary}

    @property
    def metrics(self) -> dict[str, MetricSummary]:
        """Per key: the last value, min, max and count, over every point
        stored, a re-logged step's earlier value included (``history()`` shows the last one
        logged at each step)."""
        return self.record.metrics

    @property
    def url(self) -> str | None:
        """Where the run lives: ``file:///path/runs.db#run=ID`` for a SQLite file, the server
        URL (password masked) ``#run=ID`` for PostgreSQL, None when read from several files."""
        return self._api._url(self.id)

    @property
    def metric_keys(self) -> list[str]:
        """Every metric the run logged but its hardware ones (``sys/*``), sorted."""
        return select_keys(list(self.record.metrics), None)

    @property
    def events(self) -> list[RunEvent]:
        return self.record.events

    @property
    def created_at(self) -> float:
        return self.record.created_at

    @property
    def finished_at(self) -> float | None:
        return self.record.finished_at

    @property
    def duration_s(self) -> float:
        return self.record.duration_s

    @property
    def step(self) -> int | None:
        return self.record.step

    @property
    def host(self) -> str:
        return self.record.host

    @property
    def error(self) -> str | None:
        return self.record.error

    def step_metric(self, key: str) -> str | None:
        """The metric ``key`` is plotted against (``define_metric``), None for the step."""
        return self.record.step_metric(key)

    def refresh(self) -> Run:
        """Read the run again (a live run's new steps, status, summary); returns itself."""
        self.record = self._api._record(self.id)
        return self

    load = refresh  # wandb's name

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} ({self.status})>"

    # --- history -------------------------------------------------------------------------
    def columns(
        self,
        keys: Sequence[str] | str | None = None,
        x: str = "step",
        samples: int | None = None,
        system: bool = False,
        *,
        exact: bool = False,
    ) -> tuple[Columns, list[str]]:
        """What :meth:`history` builds its frame of: the columns, and the metric keys among
        them (keys this run never logged are columns of NaN). ``exact``: ``keys`` are names
        already chosen (over several runs), none of them a pattern."""
        x = x_name(x)
        if exact and keys is not None:
            chosen = [keys] if isinstance(keys, str) else list(dict.fromkeys(keys))
        else:
            chosen = select_keys(list(self.record.metrics), keys, system)
        if x not in X_BUILTIN:
            if x not in self.record.metrics:
                raise KeyError(
                    f"run {self.id} has no metric {x!r} to use as x (x is step, time, "
                    f"timestamp or a logged metric){close_hint(x, list(self.record.metrics))}"
                )
            chosen = [k for k in chosen if k != x]
        wanted = chosen if x in X_BUILTIN else [*chosen, x]
        columns = aligned(self._series(list(dict.fromkeys(wanted))))
        for key in chosen:  # asked for and never logged: a column of NaN
            if key not in columns.data:
                columns.data[key] = np.full(len(columns), np.nan)
                columns.present[key] = np.zeros(len(columns), np.bool_)
        columns.data = {
            **{k: v for k, v in columns.data.items() if k not in chosen},
            **{k: columns.data[k] for k in chosen},
        }  # step, time, then the keys in the order asked
        columns = on_x(columns, x, self.created_at, chosen)
        if samples is not None:
            columns = sample_rows(columns, chosen, samples)
        return columns, chosen

    def _series(self, keys: list[str]) -> dict[str, SeriesArrays]:
        """The logged ones among ``keys``, read in one snapshot: a live run's keys logged
        together come back together (read one by one, later keys ran ahead)."""
        ids = {k: m.series_id for k in keys if (m := self.record.metrics.get(k)) and m.count}
        read = self._api._histories(list(ids.values()))
        return {key: SeriesArrays.of(read[sid]) for key, sid in ids.items()}

    def history(
        self,
        keys: Sequence[str] | str | None = None,
        x: str = "step",
        samples: int | None = None,
        format: str = "pandas",
        system: bool = False,
        *,
        pandas: bool = True,
        x_axis: str | None = None,
        stream: str = "default",
    ) -> Any:
        """The run's metrics as a DataFrame: one row per step any chosen key was logged at
        (outer join: NaN where a key has no point there), columns ``step``, ``time``
        (seconds since the run started) and one per key (NaN and ±inf as logged).

        ``keys``: names or ``*`` patterns (default: every metric but ``sys/*``; those with
        ``system=True``). ``x``: ``step``, ``time``, ``timestamp`` (unix seconds) or a
        metric such as ``epoch`` (its column first, carried forward to later steps).
        ``samples``: at most that many rows, each key's extremes kept
        (:func:`~tracker.api.frames.sample_rows`). ``format``: ``pandas``, ``polars`` or
        ``numpy`` (a dict of arrays).

        wandb's forms: ``pandas=False`` gives a list of dicts instead (one per row, with
        ``_step`` and ``_runtime``; a key with no point in that row is absent); ``x_axis``
        is ``x`` (``_step``, ``_runtime``, ``_timestamp`` work); ``stream="system"`` is
        ``system=True``. Unlike wandb, ``samples`` defaults to every row."""
        if x_axis is not None:
            x = x_axis
        system = system or stream == "system"
        columns, chosen = self.columns(keys, x, samples, system)
        if not pandas:
            return list(row_dicts(columns, chosen, every=False))
        return to_frame(columns, format)

    def scan_history(
        self,
        keys: Sequence[str] | str | None = None,
        x: str = "step",
        system: bool = False,
        *,
        page_size: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """wandb's ``scan_history``: one dict per row, ``_step`` and ``_runtime`` beside
        ``step`` and ``time``. With ``keys`` given, only rows where every one of them was
        logged (as wandb does); without, every row with the keys logged there.
        ``min_step`` <= step < ``max_step`` as in wandb; ``page_size`` is a paging hint with
        nothing to page here (accepted, no effect)."""
        del page_size
        columns, chosen = self.columns(keys, x, None, system)
        if min_step is not None or max_step is not None:
            steps = columns.data["step"]
            inside = np.ones(len(steps), np.bool_)
            if min_step is not None:
                inside &= steps >= min_step
            if max_step is not None:
                inside &= steps < max_step
            columns = columns.take(inside)
        yield from row_dicts(columns, chosen, every=keys is not None)

    # --- media ---------------------------------------------------------------------------
    def media(
        self, key: str | None = None, step: int | None = None, kind: str | None = None
    ) -> list[MediaFile]:
        """The run's logged media (images, tables, histograms, confusion matrices), oldest
        first; only those of ``key`` (a name or ``*`` pattern), ``step`` or ``kind``. Their
        data is read when first used."""
        return self._api._media(self.id, key, step, kind)
