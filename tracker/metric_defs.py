"""``define_metric``: what a metric is plotted against, and which way is better (pure logic).

A run keeps its definitions as a list in the order they were made (``runs.metric_defs``).
wandb's rules are the reference:

- ``name`` is a metric key or a glob (``"*"``, ``"train/*"``); an exact name wins over a glob,
  and among globs the one defined last wins.
- ``step_metric`` names the metric a metric is plotted against (``"iter"``, ``"epoch"``). A
  point logged without it uses the step metric's last value at or before that step (wandb's
  ``step_sync``). A step metric is never plotted against itself, and globs do not reach the
  hardware metrics under ``sys/`` unless the glob itself starts with ``sys/``.
- ``goal`` (``"minimize"``/``"maximize"``) or a ``summary`` of ``"min"``/``"max"`` says which
  way is better; the runs table's best columns and the best-run picker follow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

SUMMARIES = ("min", "max", "mean", "best", "last", "first", "copy", "none")
GOALS = {"minimize": "min", "maximize": "max", "min": "min", "max": "max"}
MAX_DEFS = 1000


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One ``define_metric`` call, as stored."""

    name: str
    step_metric: str | None = None
    step_sync: bool = True
    hidden: bool = False
    summary: tuple[str, ...] = ()
    goal: str | None = None  # "min" or "max"

    @property
    def is_glob(self) -> bool:
        return "*" in self.name or "?" in self.name

    def matches(self, key: str) -> bool:
        if key == self.name:
            return True
        if not self.is_glob:
            return False
        if key.startswith("sys/") and not self.name.startswith("sys/"):
            return False
        return fnmatchcase(key, self.name)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.step_metric is not None:
            out["step_metric"] = self.step_metric
            out["step_sync"] = self.step_sync
        if self.hidden:
            out["hidden"] = True
        if self.summary:
            out["summary"] = ",".join(self.summary)
        if self.goal is not None:
            out["goal"] = "minimize" if self.goal == "min" else "maximize"
        return out


def make_def(
    name: str,
    step_metric: str | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
) -> MetricDef:
    """A checked definition; ``ValueError``/``TypeError`` say what is wrong with an argument."""
    if not isinstance(name, str) or not name:
        raise TypeError("define_metric(): name must be a non-empty string")
    if step_metric is not None:
        if not isinstance(step_metric, str) or not step_metric:
            raise TypeError("define_metric(): step_metric must be a metric name")
        if "*" in step_metric or "?" in step_metric:
            raise ValueError("define_metric(): step_metric must be one metric, not a glob")
    summaries: tuple[str, ...] = ()
    if summary is not None:
        if not isinstance(summary, str):
            raise TypeError("define_metric(): summary must be a string such as 'min' or 'max,mean'")
        summaries = tuple(part.strip().lower() for part in summary.split(",") if part.strip())
        unknown = [part for part in summaries if part not in SUMMARIES]
        if unknown:
            raise ValueError(
                f"define_metric(): unknown summary {unknown[0]!r} (one of {', '.join(SUMMARIES)})"
            )
    direction = None
    if goal is not None:
        direction = GOALS.get(str(goal).lower())
        if direction is None:
            raise ValueError("define_metric(): goal must be 'minimize' or 'maximize'")
    return MetricDef(
        name=name,
        step_metric=step_metric,
        step_sync=True if step_sync is None else bool(step_sync),
        hidden=bool(hidden),
        summary=summaries,
        goal=direction,
    )


def merged(defs: Sequence[MetricDef], new: MetricDef, overwrite: bool | None) -> list[MetricDef]:
    """``defs`` with ``new`` added. A second definition of the same name updates the fields it
    sets (wandb's default), or replaces the first with ``overwrite=True``."""
    out = [d for d in defs if d.name != new.name]
    previous = next((d for d in defs if d.name == new.name), None)
    if previous is not None and not overwrite:
        new = MetricDef(
            name=new.name,
            step_metric=new.step_metric if new.step_metric is not None else previous.step_metric,
            step_sync=new.step_sync,
            hidden=new.hidden or previous.hidden,
            summary=new.summary or previous.summary,
            goal=new.goal if new.goal is not None else previous.goal,
        )
    out.append(new)
    if len(out) > MAX_DEFS:
        raise ValueError(f"define_metric(): more than {MAX_DEFS:,} definitions in one run")
    return out


