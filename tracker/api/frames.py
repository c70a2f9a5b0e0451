"""History as columns: a run's series aligned on one x column, built from numpy arrays (never
from row dicts), sampled, stacked for several runs, and handed to pandas or polars.

:class:`Columns` is the one shape every reader here produces: ordered numpy columns plus, for
each metric column, a mask of where a point was logged (so an export can tell a logged NaN
from a step where the key has no point; a DataFrame shows both as NaN). pandas and polars are
optional: :func:`require_pandas` / :func:`require_polars` name the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..db.base import SeriesColumns
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
    def of(cls, points: SeriesColumns | Sequence[Point]) -> SeriesArrays:
        """From the store's columnar read (``Store.history_columns``), or from points."""
        if isinstance(points, SeriesColumns):
            return cls(points.step, points.value, points.t).last_per_step()
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
    """At most ``samples`` rows (W&B's promise), without losing what a plot must show.

    Rows are chosen in this order until ``samples`` are held: each key's rows of its
    smallest finite value and of its largest (a NaN or ±inf takes the largest slot where the
    key holds one, so a spike survives), the first and last rows, the largest finite value
    of keys whose slot went to a NaN, then per evenly spaced window each key's smallest and
    largest (as many windows as fit), then evenly spaced rows to fill. So ``samples >= 2 *
    keys`` keeps every key's extremes, ``samples >= 2 * keys + 2`` the first and last rows
    too. Deterministic, unlike W&B's random ``samples``."""
    if samples < 1:
        raise ValueError(f"samples must be a positive number of rows, not {samples}")
    n = len(columns)
    if n <= samples:
        return columns
    picker = _Picker(n, samples)
    metric_keys = [k for k in keys if k in columns.data]
    grids = [_slots(columns, key, np.arange(n)[None, :]) for key in metric_keys]
    picker.add([row for low, high, _ in grids for row in (*low, *high)])
    picker.add([0, n - 1])
    picker.add([row for _, _, finite_high in grids for row in finite_high])
    windows = picker.left() // (2 * len(metric_keys)) if metric_keys else 0
    if windows:  # each window adds at most 2 rows per key: they all fit
        edges = np.linspace(0, n, windows + 1).round().astype(np.intp)
        width = int(np.max(np.diff(edges)))
        # (windows, width) views of row numbers; a short window is padded with its own last row
        grid = np.minimum(edges[:-1, None] + np.arange(width)[None, :], edges[1:, None] - 1)
        for key in metric_keys:
            low, high, _ = _slots(columns, key, grid)
            picker.add(np.concatenate([low, high]))
    picker.fill()
    return columns.take(picker.rows())


def _slots(columns: Columns, key: str, grid: npt.NDArray[np.intp]) -> tuple[Ints, Ints, Ints]:
    """Per row of ``grid`` (rows of ``columns``): where ``key`` is smallest, where largest (a
    logged NaN or ±inf winning that), and where largest among finite values if that differs;
    rows of ``grid`` where the key has no such point give none."""
    values = columns.data[key][grid]
    logged = columns.present[key][grid] if key in columns.present else np.ones(grid.shape, bool)
    finite = np.isfinite(values) & logged
    odd = logged & ~finite
    low = np.where(finite, values, np.inf)
    high = np.where(finite, values, -np.inf)
    rows = np.arange(len(grid))
    has_finite, has_odd = finite.any(axis=1), odd.any(axis=1)
    smallest = grid[rows, np.argmin(low, axis=1)][has_finite]
    finite_max = grid[rows, np.argmax(high, axis=1)]
    largest = np.where(has_odd, grid[rows, np.argmax(odd, axis=1)], finite_max)
    largest = largest[has_finite | has_odd]
    return smallest, largest, finite_max[has_finite & has_odd]


