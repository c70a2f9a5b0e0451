"""One sampler combining host, cgroup and GPU sources, and the thread that runs it for a run.

Cheap fields every tick (default 2 s); the process tree, disk usage and GPU process lists on a
slower cadence. ``$TRACKTUI_FAKE_GPUS=N`` swaps NVML for N simulated GPUs (demos, screenshots).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..errors import warn_once
from .cgroup import CgroupSampler
from .gpu import GpuInfo, GpuSource, GpuUnavailable, NvmlGpuSource, gpu_values
from .host import HostSampler
from .keys import describe

DEFAULT_INTERVAL_S = 2.0
SLOW_EVERY_S = 10.0
FAKE_GPUS_ENV = "TRACKTUI_FAKE_GPUS"


@lru_cache(maxsize=512)
def _is_static(key: str) -> bool:
    info = describe(key)
    return info is not None and info.static


def default_gpu_source() -> GpuSource:
    fake = os.environ.get(FAKE_GPUS_ENV, "").strip()
    if fake.isdigit() and int(fake) > 0:
        from .fake_nvml import simulated

        return NvmlGpuSource(nvml=simulated(int(fake)))
    return NvmlGpuSource()


class SystemSampler:
    """Call :meth:`sample` on a cadence; it returns ``{"sys/...": value}``. Never raises for a
    missing GPU, driver or cgroup: what is not there is simply not reported."""

    def __init__(
        self,
        pid: int | None = None,
        disk_path: str | os.PathLike[str] | None = None,
        gpu_source: GpuSource | str | None = "auto",
        per_core: bool = False,
        slow_every_s: float = SLOW_EVERY_S,
    ) -> None:
        self.host = HostSampler(pid, disk_path, per_core=per_core, slow_every_s=slow_every_s)
        self.cgroup = CgroupSampler()
        self.slow_every_s = slow_every_s
        self._last_slow = -1e18
        self.gpus: list[GpuInfo] = []
        self.gpu_unavailable: str | None = None
        self._gpu: GpuSource | None = None
        self._static_sent: dict[str, float] = {}
        source = default_gpu_source() if gpu_source == "auto" else gpu_source
        if isinstance(source, str):
            raise ValueError(f"unknown gpu_source {source!r}")
        if source is None:
            self.gpu_unavailable = "GPU metrics turned off"
            return
        try:
            self.gpus = source.open()
            self._gpu = source
        except GpuUnavailable as exc:
            self.gpu_unavailable = str(exc)

    def sample(self) -> dict[str, float]:
        values = self.host.sample()
        values.update(self.cgroup.sample())
        if self._gpu is not None:
            now = time.monotonic()
            slow = now - self._last_slow >= self.slow_every_s
            if slow:
                self._last_slow = now
            samples = self._gpu.sample(with_processes=slow)
            values.update(gpu_values(samples, self.host.tree_pids() if slow else None))
        return self._without_repeated_statics(values)

    def _without_repeated_statics(self, values: dict[str, float]) -> dict[str, float]:
        """Sizes and limits are logged when first seen and when they change, not every tick."""
        sent = self._static_sent
        for key in [k for k in values if _is_static(k)]:
            if sent.get(key) == values[key]:
                del values[key]
            else:
                sent[key] = values[key]
        return values

    def close(self) -> None:
        if self._gpu is not None:
            self._gpu.close()
            self._gpu = None


class SamplerThread:
    """Samples every ``interval`` seconds on its own thread and hands each sample to ``deliver``.

    The sampler itself is built on that thread, so ``init()`` does not wait for psutil or NVML.
    ``cpu_seconds`` counts the thread's own CPU time (the cost a run pays for its metrics).
    """

    def __init__(
        self,
        deliver: Callable[[dict[str, float]], None],
        interval: float = DEFAULT_INTERVAL_S,
        **sampler_options: Any,
    ) -> None:
        if interval <= 0:
            raise ValueError("the system metrics interval must be positive")
        self.deliver = deliver
        self.interval = interval
        self.sampler_options = sampler_options
        self.samples = 0
        self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracker-system", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        started = time.thread_time()
        try:
            sampler = SystemSampler(**self.sampler_options)
        except Exception as exc:  # psutil trouble must never reach training
            warn_once("system-sampler", f"no system metrics: {exc!r}")
            return
        if sampler.gpu_unavailable and self.sampler_options.get("gpu_source", "auto") == "auto":
            warn_once("no-gpu", f"no GPU metrics: {sampler.gpu_unavailable}")
        try:
            # The first CPU percentages need an interval behind them.
            if self._stop.wait(min(self.interval, 1.0)):
                return
            while True:
                try:
                    values = sampler.sample()
                except Exception as exc:
                    warn_once(
                        f"system-sample:{type(exc).__name__}",
                        f"system metrics sample failed: {exc!r}",
                    )
                    values = {}
                if values:
                    self.deliver(values)
                self.samples += 1
                self.cpu_seconds = time.thread_time() - started
                if self._stop.wait(self.interval):
                    break
        finally:
            sampler.close()
