"""What a plot's x-axis is: pure logic, no widgets.

- ``auto`` (the default): each metric against the step metric its run defines for it
  (``define_metric("*", step_metric="iter")``), else against the logged step. A plot that
  overlays several runs uses one axis for all of them: the one most of them define for that
  metric (ties: the first run's).
- ``step``: the logged step, whatever the runs define; ``time``: seconds since the run started.
- ``metric``: any metric, paired with the plotted metric by step (wandb's ``step_sync``: a point
  at step s is drawn at the x metric's last value logged at or before s).

A run that lacks the plot's x metric is left out of that plot, and the plot says so in its
title (``no iter: run-name``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tracker.metric_defs import MetricDef, step_metric_of, step_metrics
from tracker.models import RunRecord

from .metrics import order_keys

AUTO = "auto"
STEP = "step"
TIME = "time"
METRIC = "metric"


@dataclass(frozen=True, slots=True)
class XAxis:
    kind: str = AUTO
    key: str = ""  # the metric, for ``metric``

    @property
    def name(self) -> str:
        """Short, for headers (not sanitized: callers pass it through safe_text)."""
        if self.kind == METRIC:
            return self.key
        if self.kind == STEP:
            return "logged step"
        return "time" if self.kind == TIME else "step"


@lru_cache(maxsize=8192)
def _step_metric(defs: tuple[MetricDef, ...], key: str) -> str | None:
    return step_metric_of(defs, key)


def run_step_metric(run: RunRecord, key: str) -> str | None:
    """The metric ``run`` plots ``key`` against (cached: redraws ask it for every plot): the
    one it defined, else the counter it logs without defining it (nanoGPT's ``iter``)."""
    if run.metric_defs:
        return _step_metric(tuple(run.metric_defs), key)
    return run.counter_for(key)


def defined_step_metrics(runs: Iterable[RunRecord]) -> list[str]:
    """Every step metric these runs define, in the order first seen."""
    seen: dict[str, None] = {}
    for run in runs:
        if run.metric_defs:
            seen.update(dict.fromkeys(step_metrics(run.metric_defs)))
        else:
            counter = run.guessed_counter
            if counter is not None:
                seen[counter] = None
    return list(seen)


def x_metric(runs: Sequence[RunRecord], key: str, axis: XAxis) -> str | None:
    """The metric the plot of ``key`` is drawn against, shared by every run in it (None: the
    logged step or time)."""
    if axis.kind == METRIC:
        return axis.key
    if axis.kind != AUTO:
        return None
    counts: dict[str | None, int] = {}
    for run in runs:
        metric = run_step_metric(run, key)
        if metric is not None and metric not in run.metrics:
            metric = None  # defined but never logged: the run's own step
        counts[metric] = counts.get(metric, 0) + 1
    if not counts:
        return None
    chosen = max(counts, key=lambda m: counts[m])  # ties: the first seen
    if chosen is not None and 2 * counts[chosen] < len(runs):
        return None  # runs that count steps differently: all of them on the logged step
    return chosen


def x_label(axis: XAxis, metric: str | None) -> str:
    if axis.kind == TIME:
        return "time (s)"
    return metric if metric is not None else "step"


def next_axis(current: XAxis, metrics: Sequence[str]) -> XAxis:
    """What ``x`` switches to: step → relative time → each step metric defined → step."""
    cycle = [XAxis(), XAxis(TIME), *(XAxis(METRIC, m) for m in metrics)]
    if current in cycle:
        return cycle[(cycle.index(current) + 1) % len(cycle)]
    return cycle[0]


def axis_choices(runs: Sequence[RunRecord]) -> list[tuple[XAxis, str]]:
    """Everything the picker offers for these runs, with a description: the step (as defined),
    the logged step, relative time, the step metrics defined, then every other metric."""
    defined = defined_step_metrics(runs)
    out: list[tuple[XAxis, str]] = [
        (XAxis(), "step: each metric's define_metric step metric, else the logged step"),
        (XAxis(STEP), "logged step, whatever the runs define"),
        (XAxis(TIME), "relative time (s since the run started)"),
    ]
    out += [
        (XAxis(METRIC, m), "step metric (define_metric, or a counter the run logs)")
        for m in defined
    ]
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(run.metrics))
    out += [(XAxis(METRIC, k), "") for k in order_keys(keys) if k not in defined]
    return out
