"""Lean Linux ``/proc`` readers for the per-tick counters, with ``None`` where there is no procfs.

psutil reads the same files but builds named tuples and checks ``/sys`` for every device on every
call; sampled every 2 s with cold caches that cost ~2.3 ms a tick here, over the 0.1%-of-a-core
budget. These read each file once and parse only the fields used. psutil remains the fallback
(macOS, other systems) and the source of what is subtle to compute (available memory).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_VIRTUAL_DISK = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd)\d*")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@lru_cache(maxsize=256)
def physical_disk(name: str) -> bool:
    """Whole physical devices only (partitions would count the same bytes twice)."""
    if _VIRTUAL_DISK.match(name):
        return False
    return Path(f"/sys/block/{name}").exists() if Path("/sys/block").exists() else True


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("ascii", "replace")
    except OSError:
        return None


def cpu_busy_total() -> tuple[int, int] | None:
    """Jiffies (busy, total) of all CPUs since boot, from the first line of /proc/stat."""
    text = _read("/proc/stat")
    if text is None or not text.startswith("cpu "):
        return None
    fields = [int(v) for v in text[: text.index("\n")].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def disk_bytes() -> tuple[int, int] | None:
    """Bytes (read, written) by physical disks since boot, from /proc/diskstats."""
    text = _read("/proc/diskstats")
    if text is None:
        return None
    read = written = 0
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 10 and physical_disk(fields[2]):
            read += int(fields[5]) * 512  # diskstats counts 512-byte sectors on every device
            written += int(fields[9]) * 512
    return read, written


def net_bytes() -> tuple[int, int] | None:
    """Bytes (received, sent) by every interface but loopback, from /proc/net/dev."""
    text = _read("/proc/net/dev")
    if text is None:
        return None
    received = sent = 0
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() != "lo" and len(fields) >= 9:
            received += int(fields[0])
            sent += int(fields[8])
    return received, sent


def process_stat(pid: int) -> tuple[float, int, int] | None:
    """(CPU seconds, resident bytes, threads) of one process from /proc/<pid>/stat, or None."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses
    if len(fields) < 22 or fields[0] == "Z":  # a zombie holds no resources
        return None
    seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds, int(fields[21]) * PAGE_SIZE, int(fields[17])
