"""Picking the best run by a metric: the direction of a metric and the choice itself.

The direction is what the runs say (``define_metric(key, goal="maximize")`` or
``summary="max"``) and, where none of them says, a guess from the metric's name."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .models import RunRecord

_LOWER_IS_BETTER = re.compile(
    r"(loss|err|error|perplexity|ppl|wer|cer|mse|mae|rmse|nll|bpb|bpc|time|latency|distance)",
    re.IGNORECASE,
)
_HIGHER_IS_BETTER = re.compile(
    r"(acc|accuracy|f1|auc|bleu|rouge|precision|recall|reward|score|map|iou|dice|r2|return)",
    re.IGNORECASE,
)


def defined_direction(runs: Iterable[RunRecord], key: str) -> str | None:
    """``"min"``/``"max"`` as these runs define it for ``key`` (``define_metric``'s goal or a
    min/max summary): the one most of them define, ties to the first; None if none does."""
    counts: dict[str, int] = {}
    for run in runs:
        if run.metric_defs:
            goal = run.goal(key)
            if goal is not None:
                counts[goal] = counts.get(goal, 0) + 1
    return max(counts, key=lambda g: counts[g]) if counts else None


def metric_direction(key: str, runs: Iterable[RunRecord] = ()) -> str:
    """``"min"`` or ``"max"``: what ``runs`` define for ``key``, else guessed from the name
    (lower is better by default)."""
    defined = defined_direction(runs, key)
    if defined is not None:
        return defined
    leaf = key.rsplit("/", 1)[-1]
    if _LOWER_IS_BETTER.search(leaf):
        return "min"
    if _HIGHER_IS_BETTER.search(leaf):
        return "max"
    return "min"


@dataclass(frozen=True, slots=True)
class Best:
    run: RunRecord
    metric: str
    mode: str
    value: float


def best_value(run: RunRecord, metric: str, mode: str) -> float | None:
    """The run's best finite value of ``metric`` (its min or max), or None if it has none."""
    summary = run.metrics.get(metric)
    if summary is None:
        return None
    value = summary.min if mode == "min" else summary.max
    if value is None or not math.isfinite(value):
        return None
    return value


def best_run(runs: Iterable[RunRecord], metric: str, mode: str | None = None) -> Best | None:
    """The run with the lowest (``min``) or highest (``max``) best value; ties: the older.
    Without ``mode``, the direction the runs define for ``metric``, else the name's."""
    runs = list(runs)
    mode = mode or metric_direction(metric, runs)
    if mode not in ("min", "max"):
        raise ValueError("mode must be 'min' or 'max'")
    chosen: Best | None = None
    for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
        value = best_value(run, metric, mode)
        if value is None:
            continue
        if chosen is None or (value < chosen.value if mode == "min" else value > chosen.value):
            chosen = Best(run, metric, mode, value)
    return chosen
