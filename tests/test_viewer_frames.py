"""What a live frame costs, as behaviour: the compositor renders the dirty rows only and sends
what Textual's own would; a growing plot's x-axis moves seldom; the viewer's process keeps its
long-lived objects out of the garbage collector's way (the CPU: benchmarks/bench_viewer_cpu.py).
"""

from __future__ import annotations

import gc
import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets._footer import FooterKey

from tracker.models import MetricSummary, Point, RunRecord
from tui.app import TrackTuiApp
from tui.collector import THRESHOLDS, CollectorPolicy
from tui.columns import Column, TableContext
from tui.compositor import BandedCompositor, bands
from tui.demo_db import build_demo_database
from tui.live_screen import LiveScreen
from tui.series import SeriesBuffer
from tui.timings import FAST
from tui.widgets.fast_table import text_cells
from tui.widgets.footer import KeyFooter
from tui.widgets.plot import PlotLine, PlotOptions, live_range, render_plot, sticky_range
from tui.widgets.runs_table import RunsTable

from .tui_helpers import wait_until


class CountedLines(Widget):
    """Lines that say where they are, counting each one rendered."""

    DEFAULT_CSS = "CountedLines { height: 1fr; }"

    def __init__(self, label: str, id: str) -> None:
        super().__init__(id=id)
        self.label = label
        self.rendered = 0
        self.version = 0

    def render_line(self, y: int) -> Strip:
        self.rendered += 1
        width = self.size.width
        return Strip([Segment(f"{self.label} row {y} v{self.version}".ljust(width)[:width])])


class TwoPanes(LiveScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield CountedLines("top", id="top")
            yield CountedLines("bottom", id="bottom")


class PanesApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(TwoPanes())


def _update_text(compositor: object, console: Console) -> str:
    update = compositor.render_update()  # type: ignore[attr-defined]
    return "" if update is None else "".join(update.render_segments(console))


async def test_rows_far_apart_are_rendered_alone_and_sent_as_textual_would() -> None:
    app = PanesApp()
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen._compositor, BandedCompositor)
        top, bottom = (
            screen.query_one("#top", CountedLines),
            screen.query_one("#bottom", CountedLines),
        )
        top.version = bottom.version = 1
        # One row of each pane changed, far apart: Textual's own compositor renders every line
        # of both panes (the box around both rows), ours the two rows.
        dirty = [Region(0, top.region.y + 2, 60, 1), Region(0, bottom.region.y + 5, 60, 1)]
        stock = type(screen._compositor).__mro__[1]()
        console = Console(width=60, height=30, force_terminal=True, color_system="truecolor")
        texts, counts = [], []
        for compositor in (stock, BandedCompositor()):
            compositor.reflow(screen, screen.size)
            compositor._dirty_regions.clear()  # what a first reflow asks: the whole screen
            compositor._dirty_regions.update(dirty)
            for pane in (top, bottom):
                pane._styles_cache.clear()  # each compositor asks the widgets afresh
                pane.rendered = 0
            texts.append(_update_text(compositor, console))
            counts.append(top.rendered + bottom.rendered)
        assert texts[0] == texts[1]
        assert "top row 2 v1" in texts[1] and "bottom row 5 v1" in texts[1]
        assert counts[0] >= 20  # both panes whole
        assert counts[1] == 2


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 50), st.integers(0, 30), st.integers(0, 6)),
        max_size=12,
    )
)
def test_bands_cover_every_region_and_never_share_a_row(
    boxes: list[tuple[int, int, int, int]],
) -> None:
    regions = [Region(*box) for box in boxes]
    found = bands(regions)
    for region in regions:
        if region.area:
            assert any(band.contains_region(region) for band in found)
    for upper, lower in itertools.pairwise(found):
        assert upper.bottom < lower.y  # apart: rows that touch are one band


def _grow(buffer: SeriesBuffer, first: int, last: int) -> None:
    buffer.extend([Point(s + 1, s, 1.0 / (s + 1), s * 0.04) for s in range(first, last)])


