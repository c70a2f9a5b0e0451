"""The comparison table: sorting, pinning, filtering, selection and the compare view, the best
run (and its tag, which ``tracktui best`` agrees with), export, columns, and 1,000 runs."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tracker.batch import RunHandle, write_batch
from tracker.db import parse_target
from tracker.db.sqlite.store import SqliteStore
from tracker.jsonable import dumps
from tui.app import TrackTuiApp
from tui.cli import main
from tui.demo_db import NOW, build_demo_database
from tui.screens.columns import ColumnsScreen
from tui.screens.compare import CompareScreen
from tui.screens.export import ExportScreen
from tui.screens.pick_best import PickBestScreen
from tui.screens.runs import RunsScreen
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .tui_helpers import TIMINGS, wait_until


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    build_demo_database(path, runs=6, steps=300)
    return path


def make_app(path: Path) -> TrackTuiApp:
    return TrackTuiApp(path, clock=lambda: NOW, timings=TIMINGS)


def table(app: TrackTuiApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


def column(app: TrackTuiApp, column_id: str) -> list[str]:
    t = table(app)
    index = t.column_ids.index(column_id)
    return [t.get_row_at(row)[index].plain for row in range(t.row_count)]


def names(app: TrackTuiApp) -> list[str]:
    return column(app, "name")


async def ready(app: TrackTuiApp, pilot: Any, rows: int = 6) -> None:
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, RunsScreen)
            and table(app).row_count == rows
            and table(app).fitted
        ),  # columns that do not fit are left out: their places settled
        what=f"{rows} rows",
    )


async def sort_by(app: TrackTuiApp, pilot: Any, column_id: str) -> None:
    t = table(app)
    # The column's place is looked up again after each key: the table leaves out what does
    # not fit once it has measured its rows, which moves the columns after the left-out ones
    # (a place read once had the sweep test sort by the column beside the one it meant).
    while t.sort_cursor != t.column_ids.index(column_id):
        await pilot.press("right")
    await pilot.press("s")
    assert t.sort_column == column_id


async def test_sort_by_text_number_config_and_metric_and_reverse(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(220, 40)) as pilot:  # wide enough for the config columns
        await ready(app, pilot)
        await sort_by(app, pilot, "name")
        assert names(app) == sorted(names(app), key=str.lower)
        await pilot.press("s")  # again: reversed
        assert names(app) == sorted(names(app), key=str.lower, reverse=True)
        await pilot.press("S")
        assert names(app) == sorted(names(app), key=str.lower)
        await sort_by(app, pilot, "step")
        steps = [int(v.replace(",", "")) for v in column(app, "step")]
        assert steps == sorted(steps) and steps[0] == 104  # the crashed run stopped early
        await sort_by(app, pilot, "cfg:lr")
        lrs = [float(v) for v in column(app, "cfg:lr")]
        assert lrs == sorted(lrs)
        await sort_by(app, pilot, "last:train/loss")
        losses = column(app, "last:train/loss")
        assert losses[-1].startswith("nan")  # NaN goes last ascending...
        finite = [float(v) for v in losses[:-1]]
        assert finite == sorted(finite)
        await pilot.press("S")
        losses = column(app, "last:train/loss")
        assert losses[-1].startswith("nan")  # ...and descending
        assert [float(v) for v in losses[:-1]] == sorted(finite, reverse=True)
        header = str(app.screen.query_one("#header").render())
        assert "sort: train/loss desc" in header


async def test_pins_stay_on_top_of_any_sort(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("down", "down", "down")
        pinned = names(app)[3]
        await pilot.press("p")
        assert names(app)[0] == pinned and column(app, "marks")[0].startswith("^")
        await sort_by(app, pilot, "name")
        assert names(app)[0] == pinned
        await pilot.press("S")
        assert names(app)[0] == pinned
        rest = names(app)[1:]
        assert rest == sorted(rest, key=str.lower, reverse=True)
        table(app).move_cursor(row=0)
        await pilot.press("p")
        assert not column(app, "marks")[0].startswith("^")


async def test_filter_counts_applies_explains_and_clears(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash")
        for ch in "cfg.lr<1e-3":
            await pilot.press(ch)
        await wait_until(  # counted on a worker thread, after a pause in typing
            pilot,
            lambda: "3 of 6 runs match" in str(app.screen.query_one("#filter-error").render()),
            what="the count of matches",
        )
        await pilot.press("enter")
        assert table(app).row_count == 3
        assert "filter: cfg.lr<1e-3 3/6" in str(app.screen.query_one("#header").render())
        await pilot.press("slash")
        for _ in range(20):
            await pilot.press("backspace")
        for ch in "cfg.lr<":
            await pilot.press(ch)
        assert "expected a value after '<'" in str(app.screen.query_one("#filter-error").render())
        await pilot.press("enter")  # refused: the previous filter stays
        assert table(app).row_count == 3
        await pilot.press("escape")
        assert table(app).row_count == 6


async def test_select_and_compare_with_config_diff(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        await pilot.press("c")  # nothing selected: a hint, no screen
        assert isinstance(app.screen, RunsScreen)
        table(app).move_cursor(row=3)
        await pilot.press("space", "space", "space")
        chosen = names(app)[3:6]
        assert all("■" in mark for mark in column(app, "marks")[3:6])
        # Each space says which run it marked (the cursor has moved on to the next one).
        said = [n.message for n in app._notifications]
        assert said[-1] == f"selected {chosen[2]} (3 selected) · c compares them", said
        assert said[-3] == f"selected {chosen[0]} (1 selected)"
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [app.model.runs[r].name for r in screen.run_ids] == chosen
        await wait_until(
            pilot,
            lambda: all(len(p.lines) == 3 for p in screen.plots.values()),
            what="three lines per plot",
        )
        assert list(screen.plots)[:2] == ["train/loss", "eval/loss"]
        assert {"lr", "lora.r", "batch_size", "seed"} <= set(screen.config_keys)
        assert "optimizer.name" not in screen.config_keys  # the same in every run: left out
        await pilot.press("d")
        assert "optimizer.name" in screen.config_keys
        assert screen.summary_keys == ["best_eval_loss"]
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_best_run_marked_tagged_and_agreed_with(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("b")
        assert isinstance(app.screen, PickBestScreen)
        metrics = app.screen.metrics
        await pilot.press(*(["down"] * metrics.index("eval/loss")), "enter")
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.best is not None
        winner = screen.best.run
        starred = [n for n, m in zip(names(app), column(app, "marks"), strict=True) if "★" in m]
        assert starred == [winner.name]
        await pilot.press("t")
        await wait_until(
            pilot, lambda: "best" in app.model.runs[winner.id].tags, what="the tag to come back"
        )
    assert main(["best", "--metric", "eval/loss", "--db", str(demo_db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == winner.id
    assert main(["ls", "--db", str(demo_db), "--filter", "tag=best", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [winner.id]


@pytest.mark.parametrize(
    "kind, key, first_line",
    [
        ("csv", "f1", "id,status,name,"),
        ("md", "f2", "| status | name |"),
        ("tex", "f3", "\\begin{tabular}"),
    ],
)
async def test_export_what_is_shown(
    demo_db: Path, tmp_path: Path, kind: str, key: str, first_line: str
) -> None:
    app = make_app(demo_db)
    target = tmp_path / f"out.{kind}"
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await sort_by(app, pilot, "name")
        shown = names(app)
        await pilot.press("e")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press(key)
        field = app.screen.query_one("#export-path")
        field.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists())
    text = target.read_text()
    assert text.startswith(first_line)
    positions = [text.index(name.replace("_", "\\_")) for name in shown]
    assert positions == sorted(positions)  # the order on screen
    if kind == "csv":
        assert len(text.strip().splitlines()) == 7
        # For programs: the values, not the cells as shown ("2,499", "3m33s", "-", 0.0212)
        records = list(csv.DictReader(io.StringIO(text)))
        assert all(int(r["step"]) >= 0 and float(r["age (s)"]) >= 0 for r in records), text
        losses = [r["train/loss"] for r in records]
        assert "-" not in losses and any(len(v) > 8 for v in losses), losses
        assert all(v == repr(float(v)) for v in losses if v not in ("", "nan", "inf", "-inf"))
    else:
        assert ("3m" in text or "s |" in text or "s &" in text) and "age (s)" not in text


async def test_choose_hide_and_reorder_columns(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        before = table(app).column_ids
        await pilot.press("o")
        screen = app.screen
        assert isinstance(screen, ColumnsScreen)
        await pilot.press("down", "down", "down", "down")  # project (after the health column)
        await pilot.press("space")  # hide it
        await pilot.press("down", "shift+up")  # move step above where project was
        await pilot.press("enter")
        after = table(app).column_ids
        assert "project" in before and "project" not in after
        assert after.index("step") < after.index("age")
        await pilot.press("o", "r")  # back to the defaults
        assert table(app).column_ids == before


async def test_the_column_chooser_keeps_the_columns_left_out_for_width(demo_db: Path) -> None:
    """At 120 columns the table has no room for every config column it asks for; applying
    the chooser (here: hiding the age) kept only those on screen, so the config columns were
    gone for good, even once the terminal grew (found by an outside tester)."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        asked = [spec.id for spec in table(app).wanted]
        left_out = [cid for cid in asked if cid not in table(app).column_ids]
        assert any(cid.startswith("cfg:") for cid in left_out), left_out
        await pilot.press("o")
        chooser = app.screen
        assert isinstance(chooser, ColumnsScreen)
        chooser.shown.discard("age")
        await pilot.press("enter")
        assert [spec.id for spec in table(app).wanted] == [c for c in asked if c != "age"]
        await pilot.resize_terminal(200, 40)
        await wait_until(
            pilot, lambda: all(cid in table(app).column_ids for cid in left_out), what="widened"
        )


