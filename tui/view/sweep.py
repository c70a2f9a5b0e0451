"""The numbers behind the sweep views, pure: runs grouped by a config key or their tags, a
group's mean with its min/max band per step bucket, a metric's best or last value per run, and
the axes (linear, log or categorical) that place config values and metric values in [0, 1].

A group is the runs of one configuration that differ only by the key left out (seeds,
usually): W&B's grouped runs. The best value honours the metric's direction as the runs define
it (``define_metric`` goal), else as its name says (:func:`tracker.ranking.metric_direction`).
No widgets, no terminal: the screens hand these to :mod:`tui.view.sweep_draw`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.compare import flatten_config
from tracker.models import RunRecord
from tracker.ranking import best_value

from ..formatting import format_number
from .ticks import share

TAG = "tag"  # group by the runs' tags rather than a config key
NO_VALUE = "(none)"  # a run without the key, or without tags
LOG_DECADES = 2.0  # a positive axis spanning this many decades of ten or more is drawn log
# log10(0.03) - log10(0.0003) is 1.9999999999999998: a grid of exactly two decades must count
DECADES_TOLERANCE = 1e-9
BEST, LAST = "best", "last"


@dataclass(frozen=True, slots=True)
class Group:
    label: str  # raw text (config or tag values): make it safe before drawing it
    run_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BandPoint:
    """One step bucket of a group: its runs' mean, lowest and highest value, and how many
    runs had a value there."""

    x: float
    mean: float
    low: float
    high: float
    n: int


def _number(value: Any) -> float | None:
    """A config value as a number on an axis; booleans and text are categories."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def value_label(value: Any) -> str:
    """How a config value reads in a legend or on an axis (raw: not yet safe text)."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else format_number(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _identity(value: Any) -> tuple[int, float, str]:
    """A hashable, sortable stand-in for a value: numbers by value, then everything else by
    its text (1 and 1.0 are one configuration; a missing key sorts last)."""
    number = _number(value)
    if number is not None:
        return (0, number, "")
    if value is None:
        return (2, 0.0, "")
    return (1, 0.0, value_label(value))


def config_value(run: RunRecord, key: str) -> Any:
    """The run's value of ``key`` (a dotted key reaches into nested config), or None."""
    config = run.config
    if key in config and not isinstance(config[key], dict):
        return config[key]
    return flatten_config(config).get(key)


def _tags_value(run: RunRecord) -> str | None:
    return ", ".join(sorted(run.tags)) if run.tags else None


def group_value(run: RunRecord, key: str) -> Any:
    return _tags_value(run) if key == TAG else config_value(run, key)


def sweep_keys(runs: Sequence[RunRecord]) -> list[str]:
    """The keys one can group by: config keys with more than one value among ``runs`` (in
    key order), then ``tag`` when the runs' tags differ."""
    values: dict[str, set[tuple[int, float, str]]] = {}
    flat = [flatten_config(run.config) for run in runs]
    for config in flat:
        for key in config:
            values.setdefault(key, set())
    for config in flat:
        for key, seen in values.items():
            seen.add(_identity(config.get(key)))
    keys = sorted(key for key, seen in values.items() if len(seen) > 1)
    if len({_tags_value(run) for run in runs}) > 1:
        keys.append(TAG)
    return keys


def group_runs(runs: Sequence[RunRecord], key: str) -> list[Group]:
    """Each run in exactly one group, by its value of ``key`` (``tag``: its set of tags);
    groups in value order, runs in the order given."""
    groups: dict[tuple[int, float, str], tuple[str, list[str]]] = {}
    for run in runs:
        value = group_value(run, key)
        identity = _identity(value)
        if identity not in groups:
            groups[identity] = (value_label(value), [])
        groups[identity][1].append(run.id)
    return [Group(label, tuple(ids)) for _, (label, ids) in sorted(groups.items())]


def default_group_key(runs: Sequence[RunRecord], keys: Sequence[str] | None = None) -> str | None:
    """The key whose groups look most like seeds of one configuration: the most groups of two
    runs or more, then the fewest groups; a key named like a seed only when nothing else is."""
    keys = list(sweep_keys(runs) if keys is None else keys)
    if not keys:
        return None

    def score(key: str) -> tuple[bool, int, int]:
        sizes = [len(g.run_ids) for g in group_runs(runs, key)]
        repeated = sum(1 for size in sizes if size > 1)
        return ("seed" in key.lower(), -repeated, len(sizes))

    return min(keys, key=score)


