"""NVIDIA GPUs through NVML (the ``pynvml`` module of ``nvidia-ml-py``), behind a small interface.

Per GPU and field, an answer of "not supported" (or no permission, or a function the driver
lacks) is remembered and the field is not asked again; a lost GPU is marked and skipped while the
others go on; no driver or no package means :class:`GpuUnavailable` with one clear reason.
Tests pass a fake NVML module that raises the real ``pynvml`` error classes.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import psutil

# Fields queried per GPU per sample; process lists are on a slower cadence.
FIELDS = ("util", "mem", "temp", "power", "power_limit", "sm_clock", "mem_clock", "procs")


class GpuUnavailable(RuntimeError):
    """No GPU metrics on this machine; the message says why (shown once to the user)."""


@dataclass(frozen=True, slots=True)
class GpuInfo:
    index: int
    uuid: str
    name: str
    memory_total: int | None


@dataclass(frozen=True, slots=True)
class GpuProcess:
    pid: int
    used_memory: int | None  # None: NVML cannot say (some MIG and WDDM setups)


@dataclass(frozen=True, slots=True)
class GpuSample:
    index: int
    util: float | None = None  # % of time a kernel ran
    mem_busy: float | None = None  # % of time memory was read or written
    mem_used: int | None = None
    mem_total: int | None = None
    temp: float | None = None  # °C
    power: float | None = None  # W
    power_limit: float | None = None  # W
    sm_clock: float | None = None  # MHz
    mem_clock: float | None = None  # MHz
    processes: tuple[GpuProcess, ...] | None = None  # None: not read this time
    lost: bool = False


@runtime_checkable
class GpuSource(Protocol):
    name: str

    def open(self) -> list[GpuInfo]: ...

    def sample(self, with_processes: bool = False) -> list[GpuSample]: ...

    def close(self) -> None: ...


def import_nvml() -> Any:
    """Import nvidia-ml-py's ``pynvml`` quietly, refusing look-alike modules."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The pynvml package is deprecated")
            module = importlib.import_module("pynvml")
    except ImportError as exc:
        raise GpuUnavailable(f"nvidia-ml-py is not installed ({exc})") from None
    if not hasattr(module, "nvmlInitWithFlags"):
        raise GpuUnavailable("the installed 'pynvml' module is not nvidia-ml-py")
    return module


class _Lost(Exception):
    pass


@dataclass
class _Device:
    index: int
    handle: Any
    supported: set[str] = field(default_factory=lambda: set(FIELDS))
    memory_v2: bool = True
    temperature_v: bool = True
    lost: bool = False


