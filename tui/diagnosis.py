"""One line saying what holds a run back, from its throughput and hardware series.

Pure: plain (seconds since the run started, value) pairs in, one sentence out. The run view's
bottleneck pane (``6``) shows it above the series it was read from. The rules, first match wins:

1. no samples at all: ``no data yet``; less than :data:`MIN_SPAN_S` of them: ``too early``;
2. GPU memory at or above :data:`NEAR_OOM` percent: ``near OOM``;
3. the GPU idle (below :data:`IDLE_UTIL` percent) a quarter or more of the last
   :data:`WINDOW_S` seconds: ``input-bound`` when the process keeps a core busy (``CPU-bound``
   data loading), else waiting on something outside the GPU;
4. throughput fell by :data:`DROP` or more and stayed down: where it fell (``while eval ran``
   when evaluation metrics were logged then);
5. otherwise ``no bottleneck seen`` with the GPU's (or the process's CPU) mean busy share.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

Series = Sequence[tuple[float, float]]  # (seconds since the run started, value), time order

WINDOW_S = 600.0  # "the last 10 min"
MIN_SPAN_S = 60.0  # less data than this is too little to judge
NEAR_OOM = 95.0  # GPU memory percent
IDLE_UTIL = 30.0  # GPU utilisation percent below which it counts as idle
IDLE_SHARE = 0.25  # of the window
CPU_BOUND = 90.0  # process CPU (% of one core) that counts as a saturated loader
DROP = 0.3  # throughput fall that is reported
EVAL_NEAR_S = 30.0  # an eval logged this close to a fall explains it


@dataclass(frozen=True, slots=True)
class Signals:
    """What the diagnosis reads. ``gpu_util``/``gpu_mem`` are None on a run without a GPU."""

    throughput: Series = ()
    throughput_unit: str = "steps/s"
    steps: Series = ()  # (t, step): where a change happened, in the run's steps
    gpu_util: Series | None = None  # percent (the busiest GPU's, or their mean)
    gpu_mem: Series | None = None  # percent of the GPU's memory
    proc_cpu: Series = ()  # the process's CPU, % of one core
    evals: Sequence[float] = ()  # times evaluation metrics were logged
    stall: tuple[int | None, float, bool] | None = None  # the run's last stall: step, s, open


def _window(series: Series, end: float) -> list[float]:
    return [v for t, v in series if t > end - WINDOW_S]


def _step_at(steps: Series, t: float) -> float | None:
    if not steps:
        return None
    index = bisect_left([s[0] for s in steps], t)
    return steps[min(index, len(steps) - 1)][1]


def _fall(throughput: Series) -> tuple[float, float] | None:
    """(share it fell by, time it fell) when the recent throughput stays :data:`DROP` below
    the earlier one, else None."""
    values = [v for _, v in throughput]
    if len(values) < 10:
        return None
    half = len(values) // 2
    baseline = statistics.median(values[:half])
    recent = statistics.median(values[-max(3, len(values) // 5) :])
    if baseline <= 0 or recent > baseline * (1 - DROP):
        return None
    threshold = baseline * (1 - DROP)
    index = len(values) - 1
    while index > 0 and values[index - 1] < threshold:
        index -= 1  # back to the first point of the stretch that stayed down
    return 1 - recent / baseline, throughput[index][0]


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def diagnose(signals: Signals) -> str:
    """The one-line diagnosis (see the module's rules)."""
    every = [
        signals.throughput,
        signals.gpu_util or (),
        signals.gpu_mem or (),
        signals.proc_cpu,
    ]
    times = [t for series in every for t, _ in series]
    stall = signals.stall
    if stall is not None and stall[2]:
        after = f" after step {stall[0]:,}" if stall[0] is not None else ""
        return (
            f"stalled{after}: no new step for {stall[1]:.0f} s+ while the process lives "
            "(a hung data loader, I/O or collective?)"
        )
    if not times:
        return "no data yet: nothing to diagnose"
    end, start = max(times), min(times)
    if end - start < MIN_SPAN_S:
        return f"too early to tell: {end - start:.0f} s of data (a diagnosis needs a minute)"
    if signals.gpu_mem:
        memory = signals.gpu_mem[-1][1]
        if memory >= NEAR_OOM:
            return f"GPU memory at {memory:.0f}%: near OOM"
    util = _window(signals.gpu_util, end) if signals.gpu_util else []
    cpu = _window(signals.proc_cpu, end)
    cpu_mean = statistics.fmean(cpu) if cpu else None
    minutes = min(WINDOW_S, end - start) / 60
    span = f"the last {minutes:.0f} min" if minutes >= 1 else "the run so far"
    if util:
        idle = sum(1 for v in util if v < IDLE_UTIL) / len(util)
        if idle >= IDLE_SHARE:
            said = f"GPU idle {idle:.0%} of {span}"
            if cpu_mean is not None and cpu_mean >= CPU_BOUND:
                return f"{said} while the process uses {cpu_mean:.0f}% CPU: input-bound"
            return f"{said}: waiting on data loading, I/O or sync, not on the GPU"
    fall = _fall(signals.throughput)
    if fall is not None:
        share, at = fall
        step = _step_at(signals.steps, at)
        where = f"at step {step:,.0f}" if step is not None else f"at {at:.0f} s"
        why = ""
        if any(abs(t - at) <= EVAL_NEAR_S for t in signals.evals):
            why = " while eval ran"
        return f"throughput fell {share:.0%} {where}{why}"
    if stall is not None:
        where = f" at step {stall[0]:,}" if stall[0] is not None else ""
        return f"stalled {stall[1]:.0f} s{where}, running again since"
    if util:
        return f"no bottleneck seen: GPU busy {statistics.fmean(util):.0f}%"
    if signals.gpu_util is None and cpu_mean is not None:
        if cpu_mean >= CPU_BOUND:
            return f"no GPU; the process uses {cpu_mean:.0f}% CPU: CPU-bound"
        return f"no GPU; the process uses {cpu_mean:.0f}% CPU: no bottleneck seen"
    if signals.throughput:
        rate = statistics.median(v for _, v in signals.throughput[-10:])
        return f"no hardware readings: throughput {_number(rate)} {signals.throughput_unit}, steady"
    return "no bottleneck seen"
