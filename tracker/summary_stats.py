"""What ``run.summary[key]`` reads for a metric defined with ``summary="min"`` and the like.

wandb's rule: a metric whose definition names summary operations reads as a dict of them
(``define_metric("loss", summary="min")``: ``run.summary["loss"] == {"min": 0.21}``;
``"max,last"``: ``{"max": ..., "last": ...}``), ``summary="none"`` leaves the key out and
``"copy"`` (or no definition) reads as the latest value. The running minimum, maximum, mean
and first value are kept here, only for keys whose definition asks for one, so that a run
with no such definition pays one truth test per ``log()``. NaN and inf are left out of the
operations (wandb's ``min`` of a series with one NaN is NaN: of no use for picking a run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .metric_defs import MetricDef, goal_of, resolve

OPERATIONS = ("min", "max", "mean", "first", "last", "best")
_KEPT = {"min", "max", "mean", "first", "best"}  # those that need more than the latest value


class SummaryStats:
    """Running operations of the metrics that ask for them (one instance per run)."""

    def __init__(self, defs: Callable[[], Sequence[MetricDef]]) -> None:
        self._defs = defs
        self._parts: dict[str, tuple[str, ...]] = {}  # key -> its definition's summary parts
        self._kept: dict[str, bool] = {}  # key -> whether add() keeps operations of it
        self._stats: dict[str, list[Any]] = {}  # key -> [min, max, sum, count, first]
        self.wanted = False  # any definition keeps an operation: log() calls add()

    def definitions_changed(self) -> None:
        self._parts.clear()
        self._kept.clear()
        self.wanted = any(_KEPT.intersection(d.summary) for d in self._defs())

    def parts(self, key: str) -> tuple[str, ...]:
        """The summary operations ``key``'s definition names (``()``: none)."""
        found = self._parts.get(key)
        if found is None:
            definition = resolve(self._defs(), key)
            found = self._parts[key] = definition.summary if definition is not None else ()
        return found

    def seed(
        self,
        held: Mapping[str, tuple[int, int, float | None, float | None]],
        values: Callable[[int], Sequence[float]],
    ) -> None:
        """A resumed run's operations over what it logged before: ``held`` is key ->
        ``(series id, finite count, min, max)`` as stored; ``values(series id)`` reads a
        series' values (only for keys whose mean or first is asked for)."""
        for key, (series_id, finite, low, high) in held.items():
            parts = _KEPT.intersection(self.parts(key))
            if not parts or not finite or low is None or high is None:
                continue
            total, first = 0.0, low
            if parts & {"mean", "first"}:
                kept = [v for v in values(series_id) if math.isfinite(v)]
                if not kept:
                    continue
                total, first, finite = math.fsum(kept), kept[0], len(kept)
            self._stats[key] = [low, high, total, finite, first]

    def add(self, data: Mapping[str, Any]) -> None:
        kept = self._kept
        for key, value in data.items():
            keep = kept.get(key)
            if keep is None:
                keep = kept[key] = bool(_KEPT.intersection(self.parts(key)))
            if not keep:
                continue
            if type(value) is not float and type(value) is not int:  # (ints stay ints: wandb's)
                try:
                    value = float(value)
                except (TypeError, ValueError, OverflowError):
                    continue
            try:
                if not math.isfinite(value):
                    continue
            except OverflowError:  # an int past the floats
                continue
            held = self._stats.get(key)
            if held is None:
                self._stats[key] = [value, value, value, 1, value]
                continue
            if value < held[0]:
                held[0] = value
            if value > held[1]:
                held[1] = value
            held[2] += value
            held[3] += 1

    def read(self, key: str, latest: Any) -> Any:
        """What ``summary[key]`` reads, given the key's latest logged value; ``KeyError`` for
        a key defined with ``summary="none"``."""
        parts = self.parts(key)
        if "none" in parts:
            raise KeyError(key)
        shown = [part for part in parts if part in OPERATIONS]
        if not shown:
            return latest
        held = self._stats.get(key)
        out: dict[str, Any] = {}
        for part in shown:
            if part == "last":
                out["last"] = latest
            elif held is None:  # only NaN or inf logged so far
                out[part] = math.nan
            elif part == "best":
                goal = goal_of(self._defs(), key)
                out["best"] = held[1] if goal == "max" else held[0]
            else:
                index = {"min": 0, "max": 1, "first": 4}.get(part)
                out[part] = held[2] / held[3] if index is None else held[index]
        return out

    def hidden(self, key: str) -> bool:
        """Whether ``key`` is left out of the summary (``summary="none"``)."""
        return "none" in self.parts(key)
