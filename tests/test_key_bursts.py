"""Keys read in one burst end where the same keys typed one by one end.

``tmux send-keys``, a paste or typing over a slow SSH link hand the app many keys at once.
Textual handed each to the focused widget as it was read, so the keys behind one that opened a
screen or moved focus went to the old place: ``e`` then a file name left the name out, ``enter``
then ``escape`` left the run view open, a ``j`` behind the ``escape`` that closed the filter was
typed into it. Each case here is played both ways and the two outcomes compared, with the
outcome slow typing gives spelled out too (so that both cannot be wrong alike).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Input

from tui.app import TrackTuiApp
from tui.demo_db import build_demo_database
from tui.widgets.runs_table import RunsTable

from .tui_helpers import TIMINGS, settle, wait_until

_NAMES = {"/": "slash", "=": "equals_sign", ".": "full_stop"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("bursts") / "demo.db"
    build_demo_database(db, runs=4, steps=30)
    return db


def _key(name: str) -> events.Key:
    if name.startswith("alt+"):  # what ESC and a key sent together are read as
        return events.Key(name, name[-1])
    if len(name) == 1:
        return events.Key(_NAMES.get(name, name), name)
    return events.Key(name, None)


async def _outcome(db: Path, keys: list[str], burst: bool) -> dict[str, Any]:
    app = TrackTuiApp(db, timings=TIMINGS)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                bool(app.screen.query(RunsTable)) and app.screen.query_one(RunsTable).row_count == 4
            ),
            what="the table",
        )
        if burst:
            for name in keys:  # all queued before the app handles the first
                app.post_message(_key(name))
        else:
            for name in keys:
                for key in ("escape", name[4:]) if name.startswith("alt+") else (name,):
                    await pilot.press(_key(key).key)
                    await settle(pilot)
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)
        screen = app.screen
        tables = screen.query(RunsTable)
        return {
            "screens": [type(s).__name__ for s in app.screen_stack[1:]],
            "focused": type(screen.focused).__name__,
            "fields": {f.id: f.value for f in screen.query(Input) if f.value},
            "row": tables.first().cursor_row if tables else None,
            "waited": app.keys.waited,
        }


CASES = [
    (  # the dialog's field gets the name typed behind `e`
        "e f o o . c s v",
        {"screens": ["RunsScreen", "ExportScreen"], "fields": {"export-path": "foo.csv"}},
    ),
    (  # the run view opened by enter is closed by the escape behind it; j moves the table
        "enter escape j",
        {"screens": ["RunsScreen"], "fields": {}, "row": 1},
    ),
    (  # the filter takes what is typed behind `/`, escape closes it, j moves the table
        "/ a b escape j",
        {"screens": ["RunsScreen"], "fields": {"filter-input": "ab"}, "row": 1},
    ),
    (  # a dialog opened and closed, then another opened, in one burst
        "e escape e x",
        {"screens": ["RunsScreen", "ExportScreen"], "fields": {"export-path": "x"}},
    ),
    (  # the keys behind the enter that applies the filter reach the table, not the field
        "/ l o r a enter j enter",
        {"screens": ["RunsScreen", "RunDetailScreen"], "fields": {}},
    ),
    (  # escape then j in one burst are the bytes of alt+j: the help closes, j moves
        "? alt+j",
        {"screens": ["RunsScreen"], "fields": {}, "row": 1},
    ),
    (  # the console pane's search field takes what is typed behind `f`
        "enter 4 f a b escape",
        {"screens": ["RunsScreen", "RunDetailScreen"], "fields": {"console-search": "ab"}},
    ),
]  # fmt: skip


@pytest.mark.parametrize("keys, expected", CASES, ids=[keys for keys, _ in CASES])
async def test_a_burst_ends_where_typing_one_by_one_ends(
    demo: Path, keys: str, expected: dict[str, Any]
) -> None:
    typed = await _outcome(demo, keys.split(), burst=False)
    burst = await _outcome(demo, keys.split(), burst=True)
    assert burst["waited"] > 0, "the keys were not read in one burst"
    for field in ("screens", "focused", "fields", "row"):
        assert burst[field] == typed[field], (field, burst, typed)
    for field, value in expected.items():
        assert typed[field] == value, (field, typed)
