"""``tracktui system``: a live hardware monitor of this machine, no run needed.

A thread worker owns the sampler (psutil, NVML) and posts each sample; the UI thread only
updates gauges. Keys: ``p`` pause, ``+``/``-`` sampling interval, ``c`` per-core CPU, ``?`` help.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from tracker.system.keys import describe
from tracker.system.sampler import SystemSampler

from .formatting import format_bytes
from .sanitize import safe_text
from .screens.help import HelpScreen
from .widgets.gauge import Gauge

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)

# (key, label) in display order; {i} rows repeat per GPU, {k} per core.
LAYOUT: tuple[tuple[str, str], ...] = (
    ("sys/cpu/util", "CPU"),
    ("sys/cpu/core/{k}/util", "  core {k}"),
    ("sys/cpu/load1", "Load 1m"),
    ("sys/mem/used", "RAM"),
    ("sys/swap/used", "Swap"),
    ("sys/cgroup/mem/used", "Container RAM"),
    ("sys/cgroup/cpu/util", "Container CPU"),
    ("sys/disk/used", "Disk"),
    ("sys/disk/read_bps", "Disk read"),
    ("sys/disk/write_bps", "Disk write"),
    ("sys/net/recv_bps", "Net in"),
    ("sys/net/sent_bps", "Net out"),
    ("sys/gpu/{i}/util", "GPU {i}"),
    ("sys/gpu/{i}/mem_used", "GPU {i} mem"),
    ("sys/gpu/{i}/temp", "GPU {i} temp"),
    ("sys/gpu/{i}/power", "GPU {i} power"),
    ("sys/gpu/{i}/sm_clock", "GPU {i} SM clk"),
)


def ordered_rows(keys: set[str], show_cores: bool) -> list[tuple[str, str]]:
    """The rows to show, in layout order, for the keys a sample holds."""
    rows: list[tuple[str, str]] = []
    gpus = sorted({int(k.split("/")[2]) for k in keys if k.startswith("sys/gpu/")})
    cores = sorted({int(k.split("/")[3]) for k in keys if k.startswith("sys/cpu/core/")})
    for pattern, label in LAYOUT:
        if "{k}" in pattern:
            if show_cores:
                rows += [
                    (pattern.format(k=c), label.format(k=c))
                    for c in cores
                    if pattern.format(k=c) in keys
                ]
        elif "{i}" in pattern:
            continue
        elif pattern in keys:
            rows.append((pattern, label))
    for gpu in gpus:
        for pattern, label in LAYOUT:
            if "{i}" in pattern and pattern.format(i=gpu) in keys:
                rows.append((pattern.format(i=gpu), label.format(i=gpu)))
    return rows


class SampleReady(Message):
    def __init__(self, values: dict[str, float]) -> None:
        super().__init__()
        self.values = values


class SamplerReady(Message):
    def __init__(self, gpus: list[str], unavailable: str | None) -> None:
        super().__init__()
        self.gpus = gpus
        self.unavailable = unavailable


class SystemMonitorApp(App[None]):
    TITLE = "tracktui system"
    CSS = """
    #machine { height: auto; padding: 0 1; background: $boost; }
    #gauges { padding: 0 1; }
    """
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("p", "pause", "pause"),
        Binding("plus,equals_sign", "slower", "slower"),
        Binding("minus", "faster", "faster"),
        Binding("c", "cores", "cores"),
        Binding("question_mark", "help", "keys"),
    ]

    def __init__(
        self, interval: float = 1.0, sampler_factory: Callable[[], Any] | None = None
    ) -> None:
        super().__init__()
        self.interval = interval
        self.sampler_factory = sampler_factory or (lambda: SystemSampler(per_core=True))
        self.paused = False
        self.show_cores = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.gauges: dict[str, Gauge] = {}
        self.totals: dict[str, float] = {}
        self.last_values: dict[str, float] = {}
        self.gpu_names: list[str] = []
        self.gpu_note: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{socket.gethostname()}  sampling…"), id="machine")
        yield VerticalScroll(id="gauges")
        yield Footer()

    def on_mount(self) -> None:
        self.sample_loop()

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()

    @work(thread=True, exclusive=True, group="sampler")
    def sample_loop(self) -> None:
        sampler = self.sampler_factory()
        gpus = [f"GPU {g.index}: {g.name}" for g in getattr(sampler, "gpus", [])]
        self.post_message(SamplerReady(gpus, getattr(sampler, "gpu_unavailable", None)))
        try:
            self._stop.wait(min(self.interval, 0.5))
            while not self._stop.is_set():
                if not self.paused:
                    self.post_message(SampleReady(sampler.sample()))
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            close = getattr(sampler, "close", None)
            if close is not None:
                close()

    def on_sampler_ready(self, message: SamplerReady) -> None:
        self.gpu_names = [safe_text(name) for name in message.gpus]
        self.gpu_note = message.unavailable
        self._update_header()

    def on_sample_ready(self, message: SampleReady) -> None:
        values = message.values
        for key, value in values.items():
            info = describe(key)
            if info is not None and info.static:
                self.totals[key] = value
        self.last_values.update(values)
        self._sync_rows(set(self.last_values))
        for key, gauge in self.gauges.items():
            if key in values:
                high, detail = self._scale(key, values[key], gauge)
                gauge.update_value(values[key], high, detail)
        self._update_header()

    def _scale(self, key: str, value: float, gauge: Gauge) -> tuple[float | None, str]:
        info = describe(key)
        if info is None:
            return None, ""
        if info.total_key and info.total_key in self.totals:
            total = self.totals[info.total_key]
            if info.unit == "B":
                return total, f"/ {format_bytes(total)}"
            return total, f"/ {total:.0f} {info.unit}"
        if info.high is not None:
            return info.high, ""
        if key == "sys/cpu/load1" and "sys/cpu/count" in self.totals:
            return self.totals["sys/cpu/count"], ""
        if info.unit != "B/s":
            return None, ""  # no natural top (clocks, counts): no bar
        top = max([value, *gauge.history]) if gauge.history else value
        return (top or 1.0), ""  # rates: relative to the highest recent value

    def _sync_rows(self, keys: set[str]) -> None:
        wanted = ordered_rows(keys, self.show_cores)
        if [key for key, _ in wanted] == list(self.gauges):
            return
        old, self.gauges = self.gauges, {}
        for key, label in wanted:
            info = describe(key)
            gauge = Gauge(label, info.unit if info else "", info.high if info else None)
            if key in old:  # rebuilt rows keep their history
                gauge.history.extend(old[key].history)
                gauge.value = old[key].value
            self.gauges[key] = gauge
        container = self.query_one("#gauges", VerticalScroll)
        container.remove_children()
        container.mount_all(self.gauges.values())

    def _update_header(self) -> None:
        parts = [socket.gethostname()]
        cores = self.totals.get("sys/cpu/count")
        if cores:
            parts.append(f"{cores:.0f} cores")
        if "sys/mem/total" in self.totals:
            parts.append(f"{format_bytes(self.totals['sys/mem/total'])} RAM")
        parts += self.gpu_names
        if not self.gpu_names and self.gpu_note:
            parts.append(f"no GPU metrics: {safe_text(self.gpu_note, 60)}")
        state = "paused" if self.paused else f"every {self.interval:g} s"
        self.query_one("#machine", Static).update(Text("  ·  ".join(parts) + f"   [{state}]"))

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._wake.set()
        self._update_header()

    def _set_interval(self, step: int) -> None:
        index = min(range(len(INTERVALS)), key=lambda i: abs(INTERVALS[i] - self.interval))
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, index + step))]
        self._wake.set()
        self._update_header()

    def action_slower(self) -> None:
        self._set_interval(+1)

    def action_faster(self) -> None:
        self._set_interval(-1)

    def action_cores(self) -> None:
        self.show_cores = not self.show_cores
        self._sync_rows(set(self.last_values))

    def action_help(self) -> None:
        keys = [
            ("q", "quit"),
            ("p", "pause / resume sampling"),
            ("+ / -", f"sample less / more often ({', '.join(f'{i:g}' for i in INTERVALS)} s)"),
            ("c", "show / hide every CPU core"),
            ("up / down, page up / down", "scroll"),
            ("?", "this help"),
        ]
        note = "Bars are against the metric's limit; rates scale to their recent peak."
        self.push_screen(HelpScreen("tracktui system — keys", keys, note))
