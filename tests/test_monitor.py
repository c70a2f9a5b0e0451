"""``tracktui system`` driven headless: gauges appear, keys work, small terminals survive."""

from __future__ import annotations

import socket
import threading

import pytest

from tracker.system.fake_nvml import FakeNvml
from tracker.system.gpu import NvmlGpuSource
from tracker.system.sampler import SystemSampler
from tui.monitor import SystemMonitorApp
from tui.view.sparkline import sparkline
from tui.widgets.gauge import Gauge
from tui.widgets.hardware import ordered_rows

from .tui_helpers import drawn_at, screen_lines, wait_until


def fake_sampler() -> SystemSampler:
    return SystemSampler(
        gpu_source=NvmlGpuSource(
            nvml=FakeNvml([{"name": "[bold]Fake\x1b]0;x\x07 GPU"}, {"util_gpu": 95}])
        ),
        per_core=True,
    )


async def wait_for_gauges(app: SystemMonitorApp, pilot, key: str) -> None:  # type: ignore[no-untyped-def]
    await wait_until(
        pilot,
        lambda: key in app.gauges and app.gauges[key].value is not None,
        what=f"the {key} gauge",
    )


class CountedEvent(threading.Event):
    """The sampling loop's wake-up event, counting the loop's waits (one per turn)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


@pytest.mark.parametrize("size", [(120, 36), (80, 24), (40, 12)])
async def test_monitor_shows_host_and_every_gpu(size: tuple[int, int]) -> None:
    app = SystemMonitorApp(interval=0.5, sampler_factory=fake_sampler)
    async with app.run_test(size=size) as pilot:
        await wait_for_gauges(app, pilot, "sys/gpu/1/util")
        for key in (
            "sys/cpu/util",
            "sys/mem/used",
            "sys/gpu/0/util",
            "sys/gpu/0/mem_used",
            "sys/gpu/1/power",
        ):
            assert key in app.gauges, key
        assert app.gauges["sys/gpu/1/util"].value == 95.0
        assert app.gauges["sys/mem/used"].high is not None  # bar against total RAM
        header = str(app.query_one("#machine").render())
        assert "GPU 0:" in header and "\x1b" not in header and "\\x1b" in header
        assert not any(k.startswith("sys/cpu/core/") for k in app.gauges)
        await pilot.press("c")
        await wait_until(
            pilot,
            lambda: any(k.startswith("sys/cpu/core/") for k in app.gauges),
            what="a gauge per core",
        )
        await pilot.press("q")
        assert not app.is_running and app.return_code == 0  # q quits, cleanly


async def test_monitor_keys_pause_interval_help_and_resize() -> None:
    app = SystemMonitorApp(interval=1.0, sampler_factory=fake_sampler)
    wake = app._wake = CountedEvent()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_gauges(app, pilot, "sys/cpu/util")
        await pilot.press("plus")
        assert app.interval == 2.0
        await pilot.press("minus", "minus", "minus", "minus")
        assert app.interval == 0.5
        await pilot.press("p")
        assert app.paused
        history = app.gauges["sys/cpu/util"].history
        count, turns = len(history), wake.waits
        # the loop turns once at once (the key wakes it), then after a whole interval
        await wait_until(pilot, lambda: wake.waits >= turns + 2, what="an interval, paused")
        assert len(history) == count  # paused: no new samples
        await pilot.press("p")
        assert not app.paused
        await wait_until(pilot, lambda: len(history) > count, what="sampling again")
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"
        for width, height in ((30, 8), (160, 50)):
            await pilot.resize_terminal(width, height)

            def gpu_shown() -> bool:
                lines = screen_lines(app)
                return any(x.startswith(" GPU 0 ") and "50%" in x for x in lines)

            await wait_until(
                pilot,
                lambda: drawn_at(app, width, height) and gpu_shown(),  # noqa: B023
                what=f"the gauges drawn at {width}x{height}",
            )
            lines = screen_lines(app)
            assert lines[0].startswith(f" {socket.gethostname()[:8]}"), lines[0]  # the host
            assert lines[-1].lstrip().startswith("q quit"), lines[-1]
            assert app.is_running
        await pilot.press("q")
        assert not app.is_running and app.return_code == 0


def test_rows_order_and_sparkline() -> None:
    keys = {
        "sys/gpu/1/util",
        "sys/gpu/0/util",
        "sys/cpu/util",
        "sys/mem/used",
        "sys/cpu/core/1/util",
        "sys/cpu/core/0/util",
    }
    assert [k for k, _ in ordered_rows(keys, show_cores=True)] == [
        "sys/gpu/0/util", "sys/gpu/1/util", "sys/cpu/util", "sys/cpu/core/0/util", "sys/cpu/core/1/util", "sys/mem/used",
    ]  # fmt: skip
    assert sparkline([0, 1, 2, 3], 4) == "▁▃▅█"
    assert sparkline([5, 5], 4) == "▁▁"
    gauge = Gauge("x", "%", 100)
    assert gauge.value is None
