"""Container and job limits (cgroup v2 and v1): memory limit and usage, CPU quota and usage.

psutil reports host-wide values inside Docker, Kubernetes and SLURM; these are the numbers that
decide whether the job gets OOM-killed or throttled. Limits are found once (walking from the
process's cgroup up to the root and taking the tightest, since SLURM puts them on the job, above
the task), usage is read every sample. ``root`` lets tests point at a fake filesystem.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_UNLIMITED_V1 = 1 << 60


@dataclass(frozen=True, slots=True)
class CgroupLimits:
    version: int  # 1 or 2
    memory_limit: int | None  # bytes
    memory_current: Path | None  # file with the usage next to the limit
    cpu_limit: float | None  # cores (quota / period)
    cpu_usage: Path | None  # v2 cpu.stat (usage_usec) or v1 cpuacct.usage (ns)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _mounts(root: Path) -> list[tuple[str, str, str]]:
    """(mount point, filesystem type, super options) from mountinfo."""
    text = _read(root / "proc/self/mountinfo") or ""
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3:
            mounts.append((fields[4], tail[0], tail[2]))
    return mounts


def _under(root: Path, mount_point: str) -> Path:
    return root / mount_point.lstrip("/")


def detect(root: Path = Path("/")) -> CgroupLimits | None:
    """The limits that apply to this process, or None when there are none (or no cgroups)."""
    membership = _read(root / "proc/self/cgroup")
    if not membership:
        return None
    lines = [line.split(":", 2) for line in membership.splitlines() if line.count(":") >= 2]
    mounts = _mounts(root)
    v2 = next((path for hid, ctl, path in lines if hid == "0" and ctl == ""), None)
    if v2 is not None:
        mount = next((m for m, fs, _ in mounts if fs == "cgroup2"), None)
        if mount is not None:
            return _detect_v2(_under(root, mount), v2)
    return _detect_v1(root, lines, mounts)


def _ancestors(base: Path, relative: str) -> list[Path]:
    leaf = base / relative.lstrip("/")
    chain = [leaf, *leaf.parents]
    return [p for p in chain if p == base or base in p.parents]


def _detect_v2(base: Path, relative: str) -> CgroupLimits | None:
    memory_limit: int | None = None
    memory_current: Path | None = None
    cpu_limit: float | None = None
    cpu_usage: Path | None = None
    for directory in _ancestors(base, relative):
        text = _read(directory / "memory.max")
        if text and text != "max" and text.isdigit():
            limit = int(text)
            if memory_limit is None or limit < memory_limit:
                memory_limit, memory_current = limit, directory / "memory.current"
        text = _read(directory / "cpu.max")
        if text and not text.startswith("max"):
            quota, _, period = text.partition(" ")
            try:
                cores = int(quota) / int(period or "100000")
            except ValueError:
                cores = None
            if cores and (cpu_limit is None or cores < cpu_limit):
                cpu_limit, cpu_usage = cores, directory / "cpu.stat"
    if memory_limit is None and cpu_limit is None:
        return None
    return CgroupLimits(2, memory_limit, memory_current, cpu_limit, cpu_usage)


def _detect_v1(
    root: Path, lines: list[list[str]], mounts: list[tuple[str, str, str]]
) -> CgroupLimits | None:
    def controller_dir(name: str) -> list[Path]:
        relative = next((p for _, ctl, p in lines if name in ctl.split(",")), None)
        mount = next(
            (m for m, fs, opts in mounts if fs == "cgroup" and name in opts.split(",")), None
        )
        if relative is None or mount is None:
            return []
        return _ancestors(_under(root, mount), relative)

    memory_limit: int | None = None
    memory_current: Path | None = None
    for directory in controller_dir("memory"):
        text = _read(directory / "memory.limit_in_bytes")
        limit = int(text) if text and text.isdigit() else _UNLIMITED_V1
        if limit < _UNLIMITED_V1 and (memory_limit is None or limit < memory_limit):
            memory_limit, memory_current = limit, directory / "memory.usage_in_bytes"
    cpu_limit: float | None = None
    cpu_usage: Path | None = None
    for directory in controller_dir("cpu"):
        quota, period = (
            _read(directory / "cpu.cfs_quota_us"),
            _read(directory / "cpu.cfs_period_us"),
        )
        try:
            cores = int(quota or "-1") / int(period or "100000")
        except ValueError:
            continue
        if cores > 0 and (cpu_limit is None or cores < cpu_limit):
            cpu_limit = cores
            usage = directory / "cpuacct.usage"
            cpu_usage = usage if usage.exists() else None
    if cpu_limit is not None and cpu_usage is None:
        for directory in controller_dir("cpuacct"):
            if (directory / "cpuacct.usage").exists():
                cpu_usage = directory / "cpuacct.usage"
                break
    if memory_limit is None and cpu_limit is None:
        return None
    return CgroupLimits(1, memory_limit, memory_current, cpu_limit, cpu_usage)


def _cpu_seconds(limits: CgroupLimits) -> float | None:
    if limits.cpu_usage is None:
        return None
    text = _read(limits.cpu_usage)
    if text is None:
        return None
    if limits.version == 2:
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "usage_usec" and value.isdigit():
                return int(value) / 1e6
        return None
    return int(text) / 1e9 if text.isdigit() else None


class CgroupSampler:
    """Reads usage against the limits found once at construction."""

    def __init__(self, root: Path = Path("/")) -> None:
        self.limits = detect(root)
        self._last_cpu: tuple[float, float] | None = None

    def sample(self) -> dict[str, float]:
        limits = self.limits
        if limits is None:
            return {}
        values: dict[str, float] = {}
        if limits.memory_limit is not None:
            values["sys/cgroup/mem/limit"] = float(limits.memory_limit)
            used = _read(limits.memory_current) if limits.memory_current else None
            if used and used.isdigit():
                values["sys/cgroup/mem/used"] = float(used)
                values["sys/cgroup/mem/util"] = 100.0 * int(used) / limits.memory_limit
        if limits.cpu_limit is not None:
            values["sys/cgroup/cpu/limit"] = limits.cpu_limit
            seconds = _cpu_seconds(limits)
            now = time.monotonic()
            if seconds is not None:
                if self._last_cpu is not None and now > self._last_cpu[0]:
                    busy = (seconds - self._last_cpu[1]) / (now - self._last_cpu[0])
                    values["sys/cgroup/cpu/util"] = max(0.0, 100.0 * busy / limits.cpu_limit)
                self._last_cpu = (now, seconds)
        return values


def slurm_environment() -> dict[str, str]:
    """SLURM job hints worth keeping with a run."""
    keys = (
        "SLURM_JOB_ID",
        "SLURM_CPUS_PER_TASK",
        "SLURM_MEM_PER_NODE",
        "SLURM_MEM_PER_CPU",
        "SLURM_JOB_GPUS",
    )
    return {k: os.environ[k] for k in keys if k in os.environ}
