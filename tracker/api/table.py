"""The summary table of a set of runs: one row per run, the run's own fields, then its config,
summary and metrics as columns named as in the filter language (``config.lr``,
``config.optimizer.beta1``, ``summary.best_eval_loss``, ``metrics.eval/loss`` = the last
value, ``metrics.eval/loss.min``...), so that what ``runs(filter=...)`` selects on is what a
notebook groups by. Built as plain column lists (no pandas needed: exports use them too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..models import MetricSummary, RunRecord

RUN_FIELDS = (
    "id", "name", "project", "status", "created_at", "finished_at", "duration_s", "step",
    "host", "tags",
)  # fmt: skip
STATS = ("last", "min", "max", "count", "step")


def flat(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Nested dicts as dotted names (``config.optimizer.lr``), as the filter spells them."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping) and value:
            out.update(flat(name, value))
        else:
            out[name] = value
    return out


def metric_value(summary: MetricSummary, stat: str) -> float | int | None:
    if stat == "last":
        return summary.last
    if stat == "min":
        return summary.min
    if stat == "max":
        return summary.max
    if stat == "count":
        return summary.count
    return summary.last_step


def metric_column(key: str, stat: str) -> str:
    return f"metrics.{key}" if stat == "last" else f"metrics.{key}.{stat}"


def check_stats(stats: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(stats)
    wrong = [s for s in chosen if s not in STATS]
    if wrong:
        raise ValueError(f"metric statistics are {', '.join(STATS)}; not {', '.join(wrong)}")
    return chosen


def summary_columns(
    runs: Sequence[RunRecord],
    metrics: Sequence[str] | None = None,
    stats: Sequence[str] = ("last",),
    system: bool = False,
) -> dict[str, list[Any]]:
    """Column name -> one value per run (None where a run lacks it). ``metrics``: which keys
    (default: every key any run logged, ``sys/*`` only with ``system``)."""
    stats = check_stats(stats)
    if metrics is None:
        seen = dict.fromkeys(k for run in runs for k in run.metrics)
        metrics = sorted(k for k in seen if system or not k.startswith("sys/"))
    rows: list[dict[str, Any]] = []
    for run in runs:
        row: dict[str, Any] = {
            "id": run.id,
            "name": run.name,
            "project": run.project,
            "status": run.status,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "duration_s": run.duration_s,
            "step": run.step,
            "host": run.host,
            "tags": ",".join(run.tags),
        }
        row.update(flat("config", run.config))
        row.update(flat("summary", run.summary))
        for key in metrics:
            found = run.metrics.get(key)
            if found is not None:
                for stat in stats:
                    row[metric_column(key, stat)] = metric_value(found, stat)
        rows.append(row)
    names: dict[str, None] = dict.fromkeys(RUN_FIELDS)
    for prefix in ("config.", "summary."):  # config, then summary, then metrics, each sorted
        names.update(dict.fromkeys(sorted({n for r in rows for n in r if n.startswith(prefix)})))
    names.update(dict.fromkeys(metric_column(k, s) for k in metrics for s in stats))
    return {name: [row.get(name) for row in rows] for name in names}


def uniform(values: Sequence[Any]) -> list[Any]:
    """A column that columnar formats (polars, Parquet) can type: all numbers (ints stay
    ints unless floats are among them), all text, all booleans; anything mixed, and lists or
    dicts, become their text."""
    present = [v for v in values if v is not None]
    if not present:
        return list(values)
    if all(isinstance(v, bool) for v in present):
        return list(values)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        if any(isinstance(v, float) for v in present):
            return [None if v is None else float(v) for v in values]
        return list(values)
    if all(isinstance(v, str) for v in present):
        return list(values)
    from ..jsonable import to_json_safe
    from ..sanitize import safe_json

    return [
        None if v is None else v if isinstance(v, str) else safe_json(to_json_safe(v), None)
        for v in values
    ]


def is_finite_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
