"""History as columns: a run's series aligned on one x column, built from numpy arrays (never
from row dicts), sampled, stacked for several runs, and handed to pandas or polars.

:class:`Columns` is the one shape every reader here produces: ordered numpy columns plus, for
each metric column, a mask of where a point was logged (so an export can tell a logged NaN
from a step where the key has no point; a DataFrame shows both as NaN). pandas and polars are
optional: :func:`require_pandas` / :func:`require_polars` name the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..models import Point

Format = Literal["pandas", "polars", "numpy"]
FORMATS = ("pandas", "polars", "numpy")
X_BUILTIN = ("step", "time", "timestamp")
MISSING_PANDAS = (
    "tracker.Api returns pandas DataFrames, and pandas is not installed: "
    "pip install 'tracktui[analysis]' (or ask for format='polars' or 'numpy')"
)
MISSING_POLARS = (
    "format='polars' needs polars, which is not installed: pip install 'tracktui[polars]'"
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def require_pandas() -> ModuleType:
    try:  # import_module: pandas ships no type stubs, and the frames are Any to callers anyway
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise ImportError(MISSING_PANDAS) from exc


def require_polars() -> ModuleType:
    try:
        return importlib.import_module("polars")
    except ImportError as exc:
        raise ImportError(MISSING_POLARS) from exc


def check_format(format: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")


@dataclass(frozen=True, slots=True)
class SeriesArrays:
    """One metric's points: steps, values (NaN/±inf as logged) and seconds since the start."""

    steps: Ints
    values: Floats
    times: Floats

    @classmethod
    def of(cls, points: Sequence[Point]) -> SeriesArrays:
        n = len(points)
        # one pass per column through C iterators: ~10x faster than np.array(points)
        steps = np.fromiter(map(itemgetter(1), points), np.int64, n)
        values = np.fromiter(map(itemgetter(2), points), np.float64, n)
        times = np.fromiter(map(itemgetter(3), points), np.float64, n)
        return cls(steps, values, times).last_per_step()

    def last_per_step(self) -> SeriesArrays:
        """Sorted by step, one point per step: the last one logged (as a re-logged step reads)."""
        steps = self.steps
        if len(steps) < 2 or bool(np.all(steps[1:] > steps[:-1])):
            return self
        reverse = steps[::-1]
        _, first_in_reverse = np.unique(reverse, return_index=True)
        keep = len(steps) - 1 - first_in_reverse
        return SeriesArrays(steps[keep], self.values[keep], self.times[keep])


@dataclass(slots=True)
class Columns:
    """Ordered columns of equal length; ``present[key]`` marks rows where ``key`` was logged."""

    data: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    present: dict[str, Mask] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)  # categorical: column -> names

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def take(self, rows: npt.NDArray[np.intp] | Mask) -> Columns:
        return Columns(
            {k: v[rows] for k, v in self.data.items()},
            {k: v[rows] for k, v in self.present.items()},
            dict(self.labels),
        )


def aligned(series: Mapping[str, SeriesArrays]) -> Columns:
    """``step``, ``time`` and one column per key, one row per step any key was logged at
    (an outer join; NaN where a key has no point). ``time`` is the latest of that step's."""
    arrays = list(series.values())
    if not arrays:
        return Columns({"step": np.empty(0, np.int64), "time": np.empty(0, np.float64)})
    if len(arrays) == 1:
        only = arrays[0]
        steps, times = only.steps, only.times.copy()
    else:
        steps = np.unique(np.concatenate([s.steps for s in arrays]))
        times = np.full(len(steps), np.nan)
    out = Columns({"step": steps, "time": times})
    for key, s in series.items():
        if len(arrays) == 1:
            out.data[key] = s.values
            out.present[key] = np.ones(len(steps), np.bool_)
            continue
        rows = np.searchsorted(steps, s.steps)
        column = np.full(len(steps), np.nan)
        column[rows] = s.values
        mask = np.zeros(len(steps), np.bool_)
        mask[rows] = True
        times[rows] = np.fmax(times[rows], s.times)
        out.data[key], out.present[key] = column, mask
    return out


def on_x(columns: Columns, x: str, created_at: float, keys: Sequence[str]) -> Columns:
    """Rows ordered by ``x``, its column first: ``step``, ``time`` (seconds since the run
    started), ``timestamp`` (unix seconds) or a metric logged as a counter. A metric x is
    carried forward to the steps after it was logged (W&B's step_sync), rows before its first
    value and rows holding only it are left out."""
    if x == "timestamp":
        columns.data = {"timestamp": columns.data["time"] + created_at, **columns.data}
    if x in ("time", "timestamp"):
        order = np.argsort(columns.data["time"], kind="stable")
        ordered = columns.take(order)
        ordered.data = {x: ordered.data[x], **ordered.data}
        return ordered
    if x == "step":
        return columns
    values, mask = columns.data[x], columns.present[x]
    logged = np.where(mask, np.arange(len(mask)), -1)
    np.maximum.accumulate(logged, out=logged)
    keep = logged >= 0
    if keys:
        keep &= np.logical_or.reduce([columns.present[k] for k in keys if k in columns.present])
    filled = values[np.maximum(logged, 0)]
    columns.data[x] = filled
    out = columns.take(keep)
    out.data = {x: out.data.pop(x), **out.data}
    del out.present[x]
    return out