def metric_value(run: RunRecord, metric: str, which: str, mode: str) -> float | None:
    """The run's best (its min or max, by ``mode``) or last finite value of ``metric``."""
    if which == BEST:
        return best_value(run, metric, mode)
    summary = run.metrics.get(metric)
    if summary is None or summary.last is None or not math.isfinite(summary.last):
        return None
    return summary.last


def rank_groups(
    groups: Sequence[Group],
    runs: Sequence[RunRecord],
    metric: str,
    which: str,
    mode: str,
) -> list[tuple[Group, float | None]]:
    """Each group with the mean of its runs' best (or last) values of ``metric``, best group
    first by ``mode``; groups with no value at all last, in their value order."""
    by_id = {run.id: run for run in runs}
    scored: list[tuple[Group, float | None]] = []
    for group in groups:
        values = [
            v
            for v in (
                metric_value(by_id[r], metric, which, mode) for r in group.run_ids if r in by_id
            )
            if v is not None
        ]
        scored.append((group, math.fsum(values) / len(values) if values else None))
    order = {group.label: index for index, group in enumerate(groups)}

    def key(pair: tuple[Group, float | None]) -> tuple[bool, float, int]:
        group, value = pair
        if value is None:
            return (True, 0.0, order[group.label])
        return (False, value if mode == "min" else -value, order[group.label])

    return sorted(scored, key=key)


def choose_groups(ranked: Sequence[Group], limit: int, keep: str | None = None) -> list[Group]:
    """The first ``limit`` of ``ranked`` (best first); the group labelled ``keep`` (the
    highlighted run's) takes the last place when it would be left out."""
    chosen = list(ranked[: max(0, limit)])
    if keep is not None and limit > 0 and all(g.label != keep for g in chosen):
        extra = next((g for g in ranked if g.label == keep), None)
        if extra is not None:
            chosen[-1:] = [extra]
    return chosen


def band(
    curves: Sequence[Sequence[tuple[float, float]]],
    buckets: int,
    x_range: tuple[float, float] | None = None,
) -> list[BandPoint]:
    """The runs' curves (``(x, y)`` points each) aligned on ``buckets`` equal x-ranges: in
    each, every run's own mean there, then their mean, min and max across runs. Runs that
    logged at different steps meet in the bucket; non-finite values are left out."""
    finite = [
        [(x, y) for x, y in curve if math.isfinite(x) and math.isfinite(y)] for curve in curves
    ]
    xs = [x for curve in finite for x, _ in curve]
    if not xs or buckets < 1:
        return []
    left, right = x_range if x_range is not None else (min(xs), max(xs))
    width = (right - left) / buckets if right > left else 1.0
    per_bucket: dict[int, list[float]] = {}
    for curve in finite:
        sums: dict[int, list[float]] = {}
        for x, y in curve:
            if not left <= x <= right:
                continue
            index = min(buckets - 1, int((x - left) / width))
            cell = sums.setdefault(index, [0.0, 0.0])
            cell[0] += y
            cell[1] += 1
        for index, (total, count) in sums.items():
            per_bucket.setdefault(index, []).append(total / count)
    out = []
    for index in sorted(per_bucket):
        values = per_bucket[index]
        low, high = min(values), max(values)
        mean = min(high, max(low, math.fsum(values) / len(values)))  # rounding stays inside
        out.append(BandPoint(left + (index + 0.5) * width, mean, low, high, len(values)))
    return out


@dataclass(frozen=True, slots=True)
class Axis:
    """Where a value sits on one axis, in [0, 1]: numbers linearly or by their log (positive
    values spanning :data:`LOG_DECADES` or more), anything else as evenly spaced categories."""

    key: str
    kind: str  # "linear", "log" or "category"
    low: float = 0.0
    high: float = 1.0
    categories: tuple[str, ...] = ()

    def position(self, value: Any) -> float | None:
        if self.kind == "category":
            label = value_label(value)
            if label not in self.categories:
                return None
            count = len(self.categories)
            return 0.5 if count == 1 else self.categories.index(label) / (count - 1)
        number = _number(value)
        if number is None:
            return None
        if self.kind == "log":
            if number <= 0:
                return None
            number = math.log10(number)
        if self.high == self.low:
            return 0.5
        return min(1.0, max(0.0, share(number, self.low, self.high)))

    def value_at(self, position: float) -> float:
        """The number at ``position`` of a numeric axis (for its tick labels)."""
        value = self.low * (1 - position) + self.high * position  # (high - low can overflow)
        return 10.0**value if self.kind == "log" else value