def from_json(items: Any) -> list[MetricDef]:
    """Stored definitions back; anything malformed (an old or hand-edited file) is skipped."""
    out: list[MetricDef] = []
    if not isinstance(items, list):
        return out
    for item in items[:MAX_DEFS]:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        try:
            out.append(
                make_def(
                    item["name"],
                    step_metric=item.get("step_metric"),
                    step_sync=item.get("step_sync"),
                    hidden=item.get("hidden"),
                    summary=item.get("summary"),
                    goal=item.get("goal"),
                )
            )
        except (TypeError, ValueError):
            continue
    return out


def resolve(defs: Sequence[MetricDef], key: str) -> MetricDef | None:
    """The definition that applies to ``key``: its exact one, else the last matching glob."""
    for d in reversed(defs):
        if d.name == key:
            return d
    for d in reversed(defs):
        if d.is_glob and d.matches(key):
            return d
    return None


def step_metric_of(defs: Sequence[MetricDef], key: str) -> str | None:
    """The metric ``key`` is plotted against, or None for the run's own step.

    Only a definition that sets a step metric counts (an exact ``define_metric("loss",
    goal="minimize")`` does not undo a ``"*"`` step metric)."""
    for candidates in (
        [d for d in defs if d.name == key],
        [d for d in defs if d.is_glob and d.matches(key)],
    ):
        for d in reversed(candidates):
            if d.step_metric is not None:
                return None if d.step_metric == key else d.step_metric
    return None


def goal_of(defs: Sequence[MetricDef], key: str) -> str | None:
    """``"min"`` or ``"max"`` when the run says which way ``key`` is better."""
    for candidates in (
        [d for d in defs if d.name == key],
        [d for d in defs if d.is_glob and d.matches(key)],
    ):
        for d in reversed(candidates):
            if d.goal is not None:
                return d.goal
            for part in d.summary:
                if part in ("min", "max"):
                    return part
    return None


def step_metrics(defs: Iterable[MetricDef]) -> list[str]:
    """Every step metric the definitions name, in the order first named."""
    seen: dict[str, None] = {}
    for d in defs:
        if d.step_metric is not None:
            seen.setdefault(d.step_metric, None)
    return list(seen)


def step_metric_uses(
    defs: Sequence[MetricDef], keys: Iterable[str]
) -> list[tuple[str, str | None]]:
    """(key, the step metric it is plotted against or None for the run's own step) for each
    of ``keys`` that is neither a hardware metric nor a step metric itself."""
    counters = set(step_metrics(defs))
    return [
        (key, step_metric_of(defs, key))
        for key in keys
        if not key.startswith("sys/") and key not in counters
    ]


def main_step_metric(
    uses: Iterable[tuple[str, str | None]], logged: Mapping[str, int]
) -> str | None:
    """What the run calls its steps: the step metric of its most logged metric (``uses``:
    :func:`step_metric_uses`; ``logged``: key -> number of points), the finest counter (a
    ``train/step`` rather than the ``epoch`` the evaluations use); None where that metric is
    plotted against the run's own step (``define_metric("val/*", step_metric="epoch")`` beside
    a loss logged every batch: the run's step is still the batch's). A tie goes to a step
    metric the run defined."""
    best: dict[str | None, int] = {}
    for key, metric in uses:
        best[metric] = max(best.get(metric, 0), logged.get(key, 0))
    if not best:
        return None
    return max(best, key=lambda m: (best[m], m is not None))


# Names scripts give their own step counter when they log it as a metric (nanoGPT's "iter",
# a "step" or "global_step" key) without calling define_metric; first match wins.
COUNTER_NAMES = (
    "iter", "iter_num", "iteration", "iterations", "global_step", "train/global_step",
    "trainer/global_step", "step", "steps", "_step", "train/step", "num_updates", "update",
    "updates", "batch", "batch_step", "batch/batch_step",
)  # fmt: skip


def guess_step_metric(metrics: Mapping[str, Any]) -> str | None:
    """The metric a run that defined none most likely counts its steps with: one named like a
    counter, logged more than once, that ends at its maximum and starts at its minimum (a
    counter goes up). ``metrics`` maps keys to objects with ``count``, ``min``, ``max`` and
    ``last`` (the runs' ``MetricSummary``)."""
    for name in COUNTER_NAMES:
        summary = metrics.get(name)
        if summary is None or summary.count < 2:
            continue
        low, high, last = summary.min, summary.max, summary.last
        if low is None or high is None or last is None or not high > low:
            continue
        if last == high:
            return name
    return None
