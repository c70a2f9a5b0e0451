"""Picking the best run by a metric: the direction of a metric and the choice itself."""

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


def metric_direction(key: str) -> str:
    """``"min"`` or ``"max"``: guessed from the metric's name, lower-is-better by default."""
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
    """The run with the lowest (``min``) or highest (``max``) best value; ties: the older."""
    mode = mode or metric_direction(metric)
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