def make_axis(key: str, values: Iterable[Any]) -> Axis:
    """The axis for these values (None: missing, left off numeric axes)."""
    present = [v for v in values if v is not None]
    numbers = [_number(v) for v in present]
    if present and all(n is not None for n in numbers):
        finite = [n for n in numbers if n is not None]
        low, high = min(finite), max(finite)
        if low > 0 and math.log10(high) - math.log10(low) >= LOG_DECADES - DECADES_TOLERANCE:
            return Axis(key, "log", math.log10(low), math.log10(high))
        return Axis(key, "linear", low, high)
    if not present:
        return Axis(key, "linear", 0.0, 1.0)
    labels = {value_label(v): _identity(v) for v in present}
    ordered = tuple(sorted(labels, key=lambda label: labels[label]))
    return Axis(key, "category", categories=ordered)


@dataclass(frozen=True, slots=True)
class ScatterPoint:
    run_id: str
    x: float  # position on the x axis, [0, 1]
    y: float  # position on the y axis, [0, 1]
    value: float  # the metric's value


def scatter_points(
    runs: Sequence[RunRecord], x_key: str, metric: str, which: str, mode: str
) -> tuple[Axis, Axis, list[ScatterPoint]]:
    """(x axis, y axis, a point per run that has both a value of ``x_key`` and of the
    metric)."""
    pairs = [(run, group_value(run, x_key), metric_value(run, metric, which, mode)) for run in runs]
    pairs = [(run, x, y) for run, x, y in pairs if y is not None and x is not None]
    x_axis = make_axis(x_key, [x for _, x, _ in pairs])
    y_axis = make_axis(metric, [y for _, _, y in pairs])
    points = []
    for run, x, y in pairs:
        px, py = x_axis.position(x), y_axis.position(y)
        if px is not None and py is not None and y is not None:
            points.append(ScatterPoint(run.id, px, py, y))
    return x_axis, y_axis, points


@dataclass(frozen=True, slots=True)
class ParallelLine:
    run_id: str
    positions: tuple[float, ...]  # one per axis, the metric's last
    value: float
    rank: float  # 0 for the best run's value, 1 for the worst's


@dataclass(frozen=True, slots=True)
class Parallel:
    axes: tuple[Axis, ...]  # the config keys', then the metric's
    lines: tuple[ParallelLine, ...]  # worst first: the best are drawn last, on top
    left_out: int  # runs lacking a value on some axis


def parallel_lines(
    runs: Sequence[RunRecord], keys: Sequence[str], metric: str, which: str, mode: str
) -> Parallel:
    """Parallel coordinates over ``keys`` and the metric: a line per run with a value on
    every axis."""
    rows = [
        (run, [group_value(run, key) for key in keys], metric_value(run, metric, which, mode))
        for run in runs
    ]
    complete = [(run, vs, m) for run, vs, m in rows if m is not None]
    axes = [make_axis(key, [vs[i] for _, vs, _ in complete]) for i, key in enumerate(keys)]
    axes.append(make_axis(metric, [m for _, _, m in complete]))
    values = [m for _, _, m in complete if m is not None]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    lines: list[ParallelLine] = []
    for run, vs, m in complete:
        assert m is not None
        positions = [axis.position(v) for axis, v in zip(axes, [*vs, m], strict=True)]
        if any(p is None for p in positions):
            continue
        where = 0.0 if high == low else share(m, low, high)
        rank = where if mode == "min" else 1.0 - where
        lines.append(ParallelLine(run.id, tuple(p for p in positions if p is not None), m, rank))
    lines.sort(key=lambda line: (-line.rank, line.run_id))
    return Parallel(tuple(axes), tuple(lines), len(runs) - len(lines))
