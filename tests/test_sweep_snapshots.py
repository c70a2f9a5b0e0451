"""Snapshots of the three sweep views on the deterministic demo database (its six runs grouped
by batch size, two each), at 120×36 and one at 80×24. Review a changed SVG before accepting it
(``pytest tests/test_sweep_snapshots.py --snapshot-update``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui.screens.sweep import SweepScreen
from tui.widgets.sweep_plots import SweepCanvas

from .test_snapshots import app_for, demo_path, settled
from .tui_helpers import settle, wait_until

__all__ = ["demo_path"]  # the fixture, used by name


def sweep_view(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, SweepScreen))
        screen = pilot.app.screen
        assert isinstance(screen, SweepScreen)
        series = pilot.app.model.series
        # the curves wait for the series the screen asked for
        await wait_until(pilot, lambda: bool(screen.followed) and screen.followed <= set(series))
        await wait_until(pilot, lambda: bool(screen.query_one(SweepCanvas).renders))
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


def test_sweep_curves(snap_compare: Any, demo_path: Path) -> None:
    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=sweep_view())


def test_sweep_scatter(snap_compare: Any, demo_path: Path) -> None:
    view = sweep_view("2", "down")
    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=view)


def test_sweep_parallel(snap_compare: Any, demo_path: Path) -> None:
    assert snap_compare(app_for(demo_path), terminal_size=(120, 36), run_before=sweep_view("3"))


def test_sweep_scatter_80x24(snap_compare: Any, demo_path: Path) -> None:
    assert snap_compare(app_for(demo_path), terminal_size=(80, 24), run_before=sweep_view("2"))
