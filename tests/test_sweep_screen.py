"""The sweep views, driven by the keyboard: opened from the runs table (``w``) on the filtered or
selected runs, the three views switched, the grouping key, metric, scatter key, axes and
best/last chosen, the highlighted run moved and marked, at 120×36 and 80×24, live runs drawn,
no redraw when nothing changed, and escape back. Names and config values with markup show
literally."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tracker.batch import RunHandle, write_batch
from tracker.db import parse_target
from tracker.db.sqlite.store import SqliteStore
from tracker.jsonable import dumps
from tui.app import TrackTuiApp
from tui.demo_db import NOW
from tui.messages import Changed
from tui.screens.runs import RunsScreen
from tui.screens.sweep import SweepScreen
from tui.widgets.runs_table import RunsTable
from tui.widgets.sweep_plots import SweepCanvas

from .tui_helpers import TIMINGS, drawn_at, screen_lines, settle, wait_until

HOSTILE_NAME = "[bold]x[/]"
HOSTILE_VALUE = "[red]adam[/]"


def add_run(
    st: SqliteStore, db: Path, run_id: str, name: str, config: dict[str, Any], floor: float,
    steps: int = 40, created: float = NOW,
) -> None:  # fmt: skip
    """A finished run whose train/loss decays to ``floor`` and whose eval/loss is ``floor``."""
    version = st.begin()
    st.insert_run({"id": run_id, "project": "sweep", "name": name, "created_at": created,
                   "host": "elsewhere", "pid": 1, "pid_start": None, "tags": "[]",
                   "config": dumps(config), "summary": "{}"}, version)  # fmt: skip
    st.commit()
    handle = RunHandle(run_id, parse_target(db), created, {}, {})
    points = [
        (handle, s, created + s, {"train/loss": floor + 2 * math.exp(-s / 8), "eval/loss": floor})
        for s in range(steps)
    ]
    write_batch(st, [*points, ("finish", handle, ("finished", 0, None))], now=NOW)


def build_sweep(db: Path) -> list[str]:
    """Three learning rates × three seeds (``sgd``), and one run with markup in its name and
    optimizer (the best of all: highlighted first). Returns the run ids, oldest first."""
    st = SqliteStore.for_writing(db)
    ids = []
    index = 0
    for lr in (1e-4, 1e-3, 1e-2):
        for seed in range(3):
            floor = 0.5 + abs(math.log10(lr) + 3) * 0.2 + seed * 0.01
            run_id = f"s{index:03d}"
            add_run(st, db, run_id, f"lr{lr:g}-seed{seed}", {"lr": lr, "seed": seed, "opt": "sgd"},
                    floor, created=NOW - 100 + index)  # fmt: skip
            ids.append(run_id)
            index += 1
    add_run(st, db, "hostile", HOSTILE_NAME, {"lr": 3e-3, "seed": 0, "opt": HOSTILE_VALUE}, 0.1,
            created=NOW - 50)  # fmt: skip
    ids.append("hostile")
    st.close()
    return ids


@pytest.fixture
def sweep_db(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.db"
    build_sweep(path)
    return path


def make_app(path: Path) -> TrackTuiApp:
    return TrackTuiApp(path, clock=lambda: NOW, timings=TIMINGS)


async def open_sweep(app: TrackTuiApp, pilot: Any, rows: int = 10) -> SweepScreen:
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, RunsScreen) and app.screen.query_one(RunsTable).row_count == rows,
        what=f"{rows} rows",
    )  # fmt: skip
    await pilot.press("w")
    await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep screen")
    screen = app.screen
    assert isinstance(screen, SweepScreen)
    return screen


def text(app: TrackTuiApp) -> str:
    return "\n".join(screen_lines(app))


def has_dots(plain: str) -> bool:
    return any("\u2801" <= c <= "\u28ff" for c in plain)


def canvas(screen: SweepScreen) -> SweepCanvas:
    return screen.query_one(SweepCanvas)


async def choose(pilot: Any, app: TrackTuiApp, key: str, choice: str) -> None:
    """Open a chooser with ``key`` and pick ``choice`` with the arrows and enter."""
    await pilot.press(key)
    await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceScreen", what="chooser")
    choices: list[str] = app.screen.choices  # type: ignore[attr-defined]
    await pilot.press("home", *(["down"] * choices.index(choice)), "enter")
    await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen), what="chooser closed")


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_three_views_by_keyboard(sweep_db: Path, size: tuple[int, int]) -> None:
    app = make_app(sweep_db)
    async with app.run_test(size=size) as pilot:
        screen = await open_sweep(app, pilot)
        assert screen.group_key == "lr" and screen.metric == "eval/loss"  # seeds averaged
        await wait_until(pilot, lambda: "lr=0.001 (n=3)" in text(app), what="the group legend")
        await wait_until(pilot, lambda: "mean of each group" in canvas(screen).plain)
        await wait_until(pilot, lambda: has_dots(canvas(screen).plain), what="the curves")
        assert drawn_at(app, *size)

        await pilot.press("2")
        assert screen.view == "scatter" and screen.x_key == "lr"
        assert "◆" in canvas(screen).plain and "(log)" in canvas(screen).plain  # 1e-4..1e-2
        assert screen.highlight == "hostile"  # the best eval/loss
        await pilot.press("down")
        assert screen.highlight != "hostile"
        assert "#2/10" in text(app)
        await pilot.press("up")
        assert screen.highlight == "hostile" and "#1/10" in text(app)
        await choose(pilot, app, "x", "opt")
        assert screen.x_key == "opt" and "sgd" in canvas(screen).plain
        assert drawn_at(app, *size)

        await pilot.press("3")
        assert screen.view == "parallel"
        assert screen.axes == ["lr", "opt"]  # no seed axis at first
        assert canvas(screen).plain.count("◆") == 3  # on each axis: lr, opt and the metric
        await pilot.press("a")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AxesScreen")
        await pilot.press("space", "down", "down", "space", "enter")  # lr off, seed on
        await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen))
        assert screen.axes == ["opt", "seed"]
        assert "seed" in canvas(screen).plain.splitlines()[0]

        await pilot.press("l")
        assert screen.which == "last" and "eval/loss last" in text(app)
        await choose(pilot, app, "m", "train/loss")
        assert screen.metric == "train/loss"
        await choose(pilot, app, "g", "seed")
        await pilot.press("1")
        assert screen.group_key == "seed" and screen.view == "curves"
        await wait_until(pilot, lambda: "seed=0 (n=4)" in text(app), what="groups by seed")
        assert drawn_at(app, *size)

        await pilot.press("question_mark")
        await wait_until(pilot, lambda: "sweep views — keys" in text(app))
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen), what="back")


async def test_markup_in_names_and_values_shows_literally(sweep_db: Path) -> None:
    app = make_app(sweep_db)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_sweep(app, pilot)
        await choose(pilot, app, "g", "opt")
        await wait_until(pilot, lambda: f"opt={HOSTILE_VALUE} (n=1)" in text(app))
        await pilot.press("2")
        await wait_until(pilot, lambda: f"◆ {HOSTILE_NAME} #1/10" in text(app))
        await pilot.press("3")
        await wait_until(pilot, lambda: HOSTILE_VALUE[:4] in canvas(screen).plain)


async def test_selected_or_filtered_runs_only(sweep_db: Path) -> None:
    app = make_app(sweep_db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.screen.query_one(RunsTable).row_count == 10)
        await pilot.press("slash", *"cfg.lr<5e-3", "enter")
        await wait_until(pilot, lambda: app.screen.query_one(RunsTable).row_count == 7)
        screen = await open_sweep(app, pilot, rows=7)
        assert len(screen.runs) == 7 and "7 runs" in text(app)
        await pilot.press("escape", "escape")  # back, and the filter cleared
        await wait_until(pilot, lambda: app.screen.query_one(RunsTable).row_count == 10)
        await pilot.press("space", "space", "space")
        screen = await open_sweep(app, pilot)
        assert len(screen.runs) == 3


async def test_live_runs_drawn_and_nothing_redrawn_when_nothing_changed(sweep_db: Path) -> None:
    app = make_app(sweep_db)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_sweep(app, pilot)
        await pilot.press("2")
        await settle(pilot)
        renders = canvas(screen).renders
        screen.data_changed(Changed(runs=frozenset({"hostile"})))  # the same record again
        screen.data_changed(Changed())
        assert canvas(screen).renders == renders
        st = SqliteStore.for_writing(sweep_db)
        add_run(st, sweep_db, "late", "late-run", {"lr": 1e-3, "seed": 7, "opt": "sgd"}, 0.05)
        st.close()
        app.wake_reader()
        await wait_until(pilot, lambda: "11 runs" in text(app), what="the new run")
        assert canvas(screen).renders > renders
        # the highlight stays on its run, which is second now
        assert screen.highlight == "hostile" and "#2/11" in text(app)


async def test_no_runs_and_runs_with_only_nan(tmp_path: Path) -> None:
    empty = make_app(tmp_path / "missing.db")
    async with empty.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(empty.screen, RunsScreen))
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(empty.screen, SweepScreen))
        await wait_until(pilot, lambda: "no runs to show" in text(empty))
        await pilot.press("2", "3", "g", "down", "up")  # nothing to choose: a warning, no error
        assert drawn_at(empty, 80, 24)
    db = tmp_path / "nan.db"
    st = SqliteStore.for_writing(db)
    add_run(st, db, "a", "finite", {"lr": 1e-3, "seed": 0}, 0.5)
    add_run(st, db, "b", "\x1b[31mnan\x1b[0m", {"lr": 1e-2, "seed": 0}, math.nan)
    st.close()
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_sweep(app, pilot, rows=2)
        await pilot.press("2")
        await wait_until(pilot, lambda: "1 run lacks lr or the metric" in text(app))
        assert "\x1b" not in text(app) and "#1/1" in text(app)
        await pilot.press("3", "1")
        await wait_until(pilot, lambda: has_dots(canvas(screen).plain), what="the finite curve")


def build_wide_sweep(db: Path) -> None:
    """15 learning rates × 2 seeds; eval/loss falls as lr grows: the best groups are the
    largest lrs, the ones a value-ordered first ten would leave out."""
    st = SqliteStore.for_writing(db)
    for i in range(15):
        for seed in range(2):
            lr = 1e-5 * 10 ** (i / 4)
            add_run(st, db, f"w{i:02d}{seed}", f"lr{i}-s{seed}", {"lr": lr, "seed": seed},
                    2.0 - 0.1 * i + 0.01 * seed, steps=8, created=NOW - 100 + 2 * i + seed)  # fmt: skip
    st.close()


async def test_more_groups_than_colours_best_first_and_picked(tmp_path: Path) -> None:
    db = tmp_path / "wide.db"
    build_wide_sweep(db)
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_sweep(app, pilot, rows=30)
        assert screen.group_key == "lr"
        await wait_until(pilot, lambda: "10 of 15 groups drawn (best first)" in text(app))
        legend = text(app)
        best = "lr=0.0316228 (n=2)"  # the best group, the largest lr
        assert best in legend and "lr=1e-05 (n=2)" not in legend
        assert legend.index(best) < legend.index("lr=0.0177828 (n=2)")  # best first
        # the highlighted run's group is always drawn, though it is the worst
        await pilot.press("up")  # from the best run round to the worst
        assert screen.highlight == "w001"
        await wait_until(pilot, lambda: "lr=1e-05 (n=2)" in text(app), what="its group drawn")
        await pilot.press("2")  # the scatter colours the same groups, the rest grey
        await wait_until(pilot, lambda: "5 more groups (G picks)" in text(app))

        await pilot.press("G")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AxesScreen", what="picker")
        lines = screen_lines(app)
        ticked = [line for line in lines if "[x]" in line and "lr=" in line]
        unticked = [line for line in lines if "[ ]" in line and "lr=" in line]
        assert len(ticked) == 10 and len(unticked) == 5  # readable without colour
        assert "lr=0.0316228" in ticked[0]  # best first
        await pilot.press("home", "space", "down", "space", "enter")  # the two best off
        await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen))
        assert screen.view == "curves"
        await wait_until(pilot, lambda: "8 of 15 groups drawn (picked)" in text(app))
        assert best not in text(app)
        await choose(pilot, app, "g", "seed")  # another key: its own best groups
        await wait_until(pilot, lambda: "seed=0 (n=15)" in text(app))
        assert "groups drawn" not in text(app)


async def test_footer_keys_and_checkboxes_at_80x24(sweep_db: Path) -> None:
    app = make_app(sweep_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_sweep(app, pilot)
        await pilot.press("3")
        footer = screen_lines(app)[-1]
        for key in ("esc back", "g group", "G groups", "m metric", "x x key", "a axes",
                    "l best/last"):  # fmt: skip
            assert key in footer
        await pilot.press("a")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AxesScreen")
        lines = screen_lines(app)
        assert any("[x] lr" in line for line in lines)
        assert any("[ ] seed" in line for line in lines)
        await pilot.press("escape")
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceScreen")
        assert "⏎ pick" in screen_lines(app)[-1] and "esc cancel" in screen_lines(app)[-1]
        await pilot.press("escape")


async def test_runs_without_the_key_or_the_metric_are_counted(tmp_path: Path) -> None:
    """Runs missing the grouping key form W&B's null group, ``(none)``, which the legend
    explains; a group's n counts the runs that have the metric, those without are noted."""
    db = tmp_path / "missing.db"
    st = SqliteStore.for_writing(db)
    for seed in range(2):
        add_run(st, db, f"d{seed}", f"d{seed}", {"dropout": 0.1, "seed": seed}, 0.5 + seed / 10)
        add_run(st, db, f"n{seed}", f"n{seed}", {"seed": seed}, 0.7 + seed / 10)
    add_run(st, db, "empty", "no-points", {"dropout": 0.1, "seed": 2}, 0.5, steps=0)
    st.close()
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_sweep(app, pilot, rows=5)
        await choose(pilot, app, "g", "dropout")
        await wait_until(pilot, lambda: "dropout=0.1 (n=2)" in text(app), what="n with metric")
        legend = text(app)
        assert "dropout=(none) (n=2)" in legend
        assert "(none): 2 runs without dropout" in legend
        assert "1 run without eval/loss not drawn" in legend
        assert screen.group_key == "dropout"
