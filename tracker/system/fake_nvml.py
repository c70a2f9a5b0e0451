"""A stand-in for the ``pynvml`` module on machines without an NVIDIA GPU.

It raises the real ``pynvml`` error classes (nvidia-ml-py imports without a driver), so the
error policy of :class:`~tracker.system.gpu.NvmlGpuSource` is exercised as on real hardware.
Tests script it per device; ``tracktui demo`` uses :func:`simulated` to show moving gauges.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynvml as _real

# Per-device settings: a value, a callable returning one, or an exception (class or instance)
# to raise. Missing entries take DEFAULTS.
DEFAULTS: dict[str, Any] = {
    "name": "NVIDIA Simulated GPU",
    "uuid": None,
    "util_gpu": 50,
    "util_memory": 20,
    "mem_total": 80 * 1024**3,
    "mem_used": 10 * 1024**3,
    "mem_reserved": 512 * 1024**2,
    "temp": 55,
    "power_mw": 250_000,
    "power_limit_mw": 700_000,
    "sm_clock": 1_755,
    "mem_clock": 2_619,
    "processes": (),
    "memory_v2": True,
    "temperature_v": True,
}


@dataclass
class _Utilization:
    gpu: int
    memory: int


@dataclass
class _Memory:
    total: int
    used: int
    free: int
    reserved: int = 0


@dataclass
class _Process:
    pid: int
    usedGpuMemory: int | None


@dataclass(frozen=True)
class _Handle:
    index: int


class FakeNvml:
    """Module-like object with the subset of nvidia-ml-py that tracktui calls."""

    NVMLError = _real.NVMLError
    NVMLError_NotSupported = _real.NVMLError_NotSupported
    NVMLError_FunctionNotFound = _real.NVMLError_FunctionNotFound
    NVMLError_NoPermission = _real.NVMLError_NoPermission
    NVMLError_Deprecated = _real.NVMLError_Deprecated
    NVMLError_GpuIsLost = _real.NVMLError_GpuIsLost
    NVMLError_ResetRequired = _real.NVMLError_ResetRequired
    NVMLError_Unknown = _real.NVMLError_Unknown
    NVMLError_Uninitialized = _real.NVMLError_Uninitialized
    NVMLError_LibraryNotFound = _real.NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = _real.NVMLError_DriverNotLoaded
    NVML_TEMPERATURE_GPU = _real.NVML_TEMPERATURE_GPU
    NVML_CLOCK_SM = _real.NVML_CLOCK_SM
    NVML_CLOCK_MEM = _real.NVML_CLOCK_MEM
    nvmlMemory_v2 = _real.nvmlMemory_v2

    def __init__(self, devices: list[dict[str, Any]], init_error: Any = None) -> None:
        self.devices = devices
        self.init_error = init_error
        self.initialised = 0
        self.calls: Counter[tuple[str, int]] = Counter()

    def nvmlInitWithFlags(self, flags: int) -> None:
        self.nvmlInit()

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise _as_exception(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        if not self.initialised:
            raise _real.NVMLError_Uninitialized()
        self.initialised -= 1

    def _value(self, index: int, name: str) -> Any:
        if not self.initialised:
            raise _real.NVMLError_Uninitialized()
        self.calls[(name, index)] += 1
        value = self.devices[index].get(name, DEFAULTS[name])
        if isinstance(value, BaseException) or (
            isinstance(value, type) and issubclass(value, BaseException)
        ):
            raise _as_exception(value)
        return value() if callable(value) else value

    def nvmlDeviceGetCount(self) -> int:
        if not self.initialised:
            raise _real.NVMLError_Uninitialized()
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._value(index, "name")
        return _Handle(index)

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        return str(self._value(handle.index, "name"))

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        return str(self._value(handle.index, "uuid") or f"GPU-fake-{handle.index:04d}")

    def nvmlDeviceGetUtilizationRates(self, handle: _Handle) -> _Utilization:
        return _Utilization(
            self._value(handle.index, "util_gpu"), self._value(handle.index, "util_memory")
        )

    def nvmlDeviceGetMemoryInfo(self, handle: _Handle, version: Any = None) -> _Memory:
        total = self._value(handle.index, "mem_total")
        used = self._value(handle.index, "mem_used")
        if version is not None:
            if not self._value(handle.index, "memory_v2"):
                raise _real.NVMLError_FunctionNotFound()
            return _Memory(total, used, total - used, self._value(handle.index, "mem_reserved"))
        used_v1 = used + self._value(handle.index, "mem_reserved")  # v1 counts reserved as used
        return _Memory(total, used_v1, total - used_v1)

    def nvmlDeviceGetTemperatureV(self, handle: _Handle, sensor: int) -> int:
        if not self._value(handle.index, "temperature_v"):
            raise _real.NVMLError_FunctionNotFound()
        return int(self._value(handle.index, "temp"))

    def nvmlDeviceGetTemperature(self, handle: _Handle, sensor: int) -> int:
        return int(self._value(handle.index, "temp"))

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        return int(self._value(handle.index, "power_mw"))

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: _Handle) -> int:
        return int(self._value(handle.index, "power_limit_mw"))

    def nvmlDeviceGetClockInfo(self, handle: _Handle, clock: int) -> int:
        return int(
            self._value(handle.index, "sm_clock" if clock == _real.NVML_CLOCK_SM else "mem_clock")
        )

    def nvmlDeviceGetComputeRunningProcesses(self, handle: _Handle) -> list[_Process]:
        return [_Process(pid, memory) for pid, memory in self._value(handle.index, "processes")]


def _as_exception(value: Any) -> BaseException:
    error = value() if isinstance(value, type) else value
    assert isinstance(error, BaseException)
    return error


def simulated(count: int = 2, clock: Callable[[], float] = time.time) -> FakeNvml:
    """GPUs whose load moves with the clock, for demos and screenshots (labelled as simulated)."""

    def wave(index: int, period: float, low: float, high: float) -> Callable[[], float]:
        def value() -> float:
            phase = clock() / period + index * 1.7
            return low + (high - low) * (0.5 + 0.5 * math.sin(phase))

        return value

    devices = []
    for index in range(count):
        devices.append(
            {
                "name": "Simulated H100 (no GPU here)",
                "util_gpu": lambda i=index: int(wave(i, 7, 70, 99)()),
                "util_memory": lambda i=index: int(wave(i, 5, 20, 60)()),
                "mem_used": lambda i=index: int(wave(i, 30, 40, 70)() * 1024**3),
                "mem_total": 80 * 1024**3,
                "temp": lambda i=index: int(wave(i, 40, 55, 78)()),
                "power_mw": lambda i=index: int(wave(i, 9, 350, 680)() * 1000),
            }
        )
    return FakeNvml(devices)
