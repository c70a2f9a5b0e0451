"""Host and process metrics: CPU, memory, swap, disk and network rates, and the training process
tree (children found through ``/proc``, not by scanning every process).

Percentages are interval deltas between two calls (never lifetime averages); the first call of
a delta metric returns nothing for it rather than a fake 0. On Linux the per-tick counters come
from :mod:`tracker.system.procfs`; elsewhere from psutil.
"""

from __future__ import annotations

import os
import time

import psutil

from . import procfs


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` via ``/proc/<pid>/task/<tid>/children`` (~0.1 ms, flat in the
    number of processes on the host); psutil's full process scan when that file is missing."""
    found: list[int] = []
    stack = [pid]
    try:
        while stack:
            current = stack.pop()
            for task in os.listdir(f"/proc/{current}/task"):
                try:
                    with open(f"/proc/{current}/task/{task}/children") as handle:
                        children = [int(c) for c in handle.read().split()]
                except (FileNotFoundError, ProcessLookupError):
                    continue
                found.extend(children)
                stack.extend(children)
        return found
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []


class HostSampler:
    """Samples the host and a process tree; keep one instance and call :meth:`sample` often."""

    def __init__(
        self,
        pid: int | None = None,
        disk_path: str | os.PathLike[str] | None = None,
        per_core: bool = False,
        slow_every_s: float = 10.0,
    ) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.disk_path = str(disk_path) if disk_path is not None else None
        self.per_core = per_core
        self.slow_every_s = slow_every_s
        self._processes: dict[int, psutil.Process] = {}
        self._process_cpu: dict[int, tuple[float, float]] = {}  # pid -> (wall, CPU seconds)
        self._tree: list[int] = []
        self._last_slow = -1e18
        self._last_io: tuple[float, int, int, int, int] | None = None
        self._procfs = procfs.cpu_busy_total() is not None
        self._last_cpu = procfs.cpu_busy_total()
        psutil.cpu_percent(None)  # start the interval for this thread
        if per_core:
            psutil.cpu_percent(None, percpu=True)

    def _process(self, pid: int) -> psutil.Process | None:
        process = self._processes.get(pid)
        if process is None:
            try:
                process = psutil.Process(pid)
                process.cpu_percent(None)  # its first value is meaningless: start its interval
            except psutil.Error:
                return None
            self._processes[pid] = process
        return process

    def sample(self) -> dict[str, float]:
        now = time.monotonic()
        values: dict[str, float] = {}
        self._cpu_util(values)
        if self.per_core:
            for index, util in enumerate(psutil.cpu_percent(None, percpu=True)):
                values[f"sys/cpu/core/{index}/util"] = util
        try:
            values["sys/cpu/load1"] = os.getloadavg()[0]
        except OSError:
            pass
        memory = psutil.virtual_memory()
        values["sys/mem/used"] = float(memory.total - memory.available)
        values["sys/mem/available"] = float(memory.available)
        values["sys/mem/util"] = memory.percent
        values["sys/mem/total"] = float(memory.total)
        values["sys/cpu/count"] = float(psutil.cpu_count() or 0)
        self._io_rates(now, values)
        slow = now - self._last_slow >= self.slow_every_s
        if slow:  # the costlier reads, and what rarely changes
            self._last_slow = now
            self._tree = descendants(self.pid)
            swap = psutil.swap_memory()
            values["sys/swap/used"] = float(swap.used)
            values["sys/swap/total"] = float(swap.total)
            if self.disk_path is not None:
                self._disk_usage(values)
        self._process_tree(values)
        return values

    def _cpu_util(self, values: dict[str, float]) -> None:
        if not self._procfs:
            values["sys/cpu/util"] = psutil.cpu_percent(None)
            return
        current, previous = procfs.cpu_busy_total(), self._last_cpu
        self._last_cpu = current
        if current is not None and previous is not None and current[1] > previous[1]:
            busy = (current[0] - previous[0]) / (current[1] - previous[1])
            values["sys/cpu/util"] = round(100.0 * min(max(busy, 0.0), 1.0), 2)

    def _io_rates(self, now: float, values: dict[str, float]) -> None:
        disk = procfs.disk_bytes() or _psutil_disk_bytes()
        net = procfs.net_bytes() or _psutil_net_bytes()
        read, write = disk
        recv, sent = net
        previous = self._last_io
        self._last_io = (now, read, write, recv, sent)
        if previous is None:
            return
        elapsed = now - previous[0]
        if elapsed <= 0:
            return
        values["sys/disk/read_bps"] = max(0.0, (read - previous[1]) / elapsed)
        values["sys/disk/write_bps"] = max(0.0, (write - previous[2]) / elapsed)
        values["sys/net/recv_bps"] = max(0.0, (recv - previous[3]) / elapsed)
        values["sys/net/sent_bps"] = max(0.0, (sent - previous[4]) / elapsed)

    def _disk_usage(self, values: dict[str, float]) -> None:
        path = self.disk_path
        if path is None:
            return
        try:
            target = path if os.path.exists(path) else os.path.dirname(os.path.abspath(path))
            usage = psutil.disk_usage(target)
        except OSError:
            return
        values["sys/disk/used"] = float(usage.used)
        values["sys/disk/util"] = usage.percent
        values["sys/disk/total"] = float(usage.total)

    def _process_tree(self, values: dict[str, float]) -> None:
        now = time.monotonic()
        main = self._process_usage(self.pid, now)
        if main is None:
            return
        cpu, rss, threads = main
        values["sys/proc/rss"] = float(rss)
        values["sys/proc/threads"] = float(threads)
        children_rss = 0
        alive_children = 0
        for pid in self._tree:
            usage = self._process_usage(pid, now)
            if usage is None:
                continue
            cpu += usage[0]
            children_rss += usage[1]
            alive_children += 1
        values["sys/proc/cpu"] = round(cpu, 2)
        values["sys/proc/children"] = float(alive_children)
        values["sys/proc/children_rss"] = float(children_rss)
        known = {self.pid, *self._tree}
        for pid in [p for p in self._process_cpu if p not in known]:
            del self._process_cpu[pid]
        for pid in [p for p in self._processes if p not in known]:
            del self._processes[pid]

    def _process_usage(self, pid: int, now: float) -> tuple[float, int, int] | None:
        """(CPU % of one core since the last call, RSS bytes, threads); CPU 0 on a first call."""
        stat = procfs.process_stat(pid) if self._procfs else None
        if stat is None:
            process = self._process(pid)
            if process is None:
                return None
            try:
                with process.oneshot():
                    rss, threads = process.memory_info().rss, process.num_threads()
                    return process.cpu_percent(None), rss, threads
            except psutil.Error:
                self._processes.pop(pid, None)
                return None
        seconds, rss, threads = stat
        previous = self._process_cpu.get(pid)
        self._process_cpu[pid] = (now, seconds)
        cpu = 0.0
        if previous is not None and now > previous[0]:
            cpu = max(0.0, 100.0 * (seconds - previous[1]) / (now - previous[0]))
        return cpu, rss, threads

    def tree_pids(self) -> set[int]:
        """The training process and its descendants as of the last slow tick."""
        return {self.pid, *self._tree}


def _psutil_disk_bytes() -> tuple[int, int]:
    read = written = 0
    try:
        for name, disk in (psutil.disk_io_counters(perdisk=True) or {}).items():
            if procfs.physical_disk(name):
                read += disk.read_bytes
                written += disk.write_bytes
    except (OSError, RuntimeError):
        pass
    return read, written


def _psutil_net_bytes() -> tuple[int, int]:
    received = sent = 0
    try:
        for name, nic in (psutil.net_io_counters(pernic=True) or {}).items():
            if name != "lo":
                received += nic.bytes_recv
                sent += nic.bytes_sent
    except (OSError, RuntimeError):
        pass
    return received, sent