async def test_the_column_chooser_applied_unchanged_keeps_the_defaults(demo_db: Path) -> None:
    """At 80 columns the defaults ask for no config column at all; enter in the chooser with
    nothing changed made those defaults the user's choice, so widening the pane never brought
    the config columns back (found by an outside tester)."""
    app = make_app(demo_db)
    async with app.run_test(size=(80, 30)) as pilot:
        await ready(app, pilot)
        assert not any(cid.startswith("cfg:") for cid in table(app).column_ids)
        await pilot.press("o")
        assert isinstance(app.screen, ColumnsScreen)
        await pilot.press("enter")
        await pilot.resize_terminal(200, 40)
        await wait_until(
            pilot,
            lambda: any(cid.startswith("cfg:") for cid in table(app).column_ids),
            what="the config columns of a wide pane",
        )


async def test_a_thousand_runs_load_without_blocking(tmp_path: Path) -> None:
    db = tmp_path / "many.db"
    st = SqliteStore.for_writing(db)
    for index in range(1000):
        version = st.begin()
        run_id = f"m{index:05d}"
        st.insert_run({"id": run_id, "project": "sweep", "name": f"trial-{index}", "created_at": NOW - index,
                                "host": "elsewhere", "pid": 1, "pid_start": None, "tags": "[]",
                                "config": dumps({"lr": 10 ** -(1 + index % 5), "seed": index}), "summary": "{}"}, version)  # fmt: skip
        st.commit()
        handle = RunHandle(run_id, parse_target(db), NOW - index, {}, {})
        write_batch(st, [(handle, s, NOW - index + s, {"train/loss": math.exp(-s / 50) + index / 1000, "eval/loss": 1.0}) for s in range(20)]
                    + [("finish", handle, ("finished", 0, None))], now=NOW)  # fmt: skip
    st.close()
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 1000, timeout=30, what="1,000 rows")
        await pilot.press("question_mark")  # the UI answers while trends still load
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen", timeout=2)
        await pilot.press("escape")
        await sort_by(app, pilot, "last:train/loss")
        values = [float(v) for v in column(app, "last:train/loss")]
        assert values == sorted(values)
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines), timeout=10)


