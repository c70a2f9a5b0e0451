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
from textual.message import Message
from textual.widgets import Static

from tracker.system.sampler import SystemSampler

from .formatting import format_bytes
from .sanitize import safe_text
from .screens.help import HelpScreen
from .widgets.footer import KeyFooter
from .widgets.hardware import HardwarePanel

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)


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
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.gpu_names: list[str] = []
        self.gpu_note: str | None = None

    @property
    def gauges(self) -> dict[str, Any]:
        return self.query_one(HardwarePanel).gauges

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{socket.gethostname()}  sampling…"), id="machine")
        yield HardwarePanel()
        yield KeyFooter()

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
        # The "run" here would be this monitor itself: its process metrics mean nothing.
        values = {
            k: v
            for k, v in message.values.items()
            if not k.startswith("sys/proc/") and not k.endswith("/run_mem")
        }
        self.query_one(HardwarePanel).update_values(values)
        self._update_header()

    def _update_header(self) -> None:
        values = self.query_one(HardwarePanel).values
        parts = [socket.gethostname()]
        if values.get("sys/cpu/count"):
            parts.append(f"{values['sys/cpu/count']:.0f} cores")
        if "sys/mem/total" in values:
            parts.append(f"{format_bytes(values['sys/mem/total'])} RAM")
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
        panel = self.query_one(HardwarePanel)
        panel.set_show_cores(not panel.show_cores)

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