def test_a_growing_plot_moves_its_axis_seldom_and_always_shows_every_point() -> None:
    buffer = SeriesBuffer()
    _grow(buffer, 0, 125)
    line = [PlotLine("run", "cyan", buffer)]
    held = None
    moves = 0
    for last in range(125, 625, 12):  # half a second at 25 steps/s, from step 125 to 625
        _grow(buffer, last, last + 12)
        image = render_plot("loss", "", line, PlotOptions(), 80, 14, held_range=held)
        assert image.x_range is not None
        low, high = image.x_range
        assert low <= 0 and high >= last + 11  # every point on the axis
        assert high - low <= 2 * (last + 11)  # and the data fills half of it at least
        moves += image.x_range != held
        held = image.x_range
    # Sticky ranges alone (a twentieth of the span): the axis moved 29 times in 42 frames.
    assert moves <= 12


@given(st.floats(-1e6, 1e6), st.floats(0.001, 1e6), st.floats(0, 2), st.floats(0, 3))
@example(0.99, 0.00390625, 0.0, 0.0)  # a grain's multiple rounded past the data's left
def test_live_range_holds_the_data(left: float, span: float, held_at: float, grown: float) -> None:
    right = left + span
    held = sticky_range(left, left + span * held_at) if held_at > 0 else None
    chosen = live_range(left, right + span * grown, held)
    assert chosen is not None
    assert chosen[0] <= left and chosen[1] >= right + span * grown - 1e-9 * abs(right) - 1e-9
    assert all(math.isfinite(v) for v in chosen)


def test_the_collector_policy_freezes_only_where_it_is_the_process_own() -> None:
    thresholds = gc.get_threshold()
    off = CollectorPolicy(enabled=False)
    off.start()
    off.freeze()
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
    on = CollectorPolicy(enabled=True)
    try:
        on.start()
        assert gc.get_threshold() == THRESHOLDS
        on.freeze()
        assert gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()
        on.freeze()  # thawed, collected and frozen again: the count is what lives now
        assert abs(gc.get_freeze_count() - frozen) < frozen
    finally:
        on.stop()
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0


@given(st.text(max_size=40))
def test_a_table_cell_is_measured_as_rich_measures_it(text: str) -> None:
    assert text_cells(text) == cell_len(text)


def _record(run_id: str, **changes: object) -> RunRecord:
    base = RunRecord(
        id=run_id, name=f"name-{run_id}", project="p", status="running", stored_status="running",
        created_at=1000.0, updated_at=1000.0, finished_at=None, host="h", pid=1, pid_start=None,
        step=3, tags=["a"], config={"lr": 0.1, "opt": {"name": "adam"}}, summary={},
        exit_code=None, error=None, dropped=0, version=1,
        metrics={"train/loss": MetricSummary(1, "train/loss", 3, 0.5, 0.4, 0.9, 3, 0)},
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable(id="table")


async def test_a_row_written_again_makes_only_the_cells_whose_inputs_changed() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 10)) as pilot:
        table = app.query_one(RunsTable)
        table.configure(["name", "tags", "step", "last:train/loss", "cfg:lr", "cfg:opt.name"])
        ctx = TableContext(now=1010.0)
        first = [_record("r1"), _record("r2")]
        table.show_runs(first, ctx)
        await pilot.pause()
        made = []
        original = table._cell

        def counted(spec: Column, run: RunRecord, context: TableContext) -> Text:
            made.append((run.id, spec.id))
            return original(spec, run, context)

        table._cell = counted  # type: ignore[method-assign,assignment]
        same = [replace(r) for r in first]  # new records, the same values
        table.show_runs(same, ctx, changed=["r1", "r2"])
        assert made == []
        loss = MetricSummary(1, "train/loss", 4, 0.3, 0.3, 0.9, 4, 0)
        moved = [
            _record("r1", step=4, metrics={"train/loss": loss}),
            _record("r2", tags=["a", "b"], config={"lr": True, "opt": {"name": "sgd"}}),
        ]
        table.show_runs(moved, ctx, changed=["r1", "r2"])
        assert sorted(made) == [
            ("r1", "last:train/loss"), ("r1", "step"),
            ("r2", "cfg:lr"), ("r2", "cfg:opt.name"), ("r2", "tags"),
        ]  # fmt: skip
        cells = {(r, c): table.get_cell(r, c).plain for r in ("r1", "r2") for c in table.column_ids}
        assert cells[("r1", "step")] == "4" and cells[("r1", "last:train/loss")] == "0.3"
        assert cells[("r2", "tags")] == "a,b" and cells[("r2", "cfg:opt.name")] == "sgd"
        assert cells[("r2", "cfg:lr")] == "True"  # 1.0 and True are told apart