async def test_the_whole_sweep_workflow_keyboard_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sort a 50-run sweep by best eval loss, filter to one learning-rate range, overlay the
    top three, see their config differences, mark the best, export — and `tracktui best` agrees."""
    db = tmp_path / "sweep.db"
    build_demo_database(db, runs=50, steps=120)
    expression = "cfg.lr>=2e-4 cfg.lr<=1e-3 NOT status=crashed"
    app = make_app(db)
    export_path = tmp_path / "sweep.md"
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot, rows=50)
        await sort_by(app, pilot, "best:eval/loss")
        await pilot.press("slash", *expression, "enter")
        shown = table(app).order
        assert 0 < len(shown) < 50
        bests = [float(v) for v in column(app, "best:eval/loss")]
        assert bests == sorted(bests)
        await pilot.press("space", "space", "space", "c")
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.run_ids == shown[:3]
        assert "lr" in screen.config_keys or "batch_size" in screen.config_keys
        await pilot.press("escape", "b")
        metrics = app.screen.metrics  # type: ignore[attr-defined]
        await pilot.press(*(["down"] * metrics.index("eval/loss")), "enter")
        runs_screen = app.screen
        assert isinstance(runs_screen, RunsScreen) and runs_screen.best is not None
        winner = runs_screen.best.run.id
        assert winner == shown[0]  # the top of the table sorted by best eval loss
        await pilot.press("t")
        await wait_until(pilot, lambda: "best" in app.model.runs[winner].tags)
        await pilot.press("e", "f2")
        app.screen.query_one("#export-path").value = str(export_path)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: export_path.exists())
    exported = export_path.read_text().splitlines()
    assert len(exported) == 2 + len(shown)
    assert (
        main(["best", "--metric", "eval/loss", "--db", str(db), "--filter", expression, "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["id"] == winner


async def test_the_highlighted_run_stays_highlighted_through_a_resize_and_new_columns(
    demo_db: Path,
) -> None:
    """Both lay the table out again; the run under the cursor (and so the plots below) must
    stay the one the user chose."""
    app = make_app(demo_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("down", "down", "down")
        chosen = table(app).selected_run_id()
        assert chosen is not None and chosen != table(app).order[0]
        await pilot.resize_terminal(100, 30)
        await wait_until(pilot, lambda: table(app).fitted and table(app).row_count == 6)
        await pilot.resize_terminal(130, 34)
        await wait_until(pilot, lambda: table(app).fitted and table(app).row_count == 6)
        assert table(app).selected_run_id() == chosen
        await pilot.press("o")
        assert isinstance(app.screen, ColumnsScreen)
        await pilot.press("down", "space", "enter")  # a column less
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and table(app).fitted)
        assert table(app).selected_run_id() == chosen
        plot = app.screen.query_one("#preview-0", MetricPlot)
        name = app.model.runs[chosen].name
        await wait_until(pilot, lambda: plot.title.startswith(name), what="the chosen run's plot")
