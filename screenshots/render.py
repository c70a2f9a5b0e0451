"""Render the README's screenshots (SVG) from the deterministic demo database.

    python screenshots/render.py

Writes screenshots/runs.svg, run-detail.svg, runs-80x24.svg, smoothing.svg, media-*.svg
(image, text table, histogram, confusion matrix), console.svg, resumed.svg (a run plotted
against its own ``iter``, resumed after a crash), sweep-parallel.svg (the sweep views'
parallel coordinates, ``w`` then ``3``) and system.svg (the hardware monitor with two
simulated GPUs). Same data and clock as the snapshot tests.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tracker.system.fake_nvml import simulated  # noqa: E402
from tracker.system.gpu import NvmlGpuSource  # noqa: E402
from tracker.system.sampler import SystemSampler  # noqa: E402
from tui.app import TrackTuiApp  # noqa: E402
from tui.demo_db import NOW, build_demo_database, build_resumed_database  # noqa: E402
from tui.monitor import SystemMonitorApp  # noqa: E402
from tui.widgets.plot import MetricPlot  # noqa: E402
from tui.widgets.runs_table import RunsTable  # noqa: E402


async def settle(pilot: object, check: object, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():  # type: ignore[operator]
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise RuntimeError("the view did not settle")


async def shoot(
    name: str,
    size: tuple[int, int],
    keys: tuple[str, ...] = (),
    db: str = "demo.db",
    runs: int = 6,
    step_metric: bool = False,  # the plots are drawn against a step metric
) -> None:
    app = TrackTuiApp(Path(db), clock=lambda: NOW, watch=False, poll_interval=60.0)
    async with app.run_test(size=size) as pilot:

        def ready() -> bool:
            tables = app.screen.query(RunsTable)
            plots = app.screen.query("#preview-0")
            return (
                bool(tables)
                and tables.first().row_count == runs
                and bool(plots)
                and bool(plots.first(MetricPlot).lines)
                and all(
                    (line.x_buffer is not None) == step_metric
                    for line in plots.first(MetricPlot).lines
                )
            )

        await settle(pilot, ready)
        await settle(
            pilot, lambda: len(app.model.extras) == runs and not app.reader.pending_extras()
        )
        for key in keys:
            await pilot.press(key)
        if "enter" in keys:
            detail = app.screen
            await settle(
                pilot, lambda: detail.plots and all(p.lines for p in detail.plots.values())
            )
        if "3" in keys or "4" in keys:
            for _ in range(3):  # each step may ask the reader for data: let it arrive
                await pilot.pause(0.6)
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / f"{name}.svg"))


async def shoot_sweep(name: str, keys: tuple[str, ...] = ()) -> None:
    """The sweep views (``w``) of the demo runs, grouped as the screen chooses."""
    from tui.screens.sweep import SweepScreen
    from tui.widgets.sweep_plots import SweepCanvas

    app = TrackTuiApp(Path("demo.db"), clock=lambda: NOW, watch=False, poll_interval=60.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, lambda: bool(app.screen.query(RunsTable)) and len(app.model.runs) == 6)
        await pilot.press("w")
        await settle(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await settle(
            pilot, lambda: bool(screen.followed) and screen.followed <= set(app.model.series)
        )
        await settle(pilot, lambda: bool(screen.query_one(SweepCanvas).renders))
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / f"{name}.svg"))


async def shoot_system() -> None:
    def sampler() -> SystemSampler:
        return SystemSampler(gpu_source=NvmlGpuSource(nvml=simulated(2, clock=lambda: 1000.0)))

    app = SystemMonitorApp(interval=0.2, sampler_factory=sampler)
    async with app.run_test(size=(100, 28)) as pilot:
        await settle(
            pilot,
            lambda: (
                "sys/gpu/1/util" in app.gauges and app.gauges["sys/gpu/1/util"].value is not None
            ),
        )
        await pilot.pause(1.5)
        app.save_screenshot(str(HERE / "system.svg"))


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        build_demo_database(Path("demo.db"))
        await shoot("runs", (120, 36))
        await shoot("runs-80x24", (80, 24))
        await shoot("run-detail", (120, 36), ("down", "down", "down", "enter"))
        await shoot("smoothing", (120, 36), ("down", "m", "l"))
        opened = ("down", "down", "down", "3", "1")  # lora-r16-lr0.001 at its media, plots hidden
        await shoot("media-confusion", (120, 36), opened)
        await shoot("media-image", (120, 36), (*opened, "down"))
        await shoot("media-table", (120, 36), (*opened, "down", "down"))
        await shoot("media-histogram", (120, 36), (*opened, "down", "down", "down"))
        await shoot("console", (120, 36), ("down", "down", "down", "4", "1"))
        await shoot_sweep("sweep-parallel", ("3",))
        build_resumed_database(Path("resumed.db"))
        await shoot("resumed", (120, 36), ("enter",), db="resumed.db", runs=1, step_metric=True)
    await shoot_system()
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("*.svg"))))


if __name__ == "__main__":
    asyncio.run(main())