def sample_rows(columns: Columns, keys: Sequence[str], samples: int) -> Columns:
    """At most ``samples`` rows, without losing what a plot must show: the rows are cut into
    evenly spaced windows and each keeps, per key, its row of the smallest and of the
    largest value (a non-finite value wins the largest slot, so a NaN or inf survives), plus
    the first and last row. Deterministic, unlike W&B's random ``samples``."""
    if samples < 1:
        raise ValueError(f"samples must be a positive number of rows, not {samples}")
    n = len(columns)
    metric_keys = [k for k in keys if k in columns.data]
    if n <= samples:
        return columns
    if samples <= 2 or not metric_keys:
        return columns.take(np.unique(np.linspace(0, n - 1, samples).round().astype(np.intp)))
    windows = max(1, (samples - 2) // (2 * len(metric_keys)))
    edges = np.linspace(0, n, windows + 1).round().astype(np.intp)
    width = int(np.max(np.diff(edges)))
    # (windows, width) views of row numbers; a short window is padded with its own last row
    grid = np.minimum(edges[:-1, None] + np.arange(width)[None, :], edges[1:, None] - 1)
    kept = [np.array([0, n - 1], np.intp)]
    for key in metric_keys:
        values = columns.data[key][grid]
        logged = columns.present[key][grid] if key in columns.present else np.ones_like(grid)
        finite = np.isfinite(values) & logged
        low = np.where(finite, values, np.inf)
        high = np.where(finite, values, -np.inf)
        high = np.where(logged & ~np.isfinite(values), np.inf, high)  # NaN/inf win the max slot
        rows = np.arange(windows)
        for chosen, any_logged in (
            (np.argmin(low, axis=1), finite.any(axis=1)),
            (np.argmax(high, axis=1), logged.any(axis=1)),
        ):
            kept.append(grid[rows, chosen][any_logged])
    return columns.take(np.unique(np.concatenate(kept)))


def stacked(per_run: Sequence[tuple[str, str, Columns]], keys: Sequence[str]) -> Columns:
    """Several runs' columns one under the other, ``run_id`` and ``run_name`` first (as
    categories: 10 M rows cost a byte or two each), every key a column (NaN where a run has
    none)."""
    if not per_run:
        empty = Columns({"run_id": np.empty(0, np.int32), "run_name": np.empty(0, np.int32)})
        empty.labels = {"run_id": [], "run_name": []}
        return empty
    lengths = np.array([len(c) for _, _, c in per_run], np.intp)
    codes = np.repeat(np.arange(len(per_run), dtype=np.int32), lengths)
    names = [name for _, name, _ in per_run]
    unique_names = list(dict.fromkeys(names))
    name_codes = np.array([unique_names.index(n) for n in names], np.int32)[codes]
    out = Columns({"run_id": codes, "run_name": name_codes})
    out.labels = {"run_id": [run_id for run_id, _, _ in per_run], "run_name": unique_names}
    heads = [c for c in per_run[0][2].data if c not in keys]  # x, step, time: every run's
    for name in heads:
        out.data[name] = np.concatenate([_column(c, name, len(c)) for _, _, c in per_run])
    for key in keys:
        if key in out.data:
            continue
        out.data[key] = np.concatenate([_column(c, key, len(c)) for _, _, c in per_run])
        out.present[key] = np.concatenate(
            [c.present.get(key, np.zeros(len(c), np.bool_)) for _, _, c in per_run]
        )
    return out


def _column(columns: Columns, name: str, n: int) -> np.ndarray[Any, Any]:
    found = columns.data.get(name)
    return found if found is not None else np.full(n, np.nan)


def to_frame(columns: Columns, format: str) -> Any:
    """The columns as a pandas DataFrame (default), a polars DataFrame, or (``numpy``) a dict
    of arrays. Categorical columns stay categorical; nothing is copied that need not be."""
    check_format(format)
    if format == "numpy":
        out: dict[str, Any] = {}
        for name, values in columns.data.items():
            labels = columns.labels.get(name)
            out[name] = np.asarray(labels, dtype=object)[values] if labels is not None else values
        return out
    if format == "polars":
        pl = require_polars()
        series = []
        for name, values in columns.data.items():
            labels = columns.labels.get(name)
            if labels is None:
                series.append(pl.Series(name, values))
            else:  # codes -> an Enum of the labels, without building a string per row
                names = pl.Series(name, labels, dtype=pl.Enum(list(dict.fromkeys(labels))))
                series.append(names.gather(values))
        return pl.DataFrame(series)
    pd = require_pandas()
    data: dict[str, Any] = {}
    for name, values in columns.data.items():
        labels = columns.labels.get(name)
        data[name] = (
            values
            if labels is None
            else pd.Categorical.from_codes(values, categories=pd.Index(labels, dtype=object))
        )
    return pd.DataFrame(data, copy=False)