class NvmlGpuSource:
    """Every GPU that NVML shows. ``nvml`` is the module to use (``pynvml`` unless a test fake)."""

    name = "nvml"
    _init_lock = threading.Lock()

    def __init__(self, nvml: Any = None) -> None:
        self._nvml = nvml
        self._devices: list[_Device] = []
        self._open = False

    def open(self) -> list[GpuInfo]:
        nvml = self._nvml = self._nvml if self._nvml is not None else import_nvml()
        with self._init_lock:
            try:
                nvml.nvmlInit()
            except nvml.NVMLError as exc:
                raise GpuUnavailable(f"NVML cannot start: {exc} ({type(exc).__name__})") from None
        self._open = True
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as exc:
            self.close()
            raise GpuUnavailable(f"NVML cannot count GPUs: {exc}") from None
        if count == 0:
            self.close()
            raise GpuUnavailable("NVML sees no GPU")
        infos = []
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
            except nvml.NVMLError:
                self._devices.append(_Device(index, None, lost=True))
                continue
            device = _Device(index, handle)
            self._devices.append(device)
            name = self._text(device, "nvmlDeviceGetName") or f"GPU {index}"
            uuid = self._text(device, "nvmlDeviceGetUUID") or ""
            memory = self._call(device, "mem", self._memory, device)
            infos.append(GpuInfo(index, uuid, name, None if memory is None else int(memory.total)))
        return infos

    def close(self) -> None:
        if self._open and self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
        self._open = False

    def _text(self, device: _Device, function: str) -> str | None:
        try:
            value = getattr(self._nvml, function)(device.handle)
        except self._nvml.NVMLError:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def _call(self, device: _Device, field_name: str, function: Any, *args: Any) -> Any:
        """Every NVML query goes through here: the one place for the error policy."""
        if field_name not in device.supported:
            return None
        nvml = self._nvml
        try:
            return function(*args)
        except (
            nvml.NVMLError_NotSupported,
            nvml.NVMLError_FunctionNotFound,
            nvml.NVMLError_NoPermission,
            nvml.NVMLError_Deprecated,
        ):
            device.supported.discard(field_name)  # never ask again
            return None
        except (nvml.NVMLError_GpuIsLost, nvml.NVMLError_ResetRequired):
            raise _Lost from None
        except nvml.NVMLError:
            return None  # transient (unknown, timeout): keep asking

    def _memory(self, device: _Device) -> Any:
        nvml = self._nvml
        if device.memory_v2:
            try:
                return nvml.nvmlDeviceGetMemoryInfo(device.handle, version=nvml.nvmlMemory_v2)
            except (nvml.NVMLError_FunctionNotFound, nvml.NVMLError_NotSupported, TypeError):
                device.memory_v2 = False  # driver before R510: v1 counts reserved memory as used
        return nvml.nvmlDeviceGetMemoryInfo(device.handle)

    def _temperature(self, device: _Device) -> Any:
        nvml = self._nvml
        if device.temperature_v and hasattr(nvml, "nvmlDeviceGetTemperatureV"):
            try:
                return nvml.nvmlDeviceGetTemperatureV(device.handle, nvml.NVML_TEMPERATURE_GPU)
            except (nvml.NVMLError_FunctionNotFound, nvml.NVMLError_NotSupported):
                device.temperature_v = False
        return nvml.nvmlDeviceGetTemperature(device.handle, nvml.NVML_TEMPERATURE_GPU)

    def sample(self, with_processes: bool = False) -> list[GpuSample]:
        if not self._open:
            return []
        return [self._sample_one(d, with_processes) for d in self._devices]

    def _sample_one(self, device: _Device, with_processes: bool) -> GpuSample:
        if device.lost:
            return GpuSample(device.index, lost=True)
        nvml, handle, call = self._nvml, device.handle, self._call
        try:
            rates = call(device, "util", nvml.nvmlDeviceGetUtilizationRates, handle)
            memory = call(device, "mem", self._memory, device)
            temp = call(device, "temp", self._temperature, device)
            power = call(device, "power", nvml.nvmlDeviceGetPowerUsage, handle)
            limit = call(device, "power_limit", nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
            sm_clock = call(
                device, "sm_clock", nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM
            )
            mem_clock = call(
                device, "mem_clock", nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_MEM
            )
            processes = None
            if with_processes:
                listed = call(device, "procs", nvml.nvmlDeviceGetComputeRunningProcesses, handle)
                if listed is not None:
                    processes = tuple(
                        GpuProcess(int(p.pid), _memory_or_none(p.usedGpuMemory)) for p in listed
                    )
        except _Lost:
            device.lost = True
            return GpuSample(device.index, lost=True)
        return GpuSample(
            index=device.index,
            util=None if rates is None else float(rates.gpu),
            mem_busy=None if rates is None else float(rates.memory),
            mem_used=None if memory is None else int(memory.used),
            mem_total=None if memory is None else int(memory.total),
            temp=None if temp is None else float(temp),
            power=None if power is None else power / 1000.0,
            power_limit=None if limit is None else limit / 1000.0,
            sm_clock=None if sm_clock is None else float(sm_clock),
            mem_clock=None if mem_clock is None else float(mem_clock),
            processes=processes,
        )


def _memory_or_none(value: Any) -> int | None:
    # NVML_VALUE_NOT_AVAILABLE arrives as None from nvidia-ml-py, or as 2**64 - 1 from old ones.
    if value is None or int(value) >= 2**64 - 1:
        return None
    return int(value)


def gpu_values(samples: Iterable[GpuSample], run_pids: set[int] | None = None) -> dict[str, float]:
    """``sys/gpu/{i}/...`` keys for a list of samples; ``run_mem`` when processes were read."""
    values: dict[str, float] = {}
    for s in samples:
        if s.lost:
            continue
        prefix = f"sys/gpu/{s.index}/"
        for name in ("util", "mem_busy", "temp", "power", "power_limit", "sm_clock", "mem_clock"):
            value = getattr(s, name)
            if value is not None:
                values[prefix + name] = float(value)
        if s.mem_used is not None:
            values[prefix + "mem_used"] = float(s.mem_used)
        if s.mem_total:
            values[prefix + "mem_total"] = float(s.mem_total)
            if s.mem_used is not None:
                values[prefix + "mem_util"] = 100.0 * s.mem_used / s.mem_total
        if s.power is not None and s.power_limit:
            values[prefix + "power_util"] = 100.0 * s.power / s.power_limit
        if s.processes is not None and run_pids is not None:
            ours = [p.used_memory for p in s.processes if p.pid in run_pids]
            if ours and all(m is not None for m in ours):
                values[prefix + "run_mem"] = float(sum(m for m in ours if m is not None))
            elif not ours and all(psutil.pid_exists(p.pid) for p in s.processes):
                # Every process on the GPU is visible here and none is ours: truly zero. (In a
                # PID namespace NVML may report host pids; then the attribution is unknown.)
                values[prefix + "run_mem"] = 0.0
    return values
