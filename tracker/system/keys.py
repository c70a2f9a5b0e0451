"""The ``sys/`` metric keys and their unit registry (unit, title, range) for labels and gauges."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricInfo:
    key: str
    unit: str  # "%", "B", "B/s", "°C", "W", "MHz", "cores", "" (a count or a ratio)
    title: str
    low: float | None = 0.0
    high: float | None = None  # None: no fixed top (bytes are scaled by a matching total)
    total_key: str | None = None  # the key whose value is this metric's 100%
    static: bool = False  # a size or limit: logged when first seen and when it changes


# Patterns use {i} for a GPU index and {k} for a CPU core.
_REGISTRY: tuple[MetricInfo, ...] = (
    MetricInfo("sys/cpu/util", "%", "CPU", 0, 100),
    MetricInfo("sys/cpu/core/{k}/util", "%", "CPU core {k}", 0, 100),
    MetricInfo("sys/cpu/load1", "", "Load (1 min)", 0, None),
    MetricInfo("sys/cpu/count", "cores", "CPU cores", 0, None, static=True),
    MetricInfo("sys/mem/used", "B", "RAM used", 0, None, "sys/mem/total"),
    MetricInfo("sys/mem/available", "B", "RAM available", 0, None, "sys/mem/total"),
    MetricInfo("sys/mem/total", "B", "RAM total", 0, None, static=True),
    MetricInfo("sys/mem/util", "%", "RAM", 0, 100),
    MetricInfo("sys/swap/used", "B", "Swap used", 0, None, "sys/swap/total"),
    MetricInfo("sys/swap/total", "B", "Swap total", 0, None, static=True),
    MetricInfo("sys/disk/read_bps", "B/s", "Disk read", 0, None),
    MetricInfo("sys/disk/write_bps", "B/s", "Disk write", 0, None),
    MetricInfo(
        "sys/disk/used", "B", "Disk used (database's filesystem)", 0, None, "sys/disk/total"
    ),
    MetricInfo("sys/disk/total", "B", "Disk size (database's filesystem)", 0, None, static=True),
    MetricInfo("sys/disk/util", "%", "Disk", 0, 100),
    MetricInfo("sys/net/recv_bps", "B/s", "Network in", 0, None),
    MetricInfo("sys/net/sent_bps", "B/s", "Network out", 0, None),
    MetricInfo("sys/proc/cpu", "%", "Run CPU (% of one core, with children)", 0, None),
    MetricInfo("sys/proc/rss", "B", "Run memory (main process RSS)", 0, None, "sys/mem/total"),
    MetricInfo("sys/proc/children_rss", "B", "Run memory (children RSS)", 0, None, "sys/mem/total"),
    MetricInfo("sys/proc/children", "", "Child processes", 0, None),
    MetricInfo("sys/proc/threads", "", "Threads (main process)", 0, None),
    MetricInfo("sys/cgroup/mem/used", "B", "Container memory", 0, None, "sys/cgroup/mem/limit"),
    MetricInfo("sys/cgroup/mem/limit", "B", "Container memory limit", 0, None, static=True),
    MetricInfo("sys/cgroup/mem/util", "%", "Container memory", 0, 100),
    MetricInfo("sys/cgroup/cpu/limit", "cores", "Container CPU limit", 0, None, static=True),
    MetricInfo("sys/cgroup/cpu/util", "%", "Container CPU (of its limit)", 0, 100),
    MetricInfo("sys/gpu/{i}/util", "%", "GPU {i}", 0, 100),
    MetricInfo("sys/gpu/{i}/mem_busy", "%", "GPU {i} memory bandwidth busy", 0, 100),
    MetricInfo(
        "sys/gpu/{i}/mem_used", "B", "GPU {i} memory used", 0, None, "sys/gpu/{i}/mem_total"
    ),
    MetricInfo("sys/gpu/{i}/mem_total", "B", "GPU {i} memory size", 0, None, static=True),
    MetricInfo("sys/gpu/{i}/mem_util", "%", "GPU {i} memory", 0, 100),
    MetricInfo("sys/gpu/{i}/temp", "°C", "GPU {i} temperature", 0, 100),
    MetricInfo("sys/gpu/{i}/power", "W", "GPU {i} power", 0, None, "sys/gpu/{i}/power_limit"),
    MetricInfo("sys/gpu/{i}/power_limit", "W", "GPU {i} power limit", 0, None, static=True),
    MetricInfo("sys/gpu/{i}/power_util", "%", "GPU {i} power (of limit)", 0, 100),
    MetricInfo("sys/gpu/{i}/sm_clock", "MHz", "GPU {i} SM clock", 0, None),
    MetricInfo("sys/gpu/{i}/mem_clock", "MHz", "GPU {i} memory clock", 0, None),
    MetricInfo(
        "sys/gpu/{i}/run_mem", "B", "GPU {i} memory of this run", 0, None, "sys/gpu/{i}/mem_total"
    ),
)


def _compile(pattern: str) -> re.Pattern[str]:
    regex = re.escape(pattern).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{k\}", r"(?P<k>\d+)")
    return re.compile(f"^{regex}$")


_COMPILED = tuple((_compile(info.key), info) for info in _REGISTRY)


def describe(key: str) -> MetricInfo | None:
    """The registry entry for ``key`` with its placeholders filled in, or None if unknown."""
    for pattern, info in _COMPILED:
        match = pattern.match(key)
        if match is None:
            continue
        fields = match.groupdict()

        def fill(text: str, fields: dict[str, str] = fields) -> str:
            return text.format(**fields) if fields else text

        return MetricInfo(
            key=key,
            unit=info.unit,
            title=fill(info.title),
            low=info.low,
            high=info.high,
            total_key=fill(info.total_key) if info.total_key else None,
            static=info.static,
        )
    return None


def registry() -> tuple[MetricInfo, ...]:
    """Every pattern, for documentation."""
    return _REGISTRY