class _Picker:
    """Rows taken in order of importance, never more than ``limit``."""

    def __init__(self, n: int, limit: int) -> None:
        self.chosen = np.zeros(n, np.bool_)
        self.limit, self.count = limit, 0

    def left(self) -> int:
        return self.limit - self.count

    def add(self, candidates: Sequence[int] | npt.NDArray[np.intp]) -> None:
        rows = np.asarray(candidates, np.intp)
        _, first = np.unique(rows, return_index=True)
        fresh = rows[np.sort(first)]  # each once, in the order given
        fresh = fresh[~self.chosen[fresh]][: self.left()]
        self.chosen[fresh] = True
        self.count += len(fresh)

    def fill(self) -> None:
        """Evenly spaced rows among those not taken, up to the limit."""
        free = np.flatnonzero(~self.chosen)
        wanted = min(self.left(), len(free))
        if wanted > 0:
            self.add(free[np.linspace(0, len(free) - 1, wanted).round().astype(np.intp)])

    def rows(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.chosen)


def stacked(
    per_run: Iterable[tuple[str, str, Columns]],
    keys: Sequence[str],
    rows: int = 0,
    x: str = "step",
) -> Columns:
    """Several runs' columns one under the other, ``run_id`` and ``run_name`` first (as
    categories: 10 M rows cost 8 bytes each), every key a column (NaN where a run has none).

    Each run's columns are copied into buffers of ``rows`` rows (an estimate: the points the
    runs hold; grown when short) as it arrives and then dropped, so the peak is the result
    plus one run, not twice the result."""
    out = _Stack(list(keys), max(rows, 0))
    for run_id, name, columns in per_run:
        out.add(run_id, name, columns)
    if out.data:
        return out.columns()
    # no run: the columns a run would have given, empty
    heads = ["step", "time"] if x in ("step", "time") else [x, "step", "time"]
    empty = Columns({"run_id": np.empty(0, np.int32), "run_name": np.empty(0, np.int32)})
    empty.labels = {"run_id": [], "run_name": []}
    for head in heads:
        empty.data[head] = np.empty(0, np.int64 if head == "step" else np.float64)
    for key in keys:
        empty.data[key], empty.present[key] = np.empty(0), np.empty(0, np.bool_)
    return empty


class _Stack:
    def __init__(self, keys: list[str], rows: int) -> None:
        self.keys, self.size, self.used = keys, rows, 0
        self.data: dict[str, np.ndarray[Any, Any]] = {}
        self.present: dict[str, Mask] = {}
        self.ids: list[str] = []
        self.names: dict[str, int] = {}

    def _grow(self, needed: int) -> None:
        self.size = max(needed, self.size * 2)
        for store in (self.data, self.present):
            for name, values in store.items():
                grown = np.empty(self.size, values.dtype)
                grown[: self.used] = values[: self.used]
                store[name] = grown

    def add(self, run_id: str, name: str, columns: Columns) -> None:
        n, start = len(columns), self.used
        if not self.data:
            self.data["run_id"] = np.empty(self.size, np.int32)
            self.data["run_name"] = np.empty(self.size, np.int32)
            for head, values in columns.data.items():  # x, step, time: every run's
                if head not in self.keys:
                    self.data[head] = np.empty(self.size, values.dtype)
            for key in self.keys:
                self.data[key] = np.empty(self.size, np.float64)
                self.present[key] = np.empty(self.size, np.bool_)
        if start + n > self.size:
            self._grow(start + n)
        end = start + n
        self.data["run_id"][start:end] = len(self.ids)
        self.data["run_name"][start:end] = self.names.setdefault(name, len(self.names))
        self.ids.append(run_id)
        for column, buffer in self.data.items():
            if column in ("run_id", "run_name"):
                continue
            found = columns.data.get(column)
            buffer[start:end] = np.nan if found is None else found
        for key, mask in self.present.items():
            found_mask = columns.present.get(key)
            mask[start:end] = False if found_mask is None else found_mask
        self.used = end

    def columns(self) -> Columns:
        used, copy = self.used, self.used < 0.9 * self.size

        def trim(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
            # a buffer much larger than its rows is copied down; one nearly full stays a view
            return values[:used].copy() if copy else values[:used]

        out = Columns(
            {k: trim(v) for k, v in self.data.items()},
            {k: trim(v) for k, v in self.present.items()},
        )
        out.labels = {"run_id": self.ids, "run_name": list(self.names)}
        return out


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
