"""The detectors of the hardware a run uses: a GPU under-used while steps advance (input
bound), and GPU memory, host or container memory, or the database's disk near full. Mixed into
:class:`~tracker.health.monitor.HealthMonitor`; fed the run's ``sys/`` series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .state import Episode, Gpu

_RESOURCE_NAMES = {
    "host": "host memory",
    "container": "container memory",
    "disk": "disk (database's filesystem)",
}


class ResourceDetectors:
    options: dict[str, dict[str, float]]
    _gpus: dict[str, Gpu]
    _levels: dict[tuple[str, str], Episode]
    _totals: dict[str, float]
    _has_util: set[str]
    first_change: float | None
    changes: int
    stalled: bool

    def _emit(
        self, t: float, step: int | None, key: str | None, level: str, title: str,
        detail: dict[str, Any],
    ) -> None: ...  # fmt: skip

    def _gpu(self, index: str) -> Gpu:
        gpu = self._gpus.get(index)
        if gpu is None:
            gpu = self._gpus[index] = Gpu()
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
            episode = Episode(int(options["points"]), int(options["points"]))
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
