"""One run's detectors: O(1) state per series, fed each batch's points on the writer thread.

:meth:`HealthMonitor.observe` takes a batch's records and their per-key columns (the ones
``tracker.batch`` builds to write the points anyway) and :meth:`HealthMonitor.tick` checks what
needs the clock (stalled steps). Both append event payloads to :attr:`HealthMonitor.events`
for the writer to queue. A batch retried after a failed write is seen again: points are
numbered like the series' sequence numbers (the committed count + their place in the batch),
and points already seen are skipped, so nothing is counted twice.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import warn_once
from . import keys as k
from .config import HealthConfig

Payload = tuple[float, int | None, str, str | None, str, str, dict[str, Any]]
_MAD_SIGMA = 1.4826  # MAD * this = the standard deviation of a normal distribution


if TYPE_CHECKING:
    from ..notify import Webhook


class Window:
    """The last ``size`` values, also kept sorted: the median in O(1), an update in O(size)
    with ``size`` fixed (a bisect and a short memmove)."""

    __slots__ = ("pos", "ring", "size", "sorted")

    def __init__(self, size: int) -> None:
        self.size = size
        self.ring: list[float] = []
        self.sorted: list[float] = []
        self.pos = 0

    def __len__(self) -> int:
        return len(self.ring)

    def add(self, value: float) -> None:
        ring, ordered = self.ring, self.sorted
        if len(ring) < self.size:
            ring.append(value)
        else:
            old = ring[self.pos]
            ring[self.pos] = value
            self.pos = (self.pos + 1) % self.size
            del ordered[bisect_left(ordered, old)]
        insort(ordered, value)

    def median(self) -> float:
        ordered = self.sorted
        n = len(ordered)
        half = n // 2
        return ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) / 2.0

    def spread(self, median: float) -> float:
        """A robust standard deviation: 1.4826 * the median absolute deviation."""
        deviations = sorted(abs(v - median) for v in self.ring)
        return _MAD_SIGMA * deviations[len(deviations) // 2]


class _Episode:
    """Hysteresis: start after ``points`` bad points in a row, end after ``clear`` good ones."""

    __slots__ = ("active", "bad", "clear", "good", "points", "started_step")

    def __init__(self, points: int, clear: int) -> None:
        self.points, self.clear = max(1, points), max(1, clear)
        self.active = False
        self.bad = self.good = 0
        self.started_step: int | None = None

    def see(self, bad: bool) -> int:
        """+1 when an episode starts with this point, -1 when it ends, 0 otherwise."""
        if bad:
            self.good = 0
            if not self.active:
                self.bad += 1
                if self.bad >= self.points:
                    self.active, self.bad = True, 0
                    return 1
            return 0
        self.bad = 0
        if self.active:
            self.good += 1
            if self.good >= self.clear:
                self.active, self.good = False, 0
                return -1
        return 0


SETTLED = -2  # a spike that lasted a whole window: the series' new level, not a spike


class _Spike:
    """Loss spike / gradient-norm explosion of one series. A spike that lasts a whole window
    (a new data phase, a curriculum step, a divergence that plateaued) ends as the series'
    new level: the baseline becomes what the window saw, so a later, further jump is caught
    again instead of hiding in an episode that never closes."""

    __slots__ = ("during", "episode", "factor", "peak", "seen", "sigmas", "tail", "warmup",
                 "window")  # fmt: skip

    def __init__(self, options: dict[str, float]) -> None:
        self.window = Window(int(options["window"]))
        self.factor = options["factor"]
        self.sigmas = options["sigmas"]
        self.tail = options["tail"]
        self.warmup = int(options["warmup"])
        self.episode = _Episode(int(options["points"]), int(options["clear_points"]))
        self.seen = 0
        self.peak = 0.0
        self.during = Window(self.window.size)

    def see(self, value: float) -> tuple[int, float, float]:
        """(+1 start / -1 end / 0, the median, the threshold) for one finite value."""
        window = self.window
        if self.seen < self.warmup or len(window) < 3:
            self.seen += 1
            window.add(value)
            return 0, 0.0, 0.0
        median = window.median()
        margin = max((self.factor - 1.0) * abs(median), 1e-12)
        threshold = median + margin
        bad = value > threshold
        if bad:
            tail = self.tail * (window.sorted[-1] - median)
            threshold = median + max(margin, tail, self.sigmas * window.spread(median))
            bad = value > threshold
        episode = self.episode
        if episode.active and not bad:
            bad = value > median + margin / 2.0  # clears only once well below the threshold
        change = episode.see(bad)
        if not bad and not episode.active:
            window.add(value)  # the baseline stays frozen while a spike lasts
        if change == 1 or (episode.active and value > self.peak):
            self.peak = value
        if episode.active:
            if change == 1:
                self.during = Window(window.size)
            self.during.add(value)
            if len(self.during) >= window.size:
                episode.active, episode.bad, episode.good = False, 0, 0
                self.window, self.during = self.during, Window(window.size)
                return SETTLED, median, threshold
        return change, median, threshold


class _Drop:
    """A rate (steps/s, or a logged throughput) falling below a fraction of its usual value."""

    __slots__ = ("active", "baseline", "count", "low", "options")

    def __init__(self, options: dict[str, float]) -> None:
        self.options = options
        self.baseline = Window(int(options["baseline_windows"]))
        self.count = 0
        self.low = 0
        self.active = False

    def see(self, rate: float) -> tuple[int, float]:
        options = self.options
        self.count += 1
        if self.count <= options["warmup_windows"] or len(self.baseline) < 3:
            self.baseline.add(rate)
            return 0, rate
        usual = self.baseline.median()
        if rate < options["factor"] * usual:
            self.low += 1
            if not self.active and self.low >= options["patience"]:
                self.active = True
                return 1, usual
            return 0, usual
        self.low = 0
        if self.active:
            if rate >= options["clear_factor"] * usual:
                self.active = False
                return -1, usual
            return 0, usual
        self.baseline.add(rate)
        return 0, usual


class _RateWindow:
    """Groups a logged throughput's points into windows; yields each window's mean."""

    __slots__ = ("drop", "n", "start", "total")

    def __init__(self, options: dict[str, float]) -> None:
        self.drop = _Drop(options)
        self.n = 0
        self.total = 0.0
        self.start: float | None = None


class _Gpu:
    __slots__ = ("active", "ours", "run_mem_seen", "samples", "total")

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float, int]] = deque()  # (time, util, step)
        self.total = 0.0
        self.ours = False
        self.run_mem_seen = False
        self.active = False


class HealthMonitor:
    """The detectors of one run. Only the writer thread calls it."""

    def __init__(self, config: HealthConfig, stored_key: Callable[[str], str] = str) -> None:
        self.config = config
        self.options = config.detectors
        self.stored_key = stored_key
        self.webhook: Webhook | None = None  # told of each event (opt-in)
        self.run_label = ("", "")  # the run's name and project, for the webhook's message
        self.events: list[Payload] = []
        self.emitted = 0
        self._roles: dict[str, k.Role | None] = {}
        self._seen: dict[str, int] = {}  # points of each key already looked at
        self._spikes: dict[str, _Spike] = {}
        self._nonfinite: dict[str, _Episode] = {}
        self._rates: dict[str, _RateWindow] = {}
        self._gpus: dict[str, _Gpu] = {}
        self._levels: dict[tuple[str, str], _Episode] = {}
        self._totals: dict[str, float] = {}
        self._has_util: set[str] = set()
        # steps
        self.last_step: int | None = None
        self.last_change = 0.0  # wall time of the last step change
        self.first_change: float | None = None
        self.changes = 0
        self._gaps = Window(64)
        self._longest_gap = 0.0
        self.stalled = False
        self._stall_in_window = False
        self._win_t: float | None = None
        self._win_step = 0
        self._win_changes = 0
        stall = self.options.get("throughput_drop")
        self._step_drop = _Drop(stall) if stall is not None else None

    # --- events ------------------------------------------------------------------------------

    def _emit(
        self, t: float, step: int | None, key: str | None, level: str, title: str,
        detail: dict[str, Any],
    ) -> None:  # fmt: skip
        if self.emitted >= self.config.max_events:
            if self.emitted == self.config.max_events:
                self.emitted += 1
                warn_once(
                    f"health-quiet:{id(self)}",
                    f"health: {self.config.max_events} events in this run; no more are stored "
                    "(health={'max_events': N} raises the cap)",
                )
            return
        self.emitted += 1
        if detail.get("resolved"):
            level = "INFO"  # an episode's end is news, not a page
        stored = self.stored_key(key) if key is not None else None
        self.events.append((t, step, "health", stored, level, title, detail))

    def take_events(self) -> list[Payload]:
        events, self.events = self.events, []
        return events

    # --- points ------------------------------------------------------------------------------

    def observe(
        self, group: Sequence[tuple[Any, ...]], per_key: dict[str, list[Any]],
        committed: Callable[[str], int], t0: float,
    ) -> None:  # fmt: skip
        """One run's metric records of a batch and their columns per key (chunks of
        ``(steps, values, times in ms since t0)``); ``committed(key)``: points stored so far."""
        self._observe_steps(group)
        roles = self._roles
        for key, chunks in per_key.items():
            if key in roles:
                role = roles[key]
            else:
                config = self.config
                role = roles[key] = k.classify(
                    key, config.loss_keys, config.grad_keys, config.throughput_keys
                )
            if role is None:
                continue
            base = committed(key)
            seen = self._seen.get(key, 0)
            if seen < base:
                seen = base
            skip = seen
            position = base
            for steps, values, times in chunks:
                n = len(values)
                if position + n <= skip:
                    position += n
                    continue
                start = max(0, skip - position)
                self._series(key, role, steps, values, times, start, t0)
                position += n
            self._seen[key] = max(seen, position)

    def _observe_steps(self, group: Sequence[tuple[Any, ...]]) -> None:
        last = self.last_step
        for record in group:
            step = record[1]
            if last is not None and step <= last:
                continue
            t = record[2]
            if last is not None:
                self._step_changed(step, last, t)
            else:
                self._win_t, self._win_step = t, step
            last = step
            self.last_step = step
            self.last_change = t

    def _step_changed(self, step: int, previous: int, t: float) -> None:
        gap = t - self.last_change
        self.changes += 1
        if self.first_change is None:
            self.first_change = t
        if self.stalled:
            self.stalled = False
            self._stall_in_window = True
            self._emit(
                t, step, None, "ERROR", f"resumed after a stall of {gap:.0f} s at step {previous}",
                {"detector": "stalled", "resolved": True, "stalled_s": round(gap, 3),
                 "step": previous},
            )  # fmt: skip
        elif self.changes > self.options.get("stalled", {}).get("warmup_steps", 20):
            self._longest_gap = max(self._longest_gap, gap)
        self._gaps.add(gap)
        drop = self._step_drop
        if drop is None or self._win_t is None:
            return
        self._win_changes += 1
        options = self.options["throughput_drop"]
        elapsed = t - self._win_t
        if self._win_changes >= options["window_steps"] and elapsed >= options["window_s"]:
            rate = (step - self._win_step) / elapsed
            stall = self._stall_in_window
            self._win_t, self._win_step, self._win_changes = t, step, 0
            self._stall_in_window = False
            if stall:
                return  # the stall detector already said why
            self._rate_event(drop, rate, t, step, None, "steps/s")

    def _rate_event(
        self, drop: _Drop, rate: float, t: float, step: int, key: str | None, unit: str
    ) -> None:
        change, usual = drop.see(rate)
        if change == 0:
            return
        what = key or "throughput"
        detail = {
            "detector": "throughput_drop",
            "value": round(rate, 6),
            "baseline": round(usual, 6),
            "unit": unit,
            "threshold": round(self.options["throughput_drop"]["factor"] * usual, 6),
        }
        if change == 1:
            title = f"throughput drop: {what} {_num(rate)} {unit} (usual {_num(usual)})"
            self._emit(t, step, key, "WARN", title, detail)
        else:
            detail["resolved"] = True
            self._emit(t, step, key, "WARN", f"throughput back: {_num(rate)} {unit}", detail)

    def _series(
        self, key: str, role: k.Role, steps: Sequence[int], values: Sequence[Any],
        times: Sequence[int], start: int, t0: float,
    ) -> None:  # fmt: skip
        kind, resource = role
        if kind is k.LOSS or kind is k.GRAD:
            self._loss_or_grad(key, kind, steps, values, times, start, t0)
        elif kind is k.THROUGHPUT:
            self._throughput(key, steps, values, times, start, t0)
        elif kind is k.GPU_UTIL:
            self._gpu_util(resource, key, steps, values, times, start, t0)
        elif kind is k.GPU_RUN_MEM:
            gpu = self._gpu(resource)
            gpu.run_mem_seen = True
            if any(float(v) > 0 for v in values[start:]):
                gpu.ours = True
        elif kind is k.GPU_MEM_UTIL:
            self._has_util.add("gpu" + resource)
            self._level("gpu_memory", "gpu" + resource, key, steps, values, times, start, t0)
        elif kind is k.GPU_MEM_TOTAL or kind is k.LEVEL_TOTAL:
            self._totals[kind + resource] = float(values[-1])
        elif kind is k.GPU_MEM_USED:
            self._from_used("gpu_memory", "gpu" + resource, k.GPU_MEM_TOTAL + resource,
                            key, steps, values, times, start, t0)  # fmt: skip
        elif kind is k.LEVEL_UTIL:
            self._has_util.add(resource)
            detector = "disk_full" if resource == "disk" else "host_memory"
            self._level(detector, resource, key, steps, values, times, start, t0)
        elif kind is k.LEVEL_USED:
            detector = "disk_full" if resource == "disk" else "host_memory"
            self._from_used(detector, resource, k.LEVEL_TOTAL + resource,
                            key, steps, values, times, start, t0)  # fmt: skip

    def _loss_or_grad(
        self, key: str, kind: str, steps: Sequence[int], values: Sequence[Any],
        times: Sequence[int], start: int, t0: float,
    ) -> None:  # fmt: skip
        options = self.options
        name = "loss_spike" if kind is k.LOSS else "grad_explosion"
        spike = self._spikes.get(key)
        if spike is None and name in options:
            spike = self._spikes[key] = _Spike(options[name])
        nonfinite = self._nonfinite.get(key)
        if nonfinite is None and "nonfinite" in options:
            o = options["nonfinite"]
            points = o["loss_points"] if kind is k.LOSS else o["grad_points"]
            nonfinite = self._nonfinite[key] = _Episode(int(points), int(o["clear_points"]))
        isfinite = math.isfinite
        for i in range(start, len(values)):
            value = float(values[i])
            finite = isfinite(value)
            if nonfinite is not None:
                change = nonfinite.see(not finite)
                if change:
                    self._nonfinite_event(key, kind, change, value, steps[i], t0 + times[i] / 1e3)
            if finite and spike is not None:
                change, median, threshold = spike.see(value)
                if change:
                    self._spike_event(key, name, spike, change, value, median, threshold,
                                      steps[i], t0 + times[i] / 1e3)  # fmt: skip

    def _nonfinite_event(
        self, key: str, kind: str, change: int, value: float, step: int, t: float
    ) -> None:
        what = "loss" if kind is k.LOSS else "gradient norm"
        if change == 1:
            level = "ERROR" if kind is k.LOSS else "WARN"
            self._emit(t, step, key, level, f"non-finite {what}: {key} = {value}",
                       {"detector": "nonfinite", "value": str(value), "metric": what})  # fmt: skip
        else:
            self._emit(t, step, key, "ERROR", f"{key} finite again",
                       {"detector": "nonfinite", "resolved": True, "value": value})  # fmt: skip

    def _spike_event(
        self, key: str, name: str, spike: _Spike, change: int, value: float, median: float,
        threshold: float, step: int, t: float,
    ) -> None:  # fmt: skip
        what = "loss spike" if name == "loss_spike" else "gradient norm explosion"
        if change == 1:
            detail = {"detector": name, "value": value, "median": median,
                      "threshold": threshold, "factor": spike.factor}  # fmt: skip
            self._emit(t, step, key, "WARN", f"{what}: {key} {_num(value)} (median {_num(median)})",
                       detail)  # fmt: skip
        elif change == SETTLED:
            self._emit(t, step, key, "WARN",
                       f"{key} settled at a new level: {_num(spike.window.median())} "
                       f"(was {_num(median)}); spikes are now judged from there",
                       {"detector": name, "resolved": True, "settled": True, "value": value,
                        "peak": spike.peak, "median": median})  # fmt: skip
        else:
            self._emit(t, step, key, "WARN", f"{what} over: {key} {_num(value)}",
                       {"detector": name, "resolved": True, "value": value, "peak": spike.peak,
                        "median": median})  # fmt: skip

    def _throughput(
        self, key: str, steps: Sequence[int], values: Sequence[Any], times: Sequence[int],
        start: int, t0: float,
    ) -> None:  # fmt: skip
        options = self.options.get("throughput_drop")
        if options is None:
            return
        window = self._rates.get(key)
        if window is None:
            window = self._rates[key] = _RateWindow(options)
        for i in range(start, len(values)):
            value = float(values[i])
            if not math.isfinite(value):
                continue
            t = t0 + times[i] / 1e3
            if window.start is None:
                window.start = t
            window.n += 1
            window.total += value
            if window.n >= options["window_steps"] and t - window.start >= options["window_s"]:
                mean = window.total / window.n
                window.n, window.total, window.start = 0, 0.0, t
                if self.stalled:
                    continue
                self._rate_event(window.drop, mean, t, steps[i], key, "")

    def _gpu(self, index: str) -> _Gpu:
        gpu = self._gpus.get(index)
        if gpu is None:
            gpu = self._gpus[index] = _Gpu()
        return gpu

    def _gpu_util(
        self, index: str, key: str, steps: Sequence[int], values: Sequence[Any],
        times: Sequence[int], start: int, t0: float,
    ) -> None:  # fmt: skip
        options = self.options.get("gpu_underused")
        if options is None:
            return
        gpu = self._gpu(index)
        samples = gpu.samples
        duration = options["duration_s"]
        for i in range(start, len(values)):
            value = float(values[i])
            if not math.isfinite(value):
                continue
            t, step = t0 + times[i] / 1e3, steps[i]
            samples.append((t, value, step))
            gpu.total += value
            while samples[0][0] < t - duration:
                gpu.total -= samples.popleft()[1]
            if value >= options["clear_util"] and not gpu.run_mem_seen and self.changes:
                gpu.ours = True  # busy while this run trains: the run's GPU
            mean = gpu.total / len(samples)
            if gpu.active:
                if mean >= options["clear_util"]:
                    gpu.active = False
                    self._emit(
                        t,
                        step,
                        key,
                        "WARN",
                        f"GPU {index} busy again: {mean:.0f}%",
                        {"detector": "gpu_underused", "resolved": True, "value": mean},
                    )
                continue
            if (
                not gpu.ours
                or self.stalled
                or self.first_change is None
                or t - self.first_change < options["warmup_s"]
                or t - samples[0][0] < 0.9 * duration
                or step - samples[0][2] < 2
                or mean >= options["util"]
            ):
                continue
            gpu.active = True
            self._emit(
                t, step, key, "WARN",
                f"GPU {index} under-used: {mean:.0f}% over {duration:.0f} s while training "
                "(input-bound?)",
                {"detector": "gpu_underused", "value": mean, "threshold": options["util"],
                 "duration_s": duration, "gpu": int(index)},
            )  # fmt: skip

    def _from_used(
        self, detector: str, resource: str, total_key: str, key: str, steps: Sequence[int],
        values: Sequence[Any], times: Sequence[int], start: int, t0: float,
    ) -> None:  # fmt: skip
        if resource in self._has_util:
            return
        total = self._totals.get(total_key)
        if not total:
            return
        percents = [100.0 * float(v) / total for v in values]
        self._level(detector, resource, key, steps, percents, times, start, t0)

    def _level(
        self, detector: str, resource: str, key: str, steps: Sequence[int],
        values: Sequence[Any], times: Sequence[int], start: int, t0: float,
    ) -> None:  # fmt: skip
        options = self.options.get(detector)
        if options is None:
            return
        if detector == "gpu_memory":
            gpu = self._gpus.get(resource[3:])
            if gpu is not None and gpu.run_mem_seen and not gpu.ours:
                return  # another job's GPU
        episode = self._levels.get((detector, resource))
        if episode is None:
            episode = _Episode(int(options["points"]), int(options["points"]))
            self._levels[(detector, resource)] = episode
        for i in range(start, len(values)):
            value = float(values[i])
            if not math.isfinite(value):
                continue
            if episode.active:
                bad = value >= options["clear_percent"]
            else:
                bad = value >= options["percent"]
            change = episode.see(bad)
            if not change:
                continue
            where = _RESOURCE_NAMES.get(resource) or f"GPU {resource[3:]} memory"
            t = t0 + times[i] / 1e3
            level = "ERROR" if detector == "disk_full" else "WARN"
            detail = {"detector": detector, "value": round(value, 3),
                      "threshold": options["percent"]}  # fmt: skip
            if change == 1:
                self._emit(t, steps[i], key, level, f"{where} {value:.0f}% full", detail)
            else:
                detail["resolved"] = True
                self._emit(t, steps[i], key, level, f"{where} back to {value:.0f}%", detail)

    # --- the clock ---------------------------------------------------------------------------

    def stall_threshold(self) -> float | None:
        options = self.options.get("stalled")
        if options is None or self.changes < options["warmup_steps"] or not len(self._gaps):
            return None
        usual = self._gaps.median()
        return max(
            options["factor"] * usual,
            options["min_seconds"],
            options["gap_factor"] * self._longest_gap,
        )

    def tick(self, now: float) -> None:
        """Called from the writer loop: raise ``stalled`` when no step came for too long."""
        if self.stalled or self.last_step is None:
            return
        threshold = self.stall_threshold()
        if threshold is None:
            return
        waited = now - self.last_change
        if waited <= threshold:
            return
        self.stalled = True
        usual = self._gaps.median()
        self._emit(
            now, self.last_step, None, "ERROR",
            f"stalled: no new step for {waited:.0f} s after step {self.last_step} "
            f"(usual {_num(usual)} s between steps)",
            {"detector": "stalled", "seconds": round(waited, 3), "threshold": round(threshold, 3),
             "usual_s": round(usual, 6), "step": self.last_step},
        )  # fmt: skip


_RESOURCE_NAMES = {
    "host": "host memory",
    "container": "container memory",
    "disk": "disk (database's filesystem)",
}


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