@asynccontextmanager
async def _demo_app(tmp_path: Path) -> AsyncIterator[tuple[TrackTuiApp, Any]]:
    """The app on a demo database of 4 runs, its table filled."""
    db = tmp_path / "demo.db"
    build_demo_database(db, runs=4, steps=50)
    app = TrackTuiApp(db, timings=FAST)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(
            pilot,
            lambda: app.screen.query(RunsTable) and app.screen.query_one(RunsTable).row_count == 4,
        )
        yield app, pilot


async def test_moving_between_screens_lets_go_of_the_old_footer_keys(tmp_path: Path) -> None:
    """Each screen change composes the footer's keys again; the old ones must be freed (they
    were kept by Textual's watchers, 2.5 MB a screen opened and closed)."""
    async with _demo_app(tmp_path) as (_, pilot):
        await pilot.pause()

        def footer_keys() -> int:
            gc.collect()
            return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))

        shown = footer_keys()
        for _ in range(4):  # a kept footer a screen: 9 footers' worth after 4 rounds
            await pilot.press("question_mark", "escape", "enter", "escape")
        await pilot.pause()
        assert footer_keys() <= 2 * shown


async def test_the_footer_is_composed_again_only_when_its_keys_change(tmp_path: Path) -> None:
    """Textual's footer made all its keys again on every bindings signal (eleven times a run
    view opened and closed, restyling each new key twice: a third of the CPU a run view took to
    open). A round trip keeps the runs screen's keys; a focus that brings other keys shows them."""
    async with _demo_app(tmp_path) as (app, pilot):
        runs_screen = app.screen

        def keys() -> list[FooterKey]:
            return list(runs_screen.query(FooterKey))

        await wait_until(pilot, lambda: any(k.key == "question_mark" for k in keys()))
        before = keys()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is not runs_screen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is runs_screen)
        await pilot.pause()
        assert keys() == before and all(k.is_attached for k in before)
        footer = runs_screen.query_one(KeyFooter)
        assert all(k.has_class("-compact") == footer.compact for k in before if k.key != "ctrl+p")

        await pilot.press("slash")  # the filter field: the footer shows its keys
        await wait_until(pilot, lambda: not any(k.key == "question_mark" for k in keys()))
        await pilot.press("escape")
        await wait_until(pilot, lambda: any(k.key == "question_mark" for k in keys()))


async def test_a_dialog_s_footer_shows_its_own_keys(tmp_path: Path) -> None:
    """The help and the dialogs showed the runs table's footer under them (`w sweep`,
    `e export` did nothing there; `space select` where space shows or hides a column)."""
    from .tui_helpers import screen_lines

    async with _demo_app(tmp_path) as (app, pilot):
        runs_screen = app.screen
        for key, shown in (
            ("question_mark", "esc close"),
            ("o", "space show/hide"),
            ("b", "m min/max"),
            ("e", "⏎ write"),  # and f1 CSV, f2 Markdown, f3 LaTeX
            ("X", "⏎ pick"),  # a list that picks on enter: the footer says so
        ):
            await pilot.press(key)
            await wait_until(pilot, lambda: app.screen is not runs_screen)
            await wait_until(pilot, lambda s=shown: s in screen_lines(app)[-1], what=shown)  # type: ignore[misc]
            assert "w sweep" not in screen_lines(app)[-1]
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is runs_screen)


async def test_a_narrow_footer_is_compact_and_leaves_out_the_palette_key(tmp_path: Path) -> None:
    """At 80 columns the runs table's footer ended at 'b best' (export, columns, quit and the
    help cut for spacing and '^p palette'), at 120 its last key was cut mid-word: where the
    keys do not fit they are compact and the palette key goes (ctrl+p still opens it)."""
    from .tui_helpers import screen_lines

    async with _demo_app(tmp_path) as (app, pilot):
        await pilot.resize_terminal(170, 36)
        await wait_until(pilot, lambda: "^p palette" in screen_lines(app)[-1], what="^p palette")
        assert " e export " in screen_lines(app)[-1]
        await pilot.resize_terminal(120, 36)
        await wait_until(pilot, lambda: "m smooth" in screen_lines(app)[-1], what="every key")
        assert "palette" not in screen_lines(app)[-1]
        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: "o columns" in screen_lines(app)[-1], what="o columns")
        await pilot.resize_terminal(170, 36)
        await wait_until(pilot, lambda: "^p palette" in screen_lines(app)[-1], what="^p palette")
