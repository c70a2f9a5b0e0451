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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import warn_once
from . import keys as k
from .config import HealthConfig
from .resources import ResourceDetectors
from .state import SETTLED, Episode, Gpu, RateDrop, RateWindow, Spike, Window, num

Payload = tuple[float, int | None, str, str | None, str, str, dict[str, Any]]


if TYPE_CHECKING:
    from ..notify import Webhook


class HealthMonitor(ResourceDetectors):
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
        self._spikes: dict[str, Spike] = {}
        self._nonfinite: dict[str, Episode] = {}
        self._rates: dict[str, RateWindow] = {}
        self._gpus: dict[str, Gpu] = {}
        self._levels: dict[tuple[str, str], Episode] = {}
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
        self._step_drop = RateDrop(stall) if stall is not None else None

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
        self, drop: RateDrop, rate: float, t: float, step: int, key: str | None, unit: str
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
            title = f"throughput drop: {what} {num(rate)} {unit} (usual {num(usual)})"
            self._emit(t, step, key, "WARN", title, detail)
        else:
            detail["resolved"] = True
            self._emit(t, step, key, "WARN", f"throughput back: {num(rate)} {unit}", detail)

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
            spike = self._spikes[key] = Spike(options[name])
        nonfinite = self._nonfinite.get(key)
        if nonfinite is None and "nonfinite" in options:
            o = options["nonfinite"]
            points = o["loss_points"] if kind is k.LOSS else o["grad_points"]
            nonfinite = self._nonfinite[key] = Episode(int(points), int(o["clear_points"]))
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
        self, key: str, name: str, spike: Spike, change: int, value: float, median: float,
        threshold: float, step: int, t: float,
    ) -> None:  # fmt: skip
        what = "loss spike" if name == "loss_spike" else "gradient norm explosion"
        if change == 1:
            detail = {"detector": name, "value": value, "median": median,
                      "threshold": threshold, "factor": spike.factor}  # fmt: skip
            self._emit(t, step, key, "WARN", f"{what}: {key} {num(value)} (median {num(median)})",
                       detail)  # fmt: skip
        elif change == SETTLED:
            self._emit(t, step, key, "WARN",
                       f"{key} settled at a new level: {num(spike.window.median())} "
                       f"(was {num(median)}); spikes are now judged from there",
                       {"detector": name, "resolved": True, "settled": True, "value": value,
                        "peak": spike.peak, "median": median})  # fmt: skip
        else:
            self._emit(t, step, key, "WARN", f"{what} over: {key} {num(value)}",
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
            window = self._rates[key] = RateWindow(options)
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
            f"(usual {num(usual)} s between steps)",
            {"detector": "stalled", "seconds": round(waited, 3), "threshold": round(threshold, 3),
             "usual_s": round(usual, 6), "step": self.last_step},
        )  # fmt: skip
